package connector_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hulian/hulian/internal/connector"
	"github.com/hulian/hulian/internal/wire"
)

// scraped is one scrape's metric families by name.
type scraped map[string]*dto.MetricFamily

// scrape reads the connector's GET /metrics (headers are name, value
// pairs) and parses it with the Prometheus text parser.
func scrape(t testing.TB, c *connector.Connector, headers ...string) scraped {
	t.Helper()
	a := call(t, "GET", c.URL()+"/metrics", nil, headers...)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("parse the metrics: %v", err)
	}
	return scraped(fams)
}

// get is the value of the family's one series whose labels are exactly
// the name=value pairs given (a histogram's: its sample count); the
// test fails when there is no such series.
func (sc scraped) get(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	f := sc[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			want := false
			for _, kv := range labels {
				if kv == l.GetName()+"="+l.GetValue() {
					want = true
				}
			}
			if !want {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// TestMetrics: GET /metrics wants the API token as /status does; its
// values move with a committed payment, a refused one, an incoming
// transfer and its redelivery, a confirm request asked twice, a bad
// signature and a backend that is down; a second connector in the same
// process has metrics of its own.
func TestMetrics(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	pr := s.startPeer(t)
	be := newBackend(t)
	cfg := fastConfig(s, w, be.srv.URL, t.TempDir())
	const token = "backend-token-0123456789"
	cfg.APIToken = token
	c := startConnector(t, cfg)
	auth := []string{"Authorization", "Bearer " + token}

	for _, tc := range []struct {
		name    string
		headers []string
	}{{"no token", nil}, {"wrong token", []string{"Authorization", "Bearer nope"}}} {
		if a := call(t, "GET", c.URL()+"/metrics", nil, tc.headers...); a.status != http.StatusUnauthorized || a.problemKind() != "unauthorized" {
			t.Errorf("GET /metrics, %s: %d %s", tc.name, a.status, a.body)
		}
	}
	m0 := scrape(t, c, auth...)
	for _, name := range []string{"hulian_connector_payments_total", "hulian_connector_callbacks_total", "hulian_connector_confirms_total",
		"hulian_connector_backend_calls_total", "hulian_connector_switch_calls_total", "hulian_connector_outbox_depth",
		"hulian_connector_outbox_oldest_age_seconds", "hulian_connector_payments_pending", "go_goroutines"} {
		if m0[name] == nil {
			t.Errorf("no %s before any traffic", name)
		}
	}
	if a := call(t, "POST", c.URL()+"/aliases", map[string]string{"type": "MSISDN", "value": "+8613900139001", "account": "alice",
		"name": "Li Xiaoming"}, auth...); a.status != http.StatusCreated {
		t.Fatalf("POST /aliases: %d %s", a.status, a.body)
	}

	// Out: one committed, one refused (no such alias).
	for _, tc := range []struct {
		body  map[string]any
		state string
	}{{payBody("order-1", "50.00", "lunch"), "COMMITTED"}, {payBodyTo("+8613700000000", "1.00"), "REFUSED"}} {
		var v paymentView
		a := call(t, "POST", c.URL()+"/payments", tc.body, auth...)
		if a.decode(t, &v); v.State != tc.state {
			t.Fatalf("payment: %d %s, want %s", a.status, a.body, tc.state)
		}
	}
	// In: the peer pays alice (the switch's notification), then a
	// notification sent twice (the second a redelivery), a bad
	// signature, and a confirm request asked twice.
	if res := pr.pay(t, "MSISDN", "+8613900139001", 12_34); res.ID == "" {
		t.Fatalf("the peer's payment: %+v", res)
	}
	note := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{committedTo("t-m1", "1.00")}}
	for range 2 {
		if st, b, _ := signedCallback(t, c, w.CallbackSecret, note, time.Now()); st != http.StatusNoContent {
			t.Fatalf("notification: %d %s", st, b)
		}
	}
	if st, _, _ := signedCallback(t, c, "another-secret-0123456789", note, time.Now()); st != http.StatusUnauthorized {
		t.Errorf("a bad signature: %d", st)
	}
	tr := wire.Transfer{ID: "peony-pay.m.1", State: "RESERVED", Payer: "peony-pay", Amount: "2.00", Currency: "CNY",
		Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613900139001", Participant: "tea-wallet", Account: "alice"}}
	for range 2 {
		if st, b, _ := signedCallback(t, c, w.CallbackSecret, wire.Callback{Event: wire.EventTransferConfirm, Transfer: &tr}, time.Now()); st != http.StatusOK {
			t.Fatalf("confirm: %d %s", st, b)
		}
	}
	waitFor(t, 5*time.Second, "two deliveries", func() bool { return len(be.committed()) == 2 })
	// Counted once the connector recorded the delivery, just after the
	// backend's answer.
	waitFor(t, 5*time.Second, "an empty outbox", func() bool { return scrape(t, c, auth...).get(t, "hulian_connector_outbox_depth") == 0 })
	m1 := scrape(t, c, auth...)

	for _, tc := range []struct {
		name   string
		labels []string
		delta  float64
	}{
		{"hulian_connector_payments_total", []string{"state=committed"}, 1},
		{"hulian_connector_payments_total", []string{"state=refused"}, 1},
		{"hulian_connector_payments_total", []string{"state=aborted"}, 0},
		{"hulian_connector_payment_duration_seconds", []string{"state=committed"}, 1},
		{"hulian_connector_payment_duration_seconds", []string{"state=refused"}, 1},
		{"hulian_connector_payments_postponed_total", nil, 0},
		{"hulian_connector_payments_pending", nil, 0},
		{"hulian_connector_callbacks_total", []string{"event=transfers.committed", "result=ok"}, 2},
		{"hulian_connector_callbacks_total", []string{"event=transfers.committed", "result=duplicate"}, 1},
		{"hulian_connector_callbacks_total", []string{"event=unknown", "result=bad_signature"}, 1},
		{"hulian_connector_callbacks_total", []string{"event=transfer.confirm", "result=ok"}, 1},
		{"hulian_connector_callbacks_total", []string{"event=transfer.confirm", "result=duplicate"}, 1},
		{"hulian_connector_incoming_transfers_total", []string{"result=booked"}, 2},
		{"hulian_connector_incoming_transfers_total", []string{"result=duplicate"}, 1},
		{"hulian_connector_confirms_total", []string{"answer=accepted"}, 1},
		{"hulian_connector_confirms_total", []string{"answer=late"}, 0},
		{"hulian_connector_backend_calls_total", []string{"event=committed", "result=ok"}, 2},
		{"hulian_connector_backend_calls_total", []string{"event=confirm", "result=ok"}, 1},
		{"hulian_connector_backend_call_duration_seconds", []string{"event=committed"}, 2},
		{"hulian_connector_switch_calls_total", []string{"call=transfer", "result=ok"}, 1},
		{"hulian_connector_switch_calls_total", []string{"call=lookup", "result=ok"}, 1},
		{"hulian_connector_switch_calls_total", []string{"call=lookup", "result=4xx"}, 1}, // the alias nobody holds
		{"hulian_connector_switch_calls_total", []string{"call=alias_register", "result=ok"}, 1},
		{"hulian_connector_switch_calls_total", []string{"call=other", "result=ok"}, 0},
		{"hulian_connector_switch_call_duration_seconds", []string{"call=quote"}, 1},
		{"hulian_connector_outbox_depth", nil, 0},
		{"hulian_connector_outbox_oldest_age_seconds", nil, 0},
	} {
		if d := m1.get(t, tc.name, tc.labels...) - m0.get(t, tc.name, tc.labels...); d != tc.delta {
			t.Errorf("%s%v moved by %v, want %v", tc.name, tc.labels, d, tc.delta)
		}
	}

	// The backend down: the outbox holds the next transfer, and its age
	// grows; the failed calls are counted.
	be.set(http.StatusServiceUnavailable, 0)
	note = wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{committedTo("t-m2", "3.00")}}
	if st, b, _ := signedCallback(t, c, w.CallbackSecret, note, time.Now()); st != http.StatusNoContent {
		t.Fatalf("notification: %d %s", st, b)
	}
	time.Sleep(300 * time.Millisecond)
	m2 := scrape(t, c, auth...)
	if d, age, fails := m2.get(t, "hulian_connector_outbox_depth"), m2.get(t, "hulian_connector_outbox_oldest_age_seconds"),
		m2.get(t, "hulian_connector_backend_calls_total", "event=committed", "result=5xx"); d != 1 || age < 0.2 || age > 10 || fails < 1 {
		t.Errorf("with the backend down: outbox depth %v, oldest %v s, failed calls %v", d, age, fails)
	}
	be.set(0, 0)

	// A second connector in this process: its metrics are its own.
	w2 := s.onboard(t, "lotus-wallet", "notify")
	c2 := startConnector(t, fastConfig(s, w2, be.srv.URL, t.TempDir()))
	if n := scrape(t, c2).get(t, "hulian_connector_payments_total", "state=committed"); n != 0 {
		t.Errorf("the second connector counts %v committed payments", n)
	}
	if n := scrape(t, c, auth...).get(t, "hulian_connector_payments_total", "state=committed"); n != 1 {
		t.Errorf("the first connector counts %v committed payments", n)
	}
}

// TestBackendAuth: with a backend secret every POST /incoming carries a
// Hulian-Signature over its exact body that the switch's own verifier
// (wire.Verify) accepts, and with a backend token a Bearer token. A
// backend that refuses the signature (its secret is another) is asked
// again, with backoff, and the transfer waits in the outbox rather than
// being dropped: once the backend holds the right secret, it gets it,
// once.
func TestBackendAuth(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	be := newBackend(t)
	const secret, token = "backend-secret-0123456789abcdef", "gateway-token-0123456789"
	be.secret = "a-secret-the-connector-does-not-have"
	cfg := fastConfig(s, w, be.srv.URL, t.TempDir())
	cfg.BackendSecrets, cfg.BackendToken = []string{secret}, token
	c := startConnector(t, cfg)

	note := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{committedTo("t-auth", "5.00")}}
	if st, b, _ := signedCallback(t, c, w.CallbackSecret, note, time.Now()); st != http.StatusNoContent {
		t.Fatalf("notification: %d %s", st, b)
	}
	refused := func() int { be.mu.Lock(); defer be.mu.Unlock(); return be.refused }
	waitFor(t, 5*time.Second, "three refused attempts", func() bool { return refused() >= 3 })
	var st struct {
		Outbox struct {
			Depth     int    `json:"depth"`
			LastError string `json:"lastError"`
		} `json:"outbox"`
	}
	call(t, "GET", c.URL()+"/status", nil).decode(t, &st)
	if st.Outbox.Depth != 1 || !strings.Contains(st.Outbox.LastError, "status 401") || len(be.committed()) != 0 {
		t.Errorf("while the backend refuses: outbox %+v, backend took %v", st.Outbox, be.committed())
	}
	if n := scrape(t, c).get(t, "hulian_connector_backend_calls_total", "event=committed", "result=4xx"); n < 3 {
		t.Errorf("refused calls counted %v", n)
	}

	be.mu.Lock()
	be.secret = secret
	be.mu.Unlock()
	waitFor(t, 5*time.Second, "the delivery", func() bool { return len(be.committed()) == 1 })
	time.Sleep(100 * time.Millisecond)
	be.mu.Lock()
	sig, auth := be.sig, be.token
	be.mu.Unlock()
	if got := be.committed(); len(got) != 1 || got[0] != "t-auth" {
		t.Errorf("the backend took %v", got)
	}
	if auth != "Bearer "+token {
		t.Errorf("Authorization %q", auth)
	}
	if !strings.HasPrefix(sig, "t=") || strings.Count(sig, "v1=") != 1 {
		t.Errorf("Hulian-Signature %q", sig)
	}
}

// TestBackendSecretRotation: with two backend secrets (a rotation) each
// call carries a signature under each, so that a backend holding either
// verifies it.
func TestBackendSecretRotation(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	for i, held := range []string{"new-backend-secret-0123456789", "old-backend-secret-0123456789"} {
		be := newBackend(t)
		be.secret = held
		cfg := fastConfig(s, w, be.srv.URL, t.TempDir())
		cfg.BackendSecrets = []string{"new-backend-secret-0123456789", "old-backend-secret-0123456789"}
		c := startConnector(t, cfg)
		id := "t-rot-" + string(rune('a'+i))
		note := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{committedTo(id, "1.00")}}
		if st, b, _ := signedCallback(t, c, w.CallbackSecret, note, time.Now()); st != http.StatusNoContent {
			t.Fatalf("notification: %d %s", st, b)
		}
		waitFor(t, 5*time.Second, "the delivery to a backend holding "+held, func() bool { return len(be.committed()) == 1 })
		be.mu.Lock()
		if be.refused != 0 || strings.Count(be.sig, "v1=") != 2 {
			t.Errorf("backend holding %s: %d refused, signature %q", held, be.refused, be.sig)
		}
		be.mu.Unlock()
	}
}
