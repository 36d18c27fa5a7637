package connector_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// transfersFrom counts the transfers the switch holds from payer.
func transfersFrom(t testing.TB, s *testSwitch, payer string) map[string]wire.Transfer {
	t.Helper()
	out := map[string]wire.Transfer{}
	if err := s.op.EachTransfer(context.Background(), payer, func(tr wire.Transfer) error {
		if tr.Payer == payer {
			out[tr.ID] = tr
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIdempotentPayments: the backend's id (in the body, or as
// Idempotency-Key) makes POST /payments safe to retry: the same request
// again, even many at once, is the same payment, made once at the
// switch; other content under a used id is refused.
func TestIdempotentPayments(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	s.startPeer(t)
	be := newBackend(t)
	c := startConnector(t, fastConfig(s, w, be.srv.URL, t.TempDir()))

	var first paymentView
	a := call(t, "POST", c.URL()+"/payments", payBody("k-1", "10.00", "rent"))
	if a.status != http.StatusOK {
		t.Fatalf("first: %d %s", a.status, a.body)
	}
	a.decode(t, &first)
	for _, tc := range []struct {
		name    string
		body    map[string]any
		headers []string
		status  int
		kind    string
	}{
		{"again", payBody("k-1", "10.00", "rent"), nil, http.StatusOK, ""},
		{"as Idempotency-Key", payBody("", "10.00", "rent"), []string{"Idempotency-Key", "k-1"}, http.StatusOK, ""},
		{"both, agreeing", payBody("k-1", "10.00", "rent"), []string{"Idempotency-Key", "k-1"}, http.StatusOK, ""},
		{"other amount", payBody("k-1", "10.01", "rent"), nil, http.StatusConflict, "duplicate-conflict"},
		{"other reference", payBody("k-1", "10.00", "food"), nil, http.StatusConflict, "duplicate-conflict"},
		{"both, differing", payBody("k-1", "10.00", "rent"), []string{"Idempotency-Key", "k-9"}, http.StatusBadRequest, "invalid-request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, "POST", c.URL()+"/payments", tc.body, tc.headers...)
			if a.status != tc.status || tc.kind != "" && a.problemKind() != tc.kind {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if tc.status == http.StatusOK {
				var v paymentView
				if a.decode(t, &v); v.ID != first.ID || v.State != "COMMITTED" || v.Fee != first.Fee {
					t.Errorf("%s, want payment %s", a.body, first.ID)
				}
			}
		})
	}
	// Eight retries at once of a request whose first answer was lost.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			var v paymentView
			a := call(t, "POST", c.URL()+"/payments", payBody("k-2", "20.00", "gift"))
			if a.status == http.StatusOK {
				a.decode(t, &v)
			}
			ids[i] = v.ID + " " + v.State
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || !strings.HasSuffix(id, " COMMITTED") {
			t.Errorf("concurrent retries answered %v", ids)
			break
		}
	}
	if got := transfersFrom(t, s, "tea-wallet"); len(got) != 2 {
		t.Errorf("the switch holds %d transfers from tea-wallet, want 2", len(got))
	}
}

// TestPaymentRefusals: a request the connector cannot send is refused
// at once (problem+json, nothing stored); a payment the switch refuses
// is answered 200 REFUSED with the switch's problem, and nothing moved.
func TestPaymentRefusals(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	s.startPeer(t)
	be := newBackend(t)
	c := startConnector(t, fastConfig(s, w, be.srv.URL, t.TempDir()))
	for _, tc := range []struct {
		name   string
		body   any
		ctype  string
		status int
		kind   string
	}{
		{"no payee", `{"amount":"1.00","currency":"CNY"}`, "", http.StatusBadRequest, "invalid-request"},
		{"amount not a number", payBodyWith("amount", "abc"), "", http.StatusBadRequest, "invalid-request"},
		{"negative amount", payBodyWith("amount", "-1.00"), "", http.StatusBadRequest, "invalid-request"},
		{"too many decimals", payBodyWith("amount", "1.001"), "", http.StatusBadRequest, "invalid-request"},
		{"unknown currency", payBodyWith("currency", "ABC"), "", http.StatusBadRequest, "invalid-request"},
		{"misspelt member", `{"to":{"type":"MSISDN","value":"+8613800138001"},"amount":"1.00","currency":"CNY","refrence":"x"}`, "",
			http.StatusBadRequest, "invalid-request"},
		{"id with a newline", payBodyWith("id", "a\nb"), "", http.StatusBadRequest, "invalid-request"},
		{"not JSON", "amount=1", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "unsupported-media-type"},
		{"too large", payBodyWith("reference", strings.Repeat("x", 70<<10)), "", http.StatusRequestEntityTooLarge, "payload-too-large"},
		{"unknown alias", payBodyTo("+8613700000000", "1.00"), "", http.StatusOK, "unknown-party"},
		{"beyond the funds", payBodyTo(peerAlias, "20000.00"), "", http.StatusOK, "insufficient-funds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a answer
			if tc.ctype != "" {
				a = call(t, "POST", c.URL()+"/payments", tc.body, "Content-Type", tc.ctype)
			} else {
				a = call(t, "POST", c.URL()+"/payments", tc.body)
			}
			if a.status != tc.status {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if tc.status != http.StatusOK {
				if a.problemKind() != tc.kind || a.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s %s", a.header.Get("Content-Type"), a.body)
				}
				return
			}
			var v paymentView
			a.decode(t, &v)
			if v.State != "REFUSED" || v.Problem == nil || v.Problem.Type != wire.ProblemBase+tc.kind || v.Problem.Status < 400 || v.Fee != "" {
				t.Errorf("%s", a.body)
			}
		})
	}
	if got := transfersFrom(t, s, "tea-wallet"); len(got) != 0 {
		t.Errorf("the switch holds transfers: %v", got)
	}
	var st struct {
		PendingPayments int `json:"pendingPayments"`
	}
	if call(t, "GET", c.URL()+"/status", nil).decode(t, &st); st.PendingPayments != 0 {
		t.Errorf("%d payments pending", st.PendingPayments)
	}
}

func payBodyWith(k, v string) map[string]any {
	b := payBody("", "1.00", "")
	b[k] = v
	return b
}

func payBodyTo(alias, amount string) map[string]any {
	b := payBody("", amount, "")
	b["to"] = map[string]string{"type": "MSISDN", "value": alias}
	return b
}

// flaky stands between the connector and the switch: it passes requests
// on, or answers 503 itself (the switch "down"), or passes the next
// lose transfer requests on and answers 502 (their answers "lost").
type flaky struct {
	proxy     *httputil.ReverseProxy
	down      atomic.Bool
	lose      atomic.Int32
	transfers atomic.Int32 // transfer requests that reached the switch
}

func newFlaky(t testing.TB, target string) *httptest.Server {
	u, _ := url.Parse(target)
	f := &flaky{proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	flakies.Store(srv.URL, f)
	return srv
}

// flakies finds a flaky by its server's URL.
var flakies sync.Map

func flakyAt(srv *httptest.Server) *flaky {
	f, _ := flakies.Load(srv.URL)
	return f.(*flaky)
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/v1/transfers" {
		f.transfers.Add(1)
		if f.lose.Add(-1) >= 0 {
			f.proxy.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
	}
	f.proxy.ServeHTTP(w, r)
}

// TestSwitchUnreachable: a transfer whose answers are lost is retried
// with the same id, and the switch's stored answer is the payment's; a
// switch that does not answer leaves the payment PENDING (202), and the
// connector finishes it once the switch is back. Each is one transfer
// at the switch.
func TestSwitchUnreachable(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	pr := s.startPeer(t)
	be := newBackend(t)
	proxy := newFlaky(t, s.url)
	f := flakyAt(proxy)
	cfg := fastConfig(s, w, be.srv.URL, t.TempDir())
	cfg.SwitchURL, cfg.PaymentWait = proxy.URL, time.Second
	c := startConnector(t, cfg)

	f.lose.Store(2)
	var v paymentView
	a := call(t, "POST", c.URL()+"/payments", payBody("lost-1", "30.00", ""))
	if a.decode(t, &v); a.status != http.StatusOK || v.State != "COMMITTED" {
		t.Fatalf("answers lost twice: %d %s", a.status, a.body)
	}
	if n := f.transfers.Load(); n != 3 {
		t.Errorf("%d transfer requests, want 3 (two answers lost)", n)
	}

	f.down.Store(true)
	a = call(t, "POST", c.URL()+"/payments", payBody("down-1", "40.00", ""))
	if a.decode(t, &v); a.status != http.StatusAccepted || v.State != "PENDING" || v.ID == "" {
		t.Fatalf("switch down: %d %s", a.status, a.body)
	}
	var g paymentView
	if call(t, "GET", c.URL()+"/payments/down-1", nil).decode(t, &g); g.State != "PENDING" {
		t.Errorf("GET while down: %+v", g)
	}
	f.down.Store(false)
	waitFor(t, 15*time.Second, "the pending payment to finish", func() bool {
		call(t, "GET", c.URL()+"/payments/"+v.ID, nil).decode(t, &g)
		return g.State != "PENDING"
	})
	if g.State != "COMMITTED" || g.Fee != "0.14" {
		t.Errorf("after the switch came back: %+v", g)
	}
	got := transfersFrom(t, s, "tea-wallet")
	if len(got) != 2 || got[v.ID].State != "COMMITTED" {
		t.Errorf("the switch holds %v", got)
	}
	waitFor(t, 5*time.Second, "the peer's credits", func() bool { return pr.Books().Summary().NReceived == 2 })
	if sum := pr.Books().Summary(); sum.Received != 70_00 || sum.Duplicates != 0 {
		t.Errorf("the peer received %d in %d credits", sum.Received, sum.NReceived)
	}
}
