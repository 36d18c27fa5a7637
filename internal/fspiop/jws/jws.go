// Package jws signs and verifies Mojaloop's FSPIOP-Signature: a detached
// JWS (RS256 or ES256) over a protected header that names the request
// (FSPIOP-URI, FSPIOP-HTTP-Method, FSPIOP-Source, and FSPIOP-Destination
// and Date when the request has them) and over the body in canonical form.
//
// It follows what Mojaloop's sdk-standard-components does, byte for byte,
// because that is what the SDK scheme adapter on the other end runs:
// Signer is its JwsSigner (for an RSA key the signature is
// deterministic and equal to the one Node makes), Verify its JwsValidator
// with jsonwebtoken's checks, and Canonical its safe-stable-stringify.
// The body is canonicalised again on verification, so a body re-indented
// or re-ordered in transit still verifies; any change of a value, of the
// signed headers or of the Date and FSPIOP-Destination headers does not.
// A switch that relays a signed request copies the signed headers with
// Relay and the body unchanged.
package jws

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/fault"
)

// Errors. Verify's errors wrap ErrSignature and are *CheckError values;
// the others say what was wrong with a key or a body.
var (
	// ErrSignature means a request's FSPIOP-Signature is missing, malformed
	// or does not match the request. FSPIOP answers it with error 3105
	// "Invalid signature - <detail>" (CheckError.Detail).
	ErrSignature = fault.New(fault.Unauthorized, "invalid-signature", "invalid signature")
	// ErrJSON means a body is not JSON that Canonical accepts. Coming from
	// a peer it is malformed syntax (FSPIOP 3101).
	ErrJSON = fault.New(fault.Invalid, "malformed-json", "jws: body is not JSON within the canonical form's bounds")
	// ErrKey means a PEM key is unreadable or of a kind Mojaloop does not
	// sign with: only RSA of 2048 bits or more and ECDSA on P-256 are taken.
	ErrKey = fault.New(fault.Invalid, "invalid-jws-key", "jws: unusable key")
	// ErrSign means a request cannot be signed as it stands (no body, no
	// FSPIOP-Source, a URI without a path, a header value that is not
	// printable ASCII). It is the signing side's own mistake.
	ErrSign = fault.New(fault.Internal, "", "jws: cannot sign the request")
)

// The algorithms Mojaloop signs with.
const (
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256, Mojaloop's default.
	RS256 = "RS256"
	// ES256 is ECDSA on P-256 with SHA-256.
	ES256 = "ES256"
)

// RSABitsMin is the smallest RSA modulus accepted, in bits.
const RSABitsMin = 2048

// The headers of a signed request.
const (
	HeaderSignature   = "FSPIOP-Signature"   // {"protectedHeader":"…","signature":"…"}
	HeaderURI         = "FSPIOP-URI"         // the signed path, from the resource on
	HeaderMethod      = "FSPIOP-HTTP-Method" // the signed method, upper case
	HeaderSource      = "FSPIOP-Source"      // the sender, whose key verifies
	HeaderDestination = "FSPIOP-Destination" // the receiver, signed when sent
	HeaderDate        = "Date"               // signed when sent
)

// relayed are the headers Relay copies.
var relayed = [...]string{HeaderSignature, HeaderURI, HeaderMethod, HeaderSource, HeaderDestination, HeaderDate}

// Relay copies into dst, replacing what dst had, the headers a switch must
// forward untouched with a signed body for the receiver's check to pass:
// FSPIOP-Signature, FSPIOP-URI, FSPIOP-HTTP-Method, FSPIOP-Source,
// FSPIOP-Destination and Date. A header absent from src is removed from
// dst: an FSPIOP-Destination the sender did not sign fails the receiver's
// check.
func Relay(dst, src http.Header) {
	for _, name := range relayed {
		dst.Del(name)
		for _, v := range src.Values(name) {
			dst.Add(name, v)
		}
	}
}

// Key is a participant's public key for verifying its signatures.
type Key struct {
	pub crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey on P-256
	alg string
}

// ParsePublicKey reads the first key in a PEM file: a "PUBLIC KEY" (SPKI,
// what Mojaloop's JWS_VERIFICATION_KEYS_DIRECTORY holds), an "RSA PUBLIC
// KEY" (PKCS #1) or a "CERTIFICATE". It refuses RSA keys under
// RSABitsMin bits, curves other than P-256, other key types and private
// keys (a key directory is no place for them), with an error wrapping
// ErrKey.
func ParsePublicKey(pemKey []byte) (*Key, error) {
	for rest := pemKey; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: no public key in the PEM data", ErrKey)
		}
		var pub any
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(b.Bytes); err == nil {
				pub = cert.PublicKey
			}
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: a private key where a public key is expected", ErrKey)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKey, b.Type, err)
		}
		return newKey(pub)
	}
}

func newKey(pub any) (*Key, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < RSABitsMin {
			return nil, fmt.Errorf("%w: RSA key of %d bits, under %d", ErrKey, bits, RSABitsMin)
		}
		return &Key{pub: k, alg: RS256}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA key on %s, not P-256", ErrKey, k.Curve.Params().Name)
		}
		return &Key{pub: k, alg: ES256}, nil
	default:
		return nil, fmt.Errorf("%w: %T keys are not used by Mojaloop", ErrKey, pub)
	}
}

// Alg returns the algorithm the key verifies: RS256 or ES256.
func (k *Key) Alg() string { return k.alg }

// PEM returns the key as a "PUBLIC KEY" PEM block, the form a Mojaloop
// DFSP installs as <fspId>.pem to verify what the switch signs.
func (k *Key) PEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		panic("jws: marshal a key parsed before: " + err.Error()) // RSA and P-256 always marshal
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Signer signs requests with one private key. It is safe for concurrent
// use.
type Signer struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	key *Key
}

// NewSigner reads a private key from PEM: RSA as PKCS #1 ("RSA PRIVATE
// KEY") or PKCS #8 ("PRIVATE KEY"), signing RS256; ECDSA on P-256 as SEC 1
// ("EC PRIVATE KEY", after any "EC PARAMETERS" block) or PKCS #8, signing
// ES256. (sdk-standard-components picks ES256 only for SEC 1 PEM; with a
// PKCS #8 EC key it mislabels its signatures RS256.) Encrypted keys, RSA
// under RSABitsMin bits and other curves are refused with an error
// wrapping ErrKey.
func NewSigner(pemKey []byte) (*Signer, error) {
	for rest := pemKey; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: no private key in the PEM data", ErrKey)
		}
		var priv any
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			priv, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			priv, err = x509.ParseECPrivateKey(b.Bytes)
		case "PRIVATE KEY":
			priv, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: encrypted private key", ErrKey)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKey, b.Type, err)
		}
		if _, encrypted := b.Headers["DEK-Info"]; encrypted {
			return nil, fmt.Errorf("%w: encrypted private key", ErrKey)
		}
		s := &Signer{}
		var pub any
		switch k := priv.(type) {
		case *rsa.PrivateKey:
			s.rsa, pub = k, &k.PublicKey
		case *ecdsa.PrivateKey:
			s.ec, pub = k, &k.PublicKey
		default:
			return nil, fmt.Errorf("%w: %T keys are not used by Mojaloop", ErrKey, priv)
		}
		if s.key, err = newKey(pub); err != nil {
			return nil, err
		}
		return s, nil
	}
}

// PublicKey returns the key that verifies the signer's signatures.
func (s *Signer) PublicKey() *Key { return s.key }

// uriPattern is sdk-standard-components' regular expression for the
// FSPIOP-URI of a request URL: from the last "/<resource>" on (or "/" when
// there is none). Go's regexp chooses the same submatch as JavaScript's.
var uriPattern = regexp.MustCompile(`(?:^.*)(\/(participants|parties|quotes|bulkQuotes|transfers|bulkTransfers|transactionRequests|thirdpartyRequests|authorizations|consents|consentRequests|fxQuotes|fxTransfers|)(\/.*)*)$`)

// URIPath returns the FSPIOP-URI that sdk-standard-components signs for a
// request to uri (a URL or a path): the path from the resource on, with
// the query, without scheme, host or base path
// ("http://sw:4000/base/quotes/1" → "/quotes/1").
func URIPath(uri string) (string, error) {
	m := uriPattern.FindStringSubmatch(uri)
	if m == nil {
		return "", fmt.Errorf("%w: URI %q has no path to protect", ErrSign, uri)
	}
	return m[1], nil
}

// Sign signs a request as sdk-standard-components does. It sets
// FSPIOP-HTTP-Method (method in upper case), FSPIOP-URI (URIPath(uri)) and
// FSPIOP-Signature in h, protecting those two with FSPIOP-Source and, when
// h has them, FSPIOP-Destination and Date: set them before signing and do
// not change them after. It returns the canonical form of body, which is
// what was signed and what must be sent. Mojaloop signs only requests
// with a body (POST, PUT, PATCH); Sign refuses an empty one.
func (s *Signer) Sign(h http.Header, method, uri string, body []byte) (canonicalBody []byte, err error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: no body", ErrSign)
	}
	if !isToken(method) {
		return nil, fmt.Errorf("%w: method %q", ErrSign, method)
	}
	path, err := URIPath(uri)
	if err != nil {
		return nil, err
	}
	canonical, err := Canonical(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSign, err)
	}
	method = strings.ToUpper(method)
	// The protected header, its members in the order SSC writes them.
	fields := [...]struct{ name, value string }{
		{"alg", s.key.alg},
		{HeaderURI, path},
		{HeaderMethod, method},
		{HeaderSource, ""},
		{HeaderDestination, ""},
		{HeaderDate, ""},
	}
	for i := 3; i < len(fields); i++ {
		vs := h.Values(fields[i].name)
		if len(vs) > 1 {
			return nil, fmt.Errorf("%w: %d %s headers", ErrSign, len(vs), fields[i].name)
		}
		if len(vs) == 1 {
			fields[i].value = vs[0]
		}
	}
	if fields[3].value == "" {
		return nil, fmt.Errorf("%w: no %s header", ErrSign, HeaderSource)
	}
	ph := []byte{'{'}
	for _, f := range fields {
		if f.value == "" {
			continue // SSC leaves out an absent Destination or Date
		}
		if !printable(f.value) {
			return nil, fmt.Errorf("%w: %s %q is not printable ASCII", ErrSign, f.name, f.value)
		}
		if len(ph) > 1 {
			ph = append(ph, ',')
		}
		ph = appendString(ph, f.name)
		ph = append(ph, ':')
		ph = appendString(ph, f.value)
	}
	ph = append(ph, '}')
	protected := b64.EncodeToString(ph)
	input := protected + "." + b64.EncodeToString(canonical)
	sig, err := s.sign([]byte(input))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSign, err)
	}
	h.Set(HeaderMethod, method)
	h.Set(HeaderURI, path)
	h.Set(HeaderSignature, `{"protectedHeader":"`+protected+`","signature":"`+b64.EncodeToString(sig)+`"}`)
	return canonical, nil
}

func (s *Signer) sign(input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	if s.rsa != nil {
		return rsa.SignPKCS1v15(nil, s.rsa, crypto.SHA256, digest[:])
	}
	r, ss, err := ecdsa.Sign(nil, s.ec, digest[:]) // Go ignores the reader and uses its own randomness
	if err != nil {
		return nil, err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return sig, nil
}

// isToken reports whether s is a non-empty run of ASCII letters, as an
// HTTP method is.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// printable reports whether s is printable ASCII, which a header value
// must be for SSC's protected header (written as Latin-1) to carry it
// unchanged.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

var b64 = base64.RawURLEncoding

// Check names the test of Verify that a request failed.
type Check string

// The checks, in the order Verify makes them (that of sdk-standard-
// components' JwsValidator and of jsonwebtoken within it).
const (
	CheckBody        Check = "body"         // a body to canonicalise
	CheckSource      Check = "source"       // an FSPIOP-Source header
	CheckKey         Check = "key"          // a key for the source
	CheckHeaders     Check = "headers"      // FSPIOP-URI, FSPIOP-HTTP-Method, FSPIOP-Signature present
	CheckFormat      Check = "format"       // FSPIOP-Signature is {"protectedHeader":…,"signature":…} in base64url
	CheckAlg         Check = "alg"          // alg RS256 or ES256, the key's
	CheckSignature   Check = "signature"    // the signature verifies
	CheckURI         Check = "uri"          // protected FSPIOP-URI equals the header
	CheckMethod      Check = "method"       // protected FSPIOP-HTTP-Method equals the header
	CheckSourceMatch Check = "source-match" // protected FSPIOP-Source equals the header
	CheckDate        Check = "date"         // protected Date, if any, equals the header
	CheckDestination Check = "destination"  // FSPIOP-Destination in both or neither, equal
)

// CheckError is the error of a failed Verify: which check failed and why.
// It wraps ErrSignature.
type CheckError struct {
	Check  Check
	Detail string // for FSPIOP's "Invalid signature - <detail>"
}

// Error returns "invalid signature: <detail>".
func (e *CheckError) Error() string { return ErrSignature.Error() + ": " + e.Detail }

// Unwrap returns ErrSignature.
func (e *CheckError) Unwrap() error { return ErrSignature }

func failed(c Check, format string, args ...any) error {
	return &CheckError{Check: c, Detail: fmt.Sprintf(format, args...)}
}

// Verify checks a request's FSPIOP-Signature against k, the key of the
// participant its FSPIOP-Source names (nil if it has none), exactly as
// sdk-standard-components' JwsValidator does:
//
//  1. there is a body, an FSPIOP-Source header and a key;
//  2. FSPIOP-URI, FSPIOP-HTTP-Method and FSPIOP-Signature are present;
//  3. the signature, of protectedHeader + "." + base64url(Canonical(body))
//     (sdk-standard-components 19 on) or of the body as received (before
//     19, which signed the body unsorted), verifies with k under the
//     protected header's alg, which must be RS256 or ES256 and suit k;
//  4. the protected FSPIOP-URI, FSPIOP-HTTP-Method and FSPIOP-Source
//     equal the headers; a protected Date equals the Date header (a Date
//     header without a protected one passes, as in Mojaloop);
//     FSPIOP-Destination is in both or in neither and equal.
//
// Header values are compared as Node sees them: repeated headers joined
// by ", ", bytes read as Latin-1, empty meaning absent. Verify does not
// compare FSPIOP-URI with the request's own path, nor the method: a
// relayed request keeps its sender's. The error is a *CheckError wrapping
// ErrSignature.
//
// It differs from Mojaloop only on bodies no Mojaloop signer sends: those
// Canonical refuses (duplicate keys, bytes that are not UTF-8, past
// BodyMax or DepthMax) fail CheckBody, and the JWT claims "exp" and "nbf"
// that jsonwebtoken would check against the clock when a body has them at
// its top (no FSPIOP body does) are not looked at. h is as net/http
// gives it, with canonical keys.
func Verify(k *Key, h http.Header, body []byte) error {
	if len(body) == 0 {
		return failed(CheckBody, "cannot validate JWS without a body")
	}
	canonical, err := Canonical(body)
	if err != nil {
		return failed(CheckBody, "%v", err)
	}
	switch string(canonical) { // JSON.parse gave a falsy body
	case "0", "false", "null", `""`:
		return failed(CheckBody, "cannot validate JWS without a body")
	}
	source := header(h, HeaderSource)
	if source == "" {
		return failed(CheckSource, "FSPIOP-Source HTTP header not in request headers")
	}
	if k == nil {
		return failed(CheckKey, "JWS public key for %q not available", source)
	}
	uri, method, sigHeader := header(h, HeaderURI), header(h, HeaderMethod), header(h, HeaderSignature)
	if uri == "" || method == "" || sigHeader == "" {
		return failed(CheckHeaders, "fspiop-uri, fspiop-http-method and fspiop-signature HTTP headers are all required for JWS")
	}
	protected, sig, err := parseSignatureHeader(sigHeader)
	if err != nil {
		return err
	}
	ph, err := decodeProtected(protected)
	if err != nil {
		return err
	}
	alg, ok := jsonString(ph["alg"])
	if !ok || alg != RS256 && alg != ES256 {
		return failed(CheckAlg, "invalid algorithm %s, should be RS256 or ES256", rawOr(ph["alg"], "(none)"))
	}
	if alg != k.alg {
		return failed(CheckAlg, "alg %s does not suit the source's %s key", alg, keyType(k))
	}
	// sdk-standard-components before 19 signed the body as its sender
	// wrote it, keys in their own order, not sorted: Mojaloop's SDK
	// scheme adapter 18 still does. Such a signature covers the bytes
	// received, which is no weaker.
	if !k.verify([]byte(protected+"."+b64.EncodeToString(canonical)), sig) &&
		!k.verify([]byte(protected+"."+b64.EncodeToString(body)), sig) {
		return failed(CheckSignature, "invalid signature")
	}
	for _, c := range [...]struct {
		check  Check
		name   string
		header string
	}{{CheckURI, HeaderURI, uri}, {CheckMethod, HeaderMethod, method}, {CheckSourceMatch, HeaderSource, source}} {
		v := ph[c.name]
		if !truthy(v) {
			return failed(c.check, "decoded protected header does not contain required %s element", c.name)
		}
		if s, ok := jsonString(v); !ok || s != c.header {
			return failed(c.check, "%s HTTP request header value: %s does not match protected header value: %s", c.name, c.header, rawOr(v, ""))
		}
	}
	if v := ph[HeaderDate]; truthy(v) {
		date := header(h, HeaderDate)
		if date == "" {
			return failed(CheckDate, "Date header is present in protected header but not in HTTP request")
		}
		if s, ok := jsonString(v); !ok || s != date {
			return failed(CheckDate, "HTTP date header: %s does not match protected header Date value: %s", date, rawOr(v, ""))
		}
	}
	dest, pdest := header(h, HeaderDestination), ph[HeaderDestination]
	switch {
	case dest != "" && !truthy(pdest):
		return failed(CheckDestination, "HTTP fspiop-destination header is present but is not present in protected header")
	case dest == "" && truthy(pdest):
		return failed(CheckDestination, "FSPIOP-Destination header is present in protected header but not in HTTP request")
	case dest != "":
		if s, ok := jsonString(pdest); !ok || s != dest {
			return failed(CheckDestination, "HTTP FSPIOP-Destination header: %s does not match protected header FSPIOP-Destination value: %s", dest, rawOr(pdest, ""))
		}
	}
	return nil
}

// header returns a header as Node gives it to the validator: repeated
// lines joined by ", ", each byte a Latin-1 character (here in UTF-8, to
// compare with the protected header decoded the same way).
func header(h http.Header, name string) string {
	return latin1(strings.Join(h.Values(name), ", "))
}

func latin1(s string) string {
	if isASCII(s) {
		return s
	}
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// tokenChars is what the jws package's token pattern allows in each part.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseSignatureHeader reads FSPIOP-Signature, returning the protected
// header as sent and the signature decoded.
func parseSignatureHeader(v string) (protected string, sig []byte, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &fields); err != nil || fields == nil {
		return "", nil, failed(CheckFormat, "FSPIOP-Signature is not a JSON object")
	}
	protected, ok1 := jsonString(fields["protectedHeader"])
	signature, ok2 := jsonString(fields["signature"])
	switch {
	case !ok1 || !ok2:
		return "", nil, failed(CheckFormat, "FSPIOP-Signature lacks protectedHeader or signature strings")
	case protected == "" || !tokenChars(protected) || !tokenChars(signature):
		return "", nil, failed(CheckFormat, "jwt malformed")
	case signature == "":
		return "", nil, failed(CheckFormat, "jwt signature is required")
	}
	sig, err = decodeLenient(signature)
	if err != nil {
		return "", nil, failed(CheckFormat, "signature is not base64url")
	}
	return protected, sig, nil
}

// decodeProtected decodes the protected header as jws does: base64, the
// bytes read as Latin-1, then JSON.
func decodeProtected(protected string) (map[string]json.RawMessage, error) {
	raw, err := decodeLenient(protected)
	if err != nil {
		return nil, failed(CheckFormat, "invalid token")
	}
	var ph map[string]json.RawMessage
	if err := json.Unmarshal([]byte(latin1(string(raw))), &ph); err != nil || ph == nil {
		return nil, failed(CheckFormat, "invalid token: protected header is not a JSON object")
	}
	return ph, nil
}

// decodeLenient decodes base64url as Node's Buffer does: a final lone
// character is dropped and the unused bits of the last one are ignored.
func decodeLenient(s string) ([]byte, error) {
	if len(s)%4 == 1 {
		s = s[:len(s)-1]
	}
	return b64.DecodeString(s)
}

// jsonString returns the value of a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// truthy reports whether a JSON value is true in JavaScript: not absent,
// null, false, 0 or "".
func truthy(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "", "null", "false", `""`:
		return false
	}
	if raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' {
		f, _ := strconv.ParseFloat(string(raw), 64) // out of range: ±Inf, truthy
		return f != 0
	}
	return true
}

func rawOr(raw json.RawMessage, absent string) string {
	if len(raw) == 0 {
		return absent
	}
	if s, ok := jsonString(raw); ok {
		return s
	}
	return string(raw)
}

func keyType(k *Key) string {
	if k.alg == RS256 {
		return "RSA"
	}
	return "EC P-256"
}

// verify checks sig over input. An ES256 signature is r‖s, 32 bytes each,
// as JOSE writes it; any other length fails, as in jwa.
func (k *Key) verify(input, sig []byte) bool {
	digest := sha256.Sum256(input)
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, digest[:], r, s)
	}
	return false
}
