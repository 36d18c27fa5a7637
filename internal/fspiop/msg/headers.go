package msg

import (
	"net/http"
	"strings"
	"time"
)

// Header names, in the case the specification writes them (Go's
// http.Header canonicalizes them on the way in and out; peers match
// case-insensitively).
const (
	HeaderAccept        = "Accept"
	HeaderContentType   = "Content-Type"
	HeaderContentLength = "Content-Length"
	HeaderDate          = "Date"
	HeaderAuthorization = "Authorization"
	HeaderForwardedFor  = "X-Forwarded-For"
	HeaderSource        = "FSPIOP-Source"
	HeaderDestination   = "FSPIOP-Destination"
	HeaderEncryption    = "FSPIOP-Encryption"
	HeaderSignature     = "FSPIOP-Signature"
	HeaderURI           = "FSPIOP-URI"
	HeaderHTTPMethod    = "FSPIOP-HTTP-Method"
)

// Resources: the first segment of a path, which names the content type
// of every request and callback under it (errors included).
const (
	ResourceParties             = "parties"
	ResourceParticipants        = "participants"
	ResourceQuotes              = "quotes"
	ResourceTransfers           = "transfers"
	ResourceBulkQuotes          = "bulkQuotes"
	ResourceBulkTransfers       = "bulkTransfers"
	ResourceTransactionRequests = "transactionRequests"
	ResourceAuthorizations      = "authorizations"
)

// Versions of the API this package speaks. Mojaloop's SDK sends 1.0 by
// default, and only the transfers resource changed in 1.1 (PATCH and
// RESERVED), so both are accepted.
const (
	Version10 = "1.0"
	Version11 = "1.1"
	// DefaultVersion is the version of messages the switch starts.
	DefaultVersion = Version11
)

// supported lists the versions accepted in Content-Type, in increasing
// order; an Accept header may also name a major version alone ("1").
var supported = []string{Version10, Version11}

// SupportedVersions returns the versions accepted in Content-Type and
// Accept headers.
func SupportedVersions() []string { return append([]string(nil), supported...) }

// MaxBody is the largest body Mojaloop's switch accepts (5 MiB).
const MaxBody = 5 << 20

const contentTypePrefix = "application/vnd.interoperability."

// ContentType returns the media type of a resource's messages at a
// version: "application/vnd.interoperability.transfers+json;version=1.1".
func ContentType(resource, version string) string {
	return contentTypePrefix + resource + "+json;version=" + version
}

// Accept returns the Accept header the switch sends with a request:
// the major version only ("…+json;version=1"), as Mojaloop's SDK does,
// so that any 1.x peer answers.
func Accept(resource string) string {
	return contentTypePrefix + resource + "+json;version=1"
}

// Errors of header parsing, with Mojaloop's details.
const (
	detailNoContentType   = "Content-type is required"
	detailBadContentType  = "Invalid content-type header"
	detailContentVersion  = "Client supplied a protocol version which is not supported by the server"
	detailNoAccept        = "Accept is required"
	detailBadAccept       = "Invalid accept header"
	detailAcceptVersion   = "The Client requested an unsupported version, see extension list for supported version(s)."
	detailNoDate          = "Missing required date header"
	detailBadDate         = "Invalid date header"
	detailPayloadTooLarge = "Payload size is too large"
)

// versionError is the 406 answer: 3001 with the supported versions in
// the extension list, key the major and value the minor version.
func versionError(detail string) *Error {
	e := &Error{Code: UnacceptableVersion, Detail: detail}
	for _, v := range supported {
		major, minor, _ := strings.Cut(v, ".")
		e.Extensions = append(e.Extensions, Extension{Key: major, Value: minor})
	}
	return e
}

// TooLarge returns the error of a body longer than allowed: 3104 "Too
// large payload - Payload size is too large".
func TooLarge() *Error { return &Error{Code: TooLargePayload, Detail: detailPayloadTooLarge} }

// ParseContentType reads a Content-Type header of a message on resource
// and returns its version ("1.0" or "1.1"), with Mojaloop's rule:
// ^application/vnd\.interoperability\.<resource>\+json\s?;\s?version=(\d+\.\d+)$,
// case-sensitive. A missing header is 3102, a malformed one (a plain
// application/json, another resource, a version without its minor
// number) 3101, and an unsupported version 3001, whose HTTP status is
// 406.
func ParseContentType(v, resource string) (string, error) {
	if v == "" {
		return "", &Error{Code: MissingElement, Detail: detailNoContentType}
	}
	rest, ok := mediaType(v, resource)
	if !ok || !strings.HasPrefix(rest, "version=") {
		return "", &Error{Code: MalformedSyntax, Detail: detailBadContentType}
	}
	ver := rest[len("version="):]
	major, minor, dot := strings.Cut(ver, ".")
	if !dot || !allDigits(major, 1, 64, false) || !allDigits(minor, 1, 64, false) {
		return "", &Error{Code: MalformedSyntax, Detail: detailBadContentType}
	}
	for _, s := range supported {
		if ver == s {
			return s, nil
		}
	}
	return "", versionError(detailContentVersion)
}

// mediaType matches "application/vnd.interoperability.<resource>+json"
// followed by an optional "\s?;\s?" and returns what follows the
// semicolon; ok is false unless the semicolon is there. A bare media
// type returns ("", true) from mediaTypeBare.
func mediaType(v, resource string) (rest string, ok bool) {
	rest, ok = mediaTypeBare(v, resource)
	if !ok || rest == "" {
		return "", false
	}
	rest = skipSpace(rest)
	if rest == "" || rest[0] != ';' {
		return "", false
	}
	return skipSpace(rest[1:]), true
}

// mediaTypeBare strips "application/vnd.interoperability.<resource>+json".
func mediaTypeBare(v, resource string) (string, bool) {
	if resource == "" || !strings.HasPrefix(v, contentTypePrefix) {
		return "", false
	}
	v = v[len(contentTypePrefix):]
	if !strings.HasPrefix(v, resource) || !strings.HasPrefix(v[len(resource):], "+json") {
		return "", false
	}
	return v[len(resource)+len("+json"):], true
}

// skipSpace drops at most one leading white-space character, as the
// \s{0,1} of Mojaloop's expression (ECMAScript \s).
func skipSpace(s string) string {
	for _, sp := range jsSpaces {
		if strings.HasPrefix(s, sp) {
			return s[len(sp):]
		}
	}
	return s
}

// jsSpaces is ECMAScript's \s: white space and line terminators.
var jsSpaces = []string{" ", "\t", "\n", "\v", "\f", "\r", "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002",
	"\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a", "\u2028", "\u2029",
	"\u202f", "\u205f", "\u3000", "\ufeff"}

// NegotiateAccept reads an Accept header of a request on resource and
// returns the version the answer should have: the highest supported
// version the header names ("1" names any 1.x; a media type without
// version names any version). It follows Mojaloop's rule: a
// comma-separated list (no spaces around commas) of
// application/vnd\.interoperability\.<resource>\+json(\s?;\s?version=\d+(\.\d+)?)?.
// A missing header is 3102, a malformed one 3101, one that names no
// supported version 3001 (406) with the supported versions as
// extensions.
func NegotiateAccept(v, resource string) (string, error) {
	if v == "" {
		return "", &Error{Code: MissingElement, Detail: detailNoAccept}
	}
	best := ""
	for item := range strings.SplitSeq(v, ",") {
		rest, ok := mediaTypeBare(item, resource)
		if !ok {
			return "", &Error{Code: MalformedSyntax, Detail: detailBadAccept}
		}
		if rest == "" { // any version
			best = supported[len(supported)-1]
			continue
		}
		rest, ok = mediaType(item, resource)
		if !ok || !strings.HasPrefix(rest, "version=") {
			return "", &Error{Code: MalformedSyntax, Detail: detailBadAccept}
		}
		ver := rest[len("version="):]
		major, minor, dot := strings.Cut(ver, ".")
		if !allDigits(major, 1, 64, false) || dot && !allDigits(minor, 1, 64, false) {
			return "", &Error{Code: MalformedSyntax, Detail: detailBadAccept}
		}
		for _, s := range supported {
			// Mojaloop matches the listed strings exactly: "1" means any
			// 1.x it supports, "1.00" matches nothing.
			sMajor, _, _ := strings.Cut(s, ".")
			if (ver == s || !dot && ver == sMajor) && s > best {
				best = s
			}
		}
	}
	if best == "" {
		return "", versionError(detailAcceptVersion)
	}
	return best, nil
}

// Resource returns the first segment of a request path, which names its
// resource: "/parties/MSISDN/27713803912" → "parties". A query string is
// ignored.
func Resource(path string) string {
	path = strings.TrimPrefix(path, "/")
	if i := strings.IndexAny(path, "/?"); i >= 0 {
		path = path[:i]
	}
	return path
}

// FormatDate returns t as the Date header writes it, an RFC 7231
// IMF-fixdate in GMT ("Mon, 07 Dec 2026 00:50:48 GMT").
func FormatDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// ParseDate reads a Date header, which must be an IMF-fixdate as
// Mojaloop checks it (ddd, DD MMM YYYY HH:mm:ss GMT). A missing header is
// 3102 "Missing required date header", another form 3101 "Invalid date
// header".
func ParseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, &Error{Code: MissingElement, Detail: detailNoDate}
	}
	t, err := time.Parse(http.TimeFormat, s)
	if err != nil {
		return time.Time{}, &Error{Code: MalformedSyntax, Detail: detailBadDate}
	}
	return t, nil
}

// dateTimeLayout writes a DateTime: milliseconds always, "Z" for UTC.
const dateTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatDateTime returns t in UTC as a DateTime of the specification,
// with exactly three fractional digits: "2026-12-07T01:00:00.000Z".
// Times outside the years 1000–9999 do not match the pattern.
func FormatDateTime(t time.Time) string { return t.UTC().Format(dateTimeLayout) }

// ParseDateTime reads a DateTime ("2026-12-07T01:00:00.000Z" or with an
// offset, "2026-12-07T03:00:00.000+02:00"), refusing anything the
// pattern refuses (no milliseconds, microseconds, a lower-case z,
// 24:00:00) with 3101.
func ParseDateTime(s string) (time.Time, error) {
	if !IsDateTime(s) {
		return time.Time{}, &Error{Code: MalformedSyntax, Detail: "not a DateTime with milliseconds (2006-01-02T15:04:05.000Z)"}
	}
	t, err := time.Parse(dateTimeLayout, s)
	if err != nil { // an offset of 19:59 parses; nothing the pattern admits should fail
		return time.Time{}, &Error{Code: MalformedSyntax, Detail: "DateTime out of range"}
	}
	return t, nil
}
