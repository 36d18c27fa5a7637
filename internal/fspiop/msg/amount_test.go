package msg

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/money"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		amount string
		exp    int
		want   int64
		err    string
	}{
		{"100.5", 2, 10050, ""},
		{"100", 2, 10000, ""},
		{"0", 2, 0, ""},
		{"0.01", 2, 1, ""},
		{"100", 0, 100, ""},
		{"1.234", 3, 1234, ""},
		{"0.001", 3, 1, ""},
		{"92233720368547758.07", 2, math.MaxInt64, ""},
		{"9223372036854775807", 0, 0, "3101 Malformed syntax - amount must match the pattern of Amount"}, // 19 digits
		{"922337203685477580.8", 1, 0, "3100 Generic validation error - Amount 922337203685477580.8 is out of range"},
		{"92233720368547758.08", 2, 0, "3100 Generic validation error - Amount 92233720368547758.08 is out of range"},
		{"999999999999999999.9999", 4, 0, "3100 Generic validation error - Amount 999999999999999999.9999 is out of range"},
		{"100.5", 0, 0, "3100 Generic validation error - Amount 100.5 exceeds allowed scale of 0"},
		{"100.123", 2, 0, "3100 Generic validation error - Amount 100.123 exceeds allowed scale of 2"},
		{"1.0001", 3, 0, "3100 Generic validation error - Amount 1.0001 exceeds allowed scale of 3"},
		{"100.50", 2, 0, "3101 Malformed syntax - amount must match the pattern of Amount"},
		{"-1", 2, 0, "3101 Malformed syntax - amount must match the pattern of Amount"},
		{"", 2, 0, "3101 Malformed syntax - amount must match the pattern of Amount"},
		{"1", 5, 0, "3100 Generic validation error - currency exponent 5 is not supported"},
	}
	for _, tt := range tests {
		got, err := ParseAmount(Money{Currency: "USD", Amount: tt.amount}, tt.exp)
		if got != tt.want || errText(err) != tt.err {
			t.Errorf("ParseAmount(%q, %d) = %d, %q; want %d, %q", tt.amount, tt.exp, got, errText(err), tt.want, tt.err)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor int64
		exp   int
		want  string
	}{
		{10050, 2, "100.5"}, {10000, 2, "100"}, {0, 2, "0"}, {1, 2, "0.01"}, {10, 2, "0.1"},
		{100, 0, "100"}, {0, 0, "0"}, {1234, 3, "1.234"}, {1000, 3, "1"}, {1010, 3, "1.01"}, {1, 3, "0.001"},
		{1, 4, "0.0001"}, {math.MaxInt64, 2, "92233720368547758.07"}, {-150, 2, "-1.5"}, {math.MinInt64, 0, "-9223372036854775808"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.minor, tt.exp); got != tt.want {
			t.Errorf("FormatAmount(%d, %d) = %q, want %q", tt.minor, tt.exp, got, tt.want)
		}
	}
}

// TestAmountRoundTrip: every non-negative amount within the pattern's
// 18 integer digits formats to what the pattern accepts and parses
// back, and agrees with internal/money's reading.
func TestAmountRoundTrip(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 100000; i++ {
		exp := rng.IntN(MaxExponent + 1)
		v := rng.Int64N(math.MaxInt64)
		if rng.IntN(2) == 0 {
			v = rng.Int64N(1_000_000)
		}
		s := FormatAmount(v, exp)
		if intPart, _, _ := strings.Cut(s, "."); len(intPart) > 18 {
			continue // beyond the pattern's 18 integer digits
		}
		if !IsAmount(s) {
			t.Fatalf("seed %d: FormatAmount(%d, %d) = %q, not an Amount", seed, v, exp, s)
		}
		got, err := ParseAmount(Money{Amount: s}, exp)
		if err != nil || got != v {
			t.Fatalf("seed %d: ParseAmount(%q, %d) = %d, %v; want %d", seed, s, exp, got, err, v)
		}
		if m, err := money.ParseDecimal(s, exp); err != nil || m != v {
			t.Fatalf("seed %d: money.ParseDecimal(%q, %d) = %d, %v", seed, s, exp, m, err)
		}
	}
}

// TestAmountExponents reads amounts with the exponents internal/money
// gives currencies of each scale.
func TestAmountExponents(t *testing.T) {
	for code, want := range map[string]int64{"JPY": 101, "USD": 10100, "KWD": 101000} {
		cur := money.MustCurrency(code)
		got, err := ParseAmount(Money{Currency: code, Amount: "101"}, cur.Exponent())
		if err != nil || got != want {
			t.Errorf("%s: %d, %v", code, got, err)
		}
		if s := FormatAmount(got, cur.Exponent()); s != "101" {
			t.Errorf("%s: FormatAmount = %q", code, s)
		}
	}
}
