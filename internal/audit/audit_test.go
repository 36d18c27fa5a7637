package audit_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/store"
)

var cny = money.MustCurrency("CNY")

func tid(kind byte, n uint64) ledger.ID {
	var id ledger.ID
	id[0] = kind
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// ledgerFixture is a journal on the embedded store in dir, with two
// funded accounts.
type ledgerFixture struct {
	dir string
	s   *store.Log
	j   *journal.Journal
}

func openLedger(t testing.TB, dir string, hook func([]*ledger.Committed)) *ledgerFixture {
	t.Helper()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(context.Background(), s, journal.Options{OnDurable: hook})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return &ledgerFixture{dir: dir, s: s, j: j}
}

func (f *ledgerFixture) close() {
	f.j.Close()
	f.s.Close()
}

func (f *ledgerFixture) setup(t testing.TB) {
	t.Helper()
	cmds := []ledger.Command{
		{Kind: ledger.KindCreateAccount, Account: 100, Currency: cny, AccountFlags: ledger.AccountUnbounded},
		{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny},
		{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny},
		{Kind: ledger.KindPost, ID: tid(9, 1), Debit: 100, Credit: 1, Amount: 1 << 40},
	}
	if _, err := f.j.Submit(context.Background(), cmds); err != nil {
		t.Fatal(err)
	}
}

func (f *ledgerFixture) pay(t testing.TB, from, n int) {
	t.Helper()
	cmds := make([]ledger.Command, 0, n)
	for i := from; i < from+n; i++ {
		cmds = append(cmds, ledger.Command{Kind: ledger.KindPost, ID: tid(1, uint64(i)), Debit: 1, Credit: 2, Amount: money.Amount(1 + i%100)})
	}
	res, err := f.j.Submit(context.Background(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != ledger.StatusOK {
			t.Fatal(r.Status)
		}
	}
}

func key(t testing.TB, dir string) string {
	t.Helper()
	k, err := audit.LoadKey(filepath.Join(dir, "audit.key"), "", true)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func events(t testing.TB, j *journal.Journal) []ledger.Event {
	t.Helper()
	var out []ledger.Event
	if err := j.Scan(context.Background(), -1<<63, 1<<63-1, func(e ledger.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLogProofsAndRestart appends, proves with tlog's own checks,
// restarts, recovers from a torn and a lost hash file, and verifies
// offline.
func TestLogProofsAndRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	f := openLedger(t, dir, nil)
	k := key(t, dir)
	// The log opens with the ledger, before its first event, as the
	// switch does: a log opened later on a ledger with events refuses.
	l, err := audit.Open(ctx, f.j, audit.Options{Dir: filepath.Join(dir, "audit"), Key: k})
	if err != nil {
		t.Fatal(err)
	}
	f.setup(t)
	for i := 0; i < 30; i++ {
		f.pay(t, i*100, 100)
		l.Wake()
	}
	cp, err := l.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs := events(t, f.j)
	if cp.Size != int64(len(evs)) || cp.Size != 3004 {
		t.Fatalf("checkpoint of size %d, %d events", cp.Size, len(evs))
	}
	v, err := note.NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	// A proof for every 97th transfer, checked with tlog alone.
	for i := 0; i < 3000; i += 97 {
		p, err := l.ProveTransfer(ctx, tid(1, uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open(p.Checkpoint, note.VerifierList(v))
		if err != nil {
			t.Fatal(err)
		}
		c, err := audit.ParseCheckpoint(n.Text)
		if err != nil || c.Size != p.TreeSize {
			t.Fatalf("%v %+v", err, c)
		}
		if err := tlog.CheckRecord(p.Proof, p.TreeSize, c.Root, p.Index, tlog.RecordHash(p.Leaf)); err != nil {
			t.Fatalf("transfer %d leaf %d: %v", i, p.Index, err)
		}
		if p.Index != int64(4+i) {
			t.Fatalf("transfer %d at leaf %d", i, p.Index)
		}
	}
	// Consistency between two checkpoints.
	f.pay(t, 5000, 7)
	cp2, err := l.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := l.ProveConsistency(cp.Size, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(tp, cp2.Size, cp2.Root, cp.Size, cp.Root); err != nil {
		t.Fatal(err)
	}
	leaves, err := l.Leaves(ctx, 1020, 1030)
	if err != nil || len(leaves) != 10 {
		t.Fatal(err, len(leaves))
	}
	if got, _, _ := ledger.DecodeEvent(leaves[0]); got.Timestamp != evs[1020].Timestamp {
		t.Fatalf("leaf 1020 is %+v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart with a torn hash file: cut in the middle of a hash.
	hp := filepath.Join(dir, "audit", audit.HashesFile)
	st, _ := os.Stat(hp)
	if err := os.Truncate(hp, st.Size()-1000-7); err != nil {
		t.Fatal(err)
	}
	f.pay(t, 6000, 50)
	l, err = audit.Open(ctx, f.j, audit.Options{Dir: filepath.Join(dir, "audit"), Key: k})
	if err != nil {
		t.Fatal(err)
	}
	if n := l.Size(); n != int64(len(events(t, f.j))) {
		t.Fatalf("size %d after restart, %d events", n, len(events(t, f.j)))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Lost hash file: recomputed, and it must match the checkpoints.
	os.Remove(hp)
	l, err = audit.Open(ctx, f.j, audit.Options{Dir: filepath.Join(dir, "audit"), Key: k})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	f.close()

	src, err := audit.Embedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := audit.Verify(ctx, audit.VerifyOptions{Source: src, Dir: filepath.Join(dir, "audit"), VerifierKey: l.VerifierKey()})
	var b strings.Builder
	rep.Print(&b)
	t.Log(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 3061 || rep.Compared != 3061 || rep.Roots != rep.Checkpoints || rep.Checkpoints < 3 {
		t.Fatalf("report %+v", rep)
	}
}

// TestWindowCloseSigns checks that a window-close mark gets a checkpoint
// at once, not after the rate limit, and that a rollback of the ledger
// is refused at start.
func TestWindowCloseSigns(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var wake func()
	f := openLedger(t, dir, func([]*ledger.Committed) {
		if wake != nil {
			wake()
		}
	})
	defer f.close()
	l, err := audit.Open(ctx, f.j, audit.Options{Dir: filepath.Join(dir, "audit"), Key: key(t, dir), SignEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wake = l.Wake
	f.setup(t)
	f.pay(t, 0, 3)
	time.Sleep(50 * time.Millisecond)
	if got := l.Latest().Size; got != 0 {
		t.Fatalf("signed %d before the hour passed", got)
	}
	if _, err := f.j.Submit(ctx, []ledger.Command{{Kind: ledger.KindMark, ID: tid(7, 1), Currency: cny, Purpose: purpose.WindowClose, Meta: "CNY-1"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Latest().Size != 8 {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint at the window close: %d", l.Latest().Size)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCosignature registers a witness and takes its co-signature.
func TestCosignature(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	f := openLedger(t, dir, nil)
	defer f.close()
	l, err := audit.Open(ctx, f.j, audit.Options{Dir: filepath.Join(dir, "audit"), Key: key(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f.setup(t)
	if _, err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	wsk, wvk, _ := note.GenerateKey(nil, "regulator.example/w")
	ws, _ := note.NewSigner(wsk)
	v, _ := note.NewVerifier(l.VerifierKey())
	n, err := note.Open(l.Checkpoint(), note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, _ := note.Sign(n, ws)
	if _, _, err := l.AddCosignature(cosigned); err == nil {
		t.Fatal("co-signature of an unregistered witness taken")
	}
	if _, _, err := l.AddWitness("regulator.example/w", wvk); err != nil {
		t.Fatal(err)
	}
	if st := l.Status(); len(st.Witnessed) != 1 || st.Witnessed[0] != (audit.WitnessSize{Name: "regulator.example/w", Size: 0}) {
		t.Fatalf("status before a co-signature: %+v", st)
	}
	if _, added, err := l.AddCosignature(cosigned); err != nil || added != 1 {
		t.Fatal(err, added)
	}
	wv, _ := note.NewVerifier(wvk)
	pub, err := note.Open(l.Checkpoint(), note.VerifierList(v, wv))
	if err != nil || len(pub.Sigs) != 2 {
		t.Fatalf("published %q: %v", l.Checkpoint(), err)
	}
	// A forged body with the witness's signature only is refused.
	forged, _ := note.Sign(&note.Note{Text: strings.Replace(n.Text, "\n4\n", "\n3\n", 1)}, ws)
	if _, _, err := l.AddCosignature(forged); err == nil {
		t.Fatal("forged checkpoint taken")
	}
	// Status tells the witness's progress; the tree grows past it.
	f.pay(t, 1, 3)
	if _, err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st := l.Status()
	if st.Size != 7 || st.Checkpoint.Size != 7 || st.SignedAt.IsZero() ||
		len(st.Witnessed) != 1 || st.Witnessed[0] != (audit.WitnessSize{Name: "regulator.example/w", Size: 4}) {
		t.Fatalf("status after the co-signature of 4 and a tree of 7: %+v", st)
	}
	// Reopened, the log finds the co-signature again.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = audit.Open(ctx, f.j, audit.Options{Dir: filepath.Join(dir, "audit"), Key: key(t, dir)}); err != nil {
		t.Fatal(err)
	}
	if st := l.Status(); len(st.Witnessed) != 1 || st.Witnessed[0].Size != 4 || st.Checkpoint.Size != 7 {
		t.Fatalf("status after a restart: %+v", st)
	}
}

// TestDecodePaymentRecordRefusesShort: a record cut short is refused.
func TestDecodePaymentRecordRefusesShort(t *testing.T) {
	if _, err := audit.DecodePaymentRecord(string([]byte{1, 0})); err == nil {
		t.Fatal("short record decoded")
	}
}
