package connector_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/connector"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// teaAlias is the phone number of the connector's wallet's user alice.
const teaAlias = "+8613900139001"

// balance is participant's balance at the switch, in minor units.
func (s *testSwitch) balance(t testing.TB, participant string) money.Amount {
	t.Helper()
	accts, err := s.op.Accounts(context.Background(), participant)
	if err != nil || len(accts) != 1 {
		t.Fatalf("accounts of %s: %+v, %v", participant, accts, err)
	}
	a, err := money.Parse(accts[0].Balance, cny)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// requestView is a request to pay as the connector's API shows it.
type requestView struct {
	ID             string        `json:"id"`
	IdempotencyKey string        `json:"idempotencyKey"`
	Direction      string        `json:"direction"`
	State          string        `json:"state"`
	Amount         string        `json:"amount"`
	Requester      string        `json:"requester"`
	PayeeAccount   string        `json:"payeeAccount"`
	TransferID     string        `json:"transferId"`
	Reason         string        `json:"reason"`
	Problem        *wire.Problem `json:"problem"`
}

// rtpSetup is a switch, the peer, and the tea wallet behind a connector
// whose backend verifies a backend secret; alice's alias is registered.
type rtpSetup struct {
	s    *testSwitch
	tea  wire.Participant
	peer peer
	be   *backend
	cfg  connector.Config
}

const backendSecret = "backend-secret-0123456789abcdef"

func newRTPSetup(t *testing.T) (rtpSetup, *connector.Connector) {
	s := startSwitch(t)
	st := rtpSetup{s: s, tea: s.onboard(t, "tea-wallet", "notify"), peer: s.startPeer(t), be: newBackend(t)}
	st.be.secret = backendSecret
	st.cfg = fastConfig(s, st.tea, st.be.srv.URL, t.TempDir())
	st.cfg.BackendSecrets = []string{backendSecret}
	c := startConnector(t, st.cfg)
	if a := call(t, "POST", c.URL()+"/aliases", map[string]string{"type": "MSISDN", "value": teaAlias, "account": "alice",
		"name": "Li Xiaoming"}); a.status != http.StatusCreated {
		t.Fatalf("POST /aliases: %d %s", a.status, a.body)
	}
	return st, c
}

// ask has the peer request amount from alice, expiring after d.
func (st rtpSetup) ask(t *testing.T, id, amount string, d time.Duration) {
	t.Helper()
	if _, err := st.peer.API().RequestPayment(context.Background(), wire.NewPaymentRequest{ID: id,
		Payer: wire.PayeeRef{Type: "MSISDN", Value: teaAlias}, Amount: amount, Currency: "CNY", Message: "bill " + id,
		ExpiresAt: time.Now().Add(d)}); err != nil {
		t.Fatal(err)
	}
}

// TestRequestsToPay: a request from another participant reaches the
// backend signed, once, as "request"; accepted through the connector it
// is paid (COMMITTED with the fee, money moved, the same answer again);
// declined, and accepted after its expiry (REFUSED). A request the
// backend sends is paid, declined or expires, and the backend is told
// each, with its own id and account. The record survives a restart.
func TestRequestsToPay(t *testing.T) {
	st, c := newRTPSetup(t)
	ctx := context.Background()
	be := st.be

	// In: peony-pay asks alice to pay 12.34; the backend accepts.
	st.ask(t, "bill-1", "12.34", time.Hour)
	waitFor(t, 5*time.Second, "the request to reach the backend", func() bool { return len(be.notices("request", "bill-1")) == 1 })
	n := be.notices("request", "bill-1")[0]
	if n.Role != "payer" || n.Amount != "12.34" || n.Currency != "CNY" || n.Requester != "peony-pay" || n.PayerAlias.Value != teaAlias ||
		n.Message != "bill bill-1" || n.State != "PENDING" || n.EventID != "request:bill-1" || n.ExpiresAt.IsZero() {
		t.Errorf("request notice %+v", n)
	}
	teaBefore, peerBefore := st.s.balance(t, "tea-wallet"), st.s.balance(t, "peony-pay")
	var v paymentView
	a := call(t, "POST", c.URL()+"/requests/bill-1/accept", map[string]string{"id": "acc-1", "payerAccount": "alice"})
	if a.status != http.StatusOK {
		t.Fatalf("accept: %d %s", a.status, a.body)
	}
	a.decode(t, &v)
	if v.State != "COMMITTED" || v.Amount != "12.34" || v.Fee != "0.11" || v.IdempotencyKey != "acc-1" || v.PayerAccount != "alice" {
		t.Errorf("accepted: %s", a.body)
	}
	fee, _ := money.Parse(v.Fee, cny)
	if d := teaBefore - st.s.balance(t, "tea-wallet"); d != 12_34+fee {
		t.Errorf("tea-wallet paid %d, want %d", d, 12_34+fee)
	}
	if d := st.s.balance(t, "peony-pay") - peerBefore; d != 12_34 {
		t.Errorf("peony-pay got %d, want 1234", d)
	}
	var again paymentView
	if a := call(t, "POST", c.URL()+"/requests/bill-1/accept", map[string]string{"payerAccount": "alice"}, "Idempotency-Key", "acc-1"); a.status != http.StatusOK {
		t.Errorf("accept again: %d %s", a.status, a.body)
	} else if a.decode(t, &again); again.ID != v.ID || again.State != "COMMITTED" {
		t.Errorf("accept again: %s, first %s", a.body, v.ID)
	}
	if a := call(t, "POST", c.URL()+"/requests/bill-1/accept", map[string]string{"id": "acc-1", "payerAccount": "bob"}); a.status != http.StatusConflict {
		t.Errorf("accept with the id and other content: %d %s", a.status, a.body)
	}
	var rv requestView
	if a := call(t, "GET", c.URL()+"/requests/bill-1", nil); a.status != http.StatusOK {
		t.Errorf("GET request: %d %s", a.status, a.body)
	} else if a.decode(t, &rv); rv.State != "PAID" || rv.TransferID != v.ID || rv.Direction != "inbound" {
		t.Errorf("GET request: %s", a.body)
	}

	// Declined.
	st.ask(t, "bill-2", "3.00", time.Hour)
	waitFor(t, 5*time.Second, "the second request", func() bool { return len(be.notices("request", "bill-2")) == 1 })
	if a := call(t, "POST", c.URL()+"/requests/bill-2/decline", map[string]string{"reason": "not mine"}); a.status != http.StatusOK {
		t.Errorf("decline: %d %s", a.status, a.body)
	} else if a.decode(t, &rv); rv.State != "DECLINED" || rv.Reason != "not mine" {
		t.Errorf("declined: %s", a.body)
	}
	if pr, err := st.peer.API().PaymentRequest(ctx, "bill-2"); err != nil || pr.State != "DECLINED" {
		t.Errorf("at the switch: %+v, %v", pr, err)
	}

	// Accepted after its expiry: refused, nothing moved.
	st.ask(t, "bill-3", "4.00", 1500*time.Millisecond)
	waitFor(t, 5*time.Second, "the third request", func() bool { return len(be.notices("request", "bill-3")) == 1 })
	time.Sleep(1600 * time.Millisecond)
	teaBefore = st.s.balance(t, "tea-wallet")
	if a := call(t, "POST", c.URL()+"/requests/bill-3/accept", map[string]string{"id": "acc-3"}); a.status != http.StatusOK {
		t.Errorf("accept an expired request: %d %s", a.status, a.body)
	} else if a.decode(t, &v); v.State != "REFUSED" || v.Problem == nil || v.Problem.Type != wire.ProblemBase+"payment-request-expired" {
		t.Errorf("accept an expired request: %s", a.body)
	}
	if st.s.balance(t, "tea-wallet") != teaBefore {
		t.Error("an expired request moved money")
	}

	// Out: the backend asks peony-pay's user; the peer pays.
	body := map[string]any{"id": "inv-1", "to": map[string]string{"type": "MSISDN", "value": peerAlias}, "amount": "5.00",
		"currency": "CNY", "payeeAccount": "alice", "message": "lunch split"}
	a = call(t, "POST", c.URL()+"/requests", body)
	if a.status != http.StatusOK {
		t.Fatalf("POST /requests: %d %s", a.status, a.body)
	}
	a.decode(t, &rv)
	if rv.State != "PENDING" || rv.Direction != "outbound" || rv.IdempotencyKey != "inv-1" || rv.PayeeAccount != "alice" || rv.Amount != "5.00" {
		t.Errorf("request sent: %s", a.body)
	}
	inv1 := rv.ID
	if a := call(t, "POST", c.URL()+"/requests", body); a.status != http.StatusOK {
		t.Errorf("POST /requests again: %d %s", a.status, a.body)
	} else if a.decode(t, &rv); rv.ID != inv1 {
		t.Errorf("POST /requests again: %s, first %s", a.body, inv1)
	}
	body["amount"] = "6.00"
	if a := call(t, "POST", c.URL()+"/requests", body); a.status != http.StatusConflict {
		t.Errorf("POST /requests with the id and other content: %d %s", a.status, a.body)
	}
	if _, err := st.peer.API().AcceptPaymentRequest(ctx, inv1, "peony-pay.pays-inv-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "request-paid", func() bool { return len(be.notices("request-paid", inv1)) == 1 })
	if n := be.notices("request-paid", inv1)[0]; n.Role != "payee" || n.IdempotencyKey != "inv-1" || n.PayeeAccount != "alice" ||
		n.TransferID != "peony-pay.pays-inv-1" || n.State != "PAID" || n.Amount != "5.00" {
		t.Errorf("request-paid %+v", n)
	}
	waitFor(t, 5*time.Second, "the payment's credit", func() bool { _, ok := be.call("committed", "peony-pay.pays-inv-1"); return ok })

	// Declined by the peer, and expired.
	a = call(t, "POST", c.URL()+"/requests", map[string]any{"to": map[string]string{"type": "MSISDN", "value": peerAlias},
		"amount": "7.00", "currency": "CNY"}, "Idempotency-Key", "inv-2")
	a.decode(t, &rv)
	if _, err := st.peer.API().DeclinePaymentRequest(ctx, rv.ID, "who are you"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "request-declined", func() bool { return len(be.notices("request-declined", rv.ID)) == 1 })
	if n := be.notices("request-declined", rv.ID)[0]; n.Reason != "who are you" || n.IdempotencyKey != "inv-2" {
		t.Errorf("request-declined %+v", n)
	}
	a = call(t, "POST", c.URL()+"/requests", map[string]any{"id": "inv-3", "to": map[string]string{"type": "MSISDN", "value": peerAlias},
		"amount": "8.00", "currency": "CNY", "expiresAt": time.Now().Add(1200 * time.Millisecond)})
	a.decode(t, &rv)
	inv3 := rv.ID
	time.Sleep(1300 * time.Millisecond)
	// Reading it makes the switch settle its expiry (its sweep would too).
	if a := call(t, "GET", c.URL()+"/requests/inv-3", nil); a.status != http.StatusOK {
		t.Errorf("GET an expired request: %d %s", a.status, a.body)
	} else if a.decode(t, &rv); rv.State != "EXPIRED" || rv.ID != inv3 {
		t.Errorf("GET an expired request: %s", a.body)
	}
	waitFor(t, 5*time.Second, "request-expired", func() bool { return len(be.notices("request-expired", inv3)) == 1 })

	// A redelivered callback reaches the backend once.
	pr, err := st.peer.API().PaymentRequest(ctx, "bill-1")
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := json.Marshal(wire.Callback{Event: "payment-request.created", PaymentRequest: &pr})
	for range 2 {
		req, _ := http.NewRequest("POST", c.CallbackURL(), bytes.NewReader(cb))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(wire.SignatureHeader, wire.Sign(st.tea.CallbackSecret, time.Now(), cb))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("redelivery: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	time.Sleep(300 * time.Millisecond)
	if got := be.notices("request", "bill-1"); len(got) != 1 {
		t.Errorf("the request reached the backend %d times", len(got))
	}
	be.mu.Lock()
	refused := be.refused
	be.mu.Unlock()
	if refused != 0 {
		t.Errorf("the backend refused %d calls for their signature", refused)
	}

	// The record survives a restart.
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Close(cctx); err != nil {
		t.Fatal(err)
	}
	c2, err := connector.Open(ctx, st.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(context.Background())
	for id, want := range map[string]string{"inv-1": "PAID", "bill-1": "PAID", "bill-2": "DECLINED", inv3: "EXPIRED"} {
		if a := call(t, "GET", c2.URL()+"/requests/"+id, nil); a.status != http.StatusOK {
			t.Errorf("after a restart, GET /requests/%s: %d %s", id, a.status, a.body)
		} else if a.decode(t, &rv); rv.State != want {
			t.Errorf("after a restart, GET /requests/%s: %s", id, a.body)
		}
	}
	if a := call(t, "GET", c2.URL()+"/payments/acc-1", nil); a.status != http.StatusOK {
		t.Errorf("after a restart, the acceptance: %d %s", a.status, a.body)
	}
}

// TestMandates: a mandate proposed to the wallet's user reaches the
// backend, is approved through the connector (again: the same answer),
// and the biller's pull commits, moves the money and is reported as
// "mandate-executed"; the backend revokes it.
func TestMandates(t *testing.T) {
	st, c := newRTPSetup(t)
	ctx := context.Background()
	be := st.be
	now := time.Now()
	if _, err := st.peer.API().ProposeMandate(ctx, wire.NewMandate{ID: "gym-1", Payer: wire.PayeeRef{Type: "MSISDN", Value: teaAlias},
		MaxAmount: "100.00", Currency: "CNY", Frequency: "adhoc", ValidFrom: now.Add(-time.Minute), ValidUntil: now.Add(30 * 24 * time.Hour),
		Description: "gym"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "mandate-proposed", func() bool { return len(be.notices("mandate-proposed", "gym-1")) == 1 })
	n := be.notices("mandate-proposed", "gym-1")[0]
	if n.Role != "payer" || n.Biller != "peony-pay" || n.MaxAmount != "100.00" || n.State != "PENDING" || n.Message != "gym" ||
		n.PayerAlias.Value != teaAlias {
		t.Errorf("mandate-proposed %+v", n)
	}
	var m wire.Mandate
	for range 2 {
		if a := call(t, "POST", c.URL()+"/mandates/gym-1/approve", nil); a.status != http.StatusOK {
			t.Fatalf("approve: %d %s", a.status, a.body)
		} else if a.decode(t, &m); m.State != "ACTIVE" {
			t.Errorf("approved: %+v", m)
		}
	}
	if a := call(t, "POST", c.URL()+"/mandates/gym-1/fly", nil); a.status != http.StatusNotFound {
		t.Errorf("an unknown action: %d %s", a.status, a.body)
	}
	teaBefore := st.s.balance(t, "tea-wallet")
	e, err := st.peer.API().ExecuteMandate(ctx, "gym-1", wire.NewMandateExecution{ID: "peony-pay.gym-1.june", Amount: "30.00", Reference: "June"})
	if err != nil || e.State != "COMMITTED" {
		t.Fatalf("execution: %+v, %v", e, err)
	}
	if d := teaBefore - st.s.balance(t, "tea-wallet"); d < 30_00 {
		t.Errorf("tea-wallet paid %d for a pull of 30.00", d)
	}
	waitFor(t, 5*time.Second, "mandate-executed", func() bool { return len(be.notices("mandate-executed", "gym-1")) == 1 })
	if n := be.notices("mandate-executed", "gym-1")[0]; n.TransferID != "peony-pay.gym-1.june" || n.Amount != "30.00" ||
		n.Reference != "June" || n.Role != "payer" {
		t.Errorf("mandate-executed %+v", n)
	}
	if a := call(t, "GET", c.URL()+"/mandates/gym-1", nil); a.status != http.StatusOK {
		t.Errorf("GET mandate: %d %s", a.status, a.body)
	} else if a.decode(t, &m); m.State != "ACTIVE" {
		t.Errorf("GET mandate: %s", a.body)
	}
	if a := call(t, "POST", c.URL()+"/mandates/gym-1/revoke", nil); a.status != http.StatusOK {
		t.Errorf("revoke: %d %s", a.status, a.body)
	} else if a.decode(t, &m); m.State != "REVOKED" {
		t.Errorf("revoked: %s", a.body)
	}
	if a := call(t, "POST", c.URL()+"/mandates/gym-1/approve", nil); a.status != http.StatusConflict {
		t.Errorf("approve a revoked mandate: %d %s", a.status, a.body)
	}
	if a := call(t, "GET", c.URL()+"/mandates/nope", nil); a.status != http.StatusNotFound {
		t.Errorf("GET an unknown mandate: %d %s", a.status, a.body)
	}

	// The biller revokes another: the backend is told mandate-changed.
	if _, err := st.peer.API().ProposeMandate(ctx, wire.NewMandate{ID: "gym-2", Payer: wire.PayeeRef{Type: "MSISDN", Value: teaAlias},
		MaxAmount: "50.00", Currency: "CNY", Frequency: "adhoc", ValidFrom: now.Add(-time.Minute), ValidUntil: now.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the second proposal", func() bool { return len(be.notices("mandate-proposed", "gym-2")) == 1 })
	if a := call(t, "POST", c.URL()+"/mandates/gym-2/approve", nil); a.status != http.StatusOK {
		t.Fatalf("approve: %d %s", a.status, a.body)
	}
	if _, err := st.peer.API().ActOnMandate(ctx, "gym-2", "revoke"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "mandate-changed", func() bool { return len(be.notices("mandate-changed", "gym-2")) == 1 })
	if n := be.notices("mandate-changed", "gym-2")[0]; n.State != "REVOKED" || n.Role != "payer" {
		t.Errorf("mandate-changed %+v", n)
	}

	sc := scrape(t, c)
	for _, want := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"hulian_connector_notices_total", []string{"event=mandate-proposed", "result=booked"}, 2},
		{"hulian_connector_notices_total", []string{"event=mandate-executed", "result=booked"}, 1},
		{"hulian_connector_notices_total", []string{"event=mandate-changed", "result=booked"}, 1},
		{"hulian_connector_api_calls_total", []string{"call=mandate_action", "result=ok"}, 4},
		{"hulian_connector_api_calls_total", []string{"call=mandate_action", "result=refused"}, 1},
		{"hulian_connector_backend_calls_total", []string{"event=mandate-proposed", "result=ok"}, 2},
		{"hulian_connector_callbacks_total", []string{"event=notice", "result=ok"}, 4},
		{"hulian_connector_switch_calls_total", []string{"call=mandate_action", "result=ok"}, 4},
	} {
		if got := sc.get(t, want.name, want.labels...); got < want.min {
			t.Errorf("%s%v = %v, want at least %v", want.name, want.labels, got, want.min)
		}
	}
}
