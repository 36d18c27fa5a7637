package msg

import (
	"math"
	"strconv"
)

// MaxExponent is the largest currency exponent ParseAmount and
// FormatAmount take: the Amount pattern has at most four decimals (CLF,
// UYW, XTS and XXX have four).
const MaxExponent = 4

// ParseAmount reads m.Amount as a count of minor units of a currency
// whose ISO 4217 exponent is exponent (money.Currency.Exponent()). It
// refuses, with 3101, what the Amount pattern refuses (signs, leading
// or trailing zeros, more than 18 integer digits or 4 decimals), and with
// 3100 more decimals than the currency has ("Amount 100.123 exceeds
// allowed scale of 2", Mojaloop's words) and amounts beyond int64 minor
// units. The currency itself is not checked here: m.Validate does.
func ParseAmount(m Money, exponent int) (int64, error) {
	s := m.Amount
	if exponent < 0 || exponent > MaxExponent {
		return 0, &Error{Code: ValidationError, Detail: "currency exponent " + strconv.Itoa(exponent) + " is not supported"}
	}
	if !IsAmount(s) {
		return 0, &Error{Code: MalformedSyntax, Detail: "amount " + ruleAmount.what}
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	if len(frac) > exponent {
		return 0, &Error{Code: ValidationError, Detail: "Amount " + s + " exceeds allowed scale of " + strconv.Itoa(exponent)}
	}
	var v int64
	for _, part := range [2]string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			d := int64(part[i] - '0')
			if v > (math.MaxInt64-d)/10 {
				return 0, outOfRange(s)
			}
			v = v*10 + d
		}
	}
	for i := len(frac); i < exponent; i++ {
		if v > math.MaxInt64/10 {
			return 0, outOfRange(s)
		}
		v *= 10
	}
	return v, nil
}

func outOfRange(s string) *Error {
	return &Error{Code: ValidationError, Detail: "Amount " + s + " is out of range"}
}

// FormatAmount writes minor units of a currency of the given exponent as
// the specification's Amount: no trailing zeros after the point, no
// point for a whole amount, "0" for zero ("100.5" for 10050 cents). A
// negative amount (which no FSPIOP message carries) gets a leading '-'.
// An exponent outside 0–MaxExponent is taken as 0 or MaxExponent.
func FormatAmount(minor int64, exponent int) string {
	exponent = max(0, min(exponent, MaxExponent))
	var buf [24]byte
	b := buf[:0]
	u := uint64(minor)
	if minor < 0 {
		u = uint64(-(minor + 1)) + 1
		b = append(b, '-')
	}
	pow := uint64(1)
	for range exponent {
		pow *= 10
	}
	b = strconv.AppendUint(b, u/pow, 10)
	frac := u % pow
	if frac == 0 {
		return string(b)
	}
	digits := exponent
	for frac%10 == 0 {
		frac /= 10
		digits--
	}
	b = append(b, '.')
	var f [MaxExponent]byte
	for i := digits - 1; i >= 0; i-- {
		f[i] = byte('0' + frac%10)
		frac /= 10
	}
	return string(append(b, f[:digits]...))
}
