package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The scenario's share of mandates and disputes: the bank's customers
// (a utility, a gym) propose mandates to wallet users, whose wallets
// approve them (earmarking the maximum, see mandates.go) or reject them,
// and the billers pull within the terms; wallets dispute, by mistake,
// payments their users made, and the payees accept or reject. Both are
// rare: a few per run, bounded (mandatesMax, pullsMax, disputesMax),
// chosen by each worker's seeded generator. Every dispute is decided
// before Run returns, so that nothing is held on a payee when Check
// compares the books; a scheduled mandate (the switch executes it
// itself at 09:00 of the scheme's zone, or at its next 10-second sweep
// if approved later in the day) is proposed only when the run is long
// enough to see it, and revoked when the run ends.

// Experiences of mandates and disputes (Stats.Experience).
const (
	XPMandateApproved  = "mandate approved"  // a proposal approved, its maxAmount earmarked
	XPMandateRejected  = "mandate rejected"  // a proposal its user's balance does not cover, or does not want
	XPMandatePulled    = "mandate pulled"    // a biller's execution committed
	XPMandateScheduled = "mandate scheduled" // the switch's own execution, booked by the payer's wallet
	XPDisputeAccepted  = "dispute accepted"  // a dispute paid back
	XPDisputeRejected  = "dispute rejected"  // a dispute the payee rejected
)

// Bounds of the experiences in one run.
const (
	mandatesMax = 16 // proposals
	pullsMax    = 40 // billers' executions
	disputesMax = 12 // disputes opened
)

// scheduledRunMin is the shortest run that proposes a scheduled
// mandate: the switch's sweep runs every 10 s.
const scheduledRunMin = 20 * time.Second

// activeMandate is a mandate the scenario's billers may pull from.
type activeMandate struct {
	id     string
	biller *member
	payer  *member
	max    money.Amount
}

// mandateBook is the scenario's record of its mandates and disputes.
type mandateBook struct {
	proposed, pulls, disputes atomic.Int64

	mu        sync.Mutex
	active    []activeMandate
	scheduled *activeMandate // the scheduled one, while it may execute
	billers   map[string]*member
}

// addActive records an approved mandate.
func (b *mandateBook) addActive(a activeMandate) {
	b.mu.Lock()
	b.active = append(b.active, a)
	b.mu.Unlock()
}

// pick returns a random active mandate.
func (b *mandateBook) pick(rng *rand.Rand) (activeMandate, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.active) == 0 {
		return activeMandate{}, false
	}
	return b.active[rng.IntN(len(b.active))], true
}

// biller is the scenario's biller: the bank, for its customers.
func (s *Scenario) biller() *member { return s.member("river-bank") }

// billers are what the bank's customers collect by mandate.
var billers = []string{"electricity", "gym membership", "broadband", "water"}

// proposeMandate: a bank customer proposes an adhoc mandate to a wallet
// user, for a bill of up to 50 to 300 a pull.
func (s *Scenario) proposeMandate(ctx context.Context, rng *rand.Rand) {
	b := s.biller()
	if b == nil || len(b.users) == 0 || len(s.wallets) == 0 || s.mandateBook.proposed.Add(1) > mandatesMax {
		return
	}
	payer := pick(rng, s.wallets)
	s.propose(ctx, b, pick(rng, b.users), payer.ref, s.between(rng, 50, 300), pick(rng, billers), nil)
}

// propose has user of biller propose a mandate of up to maxAmount a pull to
// the holder of alias payer: adhoc, or scheduled by sc.
func (s *Scenario) propose(ctx context.Context, biller *member, user string, payer wire.PayeeRef, maxAmount money.Amount,
	what string, sc *wire.MandateSchedule) (wire.Mandate, bool) {
	now := time.Now()
	nm := wire.NewMandate{Payer: wire.PayeeRef{Type: payer.Type, Value: payer.Value}, MaxAmount: maxAmount.Format(s.currency),
		Frequency: "adhoc", ValidFrom: now.Add(-time.Minute).UTC().Truncate(time.Second),
		ValidUntil: now.AddDate(0, 6, 0).UTC().Truncate(time.Second), Description: what, Schedule: sc}
	if sc != nil {
		// Daily at 09:00: valid from two days back, so that today's due
		// time is within it whatever the scheme's zone.
		nm.Frequency, nm.ValidFrom = "daily", now.Add(-48*time.Hour).UTC().Truncate(time.Second)
	}
	m, err := biller.ProposeMandate(ctx, user, nm)
	switch {
	case err == nil:
		return m, true
	case IsProblem(err, ProblemMandatesMax):
		// The payer alias has as many mandates as it may.
	default:
		s.stats.Error(err)
	}
	return m, false
}

// answerMandate: a wallet user answers the oldest mandate proposed to
// one: nine in ten approve it, if their balance covers it.
func (s *Scenario) answerMandate(ctx context.Context, rng *rand.Rand) {
	start := rng.IntN(len(s.members))
	for k := range s.members {
		m := s.members[(start+k)%len(s.members)]
		if md, ok := m.NextMandate(); ok {
			s.answerProposal(ctx, m, md, rng.IntN(10) != 0)
			return
		}
	}
}

// answerProposal has m approve proposal md, or reject it; one its
// user's balance does not cover is rejected too. An approved mandate
// without a schedule is one the billers of the traffic pull from. It
// returns whether md is approved.
func (s *Scenario) answerProposal(ctx context.Context, m *member, md wire.Mandate, approve bool) bool {
	if approve {
		_, err := m.ApproveMandate(ctx, md)
		switch {
		case err == nil:
			s.stats.Experience(XPMandateApproved)
			if b := s.member(md.Biller); b != nil && md.Schedule == nil {
				// A scheduled one is the switch's to pull.
				maxAmount, _ := money.Parse(md.MaxAmount, s.currency)
				s.mandateBook.addActive(activeMandate{id: md.ID, biller: b, payer: m, max: maxAmount})
			}
			return true
		case !errors.Is(err, ErrBalance):
			if !IsProblem(err, ProblemMandateState) {
				s.stats.Error(err)
			}
			return false
		}
	}
	if err := m.RejectMandate(ctx, md.ID); err != nil {
		if !IsProblem(err, ProblemMandateState) {
			s.stats.Error(err)
		}
		return false
	}
	s.stats.Experience(XPMandateRejected)
	return false
}

// pullMandate: a biller pulls this month's bill under one of the
// approved mandates, within its maximum.
func (s *Scenario) pullMandate(ctx context.Context, rng *rand.Rand) {
	a, ok := s.mandateBook.pick(rng)
	if !ok || s.mandateBook.pulls.Add(1) > pullsMax {
		return
	}
	s.pull(ctx, a, 1+money.Amount(rng.Int64N(int64(a.max))))
}

// pull has a's biller pull amount under it.
func (s *Scenario) pull(ctx context.Context, a activeMandate, amount money.Amount) (wire.MandateExecution, bool) {
	e, err := a.biller.ExecuteMandate(ctx, a.id, amount, "bill "+time.Now().Format("2006-01"))
	switch {
	case err == nil && e.State == "COMMITTED":
		s.stats.Experience(XPMandatePulled)
		return e, true
	case err == nil:
		// Waiting for the biller's confirmation, or held for review:
		// the payer's wallet books it when it commits.
	case IsProblem(err, ProblemInsufficientFunds), IsProblem(err, ProblemMandateNotActive), IsProblem(err, ProblemMandateLimit),
		IsProblem(err, "mandate-condition-failed"):
		// The payer's participant is short at the switch, or the
		// mandate ended or allows no more: nothing moved.
	default:
		s.stats.Error(err)
	}
	return e, false
}

// disputeSome: a wallet disputes a payment one of its users made lately
// to the wrong person; two in three payees accept.
func (s *Scenario) disputeSome(ctx context.Context, rng *rand.Rand) {
	if s.mandateBook.disputes.Load() >= disputesMax {
		return
	}
	p, ok := s.recent.take(rng)
	if !ok || p.payer == nil {
		return
	}
	if _, credited := p.payee.Books().Credited(p.id); !credited {
		return // its notification has not come yet: the payee could not say whose money it is
	}
	s.mandateBook.disputes.Add(1)
	s.dispute(ctx, p, rng.IntN(3) != 0)
}

// dispute has p's payer dispute it as a mistake, and its payee decide:
// accept or reject. A dispute whose dispute.opened is late beyond the
// bounded wait is decided when the run ends (decideOpen).
func (s *Scenario) dispute(ctx context.Context, p paid, accept bool) {
	d, err := p.payer.OpenDispute(ctx, p.id, "error", "paid the wrong person")
	if err != nil {
		if !IsProblem(err, "already-paid-back") && !IsProblem(err, "dispute-open") {
			s.stats.Error(err)
		}
		return
	}
	if got, ok := await(ctx, func() (wire.Dispute, bool) { return p.payee.takeDispute(d.ID) }); ok {
		s.decide(ctx, p.payee, got, accept)
	}
}

// decide has payee decide dispute d.
func (s *Scenario) decide(ctx context.Context, payee *member, d wire.Dispute, accept bool) {
	got, err := payee.DecideDispute(ctx, d, accept, "the payment was for goods delivered")
	if err != nil {
		s.stats.Error(err)
		return
	}
	switch got.State {
	case "ACCEPTED":
		s.stats.Experience(XPDisputeAccepted)
	case "REJECTED":
		s.stats.Experience(XPDisputeRejected)
	}
	// The payer's wallet records the holds released at once, as its
	// callback would, so that a reconciliation right after the run finds
	// them whatever the callback's timing.
	for _, m := range s.members {
		if m.ID() == got.Payer {
			if err := m.RecordReleasedHolds(ctx, got.ID); err != nil {
				s.stats.Error(fmt.Errorf("holds of dispute %s: %w", got.ID, err))
			}
		}
	}
}

// await polls take, bounded by showcaseWait, until it has something.
func await[T any](ctx context.Context, take func() (T, bool)) (T, bool) {
	deadline := time.Now().Add(showcaseWait)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if v, ok := take(); ok {
			return v, true
		}
		time.Sleep(20 * time.Millisecond)
	}
	var zero T
	return zero, false
}

// showcaseMandates makes the mandates and disputes happen once before
// the traffic, as showcase does the other experiences: a bank customer
// proposes an adhoc mandate to a wallet user, the wallet approves it
// and the biller pulls once; a wallet user pays a user of the other
// wallet twice, and disputes both payments: one accepted, one rejected.
// When the run is long enough, the bank's customer also proposes a
// scheduled (daily) mandate, which the switch executes itself.
func (s *Scenario) showcaseMandates(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*requestTimeout)
	defer cancel()
	peony, bamboo, bank := s.member("peony-pay"), s.member("bamboo-wallet"), s.biller()
	if peony == nil || bamboo == nil || bank == nil || len(peony.aliases) < 3 || len(bamboo.aliases) == 0 || len(bank.users) < 2 {
		return
	}
	if md, ok := s.propose(rctx, bank, bank.users[1], peony.aliases[2], s.major(200), "water", nil); ok {
		s.mandateBook.proposed.Add(1)
		if got, ok := await(rctx, func() (wire.Mandate, bool) { return peony.takeMandate(md.ID) }); ok &&
			s.answerProposal(rctx, peony, got, true) {
			s.mandateBook.pulls.Add(1)
			s.pull(rctx, activeMandate{id: md.ID, biller: bank, payer: peony, max: s.major(200)}, s.major(42))
		}
	}
	if d := s.cfg.Duration; d == 0 || d >= scheduledRunMin {
		sc := &wire.MandateSchedule{Amount: s.major(15).Format(s.currency)}
		if md, ok := s.propose(rctx, bank, bank.users[1], peony.aliases[1], s.major(20), "newspaper", sc); ok {
			if got, ok := await(rctx, func() (wire.Mandate, bool) { return peony.takeMandate(md.ID) }); ok &&
				s.answerProposal(rctx, peony, got, true) {
				s.mandateBook.mu.Lock()
				s.mandateBook.scheduled = &activeMandate{id: md.ID, biller: bank, payer: peony, max: s.major(20)}
				s.mandateBook.mu.Unlock()
			}
		}
	}
	for i, accept := range []bool{true, false} {
		r := peony.Pay(rctx, Payment{From: peony.users[0], Payee: bamboo.aliases[0], Amount: s.major(30) + money.Amount(i)*s.unit,
			Note: "rent share"})
		s.stats.Add(r, false)
		if r.Status != StatusCommitted || !awaitCredit(rctx, bamboo, r.ID) {
			continue
		}
		s.mandateBook.disputes.Add(1)
		s.dispute(rctx, paid{id: r.ID, payer: peony, payee: bamboo, amount: r.Amount}, accept)
	}
}

// finishMandates runs when the traffic has stopped: it decides every
// dispute still open at a simulated payee (accepting it), so that
// nothing stays held for Check; and ends the scheduled mandate — once
// the switch's execution, if it made one, is booked by the payer's
// wallet — so that the switch pulls nothing after the run.
func (s *Scenario) finishMandates(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*requestTimeout)
	defer cancel()
	for _, m := range s.members {
		for {
			d, ok := m.NextDispute()
			if !ok {
				break
			}
			s.decide(rctx, m, d, true)
		}
		open, err := m.OpenDisputes(rctx)
		if err != nil {
			s.stats.Error(fmt.Errorf("open disputes of %s: %w", m.ID(), err))
			continue
		}
		for _, d := range open {
			s.decide(rctx, m, d, true)
		}
	}
	s.mandateBook.mu.Lock()
	sm := s.mandateBook.scheduled
	s.mandateBook.scheduled = nil
	s.mandateBook.mu.Unlock()
	if sm == nil {
		return
	}
	if _, err := sm.biller.API().ActOnMandate(rctx, sm.id, "revoke"); err != nil && !IsProblem(err, ProblemMandateState) {
		s.stats.Error(fmt.Errorf("revoke mandate %s: %w", sm.id, err))
		return
	}
	// Revoked: nothing executes any more. An execution made before is
	// booked by the payer's wallet from its callback (or by Reconcile).
	es, err := sm.biller.API().MandateExecutions(rctx, sm.id)
	if err != nil {
		s.stats.Error(fmt.Errorf("executions of %s: %w", sm.id, err))
		return
	}
	for _, e := range es {
		if !e.Scheduled || e.State != "COMMITTED" {
			continue
		}
		if _, ok := await(rctx, func() (Outgoing, bool) { return sm.payer.Books().Outgoing(e.ID) }); ok {
			s.stats.Experience(XPMandateScheduled)
		}
	}
}
