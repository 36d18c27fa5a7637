package transfer

import (
	"context"
	"errors"
	"testing"

	"github.com/hulian/hulian/internal/money"
)

// TestRefund: a payee refunds a payment in parts, each a payment back to
// the payer without a fee; refunds and a return together never exceed
// the payment; a retry answers the first, another refund under a used id
// is a conflict; only the payee refunds, only a committed payment, never
// a refund; a refund the payee cannot fund leaves no trace; the ledger
// sums to zero.
func TestRefund(t *testing.T) {
	f := newFixture(t, nil)
	orig, _, err := f.s.Create(f.ctx, f.a, req("rf.1", "b:1", 10000))
	if err != nil {
		t.Fatal(err)
	}
	aBefore := f.account(f.a.Account(cny)).Balance
	r1, created, err := f.s.Refund(f.ctx, f.b, "rf.1", "rf.1-r1", 3000, "damaged")
	if err != nil || !created || r1.State != Committed || r1.Payee.Type != RefundType || r1.Payee.Value != "rf.1" ||
		r1.Payee.Participant != "wallet-a" || r1.Fee != 0 || r1.Payer != "wallet-b" {
		t.Fatalf("refund: %+v %v %v", r1, created, err)
	}
	if again, created, err := f.s.Refund(f.ctx, f.b, "rf.1", "rf.1-r1", 3000, "damaged"); err != nil || created || again.ID != "rf.1-r1" {
		t.Errorf("the same refund again: %+v %v %v", again, created, err)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "rf.1", "rf.1-r1", 2000, "other"); !errors.Is(err, ErrConflict) {
		t.Errorf("another refund under a used id: %v", err)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "rf.1", "rf.1", 100, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("a refund under the payment's own id: %v", err)
	}
	// A return takes from the same cap.
	if _, _, err := f.s.Return(f.ctx, f.b, "rf.1", 5000, cny, "AC04"); err != nil {
		t.Fatalf("return: %v", err)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "rf.1", "rf.1-r2", 2001, ""); !errors.Is(err, ErrRefundExceeds) {
		t.Errorf("past the payment: %v", err)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "rf.1", "rf.1-r2", 2000, ""); err != nil {
		t.Errorf("up to the payment: %v", err)
	}
	if got, err := f.s.Refunded(f.ctx, "rf.1"); err != nil || got != 10000 {
		t.Errorf("refunded %d, %v", got, err)
	}
	if got := f.account(f.a.Account(cny)).Balance; got-aBefore != 10000 {
		t.Errorf("payer got back %d", got-aBefore)
	}
	if got := orig.Amount; got != 10000 {
		t.Errorf("original %d", got)
	}
	// Who, and what.
	f.s.Create(f.ctx, f.a, req("rf.2", "b:1", 500))
	for _, c := range []struct {
		name    string
		refund  func() error
		wantErr error
	}{
		{"the payer", func() error { _, _, err := f.s.Refund(f.ctx, f.a, "rf.2", "x.1", 1, ""); return err }, ErrNotPayee},
		{"another participant", func() error { _, _, err := f.s.Refund(f.ctx, f.c, "rf.2", "x.2", 1, ""); return err }, ErrNotFound},
		{"no such payment", func() error { _, _, err := f.s.Refund(f.ctx, f.b, "nope", "x.3", 1, ""); return err }, ErrNotFound},
		{"a refund", func() error { _, _, err := f.s.Refund(f.ctx, f.a, "rf.1-r1", "x.4", 1, ""); return err }, ErrNotReturnable},
		{"zero", func() error { _, _, err := f.s.Refund(f.ctx, f.b, "rf.2", "x.5", 0, ""); return err }, ErrInvalid},
		{"a return's id", func() error { _, _, err := f.s.Refund(f.ctx, f.b, "rf.2", "return:x", 1, ""); return err }, ErrInvalid},
		{"a bad id", func() error { _, _, err := f.s.Refund(f.ctx, f.b, "rf.2", "a b", 1, ""); return err }, ErrInvalid},
	} {
		if err := c.refund(); !errors.Is(err, c.wantErr) {
			t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
		}
	}
	// The payee cannot fund it: nothing is written, the number is free.
	big, _, err := f.s.Create(f.ctx, f.a, req("rf.3", "b:1", 90000))
	if err != nil {
		t.Fatal(err)
	}
	drain := f.account(f.b.Account(cny)).Balance - 100
	if _, _, err := f.s.Create(f.ctx, f.b, req("rf.drain", "a:1", drain-500)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "rf.3", "rf.3-r1", big.Amount, ""); !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("unfunded refund: %v", err)
	}
	if got, _ := f.s.Refunded(f.ctx, "rf.3"); got != 0 {
		t.Errorf("an unfunded refund counted %d", got)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "rf.3", "rf.3-r1", 100, ""); err != nil {
		t.Errorf("a smaller refund under the same id after the failure: %v", err)
	}
	f.zeroSum()
}

// TestRefundScreened: a refund the risk engine declines is refused, and
// counts nothing.
func TestRefundScreened(t *testing.T) {
	f := newFixture(t, func(d *Deps) {
		d.Screener = ScreenerFunc(func(_ context.Context, s *Screening) (Verdict, error) {
			if s.PayeeType == RefundType && s.Amount > 100 {
				return Verdict{}, ErrScreened
			}
			return Verdict{}, nil
		})
	})
	if _, _, err := f.s.Create(f.ctx, f.a, req("rs.1", "b:1", 1000)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "rs.1", "rs.1-r", 101, ""); !errors.Is(err, ErrScreened) {
		t.Errorf("screened: %v", err)
	}
	if got, _ := f.s.Refunded(f.ctx, "rs.1"); got != money.Amount(0) {
		t.Errorf("refunded %d", got)
	}
}
