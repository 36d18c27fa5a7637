package msg

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
)

// TestCodes holds every code to Mojaloop's description and HTTP status
// (central-services-error-handling errors.js and its type table).
func TestCodes(t *testing.T) {
	tests := []struct {
		code   Code
		desc   string
		status int
	}{
		{1000, "Communication error", 503}, {1001, "Destination communication error", 503},
		{2000, "Generic server error", 500}, {2001, "Internal server error", 500}, {2002, "Not implemented", 501},
		{2003, "Service currently unavailable", 503}, {2004, "Server timed out", 500}, {2005, "Server busy", 500},
		{3000, "Generic client error", 400}, {3001, "Unacceptable version requested", 406}, {3002, "Unknown URI", 404},
		{3003, "Add Party information error", 400}, {3040, "Delete Party information error", 400},
		{3100, "Generic validation error", 400}, {3101, "Malformed syntax", 400}, {3102, "Missing mandatory element", 400},
		{3103, "Too many elements", 400}, {3104, "Too large payload", 400}, {3105, "Invalid signature", 400},
		{3106, "Modified request", 400}, {3107, "Missing mandatory extension parameter", 400},
		{3200, "Generic ID not found", 400}, {3201, "Destination FSP Error", 400}, {3202, "Payer FSP ID not found", 400},
		{3203, "Payee FSP ID not found", 400}, {3204, "Party not found", 400}, {3205, "Quote ID not found", 400},
		{3206, "Transaction request ID not found", 400}, {3207, "Transaction ID not found", 400},
		{3208, "Transfer ID not found", 400}, {3209, "Bulk quote ID not found", 400}, {3210, "Bulk transfer ID not found", 400},
		{3300, "Generic expired error", 400}, {3301, "Transaction request expired", 400}, {3302, "Quote expired", 400},
		{3303, "Transfer expired", 400},
		{4000, "Generic Payer error", 400}, {4001, "Payer FSP insufficient liquidity", 400}, {4100, "Generic Payer rejection", 400},
		{4101, "Payer rejected transaction request", 400}, {4102, "Payer FSP unsupported transaction type", 400},
		{4103, "Payer unsupported currency", 400}, {4200, "Payer limit error", 400}, {4300, "Payer permission error", 400},
		{4400, "Generic Payer blocked error", 400},
		{5000, "Generic Payee error", 400}, {5001, "Payee FSP insufficient liquidity", 400}, {5100, "Generic Payee rejection", 400},
		{5101, "Payee rejected quote", 400}, {5102, "Payee FSP unsupported transaction type", 400},
		{5103, "Payee FSP rejected quote", 400}, {5104, "Payee rejected transaction", 400},
		{5105, "Payee FSP rejected transaction", 400}, {5106, "Payee unsupported currency", 400},
		{5107, "Payee identifier no-longer valid", 400}, {5200, "Payee limit error", 400},
		{5300, "Payee permission error", 400}, {5400, "Generic Payee blocked error", 400},
	}
	if len(tests) != len(Codes()) {
		t.Errorf("%d codes tested, %d known", len(tests), len(Codes()))
	}
	for _, tt := range tests {
		if !tt.code.Known() || tt.code.Description() != tt.desc || tt.code.HTTPStatus() != tt.status {
			t.Errorf("%d: %q %d, want %q %d", tt.code, tt.code.Description(), tt.code.HTTPStatus(), tt.desc, tt.status)
		}
		e := &Error{Code: tt.code}
		if info := e.Info(); info.ErrorCode != tt.code.String() || info.ErrorDescription != tt.desc || info.Validate() != nil {
			t.Errorf("%d: Info = %+v", tt.code, info)
		}
	}
}

func TestSchemeCodes(t *testing.T) {
	tests := []struct {
		code   Code
		desc   string
		status int
	}{
		{3241, "Generic ID not found", 400}, {4999, "Generic Payer error", 400}, {1099, "Communication error", 503},
		{2099, "Generic server error", 500}, {7001, "", 500}, {999, "", 500},
	}
	for _, tt := range tests {
		if tt.code.Known() || tt.code.Description() != tt.desc || tt.code.HTTPStatus() != tt.status {
			t.Errorf("%d: %v %q %d", tt.code, tt.code.Known(), tt.code.Description(), tt.code.HTTPStatus())
		}
	}
}

func TestErrorInfo(t *testing.T) {
	long := strings.Repeat("é", 100)
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: 3100, Detail: "invalid fulfilment"}, "Generic validation error - invalid fulfilment"},
		{&Error{Code: 3204}, "Party not found"},
		{&Error{Code: 3100, Detail: long}, ("Generic validation error - " + long)[:127]},
		{&Error{Code: 7001, Detail: "x"}, "Error - x"},
	}
	for _, tt := range tests {
		got := tt.err.Info().ErrorDescription
		if got != tt.want || len(got) > MaxDescription || !utf8.ValidString(got) {
			t.Errorf("Info(%v) = %q, want %q", tt.err.Code, got, tt.want)
		}
	}
	if e := MethodNotAllowed(); e.HTTPStatus() != 405 || e.Info().ErrorDescription != "Generic client error - Method Not Allowed" {
		t.Errorf("MethodNotAllowed = %d %q", e.HTTPStatus(), e.Info().ErrorDescription)
	}
	if got := NewError(3303, "").Error(); got != "3303 Transfer expired" {
		t.Errorf("Error() = %q", got)
	}
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		code Code
		is   error
		kind fault.Kind
	}{
		{3100, ErrInvalid, fault.Invalid}, {3001, ErrInvalid, fault.Invalid}, {3106, ErrInvalid, fault.Invalid},
		{3204, ErrNotFound, fault.NotFound}, {3303, ErrExpired, fault.Refused}, {4001, ErrRefused, fault.Refused},
		{5105, ErrRefused, fault.Refused}, {1001, ErrUnavailable, fault.Unavailable}, {2003, ErrUnavailable, fault.Unavailable},
		{2001, ErrInternal, fault.Internal},
	}
	for _, tt := range tests {
		err := error(&Error{Code: tt.code})
		if !errors.Is(err, tt.is) || fault.KindOf(err) != tt.kind {
			t.Errorf("%d: is %v, kind %v", tt.code, errors.Is(err, tt.is), fault.KindOf(err))
		}
	}
}

func TestParseCode(t *testing.T) {
	for s, want := range map[string]Code{"3204": 3204, "1000": 1000, "9999": 9999} {
		if c, err := ParseCode(s); err != nil || c != want {
			t.Errorf("ParseCode(%q) = %v, %v", s, c, err)
		}
	}
	for _, s := range []string{"", "0999", "32041", "32a4", " 3204"} {
		if _, err := ParseCode(s); err == nil {
			t.Errorf("ParseCode(%q) accepted", s)
		}
	}
	if c := (ErrorInformation{ErrorCode: "5105"}).Code(); c != PayeeFSPRejectedTxn {
		t.Errorf("Code() = %v", c)
	}
}
