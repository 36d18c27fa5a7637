// Package fspiop is the switch's second front end: Mojaloop's FSP
// Interoperability API (FSPIOP, version 1.1, also 1.0) on its own
// listener, at the root path, one host for every service (account
// lookup, quotes, transfers). A Mojaloop DFSP — typically Mojaloop's
// own SDK scheme adapter — connects to it unchanged, and pays and is
// paid by participants of the native JSON API through the same core.
//
// An FSPIOP participant is a participant registered with an "fspiop"
// endpoint; its id is its FSP id. It authenticates with its API key as
// a bearer token, and FSPIOP-Source must name it; if it registered a JWS
// key, the FSPIOP-Signature of its requests is verified.
//
// Every request is answered at once (202, or 200 for a callback, with
// an empty body) once its headers and body are valid; what it asks is
// done afterwards and answered by a callback to the requester's
// endpoint. Requests between two FSPIOP participants are relayed body
// and signature headers byte for byte; those to a native participant
// the switch answers itself, as that participant's agent:
//
//   - GET /parties from the directory (the name masked as in native
//     lookups);
//   - POST /quotes with an ILP packet and a condition whose fulfilment
//     only the switch can compute (an HMAC of the packet under a secret
//     derived from the data key), and the scheme's fee;
//   - POST /transfers through the payment flow like a native payment
//     (risk screening, limits, the payee's acceptance mode), answered
//     with the fulfilment once committed.
//
// A native payer's payment to an FSPIOP payee runs lookup, quote and
// prepare over FSPIOP towards the payee, and commits when its fulfilment
// arrives (Confirmer). FSPIOP payments settle, show in the audit log and
// pass risk control like native ones: they are native payments on the
// ledger.
//
// A participant of kind scheme is a link to another payment scheme
// (another Hulian switch, or a Mojaloop hub) over FSPIOP: the far
// scheme knows this switch as one FSP, the link's LinkID. Everything
// sent to a link is the switch's own message, from LinkID, with the key
// the far scheme issued for it; the far scheme's requests and callbacks
// come in with the link's own key, as any FSP's do. The directory asks a
// link for the aliases routed to it (FarParty), and Confirm pays through
// it. FSPs are answered from the aliases registered here only, so that
// nothing passes through this switch from one scheme to a third.
package fspiop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// Config tunes the front end. EnsureDefaults states every default.
type Config struct {
	// HubID is the FSPIOP-Source of the switch's own messages ("hub",
	// an id no participant can have).
	HubID string
	// Secret derives the fulfilments of the quotes the switch answers
	// for native payees; at least 32 bytes, kept across restarts (a
	// payment prepared before a restart is fulfilled after it).
	Secret []byte
	// QuoteTTL is how long a quote the switch answers is valid (60 s).
	QuoteTTL time.Duration
	// Region is the default region of national phone numbers ("CN").
	Region string
	// ConfirmTimeout bounds a native payer's wait for an FSPIOP payee's
	// lookup, quote and fulfilment together (30 s).
	ConfirmTimeout time.Duration
	// LookupTimeout bounds the wait for a scheme link's answer to a
	// look-up of one of its aliases (5 s): a payer waits for it.
	LookupTimeout time.Duration
	// SendTimeout bounds each attempt to deliver a request or callback
	// (5 s); Attempts is how many are made (4), with backoff.
	SendTimeout time.Duration
	Attempts    int
	// QueueMax bounds the requests and callbacks waiting to be sent
	// (100,000); beyond it they are dropped and logged.
	QueueMax int
	// Senders is how many are sent at once (256): each waits for its
	// receiver's answer, which a busy DFSP gives late.
	Senders int
}

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	if c.HubID == "" {
		c.HubID = "hub"
	}
	if c.QuoteTTL == 0 {
		c.QuoteTTL = time.Minute
	}
	if c.Region == "" {
		c.Region = directory.DefaultRegion
	}
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = 30 * time.Second
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 5 * time.Second
	}
	if c.LookupTimeout == 0 {
		c.LookupTimeout = 5 * time.Second
	}
	if c.Attempts == 0 {
		c.Attempts = 4
	}
	if c.QueueMax == 0 {
		c.QueueMax = 100_000
	}
	if c.Senders == 0 {
		c.Senders = 256
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	switch {
	case len(c.Secret) < 32:
		return errors.New("fspiop: the ILP secret must be at least 32 bytes")
	case c.QuoteTTL <= 0 || c.QuoteTTL > 24*time.Hour:
		return fmt.Errorf("fspiop: quote TTL %v must be positive and at most 24h", c.QuoteTTL)
	case c.ConfirmTimeout <= 0 || c.SendTimeout <= 0 || c.LookupTimeout <= 0 || c.Attempts < 1 || c.QueueMax < 1 || c.Senders < 1:
		return errors.New("fspiop: timeouts, attempts, queue and senders must be positive")
	}
	return directory.CheckRegion(c.Region)
}

// Directory is what the front end needs of the directory: FSPs are
// answered from the aliases registered here only (LookupLocal), never
// through a scheme link.
type Directory interface {
	LookupLocal(ctx context.Context, t directory.Type, value string) (directory.Party, error)
	Register(ctx context.Context, p directory.Party) (directory.Party, bool, error)
	Delete(ctx context.Context, owner string, t directory.Type, value string) error
}

// LookupGuard budgets each participant's look-ups of aliases (the
// native API's guard, shared): a look-up is begun within the budget and
// done once its answer is known, a miss costing more than a find.
type LookupGuard interface {
	Begin(participant, endUser string) (ok bool, retryAfter time.Duration)
	Done(participant, endUser string, found bool)
}

// Deps are what the front end is built on; all but Signer, Rate,
// Lookups, Client, Observer, Tracer, Log and Now are required.
type Deps struct {
	Auth         *auth.Authenticator
	Participants *participant.Registry
	Directory    Directory
	Transfers    *transfer.Service
	Fees         *quote.Fees
	DB           *sqldb.DB
	// Signer, if set, signs the switch's own requests and callbacks
	// (FSPIOP-Signature); relayed ones keep their sender's.
	Signer *jws.Signer
	// Rate, if set, is each participant's request rate (the native
	// API's, shared): a request beyond it is refused before anything.
	Rate interface{ AllowRequest(participant string) bool }
	// Lookups, if set, budgets GET /parties and GET /participants, so
	// that the directory cannot be enumerated through this front end
	// either.
	Lookups LookupGuard
	// Client sends requests and callbacks; nil is a client with no
	// overall timeout (SendTimeout bounds each attempt).
	Client *http.Client
	// Observer, if set, hears of every request answered (metrics).
	Observer RequestObserver
	// Tracer, if set, traces every request: a server span continuing
	// the caller's W3C traceparent, a span for the work done after the
	// answer, and a client span for each attempt to send a request or
	// callback, whose traceparent the receiver gets. Nil traces nothing.
	Tracer trace.TracerProvider
	// Log gets an access line per request ("request", with the request's
	// id, route template, status, latency, sizes and caller, and
	// "listener":"fspiop") and the front end's failures; nil discards.
	Log *slog.Logger
	Now func() time.Time
}

// Server is the FSPIOP front end: an http.Handler for its listener, and
// the Confirmer of native payments to FSPIOP payees.
type Server struct {
	Deps
	cfg   Config
	mux   *http.ServeMux
	store *store
	out   *sender
	// waits holds the native payments waiting for an FSPIOP payee's
	// callback, by resource and id (see wait).
	waitMu sync.Mutex
	waits  map[string][]chan reply
	// work bounds the requests being processed after their answer.
	work chan struct{}
	// keys caches the participants' parsed JWS keys by PEM text.
	keys sync.Map
	// active counts requests being handled and processed.
	active atomic.Int64
	// tracer starts the front end's spans; nil when not tracing.
	tracer trace.Tracer
	// accessLog is Log naming the listener on each access line.
	accessLog *slog.Logger
}

// New returns the front end; cfg must be valid (EnsureDefaults first).
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Auth == nil || d.Participants == nil || d.Directory == nil || d.Transfers == nil || d.Fees == nil || d.DB == nil {
		return nil, errors.New("fspiop: auth, participants, directory, transfers, fees and database are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Client == nil {
		// Keep a connection per sender and FSP alive: Go's default keeps
		// two idle per host, and the rest would be dialled anew for every
		// request and callback.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4*cfg.Senders, cfg.Senders
		d.Client = &http.Client{Transport: tr}
	}
	s := &Server{Deps: d, cfg: cfg, mux: http.NewServeMux(), store: newStore(d.DB), waits: map[string][]chan reply{},
		work: make(chan struct{}, 4096)}
	s.accessLog = d.Log.With("listener", "fspiop")
	if d.Tracer != nil {
		s.tracer = d.Tracer.Tracer(scope)
	}
	s.out = newSender(s, cfg)
	s.routes()
	return s, nil
}

// ServeHTTP serves the FSPIOP API: every request with its id (returned
// as Hulian-Request-Id), its access line, its metrics and, when tracing,
// its server span.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.active.Add(1)
	defer s.active.Add(-1)
	x, r := s.begin(w, r)
	s.mux.ServeHTTP(x, r)
	s.end(x)
}

// Run sends the queued requests and callbacks and finishes expired and
// decided payments until ctx ends.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.store.run(ctx) })
	wg.Go(func() { s.out.run(ctx) })
	wg.Go(func() { s.sweep(ctx) })
	wg.Wait()
}

// Drain waits until no request is being handled or processed, or ctx
// ends: the lifecycle stops the front end before the ledger it writes to.
func (s *Server) Drain(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for s.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("fspiop: %d requests still in process: %w", s.active.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// async runs fn for in after in was answered, bounded: when too many
// are in process, the request waits for room before it is answered, so
// that a flood slows its sender instead of growing memory. fn's context
// carries the request's id (its log lines name it) and, when tracing, a
// span of its own, a child of the request's server span, which the
// messages fn sends continue.
func (s *Server) async(in *inbound, fn func(ctx context.Context)) {
	parent := context.WithoutCancel(in.r.Context())
	s.work <- struct{}{}
	s.active.Add(1)
	go func() {
		defer func() {
			<-s.work
			s.active.Add(-1)
		}()
		ctx, cancel := context.WithTimeout(parent, s.cfg.ConfirmTimeout+s.cfg.SendTimeout)
		defer cancel()
		if s.tracer != nil {
			var span trace.Span
			ctx, span = s.tracer.Start(ctx, "fspiop.process")
			defer span.End()
		}
		fn(ctx)
	}()
}
