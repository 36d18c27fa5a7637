package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

const secret = "cb-secret"

func newTestParticipant(t *testing.T, cfg Config) *Participant {
	t.Helper()
	if cfg.ID == "" {
		cfg = Config{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currency: cny, Acceptance: "confirm"}
	}
	p, err := NewParticipant(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// callback sends a callback to p as the switch does, signed with key at
// time at; it returns the status and body of the answer.
func callback(t *testing.T, p *Participant, cb wire.Callback, key string, at time.Time) (int, string) {
	t.Helper()
	st, body, _ := callbackHeader(t, p, cb, key, at)
	return st, body
}

// callbackHeader is callback, which also returns the answer's header.
func callbackHeader(t *testing.T, p *Participant, cb wire.Callback, key string, at time.Time) (int, string, http.Header) {
	t.Helper()
	body, err := json.Marshal(cb)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, p.CallbackURL(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(wire.SignatureHeader, wire.Sign(key, at, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func committed(id, user, amount string) wire.Transfer {
	return wire.Transfer{ID: id, State: "COMMITTED", Payer: "bamboo-wallet", Amount: amount, Fee: "0.10", Currency: "CNY",
		Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000", Participant: "peony-pay", Account: user}}
}

func TestCallbackSignatures(t *testing.T) {
	p := newTestParticipant(t, Config{})
	p.Books().Open("u-1", "王伟", 0)
	cb := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{committed("t1", "u-1", "10.00")}}
	now := time.Now()

	// Before Connect there is no secret: nothing can be verified.
	if st, _ := callback(t, p, cb, secret, now); st != http.StatusUnauthorized {
		t.Fatalf("before connect: %d", st)
	}
	p.Connect(nil, secret)
	for name, tc := range map[string]struct {
		key string
		at  time.Time
	}{
		"unsigned":     {"", now},
		"other secret": {"guess", now},
		"replayed":     {secret, now.Add(-10 * time.Minute)},
	} {
		if st, _ := callback(t, p, cb, tc.key, tc.at); st != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, st)
		}
	}
	if s := p.Books().Summary(); s.NReceived != 0 {
		t.Fatalf("credited from a bad callback: %+v", s)
	}
	if st, _ := callback(t, p, cb, secret, now); st != http.StatusNoContent {
		t.Fatalf("signed: %d", st)
	}
	if cs := p.CallbackStats(); cs.BadSignatures != 4 || cs.Credited != 1 {
		t.Errorf("stats: %+v", cs)
	}
	resp, err := http.Get(p.CallbackURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestCallbackRedelivery(t *testing.T) {
	p := newTestParticipant(t, Config{})
	p.Connect(nil, secret)
	p.Books().Open("u-1", "王伟", 0)
	p.Books().Open("u-2", "李娜", 0)
	first := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{
		committed("t1", "u-1", "10.00"), committed("t2", "u-2", "0.05")}}
	// The switch saved no cursor before a crash: it sends t1 and t2
	// again, with t3.
	again := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{
		committed("t1", "u-1", "10.00"), committed("t2", "u-2", "0.05"), committed("t3", "u-1", "1.00")}}
	for _, cb := range []wire.Callback{first, again, again} {
		if st, body := callback(t, p, cb, secret, time.Now()); st != http.StatusNoContent {
			t.Fatalf("status %d: %s", st, body)
		}
	}
	u1, _ := p.Books().User("u-1")
	u2, _ := p.Books().User("u-2")
	if u1.Balance != 11_00 || u2.Balance != 5 {
		t.Fatalf("balances %d, %d", u1.Balance, u2.Balance)
	}
	s := p.Books().Summary()
	if s.NReceived != 3 || s.Duplicates != 5 || s.Received != 11_05 {
		t.Fatalf("summary %+v", s)
	}
	mustVerify(t, p.Books())

	// A transfer that is not this participant's is not credited, and is
	// reported.
	other := committed("t9", "u-1", "1.00")
	other.Payee.Participant = "lotus-pay"
	callback(t, p, wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{other}}, secret, time.Now())
	if _, ok := p.Books().Credited("t9"); ok || p.CallbackStats().Anomalies != 1 {
		t.Errorf("credited another participant's transfer: %+v", p.CallbackStats())
	}
	// Unknown events are acknowledged and ignored.
	if st, _ := callback(t, p, wire.Callback{Event: "something.new"}, secret, time.Now()); st != http.StatusNoContent {
		t.Errorf("unknown event: %d", st)
	}
}

func TestCallbackConfirm(t *testing.T) {
	p := newTestParticipant(t, Config{})
	p.Connect(nil, secret)
	p.Books().Open("u-1", "王伟", 0)
	p.Books().Open("u-2", "李娜", 0)
	p.Books().Close("u-2")
	decide := func(p *Participant, tr wire.Transfer) wire.Decision {
		t.Helper()
		tr.State = "RESERVED"
		st, body, h := callbackHeader(t, p, wire.Callback{Event: wire.EventTransferConfirm, Transfer: &tr}, secret, time.Now())
		var d wire.Decision
		if st != http.StatusOK || json.Unmarshal([]byte(body), &d) != nil {
			t.Fatalf("confirm: %d %s", st, body)
		}
		// The switch takes only an answer signed with the callback secret.
		if err := wire.Verify(h.Get(wire.SignatureHeader), secret, []byte(body), time.Now(), time.Minute); err != nil {
			t.Errorf("confirm answer %s: signature %q: %v", body, h.Get(wire.SignatureHeader), err)
		}
		return d
	}
	if d := decide(p, committed("t1", "u-1", "5.00")); d.Decision != "accept" {
		t.Errorf("open account: %+v", d)
	}
	if d := decide(p, committed("t2", "u-2", "5.00")); d.Decision != "reject" || d.Reason != "account closed" {
		t.Errorf("closed account: %+v", d)
	}
	if d := decide(p, committed("t3", "u-404", "5.00")); d.Decision != "reject" {
		t.Errorf("unknown account: %+v", d)
	}
	// Accepting credits nothing: the notification does.
	if s := p.Books().Summary(); s.NReceived != 0 {
		t.Errorf("credited on accept: %+v", s)
	}
	strict := newTestParticipant(t, Config{ID: "bamboo-wallet", Name: "Bamboo", Kind: "wallet", Currency: cny, Acceptance: "confirm", RejectRate: 1})
	strict.Connect(nil, secret)
	strict.Books().Open("u-1", "王伟", 0)
	tr := committed("t4", "u-1", "5.00")
	tr.Payee.Participant = "bamboo-wallet"
	if d := decide(strict, tr); d.Decision != "reject" || d.Reason != "risk check" {
		t.Errorf("reject rate 1: %+v", d)
	}
}

// fakeSwitch answers POST /v1/transfers with the answers given in turn,
// and counts requests.
func fakeSwitch(t *testing.T, answers ...func(w http.ResponseWriter, nt wire.NewTransfer)) (*Client, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/transfers" || r.Header.Get("Authorization") != "Bearer key" {
			http.Error(w, "unexpected", http.StatusTeapot)
			return
		}
		var nt wire.NewTransfer
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &nt)
		i := int(n.Add(1)) - 1
		answers[min(i, len(answers)-1)](w, nt)
	}))
	t.Cleanup(srv.Close)
	return NewClient(srv.URL, "key", srv.Client()), &n
}

func problem(status int, kind string, retryAfter string) func(http.ResponseWriter, wire.NewTransfer) {
	return func(w http.ResponseWriter, _ wire.NewTransfer) {
		w.Header().Set("Content-Type", "application/problem+json")
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		b, _ := json.Marshal(wire.Problem{Type: wire.ProblemBase + kind, Title: kind, Status: status, Detail: "because"})
		w.Write(b)
	}
}

func transferAnswer(state, reason string) func(http.ResponseWriter, wire.NewTransfer) {
	return func(w http.ResponseWriter, nt wire.NewTransfer) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		b, _ := json.Marshal(wire.Transfer{ID: nt.ID, State: state, Reason: reason, Payer: "peony-pay", Amount: nt.Amount,
			Fee: "0.20", Currency: nt.Currency, Payee: nt.Payee})
		w.Write(b)
	}
}

func TestPayOutcomes(t *testing.T) {
	ctx := context.Background()
	alias := wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000"}
	for name, tc := range map[string]struct {
		answers  []func(http.ResponseWriter, wire.NewTransfer)
		status   Status
		problem  string
		requests int64
		balance  int64 // alice's, from 100.00
	}{
		"committed":              {[]func(http.ResponseWriter, wire.NewTransfer){transferAnswer("COMMITTED", "")}, StatusCommitted, "", 1, 90_00},
		"aborted":                {[]func(http.ResponseWriter, wire.NewTransfer){transferAnswer("ABORTED", "rejected: account closed")}, StatusAborted, "rejected: account closed", 1, 100_00},
		"refused":                {[]func(http.ResponseWriter, wire.NewTransfer){problem(422, ProblemInsufficientFunds, "")}, StatusRefused, ProblemInsufficientFunds, 1, 100_00},
		"retried then OK":        {[]func(http.ResponseWriter, wire.NewTransfer){problem(503, ProblemUnavailable, ""), problem(429, ProblemRateLimited, "0"), transferAnswer("COMMITTED", "")}, StatusCommitted, "", 3, 90_00},
		"unavailable throughout": {[]func(http.ResponseWriter, wire.NewTransfer){problem(503, ProblemUnavailable, "")}, StatusUnknown, ProblemUnavailable, retries, 100_00},
	} {
		t.Run(name, func(t *testing.T) {
			api, n := fakeSwitch(t, tc.answers...)
			p := newTestParticipant(t, Config{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currency: cny, Acceptance: "notify"})
			p.Connect(api, secret)
			p.Books().Open("alice", "王伟", 100_00)
			r := p.Pay(ctx, Payment{From: "alice", Payee: alias, Amount: 10_00})
			if r.Status != tc.status || r.Problem != tc.problem || n.Load() != tc.requests {
				t.Fatalf("result %+v after %d requests; want %s %q after %d", r, n.Load(), tc.status, tc.problem, tc.requests)
			}
			u, _ := p.Books().User("alice")
			if int64(u.Balance) != tc.balance {
				t.Errorf("balance %d, want %d", u.Balance, tc.balance)
			}
			// An unknown outcome keeps the money held; the others free it.
			if held := u.Held != 0; held != (tc.status == StatusUnknown) {
				t.Errorf("held %d with status %s", u.Held, r.Status)
			}
			mustVerify(t, p.Books())
			if tc.status == StatusCommitted {
				if s := p.Books().Summary(); s.FeesPaid != 20 || s.FeesCharged != 0 || s.Sent != 10_00 {
					t.Errorf("summary %+v", s)
				}
			}
		})
	}
	// Declined by the books: the switch is not asked.
	api, n := fakeSwitch(t, transferAnswer("COMMITTED", ""))
	p := newTestParticipant(t, Config{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currency: cny, Acceptance: "notify"})
	p.Connect(api, secret)
	p.Books().Open("bob", "李娜", 5_00)
	if r := p.Pay(ctx, Payment{From: "bob", Payee: alias, Amount: 10_00}); r.Status != StatusDeclined || r.Problem != "balance" || n.Load() != 0 {
		t.Errorf("declined: %+v after %d requests", r, n.Load())
	}
}

func TestClientError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/parties/") {
			problem(404, ProblemUnknownParty, "")(w, wire.NewTransfer{})
			return
		}
		w.Header().Set("Retry-After", "2")
		http.Error(w, "bad gateway", http.StatusBadGateway) // a proxy's page, not a problem document
	}))
	defer srv.Close()
	c := NewClient(srv.URL+"/", "tok", nil)
	_, err := c.Lookup(context.Background(), "MSISDN", "+8613800138000")
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || e.Kind() != ProblemUnknownParty || e.Temporary() || !IsProblem(err, ProblemUnknownParty) {
		t.Fatalf("lookup: %v", err)
	}
	if !strings.Contains(err.Error(), "unknown-party: because") {
		t.Errorf("message %q", err)
	}
	_, err = c.Accounts(context.Background(), "peony-pay")
	if !errors.As(err, &e) || e.Status != 502 || !e.Temporary() || e.RetryAfter != 2*time.Second || ProblemKind(err) != "about:blank" {
		t.Fatalf("accounts: %v (%+v)", err, e)
	}
	if ProblemKind(errors.New("plain")) != "" || IsProblem(nil, ProblemUnknownParty) {
		t.Error("plain errors have no problem kind")
	}
}

func TestPayRetryRefusedButCommitted(t *testing.T) {
	// The first attempt's answer is lost (503 after the switch committed
	// it); the retry is refused for a reason of its own (the quote
	// expired meanwhile). The participant must not take the refusal for
	// the payment's outcome: it asks for the transfer, and debits.
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/transfers":
			if posts.Add(1) == 1 {
				problem(503, ProblemUnavailable, "")(w, wire.NewTransfer{})
			} else {
				problem(422, ProblemQuoteExpired, "")(w, wire.NewTransfer{})
			}
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/transfers/"):
			id := strings.TrimPrefix(r.URL.Path, "/v1/transfers/")
			transferAnswer("COMMITTED", "")(w, wire.NewTransfer{ID: id, Amount: "10.00", Currency: "CNY"})
		case r.Method == http.MethodPost && r.URL.Path == "/v1/quotes":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"id":"q1","amount":"10.00","fee":"0.20","currency":"CNY","payee":{"type":"MSISDN","value":"+8613800138000"}}`))
		default:
			http.Error(w, "unexpected", http.StatusTeapot)
		}
	}))
	defer srv.Close()
	p := newTestParticipant(t, Config{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currency: cny, Acceptance: "notify"})
	p.Connect(NewClient(srv.URL, "key", srv.Client()), secret)
	p.Books().Open("alice", "王伟", 100_00)
	r := p.Pay(context.Background(), Payment{From: "alice", Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000"}, Amount: 10_00, Quote: true})
	if r.Status != StatusCommitted || posts.Load() != 2 {
		t.Fatalf("result %+v after %d posts", r, posts.Load())
	}
	if u, _ := p.Books().User("alice"); u.Balance != 90_00 || u.Held != 0 {
		t.Errorf("alice %+v", u)
	}
	mustVerify(t, p.Books())
}

// TestScreenIndependent: the confirm-mode screen rejects its share of
// transfers, and consecutive ids (a payment tried again under the next
// one) are screened independently: at a 2 % rate no run of rejections
// is longer than three among 20,000 sequential ids.
func TestScreenIndependent(t *testing.T) {
	p := newTestParticipant(t, Config{ID: "bamboo-wallet", Name: "Bamboo", Kind: "wallet", Currency: cny, Acceptance: "confirm", RejectRate: 0.02})
	rejected, run, longest := 0, 0, 0
	for i := range 20_000 {
		if p.screened(fmt.Sprintf("lotus-pay.p-li.%06d", i)) {
			rejected++
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if rejected < 300 || rejected > 500 {
		t.Errorf("%d of 20,000 rejected at 2 %%", rejected)
	}
	if longest > 3 {
		t.Errorf("%d consecutive ids rejected in a row", longest)
	}
}
