package sim

import (
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/money"
)

// Grouped formats an amount with thousands separators for people
// ("1,234,567.89"); the wire format has none.
func Grouped(a money.Amount, c money.Currency) string {
	return GroupDigits(a.Format(c))
}

// GroupDigits inserts thousands separators into the integer part of a
// decimal string ("-1234567.5" → "-1,234,567.5").
func GroupDigits(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i := 0; i < len(intPart); i++ {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(intPart[i])
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// groupInt formats a count with thousands separators.
func groupInt[T ~int | ~int64](n T) string { return GroupDigits(strconv.FormatInt(int64(n), 10)) }
