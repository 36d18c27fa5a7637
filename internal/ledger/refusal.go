package ledger

import "github.com/hulian/hulian/internal/fault"

// The errors that statuses become (Status.Err). Those a caller may meet
// in normal operation have a kind that tells a front end how to answer;
// the rest mean the switch built a command the ledger cannot apply, which
// is the switch's fault (fault.Internal), named by the status.
var (
	// ErrExistsDifferent means the id was used before for another
	// command: choose a new id, or retry with the same content.
	ErrExistsDifferent = fault.New(fault.Conflict, "duplicate-conflict", "transfer id used with different content")
	// ErrInsufficientFunds means the debit account's available balance
	// (with its floor) does not cover the amount.
	ErrInsufficientFunds = fault.New(fault.Refused, "insufficient-funds", "insufficient funds")
	// ErrFloorBelowUsage means a floor lower than what the account
	// already uses: a participant's net debit cap below its position.
	ErrFloorBelowUsage = fault.New(fault.Refused, "limit-below-position", "participant's position exceeds the new net debit cap")
	// ErrOverflow means the amount would take a balance beyond int64:
	// an amount out of range for the account.
	ErrOverflow = fault.New(fault.Invalid, "", "the amount would take a balance out of range")
	// ErrPendingNotFound means there is no reservation with that id.
	ErrPendingNotFound = fault.New(fault.NotFound, "", "no such reservation")
	// ErrPendingCommitted means the reservation was committed already.
	ErrPendingCommitted = fault.New(fault.Conflict, "already-committed", "the reservation was committed already")
	// ErrPendingAborted means the reservation was aborted already.
	ErrPendingAborted = fault.New(fault.Conflict, "already-aborted", "the reservation was aborted already")
	// ErrPendingExpired means the reservation's timeout passed: it was
	// released, and can no longer be committed.
	ErrPendingExpired = fault.New(fault.Refused, "expired", "the reservation expired")
)

// statusErrs holds the error of every status; nil for those that
// succeeded.
var statusErrs = func() [statusEnd]error {
	var errs [statusEnd]error
	for s := StatusExistsDifferent; s < statusEnd; s++ {
		errs[s] = fault.New(fault.Internal, "", "ledger refused the command: "+s.String())
	}
	for s, err := range map[Status]error{
		StatusExistsDifferent:   ErrExistsDifferent,
		StatusInsufficientFunds: ErrInsufficientFunds,
		StatusFloorBelowUsage:   ErrFloorBelowUsage,
		StatusOverflow:          ErrOverflow,
		StatusPendingNotFound:   ErrPendingNotFound,
		StatusPendingCommitted:  ErrPendingCommitted,
		StatusPendingAborted:    ErrPendingAborted,
		StatusPendingExpired:    ErrPendingExpired,
	} {
		errs[s] = err
	}
	return errs
}()

// Err returns the error that the status is: nil for StatusOK and
// StatusExists, a named error otherwise. Every status has one, so that no
// refusal reaches a caller unnamed.
func (s Status) Err() error {
	if s < statusEnd {
		return statusErrs[s]
	}
	return fault.New(fault.Internal, "", "ledger: unknown status "+s.String())
}

// ChainStatus returns the status that decided a linked chain's results:
// the first that is not StatusLinkedEventFailed (the member that failed,
// or the first member's success).
func ChainStatus(results []Result) Status {
	_, st := ChainFailure(results)
	return st
}

// ChainFailure returns the member of a linked chain that decided its
// results, and its status: the first member whose status is not
// StatusLinkedEventFailed (the member that failed, or the first member
// if the chain succeeded). A caller whose members differ in meaning — a
// mark that a quote is used, a leg the payer pays, a leg an FX provider
// pays — branches on the index. An empty chain is (0, StatusOK).
func ChainFailure(results []Result) (int, Status) {
	for i, r := range results {
		if r.Status != StatusLinkedEventFailed {
			return i, r.Status
		}
	}
	if len(results) > 0 {
		return 0, results[0].Status
	}
	return 0, StatusOK
}
