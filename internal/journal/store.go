package journal

import (
	"context"
	"io"

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

// Snapshotter is a Store that also keeps the latest snapshot of the
// ledger (ledger.State.WriteSnapshot), so that a start loads it and
// replays only the batches stored after it. A journal opened with Open
// saves one when it closes cleanly; one that started as a follower
// (Follow) does not, but loads one when it starts. The embedded engine
// has no snapshots.
//
// A snapshot is only ever a shortcut: the stored batches stay the
// record, and a snapshot that does not match them is ignored.
type Snapshotter interface {
	Store
	// ReplaySnapshot is Replay, starting from the stored snapshot when
	// there is one that belongs to the stored batches: batch seq is
	// stored and its last event has timestamp lastTS. Then it calls load
	// with the snapshot's bytes, which r returns io.EOF after only if
	// they are whole and intact, and fn with every batch after seq.
	// When there is none, or load fails, it calls fn with every batch,
	// as Replay does; load must then leave what fn applies to as it
	// was. A load that returns nil has read r to its end, and the
	// snapshot is used. The SnapshotUse tells which happened, also with
	// an error.
	ReplaySnapshot(ctx context.Context, load func(seq uint64, lastTS int64, r io.Reader) error, fn func(*ledger.Committed) error) (SnapshotUse, error)
	// SaveSnapshot replaces the stored snapshot, atomically, with what
	// write writes: the ledger as of batch seq, whose last event has
	// timestamp lastTS, which must be the last batch stored. On error
	// the previous snapshot, if any, stays.
	SaveSnapshot(ctx context.Context, seq uint64, lastTS int64, write func(io.Writer) error) error
}

// SnapshotUse tells how ReplaySnapshot used the stored snapshot.
type SnapshotUse struct {
	// Seq is the batch of the snapshot loaded, 0 if none was.
	Seq uint64
	// Ignored is why a stored snapshot was not loaded (it does not
	// belong to the stored batches, or is damaged), nil if none is
	// stored or it was loaded.
	Ignored error
}

// ErrNotFound means there is no such event or transfer. Callers branch
// on it; one that lets it through to a front end met something it
// referenced missing, which is the switch's fault (fault.Internal).
var ErrNotFound = fault.New(fault.Internal, "", "not found")
