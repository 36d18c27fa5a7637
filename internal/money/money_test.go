package money

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		code string
		num  uint16
		exp  int
		err  error
	}{
		{"CNY", 156, 2, nil},
		{"USD", 840, 2, nil},
		{"JPY", 392, 0, nil},
		{"KWD", 414, 3, nil},
		{"UYW", 927, 4, nil},
		{"cny", 0, 0, ErrUnknownCurrency},
		{"XXX", 0, 0, ErrUnknownCurrency},
		{"HRK", 0, 0, ErrUnknownCurrency},
		{"", 0, 0, ErrUnknownCurrency},
	}
	for _, tt := range tests {
		c, err := ParseCurrency(tt.code)
		if !errors.Is(err, tt.err) {
			t.Errorf("ParseCurrency(%q) error = %v, want %v", tt.code, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if uint16(c) != tt.num || c.Exponent() != tt.exp || c.String() != tt.code {
			t.Errorf("ParseCurrency(%q) = %d exp %d %q, want %d exp %d", tt.code, c, c.Exponent(), c, tt.num, tt.exp)
		}
	}
	if Currency(0).Valid() || Currency(0).String() != "XXX(0)" {
		t.Errorf("zero currency must be invalid and visible, got %q", Currency(0))
	}
}

func TestParse(t *testing.T) {
	cny, jpy, kwd := MustCurrency("CNY"), MustCurrency("JPY"), MustCurrency("KWD")
	tests := []struct {
		in   string
		cur  Currency
		want Amount
		err  error
	}{
		{"100.00", cny, 10000, nil},
		{"100", cny, 10000, nil},
		{"0.5", cny, 50, nil},
		{"0.05", cny, 5, nil},
		{"0", cny, 0, nil},
		{"-3", cny, -300, nil},
		{"-0.01", cny, -1, nil},
		{"7", jpy, 7, nil},
		{"1.234", kwd, 1234, nil},
		{"92233720368547758.07", cny, math.MaxInt64, nil},
		{"-92233720368547758.07", cny, -math.MaxInt64, nil},
		{"92233720368547758.08", cny, 0, ErrOverflow},
		{"9223372036854775807", jpy, math.MaxInt64, nil},
		{"9223372036854775808", jpy, 0, ErrOverflow},
		{"99999999999999999999", jpy, 0, ErrOverflow},
		{"100.001", cny, 0, ErrPrecision},
		{"7.0", jpy, 0, ErrPrecision},
		{"", cny, 0, ErrSyntax},
		{"-", cny, 0, ErrSyntax},
		{".5", cny, 0, ErrSyntax},
		{"5.", cny, 0, ErrSyntax},
		{"+5", cny, 0, ErrSyntax},
		{"1e3", cny, 0, ErrSyntax},
		{" 1", cny, 0, ErrSyntax},
		{"1,000.00", cny, 0, ErrSyntax},
		{"01.00", cny, 0, ErrSyntax},
		{"1.2.3", cny, 0, ErrSyntax},
		{"--1", cny, 0, ErrSyntax},
		{"NaN", cny, 0, ErrSyntax},
		{"١٠٠", cny, 0, ErrSyntax},
		{"1", Currency(1), 0, ErrUnknownCurrency},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.cur)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("Parse(%q, %s) = %d, %v; want %d, %v", tt.in, tt.cur, got, err, tt.want, tt.err)
		}
	}
}

func TestFormat(t *testing.T) {
	cny, jpy, kwd := MustCurrency("CNY"), MustCurrency("JPY"), MustCurrency("KWD")
	tests := []struct {
		a    Amount
		cur  Currency
		want string
	}{
		{10000, cny, "100.00"},
		{5, cny, "0.05"},
		{0, cny, "0.00"},
		{-1, cny, "-0.01"},
		{-12345, cny, "-123.45"},
		{7, jpy, "7"},
		{-7, jpy, "-7"},
		{1, kwd, "0.001"},
		{math.MaxInt64, cny, "92233720368547758.07"},
		{math.MinInt64, cny, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := tt.a.Format(tt.cur); got != tt.want {
			t.Errorf("Format(%d, %s) = %q, want %q", tt.a, tt.cur, got, tt.want)
		}
		if got := string(tt.a.AppendFormat([]byte("x"), tt.cur)); got != "x"+tt.want {
			t.Errorf("AppendFormat(%d, %s) = %q, want x%q", tt.a, tt.cur, got, tt.want)
		}
	}
}

// FormatDecimal pads with zeros for any number of decimals.
func TestFormatDecimalExponents(t *testing.T) {
	for _, tc := range []struct {
		a    int64
		exp  int
		want string
	}{
		{5, 6, "0.000005"}, {-5, 6, "-0.000005"}, {123456, 6, "0.123456"}, {1234567, 6, "1.234567"},
		{-123, 1, "-12.3"}, {0, 3, "0.000"}, {7, 0, "7"}, {7, -2, "7"}, {1, 25, "0.0000000000000000000000001"},
	} {
		if got := FormatDecimal(tc.a, tc.exp); got != tc.want {
			t.Errorf("FormatDecimal(%d, %d) = %q, want %q", tc.a, tc.exp, got, tc.want)
		}
	}
}

// FormatDecimal round-trips through ParseDecimal for every exponent in
// use, across the whole int64 range.
func TestFormatDecimalRoundTrip(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	for i := range 100000 {
		a := int64(rng.Uint64())
		if i%2 == 0 {
			a >>= rng.IntN(64) // small values too
		}
		if a == math.MinInt64 {
			continue // beyond ParseDecimal's range, which is symmetric
		}
		for exp := range 5 {
			s := FormatDecimal(a, exp)
			got, err := ParseDecimal(s, exp)
			if err != nil || got != a {
				t.Fatalf("seed %d: FormatDecimal(%d, %d) = %q, parsed back as %d, %v", seed, a, exp, s, got, err)
			}
			if exp > 0 && (len(s) < exp+2 || s[len(s)-exp-1] != '.') {
				t.Fatalf("seed %d: FormatDecimal(%d, %d) = %q: not %d decimals", seed, a, exp, s, exp)
			}
		}
	}
}

func TestArithmetic(t *testing.T) {
	if _, err := Add(math.MaxInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("Add overflow not detected: %v", err)
	}
	if _, err := Add(math.MinInt64, -1); !errors.Is(err, ErrOverflow) {
		t.Errorf("Add underflow not detected: %v", err)
	}
	if _, err := Sub(math.MinInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("Sub underflow not detected: %v", err)
	}
	if _, err := Sub(0, math.MinInt64); !errors.Is(err, ErrOverflow) {
		t.Errorf("Sub overflow not detected: %v", err)
	}
	if v, err := Add(2, -5); err != nil || v != -3 {
		t.Errorf("Add(2,-5) = %d, %v", v, err)
	}
	tests := []struct {
		a        Amount
		num, den int64
		want     Amount
		err      error
	}{
		{10000, 50, 10000, 50, nil}, // 0.5% of 100.00
		{333, 50, 10000, 2, nil},    // 1.665 → 2 (half away from zero)
		{-333, 50, 10000, -2, nil},  // symmetric for negatives
		{100, 1, 3, 33, nil},        // 33.33 → 33
		{200, 1, 3, 67, nil},        // 66.67 → 67
		{math.MaxInt64, 10000, 10000, math.MaxInt64, nil},
		{math.MaxInt64, 2, 1, 0, ErrOverflow},
		{1, 1, 0, 0, ErrOverflow},
	}
	for _, tt := range tests {
		got, err := MulDiv(tt.a, tt.num, tt.den)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("MulDiv(%d, %d, %d) = %d, %v; want %d, %v", tt.a, tt.num, tt.den, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"100.00", "0", "-0.01", "92233720368547758.07", "1e3", "01", "5."} {
		f.Add(s, uint16(156))
	}
	f.Add("7", uint16(392))
	f.Add("1.234", uint16(414))
	f.Fuzz(func(t *testing.T, s string, code uint16) {
		cur := Currency(code)
		a, err := Parse(s, cur)
		if err != nil {
			return
		}
		// Every accepted text formats back to an equal amount, and the
		// canonical form parses to the same amount.
		out := a.Format(cur)
		b, err := Parse(out, cur)
		if err != nil || b != a {
			t.Fatalf("Parse(%q)=%d formats as %q which parses to %d, %v", s, a, out, b, err)
		}
	})
}
