package fx

import (
	"fmt"
	"math/bits"
	"sort"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// ProviderLenMax bounds a provider's id, in bytes.
const ProviderLenMax = 64

// Errors of rate sheets and offers.
var (
	// ErrSheet means a rate sheet is malformed: the provider's publication
	// is refused as invalid.
	ErrSheet = fault.New(fault.Invalid, "", "fx: invalid rate sheet")
	// ErrExpired means a rate sheet's validity has passed: a publication
	// is refused as invalid, a stored sheet is no longer offered.
	ErrExpired = fault.New(fault.Invalid, "", "fx: rate sheet expired")
	// ErrNoOffer means no valid sheet converts the amount between the two
	// currencies (none for the pair, or none whose limits admit the
	// amount): the caller refuses the quote; the payer may try another
	// amount or later.
	ErrNoOffer = fault.New(fault.Refused, "fx-no-offer", "fx: no provider offers this conversion")
)

// Sheet is an FX provider's published offer for one currency pair: it
// converts Source to Target at Rate (target per source), for source
// amounts from Min to Max (source minor units, the provider fee excluded;
// Max zero means no maximum), charging Fee, until ValidUntil (exclusive).
// A provider has at most one sheet per pair; publishing replaces it (the
// lead's storage holds that rule).
type Sheet struct {
	Provider   string
	Source     money.Currency
	Target     money.Currency
	Rate       Rate
	ValidUntil time.Time
	Min        money.Amount
	Max        money.Amount
	Fee        Fee
}

// Validate checks the sheet at now: a provider id, two different known
// currencies, a rate, limits and a fee that make sense (ErrSheet), and a
// validity that has not passed (ErrExpired).
func (s Sheet) Validate(now time.Time) error {
	switch {
	case s.Provider == "" || len(s.Provider) > ProviderLenMax:
		return fmt.Errorf("%w: provider id must be 1 to %d bytes", ErrSheet, ProviderLenMax)
	case !s.Source.Valid() || !s.Target.Valid():
		return fmt.Errorf("%w: unknown currency", ErrSheet)
	case s.Source == s.Target:
		return fmt.Errorf("%w: source and target are both %s", ErrSheet, s.Source)
	case !s.Rate.Valid():
		return fmt.Errorf("%w: %w", ErrSheet, ErrRate)
	case s.Min < 0 || s.Max < 0 || (s.Max != 0 && s.Max < s.Min):
		return fmt.Errorf("%w: limits %d to %d", ErrSheet, s.Min, s.Max)
	}
	if err := s.Fee.Validate(); err != nil {
		return err
	}
	if !s.Live(now) {
		return fmt.Errorf("%s %s→%s valid until %s: %w", s.Provider, s.Source, s.Target, s.ValidUntil.Format(time.RFC3339), ErrExpired)
	}
	return nil
}

// Live reports whether the sheet's validity has not passed at now.
func (s Sheet) Live(now time.Time) bool { return now.Before(s.ValidUntil) }

// admits reports whether a source amount is within the sheet's limits.
func (s Sheet) admits(source money.Amount) bool {
	return source >= s.Min && (s.Max == 0 || source <= s.Max)
}

// Offer is a provider's conversion of one amount, as a quote states it:
// the payer sends SourceAmount (converted) plus ProviderFee (both in
// SourceCurrency), the payee gets TargetAmount. Rounding is the exact
// value, in TargetCurrency major units, the provider keeps from rounding
// (Conversion.Rounding). ValidUntil is the sheet's: a quote that locks
// the rate should not outlive it.
type Offer struct {
	Provider       string
	Mode           Mode
	SourceAmount   money.Amount
	SourceCurrency money.Currency
	TargetAmount   money.Amount
	TargetCurrency money.Currency
	Rate           Rate
	ProviderFee    money.Amount
	Rounding       string
	ValidUntil     time.Time
}

// Conversion returns the offer's conversion, to recompute or re-check it.
func (o Offer) Conversion() Conversion {
	return Conversion{Mode: o.Mode, Source: o.SourceAmount, SourceCurrency: o.SourceCurrency,
		Target: o.TargetAmount, TargetCurrency: o.TargetCurrency, Rate: o.Rate}
}

// Total returns what the payer pays for the conversion: SourceAmount +
// ProviderFee (Offers only makes offers whose total fits an Amount).
func (o Offer) Total() money.Amount { return o.SourceAmount + o.ProviderFee }

// Best returns the best offer of the sheets for amount (source minor units
// in Send, target minor units in Receive) from source to target at now,
// or false if no sheet makes one. See Offers for which sheets make an
// offer and how offers rank.
func Best(sheets []Sheet, source, target money.Currency, amount money.Amount, mode Mode, now time.Time) (Offer, bool) {
	offers := candidates(sheets, source, target, amount, mode, now)
	if len(offers) == 0 {
		return Offer{}, false
	}
	best := 0
	for i := 1; i < len(offers); i++ {
		if better(offers[i], offers[best]) {
			best = i
		}
	}
	o := offers[best]
	o.Rounding = o.Conversion().Rounding()
	return o, true
}

// Offers returns every offer the sheets make for amount from source to
// target at now, best first.
//
// A sheet makes an offer if it is for the pair, passes Validate at now,
// converts the amount (Convert), admits the source amount within its
// limits (in Receive, the computed source amount) and its fee and the
// payer's total fit an Amount. Sheets that do not are skipped.
//
// The best offer gives the payee the most target per unit of what the
// payer pays in all, TargetAmount / (SourceAmount + ProviderFee): in Send
// (same SourceAmount) the most target net of fees, in Receive (same
// TargetAmount) the least total cost. Ties go to the smaller provider id,
// then to the later ValidUntil, then to the earlier sheet in sheets.
func Offers(sheets []Sheet, source, target money.Currency, amount money.Amount, mode Mode, now time.Time) []Offer {
	offers := candidates(sheets, source, target, amount, mode, now)
	sort.SliceStable(offers, func(i, j int) bool { return better(offers[i], offers[j]) })
	for i := range offers {
		offers[i].Rounding = offers[i].Conversion().Rounding()
	}
	return offers
}

// candidates returns the offers of the sheets, in the sheets' order,
// without their Rounding (costly, and needed only for those returned).
func candidates(sheets []Sheet, source, target money.Currency, amount money.Amount, mode Mode, now time.Time) []Offer {
	var out []Offer
	for _, s := range sheets {
		if s.Source != source || s.Target != target || s.Validate(now) != nil {
			continue
		}
		c, err := Convert(amount, source, target, s.Rate, mode)
		if err != nil || !s.admits(c.Source) {
			continue
		}
		fee, err := s.Fee.Of(c.Source)
		if err != nil {
			continue
		}
		if _, err := money.Add(c.Source, fee); err != nil {
			continue
		}
		out = append(out, Offer{Provider: s.Provider, Mode: mode, SourceAmount: c.Source, SourceCurrency: source,
			TargetAmount: c.Target, TargetCurrency: target, Rate: s.Rate, ProviderFee: fee, ValidUntil: s.ValidUntil})
	}
	return out
}

// better reports whether a ranks before b (Offers' order).
func better(a, b Offer) bool {
	// a.T / a.total > b.T / b.total ⇔ a.T × b.total > b.T × a.total; all
	// four are positive Amounts, so each product fits 128 bits.
	ah, al := bits.Mul64(uint64(a.TargetAmount), uint64(b.Total()))
	bh, bl := bits.Mul64(uint64(b.TargetAmount), uint64(a.Total()))
	if ah != bh {
		return ah > bh
	}
	if al != bl {
		return al > bl
	}
	if a.Provider != b.Provider {
		return a.Provider < b.Provider
	}
	return a.ValidUntil.After(b.ValidUntil)
}
