// Package api is the switch's HTTP API, version 1: routes, JSON shapes
// (package wire), authentication, authorization, rate limits and RFC 9457
// problem answers. It is a thin layer: every decision about money,
// aliases and participants is made by the core packages it calls.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"
	"golang.org/x/time/rate"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/transfer"
)

// Directory is what the API needs of the alias directory.
type Directory interface {
	Register(ctx context.Context, p directory.Party) (directory.Party, bool, error)
	RegisterBatch(ctx context.Context, ps []directory.Party) ([]bool, []error, error)
	Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error)
	Route(ctx context.Context, t directory.Type, value string) (directory.Route, error)
	Delete(ctx context.Context, owner string, t directory.Type, value string) error
	List(ctx context.Context, owner, after string, limit int) ([]directory.Party, error)
}

// Config tunes the server. EnsureDefaults states every default;
// Validate refuses what is out of range.
type Config struct {
	// Region is the default region for national phone numbers ("CN").
	Region string
	// RateLimit is each participant's sustained requests per second
	// (20,000), and RateBurst its burst (5,000).
	RateLimit float64
	RateBurst int
}

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Region == "" {
		c.Region = directory.DefaultRegion
	}
	if c.RateLimit == 0 {
		c.RateLimit = 20000
	}
	if c.RateBurst == 0 {
		c.RateBurst = 5000
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	if err := directory.CheckRegion(c.Region); err != nil {
		return err
	}
	switch {
	case !(c.RateLimit > 0) || math.IsInf(c.RateLimit, 0):
		return fmt.Errorf("rate limit %v: must be a positive number of requests per second", c.RateLimit)
	case c.RateBurst < 1:
		return fmt.Errorf("rate burst %d: must be at least 1", c.RateBurst)
	}
	return nil
}

// Deps are what the server is built on. Auth is required; the handlers
// of the routes need the others (a server without Audit answers the
// audit log's routes 503; a test of routing alone needs none). A nil
// Ready is always ready, a nil Log discards, a nil Now is time.Now.
type Deps struct {
	Auth         *auth.Authenticator
	Participants *participant.Registry
	Directory    Directory
	Transfers    *transfer.Service
	Fees         *quote.Fees
	Settlement   *settlement.Service
	Liquidity    *liquidity.Monitor
	Audit        *audit.Log
	// Ready reports whether the switch takes traffic (for /healthz).
	Ready func() bool
	Log   *slog.Logger
	Now   func() time.Time
}

// Server is the HTTP API.
type Server struct {
	Deps
	cfg Config
	log *slog.Logger
	mux *http.ServeMux

	limMu    sync.Mutex
	limiters map[string]*rate.Limiter

	// active counts the requests being handled, for Drain.
	active atomic.Int64
}

// Limits of request bodies.
const (
	bodyMax      = 64 << 10
	batchBodyMax = 4 << 20
)

// New returns the server with its routes; cfg must be valid
// (EnsureDefaults first).
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if d.Auth == nil {
		return nil, errors.New("api: an authenticator is required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Ready == nil {
		d.Ready = func() bool { return true }
	}
	s := &Server{Deps: d, cfg: cfg, log: d.Log, mux: http.NewServeMux(), limiters: map[string]*rate.Limiter{}}
	for _, r := range s.routes() {
		s.mux.Handle(r.method+" "+r.path, s.wrap(r))
	}
	// What no route matches: one pattern for all of it, so that a
	// request is matched once.
	s.mux.HandleFunc("/", s.noRoute)
	return s, nil
}

// route is one endpoint: who may call it and what handles it.
type route struct {
	method, path string
	access       auth.Access
	handle       func(http.ResponseWriter, *http.Request, auth.Principal)
}

// The access levels, as the route table names them (and the OpenAPI
// document's x-hulian-access, which a test holds to the table).
const (
	public        = auth.Public
	operator      = auth.OperatorOnly
	anyone        = auth.Anyone
	participantOn = auth.ParticipantOnly
	auditor       = auth.AuditorOnly
	cosigner      = auth.Cosigner
)

func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", public, s.healthz},
		{"GET", "/openapi.json", public, s.openapi},

		{"POST", "/v1/participants", operator, s.createParticipant},
		{"GET", "/v1/participants", operator, s.listParticipants},
		{"GET", "/v1/participants/{id}", anyone, s.getParticipant},
		{"PATCH", "/v1/participants/{id}", anyone, s.patchParticipant},
		{"POST", "/v1/participants/{id}/suspend", operator, s.setStatus(participant.Suspended)},
		{"POST", "/v1/participants/{id}/resume", operator, s.setStatus(participant.Active)},
		{"POST", "/v1/participants/{id}/funds", operator, s.moveFunds},
		{"PUT", "/v1/participants/{id}/limits/{currency}", operator, s.setLimit},
		{"GET", "/v1/participants/{id}/accounts", anyone, s.accounts},
		{"PUT", "/v1/participants/{id}/liquidity/{currency}", anyone, s.setLiquidity},
		{"GET", "/v1/participants/{id}/liquidity/{currency}", anyone, s.getLiquidity},
		{"GET", "/v1/liquidity-alerts", anyone, s.listAlerts},

		{"GET", "/v1/hub/accounts", operator, s.hubAccounts},

		{"GET", "/v1/fees", anyone, s.listFees},
		{"PUT", "/v1/fees/{currency}", operator, s.setFees},

		{"POST", "/v1/parties", participantOn, s.createParty},
		{"POST", "/v1/parties:batch", participantOn, s.createParties},
		{"GET", "/v1/parties", participantOn, s.listParties},
		{"GET", "/v1/parties/{type}/{value}", anyone, s.lookupParty},
		{"DELETE", "/v1/parties/{type}/{value}", participantOn, s.deleteParty},

		{"POST", "/v1/quotes", participantOn, s.createQuote},
		{"POST", "/v1/transfers", participantOn, s.createTransfer},
		{"POST", "/v1/transfers:batch", participantOn, s.createTransfers},
		{"GET", "/v1/transfers", anyone, s.listTransfers},
		{"GET", "/v1/transfers/{id}", anyone, s.getTransfer},

		{"GET", "/v1/settlement-windows", anyone, s.listWindows},
		{"GET", "/v1/settlement-windows/{id}", anyone, s.getWindow},
		{"POST", "/v1/settlement-windows/{id}/close", operator, s.closeWindow},
		{"GET", "/v1/settlement-windows/{id}/report", anyone, s.report},
		{"POST", "/v1/settlement-windows/{id}/confirmations", operator, s.confirmSettlement},

		{"GET", "/v1/audit/verifier", public, s.auditVerifier},
		{"GET", "/v1/audit/checkpoint", anyone, s.auditCheckpoint},
		{"GET", "/v1/audit/transfers/{id}/proof", anyone, s.auditProof},
		{"GET", "/v1/audit/consistency", anyone, s.auditConsistency},
		{"GET", "/v1/audit/leaves", auditor, s.auditLeaves},
		{"POST", "/v1/audit/witnesses", operator, s.addWitness},
		{"POST", "/v1/audit/cosignatures", cosigner, s.addCosignature},
	}
}

// Routes lists the server's routes as "METHOD /pattern" with who may
// call each (public, operator, any, participant, auditor, cosigner), in
// registration order;
// the OpenAPI test compares them with the document.
func (s *Server) Routes() [][2]string {
	names := map[auth.Access]string{public: "public", operator: "operator", anyone: "any", participantOn: "participant",
		auditor: "auditor", cosigner: "cosigner"}
	var out [][2]string
	for _, r := range s.routes() {
		out = append(out, [2]string{r.method + " " + r.path, names[r.access]})
	}
	return out
}

// ServeHTTP answers a request; unknown paths and methods get problems.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.active.Add(1)
	defer s.active.Add(-1)
	// The mux would redirect an unclean path to the clean one, and
	// answer "*" itself; no route has either. It matches the escaped
	// path, in which an alias's "/" or "." is escaped.
	if p := r.URL.EscapedPath(); !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		writeProblem(w, probNotFound, "no route for "+r.URL.Path)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// InFlight returns how many requests are being handled.
func (s *Server) InFlight() int64 { return s.active.Load() }

// Drain waits until no request is being handled, or ctx ends. Call it
// once the HTTP server takes no more requests (after its Shutdown or
// Close, which do not wait for handlers that outlive a connection):
// then nothing of the API still uses the parts that stop after it.
func (s *Server) Drain(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("api: %d requests still being handled: %w", s.active.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// methods are those a route may have.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// noRoute answers what no route matches: 405 with the methods the path
// has, or 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range methods {
		other := *r
		other.Method = m
		if _, pattern := s.mux.Handler(&other); pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, probMethod, r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	writeProblem(w, probNotFound, "no route for "+r.URL.Path)
}

// wrap authenticates, asks auth whether the principal may call the
// route, rate-limits participants, then calls the route.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.access == public {
			rt.handle(w, r, auth.Principal{})
			return
		}
		p, err := s.Auth.Bearer(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hulian"`)
			writeProblem(w, probUnauthorized, "send Authorization: Bearer <token>")
			return
		}
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		if err := auth.Allow(&p, rt.access, read); err != nil {
			s.writeError(w, r, err)
			return
		}
		if p.Role == auth.RoleParticipant && !s.limiter(p.Participant.ID).Allow() {
			w.Header().Set("Retry-After", "1")
			writeProblem(w, probRateLimited, "participant "+p.Participant.ID+" exceeded its request rate")
			return
		}
		rt.handle(w, r, p)
	})
}

func (s *Server) limiter(id string) *rate.Limiter {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	l := s.limiters[id]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.RateBurst)
		s.limiters[id] = l
	}
	return l
}

// errBody is a problem with the request body; decode returns it.
type errBody struct {
	kind   kind
	detail string
}

func (e *errBody) Error() string { return e.detail }

// decode reads a JSON body into v: the media type must be JSON, the
// body at most max bytes, with no unknown or duplicate members.
func decode(w http.ResponseWriter, r *http.Request, max int64, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeProblem(w, probMediaType, "Content-Type must be application/json")
			return false
		}
	}
	bp := getBuf()
	defer putBuf(bp)
	body, err := readBody(w, r, max, (*bp)[:0])
	*bp = body
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeProblem(w, probTooLarge, "the body must be at most "+strconv.FormatInt(max, 10)+" bytes")
		return false
	}
	if err != nil {
		writeProblem(w, probInvalid, "reading the body: "+err.Error())
		return false
	}
	// Unmarshal copies what it keeps, so the buffer goes back to the pool.
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		writeProblem(w, probInvalid, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// readBody reads r's body, at most max bytes, into buf. With a declared
// length it reads straight into a buffer of that size (a batch is a few
// hundred kilobytes, which io.ReadAll would reach by doubling and
// copying).
func readBody(w http.ResponseWriter, r *http.Request, max int64, buf []byte) ([]byte, error) {
	if r.ContentLength > max {
		return buf, &http.MaxBytesError{Limit: max}
	}
	body := http.MaxBytesReader(w, r.Body, max)
	if n := int(r.ContentLength); n >= 0 {
		if cap(buf) < n {
			buf = make([]byte, 0, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(body, buf); err != nil {
			return buf, err
		}
		return buf, nil
	}
	b := bytes.NewBuffer(buf[:0])
	_, err := b.ReadFrom(body)
	return b.Bytes(), err
}

// Header values shared by every answer; net/http only reads them.
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
)

// bufs holds body buffers between requests: a batch's request and answer
// are each a few hundred kilobytes.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 8<<20 {
		bufs.Put(b)
	}
}

// reply writes v as JSON with status.
func reply(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, probInternal, "")
		return
	}
	replyJSON(w, status, b)
}

// replyAppended writes the JSON document b that a wire.Append function
// made, or, if it failed (only text that is not UTF-8 can make it fail,
// and the switch's texts are checked on the way in), a logged 500.
func (s *Server) replyAppended(w http.ResponseWriter, r *http.Request, status int, b []byte, err error) {
	if err != nil {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeProblem(w, probInternal, "")
		return
	}
	replyJSON(w, status, b)
}

// replyJSON writes the JSON document b with status.
func replyJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	// A declared length spares the answer chunked encoding.
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.Ready() {
		writeProblem(w, probUnavailable, "starting or stopping")
		return
	}
	reply(w, http.StatusOK, map[string]string{"status": "ok"})
}

//go:embed openapi.json
var openapiDoc []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(openapiDoc)
}
