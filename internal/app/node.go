package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/cluster"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/wire"
)

// nodeLedger is what a cluster node hands the app that serves as its
// follower or its leader: the ledger's store and journal, which outlive
// the app, and whether the journal follows.
type nodeLedger struct {
	store    *postgres.Store
	journal  *journal.Journal
	follower bool
	lease    *cluster.Lease
	// hook is the serving app's OnDurable.
	hook atomic.Pointer[func([]*ledger.Committed)]
	// observer is the serving app's metrics, which the journal feeds.
	observer atomic.Pointer[journal.Observer]
	// cosigSeen is the newest audit_cosignatures row the node's audit
	// log took: the node's, so that a new term's follower does not take
	// again what its audit directory holds already.
	cosigSeen *atomic.Int64
}

func (nl *nodeLedger) onDurable(b []*ledger.Committed) {
	if f := nl.hook.Load(); f != nil {
		(*f)(b)
	}
}

// Applied passes the journal's count on to the serving app's metrics.
func (nl *nodeLedger) Applied(commands int) {
	if o := nl.observer.Load(); o != nil {
		(*o).Applied(commands)
	}
}

// Committed passes the journal's group commit on to the serving app's
// metrics.
func (nl *nodeLedger) Committed(events int, took time.Duration) {
	if o := nl.observer.Load(); o != nil {
		(*o).Committed(events, took)
	}
}

// following reports whether the app is a cluster node's follower: it
// reads, and the leader writes.
func (a *App) following() bool { return a.node != nil && a.node.follower }

// followerLookupMaxAge is how long a follower answers an alias lookup
// from its cache: the leader's changes reach the follower's lookups
// within it, as they reach its ledger within a second.
const followerLookupMaxAge = time.Second

// ForwardedHeader marks a request a follower forwarded to the leader: a
// node that is not the leader answers it 503 rather than forward again.
const ForwardedHeader = "Hulian-Forwarded-By"

// Node is one switch process of a cluster of nodes that share a
// PostgreSQL database. Exactly one node, the holder of the lease, leads:
// it runs the ledger's writer and the background jobs. The others follow
// the ledger in the database, answer reads themselves and forward the
// rest to the leader. When the leader goes, a follower takes the lease
// once it has expired and leads.
type Node struct {
	cfg   Config
	lease *cluster.Lease
	ln    net.Listener
	srv   *http.Server
	// serving is what answers requests now: nil while the node starts or
	// changes role.
	serving atomic.Pointer[nodeRole]
	proxy   *httputil.ReverseProxy
	// fspLn, fspSrv and fspProxy serve FSPIOP (nodefspiop.go), when
	// configured.
	fspLn    net.Listener
	fspSrv   *http.Server
	fspProxy *httputil.ReverseProxy
	cancel   context.CancelFunc
	done     chan struct{}
	fatal    error // why the node stopped by itself, once done is closed
	// cosigSeen: see nodeLedger.cosigSeen.
	cosigSeen atomic.Int64
	// Promoted, if set, hears how long each promotion took, from the
	// lease won to the first request taken (tests, logs).
	Promoted func(epoch int64, took time.Duration)
}

// nodeRole is the app that serves, as leader or follower.
type nodeRole struct {
	app    *App
	leader bool
	epoch  int64
}

// OpenNode starts a cluster node from cfg, which names the database
// (Store), the node (NodeID) and where the others reach it
// (AdvertiseAddr): it listens at once, answering 503 until it serves as
// follower or leader, and runs until Close.
func OpenNode(ctx context.Context, cfg Config) (*Node, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NodeID == "" {
		return nil, errors.New("a cluster node needs a node id (--node-id)")
	}
	// The lease lives in the ledger's schema: the first node on a new
	// database makes it.
	if err := postgres.Migrate(ctx, cfg.Store); err != nil {
		return nil, err
	}
	lease, err := cluster.Open(ctx, cfg.Store, cluster.Config{Node: cfg.NodeID, Addr: cfg.AdvertiseAddr,
		Renew: cfg.LeaseRenew, TTL: cfg.LeaseTTL, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, lease: lease, done: make(chan struct{})}
	probe := &App{cfg: cfg}
	if n.ln, err = probe.listen(); err != nil {
		lease.Close()
		return nil, err
	}
	if n.proxy, err = n.newProxy(); err == nil {
		err = n.listenFSPIOP()
	}
	if err != nil {
		lease.Close()
		n.ln.Close()
		return nil, err
	}
	n.srv = &http.Server{Handler: n, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		if err := n.srv.Serve(n.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Log.Error("http server", "err", err)
		}
	}()
	rctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go lease.Run(rctx)
	go n.run(rctx)
	cfg.Log.Info("cluster node listening", "node", cfg.NodeID, "url", n.URL(), "advertise", cfg.AdvertiseAddr)
	return n, nil
}

// Done is closed when the node stops by itself, for a reason Err gives
// (a key that differs from the cluster's), or after Close.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err says why the node stopped by itself; nil before Done is closed,
// or after Close.
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.fatal
	default:
		return nil
	}
}

// URL is the node's base URL.
func (n *Node) URL() string {
	return n.scheme() + "://" + n.ln.Addr().String()
}

// scheme is the nodes' URL scheme: https when they serve TLS.
func (n *Node) scheme() string {
	if n.cfg.TLSCert != "" {
		return "https"
	}
	return "http"
}

// forwardKey is the key of the proofs this node adds to what it
// forwards (forwardcert.go); nil while it changes role.
func (n *Node) forwardKey() []byte {
	if role := n.serving.Load(); role != nil {
		return role.app.forwardKey
	}
	return nil
}

// Close stops the node: it stops taking requests, lets those in flight
// finish, stops its app and, when leading, gives the lease up, so that
// a follower takes over at once.
func (n *Node) Close(ctx context.Context) error {
	n.cancel()
	<-n.done
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := n.srv.Shutdown(sctx)
	if n.fspSrv != nil {
		err = errors.Join(err, n.fspSrv.Shutdown(sctx))
	}
	n.lease.Close()
	return err
}

// Role says whether the node leads, follows, or neither yet, and the
// lease epoch it leads with.
func (n *Node) Role() (role string, epoch int64) {
	r := n.serving.Load()
	switch {
	case r == nil:
		return "starting", 0
	case r.leader:
		return "leader", r.epoch
	default:
		return "follower", 0
	}
}

// App returns the app that serves now, nil while the node changes role.
func (n *Node) App() *App {
	if r := n.serving.Load(); r != nil {
		return r.app
	}
	return nil
}

// run serves as follower and leader, one term after another, until ctx
// ends.
func (n *Node) run(ctx context.Context) {
	defer close(n.done)
	for ctx.Err() == nil {
		err := n.term(ctx)
		if errors.Is(err, errKeyDiffers) {
			// Starting again would not change the key: stop, loudly.
			n.cfg.Log.Error("cluster node: stopping", "err", err)
			n.fatal = err
			return
		}
		if err != nil && ctx.Err() == nil {
			n.cfg.Log.Error("cluster node: starting again as follower", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// term is one store's life: follow the ledger until this node wins the
// lease, then lead until the lease or the store is lost. Whatever ends
// it, the next term replays the ledger from the database again.
func (n *Node) term(ctx context.Context) (err error) {
	cfg := &n.cfg
	n.lease.Report("starting", 0)
	store, err := postgres.OpenNode(ctx, cfg.Store, cfg.NodeID)
	if err != nil {
		return fmt.Errorf("open the ledger store: %w", err)
	}
	nl := &nodeLedger{store: store, follower: true, lease: n.lease, cosigSeen: &n.cosigSeen}
	j, err := journal.Follow(ctx, store, journal.FollowOptions{Options: journal.Options{Now: cfg.Now, OnDurable: nl.onDurable, Observer: nl},
		Poll: min(cfg.LeaseRenew/4, 250*time.Millisecond)})
	if err != nil {
		store.Close()
		return fmt.Errorf("follow the ledger: %w", err)
	}
	nl.journal = j
	defer func() {
		err = errors.Join(err, j.Close(), store.Close())
	}()
	fol, err := n.openApp(ctx, nl)
	if err != nil {
		return err
	}
	n.serving.Store(&nodeRole{app: fol})
	cfg.Log.Info("cluster node following", "node", cfg.NodeID, "batches", j.Seq())
	epoch, ok := n.awaitLease(ctx, j)
	n.serving.Store(nil)
	if !ok {
		n.retire(fol)
		return j.Failure()
	}
	// Lead: catch up with what the old leader stored and signed, then
	// write.
	start := time.Now()
	store.SetEpoch(epoch)
	if err := j.Promote(ctx); err != nil {
		n.retire(fol)
		return err
	}
	ierr := fol.catchUpCheckpoints(ctx)
	if ierr == nil {
		ierr = fol.importWitnesses(ctx)
	}
	n.retire(fol)
	if ierr != nil {
		return fmt.Errorf("import the audit checkpoints: %w", ierr)
	}
	nl.follower = false
	lead, err := n.openApp(ctx, nl)
	if err != nil {
		return err
	}
	lead.startWorkers()
	if lead.FSPIOP != nil {
		// The node's FSPIOP listener takes the requests; they reach
		// the app once it serves.
		lead.runFSPIOP(func(context.Context) {})
	}
	n.serving.Store(&nodeRole{app: lead, leader: true, epoch: epoch})
	took := time.Since(start)
	cfg.Log.Info("cluster node leading", "node", cfg.NodeID, "epoch", epoch, "batches", j.Seq(), "took", took.Round(time.Millisecond))
	if n.Promoted != nil {
		n.Promoted(epoch, took)
	}
	why := n.lead(ctx, j)
	cfg.Log.Warn("cluster node stops leading", "node", cfg.NodeID, "epoch", epoch, "why", why)
	n.serving.Store(nil)
	n.retire(lead)
	if ctx.Err() != nil {
		// A graceful stop: the journal closes (durably) before the lease
		// is given up, so that the next leader reads everything.
		jerr := j.Close()
		rctx, cancel := context.WithTimeout(context.Background(), cfg.LeaseRenew)
		defer cancel()
		return errors.Join(jerr, n.lease.Release(rctx))
	}
	return nil
}

// awaitLease reports the follower's progress until this node holds the
// lease (true), ctx ends or the journal fails (false).
func (n *Node) awaitLease(ctx context.Context, j *journal.Journal) (int64, bool) {
	t := time.NewTicker(n.cfg.LeaseRenew / 4)
	defer t.Stop()
	for {
		n.lease.Report("follower", j.Seq())
		if epoch, ok := n.lease.Leading(); ok {
			return epoch, true
		}
		if j.Failure() != nil {
			return 0, false
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-n.lease.Changes():
		case <-t.C:
		}
	}
}

// lead reports the leader's progress until the lease is lost, the
// journal fails or ctx ends, and says which.
func (n *Node) lead(ctx context.Context, j *journal.Journal) string {
	t := time.NewTicker(n.cfg.LeaseRenew / 4)
	defer t.Stop()
	for {
		n.lease.Report("leader", j.Seq())
		if _, ok := n.lease.Leading(); !ok {
			return "lease lost"
		}
		if err := j.Failure(); err != nil {
			return err.Error()
		}
		select {
		case <-ctx.Done():
			return "stopping"
		case <-n.lease.Changes():
		case <-t.C:
		}
	}
}

// openApp builds the app that serves as follower or leader over the
// node's ledger.
func (n *Node) openApp(ctx context.Context, nl *nodeLedger) (*App, error) {
	a := &App{cfg: n.cfg, node: nl}
	if err := a.open(ctx); err != nil {
		return nil, err
	}
	if err := a.serveMetrics(); err != nil {
		a.life.stop(context.Background())
		return nil, err
	}
	if nl.follower {
		a.life.goRun("follow the participants", a.followParticipants)
		a.life.goRun("follow the audit checkpoints", a.followCheckpoints)
	}
	a.ready.Store(true)
	return a, nil
}

// retire lets the requests a retired app is handling finish, then stops
// it.
func (n *Node) retire(a *App) {
	a.ready.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ConfirmTimeout+3*time.Second)
	defer cancel()
	if err := a.API.Drain(ctx); err != nil {
		n.cfg.Log.Warn("cluster node: requests still in flight at a change of role", "err", err)
	}
	if err := a.life.stop(ctx); err != nil {
		n.cfg.Log.Error("cluster node: stop", "err", err)
	}
}

// followParticipants reads the participants again every second: the
// leader registers and changes them.
func (a *App) followParticipants(ctx context.Context) {
	every(ctx, time.Second, func(ctx context.Context) {
		if err := a.Participants.Reload(ctx); err != nil && ctx.Err() == nil {
			a.cfg.Log.Warn("cluster node: reload the participants", "err", err)
		}
	})
}

// publishCheckpoint stores a checkpoint the leader signed, for the
// followers to import.
func (a *App) publishCheckpoint(size int64, note []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The watermark moves with the published checkpoint, in one
	// transaction: it never names one that a new leader cannot import.
	if err := a.DB.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, note, signed_at) VALUES ($1, $2, $3)
			ON CONFLICT (size) DO NOTHING`, size, note, a.cfg.Now().UnixNano()); err != nil {
			return err
		}
		return auditWatermark{db: a.DB, now: a.cfg.Now}.save(ctx, tx, size)
	}); err != nil {
		a.cfg.Log.Error("cluster node: publish an audit checkpoint", "size", size, "err", err)
	}
}

// catchUpCheckpoints imports every checkpoint the old leader published,
// once the journal holds every event: the new leader's audit log carries
// on from the newest.
func (a *App) catchUpCheckpoints(ctx context.Context) error {
	for {
		before := a.Audit.Latest().Size
		if err := a.importCheckpoints(ctx); err != nil {
			return err
		}
		if a.Audit.Latest().Size == before {
			return nil
		}
	}
}

// followCheckpoints imports the checkpoints the leader signed, the
// witnesses it registered and the co-signatures it kept, every half
// second, into the follower's audit log.
func (a *App) followCheckpoints(ctx context.Context) {
	every(ctx, 500*time.Millisecond, func(ctx context.Context) {
		err := a.importCheckpoints(ctx)
		if err == nil {
			err = a.importWitnesses(ctx)
		}
		if err != nil && ctx.Err() == nil {
			a.cfg.Log.Warn("cluster node: import the leader's audit checkpoints", "err", err)
		}
	})
}

// cosignaturesKept is how many co-signed checkpoints the leader keeps in
// the database for the followers: each node keeps its own copy of every
// one it took in its audit directory, and a checkpoint's co-signatures
// matter while it is among the newest.
const cosignaturesKept = 4096

// publishWitness stores a witness the leader registered, for the
// followers to register.
func (a *App) publishWitness(name, vkey string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.DB.ExecContext(ctx, `INSERT INTO audit_witnesses (name, vkey, registered_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, vkey, a.cfg.Now().UnixNano()); err != nil {
		a.cfg.Log.Error("cluster node: publish an audit witness", "witness", name, "err", err)
	}
}

// publishCosignature stores a checkpoint co-signed by witnesses, as the
// leader kept it, for the followers to keep; the oldest beyond
// cosignaturesKept go.
func (a *App) publishCosignature(msg []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.DB.Transact(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO audit_cosignatures (note, stored_at) VALUES ($1, $2) RETURNING id`,
			msg, a.cfg.Now().UnixNano()).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM audit_cosignatures WHERE id <= $1`, id-cosignaturesKept)
		return err
	}); err != nil {
		a.cfg.Log.Error("cluster node: publish an audit co-signature", "err", err)
	}
}

// importWitnesses registers the witnesses the leader registered, then
// keeps the co-signatures it kept since the last taken, oldest first,
// until one is for a checkpoint not imported yet.
func (a *App) importWitnesses(ctx context.Context) error {
	type witness struct{ name, vkey string }
	ws, err := sqldb.Query(ctx, a.DB, `SELECT name, vkey FROM audit_witnesses ORDER BY registered_at, name`, nil,
		func(rows sqldb.Row) (witness, error) {
			var w witness
			err := rows.Scan(&w.name, &w.vkey)
			return w, err
		})
	if err != nil {
		return err
	}
	for _, w := range ws {
		if _, _, err := a.Audit.AddWitness(w.name, w.vkey); err != nil {
			return fmt.Errorf("witness %s: %w", w.name, err)
		}
	}
	type cosigned struct {
		id   int64
		note []byte
	}
	for {
		cs, err := sqldb.Query(ctx, a.DB, `SELECT id, note FROM audit_cosignatures WHERE id > $1 ORDER BY id LIMIT 64`,
			[]any{a.node.cosigSeen.Load()}, func(rows sqldb.Row) (cosigned, error) {
				var c cosigned
				err := rows.Scan(&c.id, &c.note)
				return c, err
			})
		if err != nil || len(cs) == 0 {
			return err
		}
		for _, c := range cs {
			_, _, err := a.Audit.AddCosignature(c.note)
			if errors.Is(err, audit.ErrBehind) {
				return nil
			}
			if err != nil {
				// The leader took it against the same tree: a refusal
				// here is this node's problem, not a reason to stop
				// taking the next ones.
				a.cfg.Log.Warn("cluster node: a co-signature the leader kept is refused here", "id", c.id, "err", err)
			}
			a.node.cosigSeen.Store(c.id)
		}
	}
}

// importCheckpoints imports the leader's checkpoints newer than the
// audit log's newest, oldest first, until one is beyond what the
// follower has hashed.
func (a *App) importCheckpoints(ctx context.Context) error {
	notes, err := sqldb.Query(ctx, a.DB, `SELECT note FROM audit_checkpoints WHERE size > $1 ORDER BY size LIMIT 64`,
		[]any{a.Audit.Latest().Size}, func(rows sqldb.Row) ([]byte, error) {
			var note []byte
			err := rows.Scan(&note)
			return note, err
		})
	if err != nil {
		return err
	}
	for _, note := range notes {
		if err := a.Audit.Import(ctx, note); errors.Is(err, audit.ErrBehind) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP answers on the node's listener: liveness and readiness
// itself, the rest by the app that serves, a follower forwarding what it
// does not answer to the leader.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	role := n.serving.Load()
	switch r.URL.Path {
	case "/healthz":
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive", "node": n.cfg.NodeID})
		return
	case "/readyz":
		n.readyz(w, r, role)
		return
	}
	if n.fspLn != nil && n.forwardedFSPIOP(w, r, role) {
		return
	}
	switch {
	case role == nil:
		api.WriteNotLeader(w, "this node is changing role; try again")
	case role.leader:
		role.app.API.ServeHTTP(w, r)
	case r.Header.Get(ForwardedHeader) != "":
		// Forwarded by a node that took this one for the leader: the
		// lease has just moved. The client tries again.
		api.WriteNotLeader(w, "this node is not the leader; try again")
	case localRead(r) && !newCredentials(role.app, r):
		role.app.API.ServeHTTP(w, r)
	default:
		n.proxy.ServeHTTP(w, r)
	}
}

// readyz answers whether a load balancer may send requests here: the
// node serves, and a follower has read the ledger to its end within the
// last three lease renewals.
func (n *Node) readyz(w http.ResponseWriter, r *http.Request, role *nodeRole) {
	status := func(code int, state, detail string) {
		body := map[string]string{"status": state, "node": n.cfg.NodeID}
		if detail != "" {
			body["detail"] = detail
		}
		if code != http.StatusOK {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, code, body)
	}
	if role == nil {
		status(http.StatusServiceUnavailable, "starting", "the node is starting or changing role")
		return
	}
	if err := role.app.readiness(r.Context()); err != nil {
		status(http.StatusServiceUnavailable, "not ready", err.Error())
		return
	}
	if role.leader {
		status(http.StatusOK, "ready", "leader")
		return
	}
	if _, at, err := role.app.Journal.Following(); err != nil || time.Since(at) > 3*n.cfg.LeaseRenew+time.Second {
		status(http.StatusServiceUnavailable, "not ready", "the follower is behind the ledger")
		return
	}
	status(http.StatusOK, "ready", "follower")
}

// newCredentials reports whether r carries a bearer token that the
// follower's app does not know: perhaps a participant's key the leader
// made since the follower last read the participants (every second).
// The leader answers such a request rather than the follower a 401; a
// request without a token is answered here.
func newCredentials(a *App, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" || a.authn == nil {
		return false
	}
	_, err := a.authn.Bearer(h)
	return err != nil
}

// localRead reports whether a follower answers r itself: reads of the
// ledger (transfers, accounts), look-ups of aliases and the audit log's
// proofs and checkpoints. Everything else, writes above all, goes to the
// leader.
func localRead(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	switch {
	case p == "/openapi.json", p == "/v1/cluster", p == "/v1/hub/accounts",
		p == "/v1/transfers", strings.HasPrefix(p, "/v1/transfers/"),
		strings.HasPrefix(p, "/v1/parties/"),
		strings.HasPrefix(p, "/v1/audit/"):
		return true
	case strings.HasPrefix(p, "/v1/participants/") && strings.HasSuffix(p, "/accounts"):
		return true
	}
	return false
}

// newProxy forwards requests to the leader named by the lease.
func (n *Node) newProxy() (*httputil.ReverseProxy, error) {
	scheme := n.scheme()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = n.cfg.ConfirmTimeout + 10*time.Second
	tr.MaxIdleConnsPerHost = 256
	if scheme == "https" {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if n.cfg.ClusterCA != "" {
			pem, err := os.ReadFile(n.cfg.ClusterCA)
			if err != nil {
				return nil, fmt.Errorf("the nodes' CA (--cluster-ca): %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("the nodes' CA (--cluster-ca) %s holds no PEM certificate", n.cfg.ClusterCA)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	return &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			leader, _ := n.lease.Leader()
			pr.SetURL(&url.URL{Scheme: scheme, Host: leader.Addr})
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(ForwardedHeader, n.cfg.NodeID)
			attestClientCert(n.forwardKey(), n.cfg.NodeID, time.Now(), pr.In, pr.Out)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			n.cfg.Log.Debug("cluster node: forward to the leader", "err", err)
			api.WriteNotLeader(w, "the leader did not answer; try again")
		},
	}, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// clusterStatus describes the cluster for GET /v1/cluster; nil for a
// single switch, which the API describes itself.
func (a *App) clusterStatus() func(ctx context.Context) (wire.Cluster, error) {
	if a.node == nil {
		return nil
	}
	lease, self := a.node.lease, a.cfg.NodeID
	return func(ctx context.Context) (wire.Cluster, error) {
		st, err := lease.Members(ctx)
		if err != nil {
			return wire.Cluster{}, fmt.Errorf("cluster: %w", err)
		}
		out := wire.Cluster{Mode: "cluster", Node: self, Epoch: st.Lease.Epoch, LeaseExpiresInMs: st.ExpiresIn.Milliseconds(),
			Nodes: make([]wire.ClusterNode, 0, len(st.Nodes))}
		if st.Held {
			out.Leader, out.LeaderAddr = st.Lease.Node, st.Lease.Addr
		}
		for _, m := range st.Nodes {
			out.Nodes = append(out.Nodes, wire.ClusterNode{Node: m.Node, Addr: m.Addr, Role: m.Role, AppliedSeq: m.AppliedSeq,
				LagBatches: uint64(max(m.Lag, 0)), SeenMsAgo: m.Seen.Milliseconds(), Alive: m.Alive})
		}
		return out, nil
	}
}

// errKeyDiffers means a node's key is not the cluster's: the node stops.
var errKeyDiffers = errors.New("a key is not the cluster's")

// sameKey checks, on a cluster node, that a key every node must share is
// the one the first node recorded (its fingerprint in cluster_keys): a
// node started without the shared copy made a key of its own, and would
// sign what the others refuse.
func (a *App) sameKey(ctx context.Context, name string, key []byte) error {
	if a.node == nil {
		return nil
	}
	h := sha256.New()
	h.Write([]byte("hulian cluster key fingerprint\x00" + name + "\x00"))
	h.Write(key)
	fp := hex.EncodeToString(h.Sum(nil))
	if _, err := a.DB.ExecContext(ctx, `INSERT INTO cluster_keys (name, fingerprint, node, recorded_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO NOTHING`, name, fp, a.cfg.NodeID, a.cfg.Now().UnixNano()); err != nil {
		return fmt.Errorf("record the %s key's fingerprint: %w", name, err)
	}
	var want, node string
	if err := a.DB.QueryRowContext(ctx, `SELECT fingerprint, node FROM cluster_keys WHERE name = $1`, name).Scan(&want, &node); err != nil {
		return fmt.Errorf("read the %s key's fingerprint: %w", name, err)
	}
	if want != fp {
		return fmt.Errorf("%w: the %s key differs from the one node %s recorded: copy the cluster's key to this node (docs/high-availability.md, \"What every node must share\")", errKeyDiffers, name, node)
	}
	return nil
}
