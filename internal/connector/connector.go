package connector

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// CallbackPath is where the connector takes the switch's callbacks on
// its listener.
const CallbackPath = "/hulian/callbacks"

// Connector is one participant's connector: its record, its listeners,
// and the loops that finish payments and deliver incoming transfers.
type Connector struct {
	cfg Config
	log *slog.Logger
	db  *sql.DB
	sw  *sim.Client

	self        atomic.Pointer[wire.Participant] // as the switch last answered
	callbackURL string
	// callbackPaths are the paths the switch may name the callback
	// endpoint by: the listener's, and the one behind a proxy.
	callbackPaths []string

	ln, apiLn   net.Listener
	srv, apiSrv *http.Server

	ctx    context.Context // the connector's lifetime: ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	requests chan struct{} // backend API requests in progress (RequestsMax)
	slots    chan struct{} // payments driven at once (PaymentsMax)
	confirms chan struct{} // confirm requests asking the backend (ConfirmsMax)

	flightMu sync.Mutex
	flights  map[string]*flight // payments being driven, by id

	commitMu sync.Mutex   // one notification booked at a time: the outbox's bound holds
	depth    atomic.Int64 // incoming transfers in the outbox
	wake     chan struct{}

	stats   stats
	metrics *metrics // Prometheus's, at GET /metrics
}

// stats count what the connector saw since it started, for GET /status.
type stats struct {
	callbacks, credited, redelivered, badSignatures, anomalies atomic.Int64
	accepted, rejected, delivered, deliveryFailures            atomic.Int64
	lastDeliveryError                                          atomic.Pointer[string]
}

// ErrRefusedKey means the switch refuses the connector's API key or does
// not know its participant: fix the key file, or --participant.
var ErrRefusedKey = fault.New(fault.Unauthorized, "", "the switch refuses the API key")

// Open opens the record in cfg.DataDir, listens, points the participant's
// callbackUrl at the connector (waiting for the switch while it is
// unreachable, until ctx ends), and starts serving: the backend API, the
// callbacks, and the loops that finish pending payments and deliver
// incoming transfers to the backend.
func Open(ctx context.Context, cfg Config) (*Connector, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	db, err := openDB(ctx, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	c := &Connector{cfg: cfg, log: cfg.Log, db: db,
		requests: make(chan struct{}, cfg.RequestsMax), slots: make(chan struct{}, cfg.PaymentsMax),
		confirms: make(chan struct{}, cfg.ConfirmsMax), flights: map[string]*flight{}, wake: make(chan struct{}, 1)}
	c.metrics = newMetrics(c)
	if u, err := url.Parse(cfg.SwitchURL); err == nil {
		c.metrics.switchBase = strings.TrimRight(u.EscapedPath(), "/")
	}
	c.sw = newSwitchClient(cfg, c.metrics)
	if err := c.open(ctx); err != nil {
		c.closeListeners()
		db.Close()
		return nil, fmt.Errorf("connector: %w", err)
	}
	return c, nil
}

// open does Open's work after the record is open; on error the caller
// closes what it opened.
func (c *Connector) open(ctx context.Context) error {
	if err := bindParticipant(ctx, c.db, c.cfg.Participant); err != nil {
		return err
	}
	var depth int64
	if err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox").Scan(&depth); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	c.depth.Store(depth)
	var err error
	if c.ln, err = net.Listen("tcp", c.cfg.Listen); err != nil {
		return err
	}
	if c.cfg.APIListen != "" {
		if c.apiLn, err = net.Listen("tcp", c.cfg.APIListen); err != nil {
			return err
		}
	}
	c.callbackURL = c.cfg.CallbackURL
	if c.callbackURL == "" {
		c.callbackURL = "http://" + c.ln.Addr().String() + CallbackPath
	}
	c.callbackPaths = []string{CallbackPath}
	if u, err := url.Parse(c.callbackURL); err == nil && u.EscapedPath() != CallbackPath {
		c.callbackPaths = append(c.callbackPaths, strings.TrimRight(u.EscapedPath(), "/"))
	}
	if err := c.attach(ctx); err != nil {
		return err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	api, callbacks := c.routes()
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: c.cfg.PaymentWait + 30*time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
			ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelWarn)}
	}
	if c.apiLn == nil {
		// One listener: the callbacks' routes and the API's side by side.
		api.Handle(CallbackPath, callbacks)
		api.Handle(CallbackPath+"/", callbacks)
		c.srv = newServer(api)
	} else {
		c.srv = newServer(callbacks)
		c.apiSrv = newServer(api)
		c.serve(c.apiSrv, c.apiLn)
	}
	c.serve(c.srv, c.ln)
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.deliverLoop(c.ctx) }()
	go func() { defer c.wg.Done(); c.resolveLoop(c.ctx) }()
	c.log.Info("connector started", "participant", c.cfg.Participant, "callbackUrl", c.callbackURL, "api", c.URL(),
		"outbox", depth)
	return nil
}

func (c *Connector) serve(srv *http.Server, ln net.Listener) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("listener failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// attach makes sure the switch sends the participant's callbacks, as
// JSON, to the connector (and sets the acceptance mode, if asked). It
// waits for a switch that does not answer, until ctx ends; a switch that
// refuses the key or the URL is an error at once.
func (c *Connector) attach(ctx context.Context) error {
	for n := 1; ; n++ {
		err := c.attachOnce(ctx)
		if err == nil {
			return nil
		}
		if r, ok := refusalOf(err); ok {
			switch {
			case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status == http.StatusNotFound:
				return fmt.Errorf("participant %s: %w: %v", c.cfg.Participant, ErrRefusedKey, err)
			case !r.Temporary():
				return fmt.Errorf("participant %s: %w", c.cfg.Participant, err)
			}
		}
		wait := backoff(n, c.cfg.RetryMin, c.cfg.RetryMax, err)
		c.log.Warn("the switch is not reachable yet; trying again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the switch: %w (last: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

func (c *Connector) attachOnce(ctx context.Context) error {
	p, err := c.sw.Participant(ctx, c.cfg.Participant)
	if err != nil {
		return err
	}
	var patch wire.ParticipantPatch
	if p.CallbackURL != c.callbackURL {
		patch.CallbackURL = &c.callbackURL
	}
	if p.MessageFormat != "" && p.MessageFormat != "json" {
		format := "json"
		patch.MessageFormat = &format
	}
	if a := c.cfg.Acceptance; a != "" && p.Acceptance != a {
		patch.Acceptance = &a
	}
	if patch != (wire.ParticipantPatch{}) {
		if p, err = c.sw.UpdateParticipant(ctx, c.cfg.Participant, patch); err != nil {
			return err
		}
		c.log.Info("participant updated at the switch", "callbackUrl", p.CallbackURL, "acceptance", p.Acceptance)
	}
	if p.Status != "" && p.Status != "active" {
		c.log.Warn("the participant is not active at the switch", "status", p.Status)
	}
	c.self.Store(&p)
	return nil
}

// URL is the base URL of the backend API.
func (c *Connector) URL() string {
	ln := c.ln
	if c.apiLn != nil {
		ln = c.apiLn
	}
	return "http://" + ln.Addr().String()
}

// CallbackURL is where the switch sends the participant's callbacks.
func (c *Connector) CallbackURL() string { return c.callbackURL }

// Participant is the participant's id.
func (c *Connector) Participant() string { return c.cfg.Participant }

// Close stops taking requests and callbacks, stops the loops (payments
// being driven stay PENDING in the record, and are finished at the next
// start), waits for them within ctx, and closes the record.
func (c *Connector) Close(ctx context.Context) error {
	c.cancel()
	var errs []error
	for _, s := range []*http.Server{c.srv, c.apiSrv} {
		if s == nil {
			continue
		}
		if err := s.Shutdown(ctx); err != nil {
			s.Close()
		}
	}
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("connector: stopping: %w", ctx.Err()))
		<-done // the loops end with c.ctx, which is cancelled; their last write is short
	}
	if err := c.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("connector: closing the record: %w", err))
	}
	return errors.Join(errs...)
}

func (c *Connector) closeListeners() {
	for _, ln := range []net.Listener{c.ln, c.apiLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// newID returns a fresh transfer id: the participant's id, then 80
// random bits. Ids are global at the switch; the prefix keeps the
// participant's apart from others', the random part from its own
// earlier runs.
func (c *Connector) newID() string {
	var b [10]byte
	crand.Read(b[:])
	return c.cfg.Participant + "." + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// serveStatus answers what an operator watches: the participant, where
// its callbacks go, the outbox's depth and the payments not final yet.
func (c *Connector) serveStatus(w http.ResponseWriter, r *http.Request) {
	var pending int64
	if err := c.db.QueryRowContext(r.Context(), "SELECT COUNT(*) FROM payments WHERE state = 'PENDING'").Scan(&pending); err != nil {
		writeProblem(w, probInternal, "")
		return
	}
	p := c.self.Load()
	last := ""
	if s := c.stats.lastDeliveryError.Load(); s != nil {
		last = *s
	}
	writeJSON(w, http.StatusOK, status{Participant: c.cfg.Participant, Switch: c.cfg.SwitchURL, CallbackURL: c.callbackURL,
		Acceptance: p.Acceptance, Status: p.Status, PendingPayments: pending,
		Outbox: outboxStatus{Depth: c.depth.Load(), Max: c.cfg.OutboxMax, LastError: last},
		Counters: counters{Callbacks: c.stats.callbacks.Load(), Credited: c.stats.credited.Load(), Redelivered: c.stats.redelivered.Load(),
			BadSignatures: c.stats.badSignatures.Load(), Anomalies: c.stats.anomalies.Load(), Accepted: c.stats.accepted.Load(),
			Rejected: c.stats.rejected.Load(), Delivered: c.stats.delivered.Load(), DeliveryFailures: c.stats.deliveryFailures.Load()}})
}

// status is the answer of GET /status.
type status struct {
	Participant     string       `json:"participant"`
	Switch          string       `json:"switch"`
	CallbackURL     string       `json:"callbackUrl"`
	Acceptance      string       `json:"acceptance"`
	Status          string       `json:"status"`
	PendingPayments int64        `json:"pendingPayments"`
	Outbox          outboxStatus `json:"outbox"`
	Counters        counters     `json:"counters"`
}

type outboxStatus struct {
	Depth     int64  `json:"depth"`
	Max       int    `json:"max"`
	LastError string `json:"lastError,omitempty"`
}

type counters struct {
	Callbacks        int64 `json:"callbacks"`
	Credited         int64 `json:"credited"`
	Redelivered      int64 `json:"redelivered"`
	BadSignatures    int64 `json:"badSignatures"`
	Anomalies        int64 `json:"anomalies"`
	Accepted         int64 `json:"accepted"`
	Rejected         int64 `json:"rejected"`
	Delivered        int64 `json:"delivered"`
	DeliveryFailures int64 `json:"deliveryFailures"`
}
