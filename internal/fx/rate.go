// Package fx owns the arithmetic of cross-currency payments: exact
// exchange rates, conversions that round in the payer's disfavour, the
// FX providers' rate sheets and the choice of the best offer among them,
// the annual FX quota of a payer account, and the ISO 20022 purpose codes
// a cross-currency payment must carry.
//
// The package is pure: no I/O, no storage, no clock. Every function that
// depends on time takes it as an argument, so that a quote, a transfer and
// a test see the same answer for the same inputs.
//
// Money is money.Amount (int64 minor units); a rate is an exact decimal;
// there is no float anywhere. Intermediate products of a conversion are
// computed with math/big, so that no amount money allows and no rate this
// package accepts can overflow them; a result that does not fit in an
// Amount is money.ErrOverflow.
package fx

import (
	"fmt"
	"math/bits"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// The bounds of a rate. A provider's rate has a handful of significant
// digits; the bounds refuse typing accidents while leaving room for the
// weakest currencies (a dinar is worth millions of rials) and for the
// inverse of such rates (a rial in dinars).
const (
	// RateFracDigitsMax is the most decimals a rate may have.
	RateFracDigitsMax = 12
	// RateIntDigitsMax is the most digits of a rate's integer part: a
	// rate is below 10^9.
	RateIntDigitsMax = 9
	// RateSigDigitsMax is the most significant digits of a rate, so that
	// its mantissa is below 10^18 and fits an int64.
	RateSigDigitsMax = 18
)

// ErrRate means a rate is not a positive plain decimal within the bounds.
// The caller refuses the request that carried it as malformed.
var ErrRate = fault.New(fault.Invalid, "", "fx: invalid rate")

// Rate is an exact positive decimal: how many major units of the target
// currency one major unit of the source currency buys ("1.0913" USD per
// EUR). It is m × 10^-scale with m < 10^18 and scale ≤ 12, kept with no
// trailing zero in its decimals, so that equal rates are equal values
// and a Rate may be compared with ==. The zero Rate is not a rate.
type Rate struct {
	m     uint64
	scale uint8
}

// pow10 holds 10^0 … 10^19, the powers a uint64 holds.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// ParseRate reads a rate: digits, optionally a point and 1 to 12 more
// digits ("1.0913", "0.13745", "7.2", "150"). It refuses zero, a sign, an
// exponent, spaces, leading zeros ("07.2"), a bare point (".5", "5."),
// more than 9 integer digits and more than 18 significant digits.
// Trailing zeros are accepted and dropped: "7.20" is the rate "7.2".
func ParseRate(s string) (Rate, error) {
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			if frac == "" {
				return Rate{}, fmt.Errorf("%w %q: no digits after the point", ErrRate, s)
			}
			break
		}
	}
	if !allDigits(intPart) || (frac != "" && !allDigits(frac)) {
		return Rate{}, fmt.Errorf("%w %q: not a plain decimal", ErrRate, s)
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return Rate{}, fmt.Errorf("%w %q: leading zero", ErrRate, s)
	}
	if len(intPart) > RateIntDigitsMax {
		return Rate{}, fmt.Errorf("%w %q: at least 10^%d", ErrRate, s, RateIntDigitsMax)
	}
	if len(frac) > RateFracDigitsMax {
		return Rate{}, fmt.Errorf("%w %q: more than %d decimals", ErrRate, s, RateFracDigitsMax)
	}
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	// At most 9 + 12 = 21 digits: count the significant ones before
	// accumulating, so that the uint64 below cannot overflow.
	digits := intPart + frac
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	if digits == "" {
		return Rate{}, fmt.Errorf("%w %q: zero", ErrRate, s)
	}
	if len(digits) > RateSigDigitsMax {
		return Rate{}, fmt.Errorf("%w %q: more than %d significant digits", ErrRate, s, RateSigDigitsMax)
	}
	var m uint64
	for i := 0; i < len(digits); i++ {
		m = m*10 + uint64(digits[i]-'0')
	}
	return Rate{m: m, scale: uint8(len(frac))}, nil
}

// MustRate is ParseRate for rates written in the source, such as tests;
// it panics on a malformed rate.
func MustRate(s string) Rate {
	r, err := ParseRate(s)
	if err != nil {
		panic(err)
	}
	return r
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Valid reports whether r is a rate (the zero Rate is not), as ParseRate
// makes them.
func (r Rate) Valid() bool {
	if r.m == 0 || r.m >= pow10[RateSigDigitsMax] || r.scale > RateFracDigitsMax || (r.scale > 0 && r.m%10 == 0) {
		return false
	}
	// Below 10^9: m < 10^(9+scale), implied by m < 10^18 from scale 9 on.
	return RateIntDigitsMax+int(r.scale) >= RateSigDigitsMax || r.m < pow10[RateIntDigitsMax+int(r.scale)]
}

// String returns the canonical decimal: no trailing zero in the decimals,
// no point for a whole rate ("7.2", "150", "0.13745"). ParseRate reads it
// back to the same Rate.
func (r Rate) String() string {
	if !r.Valid() {
		return "invalid-rate"
	}
	return money.FormatDecimal(int64(r.m), int(r.scale))
}

// MarshalText encodes the rate as String does; a JSON rate is a string.
func (r Rate) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("marshal: %w: zero", ErrRate)
	}
	return []byte(r.String()), nil
}

// UnmarshalText decodes a rate as ParseRate does.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Cmp compares two rates by value: -1 if r < o, 0 if equal, +1 if r > o.
func (r Rate) Cmp(o Rate) int {
	// r.m×10^o.scale against o.m×10^r.scale: each below 10^18 × 10^12,
	// which a 128-bit product holds.
	rh, rl := bits.Mul64(r.m, pow10[o.scale])
	oh, ol := bits.Mul64(o.m, pow10[r.scale])
	switch {
	case rh != oh:
		return cmpU(rh, oh)
	default:
		return cmpU(rl, ol)
	}
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
