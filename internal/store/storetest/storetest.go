// Package storetest is the test suite every storage engine must pass:
// the embedded engine and PostgreSQL run the very same checks.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/ledger/ledgertest"
	"github.com/hulian/hulian/internal/money"
)

// Opener opens one storage location, fresh for each test; it may be
// called again after the previous store was closed, and must then see
// what was stored before.
type Opener func(t *testing.T) journal.Store

// Run runs the suite. fresh makes a new, empty storage location and
// returns how to open it.
func Run(t *testing.T, fresh func(t *testing.T) Opener) {
	t.Run("Empty", func(t *testing.T) { testEmpty(t, fresh(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, fresh(t)) })
	t.Run("Gap", func(t *testing.T) { testGap(t, fresh(t)) })
	t.Run("LargeBatch", func(t *testing.T) { testLargeBatch(t, fresh(t)) })
	t.Run("Queries", func(t *testing.T) { testQueries(t, fresh(t)) })
	t.Run("TailWhileAppending", func(t *testing.T) { testTail(t, fresh(t)) })
}

// testTail follows the log with Scan from the last event seen while
// batches are appended, as the audit log does: every event is seen once,
// in order, however the scans and appends interleave.
func testTail(t *testing.T, open Opener) {
	ctx := context.Background()
	batches := Workload(9, 1200)
	s := open(t)
	defer s.Close()
	replayAll(t, s)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < len(batches); i += 3 {
			if err := s.Append(ctx, ptrs(batches[i:min(i+3, len(batches))])); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var seen []ledger.Event
	last := int64(-1 << 63)
	tail := func() {
		err := s.Scan(ctx, last+1, 1<<62, func(e ledger.Event) error {
			seen = append(seen, e)
			last = e.Timestamp
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	finished := false
	for !finished {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		tail()
	}
	tail()
	var want []ledger.Event
	for _, b := range batches {
		want = append(want, b.Events...)
	}
	if len(seen) != len(want) {
		t.Fatalf("tailing saw %d events, %d were appended", len(seen), len(want))
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("event %d: saw %+v, appended %+v", i, seen[i], want[i])
		}
	}
}

func replayAll(t *testing.T, s journal.Store) []ledger.Committed {
	t.Helper()
	var out []ledger.Committed
	err := s.Replay(context.Background(), func(c *ledger.Committed) error {
		out = append(out, ledger.Committed{Seq: c.Seq, Now: c.Now, Events: slices.Clone(c.Events)})
		return nil
	})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return out
}

func testEmpty(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	if got := replayAll(t, s); len(got) != 0 {
		t.Fatalf("empty store replayed %d batches", len(got))
	}
	if _, err := s.Event(ctx, 12345); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("Event on empty store: %v", err)
	}
	if evs, err := s.AccountEvents(ctx, 1, 0, 1<<62, 10); err != nil || len(evs) != 0 {
		t.Fatalf("AccountEvents on empty store: %v %v", evs, err)
	}
}

// Workload applies seeded random batches to a ledger and returns what
// they committed.
func Workload(seed uint64, batches int) []ledger.Committed {
	g := ledgertest.NewGenerator(seed)
	l := ledger.New()
	var out []ledger.Committed
	now, cmds := g.Setup()
	for i := 0; i < batches; i++ {
		var c ledger.Committed
		l.Apply(now, cmds, nil, &c)
		if c.Seq != 0 {
			out = append(out, c)
		}
		now, cmds = g.Next()
	}
	return out
}

func ptrs(cs []ledger.Committed) []*ledger.Committed {
	out := make([]*ledger.Committed, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
}

func equalBatches(got, want []ledger.Committed) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d batches, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Now != w.Now || !slices.Equal(g.Events, w.Events) {
			return fmt.Errorf("batch %d: got seq %d now %d %d events, want seq %d now %d %d events", i, g.Seq, g.Now, len(g.Events), w.Seq, w.Now, len(w.Events))
		}
	}
	return nil
}

func testRoundTrip(t *testing.T, open Opener) {
	ctx := context.Background()
	batches := Workload(1, 300)
	s := open(t)
	replayAll(t, s)
	// Appended one at a time, then several at once.
	for i := 0; i < 100; i++ {
		if err := s.Append(ctx, ptrs(batches[i:i+1])); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	for i := 100; i < len(batches); i += 37 {
		if err := s.Append(ctx, ptrs(batches[i:min(i+37, len(batches))])); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t)
	if err := equalBatches(replayAll(t, s), batches); err != nil {
		t.Fatal(err)
	}
	// After a reopen, appending continues where the log ended.
	more := Workload(1, 320)[len(batches):]
	if err := s.Append(ctx, ptrs(more)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t)
	defer s.Close()
	if err := equalBatches(replayAll(t, s), append(batches, more...)); err != nil {
		t.Fatal(err)
	}
}

func testGap(t *testing.T, open Opener) {
	ctx := context.Background()
	batches := Workload(2, 20)
	s := open(t)
	defer s.Close()
	replayAll(t, s)
	if err := s.Append(ctx, ptrs(batches[:3])); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, ptrs(batches[4:5])); err == nil {
		t.Fatal("append with a gap in sequence numbers was accepted")
	}
	// The refused batch stored nothing: the next one in sequence follows.
	if err := s.Append(ctx, ptrs(batches[3:4])); err != nil {
		t.Fatalf("append after a refused gap: %v", err)
	}
	if _, err := s.Event(ctx, batches[4].Events[0].Timestamp); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("the refused batch is readable: %v", err)
	}
}

func testLargeBatch(t *testing.T, open Opener) {
	ctx := context.Background()
	cny := money.MustCurrency("CNY")
	l := ledger.New()
	var c ledger.Committed
	l.Apply(1e18, []ledger.Command{
		{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
		{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny},
	}, nil, &c)
	first := ledger.Committed{Seq: c.Seq, Now: c.Now, Events: slices.Clone(c.Events)}
	cmds := make([]ledger.Command, ledger.BatchMax)
	for i := range cmds {
		cmds[i] = ledger.Command{Kind: ledger.KindPost, ID: ledger.ID{0: 9, 14: byte(i >> 8), 15: byte(i)}, Debit: 1, Credit: 2, Amount: money.Amount(i + 1)}
	}
	var big ledger.Committed
	l.Apply(1e18+1, cmds, nil, &big)
	s := open(t)
	replayAll(t, s)
	if err := s.Append(ctx, []*ledger.Committed{&first, &big}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t)
	defer s.Close()
	if err := equalBatches(replayAll(t, s), []ledger.Committed{first, big}); err != nil {
		t.Fatal(err)
	}
	last := big.Events[len(big.Events)-1]
	if e, err := s.Event(ctx, last.Timestamp); err != nil || e != last {
		t.Fatalf("last event: %+v %v", e, err)
	}
	evs, err := s.AccountEvents(ctx, 2, 0, 1<<62, ledger.BatchMax+10)
	if err != nil || len(evs) != ledger.BatchMax+1 {
		t.Fatalf("account 2 events: %d, %v", len(evs), err)
	}
}

func testQueries(t *testing.T, open Opener) {
	ctx := context.Background()
	batches := Workload(3, 1500)
	s := open(t)
	replayAll(t, s)
	for i := 0; i < len(batches); i += 50 {
		if err := s.Append(ctx, ptrs(batches[i:min(i+50, len(batches))])); err != nil {
			t.Fatal(err)
		}
	}
	var all []ledger.Event
	for _, b := range batches {
		all = append(all, b.Events...)
	}
	check := func(s journal.Store) {
		t.Helper()
		for i := 0; i < len(all); i += 7 {
			e, err := s.Event(ctx, all[i].Timestamp)
			if err != nil || e != all[i] {
				t.Fatalf("Event(%d): %+v, %v; want %+v", all[i].Timestamp, e, err, all[i])
			}
		}
		if _, err := s.Event(ctx, all[len(all)-1].Timestamp+1); !errors.Is(err, journal.ErrNotFound) {
			t.Fatalf("Event after the last: %v", err)
		}
		if _, err := s.Event(ctx, all[0].Timestamp-1); !errors.Is(err, journal.ErrNotFound) {
			t.Fatalf("Event before the first: %v", err)
		}
		first, last := all[0].Timestamp, all[len(all)-1].Timestamp
		for acct := ledger.AccountID(1); acct <= 12; acct++ {
			for _, q := range []struct {
				from, to int64
				limit    int
			}{
				{0, 1 << 62, 1 << 30},
				{0, 1 << 62, 5},
				{first + (last-first)/3, first + (last-first)/2, 1 << 30},
				{first + (last-first)/2, first + (last-first)/2 + 1e9, 3},
				{last, last + 1, 10},
				{5, 5, 10},
			} {
				var want []ledger.Event
				for _, e := range all {
					if (e.Debit == acct || e.Credit == acct || e.Account == acct) && e.Timestamp >= q.from && e.Timestamp < q.to && len(want) < q.limit {
						want = append(want, e)
					}
				}
				got, err := s.AccountEvents(ctx, acct, q.from, q.to, q.limit)
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("AccountEvents(%d, %d, %d, %d): %d events, %v; want %d", acct, q.from, q.to, q.limit, len(got), err, len(want))
				}
			}
		}
	}
	check(s)
	s.Close()
	s = open(t)
	defer s.Close()
	replayAll(t, s)
	check(s)

	// Scan returns exactly the events in the range, in order, and stops
	// when fn says so.
	first, last := all[0].Timestamp, all[len(all)-1].Timestamp
	for _, r := range [][2]int64{{0, 1 << 62}, {first + (last-first)/4, first + (last-first)/2}, {last, last + 1}, {7, 7}} {
		var got, want []ledger.Event
		for _, e := range all {
			if e.Timestamp >= r[0] && e.Timestamp < r[1] {
				want = append(want, e)
			}
		}
		err := s.Scan(ctx, r[0], r[1], func(e ledger.Event) error { got = append(got, e); return nil })
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Scan(%d, %d): %d events, %v; want %d", r[0], r[1], len(got), err, len(want))
		}
	}
	stop := errors.New("stop")
	n := 0
	err := s.Scan(ctx, 0, 1<<62, func(ledger.Event) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("Scan did not stop: %d %v", n, err)
	}
}
