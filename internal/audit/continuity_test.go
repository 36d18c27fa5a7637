package audit_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/transfer"
)

// recordV2 encodes a payment record version 2 by docs/formats.md.
func recordV2(id, mac, sealed string) string {
	b := []byte{2}
	for _, s := range []string{id, "wallet-a", "WALLET", "b:1", "wallet-b", mac, sealed, "", "note"} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return string(binary.BigEndian.AppendUint64(b, 25))
}

// TestLeafV2 checks the leaf of a payment whose record is version 2: the
// sealed account is left out, the MAC kept, the rest the event byte for
// byte; other events are their own leaves.
func TestLeafV2(t *testing.T) {
	mac := string(audit.AccountMAC([]byte("k"), "acct-b:1"))
	e := ledger.Event{Timestamp: 7, Kind: ledger.KindPost, Purpose: purpose.Payment, Currency: cny, Debit: 1, Credit: 2, Amount: 100,
		Meta: recordV2("a-1", mac, "enc1:SEALED")}
	raw := e.AppendBinary(nil)
	if v := audit.LeafVersion(raw); v != 2 {
		t.Fatalf("leaf version %d", v)
	}
	leaf := audit.AppendLeaf(nil, raw)
	want := e
	want.Meta = recordV2("a-1", mac, "")
	if !bytes.Equal(leaf, want.AppendBinary(nil)) {
		t.Fatalf("leaf %x\nwant %x", leaf, want.AppendBinary(nil))
	}
	if audit.LeafHash(raw) != tlog.RecordHash(leaf) {
		t.Fatal("LeafHash is not the leaf's record hash")
	}
	got, n, err := ledger.DecodeEvent(leaf)
	if err != nil || n != len(leaf) {
		t.Fatal(err)
	}
	for _, meta := range []string{got.Meta, e.Meta} {
		r, err := audit.DecodePaymentRecord(meta)
		if err != nil || r.Version != 2 || r.ID != "a-1" || r.PayeeAccount != "" || string(r.PayeeAccountMAC) != mac || r.Fee != 25 || r.Note != "note" {
			t.Fatalf("record %+v, %v", r, err)
		}
	}
	// Version 1 records and other events are leaves as they are.
	for _, other := range []ledger.Event{
		{Kind: ledger.KindPost, Purpose: purpose.Payment, Currency: cny, Meta: "\x01\x00\x00\x00\x00\x00\x00\x00\x00" + strings.Repeat("\x00", 8)},
		{Kind: ledger.KindCommit, Purpose: purpose.Payment, Currency: cny, Meta: recordV2("a-1", mac, "enc1:x")},
		{Kind: ledger.KindMark, Purpose: purpose.WindowClose, Currency: cny, Meta: "CNY-1"},
	} {
		raw := other.AppendBinary(nil)
		if audit.LeafVersion(raw) != 1 || !bytes.Equal(audit.AppendLeaf(nil, raw), raw) {
			t.Errorf("%s %d: the leaf is not the event", other.Kind, other.Purpose)
		}
	}
	if transfer.AccountMACLabel != audit.AccountMACKeyLabel {
		t.Error("the transfer package and the audit log name the account MAC key differently")
	}
}

// TestContinuity: a log whose checkpoints were deleted, or whose key
// changed, refuses to open on a ledger with events; with Reinit it
// records a mark, keeps the old files aside and verifies offline.
func TestContinuity(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	f := openLedger(t, dir, nil)
	ad := filepath.Join(dir, "audit")
	k := key(t, dir)
	open := func(o audit.Options) (*audit.Log, error) {
		o.Dir, o.Submit = ad, f.j.Submit
		if o.Key == "" {
			o.Key = k
		}
		return audit.Open(ctx, f.j, o)
	}
	l, err := open(audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.setup(t)
	f.pay(t, 0, 10)
	if _, err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()

	// Checkpoints deleted: refused, then re-initialised.
	if err := os.Remove(filepath.Join(ad, audit.CheckpointsFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := open(audit.Options{}); !errors.Is(err, audit.ErrHistoryLost) {
		t.Fatalf("opened without checkpoints: %v", err)
	}
	l, err = open(audit.Options{Reinit: true})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := l.Reinitialised()
	if !ok || r.Reason != "checkpoints-missing" || r.Size != 14 || r.Previous != "" {
		t.Fatalf("reinit %+v", r)
	}
	evs := events(t, f.j)
	last := evs[len(evs)-1]
	if last.Kind != ledger.KindMark || last.Purpose != purpose.AuditReinit || last.Meta != r.Meta() ||
		!strings.Contains(last.Meta, "reason=checkpoints-missing previous=- origin="+l.Origin()+" size=14") {
		t.Fatalf("last event %+v", last)
	}
	if cp := l.Latest(); cp.Size != 15 {
		t.Fatalf("first checkpoint of the new history: %+v", cp)
	}
	l.Close()
	// It goes on from there without Reinit.
	if l, err = open(audit.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Reinitialised(); ok {
		t.Fatal("re-initialised again")
	}
	l.Close()

	// Another key: refused, then re-initialised, old files kept aside.
	k2, err := audit.LoadKey(filepath.Join(dir, "audit2.key"), "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(audit.Options{Key: k2}); !errors.Is(err, audit.ErrKeyChanged) {
		t.Fatalf("opened with another key: %v", err)
	}
	l, err = open(audit.Options{Key: k2, Reinit: true})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = l.Reinitialised()
	if r.Reason != "key-changed" || r.Previous == "" || r.Previous == r.Origin || len(r.Archived) != 1 {
		t.Fatalf("reinit %+v", r)
	}
	vkey2 := l.VerifierKey()
	// Its first checkpoint verifies with the new key.
	v2, _ := note.NewVerifier(vkey2)
	if _, err := note.Open(l.Checkpoint(), note.VerifierList(v2)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// Reinit does not excuse a changed ledger: the newest checkpoint
	// must still match it. (Here it does; the fork tests are in
	// TestWindowCloseSigns and the offline verification's.)
	f.close()
	src, err := audit.Embedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := audit.Verify(ctx, audit.VerifyOptions{Source: src, Dir: ad, VerifierKey: vkey2})
	var b strings.Builder
	rep.Print(&b)
	if err != nil || rep.Records != 16 {
		t.Fatalf("%v\n%s", err, b.String())
	}
}
