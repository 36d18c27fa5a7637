package transfer

import (
	"context"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
)

// Screening is what a Screener sees of a payment before it is priced and
// posted: who pays whom, how much, and the payer's note. Payer and Payee
// are the registry's entries; a Screener must not change them.
type Screening struct {
	ID           string
	Payer        *participant.Participant
	Payee        *participant.Participant
	PayeeType    string
	PayeeValue   string // normalised
	PayeeAccount string // the payee participant's reference of its user
	Amount       money.Amount
	Currency     money.Currency
	Note         string
	// PayerAccount and Factors are what the payer wallet said of its
	// user; At is when the payment was screened.
	PayerAccount string
	Factors      FactorSet
	At           time.Time
	// Prospective screens what a payment would be — a request to pay, a
	// mandate's proposal — rather than one being made: the Screener may
	// decline it, but holds nothing. ID then names what is screened
	// ("payment-request/…", "mandate/…"), never a transfer.
	Prospective bool
}

// Verdict is a Screener's answer for a payment it does not refuse.
type Verdict struct {
	// Hold reserves the payment for the operator's review (state HELD)
	// rather than posting it.
	Hold bool
}

// Screener decides whether a payment may go ahead: the risk engine
// implements it. It is called once per payment, from many goroutines at
// once, on the request's path, so it must be fast; an error refuses that
// payment alone. Wrap ErrScreened, or return an error of a fault kind
// that says what went wrong.
type Screener interface {
	Screen(ctx context.Context, s *Screening) (Verdict, error)
}

// Learner is told of every payment committed, once, after the ledger
// has it: the risk engine learns what is normal from them. It is called
// on the request's path and must not block.
type Learner interface {
	Learn(t *Transfer)
}

// ErrScreened means a Screener refused the payment.
var ErrScreened = fault.New(fault.Refused, "risk-refused", "refused by risk control")

// AllowAll is the Screener that allows every payment: the switch's until
// a risk engine is configured.
type AllowAll struct{}

// Screen allows s.
func (AllowAll) Screen(context.Context, *Screening) (Verdict, error) { return Verdict{}, nil }

// ScreenerFunc adapts a function to a Screener.
type ScreenerFunc func(ctx context.Context, s *Screening) (Verdict, error)

// Screen calls f.
func (f ScreenerFunc) Screen(ctx context.Context, s *Screening) (Verdict, error) { return f(ctx, s) }
