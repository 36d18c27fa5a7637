package journal

import (
	"context"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
)

// Store is what the journal needs of a storage engine. The embedded
// engine (package store) and the PostgreSQL engine (package
// store/postgres) implement it and pass the same tests (package
// store/storetest).
type Store interface {
	// Replay calls fn with every stored batch, in sequence order, then
	// readies the store for Append. It is called once, before any Append;
	// the batch passed to fn is only valid during the call.
	Replay(ctx context.Context, fn func(*ledger.Committed) error) error
	// Append stores batches, which follow the stored ones without a gap,
	// and returns only once they are durable: they survive a crash of the
	// process or of the machine. On error nothing can be assumed about
	// what was stored; the journal stops.
	Append(ctx context.Context, batches []*ledger.Committed) error
	// Event returns the stored event with timestamp ts, or ErrNotFound.
	Event(ctx context.Context, ts int64) (ledger.Event, error)
	// AccountEvents returns up to limit stored events that debit, credit
	// or change account, with from <= Timestamp < to, oldest first.
	AccountEvents(ctx context.Context, account ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error)
	// Scan calls fn with every stored event with from <= Timestamp < to,
	// oldest first, until fn returns an error, which Scan returns.
	Scan(ctx context.Context, from, to int64, fn func(ledger.Event) error) error
	// Close releases the store.
	Close() error
}

// ErrNotFound means there is no such event or transfer. Callers branch
// on it; one that lets it through to a front end met something it
// referenced missing, which is the switch's fault (fault.Internal).
var ErrNotFound = fault.New(fault.Internal, "", "not found")
