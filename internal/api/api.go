// Package api is the switch's HTTP API, version 1: routes, JSON shapes
// (package wire), authentication, authorization, rate limits and RFC 9457
// problem answers. It is a thin layer: every decision about money,
// aliases and participants is made by the core packages it calls.
package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
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
	"github.com/go-json-experiment/json/jsontext"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/console/users"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/dispute"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/iso20022"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/lookups"
	"github.com/hulian/hulian/internal/mandate"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/portability"
	"github.com/hulian/hulian/internal/qr"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/recon"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/rtp"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/telemetry"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// Directory is what the API needs of the alias directory.
type Directory interface {
	Register(ctx context.Context, p directory.Party) (directory.Party, bool, error)
	RegisterBatch(ctx context.Context, ps []directory.Party) ([]bool, []error, error)
	Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error)
	Route(ctx context.Context, t directory.Type, value string) (directory.Route, error)
	Delete(ctx context.Context, owner string, t directory.Type, value string) error
	DeleteAll(ctx context.Context, owner string) (int, error)
	Remove(ctx context.Context, t directory.Type, value, reason string, now time.Time) (directory.Removal, error)
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
	// LookupRate (tokens per second), LookupBurst, LookupMissCost (the
	// tokens a lookup that finds nothing costs), LookupUserRate (an end
	// user's misses per minute) and LookupMissAlert (the not-found ratio
	// that raises an operator alert) bound each participant's lookups,
	// apart from its rate limit; package lookups states their defaults.
	LookupRate      float64
	LookupBurst     int
	LookupMissCost  int
	LookupUserRate  int
	LookupMissAlert float64
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
	c.ensureLookupDefaults()
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
	lc := c.lookupConfig()
	return lc.Validate()
}

// Deps are what the server is built on. Auth is required; the handlers
// of the routes need the others (a server without Audit answers the
// audit log's routes 503; a test of routing alone needs none). A nil
// Ready is always ready, a nil Log discards, a nil Tracer traces
// nothing, a nil Now is time.Now.
type Deps struct {
	Auth         *auth.Authenticator
	Participants *participant.Registry
	Directory    Directory
	Transfers    *transfer.Service
	Fees         *quote.Fees
	Settlement   *settlement.Service
	Liquidity    *liquidity.Monitor
	Audit        *audit.Log
	// OperatorAlerts records the alerts of the lookup guard, for GET
	// /v1/operator-alerts; without it they are only logged.
	OperatorAlerts *lookups.Alerts
	// Claims files and answers portability claims; without it their
	// routes answer 503.
	Claims *portability.Service
	// Risk is risk control; without it its routes answer 503 and
	// lookups show no fraud marks.
	Risk *risk.Engine
	// ISO20022 answers banks' ISO 20022 messages; without it their route
	// answers 503.
	ISO20022 *iso20022.Gateway
	// Recon reconciles participants' records with the switch's; without
	// it its routes answer 503.
	Recon *recon.Service
	// Requests keeps requests to pay; without it their routes answer
	// 503.
	Requests *rtp.Service
	// QR keeps merchants' QR codes; without it their routes answer 503
	// and QR payees are refused.
	QR *qr.Service
	// Mandates keeps mandates and executes them; without it their
	// routes answer 503.
	Mandates *mandate.Service
	// Disputes keeps payers' disputes of payments; without it their
	// routes answer 503.
	Disputes *dispute.Service
	// FX keeps the FX providers' rate sheets; without it their routes
	// answer 503.
	FX *fx.Book
	// SchemeRoutes are the operator's routes of alias prefixes to other
	// schemes; without them their routes answer 503.
	SchemeRoutes *directory.SchemeRoutes
	// Console keeps the console's users and their actions; without it
	// their routes answer 503.
	Console *users.Store
	// Cluster describes the switch's nodes, their leader and each
	// follower's lag (GET /v1/cluster); without it a single switch
	// describes itself.
	Cluster func(ctx context.Context) (wire.Cluster, error)
	// ForwardedCert, if set, gives the SHA-256 of the client certificate
	// that a cluster node presented for a request it forwarded, having
	// checked it and attested it; false when the request carries no
	// such attestation or a false one. Without it only the request's own
	// TLS connection counts.
	ForwardedCert func(r *http.Request) (sum []byte, ok bool)
	// Location is the scheme's time zone, in which statements' days run
	// (nil: UTC).
	Location *time.Location
	// Ready reports whether the switch takes traffic (for /readyz):
	// nil, or why not, in words anyone may read (no host, no file).
	Ready func(ctx context.Context) error
	// Observer, if set, hears of every request answered (metrics).
	Observer RequestObserver
	// Tracer, if set, traces every request: a server span named for
	// its route, continuing the caller's W3C traceparent.
	Tracer trace.TracerProvider
	// Log receives the access line of every request, with its id, and
	// the API's other lines.
	Log *slog.Logger
	Now func() time.Time
}

// Server is the HTTP API.
type Server struct {
	Deps
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	// tracer starts the server spans; nil when not tracing.
	tracer trace.Tracer

	limMu    sync.Mutex
	limiters map[string]*client

	// bodyBytes counts the request body bytes read by requests being
	// handled.
	bodyBytes atomic.Int64
	// guard holds the participants' lookup budgets and counts.
	guard *lookups.Guard

	// active counts the requests being handled, for Drain.
	active atomic.Int64

	// recons are the reconciliations running.
	recons slots

	// mounted serves the paths under mountPrefix (Mount).
	mountPrefix string
	mounted     http.Handler
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
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Ready == nil {
		d.Ready = func(context.Context) error { return nil }
	}
	s := &Server{Deps: d, cfg: cfg, log: slog.New(telemetry.WithRequestID(d.Log.Handler())), mux: http.NewServeMux(),
		limiters: map[string]*client{}}
	if d.Tracer != nil {
		s.tracer = d.Tracer.Tracer(serverScope)
	}
	if err := s.buildGuard(); err != nil {
		return nil, err
	}
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
		{"GET", "/readyz", public, s.readyz},
		{"GET", "/openapi.json", public, s.openapi},

		{"POST", "/v1/participants", operator, s.createParticipant},
		{"GET", "/v1/participants", operator, s.listParticipants},
		{"GET", "/v1/participants/{id}", anyone, s.getParticipant},
		{"PATCH", "/v1/participants/{id}", anyone, s.patchParticipant},
		{"POST", "/v1/participants/{id}/suspend", operator, s.setStatus(participant.Suspended)},
		{"POST", "/v1/participants/{id}/resume", operator, s.setStatus(participant.Active)},
		{"POST", "/v1/participants/{id}/close", operator, s.closeParticipant},
		{"POST", "/v1/participants/{id}/keys", anyone, s.rotateKey},
		{"POST", "/v1/participants/{id}/callback-secrets", anyone, s.rotateCallbackSecret},
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
		{"GET", "/v1/directory/lookup-stats", operator, s.lookupStats},
		{"GET", "/v1/operator-alerts", operator, s.operatorAlerts},
		{"DELETE", "/v1/parties/{type}/{value}", anyone, s.deleteParty},
		{"POST", "/v1/parties/{type}/{value}/claims", participantOn, s.createClaim},
		{"GET", "/v1/claims", anyone, s.listClaims},
		{"GET", "/v1/claims/{id}", anyone, s.getClaim},
		{"POST", "/v1/claims/{id}/confirm", participantOn, s.answerClaim(true)},
		{"POST", "/v1/claims/{id}/cancel", participantOn, s.answerClaim(false)},

		{"POST", "/v1/quotes", participantOn, s.createQuote},
		{"POST", "/v1/transfers", participantOn, s.createTransfer},
		{"POST", "/v1/transfers:batch", participantOn, s.createTransfers},
		{"GET", "/v1/transfers", anyone, s.listTransfers},
		{"GET", "/v1/transfers/{id}", anyone, s.getTransfer},
		{"POST", "/v1/transfers/{id}/refunds", participantOn, s.createRefund},
		{"POST", "/v1/qr", participantOn, s.createQR},
		{"POST", "/v1/qr:decode", participantOn, s.decodeQR},
		{"GET", "/v1/qr/{id}", anyone, s.getQR},
		{"POST", "/v1/mandates", participantOn, s.createMandate},
		{"GET", "/v1/mandates", anyone, s.listMandates},
		{"GET", "/v1/mandates/{id}", anyone, s.getMandate},
		{"POST", "/v1/mandates/{id}/approve", participantOn, s.mandateAction(mandate.ActionApprove)},
		{"POST", "/v1/mandates/{id}/reject", participantOn, s.mandateAction(mandate.ActionReject)},
		{"POST", "/v1/mandates/{id}/pause", participantOn, s.mandateAction(mandate.ActionPause)},
		{"POST", "/v1/mandates/{id}/resume", participantOn, s.mandateAction(mandate.ActionResume)},
		{"POST", "/v1/mandates/{id}/revoke", participantOn, s.mandateAction(mandate.ActionRevoke)},
		{"POST", "/v1/mandates/{id}/executions", participantOn, s.executeMandate},
		{"GET", "/v1/mandates/{id}/executions", anyone, s.listExecutions},
		{"PUT", "/v1/fx/rates/{source}/{target}", participantOn, s.putFXRate},
		{"DELETE", "/v1/fx/rates/{source}/{target}", participantOn, s.deleteFXRate},
		{"GET", "/v1/fx/rates", anyone, s.listFXRates},
		{"GET", "/v1/reports/cross-border", auditor, s.crossBorderReport},
		{"PUT", "/v1/routes/{aliasType}/{prefix}", operator, s.putSchemeRoute},
		{"DELETE", "/v1/routes/{aliasType}/{prefix}", operator, s.deleteSchemeRoute},
		{"GET", "/v1/routes", auditor, s.listSchemeRoutes},
		{"GET", "/v1/cluster", operator, s.cluster},
		{"POST", "/v1/disputes", participantOn, s.openDispute},
		{"GET", "/v1/disputes", anyone, s.listDisputes},
		{"GET", "/v1/disputes/{id}", anyone, s.getDispute},
		{"POST", "/v1/disputes/{id}/accept", participantOn, s.acceptDispute},
		{"POST", "/v1/disputes/{id}/reject", participantOn, s.rejectDispute},
		{"POST", "/v1/payment-requests", participantOn, s.createPaymentRequest},
		{"GET", "/v1/payment-requests", anyone, s.listPaymentRequests},
		{"GET", "/v1/payment-requests/{id}", anyone, s.getPaymentRequest},
		{"POST", "/v1/payment-requests/{id}/accept", participantOn, s.acceptPaymentRequest},
		{"POST", "/v1/payment-requests/{id}/decline", participantOn, s.declinePaymentRequest},

		{"GET", "/v1/risk/rules", anyone, s.withRisk(s.listRules)},
		{"GET", "/v1/risk/rules/{id}", anyone, s.withRisk(s.getRule)},
		{"PUT", "/v1/risk/rules/{id}", operator, s.withRisk(s.putRule)},
		{"DELETE", "/v1/risk/rules/{id}", operator, s.withRisk(s.deleteRule)},
		{"GET", "/v1/risk/lists", operator, s.withRisk(s.listLists)},
		{"GET", "/v1/risk/lists/{name}", operator, s.withRisk(s.getList)},
		{"PUT", "/v1/risk/lists/{name}", operator, s.withRisk(s.putList)},
		{"POST", "/v1/risk/lists/{name}/items", operator, s.withRisk(s.addListItems)},
		{"DELETE", "/v1/risk/lists/{name}/items/{item}", operator, s.withRisk(s.removeListItem)},
		{"GET", "/v1/risk/alerts", anyone, s.withRisk(s.listRiskAlerts)},
		{"POST", "/v1/risk/alerts/{id}/decision", operator, s.withRisk(s.decideAlert)},
		{"POST", "/v1/risk/fraud-reports", participantOn, s.withRisk(s.createFraudReport)},

		{"POST", "/v1/iso20022/messages", participantOn, s.iso20022Message},
		{"POST", "/v1/reconciliations", anyone, s.createReconciliation},
		{"GET", "/v1/reconciliations/{id}", anyone, s.getReconciliation},
		{"GET", "/v1/participants/{id}/statements", anyone, s.statement},

		{"GET", "/v1/settlement-windows", anyone, s.listWindows},
		{"GET", "/v1/settlement-windows/{id}", anyone, s.getWindow},
		{"POST", "/v1/settlement-windows/{id}/close", operator, s.closeWindow},
		{"GET", "/v1/settlement-windows/{id}/report", anyone, s.report},
		{"POST", "/v1/settlement-windows/{id}/confirmations", operator, s.confirmSettlement},

		{"GET", "/v1/audit/verifier", public, s.auditVerifier},
		{"GET", "/v1/audit/checkpoint", anyone, s.auditCheckpoint},
		{"GET", "/v1/audit/transfers/{id}/proof", anyone, s.auditProof},
		{"GET", "/v1/audit/consistency", anyone, s.auditConsistency},
		{"GET", "/v1/audit/account-mac-key", anyone, s.auditAccountMACKey},
		{"GET", "/v1/audit/leaves", auditor, s.auditLeaves},
		{"POST", "/v1/audit/witnesses", operator, s.addWitness},
		{"POST", "/v1/audit/cosignatures", cosigner, s.addCosignature},

		{"POST", "/v1/console/users", operator, s.createConsoleUser},
		{"GET", "/v1/console/users", operator, s.listConsoleUsers},
		{"DELETE", "/v1/console/users/{username}", operator, s.deleteConsoleUser},
		{"GET", "/v1/console/actions", auditor, s.listConsoleActions},
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
// Every answer carries the request's id (Hulian-Request-Id); once it is
// written, the request is logged and observed (see exchange).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.active.Add(1)
	defer s.active.Add(-1)
	x, r := s.begin(w, r)
	defer s.end(x, r)
	w = x
	if h, ok := s.mountFor(r); ok {
		h.ServeHTTP(w, r)
		return
	}
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

// whileSuspended are the routes a suspended participant may still call:
// it reads its own transfers, accounts, liquidity alerts and settlement
// reports, so that it can settle; nothing else.
var whileSuspended = map[string]bool{
	"GET /v1/transfers":                              true,
	"GET /v1/transfers/{id}":                         true,
	"GET /v1/participants/{id}/accounts":             true,
	"GET /v1/participants/{id}/liquidity/{currency}": true,
	"GET /v1/liquidity-alerts":                       true,
	"GET /v1/settlement-windows":                     true,
	"GET /v1/settlement-windows/{id}":                true,
	"GET /v1/settlement-windows/{id}/report":         true,
}

// regulatorBucket is the regulator's rate-limit bucket: not a participant
// id (participant.ValidID), so that no participant shares it.
const regulatorBucket = "(regulator)"

// wrap authenticates, asks auth whether the principal may call the
// route, rate-limits participants and the regulator, then calls the
// route with the request body's bytes in flight accounted for.
func (s *Server) wrap(rt route) http.Handler {
	routeKey := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := exchangeOf(r)
		if x != nil {
			x.route = routeKey
		}
		if rt.access == public {
			rt.handle(w, r, auth.Principal{})
			return
		}
		p, err := s.Auth.Bearer(r.Header.Get("Authorization"))
		if err == nil && p.Role == auth.RoleParticipant {
			err = s.clientCert(r, &p.Participant)
		}
		as := ""
		if err != nil {
			// A request ServeAs answers for a principal carries no
			// credentials; looked for only then, off the hot path.
			a, ok := actingFor(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hulian"`)
				writeProblem(w, probUnauthorized, "send Authorization: Bearer <token>, and the client certificate the participant is bound to if any")
				return
			}
			p, as = a.p, a.who
		}
		if x != nil {
			if x.who = as; as == "" {
				x.who = caller(&p)
			}
		}
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		if err := auth.Allow(&p, rt.access, read); err != nil {
			s.writeError(w, r, err)
			return
		}
		var c *client
		who := "the regulator"
		switch p.Role {
		case auth.RoleParticipant:
			if p.Participant.Status != participant.Active && !whileSuspended[routeKey] {
				writeProblem(w, probSuspendedAccess, "participant "+p.Participant.ID+
					" is suspended: it may only read its transfers, accounts, liquidity alerts and settlement reports")
				return
			}
			c, who = s.client(p.Participant.ID), "participant "+p.Participant.ID
		case auth.RoleRegulator:
			c = s.client(regulatorBucket)
		}
		if c != nil && !c.lim.Allow() {
			refuseRate(w, who+" exceeded its request rate")
			return
		}
		if r.ContentLength != 0 {
			b := budgetBodies.Get().(*budgetBody)
			*b = budgetBody{ReadCloser: r.Body, s: s, c: c}
			defer b.release()
			r.Body = b
		}
		rt.handle(w, r, p)
	})
}

// client is what the server keeps per caller: its rate limit and the
// body bytes it has in flight.
type client struct {
	lim      *rate.Limiter
	inflight atomic.Int64
}

func (s *Server) client(id string) *client {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	c := s.limiters[id]
	if c == nil {
		c = &client{lim: rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.RateBurst)}
		s.limiters[id] = c
	}
	return c
}

// AllowRequest takes one request of participant id's rate limit, and
// reports whether it had it: the other front ends share the limit, so
// that a participant's rate is one whichever API it calls.
func (s *Server) AllowRequest(id string) bool { return s.client(id).lim.Allow() }

// spend takes n more tokens of the caller's rate limit (a batch of n
// items costs n; the request itself took one), and reports whether it
// had them. A batch larger than the burst costs the whole burst.
func (s *Server) spend(who auth.Principal, n int) bool {
	var c *client
	switch who.Role {
	case auth.RoleParticipant:
		c = s.client(who.Participant.ID)
	case auth.RoleRegulator:
		c = s.client(regulatorBucket)
	}
	if c == nil || n <= 0 {
		return true
	}
	return c.lim.AllowN(time.Now(), min(n, s.cfg.RateBurst))
}

// refuseRate answers that the caller exceeded its request rate.
func refuseRate(w http.ResponseWriter, detail string) {
	w.Header().Set("Retry-After", "1")
	writeProblem(w, probRateLimited, detail)
}

// clientCert checks that a participant bound to a client certificate
// presented it (verified against --client-ca by the TLS layer), to this
// node or, for a request a follower forwarded, to the follower.
func (s *Server) clientCert(r *http.Request, p *participant.Participant) error {
	if p.ClientCertSHA256 == "" {
		return nil
	}
	var sum []byte
	switch {
	case r.TLS != nil && len(r.TLS.PeerCertificates) > 0:
		h := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		sum = h[:]
	case s.ForwardedCert != nil:
		var ok bool
		if sum, ok = s.ForwardedCert(r); !ok {
			return auth.ErrUnauthenticated
		}
	default:
		return auth.ErrUnauthenticated
	}
	want, err := hex.DecodeString(p.ClientCertSHA256)
	if err != nil || subtle.ConstantTimeCompare(sum, want) != 1 {
		return auth.ErrUnauthenticated
	}
	return nil
}

// Bounds of request body bytes in flight: per caller, and in total.
// Bodies are read as they arrive, so that a client that declares a large
// body and sends little holds little memory; these bound what clients
// that do send can make the switch hold at once.
const (
	bodyInflightPerCaller = 32 << 20
	bodyInflightTotal     = 128 << 20
)

// errBudget means too many body bytes are in flight: the caller's own
// (perCaller) or everyone's.
type errBudget struct{ perCaller bool }

func (e *errBudget) Error() string {
	if e.perCaller {
		return "too many request body bytes in flight for this caller"
	}
	return "too many request body bytes in flight"
}

// budgetBody accounts for the bytes read of a request body while the
// request is handled.
type budgetBody struct {
	io.ReadCloser
	s       *Server
	c       *client // nil: the operator, counted in the total only
	charged int64
	// streamed means the handler keeps none of what it reads (it
	// streams the body to disk): nothing is charged.
	streamed bool
}

// streamBody tells r's body budget that the handler streams the body,
// holding none of it in memory; the handler bounds it itself.
func streamBody(r *http.Request) {
	if b, ok := r.Body.(*budgetBody); ok {
		b.streamed = true
	}
}

func (b *budgetBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && !b.streamed {
		b.charged += int64(n)
		total := b.s.bodyBytes.Add(int64(n))
		var mine int64
		if b.c != nil {
			mine = b.c.inflight.Add(int64(n))
		}
		if mine > bodyInflightPerCaller {
			return n, &errBudget{perCaller: true}
		}
		if total > bodyInflightTotal {
			return n, &errBudget{}
		}
	}
	return n, err
}

// budgetBodies spares a request with a body one allocation.
var budgetBodies = sync.Pool{New: func() any { return new(budgetBody) }}

// release gives back what the body was charged, when the request ends,
// and the wrapper to the pool: net/http does not read a request's body
// once its handler has returned.
func (b *budgetBody) release() {
	b.s.bodyBytes.Add(-b.charged)
	if b.c != nil {
		b.c.inflight.Add(-b.charged)
	}
	*b = budgetBody{}
	budgetBodies.Put(b)
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
	if refuseBody(w, err, max, "the body") {
		return false
	}
	// Unmarshal copies what it keeps, so the buffer goes back to the pool.
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		writeProblem(w, probInvalid, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// refuseBody answers a failure to read a request body of at most max
// bytes (too large, past the bytes in flight, broken), if err is one;
// what names the body in the answer.
func refuseBody(w http.ResponseWriter, err error, max int64, what string) bool {
	var tooLarge *http.MaxBytesError
	var budget *errBudget
	switch {
	case err == nil:
		return false
	case errors.As(err, &tooLarge):
		writeProblem(w, probTooLarge, what+" must be at most "+strconv.FormatInt(max, 10)+" bytes")
	case errors.As(err, &budget) && budget.perCaller:
		refuseRate(w, budget.Error())
	case errors.As(err, &budget):
		writeProblem(w, probUnavailable, budget.Error())
	default:
		writeProblem(w, probInvalid, "reading the body: "+err.Error())
	}
	return true
}

// readBody reads r's body, at most max bytes, into buf. The buffer grows
// as bytes arrive, never to a declared length the client has not sent:
// a client that declares megabytes and sends a few bytes holds a few
// bytes. Buffers come from a pool, so that a batch's body is usually read
// into one already large enough.
func readBody(w http.ResponseWriter, r *http.Request, max int64, buf []byte) ([]byte, error) {
	if r.ContentLength > max {
		return buf, &http.MaxBytesError{Limit: max}
	}
	b := bytes.NewBuffer(buf[:0])
	_, err := b.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	return b.Bytes(), err
}

// Header values shared by every answer; net/http only reads them.
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
)

// contentLengths are the Content-Length values of answers shorter than
// 4 KiB, shared like hdrJSON (net/http only reads them), so that a
// lookup's or a transfer's answer allocates none for its header.
var contentLengths = func() [][]string {
	out := make([][]string, 4096)
	for i := range out {
		out[i] = []string{strconv.Itoa(i)}
	}
	return out
}()

// bufs holds body buffers between requests: a batch's request and answer
// are each a few hundred kilobytes.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 8<<20 {
		bufs.Put(b)
	}
}

// reply writes v as JSON with status. Invalid UTF-8, which no stored
// text should hold but an old record might, becomes U+FFFD rather than a
// failed answer.
func reply(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v, jsontext.AllowInvalidUTF8(true))
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
		s.log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "err", err)
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
	if len(b) < len(contentLengths) {
		h["Content-Length"] = contentLengths[len(b)]
	} else {
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
	}
	w.WriteHeader(status)
	w.Write(b)
}

// healthz answers that the process is alive, whatever its state: for
// liveness probes, which restart a process that does not answer.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	reply(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyTimeout bounds the readiness check, whose pings of the stores
// must be quick for a probe to trust them.
const readyTimeout = 2 * time.Second

// readyz answers whether the switch takes traffic, or why not: for
// readiness probes and load balancers. Its 503 is the one whose detail
// is kept, since the reason is what a probe's operator needs.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		p := problemOf(probUnavailable, "")
		p.Detail = err.Error()
		writeProblemDoc(w, p)
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
