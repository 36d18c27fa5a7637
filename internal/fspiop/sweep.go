package fspiop

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/transfer"
)

// sweepEvery is how often sweep looks at the open payments.
const sweepEvery = time.Second

// sweepMax bounds the open payments one sweep looks at.
const sweepMax = 1000

// lostAfter is how long after its deadline a payment the ledger never
// recorded (the switch died between storing it and reserving it) is
// written off.
const lostAfter = time.Minute

// sweep, until ctx ends, tells the FSPIOP participants of the payments
// the ledger decided without them asking: reservations that expired,
// payments held for review and then released or rejected, payees that
// answered RESERVED and wait for the PATCH of the commit. It also
// forgets old quotes.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.sweepOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("fspiop: sweep open payments", "err", err)
		}
		if n%3600 == 0 {
			if _, err := s.store.pruneQuotes(ctx, s.Now().Add(-quoteExpiry)); err != nil && ctx.Err() == nil {
				s.Log.Error("fspiop: prune quotes", "err", err)
			}
		}
	}
}

// sweepOnce looks at the open payments once.
func (s *Server) sweepOnce(ctx context.Context) error {
	now := s.Now()
	ps, err := s.store.open(ctx, now.Add(transferHorizon), sweepMax)
	if err != nil {
		return err
	}
	for i := range ps {
		if err := s.reconcile(ctx, &ps[i], now); err != nil {
			return err
		}
	}
	return nil
}

// reconcile brings an open payment up to what the ledger decided, and
// tells its FSPIOP parties: unless a native payment still waits for its
// payee (Confirm decides it then).
func (s *Server) reconcile(ctx context.Context, p *payment, now time.Time) error {
	if p.State != stateReserved || s.waiting(p) {
		return nil
	}
	t, err := s.Transfers.Get(ctx, transfer.Viewer{}, p.TransferID)
	if errors.Is(err, transfer.ErrNotFound) {
		if now.After(p.Expires.Add(lostAfter)) && s.finish(ctx, p, stateAborted, "") {
			s.tellAborted(ctx, p, "expired")
		}
		return nil
	}
	if err != nil {
		return err
	}
	switch t.State {
	case transfer.Committed:
		if p.Fulfilment == "" {
			// Kept with the commit (FulfilWith, or a Confirm's acceptance).
			if p.Fulfilment, err = s.Transfers.Proof(ctx, p.TransferID); err != nil {
				return err
			}
		}
		if p.Fulfilment == "" {
			// The payee's answer is being recorded by the request that
			// committed it: that request tells the parties. Read again,
			// and leave it to that request unless it is long overdue.
			q, found, err := s.store.get(ctx, p.ID)
			if err != nil {
				return err
			}
			if found && (q.State != stateReserved || q.Fulfilment != "") {
				*p = q
				return nil
			}
			if !now.After(p.Expires.Add(lostAfter)) {
				return nil
			}
		}
		if s.finish(ctx, p, stateCommitted, p.Fulfilment) {
			s.tellCommitted(ctx, p)
		}
	case transfer.Aborted:
		if s.finish(ctx, p, stateAborted, "") {
			s.tellAborted(ctx, p, t.Reason)
		}
	}
	return nil
}

// transferHorizon is how far ahead of now sweep looks at deadlines: a
// held payment's reservation lasts the review timeout, up to the
// ledger's longest.
const transferHorizon = 30 * 24 * time.Hour

// waiting reports whether a native payment is still waiting for p's
// payee (Confirm decides it, not sweep).
func (s *Server) waiting(p *payment) bool {
	payee, _ := s.Participants.Get(p.Payee)
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	return len(s.waits[waitKey("transfers", p.Payee, sourceAt(payee, p.Payer), transferPath(p.ID))]) > 0
}

// tellCommitted sends the FSPIOP parties of a committed payment what
// they are owed: the payer its fulfilment, a payee that answered
// RESERVED its PATCH.
func (s *Server) tellCommitted(ctx context.Context, p *payment) {
	if payer, ok := s.Participants.Get(p.Payer); ok && payer.FSPIOP != nil {
		s.sendState(ctx, payer, p, "1.1")
	}
	if payee, ok := s.Participants.Get(p.Payee); ok && payee.FSPIOP != nil && p.Patch {
		s.sendJSON(ctx, payee, http.MethodPatch, transferPath(p.ID), "transfers", "1.1", s.cfg.HubID,
			msg.TransfersPatch{CompletedTimestamp: msg.FormatDateTime(p.Completed), TransferState: stateCommitted})
	}
}

// tellAborted sends the FSPIOP parties of an aborted payment its error
// (a payee that answered RESERVED a PATCH ABORTED instead).
func (s *Server) tellAborted(ctx context.Context, p *payment, reason string) {
	e := abortError(reason)
	if payer, ok := s.Participants.Get(p.Payer); ok && payer.FSPIOP != nil {
		s.sendError(ctx, payer, transferPath(p.ID), "transfers", "1.1", s.cfg.HubID, e)
	}
	payee, ok := s.Participants.Get(p.Payee)
	switch {
	case !ok || payee.FSPIOP == nil:
	case isLink(payee) && !p.Patch:
		// The far scheme is the payer's side there: it ends the payment
		// by its expiration, and takes no error from its payee.
	case p.Patch:
		s.sendJSON(ctx, payee, http.MethodPatch, transferPath(p.ID), "transfers", "1.1", s.cfg.HubID,
			msg.TransfersPatch{CompletedTimestamp: msg.FormatDateTime(p.Completed), TransferState: stateAborted})
	default:
		s.sendError(ctx, payee, transferPath(p.ID), "transfers", "1.1", s.cfg.HubID, e)
	}
}
