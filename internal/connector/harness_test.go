package connector_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/connector"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

const opToken = "test-operator-token-0123456789abcdef"

var cny = money.MustCurrency("CNY")

// testSwitch is a switch running in this process on loopback, with the
// operator's client.
type testSwitch struct {
	app *app.App
	url string
	op  *sim.Client
}

// startSwitch starts a switch that calls back loopback URLs, with a fee
// schedule of 0.10 + 0.10 % (at most 5.00) in CNY.
func startSwitch(t testing.TB) *testSwitch {
	t.Helper()
	a := apptest.Start(t, func(c *app.Config) {
		c.AdminToken, c.ConfirmTimeout = opToken, 2*time.Second
		c.Callback = callback.Config{AllowPrivate: true, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
	})
	s := &testSwitch{app: a, url: a.URL(), op: sim.NewClient(a.URL(), opToken, nil)}
	if _, err := s.op.SetFees(context.Background(), wire.Fees{Currency: "CNY", Fixed: "0.10", Rate: "0.10", Min: "0.10", Max: "5.00"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// onboard creates a wallet without a callback URL (its connector sets
// it), funds it with 10,000.00 CNY, and returns its credentials.
func (s *testSwitch) onboard(t testing.TB, id, acceptance string) wire.Participant {
	t.Helper()
	ctx := context.Background()
	p, err := s.op.CreateParticipant(ctx, wire.NewParticipant{ID: id, Name: id, Kind: "wallet", Currencies: []string{"CNY"}, Acceptance: acceptance})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.op.MoveFunds(ctx, id, wire.Funds{Currency: "CNY", Amount: "10000.00", Direction: "deposit"}); err != nil {
		t.Fatal(err)
	}
	return p
}

// peer is a participant that talks to the switch itself: the reference
// simulator, whose users pay the connector's and are paid by them.
type peer struct {
	*sim.Participant
}

// peerAlias is the phone number of the peer's user u-1.
const peerAlias = "+8613800138001"

// startPeer onboards and funds the peer "peony-pay" (notify mode) with
// one user, u-1, holding 1,000.00 CNY, registered under peerAlias.
func (s *testSwitch) startPeer(t testing.TB) peer {
	t.Helper()
	ctx := context.Background()
	p, err := sim.NewParticipant(sim.Config{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currency: cny, Acceptance: "notify"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	w, err := s.op.CreateParticipant(ctx, wire.NewParticipant{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currencies: []string{"CNY"},
		CallbackURL: p.CallbackURL(), Acceptance: "notify"})
	if err != nil {
		t.Fatal(err)
	}
	p.Connect(sim.NewClient(s.url, w.APIKey, nil), w.CallbackSecret)
	if _, err := s.op.MoveFunds(ctx, "peony-pay", wire.Funds{Currency: "CNY", Amount: "10000.00", Direction: "deposit"}); err != nil {
		t.Fatal(err)
	}
	p.Books().Deposit(1_000_000)
	if err := p.Books().Open("u-1", "Wang Wei", 100_000); err != nil {
		t.Fatal(err)
	}
	if _, err := p.API().RegisterParty(ctx, wire.NewParty{Type: "MSISDN", Value: peerAlias, Name: "Wang Wei", Account: "u-1", Currency: "CNY"}); err != nil {
		t.Fatal(err)
	}
	return peer{p}
}

// pay makes the peer's u-1 pay amount (minor units) to alias.
func (p peer) pay(t testing.TB, typ, value string, amount money.Amount) sim.Result {
	t.Helper()
	return p.Pay(context.Background(), sim.Payment{From: "u-1", Payee: wire.PayeeRef{Type: typ, Value: value}, Amount: amount})
}

// backend is a participant's core system as a test sees it: it records
// every call of /incoming, answers confirm requests with decide, and
// answers status (when not 0) instead of 204 while it is "down". With a
// secret it verifies each call's signature as a core system would
// (wire.Verify, the verifier of the switch's callbacks) and refuses a
// call without a valid one, 401.
type backend struct {
	srv *httptest.Server

	mu      sync.Mutex
	calls   []incoming // every call, in order
	status  int
	delay   time.Duration
	decide  func(incoming) (bool, string)
	token   string // the Authorization the connector sent, last
	secret  string // verifies the Hulian-Signature, when set
	sig     string // the Hulian-Signature the connector sent, last
	refused int    // calls refused for their signature
}

// incoming is the body of POST {backend}/incoming.
type incoming struct {
	Event        string `json:"event"`
	TransferID   string `json:"transferId"`
	Amount       string `json:"amount"`
	Currency     string `json:"currency"`
	PayeeAccount string `json:"payeeAccount"`
	Payee        struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"payee"`
	Payer string `json:"payer"`
	Note  string `json:"note"`
	// The notices' (requests to pay, mandates).
	EventID        string `json:"eventId"`
	Role           string `json:"role"`
	RequestID      string `json:"requestId"`
	IdempotencyKey string `json:"idempotencyKey"`
	MandateID      string `json:"mandateId"`
	State          string `json:"state"`
	MaxAmount      string `json:"maxAmount"`
	PayerAlias     struct {
		Type        string `json:"type"`
		Value       string `json:"value"`
		Participant string `json:"participant"`
	} `json:"payerAlias"`
	Requester string    `json:"requester"`
	Biller    string    `json:"biller"`
	Message   string    `json:"message"`
	Reference string    `json:"reference"`
	Reason    string    `json:"reason"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func newBackend(t testing.TB) *backend {
	b := &backend{decide: func(incoming) (bool, string) { return true, "" }}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/incoming" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var in incoming
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in, json.RejectUnknownMembers(false)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	status, delay, decide := b.status, b.delay, b.decide
	b.token, b.sig = r.Header.Get("Authorization"), r.Header.Get(wire.SignatureHeader)
	if b.secret != "" && wire.Verify(b.sig, b.secret, body, time.Now(), 5*time.Minute) != nil {
		b.refused++
		b.mu.Unlock()
		http.Error(w, "forged", http.StatusUnauthorized)
		return
	}
	if status == 0 {
		b.calls = append(b.calls, in)
	}
	b.mu.Unlock()
	time.Sleep(delay)
	if status != 0 {
		http.Error(w, "down", status)
		return
	}
	if in.Event == "confirm" {
		ok, reason := decide(in)
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(map[string]any{"accept": ok, "reason": reason})
		w.Write(b)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (b *backend) set(status int, delay time.Duration) {
	b.mu.Lock()
	b.status, b.delay = status, delay
	b.mu.Unlock()
}

// committed returns the transfer ids of the committed calls, in order,
// repeats included.
func (b *backend) committed() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for _, c := range b.calls {
		if c.Event == "committed" {
			ids = append(ids, c.TransferID)
		}
	}
	return ids
}

// call returns the last call of event about transfer id.
func (b *backend) call(event, id string) (incoming, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.calls) - 1; i >= 0; i-- {
		if c := b.calls[i]; c.Event == event && c.TransferID == id {
			return c, true
		}
	}
	return incoming{}, false
}

// notices returns the calls of event about id (a request's or a
// mandate's, or a transfer's), in order, repeats included.
func (b *backend) notices(event, id string) []incoming {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []incoming
	for _, c := range b.calls {
		if c.Event == event && (c.RequestID == id || c.MandateID == id || c.TransferID == id) {
			out = append(out, c)
		}
	}
	return out
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// credentials are what onboarding gave, as the connector reads them.
func fastConfig(s *testSwitch, p wire.Participant, backendURL, dir string) connector.Config {
	return connector.Config{SwitchURL: s.url, APIKey: p.APIKey, CallbackSecrets: []string{p.CallbackSecret}, BackendURL: backendURL,
		Listen: "127.0.0.1:0", DataDir: dir, RetryMin: 10 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		ResolveEvery: 100 * time.Millisecond, PaymentWait: 10 * time.Second, ConfirmTimeout: time.Second}
}

// startConnector opens a connector with cfg and closes it when the test
// ends.
func startConnector(t testing.TB, cfg connector.Config) *connector.Connector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := connector.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close the connector: %v", err)
		}
	})
	return c
}

// answer is an answer of the connector's API.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the answer's body into v.
func (a answer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

// problemKind is the last segment of a problem answer's type.
func (a answer) problemKind() string {
	var p wire.Problem
	if json.Unmarshal(a.body, &p) != nil {
		return ""
	}
	return p.Type[strings.LastIndexByte(p.Type, '/')+1:]
}

// call calls the connector's API; body is JSON-encoded unless it is a
// string. headers are name, value pairs.
func call(t testing.TB, method, url string, body any, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

// paymentView is a payment as the connector's API shows it.
type paymentView struct {
	ID             string `json:"id"`
	IdempotencyKey string `json:"idempotencyKey"`
	Direction      string `json:"direction"`
	State          string `json:"state"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	Fee            string `json:"fee"`
	To             struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"to"`
	Payee *struct {
		Participant string `json:"participant"`
		Name        string `json:"name"`
	} `json:"payee"`
	PayerAccount string        `json:"payerAccount"`
	Reference    string        `json:"reference"`
	Reason       string        `json:"reason"`
	Problem      *wire.Problem `json:"problem"`
	PayeeAccount string        `json:"payeeAccount"`
	Payer        string        `json:"payer"`
	Note         string        `json:"note"`
	Delivered    *bool         `json:"delivered"`
}

// payBody is a POST /payments body to the peer's user.
func payBody(id, amount, reference string) map[string]any {
	b := map[string]any{"to": map[string]string{"type": "MSISDN", "value": peerAlias}, "amount": amount, "currency": "CNY",
		"payerAccount": "acct-7", "reference": reference}
	if id != "" {
		b["id"] = id
	}
	return b
}

// writeFile writes a credential file, readable by its owner only.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// unique reports the distinct elements of ids, in first-seen order.
func unique(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// moneyOf is n minor units.
func moneyOf(n int64) money.Amount { return money.Amount(n) }
