// Package fault is the switch's vocabulary of what goes wrong: a small
// set of kinds (invalid, not found, conflict, refused, unavailable, …)
// and named errors that carry a kind and a stable code.
//
// The core packages declare their sentinel errors with New, so that no
// refusal reaches a front end without a kind. Each front end then maps
// kinds and codes to its own vocabulary once: the JSON API to an HTTP
// status and a problem type named by the code; the Mojaloop FSPIOP and
// ISO 20022 front ends to their error and reason codes. A code is stable
// across releases: clients branch on it.
package fault

import "errors"

// Kind says what sort of failure an error is, which decides how a front
// end answers it and whether the caller may retry.
type Kind uint8

// The kinds. The zero value is Internal, so that an error nobody
// classified is treated as the switch's own fault, never as the caller's.
const (
	// Internal is a bug or a broken dependency: the caller cannot fix it.
	Internal Kind = iota
	// Invalid means the request is malformed; the message says how.
	Invalid
	// Unauthorized means the credentials are missing or wrong.
	Unauthorized
	// Forbidden means the caller may not do this.
	Forbidden
	// NotFound means there is no such thing, or none the caller may see.
	NotFound
	// Conflict means the request contradicts what exists: an id used
	// before for other content, a state that is already final.
	Conflict
	// Refused means the request is well formed but the scheme's rules
	// refuse it now: funds, a participant's status, a currency, a quote.
	Refused
	// Unavailable means the switch cannot take the request now (starting,
	// stopping, overloaded): retry later.
	Unavailable
	kindEnd
)

var kindNames = [...]string{"internal", "invalid", "unauthorized", "forbidden", "not-found", "conflict", "refused", "unavailable"}

// String names the kind.
func (k Kind) String() string {
	if k < kindEnd {
		return kindNames[k]
	}
	return "kind?"
}

// Kinds lists every kind, for front ends' tests that map each of them.
func Kinds() []Kind {
	out := make([]Kind, 0, kindEnd)
	for k := Internal; k < kindEnd; k++ {
		out = append(out, k)
	}
	return out
}

// genericCodes are the codes of errors declared without one of their own.
var genericCodes = [...]string{"internal", "invalid-request", "unauthorized", "forbidden", "not-found", "duplicate-conflict", "refused", "unavailable"}

// Error is a named error with a kind and a code. Declare sentinels with
// New and compare with errors.Is, which matches by identity.
type Error struct {
	kind Kind
	code string
	msg  string
}

// New returns a named error. An empty code means the kind's generic code
// ("invalid-request", "not-found", "duplicate-conflict", …).
func New(k Kind, code, msg string) *Error {
	if k >= kindEnd {
		panic("fault: unknown kind")
	}
	if code == "" {
		code = genericCodes[k]
	}
	return &Error{kind: k, code: code, msg: msg}
}

// Error returns the message.
func (e *Error) Error() string { return e.msg }

// Kind returns the error's kind.
func (e *Error) Kind() Kind { return e.kind }

// Code returns the error's stable code.
func (e *Error) Code() string { return e.code }

// Of returns the named error that err is or wraps, or nil.
func Of(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of the named error err wraps; Internal if it
// wraps none.
func KindOf(err error) Kind {
	if e := Of(err); e != nil {
		return e.kind
	}
	return Internal
}

// CodeOf returns the code of the named error err wraps; "internal" if it
// wraps none.
func CodeOf(err error) string {
	if e := Of(err); e != nil {
		return e.code
	}
	return genericCodes[Internal]
}
