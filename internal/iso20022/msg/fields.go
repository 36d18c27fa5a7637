package msg

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/money"
)

// The wire types hold every element as a slice, even those the XSD allows
// once: encoding/xml appends a repeated element instead of overwriting the
// first, so the converters below can refuse the repetition, which a
// schema-validating peer would refuse too, rather than act on whichever
// copy came last.

// amt is an amount with its currency attribute, as the XSD's
// ActiveCurrencyAndAmount and ActiveOrHistoricCurrencyAndAmount.
type amt struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

// dateChoice is DateAndDateTime2Choice.
type dateChoice struct {
	Dt   []string `xml:"Dt"`
	DtTm []string `xml:"DtTm"`
}

// prtryCode is any choice of Cd or Prtry; only one kind is used per
// element, named by the converter.
type cdChoice struct {
	Cd    []string `xml:"Cd,omitempty"`
	Prtry []string `xml:"Prtry,omitempty"`
}

// dec converts a wire value into the Go types, keeping the first error
// with the path of the element at fault.
type dec struct{ err error }

func (d *dec) fail(path string, sentinel error, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %s: %w", path, fmt.Sprintf(format, args...), sentinel)
	}
}

// one returns the single element of s, which the XSD requires once.
func one[T any](d *dec, path string, s []T) T {
	var zero T
	switch len(s) {
	case 1:
		return s[0]
	case 0:
		d.fail(path, ErrSchema, "required element missing")
	default:
		d.fail(path, ErrSchema, "element repeated %d times, allowed once", len(s))
	}
	return zero
}

// opt returns the element of s, which the XSD allows at most once.
func opt[T any](d *dec, path string, s []T) (T, bool) {
	var zero T
	switch len(s) {
	case 0:
		return zero, false
	case 1:
		return s[0], true
	}
	d.fail(path, ErrSchema, "element repeated %d times, allowed once", len(s))
	return zero, false
}

// text checks a MaxNText: 1 to max characters.
func (d *dec) text(path, s string, max int) string {
	if err := checkText(s, max); err != nil {
		d.fail(path, ErrSchema, "%v", err)
	}
	return s
}

// reqText returns a required MaxNText.
func (d *dec) reqText(path string, s []string, max int) string {
	if d.err != nil {
		return ""
	}
	return d.text(path, one(d, path, s), max)
}

// optText returns an optional MaxNText; "" when absent.
func (d *dec) optText(path string, s []string, max int) string {
	v, ok := opt(d, path, s)
	if !ok || d.err != nil {
		return ""
	}
	return d.text(path, v, max)
}

// code returns an enumerated code that must be one of codes.
func (d *dec) code(path string, s string, codes ...string) string {
	for _, c := range codes {
		if s == c {
			return s
		}
	}
	d.fail(path, ErrSchema, "%q is not one of %s", s, strings.Join(codes, ", "))
	return ""
}

// dateTime reads an ISODateTime (xs:dateTime). Without a time zone, which
// the XSD allows, the time is taken as UTC.
func (d *dec) dateTime(path, s string) time.Time {
	if d.err != nil {
		return time.Time{}
	}
	s = collapse(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	d.fail(path, ErrSchema, "%q is not an ISODateTime", s)
	return time.Time{}
}

// date reads an ISODate (xs:date), dropping a time zone.
func (d *dec) date(path, s string) time.Time {
	if d.err != nil {
		return time.Time{}
	}
	s = collapse(s)
	if len(s) > 10 {
		z := s[10:]
		if z != "Z" && !(len(z) == 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':') {
			d.fail(path, ErrSchema, "%q is not an ISODate", s)
			return time.Time{}
		}
		s = s[:10]
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		d.fail(path, ErrSchema, "%q is not an ISODate", s)
	}
	return t
}

// dateChoice reads a DateAndDateTime2Choice.
func (d *dec) dateChoice(path string, c dateChoice) DateOrTime {
	switch {
	case len(c.Dt) > 0 && len(c.DtTm) > 0:
		d.fail(path, ErrSchema, "both Dt and DtTm")
	case len(c.Dt) > 0:
		return DateOrTime{Time: d.date(path+"/Dt", one(d, path+"/Dt", c.Dt)), DateOnly: true}
	case len(c.DtTm) > 0:
		return DateOrTime{Time: d.dateTime(path+"/DtTm", one(d, path+"/DtTm", c.DtTm))}
	default:
		d.fail(path, ErrSchema, "neither Dt nor DtTm")
	}
	return DateOrTime{}
}

// amount reads an amount and its currency. positive says whether zero
// is refused; the XSD allows zero, the switch does not move it.
func (d *dec) amount(path string, a amt, positive bool) (money.Amount, money.Currency) {
	if d.err != nil {
		return 0, 0
	}
	cur, err := currency(a.Ccy)
	if err != nil {
		d.fail(path+"/@Ccy", ErrCurrency, "%v", err)
		return 0, 0
	}
	v, err := parseAmount(a.Value, cur)
	if err != nil {
		d.fail(path, ErrAmount, "%v", err)
		return 0, 0
	}
	if positive && v == 0 {
		d.fail(path, ErrAmount, "amount must be positive")
		return 0, 0
	}
	return v, cur
}

// nbOfTxs checks NbOfTxs (Max15NumericText) against the number of
// transactions n, and n against the switch's bounds.
func (d *dec) nbOfTxs(path string, s []string, n int) {
	v := d.reqText(path, s, 15)
	if d.err != nil {
		return
	}
	if !numeric(v) {
		d.fail(path, ErrSchema, "%q is not a Max15NumericText", v)
		return
	}
	if n < 1 || n > MaxTransactions {
		d.fail(path, ErrTxCount, "%d transactions, allowed 1 to %d", n, MaxTransactions)
		return
	}
	if strings.TrimLeft(v, "0") != fmt.Sprint(n) {
		d.fail(path, ErrTxCount, "NbOfTxs %s but %d transactions", v, n)
	}
}

func numeric(s string) bool {
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

// currency reads an ActiveCurrencyCode ([A-Z]{3}) that must also be an
// active ISO 4217 currency known to internal/money.
func currency(code string) (money.Currency, error) {
	if len(code) != 3 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return 0, fmt.Errorf("%q is not a currency code", code)
	}
	return money.ParseCurrency(code)
}

// errAmountSyntax is the cause of an amount that is not an xs:decimal.
var errAmountSyntax = errors.New("not a decimal number")

// parseAmount reads an xs:decimal amount (whitespace collapsed, an
// optional plus sign, leading zeros, "5." and ".5" are all valid XSD) in
// minor units of cur. The XSD allows 5 decimals and 18 digits; the switch
// allows no more decimals than the currency's exponent, even zeros, as
// schemes' usage guidelines do. Negative amounts are refused (the XSD's
// minInclusive is 0).
func parseAmount(s string, cur money.Currency) (money.Amount, error) {
	s = collapse(s)
	t := strings.TrimPrefix(s, "+")
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("%q is negative", s)
	}
	intPart, frac, _ := strings.Cut(t, ".")
	if (intPart == "" && frac == "") || (intPart != "" && !numeric(intPart)) || (frac != "" && !numeric(frac)) {
		return 0, fmt.Errorf("%q: %w", s, errAmountSyntax)
	}
	if len(frac) > cur.Exponent() {
		return 0, fmt.Errorf("%q has more than %d decimals for %s", s, cur.Exponent(), cur)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart)+len(strings.TrimRight(frac, "0")) > 18 {
		return 0, fmt.Errorf("%q has more than 18 digits", s)
	}
	if intPart == "" {
		intPart = "0"
	}
	if frac != "" {
		intPart += "." + frac
	}
	v, err := money.Parse(intPart, cur)
	if err != nil {
		return 0, fmt.Errorf("%q: %v", s, err)
	}
	return v, nil
}

// collapse applies the XSD's whiteSpace collapse of decimals and dates:
// leading and trailing XML whitespace go (inner whitespace stays and
// makes the value invalid).
func collapse(s string) string { return strings.Trim(s, " \t\r\n") }

// checkText checks a MaxNText: 1 to max characters, each allowed in XML.
func checkText(s string, max int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("text is not UTF-8")
	}
	n := 0
	for _, r := range s {
		if !xmlChar(r) {
			return fmt.Errorf("character %U is not allowed in XML", r)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("empty text")
	}
	if n > max {
		return fmt.Errorf("%d characters, at most %d allowed", n, max)
	}
	return nil
}

// xmlChar reports whether r is a Char of XML 1.0.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// enc converts the Go types into wire values, keeping the first error.
type enc struct{ err error }

func (e *enc) fail(path string, sentinel error, format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("%s: %s: %w", path, fmt.Sprintf(format, args...), sentinel)
	}
}

// reqText renders a required MaxNText.
func (e *enc) reqText(path, s string, max int) []string {
	if err := checkText(s, max); err != nil {
		e.fail(path, ErrSchema, "%v", err)
	}
	return []string{s}
}

// optText renders an optional MaxNText: nothing when s is empty.
func (e *enc) optText(path, s string, max int) []string {
	if s == "" {
		return nil
	}
	return e.reqText(path, s, max)
}

// code renders an enumerated code, def when s is empty.
func (e *enc) code(path, s, def string, codes ...string) []string {
	if s == "" {
		s = def
	}
	for _, c := range codes {
		if s == c {
			return []string{s}
		}
	}
	e.fail(path, ErrSchema, "%q is not one of %s", s, strings.Join(codes, ", "))
	return nil
}

// dateTime renders an ISODateTime in UTC.
func (e *enc) dateTime(path string, t time.Time) []string {
	if t.IsZero() {
		e.fail(path, ErrSchema, "required time missing")
		return nil
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		e.fail(path, ErrSchema, "year %d out of range", y)
		return nil
	}
	return []string{t.UTC().Format(time.RFC3339Nano)}
}

// dateChoice renders a DateAndDateTime2Choice.
func (e *enc) dateChoice(path string, d DateOrTime) dateChoice {
	if d.DateOnly {
		if y := d.Time.Year(); y < 1 || y > 9999 {
			e.fail(path, ErrSchema, "year %d out of range", y)
		}
		return dateChoice{Dt: []string{d.Time.Format(time.DateOnly)}}
	}
	return dateChoice{DtTm: e.dateTime(path+"/DtTm", d.Time)}
}

// amount renders an amount of cur; zero is refused when positive.
func (e *enc) amount(path string, a money.Amount, cur money.Currency, positive bool) amt {
	code, err := cur.MarshalText()
	if err != nil {
		e.fail(path+"/@Ccy", ErrCurrency, "%v", err)
		return amt{}
	}
	s := a.Format(cur)
	switch {
	case a < 0 || (positive && a == 0):
		e.fail(path, ErrAmount, "amount %s must be positive", s)
	case len(strings.Replace(s, ".", "", 1)) > 18:
		e.fail(path, ErrAmount, "amount %s has more than 18 digits", s)
	}
	return amt{Ccy: string(code), Value: s}
}

// nbOfTxs renders NbOfTxs, refusing a count outside the switch's bounds.
func (e *enc) nbOfTxs(path string, n int) []string {
	if n < 1 || n > MaxTransactions {
		e.fail(path, ErrTxCount, "%d transactions, allowed 1 to %d", n, MaxTransactions)
	}
	return []string{fmt.Sprint(n)}
}

func itoa(i int) string { return fmt.Sprint(i) }

// baseOneRate checks a BaseOneRate as the switch writes and reads it: a
// positive decimal of digits with at most one point, at most 11 digits
// of which at most 10 after the point (the XSD's totalDigits counts
// significant digits: leading zeros of the integer part and trailing
// zeros of the fraction are not counted).
func baseOneRate(s string) error {
	intPart, frac, _ := strings.Cut(s, ".")
	switch {
	case intPart == "" || !numeric(intPart) || (strings.Contains(s, ".") && (frac == "" || !numeric(frac))):
		return fmt.Errorf("%q is not a decimal rate", s)
	case len(frac) > 10:
		return fmt.Errorf("%q has more than 10 decimals", s)
	case len(strings.TrimLeft(intPart, "0"))+len(strings.TrimRight(frac, "0")) > 11:
		return fmt.Errorf("%q has more than 11 digits", s)
	case strings.Trim(intPart+frac, "0") == "":
		return fmt.Errorf("%q is not positive", s)
	}
	return nil
}

// rate returns a BaseOneRate, whitespace collapsed.
func (d *dec) rate(path, s string) string {
	s = collapse(s)
	if err := baseOneRate(s); err != nil && d.err == nil {
		d.fail(path, ErrSchema, "%v", err)
	}
	return s
}

// rate renders a BaseOneRate.
func (e *enc) rate(path, s string) string {
	if err := baseOneRate(s); err != nil {
		e.fail(path, ErrSchema, "%v", err)
	}
	return s
}

// FitsBaseOneRate reports whether a rate can be written as XchgRate.
func FitsBaseOneRate(s string) bool { return baseOneRate(s) == nil }
