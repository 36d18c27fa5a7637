package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The scenario's share of issue 16's payment experiences: wallet users
// pay the bank's merchants by QR code, participants' users send bills
// (requests to pay) to users of others, who pay or decline them, and
// payees refund parts of payments they received. They are a few percent
// of the traffic mix, and every one is an ordinary payment in the books
// (see experiences.go), so that Check holds them to the switch like the
// rest.
//
// Each worker's choices follow from the seed, as for the rest of the
// mix; which payment a refund picks and when a bill arrives depend on
// the timing of the other workers and of the switch's callbacks.

// Experiences the scenario counts (Stats.Experience), once each
// succeeded.
const (
	XPQRStatic    = "QR static"     // a static code paid, amount typed by the payer
	XPQRDynamic   = "QR dynamic"    // a dynamic code made by the merchant's participant, decoded, paid
	XPBillSent    = "bill sent"     // a request to pay made
	XPBillPaid    = "bill paid"     // a request to pay accepted and its payment committed
	XPBillDecline = "bill declined" // a request to pay declined by the payer's participant
	XPRefund      = "refund"        // part of a received payment paid back
)

// printCodes makes the static QR code of each of m's merchants: the
// sticker by the till that any payer scans and fills in.
func (s *Scenario) printCodes(ctx context.Context, m *member) error {
	for i := range m.shops {
		sh := &m.shops[i]
		code, err := m.API().CreateQR(ctx, wire.NewQR{Merchant: sh.alias, Currency: s.currency.String()})
		if err != nil {
			return fmt.Errorf("static QR code of %s: %w", sh.alias, err)
		}
		sh.static = code.Payload
	}
	return nil
}

// showcase makes each experience happen once before the traffic starts,
// as probe does each refusal, so that even a short run shows them all: a
// wallet user pays a merchant's static code and a dynamic one; a bank
// customer sends a wallet user two bills, one paid and one declined; the
// merchant refunds part of the dynamic code's payment. A step that does
// not happen (its callback late beyond the bounded wait) is left to the
// traffic.
func (s *Scenario) showcase(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	peony, bank := s.member("peony-pay"), s.member("river-bank")
	if peony == nil || bank == nil || len(s.shops) == 0 || len(peony.aliases) < 2 || len(bank.users) == 0 {
		return
	}
	sh := s.shops[0]
	s.payStatic(rctx, peony, peony.users[0], sh, s.major(25))
	dyn := s.payDynamic(rctx, peony, peony.users[0], sh, s.major(68))
	for i, pay := range []bool{true, false} {
		r, ok := s.sendBillTo(rctx, bank, bank.users[0], peony.aliases[i], s.major(58)+money.Amount(i)*s.unit, "water bill")
		if !ok {
			continue
		}
		if bill, ok := awaitBill(rctx, peony, r.ID); ok {
			s.answer(rctx, peony, bill, pay)
		}
	}
	if dyn.Status == StatusCommitted && awaitCredit(rctx, sh.m, dyn.ID) {
		s.refund(rctx, paid{id: dyn.ID, payee: sh.m, amount: dyn.Amount}, dyn.Amount/3)
	}
}

// showcaseWait bounds the showcase's waits for a callback.
const showcaseWait = 10 * time.Second

// awaitBill waits, bounded, for request to pay id to reach m's inbox,
// and takes it from there.
func awaitBill(ctx context.Context, m *member, id string) (wire.PaymentRequest, bool) {
	deadline := time.Now().Add(showcaseWait)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if r, ok := m.takeBill(id); ok {
			return r, true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return wire.PaymentRequest{}, false
}

// awaitCredit waits, bounded, until m has credited incoming transfer id.
func awaitCredit(ctx context.Context, m *member, id string) bool {
	deadline := time.Now().Add(showcaseWait)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if _, ok := m.Books().Credited(id); ok {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// payAtMerchant: a wallet user pays one of the merchants at the till,
// half the time by its static code (typing the amount), half by a
// dynamic code the merchant's participant makes for the bill.
func (s *Scenario) payAtMerchant(ctx context.Context, rng *rand.Rand) {
	m := s.spender(rng, "wallet")
	if m == nil || len(s.shops) == 0 {
		return
	}
	sh, user := pick(rng, s.shops), pick(rng, m.users)
	if rng.IntN(2) == 0 {
		s.payStatic(ctx, m, user, sh, s.between(rng, 5, 300))
	} else {
		s.payDynamic(ctx, m, user, sh, s.between(rng, 10, 800))
	}
}

// payStatic has user of payer pay amount by sh's static code.
func (s *Scenario) payStatic(ctx context.Context, payer *member, user string, sh merchant, amount money.Amount) Result {
	r, _ := payer.PayQR(ctx, QRPayment{From: user, Payload: sh.static, Amount: amount})
	s.record(r, false)
	if r.Status == StatusCommitted {
		s.stats.Experience(XPQRStatic)
	}
	return r
}

// payDynamic has sh's participant make a dynamic code for amount, and
// user of payer scan and pay it. The payer's wallet shows what the
// switch decoded: it must be the merchant that made the code.
func (s *Scenario) payDynamic(ctx context.Context, payer *member, user string, sh merchant, amount money.Amount) Result {
	c := s.currency
	code, err := sh.m.API().CreateQR(ctx, wire.NewQR{Merchant: sh.alias, Amount: amount.Format(c), Currency: c.String(),
		Reference: fmt.Sprintf("till-%d", s.tills.Add(1))})
	if err != nil {
		s.stats.Error(fmt.Errorf("dynamic QR code of %s: %w", sh.alias, err))
		return Result{}
	}
	r, d := payer.PayQR(ctx, QRPayment{From: user, Payload: code.Payload})
	if r.Err == nil && r.Status != StatusRefused && (d.Merchant.ID != sh.alias || !d.Dynamic || d.Amount != code.Amount) {
		r.Err = fmt.Errorf("QR code %s decoded as %+v", code.ID, d)
	}
	s.record(r, false)
	if r.Status == StatusCommitted {
		s.stats.Experience(XPQRDynamic)
	}
	return r
}

// sendBill: a bank customer bills a user of another participant (a
// utility's bill), or a wallet user asks another to pay their share of
// a dinner.
func (s *Scenario) sendBill(ctx context.Context, rng *rand.Rand) {
	m, msg := s.member("river-bank"), "electricity bill"
	if rng.IntN(2) == 0 {
		m, msg = s.spender(rng, "wallet"), "dinner, your share"
	}
	if m == nil || len(m.users) == 0 {
		return
	}
	ref, ok := payee(rng, s.all, m)
	if !ok {
		return
	}
	s.sendBillTo(ctx, m, pick(rng, m.users), ref, s.between(rng, 10, 500), msg)
}

// sendBillTo has user of m ask the holder of alias payer for amount.
func (s *Scenario) sendBillTo(ctx context.Context, m *member, user string, payer wire.PayeeRef, amount money.Amount,
	msg string) (wire.PaymentRequest, bool) {
	r, err := m.RequestPayment(ctx, user, payer, amount, msg)
	switch {
	case err == nil:
		s.stats.Experience(XPBillSent)
		return r, true
	case IsProblem(err, "payment-request-limit"):
		// The payer has many bills pending already: the switch
		// protects its users from being spammed.
	default:
		s.stats.Error(err)
	}
	return r, false
}

// answerBill: a user answers the oldest bill waiting at one of the
// participants: nine in ten pay it, the rest decline.
func (s *Scenario) answerBill(ctx context.Context, rng *rand.Rand) {
	start := rng.IntN(len(s.members))
	for k := range s.members {
		m := s.members[(start+k)%len(s.members)]
		if bill, ok := m.NextBill(); ok {
			s.answer(ctx, m, bill, rng.IntN(10) != 0)
			return
		}
	}
}

// answer has m pay bill, or decline it; a bill its user cannot pay (the
// books decline it) is declined too.
func (s *Scenario) answer(ctx context.Context, m *member, bill wire.PaymentRequest, pay bool) {
	reason := "not mine"
	if pay {
		r := m.PayBill(ctx, bill)
		s.record(r, false)
		switch {
		case r.Status == StatusCommitted:
			s.stats.Experience(XPBillPaid)
			return
		case r.Status != StatusDeclined:
			// Refused or aborted: the request is pending again, and
			// expires unless someone pays it.
			return
		}
		reason = "balance too low"
	}
	if err := m.DeclineBill(ctx, bill, reason); err != nil {
		if !IsProblem(err, ProblemRequestNotPending) && !IsProblem(err, "payment-request-expired") {
			s.stats.Error(err)
		}
		return
	}
	s.stats.Experience(XPBillDecline)
}

// refundSome: a payee pays back part of a payment it received lately
// (a dish that never came, a returned book): at most half of it.
func (s *Scenario) refundSome(ctx context.Context, rng *rand.Rand) {
	p, ok := s.recent.take(rng)
	if !ok {
		return
	}
	s.refund(ctx, p, 1+money.Amount(rng.Int64N(int64(max(p.amount/2, 1)))))
}

// refund has p's payee pay amount of it back.
func (s *Scenario) refund(ctx context.Context, p paid, amount money.Amount) {
	r := p.payee.Refund(ctx, p.id, amount, "returned")
	if r.Status == StatusDeclined && r.Problem == "not credited" {
		// Its notification has not come yet, or its account is
		// closed: no user of the payee has the money to pay back.
		return
	}
	s.record(r, false)
	if r.Status == StatusCommitted {
		s.stats.Experience(XPRefund)
	}
}

// refundable says whether a payment to payee type typ may be refunded by
// the scenario: one to an alias or a merchant, not itself a refund, nor
// the payment of a request to pay (which names no paying user).
func refundable(typ string) bool { return typ != "REFUND" && typ != "ACCOUNT" }

// paid is a committed payment to a simulated participant.
type paid struct {
	id     string
	payer  *member // nil if not simulated
	payee  *member
	amount money.Amount
}

// recentPayments keeps the last committed payments, from which
// refundSome picks; its memory is fixed.
type recentPayments struct {
	mu   sync.Mutex
	ring [256]paid
	n    int
}

// add keeps p, forgetting the oldest kept if need be.
func (r *recentPayments) add(p paid) {
	r.mu.Lock()
	r.ring[r.n%len(r.ring)] = p
	r.n++
	r.mu.Unlock()
}

// take removes and returns a random kept payment: each is refunded or
// disputed at most once by the scenario.
func (r *recentPayments) take(rng *rand.Rand) (paid, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return paid{}, false
	}
	i := rng.IntN(min(r.n, len(r.ring)))
	p := r.ring[i]
	r.ring[i] = paid{}
	return p, p.id != ""
}
