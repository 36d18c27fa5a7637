package app_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
	"github.com/hulian/hulian/internal/wire"
)

// TestClusterClientCertificates: a participant bound to a client
// certificate writes through a follower over TLS — the follower verifies
// the certificate and attests it to the leader, which cannot see it —
// while a request without the certificate, with another one, or with an
// attestation the client made up is refused, at the follower and at
// the leader.
func TestClusterClientCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster on PostgreSQL")
	}
	p := newPKI(t)
	p.issue("server", true)
	bound, boundDER := p.issue("wallet-a", false)
	other, _ := p.issue("wallet-x", false)
	open := inProcessCluster(t, func(c *app.Config) {
		c.TLSCert, c.TLSKey = filepath.Join(p.dir, "server.pem"), filepath.Join(p.dir, "server.key")
		c.ClientCA, c.ClusterCA = filepath.Join(p.dir, "ca.pem"), filepath.Join(p.dir, "ca.pem")
	})
	// A nodes' CA that cannot be read, or holds no certificate: the node
	// does not start.
	notPEM := filepath.Join(p.dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ca := range []string{filepath.Join(p.dir, "missing.pem"), notPEM} {
		cfg := app.Config{DataDir: t.TempDir(), Store: pgtest.DSN(t), Addr: "127.0.0.1:0", AdvertiseAddr: "127.0.0.1:1", NodeID: "bad",
			AdminToken: opToken, TLSCert: filepath.Join(p.dir, "server.pem"), TLSKey: filepath.Join(p.dir, "server.key"), ClusterCA: ca,
			Log: slog.New(slog.DiscardHandler)}
		if n, err := app.OpenNode(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "--cluster-ca") {
			if n != nil {
				n.Close(context.Background())
			}
			t.Errorf("a node with the nodes' CA %s: %v, want a refusal naming --cluster-ca", ca, err)
		}
	}

	leader := open("node0")
	waitFor(t, "node0 leads", 15*time.Second, hasRole(leader, "leader"))
	follower := open("node1")
	waitFor(t, "node1 follows", 15*time.Second, hasRole(follower, "follower"))

	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	client := func(url string, certs ...tls.Certificate) *sw {
		return &sw{t: t, url: url, hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}}
	}
	sum := sha256.Sum256(boundDER)
	op := client(leader.URL())
	ka, _ := op.participant("wallet-a", func(np *wire.NewParticipant) { np.ClientCertSHA256 = hex.EncodeToString(sum[:]) })
	kb, _ := op.participant("wallet-b", nil)

	// Writes through the follower: with the bound certificate, and by a
	// participant bound to none.
	client(follower.URL(), bound).party(ka, "MSISDN", "+8613800000011", "Ann", "a-1")
	client(follower.URL()).party(kb, "MSISDN", "+8613800000012", "Bob", "b-1")
	// Without it, or with another of the same CA: refused.
	for i, c := range []*sw{client(follower.URL()), client(follower.URL(), other)} {
		c.problem(401, "unauthorized", "POST", "/v1/parties", ka,
			wire.NewParty{Type: "MSISDN", Value: fmt.Sprintf("+86138000001%d", 20+i), Name: "Eve", Account: "e", Currency: "CNY"})
	}
	// A read the follower answers itself checks the certificate too
	// (once it knows the key: until then the leader answers).
	waitFor(t, "the follower answers wallet-a's reads", 5*time.Second, func() bool {
		return client(follower.URL(), bound).do("GET", "/v1/participants/wallet-a/accounts", ka, nil).status == 200
	})
	client(follower.URL(), other).problem(401, "unauthorized", "GET", "/v1/participants/wallet-a/accounts", ka, nil)

	// An attestation made up by the client: the follower replaces it,
	// the leader checks it.
	forged := func(url string, marked bool) int {
		req, _ := http.NewRequest("POST", url+"/v1/parties", strings.NewReader(
			`{"type":"MSISDN","value":"+8613800000030","name":"Eve","account":"e","currency":"CNY"}`))
		req.Header.Set("Authorization", "Bearer "+ka)
		req.Header.Set("Content-Type", "application/json")
		if marked {
			req.Header.Set(app.ForwardedHeader, "node1")
		}
		req.Header.Set("Hulian-Forwarded-Client-Cert", hex.EncodeToString(sum[:]))
		req.Header.Set("Hulian-Forwarded-Proof", "t="+strconv.FormatInt(time.Now().Unix(), 10)+",v1="+strings.Repeat("0", 64))
		r, err := client(url).hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	for _, c := range []struct {
		name   string
		url    string
		marked bool
		want   int
	}{
		{"at the leader", leader.URL(), true, 401},
		{"at the follower", follower.URL(), false, 401},                 // forwarded with the attestation removed
		{"marked forwarded at the follower", follower.URL(), true, 503}, // not forwarded again
	} {
		if got := forged(c.url, c.marked); got != c.want {
			t.Errorf("a made-up attestation %s: %d, want %d", c.name, got, c.want)
		}
	}
	var parties wire.Party
	client(leader.URL()).ok(200, "GET", "/v1/parties/MSISDN/+8613800000011", kb, nil, &parties)
	client(leader.URL()).problem(404, "unknown-party", "GET", "/v1/parties/MSISDN/+8613800000030", kb, nil)
}

// inProcessCluster makes a database and the keys its nodes share, and
// returns what opens a node of it in this process (closed at the test's
// end), its config edited by edit.
func inProcessCluster(t *testing.T, edit func(*app.Config)) func(id string) *app.Node {
	dsn := pgtest.DSN(t)
	seed := t.TempDir()
	a, err := app.Open(context.Background(), app.Config{DataDir: seed, Store: dsn, Addr: "127.0.0.1:0", AdminToken: opToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return func(id string) *app.Node {
		t.Helper()
		dir := t.TempDir()
		// Modes kept: the keys must stay private (0600).
		if out, err := exec.Command("cp", "-a", seed+"/.", dir).CombinedOutput(); err != nil {
			t.Fatalf("copy the keys: %v %s", err, out)
		}
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		cfg := app.Config{DataDir: dir, Store: dsn, Addr: addr, AdvertiseAddr: addr, NodeID: id, AdminToken: opToken,
			LeaseRenew: testLeaseRenew, LeaseTTL: testLeaseTTL, ConfirmTimeout: 2 * time.Second,
			Callback: callback.Config{AllowPrivate: true}, Log: slog.New(slog.DiscardHandler)}
		if edit != nil {
			edit(&cfg)
		}
		n, err := app.OpenNode(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close(context.Background()) })
		return n
	}
}

// hasRole reports whether n has the role.
func hasRole(n *app.Node, want string) func() bool {
	return func() bool { r, _ := n.Role(); return r == want }
}
