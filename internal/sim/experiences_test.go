package sim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

func TestCallbackNotices(t *testing.T) {
	p := newTestParticipant(t, Config{})
	p.Connect(nil, secret)
	bill := &wire.PaymentRequest{ID: "river-bank.r1", Payee: "river-bank", Payer: wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000",
		Participant: "peony-pay"}, Amount: "58.20", Currency: "CNY", State: "PENDING"}
	for _, tc := range []struct {
		name string
		cb   wire.Callback
		key  string
		want int
	}{
		{"bill, unsigned", wire.Callback{Event: "payment-request.created", PaymentRequest: bill}, "", http.StatusUnauthorized},
		{"bill", wire.Callback{Event: "payment-request.created", PaymentRequest: bill}, secret, http.StatusNoContent},
		{"bill redelivered", wire.Callback{Event: "payment-request.created", PaymentRequest: bill}, secret, http.StatusNoContent},
		{"requester told paid", wire.Callback{Event: "payment-request.paid", PaymentRequest: bill}, secret, http.StatusNoContent},
		{"mandate executed", wire.Callback{Event: "mandate.executed", Mandate: &wire.Mandate{ID: "m1"},
			Execution: &wire.MandateExecution{ID: "m1.1"}}, secret, http.StatusNoContent},
		{"dispute opened", wire.Callback{Event: "dispute.opened", Dispute: &wire.Dispute{ID: "d1"}}, secret, http.StatusNoContent},
		{"mandate forged", wire.Callback{Event: "mandate.executed", Mandate: &wire.Mandate{ID: "m1"}}, "guess", http.StatusUnauthorized},
	} {
		if st, body := callback(t, p, tc.cb, tc.key, time.Now()); st != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, st, body, tc.want)
		}
	}
	// The bill waits once for its user's answer, however often it came.
	if r, ok := p.NextBill(); !ok || r.ID != bill.ID || r.Amount != "58.20" {
		t.Errorf("first bill: %+v %v", r, ok)
	}
	if r, ok := p.NextBill(); ok {
		t.Errorf("second bill: %+v", r)
	}
	if cs := p.CallbackStats(); cs.Notices != 5 || cs.BadSignatures != 2 || cs.UnknownEvents != 0 || cs.Anomalies != 0 {
		t.Errorf("stats %+v", cs)
	}
}

// TestCallbackRequestPayment: the payment of a request to pay names the
// request, not a user (payee type ACCOUNT): the participant credits the
// user who sent it, and in confirm mode accepts it for that user only.
func TestCallbackRequestPayment(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var nr wire.NewPaymentRequest
		if r.URL.Path != "/v1/payment-requests" || json.UnmarshalRead(r.Body, &nr) != nil {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.MarshalWrite(w, wire.PaymentRequest{ID: nr.ID, Payee: "peony-pay", Payer: nr.Payer, Amount: nr.Amount,
			Currency: nr.Currency, State: "PENDING"})
	}))
	defer srv.Close()
	p := newTestParticipant(t, Config{})
	p.Connect(NewClient(srv.URL, "key", srv.Client()), secret)
	p.Books().Open("u-1", "王伟", 0)
	r, err := p.RequestPayment(context.Background(), "u-1", wire.PayeeRef{Type: "MSISDN", Value: "+8613900139000"}, 30_00, "dinner")
	if err != nil || r.State != "PENDING" {
		t.Fatalf("request: %+v %v", r, err)
	}
	payment := func(id, request string) wire.Transfer {
		return wire.Transfer{ID: id, State: "COMMITTED", Payer: "bamboo-wallet", Amount: "30.00", Fee: "0.13", Currency: "CNY",
			Payee: wire.PayeeRef{Type: "ACCOUNT", Value: "peony-pay/" + request, Participant: "peony-pay", Account: request}}
	}
	for _, tc := range []struct {
		request, decision string
	}{{r.ID, "accept"}, {"not-ours", "reject"}} {
		tr := payment("t-"+tc.request, tc.request)
		tr.State = "RESERVED"
		st, body := callback(t, p, wire.Callback{Event: wire.EventTransferConfirm, Transfer: &tr}, secret, time.Now())
		var d wire.Decision
		if st != http.StatusOK || json.Unmarshal([]byte(body), &d) != nil || d.Decision != tc.decision {
			t.Errorf("confirm of a payment of request %s: %d %s, want %s", tc.request, st, body, tc.decision)
		}
	}
	cb := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{payment("t1", r.ID)}}
	if st, body := callback(t, p, cb, secret, time.Now()); st != http.StatusNoContent {
		t.Fatalf("committed: %d %s", st, body)
	}
	if u, _ := p.Books().User("u-1"); u.Balance != 30_00 {
		t.Errorf("the requesting user has %d, want 30.00", u.Balance)
	}
	if s := p.Books().Summary(); s.Suspense != 0 || s.Received != 30_00 {
		t.Errorf("books %+v", s)
	}
	mustVerify(t, p.Books())
}

// TestCallbackMandateExecuted: the payer's wallet books a pull it did not
// send from the mandate.executed callback, checked against the transfer
// (GET /v1/transfers/{id}), once however often the callback comes; one
// whose transfer cannot be read is answered 503, for the switch to
// deliver it again.
func TestCallbackMandateExecuted(t *testing.T) {
	pull := wire.Transfer{ID: "river-bank.x.7", State: "COMMITTED", Payer: "peony-pay", Amount: "42.00", Fee: "0.14", Currency: "CNY",
		Payee: wire.PayeeRef{Type: "ACCOUNT", Value: "river-bank/md-1", Participant: "river-bank", Account: "md-1"}}
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case down.Load():
			http.Error(w, "down", http.StatusServiceUnavailable)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/mandates/md-1/approve":
			w.Header().Set("Content-Type", "application/json")
			json.MarshalWrite(w, wire.Mandate{ID: "md-1", State: "ACTIVE"})
		case r.Method == http.MethodGet && r.URL.Path == "/v1/transfers/"+pull.ID:
			w.Header().Set("Content-Type", "application/json")
			json.MarshalWrite(w, pull)
		default:
			http.Error(w, "unexpected", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	p := newTestParticipant(t, Config{})
	p.Connect(NewClient(srv.URL, "key", srv.Client()), secret)
	p.Books().Open("u-1", "王伟", 500_00)
	p.Books().Deposit(500_00)
	p.mu.Lock()
	p.aliases[aliasKey("MSISDN", "+8613800138000")] = "u-1"
	p.mu.Unlock()
	md := wire.Mandate{ID: "md-1", Biller: "river-bank", Payer: wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000", Participant: "peony-pay"},
		MaxAmount: "100.00", Currency: "CNY", Frequency: "adhoc", State: "PENDING"}
	if st, body := callback(t, p, wire.Callback{Event: "mandate.proposed", Mandate: &md}, secret, time.Now()); st != http.StatusNoContent {
		t.Fatalf("proposed: %d %s", st, body)
	}
	got, ok := p.NextMandate()
	if !ok {
		t.Fatal("the proposal is not waiting for an answer")
	}
	if _, err := p.ApproveMandate(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	if u, _ := p.Books().User("u-1"); u.Held != 100_00 {
		t.Fatalf("approved: %+v, want 100.00 earmarked", u)
	}
	executed := wire.Callback{Event: "mandate.executed", Mandate: &md, Execution: &wire.MandateExecution{ID: pull.ID, Mandate: "md-1",
		Amount: "42.00", Currency: "CNY", State: "COMMITTED"}}
	for _, tc := range []struct {
		name string
		down bool
		want int
	}{{"switch unreachable", true, http.StatusServiceUnavailable}, {"booked", false, http.StatusNoContent},
		{"redelivered", false, http.StatusNoContent}} {
		down.Store(tc.down)
		if st, body := callback(t, p, executed, secret, time.Now()); st != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, st, body, tc.want)
		}
	}
	// Debited once, from the earmark, which is topped up again.
	if u, _ := p.Books().User("u-1"); u.Balance != 458_00 || u.Held != 100_00 {
		t.Errorf("after the pull: %+v, want balance 458.00, 100.00 earmarked", u)
	}
	if o, ok := p.Books().Outgoing(pull.ID); !ok || !o.Unsent || o.Fee != 14 {
		t.Errorf("outgoing %+v %v", o, ok)
	}
	if s := p.Books().Summary(); s.Sent != 42_00 || s.FeesPaid != 14 || s.Position() != 500_00-42_00-14 {
		t.Errorf("summary %+v", s)
	}
	mustVerify(t, p.Books())
	// The biller revokes it: the earmark is released.
	md.State = "REVOKED"
	callback(t, p, wire.Callback{Event: "mandate.changed", Mandate: &md}, secret, time.Now())
	if u, _ := p.Books().User("u-1"); u.Held != 0 {
		t.Errorf("after the revocation: %+v", u)
	}
	mustVerify(t, p.Books())
}
