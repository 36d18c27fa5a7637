package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// TestDisputes: through real HTTP on both engines, a payer's wallet
// disputes a payment as fraud; what the payee has of it is held and the
// payee told; accepted, the money goes back to the payer and the payee
// alias gets a fraud mark; another dispute rejected releases its hold;
// one left unanswered past the response days is accepted by the switch;
// the wrong side, strangers and payments that cannot be disputed are
// refused and change nothing.
func TestDisputes(t *testing.T) {
	clk := &skewClock{}
	eachEngine(t, func(c *app.Config) { c.Now = clk.Now }, func(t *testing.T, s *sw) {
		clk.offset.Store(0)
		payeeHook := newHook(t)
		payeeHook.now = clk.Now
		aKey, _ := s.participant("wallet-a", nil)
		bKey, bSecret := s.participant("wallet-b", func(n *wire.NewParticipant) { n.CallbackURL = payeeHook.url })
		payeeHook.secret = bSecret
		cKey, _ := s.participant("wallet-c", nil)
		s.deposit("wallet-a", "1000.00")
		s.party(bKey, "MSISDN", "13800138000", "Zhang San", "u-b1")
		for _, id := range []string{"dp-1", "dp-2", "dp-3"} {
			s.ok(201, "POST", "/v1/transfers", aKey, pay(id, "MSISDN", "+8613800138000", "100.00"), nil)
		}
		var d wire.Dispute
		s.problem(403, "forbidden", "POST", "/v1/disputes", bKey, wire.NewDispute{TransferID: "dp-1", Reason: "fraud"})
		s.problem(404, "not-found", "POST", "/v1/disputes", cKey, wire.NewDispute{TransferID: "dp-1", Reason: "fraud"})
		s.problem(400, "invalid-request", "POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "dp-1", Reason: "sad"})
		s.ok(201, "POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "dp-1", Reason: "fraud", Detail: "a fake seller"}, &d)
		if d.State != "OPEN" || d.Amount != "100.00" || d.Held != "100.00" || d.Payee != "wallet-b" {
			t.Fatalf("opened: %+v", d)
		}
		s.ok(200, "POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "dp-1", Reason: "fraud", Detail: "a fake seller"}, nil)
		s.problem(409, "dispute-open", "POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "dp-1", Reason: "error"})
		payeeHook.waitEvent(t, "dispute.opened")
		if b := s.balance(bKey, "wallet-b"); b.Available != "200.00" || b.Reserved != "100.00" {
			t.Errorf("wallet-b while held: %+v", b)
		}
		var got wire.Dispute
		s.ok(200, "GET", "/v1/disputes/"+d.ID, bKey, nil, &got)
		if len(got.Holds) != 1 || got.Holds[0].State != "RESERVED" {
			t.Errorf("holds: %+v", got.Holds)
		}
		s.problem(404, "not-found", "GET", "/v1/disputes/"+d.ID, cKey, nil)
		s.problem(403, "forbidden", "POST", "/v1/disputes/"+d.ID+"/accept", aKey, nil)
		// Accepted: paid back, and the payee alias marked.
		s.ok(200, "POST", "/v1/disputes/"+d.ID+"/accept", bKey, nil, &got)
		if got.State != "ACCEPTED" || got.Refunded != "100.00" || got.DecidedBy != "payee" {
			t.Errorf("accepted: %+v", got)
		}
		s.ok(200, "POST", "/v1/disputes/"+d.ID+"/accept", bKey, nil, nil)
		s.problem(409, "dispute-closed", "POST", "/v1/disputes/"+d.ID+"/reject", bKey, wire.RejectDispute{Reason: "no"})
		var tr wire.Transfer
		s.ok(200, "GET", "/v1/transfers/dp-1", aKey, nil, &tr)
		if tr.Refunded != "100.00" {
			t.Errorf("dp-1 after the dispute: %+v", tr)
		}
		var lookup wire.PartyLookup
		s.ok(200, "GET", "/v1/parties/MSISDN/+8613800138000", cKey, nil, &lookup)
		if lookup.FraudMarks != 1 {
			t.Errorf("the payee alias after a fraud dispute: %+v", lookup)
		}
		// Rejected: released.
		var d2 wire.Dispute
		s.ok(201, "POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "dp-2", Reason: "error"}, &d2)
		s.ok(200, "POST", "/v1/disputes/"+d2.ID+"/reject", bKey, wire.RejectDispute{Reason: "delivered"}, &got)
		if got.State != "REJECTED" || got.RejectReason != "delivered" {
			t.Errorf("rejected: %+v", got)
		}
		// Unanswered: accepted by the switch after the response days.
		var d3 wire.Dispute
		s.ok(201, "POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "dp-3", Reason: "error"}, &d3)
		clk.advance(8 * 24 * time.Hour)
		if _, err := s.app.Disputes.Sweep(context.Background(), 100); err != nil {
			t.Fatal(err)
		}
		s.ok(200, "GET", "/v1/disputes/"+d3.ID, aKey, nil, &got)
		if got.State != "ACCEPTED" || got.DecidedBy != "switch" || got.Refunded != "100.00" {
			t.Errorf("unanswered: %+v", got)
		}
		// Not disputable, or too late.
		s.problem(422, "not-disputable", "POST", "/v1/disputes", bKey, wire.NewDispute{TransferID: "dispute:" + d.ID + ":1", Reason: "error"})
		clk.advance(80 * 24 * time.Hour)
		s.problem(422, "dispute-window-passed", "POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "dp-2", Reason: "fraud"})
		var page wire.Disputes
		s.ok(200, "GET", "/v1/disputes?role=payer", aKey, nil, &page)
		if len(page.Disputes) != 3 {
			t.Errorf("the payer's disputes: %d", len(page.Disputes))
		}
		s.ok(200, "GET", "/v1/disputes?role=payee&state=REJECTED", bKey, nil, &page)
		if len(page.Disputes) != 1 {
			t.Errorf("the payee's rejected disputes: %d", len(page.Disputes))
		}
		if b := s.balance(aKey, "wallet-a"); b.Balance != "900.00" {
			t.Errorf("wallet-a: %+v", b)
		}
	})
}
