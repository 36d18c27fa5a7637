package audit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
)

// lagJournal shows a follower the ledger up to a timestamp only: a node
// whose copy of the ledger is behind the leader's.
type lagJournal struct {
	*journal.Journal
	limit atomic.Int64 // newest timestamp visible
	// failAfter, when positive, makes a scan fail with errRead after
	// that many events: the database going away mid-read.
	failAfter atomic.Int64
}

var errRead = errors.New("unexpected EOF")

func newLag(j *journal.Journal) *lagJournal {
	lj := &lagJournal{Journal: j}
	lj.limit.Store(math.MaxInt64)
	return lj
}

func (lj *lagJournal) ScanEncoded(ctx context.Context, from, to int64, fn func(raw []byte) error) error {
	if lim := lj.limit.Load(); lim < math.MaxInt64 {
		to = min(to, lim+1)
	}
	if from >= to {
		return nil
	}
	if n := lj.failAfter.Load(); n > 0 {
		seen := int64(0)
		err := lj.Journal.ScanEncoded(ctx, from, to, func(raw []byte) error {
			if seen++; seen > n {
				return errRead
			}
			return fn(raw)
		})
		return err
	}
	return lj.Journal.ScanEncoded(ctx, from, to, fn)
}

// memWatermark is a watermark in memory that counts its saves.
type memWatermark struct {
	mu    sync.Mutex
	size  int64
	ok    bool
	saves int
}

func (w *memWatermark) Load(context.Context) (int64, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size, w.ok, nil
}

func (w *memWatermark) Save(_ context.Context, size int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.size, w.ok = size, true
	w.saves++
	return nil
}

// signedNotes collects what a leader's OnSigned gives.
type signedNotes struct {
	mu    sync.Mutex
	sizes []int64
	notes [][]byte
}

func (s *signedNotes) add(size int64, msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sizes = append(s.sizes, size)
	s.notes = append(s.notes, msg)
}

func (s *signedNotes) all() ([]int64, [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes), slices.Clone(s.notes)
}

// cluster is a leader's and a follower's audit logs over one ledger.
type cluster struct {
	dir      string
	k        string
	f        *ledgerFixture
	leader   *audit.Log
	follower *audit.Log
	lag      *lagJournal
	signed   *signedNotes
	water    *memWatermark // the leader's
}

// newCluster opens a ledger and the two logs on it; the leader's
// OnSigned calls the leader, to show it runs outside the log's lock.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{dir: dir, f: openLedger(t, dir, nil), signed: &signedNotes{}, water: &memWatermark{}}
	t.Cleanup(c.f.close)
	c.k = key(t, dir)
	c.lag = newLag(c.f.j)
	var self atomic.Pointer[audit.Log]
	l, err := audit.Open(context.Background(), c.f.j, audit.Options{
		Dir: filepath.Join(dir, "leader"), Key: c.k, Watermark: c.water, SignEvery: time.Hour,
		OnSigned: func(size int64, msg []byte) {
			if l := self.Load(); l != nil && l.Latest().Size < size {
				t.Errorf("OnSigned(%d) before the checkpoint is the latest", size)
			}
			c.signed.add(size, msg)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	self.Store(l)
	c.leader = l
	t.Cleanup(func() { l.Close() })
	if c.follower, err = audit.Open(context.Background(), c.lag, audit.Options{Dir: filepath.Join(dir, "follower"), Key: c.k, Follow: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.follower.Close() })
	return c
}

// grow commits n payments after the ones before and has the leader sign
// a checkpoint of them; it returns the leader's note.
func (c *cluster) grow(t *testing.T, from, n int) []byte {
	t.Helper()
	c.f.pay(t, from, n)
	if _, err := c.leader.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, notes := c.signed.all()
	return notes[len(notes)-1]
}

func slots(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size() / audit.SlotSize
}

func mustParse(t *testing.T, msg []byte, vkey string) audit.Checkpoint {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	_, c, err := audit.OpenCheckpoint(msg, v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFollowerNeverSigns: a follower hashes the events but signs
// nothing, not on growth, not on Close, not for a proof, and never
// touches the watermark.
func TestFollowerNeverSigns(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.f.setup(t)
	c.grow(t, 0, 50)
	if _, err := c.follower.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := c.follower.Size(), c.leader.Size(); got != want || got != 54 {
		t.Fatalf("follower hashed %d leaves, leader %d", got, want)
	}
	if cp := c.follower.Latest(); cp != (audit.Checkpoint{}) {
		t.Fatalf("follower's latest %+v", cp)
	}
	_, err := c.follower.ProveTransfer(ctx, tid(1, 7))
	if !errors.Is(err, audit.ErrNotSigned) || fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("proof with no checkpoint: %v", err)
	}
	if err := c.follower.Close(); err != nil {
		t.Fatal(err)
	}
	if n := slots(t, filepath.Join(c.dir, "follower", audit.CheckpointsFile)); n != 0 {
		t.Fatalf("follower's checkpoints file holds %d checkpoints", n)
	}
	// Reopened on a ledger with events and no checkpoint, and a
	// watermark ahead: a leader's log refuses (ErrHistoryLost), a
	// follower's opens and leaves the watermark alone.
	w := &memWatermark{size: 54, ok: true}
	fo, err := audit.Open(ctx, c.f.j, audit.Options{Dir: filepath.Join(c.dir, "follower"), Key: c.k, Watermark: w})
	if !errors.Is(err, audit.ErrHistoryLost) {
		t.Fatalf("leader's log over a follower's directory: %v", err)
	}
	fo, err = audit.Open(ctx, c.f.j, audit.Options{Dir: filepath.Join(c.dir, "follower"), Key: c.k, Watermark: w, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	c.f.pay(t, 100, 5)
	if _, err := fo.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fo.Close(); err != nil {
		t.Fatal(err)
	}
	if n := slots(t, filepath.Join(c.dir, "follower", audit.CheckpointsFile)); n != 0 || w.saves != 0 {
		t.Fatalf("follower signed %d checkpoints, saved the watermark %d times", n, w.saves)
	}
}

// TestFollowerImports imports the leader's checkpoints in order (the
// follower's file is then the leader's, byte for byte) and out of order
// (older ones change nothing).
func TestFollowerImports(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.f.setup(t)
	for i := range 5 {
		c.grow(t, i*30, 30)
	}
	sizes, notes := c.signed.all()
	if want := []int64{0, 34, 64, 94, 124, 154}; !slices.Equal(sizes, want) {
		t.Fatalf("leader signed %v, want %v", sizes, want)
	}
	for i, msg := range notes {
		if err := c.follower.Import(ctx, msg); err != nil {
			t.Fatalf("import %d: %v", sizes[i], err)
		}
		if got := c.follower.Latest(); got != mustParse(t, msg, c.leader.VerifierKey()) {
			t.Fatalf("after import %d the latest is %+v", sizes[i], got)
		}
		if !bytes.Equal(c.follower.Checkpoint(), msg) {
			t.Fatalf("follower publishes %q, the leader signed %q", c.follower.Checkpoint(), msg)
		}
	}
	// Again: nothing to do.
	for _, msg := range notes {
		if err := c.follower.Import(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	lb, err := os.ReadFile(filepath.Join(c.dir, "leader", audit.CheckpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.ReadFile(filepath.Join(c.dir, "follower", audit.CheckpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(lb, fb) {
		t.Fatalf("checkpoints files differ: leader %d bytes, follower %d", len(lb), len(fb))
	}

	// A second follower, newest first: the older ones are no-ops.
	f2, err := audit.Open(ctx, c.f.j, audit.Options{Dir: filepath.Join(c.dir, "follower2"), Key: c.k, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	for _, i := range []int{5, 2, 0, 4, 5} {
		if err := f2.Import(ctx, notes[i]); err != nil {
			t.Fatalf("import %d out of order: %v", sizes[i], err)
		}
	}
	if got := f2.Latest().Size; got != 154 {
		t.Fatalf("latest %d after out-of-order imports", got)
	}
	if n := slots(t, filepath.Join(c.dir, "follower2", audit.CheckpointsFile)); n != 1 {
		t.Fatalf("%d checkpoints kept, want the newest only", n)
	}
	// With witnesses' signatures on it, the note is kept without them.
	wsk, _, _ := note.GenerateKey(nil, "regulator.example/w")
	ws, _ := note.NewSigner(wsk)
	v, _ := note.NewVerifier(c.leader.VerifierKey())
	c.grow(t, 1000, 3)
	_, notes = c.signed.all()
	n, err := note.Open(notes[len(notes)-1], note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, _ := note.Sign(n, ws)
	if err := f2.Import(ctx, cosigned); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f2.Checkpoint(), notes[len(notes)-1]) {
		t.Fatalf("kept %q", f2.Checkpoint())
	}
}

// signText signs a checkpoint body with the signer key skey.
func signText(t *testing.T, skey string, cp audit.Checkpoint) []byte {
	t.Helper()
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: string(cp.Format())}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestImportRefuses: what is not the switch's signature is ErrInvalid; a
// root the ledger does not hash to is ErrFork; a tree larger than the
// events is ErrBehind; nothing refused is kept.
func TestImportRefuses(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.f.setup(t)
	good := c.grow(t, 0, 20)
	cp := mustParse(t, good, c.leader.VerifierKey())
	other, err := audit.LoadKey(filepath.Join(c.dir, "other.key"), "", true)
	if err != nil {
		t.Fatal(err)
	}
	// Another key of the same name: same origin, another key hash.
	sameName, err := audit.LoadKey(filepath.Join(c.dir, "same-name.key"), c.leader.Origin(), true)
	if err != nil {
		t.Fatal(err)
	}
	// The same note with one bit of the signature flipped.
	sp := bytes.LastIndex(good, []byte(" "))
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(good[sp+1:])))
	if err != nil {
		t.Fatal(err)
	}
	raw[10] ^= 1
	badSig := append(bytes.Clone(good[:sp+1]), base64.StdEncoding.EncodeToString(raw)+"\n"...)
	tampered := cp
	tampered.Root[0] ^= 1
	beyond := cp
	beyond.Size += 10
	for _, tc := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"garbage", []byte("not a note"), audit.ErrInvalid},
		{"bad signature", badSig, audit.ErrInvalid},
		{"another key", signText(t, other, cp), audit.ErrInvalid},
		{"another key of the same name", signText(t, sameName, cp), audit.ErrInvalid},
		{"unsigned body", cp.Format(), audit.ErrInvalid},
		{"tampered root", signText(t, c.k, tampered), audit.ErrFork},
		{"beyond the events", signText(t, c.k, beyond), audit.ErrBehind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.follower.Import(ctx, tc.msg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("import: %v, want %v", err, tc.want)
			}
			if got := c.follower.Latest(); got != (audit.Checkpoint{}) {
				t.Fatalf("latest %+v after a refused import", got)
			}
		})
	}
	// Held: an older size with a root that is not the tree's is a fork
	// too, though there is nothing to import.
	if err := c.follower.Import(ctx, good); err != nil {
		t.Fatal(err)
	}
	older := audit.Checkpoint{Origin: cp.Origin, Size: 10, Root: tampered.Root}
	if err := c.follower.Import(ctx, signText(t, c.k, older)); !errors.Is(err, audit.ErrFork) {
		t.Fatalf("older fork: %v", err)
	}
	// A leader's log takes an import too, and ignores an older one.
	if err := c.leader.Import(ctx, good); err != nil {
		t.Fatal(err)
	}
	if n := slots(t, filepath.Join(c.dir, "follower", audit.CheckpointsFile)); n != 1 {
		t.Fatalf("%d checkpoints kept", n)
	}
}

// TestFollowerBehind: a follower whose ledger lags gets ErrBehind for a
// checkpoint, and for a co-signature, until its events catch up; then
// its proofs verify against the imported checkpoint, and a leaf past
// the checkpoint is ErrNotSigned.
func TestFollowerBehind(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.f.setup(t)
	first := c.grow(t, 0, 40)
	evs := events(t, c.f.j)
	c.lag.limit.Store(evs[len(evs)-1].Timestamp)
	second := c.grow(t, 40, 40)
	if err := c.follower.Import(ctx, first); err != nil {
		t.Fatal(err)
	}
	err := c.follower.Import(ctx, second)
	if !errors.Is(err, audit.ErrBehind) || fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("import beyond the events: %v", err)
	}

	// A witness, registered on the leader and replayed on the follower
	// through the hooks' way; it co-signs the second checkpoint.
	wsk, wvk, _ := note.GenerateKey(nil, "regulator.example/w")
	ws, _ := note.NewSigner(wsk)
	if _, _, err := c.follower.AddWitness("regulator.example/w", wvk); err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(c.leader.VerifierKey())
	n, err := note.Open(second, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, _ := note.Sign(n, ws)
	if _, _, err := c.follower.AddCosignature(cosigned); !errors.Is(err, audit.ErrBehind) {
		t.Fatalf("co-signature of a checkpoint not imported: %v", err)
	}

	// Proofs in the first checkpoint verify; a leaf past it is not
	// signed yet.
	p, err := c.follower.ProveTransfer(ctx, tid(1, 10))
	if err != nil {
		t.Fatal(err)
	}
	checkProof(t, p, c.leader.VerifierKey(), first)

	c.lag.limit.Store(math.MaxInt64)
	if _, err := c.follower.ProveTransfer(ctx, tid(1, 60)); !errors.Is(err, audit.ErrNotSigned) {
		t.Fatalf("proof past the newest import: %v", err)
	}
	if err := c.follower.Import(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, added, err := c.follower.AddCosignature(cosigned); err != nil || added != 1 {
		t.Fatalf("co-signature after the import: %d, %v", added, err)
	}
	p, err = c.follower.ProveTransfer(ctx, tid(1, 60))
	if err != nil {
		t.Fatal(err)
	}
	if p.Index != 64 || p.TreeSize != 84 {
		t.Fatalf("proof of leaf %d in %d", p.Index, p.TreeSize)
	}
	checkProof(t, p, c.leader.VerifierKey(), second)
	// The follower publishes the witness's co-signature with it.
	wv, _ := note.NewVerifier(wvk)
	if pub, err := note.Open(c.follower.Checkpoint(), note.VerifierList(v, wv)); err != nil || len(pub.Sigs) != 2 {
		t.Fatalf("published %q: %v", c.follower.Checkpoint(), err)
	}
}

// checkProof checks p with tlog and the note verifier alone, and that
// it is in the checkpoint signed as want.
func checkProof(t *testing.T, p audit.Proof, vkey string, want []byte) {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(p.Checkpoint, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := audit.ParseCheckpoint(n.Text)
	if err != nil || cp.Size != p.TreeSize {
		t.Fatalf("%v %+v", err, cp)
	}
	if !bytes.HasPrefix(p.Checkpoint, want) {
		t.Fatalf("proof in %q, want the imported %q", p.Checkpoint, want)
	}
	if err := tlog.CheckRecord(p.Proof, p.TreeSize, cp.Root, p.Index, tlog.RecordHash(p.Leaf)); err != nil {
		t.Fatalf("leaf %d: %v", p.Index, err)
	}
}

// TestFollowerLeads: the follower, having imported the leader's newest
// checkpoint, opens its directory as a leader's log with the leader's
// watermark, and signs on where the old leader stopped; one newest
// checkpoint short, it is refused as a lost history.
func TestFollowerLeads(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.f.setup(t)
	for i := range 3 {
		c.grow(t, i*10, 10)
	}
	if err := c.leader.Close(); err != nil {
		t.Fatal(err)
	}
	_, notes := c.signed.all()
	for _, msg := range notes[:len(notes)-1] {
		if err := c.follower.Import(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	fdir := filepath.Join(c.dir, "follower")
	if err := c.follower.Close(); err != nil {
		t.Fatal(err)
	}
	if c.water.size != 34 {
		t.Fatalf("leader's watermark %d", c.water.size)
	}
	water := &memWatermark{size: c.water.size, ok: true}
	if _, err := audit.Open(ctx, c.f.j, audit.Options{Dir: fdir, Key: c.k, Watermark: water}); !errors.Is(err, audit.ErrHistoryLost) {
		t.Fatalf("opened to lead without the newest checkpoint: %v", err)
	}
	fo, err := audit.Open(ctx, c.f.j, audit.Options{Dir: fdir, Key: c.k, Watermark: water, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := fo.Import(ctx, notes[len(notes)-1]); err != nil {
		t.Fatal(err)
	}
	if err := fo.Close(); err != nil {
		t.Fatal(err)
	}
	var signed [][]byte
	l, err := audit.Open(ctx, c.f.j, audit.Options{Dir: fdir, Key: c.k, Watermark: water,
		OnSigned: func(_ int64, msg []byte) { signed = append(signed, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(signed) != 0 || l.Latest().Size != 34 {
		t.Fatalf("opened with %d new checkpoints, latest %+v", len(signed), l.Latest())
	}
	c.f.pay(t, 100, 7)
	cp, err := l.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 41 || water.size != 41 || len(signed) != 1 {
		t.Fatalf("new leader signed %+v, watermark %d, %d notes", cp, water.size, len(signed))
	}
	// The old leader's verifier takes it, and the tree goes on from the
	// old leader's.
	old := mustParse(t, notes[len(notes)-1], c.leader.VerifierKey())
	if got := mustParse(t, signed[0], c.leader.VerifierKey()); got != cp {
		t.Fatalf("signed %+v, Sync said %+v", got, cp)
	}
	tp, err := l.ProveConsistency(old.Size, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(tp, cp.Size, cp.Root, old.Size, old.Root); err != nil {
		t.Fatal(err)
	}
	p, err := l.ProveTransfer(ctx, tid(1, 103))
	if err != nil {
		t.Fatal(err)
	}
	checkProof(t, p, c.leader.VerifierKey(), signed[0])
}

// TestFollowOpen: Follow with Reinit is refused; a follower whose
// checkpoints the ledger no longer reaches is refused as a leader's log
// is (ErrRollback).
func TestFollowOpen(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	if _, err := audit.Open(ctx, c.f.j, audit.Options{Dir: filepath.Join(c.dir, "x"), Key: c.k, Follow: true, Reinit: true, Submit: c.f.j.Submit}); !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("Follow with Reinit: %v", err)
	}
	c.f.setup(t)
	first := c.grow(t, 0, 10)
	evs := events(t, c.f.j)
	second := c.grow(t, 10, 10)
	for _, msg := range [][]byte{first, second} {
		if err := c.follower.Import(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.follower.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.follower.Import(ctx, second); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("import after Close: %v", err)
	}
	lag := newLag(c.f.j)
	lag.limit.Store(evs[len(evs)-1].Timestamp)
	_, err := audit.Open(ctx, lag, audit.Options{Dir: filepath.Join(c.dir, "follower"), Key: c.k, Follow: true})
	if !errors.Is(err, audit.ErrRollback) {
		t.Fatalf("follower on a ledger short of its checkpoint: %v", err)
	}
}

// TestWitnessHooks: the leader's hooks give what the follower's
// AddWitness and AddCosignature take, and only what is new.
func TestWitnessHooks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openLedger(t, dir, nil)
	defer f.close()
	k := key(t, dir)
	var witnesses [][2]string
	var cosigned [][]byte
	var self atomic.Pointer[audit.Log]
	leader, err := audit.Open(ctx, f.j, audit.Options{Dir: filepath.Join(dir, "leader"), Key: k,
		OnWitness: func(name, vkey string) { witnesses = append(witnesses, [2]string{name, vkey}) },
		OnCosigned: func(msg []byte) {
			self.Load().Status() // outside the lock
			cosigned = append(cosigned, msg)
		}})
	if err != nil {
		t.Fatal(err)
	}
	self.Store(leader)
	defer leader.Close()
	follower, err := audit.Open(ctx, f.j, audit.Options{Dir: filepath.Join(dir, "follower"), Key: k, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	f.setup(t)
	if _, err := leader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(leader.VerifierKey())
	n, err := note.Open(leader.Checkpoint(), note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.example/w", "b.example/w"} {
		sk, vk, _ := note.GenerateKey(nil, name)
		s, _ := note.NewSigner(sk)
		for range 2 { // the second time is no news
			if _, _, err := leader.AddWitness(name, vk); err != nil {
				t.Fatal(err)
			}
		}
		msg, _ := note.Sign(n, s)
		for range 2 {
			if _, _, err := leader.AddCosignature(msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(witnesses) != 2 || len(cosigned) != 2 {
		t.Fatalf("hooks called %d and %d times", len(witnesses), len(cosigned))
	}
	for _, w := range witnesses {
		if _, added, err := follower.AddWitness(w[0], w[1]); err != nil || !added {
			t.Fatal(added, err)
		}
	}
	if err := follower.Import(ctx, leader.Checkpoint()); err != nil {
		t.Fatal(err)
	}
	for _, msg := range cosigned {
		// The switch's signature and the new witness's, nothing else.
		if got := strings.Count(string(msg), "\n— "); got != 2 {
			t.Fatalf("co-signed note with %d signatures: %q", got, msg)
		}
		if _, added, err := follower.AddCosignature(msg); err != nil || added != 1 {
			t.Fatal(added, err)
		}
	}
	if !bytes.Equal(follower.Checkpoint(), leader.Checkpoint()) {
		t.Fatalf("follower publishes %q, leader %q", follower.Checkpoint(), leader.Checkpoint())
	}
}

// TestFollowerReadFails: a follower's log whose reading of the ledger
// fails midway (its database failed over) is not stuck: the leaves read
// so far are whole, and the next step reads on from the last of them,
// to the same tree as the leader's.
func TestFollowerReadFails(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.f.setup(t)
	c.lag.failAfter.Store(7)
	cp := c.grow(t, 0, 40)
	if err := c.follower.Import(ctx, cp); !errors.Is(err, errRead) {
		t.Fatalf("import while reading fails: %v", err)
	}
	c.lag.failAfter.Store(0)
	if err := c.follower.Import(ctx, cp); err != nil {
		t.Fatalf("import once reading works again: %v", err)
	}
	if c.follower.Size() != c.leader.Size() {
		t.Fatalf("follower %d leaves, leader %d", c.follower.Size(), c.leader.Size())
	}
	p, err := c.follower.ProveTransfer(ctx, tid(1, 30))
	if err != nil {
		t.Fatal(err)
	}
	checkProof(t, p, c.leader.VerifierKey(), cp)
}
