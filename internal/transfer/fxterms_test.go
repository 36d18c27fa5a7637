package transfer

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
)

// goldenFXTerms reads testdata/fxterms-v1.hex, the FX terms sample of
// docs/formats.md, computed with Python independently of the Go code;
// the audit package's tests read the same file.
func goldenFXTerms(t testing.TB) string {
	t.Helper()
	h, err := os.ReadFile("testdata/fxterms-v1.hex")
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sampleFXTerms are the terms of the golden file: 123.45 CNY sent to
// fxp-hk at 1.08317, the payee getting 133.71 HKD, valued 17.20 USD
// against wallet-a's account u-123's quota.
func sampleFXTerms(t testing.TB) fxTerms {
	t.Helper()
	cny, hkd := money.MustCurrency("CNY"), money.MustCurrency("HKD")
	c, err := fx.Convert(12345, cny, hkd, fx.MustRate("1.08317"), fx.Send)
	if err != nil || c.Target != 13371 {
		t.Fatalf("conversion %+v, %v", c, err)
	}
	return fxTerms{
		TransferID: "wallet-a.42", Payer: "wallet-a", Provider: "fxp-hk", Rate: c.Rate, Purpose: "FAMI",
		Rounding: c.Rounding(), Mode: fx.Send, Source: c.Source, ProviderFee: 50, QuotaValue: 1720,
		SourceCurrency: cny, QuotaCurrency: money.MustCurrency("USD"), QuotaKey: QuotaKey("wallet-a", "u-123"),
	}
}

// TestFXTermsGolden pins version 1 of the FX terms, which the audit log
// hashes in the fx leg's leaf: encode reproduces the golden bytes, and
// decoding them gives the terms back.
func TestFXTermsGolden(t *testing.T) {
	want, terms := goldenFXTerms(t), sampleFXTerms(t)
	if terms.Rounding != "0.0073365" {
		t.Fatalf("rounding %s, want 0.0073365 (the golden file's)", terms.Rounding)
	}
	if got := terms.encode(); got != want {
		t.Fatalf("encoding changed:\n got %x\nwant %x", got, want)
	}
	got, err := decodeFXTerms(want)
	if err != nil || got != terms {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, terms)
	}
}

// TestQuotaKeyGolden pins QuotaKey's construction (vector computed with
// Python's hashlib) and its length prefixes.
func TestQuotaKeyGolden(t *testing.T) {
	k := QuotaKey("wallet-a", "u-123")
	if got, want := hex.EncodeToString(k[:]), "09ac0b1479bdb39bc3c1d43ec5756cbd"; got != want {
		t.Errorf("QuotaKey = %s, want %s", got, want)
	}
	if QuotaKey("ab", "c") == QuotaKey("a", "bc") || QuotaKey("a", "u") == QuotaKey("b", "u") {
		t.Error("quota keys collide")
	}
}

// fxTermsRaw encodes terms from their parts as they are, for the
// refusals that encode cannot write: lens, when not nil, are the
// strings' length prefixes as given.
func fxTermsRaw(version byte, ss [6]string, lens [][]byte, tail []byte) string {
	b := []byte{version}
	for i, s := range ss {
		if i < len(lens) && lens[i] != nil {
			b = append(b, lens[i]...)
		} else {
			b = binary.AppendUvarint(b, uint64(len(s)))
		}
		b = append(b, s...)
	}
	return string(append(b, tail...))
}

func TestDecodeFXTermsRefuses(t *testing.T) {
	terms := sampleFXTerms(t)
	golden := terms.encode()
	ss := terms.strings()
	tail := []byte(golden[len(golden)-fxTermsTail:])
	withString := func(i int, s string) string {
		v := ss
		v[i] = s
		return fxTermsRaw(1, v, nil, tail)
	}
	withTail := func(at int, b ...byte) string {
		v := append([]byte(nil), tail...)
		copy(v[at:], b)
		return fxTermsRaw(1, ss, nil, v)
	}
	withTerms := func(f func(*fxTerms)) string {
		v := terms
		f(&v)
		return v.encode()
	}
	be64 := func(a int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(a)) }
	// Offsets in the tail: mode 0, source 1, fee 9, quota value 17,
	// source currency 25, quota currency 27, quota key 29.
	for _, tt := range []struct{ name, meta string }{
		{"empty", ""},
		{"version 0", "\x00" + golden[1:]},
		{"version 2", "\x02" + golden[1:]},
		{"byte after the key", golden + "\x00"},
		{"cut short", golden[:len(golden)-1]},
		{"only strings", golden[:len(golden)-fxTermsTail]},
		{"length not shortest", fxTermsRaw(1, ss, [][]byte{{0x8b, 0x00}}, tail)},
		{"length past the end", fxTermsRaw(1, ss, [][]byte{nil, nil, nil, nil, nil, {0x7f}}, tail)},
		{"transfer id empty", withString(0, "")},
		{"transfer id too long", withString(0, strings.Repeat("x", IDMax+1))},
		{"transfer id with a space", withString(0, "a b")},
		{"payer empty", withString(1, "")},
		{"payer too long", withString(1, strings.Repeat("p", 65))},
		{"provider empty", withString(2, "")},
		{"provider too long", withString(2, strings.Repeat("p", 65))},
		{"rate trailing zero", withString(3, "1.083170")},
		{"rate leading zero", withString(3, "01.08317")},
		{"rate zero", withString(3, "0")},
		{"rate exponent", withString(3, "1e3")},
		{"rate negative", withString(3, "-1.08")},
		{"rate zero value", withTerms(func(v *fxTerms) { v.Rate = fx.Rate{} })},
		{"purpose empty", withString(4, "")},
		{"purpose lower case", withString(4, "fami")},
		{"purpose unknown", withString(4, "ZZZZ")},
		{"purpose too long", withString(4, "FAMIL")},
		{"rounding empty", withString(5, "")},
		{"rounding negative", withString(5, "-0.01")},
		{"rounding bare point", withString(5, "0.")},
		{"rounding leading zero", withString(5, "00.1")},
		{"rounding too long", withString(5, "0."+strings.Repeat("1", 63))},
		{"mode 0", withTail(0, 0)},
		{"mode 3", withTail(0, 3)},
		{"source zero", withTail(1, be64(0)...)},
		{"source negative", withTail(1, be64(-1)...)},
		{"fee negative", withTail(9, be64(-1)...)},
		{"quota value negative", withTail(17, be64(-1)...)},
		{"source currency zero", withTail(25, 0, 0)},
		{"source currency unknown", withTail(25, 0x03, 0xe7)},
		{"quota currency unknown", withTail(27, 0x03, 0xe7)},
		{"quota without value", withTail(17, be64(0)...)},
		{"quota without currency", withTail(27, 0, 0)},
		{"quota without key", withTerms(func(v *fxTerms) { v.QuotaKey = [16]byte{} })},
		{"key without quota", withTerms(func(v *fxTerms) { v.QuotaValue, v.QuotaCurrency = 0, 0 })},
		{"value without quota", withTerms(func(v *fxTerms) { v.QuotaCurrency, v.QuotaKey = 0, [16]byte{} })},
	} {
		if _, err := decodeFXTerms(tt.meta); !errors.Is(err, errRecord) {
			t.Errorf("%s: decoded, or not errRecord: %v", tt.name, err)
		}
	}
	// The longest of everything, and no quota, decode.
	long := terms
	long.TransferID, long.Payer, long.Provider = strings.Repeat("i", IDMax), strings.Repeat("p", 64), strings.Repeat("q", 64)
	long.Rounding, long.Rate = "0."+strings.Repeat("9", 62), fx.MustRate("123456789.123456789")
	long.QuotaValue, long.QuotaCurrency, long.QuotaKey = 0, 0, [16]byte{}
	if got, err := decodeFXTerms(long.encode()); err != nil || got != long {
		t.Errorf("terms at their bounds: %+v, %v", got, err)
	}
}

// randomFXTerms makes valid terms of every shape the encoding allows.
func randomFXTerms(rng *rand.Rand) fxTerms {
	const idChars = "abcXYZ019._:-"
	str := func(n int, chars string) string {
		b := make([]byte, n)
		for i := range b {
			if chars == "" {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = chars[rng.IntN(len(chars))]
			}
		}
		return string(b)
	}
	currencies := []money.Currency{money.MustCurrency("CNY"), money.MustCurrency("HKD"), money.MustCurrency("USD"),
		money.MustCurrency("JPY"), money.MustCurrency("KWD")}
	purposes := fx.Purposes()
	var rate fx.Rate
	for !rate.Valid() {
		scale := rng.IntN(fx.RateFracDigitsMax + 1)
		rate, _ = fx.ParseRate(money.FormatDecimal(rng.Int64N(1_000_000_000_000_000_000), scale))
	}
	t := fxTerms{
		TransferID: str(1+rng.IntN(IDMax), idChars), Payer: str(1+rng.IntN(fxPartyMax), ""),
		Provider: str(1+rng.IntN(fxPartyMax), ""), Rate: rate, Purpose: purposes[rng.IntN(len(purposes))],
		Rounding: money.FormatDecimal(rng.Int64N(1_000_000_000), rng.IntN(12)), Mode: fx.Mode(1 + rng.IntN(2)),
		Source: money.Amount(1 + rng.Int64N(1<<62)), ProviderFee: money.Amount(rng.Int64N(1 << 40)),
		SourceCurrency: currencies[rng.IntN(len(currencies))],
	}
	if rng.IntN(2) == 0 {
		t.QuotaValue, t.QuotaCurrency = money.Amount(1+rng.Int64N(1<<50)), currencies[rng.IntN(len(currencies))]
		t.QuotaKey = QuotaKey(t.Payer, str(rng.IntN(40), ""))
	}
	return t
}

// sameFXTerms reports whether the audit package reads terms as the
// switch wrote them.
func sameFXTerms(t fxTerms, a audit.FXTerms) bool {
	return a.TransferID == t.TransferID && a.Payer == t.Payer && a.Provider == t.Provider && a.Rate == t.Rate.String() &&
		a.Purpose == t.Purpose && a.Rounding == t.Rounding && a.Mode == t.Mode.String() && a.Source == t.Source &&
		a.ProviderFee == t.ProviderFee && a.QuotaValue == t.QuotaValue && a.SourceCurrency == t.SourceCurrency &&
		a.QuotaCurrency == t.QuotaCurrency && a.QuotaKey == t.QuotaKey
}

// TestFXTermsRoundTrip: random valid terms encode, decode to themselves,
// and read the same in the audit package.
func TestFXTermsRoundTrip(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 17))
	for range 2000 {
		terms := randomFXTerms(rng)
		meta := terms.encode()
		got, err := decodeFXTerms(meta)
		if err != nil || got != terms {
			t.Fatalf("seed %d: %+v decodes as %+v, %v", seed, terms, got, err)
		}
		if a, err := audit.DecodeFXTerms(meta); err != nil || !sameFXTerms(terms, a) {
			t.Fatalf("seed %d: %+v: audit reads %+v, %v", seed, terms, a, err)
		}
	}
}

// FuzzDecodeFXTerms: whatever decodes re-encodes to the same bytes, and
// the audit package reads it the same. Seeds: testdata/fuzz/FuzzDecodeFXTerms.
func FuzzDecodeFXTerms(f *testing.F) {
	f.Add(goldenFXTerms(f))
	f.Add((&fxTerms{TransferID: "a", Payer: "p", Provider: "x", Rate: fx.MustRate("7.2"), Purpose: "SALA",
		Rounding: "0", Mode: fx.Receive, Source: 1, SourceCurrency: money.MustCurrency("USD")}).encode())
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := decodeFXTerms(s)
		if err != nil {
			return
		}
		if got := terms.encode(); got != s {
			t.Fatalf("accepted %q which re-encodes as %q", s, got)
		}
		if a, err := audit.DecodeFXTerms(s); err != nil || !sameFXTerms(terms, a) {
			t.Fatalf("%q: the switch reads %+v, audit %+v, %v", s, terms, a, err)
		}
	})
}
