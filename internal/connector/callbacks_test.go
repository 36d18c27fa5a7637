package connector_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/connector"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// TestConfirm runs confirm-mode payments to the connector's user: the
// backend accepts one (committed, then the backend is told of the
// commit), rejects one with its reason (aborted with it), answers one
// too late and is down for one (both rejected: the connector's
// default). Each answer is signed: the switch counts no other.
func TestConfirm(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	pr := s.startPeer(t)
	be := newBackend(t)
	cfg := fastConfig(s, w, be.srv.URL, t.TempDir())
	cfg.Acceptance = "confirm" // set by the connector at start
	c := startConnector(t, cfg)
	if a := call(t, "POST", c.URL()+"/aliases", map[string]string{"type": "MSISDN", "value": "+8613900139001", "account": "alice",
		"name": "Li Xiaoming"}); a.status != http.StatusCreated {
		t.Fatalf("POST /aliases: %d %s", a.status, a.body)
	}
	if p, _ := s.op.Participant(context.Background(), "tea-wallet"); p.Acceptance != "confirm" {
		t.Fatalf("acceptance %q at the switch", p.Acceptance)
	}
	var asked atomic.Int64
	be.decide = func(in incoming) (bool, string) {
		asked.Add(1)
		if in.Amount == "2.00" {
			return false, "account frozen"
		}
		return true, ""
	}

	for _, tc := range []struct {
		name       string
		amount     int64
		status     int
		delay      time.Duration
		want       sim.Status
		reason     string
		viewState  string
		viewReason string
	}{
		{"accepted", 1_00, 0, 0, sim.StatusCommitted, "", "COMMITTED", ""},
		{"rejected by the backend", 2_00, 0, 0, sim.StatusAborted, "account frozen", "REJECTED", "account frozen"},
		{"backend too slow", 3_00, 0, 1500 * time.Millisecond, sim.StatusAborted, "did not answer in time", "REJECTED", "did not answer in time"},
		{"backend down", 4_00, http.StatusServiceUnavailable, 0, sim.StatusAborted, "not reachable", "REJECTED", "not reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be.set(tc.status, tc.delay)
			defer be.set(0, 0)
			res := pr.pay(t, "MSISDN", "+8613900139001", moneyOf(tc.amount))
			if res.Status != tc.want || !strings.Contains(res.Problem, tc.reason) {
				t.Fatalf("payment: %s %q, want %s %q (%v)", res.Status, res.Problem, tc.want, tc.reason, res.Err)
			}
			if tc.want == sim.StatusCommitted {
				waitFor(t, 5*time.Second, "the commit to reach the backend", func() bool { _, ok := be.call("committed", res.ID); return ok })
			}
			var v paymentView
			a := call(t, "GET", c.URL()+"/payments/"+res.ID, nil)
			if a.decode(t, &v); v.State != tc.viewState || !strings.Contains(v.Reason, tc.viewReason) || v.Direction != "inbound" {
				t.Errorf("GET: %s", a.body)
			}
		})
	}
	// The same question again (a retry the switch may make) gets the
	// recorded answer, signed, without asking the backend again.
	before := asked.Load()
	tr := wire.Transfer{ID: "peony-pay.x.1", State: "RESERVED", Payer: "peony-pay", Amount: "2.00", Currency: "CNY",
		Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613900139001", Participant: "tea-wallet", Account: "alice"}}
	for range 2 {
		st, body, h := signedCallback(t, c, w.CallbackSecret, wire.Callback{Event: wire.EventTransferConfirm, Transfer: &tr}, time.Now())
		var d wire.Decision
		json.Unmarshal(body, &d)
		if st != http.StatusOK || d.Decision != "reject" || d.Reason != "account frozen" || d.TransferID != tr.ID ||
			wire.Verify(h.Get(wire.SignatureHeader), w.CallbackSecret, body, time.Now(), time.Minute) != nil {
			t.Errorf("confirm answer %d %s (signature %q)", st, body, h.Get(wire.SignatureHeader))
		}
	}
	if n := asked.Load() - before; n != 1 {
		t.Errorf("the backend was asked %d times about one transfer", n)
	}
}

// signedCallback POSTs cb to the connector's callback URL, signed with
// secret at time at (unsigned when secret is empty).
func signedCallback(t testing.TB, c *connector.Connector, secret string, cb any, at time.Time) (int, []byte, http.Header) {
	t.Helper()
	var body []byte
	switch b := cb.(type) {
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(cb); err != nil {
			t.Fatal(err)
		}
	}
	return postSigned(t, c.CallbackURL(), secret, body, at)
}

func postSigned(t testing.TB, url, secret string, body []byte, at time.Time) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(wire.SignatureHeader, wire.Sign(secret, at, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes(), resp.Header
}

// committedTo is a committed transfer of amount to the connector's
// participant tea-wallet, user alice.
func committedTo(id, amount string) wire.Transfer {
	return wire.Transfer{ID: id, State: "COMMITTED", Payer: "peony-pay", Amount: amount, Fee: "0.10", Currency: "CNY", Note: "for " + id,
		Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613900139001", Participant: "tea-wallet", Account: "alice"}, CreatedAt: time.Now().UTC()}
}

// probe asks the connector's conformance probe about transfer id, signed
// with secret (unsigned when empty).
func probe(t testing.TB, c *connector.Connector, secret, id string, at time.Time) (int, []byte) {
	t.Helper()
	return probeSigned(t, c.CallbackURL(), secret, id, at)
}

// probeAt asks the probe at callback URL cb, signed now.
func probeAt(t testing.TB, cb, secret, id string) (int, []byte) {
	t.Helper()
	return probeSigned(t, cb, secret, id, time.Now())
}

func probeSigned(t testing.TB, cb, secret, id string, at time.Time) (int, []byte) {
	t.Helper()
	url := cb + "/conformance/transfers/" + id
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if secret != "" {
		req.Header.Set(wire.SignatureHeader, wire.Sign(secret, at, []byte(req.URL.EscapedPath())))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// TestSignatures: a callback or a probe without a valid, recent
// signature over its exact body (the probe: its path) is refused 401,
// and changes nothing.
func TestSignatures(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	be := newBackend(t)
	c := startConnector(t, fastConfig(s, w, be.srv.URL, t.TempDir()))
	body, _ := json.Marshal(wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{committedTo("t-sig", "9.99")}})
	now := time.Now()
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
	}{
		{"unsigned", "", body},
		{"another secret", wire.Sign("another-secret-0123456789", now, body), body},
		{"stale", wire.Sign(w.CallbackSecret, now.Add(-10*time.Minute), body), body},
		{"from the future", wire.Sign(w.CallbackSecret, now.Add(10*time.Minute), body), body},
		{"tampered body", wire.Sign(w.CallbackSecret, now, body), bytes.Replace(body, []byte("9.99"), []byte("999.99"), 1)},
		{"garbage", "t=abc,v1=zz", body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, c.CallbackURL(), bytes.NewReader(tc.body))
			if tc.header != "" {
				req.Header.Set(wire.SignatureHeader, tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if got := be.committed(); len(got) != 0 {
		t.Errorf("the backend was told of %v", got)
	}
	for name, tc := range map[string]struct {
		secret string
		at     time.Time
	}{"unsigned": {"", now}, "another secret": {"another-secret-0123456789", now}, "stale": {w.CallbackSecret, now.Add(-time.Hour)}} {
		if st, b := probe(t, c, tc.secret, "t-sig", tc.at); st != http.StatusUnauthorized {
			t.Errorf("probe %s: %d %s", name, st, b)
		}
	}
	if st, b := probe(t, c, w.CallbackSecret, "t-sig", now); st != http.StatusNotFound {
		t.Errorf("probe of a transfer never credited: %d %s", st, b)
	}
	// The same notification, signed, is taken.
	if st, b, _ := postSigned(t, c.CallbackURL(), w.CallbackSecret, body, now); st != http.StatusNoContent {
		t.Fatalf("signed: %d %s", st, b)
	}
	if st, b := probe(t, c, w.CallbackSecret, "t-sig", now); st != http.StatusOK || string(b) != `{"transferId":"t-sig","credits":1,"amount":"9.99","currency":"CNY"}`+"\n" {
		t.Errorf("probe: %d %s", st, b)
	}
}

// TestRedelivery: a notification delivered again, alone or inside a
// later batch, and a transfer twice in one batch, are booked and told to
// the backend once; the probe counts one credit each.
func TestRedelivery(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	be := newBackend(t)
	c := startConnector(t, fastConfig(s, w, be.srv.URL, t.TempDir()))
	a, b, d := committedTo("t-a", "1.00"), committedTo("t-b", "2.00"), committedTo("t-c", "3.00")
	for _, ts := range [][]wire.Transfer{{a}, {a}, {a, b}, {b, d, d}, {a, b, d}} {
		if st, body, _ := signedCallback(t, c, w.CallbackSecret, wire.Callback{Event: wire.EventTransfersCommitted, Transfers: ts}, time.Now()); st != http.StatusNoContent {
			t.Fatalf("notification: %d %s", st, body)
		}
	}
	waitFor(t, 5*time.Second, "three deliveries", func() bool { return len(be.committed()) >= 3 })
	time.Sleep(200 * time.Millisecond)
	if got := be.committed(); fmt.Sprint(got) != "[t-a t-b t-c]" {
		t.Errorf("the backend was told of %v, want [t-a t-b t-c]", got)
	}
	for _, id := range []string{"t-a", "t-b", "t-c"} {
		var pa struct {
			Credits int `json:"credits"`
		}
		st, body := probe(t, c, w.CallbackSecret, id, time.Now())
		json.Unmarshal(body, &pa)
		if st != http.StatusOK || pa.Credits != 1 {
			t.Errorf("probe %s: %d %s", id, st, body)
		}
	}
	var stt struct {
		Counters struct {
			Credited    int `json:"credited"`
			Redelivered int `json:"redelivered"`
		} `json:"counters"`
	}
	call(t, "GET", c.URL()+"/status", nil).decode(t, &stt)
	if stt.Counters.Credited != 3 || stt.Counters.Redelivered != 7 {
		t.Errorf("status counters %+v", stt.Counters)
	}
}

// TestMalformedCallbacks: a signed body that is not a callback is
// refused 400 (the switch tries again, and both sides see it); an event
// the connector does not act on is acknowledged; a body over the bound
// is refused 413; a transfer to another participant is skipped.
func TestMalformedCallbacks(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	be := newBackend(t)
	c := startConnector(t, fastConfig(s, w, be.srv.URL, t.TempDir()))
	other := committedTo("t-other", "1.00")
	other.Payee.Participant = "somebody-else"
	for _, tc := range []struct {
		name string
		body []byte
		want int
	}{
		{"not JSON", []byte("<pacs.008/>"), http.StatusBadRequest},
		{"no event", []byte(`{"transfers":[]}`), http.StatusBadRequest},
		{"committed without transfers", []byte(`{"event":"transfers.committed"}`), http.StatusBadRequest},
		{"confirm without a transfer", []byte(`{"event":"transfer.confirm"}`), http.StatusBadRequest},
		{"wrong types", []byte(`{"event":"transfers.committed","transfers":{"id":1}}`), http.StatusBadRequest},
		{"unknown event", []byte(`{"event":"liquidity.low","alert":{"seq":1}}`), http.StatusNoContent},
		{"not ours", mustJSON(wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{other}}), http.StatusNoContent},
		{"too large", append([]byte(`{"event":"x","pad":"`), append(bytes.Repeat([]byte("a"), 5<<20), `"}`...)...), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, body, _ := signedCallback(t, c, w.CallbackSecret, tc.body, time.Now()); st != tc.want {
				t.Errorf("%d %s, want %d", st, body, tc.want)
			}
		})
	}
	if st, _ := probe(t, c, w.CallbackSecret, "t-other", time.Now()); st != http.StatusNotFound {
		t.Errorf("a transfer to another participant was booked: %d", st)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestBackendDownThenUp: while the backend answers 503 the switch's
// notifications are booked and queued (beyond the outbox's bound, the
// switch is told to hold them); once it is back, the backend gets
// exactly the payments, each once, in the order the switch committed
// them.
func TestBackendDownThenUp(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	pr := s.startPeer(t)
	be := newBackend(t)
	cfg := fastConfig(s, w, be.srv.URL, t.TempDir())
	cfg.OutboxMax = 5
	c := startConnector(t, cfg)
	if a := call(t, "POST", c.URL()+"/aliases", map[string]string{"type": "MSISDN", "value": "+8613900139001", "account": "alice",
		"name": "Li Xiaoming"}); a.status != http.StatusCreated {
		t.Fatalf("POST /aliases: %d %s", a.status, a.body)
	}
	be.set(http.StatusServiceUnavailable, 0)
	const n = 12
	var want []string
	for i := range n {
		res := pr.pay(t, "MSISDN", "+8613900139001", moneyOf(int64(100+i)))
		if res.Status != sim.StatusCommitted {
			t.Fatalf("payment %d: %+v", i, res)
		}
		want = append(want, res.ID)
	}
	var st struct {
		Outbox struct {
			Depth int `json:"depth"`
		} `json:"outbox"`
	}
	waitFor(t, 5*time.Second, "a full outbox", func() bool {
		call(t, "GET", c.URL()+"/status", nil).decode(t, &st)
		return st.Outbox.Depth >= cfg.OutboxMax
	})
	be.set(0, 0)
	waitFor(t, 20*time.Second, "every delivery", func() bool { return len(be.committed()) >= n })
	time.Sleep(200 * time.Millisecond)
	if got := be.committed(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered\n%v\nwant\n%v", got, want)
	}
}
