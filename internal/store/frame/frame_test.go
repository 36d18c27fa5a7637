package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// goldenHeader is a header written out by hand from docs/formats.md's
// "Log frame" table, field by field; the body is "123456789".
const goldenHeader = "484c4231" + // 0  magic "HLB1"
	"00000009" + // 4  body length 9
	"bd32abde" + // 8  CRC-32C of bytes 12..39 and the body
	"0102030405060708" + // 12 batch sequence number
	"1112131415161718" + // 20 batch time (int64 ns)
	"00000007" + // 28 event count
	"00000000" + // 32 reserved (0)
	"00000000" // 36 reserved (0)

var goldenFields = Header{
	BodyLen: 9,
	Sum:     0xbd32abde,
	Seq:     0x0102030405060708,
	Now:     0x1112131415161718,
	Count:   7,
}

const goldenBody = "123456789"

func golden(t *testing.T) []byte {
	t.Helper()
	b, err := hex.DecodeString(goldenHeader)
	if err != nil || len(b) != HeaderSize {
		t.Fatalf("golden header: %d bytes, %v", len(b), err)
	}
	return b
}

// TestHeaderGolden pins the layout: Append writes the golden bytes, and
// Decode reads them back to the same fields.
func TestHeaderGolden(t *testing.T) {
	want := golden(t)
	if got := goldenFields.Append(nil); !bytes.Equal(got, want) {
		t.Errorf("Append:\n got %x\nwant %x", got, want)
	}
	if got := goldenFields.Append([]byte("x")); !bytes.Equal(got[1:], want) || got[0] != 'x' {
		t.Errorf("Append after a prefix: %x", got)
	}
	h, err := Decode(want)
	if err != nil || h != goldenFields {
		t.Errorf("Decode = %+v, %v; want %+v", h, err, goldenFields)
	}
}

// TestOffsets checks the named offsets against the golden header.
func TestOffsets(t *testing.T) {
	b := golden(t)
	for _, tc := range []struct {
		name     string
		off, len int
		want     string
	}{
		{"magic", OffMagic, 4, "484c4231"},
		{"body length", OffBodyLen, 4, "00000009"},
		{"sum", OffSum, 4, "bd32abde"},
		{"seq", OffSeq, 8, "0102030405060708"},
		{"now", OffNow, 8, "1112131415161718"},
		{"count", OffCount, 4, "00000007"},
		{"records", OffRecords, 4, "00000000"},
		{"reserved", OffReserved, 4, "00000000"},
	} {
		if got := hex.EncodeToString(b[tc.off : tc.off+tc.len]); got != tc.want {
			t.Errorf("%s at %d: %s, want %s", tc.name, tc.off, got, tc.want)
		}
	}
	if OffReserved+4 != HeaderSize {
		t.Errorf("the fields end at %d, the header at %d", OffReserved+4, HeaderSize)
	}
}

// TestChecksum checks the golden sum (computed by a bitwise CRC-32C
// outside Go) and what the sum covers: bytes 12.. of the header and the
// body, not the magic, the length or the sum itself.
func TestChecksum(t *testing.T) {
	hdr := golden(t)
	if got := Checksum(hdr, []byte(goldenBody)); got != goldenFields.Sum {
		t.Fatalf("Checksum = %#x, want %#x", got, goldenFields.Sum)
	}
	for _, tc := range []struct {
		name    string
		at      int // byte of the header to flip; -1: of the body
		changes bool
	}{
		{"magic", OffMagic, false},
		{"body length", OffBodyLen + 3, false},
		{"sum", OffSum, false},
		{"seq", OffSeq, true},
		{"now", OffNow + 7, true},
		{"count", OffCount, true},
		{"records", OffRecords, true},
		{"reserved", HeaderSize - 1, true},
		{"body", -1, true},
	} {
		h, body := bytes.Clone(hdr), []byte(goldenBody)
		if tc.at < 0 {
			body[0] ^= 1
		} else {
			h[tc.at] ^= 1
		}
		if changed := Checksum(h, body) != goldenFields.Sum; changed != tc.changes {
			t.Errorf("flip a bit of the %s: sum changed %v, want %v", tc.name, changed, tc.changes)
		}
	}
}

func TestDecodeMagic(t *testing.T) {
	b := golden(t)
	b[3] = '2'
	if _, err := Decode(b); !errors.Is(err, ErrMagic) {
		t.Errorf("Decode of magic %q: %v, want ErrMagic", b[:4], err)
	}
}

func TestSegmentName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first uint64
		ok    bool
	}{
		{"00000000000000000001.seg", 1, true},
		{"00000000000000001234.seg", 1234, true},
		{"18446744073709551615.seg", 1<<64 - 1, true},
		{"18446744073709551616.seg", 0, false}, // overflows
		{"1.seg", 0, false},
		{"000000000000000000001.seg", 0, false}, // 21 digits
		{"+0000000000000000001.seg", 0, false},
		{"00000000000000000001.log", 0, false},
		{"00000000000000000001", 0, false},
		{"0000000000000000000a.seg", 0, false},
	} {
		first, ok := ParseSegmentName(tc.name)
		if first != tc.first || ok != tc.ok {
			t.Errorf("ParseSegmentName(%q) = %d, %v; want %d, %v", tc.name, first, ok, tc.first, tc.ok)
		}
		if tc.ok && SegmentName(tc.first) != tc.name {
			t.Errorf("SegmentName(%d) = %q, want %q", tc.first, SegmentName(tc.first), tc.name)
		}
	}
	if !strings.HasSuffix(SegmentName(0), Ext) {
		t.Errorf("SegmentName(0) = %q, want the %s extension", SegmentName(0), Ext)
	}
}
