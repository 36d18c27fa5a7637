package postgres_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
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

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dsn := pgtest.DSN(t)
		return func(t *testing.T) journal.Store { return open(t, dsn) }
	})
}

// sqlConn connects to dsn directly, as an auditor would.
func sqlConn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func count(t testing.TB, c *pgx.Conn, sql string) int64 {
	t.Helper()
	var n int64
	if err := c.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func replay(t *testing.T, s *postgres.Store) []ledger.Committed {
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

func TestMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	open(t, dsn).Close()
	c := sqlConn(t, dsn)
	var first time.Time
	if err := c.QueryRow(ctx, "SELECT applied_at FROM hulian_schema_migrations WHERE version = 1").Scan(&first); err != nil {
		t.Fatalf("migration 1 not recorded: %v", err)
	}
	for range 2 {
		open(t, dsn).Close()
	}
	// Each version once, none skipped.
	if n, last := count(t, c, "SELECT count(*) FROM hulian_schema_migrations"), count(t, c, "SELECT max(version) FROM hulian_schema_migrations"); n != last || n < 1 {
		t.Fatalf("%d migrations recorded, the latest version %d", n, last)
	}
	var again time.Time
	if err := c.QueryRow(ctx, "SELECT applied_at FROM hulian_schema_migrations WHERE version = 1").Scan(&again); err != nil || !again.Equal(first) {
		t.Fatalf("migration 1 re-applied: applied at %v then %v (%v)", first, again, err)
	}
	// A database migrated by a newer program is refused, not written.
	if _, err := c.Exec(ctx, "INSERT INTO hulian_schema_migrations (version) VALUES (9999)"); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(ctx, dsn); err == nil {
		s.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

func TestLocked(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := open(t, dsn)
	for range 2 {
		s2, err := postgres.Open(ctx, dsn)
		if !errors.Is(err, postgres.ErrLocked) {
			if err == nil {
				s2.Close()
			}
			t.Fatalf("second open while the first is open: %v, want ErrLocked", err)
		}
		t.Logf("second open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	s = open(t, dsn)
	defer s.Close()
	replay(t, s)
}

// batches makes n committed batches of one-phase transfers, after one
// that creates the accounts.
func batches(n, size int) []ledger.Committed {
	l := ledger.New()
	cny := money.MustCurrency("CNY")
	var out []ledger.Committed
	var c ledger.Committed
	l.Apply(1e18, []ledger.Command{
		{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
		{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny},
	}, nil, &c)
	out = append(out, ledger.Committed{Seq: c.Seq, Now: c.Now, Events: slices.Clone(c.Events)})
	var id uint64
	for len(out) < n {
		cmds := make([]ledger.Command, size)
		for i := range cmds {
			id++
			tid := ledger.ID{0: 7}
			binary.BigEndian.PutUint64(tid[8:], id)
			cmds[i] = ledger.Command{Kind: ledger.KindPost, ID: tid, Debit: 1, Credit: 2, Amount: 100}
		}
		l.Apply(1e18+int64(len(out))*1e6, cmds, nil, &c)
		out = append(out, ledger.Committed{Seq: c.Seq, Now: c.Now, Events: slices.Clone(c.Events)})
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

func TestAppendRefusesGap(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	bs := batches(6, 3)
	s := open(t, dsn)
	defer s.Close()
	if err := s.Append(ctx, ptrs(bs[:1])); err == nil {
		t.Fatal("Append before Replay was accepted")
	}
	replay(t, s)
	if err := s.Append(ctx, ptrs(bs[:3])); err != nil {
		t.Fatal(err)
	}
	c := sqlConn(t, dsn)
	state := func() [2]int64 {
		return [2]int64{count(t, c, "SELECT count(*) FROM ledger_batches"), count(t, c, "SELECT count(*) FROM ledger_events")}
	}
	before := state()
	for _, bad := range [][]*ledger.Committed{
		{&bs[4]},         // skips 4
		{&bs[3], &bs[5]}, // 4 is fine, then skips 5
		{&bs[2]},         // already stored
		{&bs[0]},
	} {
		if err := s.Append(ctx, bad); err == nil {
			t.Fatalf("append of batch %d after batch 3 was accepted", bad[0].Seq)
		}
		if after := state(); after != before {
			t.Fatalf("refused append changed the tables: %v rows, before %v", after, before)
		}
	}
	// The store is still usable, and continues after the last stored batch.
	if err := s.Append(ctx, ptrs(bs[3:])); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dsn)
	if got := replay(t, s); len(got) != len(bs) || got[len(got)-1].Seq != bs[len(bs)-1].Seq {
		t.Fatalf("replayed %d batches, want %d", len(got), len(bs))
	}
}

// TestExtremeValues stores events with every field at an edge, built by
// hand rather than by the ledger, and reads them back unchanged.
func TestExtremeValues(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	full := ledger.ID{0: 0xff, 7: 1, 15: 0x80}
	evs := []ledger.Event{
		{Timestamp: math.MinInt64, Kind: ledger.KindCreateAccount, Flags: ledger.EventUnbounded | ledger.EventLinked, Currency: 999, Account: math.MaxUint64, Floor: math.MaxInt64},
		{Timestamp: -1, Kind: ledger.KindReserve, Purpose: math.MaxUint16, Currency: 156, ID: full, Ref: ledger.ID{15: 1},
			Debit: 1 << 63, Credit: 1, Amount: math.MaxInt64, Timeout: ledger.TimeoutMax},
		{Timestamp: 0, Kind: ledger.KindExpire, Currency: 1, Pending: full, Debit: 1 << 63, Credit: 1, Amount: math.MinInt64},
		{Timestamp: math.MaxInt64, Kind: 255, Flags: 255, Floor: math.MinInt64, Timeout: math.MinInt64},
	}
	want := []ledger.Committed{
		{Seq: 1, Now: math.MinInt64, Events: evs[:1]},
		{Seq: 2, Now: 0},
		{Seq: 3, Now: math.MaxInt64, Events: evs[1:]},
	}
	s := open(t, dsn)
	replay(t, s)
	if err := s.Append(ctx, ptrs(want)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dsn)
	defer s.Close()
	got := replay(t, s)
	if len(got) != len(want) {
		t.Fatalf("replayed %d batches, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Seq != want[i].Seq || got[i].Now != want[i].Now || !slices.Equal(got[i].Events, want[i].Events) {
			t.Fatalf("batch %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, e := range evs {
		if g, err := s.Event(ctx, e.Timestamp); err != nil || g != e {
			t.Fatalf("Event(%d) = %+v, %v; want %+v", e.Timestamp, g, err, e)
		}
	}
	if g, err := s.AccountEvents(ctx, 1<<63, math.MinInt64, math.MaxInt64, 10); err != nil || !slices.Equal(g, evs[1:3]) {
		t.Fatalf("AccountEvents(1<<63) = %+v, %v", g, err)
	}
	if g, err := s.AccountEvents(ctx, math.MaxUint64, math.MinInt64, math.MaxInt64, 10); err != nil || !slices.Equal(g, evs[:1]) {
		t.Fatalf("AccountEvents(MaxUint64) = %+v, %v", g, err)
	}
	// Zero ids and account ids are NULL to SQL.
	c := sqlConn(t, dsn)
	if n := count(t, c, "SELECT count(*) FROM ledger_events WHERE debit IS NULL AND credit IS NULL AND id IS NULL AND pending IS NULL AND ref IS NULL"); n != 2 {
		t.Fatalf("%d events with NULL accounts and ids, want 2", n)
	}
}

func TestEventNotFound(t *testing.T) {
	s := open(t, pgtest.DSN(t))
	defer s.Close()
	replay(t, s)
	if _, err := s.Event(context.Background(), 1); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("Event: %v, want ErrNotFound", err)
	}
}

// TestAppendAtomic makes PostgreSQL refuse the second batch of an Append
// (an event kind its CHECK forbids), for a small Append, sent pipelined,
// and a large one, sent by COPY: neither stores anything, and the store
// goes on from where it was.
func TestAppendAtomic(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	bs := batches(4, 1000)
	s := open(t, dsn)
	defer s.Close()
	replay(t, s)
	if err := s.Append(ctx, ptrs(bs[:1])); err != nil {
		t.Fatal(err)
	}
	c := sqlConn(t, dsn)
	state := func() [2]int64 {
		return [2]int64{count(t, c, "SELECT count(*) FROM ledger_batches"), count(t, c, "SELECT count(*) FROM ledger_events")}
	}
	before := state()
	for _, size := range []int{1, 1000} {
		bad := ledger.Committed{Seq: 3, Now: bs[2].Now, Events: slices.Clone(bs[2].Events[:size])}
		bad.Events[size-1].Kind = 0
		if err := s.Append(ctx, []*ledger.Committed{{Seq: 2, Now: bs[1].Now, Events: bs[1].Events[:size]}, &bad}); err == nil {
			t.Fatalf("append of an event of kind 0 (%d events) was accepted", size)
		}
		if after := state(); after != before {
			t.Fatalf("failed append (%d events) changed the tables: %v rows, before %v", size, after, before)
		}
	}
	if err := s.Append(ctx, ptrs(bs[1:])); err != nil {
		t.Fatal(err)
	}
	if got := replay(t, s); len(got) != len(bs) {
		t.Fatalf("replayed %d batches, want %d", len(got), len(bs))
	}
}

// TestReplayDetectsDamage changes the tables behind the store's back, as
// a mistaken hand edit would, and expects Replay to refuse them.
func TestReplayDetectsDamage(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := open(t, dsn)
	replay(t, s)
	if err := s.Append(ctx, ptrs(batches(4, 3))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	c := sqlConn(t, dsn)
	for _, damage := range []string{
		"DELETE FROM ledger_events WHERE ts = (SELECT max(ts) FROM ledger_events)",            // an event is missing
		"UPDATE ledger_events SET pos = pos + 1 WHERE batch = 3",                              // positions are wrong
		"DELETE FROM ledger_events WHERE batch = 2; DELETE FROM ledger_batches WHERE seq = 2", // a batch is missing
	} {
		if _, err := c.Exec(ctx, damage); err != nil {
			t.Fatal(err)
		}
		s := open(t, dsn)
		err := s.Replay(ctx, func(*ledger.Committed) error { return nil })
		s.Close()
		if err == nil {
			t.Fatalf("replay after %q succeeded", damage)
		}
		t.Logf("after %q: %v", damage, err)
	}
}
