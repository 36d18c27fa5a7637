package transfer

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
)

// holder is a Screener that holds payments above a limit, and a Learner
// that records what was committed.
type holder struct {
	limit   int64
	learned []string
}

func (h *holder) Screen(_ context.Context, s *Screening) (Verdict, error) {
	return Verdict{Hold: int64(s.Amount) > h.limit}, nil
}

func (h *holder) Learn(t *Transfer) { h.learned = append(h.learned, t.ID+"/"+t.PayerAccount) }

func newHoldFixture(t *testing.T) (*fixture, *holder) {
	h := &holder{limit: 5000}
	f := newFixture(t, func(d *Deps) { d.Screener, d.Learner, d.Confirmer = h, h, confirmer{} })
	return f, h
}

// TestHoldRelease: a held payment is reserved on the payer, answered
// HELD, shown HELD, not the payee's to fulfil; the operator's release
// commits it, and the Learner hears of it then and only then.
func TestHoldRelease(t *testing.T) {
	f, h := newHoldFixture(t)
	r := req("h.1", "b:1", 6000)
	r.PayerAccount, r.Factors = "user-7", []string{"device", "pin"}
	tr, created, err := f.s.Create(f.ctx, f.a, r)
	if err != nil || !created || tr.State != Held || tr.PayerAccount != "user-7" || !slices.Equal(tr.Factors.Names(), []string{"pin", "device"}) {
		t.Fatalf("create: %+v %v %v", tr, created, err)
	}
	if _, _, err := f.s.Create(f.ctx, f.a, req("h.2", "b:1", 100)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.learned, []string{"h.2/"}) {
		t.Errorf("learned %v", h.learned)
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 6016 {
		t.Errorf("wallet-a while held: %+v", a)
	}
	if got, err := f.s.Get(f.ctx, Viewer{}, "h.1"); err != nil || got.State != Held || got.PayerAccount != "user-7" {
		t.Errorf("stored: %+v %v", got, err)
	}
	again, created, err := f.s.Create(f.ctx, f.a, r)
	if err != nil || created || again.State != Held {
		t.Errorf("retry: %+v %v %v", again, created, err)
	}
	if _, _, err := f.s.Fulfil(f.ctx, f.b, "h.1"); !errors.Is(err, ErrHeld) {
		t.Errorf("the payee fulfils a held payment: %v", err)
	}
	if _, _, err := f.s.Release(f.ctx, "h.2"); !errors.Is(err, ErrNotHeld) || fault.KindOf(err) != fault.Conflict {
		t.Errorf("release of a payment not held: %v", err)
	}
	done, created, err := f.s.Release(f.ctx, "h.1")
	if err != nil || !created || done.State != Committed {
		t.Fatalf("release: %+v %v %v", done, created, err)
	}
	if !slices.Equal(h.learned, []string{"h.2/", "h.1/user-7"}) {
		t.Errorf("learned %v", h.learned)
	}
	if again, created, err := f.s.Release(f.ctx, "h.1"); err != nil || created || again.State != Committed {
		t.Errorf("release again: %+v %v %v", again, created, err)
	}
	if _, _, err := f.s.Refuse(f.ctx, "h.1", "late"); !errors.Is(err, ErrFinished) {
		t.Errorf("refuse after release: %v", err)
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 0 || a.Balance != 100000-6016-110 {
		t.Errorf("wallet-a after: %+v", a)
	}
	f.zeroSum()
}

// TestHoldRefuse: the operator's refusal aborts a held payment with its
// note as the reason, releases the money, and teaches the Learner
// nothing.
func TestHoldRefuse(t *testing.T) {
	f, h := newHoldFixture(t)
	if _, _, err := f.s.Create(f.ctx, f.a, req("h.3", "b:1", 7000)); err != nil {
		t.Fatal(err)
	}
	tr, created, err := f.s.Refuse(f.ctx, "h.3", "mule account")
	if err != nil || !created || tr.State != Aborted || tr.Reason != "risk-rejected: mule account" {
		t.Fatalf("refuse: %+v %v %v", tr, created, err)
	}
	if got, _ := f.s.Get(f.ctx, Viewer{}, "h.3"); got.State != Aborted || got.Reason != "risk-rejected: mule account" {
		t.Errorf("stored: %+v", got)
	}
	if _, _, err := f.s.Release(f.ctx, "h.3"); !errors.Is(err, ErrFinished) {
		t.Errorf("release after refusal: %v", err)
	}
	if len(h.learned) != 0 {
		t.Errorf("learned %v", h.learned)
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 0 || a.Balance != 100000 {
		t.Errorf("wallet-a: %+v", a)
	}
	f.zeroSum()
}

// TestHoldTimeout: a held payment not decided within the review timeout
// aborts by itself, with the reason "review timeout".
func TestHoldTimeout(t *testing.T) {
	f, _ := newHoldFixture(t)
	if _, _, err := f.s.Create(f.ctx, f.a, req("h.4", "b:1", 7000)); err != nil {
		t.Fatal(err)
	}
	f.clk.advance(24*time.Hour + time.Second)
	tr, _, err := f.s.Release(f.ctx, "h.4")
	if !errors.Is(err, ErrExpired) || tr.State != Aborted || tr.Reason != "review timeout" {
		t.Fatalf("release after the timeout: %+v %v", tr, err)
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 0 || a.Balance != 100000 {
		t.Errorf("wallet-a: %+v", a)
	}
	f.zeroSum()
}

// TestHoldConfirmPayee: a held payment to a confirm-mode payee is not
// put to the payee until released; then the payee's answer decides it.
func TestHoldConfirmPayee(t *testing.T) {
	asked := 0
	h := &holder{limit: 5000}
	f := newFixture(t, func(d *Deps) {
		d.Screener = h
		d.Confirmer = confirmFunc(func(_ context.Context, _ participant.Participant, tr Transfer) (bool, string, error) {
			asked++
			return tr.Amount < 8000, "too much", nil
		})
	})
	for _, id := range []string{"h.5", "h.6"} {
		amount := map[string]int64{"h.5": 6000, "h.6": 9000}[id]
		tr, _, err := f.s.Create(f.ctx, f.a, req(id, "c:1", money.Amount(amount)))
		if err != nil || tr.State != Held || asked != 0 {
			t.Fatalf("create %s: %+v %v, asked %d", id, tr, err, asked)
		}
	}
	if tr, _, err := f.s.Release(f.ctx, "h.5"); err != nil || tr.State != Committed || asked != 1 {
		t.Errorf("release to an accepting payee: %+v %v", tr, err)
	}
	if tr, _, err := f.s.Release(f.ctx, "h.6"); err != nil || tr.State != Aborted || tr.Reason != "rejected: too much" || asked != 2 {
		t.Errorf("release to a refusing payee: %+v %v", tr, err)
	}
	f.zeroSum()
}

// TestRiskFields: payerAccount and factors are checked, kept, and part
// of what makes a retry the same request.
func TestRiskFields(t *testing.T) {
	f := newFixture(t, nil)
	for name, r := range map[string]Request{
		"unknown factor": {Factors: []string{"retina"}},
		"twice":          {Factors: []string{"pin", "pin"}},
		"too many":       {Factors: []string{"pin", "password", "biometric", "otp", "device", "pin"}},
		"control char":   {PayerAccount: "a\x00b"},
		"invalid UTF-8":  {PayerAccount: "a\xffb"},
		"too long":       {PayerAccount: string(make([]byte, PayerAccountMax+1))},
	} {
		base := req("r."+name, "b:1", 100)
		base.PayerAccount, base.Factors = r.PayerAccount, r.Factors
		if base.PayerAccount == "" {
			base.PayerAccount = "ok"
		}
		if _, _, err := f.s.Create(f.ctx, f.a, base); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	r := req("r.1", "b:1", 100)
	r.PayerAccount, r.Factors = "用户-1", []string{"biometric"}
	if tr, _, err := f.s.Create(f.ctx, f.a, r); err != nil || tr.State != Committed || tr.Factors.Len() != 1 {
		t.Fatalf("create: %+v %v", tr, err)
	}
	r.PayerAccount = "someone else"
	if _, _, err := f.s.Create(f.ctx, f.a, r); !errors.Is(err, ErrConflict) {
		t.Errorf("retry with another payer account: %v", err)
	}
	plain := record{ID: "x", Payer: "p"}
	withRisk := plain
	withRisk.Held = true // not the client's: not in the digest
	if plain.digest(1, cny) != withRisk.digest(1, cny) {
		t.Error("the hold changed the request digest")
	}
	f.zeroSum()
}
