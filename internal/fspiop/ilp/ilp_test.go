package ilp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func stdBase64(b []byte) string  { return base64.StdEncoding.EncodeToString(b) }
func urlPadded(b []byte) string  { return base64.URLEncoding.EncodeToString(b) }
func trimPad(s string) string    { return strings.TrimRight(s, "=") }
func url64(b []byte) string      { return base64.RawURLEncoding.EncodeToString(b) }
func mustHex(s string) []byte    { b, _ := hex.DecodeString(strings.ReplaceAll(s, " ", "")); return b }
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func equalPackets(a, b Packet) bool {
	return a.Version == b.Version && a.Amount == b.Amount && a.Address == b.Address &&
		bytes.Equal(a.Data, b.Data) && a.ExpiresAt.Equal(b.ExpiresAt) && a.Condition == b.Condition
}

// envelope wraps contents as an OER packet of type typ.
func envelope(typ byte, contents []byte) []byte {
	return appendVarOctets([]byte{typ}, contents)
}

var (
	amount8  = mustHex("0000000000002742")
	expiry   = []byte("20261207010000000")
	cond32   = bytes.Repeat([]byte{0xab}, 32)
	mojaloop = cat([]byte{10}, []byte("g.mojaloop"))
	data3    = cat([]byte{3}, []byte("abc"))
)

func v1Contents(tail ...[]byte) []byte {
	return cat(append([][]byte{amount8, {5}, []byte("g.a.b"), data3}, tail...)...)
}

func v4Contents(exp, dest []byte, tail ...[]byte) []byte {
	return cat(append([][]byte{amount8, exp, cond32, dest, data3}, tail...)...)
}

// TestDecodeRefusals: every malformed packet is ErrPacket, none panics.
func TestDecodeRefusals(t *testing.T) {
	good1 := envelope(TypePayment, v1Contents([]byte{0}))
	good4 := envelope(TypePrepare, v4Contents(expiry, mojaloop))
	for _, good := range [][]byte{good1, good4} {
		if _, err := Decode(url64(good)); err != nil {
			t.Fatalf("control packet %x refused: %v", good, err)
		}
	}
	cases := []struct {
		name string
		s    string
	}{
		{"empty", ""},
		{"over 32768 characters", strings.Repeat("A", PacketMaxChars+1)},
		{"space", url64(good1)[:8] + " " + url64(good1)[9:]},
		{"newline", url64(good1)[:len(url64(good1))-1] + "\n"},
		{"dot", "AQ.A"},
		{"padding inside", "AQ==AQ=="},
		{"three pads", "AQ==="},
		{"padding on unpadded length", "AQID="},
		{"one char over a quantum", "AQIDB"},
		{"only padding", "=="},
		{"type only", url64([]byte{TypePayment})},
		{"unknown type 13 (fulfill)", url64(envelope(13, v1Contents([]byte{0})))},
		{"unknown type 0", url64(envelope(0, v1Contents([]byte{0})))},
		{"envelope length overruns", url64(cat([]byte{TypePayment, 0x7f}, v1Contents([]byte{0})))},
		{"bytes after envelope", url64(cat(good1, []byte{0}))},
		{"length prefix 0x80", url64(cat([]byte{TypePayment, 0x80}, v1Contents([]byte{0})))},
		{"envelope length in long form", url64(cat([]byte{TypePayment, 0x81, byte(len(v1Contents([]byte{0})))}, v1Contents([]byte{0})))},
		{"data length 200 in 2 bytes", url64(envelope(TypePayment, cat(amount8, []byte{5}, []byte("g.a.b"), []byte{0x82, 0, 200}, make([]byte, 200), []byte{0})))},
		{"data length 300 in 3 bytes", url64(envelope(TypePayment, cat(amount8, []byte{5}, []byte("g.a.b"), []byte{0x83, 0, 1, 44}, make([]byte, 300), []byte{0})))},
		{"length prefix of 4 bytes", url64(cat([]byte{TypePayment, 0x84, 0, 0, 1, 0}, make([]byte, 256)))},
		{"length prefix cut", url64([]byte{TypePayment, 0x82, 1})},
		{"v1 amount cut", url64(envelope(TypePayment, amount8[:7]))},
		{"v1 account overruns", url64(envelope(TypePayment, cat(amount8, []byte{9}, []byte("g.a"))))},
		{"v1 data missing", url64(envelope(TypePayment, cat(amount8, []byte{5}, []byte("g.a.b"))))},
		{"v1 extensions missing", url64(envelope(TypePayment, v1Contents()))},
		{"v1 extensions present", url64(envelope(TypePayment, v1Contents([]byte{1, 0})))},
		{"v1 byte after extensions", url64(envelope(TypePayment, v1Contents([]byte{0, 0})))},
		{"v4 fixed fields cut", url64(envelope(TypePrepare, cat(amount8, expiry, cond32[:31])))},
		{"v4 generalized time", url64(envelope(TypePrepare, v4Contents([]byte("20261207010000.000Z")[:17], mojaloop)))},
		{"v4 month 13", url64(envelope(TypePrepare, v4Contents([]byte("20261307010000000"), mojaloop)))},
		{"v4 31 April", url64(envelope(TypePrepare, v4Contents([]byte("20260431010000000"), mojaloop)))},
		{"v4 29 Feb 2026", url64(envelope(TypePrepare, v4Contents([]byte("20260229010000000"), mojaloop)))},
		{"v4 hour 24", url64(envelope(TypePrepare, v4Contents([]byte("20261207240000000"), mojaloop)))},
		{"v4 second 60", url64(envelope(TypePrepare, v4Contents([]byte("20261207235960000"), mojaloop)))},
		{"v4 year 0050", url64(envelope(TypePrepare, v4Contents([]byte("00501207010000000"), mojaloop)))},
		{"v4 sign in time", url64(envelope(TypePrepare, v4Contents([]byte("+0261207010000000"), mojaloop)))},
		{"v4 destination without scheme", url64(envelope(TypePrepare, v4Contents(expiry, cat([]byte{7}, []byte("mojaloop")[:7]))))},
		{"v4 destination unknown scheme", url64(envelope(TypePrepare, v4Contents(expiry, cat([]byte{5}, []byte("x.abc")))))},
		{"v4 destination empty segment", url64(envelope(TypePrepare, v4Contents(expiry, cat([]byte{4}, []byte("g..a")))))},
		{"v4 destination bad char", url64(envelope(TypePrepare, v4Contents(expiry, cat([]byte{5}, []byte("g.a@b")))))},
		{"v4 destination overruns", url64(envelope(TypePrepare, cat(amount8, expiry, cond32, []byte{50}, []byte("g.a"))))},
		{"v4 data missing", url64(envelope(TypePrepare, cat(amount8, expiry, cond32, mojaloop)))},
		{"v4 bytes after data", url64(envelope(TypePrepare, v4Contents(expiry, mojaloop, []byte{0})))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Decode(c.s)
			if !errors.Is(err, ErrPacket) {
				t.Fatalf("Decode = %+v, %v; want ErrPacket", p, err)
			}
			t.Log(err)
		})
	}
}

// TestEncodeRefusals: what has no packet, or one ilp-packet would not
// read back, is ErrPacket.
func TestEncodeRefusals(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		p    Packet
	}{
		{"version 0", Packet{Address: "g.a"}},
		{"version 2", Packet{Version: 2, Address: "g.a"}},
		{"v1 with expiry", Packet{Version: 1, Address: "g.a", ExpiresAt: at}},
		{"v1 with condition", Packet{Version: 1, Address: "g.a", Condition: [32]byte{1}}},
		{"v1 over 32768 characters", Packet{Version: 1, Address: "g.a", Data: make([]byte, 24576)}},
		{"v4 no expiry", Packet{Version: 4, Address: "g.mojaloop"}},
		{"v4 year 10000", Packet{Version: 4, Address: "g.mojaloop", ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"v4 year 99", Packet{Version: 4, Address: "g.mojaloop", ExpiresAt: time.Date(99, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"v4 empty destination", Packet{Version: 4, ExpiresAt: at}},
		{"v4 destination with @", Packet{Version: 4, Address: "g.payee.email.a@b.c", ExpiresAt: at}},
		{"v4 destination over 1023", Packet{Version: 4, Address: "g." + strings.Repeat("a", 1022), ExpiresAt: at}},
		{"v4 over 32768 characters", Packet{Version: 4, Address: "g.mojaloop", ExpiresAt: at, Data: make([]byte, 24576)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Encode(c.p)
			if !errors.Is(err, ErrPacket) {
				t.Fatalf("Encode = %.40q, %v; want ErrPacket", s, err)
			}
		})
	}
}

// TestEncodeLimits: the largest packets the API allows encode, and decode
// back; expiry is written at millisecond precision in UTC.
func TestEncodeLimits(t *testing.T) {
	// 32768 characters of base64url hold 24576 bytes: type, 0x82 and two
	// length bytes, 8 amount, 1+3 address, 0x82 and two length bytes, 1 ext.
	p := Packet{Version: 1, Address: "g.a", Data: make([]byte, 24576-4-8-4-3-1)}
	s, err := Encode(p)
	if err != nil || len(s) != PacketMaxChars {
		t.Fatalf("Encode of the largest v1 packet: %d characters, %v", len(s), err)
	}
	if got, err := Decode(s); err != nil || !equalPackets(got, p) {
		t.Fatalf("Decode of the largest packet: %v", err)
	}
	east := time.FixedZone("UTC+3", 3*3600)
	p4 := Packet{Version: 4, Address: MojaloopAddress, ExpiresAt: time.Date(2026, 12, 7, 4, 0, 0, 123_999_999, east)}
	s, err = Encode(p4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 7, 1, 0, 0, 123_000_000, time.UTC); got.ExpiresAt != want {
		t.Errorf("expiry %v, want %v", got.ExpiresAt, want)
	}
}

// TestVarOctets checks the OER length prefix at its boundaries, as
// oer-utils writes it.
func TestVarOctets(t *testing.T) {
	cases := []struct {
		n      int
		prefix string
	}{
		{0, "00"}, {1, "01"}, {127, "7f"}, {128, "8180"}, {255, "81ff"}, {256, "820100"},
		{709, "8202c5"}, {65535, "82ffff"}, {65536, "83010000"},
	}
	for _, c := range cases {
		v := bytes.Repeat([]byte{7}, c.n)
		b := appendVarOctets(nil, v)
		if got := hex.EncodeToString(b[:len(b)-c.n]); got != c.prefix {
			t.Errorf("length %d: prefix %s, want %s", c.n, got, c.prefix)
		}
		back, rest, err := readVarOctets(append(b, 9))
		if err != nil || !bytes.Equal(back, v) || !bytes.Equal(rest, []byte{9}) {
			t.Errorf("length %d: read back %d bytes, rest %x, %v", c.n, len(back), rest, err)
		}
	}
}

// randomPacket makes a packet Encode accepts.
func randomPacket(r *rand.Rand) Packet {
	p := Packet{Amount: r.Uint64(), Data: make([]byte, r.IntN(300))}
	for i := range p.Data {
		p.Data[i] = byte(r.IntN(256))
	}
	if r.IntN(2) == 0 {
		p.Version = 1
		a := make([]byte, r.IntN(200))
		for i := range a {
			a[i] = byte(r.IntN(256)) // v1 carries any bytes, as ilp-packet 2.x reads them
		}
		p.Address = string(a)
		return p
	}
	p.Version = 4
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_~-"
	addr := []byte("g")
	for range 1 + r.IntN(5) {
		addr = append(addr, '.')
		for range 1 + r.IntN(20) {
			addr = append(addr, chars[r.IntN(len(chars))])
		}
	}
	p.Address = string(addr)
	lo := time.Date(100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	p.ExpiresAt = time.UnixMilli(lo + r.Int64N(hi-lo+1)).UTC()
	for i := range p.Condition {
		p.Condition[i] = byte(r.IntN(256))
	}
	return p
}

// TestRoundTrip: Decode(Encode(p)) == p for random packets.
func TestRoundTrip(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range 2000 {
		p := randomPacket(r)
		s, err := Encode(p)
		if err != nil {
			t.Fatalf("seed %d, packet %d: Encode(%+v): %v", seed, i, p, err)
		}
		got, err := Decode(s)
		if err != nil || !equalPackets(got, p) {
			t.Fatalf("seed %d, packet %d: Decode(Encode(%+v)) = %+v, %v", seed, i, p, got, err)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts encodes back to
// the same bytes and decodes to the same packet.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 4 {
		s, err := Encode(randomPacket(r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrPacket) {
				t.Fatalf("Decode(%q): %v is not ErrPacket", s, err)
			}
			return
		}
		again, err := Encode(p)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)) = %v", s, err)
		}
		raw, _ := decodeBase64(s)
		if again != url64(raw) {
			t.Fatalf("Encode(Decode(%q)) = %q, not the same bytes", s, again)
		}
		p2, err := Decode(again)
		if err != nil || !equalPackets(p, p2) {
			t.Fatalf("Decode(Encode(Decode(%q))) = %+v, %v; want %+v", s, p2, err, p)
		}
	})
}
