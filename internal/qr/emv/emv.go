package emv

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// Limits of EMV MPM v1.1, in characters (see the package doc).
const (
	// PayloadMaxChars is the most characters a payload may have.
	PayloadMaxChars = 512
	// DefaultTemplateID is the ID Encode gives the merchant account
	// template when Code.TemplateID is zero.
	DefaultTemplateID = 26

	valueMaxChars      = 99
	guidMaxChars       = 32
	nameMaxChars       = 25
	cityMaxChars       = 15
	additionalMaxChars = 25 // bill number, reference label
	amountMaxChars     = 13
)

// Errors of Decode, all of code "invalid-qr": the API answers each with
// the same 400 problem, and the message tells the payer's app why.
var (
	// ErrMalformed means the payload is not a well-formed EMV merchant
	// code: a broken data object, a missing or invalid field. The caller
	// cannot pay it; ask for a new code.
	ErrMalformed = fault.New(fault.Invalid, "invalid-qr", "malformed EMV QR code")
	// ErrCRC means the checksum (63) is not four upper-case hex digits or
	// does not match: the code was misread or altered. Scan it again.
	ErrCRC = fault.New(fault.Invalid, "invalid-qr", "EMV QR code checksum does not match")
	// ErrUnknownScheme means the code is well formed but no merchant
	// account template carries the switch's GUID: it belongs to another
	// scheme, which this switch cannot pay.
	ErrUnknownScheme = fault.New(fault.Invalid, "invalid-qr", "EMV QR code of another scheme")
)

// ErrField means Encode was given a field an EMV code cannot carry (too
// long, outside the character set, not a valid code): the merchant's
// record must be corrected, for nothing is truncated.
var ErrField = fault.New(fault.Invalid, "", "field cannot be carried in an EMV QR code")

// Field is a data object the switch does not interpret, kept as read so
// that re-encoding a third party's code loses nothing: its ID (0–99) and
// its value, which for a template is the template's own run of data
// objects.
type Field struct {
	ID    int
	Value string
}

// Code is a merchant-presented EMV QR code, decoded. Its own fields are
// printable ASCII ("ans"); kept Fields may be any UTF-8 text. Once
// decoded, its strings share the payload's memory.
type Code struct {
	// Dynamic is true for a code made for one payment (01 = "12"), false
	// for a static one (01 = "11", or no 01).
	Dynamic bool
	// TemplateID is the ID (26–51) of the merchant account template that
	// carries GUID; zero means DefaultTemplateID to Encode.
	TemplateID int
	// GUID identifies the scheme (template sub-object 00), e.g. "cn.hulian".
	GUID string
	// MerchantID is the merchant's id within the scheme (sub-object 01).
	MerchantID string
	// MCC is the merchant category code (52), four digits.
	MCC string
	// Currency is the transaction currency (53, ISO 4217 numeric).
	Currency money.Currency
	// Amount is the transaction amount (54) in minor units of Currency;
	// zero means the code carries none and the payer enters it.
	Amount money.Amount
	// Country is the merchant's ISO 3166-1 alpha-2 country code (58).
	Country string
	// Name is the merchant's name (59), at most 25 characters.
	Name string
	// City is the merchant's city (60), at most 15 characters.
	City string
	// BillNumber is the additional data sub-object 62/01; empty if absent.
	BillNumber string
	// Reference is the reference label, sub-object 62/05; empty if absent.
	Reference string
	// MerchantOther holds the merchant template's other sub-objects (02–99).
	MerchantOther []Field
	// AdditionalOther holds the other sub-objects of 62, such as the
	// store label 03 or the terminal label 07.
	AdditionalOther []Field
	// Other holds every other top-level data object: other schemes'
	// templates, tip fields 55–57, postal code 61, language template 64,
	// unreserved templates 80–99.
	Other []Field
}

// Top-level data objects and sub-objects the switch interprets.
const (
	idFormat     = 0
	idInitiation = 1
	idMCC        = 52
	idCurrency   = 53
	idAmount     = 54
	idCountry    = 58
	idName       = 59
	idCity       = 60
	idAdditional = 62
	idCRC        = 63
	idLanguage   = 64

	subGUID      = 0
	subMerchant  = 1
	subBill      = 1
	subReference = 5
)

// isTemplate reports whether a top-level ID holds a run of data objects.
func isTemplate(id int) bool {
	return (id >= 26 && id <= 51) || id == idAdditional || id == idLanguage || id >= 80
}

// mandatory lists the top-level data objects every code carries besides
// 00, 63 and the merchant template.
var mandatory = [...]struct {
	id   int
	name string
}{{idMCC, "merchant category code"}, {idCurrency, "currency"}, {idCountry, "country"}, {idName, "merchant name"}, {idCity, "merchant city"}}

// Decode reads payload strictly (see the package doc for what it
// accepts) and returns the code whose merchant account template carries
// guid, the switch's scheme identifier. Its errors wrap ErrMalformed,
// ErrCRC or ErrUnknownScheme.
func Decode(payload, guid string) (Code, error) {
	var c Code
	if err := c.decode(payload, guid); err != nil {
		return Code{}, err
	}
	return c, nil
}

func (c *Code) decode(payload, guid string) error {
	if len(payload) > PayloadMaxChars {
		if n := len(payload); n > utf8.UTFMax*PayloadMaxChars || utf8.RuneCountInString(payload) > PayloadMaxChars {
			return fmt.Errorf("decode EMV QR: more than %d characters: %w", PayloadMaxChars, ErrMalformed)
		}
	}
	n := len(payload)
	if n < 8 || payload[n-8:n-4] != "6304" {
		return fmt.Errorf("decode EMV QR: does not end with the checksum 6304: %w", ErrMalformed)
	}
	want, ok := upperHex4(payload[n-4:])
	if !ok {
		return fmt.Errorf("decode EMV QR: checksum %q is not four upper-case hex digits: %w", payload[n-4:], ErrCRC)
	}
	if got := crc16(payload[:n-4]); got != want {
		return fmt.Errorf("decode EMV QR: checksum %s, computed %04X: %w", payload[n-4:], got, ErrCRC)
	}

	var (
		seen     idSet
		amount   string
		merchant string
	)
	w := tlv{s: payload[:n-8]}
	for first := true; ; first = false {
		id, v, more, err := w.next()
		if err != nil {
			return malformed(err)
		}
		if !more {
			if first {
				return malformed(errors.New("no data objects"))
			}
			break
		}
		if first && id != idFormat {
			return malformed(fmt.Errorf("begins with %02d, not the payload format indicator 00", id))
		}
		if !seen.add(id) {
			return malformed(fmt.Errorf("data object %02d twice", id))
		}
		switch {
		case id == idFormat:
			if v != "01" {
				return malformed(fmt.Errorf("payload format indicator %q, not \"01\"", v))
			}
		case id == idInitiation:
			switch v {
			case "11":
			case "12":
				c.Dynamic = true
			default:
				return malformed(fmt.Errorf("point of initiation %q, not \"11\" or \"12\"", v))
			}
		case id == idMCC:
			if !digits(v, 4) {
				return malformed(fmt.Errorf("merchant category code %q is not four digits", v))
			}
			c.MCC = v
		case id == idCurrency:
			cur, ok := parseCurrency(v)
			if !ok {
				return malformed(fmt.Errorf("currency %q is not an ISO 4217 numeric code", v))
			}
			c.Currency = cur
		case id == idAmount:
			amount = v // read once the currency's exponent is known
		case id == idCountry:
			if !country(v) {
				return malformed(fmt.Errorf("country %q is not two upper-case letters", v))
			}
			c.Country = v
		case id == idName:
			if err := checkANS("merchant name", v, nameMaxChars); err != nil {
				return malformed(err)
			}
			c.Name = v
		case id == idCity:
			if err := checkANS("merchant city", v, cityMaxChars); err != nil {
				return malformed(err)
			}
			c.City = v
		case id == idAdditional:
			if err := c.decodeAdditional(v); err != nil {
				return malformed(err)
			}
		case id == idCRC:
			return malformed(errors.New("checksum 63 before the end"))
		case isTemplate(id):
			g, err := checkTemplate(v)
			if err != nil {
				return malformed(fmt.Errorf("template %02d: %w", id, err))
			}
			if id <= 51 && g != "" && strings.EqualFold(g, guid) {
				if merchant != "" {
					return malformed(fmt.Errorf("templates %02d and %02d both carry the scheme's GUID", c.TemplateID, id))
				}
				c.TemplateID, merchant = id, v
				continue
			}
			c.Other = append(c.Other, Field{id, v})
		default:
			c.Other = append(c.Other, Field{id, v})
		}
	}
	if merchant == "" {
		return fmt.Errorf("decode EMV QR: no merchant account template with GUID %q: %w", guid, ErrUnknownScheme)
	}
	for _, m := range mandatory {
		if !seen.has(m.id) {
			return malformed(fmt.Errorf("no %s (%02d)", m.name, m.id))
		}
	}
	if err := c.decodeMerchant(merchant); err != nil {
		return malformed(err)
	}
	if seen.has(idAmount) {
		a, err := parseAmount(amount, c.Currency.Exponent())
		if err != nil {
			return malformed(err)
		}
		c.Amount = a
	}
	sortFields(c.Other)
	return nil
}

func malformed(err error) error {
	return fmt.Errorf("decode EMV QR: %v: %w", err, ErrMalformed)
}

// decodeMerchant reads the merchant account template, whose structure
// checkTemplate has accepted.
func (c *Code) decodeMerchant(v string) error {
	w := tlv{s: v}
	for {
		id, v, more, _ := w.next()
		if !more {
			break
		}
		switch id {
		case subGUID:
			if err := checkANS("GUID", v, guidMaxChars); err != nil {
				return err
			}
			c.GUID = v
		case subMerchant:
			if err := checkANS("merchant id", v, valueMaxChars); err != nil {
				return err
			}
			c.MerchantID = v
		default:
			c.MerchantOther = append(c.MerchantOther, Field{id, v})
		}
	}
	if c.MerchantID == "" {
		return fmt.Errorf("merchant account template %02d has no merchant id (01)", c.TemplateID)
	}
	sortFields(c.MerchantOther)
	return nil
}

// decodeAdditional reads the additional data template 62.
func (c *Code) decodeAdditional(v string) error {
	var seen idSet
	w := tlv{s: v}
	for {
		id, v, more, err := w.next()
		if err != nil {
			return fmt.Errorf("additional data 62: %w", err)
		}
		if !more {
			break
		}
		if !seen.add(id) {
			return fmt.Errorf("additional data 62: sub-object %02d twice", id)
		}
		switch id {
		case subBill:
			if err := checkANS("bill number", v, additionalMaxChars); err != nil {
				return err
			}
			c.BillNumber = v
		case subReference:
			if err := checkANS("reference label", v, additionalMaxChars); err != nil {
				return err
			}
			c.Reference = v
		default:
			c.AdditionalOther = append(c.AdditionalOther, Field{id, v})
		}
	}
	sortFields(c.AdditionalOther)
	return nil
}

// Encode writes c as a payload: data objects in ascending ID order, the
// checksum last (see the package doc). It refuses, wrapping ErrField, any
// field that Decode would refuse: nothing is truncated or transliterated.
func Encode(c Code) (string, error) {
	var top, sub objects
	tpl := c.TemplateID
	if tpl == 0 {
		tpl = DefaultTemplateID
	}
	if tpl < 26 || tpl > 51 {
		return "", fieldErr(fmt.Errorf("merchant template ID %d is not within 26–51", c.TemplateID))
	}

	// The merchant account template.
	if err := checkANS("GUID", c.GUID, guidMaxChars); err != nil {
		return "", fieldErr(err)
	}
	if err := checkANS("merchant id", c.MerchantID, valueMaxChars); err != nil {
		return "", fieldErr(err)
	}
	sub.put(subGUID, c.GUID)
	sub.put(subMerchant, c.MerchantID)
	for _, f := range c.MerchantOther {
		if f.ID < 2 || f.ID > 99 {
			return "", fieldErr(fmt.Errorf("merchant template sub-object ID %d is not within 02–99", f.ID))
		}
		if err := putText(&sub, f, "merchant template sub-object"); err != nil {
			return "", fieldErr(err)
		}
	}
	tv, err := sub.template("merchant account template")
	if err != nil {
		return "", fieldErr(err)
	}
	top.put(tpl, tv)

	// The fields of the merchant and the payment.
	top.put(idFormat, "01")
	top.put(idInitiation, "11")
	if c.Dynamic {
		top.put(idInitiation, "12")
	}
	if !digits(c.MCC, 4) {
		return "", fieldErr(fmt.Errorf("merchant category code %q is not four digits", c.MCC))
	}
	top.put(idMCC, c.MCC)
	if !c.Currency.Valid() {
		return "", fieldErr(fmt.Errorf("currency %d is not an ISO 4217 currency", uint16(c.Currency)))
	}
	top.put(idCurrency, formatCurrency(c.Currency))
	switch {
	case c.Amount < 0:
		return "", fieldErr(fmt.Errorf("amount %s is negative", c.Amount.Format(c.Currency)))
	case c.Amount > 0:
		s := c.Amount.Format(c.Currency)
		if len(s) > amountMaxChars {
			return "", fieldErr(fmt.Errorf("amount %s is longer than %d characters", s, amountMaxChars))
		}
		top.put(idAmount, s)
	}
	if !country(c.Country) {
		return "", fieldErr(fmt.Errorf("country %q is not two upper-case letters", c.Country))
	}
	top.put(idCountry, c.Country)
	if err := checkANS("merchant name", c.Name, nameMaxChars); err != nil {
		return "", fieldErr(err)
	}
	top.put(idName, c.Name)
	if err := checkANS("merchant city", c.City, cityMaxChars); err != nil {
		return "", fieldErr(err)
	}
	top.put(idCity, c.City)

	// Additional data.
	var add objects
	if c.BillNumber != "" {
		if err := checkANS("bill number", c.BillNumber, additionalMaxChars); err != nil {
			return "", fieldErr(err)
		}
		add.put(subBill, c.BillNumber)
	}
	if c.Reference != "" {
		if err := checkANS("reference label", c.Reference, additionalMaxChars); err != nil {
			return "", fieldErr(err)
		}
		add.put(subReference, c.Reference)
	}
	for _, f := range c.AdditionalOther {
		if f.ID < 0 || f.ID > 99 || f.ID == subBill || f.ID == subReference {
			return "", fieldErr(fmt.Errorf("additional data sub-object ID %d is not within 00–99 or is 01 or 05", f.ID))
		}
		if err := putText(&add, f, "additional data sub-object"); err != nil {
			return "", fieldErr(err)
		}
	}
	if !add.empty() {
		av, err := add.template("additional data template 62")
		if err != nil {
			return "", fieldErr(err)
		}
		top.put(idAdditional, av)
	}

	// Everything else, as given.
	for _, f := range c.Other {
		switch f.ID {
		case idFormat, idInitiation, idMCC, idCurrency, idAmount, idCountry, idName, idCity, idAdditional, idCRC, tpl:
			return "", fieldErr(fmt.Errorf("other data object %02d is one Encode writes itself", f.ID))
		}
		if f.ID < 0 || f.ID > 99 {
			return "", fieldErr(fmt.Errorf("other data object ID %d is not within 00–99", f.ID))
		}
		if err := putText(&top, f, "data object"); err != nil {
			return "", fieldErr(err)
		}
		if isTemplate(f.ID) {
			g, err := checkTemplate(f.Value)
			if err != nil {
				return "", fieldErr(fmt.Errorf("template %02d: %w", f.ID, err))
			}
			if f.ID <= 51 && g != "" && strings.EqualFold(g, c.GUID) {
				return "", fieldErr(fmt.Errorf("template %02d also carries the GUID %q", f.ID, c.GUID))
			}
		}
	}

	b := make([]byte, 0, 192)
	b = top.appendTo(b)
	b = append(b, "6304"...)
	b = appendHex4(b, crc16(b))
	if n := utf8.RuneCount(b); n > PayloadMaxChars {
		return "", fieldErr(fmt.Errorf("payload of %d characters, more than %d", n, PayloadMaxChars))
	}
	return string(b), nil
}

func fieldErr(err error) error {
	return fmt.Errorf("encode EMV QR: %v: %w", err, ErrField)
}

// objects holds the values of a run of data objects by ID; "" is absent
// (no value is empty: EMV lengths start at 01).
type objects [100]string

func (o *objects) put(id int, v string) { o[id] = v }

func (o *objects) empty() bool {
	for _, v := range o {
		if v != "" {
			return false
		}
	}
	return true
}

// appendTo appends the data objects in ascending ID order.
func (o *objects) appendTo(b []byte) []byte {
	for id, v := range o {
		if v == "" {
			continue
		}
		n := utf8.RuneCountInString(v)
		b = append(b, byte('0'+id/10), byte('0'+id%10), byte('0'+n/10), byte('0'+n%10))
		b = append(b, v...)
	}
	return b
}

// template returns the objects as a template's value, which must itself
// fit in a data object.
func (o *objects) template(name string) (string, error) {
	v := string(o.appendTo(nil))
	if n := utf8.RuneCountInString(v); n > valueMaxChars {
		return "", fmt.Errorf("%s of %d characters, more than %d", name, n, valueMaxChars)
	}
	return v, nil
}

// putText checks a kept field's value and adds it, refusing a second
// value for its ID.
func putText(o *objects, f Field, what string) error {
	if o[f.ID] != "" {
		return fmt.Errorf("%s %02d twice", what, f.ID)
	}
	if err := checkText(f.Value); err != nil {
		return fmt.Errorf("%s %02d: %w", what, f.ID, err)
	}
	o.put(f.ID, f.Value)
	return nil
}

// tlv walks a run of data objects: two-digit ID, two-digit length in
// characters, value.
type tlv struct {
	s   string
	pos int
}

// next returns the next data object; more is false at the end.
func (t *tlv) next() (id int, v string, more bool, err error) {
	if t.pos == len(t.s) {
		return 0, "", false, nil
	}
	if len(t.s)-t.pos < 4 {
		return 0, "", false, fmt.Errorf("truncated data object at byte %d", t.pos)
	}
	id, ok := twoDigits(t.s[t.pos:])
	if !ok {
		return 0, "", false, fmt.Errorf("ID %q at byte %d is not two digits", t.s[t.pos:t.pos+2], t.pos)
	}
	n, ok := twoDigits(t.s[t.pos+2:])
	if !ok || n == 0 {
		return 0, "", false, fmt.Errorf("length %q of %02d is not two digits from 01", t.s[t.pos+2:t.pos+4], id)
	}
	start := t.pos + 4
	end, err := skipChars(t.s, start, n)
	if err != nil {
		return 0, "", false, fmt.Errorf("value of %02d: %w", id, err)
	}
	t.pos = end
	return id, t.s[start:end], true, nil
}

// skipChars returns the byte offset n characters after i, refusing
// invalid UTF-8 and control characters on the way.
func skipChars(s string, i, n int) (int, error) {
	for ; n > 0; n-- {
		if i >= len(s) {
			return 0, errors.New("runs past the end")
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7F {
				return 0, fmt.Errorf("control character %#02x", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return 0, errors.New("invalid UTF-8")
		}
		if r < 0xA0 {
			return 0, fmt.Errorf("control character %U", r)
		}
		i += size
	}
	return i, nil
}

// checkText checks a kept value: 1 to 99 characters of UTF-8 without
// control characters.
func checkText(v string) error {
	n := utf8.RuneCountInString(v)
	if n == 0 || n > valueMaxChars {
		return fmt.Errorf("%d characters, not 1 to %d", n, valueMaxChars)
	}
	_, err := skipChars(v, 0, n)
	return err
}

// checkANS checks a field of format "ans": 1 to max printable ASCII
// characters.
func checkANS(name, v string, max int) error {
	if v == "" {
		return fmt.Errorf("%s is empty", name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7E {
			return fmt.Errorf("%s %q has a character outside printable ASCII", name, v)
		}
	}
	if len(v) > max {
		return fmt.Errorf("%s %q has %d characters, more than %d", name, v, len(v), max)
	}
	return nil
}

// checkTemplate checks that v is a run of data objects without a
// repeated ID and returns the value of its sub-object 00, if any.
func checkTemplate(v string) (guid string, err error) {
	var seen idSet
	w := tlv{s: v}
	for {
		id, sv, more, err := w.next()
		if err != nil {
			return "", err
		}
		if !more {
			return guid, nil
		}
		if !seen.add(id) {
			return "", fmt.Errorf("sub-object %02d twice", id)
		}
		if id == subGUID {
			guid = sv
		}
	}
}

// idSet is a set of IDs 0–99.
type idSet [2]uint64

// add adds id and reports whether it was new.
func (s *idSet) add(id int) bool {
	w, b := id>>6, uint64(1)<<(id&63)
	if s[w]&b != 0 {
		return false
	}
	s[w] |= b
	return true
}

func (s *idSet) has(id int) bool { return s[id>>6]&(uint64(1)<<(id&63)) != 0 }

// parseAmount reads an EMV amount: digits with at most one '.', at most
// exp decimals, positive, at most 13 characters.
func parseAmount(s string, exp int) (money.Amount, error) {
	if len(s) > amountMaxChars {
		return 0, fmt.Errorf("amount %q is longer than %d characters", s, amountMaxChars)
	}
	var v int64
	nd, decimals := 0, -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			v = v*10 + int64(c-'0') // 13 digits and 4 decimals stay far below 2^63
			nd++
			if decimals >= 0 {
				decimals++
			}
		case c == '.' && decimals < 0:
			decimals = 0
		default:
			return 0, fmt.Errorf("amount %q is not a decimal number", s)
		}
	}
	if nd == 0 {
		return 0, fmt.Errorf("amount %q has no digits", s)
	}
	if decimals > exp {
		return 0, fmt.Errorf("amount %q has more than %d decimals", s, exp)
	}
	for decimals = max(decimals, 0); decimals < exp; decimals++ {
		v *= 10
	}
	if v == 0 {
		return 0, fmt.Errorf("amount %q is zero", s)
	}
	return money.Amount(v), nil
}

func parseCurrency(s string) (money.Currency, bool) {
	if !digits(s, 3) {
		return 0, false
	}
	c := money.Currency(uint16(s[0]-'0')*100 + uint16(s[1]-'0')*10 + uint16(s[2]-'0'))
	return c, c.Valid()
}

func formatCurrency(c money.Currency) string {
	n := uint16(c)
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// twoDigits reads the first two bytes of s as a number 00–99.
func twoDigits(s string) (int, bool) {
	if len(s) < 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func country(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func upperHex4(s string) (uint16, bool) {
	var v uint16
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint16(c-'0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint16(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func appendHex4(b []byte, v uint16) []byte {
	const hex = "0123456789ABCDEF"
	return append(b, hex[v>>12], hex[v>>8&0xF], hex[v>>4&0xF], hex[v&0xF])
}

// sortFields sorts kept fields by ID; they are few, and their IDs unique.
func sortFields(fs []Field) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].ID < fs[j-1].ID; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}
