package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/participant"
)

// Two-phase payments as explicit steps: Prepare reserves and hands the
// payee the request; Fulfil or Reject, keyed by the transfer id and
// coming from the payee, commit or abort every leg as one. The
// reservation's expiry is the deadline, which the ledger enforces: an
// answer after it finds the reservation released.

// Prepare reserves one payment until expires and hands it to its payee
// through the Offerer: the first step of a payment that the payee ends
// later with Fulfil or Reject. The transfer is RESERVED, or ABORTED if
// the payee could not be reached; created is false for a retry.
func (s *Service) Prepare(ctx context.Context, payer participant.Participant, req Request, expires time.Time) (Transfer, bool, error) {
	out := s.PrepareMany(ctx, payer, []Request{req}, expires)
	return out[0].Transfer, out[0].Created, out[0].Err
}

// PrepareMany is Prepare for up to BatchMax payments of one payer, in
// one ledger submission; each gets its own outcome.
func (s *Service) PrepareMany(ctx context.Context, payer participant.Participant, reqs []Request, expires time.Time) []Outcome {
	b := s.newBatch(payer, reqs, modePrepare)
	if b == nil {
		return refuseAll(len(reqs), fmt.Errorf("%w: at most %d transfers per batch", ErrInvalid, BatchMax))
	}
	b.expires = expires
	s.run(ctx, b)
	s.observe(b.out)
	return b.out
}

// reservePrepared makes a prepared payment's reservation last until the
// batch's expiry.
func (s *Service) reservePrepared(b *batch, p *payment) error {
	if p.rec.Held {
		return nil // reserved for the review, and offered only if released
	}
	d := b.expires.Sub(s.Now())
	switch {
	case d <= 0:
		return fmt.Errorf("transfer %s: its expiration has passed: %w", p.rec.ID, ErrExpired)
	case d > ledger.TimeoutMax:
		return fmt.Errorf("%w: expiration more than %v ahead", ErrInvalid, ledger.TimeoutMax)
	}
	p.timeout = d
	return nil
}

// Fulfil commits a reserved transfer on its payee's word. Fulfilling a
// committed transfer again returns it (created false); a transfer aborted
// or expired meanwhile is ErrFinished or ErrExpired, with the transfer.
func (s *Service) Fulfil(ctx context.Context, payee participant.Participant, id string) (Transfer, bool, error) {
	return s.decide(ctx, payee, id, commit, "")
}

// Reject aborts a reserved transfer on its payee's word, with its reason
// (at most ReasonMax bytes are kept). Rejecting an aborted transfer again
// returns it; a committed or expired one is ErrFinished or ErrExpired.
func (s *Service) Reject(ctx context.Context, payee participant.Participant, id, reason string) (Transfer, bool, error) {
	return s.decide(ctx, payee, id, abort, rejection(reason))
}

// ReasonMax bounds what is kept of a payee's reason for a rejection.
const ReasonMax = 200

// rejection is how a payee's rejection is recorded: "rejected: " and its
// reason, bounded.
func rejection(reason string) string { return "rejected: " + bounded(reason) }

// bounded is a payee's text as the ledger keeps it: made valid UTF-8 and
// cut to ReasonMax bytes at a character boundary, so that it can always
// be read back.
func bounded(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > ReasonMax {
		cut := ReasonMax
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// FulfilWith is Fulfil that keeps the payee's proof of the commit with it
// (an FSPIOP fulfilment), bounded as a reason is: the commit and its proof
// are durable together, and Proof reads it back.
func (s *Service) FulfilWith(ctx context.Context, payee participant.Participant, id, proof string) (Transfer, bool, error) {
	return s.decide(ctx, payee, id, commit, bounded(proof))
}

// Proof returns the proof kept with a committed transfer's commit ("" for
// none, or a transfer posted at once), or ErrNotFound.
func (s *Service) Proof(ctx context.Context, id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("transfer %q: %w", id, ErrNotFound)
	}
	jt, err := s.Journal.Transfer(ctx, ledgerID(phaseName(paymentLeg, commit), id))
	if errors.Is(err, journal.ErrNotFound) {
		return "", fmt.Errorf("transfer %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("transfer %s: %w", id, err)
	}
	return jt.Meta, nil
}

// decide ends a reserved transfer of payee's one way or the other.
func (s *Service) decide(ctx context.Context, payee participant.Participant, id string, ph phase, reason string) (Transfer, bool, error) {
	jt, t, err := s.lookup(ctx, id)
	if err != nil {
		return Transfer{}, false, err
	}
	if t.Payee.Participant != payee.ID {
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", id, ErrNotPayee)
	}
	if t.State == Held {
		return t, false, fmt.Errorf("transfer %s: %w", id, ErrHeld)
	}
	if payee.Status != participant.Active {
		return Transfer{}, false, fmt.Errorf("payee participant %s: %w", payee.ID, ErrSuspended)
	}
	return s.end(ctx, &jt, t, payee, ph, reason, false)
}

// end ends the reserved transfer jt (t as participants see it) the way
// ph says, unless it ended already: one second phase of all its legs.
// With ask, a confirm-mode payee is asked first, and its refusal aborts.
func (s *Service) end(ctx context.Context, jt *journal.Transfer, t Transfer, payee participant.Participant,
	ph phase, reason string, ask bool) (Transfer, bool, error) {
	id := t.ID
	if done, err := alreadyDecided(jt.State, ph); done || err != nil {
		if err != nil {
			err = fmt.Errorf("transfer %s: %w", id, err)
		}
		return t, false, err
	}
	legs, err := s.storedLegs(ctx, &jt.Event)
	if err != nil {
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", id, err)
	}
	b := &batch{items: []payment{{rec: record{ID: id}, payee: &payee, legs: legs, timeout: jt.Timeout,
		decided: true, ph: ph, reason: reason}}, out: []Outcome{{Transfer: t}}}
	if ask && ph == commit && payee.Confirms() {
		b.out[0].Transfer.State = Reserved // as the payee is asked
		b.items[0].decided = false
		s.confirm(ctx, b)
	}
	s.finish(ctx, b)
	o, p := b.out[0], &b.items[0]
	switch {
	case o.Err != nil:
	case p.expired:
		o.Err = fmt.Errorf("transfer %s: %w", id, ErrExpired)
	case p.lost:
		o.Err = fmt.Errorf("transfer %s: %w", id, ErrFinished)
	}
	s.decided(&o)
	return o.Transfer, o.Created, o.Err
}

// alreadyDecided says whether a transfer in state st needs no second
// phase to be ended the way ph asks (done), or cannot be (err).
func alreadyDecided(st ledger.TransferState, ph phase) (done bool, err error) {
	switch st {
	case ledger.StatePending:
		return false, nil
	case ledger.StatePosted:
		return false, ErrNotTwoPhase
	case ledger.StateExpired:
		return false, ErrExpired
	case ledger.StateCommitted:
		if ph == commit {
			return true, nil
		}
	case ledger.StateAborted:
		if ph == abort {
			return true, nil
		}
	}
	return false, ErrFinished
}

// finish commits or aborts, in one ledger submission, every reservation
// that has its payee's decision, and answers each.
func (s *Service) finish(ctx context.Context, b *batch) {
	// The second phase must not be lost to a caller who hung up.
	ctx = context.WithoutCancel(ctx)
	s.submit(ctx, b, "second phase: ", func(p *payment) bool { return !p.done && p.decided },
		func(cmds []ledger.Command, p *payment) []ledger.Command {
			return secondPhase(cmds, p.legs, p.rec.ID, p.ph, p.reason)
		},
		func(i int, res []ledger.Result) { s.finished(ctx, b, i, res) })
}

// finished answers payment i from the results of its second phase. If
// another answer or the expiry came first, the stored transfer is the
// answer: whoever asked learns what happened, and p.lost says it was not
// what it asked for.
func (s *Service) finished(ctx context.Context, b *batch, i int, res []ledger.Result) {
	p := &b.items[i]
	st := ledger.ChainStatus(res)
	switch st {
	case ledger.StatusOK:
		t := b.out[i].Transfer
		if p.ph == commit {
			t.State, t.Reason = Committed, ""
			s.committed(&t)
		} else {
			t.State, t.Reason = Aborted, p.reason
		}
		b.answer(i, &t, true)
		return
	case ledger.StatusExists, ledger.StatusPendingCommitted, ledger.StatusPendingAborted, ledger.StatusPendingExpired:
	default:
		b.refuse(i, fmt.Errorf("transfer %s: second phase: %w", p.rec.ID, st.Err()))
		return
	}
	_, t, err := s.lookup(ctx, p.rec.ID)
	if err != nil {
		b.refuse(i, err)
		return
	}
	asked := Aborted
	if p.ph == commit {
		asked = Committed
	}
	p.expired = st == ledger.StatusPendingExpired
	p.lost = t.State != asked || p.expired
	b.answer(i, &t, b.out[i].Created)
}

// ErrHeld means a payee's answer to a transfer that risk control holds
// for review: only the operator decides it.
var ErrHeld = fault.New(fault.Conflict, "transfer-held", "the transfer is held for review")

// ErrNotHeld means a review decision on a transfer that risk control did
// not hold: fault.Conflict.
var ErrNotHeld = fault.New(fault.Conflict, "transfer-not-held", "the transfer is not held for review")

// Release commits a payment held for review, on the operator's decision.
// A confirm-mode payee is asked first, as it would have been without the
// hold, and its refusal aborts the payment. Releasing a payment
// committed already returns it (created false); one aborted or expired
// meanwhile is ErrFinished or ErrExpired, with the transfer.
func (s *Service) Release(ctx context.Context, id string) (Transfer, bool, error) {
	return s.review(ctx, id, commit, "")
}

// Refuse aborts a payment held for review, on the operator's decision,
// with the operator's note as its reason ("risk-rejected: " and at most
// ReasonMax bytes of the note).
func (s *Service) Refuse(ctx context.Context, id, note string) (Transfer, bool, error) {
	return s.review(ctx, id, abort, "risk-"+rejection(note))
}

// review ends a held payment one way or the other.
func (s *Service) review(ctx context.Context, id string, ph phase, reason string) (Transfer, bool, error) {
	jt, t, err := s.lookup(ctx, id)
	if err != nil {
		return Transfer{}, false, err
	}
	if !t.held {
		return t, false, fmt.Errorf("transfer %s: %w", id, ErrNotHeld)
	}
	payee, ok := s.Participants.Get(t.Payee.Participant)
	if ph == commit && jt.State == ledger.StatePending && (!ok || payee.Status != participant.Active) {
		return t, false, fmt.Errorf("payee participant %s: %w", t.Payee.Participant, ErrSuspended)
	}
	return s.end(ctx, &jt, t, payee, ph, reason, true)
}
