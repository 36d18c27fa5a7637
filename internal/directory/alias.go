package directory

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"

	"github.com/nyaruka/phonenumbers"
)

// Type is the kind of an alias. The set is closed: each type has its own
// normalization, and a value is only unique within its type.
type Type string

// The alias types.
const (
	// MSISDN is a phone number, kept in E.164 form ("+8613800138000").
	MSISDN Type = "MSISDN"
	// EMAIL is an e-mail address, kept lower-cased.
	EMAIL Type = "EMAIL"
	// NATIONAL_ID is an identity-document number such as a Chinese
	// resident ID, kept upper-cased.
	NATIONAL_ID Type = "NATIONAL_ID"
	// RANDOM is a random key (a UUID) that hides the user's identity, as
	// Pix's EVP keys do; kept in canonical lower-case form.
	RANDOM Type = "RANDOM"
	// WALLET is a participant-issued wallet handle, kept as given.
	WALLET Type = "WALLET"
	// MERCHANT is a merchant's id, issued by its participant and printed
	// in its QR codes: kept as given.
	MERCHANT Type = "MERCHANT"
)

// Errors of parsing and normalizing aliases. Both mean that the caller
// sent something unusable: refuse the request (HTTP 400), do not retry.
var (
	// ErrInvalidType: the alias type is not one of the five types.
	ErrInvalidType = fault.New(fault.Invalid, "", "directory: unknown alias type")
	// ErrInvalidValue: the value is not a valid alias of its type; the
	// wrapping error says why, without echoing the value (it is personal
	// data and errors end up in logs).
	ErrInvalidValue = fault.New(fault.Invalid, "", "directory: invalid alias value")
)

// Limits of alias values, after normalization.
const (
	maxMSISDNInput = 32  // generous for "+86 (138) 0013-8000"; E.164 itself is at most 16
	maxEmail       = 254 // RFC 5321 path limit less the angle brackets
	maxEmailLocal  = 64  // RFC 5321
	maxDNSLabel    = 63  // RFC 1035
	minNationalID  = 4
	maxNationalID  = 32
	maxWallet      = 64
	// maxMerchant keeps a merchant id within what an EMV QR code's
	// merchant account template holds comfortably.
	maxMerchant = 32
)

// ParseType returns the Type named by s. Only the exact upper-case names
// are accepted, so that one alias has one spelling on the wire.
func ParseType(s string) (Type, error) {
	// Return the constants rather than Type(s), so that a Type held for
	// long (in the cache) does not pin the caller's string.
	if c := typeCode(Type(s)); c != 0 {
		return types[c-1], nil
	}
	return "", fmt.Errorf("%w %.32q", ErrInvalidType, s)
}

// Valid reports whether t is one of the alias types.
func (t Type) Valid() bool { return typeCode(t) != 0 }

// types lists the alias types, once for all that needs the set.
var types = [...]Type{MSISDN, EMAIL, NATIONAL_ID, RANDOM, WALLET, MERCHANT}

// typeCode numbers the alias types from 1 (the cache keys entries by
// it); 0 is not a type.
func typeCode(t Type) uint8 {
	for i, x := range types {
		if t == x {
			return uint8(i + 1)
		}
	}
	return 0
}

// Normalize returns the canonical form of an alias value of type t, the
// form under which it is stored and looked up, or an error wrapping
// ErrInvalidValue (or ErrInvalidType) that says what is wrong.
//
// Surrounding white space is ignored for every type: values are copied
// from forms and QR payloads. Otherwise:
//
//   - MSISDN: digits with optional visual separators (space, '-', '.',
//     '(', ')') and an optional leading '+'; at most 32 characters. A
//     number without '+' is read as a national number of defaultRegion
//     (an ISO 3166 code such as "CN"), so "138 0013 8000" with "CN" is
//     "+8613800138000". The number must be valid for its country by
//     libphonenumber's metadata (any line type: fixed-line and mobile
//     cannot be told apart in some countries). Letters are refused
//     rather than read as a keypad ("1-800-FLOWERS"), and so are
//     extensions. The result is E.164.
//   - EMAIL: a bare addr-spec ("user@example.com"): no display name,
//     angle brackets, comments, quoted local part or address literal;
//     the domain must have a dot; at most 254 bytes, local part at most
//     64. The whole address is lower-cased: RFC 5321 lets the local part
//     be case-sensitive, but nearly every provider treats it
//     case-insensitively, and two aliases that differ only in case
//     would be a trap for payers. Non-ASCII addresses (RFC 6531) are
//     accepted as given: there is no IDNA or Unicode normalization.
//   - NATIONAL_ID: 4 to 32 ASCII letters and digits, upper-cased
//     ("11010519491231002x" is "11010519491231002X"). Separators are
//     refused, not stripped: documents differ on which are meaningful.
//   - RANDOM: a UUID in 8-4-4-4-12 hexadecimal form, any case, any
//     version; the result is lower-case. The nil and max UUIDs are
//     refused: they are not random and every careless client would
//     share them.
//   - WALLET: 1 to 64 characters of A-Z a-z 0-9 . _ : -, case preserved
//     (handles are the issuing participant's and may be case-sensitive).
//   - MERCHANT: the same, 1 to 32 characters.
//
// Normalize is idempotent, and the normalized value of every type
// normalizes to itself whatever defaultRegion is.
func Normalize(t Type, value, defaultRegion string) (string, error) {
	v := strings.TrimSpace(value)
	var (
		out    string
		reason string
	)
	switch t {
	case MSISDN:
		out, reason = normalizeMSISDN(v, defaultRegion)
	case EMAIL:
		out, reason = normalizeEmail(v)
	case NATIONAL_ID:
		out, reason = normalizeNationalID(v)
	case RANDOM:
		out, reason = normalizeUUID(v)
	case WALLET:
		out, reason = normalizeHandle(v, maxWallet)
	case MERCHANT:
		out, reason = normalizeHandle(v, maxMerchant)
	default:
		return "", fmt.Errorf("%w %.32q", ErrInvalidType, string(t))
	}
	if reason != "" {
		return "", fmt.Errorf("%w: %s: %s", ErrInvalidValue, t, reason)
	}
	return out, nil
}

// LookupKey returns the value under which an alias is looked up: what
// Normalize returns, except that a phone number already in E.164 form
// ("+" and 8 to 15 digits, the first not 0) is taken as it is. Full
// validation costs more than the lookup it guards (about 13 µs of regular
// expressions), and a number that fails it was never registered, because
// Register validates: such a lookup finds nothing, as it should.
func LookupKey(t Type, value, defaultRegion string) (string, error) {
	if t == MSISDN && isE164(value) {
		return value, nil
	}
	return Normalize(t, value, defaultRegion)
}

// DefaultRegion is the default region of national phone numbers: the
// switch was first built for China's wallets.
const DefaultRegion = "CN"

// CheckRegion refuses r unless it is a region whose national phone
// numbers can be read (a two-letter code such as "CN", in either case):
// the switch's default region for numbers given without '+'.
func CheckRegion(r string) error {
	if len(r) != 2 || phonenumbers.GetCountryCodeForRegion(strings.ToUpper(r)) == 0 {
		return fmt.Errorf("region %q: not a two-letter region code of phone numbers", r)
	}
	return nil
}

func isE164(v string) bool {
	if len(v) < 9 || len(v) > 16 || v[0] != '+' || v[1] < '1' || v[1] > '9' {
		return false
	}
	for i := 2; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

func normalizeMSISDN(v, region string) (string, string) {
	switch {
	case v == "":
		return "", "empty"
	case len(v) > maxMSISDNInput:
		return "", fmt.Sprintf("longer than %d characters", maxMSISDNInput)
	}
	digits := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ', c == '-', c == '.', c == '(', c == ')':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			return "", "contains letters"
		case c == '+':
			return "", "'+' only at the start"
		default:
			return "", "contains characters other than digits, '+', spaces, '-', '.', '(' and ')'"
		}
	}
	if digits == 0 {
		return "", "no digits"
	}
	if v[0] != '+' && region == "" {
		return "", "no country code ('+') and no default region"
	}
	num, err := phonenumbers.Parse(v, strings.ToUpper(region))
	if err != nil {
		if errors.Is(err, phonenumbers.ErrInvalidCountryCode) {
			return "", "unknown country code or default region"
		}
		return "", "not a phone number"
	}
	if num.GetExtension() != "" {
		return "", "has an extension"
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", "not a valid number"
	}
	return phonenumbers.Format(num, phonenumbers.E164), ""
}

func normalizeEmail(v string) (string, string) {
	switch {
	case v == "":
		return "", "empty"
	case len(v) > 4*maxEmail: // cheap bound before any work; the real one is below
		return "", fmt.Sprintf("longer than %d bytes", maxEmail)
	case !utf8.ValidString(v):
		return "", "not UTF-8"
	}
	// Validate the lower-cased form itself, so that what is accepted is
	// exactly what a second Normalize would accept (lower-casing can
	// change the length of non-ASCII text).
	v = strings.ToLower(v)
	if len(v) > maxEmail {
		return "", fmt.Sprintf("longer than %d bytes", maxEmail)
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", "contains white space or control characters"
		}
		if strings.ContainsRune(`<>()",;:[]\`, r) {
			return "", "not a bare address (display name, brackets, comment or quoting)"
		}
	}
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Name != "" || addr.Address != v {
		return "", "not an e-mail address"
	}
	local, domain, _ := strings.Cut(v, "@") // ParseAddress guarantees one '@' outside quotes, and quotes are refused
	switch {
	case len(local) > maxEmailLocal:
		return "", fmt.Sprintf("local part longer than %d bytes", maxEmailLocal)
	case !strings.Contains(domain, "."):
		return "", "domain has no dot"
	}
	for label := range strings.SplitSeq(domain, ".") {
		if len(label) > maxDNSLabel {
			return "", fmt.Sprintf("domain label longer than %d bytes", maxDNSLabel)
		}
	}
	return v, ""
}

func normalizeNationalID(v string) (string, string) {
	if len(v) < minNationalID || len(v) > maxNationalID {
		return "", fmt.Sprintf("not %d to %d characters", minNationalID, maxNationalID)
	}
	b := []byte(v)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			return "", "only letters A-Z and digits are allowed"
		}
	}
	return string(b), ""
}

func normalizeUUID(v string) (string, string) {
	const form = "not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
	if len(v) != 36 {
		return "", form
	}
	b := []byte(v)
	zero, max := true, true
	for i, c := range b {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return "", form
			}
			continue
		}
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c - 'A' + 'a'
		default:
			return "", form
		}
		zero = zero && b[i] == '0'
		max = max && b[i] == 'f'
	}
	if zero || max {
		return "", "the nil or max UUID is not a random key"
	}
	return string(b), ""
}

func normalizeHandle(v string, max int) (string, string) {
	if v == "" || len(v) > max {
		return "", fmt.Sprintf("not 1 to %d characters", max)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return "", "only A-Z a-z 0-9 . _ : - are allowed"
		}
	}
	return v, ""
}

// NewRandomKey returns a new RANDOM alias value: a version 4 UUID made of
// 16 bytes from r, in canonical form. Pass crypto/rand.Reader; tests pass
// a deterministic reader.
func NewRandomKey(r io.Reader) (string, error) {
	var u [16]byte
	if _, err := io.ReadFull(r, u[:]); err != nil {
		return "", fmt.Errorf("directory: new random key: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	const hex = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(out[:]), nil
}
