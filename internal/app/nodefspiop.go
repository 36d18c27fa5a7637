package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fspiop/msg"
)

// Every node of a cluster serves FSPIOP on its --fspiop-addr. The leader
// answers itself; a follower forwards to the leader's --advertise-addr,
// under fspiopForwardPrefix and with a node's proof (forwardcert.go), so
// that the leader's API port takes FSPIOP requests from its nodes only.
// The FSPIOP front end keeps what it waits for (quotes, look-ups in
// other schemes) in the leader's memory: every request must reach the
// leader, as every callback is sent by it.
const fspiopForwardPrefix = "/_fspiop"

// listenFSPIOP opens the node's FSPIOP listener, which outlives the
// node's apps.
func (n *Node) listenFSPIOP() error {
	if n.cfg.FSPIOPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", n.cfg.FSPIOPAddr)
	if err != nil {
		return fmt.Errorf("listen %s (fspiop): %w", n.cfg.FSPIOPAddr, err)
	}
	n.fspLn = ln
	n.fspProxy = n.newFSPIOPProxy()
	n.fspSrv = newFSPIOPServer(http.HandlerFunc(n.serveFSPIOP))
	go func() {
		if err := n.fspSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.cfg.Log.Error("fspiop http server", "err", err)
		}
	}()
	n.cfg.Log.Info("cluster node: fspiop listening", "node", n.cfg.NodeID, "url", n.FSPIOPURL())
	return nil
}

// FSPIOPURL is the node's FSPIOP base URL, "" when it serves none.
func (n *Node) FSPIOPURL() string {
	if n.fspLn == nil {
		return ""
	}
	return "http://" + n.fspLn.Addr().String()
}

// serveFSPIOP answers on the node's FSPIOP listener.
func (n *Node) serveFSPIOP(w http.ResponseWriter, r *http.Request) {
	role := n.serving.Load()
	switch {
	case role == nil || role.app.FSPIOP == nil:
		writeFSPIOPUnavailable(w, "this node is changing role; try again")
	case role.leader:
		role.app.FSPIOP.ServeHTTP(w, r)
	default:
		n.fspProxy.ServeHTTP(w, r)
	}
}

// forwardedFSPIOP answers, at the leader, an FSPIOP request a follower
// forwarded to its API port; false when r is not one (no prefix, or no
// proof that holds), for the API to answer.
func (n *Node) forwardedFSPIOP(w http.ResponseWriter, r *http.Request, role *nodeRole) bool {
	if role == nil || role.app.FSPIOP == nil || !strings.HasPrefix(r.URL.Path, fspiopForwardPrefix+"/") ||
		!proofHolds(role.app.forwardKey, time.Now(), "", r) {
		return false
	}
	if !role.leader {
		writeFSPIOPUnavailable(w, "this node is not the leader; try again")
		return true
	}
	http.StripPrefix(fspiopForwardPrefix, role.app.FSPIOP).ServeHTTP(w, r)
	return true
}

// newFSPIOPProxy forwards a follower's FSPIOP requests to the leader, as
// they came (the JWS signature covers them), X-Forwarded-For included.
func (n *Node) newFSPIOPProxy() *httputil.ReverseProxy {
	scheme := n.scheme()
	return &httputil.ReverseProxy{
		Transport: n.proxy.Transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			leader, _ := n.lease.Leader()
			pr.SetURL(&url.URL{Scheme: scheme, Host: leader.Addr})
			pr.Out.URL.Path = fspiopForwardPrefix + pr.In.URL.Path
			if pr.In.URL.RawPath != "" {
				pr.Out.URL.RawPath = fspiopForwardPrefix + pr.In.URL.RawPath
			}
			if v := pr.In.Header.Values("X-Forwarded-For"); len(v) > 0 {
				pr.Out.Header["X-Forwarded-For"] = v
			}
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(ForwardedHeader, n.cfg.NodeID)
			proveForwarded(n.forwardKey(), n.cfg.NodeID, time.Now(), pr.Out)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			n.cfg.Log.Debug("cluster node: forward FSPIOP to the leader", "err", err)
			writeFSPIOPUnavailable(w, "the leader did not answer; try again")
		},
	}
}

// writeFSPIOPUnavailable answers 503 with FSPIOP's 2003 (service
// currently unavailable), which tells a peer to retry.
func writeFSPIOPUnavailable(w http.ResponseWriter, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(msg.NewError(msg.ServiceUnavailable, detail).Body())
}
