package msg

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// spec holds the patterns of the v1.1 definition, copied verbatim from
// the bundle (components.schemas), as oracles for the hand-written
// checks. Names are ECMAScript-only and tested by cases.
var spec = map[string]*regexp.Regexp{
	"Amount":        regexp.MustCompile(`^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$`),
	"CorrelationId": regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
	"DateTime":      regexp.MustCompile(`^(?:[1-9]\d{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:[1-9]\d(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)-02-29)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:(\.\d{3}))(?:Z|[+-][01]\d:[0-5]\d)$`),
	"Date":          regexp.MustCompile(`^(?:[1-9]\d{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:[1-9]\d(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)-02-29)$`),
	"IlpCondition":  regexp.MustCompile(`^[A-Za-z0-9-_]{43}$`),
	"IlpPacket":     regexp.MustCompile(`^[A-Za-z0-9-_]+[=]{0,2}$`),
	"ErrorCode":     regexp.MustCompile(`^[1-9]\d{3}$`),
	"SubScenario":   regexp.MustCompile(`^[A-Z_]{1,32}$`),
	"BoP":           regexp.MustCompile(`^[1-9]\d{2}$`),
	"MCC":           regexp.MustCompile(`^[\d]{1,4}$`),
}

var checks = map[string]func(string) bool{
	"Amount":        IsAmount,
	"CorrelationId": IsCorrelationID,
	"DateTime":      IsDateTime,
	"Date":          IsDate,
	"IlpCondition":  IsILPCondition,
	"IlpPacket":     func(s string) bool { return len(s) >= 1 && IsILPPacket(s) },
	"ErrorCode":     isErrorCode,
	"SubScenario":   isSubScenario,
	"BoP":           isBalanceOfPayments,
	"MCC":           isMerchantCode,
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		valid   []string
		invalid []string
	}{
		{"Amount", []string{"0", "1", "100", "100.5", "0.0001", "123456789012345678", "123456789012345678.1234", "0.5"},
			[]string{"", "00", "01", "100.50", "100.", ".5", "-1", "+1", "1e3", "1234567890123456789", "0.00001", "1.0", "0.0", "1,5", " 1", "١"}},
		{"CorrelationId", []string{"85feac2f-39b2-491b-817e-4a03203d4f14", "00000000-0000-1000-8000-000000000000", "ffffffff-ffff-5fff-bfff-ffffffffffff"},
			[]string{"", "85FEAC2F-39B2-491B-817E-4A03203D4F14", "85feac2f-39b2-691b-817e-4a03203d4f14", "85feac2f-39b2-091b-817e-4a03203d4f14", "85feac2f-39b2-491b-c17e-4a03203d4f14",
				"85feac2f39b2491b817e4a03203d4f14", "85feac2f-39b2-491b-817e-4a03203d4f1", "{85feac2f-39b2-491b-817e-4a03203d4f14}", "85feac2g-39b2-491b-817e-4a03203d4f14", "01ARZ3NDEKTSV4RRFFQ69G5FAV"}},
		{"DateTime", []string{"2026-12-07T01:00:00.000Z", "2024-02-29T23:59:59.999Z", "2000-02-29T00:00:00.000+05:30", "1000-01-01T00:00:00.000-19:59", "2026-04-30T12:00:00.123Z"},
			[]string{"", "2026-12-07T01:00:00Z", "2026-12-07T01:00:00.00Z", "2026-12-07T01:00:00.0000Z", "2026-12-07T01:00:00.000z", "2026-12-07 01:00:00.000Z",
				"2026-12-07T24:00:00.000Z", "2026-12-07T01:60:00.000Z", "2026-12-07T01:00:60.000Z", "1900-02-29T00:00:00.000Z", "2026-02-29T00:00:00.000Z",
				"2026-04-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-00-01T00:00:00.000Z", "0999-01-01T00:00:00.000Z", "2026-12-07T01:00:00.000+20:00",
				"2026-12-07T01:00:00.000+05:60", "2026-12-07T01:00:00.000+0530", "2026-12-07T01:00:00.000", "2026-12-00T01:00:00.000Z", "2026-12-32T01:00:00.000Z"}},
		{"Date", []string{"1990-02-28", "2000-02-29", "2024-02-29", "1600-02-29", "9999-12-31"},
			[]string{"", "1900-02-29", "2100-02-29", "2023-02-29", "1990-2-28", "1990-02-30", "1990-06-31", "0990-01-01", "1990-02-28T00:00:00.000Z"}},
		{"IlpCondition", []string{"DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgxw", "0jHsbrry53c0QMKTbRWRXaOMwU3zOpb6eX_NtbPuPuc", strings.Repeat("-", 43)},
			[]string{"", "DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgxw=", "DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp/flx7qttdmgxw", "DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgx", "DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp+flx7qttdmgxw"}},
		{"IlpPacket", []string{"AYIC", "A", "AA==", "A=", "a-_9"},
			[]string{"", "=", "==", "A===", "AY+C", "AY/C", "A=A", "AY IC"}},
		{"ErrorCode", []string{"1000", "3204", "9999"}, []string{"", "0999", "999", "10000", "32o4", "+320"}},
		{"SubScenario", []string{"A", "CASH_OUT", strings.Repeat("Z", 32)}, []string{"", "cash", "CASH-OUT", strings.Repeat("Z", 33), "É"}},
		{"BoP", []string{"100", "999", "123"}, []string{"", "012", "12", "1234", "1a3"}},
		{"MCC", []string{"0", "0000", "5411"}, []string{"", "12345", "54a1", "٥٤"}},
	}
	for _, tt := range tests {
		re, check := spec[tt.pattern], checks[tt.pattern]
		for _, s := range tt.valid {
			if !re.MatchString(s) {
				t.Errorf("%s: case %q is not valid by the definition", tt.pattern, s)
			}
			if !check(s) {
				t.Errorf("%s: %q refused", tt.pattern, s)
			}
		}
		for _, s := range tt.invalid {
			if re.MatchString(s) {
				t.Errorf("%s: case %q is valid by the definition", tt.pattern, s)
			}
			if check(s) {
				t.Errorf("%s: %q accepted", tt.pattern, s)
			}
		}
	}
}

// TestPatternsRandom holds each check to the definition's expression on
// random strings drawn from the characters that matter to it.
func TestPatternsRandom(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	alphabet := "0123456789abcdefABCZz-_.:+=T "
	seeds := []string{"2024-02-29T23:59:59.999Z", "85feac2f-39b2-491b-817e-4a03203d4f14", "123.4560", "2000-02-29", "DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgxw"}
	for i := 0; i < 200000; i++ {
		s := []byte(seeds[rng.IntN(len(seeds))])
		for range rng.IntN(3) + 1 { // mutate a few characters
			switch rng.IntN(3) {
			case 0:
				s[rng.IntN(len(s))] = alphabet[rng.IntN(len(alphabet))]
			case 1:
				j := rng.IntN(len(s))
				s = append(s[:j], s[j+1:]...)
			default:
				j := rng.IntN(len(s) + 1)
				s = append(s[:j], append([]byte{alphabet[rng.IntN(len(alphabet))]}, s[j:]...)...)
			}
			if len(s) == 0 {
				s = []byte("0")
			}
		}
		for name, re := range spec {
			if got, want := checks[name](string(s)), re.MatchString(string(s)); got != want {
				t.Fatalf("seed %d: %s(%q) = %v, definition says %v", seed, name, s, got, want)
			}
		}
	}
}

func TestNames(t *testing.T) {
	valid := []string{"Alice", "Jean-Luc", "O'Brien", "Zhang San", "张三", "Łukasz", "José", "D. Smith, Jr.", "A_B", "a\u200db", "نور", "Nguyễn", "Ü2", "x" + strings.Repeat("y", 127)}
	invalid := []string{"", " ", "   ", "J*** D***", "A/B", "a@b", "tab\there", "x" + strings.Repeat("y", 128), "emoji😀", "\u00a0", "a\nb"}
	for _, s := range valid {
		if !IsName(s) {
			t.Errorf("IsName(%q) = false", s)
		}
	}
	for _, s := range invalid {
		if IsName(s) {
			t.Errorf("IsName(%q) = true", s)
		}
	}
}

func TestGeo(t *testing.T) {
	for _, s := range []string{"0", "90", "-90", "+90.000000", "89.999999", "-33.9249", "9.1"} {
		if !IsLatitude(s) {
			t.Errorf("IsLatitude(%q) = false", s)
		}
	}
	for _, s := range []string{"", "91", "90.1", "-90.0000001", "1.1234567", "09", "1."} {
		if IsLatitude(s) {
			t.Errorf("IsLatitude(%q) = true", s)
		}
	}
	for _, s := range []string{"0", "180", "-180.0", "179.999999", "18.4241", "99"} {
		if !IsLongitude(s) {
			t.Errorf("IsLongitude(%q) = false", s)
		}
	}
	for _, s := range []string{"", "181", "180.5", "-190", "1.1234567"} {
		if IsLongitude(s) {
			t.Errorf("IsLongitude(%q) = true", s)
		}
	}
}

func TestCurrencies(t *testing.T) {
	cs := Currencies()
	if len(cs) != 164 {
		t.Fatalf("%d currencies, the definition has 164", len(cs))
	}
	for _, c := range cs {
		if !IsCurrency(c) {
			t.Errorf("IsCurrency(%q) = false", c)
		}
	}
	for _, c := range []string{"", "usd", "XBT", "US", "USDT", "CNH", "ZWL"} {
		if IsCurrency(c) {
			t.Errorf("IsCurrency(%q) = true", c)
		}
	}
	for _, c := range []string{"USD", "KES", "XOF", "ZAR", "MRO", "XTS", "XXX", "CNY"} {
		if !IsCurrency(c) {
			t.Errorf("IsCurrency(%q) = false", c)
		}
	}
}

func TestEnums(t *testing.T) {
	for _, s := range []string{"MSISDN", "EMAIL", "PERSONAL_ID", "BUSINESS", "DEVICE", "ACCOUNT_ID", "IBAN", "ALIAS"} {
		if !IsPartyIDType(s) {
			t.Errorf("IsPartyIDType(%q) = false", s)
		}
	}
	for _, s := range []string{"RECEIVED", "RESERVED", "COMMITTED", "ABORTED"} {
		if !IsTransferState(s) {
			t.Errorf("IsTransferState(%q) = false", s)
		}
	}
	for _, s := range []string{"", "msisdn", "PHONE", "COMPLETED", "Committed"} {
		if IsPartyIDType(s) || IsTransferState(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
