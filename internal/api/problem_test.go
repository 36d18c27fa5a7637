package api

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store"
	"github.com/hulian/hulian/internal/transfer"
)

// TestProblemOfErrors holds the API's answers to the core's errors to
// what they were when a table in this package mapped each error: the
// fault kinds and codes the core now declares must give the same status
// and problem type.
func TestProblemOfErrors(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		name   string
	}{
		{participant.ErrInvalid, 400, "invalid-request"},
		{participant.ErrExists, 409, "duplicate-conflict"},
		{participant.ErrNotFound, 404, "not-found"},
		{participant.ErrUnauthorized, 401, "unauthorized"},
		{directory.ErrInvalidValue, 400, "invalid-request"},
		{directory.ErrInvalidType, 400, "invalid-request"},
		{directory.ErrInvalidParty, 400, "invalid-request"},
		{directory.ErrInvalidCursor, 400, "invalid-request"},
		{directory.ErrBatchTooLarge, 400, "invalid-request"},
		{directory.ErrUnknownParticipant, 404, "not-found"},
		{directory.ErrOwnedByOther, 409, "duplicate-conflict"},
		{directory.ErrNotOwner, 403, "forbidden"},
		{directory.ErrNotFound, 404, "unknown-party"},
		{quote.ErrInvalid, 400, "invalid-request"},
		{money.ErrUnknownCurrency, 400, "invalid-request"},
		{money.ErrSyntax, 400, "invalid-request"},
		{money.ErrPrecision, 400, "invalid-request"},
		{money.ErrOverflow, 400, "invalid-request"},
		{transfer.ErrInvalid, 400, "invalid-request"},
		{transfer.ErrUnknownParty, 422, "unknown-party"},
		{transfer.ErrConflict, 409, "duplicate-conflict"},
		{transfer.ErrInsufficientFunds, 422, "insufficient-funds"},
		{transfer.ErrSuspended, 422, "participant-suspended"},
		{transfer.ErrCurrency, 422, "currency-not-enabled"},
		{transfer.ErrSameParticipant, 422, "same-participant"},
		{transfer.ErrQuoteExpired, 422, "quote-expired"},
		{transfer.ErrQuoteMismatch, 422, "quote-mismatch"},
		{transfer.ErrFXQuoteRequired, 422, "fx-quote-required"},
		{transfer.ErrFXPurposeRequired, 422, "fx-purpose-required"},
		{transfer.ErrFXLiquidity, 422, "fx-provider-insufficient-funds"},
		{transfer.ErrQuoteUsed, 422, "quote-used"},
		{transfer.ErrNoFXOffer, 422, "fx-unavailable"},
		{fx.ErrQuotaExceeded, 422, "fx-quota-exceeded"},
		{fx.ErrNoValuation, 422, "fx-no-rate"},
		{transfer.ErrNotFound, 404, "not-found"},
		{transfer.ErrLimitBelowPosition, 422, "limit-below-position"},
		{liquidity.ErrInvalid, 400, "invalid-request"},
		{liquidity.ErrCurrency, 422, "currency-not-enabled"},
		{settlement.ErrNotFound, 404, "not-found"},
		{settlement.ErrOpen, 409, "window-open"},
		{settlement.ErrAmount, 422, "settlement-amount-mismatch"},
		{settlement.ErrInsufficientFunds, 422, "insufficient-funds"},
		{audit.ErrInvalid, 400, "invalid-request"},
		{audit.ErrNotFound, 404, "not-found"},
		{audit.ErrUnknownWitness, 403, "forbidden"},
		{audit.ErrWitnessExists, 409, "duplicate-conflict"},
		{audit.ErrClosed, 503, "unavailable"},
		{store.ErrClosed, 503, "unavailable"},
		{journal.ErrStopped, 503, "unavailable"},
		{journal.ErrClosed, 503, "unavailable"},
		{auth.ErrForbidden, 403, "forbidden"},
		{auth.ErrUnauthenticated, 401, "unauthorized"},
		// Ledger statuses the switch never means to meet are internal,
		// and so is an error of no kind.
		{ledger.StatusDebitNotFound.Err(), 500, "internal"},
		{errors.New("disk on fire"), 500, "internal"},
		// What the old table did not map, and so answered 500, decided one
		// by one: an amount that would overflow a balance is out of range
		// (as money.ErrOverflow is); a database that keeps conflicting
		// or a store that stopped asks for a retry; a transfer the
		// journal cannot find after all is the switch's own fault.
		{ledger.ErrOverflow, 400, "invalid-request"},
		{sqldb.ErrConflict, 503, "unavailable"},
		{store.ErrFailed, 503, "unavailable"},
		{journal.ErrNotFound, 500, "internal"},
	} {
		for _, err := range []error{c.err, fmt.Errorf("context: %w", c.err)} {
			if k := kindOf(err); k.status != c.status || k.name != c.name {
				t.Errorf("%v: %d %s, want %d %s", err, k.status, k.name, c.status, c.name)
			}
		}
	}
}

// TestEveryKindHasAStatus: the API maps every fault kind, and a code it
// has no problem type for keeps its name with its kind's status.
func TestEveryKindHasAStatus(t *testing.T) {
	for _, k := range fault.Kinds() {
		if int(k) >= len(statusOf) || statusOf[k] == 0 {
			t.Errorf("fault kind %v has no HTTP status", k)
		}
	}
	if k := kindOf(fault.New(fault.Refused, "risk-refused", "no")); k.status != 422 || k.name != "risk-refused" || k.title == "" {
		t.Errorf("a new code: %+v", k)
	}
}

// TestProblemDetails: the refusals' details are what they were.
func TestProblemDetails(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{auth.Allow(&auth.Principal{Role: auth.RoleOperator}, auth.ParticipantOnly, false), "only a participant may do this"},
		{auth.Allow(&auth.Principal{Role: auth.RoleRegulator}, auth.OperatorOnly, false), "the regulator's token is read-only"},
		{fmt.Errorf("transfer x.1: %w", transfer.ErrConflict), "transfer x.1: transfer id used with different content"},
		{fmt.Errorf("net debit cap of a in CNY: %w", transfer.ErrLimitBelowPosition), "net debit cap of a in CNY: participant's position exceeds the new net debit cap"},
		{fmt.Errorf("confirm a in CNY-1: %w", settlement.ErrInsufficientFunds), "confirm a in CNY-1: insufficient funds to pay out"},
		{fmt.Errorf("transfer x.1: %w", transfer.ErrInsufficientFunds), "transfer x.1: insufficient funds"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("detail %q, want %q", got, c.want)
		}
	}
}
