package transfer

import (
	"context"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// FX is the foreign exchange of a payment to a payee in another
// currency: the payer sends SourceAmount (the transfer's Amount) plus
// ProviderFee in SourceCurrency to Provider, who delivers TargetAmount in
// TargetCurrency to the payee, at Rate (target per source), as the quote
// fixed it. Rounding is the exact remainder, in TargetCurrency major
// units, that rounding in the payer's disfavour left to the provider.
type FX struct {
	Provider       string
	SourceAmount   money.Amount
	SourceCurrency money.Currency
	TargetAmount   money.Amount
	TargetCurrency money.Currency
	Rate           fx.Rate
	ProviderFee    money.Amount
	Mode           fx.Mode
	Purpose        string
	Rounding       string
}

// Rates are the FX providers' live rate sheets (*fx.Book).
type Rates interface {
	Live(source, target money.Currency) []fx.Sheet
}

// LiveRates asks the FX providers that quote live (by callback, the
// fx.quote request) for their offers on one exchange, and returns, as
// one-off sheets, those answered within its own deadline. A provider
// that does not answer makes no offer; the sheets compete with the
// published ones.
type LiveRates interface {
	Ask(ctx context.Context, q LiveQuote) []fx.Sheet
}

// LiveQuote is what a live FX quote request tells the providers: the
// exchange and the amount (what the payer sends in Send mode, what the
// payee gets in Receive), not who pays whom.
type LiveQuote struct {
	Source, Target money.Currency
	Amount         money.Amount
	Mode           fx.Mode
	// Exclude are participants that may not make the offer: the payer and
	// the payee, which cannot exchange with themselves.
	Exclude []string
}

// Quota counts FX payments against each payer account's annual FX
// quota (*fx.Usage): Reserve admits value on top of what the account
// used this year and what is in flight, until the payment's fx leg (id)
// is counted durable or release; Used is what the year's durable
// payments used.
type Quota interface {
	Reserve(id ledger.ID, key [16]byte, value money.Amount, now time.Time) (release func(), err error)
	Used(key [16]byte, now time.Time) money.Amount
}

// Received returns what the payee is paid: the FX target for a payment
// in another currency, the transfer's amount otherwise. Code that speaks
// to the payee asks for it, never for Amount.
func (t *Transfer) Received() (money.Amount, money.Currency) {
	if t.FX != nil {
		return t.FX.TargetAmount, t.FX.TargetCurrency
	}
	return t.Amount, t.Currency
}

// Errors of FX payments.
var (
	// ErrFXQuoteRequired means a payment to a payee whose alias is held
	// in another currency than the payer's, without an FX quote: ask
	// POST /v1/quotes first, which prices the exchange.
	ErrFXQuoteRequired = fault.New(fault.Refused, "fx-quote-required", "the payee takes another currency: an FX quote is required")
	// ErrFXPurposeRequired means an FX payment without a payment purpose
	// code, which the regulator's rules require across currencies.
	ErrFXPurposeRequired = fault.New(fault.Refused, "fx-purpose-required", "a payment purpose code is required when the currencies differ")
	// ErrFXLiquidity means the FX provider cannot deliver the target
	// currency now (its balance with its net debit cap): nothing moved;
	// ask for a new quote, which may find another provider.
	ErrFXLiquidity = fault.New(fault.Refused, "fx-provider-insufficient-funds", "the FX provider cannot deliver the target currency now: ask for a new quote")
	// ErrQuoteUsed means an FX quote that another payment used already:
	// an FX quote pays once.
	ErrQuoteUsed = fault.New(fault.Refused, "quote-used", "the FX quote was used by another payment: ask for a new one")
	// ErrNoFXOffer means no FX provider offers the exchange for this
	// amount now.
	ErrNoFXOffer = fault.New(fault.Refused, "fx-unavailable", "no FX provider offers this exchange now")
)
