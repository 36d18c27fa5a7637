package transfer

import (
	"errors"
	"testing"

	"github.com/hulian/hulian/internal/money"
)

// TestReturn: a payee returns all or part of a committed payment once,
// as a new payment to the original payer, without a fee; a repeat
// answers the first, another return conflicts, and what cannot be
// returned is refused and moves nothing.
func TestReturn(t *testing.T) {
	f := newFixture(t, nil)
	orig, _, err := f.s.Create(f.ctx, f.a, req("p.1", "b:1", 1000))
	if err != nil {
		t.Fatal(err)
	}
	aBefore, bBefore := f.account(f.a.Account(cny)).Balance, f.account(f.b.Account(cny)).Balance
	for _, c := range []struct {
		name   string
		who    string
		id     string
		amount int64
		want   error
	}{
		{"by the payer", "a", "p.1", 100, ErrNotPayee},
		{"more than the payment", "b", "p.1", 1001, ErrReturnAmount},
		{"nothing", "b", "p.1", 0, ErrReturnAmount},
		{"no such payment", "b", "p.none", 100, ErrNotFound},
	} {
		who := f.b
		if c.who == "a" {
			who = f.a
		}
		if _, _, err := f.s.Return(f.ctx, who, c.id, money.Amount(c.amount), cny, "AC04"); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	ret, created, err := f.s.Return(f.ctx, f.b, "p.1", 400, cny, "AC04 account closed")
	if err != nil || !created || ret.ID != "return:p.1" || ret.State != Committed || ret.Payee.Participant != f.a.ID || ret.Payee.Value != "p.1" {
		t.Fatalf("return: %+v %v %v", ret, created, err)
	}
	if a, b := f.account(f.a.Account(cny)).Balance, f.account(f.b.Account(cny)).Balance; a != aBefore+400 || b != bBefore-400 {
		t.Errorf("after the return a %d b %d, want %d %d", a, b, aBefore+400, bBefore-400)
	}
	if again, created, err := f.s.Return(f.ctx, f.b, "p.1", 400, cny, "AC04 account closed"); err != nil || created || again.ID != ret.ID {
		t.Errorf("the same return again: %+v %v %v", again, created, err)
	}
	if _, _, err := f.s.Return(f.ctx, f.b, "p.1", 300, cny, "AC04"); !errors.Is(err, ErrConflict) {
		t.Errorf("a second, different return: %v", err)
	}
	if _, _, err := f.s.Return(f.ctx, f.a, "return:p.1", 100, cny, "no"); !errors.Is(err, ErrNotReturnable) {
		t.Errorf("a return of a return: %v", err)
	}
	if got, err := f.s.Get(f.ctx, Viewer{Participant: f.a.ID}, "return:p.1"); err != nil || got.Amount != 400 || got.Fee != 0 {
		t.Errorf("the return as its payee sees it: %+v %v", got, err)
	}
	_ = orig
	f.zeroSum()
}
