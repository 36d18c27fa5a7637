package transfer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

// ReturnType is the payee type of a return: its payee value is the
// returned transfer's id.
const ReturnType = "RETURN"

// ReturnPrefix starts the id of a transfer's return: one return per
// transfer, its id ReturnPrefix + the transfer's.
const ReturnPrefix = "return:"

// Errors of returns.
var (
	// ErrReturnAmount means a return of more than the transfer, or of
	// nothing.
	ErrReturnAmount = fault.New(fault.Refused, "return-amount", "a return must be of more than nothing and at most the transfer")
	// ErrNotReturnable means the transfer is not committed, or is a
	// return itself.
	ErrNotReturnable = fault.New(fault.Refused, "not-returnable", "only a committed payment can be returned")
)

// Return pays back, from payee, all or part of a committed payment to
// it: a new payment to the original payer, linked to the original by its
// id (ReturnPrefix + the original's) and its payee (type ReturnType,
// value the original's id). It carries no scheme fee and is not screened
// (risk control screened the original). A transfer is returned once: the
// same return again answers the first (created false), another one is
// ErrConflict. note is the reason, kept as the return's note.
func (s *Service) Return(ctx context.Context, payee participant.Participant, originalID string, amount money.Amount,
	c money.Currency, note string) (Transfer, bool, error) {
	orig, err := s.Get(ctx, Viewer{Participant: payee.ID}, originalID)
	switch {
	case err != nil:
		return Transfer{}, false, err
	case orig.Payee.Participant != payee.ID:
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", originalID, ErrNotPayee)
	case orig.State != Committed || orig.Payee.Type == ReturnType:
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", originalID, ErrNotReturnable)
	case c != orig.Currency:
		return Transfer{}, false, fmt.Errorf("return of %s in %s, not %s: %w", originalID, c, orig.Currency, ErrCurrency)
	case amount <= 0 || amount > orig.Amount:
		return Transfer{}, false, fmt.Errorf("return of %s: %s of %s: %w", originalID, amount.Format(c), orig.Amount.Format(c), ErrReturnAmount)
	case len(note) > NoteMax:
		return Transfer{}, false, fmt.Errorf("%w: the reason must be at most %d bytes", ErrInvalid, NoteMax)
	}
	if payee.Status != participant.Active {
		return Transfer{}, false, fmt.Errorf("participant %s: %w", payee.ID, ErrSuspended)
	}
	payer, ok := s.Participants.Get(orig.Payer)
	if !ok {
		return Transfer{}, false, fmt.Errorf("payer %s: %w", orig.Payer, ErrUnknownParty)
	}
	id := ReturnPrefix + originalID
	if !ValidID(id) {
		return Transfer{}, false, fmt.Errorf("%w: the transfer id is too long to return", ErrInvalid)
	}
	rec := record{ID: id, Payer: payee.ID, PayeeType: ReturnType, PayeeValue: originalID, PayeeParticipant: payer.ID,
		PayeeAccount: orig.PayerAccount, Note: strings.ToValidUTF8(note, "\uFFFD")}
	if rec.PayeeAccount == "" {
		rec.PayeeAccount = "-"
	}
	digest := rec.digest(amount, c)
	legs := []Leg{{Purpose: purpose.Payment, Debit: payee.Account(c), Credit: payer.Account(c), Amount: amount}}
	res, err := s.Journal.Submit(ctx, firstPhase(nil, legs, id, digest, s.meta(&rec), 0))
	if err != nil {
		return Transfer{}, false, fmt.Errorf("return of %s: %w", originalID, err)
	}
	switch st := ledger.ChainStatus(res); st {
	case ledger.StatusOK:
		t := Transfer{ID: id, State: Committed, Payer: payee.ID, Amount: amount, Currency: c, Note: rec.Note,
			Payee:     Payee{Type: ReturnType, Value: originalID, Participant: payer.ID, Account: rec.PayeeAccount},
			CreatedAt: time.Unix(0, res[0].Timestamp).UTC()}
		s.committed(&t)
		return t, true, nil
	case ledger.StatusExists:
		t, err := s.Get(ctx, Viewer{}, id)
		return t, false, err
	default:
		return Transfer{}, false, fmt.Errorf("return of %s: %w", originalID, st.Err())
	}
}
