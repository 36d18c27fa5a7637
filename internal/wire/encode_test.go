package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/hulian/hulian/internal/money"
)

// randString draws strings that exercise escaping: plain ASCII, quotes
// and backslashes, control characters, HTML-sensitive and multi-byte
// characters, U+2028, and empty.
func randString(rng *rand.Rand) string {
	pieces := []string{"", "a", "wallet-a", "+8613800138000", `"`, `\`, "\n", "\t", "\x00", "\x1f", "\x7f",
		"<", ">", "&", "张三", "é", "\u2028", "\u2029", "😀", "/", "'", " "}
	var b []byte
	for range rng.IntN(5) {
		b = append(b, pieces[rng.IntN(len(pieces))]...)
	}
	return string(b)
}

// The hand-written encoders write exactly what json.Marshal writes for
// the same values; a random workload with the seed printed on failure.
func TestAppendMatchesMarshal(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	currencies := []money.Currency{money.MustCurrency("CNY"), money.MustCurrency("JPY"), money.MustCurrency("KWD")}
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("X", -(3*3600 + 30*60))}
	amount := func() money.Amount {
		switch rng.IntN(4) {
		case 0:
			return money.Amount(rng.Int64())
		case 1:
			return money.Amount(math.MinInt64 + 1 + rng.Int64N(10))
		default:
			return money.Amount(rng.Int64N(100000))
		}
	}
	for i := range 20000 {
		tr := TransferOut{
			ID: randString(rng), State: randString(rng), Payer: randString(rng),
			Payee: PayeeRef{Type: randString(rng), Value: randString(rng), Participant: randString(rng),
				Account: randString(rng)},
			Amount: amount(), Fee: amount(), Currency: currencies[rng.IntN(len(currencies))],
			QuoteID: randString(rng), Note: randString(rng), Reason: randString(rng),
			CreatedAt:    time.Unix(rng.Int64N(1<<35), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))]),
			PayerAccount: randString(rng),
		}
		for range rng.IntN(3) {
			tr.Factors = append(tr.Factors, randString(rng))
		}
		if rng.IntN(3) == 0 {
			tr.FX = &FX{Provider: randString(rng), SourceAmount: randString(rng), SourceCurrency: randString(rng),
				TargetAmount: randString(rng), TargetCurrency: randString(rng), Rate: randString(rng),
				ProviderFee: randString(rng), AmountType: randString(rng), Purpose: randString(rng), Rounding: randString(rng)}
		}
		want, err := json.Marshal(tr.Transfer())
		if err != nil {
			t.Fatalf("seed %d, case %d: Marshal: %v", seed, i, err)
		}
		got, err := AppendTransfer([]byte("["), &tr)
		if err != nil || !bytes.Equal(got[1:], want) || got[0] != '[' {
			t.Fatalf("seed %d, case %d:\n got %s (%v)\nwant %s", seed, i, got, err, want)
		}

		p := Problem{Type: randString(rng), Title: randString(rng), Status: rng.IntN(600), Detail: randString(rng),
			Instance: randString(rng), Rule: randString(rng), Reason: randString(rng)}
		want, _ = json.Marshal(p)
		if got, err := AppendProblem(nil, &p); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("seed %d, case %d:\n got %s (%v)\nwant %s", seed, i, got, err, want)
		}

		l := PartyLookup{Type: randString(rng), Value: randString(rng), Participant: randString(rng),
			DisplayName: randString(rng), Currency: randString(rng), FraudMarks: rng.IntN(1000)}
		want, _ = json.Marshal(l)
		if got, err := AppendPartyLookup(nil, &l); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("seed %d, case %d:\n got %s (%v)\nwant %s", seed, i, got, err, want)
		}
	}
}

// What RFC 3339 cannot write, the encoders refuse as json.Marshal does.
// Invalid UTF-8 they replace by U+FFFD, as json.Marshal does with
// AllowInvalidUTF8, so that no stored text can make an answer fail.
func TestAppendRefuses(t *testing.T) {
	bad := []TransferOut{
		{ID: "ok", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "ok", CreatedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tr := range bad {
		if _, err := json.Marshal(tr.Transfer()); err == nil {
			t.Fatalf("json.Marshal takes %+v: the test is wrong", tr)
		}
		if b, err := AppendTransfer(nil, &tr); err == nil {
			t.Errorf("AppendTransfer(%+v) = %s, no error", tr, b)
		}
	}
	mangled := []TransferOut{
		{ID: "a\xffb", CreatedAt: time.Unix(0, 0).UTC()},
		{ID: "ok", Note: "\xc3", Reason: "rejected: 不\xe5", CreatedAt: time.Unix(0, 0).UTC()},
	}
	for _, tr := range mangled {
		want, err := json.Marshal(tr.Transfer(), jsontext.AllowInvalidUTF8(true))
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendTransfer(nil, &tr)
		if err != nil || string(got) != string(want) || !utf8.Valid(got) {
			t.Errorf("AppendTransfer(%+v) = %s, %v; want %s", tr, got, err, want)
		}
	}
	if b, err := AppendPartyLookup(nil, &PartyLookup{DisplayName: "\xff"}); err != nil || !utf8.Valid(b) {
		t.Errorf("AppendPartyLookup with invalid UTF-8 = %s, %v", b, err)
	}
}

func BenchmarkAppendTransfer(b *testing.B) {
	tr := TransferOut{ID: "b0011aabb-3-123456", State: "COMMITTED", Payer: "bench-0011aabb-a",
		Payee:  PayeeRef{Type: "MSISDN", Value: "+8613912345678", Participant: "bench-0011aabb-b"},
		Amount: 12345, Fee: 123, Currency: money.MustCurrency("CNY"), CreatedAt: time.Now().UTC()}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf, _ = AppendTransfer(buf[:0], &tr)
		}
	})
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(tr.Transfer())
		}
	})
}
