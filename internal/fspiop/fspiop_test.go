package fspiop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/transfer"
)

// TestErrorOf: the one place the front end maps the core's errors to
// FSPIOP codes gives each sentinel its code and every fault kind one.
func TestErrorOf(t *testing.T) {
	cases := []struct {
		err  error
		code msg.Code
	}{
		{fmt.Errorf("transfer x: %w", transfer.ErrInsufficientFunds), msg.PayerFSPInsufficientLiq},
		{fmt.Errorf("payee: %w", transfer.ErrUnknownParty), msg.PartyNotFound},
		{transfer.ErrCurrency, msg.PayeeUnsupportedCurr},
		{transfer.ErrQuoteExpired, msg.QuoteExpired},
		{transfer.ErrExpired, msg.TransferExpired},
		{transfer.ErrSuspended, msg.ValidationError},
		{transfer.ErrScreened, msg.PayerBlockedError},
		{transfer.ErrConflict, msg.ModifiedRequest},
		{fmt.Errorf("%w: bad", transfer.ErrInvalid), msg.ValidationError},
		{transfer.ErrNotFound, msg.IDNotFound},
		{fault.New(fault.Unavailable, "", "busy"), msg.ServiceUnavailable},
		{fault.New(fault.Forbidden, "", "no"), msg.ClientError},
		{context.DeadlineExceeded, msg.ServerTimedOut},
		{errors.New("disk on fire"), msg.InternalServerError},
		{msg.NewError(msg.PartyNotFound, "x"), msg.PartyNotFound},
		{fmt.Errorf("wrapped: %w", &msg.Error{Code: msg.ClientError, Status: 403}), msg.ClientError},
		{ledger.ErrPendingExpired, msg.TransferExpired},
	}
	for _, c := range cases {
		if got := errorOf(c.err); got.Code != c.code {
			t.Errorf("errorOf(%v) = %d, want %d", c.err, got.Code, c.code)
		}
	}
	for _, k := range fault.Kinds() {
		if e := errorOf(fault.New(k, "", "x")); !e.Code.Known() || e.HTTPStatus() < 400 {
			t.Errorf("kind %v: %+v", k, e)
		}
	}
}

// TestUUIDOf: the FSPIOP ids of native payments are lower-case UUIDs as
// FSPIOP's CorrelationId pattern wants, the same for the same id and
// different for different ids and kinds.
func TestUUIDOf(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range []string{"a", "b", "native-1", "x.y:z_1", "一"} {
		for _, kind := range []string{"transfer", "quote"} {
			u := uuidOf(kind, id)
			if !msg.IsCorrelationID(u) || u != uuidOf(kind, id) || seen[u] {
				t.Errorf("uuidOf(%q, %q) = %q", kind, id, u)
			}
			seen[u] = true
		}
	}
}

// TestAbortError: a payment the ledger aborted is told by its reason.
func TestAbortError(t *testing.T) {
	for reason, code := range map[string]msg.Code{
		"expired": msg.TransferExpired, "timeout": msg.TransferExpired, "review timeout": msg.TransferExpired,
		"rejected: account closed": msg.PayeeRejectedTxn, "risk-rejected: fraud": msg.PayerBlockedError,
		"payee unreachable": msg.DestinationCommunicationError, "something else": msg.PayeeRejection,
	} {
		if got := abortError(reason); got.Code != code {
			t.Errorf("abortError(%q) = %d, want %d", reason, got.Code, code)
		}
	}
}

// TestInitials: a native party's name shows in complexName as initials
// only, never with characters FSPIOP's name pattern refuses.
func TestInitials(t *testing.T) {
	for name, want := range map[string][2]string{
		"Zhang San Feng": {"Z.", "F."}, "张三": {"张.", ""}, "Li Si": {"L.", "S."}, "Ünal Öz": {"Ü.", "Ö."},
	} {
		p := initials(name)
		if p == nil || p.ComplexName.FirstName != want[0] || p.ComplexName.LastName != want[1] {
			t.Errorf("initials(%q) = %+v, want %v", name, p, want)
		}
	}
	for _, name := range []string{"", "   ", "*** x", "1 2"} {
		if p := initials(name); p != nil && name != "1 2" {
			t.Errorf("initials(%q) = %+v, want nil", name, p.ComplexName)
		}
	}
}

// TestRouteTemplates: each route is named as FSPIOP's definition writes
// it, its label set apart from the native API's; the path and its party
// identifier appear in neither.
func TestRouteTemplates(t *testing.T) {
	s := &Server{mux: http.NewServeMux()}
	s.routes()
	for _, c := range []struct{ method, path, route string }{
		{"GET", "/parties/MSISDN/8613800138000", "GET /parties/{Type}/{ID}"},
		{"PUT", "/parties/MSISDN/8613800138000/sub/error", "PUT /parties/{Type}/{ID}/{SubId}/error"},
		{"POST", "/participants", "POST /participants"},
		{"PUT", "/participants/3f0c4e6a/error", "PUT /participants/{ID}/error"},
		{"PUT", "/transfers/85feac2f-39b2-491b-817e-4a03203d4f14", "PUT /transfers/{ID}"},
		{"GET", "/quotes/7c23e80c", "GET /quotes/{ID}"},
		{"GET", "/nowhere/8613800138000", ""},
	} {
		h, _ := s.mux.Handler(httptest.NewRequest(c.method, c.path, nil))
		var route, label string
		if rh, ok := h.(*handler); ok {
			route, label = rh.route, rh.label
		}
		if route != c.route || (route != "" && label != "fspiop: "+c.route) {
			t.Errorf("%s %s: route %q, label %q; want %q", c.method, c.path, route, label, c.route)
		}
	}
}
