package ilp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// EncodeData returns what SSC puts in a packet's data for a transaction
// object: the ASCII of base64url (no padding) of its canonical JSON (see
// CanonicalJSON).
//
// txn is anything encoding/json marshals to the object SSC's
// transactionObjectDto builds: quoteId, transactionId, transactionType,
// payee, payer, expiration (of the quote response), amount (the quote's
// transferAmount, not the requested amount) and note if any. Fields absent
// in JavaScript must be absent here (omitempty), not null.
func EncodeData(txn any) ([]byte, error) {
	j, err := CanonicalJSON(txn)
	if err != nil {
		return nil, err
	}
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(j)))
	base64.RawURLEncoding.Encode(out, j)
	return out, nil
}

// DecodeData reads a packet's data into v as SSC's getTransactionObject
// does: base64url (standard base64 and padding tolerated) of JSON. It
// refuses with ErrData what is not.
func DecodeData(data []byte, v any) error {
	j, err := decodeBase64(string(data))
	if err != nil {
		return fmt.Errorf("decode ILP data: %w: %w", err, ErrData)
	}
	if err := json.Unmarshal(j, v); err != nil {
		return fmt.Errorf("decode ILP data: %w: %w", err, ErrData)
	}
	return nil
}

// CanonicalJSON returns v as safe-stable-stringify 2.5 (what SSC uses)
// writes the same value once parsed by JavaScript: compact, object keys
// sorted by UTF-16 code units at every depth, strings escaped as
// JSON.stringify does (no HTML escaping, U+2028 and U+2029 raw) and
// numbers as JavaScript prints them. v may hold json.RawMessage and any
// values; it is marshalled with encoding/json first. Errors wrap ErrData.
// One difference is left: a lone surrogate escape ("\ud800") reads as
// U+FFFD here, where JavaScript keeps and re-escapes it.
//
// It is the text that an ILPv4 fulfilment is computed over (FulfilV4).
func CanonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w: %w", err, ErrData)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("canonical JSON: %w: %w", err, ErrData)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("canonical JSON: more than one value: %w", ErrData)
	}
	return appendCanonical(make([]byte, 0, len(raw)), tree), nil
}

func appendCanonical(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		return appendJSNumber(b, string(v))
	case string:
		return appendJSString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSString(b, k)
			b = append(b, ':')
			b = appendCanonical(b, v[k])
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("ilp: canonical JSON of a %T, which encoding/json never decodes to", v))
}

// compareUTF16 orders strings as JavaScript's < does: by UTF-16 code
// units, which differs from Go's byte order only between characters above
// U+FFFF and those in U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return strings.Compare(a, b)
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// appendJSString quotes s as JSON.stringify does. s is valid UTF-8 (the
// decoder replaced anything else), so no lone surrogate needs escaping.
func appendJSString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
	}
	return append(b, '"')
}

// appendJSNumber writes a JSON number as JavaScript's Number#toString
// writes the double JSON.parse reads from it (shortest round-trip digits;
// exponent form below 1e-6 and from 1e21). Numbers are no money here:
// FSPIOP carries amounts as strings.
func appendJSNumber(b []byte, s string) []byte {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil { // beyond ±1.8e308: JSON.parse gives ±Infinity, written null
		return append(b, "null"...)
	}
	if f == 0 {
		return append(b, '0') // also -0, as String(-0) is "0"
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d[.ddd]e±xx
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1 // value = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		for ; k < n; k++ {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		for ; n < 0; n++ {
			b = append(b, '0')
		}
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b
}
