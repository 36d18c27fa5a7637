package ledger_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/ledger/ledgertest"
	"github.com/hulian/hulian/internal/money"
)

var updateGolden = flag.Bool("update-snapshot", false, "rewrite testdata/snapshot-v1.hex")

func snapshot(t testing.TB, s *ledger.State) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.WriteSnapshot(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// restore reads b back and checks the copy against s: everything the
// ledger holds, the index's structure, the invariants and the bytes of
// its own snapshot.
func restore(t testing.TB, s *ledger.State, b []byte) *ledger.State {
	t.Helper()
	r, err := ledger.ReadSnapshot(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("read snapshot of batch %d: %v", s.Seq(), err)
	}
	if err := ledger.SameState(s, r); err != nil {
		t.Fatalf("restored batch %d differs: %v", s.Seq(), err)
	}
	if err := ledger.CheckIndexOf(r); err != nil {
		t.Fatalf("restored index of batch %d: %v", s.Seq(), err)
	}
	if err := r.CheckInvariants(); err != nil {
		t.Fatalf("restored batch %d: %v", s.Seq(), err)
	}
	if again := snapshot(t, r); !bytes.Equal(again, b) {
		t.Fatalf("snapshot of the restored batch %d differs", s.Seq())
	}
	return r
}

// TestSnapshotSimulation runs the random workload of TestSimulation,
// snapshots the ledger at random batches and reads each snapshot back;
// every copy then takes the same batches as the original for a while,
// which must give the same results and events byte for byte, and end in
// the same state and the same snapshot.
func TestSnapshotSimulation(t *testing.T) {
	s := seed(t)
	g := ledgertest.NewGenerator(s)
	rng := rand.New(rand.NewPCG(s, 2))
	l := ledger.New()
	type copyOf struct {
		st   *ledger.State
		left int // batches it still takes
	}
	copies := []copyOf{{restore(t, l, snapshot(t, l)), 50}} // from the empty ledger
	var c, cc ledger.Committed
	var res, rres []ledger.Result
	taken := 0
	now, cmds := g.Setup()
	for i := 0; i < *batchFlag; i++ {
		res = l.Apply(now, cmds, res, &c)
		want := encode(c.Events)
		live := copies[:0]
		for _, cp := range copies {
			rres = cp.st.Apply(now, cmds, rres, &cc)
			if fmt.Sprint(rres) != fmt.Sprint(res) || cc.Seq != c.Seq || !bytes.Equal(encode(cc.Events), want) {
				t.Fatalf("batch %d: a restored ledger answered differently:\n%v\n%v", l.Seq(), rres, res)
			}
			if cp.left--; cp.left > 0 {
				live = append(live, cp)
				continue
			}
			if err := cp.st.CheckInvariants(); err != nil {
				t.Fatalf("batch %d: restored ledger: %v", l.Seq(), err)
			}
			if err := ledger.SameState(l, cp.st); err != nil {
				t.Fatalf("batch %d: restored ledger: %v", l.Seq(), err)
			}
			if !bytes.Equal(snapshot(t, cp.st), snapshot(t, l)) {
				t.Fatalf("batch %d: restored ledger's snapshot differs", l.Seq())
			}
		}
		copies = live
		if rng.IntN(40) == 0 && len(copies) < 4 {
			copies = append(copies, copyOf{restore(t, l, snapshot(t, l)), 1 + rng.IntN(400)})
			taken++
		}
		now, cmds = g.Next()
	}
	if taken < 5 {
		t.Errorf("only %d snapshots taken", taken)
	}
	if len(l.Reservations()) == 0 && l.Transfers() == 0 {
		t.Error("the workload left an empty ledger")
	}
	restore(t, l, snapshot(t, l))
}

// goldenState builds a small ledger with something of everything a
// snapshot holds.
func goldenState(t testing.TB) *ledger.State {
	cny, usd := money.MustCurrency("CNY"), money.MustCurrency("USD")
	l := ledger.New()
	id := func(n byte) ledger.ID { return ledger.ID{0: 0xa0, 15: n} }
	t0 := int64(1_750_000_000_000_000_000)
	for i, cmds := range [][]ledger.Command{
		{
			{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
			{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny, Floor: 500},
			{Kind: ledger.KindCreateAccount, Account: 3, Currency: cny},
			{Kind: ledger.KindCreateAccount, Account: 4, Currency: usd},
			{Kind: ledger.KindPost, ID: id(1), Debit: 1, Credit: 2, Amount: 10_000, Purpose: 1},
		},
		{
			{Kind: ledger.KindSetFloor, Account: 2, Floor: 700},
			{Kind: ledger.KindReserve, ID: id(2), Debit: 2, Credit: 3, Amount: 300, Timeout: time.Minute},
			{Kind: ledger.KindReserve, ID: id(3), Debit: 2, Credit: 3, Amount: 200, Timeout: time.Second},
			{Kind: ledger.KindReserve, ID: id(4), Debit: 2, Credit: 3, Amount: 100, Timeout: time.Hour},
			{Kind: ledger.KindMark, ID: id(5), Currency: cny, Ref: id(9)},
		},
		{
			{Kind: ledger.KindCommit, ID: id(6), Pending: id(4)},
		},
		{}, // expires id(3)
	} {
		var c ledger.Committed
		for _, r := range l.Apply(t0+int64(i)*int64(2*time.Second), cmds, nil, &c) {
			if r.Status != ledger.StatusOK {
				t.Fatalf("golden batch %d: %v", i, r.Status)
			}
		}
	}
	if len(l.Reservations()) != 1 {
		t.Fatalf("golden state has %d reservations", len(l.Reservations()))
	}
	return l
}

// TestSnapshotGolden pins version 1 of the encoding: a change to these
// bytes is a new version, and ReadSnapshot keeps reading this one.
func TestSnapshotGolden(t *testing.T) {
	l := goldenState(t)
	got := hex.EncodeToString(snapshot(t, l))
	if *updateGolden {
		if err := os.WriteFile("testdata/snapshot-v1.hex", []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/snapshot-v1.hex")
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Fatalf("encoding changed:\n got %s\nwant %s", got, want)
	}
	restore(t, l, snapshot(t, l))
}

// reseal replaces b's trailing checksum with the right one, so that a
// damaged body reaches the checks behind the checksum.
func reseal(b []byte) []byte {
	if len(b) < 4 {
		return b
	}
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestSnapshotRefusesDamage(t *testing.T) {
	good := snapshot(t, goldenState(t))
	const header = 56
	accounts := header
	transfers := accounts + 4*52
	for _, c := range []struct {
		name   string
		damage func([]byte) []byte
		reseal bool
	}{
		{"empty", func(b []byte) []byte { return nil }, false},
		{"cut short", func(b []byte) []byte { return b[:len(b)-5] }, false},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, false},
		{"flipped bit", func(b []byte) []byte { b[len(b)/2] ^= 4; return b }, false},
		{"checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, false},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, true},
		{"version", func(b []byte) []byte { b[8] = 2; return b }, true},
		{"reserved", func(b []byte) []byte { b[15] = 1; return b }, true},
		{"batch 0 with accounts", func(b []byte) []byte { clear(b[16:24]); return b }, true},
		{"more accounts", func(b []byte) []byte { b[39]++; return b }, true},
		{"fewer transfers", func(b []byte) []byte { b[47]--; return b }, true},
		{"more reservations", func(b []byte) []byte { b[55]++; return b }, true},
		{"accounts out of order", func(b []byte) []byte { b[accounts+7] = 9; return b }, true},
		{"account currency", func(b []byte) []byte { b[accounts+8], b[accounts+9] = 0, 1; return b }, true},
		{"account flags", func(b []byte) []byte { b[accounts+10] = 2; return b }, true},
		{"balance", func(b []byte) []byte { b[accounts+52+35]++; return b }, true},
		{"first transfer's timestamp", func(b []byte) []byte { b[transfers] ^= 0x7f; return b }, true},
		{"transfer state", func(b []byte) []byte { _, n := binary.Uvarint(b[transfers:]); b[transfers+n+7] |= 7; return b }, true},
		{"long varint", func(b []byte) []byte {
			_, n := binary.Uvarint(b[transfers:])
			b[transfers+n-1] |= 0x80
			return slices.Insert(b, transfers+n, 0)
		}, true},
		{"transfer twice", func(b []byte) []byte {
			_, n := binary.Uvarint(b[transfers:])
			m := n + 24
			_, k := binary.Uvarint(b[transfers+m:])
			copy(b[transfers+m+k+8:], b[transfers+n+8:transfers+n+24]) // the second's id is the first's
			return b
		}, true},
		{"pending entry without reservation", func(b []byte) []byte { b[55]--; return b[:len(b)-48] }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.damage(bytes.Clone(good))
			if c.reseal {
				b = reseal(b)
			}
			_, err := ledger.ReadSnapshot(bytes.NewReader(b))
			if !errors.Is(err, ledger.ErrSnapshot) {
				t.Fatalf("read: %v, want ErrSnapshot", err)
			}
			t.Log(err)
		})
	}
}

// FuzzReadSnapshot: whatever bytes come in, ReadSnapshot does not panic,
// and what it accepts is a consistent state whose snapshot is those very
// bytes. Each input is tried as it is and with its checksum made right.
func FuzzReadSnapshot(f *testing.F) {
	f.Add(snapshot(f, goldenState(f)))
	f.Add(snapshot(f, ledger.New()))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, reseal(b)} {
			s, err := ledger.ReadSnapshot(bytes.NewReader(in))
			if err != nil {
				if !errors.Is(err, ledger.ErrSnapshot) {
					t.Fatalf("error not ErrSnapshot: %v", err)
				}
				continue
			}
			if err := s.CheckInvariants(); err != nil {
				t.Fatalf("accepted an inconsistent state: %v", err)
			}
			if err := ledger.CheckIndexOf(s); err != nil {
				t.Fatalf("accepted a broken index: %v", err)
			}
			if got := snapshot(t, s); !bytes.Equal(got, in) {
				t.Fatalf("accepted a snapshot that does not re-encode to itself:\n%x\n%x", in, got)
			}
		}
	})
}

var snapshotTransfers = flag.Int("snapshot-transfers", 1_000_000, "transfers in the ledger of BenchmarkSnapshot")

// BenchmarkSnapshot writes and reads back a snapshot of a ledger of
// -snapshot-transfers one-phase transfers among 100 accounts, in memory.
func BenchmarkSnapshot(b *testing.B) {
	cny := money.MustCurrency("CNY")
	l := ledger.New()
	setup := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 1000, Currency: cny, AccountFlags: ledger.AccountUnbounded}}
	for a := ledger.AccountID(1); a <= 100; a++ {
		setup = append(setup,
			ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cny},
			ledger.Command{Kind: ledger.KindPost, ID: ledger.ID{0: 0xff, 15: byte(a)}, Debit: 1000, Credit: a, Amount: 1 << 50})
	}
	var c ledger.Committed
	now := int64(1_750_000_000_000_000_000)
	l.Apply(now, setup, nil, &c)
	cmds := make([]ledger.Command, ledger.BatchMax)
	var n uint64
	for l.Transfers() < *snapshotTransfers {
		for i := range cmds {
			n++
			var id ledger.ID
			id[0] = 0x42
			binary.BigEndian.PutUint64(id[8:], n)
			cmds[i] = ledger.Command{Kind: ledger.KindPost, ID: id, Debit: ledger.AccountID(1 + n%100), Credit: ledger.AccountID(1 + (n+1)%100), Amount: money.Amount(1 + n%1000)}
		}
		now += 1e6
		l.Apply(now, cmds, nil, &c)
	}
	var buf bytes.Buffer
	b.ResetTimer()
	for range b.N {
		buf.Reset()
		start := time.Now()
		if err := l.WriteSnapshot(&buf); err != nil {
			b.Fatal(err)
		}
		write := time.Since(start)
		start = time.Now()
		r, err := ledger.ReadSnapshot(bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(write.Seconds(), "s/write")
		b.ReportMetric(time.Since(start).Seconds(), "s/read")
		b.ReportMetric(float64(buf.Len())/float64(r.Transfers()), "bytes/transfer")
	}
}
