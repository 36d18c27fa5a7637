package fx

import (
	"fmt"
	"math/big"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// Errors of the annual FX quota.
var (
	// ErrQuota means a quota ("--fx-annual-quota") is not a positive
	// amount followed by a currency code: the switch refuses to start.
	ErrQuota = fault.New(fault.Invalid, "", "fx: invalid quota")
	// ErrQuotaExceeded means the payment, valued in the quota's currency,
	// is more than what remains of the payer account's quota this year:
	// the payment is refused; a smaller one may pass.
	ErrQuotaExceeded = fault.New(fault.Refused, "fx-quota-exceeded", "fx: the payment exceeds the payer account's annual FX quota")
	// ErrNoValuation means no valid rate sheet converts between the
	// payment's currency and the quota's, so the payment cannot be
	// counted against the quota: the payment is refused (the switch does
	// not let a payment escape the quota), until a provider publishes one.
	ErrNoValuation = fault.New(fault.Refused, "fx-no-rate", "fx: no valid rate sheet values the amount in the quota's currency")
)

// quotaLenMax bounds a quota's text.
const quotaLenMax = 40

// Quota is a payer account's allowance of cross-currency payments per
// calendar year, in a reference currency: the sum of the year's payments,
// each valued in Currency when it is made, may not pass Limit (minor
// units). The zero Quota is no quota.
type Quota struct {
	Limit    money.Amount
	Currency money.Currency
}

// ParseQuota reads a quota as the flag gives it: a positive amount in the
// currency's major units, then its ISO 4217 code, with nothing between
// ("50000USD", "2500.50EUR"). The amount follows money.Parse: no sign,
// no exponent, no grouping, no leading zero, at most the currency's
// decimals.
func ParseQuota(s string) (Quota, error) {
	if len(s) < 4 || len(s) > quotaLenMax {
		return Quota{}, fmt.Errorf("%w %q: want an amount and a currency code, as 50000USD", ErrQuota, s)
	}
	amount, code := s[:len(s)-3], s[len(s)-3:]
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return Quota{}, fmt.Errorf("%w %q: %w", ErrQuota, s, err)
	}
	limit, err := money.Parse(amount, cur)
	if err != nil {
		return Quota{}, fmt.Errorf("%w %q: %w", ErrQuota, s, err)
	}
	q := Quota{Limit: limit, Currency: cur}
	if err := q.Validate(); err != nil {
		return Quota{}, fmt.Errorf("%q: %w", s, err)
	}
	return q, nil
}

// Validate checks that the quota's limit is positive, in a known currency.
func (q Quota) Validate() error {
	if q.Limit <= 0 || !q.Currency.Valid() {
		return fmt.Errorf("%w: limit must be positive, in a known currency", ErrQuota)
	}
	return nil
}

// IsZero reports whether q is no quota.
func (q Quota) IsZero() bool { return q == Quota{} }

// String writes the quota as ParseQuota reads it ("50000.00USD"), or ""
// for no quota.
func (q Quota) String() string {
	if q.IsZero() {
		return ""
	}
	return q.Limit.Format(q.Currency) + q.Currency.String()
}

// Set parses s into q, so that a *Quota is a flag.Value.
func (q *Quota) Set(s string) error {
	v, err := ParseQuota(s)
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// Value values amount (minor units of cur) in the quota's currency at the
// providers' rates valid at now, rounded up: a quota never undercounts.
// An amount in the quota's currency is its own value. Otherwise the value
// is the highest any provider would give for the amount: at the highest
// rate of the sheets from cur to the quota's currency, or, if there is
// none, at the lowest rate of the sheets the other way (the amount in the
// quota's currency such a provider would take to deliver it). Sheets'
// limits and fees do not apply: nothing is traded.
//
// It returns ErrAmount for an amount that is not positive, ErrQuota for
// no quota, ErrNoValuation if no valid sheet links the two currencies,
// and money.ErrOverflow if the value does not fit an Amount.
func (q Quota) Value(amount money.Amount, cur money.Currency, sheets []Sheet, now time.Time) (money.Amount, error) {
	switch {
	case q.Validate() != nil:
		return 0, fmt.Errorf("value %d %s: %w", amount, cur, ErrQuota)
	case amount <= 0 || !cur.Valid():
		return 0, fmt.Errorf("value %d %s: %w", amount, cur, ErrAmount)
	case cur == q.Currency:
		return amount, nil
	}
	var direct, inverse Rate
	for _, s := range sheets {
		if s.Validate(now) != nil {
			continue
		}
		switch {
		case s.Source == cur && s.Target == q.Currency:
			if !direct.Valid() || s.Rate.Cmp(direct) > 0 {
				direct = s.Rate
			}
		case s.Source == q.Currency && s.Target == cur:
			if !inverse.Valid() || s.Rate.Cmp(inverse) < 0 {
				inverse = s.Rate
			}
		}
	}
	switch {
	case direct.Valid():
		num, d := sendRatio(amount, cur, q.Currency, direct)
		var v, rem big.Int
		v.QuoRem(num, bigPow10(d), &rem)
		if rem.Sign() != 0 {
			v.Add(&v, bigOne)
		}
		if !v.IsInt64() {
			return 0, fmt.Errorf("value %s %s in %s: %w", amount.Format(cur), cur, q.Currency, money.ErrOverflow)
		}
		return money.Amount(v.Int64()), nil
	case inverse.Valid():
		c, err := Convert(amount, q.Currency, cur, inverse, Receive)
		if err != nil {
			return 0, fmt.Errorf("value %s %s in %s: %w", amount.Format(cur), cur, q.Currency, err)
		}
		return c.Source, nil
	}
	return 0, fmt.Errorf("value %s in %s: %w", cur, q.Currency, ErrNoValuation)
}

// Check returns ErrQuotaExceeded if a payment valued add (in the quota's
// currency) on top of the year's used would pass the limit, nil
// otherwise; no quota admits everything.
func (q Quota) Check(used, add money.Amount) error {
	if q.IsZero() {
		return nil
	}
	total, err := money.Add(used, add)
	if err != nil || total > q.Limit {
		return fmt.Errorf("%s %s with %s used of %s: %w", add.Format(q.Currency), q.Currency,
			used.Format(q.Currency), q.String(), ErrQuotaExceeded)
	}
	return nil
}

// Remaining returns what is left of the quota after used (never negative).
func (q Quota) Remaining(used money.Amount) money.Amount {
	return max(0, q.Limit-max(0, used))
}

// Year returns the calendar year of t in loc as [start, end): a quota's
// window. The year is the one of the scheme's time zone, not UTC's, so
// that a payment at 00:30 on 1 January in Beijing counts in the new year.
// A nil loc is UTC.
func Year(t time.Time, loc *time.Location) (start, end time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	start = time.Date(t.In(loc).Year(), time.January, 1, 0, 0, 0, 0, loc)
	return start, start.AddDate(1, 0, 0)
}
