package risk

import (
	"context"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/risk/model"
	"github.com/hulian/hulian/internal/risk/rules"
	"github.com/hulian/hulian/internal/risk/velocity"
	"github.com/hulian/hulian/internal/transfer"
)

// screening is one payment's state while it is screened: the rules'
// Facts, pooled so that screening allocates as little as it can.
type screening struct {
	e       *Engine
	s       *transfer.Screening
	alias   string
	in      rules.Input
	matches []rules.Match
	txn     model.Txn
	// payer is the payer account's velocity history, read with its
	// new-payee check; alias the payee alias's, read when a rule first
	// asks (aliasRead): each is looked up once however many windows the
	// rules ask of it.
	payer, aliasHist velocity.History
	aliasRead        bool
}

var screenings = sync.Pool{New: func() any { return &screening{matches: make([]rules.Match, 0, 8)} }}

// PayerCount is the payer account's committed payments in the window.
func (f *screening) PayerCount(d time.Duration) int64 {
	n, _ := f.payer.Since(f.s.At, d)
	return n
}

// PayerSum is their total.
func (f *screening) PayerSum(d time.Duration) int64 {
	_, sum := f.payer.Since(f.s.At, d)
	return sum
}

// AliasCount is the payee alias's committed incoming payments in the
// window.
func (f *screening) AliasCount(d time.Duration) int64 {
	n, _ := f.aliasHistory().Since(f.s.At, d)
	return n
}

// AliasSum is their total.
func (f *screening) AliasSum(d time.Duration) int64 {
	_, sum := f.aliasHistory().Since(f.s.At, d)
	return sum
}

// aliasHistory returns the payee alias's history, reading it on first use.
func (f *screening) aliasHistory() *velocity.History {
	if !f.aliasRead {
		f.e.vel.AliasHistory(f.alias, f.txn.Currency, &f.aliasHist)
		f.aliasRead = true
	}
	return &f.aliasHist
}

// InList reports whether the operator's list name holds value.
func (f *screening) InList(name, value string) bool { return f.e.lists.Load().has(name, value) }

// aliasOf is an alias as rules name it: "TYPE:value".
func aliasOf(typ, value string) string { return typ + ":" + value }

// Screen decides one payment: declined (a *Declined error), held, or
// allowed; and raises the alerts of every match.
func (e *Engine) Screen(ctx context.Context, s *transfer.Screening) (transfer.Verdict, error) {
	f := screenings.Get().(*screening)
	defer func() {
		f.s, f.in.Factors = nil, nil
		f.matches = f.matches[:0]
		screenings.Put(f)
	}()
	f.e, f.s, f.aliasRead = e, s, false
	score := e.assess(f)
	f.in = rules.Input{
		Amount: int64(s.Amount), Currency: f.txn.Currency, Payer: s.Payer.ID, Payee: s.Payee.ID, PayeeAlias: f.alias,
		PayerAccount: s.PayerAccount, Hour: f.txn.Hour, FraudMarks: e.marks.count(f.alias, s.At), Score: score.Value,
		NewPayee: f.txn.NewPayee, Factors: s.Factors.Names(),
	}
	set := e.rules.Load()
	f.matches = set.set.Eval(&f.in, f, f.matches[:0])

	var v transfer.Verdict
	var refusal error
	matched := false
	review := -1
	for i := range f.matches {
		m := &f.matches[i]
		if !m.Matched() {
			continue // a rule that failed to evaluate does not match
		}
		matched = true
		if m.Enforced() && m.Action == rules.ActionDecline && refusal == nil {
			refusal = &Declined{Rule: m.ID, Reason: m.Reason}
		}
		if m.Enforced() && m.Action == rules.ActionReview && review < 0 {
			review = i
		}
	}
	held := refusal == nil && review >= 0 && !s.Prospective
	v.Hold = held
	if !matched && score.Value < e.model.Threshold() {
		return v, refusal
	}
	err := e.raise(ctx, f, &score, review, held)
	if refusal != nil {
		return v, refusal
	}
	return v, err
}

// assess fills f's alias and model input from its screening, and scores
// it.
func (e *Engine) assess(f *screening) model.Score {
	s := f.s
	f.alias = aliasOf(s.PayeeType, s.PayeeValue)
	cur := s.Currency.String()
	f.txn = model.Txn{At: s.At, Hour: e.hour(s.At), Payer: s.Payer.ID, PayerAccount: s.PayerAccount, Alias: f.alias,
		Currency: cur, Amount: int64(s.Amount), NewPayee: e.vel.PayerHistory(s.Payer.ID, s.PayerAccount, cur, f.alias, &f.payer),
		Factors: s.Factors.Len()}
	return e.model.Score(&f.txn)
}

// Score is the anomaly model's score of a payment, as Screen computes it
// (the quality evaluation asks it of every payment, flagged or not).
func (e *Engine) Score(s *transfer.Screening) model.Score {
	f := screenings.Get().(*screening)
	defer func() { f.s = nil; screenings.Put(f) }()
	f.e, f.s = e, s
	return e.assess(f)
}

// raise records the alerts of a screened payment: one per matching rule,
// or the model's own when no rule matched. The alert of the review that
// holds the payment (index held in f.matches) is durable before raise
// returns; the others are queued.
func (e *Engine) raise(ctx context.Context, f *screening, score *model.Score, review int, hold bool) error {
	s := f.s
	base := Alert{
		TransferID: s.ID, Payer: s.Payer.ID, Payee: s.Payee.ID, Score: score.Value,
		score: *score, Status: StatusOpen, CreatedAt: s.At.UTC(),
	}
	any := false
	var wait error
	for i := range f.matches {
		m := &f.matches[i]
		if !m.Matched() {
			continue
		}
		any = true
		a := base
		a.Rule, a.Action, a.Reason, a.Mode = m.ID, string(m.Action), m.Reason, string(m.Mode)
		if hold && i == review {
			a.Held = true
			wait = e.alerts.add(ctx, a, true)
			continue
		}
		e.alerts.add(ctx, a, false)
	}
	if !any {
		// The model's own alert, within its rate: traffic unlike any
		// the model has learned (a load test, a new participant's first
		// hour) would otherwise turn a large share of payments into
		// database writes.
		if !e.modelAlerts.Allow() {
			e.alerts.dropped.Add(1)
			return wait
		}
		a := base
		a.Action, a.Reason, a.Mode = string(rules.ActionAlert), ReasonAnomaly, string(rules.ModeEnforce)
		e.alerts.add(ctx, a, false)
	}
	return wait
}

// ReasonAnomaly is the reason of the model's own alerts, raised when a
// payment's score reaches the threshold and no rule matched it.
const ReasonAnomaly = "anomaly-score"

// Learn feeds a committed payment to the velocity windows and the model.
func (e *Engine) Learn(t *transfer.Transfer) {
	alias := aliasOf(t.Payee.Type, t.Payee.Value)
	e.learn(t, alias)
}

func (e *Engine) learn(t *transfer.Transfer, alias string) {
	cur := t.Currency.String()
	newPayee := e.vel.Observe(velocity.Txn{At: t.CreatedAt, Payer: t.Payer, PayerAccount: t.PayerAccount, PayeeAlias: alias,
		Currency: cur, Amount: int64(t.Amount)})
	txn := model.Txn{At: t.CreatedAt, Hour: e.hour(t.CreatedAt), Payer: t.Payer, PayerAccount: t.PayerAccount, Alias: alias,
		Currency: cur, Amount: int64(t.Amount), Factors: t.Factors.Len(), NewPayee: newPayee}
	e.model.Observe(&txn)
}

// Committed is a source of the payments committed in [from, to): the
// payment flow's Committed, in the ledger's order.
type Committed func(ctx context.Context, from, to time.Time, fn func(*transfer.Transfer) error) error

// Rebuild refills the velocity windows and the model from the payments
// committed within the max window before the engine was opened: after a
// restart, the windows start empty otherwise. It may run while the
// switch serves, since Learn has seen everything committed since the
// engine was opened, and Rebuild reads only what came before; until it
// ends, the windows count less than the truth.
func (e *Engine) Rebuild(ctx context.Context, src Committed) (int, error) {
	defer e.rebuiltOnce.Do(func() { close(e.rebuilt) })
	n := 0
	err := src(ctx, e.opened.Add(-e.cfg.MaxWindow), e.opened, func(t *transfer.Transfer) error {
		e.Learn(t)
		n++
		return nil
	})
	return n, err
}

// Rebuilt is closed when the first Rebuild has ended.
func (e *Engine) Rebuilt() <-chan struct{} { return e.rebuilt }
