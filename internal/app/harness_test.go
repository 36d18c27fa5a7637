package app_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
	"github.com/hulian/hulian/internal/wire"
)

const opToken = "test-operator-token-0123456789abcdef"

// engines are the storage configurations the end-to-end tests run on.
var engines = []struct {
	name  string
	store func(t testing.TB) string
}{
	{"embedded", func(testing.TB) string { return "" }},
	{"postgres", func(t testing.TB) string { return pgtest.DSN(t) }},
}

// sw is a switch running in this process, reached over real HTTP.
type sw struct {
	t   *testing.T
	app *app.App
	url string
	hc  *http.Client
}

func start(t *testing.T, store string, mod func(*app.Config)) *sw {
	t.Helper()
	a := apptest.Start(t, func(c *app.Config) {
		c.Store, c.AdminToken, c.ConfirmTimeout = store, opToken, 2*time.Second
		c.Callback = callback.Config{AllowPrivate: true} // hooks listen on loopback
		if mod != nil {
			mod(c)
		}
	})
	return &sw{t: t, app: a, url: a.URL(), hc: &http.Client{Timeout: 30 * time.Second}}
}

// eachEngine runs fn on a fresh switch per engine.
func eachEngine(t *testing.T, mod func(*app.Config), fn func(t *testing.T, s *sw)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, start(t, e.store(t), mod)) })
	}
}

// resp is an answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body is JSON-encoded unless it is a string or
// []byte, which are sent as they are.
func (s *sw) do(method, path, token string, body any) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp{r.StatusCode, r.Header, b}
}

// ok sends a request that must answer status, and decodes the answer.
func (s *sw) ok(status int, method, path, token string, body, out any) {
	s.t.Helper()
	r := s.do(method, path, token, body)
	if r.status != status {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, status)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, r.body, err)
		}
	}
}

// problem sends a request that must be refused with status and a problem
// type ending in name.
func (s *sw) problem(status int, name, method, path, token string, body any) wire.Problem {
	s.t.Helper()
	r := s.do(method, path, token, body)
	var p wire.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		s.t.Fatalf("%s %s: %d, not a problem document: %s", method, path, r.status, r.body)
	}
	if r.status != status || p.Type != wire.ProblemBase+name || p.Status != status ||
		r.header.Get("Content-Type") != "application/problem+json" {
		s.t.Fatalf("%s %s: %d %s (%s), want %d %s", method, path, r.status, r.body, r.header.Get("Content-Type"), status, name)
	}
	return p
}

// participant creates a participant and returns its API key.
func (s *sw) participant(id string, mod func(*wire.NewParticipant)) (string, string) {
	s.t.Helper()
	np := wire.NewParticipant{ID: id, Name: strings.ToUpper(id), Kind: "wallet", Currencies: []string{"CNY"}}
	if mod != nil {
		mod(&np)
	}
	var p wire.Participant
	s.ok(201, "POST", "/v1/participants", opToken, np, &p)
	if p.APIKey == "" || p.CallbackSecret == "" {
		s.t.Fatalf("participant %s created without credentials: %+v", id, p)
	}
	return p.APIKey, p.CallbackSecret
}

func (s *sw) deposit(id, amount string) {
	s.t.Helper()
	s.ok(201, "POST", "/v1/participants/"+id+"/funds", opToken, wire.Funds{Currency: "CNY", Amount: amount, Direction: "deposit"}, nil)
}

func (s *sw) party(key, typ, value, name, account string) wire.Party {
	s.t.Helper()
	var p wire.Party
	s.ok(201, "POST", "/v1/parties", key, wire.NewParty{Type: typ, Value: value, Name: name, Account: account, Currency: "CNY"}, &p)
	return p
}

func (s *sw) balance(key, id string) wire.Account {
	s.t.Helper()
	var as wire.Accounts
	s.ok(200, "GET", "/v1/participants/"+id+"/accounts", key, nil, &as)
	if len(as.Accounts) != 1 {
		s.t.Fatalf("accounts of %s: %+v", id, as)
	}
	return as.Accounts[0]
}

func (s *sw) hub() wire.HubAccount {
	s.t.Helper()
	var as wire.HubAccounts
	s.ok(200, "GET", "/v1/hub/accounts", opToken, nil, &as)
	for _, a := range as.Accounts {
		if a.Currency == "CNY" {
			return a
		}
	}
	return wire.HubAccount{Currency: "CNY", FeeRevenue: "0.00", SettlementBank: "0.00"}
}

func pay(id, typ, value, amount string) wire.NewTransfer {
	return wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: typ, Value: value}, Amount: amount, Currency: "CNY"}
}

// hook is a participant's callback endpoint in the test: it verifies
// signatures and records what it gets.
type hook struct {
	secret string
	// now is the switch's clock, when a test skews it (time.Now if nil).
	now    func() time.Time
	decide func(wire.Transfer) wire.Decision
	delay  time.Duration

	mu        sync.Mutex
	committed []wire.Transfer
	confirms  []wire.Transfer
	alerts    []wire.LiquidityAlert
	claims    []wire.Claim
	requests  []wire.Callback // payment-request.* callbacks
	received  []received      // every callback, as it came, in order
	badSigs   int
	srv       *http.Server
	url       string
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	srv := &http.Server{Handler: h}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h.srv, h.url = srv, "http://"+ln.Addr().String()+"/hulian"
	return h
}

// received is a callback's signature header and body.
type received struct {
	sig  string
	body []byte
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	secret := h.secret
	h.received = append(h.received, received{r.Header.Get(wire.SignatureHeader), body})
	h.mu.Unlock()
	now := time.Now
	if h.now != nil {
		now = h.now
	}
	if err := wire.Verify(r.Header.Get(wire.SignatureHeader), secret, body, now(), 5*time.Minute); err != nil {
		h.mu.Lock()
		h.badSigs++
		h.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var cb wire.Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	switch cb.Event {
	case wire.EventTransfersCommitted:
		h.mu.Lock()
		h.committed = append(h.committed, cb.Transfers...)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case wire.EventLiquidityLow, wire.EventLiquidityRestored:
		h.mu.Lock()
		h.alerts = append(h.alerts, *cb.Alert)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case wire.EventPartyClaim:
		if cb.Claim == nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.claims = append(h.claims, *cb.Claim)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case "mandate.proposed", "mandate.changed", "mandate.execution-due", "mandate.executed", "mandate.execution-failed",
		"dispute.opened", "dispute.accepted", "dispute.rejected":
		h.mu.Lock()
		h.requests = append(h.requests, cb)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case "payment-request.created", "payment-request.paid", "payment-request.declined", "payment-request.expired":
		if cb.PaymentRequest == nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.requests = append(h.requests, cb)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case wire.EventTransferConfirm:
		h.mu.Lock()
		h.confirms = append(h.confirms, *cb.Transfer)
		h.mu.Unlock()
		time.Sleep(h.delay)
		d := wire.Decision{Decision: "accept"}
		if h.decide != nil {
			d = h.decide(*cb.Transfer)
		}
		d.TransferID = cb.Transfer.ID
		b, _ := json.Marshal(d)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(wire.SignatureHeader, wire.Sign(secret, time.Now(), b)) // the switch takes only signed answers
		w.Write(b)
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

// waitCommitted waits until the hook has been told of n committed transfers.
func (h *hook) waitCommitted(t *testing.T, n int) []wire.Transfer {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		h.mu.Lock()
		got := append([]wire.Transfer(nil), h.committed...)
		h.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("notified of %d committed transfers, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRequest waits for the callback of event about payment request id.
func (h *hook) waitRequest(t *testing.T, event, id string) wire.PaymentRequest {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		h.mu.Lock()
		for _, cb := range h.requests {
			if cb.Event == event && cb.PaymentRequest.ID == id {
				h.mu.Unlock()
				return *cb.PaymentRequest
			}
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s callback of payment request %s", event, id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEvent waits for a notice callback of event.
func (h *hook) waitEvent(t *testing.T, event string) wire.Callback {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		h.mu.Lock()
		for _, cb := range h.requests {
			if cb.Event == event {
				h.mu.Unlock()
				return cb
			}
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s callback", event)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitClaim waits for the party.claim callback of claim id.
func (h *hook) waitClaim(t *testing.T, id string) wire.Claim {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		h.mu.Lock()
		for _, c := range h.claims {
			if c.ID == id {
				h.mu.Unlock()
				return c
			}
		}
		bad := h.badSigs
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no party.claim callback for claim %s (%d with bad signatures)", id, bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReceived returns the signature header and body of callback n
// (from 0) as it came.
func (h *hook) waitReceived(t *testing.T, n int) (string, []byte) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		h.mu.Lock()
		if len(h.received) > n {
			defer h.mu.Unlock()
			return h.received[n].sig, h.received[n].body
		}
		h.mu.Unlock()
	}
	t.Fatalf("callback %d never came", n)
	return "", nil
}
