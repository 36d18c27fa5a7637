package journal_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/ledger/ledgertest"
)

// stateOf returns the journal's ledger as a snapshot: the canonical
// encoding of everything it holds, for comparing two ledgers.
func stateOf(t *testing.T, j *journal.Journal) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	j.View(func(s *ledger.State) { err = s.WriteSnapshot(&b) })
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// snapshots records what OnSnapshot hears.
type snapshots struct {
	mu   sync.Mutex
	seqs []uint64
	errs []error
}

func (s *snapshots) hear(seq uint64, _ time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = append(s.seqs, seq)
	s.errs = append(s.errs, err)
}

// last returns the last snapshot heard of, and how many were.
func (s *snapshots) last() (seq uint64, n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seqs) == 0 {
		return 0, 0, nil
	}
	return s.seqs[len(s.seqs)-1], len(s.seqs), s.errs[len(s.errs)-1]
}

// workload submits n random batches of the generator at its times.
func workload(t *testing.T, j *journal.Journal, g *ledgertest.Generator, clock *fakeClock, n int) {
	t.Helper()
	for range n {
		now, cmds := g.Next()
		clock.ns.Store(now)
		if _, err := j.Submit(context.Background(), cmds); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotRestart, on each engine that keeps snapshots: a clean
// close saves one, and the next start loads it and replays nothing; a
// start after a crash (more batches stored, no clean close) loads the
// older snapshot and replays only the batches after it. Each time the
// recovered ledger is the one that was running, byte for byte.
func TestSnapshotRestart(t *testing.T) {
	eachEngine(t, func(t *testing.T, open func(t *testing.T) journal.Store) {
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		g := ledgertest.NewGenerator(seed)
		clock := &fakeClock{}
		var heard snapshots
		opts := journal.Options{Now: clock.now, OnSnapshot: heard.hear}
		r := start(t, open, opts)
		if _, ok := r.store.(journal.Snapshotter); !ok {
			r.stop(t)
			t.Skip("the engine keeps no snapshots")
		}
		if rec := r.Recovery(); rec.Snapshot != 0 || rec.SnapshotIgnored != nil || rec.Replayed != 0 {
			t.Fatalf("empty store: recovery %+v", rec)
		}
		now, cmds := g.Setup()
		clock.ns.Store(now)
		if _, err := r.Submit(context.Background(), cmds); err != nil {
			t.Fatal(err)
		}
		workload(t, r.Journal, g, clock, 300)
		seq1, state1 := r.Seq(), stateOf(t, r.Journal)
		r.stop(t)
		if seq, n, err := heard.last(); n != 1 || seq != seq1 || err != nil {
			t.Fatalf("close at batch %d: heard of %d snapshots, the last of batch %d (%v)", seq1, n, seq, err)
		}

		// A clean restart: the snapshot and nothing more.
		r = start(t, open, opts)
		if rec := r.Recovery(); rec.Snapshot != seq1 || rec.SnapshotIgnored != nil || rec.Replayed != 0 {
			t.Fatalf("after a clean close at batch %d: recovery %+v", seq1, rec)
		}
		if !bytes.Equal(stateOf(t, r.Journal), state1) {
			t.Fatal("the ledger loaded from the snapshot differs from the one closed")
		}
		// Closing with nothing changed saves nothing.
		r.stop(t)
		if _, n, _ := heard.last(); n != 1 {
			t.Fatalf("a close with nothing new saved a snapshot (%d heard)", n)
		}

		// A crash: more batches stored, then the store goes without the
		// journal's Close.
		r = start(t, open, opts)
		workload(t, r.Journal, g, clock, 200)
		seq2, state2 := r.Seq(), stateOf(t, r.Journal)
		if err := r.store.Close(); err != nil {
			t.Fatal(err)
		}
		crashed := r.Journal
		r = start(t, open, opts)
		if rec := r.Recovery(); rec.Snapshot != seq1 || rec.SnapshotIgnored != nil || rec.Replayed != int(seq2-seq1) {
			t.Fatalf("after a crash at batch %d, snapshot of %d: recovery %+v, want %d replayed", seq2, seq1, rec, seq2-seq1)
		}
		if !bytes.Equal(stateOf(t, r.Journal), state2) {
			t.Fatal("the ledger recovered from the snapshot and the tail differs from the one that crashed")
		}
		if err := r.Check(); err != nil {
			t.Fatal(err)
		}
		crashed.Close() // its store is gone: no snapshot can be saved through it
		workload(t, r.Journal, g, clock, 20)
		seq3, state3 := r.Seq(), stateOf(t, r.Journal)
		r.stop(t)
		r = start(t, open, opts)
		defer r.stop(t)
		if rec := r.Recovery(); rec.Snapshot != seq3 || rec.Replayed != 0 {
			t.Fatalf("after a clean close at batch %d: recovery %+v", seq3, rec)
		}
		if !bytes.Equal(stateOf(t, r.Journal), state3) {
			t.Fatal("the ledger loaded from the snapshot differs from the one closed")
		}
	})
}

// snapLog is a memStore's shared log with a snapshot beside it.
type snapLog struct {
	*sharedLog
	mu     sync.Mutex
	snap   []byte
	seq    uint64
	lastTS int64
	saves  int
}

// snapStore is a memStore that keeps snapshots in its snapLog.
type snapStore struct {
	*memStore
	sl *snapLog
}

func (sl *snapLog) open() *snapStore { return &snapStore{sl.sharedLog.open(), sl} }

func (s *snapStore) ReplaySnapshot(ctx context.Context, load func(uint64, int64, io.Reader) error, fn func(*ledger.Committed) error) (journal.SnapshotUse, error) {
	s.sl.mu.Lock()
	snap, seq, lastTS := s.sl.snap, s.sl.seq, s.sl.lastTS
	s.sl.mu.Unlock()
	var use journal.SnapshotUse
	if snap != nil {
		if err := load(seq, lastTS, bytes.NewReader(snap)); err != nil {
			use.Ignored = err
		} else {
			use.Seq = seq
		}
	}
	s.lastSeq = use.Seq
	_, err := s.ReadAfter(ctx, use.Seq, 1<<30, fn)
	return use, err
}

func (s *snapStore) SaveSnapshot(_ context.Context, seq uint64, lastTS int64, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	s.sl.mu.Lock()
	defer s.sl.mu.Unlock()
	s.sl.snap, s.sl.seq, s.sl.lastTS = b.Bytes(), seq, lastTS
	s.sl.saves++
	return nil
}

// TestSnapshotJournal checks the journal's side of snapshots on a store
// in memory: a journal opened to write saves one at Close, one that
// started as a follower does not, even once promoted, but loads one;
// and a snapshot the ledger refuses is ignored for a full replay.
func TestSnapshotJournal(t *testing.T) {
	ctx := context.Background()
	sl := &snapLog{sharedLog: &sharedLog{}}
	create := []ledger.Command{
		{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
		{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny},
	}
	post := func(j *journal.Journal, n uint64) {
		t.Helper()
		if _, err := j.Submit(ctx, []ledger.Command{{Kind: ledger.KindPost, ID: tid(9, n), Debit: 1, Credit: 2, Amount: 5}}); err != nil {
			t.Fatal(err)
		}
	}
	j, err := journal.Open(ctx, sl.open(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Submit(ctx, create); err != nil {
		t.Fatal(err)
	}
	post(j, 1)
	want := stateOf(t, j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil { // a second Close saves nothing more
		t.Fatal(err)
	}
	if sl.saves != 1 || sl.seq != 2 {
		t.Fatalf("after Close: %d snapshots saved, the last of batch %d", sl.saves, sl.seq)
	}

	// A follower loads the snapshot, follows, is promoted, writes, and
	// saves no snapshot at Close.
	f, err := journal.Follow(ctx, sl.open(), journal.FollowOptions{Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rec := f.Recovery(); rec.Snapshot != 2 || rec.Replayed != 0 || !bytes.Equal(stateOf(t, f), want) {
		t.Fatalf("follower: recovery %+v", rec)
	}
	if err := f.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	post(f, 2)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if sl.saves != 1 {
		t.Fatalf("a promoted follower saved a snapshot at Close (%d saved)", sl.saves)
	}

	// A damaged snapshot is ignored: every batch is replayed, to the
	// same ledger, and Close saves a good one again.
	sl.snap[len(sl.snap)/2] ^= 1
	j, err = journal.Open(ctx, sl.open(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := j.Recovery()
	if rec.Snapshot != 0 || !errors.Is(rec.SnapshotIgnored, ledger.ErrSnapshot) || rec.Replayed != 3 {
		t.Fatalf("damaged snapshot: recovery %+v", rec)
	}
	want = stateOf(t, j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if sl.saves != 2 || sl.seq != 3 {
		t.Fatalf("after Close: %d snapshots saved, the last of batch %d", sl.saves, sl.seq)
	}
	j, err = journal.Open(ctx, sl.open(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if rec := j.Recovery(); rec.Snapshot != 3 || rec.Replayed != 0 || !bytes.Equal(stateOf(t, j), want) {
		t.Fatalf("after a good snapshot: recovery %+v", rec)
	}

	// A snapshot stored as another batch than it holds is refused too.
	sl.seq = 2
	k, err := journal.Open(ctx, sl.open(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
	if rec := k.Recovery(); rec.Snapshot != 0 || rec.SnapshotIgnored == nil || rec.Replayed != 3 {
		t.Fatalf("snapshot stored as batch 2: recovery %+v", rec)
	}
}
