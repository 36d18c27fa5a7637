package msg

import (
	"strconv"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
)

// Code is an FSPIOP error code (spec v1.1 §7.6): four digits whose first
// says the category (1 communication, 2 server, 3 client, 4 payer, 5
// payee) and whose second the sub-category. It travels as a string.
type Code int

// The codes of the v1.1 specification, with the names Mojaloop gives them
// (central-services-error-handling MojaloopApiErrorCodes).
const (
	CommunicationError            Code = 1000
	DestinationCommunicationError Code = 1001

	ServerError             Code = 2000
	InternalServerError     Code = 2001
	NotImplemented          Code = 2002
	ServiceUnavailable      Code = 2003
	ServerTimedOut          Code = 2004
	ServerBusy              Code = 2005
	ClientError             Code = 3000
	UnacceptableVersion     Code = 3001
	UnknownURI              Code = 3002
	AddPartyInfoError       Code = 3003
	DeletePartyInfoError    Code = 3040
	ValidationError         Code = 3100
	MalformedSyntax         Code = 3101
	MissingElement          Code = 3102
	TooManyElements         Code = 3103
	TooLargePayload         Code = 3104
	InvalidSignature        Code = 3105
	ModifiedRequest         Code = 3106
	MissingMandatoryExt     Code = 3107
	IDNotFound              Code = 3200
	DestinationFSPError     Code = 3201
	PayerFSPIDNotFound      Code = 3202
	PayeeFSPIDNotFound      Code = 3203
	PartyNotFound           Code = 3204
	QuoteIDNotFound         Code = 3205
	TxnRequestIDNotFound    Code = 3206
	TxnIDNotFound           Code = 3207
	TransferIDNotFound      Code = 3208
	BulkQuoteIDNotFound     Code = 3209
	BulkTransferIDNotFound  Code = 3210
	ExpiredError            Code = 3300
	TxnRequestExpired       Code = 3301
	QuoteExpired            Code = 3302
	TransferExpired         Code = 3303
	PayerError              Code = 4000
	PayerFSPInsufficientLiq Code = 4001
	PayerRejection          Code = 4100
	PayerRejectedTxnRequest Code = 4101
	PayerFSPUnsupportedType Code = 4102
	PayerUnsupportedCurr    Code = 4103
	PayerLimitError         Code = 4200
	PayerPermissionError    Code = 4300
	PayerBlockedError       Code = 4400
	PayeeError              Code = 5000
	PayeeFSPInsufficientLiq Code = 5001
	PayeeRejection          Code = 5100
	PayeeRejectedQuote      Code = 5101
	PayeeFSPUnsupportedType Code = 5102
	PayeeFSPRejectedQuote   Code = 5103
	PayeeRejectedTxn        Code = 5104
	PayeeFSPRejectedTxn     Code = 5105
	PayeeUnsupportedCurr    Code = 5106
	PayeeIdentifierNotValid Code = 5107
	PayeeLimitError         Code = 5200
	PayeePermissionError    Code = 5300
	PayeeBlockedError       Code = 5400
)

// descriptions are Mojaloop's default messages, byte for byte: peers and
// the testing toolkit compare them.
var descriptions = map[Code]string{
	CommunicationError:            "Communication error",
	DestinationCommunicationError: "Destination communication error",
	ServerError:                   "Generic server error",
	InternalServerError:           "Internal server error",
	NotImplemented:                "Not implemented",
	ServiceUnavailable:            "Service currently unavailable",
	ServerTimedOut:                "Server timed out",
	ServerBusy:                    "Server busy",
	ClientError:                   "Generic client error",
	UnacceptableVersion:           "Unacceptable version requested",
	UnknownURI:                    "Unknown URI",
	AddPartyInfoError:             "Add Party information error",
	DeletePartyInfoError:          "Delete Party information error",
	ValidationError:               "Generic validation error",
	MalformedSyntax:               "Malformed syntax",
	MissingElement:                "Missing mandatory element",
	TooManyElements:               "Too many elements",
	TooLargePayload:               "Too large payload",
	InvalidSignature:              "Invalid signature",
	ModifiedRequest:               "Modified request",
	MissingMandatoryExt:           "Missing mandatory extension parameter",
	IDNotFound:                    "Generic ID not found",
	DestinationFSPError:           "Destination FSP Error",
	PayerFSPIDNotFound:            "Payer FSP ID not found",
	PayeeFSPIDNotFound:            "Payee FSP ID not found",
	PartyNotFound:                 "Party not found",
	QuoteIDNotFound:               "Quote ID not found",
	TxnRequestIDNotFound:          "Transaction request ID not found",
	TxnIDNotFound:                 "Transaction ID not found",
	TransferIDNotFound:            "Transfer ID not found",
	BulkQuoteIDNotFound:           "Bulk quote ID not found",
	BulkTransferIDNotFound:        "Bulk transfer ID not found",
	ExpiredError:                  "Generic expired error",
	TxnRequestExpired:             "Transaction request expired",
	QuoteExpired:                  "Quote expired",
	TransferExpired:               "Transfer expired",
	PayerError:                    "Generic Payer error",
	PayerFSPInsufficientLiq:       "Payer FSP insufficient liquidity",
	PayerRejection:                "Generic Payer rejection",
	PayerRejectedTxnRequest:       "Payer rejected transaction request",
	PayerFSPUnsupportedType:       "Payer FSP unsupported transaction type",
	PayerUnsupportedCurr:          "Payer unsupported currency",
	PayerLimitError:               "Payer limit error",
	PayerPermissionError:          "Payer permission error",
	PayerBlockedError:             "Generic Payer blocked error",
	PayeeError:                    "Generic Payee error",
	PayeeFSPInsufficientLiq:       "Payee FSP insufficient liquidity",
	PayeeRejection:                "Generic Payee rejection",
	PayeeRejectedQuote:            "Payee rejected quote",
	PayeeFSPUnsupportedType:       "Payee FSP unsupported transaction type",
	PayeeFSPRejectedQuote:         "Payee FSP rejected quote",
	PayeeRejectedTxn:              "Payee rejected transaction",
	PayeeFSPRejectedTxn:           "Payee FSP rejected transaction",
	PayeeUnsupportedCurr:          "Payee unsupported currency",
	PayeeIdentifierNotValid:       "Payee identifier no-longer valid",
	PayeeLimitError:               "Payee limit error",
	PayeePermissionError:          "Payee permission error",
	PayeeBlockedError:             "Generic Payee blocked error",
}

// Codes lists every code this package knows, in increasing order, for
// front ends' tests that map each of them.
func Codes() []Code {
	out := make([]Code, 0, len(descriptions))
	for c := Code(1000); c < 6000; c++ {
		if _, ok := descriptions[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// Known reports whether c is one of the specification's codes.
func (c Code) Known() bool {
	_, ok := descriptions[c]
	return ok
}

// Valid reports whether c has the form of an error code (^[1-9]\d{3}$):
// schemes may define their own codes within the categories.
func (c Code) Valid() bool { return c >= 1000 && c <= 9999 }

// String returns the code as it travels: four digits.
func (c Code) String() string { return strconv.Itoa(int(c)) }

// Description returns Mojaloop's default description of c. A code the
// specification does not define (a scheme's own, such as 3241) gets the
// description of its sub-category's generic code (3200 "Generic ID not
// found"), or of its category's, so that an error body is never without
// one; "" only for a code outside 1000–9999 or a category with none.
func (c Code) Description() string {
	if d, ok := descriptions[c]; ok {
		return d
	}
	if !c.Valid() {
		return ""
	}
	if d, ok := descriptions[c/100*100]; ok {
		return d
	}
	return descriptions[c/1000*1000]
}

// HTTPStatus returns the status of a synchronous answer carrying c, as
// Mojaloop's error-type table has it: 10xx 503, 20xx 500 (2002 501, 2003
// 503), 3001 406, 3002 404, every other client, payer and payee code
// 400. (3000 is also used with 405 for a wrong method: see
// MethodNotAllowed.) Unknown categories answer 500.
func (c Code) HTTPStatus() int {
	switch c {
	case NotImplemented:
		return 501
	case ServiceUnavailable:
		return 503
	case UnacceptableVersion:
		return 406
	case UnknownURI:
		return 404
	}
	switch c / 1000 {
	case 1:
		return 503
	case 3, 4, 5, 6:
		return 400
	}
	return 500
}

// ParseCode reads an errorCode string ("3204"). It refuses anything that
// does not match ^[1-9]\d{3}$.
func ParseCode(s string) (Code, error) {
	if !isErrorCode(s) {
		return 0, &Error{Code: MalformedSyntax, Detail: "errorCode must match ^[1-9]\\d{3}$"}
	}
	n, _ := strconv.Atoi(s)
	return Code(n), nil
}

func isErrorCode(s string) bool {
	if len(s) != 4 || s[0] < '1' || s[0] > '9' {
		return false
	}
	for i := 1; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Sentinel errors that an *Error wraps, by its code's category, so that
// code which knows nothing of FSPIOP can still branch with errors.Is or
// fault.KindOf.
var (
	// ErrInvalid: a client error of the request itself (30xx, 31xx):
	// answer 400 or send the error callback; do not retry unchanged.
	ErrInvalid = fault.New(fault.Invalid, "fspiop-invalid", "fspiop: invalid request")
	// ErrNotFound: an identifier is unknown (32xx).
	ErrNotFound = fault.New(fault.NotFound, "fspiop-not-found", "fspiop: not found")
	// ErrExpired: a quote, transfer or request expired (33xx).
	ErrExpired = fault.New(fault.Refused, "fspiop-expired", "fspiop: expired")
	// ErrRefused: the payer's or payee's side refused (4xxx, 5xxx).
	ErrRefused = fault.New(fault.Refused, "fspiop-refused", "fspiop: refused")
	// ErrUnavailable: a peer could not be reached or is overloaded (10xx,
	// 2003, 2004, 2005): the caller may retry later.
	ErrUnavailable = fault.New(fault.Unavailable, "fspiop-unavailable", "fspiop: unavailable")
	// ErrInternal: a server error (other 20xx and unknown categories).
	ErrInternal = fault.New(fault.Internal, "fspiop-internal", "fspiop: internal error")
)

// Error is an FSPIOP error: a code and an optional detail that follows
// the code's description ("Generic validation error - invalid
// fulfilment"). It is what this package's parsers and validators return,
// and what a front end turns into an error body with Info.
type Error struct {
	// Code is the FSPIOP error code.
	Code Code
	// Detail says more than the code's description; it must not carry
	// personal data, since it reaches the peer and the logs.
	Detail string
	// Extensions go into the error's extension list (3001 lists the
	// supported versions there).
	Extensions []Extension
	// Status overrides Code.HTTPStatus() for a synchronous answer when
	// not zero (405 for 3000 "Method Not Allowed").
	Status int
}

// MaxDescription is the longest errorDescription, in bytes (the
// specification says 128 characters; bytes keep every peer happy).
const MaxDescription = 128

// Error returns "<code> <description>", as the switch logs it.
func (e *Error) Error() string {
	return e.Code.String() + " " + e.description()
}

// Unwrap returns the sentinel of the code's category (ErrInvalid,
// ErrNotFound, …).
func (e *Error) Unwrap() error {
	c := e.Code
	switch {
	case c/100 == 32:
		return ErrNotFound
	case c/100 == 33:
		return ErrExpired
	case c/1000 == 3:
		return ErrInvalid
	case c/1000 == 4 || c/1000 == 5:
		return ErrRefused
	case c/100 == 10 || c == ServiceUnavailable || c == ServerTimedOut || c == ServerBusy:
		return ErrUnavailable
	}
	return ErrInternal
}

// HTTPStatus returns the status of a synchronous answer carrying e.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.HTTPStatus()
}

// Info returns e as an errorInformation object: the code, the
// description followed by " - " and the detail when there is one,
// truncated to MaxDescription bytes without splitting a character, and
// the extensions.
func (e *Error) Info() ErrorInformation {
	info := ErrorInformation{ErrorCode: e.Code.String(), ErrorDescription: e.description()}
	if len(e.Extensions) > 0 {
		info.ExtensionList = &ExtensionList{Extension: append([]Extension(nil), e.Extensions...)}
	}
	return info
}

// Body returns e as the body of an error callback or error answer.
func (e *Error) Body() ErrorBody { return ErrorBody{ErrorInformation: e.Info()} }

func (e *Error) description() string {
	d := e.Code.Description()
	if d == "" {
		d = "Error"
	}
	if e.Detail != "" {
		d += " - " + e.Detail
	}
	return truncate(d, MaxDescription)
}

// truncate cuts s to at most n bytes at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// MethodNotAllowed returns Mojaloop's answer to a known path with the
// wrong method: 405, "3000 Generic client error - Method Not Allowed".
func MethodNotAllowed() *Error {
	return &Error{Code: ClientError, Detail: "Method Not Allowed", Status: 405}
}

// NewError is a shorthand for &Error{Code: c, Detail: detail}.
func NewError(c Code, detail string) *Error { return &Error{Code: c, Detail: detail} }

// Code returns the code of errorInformation, or 0 if its errorCode is
// not four digits.
func (ei ErrorInformation) Code() Code {
	c, err := ParseCode(ei.ErrorCode)
	if err != nil {
		return 0
	}
	return c
}
