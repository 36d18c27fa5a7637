package quote

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sqldb"
)

var cny = money.MustCurrency("CNY")

func TestScheduleFee(t *testing.T) {
	tests := []struct {
		s      Schedule
		amount money.Amount
		want   money.Amount
	}{
		{Schedule{Currency: cny}, 10000, 0},
		{Schedule{Currency: cny, Fixed: 100}, 10000, 100},
		{Schedule{Currency: cny, RateBPS: 50}, 10000, 50}, // 0.5 % of 100.00 = 0.50
		{Schedule{Currency: cny, RateBPS: 50}, 333, 2},    // 1.665 fen rounds to 2
		{Schedule{Currency: cny, Fixed: 10, RateBPS: 10}, 100000, 110},
		{Schedule{Currency: cny, RateBPS: 10, Min: 50}, 100, 50},        // clamped up
		{Schedule{Currency: cny, RateBPS: 100, Max: 500}, 1000000, 500}, // clamped down
		{Schedule{Currency: cny, RateBPS: 10000}, 7, 7},
	}
	for _, tt := range tests {
		got, err := tt.s.Fee(tt.amount)
		if err != nil || got != tt.want {
			t.Errorf("%+v.Fee(%d) = %d, %v; want %d", tt.s, tt.amount, got, err, tt.want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	bad := []Schedule{
		{Currency: 1},
		{Currency: cny, Fixed: -1},
		{Currency: cny, Min: -1},
		{Currency: cny, RateBPS: -1},
		{Currency: cny, RateBPS: 10001},
		{Currency: cny, Min: 10, Max: 5},
	}
	for _, s := range bad {
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v accepted", s)
		}
	}
	if err := (Schedule{Currency: cny, Fixed: 1, RateBPS: 10, Min: 1, Max: 0}).Validate(); err != nil {
		t.Errorf("valid schedule refused: %v", err)
	}
}

func TestFeesPersist(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "app.db")
	db, err := sqldb.OpenSQLite(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Unix(1, 0) }
	f, err := LoadFees(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Schedule(cny); s.Fixed != 0 || s.RateBPS != 0 {
		t.Fatalf("default schedule %+v", s)
	}
	want := Schedule{Currency: cny, Fixed: 100, RateBPS: 25, Min: 100, Max: 2000}
	if err := f.Set(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := f.Set(ctx, Schedule{Currency: cny, RateBPS: -4}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid schedule stored: %v", err)
	}
	db.Close()
	db, err = sqldb.OpenSQLite(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err = LoadFees(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Schedule(cny); got != want {
		t.Fatalf("reloaded %+v, want %+v", got, want)
	}
}

var (
	hkd     = money.MustCurrency("HKD")
	usd     = money.MustCurrency("USD")
	testKey = []byte(strings.Repeat("k", 32))
	t0      = time.Unix(1_800_000_000, 0).UTC()
)

func testSigner(t testing.TB) *Signer {
	t.Helper()
	s, err := NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fxQuote is an FX quote of 100.00 CNY sent, 108.92 HKD received.
func fxQuote() Quote {
	return Quote{Payer: "wallet-a", PayeeType: "MSISDN", PayeeValue: "+85291234567", PayeeParticipant: "hk-wallet",
		Amount: 10000, Fee: 50, Currency: cny, ExpiresAt: t0.Add(time.Minute),
		FX: &FX{Provider: "fx-bank", Mode: fx.Send, TargetAmount: 10892, TargetCurrency: hkd, Rate: fx.MustRate("1.08925"),
			ProviderFee: 30, Rounding: "0.005", QuotaValue: 1392, QuotaCurrency: usd}}
}

// sameQuote compares two quotes field by field, FX by value.
func sameQuote(a, b Quote) bool {
	fa, fb := a.FX, b.FX
	a.FX, b.FX = nil, nil
	return a == b && (fa == nil) == (fb == nil) && (fa == nil || *fa == *fb)
}

// Domestic tokens are the ones the switch issued before FX quotes: the
// ids were computed by the v1 Issue of commit 7bc045a.
func TestQuoteGoldenV1(t *testing.T) {
	s := testSigner(t)
	tests := []struct {
		q  Quote
		id string
	}{
		{Quote{Payer: "wallet-a", PayeeType: "MSISDN", PayeeValue: "+8613800138000", PayeeParticipant: "wallet-b",
			Amount: 10000, Fee: 50, Currency: cny, ExpiresAt: t0.Add(time.Minute)},
			"AQh3YWxsZXQtYQZNU0lTRE4OKzg2MTM4MDAxMzgwMDAId2FsbGV0LWIAAAAAAAAnEAAAAAAAAAAyAJwY-uKEi_tYAKZ8JI0JmSHWxRjPuriZ7ko"},
		{Quote{ExpiresAt: time.Unix(0, 0).UTC()}, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEW_oAcOwsMqNrdN7hC6FRg"},
	}
	for _, tt := range tests {
		q := s.Issue(tt.q)
		if q.ID != tt.id {
			t.Errorf("Issue(%+v).ID = %s, want %s", tt.q, q.ID, tt.id)
		}
		got, err := s.Verify(tt.id, time.Unix(-1, 0))
		if err != nil || !sameQuote(got, q) {
			t.Errorf("Verify(%s) = %+v, %v; want %+v", tt.id, got, err, q)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	s := testSigner(t)
	domestic := fxQuote()
	domestic.FX = nil
	receive := fxQuote()
	receive.FX.Mode, receive.FX.ProviderFee, receive.FX.QuotaValue, receive.FX.QuotaCurrency = fx.Receive, 0, 0, 0
	jpy := fxQuote()
	jpy.FX.TargetCurrency, jpy.FX.TargetAmount, jpy.FX.Rate, jpy.FX.Rounding = money.MustCurrency("JPY"), 2065, fx.MustRate("20.6543"), "0"
	for _, q := range []Quote{domestic, fxQuote(), receive, jpy} {
		q = s.Issue(q)
		wantVersion := byte(versionDomestic)
		if q.FX != nil {
			wantVersion = versionFX
		}
		if b, _ := base64.RawURLEncoding.DecodeString(q.ID); len(b) == 0 || b[0] != wantVersion {
			t.Errorf("%s: version byte %v, want %d", q.ID, b[:1], wantVersion)
		}
		got, err := s.Verify(q.ID, t0)
		if err != nil || !sameQuote(got, q) {
			t.Fatalf("Verify(%s) = %+v %+v, %v; want %+v %+v", q.ID, got, got.FX, err, q, q.FX)
		}
		if got.FX != nil && got.FX == q.FX {
			t.Fatal("Verify returned the issuer's FX pointer")
		}
		if again := s.Issue(got); again.ID != q.ID {
			t.Fatalf("re-issued %s, want %s", again.ID, q.ID)
		}
		// Expired at the very instant: with the quote, so that the caller
		// can say which.
		got, err = s.Verify(q.ID, q.ExpiresAt)
		if !errors.Is(err, ErrExpired) || !sameQuote(got, q) {
			t.Fatalf("Verify at expiry = %+v, %v; want ErrExpired with the quote", got, err)
		}
		if _, err := s.Verify(q.ID, q.ExpiresAt.Add(-time.Nanosecond)); err != nil {
			t.Fatalf("Verify just before expiry: %v", err)
		}
	}
}

// Any change to a token, or another key, is refused: each byte of the
// decoded token, each character of the id, a line break anywhere.
func TestQuoteTamper(t *testing.T) {
	s := testSigner(t)
	other, err := NewSigner([]byte(strings.Repeat("x", 32)))
	if err != nil {
		t.Fatal(err)
	}
	domestic := fxQuote()
	domestic.FX = nil
	for _, q := range []Quote{s.Issue(domestic), s.Issue(fxQuote())} {
		if _, err := other.Verify(q.ID, t0); !errors.Is(err, ErrUnknown) {
			t.Fatalf("quote of another key: %v", err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(q.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range raw {
			for _, bit := range []byte{0x01, 0x80} {
				c := bytes.Clone(raw)
				c[i] ^= bit
				if _, err := s.Verify(base64.RawURLEncoding.EncodeToString(c), t0); !errors.Is(err, ErrUnknown) {
					t.Fatalf("byte %d ^ %#x of %s: %v", i, bit, q.ID, err)
				}
			}
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for i := range q.ID {
			for _, d := range []int{1, 32} {
				c := []byte(q.ID)
				c[i] = alphabet[(strings.IndexByte(alphabet, c[i])+d)%64]
				if _, err := s.Verify(string(c), t0); !errors.Is(err, ErrUnknown) {
					t.Fatalf("character %d of %s changed to %c: %v", i, q.ID, c[i], err)
				}
			}
			if _, err := s.Verify(q.ID[:i]+"\n"+q.ID[i:], t0); !errors.Is(err, ErrUnknown) {
				t.Fatalf("line break at %d of %s: %v", i, q.ID, err)
			}
		}
		if _, err := s.Verify(q.ID[:len(q.ID)-1], t0); !errors.Is(err, ErrUnknown) {
			t.Fatalf("truncated %s: %v", q.ID, err)
		}
	}
	for _, bad := range []string{"", "!!!", "AAAA", strings.Repeat("A", 5000)} {
		if _, err := s.Verify(bad, t0); !errors.Is(err, ErrUnknown) {
			t.Errorf("Verify(%.10q): %v", bad, err)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

// rawToken is a token's payload written field by field, independently of
// Issue, so that a test can sign what Issue never writes.
type rawToken struct {
	version              byte
	payer, pType, pValue string
	payeeFSP             string
	amount, fee          int64
	currency             uint16
	expires              int64
	provider, rate, rnd  string
	mode                 byte
	target, pFee, quota  int64
	targetCur, quotaCur  uint16
	nonce                uint64
	extra                []byte // appended after the fields
	lenPad               bool   // write the payer's length as a 2-byte uvarint
}

func rawOf(q Quote) rawToken {
	r := rawToken{version: 1, payer: q.Payer, pType: q.PayeeType, pValue: q.PayeeValue, payeeFSP: q.PayeeParticipant,
		amount: int64(q.Amount), fee: int64(q.Fee), currency: uint16(q.Currency), expires: q.ExpiresAt.UnixNano()}
	if f := q.FX; f != nil {
		r.version, r.provider, r.rate, r.rnd, r.mode = 2, f.Provider, f.Rate.String(), f.Rounding, byte(f.Mode)
		r.target, r.pFee, r.quota = int64(f.TargetAmount), int64(f.ProviderFee), int64(f.QuotaValue)
		r.targetCur, r.quotaCur, r.nonce = uint16(f.TargetCurrency), uint16(f.QuotaCurrency), f.Nonce
	}
	return r
}

// sign returns the id of r signed with testKey.
func (r rawToken) sign() string {
	b := []byte{r.version}
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if r.lenPad {
		b = append(b, byte(len(r.payer))|0x80, 0)
		b = append(b, r.payer...)
	} else {
		str(r.payer)
	}
	str(r.pType)
	str(r.pValue)
	str(r.payeeFSP)
	b = binary.BigEndian.AppendUint64(b, uint64(r.amount))
	b = binary.BigEndian.AppendUint64(b, uint64(r.fee))
	b = binary.BigEndian.AppendUint16(b, r.currency)
	b = binary.BigEndian.AppendUint64(b, uint64(r.expires))
	if r.version != 1 {
		str(r.provider)
		str(r.rate)
		str(r.rnd)
		b = append(b, r.mode)
		b = binary.BigEndian.AppendUint64(b, uint64(r.target))
		b = binary.BigEndian.AppendUint64(b, uint64(r.pFee))
		b = binary.BigEndian.AppendUint64(b, uint64(r.quota))
		b = binary.BigEndian.AppendUint16(b, r.targetCur)
		b = binary.BigEndian.AppendUint16(b, r.quotaCur)
		b = binary.BigEndian.AppendUint64(b, r.nonce)
	}
	b = append(b, r.extra...)
	m := hmac.New(sha256.New, testKey)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b)[:len(b)+16])
}

// Validly signed payloads that Issue would not write are refused: the
// MAC vouches for the bytes, not for their sense.
func TestQuoteMalformed(t *testing.T) {
	s := testSigner(t)
	// The independent writer agrees with Issue, so that what the cases
	// change is the one thing they name.
	for _, q := range []Quote{s.Issue(fxQuote()), s.Issue(Quote{Payer: "p", Currency: cny, ExpiresAt: t0})} {
		if id := rawOf(q).sign(); id != q.ID {
			t.Fatalf("layout differs from Issue's:\n%s\n%s", id, q.ID)
		}
	}
	tests := []struct {
		name string
		edit func(r *rawToken)
	}{
		{"version 0", func(r *rawToken) { r.version = 0 }},
		{"version 3", func(r *rawToken) { r.version = 3 }},
		{"version 255", func(r *rawToken) { r.version = 255 }},
		{"v1 with FX fields", func(r *rawToken) { r.version = 1; r.extra = rawOf(fxQuote()).fxTail() }},
		{"v1 trailing byte", func(r *rawToken) { r.version = 1; r.extra = []byte{0} }},
		{"v2 without FX fields", func(r *rawToken) { *r = rawOf(Quote{Amount: 1, Currency: cny}); r.version = 2 }},
		{"trailing byte", func(r *rawToken) { r.extra = []byte{0} }},
		{"non-minimal length", func(r *rawToken) { r.lenPad = true }},
		{"source amount 0", func(r *rawToken) { r.amount = 0 }},
		{"source amount negative", func(r *rawToken) { r.amount = -10000 }},
		{"source currency unknown", func(r *rawToken) { r.currency = 1 }},
		{"no provider", func(r *rawToken) { r.provider = "" }},
		{"provider 65 bytes", func(r *rawToken) { r.provider = strings.Repeat("p", 65) }},
		{"mode 0", func(r *rawToken) { r.mode = 0 }},
		{"mode 3", func(r *rawToken) { r.mode = 3 }},
		{"rate with a trailing zero", func(r *rawToken) { r.rate = "1.089250" }},
		{"rate zero", func(r *rawToken) { r.rate = "0" }},
		{"rate empty", func(r *rawToken) { r.rate = "" }},
		{"rate negative", func(r *rawToken) { r.rate = "-1.08925" }},
		{"rate with exponent", func(r *rawToken) { r.rate = "1e3" }},
		{"target amount 0", func(r *rawToken) { r.target = 0 }},
		{"target amount negative", func(r *rawToken) { r.target = -1 }},
		{"target currency unknown", func(r *rawToken) { r.targetCur = 0 }},
		{"target currency is the source", func(r *rawToken) { r.targetCur = r.currency }},
		{"provider fee negative", func(r *rawToken) { r.pFee = -1 }},
		{"rounding empty", func(r *rawToken) { r.rnd = "" }},
		{"rounding negative", func(r *rawToken) { r.rnd = "-0.005" }},
		{"rounding bare point", func(r *rawToken) { r.rnd = "0." }},
		{"rounding 65 bytes", func(r *rawToken) { r.rnd = "0." + strings.Repeat("1", 63) }},
		{"quota value without currency", func(r *rawToken) { r.quotaCur = 0 }},
		{"quota currency without value", func(r *rawToken) { r.quota = 0 }},
		{"quota value negative", func(r *rawToken) { r.quota = -1392 }},
		{"quota currency unknown", func(r *rawToken) { r.quotaCur = 2 }},
	}
	for _, tt := range tests {
		r := rawOf(fxQuote())
		tt.edit(&r)
		if q, err := s.Verify(r.sign(), t0); !errors.Is(err, ErrUnknown) {
			t.Errorf("%s: Verify = %+v %+v, %v; want ErrUnknown", tt.name, q, q.FX, err)
		}
	}
	// The bounds themselves are accepted.
	r := rawOf(fxQuote())
	r.provider, r.rnd = strings.Repeat("p", fx.ProviderLenMax), "0."+strings.Repeat("1", RoundingLenMax-2)
	if _, err := s.Verify(r.sign(), t0); err != nil {
		t.Errorf("provider and rounding at their bounds: %v", err)
	}
}

// fxTail is the version 2 fields of r, as bytes.
func (r rawToken) fxTail() []byte {
	full, _ := base64.RawURLEncoding.DecodeString(r.sign())
	base := r
	base.version = 1
	v1, _ := base64.RawURLEncoding.DecodeString(base.sign())
	return full[len(v1)-16 : len(full)-16]
}

func TestIssueRefusesBadFX(t *testing.T) {
	s := testSigner(t)
	tests := []struct {
		name string
		edit func(q *Quote)
	}{
		{"no rate", func(q *Quote) { q.FX.Rate = fx.Rate{} }},
		{"no mode", func(q *Quote) { q.FX.Mode = 0 }},
		{"same currency", func(q *Quote) { q.FX.TargetCurrency = cny }},
		{"rounding not a decimal", func(q *Quote) { q.FX.Rounding = "about 0.005" }},
		{"rounding too long", func(q *Quote) { q.FX.Rounding = "0." + strings.Repeat("1", RoundingLenMax) }},
		{"quota half set", func(q *Quote) { q.FX.QuotaCurrency = 0 }},
		{"no source amount", func(q *Quote) { q.Amount = 0 }},
	}
	for _, tt := range tests {
		q := fxQuote()
		tt.edit(&q)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Issue did not panic", tt.name)
				}
			}()
			s.Issue(q)
		}()
	}
}

// The longest FX token the switch can write fits IDLenMax, with room.
func TestQuoteIDLenMax(t *testing.T) {
	s := testSigner(t)
	q := fxQuote()
	q.Payer, q.PayeeParticipant = strings.Repeat("p", 32), strings.Repeat("q", 32)   // participant.IDMax
	q.PayeeType = "NATIONAL_ID"                                                      // the longest alias type
	q.PayeeValue = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com" // 254 bytes: directory's longest (EMAIL)
	q.FX.Provider = strings.Repeat("f", fx.ProviderLenMax)
	q.FX.Rate = fx.MustRate("123456789.123456789") // 19 characters; fx allows at most 18 significant digits
	q.FX.Rounding = "0." + strings.Repeat("1", RoundingLenMax-2)
	q = s.Issue(q)
	if len(q.ID) > 1000 {
		t.Fatalf("longest FX id has %d characters, want at most 1000 (IDLenMax %d)", len(q.ID), IDLenMax)
	}
	if got, err := s.Verify(q.ID, t0); err != nil || !sameQuote(got, q) {
		t.Fatalf("longest FX id: %+v, %v", got, err)
	}
	t.Logf("longest FX id: %d characters", len(q.ID))
}

// FuzzVerify checks that Verify never panics and accepts only ids that
// Issue writes for what it returns. With a fixed key the fuzzer cannot
// forge a MAC, so the seeds include validly signed malformed payloads.
func FuzzVerify(f *testing.F) {
	s := testSigner(f)
	q := s.Issue(Quote{Payer: "a", PayeeType: "EMAIL", PayeeValue: "x@y.cn", PayeeParticipant: "b", Amount: 1, Currency: cny, ExpiresAt: time.Unix(2e9, 0)})
	f.Add(q.ID)
	f.Add(s.Issue(fxQuote()).ID)
	r := rawOf(fxQuote())
	r.rate = "1.089250"
	f.Add(r.sign())
	r = rawOf(fxQuote())
	r.version = 3
	f.Add(r.sign())
	f.Add("")
	f.Fuzz(func(t *testing.T, id string) {
		got, err := s.Verify(id, time.Unix(1e9, 0))
		if err == nil && s.Issue(got).ID != id {
			t.Fatalf("accepted %q which re-issues differently", id)
		}
		if err != nil && !errors.Is(err, ErrUnknown) && !errors.Is(err, ErrExpired) {
			t.Fatalf("Verify(%q): %v", id, err)
		}
	})
}

func BenchmarkIssueVerifyFX(b *testing.B) {
	s := testSigner(b)
	q := fxQuote()
	b.ReportAllocs()
	for b.Loop() {
		id := s.Issue(q).ID
		if _, err := s.Verify(id, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFXQuotesAreUnique: two FX quotes alike in every term are two
// tokens (an FX quote pays once), each verifying to its own nonce; a
// nonce the caller sets is kept.
func TestFXQuotesAreUnique(t *testing.T) {
	s := testSigner(t)
	a, b := s.Issue(fxQuote()), s.Issue(fxQuote())
	if a.ID == b.ID || a.FX.Nonce == 0 || a.FX.Nonce == b.FX.Nonce {
		t.Fatalf("two FX quotes alike: %s %d, %s %d", a.ID, a.FX.Nonce, b.ID, b.FX.Nonce)
	}
	for _, q := range []Quote{a, b} {
		got, err := s.Verify(q.ID, t0)
		if err != nil || !sameQuote(got, q) {
			t.Errorf("Verify: %v %+v", err, got.FX)
		}
	}
	fixed := fxQuote()
	fixed.FX.Nonce = 42
	if x, y := s.Issue(fixed), s.Issue(fixed); x.ID != y.ID || x.FX.Nonce != 42 {
		t.Errorf("a set nonce: %s %s %d", x.ID, y.ID, x.FX.Nonce)
	}
}
