package app_test

import (
	"testing"

	"github.com/hulian/hulian/internal/wire"
)

// TestRefunds: through real HTTP on both engines, a payee refunds a
// payment in two parts, the payer sees what was refunded and gets it
// back without a fee; a retry answers the refund; more than the payment,
// the payer refunding, and a refund of a refund are refused, and change
// nothing.
func TestRefunds(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		bKey, _ := s.participant("wallet-b", nil)
		s.deposit("wallet-a", "1000.00")
		s.party(bKey, "MSISDN", "13800138000", "Zhang San", "u-b1")
		var paid wire.Transfer
		s.ok(201, "POST", "/v1/transfers", aKey, pay("rf-pay", "MSISDN", "+8613800138000", "100.00"), &paid)
		before := s.balance(aKey, "wallet-a").Balance
		var r wire.Transfer
		s.ok(201, "POST", "/v1/transfers/rf-pay/refunds", bKey, wire.NewRefund{ID: "rf-1", Amount: "30.00", Reason: "one item back"}, &r)
		if r.State != "COMMITTED" || r.Payer != "wallet-b" || r.Payee.Type != "REFUND" || r.Payee.Value != "rf-pay" ||
			r.Payee.Participant != "wallet-a" || r.Fee != "0.00" || r.Note != "one item back" {
			t.Errorf("refund: %+v", r)
		}
		s.ok(200, "POST", "/v1/transfers/rf-pay/refunds", bKey, wire.NewRefund{ID: "rf-1", Amount: "30.00", Reason: "one item back"}, nil)
		s.ok(201, "POST", "/v1/transfers/rf-pay/refunds", bKey, wire.NewRefund{ID: "rf-2", Amount: "70.00"}, nil)
		s.problem(422, "refund-exceeds-original", "POST", "/v1/transfers/rf-pay/refunds", bKey, wire.NewRefund{ID: "rf-3", Amount: "0.01"})
		s.problem(404, "not-found", "POST", "/v1/transfers/rf-pay/refunds", aKey, wire.NewRefund{ID: "rf-4", Amount: "1.00"})
		s.problem(404, "not-found", "POST", "/v1/transfers/rf-1/refunds", bKey, wire.NewRefund{ID: "rf-5", Amount: "1.00"})
		s.problem(422, "not-returnable", "POST", "/v1/transfers/rf-1/refunds", aKey, wire.NewRefund{ID: "rf-6", Amount: "1.00"})
		s.problem(400, "invalid-request", "POST", "/v1/transfers/rf-pay/refunds", bKey, wire.NewRefund{ID: "rf-7", Amount: "1.001"})
		var got wire.Transfer
		s.ok(200, "GET", "/v1/transfers/rf-pay", aKey, nil, &got)
		if got.Refunded != "100.00" {
			t.Errorf("refunded %q", got.Refunded)
		}
		var back wire.Transfer
		s.ok(200, "GET", "/v1/transfers/rf-1", aKey, nil, &back)
		if back.Refunded != "" || back.Payee.Type != "REFUND" {
			t.Errorf("the refund read back: %+v", back)
		}
		if after := s.balance(aKey, "wallet-a").Balance; before != "900.00" || after != "1000.00" {
			t.Errorf("wallet-a: %s before the refunds, %s after", before, after)
		}
		if b := s.balance(bKey, "wallet-b"); b.Balance != "0.00" {
			t.Errorf("wallet-b: %+v", b)
		}
	})
}
