package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// ledgerOf returns a journal's ledger in its canonical encoding.
func ledgerOf(t *testing.T, j *journal.Journal) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	j.View(func(s *ledger.State) { err = s.WriteSnapshot(&b) })
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// openJournal opens a store on dsn and a journal on it, checking how it
// recovered: from the snapshot of batch snap after replaying replayed
// batches, and, if ignored, having ignored a stored snapshot.
func openJournal(t *testing.T, dsn string, snap uint64, replayed int, ignored bool) (*journal.Journal, *postgres.Store) {
	t.Helper()
	s := open(t, dsn)
	j, err := journal.Open(context.Background(), s, journal.Options{})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	rec := j.Recovery()
	if rec.Snapshot != snap || rec.Replayed != replayed || (rec.SnapshotIgnored != nil) != ignored {
		j.Close()
		s.Close()
		t.Fatalf("recovery %+v, want snapshot %d, %d replayed, ignored %v", rec, snap, replayed, ignored)
	}
	if ignored {
		t.Logf("ignored: %v", rec.SnapshotIgnored)
	}
	return j, s
}

func closeJournal(t *testing.T, j *journal.Journal, s *postgres.Store) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// someBatches submits a few batches: accounts, transfers and
// reservations, one left pending.
func someBatches(t *testing.T, j *journal.Journal) {
	t.Helper()
	cny := money.MustCurrency("CNY")
	for _, cmds := range [][]ledger.Command{
		{
			{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
			{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny, Floor: 100},
		},
		{{Kind: ledger.KindPost, ID: ledger.ID{1}, Debit: 1, Credit: 2, Amount: 1000}},
		{{Kind: ledger.KindReserve, ID: ledger.ID{2}, Debit: 2, Credit: 1, Amount: 300, Timeout: time.Hour}},
		{{Kind: ledger.KindReserve, ID: ledger.ID{3}, Debit: 2, Credit: 1, Amount: 200, Timeout: time.Hour}},
		{{Kind: ledger.KindCommit, ID: ledger.ID{4}, Pending: ledger.ID{3}}},
	} {
		if _, err := j.Submit(context.Background(), cmds); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotIgnored damages a stored snapshot in each way that must
// make a start ignore it: the next start replays every batch, to the
// same ledger, and its clean close stores a good snapshot again.
func TestSnapshotIgnored(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	j, s := openJournal(t, dsn, 0, 0, false)
	someBatches(t, j)
	want, seq := ledgerOf(t, j), j.Seq()
	closeJournal(t, j, s)
	c := sqlConn(t, dsn)
	for _, damage := range []struct {
		name string
		sql  string
	}{
		{"a byte of a chunk", "UPDATE ledger_snapshot_chunks SET data = set_byte(data, 60, get_byte(data, 60) # 1) WHERE n = 0"},
		{"the checksum", "UPDATE ledger_snapshot SET crc32c = (crc32c + 1) % 4294967296"},
		{"the size", "UPDATE ledger_snapshot SET size = size + 1"},
		{"a chunk missing", "DELETE FROM ledger_snapshot_chunks"},
		{"a chunk too many", "UPDATE ledger_snapshot SET chunks = chunks + 1"},
		{"the last timestamp", "UPDATE ledger_snapshot SET last_ts = last_ts - 1"},
		{"a batch not stored", "UPDATE ledger_snapshot SET seq = seq + 1"},
		// The anchor holds (batch 4's last event), but the bytes are of
		// batch 5.
		{"another batch's anchor", `UPDATE ledger_snapshot SET seq = seq - 1,
			last_ts = (SELECT max(ts) FROM ledger_events WHERE batch = (SELECT seq - 1 FROM ledger_snapshot))`},
		{"bytes that are no snapshot", ""},
	} {
		t.Run(damage.name, func(t *testing.T) {
			if damage.sql == "" {
				// Whole and intact for the store, refused by the ledger.
				junk := []byte("not a ledger snapshot")
				if _, err := c.Exec(ctx, "DELETE FROM ledger_snapshot_chunks"); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Exec(ctx, "INSERT INTO ledger_snapshot_chunks (n, data) VALUES (0, $1)", junk); err != nil {
					t.Fatal(err)
				}
				sum := crc32.Checksum(junk, crc32.MakeTable(crc32.Castagnoli))
				if _, err := c.Exec(ctx, "UPDATE ledger_snapshot SET size = $1, chunks = 1, crc32c = $2", len(junk), int64(sum)); err != nil {
					t.Fatal(err)
				}
			} else if _, err := c.Exec(ctx, damage.sql); err != nil {
				t.Fatal(err)
			}
			j, s := openJournal(t, dsn, 0, int(seq), true)
			if !bytes.Equal(ledgerOf(t, j), want) {
				t.Fatal("replayed ledger differs")
			}
			closeJournal(t, j, s)
			// The clean close replaced the damaged snapshot.
			j, s = openJournal(t, dsn, seq, 0, false)
			if !bytes.Equal(ledgerOf(t, j), want) {
				t.Fatal("ledger loaded from the new snapshot differs")
			}
			closeJournal(t, j, s)
		})
	}
}

// TestSnapshotStore checks SaveSnapshot's and ReplaySnapshot's rules
// directly: only a snapshot of the last stored batch is taken, a failed
// write leaves the old one, a snapshot written in odd pieces reads back
// whole from its chunks, and a load that fails means a full replay.
func TestSnapshotStore(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := open(t, dsn)
	defer s.Close()
	noLoad := func(uint64, int64, io.Reader) error { t.Error("load called"); return nil }
	use, err := s.ReplaySnapshot(ctx, noLoad, func(*ledger.Committed) error { return nil })
	if err != nil || use != (journal.SnapshotUse{}) {
		t.Fatalf("empty store: %+v, %v", use, err)
	}
	bs := batches(3, 2)
	if err := s.Append(ctx, ptrs(bs)); err != nil {
		t.Fatal(err)
	}
	last := bs[2].Events[len(bs[2].Events)-1].Timestamp
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16+5) // three chunks and a bit
	write := func(b []byte) func(io.Writer) error {
		return func(w io.Writer) error {
			for len(b) > 0 { // in odd pieces
				k := min(len(b), 100_003)
				if _, err := w.Write(b[:k]); err != nil {
					return err
				}
				b = b[k:]
			}
			return nil
		}
	}
	if err := s.SaveSnapshot(ctx, 2, bs[1].Events[len(bs[1].Events)-1].Timestamp, write(big)); err == nil {
		t.Fatal("saved a snapshot of batch 2 with batch 3 stored")
	}
	if err := s.SaveSnapshot(ctx, 3, last+1, write(big)); err == nil {
		t.Fatal("saved a snapshot with the wrong last timestamp")
	}
	if err := s.SaveSnapshot(ctx, 3, last, write(big)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.SaveSnapshot(ctx, 3, last, func(w io.Writer) error { w.Write([]byte("partial")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	s.Close()

	s = open(t, dsn)
	defer s.Close()
	var got []byte
	var replayed []uint64
	use, err = s.ReplaySnapshot(ctx, func(seq uint64, ts int64, r io.Reader) error {
		if seq != 3 || ts != last {
			t.Errorf("load(%d, %d), want (3, %d)", seq, ts, last)
		}
		var err error
		got, err = io.ReadAll(r)
		return err
	}, func(c *ledger.Committed) error { replayed = append(replayed, c.Seq); return nil })
	if err != nil || use.Seq != 3 || use.Ignored != nil || len(replayed) != 0 {
		t.Fatalf("%+v, %v, replayed %v", use, err, replayed)
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("read back %d bytes, wrote %d", len(got), len(big))
	}
	// A load that fails means a full replay.
	s.Close()
	s = open(t, dsn)
	defer s.Close()
	replayed = nil
	use, err = s.ReplaySnapshot(ctx, func(uint64, int64, io.Reader) error { return boom },
		func(c *ledger.Committed) error { replayed = append(replayed, c.Seq); return nil })
	if err != nil || use.Seq != 0 || !errors.Is(use.Ignored, boom) || len(replayed) != 3 {
		t.Fatalf("failed load: %+v, %v, replayed %v", use, err, replayed)
	}
}

// TestSnapshotNode: a cluster node's follower loads the snapshot a
// single-node switch saved and replays only the batches after it; once
// promoted and closed, its journal saves none (see journal.Close).
func TestSnapshotNode(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	j, s := openJournal(t, dsn, 0, 0, false)
	someBatches(t, j)
	seq := j.Seq()
	closeJournal(t, j, s)
	j, s = openJournal(t, dsn, seq, 0, false)
	if _, err := j.Submit(ctx, []ledger.Command{{Kind: ledger.KindPost, ID: ledger.ID{5}, Debit: 1, Credit: 2, Amount: 1}}); err != nil {
		t.Fatal(err)
	}
	want := ledgerOf(t, j)
	s.Close() // a crash: batch seq+1 is stored, the snapshot is of seq
	defer j.Close()

	n := openNode(t, dsn, "a")
	f, err := journal.Follow(ctx, n, journal.FollowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rec := f.Recovery(); rec.Snapshot != seq || rec.Replayed != 1 || !bytes.Equal(ledgerOf(t, f), want) {
		f.Close()
		t.Fatalf("follower: recovery %+v", rec)
	}
	setLease(t, sqlConn(t, dsn), "a", 1)
	n.SetEpoch(1)
	if err := f.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Submit(ctx, []ledger.Command{{Kind: ledger.KindPost, ID: ledger.ID{6}, Debit: 1, Credit: 2, Amount: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := count(t, sqlConn(t, dsn), "SELECT seq FROM ledger_snapshot"); got != int64(seq) {
		t.Fatalf("the snapshot is of batch %d after the leader closed, want %d, as before", got, seq)
	}
}
