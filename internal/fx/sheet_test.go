package fx

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
)

var now = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func sheet(provider string, rate string, mods ...func(*Sheet)) Sheet {
	s := Sheet{Provider: provider, Source: cny, Target: hkd, Rate: MustRate(rate), ValidUntil: now.Add(time.Hour)}
	for _, m := range mods {
		m(&s)
	}
	return s
}

func TestSheetValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Sheet
		want error
	}{
		{"fine", sheet("p1", "1.0835"), nil},
		{"limits and fee", sheet("p1", "1.0835", func(s *Sheet) { s.Min, s.Max, s.Fee = 100, 100000, Fee{Fixed: 5, BPS: 30} }), nil},
		{"no provider", sheet("", "1.0835"), ErrSheet},
		{"long provider", sheet(strings.Repeat("p", ProviderLenMax+1), "1.0835"), ErrSheet},
		{"same currency", sheet("p1", "1.0835", func(s *Sheet) { s.Target = cny }), ErrSheet},
		{"unknown currency", sheet("p1", "1.0835", func(s *Sheet) { s.Source = 1 }), ErrSheet},
		{"zero rate", sheet("p1", "1.0835", func(s *Sheet) { s.Rate = Rate{} }), ErrSheet},
		{"negative min", sheet("p1", "1.0835", func(s *Sheet) { s.Min = -1 }), ErrSheet},
		{"max below min", sheet("p1", "1.0835", func(s *Sheet) { s.Min, s.Max = 100, 99 }), ErrSheet},
		{"bad fee", sheet("p1", "1.0835", func(s *Sheet) { s.Fee.BPS = FeeBPSMax + 1 }), ErrSheet},
		{"expired", sheet("p1", "1.0835", func(s *Sheet) { s.ValidUntil = now.Add(-time.Second) }), ErrExpired},
		{"expires now", sheet("p1", "1.0835", func(s *Sheet) { s.ValidUntil = now }), ErrExpired},
	}
	for _, tt := range tests {
		err := tt.s.Validate(now)
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: %v; want %v", tt.name, err, tt.want)
		}
	}
}

func TestBest(t *testing.T) {
	expired := func(s *Sheet) { s.ValidUntil = now.Add(-time.Minute) }
	limits := func(lo, hi money.Amount) func(*Sheet) { return func(s *Sheet) { s.Min, s.Max = lo, hi } }
	fee := func(f Fee) func(*Sheet) { return func(s *Sheet) { s.Fee = f } }
	other := func(s *Sheet) { s.Target = jpy }
	tests := []struct {
		name   string
		sheets []Sheet
		amount money.Amount
		mode   Mode
		want   string // provider, "" for none
		source money.Amount
		target money.Amount
		fee    money.Amount
	}{
		{"highest rate", []Sheet{sheet("a", "1.08"), sheet("b", "1.09"), sheet("c", "1.07")}, 10000, Send, "b", 10000, 10900, 0},
		{"expired skipped", []Sheet{sheet("a", "1.08"), sheet("b", "2", expired)}, 10000, Send, "a", 10000, 10800, 0},
		{"other pair skipped", []Sheet{sheet("a", "1.08"), sheet("b", "20", other)}, 10000, Send, "a", 10000, 10800, 0},
		{"invalid skipped", []Sheet{sheet("a", "1.08"), sheet("", "2")}, 10000, Send, "a", 10000, 10800, 0},
		{"over max", []Sheet{sheet("a", "1.08"), sheet("b", "1.09", limits(0, 9999))}, 10000, Send, "a", 10000, 10800, 0},
		{"at max", []Sheet{sheet("a", "1.08"), sheet("b", "1.09", limits(0, 10000))}, 10000, Send, "b", 10000, 10900, 0},
		{"under min", []Sheet{sheet("a", "1.08"), sheet("b", "1.09", limits(10001, 0))}, 10000, Send, "a", 10000, 10800, 0},
		// A fee of 1.00 on 100.00 makes 1.09 worse than 1.08 free:
		// 10900/10100 < 10800/10000.
		{"fee counts", []Sheet{sheet("a", "1.08"), sheet("b", "1.09", fee(Fee{Fixed: 100}))}, 10000, Send, "a", 10000, 10800, 0},
		// 0.5 % on top: 10900/10050 > 10800/10000.
		{"small fee", []Sheet{sheet("a", "1.08"), sheet("b", "1.09", fee(Fee{BPS: 50}))}, 10000, Send, "b", 10000, 10900, 50},
		{"tie by provider", []Sheet{sheet("b", "1.08"), sheet("a", "1.08"), sheet("c", "1.08")}, 10000, Send, "a", 10000, 10800, 0},
		// Same ratio through different rounding: 3 at 1.5 gives 4 (4/3),
		// and rate 1.34 gives 4 too: a tie, broken by provider.
		{"tie after rounding", []Sheet{sheet("z", "1.5"), sheet("y", "1.34")}, 3, Send, "y", 3, 4, 0},
		{"none", []Sheet{sheet("a", "1.08", expired)}, 10000, Send, "", 0, 0, 0},
		{"no sheets", nil, 10000, Send, "", 0, 0, 0},
		{"too small everywhere", []Sheet{sheet("a", "0.0001")}, 10, Send, "", 0, 0, 0},
		// Receive 108.00 HKD: a needs 100.00 CNY, b 99.09 → b.
		{"receive cheapest", []Sheet{sheet("a", "1.08"), sheet("b", "1.09")}, 10800, Receive, "b", 9909, 10800, 0},
		// Receive: limits apply to the computed source amount (99.09).
		{"receive over max", []Sheet{sheet("a", "1.08"), sheet("b", "1.09", limits(0, 9908))}, 10800, Receive, "a", 10000, 10800, 0},
		{"receive under min", []Sheet{sheet("a", "1.08", limits(10001, 0)), sheet("b", "1.09", limits(9910, 0))}, 10800, Receive, "", 0, 0, 0},
		// Receive with fees: total cost decides. a: 10000 + 0; b: 9909 + 100.
		{"receive fee", []Sheet{sheet("a", "1.08"), sheet("b", "1.09", fee(Fee{Fixed: 100}))}, 10800, Receive, "a", 10000, 10800, 0},
		{"receive fee small", []Sheet{sheet("a", "1.08"), sheet("b", "1.09", fee(Fee{Fixed: 90}))}, 10800, Receive, "b", 9909, 10800, 90},
	}
	for _, tt := range tests {
		o, ok := Best(tt.sheets, cny, hkd, tt.amount, tt.mode, now)
		if tt.want == "" {
			if ok {
				t.Errorf("%s: offer %+v; want none", tt.name, o)
			}
			if got := Offers(tt.sheets, cny, hkd, tt.amount, tt.mode, now); len(got) != 0 {
				t.Errorf("%s: Offers gives %d offers", tt.name, len(got))
			}
			continue
		}
		if !ok || o.Provider != tt.want || o.SourceAmount != tt.source || o.TargetAmount != tt.target || o.ProviderFee != tt.fee {
			t.Errorf("%s: %+v, %v; want %s %d→%d fee %d", tt.name, o, ok, tt.want, tt.source, tt.target, tt.fee)
			continue
		}
		if o.SourceCurrency != cny || o.TargetCurrency != hkd || o.Mode != tt.mode || o.Rounding != o.Conversion().Rounding() {
			t.Errorf("%s: offer fields %+v", tt.name, o)
		}
		all := Offers(tt.sheets, cny, hkd, tt.amount, tt.mode, now)
		if len(all) == 0 || all[0] != o {
			t.Errorf("%s: Offers[0] = %+v; Best %+v", tt.name, all, o)
		}
		for i := 1; i < len(all); i++ {
			if better(all[i], all[i-1]) {
				t.Errorf("%s: Offers out of order at %d", tt.name, i)
			}
		}
	}
}

// TestBestDeterministic: the same sheets in any order give the same
// best offer, duplicates of a provider included.
func TestBestDeterministic(t *testing.T) {
	sheets := []Sheet{
		sheet("b", "1.08"), sheet("a", "1.08", func(s *Sheet) { s.ValidUntil = now.Add(2 * time.Hour) }),
		sheet("a", "1.08"), sheet("c", "1.08"),
	}
	want, _ := Best(sheets, cny, hkd, 10000, Send, now)
	if want.Provider != "a" || !want.ValidUntil.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("best %+v; want a, the later validity", want)
	}
	for i := range sheets {
		rot := append(append([]Sheet{}, sheets[i:]...), sheets[:i]...)
		if got, _ := Best(rot, cny, hkd, 10000, Send, now); got != want {
			t.Errorf("rotation %d: %+v; want %+v", i, got, want)
		}
	}
}

func TestBestLargest(t *testing.T) {
	// The largest amount with a 100 % fee cannot be paid: total overflows.
	s := []Sheet{sheet("a", "0.5", func(s *Sheet) { s.Fee.BPS = FeeBPSMax })}
	if o, ok := Best(s, cny, hkd, math.MaxInt64, Send, now); ok {
		t.Errorf("offer %+v for an unpayable total", o)
	}
	s[0].Fee = Fee{}
	o, ok := Best(s, cny, hkd, math.MaxInt64, Send, now)
	if !ok || o.TargetAmount != math.MaxInt64/2 || o.Rounding != "0.005" {
		t.Errorf("largest: %+v, %v", o, ok)
	}
}

func TestQuotaParse(t *testing.T) {
	tests := []struct {
		in   string
		want Quota // zero: refused
		str  string
	}{
		{"50000USD", Quota{5000000, usd}, "50000.00USD"},
		{"50000.00USD", Quota{5000000, usd}, "50000.00USD"},
		{"2500.5EUR", Quota{250050, eur}, "2500.50EUR"},
		{"1000000JPY", Quota{1000000, jpy}, "1000000JPY"},
		{"1.234BHD", Quota{1234, bhd}, "1.234BHD"},
		{"1.2345BHD", Quota{}, ""},
		{"0USD", Quota{}, ""},
		{"-5USD", Quota{}, ""},
		{"50000usd", Quota{}, ""},
		{"50000 USD", Quota{}, ""},
		{"USD50000", Quota{}, ""},
		{"50,000USD", Quota{}, ""},
		{"5e4USD", Quota{}, ""},
		{"050000USD", Quota{}, ""},
		{"USD", Quota{}, ""},
		{"50000", Quota{}, ""},
		{"50000XXX", Quota{}, ""},
		{"", Quota{}, ""},
		{"99999999999999999999USD", Quota{}, ""},
		{"1" + strings.Repeat("0", 40) + "USD", Quota{}, ""},
	}
	for _, tt := range tests {
		q, err := ParseQuota(tt.in)
		if tt.want.IsZero() {
			if !errors.Is(err, ErrQuota) {
				t.Errorf("ParseQuota(%q) = %+v, %v; want ErrQuota", tt.in, q, err)
			}
			continue
		}
		if err != nil || q != tt.want || q.String() != tt.str {
			t.Errorf("ParseQuota(%q) = %+v %q, %v; want %+v %q", tt.in, q, q.String(), err, tt.want, tt.str)
		}
		var f Quota
		if err := f.Set(q.String()); err != nil || f != q {
			t.Errorf("Set(%q) = %+v, %v", q.String(), f, err)
		}
	}
	if (Quota{}).String() != "" {
		t.Error("no quota prints as something")
	}
}

func TestQuotaValue(t *testing.T) {
	q := Quota{Limit: 5000000, Currency: usd}
	cnyUSD := func(p, r string, mods ...func(*Sheet)) Sheet {
		return sheet(p, r, append([]func(*Sheet){func(s *Sheet) { s.Source, s.Target = cny, usd }}, mods...)...)
	}
	usdCNY := func(p, r string, mods ...func(*Sheet)) Sheet {
		return sheet(p, r, append([]func(*Sheet){func(s *Sheet) { s.Source, s.Target = usd, cny }}, mods...)...)
	}
	expired := func(s *Sheet) { s.ValidUntil = now }
	tests := []struct {
		name   string
		amount money.Amount
		cur    money.Currency
		sheets []Sheet
		want   money.Amount
		err    error
	}{
		{"identity", 12345, usd, nil, 12345, nil},
		// 100.00 CNY at the highest rate, 0.1385 → 13.85 USD.
		{"direct highest", 10000, cny, []Sheet{cnyUSD("a", "0.138"), cnyUSD("b", "0.1385"), cnyUSD("c", "0.137")}, 1385, nil},
		// 1.01 CNY × 0.1385 = 0.139885 USD → rounded up to 0.14.
		{"direct rounds up", 101, cny, []Sheet{cnyUSD("a", "0.1385")}, 14, nil},
		{"direct expired skipped", 10000, cny, []Sheet{cnyUSD("a", "0.138"), cnyUSD("b", "0.2", expired)}, 1380, nil},
		// Limits and fees do not apply to valuation.
		{"limits ignored", 10000, cny, []Sheet{cnyUSD("a", "0.138", func(s *Sheet) { s.Max, s.Fee.Fixed = 1, 500 })}, 1380, nil},
		// Only USD→CNY sheets: the lowest rate, 7.2, values 100.00 CNY at
		// ceil(10000 / 7.2) = 1389 cents.
		{"inverse lowest", 10000, cny, []Sheet{usdCNY("a", "7.25"), usdCNY("b", "7.2")}, 1389, nil},
		{"direct preferred", 10000, cny, []Sheet{usdCNY("a", "1"), cnyUSD("b", "0.138")}, 1380, nil},
		// JPY (0) into USD (2): 1000 JPY × 0.0067 = 6.70 USD.
		{"exponents", 1000, jpy, []Sheet{sheet("a", "0.0067", func(s *Sheet) { s.Source, s.Target = jpy, usd })}, 670, nil},
		{"no sheet", 10000, cny, []Sheet{sheet("a", "1.08")}, 0, ErrNoValuation},
		{"only expired", 10000, cny, []Sheet{cnyUSD("a", "0.138", expired), usdCNY("b", "7.2", expired)}, 0, ErrNoValuation},
		{"zero amount", 0, cny, nil, 0, ErrAmount},
		{"overflow", math.MaxInt64, jpy, []Sheet{sheet("a", "1000", func(s *Sheet) { s.Source, s.Target = jpy, usd })}, 0, money.ErrOverflow},
	}
	for _, tt := range tests {
		got, err := q.Value(tt.amount, tt.cur, tt.sheets, now)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: %d, %v; want %v", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if _, err := (Quota{}).Value(1, usd, nil, now); !errors.Is(err, ErrQuota) {
		t.Errorf("no quota values: %v", err)
	}
}

// TestQuotaValueNeverUnder: the valuation is never below the exact value
// at the best rate, and within one minor unit of it.
func TestQuotaValueNeverUnder(t *testing.T) {
	q := Quota{Limit: 1, Currency: usd}
	r := MustRate("0.138579")
	s := []Sheet{sheet("a", r.String(), func(s *Sheet) { s.Source, s.Target = cny, usd })}
	for _, a := range []money.Amount{1, 7, 99, 12345, 987654321, math.MaxInt64} {
		v, err := q.Value(a, cny, s, now)
		if err != nil {
			t.Fatal(err)
		}
		exact := oracle(a, cny, usd, r)
		lo := new(big.Rat).SetInt64(int64(v - 1))
		if new(big.Rat).SetInt64(int64(v)).Cmp(exact) < 0 || lo.Cmp(exact) >= 0 {
			t.Errorf("value of %d: %d; exact %s", a, v, exact.FloatString(8))
		}
	}
}

func TestQuotaCheck(t *testing.T) {
	q := Quota{Limit: 5000000, Currency: usd}
	tests := []struct {
		used, add money.Amount
		ok        bool
	}{
		{0, 5000000, true},
		{0, 5000001, false},
		{4999999, 1, true},
		{4999999, 2, false},
		{5000000, 0, true},
		{1, math.MaxInt64, false}, // overflow is over the quota
	}
	for _, tt := range tests {
		err := q.Check(tt.used, tt.add)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrQuotaExceeded)) {
			t.Errorf("Check(%d, %d) = %v", tt.used, tt.add, err)
		}
	}
	if err := (Quota{}).Check(math.MaxInt64, math.MaxInt64); err != nil {
		t.Errorf("no quota refuses: %v", err)
	}
	for used, want := range map[money.Amount]money.Amount{0: 5000000, 4999999: 1, 5000000: 0, 6000000: 0, -5: 5000000} {
		if got := q.Remaining(used); got != want {
			t.Errorf("Remaining(%d) = %d; want %d", used, got, want)
		}
	}
}

func TestYear(t *testing.T) {
	beijing := time.FixedZone("CST", 8*3600)
	tests := []struct {
		t     time.Time
		loc   *time.Location
		start time.Time
	}{
		// 31 Dec 2025 16:30 UTC is 1 Jan 2026 00:30 in Beijing.
		{time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC), beijing, time.Date(2026, 1, 1, 0, 0, 0, 0, beijing)},
		{time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC), time.UTC, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC), nil, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, beijing), beijing, time.Date(2026, 1, 1, 0, 0, 0, 0, beijing)},
		{time.Date(2026, 12, 31, 23, 59, 59, 999999999, beijing), beijing, time.Date(2026, 1, 1, 0, 0, 0, 0, beijing)},
	}
	for _, tt := range tests {
		start, end := Year(tt.t, tt.loc)
		if !start.Equal(tt.start) || !end.Equal(tt.start.AddDate(1, 0, 0)) {
			t.Errorf("Year(%s, %v) = %s, %s; want from %s", tt.t, tt.loc, start, end, tt.start)
		}
		if tt.t.Before(start) || !tt.t.Before(end) {
			t.Errorf("Year(%s) = [%s, %s) does not hold it", tt.t, start, end)
		}
	}
}

func TestPurpose(t *testing.T) {
	for _, c := range strings.Fields("SALA GDDS SUPP FAMI SCVE TRAD EDUC MDCS RENT TAXS GOVT INTC CHAR PENS BONU COMM LOAN INSU DIVD OTHR") {
		if !ValidPurpose(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"", "sala", "Sala", "SAL", "SALAR", "SALA ", " SALA", "XXXX", "ZZZZ", "1234"} {
		if ValidPurpose(c) {
			t.Errorf("%q accepted", c)
		}
	}
	all := Purposes()
	if len(all) != 287 {
		t.Errorf("%d purpose codes; want 286 of ISO 20022 1Q2018 and FAMI", len(all))
	}
	for i, c := range all {
		if !ValidPurpose(c) || (i > 0 && all[i-1] >= c) {
			t.Errorf("Purposes()[%d] = %q", i, c)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"1.0913", "0.13745", "7.2", "7.20", "0", "-1", "1e3", "999999999.999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if !errors.Is(err, ErrRate) || r != (Rate{}) {
				t.Fatalf("ParseRate(%q) = %v, %v", s, r, err)
			}
			return
		}
		if !r.Valid() {
			t.Fatalf("ParseRate(%q) = %+v, not valid", s, r)
		}
		// Canonical and round trip.
		r2, err := ParseRate(r.String())
		if err != nil || r2 != r {
			t.Fatalf("ParseRate(%q).String() = %q reads back as %v, %v", s, r.String(), r2, err)
		}
		// The value is the text's.
		want, ok := new(big.Rat).SetString(s)
		got, _ := new(big.Rat).SetString(r.String())
		if !ok || want.Cmp(got) != 0 || want.Sign() <= 0 {
			t.Fatalf("ParseRate(%q) = %s", s, r)
		}
		if r.Cmp(r2) != 0 {
			t.Fatalf("%s.Cmp(itself) != 0", r)
		}
	})
}

func BenchmarkBest(b *testing.B) {
	var sheets []Sheet
	for i := range 20 {
		sheets = append(sheets, sheet(string(rune('a'+i)), "1.08"+itoa(uint64(i)), func(s *Sheet) { s.Fee.BPS = int64(i) }))
	}
	for b.Loop() {
		if _, ok := Best(sheets, cny, hkd, 123456, Send, now); !ok {
			b.Fatal("no offer")
		}
	}
}
