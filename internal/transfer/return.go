package transfer

import (
	"context"
	"fmt"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
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
// value the original's id). It carries no scheme fee. A transfer is
// returned once: the same return again answers the first (created
// false), another one is ErrConflict. Returns and refunds together never
// pay back more than the payment (ErrRefundExceeds). note is the reason,
// kept as the return's note.
func (s *Service) Return(ctx context.Context, payee participant.Participant, originalID string, amount money.Amount,
	c money.Currency, note string) (Transfer, bool, error) {
	orig, err := s.payable(ctx, payee, originalID)
	switch {
	case err != nil:
		return Transfer{}, false, err
	case c != orig.Currency:
		return Transfer{}, false, fmt.Errorf("return of %s in %s, not %s: %w", originalID, c, orig.Currency, ErrCurrency)
	case amount <= 0 || amount > orig.Amount:
		return Transfer{}, false, fmt.Errorf("return of %s: %s of %s: %w", originalID, amount.Format(c), orig.Amount.Format(c), ErrReturnAmount)
	}
	id := ReturnPrefix + originalID
	if !ValidID(id) {
		return Transfer{}, false, fmt.Errorf("%w: the transfer id is too long to return", ErrInvalid)
	}
	return s.payBack(ctx, payee, &orig, id, ReturnType, amount, note)
}
