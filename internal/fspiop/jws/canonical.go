package jws

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Limits of Canonical. FSPIOP bodies are at most 5 MiB (the Mojaloop hub's
// limit) and nest about seven levels deep; anything past these bounds is
// refused rather than parsed.
const (
	// BodyMax is the largest body Canonical accepts, in bytes.
	BodyMax = 5 << 20
	// DepthMax is the deepest nesting of objects and arrays Canonical
	// accepts.
	DepthMax = 64
)

// Canonical returns body in the form Mojaloop signs: the output of
// safe-stable-stringify (sdk-standard-components' serialiser) applied to
// JSON.parse(body). That is compact JSON with every object's keys sorted
// by UTF-16 code units, strings escaped as JSON.stringify escapes them
// (only '"', '\\' and U+0000–U+001F: \b \f \n \r \t by name, the rest as
// \u00xx in lower case; lone surrogates written by escapes stay escaped
// as \udxxx; U+2028, U+2029, '<', '>', '&' and DEL are written as they
// are), and every number rewritten as JavaScript prints the double
// JSON.parse makes of it (1.0 → 1, 1E2 → 100, 1e21 → 1e+21,
// 9007199254740993 → 9007199254740992, 1e400 → null). FSPIOP 1.x bodies
// carry no numbers; the rewriting is there so that any body Mojaloop
// signs canonicalises the same here.
//
// Canonical is stricter than JSON.parse in three ways, each a body no
// Mojaloop signer produces: a duplicate key in an object (JSON.parse keeps
// the last), bytes that are not UTF-8 (Node replaces them) and bodies past
// BodyMax or DepthMax are refused with an error wrapping ErrJSON.
func Canonical(body []byte) ([]byte, error) {
	if len(body) > BodyMax {
		return nil, fmt.Errorf("%w: body of %d bytes is over the limit of %d", ErrJSON, len(body), BodyMax)
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: body is not UTF-8", ErrJSON)
	}
	p := parser{data: body}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.data) {
		return nil, p.fail("data after the JSON value")
	}
	out := make([]byte, 0, len(body))
	return v.append(out), nil
}

// kind is the type of a parsed JSON value.
type kind uint8

const (
	kindLiteral kind = iota // null, true, false and numbers: text holds the output
	kindString              // text holds the value, WTF-8 (a lone surrogate from an escape is kept)
	kindArray
	kindObject
)

// value is a parsed JSON value.
type value struct {
	kind    kind
	text    string
	elems   []value  // array
	members []member // object
}

// member is one key and value of an object.
type member struct {
	key   string // WTF-8, as value.text
	ascii bool   // key is ASCII, so byte order is UTF-16 order
	val   value
}

// parser reads one JSON text, following JSON.parse's grammar (RFC 8259:
// whitespace is space, tab, CR and LF only; no leading zeros, no '+').
type parser struct {
	data []byte
	pos  int
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrJSON, what, p.pos)
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (value, error) {
	if p.pos >= len(p.data) {
		return value{}, p.fail("unexpected end of JSON")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.string()
		return value{kind: kindString, text: s}, err
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	default:
		for _, lit := range [...]string{"null", "true", "false"} {
			if len(p.data)-p.pos >= len(lit) && string(p.data[p.pos:p.pos+len(lit)]) == lit {
				p.pos += len(lit)
				return value{kind: kindLiteral, text: lit}, nil
			}
		}
		return value{}, p.fail(fmt.Sprintf("unexpected %q", c))
	}
}

func (p *parser) object(depth int) (value, error) {
	if depth > DepthMax {
		return value{}, p.fail(fmt.Sprintf("nesting deeper than %d", DepthMax))
	}
	p.pos++ // '{'
	v := value{kind: kindObject}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return value{}, p.fail("expected a key")
		}
		key, err := p.string()
		if err != nil {
			return value{}, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return value{}, p.fail("expected ':'")
		}
		p.pos++
		p.space()
		val, err := p.value(depth)
		if err != nil {
			return value{}, err
		}
		v.members = append(v.members, member{key: key, ascii: isASCII(key), val: val})
		p.space()
		if p.pos >= len(p.data) {
			return value{}, p.fail("unexpected end of JSON")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.space()
		case '}':
			p.pos++
			slices.SortFunc(v.members, compareMembers)
			for i := 1; i < len(v.members); i++ {
				if v.members[i].key == v.members[i-1].key {
					return value{}, fmt.Errorf("%w: duplicate key %q", ErrJSON, v.members[i].key)
				}
			}
			return v, nil
		default:
			return value{}, p.fail("expected ',' or '}'")
		}
	}
}

func (p *parser) array(depth int) (value, error) {
	if depth > DepthMax {
		return value{}, p.fail(fmt.Sprintf("nesting deeper than %d", DepthMax))
	}
	p.pos++ // '['
	v := value{kind: kindArray}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		elem, err := p.value(depth)
		if err != nil {
			return value{}, err
		}
		v.elems = append(v.elems, elem)
		p.space()
		if p.pos >= len(p.data) {
			return value{}, p.fail("unexpected end of JSON")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.space()
		case ']':
			p.pos++
			return v, nil
		default:
			return value{}, p.fail("expected ',' or ']'")
		}
	}
}

// string reads a string token and returns its value in WTF-8: UTF-8, except
// that a surrogate written as an escape and not paired with its partner
// is kept as the 3-byte form of its code point, as JavaScript keeps it.
func (p *parser) string() (string, error) {
	p.pos++ // '"'
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail("control character in string")
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			break
		}
		p.pos += 2
		switch e := p.data[p.pos-1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			if r >= 0xD800 && r < 0xDC00 && p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
				save := p.pos
				p.pos += 2
				if lo, ok := p.hex4(); ok && lo >= 0xDC00 && lo < 0xE000 {
					buf = utf8.AppendRune(buf, 0x10000+(r-0xD800)<<10+(lo-0xDC00))
					continue
				}
				p.pos = save
			}
			buf = appendWTF8(buf, r)
		default:
			p.pos--
			return "", p.fail("bad escape")
		}
	}
	return "", p.fail("unterminated string")
}

func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

// appendWTF8 appends r, which may be a surrogate, in its 3-byte form.
func appendWTF8(b []byte, r rune) []byte {
	if r >= 0xD800 && r < 0xE000 {
		return append(b, 0xED, byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
	}
	return utf8.AppendRune(b, r)
}

// number reads a number token and returns it as JavaScript prints the
// double it denotes.
func (p *parser) number() (value, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return value{}, p.fail("bad number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return value{}, p.fail("bad number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return value{}, p.fail("bad number")
		}
	}
	f, err := strconv.ParseFloat(string(p.data[start:p.pos]), 64)
	if err != nil && !math.IsInf(f, 0) {
		return value{}, p.fail("bad number")
	}
	return value{kind: kindLiteral, text: jsNumber(f)}, nil
}

// jsNumber formats f as JSON.stringify does: ECMAScript's
// Number::toString for finite values (shortest round-trip digits,
// positional notation for exponents from -7 to 20, else d.ddde±x), null for
// infinities.
func jsNumber(f float64) string {
	switch {
	case math.IsInf(f, 0) || math.IsNaN(f):
		return "null"
	case f == 0:
		return "0" // also -0
	}
	var out []byte
	if f < 0 {
		out = append(out, '-')
		f = -f
	}
	e := strconv.AppendFloat(nil, f, 'e', -1, 64) // d[.ddd]e±xx
	mant, exp, _ := cut(e, 'e')
	digits := make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	x, _ := strconv.Atoi(string(exp))
	k, n := len(digits), x+1 // value = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		out = append(out, digits...)
		for range n - k {
			out = append(out, '0')
		}
	case 0 < n && n <= 21:
		out = append(out, digits[:n]...)
		out = append(out, '.')
		out = append(out, digits[n:]...)
	case -6 < n && n <= 0:
		out = append(out, '0', '.')
		for range -n {
			out = append(out, '0')
		}
		out = append(out, digits...)
	default:
		out = append(out, digits[0])
		if k > 1 {
			out = append(out, '.')
			out = append(out, digits[1:]...)
		}
		out = append(out, 'e')
		if n-1 >= 0 {
			out = append(out, '+')
		}
		out = strconv.AppendInt(out, int64(n-1), 10)
	}
	return string(out)
}

func cut(b []byte, sep byte) (before, after []byte, found bool) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// compareMembers orders keys as JavaScript's default sort does: by UTF-16
// code units. That is byte order for ASCII and for most of Unicode, but a
// character past U+FFFF (a surrogate pair, 0xD800…) sorts before
// U+E000–U+FFFF, unlike in UTF-8.
func compareMembers(a, b member) int {
	if a.ascii && b.ascii {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	}
	return compareUTF16(a.key, b.key)
}

func compareUTF16(a, b string) int {
	var ua, ub []uint16
	ua = appendUTF16(ua, a)
	ub = appendUTF16(ub, b)
	return slices.Compare(ua, ub)
}

// appendUTF16 appends the UTF-16 code units of the WTF-8 string s.
func appendUTF16(dst []uint16, s string) []uint16 {
	for i := 0; i < len(s); {
		r, n := decodeWTF8(s[i:])
		i += n
		if r >= 0x10000 {
			r -= 0x10000
			dst = append(dst, uint16(0xD800+r>>10), uint16(0xDC00+r&0x3FF))
			continue
		}
		dst = append(dst, uint16(r))
	}
	return dst
}

// decodeWTF8 decodes the first character of s, a surrogate's 3-byte form
// included.
func decodeWTF8(s string) (rune, int) {
	if len(s) >= 3 && s[0] == 0xED && s[1] >= 0xA0 {
		return rune(0xD000) | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F), 3
	}
	return utf8.DecodeRuneInString(s)
}

func (v value) append(out []byte) []byte {
	switch v.kind {
	case kindString:
		return appendString(out, v.text)
	case kindArray:
		out = append(out, '[')
		for i, e := range v.elems {
			if i > 0 {
				out = append(out, ',')
			}
			out = e.append(out)
		}
		return append(out, ']')
	case kindObject:
		out = append(out, '{')
		for i, m := range v.members {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendString(out, m.key)
			out = append(out, ':')
			out = m.val.append(out)
		}
		return append(out, '}')
	default:
		return append(out, v.text...)
	}
}

// appendString writes the WTF-8 string s as JSON.stringify does.
func appendString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		case c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0:
			r, _ := decodeWTF8(s[i:])
			out = append(out, '\\', 'u', hex[r>>12], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
			i += 2
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}
