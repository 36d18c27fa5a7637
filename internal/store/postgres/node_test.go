package postgres_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
	"github.com/hulian/hulian/internal/store/storetest"
)

// openNode opens node's store on dsn, closed when the test ends.
func openNode(t testing.TB, dsn, node string) *postgres.Store {
	t.Helper()
	s, err := postgres.OpenNode(context.Background(), dsn, node)
	if err != nil {
		t.Fatalf("open node %s: %v", node, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// setLease gives the lease to holder at epoch, as a takeover would.
func setLease(t testing.TB, c *pgx.Conn, holder string, epoch int64) {
	t.Helper()
	if _, err := c.Exec(context.Background(), `UPDATE cluster_lease SET holder = $1, epoch = $2, addr = '',
		expires_at = now() + interval '1 hour', renewed_at = now() WHERE id = 1`, holder, epoch); err != nil {
		t.Fatalf("set lease: %v", err)
	}
}

// readAfter reads what follows seq with ReadAfter, keeping copies.
func readAfter(t testing.TB, s *postgres.Store, seq uint64, max int) ([]ledger.Committed, uint64) {
	t.Helper()
	var out []ledger.Committed
	last, err := s.ReadAfter(context.Background(), seq, max, func(c *ledger.Committed) error {
		out = append(out, ledger.Committed{Seq: c.Seq, Now: c.Now, Events: slices.Clone(c.Events)})
		return nil
	})
	if err != nil {
		t.Fatalf("read after %d: %v", seq, err)
	}
	return out, last
}

func equalBatches(t testing.TB, got, want []ledger.Committed) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d batches, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Seq != want[i].Seq || got[i].Now != want[i].Now || !slices.Equal(got[i].Events, want[i].Events) {
			t.Fatalf("batch %d: got seq %d, %d events; want seq %d, %d events", i, got[i].Seq, len(got[i].Events), want[i].Seq, len(want[i].Events))
		}
	}
}

func tableRows(t testing.TB, c *pgx.Conn) [2]int64 {
	t.Helper()
	return [2]int64{count(t, c, "SELECT count(*) FROM ledger_batches"), count(t, c, "SELECT count(*) FROM ledger_events")}
}

func TestNodeStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dsn := pgtest.DSN(t)
		return func(t *testing.T) journal.Store {
			s := openNode(t, dsn, "a")
			setLease(t, sqlConn(t, dsn), "a", 7)
			s.SetEpoch(7)
			return s
		}
	})
}

// TestNodeFencing has node a write, node b take the lease over, and a
// fail to write after it, for an Append sent pipelined and one sent by
// COPY; b reads to the end and goes on.
func TestNodeFencing(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int // events per batch; more than 64 in one Append go by COPY
	}{{"pipelined", 3}, {"copy", 100}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := pgtest.DSN(t)
			bs := batches(6, tc.size)
			a, b := openNode(t, dsn, "a"), openNode(t, dsn, "b")
			c := sqlConn(t, dsn)
			setLease(t, c, "a", 1)
			a.SetEpoch(1)
			replay(t, a)
			if err := a.Append(ctx, ptrs(bs[:3])); err != nil {
				t.Fatal(err)
			}
			setLease(t, c, "b", 2)
			before := tableRows(t, c)
			err := a.Append(ctx, ptrs(bs[3:4]))
			if !errors.Is(err, postgres.ErrFenced) {
				t.Fatalf("append after the takeover: %v, want ErrFenced", err)
			}
			t.Logf("append after the takeover: %v", err)
			if after := tableRows(t, c); after != before {
				t.Fatalf("fenced append changed the tables: %v rows, before %v", after, before)
			}
			got, last := readAfter(t, b, 0, 100)
			equalBatches(t, got, bs[:3])
			if last != 3 {
				t.Fatalf("ReadAfter returned %d, want 3", last)
			}
			b.SetEpoch(2)
			if err := b.Append(ctx, ptrs(bs[3:])); err != nil {
				t.Fatalf("new leader's append: %v", err)
			}
			// a follows b in turn.
			got, _ = readAfter(t, a, 3, 100)
			equalBatches(t, got, bs[3:])
			equalBatches(t, replay(t, openNode(t, dsn, "c")), bs)
		})
	}
}

// TestNodeRefusesToWrite arms node a wrongly in ways that must each be
// fenced without writing, then rightly.
func TestNodeRefusesToWrite(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	bs := batches(2, 3)
	a := openNode(t, dsn, "a")
	c := sqlConn(t, dsn)
	replay(t, a)
	for _, tc := range []struct {
		name   string
		holder string
		epoch  int64 // the lease's
		armed  int64
		ok     bool
	}{
		{"never led", "", 0, 0, false},
		{"unarmed", "a", 1, 0, false},
		{"armed with another epoch", "a", 1, 2, false},
		{"another node holds the epoch", "b", 1, 1, false},
		{"disarmed", "a", 1, 0, false},
		{"leader", "a", 1, 1, true},
	} {
		setLease(t, c, tc.holder, tc.epoch)
		a.SetEpoch(tc.armed)
		before := tableRows(t, c)
		err := a.Append(ctx, ptrs(bs[:1]))
		if tc.ok {
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, postgres.ErrFenced) {
			t.Fatalf("%s: append: %v, want ErrFenced", tc.name, err)
		}
		if after := tableRows(t, c); after != before {
			t.Fatalf("%s: fenced append changed the tables: %v rows, before %v", tc.name, after, before)
		}
	}
	if err := a.Append(ctx, ptrs(bs[1:])); err != nil {
		t.Fatalf("append after the refusals: %v", err)
	}
}

// TestNodeTakeoverRace lets the leader append as fast as it can while the
// other node takes the lease over at a random moment, six times, each
// node leading in turn. The takeover, in its transaction, notes the last
// stored batch after taking the row: no batch may commit after that, and
// the old leader must have been told of exactly the batches up to it.
func TestNodeTakeoverRace(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 20))
	defer func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	}()
	dsn := pgtest.DSN(t)
	bs := batches(1000, 1)
	names := [2]string{"a", "b"}
	stores := [2]*postgres.Store{openNode(t, dsn, "a"), openNode(t, dsn, "b")}
	known := [2]uint64{} // the last batch each store has seen
	c := sqlConn(t, dsn)
	setLease(t, c, "a", 1)
	for _, s := range stores {
		replay(t, s)
	}
	stored := uint64(0)
	for round := range 6 {
		epoch := int64(round + 1)
		l := round % 2
		leader := stores[l]
		_, known[l] = readAfter(t, leader, known[l], len(bs))
		if known[l] != stored {
			t.Fatalf("round %d: leader %s read to batch %d, %d are stored", round, names[l], known[l], stored)
		}
		leader.SetEpoch(epoch)
		type result struct {
			acked  uint64 // the last batch whose Append succeeded
			fenced uint64 // the batch whose Append was fenced
			err    error
		}
		done := make(chan result, 1)
		var started atomic.Bool
		go func() {
			r := result{acked: known[l]}
			for seq := known[l] + 1; ; seq++ {
				if seq > uint64(len(bs)) {
					r.err = errors.New("ran out of batches before the takeover")
					break
				}
				err := leader.Append(ctx, ptrs(bs[seq-1:seq]))
				started.Store(true)
				if errors.Is(err, postgres.ErrFenced) {
					r.fenced = seq
					break
				}
				if err != nil {
					r.err = err
					break
				}
				r.acked = seq
			}
			done <- r
		}()
		for !started.Load() {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "UPDATE cluster_lease SET holder = $1, epoch = $2 WHERE id = 1", names[1-l], epoch+1); err != nil {
			t.Fatal(err)
		}
		var atTakeover int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM ledger_batches").Scan(&atTakeover); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil {
			t.Fatalf("round %d: %v", round, r.err)
		}
		last := uint64(count(t, c, "SELECT coalesce(max(seq), 0) FROM ledger_batches"))
		t.Logf("round %d: %s appended batches %d to %d; fenced at %d; takeover saw %d", round, names[l], known[l]+1, r.acked, r.fenced, atTakeover)
		if r.acked != uint64(atTakeover) || last != r.acked || r.fenced != r.acked+1 {
			t.Fatalf("round %d: %s's appends up to batch %d succeeded, batch %d was fenced; the takeover saw batch %d stored, %d are stored now",
				round, names[l], r.acked, r.fenced, atTakeover, last)
		}
		known[l], stored = r.acked, r.acked
	}
	equalBatches(t, replay(t, openNode(t, dsn, "c")), bs[:stored])
}

// withEmpty returns bs with an empty batch inserted before bs[i], the
// batches after it renumbered.
func withEmpty(bs []ledger.Committed, i int) []ledger.Committed {
	out := slices.Clone(bs[:i])
	out = append(out, ledger.Committed{Seq: uint64(i + 1), Now: bs[i].Now})
	for _, b := range bs[i:] {
		b.Seq++
		out = append(out, b)
	}
	return out
}

func TestReadAfter(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	data := withEmpty(batches(8, 2), 3) // batch 4 is empty; 9 batches
	w := openNode(t, dsn, "w")
	setLease(t, sqlConn(t, dsn), "w", 1)
	w.SetEpoch(1)
	replay(t, w)
	if err := w.Append(ctx, ptrs(data)); err != nil {
		t.Fatal(err)
	}
	r := openNode(t, dsn, "r")
	for _, tc := range []struct {
		seq        uint64
		max        int
		from, to   uint64 // the batches wanted, to included; none if to < from
		wantReturn uint64
	}{
		{0, 100, 1, 9, 9},
		{0, 3, 1, 3, 3},
		{3, 1, 4, 4, 4}, // the empty batch
		{4, 2, 5, 6, 6}, // after it
		{3, 3, 4, 6, 6},
		{1, 100, 2, 9, 9},
		{8, 5, 9, 9, 9},
		{9, 5, 1, 0, 9},
		{20, 5, 1, 0, 20},
		{2, 0, 1, 0, 2},
	} {
		got, last := readAfter(t, r, tc.seq, tc.max)
		var want []ledger.Committed
		if tc.to >= tc.from {
			want = data[tc.from-1 : tc.to]
		}
		equalBatches(t, got, want)
		if last != tc.wantReturn {
			t.Fatalf("ReadAfter(%d, %d) returned %d, want %d", tc.seq, tc.max, last, tc.wantReturn)
		}
	}
	// Following from the store's own position, two at a time.
	f := openNode(t, dsn, "f")
	var all []ledger.Committed
	for seq := uint64(0); ; {
		got, last := readAfter(t, f, seq, 2)
		if last == seq {
			break
		}
		all, seq = append(all, got...), last
	}
	equalBatches(t, all, data)
	// fn's error stops the read; the batches before it count.
	errStop := errors.New("stop")
	last, err := f.ReadAfter(ctx, 2, 10, func(c *ledger.Committed) error {
		if c.Seq == 5 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || last != 4 {
		t.Fatalf("ReadAfter with fn failing at batch 5: %d, %v; want 4, errStop", last, err)
	}
}

// TestReadAfterDetectsDamage changes the tables behind the stores' back
// and expects ReadAfter to refuse them, from the start and from a batch
// before the damage.
func TestReadAfterDetectsDamage(t *testing.T) {
	for _, damage := range []string{
		"INSERT INTO ledger_batches (seq, now, events) VALUES (8, 0, 0)",                      // a gap after batch 6
		"UPDATE ledger_batches SET events = events + 1 WHERE seq = 4",                         // batch 4 takes one of 5's
		"UPDATE ledger_batches SET events = events - 1 WHERE seq = 6",                         // the last event is in no batch
		"UPDATE ledger_batches SET events = 100000 WHERE seq = 5",                             // more than a batch can hold
		"UPDATE ledger_events SET pos = pos + 1 WHERE batch = 3",                              // positions are wrong
		"DELETE FROM ledger_events WHERE ts = (SELECT max(ts) FROM ledger_events)",            // an event is missing
		"DELETE FROM ledger_events WHERE batch = 5; DELETE FROM ledger_batches WHERE seq = 5", // a batch is missing
	} {
		t.Run("", func(t *testing.T) {
			ctx := context.Background()
			dsn := pgtest.DSN(t)
			s := open(t, dsn)
			replay(t, s)
			if err := s.Append(ctx, ptrs(batches(6, 3))); err != nil {
				t.Fatal(err)
			}
			s.Close()
			c := sqlConn(t, dsn)
			if _, err := c.Exec(ctx, damage); err != nil {
				t.Fatalf("%s: %v", damage, err)
			}
			r := openNode(t, dsn, "r")
			for _, seq := range []uint64{0, 2} {
				_, err := r.ReadAfter(ctx, seq, 100, func(*ledger.Committed) error { return nil })
				if err == nil {
					t.Fatalf("ReadAfter(%d) after %q succeeded", seq, damage)
				}
				t.Logf("ReadAfter(%d) after %q: %v", seq, damage, err)
			}
		})
	}
}

// wait waits for a signal on ch.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("no signal from Appended %s", what)
	}
}

func TestAppended(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	bs := batches(3, 1)
	w, r := openNode(t, dsn, "w"), openNode(t, dsn, "r")
	c := sqlConn(t, dsn)
	setLease(t, c, "w", 1)
	w.SetEpoch(1)
	replay(t, w)
	ch := r.Appended()
	wait(t, ch, "once listening")
	if r.Appended() != ch {
		t.Fatal("Appended returned another channel")
	}
	if err := w.Append(ctx, ptrs(bs[:1])); err != nil {
		t.Fatal(err)
	}
	wait(t, ch, "after another store's append")
	// A fenced append, which commits nothing, announces nothing.
	w.SetEpoch(9)
	if err := w.Append(ctx, ptrs(bs[1:2])); !errors.Is(err, postgres.ErrFenced) {
		t.Fatalf("append with a wrong epoch: %v", err)
	}
	select {
	case <-ch:
		t.Fatal("a fenced append was announced")
	case <-time.After(100 * time.Millisecond):
	}
	// The listener's connection is cut, as by a database failover: it
	// listens again, says so, and hears the next append.
	const listeners = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
	if n := count(t, c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"); n != 1 {
		t.Fatalf("%d listening connections, want 1", n)
	}
	wait(t, ch, "once listening again")
	w.SetEpoch(1)
	if err := w.Append(ctx, ptrs(bs[1:2])); err != nil {
		t.Fatal(err)
	}
	wait(t, ch, "after an append, listening again")
	// Close ends the listener.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Second); count(t, c, listeners) != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listener's connection is still open after Close")
		}
	}
}

func TestOpenNodeLocked(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := open(t, dsn)
	for range 2 {
		n, err := postgres.OpenNode(ctx, dsn, "a")
		if !errors.Is(err, postgres.ErrLocked) {
			if err == nil {
				n.Close()
			}
			t.Fatalf("OpenNode while a single-node store is open: %v, want ErrLocked", err)
		}
		t.Logf("OpenNode: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nodes do not lock each other out.
	openNode(t, dsn, "a")
	openNode(t, dsn, "b")
	if _, err := postgres.OpenNode(ctx, dsn, ""); err == nil {
		t.Fatal("OpenNode accepted an empty node id")
	}
}

// freezer forwards TCP connections to a server until frozen, then
// swallows what either side sends, as a server that stopped answering (a
// dead machine, a cut network) would.
type freezer struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, s)
			f.mu.Unlock()
			go f.pipe(c, s)
			go f.pipe(s, c)
		}
	}()
	return f
}

func (f *freezer) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if f.frozen.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// TestNodeCloseDeadServer closes a node's store while an Append and a
// ReadAfter wait on a server that stopped answering: Close returns in
// bounded time, and both fail.
func TestNodeCloseDeadServer(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		t.Skipf("needs a URL DSN to reroute: %v", err)
	}
	f := newFreezer(t, u.Host)
	u.Host = f.ln.Addr().String()
	bs := batches(2, 1)
	s := openNode(t, u.String(), "a")
	setLease(t, sqlConn(t, dsn), "a", 1)
	s.SetEpoch(1)
	replay(t, s)
	if err := s.Append(ctx, ptrs(bs[:1])); err != nil {
		t.Fatal(err)
	}
	f.frozen.Store(true)
	errs := make(chan error, 2)
	go func() { errs <- s.Append(ctx, ptrs(bs[1:])) }()
	go func() {
		_, err := s.ReadAfter(ctx, 0, 10, func(*ledger.Committed) error { return nil })
		errs <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 3500*time.Millisecond {
		t.Fatalf("Close took %v with the server not answering", d)
	} else {
		t.Logf("Close took %v", d)
	}
	for range 2 {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("a write or read succeeded with the server not answering")
			}
			t.Logf("after Close: %v", err)
		case <-time.After(time.Second):
			t.Fatal("a write or read still waits after Close")
		}
	}
}

// TestReadAfterBoundsMemory reads large batches: one ReadAfter passes no
// more of them than hold 1<<16 events between them, and the next goes on.
func TestReadAfterBoundsMemory(t *testing.T) {
	const eventsMax = 1 << 16 // postgres.readEventsMax
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	bs := batches(10, ledger.BatchMax)
	s := open(t, dsn)
	replay(t, s)
	if err := s.Append(ctx, ptrs(bs)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	want, events := 0, 0
	for want < len(bs) && events+len(bs[want].Events) <= eventsMax {
		events += len(bs[want].Events)
		want++
	}
	if want == len(bs) {
		t.Fatalf("the test's %d batches fit in one read", len(bs))
	}
	r := openNode(t, dsn, "r")
	got, last := readAfter(t, r, 0, 100)
	equalBatches(t, got, bs[:want])
	got, _ = readAfter(t, r, last, 100)
	equalBatches(t, got, bs[want:])
}

// TestReadAfterLargestBatch: a batch may hold ledger.BatchMax expiries
// and then ledger.BatchMax commands' events; a follower reads it (it
// refused more than BatchMax events, and would have stopped following).
func TestReadAfterLargestBatch(t *testing.T) {
	ctx := context.Background()
	cny := money.MustCurrency("CNY")
	l := ledger.New()
	var bs []ledger.Committed
	apply := func(now int64, cmds []ledger.Command) {
		var c ledger.Committed
		l.Apply(now, cmds, nil, &c)
		bs = append(bs, ledger.Committed{Seq: c.Seq, Now: c.Now, Events: slices.Clone(c.Events)})
	}
	apply(1e18, []ledger.Command{
		{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
		{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny},
	})
	cmds := make([]ledger.Command, ledger.BatchMax)
	for i := range cmds {
		cmds[i] = ledger.Command{Kind: ledger.KindReserve, ID: ledger.ID{0: 7, 14: byte(i >> 8), 15: byte(i)}, Debit: 1, Credit: 2,
			Amount: money.Amount(i + 1), Timeout: time.Second}
	}
	apply(1e18+1, cmds)
	for i := range cmds {
		cmds[i] = ledger.Command{Kind: ledger.KindPost, ID: ledger.ID{0: 8, 14: byte(i >> 8), 15: byte(i)}, Debit: 1, Credit: 2, Amount: money.Amount(i + 1)}
	}
	apply(1e18+int64(2*time.Second), cmds) // expires the reservations, then posts
	if n := len(bs[2].Events); n != 2*ledger.BatchMax {
		t.Fatalf("the largest batch has %d events, want %d", n, 2*ledger.BatchMax)
	}

	dsn := pgtest.DSN(t)
	w := openNode(t, dsn, "w")
	setLease(t, sqlConn(t, dsn), "w", 1)
	w.SetEpoch(1)
	replay(t, w)
	if err := w.Append(ctx, ptrs(bs)); err != nil {
		t.Fatal(err)
	}
	got, last := readAfter(t, openNode(t, dsn, "r"), 0, 10)
	if last != 3 {
		t.Fatalf("ReadAfter returned %d, want 3", last)
	}
	equalBatches(t, got, bs)
}
