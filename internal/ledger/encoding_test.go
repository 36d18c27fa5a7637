package ledger

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestEncodingRoundTrip(t *testing.T) {
	for _, meta := range []string{"", "x", "wallet-a/payment", strings.Repeat("m", MetaMax)} {
		e := Event{
			Timestamp: t0, Kind: KindCommit, Flags: EventLinked, Purpose: 7, Currency: cny,
			ID: id(1), Pending: id(2), Ref: ID{0: 0xff, 15: 1}, Debit: 1, Credit: 2, Account: 3,
			Amount: 12345, Timeout: time.Minute, Floor: -1, Meta: meta,
		}
		b := e.AppendBinary([]byte("prefix"))[len("prefix"):]
		if len(b) != EventFixedSize+len(meta) || len(b) != e.EncodedSize() || EventLen(b) != len(b) {
			t.Fatalf("size %d for meta of %d", len(b), len(meta))
		}
		got, n, err := DecodeEvent(append(b, "trailing"...))
		if err != nil || got != e || n != len(b) {
			t.Fatalf("round trip: %+v, %d, %v", got, n, err)
		}
		if EventTimestamp(b) != t0 {
			t.Fatal("EventTimestamp")
		}
		if dr, cr, ac := EventAccounts(b); dr != 1 || cr != 2 || ac != 3 {
			t.Fatal("EventAccounts")
		}
	}
	b := (&Event{Timestamp: t0, Kind: KindPost, Meta: "abc"}).AppendBinary(nil)
	for name, bad := range map[string]func([]byte) []byte{
		"version":       func(b []byte) []byte { b[0] = 2; return b },
		"kind zero":     func(b []byte) []byte { b[1] = 0; return b },
		"kind unknown":  func(b []byte) []byte { b[1] = byte(kindEnd); return b },
		"flags":         func(b []byte) []byte { b[2] = 0x80; return b },
		"reserved":      func(b []byte) []byte { b[3] = 1; return b },
		"meta too long": func(b []byte) []byte { b[112], b[113] = 0x08, 0x01; return b },
		"meta cut":      func(b []byte) []byte { return b[:len(b)-1] },
		"short":         func(b []byte) []byte { return b[:EventFixedSize-1] },
	} {
		if _, _, err := DecodeEvent(bad(bytes.Clone(b))); !errors.Is(err, ErrEncoding) {
			t.Errorf("%s: decoded: %v", name, err)
		}
	}
}

// TestEncodingGolden pins version 1 of the encoding, which the audit log
// hashes: any change to these bytes is a breaking change.
func TestEncodingGolden(t *testing.T) {
	e := Event{
		Timestamp: 1_750_000_000_123_456_789, Kind: KindPost, Flags: EventLinked, Purpose: 1, Currency: cny,
		ID: ID{0: 0xaa, 15: 0x01}, Ref: ID{0: 0xbb, 15: 0x02}, Debit: 0x0100009c01, Credit: 0x0200009c01,
		Amount: 10000, Meta: "wallet-a",
	}
	got := hex.EncodeToString(e.AppendBinary(nil))
	want, err := os.ReadFile("testdata/event-v1.hex")
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Fatalf("encoding changed:\n got %s\nwant %s", got, want)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	e := Event{Timestamp: t0, Kind: KindPost, Currency: cny, ID: id(1), Debit: 1, Credit: 2, Amount: 5, Meta: "m"}
	f.Add(e.AppendBinary(nil))
	f.Add(make([]byte, EventFixedSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, n, err := DecodeEvent(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		if got := e.AppendBinary(nil); !bytes.Equal(got, b[:n]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", got, b[:n])
		}
	})
}
