// Package ledger is Hulian's double-entry ledger: a deterministic state
// machine with no I/O and no clock. Commands go in, in batches, together
// with the batch's time; results and events come out. The same batch on
// the same state gives the same results and events, byte for byte, which
// is what lets storage replay events after a restart and lets the audit
// log re-derive every record.
//
// Money moves only between two accounts of the same currency: every event
// that moves money debits one account and credits another by the same
// amount, so the sum of all balances of a currency is always zero.
package ledger

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/hulian/hulian/internal/money"
)

// AccountID names an account. The ledger gives it no structure; the
// participant registry decides how ids are allocated. Zero is not an id.
type AccountID uint64

// ID is a transfer's 128-bit client-chosen id: the idempotency key. Zero
// is not an id.
type ID [16]byte

// String returns the id in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// Kind says what a command or event does.
type Kind uint8

// The kinds of commands and events. KindExpire is an event only: the
// ledger emits it when a reservation's timeout passes.
const (
	KindCreateAccount Kind = iota + 1 // open an account in a currency with a floor
	KindSetFloor                      // change an account's floor (a net debit cap)
	KindPost                          // move money at once (one-phase)
	KindReserve                       // reserve money on the debit account (phase one)
	KindCommit                        // move reserved money (phase two)
	KindAbort                         // release reserved money (phase two)
	KindExpire                        // reservation timed out and was released (event only)
	KindMark                          // record a point in the event stream; moves no money
	kindEnd
)

var kindNames = [...]string{"", "create-account", "set-floor", "post", "reserve", "commit", "abort", "expire", "mark"}

// String names the kind.
func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// AccountFlags are fixed when an account is created.
type AccountFlags uint8

const (
	// AccountUnbounded lets the account's balance go below zero without
	// limit. It is for the settlement bank's external account: the other
	// side of deposits and withdrawals, which mirrors money held outside
	// the switch. Its floor is ignored.
	AccountUnbounded AccountFlags = 1 << iota

	accountFlagsAll = AccountUnbounded
)

// TimeoutMax bounds a reservation's timeout: a reservation that could
// hold funds for longer is almost certainly a bug in the caller.
const TimeoutMax = 7 * 24 * time.Hour

// BatchMax bounds the commands applied in one batch, and the
// reservations one batch expires, so that one batch makes one bounded
// durable write.
const BatchMax = 8192

// MetaMax bounds a command's Meta.
const MetaMax = 2048

// Command asks the ledger to change. Which fields matter depends on Kind:
//
//   - KindCreateAccount: Account, Currency, Floor, AccountFlags.
//   - KindSetFloor: Account, Floor.
//   - KindPost, KindReserve: ID, Debit, Credit, Amount, Purpose, Ref;
//     Timeout for KindReserve.
//   - KindCommit, KindAbort: ID, Pending, Purpose, Ref; Debit, Credit and
//     Amount may be zero or must equal the reservation's.
//   - KindMark: ID, Currency, Purpose, Ref. A mark moves no money; its
//     place in the event order is what it records (a settlement window
//     closes there: what came before belongs to the closing window).
//
// Linked chains a command to the next one in the batch: a chain is
// applied atomically, all of it or none. Meta is carried into the event
// untouched: the caller's own record of the change (who asked, for what),
// stored in the same durable write as the money and covered by the audit
// log; it is not part of what makes two commands "the same" (Ref is).
type Command struct {
	Kind         Kind
	Linked       bool
	ID           ID
	Pending      ID
	Ref          ID // opaque to the ledger: links the transfer to the caller's own record
	Purpose      uint16
	Account      AccountID
	Currency     money.Currency
	AccountFlags AccountFlags
	Floor        money.Amount
	Debit        AccountID
	Credit       AccountID
	Amount       money.Amount
	Timeout      time.Duration
	Meta         string
}

// Event is one change the ledger made: what storage persists, what
// replay re-applies and what the audit log records. Timestamps are unique
// and strictly increasing across the ledger's whole life, so an event is
// also identified by its timestamp.
//
// For KindCommit, KindAbort and KindExpire, Debit, Credit, Amount and
// Currency are the reservation's, and Pending names it; an expiry has no
// ID of its own. Floor is the account's (new) floor for account events.
type Event struct {
	Timestamp int64 // nanoseconds since the Unix epoch
	Kind      Kind
	Flags     EventFlags
	Purpose   uint16
	Currency  money.Currency
	ID        ID
	Pending   ID
	Ref       ID
	Debit     AccountID
	Credit    AccountID
	Account   AccountID
	Amount    money.Amount
	Timeout   time.Duration
	Floor     money.Amount
	Meta      string // the command's Meta; empty for expiries
}

// EventFlags carry the command's Linked bit and, for account creation,
// the account's flags.
type EventFlags uint8

const (
	// EventLinked marks an event whose command was linked to the next.
	EventLinked EventFlags = 1 << 0
	// EventUnbounded marks the creation of an AccountUnbounded account.
	EventUnbounded EventFlags = 1 << 1

	eventFlagsAll = EventLinked | EventUnbounded
)

// Committed is one applied batch that changed something: the unit that
// storage makes durable and replays. Seq numbers committed batches from 1
// without gaps.
type Committed struct {
	Seq    uint64
	Now    int64
	Events []Event
}

// Result is a command's outcome. Timestamp is the command's event's, or,
// for StatusExists, the original event's.
type Result struct {
	Status    Status
	Timestamp int64
}

// Status names a command's outcome. Every refusal has its own status;
// a refused command changes nothing.
type Status uint8

// The statuses. Only StatusOK changed the ledger; StatusExists means the
// same command was applied before and nothing changed now.
const (
	StatusOK Status = iota
	StatusExists
	StatusExistsDifferent
	StatusLinkedEventFailed
	StatusLinkedChainOpen
	StatusInvalidKind
	StatusIDZero
	StatusAccountIDZero
	StatusAccountNotFound
	StatusCurrencyInvalid
	StatusFlagsInvalid
	StatusFloorNegative
	StatusFloorBelowUsage
	StatusAmountNotPositive
	StatusSameAccount
	StatusDebitNotFound
	StatusCreditNotFound
	StatusCurrencyMismatch
	StatusInsufficientFunds
	StatusOverflow
	StatusTimeoutInvalid
	StatusPendingIDZero
	StatusPendingNotFound
	StatusPendingMismatch
	StatusPendingCommitted
	StatusPendingAborted
	StatusPendingExpired
	StatusMetaTooLong
	statusEnd
)

var statusNames = [...]string{
	"ok", "exists", "exists-different", "linked-event-failed", "linked-chain-open",
	"invalid-kind", "id-zero", "account-id-zero", "account-not-found", "currency-invalid",
	"flags-invalid", "floor-negative", "floor-below-usage", "amount-not-positive",
	"same-account", "debit-not-found", "credit-not-found", "currency-mismatch",
	"insufficient-funds", "overflow", "timeout-invalid", "pending-id-zero",
	"pending-not-found", "pending-mismatch", "pending-committed", "pending-aborted",
	"pending-expired", "meta-too-long",
}

// String names the status in kebab case, stable for logs and APIs.
func (s Status) String() string {
	if s < statusEnd {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Succeeded reports whether the command is in effect: applied now or before.
func (s Status) Succeeded() bool { return s == StatusOK || s == StatusExists }

// Account is an account's state.
type Account struct {
	ID       AccountID
	Currency money.Currency
	Flags    AccountFlags
	// Floor is how far below zero Balance-Reserved may go: a participant's
	// net debit cap; zero means fully prefunded.
	Floor money.Amount
	// Balance is credits minus debits of posted transfers.
	Balance money.Amount
	// Reserved is the sum of pending reservations debiting this account.
	Reserved money.Amount
	// Created is the timestamp of the account's creation event.
	Created int64
}

// Available is what the account may still send:
// Balance − Reserved + Floor, saturated rather than overflowing. It is
// meaningless for an AccountUnbounded account.
func (a *Account) Available() money.Amount {
	v, err := money.Add(a.Balance, a.Floor)
	if err != nil {
		return money.Amount(1<<63 - 1)
	}
	v, err = money.Sub(v, a.Reserved)
	if err != nil {
		return money.Amount(-1 << 63)
	}
	return v
}

// TransferState is where a transfer stands, as the idempotency index
// remembers it.
type TransferState uint8

// The states of a transfer. A one-phase transfer, a commit and an abort
// are StatePosted; a reservation moves from StatePending to one of the
// three final states.
const (
	StatePosted TransferState = iota
	StatePending
	StateCommitted
	StateAborted
	StateExpired
)

var stateNames = [...]string{"posted", "pending", "committed", "aborted", "expired"}

// String names the state.
func (s TransferState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}
