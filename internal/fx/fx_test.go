package fx

import (
	"errors"
	"flag"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
)

var (
	cny = money.MustCurrency("CNY")
	hkd = money.MustCurrency("HKD")
	jpy = money.MustCurrency("JPY")
	usd = money.MustCurrency("USD")
	bhd = money.MustCurrency("BHD")
	eur = money.MustCurrency("EUR")
	uyw = money.MustCurrency("UYW") // exponent 4
	irr = money.MustCurrency("IRR")
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in, want string // want "" means refused
	}{
		{"1.0913", "1.0913"},
		{"0.13745", "0.13745"},
		{"7.2", "7.2"},
		{"7.20", "7.2"},
		{"150", "150"},
		{"1.0", "1"},
		{"0.000000000001", "0.000000000001"},
		{"999999999", "999999999"},
		{"999999.999999999999", "999999.999999999999"}, // 18 significant digits
		{"123456789.123456789", "123456789.123456789"},
		{"0", ""},
		{"0.0", ""},
		{"0.000000000000", ""},
		{"0.0000000000001", ""}, // 13 decimals
		{"1.1000000000000", ""}, // 13 decimals, even if zeros
		{"1000000000", ""},      // 10^9
		{"1234567890.1", ""},
		{"123456789.1234567891", ""}, // 19 significant digits
		{"-1.2", ""},
		{"+1.2", ""},
		{"1e3", ""},
		{"1.2e-3", ""},
		{" 1.2", ""},
		{"1.2 ", ""},
		{"07.2", ""},
		{"00.5", ""},
		{".5", ""},
		{"5.", ""},
		{"", ""},
		{".", ""},
		{"1,5", ""},
		{"1.2.3", ""},
		{"0x10", ""},
		{"NaN", ""},
		{"Inf", ""},
		{"١.٢", ""}, // Arabic-Indic digits
	}
	for _, tt := range tests {
		r, err := ParseRate(tt.in)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrRate) {
				t.Errorf("ParseRate(%q) = %v, %v; want ErrRate", tt.in, r, err)
			}
			continue
		}
		if err != nil || r.String() != tt.want || !r.Valid() {
			t.Errorf("ParseRate(%q) = %v, %v; want %s", tt.in, r, err, tt.want)
		}
	}
}

func TestRateCmpAndText(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0913", "1.0913", 0},
		{"1.09130", "1.0913", 0},
		{"1.0913", "1.0914", -1},
		{"150", "149.999999999999", 1},
		{"0.000000000001", "999999999", -1},
		{"999999.999999999999", "999999.99999999999", 1},
	}
	for _, tt := range tests {
		a, b := MustRate(tt.a), MustRate(tt.b)
		if got := a.Cmp(b); got != tt.want {
			t.Errorf("%s.Cmp(%s) = %d; want %d", a, b, got, tt.want)
		}
		if got := b.Cmp(a); got != -tt.want {
			t.Errorf("%s.Cmp(%s) = %d; want %d", b, a, got, -tt.want)
		}
		if (a == b) != (tt.want == 0) {
			t.Errorf("%s == %s is %v: equal rates must be equal values", a, b, a == b)
		}
	}
	var r Rate
	if r.Valid() || r.String() != "invalid-rate" {
		t.Errorf("zero Rate: Valid %v, String %q", r.Valid(), r.String())
	}
	if _, err := r.MarshalText(); !errors.Is(err, ErrRate) {
		t.Errorf("zero Rate marshals: %v", err)
	}
	if err := r.UnmarshalText([]byte("0.13745")); err != nil || r != MustRate("0.13745") {
		t.Errorf("UnmarshalText: %v, %v", r, err)
	}
	if b, err := r.MarshalText(); err != nil || string(b) != "0.13745" {
		t.Errorf("MarshalText: %s, %v", b, err)
	}
}

// TestConvert: exact conversions across exponent pairs, both ways. The
// expected figures were worked out with exact fractions.
func TestConvert(t *testing.T) {
	tests := []struct {
		name     string
		from, to money.Currency
		rate     string
		mode     Mode
		amount   money.Amount
		source   money.Amount
		target   money.Amount
		exact    string
		rounding string
	}{
		// CNY (2) → HKD (2): 123.45 CNY × 1.0835 = 133.758075 HKD.
		{"CNY→HKD send", cny, hkd, "1.0835", Send, 12345, 12345, 13375, "133.758075", "0.008075"},
		{"CNY→HKD receive", cny, hkd, "1.0835", Receive, 13376, 12346, 13376, "133.76891", "0.00891"},
		// CNY (2) → JPY (0): 100.00 CNY × 20.6543 = 2065.43 JPY.
		{"CNY→JPY send", cny, jpy, "20.6543", Send, 10000, 10000, 2065, "2065.43", "0.43"},
		{"CNY→JPY receive", cny, jpy, "20.6543", Receive, 2066, 10003, 2066, "2066.049629", "0.049629"},
		// JPY (0) → CNY (2): 1000 JPY × 0.048415 = 48.415 CNY.
		{"JPY→CNY send", jpy, cny, "0.048415", Send, 1000, 1000, 4841, "48.415", "0.005"},
		{"JPY→CNY receive", jpy, cny, "0.048415", Receive, 10000, 2066, 10000, "100.02539", "0.02539"},
		// USD (2) → BHD (3): exact, and a cent that is worth 3.76 fils.
		{"USD→BHD send exact", usd, bhd, "0.376", Send, 100, 100, 376, "0.376", "0.000"},
		{"USD→BHD send cent", usd, bhd, "0.376", Send, 1, 1, 3, "0.00376", "0.00076"},
		{"USD→BHD receive", usd, bhd, "0.376", Receive, 1000, 266, 1000, "1.00016", "0.00016"},
		// BHD (3) → JPY (0): a fils is worth 0.39652 JPY.
		{"BHD→JPY send", bhd, jpy, "396.52", Send, 1000, 1000, 396, "396.52", "0.52"},
		{"BHD→JPY send 3 fils", bhd, jpy, "396.52", Send, 3, 3, 1, "1.18956", "0.18956"},
		{"BHD→JPY receive 1 yen", bhd, jpy, "396.52", Receive, 1, 3, 1, "1.18956", "0.18956"},
		// UYW (4) → IRR (2), a large rate: 1.2345 UYW × 10500.5.
		{"UYW→IRR send", uyw, irr, "10500.5", Send, 12345, 12345, 1296286, "12962.86725", "0.00725"},
		// Whole rate, exact.
		{"EUR→JPY whole rate", eur, jpy, "160", Send, 1, 1, 1, "1.6", "0.6"},
	}
	for _, tt := range tests {
		c, err := Convert(tt.amount, tt.from, tt.to, MustRate(tt.rate), tt.mode)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if c.Source != tt.source || c.Target != tt.target {
			t.Errorf("%s: source %d target %d; want %d, %d", tt.name, c.Source, c.Target, tt.source, tt.target)
		}
		if got := c.Exact(); got != tt.exact {
			t.Errorf("%s: Exact %s; want %s", tt.name, got, tt.exact)
		}
		if got := c.Rounding(); got != tt.rounding {
			t.Errorf("%s: Rounding %s; want %s", tt.name, got, tt.rounding)
		}
	}
}

func TestConvertRefusals(t *testing.T) {
	r := MustRate("1.0835")
	tests := []struct {
		name     string
		amount   money.Amount
		from, to money.Currency
		r        Rate
		mode     Mode
		want     error
	}{
		{"zero amount", 0, cny, hkd, r, Send, ErrAmount},
		{"negative amount", -5, cny, hkd, r, Receive, ErrAmount},
		{"unknown currency", 5, money.Currency(999), hkd, r, Send, ErrAmount},
		{"zero rate", 5, cny, hkd, Rate{}, Send, ErrRate},
		{"no mode", 5, cny, hkd, r, 0, ErrMode},
		{"1 fils to yen", 1, bhd, jpy, MustRate("396.52"), Send, ErrTooSmall},
		{"tiny rate", 1000, cny, hkd, MustRate("0.000001"), Send, ErrTooSmall},
		{"send overflow", math.MaxInt64, jpy, cny, MustRate("0.048415"), Send, money.ErrOverflow},
		{"receive overflow", math.MaxInt64, cny, jpy, MustRate("0.000000000001"), Receive, money.ErrOverflow},
		{"send overflow big rate", math.MaxInt64 / 2, jpy, uyw, MustRate("999999999"), Send, money.ErrOverflow},
	}
	for _, tt := range tests {
		if _, err := Convert(tt.amount, tt.from, tt.to, tt.r, tt.mode); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v; want %v", tt.name, err, tt.want)
		}
	}
}

func TestMode(t *testing.T) {
	for in, want := range map[string]Mode{"": Send, "SEND": Send, "RECEIVE": Receive} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, m, err)
		}
	}
	for _, in := range []string{"send", "Receive", "BOTH", " SEND"} {
		if _, err := ParseMode(in); !errors.Is(err, ErrMode) {
			t.Errorf("ParseMode(%q): %v", in, err)
		}
	}
	var m Mode
	if err := m.UnmarshalText([]byte("RECEIVE")); err != nil || m != Receive {
		t.Errorf("UnmarshalText: %v %v", m, err)
	}
	if b, err := Receive.MarshalText(); err != nil || string(b) != "RECEIVE" {
		t.Errorf("MarshalText: %s %v", b, err)
	}
	if _, err := Mode(0).MarshalText(); !errors.Is(err, ErrMode) {
		t.Errorf("Mode(0).MarshalText: %v", err)
	}
}

func TestFee(t *testing.T) {
	tests := []struct {
		f      Fee
		source money.Amount
		want   money.Amount
	}{
		{Fee{}, 10000, 0},
		{Fee{Fixed: 150}, 10000, 150},
		{Fee{BPS: 50}, 10000, 50},
		{Fee{BPS: 50}, 333, 2}, // 1.665 rounds up
		{Fee{BPS: 50}, 200, 1}, // 1 exactly
		{Fee{BPS: 1}, 1, 1},    // 0.0001 rounds up
		{Fee{Fixed: 10, BPS: 25}, 100000, 260},
		{Fee{BPS: FeeBPSMax}, math.MaxInt64, math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := tt.f.Of(tt.source)
		if err != nil || got != tt.want {
			t.Errorf("%+v.Of(%d) = %d, %v; want %d", tt.f, tt.source, got, err, tt.want)
		}
	}
	if _, err := (Fee{Fixed: 1, BPS: FeeBPSMax}).Of(math.MaxInt64); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("overflowing fee: %v", err)
	}
	for _, f := range []Fee{{Fixed: -1}, {BPS: -1}, {BPS: FeeBPSMax + 1}} {
		if err := f.Validate(); !errors.Is(err, ErrSheet) {
			t.Errorf("%+v.Validate() = %v", f, err)
		}
	}
}

// oracle returns S × rate × 10^(expT−expS) as an exact rational.
func oracle(s money.Amount, from, to money.Currency, r Rate) *big.Rat {
	x, ok := new(big.Rat).SetString(r.String())
	if !ok {
		panic(r.String())
	}
	x.Mul(x, new(big.Rat).SetInt64(int64(s)))
	shift := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(to.Exponent()-from.Exponent()))), nil))
	if to.Exponent() >= from.Exponent() {
		x.Mul(x, shift)
	} else {
		x.Quo(x, shift)
	}
	return x
}

func abs(x int) int { return max(x, -x) }

func floorRat(x *big.Rat) *big.Int {
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	_ = m
	return q // x ≥ 0 in every use
}

// randomRate returns a valid rate with a random number of significant
// digits and decimals, from 10^-12 to below 10^9.
func randomRate(rng *rand.Rand) Rate {
	for {
		scale := rng.IntN(RateFracDigitsMax + 1)
		digits := 1 + rng.IntN(RateSigDigitsMax)
		m := rng.Uint64N(pow10[digits])
		for m > 0 && scale > 0 && m%10 == 0 {
			m /= 10
			scale--
		}
		r := Rate{m: m, scale: uint8(scale)}
		if r.Valid() {
			return r
		}
	}
}

func randomAmount(rng *rand.Rand) money.Amount {
	switch rng.IntN(5) {
	case 0:
		return money.Amount(math.MaxInt64 - rng.Int64N(1000))
	case 1:
		return money.Amount(1 + rng.Int64N(100))
	default:
		return money.Amount(1 + rng.Int64N(int64(pow10[1+rng.IntN(18)])))
	}
}

var seedFlag = flag.Uint64("seed", 0, "seed of TestConvertProperties; 0 picks one from the clock")

// TestConvertProperties checks random conversions, including the largest
// amounts money allows and the extreme rates, against an exact oracle
// (math/big.Rat): Send rounds the target down by less than one minor unit;
// Receive's source is the least whose Send conversion reaches the target;
// Rounding is exactly S × rate − T and never negative.
func TestConvertProperties(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -seed %d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	curs := []money.Currency{jpy, cny, hkd, usd, bhd, uyw, irr}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	var sends, receives, overflows int
	for i := 0; i < n; i++ {
		from, to := curs[rng.IntN(len(curs))], curs[rng.IntN(len(curs))]
		r := randomRate(rng)
		amount := randomAmount(rng)
		ctx := func() string {
			return "seed " + itoa(seed) + ": " + amount.Format(from) + " " + from.String() + "→" + to.String() + " at " + r.String()
		}

		// Send.
		c, err := Convert(amount, from, to, r, Send)
		exact := oracle(amount, from, to, r)
		want := floorRat(exact)
		switch {
		case want.Sign() == 0:
			if !errors.Is(err, ErrTooSmall) {
				t.Fatalf("%s: send %v; want ErrTooSmall", ctx(), err)
			}
		case !want.IsInt64():
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("%s: send %v; want ErrOverflow", ctx(), err)
			}
			overflows++
		case err != nil:
			t.Fatalf("%s: send: %v", ctx(), err)
		default:
			sends++
			if int64(c.Target) != want.Int64() || c.Source != amount {
				t.Fatalf("%s: send gives %d; want %s", ctx(), c.Target, want)
			}
			checkRounding(t, ctx(), c, exact)
		}

		// Receive: the payee must get amount in to's minor units.
		c, err = Convert(amount, from, to, r, Receive)
		if errors.Is(err, money.ErrOverflow) {
			// Then even the most the payer may send does not reach it.
			top := floorRat(oracle(math.MaxInt64, from, to, r))
			if top.Cmp(big.NewInt(int64(amount))) >= 0 {
				t.Fatalf("%s: receive overflows, yet MaxInt64 sent gives %s", ctx(), top)
			}
			overflows++
			continue
		}
		if err != nil {
			t.Fatalf("%s: receive: %v", ctx(), err)
		}
		receives++
		if c.Target != amount || c.Source < 1 {
			t.Fatalf("%s: receive gives %+v", ctx(), c)
		}
		got := oracle(c.Source, from, to, r)
		if got.Cmp(new(big.Rat).SetInt64(int64(amount))) < 0 {
			t.Fatalf("%s: receive: payer sends %d, worth %s < %d: rounded in the payer's favour", ctx(), c.Source, got.FloatString(20), amount)
		}
		if c.Source > 1 {
			less := oracle(c.Source-1, from, to, r)
			if less.Cmp(new(big.Rat).SetInt64(int64(amount))) >= 0 {
				t.Fatalf("%s: receive: %d would have done, not %d", ctx(), c.Source-1, c.Source)
			}
		}
		// Receive's S sent by Send gives at least T (when it fits).
		if back, err := Convert(c.Source, from, to, r, Send); err == nil && back.Target < amount {
			t.Fatalf("%s: send of receive's %d gives %d < %d", ctx(), c.Source, back.Target, amount)
		}
		checkRounding(t, ctx(), c, got)
	}
	t.Logf("%d sends, %d receives, %d overflows checked", sends, receives, overflows)
	if sends < n/4 || receives < n/4 {
		t.Errorf("too few conversions succeeded: %d sends, %d receives of %d", sends, receives, n)
	}
}

// checkRounding checks that Rounding is exactly value − Target, in the
// target's major units, and not negative; in Send, below one minor unit.
func checkRounding(t *testing.T, ctx string, c Conversion, value *big.Rat) {
	t.Helper()
	want := new(big.Rat).Sub(value, new(big.Rat).SetInt64(int64(c.Target)))
	if want.Sign() < 0 {
		t.Fatalf("%s: payee gets %d, more than %s", ctx, c.Target, value.FloatString(20))
	}
	if c.Mode == Send && want.Cmp(big.NewRat(1, 1)) >= 0 {
		t.Fatalf("%s: send rounds off %s minor units", ctx, want.FloatString(20))
	}
	want.Quo(want, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.TargetCurrency.Exponent())), nil)))
	got, ok := new(big.Rat).SetString(c.Rounding())
	if !ok || got.Cmp(want) != 0 || strings.HasPrefix(c.Rounding(), "-") {
		t.Fatalf("%s: Rounding %s; want %s", ctx, c.Rounding(), want.RatString())
	}
	exact, ok := new(big.Rat).SetString(c.Exact())
	if !ok || exact.Cmp(new(big.Rat).Add(got, new(big.Rat).Quo(new(big.Rat).SetInt64(int64(c.Target)),
		new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.TargetCurrency.Exponent())), nil))))) != 0 {
		t.Fatalf("%s: Exact %s is not Target + Rounding %s", ctx, c.Exact(), c.Rounding())
	}
}

func itoa(v uint64) string { return big.NewInt(0).SetUint64(v).String() }

func BenchmarkConvert(b *testing.B) {
	r := MustRate("20.6543")
	b.Run("send", func(b *testing.B) {
		for b.Loop() {
			if _, err := Convert(123456, cny, jpy, r, Send); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("receive", func(b *testing.B) {
		for b.Loop() {
			if _, err := Convert(25000, cny, jpy, r, Receive); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rounding", func(b *testing.B) {
		c, _ := Convert(123456, cny, jpy, r, Send)
		for b.Loop() {
			_ = c.Rounding()
		}
	})
}
