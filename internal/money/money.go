// Package money owns the representation of money in Hulian: an Amount is
// an int64 count of a currency's minor units, a Currency is an ISO 4217
// currency with its exponent. Amounts cross the wire only as decimal
// strings in the major unit ("100.00"); there is no float anywhere.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"

	"github.com/hulian/hulian/internal/fault"
)

// Currency is an ISO 4217 currency, held as its numeric code (CNY = 156).
// The zero Currency is not a currency.
type Currency uint16

// Amount is a count of minor units of some currency (fen for CNY, cents
// for USD). It carries no currency of its own: the currency travels beside
// it, as in a ledger account or a transfer.
type Amount int64

// Errors of parsing and arithmetic. Callers that turn them into refusals
// branch on these with errors.Is.
var (
	// ErrUnknownCurrency means the code is not an active ISO 4217 currency.
	ErrUnknownCurrency = fault.New(fault.Invalid, "", "unknown currency")
	// ErrSyntax means the text is not a plain decimal number.
	ErrSyntax = fault.New(fault.Invalid, "", "not a decimal amount")
	// ErrPrecision means the text has more decimals than the currency's exponent.
	ErrPrecision = fault.New(fault.Invalid, "", "too many decimals for the currency")
	// ErrOverflow means the result does not fit in an int64 of minor units.
	ErrOverflow = fault.New(fault.Invalid, "", "amount out of range")
)

var (
	byCode    = map[string]Currency{}
	codeOf    = map[Currency]string{}
	exponents = map[Currency]uint8{}
)

func init() {
	for _, c := range iso4217 {
		cur := Currency(c.numeric)
		if _, dup := codeOf[cur]; dup || byCode[c.code] != 0 {
			panic("money: duplicate ISO 4217 entry " + c.code)
		}
		byCode[c.code] = cur
		codeOf[cur] = c.code
		exponents[cur] = c.exponent
	}
}

// ParseCurrency returns the currency of an alphabetic ISO 4217 code such
// as "CNY". Codes are upper case; anything else is ErrUnknownCurrency.
func ParseCurrency(code string) (Currency, error) {
	if c, ok := byCode[code]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("%q: %w", code, ErrUnknownCurrency)
}

// MustCurrency is ParseCurrency for codes written in the source, such as
// tests and defaults; it panics on an unknown code.
func MustCurrency(code string) Currency {
	c, err := ParseCurrency(code)
	if err != nil {
		panic(err)
	}
	return c
}

// Valid reports whether c is an active ISO 4217 currency.
func (c Currency) Valid() bool {
	_, ok := codeOf[c]
	return ok
}

// String returns the alphabetic code ("CNY"), or "XXX(n)" for a number
// that is not a known currency, so that a bad value is visible in logs.
func (c Currency) String() string {
	if s, ok := codeOf[c]; ok {
		return s
	}
	return fmt.Sprintf("XXX(%d)", uint16(c))
}

// Exponent returns the number of decimals of the currency's minor unit
// (2 for CNY, 0 for JPY, 3 for KWD).
func (c Currency) Exponent() int {
	return int(exponents[c])
}

// MarshalText encodes the currency as its alphabetic code.
func (c Currency) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("marshal currency %d: %w", uint16(c), ErrUnknownCurrency)
	}
	return []byte(codeOf[c]), nil
}

// UnmarshalText decodes an alphabetic code.
func (c *Currency) UnmarshalText(b []byte) error {
	cur, err := ParseCurrency(string(b))
	if err != nil {
		return err
	}
	*c = cur
	return nil
}

// Parse reads a decimal amount in the major unit of cur ("100.00",
// "0.5", "-3") into minor units. It accepts an optional leading minus, no
// plus sign, no exponent, no spaces, no leading zeros and at most
// cur.Exponent() decimals; callers that need a positive amount check it.
func Parse(s string, cur Currency) (Amount, error) {
	if !cur.Valid() {
		return 0, fmt.Errorf("parse %q: %w", s, ErrUnknownCurrency)
	}
	v, err := ParseDecimal(s, cur.Exponent())
	if errors.Is(err, ErrPrecision) {
		return 0, fmt.Errorf("parse %q for %s: %w", s, cur, ErrPrecision)
	}
	return Amount(v), err
}

// ParseDecimal reads a decimal string with at most exp decimals as an
// integer count of 10^-exp units, with the same strictness as Parse. It
// serves other exact decimals, such as rates in basis points (exp 2 of
// a percentage).
func ParseDecimal(s string, exp int) (int64, error) {
	neg := false
	t := s
	if len(t) > 0 && t[0] == '-' {
		neg, t = true, t[1:]
	}
	intPart, frac := t, ""
	for i := 0; i < len(t); i++ {
		if t[i] == '.' {
			intPart, frac = t[:i], t[i+1:]
			if frac == "" {
				return 0, fmt.Errorf("parse %q: %w", s, ErrSyntax)
			}
			break
		}
	}
	if !digits(intPart) || (frac != "" && !digits(frac)) {
		return 0, fmt.Errorf("parse %q: %w", s, ErrSyntax)
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, fmt.Errorf("parse %q: leading zero: %w", s, ErrSyntax)
	}
	if len(frac) > exp {
		return 0, fmt.Errorf("parse %q: %w", s, ErrPrecision)
	}
	var v uint64
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			d := uint64(part[i] - '0')
			if v > (math.MaxInt64-d)/10 {
				return 0, fmt.Errorf("parse %q: %w", s, ErrOverflow)
			}
			v = v*10 + d
		}
	}
	for i := len(frac); i < exp; i++ {
		if v > math.MaxInt64/10 {
			return 0, fmt.Errorf("parse %q: %w", s, ErrOverflow)
		}
		v *= 10
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Format writes a as a decimal string in the major unit of cur, always
// with exactly cur.Exponent() decimals ("100.00", "-0.05", "7" for JPY).
func (a Amount) Format(cur Currency) string {
	return FormatDecimal(int64(a), cur.Exponent())
}

// FormatDecimal writes v units of 10^-exp as a decimal string with
// exactly exp decimals.
func FormatDecimal(a int64, exp int) string {
	var buf [32]byte
	return string(AppendDecimal(buf[:0], a, exp))
}

// AppendFormat appends a as Format writes it.
func (a Amount) AppendFormat(b []byte, cur Currency) []byte {
	return AppendDecimal(b, int64(a), cur.Exponent())
}

// AppendDecimal appends a as FormatDecimal writes it, without the
// allocation of a string: answers that carry a thousand amounts append
// them straight into the body.
func AppendDecimal(b []byte, a int64, exp int) []byte {
	u := uint64(a)
	if a < 0 {
		u = uint64(-(a + 1)) + 1 // correct for MinInt64 too
		b = append(b, '-')
	}
	var buf [20]byte
	d := strconv.AppendUint(buf[:0], u, 10)
	if exp <= 0 {
		return append(b, d...)
	}
	n := len(d) - exp // digits before the point
	if n <= 0 {
		b = append(b, '0', '.')
		for ; n < 0; n++ {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	b = append(b, d[:n]...)
	b = append(b, '.')
	return append(b, d[n:]...)
}

// Add returns a+b, or ErrOverflow.
func Add(a, b Amount) (Amount, error) {
	c := a + b
	if (b > 0 && c < a) || (b < 0 && c > a) {
		return 0, ErrOverflow
	}
	return c, nil
}

// Sub returns a-b, or ErrOverflow.
func Sub(a, b Amount) (Amount, error) {
	c := a - b
	if (b > 0 && c > a) || (b < 0 && c < a) {
		return 0, ErrOverflow
	}
	return c, nil
}

// MulDiv returns a*num/den rounded half away from zero, computed without
// intermediate overflow (128-bit product); the use is percentage fees in
// basis points. den must be positive.
func MulDiv(a Amount, num, den int64) (Amount, error) {
	if den <= 0 {
		return 0, fmt.Errorf("muldiv: denominator %d: %w", den, ErrOverflow)
	}
	neg := (a < 0) != (num < 0)
	ua, un := abs64(int64(a)), abs64(num)
	hi, lo := bits.Mul64(ua, un)
	if hi >= uint64(den) {
		return 0, ErrOverflow
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	if r >= uint64(den)-r { // r*2 >= den without overflow
		q++
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	if neg {
		return Amount(-int64(q)), nil
	}
	return Amount(q), nil
}

func abs64(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}
