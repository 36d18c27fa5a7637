package transfer

import (
	"errors"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
)

// TestHoldPayBack: a hold reserves on the payee towards the payer; the
// same hold again answers the first, another under its id conflicts; the
// payment's holds never exceed it; committing pays the payer back once,
// even when asked twice, and counts against the cap of refunds and
// returns; the books balance.
func TestHoldPayBack(t *testing.T) {
	f := newFixture(t, nil)
	if _, _, err := f.s.Create(f.ctx, f.a, req("dp.1", "b:1", 10000)); err != nil {
		t.Fatal(err)
	}
	bAvail := f.available(f.b)
	aBal := f.account(f.a.Account(cny)).Balance
	h1, created, err := f.s.HoldPayBack(f.ctx, f.b, "dp.1", "dp.1:h1", 6000, time.Hour, "dispute D1")
	if err != nil || !created || h1.State != Reserved || h1.Payee.Type != DisputeType || h1.Payee.Value != "dp.1" ||
		h1.Payee.Participant != "wallet-a" || h1.Payer != "wallet-b" || h1.Amount != 6000 {
		t.Fatalf("hold: %+v %v %v", h1, created, err)
	}
	if got := f.available(f.b); bAvail-got != 6000 {
		t.Errorf("the payee's available fell by %d, want 6000", bAvail-got)
	}
	if again, created, err := f.s.HoldPayBack(f.ctx, f.b, "dp.1", "dp.1:h1", 6000, time.Hour, "dispute D1"); err != nil || created ||
		again.ID != "dp.1:h1" || again.State != Reserved {
		t.Errorf("the same hold again: %+v %v %v", again, created, err)
	}
	if _, _, err := f.s.HoldPayBack(f.ctx, f.b, "dp.1", "dp.1:h1", 5000, time.Hour, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("another hold under its id: %v", err)
	}
	if _, _, err := f.s.HoldPayBack(f.ctx, f.b, "dp.1", "dp.1:h2", 4001, time.Hour, ""); !errors.Is(err, ErrRefundExceeds) {
		t.Errorf("holds past the payment: %v", err)
	}
	if got, err := f.s.Refundable(f.ctx, "dp.1"); err != nil || got != 4000 {
		t.Errorf("refundable %d, %v; want 4000", got, err)
	}
	if got, err := f.s.Held(f.ctx, "dp.1"); err != nil || got != 6000 {
		t.Errorf("held %d, %v; want 6000", got, err)
	}
	// Committed, twice, as after a crash: paid once.
	c1, created, err := f.s.CommitPayBack(f.ctx, "dp.1:h1")
	if err != nil || !created || c1.State != Committed {
		t.Fatalf("commit: %+v %v %v", c1, created, err)
	}
	if c2, created, err := f.s.CommitPayBack(f.ctx, "dp.1:h1"); err != nil || created || c2.State != Committed {
		t.Errorf("the same commit again: %+v %v %v", c2, created, err)
	}
	if got := f.account(f.a.Account(cny)).Balance - aBal; got != 6000 {
		t.Errorf("the payer got back %d, want 6000", got)
	}
	if got := f.available(f.b); bAvail-got != 6000 {
		t.Errorf("the payee's available fell by %d in all, want 6000", bAvail-got)
	}
	if got, err := f.s.Refunded(f.ctx, "dp.1"); err != nil || got != 6000 {
		t.Errorf("refunded %d, %v; want 6000", got, err)
	}
	if got, err := f.s.Held(f.ctx, "dp.1"); err != nil || got != 0 {
		t.Errorf("held %d after the commit, %v", got, err)
	}
	if _, _, err := f.s.ReleasePayBack(f.ctx, "dp.1:h1", "too late"); !errors.Is(err, ErrFinished) {
		t.Errorf("release of a committed hold: %v", err)
	}
	// The cap is shared: refunds and returns take what is left, no more.
	if _, _, err := f.s.Refund(f.ctx, f.b, "dp.1", "dp.1-r1", 4001, ""); !errors.Is(err, ErrRefundExceeds) {
		t.Errorf("a refund past what the dispute left: %v", err)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "dp.1", "dp.1-r1", 3000, ""); err != nil {
		t.Errorf("a refund within it: %v", err)
	}
	if _, _, err := f.s.HoldPayBack(f.ctx, f.b, "dp.1", "dp.1:h2", 1001, time.Hour, ""); !errors.Is(err, ErrRefundExceeds) {
		t.Errorf("a hold past refunds and the dispute: %v", err)
	}
	if _, _, err := f.s.HoldPayBack(f.ctx, f.b, "dp.1", "dp.1:h2", 1000, time.Hour, ""); err != nil {
		t.Errorf("a hold of the rest: %v", err)
	}
	if _, _, err := f.s.Return(f.ctx, f.b, "dp.1", 1, cny, "AC04"); !errors.Is(err, ErrRefundExceeds) {
		t.Fatalf("a return of what a dispute holds: %v", err)
	}
	if _, _, err := f.s.ReleasePayBack(f.ctx, "dp.1:h2", "rejected"); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, _, err := f.s.Return(f.ctx, f.b, "dp.1", 1, cny, "AC04"); err != nil {
		t.Fatalf("a return once the hold is released: %v", err)
	}
	if _, _, err := f.s.CommitPayBack(f.ctx, "dp.1:h2"); err == nil {
		t.Errorf("a released hold committed")
	}
	if got, err := f.s.Refunded(f.ctx, "dp.1"); err != nil || got != 9001 {
		t.Errorf("refunded %d, %v; want 9001", got, err)
	}
	f.zeroSum()
}

// TestReleasePayBack: a released hold frees the payee's money and its
// share of the cap; releasing again answers the same, committing it is
// refused; an expired hold is released as far as anyone asks, and
// cannot be committed.
func TestReleasePayBack(t *testing.T) {
	f := newFixture(t, nil)
	if _, _, err := f.s.Create(f.ctx, f.a, req("dr.1", "b:1", 10000)); err != nil {
		t.Fatal(err)
	}
	bAvail := f.available(f.b)
	if _, _, err := f.s.HoldPayBack(f.ctx, f.b, "dr.1", "dr.1:h1", 10000, time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	r, created, err := f.s.ReleasePayBack(f.ctx, "dr.1:h1", "the payee proved the sale")
	if err != nil || !created || r.State != Aborted || r.Reason != "the payee proved the sale" {
		t.Fatalf("release: %+v %v %v", r, created, err)
	}
	if r, created, err := f.s.ReleasePayBack(f.ctx, "dr.1:h1", "again"); err != nil || created || r.State != Aborted {
		t.Errorf("release again: %+v %v %v", r, created, err)
	}
	if _, _, err := f.s.CommitPayBack(f.ctx, "dr.1:h1"); !errors.Is(err, ErrFinished) {
		t.Errorf("commit of a released hold: %v", err)
	}
	if got := f.available(f.b); got != bAvail {
		t.Errorf("available %d after the release, want %d", got, bAvail)
	}
	if got, err := f.s.Refundable(f.ctx, "dr.1"); err != nil || got != 10000 {
		t.Errorf("refundable %d, %v; want all", got, err)
	}
	// Expiry: the ledger releases it; a commit finds it expired.
	if _, _, err := f.s.HoldPayBack(f.ctx, f.b, "dr.1", "dr.1:h2", 2500, time.Minute, ""); err != nil {
		t.Fatal(err)
	}
	f.clk.advance(2 * time.Minute)
	if _, _, err := f.s.CommitPayBack(f.ctx, "dr.1:h2"); !errors.Is(err, ErrExpired) {
		t.Errorf("commit of an expired hold: %v", err)
	}
	if r, created, err := f.s.ReleasePayBack(f.ctx, "dr.1:h2", ""); err != nil || created || r.State != Aborted {
		t.Errorf("release of an expired hold: %+v %v %v", r, created, err)
	}
	if got, err := f.s.Held(f.ctx, "dr.1"); err != nil || got != 0 {
		t.Errorf("held %d, %v", got, err)
	}
	if got := f.available(f.b); got != bAvail {
		t.Errorf("available %d after the expiry, want %d", got, bAvail)
	}
	f.zeroSum()
}

// TestRenewPayBack: a renewal replaces a hold by another of the same
// amount in one step, so that the money stays reserved past the
// ledger's longest timeout; it is idempotent, and refused for a hold no
// longer reserved.
func TestRenewPayBack(t *testing.T) {
	f := newFixture(t, nil)
	if _, _, err := f.s.Create(f.ctx, f.a, req("dn.1", "b:1", 10000)); err != nil {
		t.Fatal(err)
	}
	bAvail := f.available(f.b)
	if _, _, err := f.s.HoldPayBack(f.ctx, f.b, "dn.1", "dn.1:h1", 7000, ledger.TimeoutMax, ""); err != nil {
		t.Fatal(err)
	}
	f.clk.advance(ledger.TimeoutMax - time.Hour)
	n, created, err := f.s.RenewPayBack(f.ctx, "dn.1:h1", "dn.1:h2", ledger.TimeoutMax)
	if err != nil || !created || n.ID != "dn.1:h2" || n.State != Reserved || n.Amount != 7000 || n.Payee.Value != "dn.1" {
		t.Fatalf("renew: %+v %v %v", n, created, err)
	}
	if again, created, err := f.s.RenewPayBack(f.ctx, "dn.1:h1", "dn.1:h2", ledger.TimeoutMax); err != nil || created || again.ID != "dn.1:h2" {
		t.Errorf("renew again: %+v %v %v", again, created, err)
	}
	if old, err := f.s.Get(f.ctx, Viewer{}, "dn.1:h1"); err != nil || old.State != Aborted || old.Reason != "renewed: dn.1:h2" {
		t.Errorf("the old hold: %+v %v", old, err)
	}
	if _, _, err := f.s.RenewPayBack(f.ctx, "dn.1:h1", "dn.1:h3", ledger.TimeoutMax); !errors.Is(err, ErrFinished) {
		t.Errorf("renew of a released hold: %v", err)
	}
	f.clk.advance(2 * time.Hour) // past the first hold's timeout
	if got, err := f.s.Held(f.ctx, "dn.1"); err != nil || got != 7000 {
		t.Errorf("held %d, %v; want 7000", got, err)
	}
	if got := f.available(f.b); bAvail-got != 7000 {
		t.Errorf("available fell by %d, want 7000", bAvail-got)
	}
	if _, _, err := f.s.CommitPayBack(f.ctx, "dn.1:h2"); err != nil {
		t.Fatalf("commit of the renewed hold: %v", err)
	}
	if got, err := f.s.Refunded(f.ctx, "dn.1"); err != nil || got != 7000 {
		t.Errorf("refunded %d, %v", got, err)
	}
	f.zeroSum()
}

// TestHoldPayBackRefuses: only the payee holds, only a committed payment
// that is not itself paid back, within what the payee can fund; each
// refusal leaves nothing behind.
func TestHoldPayBackRefuses(t *testing.T) {
	f := newFixture(t, nil)
	if _, _, err := f.s.Create(f.ctx, f.a, req("dx.1", "b:1", 50000)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Refund(f.ctx, f.b, "dx.1", "dx.1-r1", 100, ""); err != nil {
		t.Fatal(err)
	}
	// The payee spends nearly all it has.
	if _, _, err := f.s.Create(f.ctx, f.b, req("dx.3", "a:1", 140000)); err != nil {
		t.Fatal(err)
	}
	avail := f.available(f.b)
	for _, c := range []struct {
		name         string
		by           participant.Participant
		original, id string
		amount       money.Amount
		timeout      time.Duration
		want         error
	}{
		{"the payer", f.a, "dx.1", "x.1", 1, time.Hour, ErrNotPayee},
		{"a stranger", f.c, "dx.1", "x.2", 1, time.Hour, ErrNotFound},
		{"no such payment", f.b, "nope", "x.3", 1, time.Hour, ErrNotFound},
		{"a refund", f.a, "dx.1-r1", "x.4", 1, time.Hour, ErrNotReturnable},
		{"zero", f.b, "dx.1", "x.5", 0, time.Hour, ErrInvalid},
		{"negative", f.b, "dx.1", "x.6", -5, time.Hour, ErrInvalid},
		{"no timeout", f.b, "dx.1", "x.7", 1, 0, ErrInvalid},
		{"too long", f.b, "dx.1", "x.8", 1, ledger.TimeoutMax + time.Second, ErrInvalid},
		{"a bad id", f.b, "dx.1", "a b", 1, time.Hour, ErrInvalid},
		{"a return's id", f.b, "dx.1", "return:dx.1", 1, time.Hour, ErrInvalid},
		{"a used id", f.b, "dx.1", "dx.3", 1, time.Hour, ErrConflict},
		{"more than available", f.b, "dx.1", "x.9", avail + 1, time.Hour, ErrInsufficientFunds},
	} {
		if _, _, err := f.s.HoldPayBack(f.ctx, c.by, c.original, c.id, c.amount, c.timeout, ""); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if got, err := f.s.Held(f.ctx, "dx.1"); err != nil || got != 0 {
		t.Errorf("held %d, %v", got, err)
	}
	// What is available can be held, as the first hold (nothing was
	// written by the refusals).
	if _, _, err := f.s.HoldPayBack(f.ctx, f.b, "dx.1", "x.10", avail, time.Hour, ""); err != nil {
		t.Errorf("all that is available: %v", err)
	}
	if got := f.available(f.b); got != 0 {
		t.Errorf("available %d, want 0", got)
	}
	if _, _, err := f.s.CommitPayBack(f.ctx, "dx.3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("commit of a payment that is not a hold: %v", err)
	}
	f.zeroSum()
}

// available is what p's account could pay now.
func (f *fixture) available(p participant.Participant) money.Amount {
	f.t.Helper()
	a := f.account(p.Account(cny))
	return a.Available()
}
