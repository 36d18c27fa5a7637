package connector_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/sim"
)

// TestPaymentsBothWays registers a user's alias through the connector,
// has the reference simulator pay it (the backend is told once, with
// what the payee gets), and pays the simulator's user from the backend
// (COMMITTED with the fee, in one call); both read back by id.
func TestPaymentsBothWays(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	pr := s.startPeer(t)
	be := newBackend(t)
	c := startConnector(t, fastConfig(s, w, be.srv.URL, t.TempDir()))
	ctx := context.Background()

	if p, err := s.op.Participant(ctx, "tea-wallet"); err != nil || p.CallbackURL != c.CallbackURL() {
		t.Fatalf("callbackUrl at the switch %q, %v; the connector's is %s", p.CallbackURL, err, c.CallbackURL())
	}
	a := call(t, "POST", c.URL()+"/aliases", map[string]string{"type": "MSISDN", "value": "+8613900139001", "account": "alice", "name": "Li Xiaoming"})
	if a.status != http.StatusCreated {
		t.Fatalf("POST /aliases: %d %s", a.status, a.body)
	}

	// In: the simulator pays the alias.
	res := pr.pay(t, "MSISDN", "+8613900139001", 12_34)
	if res.Status != sim.StatusCommitted {
		t.Fatalf("the simulator's payment: %+v", res)
	}
	waitFor(t, 5*time.Second, "the backend to be told", func() bool { return len(be.committed()) == 1 })
	in, _ := be.call("committed", res.ID)
	if in.Amount != "12.34" || in.Currency != "CNY" || in.PayeeAccount != "alice" || in.Payer != "peony-pay" ||
		in.Payee.Type != "MSISDN" || in.Payee.Value != "+8613900139001" {
		t.Errorf("incoming %+v", in)
	}
	var v paymentView
	if a := call(t, "GET", c.URL()+"/payments/"+res.ID, nil); a.status != http.StatusOK {
		t.Fatalf("GET an incoming payment: %d %s", a.status, a.body)
	} else if a.decode(t, &v); v.Direction != "inbound" || v.State != "COMMITTED" || v.Amount != "12.34" || v.Delivered == nil {
		t.Errorf("incoming payment %+v", v)
	}

	// Out: the backend pays the simulator's user.
	a = call(t, "POST", c.URL()+"/payments", payBody("order-1", "50.00", "lunch"))
	if a.status != http.StatusOK {
		t.Fatalf("POST /payments: %d %s", a.status, a.body)
	}
	a.decode(t, &v)
	if v.State != "COMMITTED" || v.Fee != "0.15" || v.Amount != "50.00" || v.IdempotencyKey != "order-1" || v.Direction != "outbound" ||
		v.Payee == nil || v.Payee.Participant != "peony-pay" || v.Payee.Name != "W*** W**" {
		t.Errorf("payment %s", a.body)
	}
	tr, err := s.op.Transfer(ctx, v.ID)
	if err != nil || tr.State != "COMMITTED" || tr.Payer != "tea-wallet" || tr.Note != "lunch" || tr.PayerAccount != "acct-7" {
		t.Errorf("at the switch: %+v, %v", tr, err)
	}
	waitFor(t, 5*time.Second, "the simulator to be credited", func() bool { _, ok := pr.Books().Credited(v.ID); return ok })
	for _, id := range []string{v.ID, "order-1"} {
		var g paymentView
		if a := call(t, "GET", c.URL()+"/payments/"+id, nil); a.status != http.StatusOK {
			t.Errorf("GET /payments/%s: %d %s", id, a.status, a.body)
		} else if a.decode(t, &g); g.ID != v.ID || g.State != "COMMITTED" || g.Fee != "0.15" {
			t.Errorf("GET /payments/%s: %s", id, a.body)
		}
	}
	if a := call(t, "GET", c.URL()+"/payments/nope", nil); a.status != http.StatusNotFound || a.problemKind() != "not-found" {
		t.Errorf("GET an unknown payment: %d %s", a.status, a.body)
	}
}
