package journal_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// sharedLog is a ledger's batches as one database holds them, which
// several stores (processes) read and write.
type sharedLog struct {
	mu      sync.Mutex
	batches []ledger.Committed
	subs    []chan struct{}
}

// memStore is one process's store of a sharedLog.
type memStore struct {
	log     *sharedLog
	lastSeq uint64
	wake    chan struct{}
}

func (l *sharedLog) open() *memStore {
	s := &memStore{log: l, wake: make(chan struct{}, 1)}
	l.mu.Lock()
	l.subs = append(l.subs, s.wake)
	l.mu.Unlock()
	return s
}

func (s *memStore) Replay(ctx context.Context, fn func(*ledger.Committed) error) error {
	last, err := s.ReadAfter(ctx, 0, 1<<30, fn)
	s.lastSeq = last
	return err
}

func (s *memStore) ReadAfter(_ context.Context, seq uint64, max int, fn func(*ledger.Committed) error) (uint64, error) {
	s.log.mu.Lock()
	var todo []ledger.Committed
	for i := seq; i < uint64(len(s.log.batches)) && len(todo) < max; i++ {
		todo = append(todo, s.log.batches[i])
	}
	s.log.mu.Unlock()
	last := seq
	for i := range todo {
		if err := fn(&todo[i]); err != nil {
			return last, err
		}
		last = todo[i].Seq
	}
	if seq == s.lastSeq {
		s.lastSeq = last
	}
	return last, nil
}

func (s *memStore) Appended() <-chan struct{} { return s.wake }

func (s *memStore) Append(_ context.Context, bs []*ledger.Committed) error {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	for _, b := range bs {
		if b.Seq != uint64(len(s.log.batches))+1 || b.Seq != s.lastSeq+1 {
			return fmt.Errorf("append batch %d: the log holds %d, this store knows %d", b.Seq, len(s.log.batches), s.lastSeq)
		}
		c := *b
		c.Events = slices.Clone(b.Events)
		s.log.batches = append(s.log.batches, c)
		s.lastSeq = b.Seq
	}
	for _, w := range s.log.subs {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	return nil
}

func (s *memStore) events() []ledger.Event {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	var evs []ledger.Event
	for _, b := range s.log.batches {
		evs = append(evs, b.Events...)
	}
	return evs
}

func (s *memStore) Event(_ context.Context, ts int64) (ledger.Event, error) {
	for _, e := range s.events() {
		if e.Timestamp == ts {
			return e, nil
		}
	}
	return ledger.Event{}, journal.ErrNotFound
}

func (s *memStore) AccountEvents(_ context.Context, a ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error) {
	var out []ledger.Event
	for _, e := range s.events() {
		if e.Timestamp >= from && e.Timestamp < to && len(out) < limit && (e.Debit == a || e.Credit == a || e.Account == a) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) Scan(_ context.Context, from, to int64, fn func(ledger.Event) error) error {
	for _, e := range s.events() {
		if e.Timestamp >= from && e.Timestamp < to {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *memStore) Close() error { return nil }

// accounts returns the journal's accounts.
func accounts(t *testing.T, j *journal.Journal) []ledger.Account {
	t.Helper()
	as, err := j.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// waitSeq waits until j has applied batch seq.
func waitSeq(t *testing.T, j *journal.Journal, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for j.Seq() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("follower at batch %d after 5 s, want %d", j.Seq(), seq)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFollowAndPromote runs a leader and a follower over one shared log:
// the follower keeps the leader's ledger, refuses submissions, hears of
// every batch, and once promoted writes after the leader's last batch.
func TestFollowAndPromote(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	log := &sharedLog{}
	leader, err := journal.Open(ctx, log.open(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leader.Submit(ctx, []ledger.Command{
		{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
		{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny},
		{Kind: ledger.KindCreateAccount, Account: 3, Currency: cny},
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	heard := 0
	follower, err := journal.Follow(ctx, log.open(), journal.FollowOptions{Poll: time.Hour, Options: journal.Options{
		OnDurable: func(bs []*ledger.Committed) {
			mu.Lock()
			heard += len(bs)
			mu.Unlock()
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	start := follower.Seq()
	n := uint64(0)
	var first ledger.Command
	for i := 0; i < 300; i++ {
		n++
		amt := 1 + rng.Int64N(1000)
		cmd := ledger.Command{Kind: ledger.KindPost, ID: tid(2, n), Debit: 1, Credit: ledger.AccountID(2 + rng.IntN(2)), Amount: money.Amount(amt)}
		if _, err := leader.Submit(ctx, []ledger.Command{cmd}); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			first = cmd
		}
	}
	waitSeq(t, follower, leader.Seq())
	if !slices.Equal(accounts(t, leader), accounts(t, follower)) {
		t.Fatalf("the follower's accounts differ from the leader's:\n%+v\n%+v", accounts(t, follower), accounts(t, leader))
	}
	if tr, err := follower.Transfer(ctx, tid(2, 7)); err != nil || tr.State != ledger.StatePosted {
		t.Fatalf("transfer on the follower: %+v %v", tr, err)
	}
	if _, err := follower.Submit(ctx, []ledger.Command{{Kind: ledger.KindPost, ID: tid(3, 1), Debit: 1, Credit: 2, Amount: 1}}); !errors.Is(err, journal.ErrNotLeader) {
		t.Fatalf("submit to a follower: %v, want ErrNotLeader", err)
	}
	if following, at, err := follower.Following(); !following || err != nil || time.Since(at) > 5*time.Second {
		t.Fatalf("Following: %v %v %v", following, at, err)
	}
	mu.Lock()
	if heard != int(leader.Seq()-start) {
		t.Errorf("OnDurable heard of %d batches, want %d", heard, leader.Seq()-start)
	}
	mu.Unlock()

	// The leader writes more and goes; the follower, promoted, applies
	// them first and writes after them.
	for i := 0; i < 20; i++ {
		n++
		if _, err := leader.Submit(ctx, []ledger.Command{{Kind: ledger.KindPost, ID: tid(2, n), Debit: 1, Credit: 3, Amount: 5}}); err != nil {
			t.Fatal(err)
		}
	}
	last := leader.Seq()
	want := accounts(t, leader)
	if err := leader.Close(); err != nil {
		t.Fatal(err)
	}
	if err := follower.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if follower.Seq() != last || !slices.Equal(accounts(t, follower), want) {
		t.Fatalf("promoted at batch %d (want %d) with accounts %+v, want %+v", follower.Seq(), last, accounts(t, follower), want)
	}
	if following, _, _ := follower.Following(); following {
		t.Fatal("a promoted journal still says it follows")
	}
	res, err := follower.Submit(ctx, []ledger.Command{first})
	if err != nil || res[0].Status != ledger.StatusExists {
		t.Fatalf("a retry of the old leader's transfer on the new: %v %v", res, err)
	}
	if _, err := follower.Submit(ctx, []ledger.Command{{Kind: ledger.KindPost, ID: tid(3, 1), Debit: 1, Credit: 2, Amount: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := follower.Promote(ctx); err == nil {
		t.Fatal("a second promotion succeeded")
	}
	// A fresh journal over the log recovers what both wrote.
	again, err := journal.Open(ctx, log.open(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Seq() != follower.Seq() || !slices.Equal(accounts(t, again), accounts(t, follower)) {
		t.Fatal("reopened ledger differs from the promoted follower's")
	}
}

// TestFollowClose closes a follower that never promoted, and one whose
// reads fail: both stop at once.
func TestFollowClose(t *testing.T) {
	ctx := context.Background()
	log := &sharedLog{}
	f, err := journal.Follow(ctx, log.open(), journal.FollowOptions{Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Promote(ctx); err == nil {
		t.Fatal("promoted a closed follower")
	}
	if _, err := f.Submit(ctx, nil); !errors.Is(err, journal.ErrClosed) && !errors.Is(err, journal.ErrNotLeader) {
		t.Fatalf("submit to a closed follower: %v", err)
	}
}
