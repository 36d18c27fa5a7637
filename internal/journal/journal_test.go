package journal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/ledger/ledgertest"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/store"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "seed of the simulation (0: from the clock)")
	batchFlag = flag.Int("batches", 2000, "batches per simulation")
)

// engine is a storage engine under test: fresh makes a new empty
// location (a directory, a database) and open opens a location, again
// and again, in this process or in a child process.
type engine struct {
	name  string
	fresh func(t testing.TB) string
	open  func(loc string) (journal.Store, error)
}

// engines lists the engines every journal test runs on; the PostgreSQL
// engine adds itself in postgres_test.go.
var engines = []engine{{
	name:  "embedded",
	fresh: func(t testing.TB) string { return t.TempDir() },
	open: func(dir string) (journal.Store, error) {
		return store.Open(dir, store.Options{})
	},
}}

func engineNamed(name string) (engine, bool) {
	for _, e := range engines {
		if e.name == name {
			return e, true
		}
	}
	return engine{}, false
}

func eachEngine(t *testing.T, fn func(t *testing.T, open func(t *testing.T) journal.Store)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			loc := e.fresh(t)
			fn(t, func(t *testing.T) journal.Store {
				t.Helper()
				s, err := e.open(loc)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

// fakeClock is a clock the test sets.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time { return time.Unix(0, c.ns.Load()) }

// running is an open journal with its store.
type running struct {
	*journal.Journal
	store journal.Store
}

func start(t *testing.T, open func(t *testing.T) journal.Store, opts journal.Options) running {
	t.Helper()
	s := open(t)
	j, err := journal.Open(context.Background(), s, opts)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return running{j, s}
}

func (r running) stop(t *testing.T) {
	t.Helper()
	if err := r.Close(); err != nil {
		t.Error(err)
	}
	if err := r.store.Close(); err != nil {
		t.Error(err)
	}
}

var cny = money.MustCurrency("CNY")

func tid(prefix byte, n uint64) ledger.ID {
	var id ledger.ID
	id[0] = prefix
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

func TestSubmitAndQuery(t *testing.T) {
	eachEngine(t, func(t *testing.T, open func(t *testing.T) journal.Store) {
		ctx := context.Background()
		r := start(t, open, journal.Options{})
		res, err := r.Submit(ctx, []ledger.Command{
			{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
			{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny},
			{Kind: ledger.KindCreateAccount, Account: 3, Currency: cny, Floor: 500},
			{Kind: ledger.KindPost, ID: tid(1, 1), Debit: 1, Credit: 2, Amount: 1000},
			{Kind: ledger.KindReserve, ID: tid(1, 2), Debit: 2, Credit: 3, Amount: 300, Timeout: time.Hour},
			{Kind: ledger.KindPost, ID: tid(1, 3), Debit: 2, Credit: 3, Amount: 701},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []ledger.Status{0, 0, 0, 0, 0, ledger.StatusInsufficientFunds}
		for i, st := range want {
			if res[i].Status != st {
				t.Fatalf("command %d: %v, want %v", i, res[i].Status, st)
			}
		}
		a, err := r.Account(ctx, 2)
		if err != nil || a.Balance != 1000 || a.Reserved != 300 || a.Available() != 700 {
			t.Fatalf("account 2: %+v %v", a, err)
		}
		tr, err := r.Transfer(ctx, tid(1, 2))
		if err != nil || tr.State != ledger.StatePending || tr.Amount != 300 || tr.Kind != ledger.KindReserve {
			t.Fatalf("transfer: %+v %v", tr, err)
		}
		if _, err := r.Transfer(ctx, tid(1, 3)); !errors.Is(err, journal.ErrNotFound) {
			t.Fatalf("refused transfer found: %v", err)
		}
		if _, err := r.Account(ctx, 77); !errors.Is(err, journal.ErrNotFound) {
			t.Fatalf("missing account: %v", err)
		}
		if _, err := r.Submit(ctx, []ledger.Command{{Kind: ledger.KindCommit, ID: tid(1, 4), Pending: tid(1, 2)}}); err != nil {
			t.Fatal(err)
		}
		evs, err := r.AccountEvents(ctx, 3, 0, 1<<62, 10)
		if err != nil || len(evs) != 3 || evs[2].Kind != ledger.KindCommit {
			t.Fatalf("account 3 events: %+v %v", evs, err)
		}
		checkScanEncoded(t, r.Journal)
		if _, err := r.Submit(ctx, make([]ledger.Command, ledger.BatchMax+1)); !errors.Is(err, journal.ErrTooMany) {
			t.Fatalf("oversized submission: %v", err)
		}
		r.stop(t)

		// Reopened, the journal recovers the same state.
		r = start(t, open, journal.Options{})
		defer r.stop(t)
		a, err = r.Account(ctx, 3)
		if err != nil || a.Balance != 300 || a.Reserved != 0 {
			t.Fatalf("account 3 after restart: %+v %v", a, err)
		}
		tr, err = r.Transfer(ctx, tid(1, 2))
		if err != nil || tr.State != ledger.StateCommitted {
			t.Fatalf("transfer after restart: %+v %v", tr, err)
		}
		res, err = r.Submit(ctx, []ledger.Command{{Kind: ledger.KindPost, ID: tid(1, 1), Debit: 1, Credit: 2, Amount: 1000}})
		if err != nil || res[0].Status != ledger.StatusExists {
			t.Fatalf("retry after restart: %v %v", res, err)
		}
	})
}

// TestExpiryWhileIdle checks that the writer expires reservations on its
// own when no commands arrive.
func TestExpiryWhileIdle(t *testing.T) {
	eachEngine(t, func(t *testing.T, open func(t *testing.T) journal.Store) {
		ctx := context.Background()
		r := start(t, open, journal.Options{})
		defer r.stop(t)
		_, err := r.Submit(ctx, []ledger.Command{
			{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
			{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny},
			{Kind: ledger.KindReserve, ID: tid(2, 1), Debit: 1, Credit: 2, Amount: 5, Timeout: 50 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			tr, err := r.Transfer(ctx, tid(2, 1))
			if err != nil {
				t.Fatal(err)
			}
			if tr.State == ledger.StateExpired {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("reservation never expired")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := r.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestConcurrentCallers has 64 goroutines submit single transfers at
// once; every one is answered, batches form, and the ledger balances.
func TestConcurrentCallers(t *testing.T) {
	eachEngine(t, func(t *testing.T, open func(t *testing.T) journal.Store) {
		ctx := context.Background()
		r := start(t, open, journal.Options{})
		setup := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 100, Currency: cny, AccountFlags: ledger.AccountUnbounded}}
		for a := ledger.AccountID(1); a <= 8; a++ {
			setup = append(setup, ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cny},
				ledger.Command{Kind: ledger.KindPost, ID: tid(9, uint64(a)), Debit: 100, Credit: a, Amount: 1000})
		}
		if _, err := r.Submit(ctx, setup); err != nil {
			t.Fatal(err)
		}
		const callers, each = 64, 40
		var wg sync.WaitGroup
		var ok, refused atomic.Int64
		errs := make(chan error, callers)
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					n := uint64(c*each + i)
					res, err := r.Submit(ctx, []ledger.Command{{Kind: ledger.KindPost, ID: tid(3, n),
						Debit: ledger.AccountID(1 + n%8), Credit: ledger.AccountID(1 + (n+1)%8), Amount: money.Amount(1 + n%50)}})
					if err != nil {
						errs <- err
						return
					}
					switch res[0].Status {
					case ledger.StatusOK:
						ok.Add(1)
					case ledger.StatusInsufficientFunds:
						refused.Add(1)
					default:
						errs <- fmt.Errorf("transfer %d: %v", n, res[0].Status)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if ok.Load()+refused.Load() != callers*each || ok.Load() == 0 {
			t.Fatalf("ok %d refused %d", ok.Load(), refused.Load())
		}
		if err := r.Check(); err != nil {
			t.Fatal(err)
		}
		var n int
		r.View(func(s *ledger.State) { n = s.Transfers() })
		if n != int(ok.Load())+8 {
			t.Fatalf("%d transfers indexed, %d acknowledged", n, ok.Load()+8)
		}
		seq := r.Seq()
		r.stop(t)
		if seq >= callers*each {
			t.Logf("note: no batching happened (%d batches for %d transfers)", seq, callers*each)
		}
		r = start(t, open, journal.Options{})
		defer r.stop(t)
		r.View(func(s *ledger.State) {
			if s.Transfers() != n {
				t.Errorf("after restart %d transfers, want %d", s.Transfers(), n)
			}
		})
	})
}

// TestSimulation drives random batches through the journal on each
// engine and checks every result and the whole state against the
// reference model; every few hundred batches it closes everything and
// recovers from storage, as after a restart.
func TestSimulation(t *testing.T) {
	eachEngine(t, func(t *testing.T, open func(t *testing.T) journal.Store) {
		seed := *seedFlag
		if seed == 0 {
			seed = uint64(time.Now().UnixNano())
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("replay with: go test ./internal/journal -run '%s' -seed %d", t.Name(), seed)
			}
		})
		ctx := context.Background()
		clock := &fakeClock{}
		opts := journal.Options{Now: clock.now}
		g := ledgertest.NewGenerator(seed)
		m := ledgertest.NewModel()
		r := start(t, open, opts)
		defer func() { r.stop(t) }()
		batches := *batchFlag
		if testing.Short() {
			batches /= 4
		}
		restarts := 0
		now, cmds := g.Setup()
		for i := 0; i <= batches; i++ {
			clock.ns.Store(now)
			got, err := r.Submit(ctx, cmds)
			if err != nil {
				t.Fatal(err)
			}
			want := m.Apply(now, cmds)
			for k := range cmds {
				if got[k] != want[k] {
					t.Fatalf("batch %d command %d %+v: journal %v@%d, model %v@%d", i, k, cmds[k], got[k].Status, got[k].Timestamp, want[k].Status, want[k].Timestamp)
				}
			}
			if i%50 == 0 {
				var err error
				r.View(func(s *ledger.State) { err = m.Check(s) })
				if err == nil {
					err = r.Check()
				}
				if err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
			}
			if i%400 == 399 {
				r.stop(t)
				r = start(t, open, opts)
				restarts++
				var err error
				r.View(func(s *ledger.State) { err = m.Check(s) })
				if err != nil {
					t.Fatalf("after restart %d: %v", restarts, err)
				}
			}
			now, cmds = g.Next()
		}
		if restarts == 0 && batches >= 400 {
			t.Fatal("no restart happened")
		}
	})
}

// checkScanEncoded checks that ScanEncoded hands out each event in the
// encoding AppendBinary gives it, over the whole log and a part of it.
func checkScanEncoded(t *testing.T, j *journal.Journal) {
	t.Helper()
	ctx := context.Background()
	var evs []ledger.Event
	if err := j.Scan(ctx, 0, 1<<62, func(e ledger.Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(evs) < 3 {
		t.Fatalf("%d events", len(evs))
	}
	for _, r := range [][2]int{{0, len(evs)}, {1, len(evs) - 1}} {
		var got [][]byte
		from, to := evs[r[0]].Timestamp, evs[r[1]-1].Timestamp+1
		err := j.ScanEncoded(ctx, from, to, func(raw []byte) error { got = append(got, bytes.Clone(raw)); return nil })
		if err != nil {
			t.Fatal(err)
		}
		want := evs[r[0]:r[1]]
		if len(got) != len(want) {
			t.Fatalf("ScanEncoded(%d, %d): %d events, want %d", from, to, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i].AppendBinary(nil)) {
				t.Fatalf("ScanEncoded event %d differs from its encoding", i)
			}
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := j.ScanEncoded(ctx, 0, 1<<62, func([]byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ScanEncoded did not stop: %d %v", n, err)
	}
}

// failingStore fails every Append once told to.
type failingStore struct {
	journal.Store
	fail atomic.Bool
}

func (s *failingStore) Append(ctx context.Context, b []*ledger.Committed) error {
	if s.fail.Load() {
		return errors.New("disk on fire")
	}
	return s.Store.Append(ctx, b)
}

// TestFailure: a storage failure stops the journal — the submission it
// hit and every later one are refused ErrStopped — and Failure says so,
// for the readiness probe; before it, Failure is nil.
func TestFailure(t *testing.T) {
	eachEngine(t, func(t *testing.T, open func(t *testing.T) journal.Store) {
		ctx := context.Background()
		var fs *failingStore
		r := start(t, func(t *testing.T) journal.Store { fs = &failingStore{Store: open(t)}; return fs }, journal.Options{})
		defer func() {
			r.Close() // reports the failure again
			r.store.Close()
		}()
		if _, err := r.Submit(ctx, []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny}}); err != nil {
			t.Fatal(err)
		}
		if err := r.Failure(); err != nil {
			t.Fatalf("Failure before any: %v", err)
		}
		fs.fail.Store(true)
		for i := range 2 {
			if _, err := r.Submit(ctx, []ledger.Command{{Kind: ledger.KindCreateAccount, Account: ledger.AccountID(2 + i), Currency: cny}}); !errors.Is(err, journal.ErrStopped) {
				t.Fatalf("Submit %d after the failure: %v", i, err)
			}
		}
		if err := r.Failure(); !errors.Is(err, journal.ErrStopped) {
			t.Errorf("Failure = %v, want ErrStopped", err)
		}
	})
}
