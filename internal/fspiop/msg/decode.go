package msg

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Decode reads a JSON body into v, a pointer to one of this package's
// body types, and validates it. It is as strict as the specification and
// Mojaloop's switch, and no stricter:
//
//   - Syntax errors, a body that is not an object, a key that appears
//     twice in one object, and values of the wrong JSON type (null
//     included) are 3101 "Malformed syntax".
//   - Member names are case-sensitive: "TransferId" is an unknown member,
//     not transferId (encoding/json alone would take it for one).
//   - Unknown members are ignored, as v1.1 allows (its schemas have no
//     additionalProperties: false).
//   - A present but empty string or array, which every schema of v1.1
//     refuses, is 3101 for a field with a pattern or enumeration, 3100
//     otherwise.
//   - Then v.Validate() decides (3102, 3101, 3100).
//
// v is zeroed first. The caller bounds the body's size (MaxBody,
// TooLarge). Decode panics if v is not a non-nil pointer to a struct: a
// programming error.
func Decode(body []byte, v interface{ Validate() error }) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		panic("msg.Decode: v must be a non-nil pointer to a struct")
	}
	rv.Elem().SetZero() // no field of an earlier use survives
	// Unmarshal checks the syntax before it decodes anything; the scan
	// that follows relies on it.
	err := json.Unmarshal(body, v)
	if err != nil && !isTypeError(err) {
		return &Error{Code: MalformedSyntax, Detail: "Invalid request payload JSON format"}
	}
	s := scanner{data: body}
	s.skipSpace()
	if body[s.pos] != '{' {
		return &Error{Code: MalformedSyntax, Detail: "body must be object"}
	}
	s.stack = s.buf[:0]
	if serr := s.value(rv.Elem().Type(), false); serr != nil {
		return serr
	}
	if len(s.renames) > 0 || err != nil {
		// Decode again without the members encoding/json took for
		// fields by ignoring case (or, were the scan to miss a type
		// error, to report it).
		rv.Elem().SetZero()
		if err := json.Unmarshal(s.renamed(), v); err != nil {
			return &Error{Code: MalformedSyntax, Detail: "Invalid request payload JSON format"}
		}
	}
	return v.Validate()
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// frame is one step of the JSON path to the value being scanned: a
// member name, or an array index when index >= 0.
type frame struct {
	name  string
	index int
}

// where spells the path of the value being scanned, as the validation
// errors do ("payee.partyIdInfo.fspId", "partyList[2]"); "body" for the
// whole body.
func (s *scanner) where() string {
	if len(s.stack) == 0 {
		return "body"
	}
	var b []byte
	for _, f := range s.stack {
		if f.index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(f.index), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, clip(f.name)...)
	}
	return string(b)
}

// field is a member of a struct as encoding/json sees it.
type field struct {
	name    string
	typ     reflect.Type
	pattern bool // the schema gives a pattern or an enumeration
}

var fieldCache sync.Map // reflect.Type → []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, typ: sf.Type, pattern: sf.Tag.Get("fspiop") == "pattern"})
	}
	fieldCache.Store(t, out)
	return out
}

// scanner walks syntactically valid JSON beside the type it decodes into.
type scanner struct {
	data    []byte
	pos     int
	renames []int     // offsets of the opening quotes of keys to make unknown
	stack   []frame   // the path to the value being scanned
	buf     [16]frame // the stack's first frames, without an allocation
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) typeError(want string) *Error {
	return &Error{Code: MalformedSyntax, Detail: s.where() + " must be " + want}
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		return "object"
	case reflect.Slice:
		return "array"
	}
	return "string"
}

// value checks the value at s.pos against t (nil: unknown, anything
// goes) and moves past it.
func (s *scanner) value(t reflect.Type, pattern bool) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.String {
		t = nil
	}
	s.skipSpace()
	switch c := s.data[s.pos]; c {
	case '{':
		if t != nil && t.Kind() != reflect.Struct {
			return s.typeError(kindName(t))
		}
		return s.object(t)
	case '[':
		if t != nil && t.Kind() != reflect.Slice {
			return s.typeError(kindName(t))
		}
		return s.array(t)
	case '"':
		if t != nil && t.Kind() != reflect.String {
			return s.typeError(kindName(t))
		}
		start := s.pos
		s.skipString()
		if t != nil && s.pos-start == 2 {
			if pattern {
				return &Error{Code: MalformedSyntax, Detail: s.where() + " must not be empty"}
			}
			return &Error{Code: ValidationError, Detail: s.where() + " must not be empty"}
		}
		return nil
	default: // null, true, false or a number
		if t != nil {
			return s.typeError(kindName(t))
		}
		for s.pos < len(s.data) && !strings.ContainsRune(",]} \t\n\r", rune(s.data[s.pos])) {
			s.pos++
		}
		return nil
	}
}

// skipString moves past the string at s.pos.
func (s *scanner) skipString() {
	s.pos++
	for s.data[s.pos] != '"' {
		if s.data[s.pos] == '\\' {
			s.pos++
		}
		s.pos++
	}
	s.pos++
}

// key reads the object key at s.pos and returns its text (unescaped
// only when it holds an escape, which costs an allocation) and the
// offset of its opening quote.
func (s *scanner) key() ([]byte, int) {
	start := s.pos
	s.skipString()
	raw := s.data[start:s.pos]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], start
	}
	var k string
	_ = json.Unmarshal(raw, &k) // valid: checked before
	return []byte(k), start
}

func (s *scanner) object(t reflect.Type) error {
	var fields []field
	if t != nil {
		fields = fieldsOf(t)
	}
	var seen [16][]byte
	nSeen := 0
	var seenMap map[string]bool
	s.pos++ // '{'
	for {
		s.skipSpace()
		if s.data[s.pos] == '}' {
			s.pos++
			return nil
		}
		if s.data[s.pos] == ',' {
			s.pos++
			s.skipSpace()
		}
		k, at := s.key()
		// Duplicates: a short list for the usual small object, a map for
		// a peer's large one.
		dup := false
		if seenMap != nil {
			dup = seenMap[string(k)]
			seenMap[string(k)] = true
		} else {
			for _, x := range seen[:nSeen] {
				if bytes.Equal(x, k) {
					dup = true
				}
			}
			if nSeen < len(seen) {
				seen[nSeen] = k
				nSeen++
			} else {
				seenMap = make(map[string]bool, 2*len(seen))
				for _, x := range seen {
					seenMap[string(x)] = true
				}
				seenMap[string(k)] = true
			}
		}
		if dup {
			s.stack = append(s.stack, frame{name: string(k), index: -1})
			return &Error{Code: MalformedSyntax, Detail: s.where() + " is duplicated"}
		}
		var ft reflect.Type
		pattern := false
		member := frame{index: -1}
		for _, f := range fields {
			if f.name == string(k) {
				ft, pattern, member.name = f.typ, f.pattern, f.name
				break
			}
		}
		if ft == nil {
			for _, f := range fields {
				if bytes.EqualFold([]byte(f.name), k) {
					s.renames = append(s.renames, at)
					break
				}
			}
		}
		if ft == nil {
			member.name = string(k) // an unknown member: rare
		}
		s.skipSpace()
		s.pos++ // ':'
		s.stack = append(s.stack, member)
		if err := s.value(ft, pattern); err != nil {
			return err
		}
		s.stack = s.stack[:len(s.stack)-1]
	}
}

func (s *scanner) array(t reflect.Type) error {
	var elem reflect.Type
	if t != nil {
		elem = t.Elem()
	}
	s.pos++ // '['
	n := 0
	for {
		s.skipSpace()
		if s.data[s.pos] == ']' {
			s.pos++
			if n == 0 && t != nil {
				return &Error{Code: ValidationError, Detail: s.where() + " must not be empty"}
			}
			return nil
		}
		if s.data[s.pos] == ',' {
			s.pos++
		}
		s.stack = append(s.stack, frame{index: n})
		if err := s.value(elem, false); err != nil {
			return err
		}
		s.stack = s.stack[:len(s.stack)-1]
		n++
	}
}

// renamed returns a copy of the body in which every key that only
// differs in case from a field's name starts with an escaped NUL, so
// that encoding/json, which matches names without regard to case,
// treats it as the unknown member it is.
func (s *scanner) renamed() []byte {
	out := make([]byte, 0, len(s.data)+6*len(s.renames))
	last := 0
	for _, at := range s.renames {
		out = append(out, s.data[last:at+1]...)
		out = append(out, `\u0000`...)
		last = at + 1
	}
	return append(out, s.data[last:]...)
}
