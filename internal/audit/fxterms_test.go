package audit_test

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
)

// goldenFXTerms reads the FX terms sample of docs/formats.md, the file
// the transfer package's encoder reproduces byte for byte.
func goldenFXTerms(t testing.TB) string {
	t.Helper()
	h, err := os.ReadFile(filepath.Join("..", "transfer", "testdata", "fxterms-v1.hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDecodeFXTermsGolden reads the golden terms as docs/formats.md
// describes them.
func TestDecodeFXTermsGolden(t *testing.T) {
	got, err := audit.DecodeFXTerms(goldenFXTerms(t))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString("09ac0b1479bdb39bc3c1d43ec5756cbd")
	want := audit.FXTerms{
		TransferID: "wallet-a.42", Payer: "wallet-a", Provider: "fxp-hk", Rate: "1.08317", Purpose: "FAMI",
		Rounding: "0.0073365", Mode: "SEND", Source: 12345, ProviderFee: 50, SourceCurrency: cny,
		QuotaValue: 1720, QuotaCurrency: money.MustCurrency("USD"), QuotaKey: [16]byte(key),
	}
	if got != want {
		t.Fatalf("decoded %+v\nwant %+v", got, want)
	}
}

// fxRaw encodes terms from their parts, as they are.
func fxRaw(version byte, ss [6]string, tail []byte) string {
	b := []byte{version}
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return string(append(b, tail...))
}

// TestDecodeFXTermsRefuses: only the canonical form of terms the switch
// can write is read.
func TestDecodeFXTermsRefuses(t *testing.T) {
	golden := goldenFXTerms(t)
	ss := [6]string{"wallet-a.42", "wallet-a", "fxp-hk", "1.08317", "FAMI", "0.0073365"}
	tail := []byte(golden[len(golden)-45:])
	if fxRaw(1, ss, tail) != golden {
		t.Fatal("the parts do not make the golden terms")
	}
	withString := func(i int, s string) string {
		v := ss
		v[i] = s
		return fxRaw(1, v, tail)
	}
	withTail := func(at int, b ...byte) string {
		v := append([]byte(nil), tail...)
		copy(v[at:], b)
		return fxRaw(1, ss, v)
	}
	keyOnly := append([]byte(nil), tail...)
	copy(keyOnly[17:25], make([]byte, 8))
	copy(keyOnly[27:29], []byte{0, 0})
	zero8 := make([]byte, 8)
	neg8 := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for _, tt := range []struct{ name, meta string }{
		{"empty", ""},
		{"version 2", "\x02" + golden[1:]},
		{"byte after the key", golden + "\x00"},
		{"cut short", golden[:len(golden)-1]},
		{"length not shortest", "\x01\x8b\x00" + golden[2:]},
		{"transfer id empty", withString(0, "")},
		{"transfer id too long", withString(0, strings.Repeat("x", 129))},
		{"payer empty", withString(1, "")},
		{"provider too long", withString(2, strings.Repeat("p", 65))},
		{"rate trailing zero", withString(3, "1.083170")},
		{"rate leading zero", withString(3, "01.08317")},
		{"rate zero", withString(3, "0.0")},
		{"rate bare point", withString(3, "1.")},
		{"rate 10^9", withString(3, "1000000000")},
		{"rate 13 decimals", withString(3, "0.0000000000001")},
		{"rate 19 digits", withString(3, "1.234567890123456789")},
		{"purpose lower case", withString(4, "fami")},
		{"purpose too long", withString(4, "FAMIL")},
		{"rounding negative", withString(5, "-0.1")},
		{"rounding too long", withString(5, "0."+strings.Repeat("1", 63))},
		{"mode 0", withTail(0, 0)},
		{"mode 3", withTail(0, 3)},
		{"source zero", withTail(1, zero8...)},
		{"fee negative", withTail(9, neg8...)},
		{"quota value negative", withTail(17, neg8...)},
		{"source currency unknown", withTail(25, 0x03, 0xe7)},
		{"quota without value", withTail(17, zero8...)},
		{"quota without currency", withTail(27, 0, 0)},
		{"quota without key", withTail(29, make([]byte, 16)...)},
		{"key without quota", fxRaw(1, ss, keyOnly)},
	} {
		if _, err := audit.DecodeFXTerms(tt.meta); err == nil {
			t.Errorf("%s: decoded", tt.name)
		}
	}
	noQuota := append(append([]byte(nil), tail[:17]...), make([]byte, 28)...)
	copy(noQuota[25:], tail[25:27])
	if got, err := audit.DecodeFXTerms(fxRaw(1, ss, noQuota)); err != nil || got.QuotaCurrency != 0 || got.QuotaKey != [16]byte{} {
		t.Errorf("terms without a quota: %+v, %v", got, err)
	}
}

// TestPaymentRecordFXFlag: the extension's bit 1 is the FX flag; bits
// beyond it are refused.
func TestPaymentRecordFXFlag(t *testing.T) {
	plain := "\x01\x01x" + strings.Repeat("\x00", 7) + strings.Repeat("\x00", 8) // version, 8 strings, fee
	for flags, want := range map[byte]bool{1: false, 2: true, 3: true} {
		r, err := audit.DecodePaymentRecord(plain + "\x00\x00" + string(flags))
		if err != nil || r.FX != want || r.Held != (flags&1 != 0) {
			t.Errorf("flags %d: %+v, %v", flags, r, err)
		}
	}
	for _, flags := range []byte{0, 4, 7, 0x80} {
		if _, err := audit.DecodePaymentRecord(plain + "\x00\x00" + string(flags)); err == nil {
			t.Errorf("flags %d decoded", flags)
		}
	}
}

// TestDescribeFXLeg: an fx leg names the payment it delivers.
func TestDescribeFXLeg(t *testing.T) {
	hkd := money.MustCurrency("HKD")
	e := ledger.Event{Timestamp: 1, Kind: ledger.KindPost, Purpose: purpose.FX, Currency: hkd, Debit: 1, Credit: 2,
		Amount: 13371, Meta: goldenFXTerms(t)}
	got := audit.Describe(&e)
	if !strings.Contains(got, `fx of transfer "wallet-a.42" (payer wallet-a, provider fxp-hk, rate 1.08317)`) ||
		!strings.Contains(got, "HKD 133.71") {
		t.Errorf("Describe = %s", got)
	}
	e.Meta = "\x01junk"
	if got := audit.Describe(&e); !strings.Contains(got, "undecodable FX terms") {
		t.Errorf("Describe of bad terms = %s", got)
	}
	// Its commit carries no terms: described as other events are.
	e.Kind, e.Meta = ledger.KindCommit, ""
	if got := audit.Describe(&e); strings.Contains(got, "FX terms") {
		t.Errorf("Describe of a commit = %s", got)
	}
}
