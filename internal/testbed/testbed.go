// Package testbed gives the tests of the switch's packages the real
// parts that those packages run on, in one directory: an embedded ledger
// store and its journal, a SQLite database and the participant registry
// on them, and a manual clock to drive them. A test opens a Bed,
// restarts it as a restarted process would, and checks the books with
// ZeroSum; the bed closes itself when the test ends.
//
// Tests alone import it. It imports nothing of ours above the registry
// (TestImports keeps the list), so that the tests of every package up to
// transfer, inside the package or outside it, can use it without a cycle.
package testbed

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store"
)

// Options say where a Bed lives and what its journal hears; the zero
// value is a bed in a fresh temporary directory on the system clock.
type Options struct {
	// Dir is the directory of the ledger store and of the database file
	// hulian.db; empty means the test's own t.TempDir(). The store locks
	// it: two beds open on one directory at once fail.
	Dir string
	// Now stamps the journal's batches and the registry's changes; nil
	// means time.Now. It is usually a Clock's Now.
	Now func() time.Time
	// OnDurable, if set, is the journal's (journal.Options.OnDurable): it
	// hears of every batch once it is durable, and must be quick.
	OnDurable func([]*ledger.Committed)
}

// Bed is a registry on a real embedded ledger and a real SQLite database
// in one directory. Restart replaces the Store, Journal, DB and Registry
// with new ones on the same directory, so a test reads them from the Bed
// each time and builds again what it built on the old ones.
//
// Its methods fail the test on any error, and so, but for ID, must be
// called from the test's goroutine.
type Bed struct {
	Dir      string
	Store    *store.Log
	Journal  *journal.Journal
	DB       *sqldb.DB
	Registry *participant.Registry

	t    testing.TB
	opts Options
	ids  atomic.Uint64 // ledger ids handed out by ID, across restarts
}

// Open opens a bed, an empty one unless opts.Dir holds one, and closes it
// when the test ends (t.Cleanup), after the cleanups the test registers
// later, such as those that stop what runs on the journal.
func Open(t testing.TB, opts Options) *Bed {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Bed{Dir: opts.Dir, t: t, opts: opts}
	t.Cleanup(b.close)
	b.open()
	return b
}

func (b *Bed) open() {
	b.t.Helper()
	ctx := context.Background()
	var err error
	if b.Store, err = store.Open(b.Dir, store.Options{}); err != nil {
		b.t.Fatal(err)
	}
	if b.Journal, err = journal.Open(ctx, b.Store, journal.Options{Now: b.opts.Now, OnDurable: b.opts.OnDurable}); err != nil {
		b.t.Fatal(err)
	}
	if b.DB, err = sqldb.OpenSQLite(ctx, filepath.Join(b.Dir, "hulian.db")); err != nil {
		b.t.Fatal(err)
	}
	if b.Registry, err = participant.Load(ctx, b.DB, b.Journal, b.opts.Now, participant.Options{}); err != nil {
		b.t.Fatal(err)
	}
}

// close closes what open opened, the journal before its store, and
// reports what fails to close; it may run twice (a restart, then the
// cleanup) and after an open that failed halfway.
func (b *Bed) close() {
	if b.Journal != nil {
		if err := b.Journal.Close(); err != nil {
			b.t.Error(err)
		}
		b.Journal = nil
	}
	if b.Store != nil {
		if err := b.Store.Close(); err != nil {
			b.t.Error(err)
		}
		b.Store = nil
	}
	if b.DB != nil {
		if err := b.DB.Close(); err != nil {
			b.t.Error(err)
		}
		b.DB = nil
	}
	b.Registry = nil
}

// Restart closes the journal, the store and the database and opens them
// again, as a restarted process would: the journal replays the store and
// the registry loads from the database.
func (b *Bed) Restart() {
	b.t.Helper()
	b.close()
	b.open()
}

// ZeroSum fails the test unless the books balance: money only moves
// between accounts, so the balances of each currency sum to zero
// whatever the code under test did, and the ledger's own invariants
// hold (journal.Check).
func (b *Bed) ZeroSum() {
	b.t.Helper()
	sums := map[money.Currency]money.Amount{}
	for _, a := range b.Accounts() {
		sums[a.Currency] += a.Balance
	}
	for _, c := range slices.Sorted(maps.Keys(sums)) {
		if s := sums[c]; s != 0 {
			b.t.Fatalf("%s balances sum to %d, want 0", c, s)
		}
	}
	if err := b.Journal.Check(); err != nil {
		b.t.Fatal(err)
	}
}

// ID returns a ledger id that no other call on this bed returned, for a
// command the test makes itself. It is a hash of a counter, so it
// collides neither with the switch's ids, derived from client ids, nor
// with another bed's in another directory. A second bed opened later on
// the same directory counts again from the start: it must not submit
// with ids from ID.
func (b *Bed) ID() ledger.ID {
	n := b.ids.Add(1)
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("testbed/"), n))
	return ledger.ID(sum[:16])
}

// Submit submits cmds as one batch and fails the test unless every one
// was applied (StatusOK: a command whose id exists already is a test's
// mistake); it returns their results, for their timestamps.
func (b *Bed) Submit(cmds ...ledger.Command) []ledger.Result {
	b.t.Helper()
	res, err := b.Journal.Submit(context.Background(), cmds)
	if err != nil {
		b.t.Fatalf("submit %d commands: %v", len(cmds), err)
	}
	for i, r := range res {
		if r.Status != ledger.StatusOK {
			b.t.Fatalf("command %d (%s of %d, %q): %s", i, cmds[i].Kind, cmds[i].Amount, cmds[i].Meta, r.Status)
		}
	}
	return res
}

// Deposit credits p's account in c with amount that the settlement bank
// received: a post from the hub's external account with purpose Deposit
// and an id from ID.
func (b *Bed) Deposit(p participant.Participant, c money.Currency, amount money.Amount) {
	b.t.Helper()
	b.Submit(ledger.Command{Kind: ledger.KindPost, ID: b.ID(), Debit: participant.ExternalAccount(c), Credit: p.Account(c),
		Amount: amount, Purpose: purpose.Deposit})
}

// Create registers a participant and returns it with its credentials.
func (b *Bed) Create(n participant.New) (participant.Participant, participant.Credentials) {
	b.t.Helper()
	p, cr, err := b.Registry.Create(context.Background(), n)
	if err != nil {
		b.t.Fatalf("create %s: %v", n.ID, err)
	}
	return p, cr
}

// Account returns a ledger account's state.
func (b *Bed) Account(id ledger.AccountID) ledger.Account {
	b.t.Helper()
	a, err := b.Journal.Account(context.Background(), id)
	if err != nil {
		b.t.Fatalf("account %d: %v", id, err)
	}
	return a
}

// Accounts returns every ledger account's state.
func (b *Bed) Accounts() []ledger.Account {
	b.t.Helper()
	as, err := b.Journal.Accounts(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	return as
}
