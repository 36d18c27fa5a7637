package directory

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Type
		ok   bool
	}{
		{"MSISDN", MSISDN, true},
		{"EMAIL", EMAIL, true},
		{"NATIONAL_ID", NATIONAL_ID, true},
		{"RANDOM", RANDOM, true},
		{"WALLET", WALLET, true},
		{"msisdn", "", false},
		{"Email", "", false},
		{"NATIONAL-ID", "", false},
		{" MSISDN", "", false},
		{"MSISDN ", "", false},
		{"", "", false},
		{"PHONE", "", false},
	} {
		got, err := ParseType(tc.in)
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseType(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			if !got.Valid() {
				t.Errorf("%q.Valid() = false", got)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidType) {
			t.Errorf("ParseType(%q) = %q, %v; want ErrInvalidType", tc.in, got, err)
		}
		if Type(tc.in).Valid() {
			t.Errorf("Type(%q).Valid() = true", tc.in)
		}
	}
}

func TestNormalize(t *testing.T) {
	const none = "" // marks an invalid input
	longDomain := strings.Repeat(strings.Repeat("b", 62)+".", 3) + "com"
	for _, tc := range []struct {
		t      Type
		in     string
		region string
		want   string
	}{
		// MSISDN.
		{MSISDN, "+8613800138000", "", "+8613800138000"},
		{MSISDN, "+8613800138000", "US", "+8613800138000"},
		{MSISDN, "13800138000", "CN", "+8613800138000"},
		{MSISDN, "13800138000", "cn", "+8613800138000"},
		{MSISDN, "+86 138 0013 8000", "", "+8613800138000"}, // spaces are accepted: people type them
		{MSISDN, "138-0013-8000", "CN", "+8613800138000"},
		{MSISDN, "  +8613800138000\t", "", "+8613800138000"},
		{MSISDN, "008613800138000", "CN", "+8613800138000"}, // international prefix of CN
		{MSISDN, "+1 650-253-0000", "", "+16502530000"},
		{MSISDN, "(650) 253-0000", "US", "+16502530000"},
		{MSISDN, "+44 20 7946 0958", "CN", "+442079460958"},
		{MSISDN, "+5511987654321", "", "+5511987654321"},
		{MSISDN, "13800138000", "", none},             // no country
		{MSISDN, "13800138000", "US", none},           // not a US number
		{MSISDN, "13800138000", "XX", none},           // unknown region
		{MSISDN, "+86138", "", none},                  // too short
		{MSISDN, "+861380013800099", "", none},        // too long for CN
		{MSISDN, "1380013800O", "CN", none},           // letter O
		{MSISDN, "+1-800-FLOWERS", "", none},          // no keypad letters
		{MSISDN, "+16502530000 ext 12", "", none},     // no extensions
		{MSISDN, "+16502530000;ext=12", "", none},     // nor in RFC 3966 form
		{MSISDN, "tel:+16502530000", "", none},        // no URIs
		{MSISDN, "86+13800138000", "", none},          // '+' in the middle
		{MSISDN, "", "CN", none},                      // empty
		{MSISDN, "   ", "CN", none},                   // blank
		{MSISDN, "+", "", none},                       // no digits
		{MSISDN, "()-. ", "CN", none},                 // no digits
		{MSISDN, "+０８６13800138000", "", none},         // full-width digits
		{MSISDN, strings.Repeat("1", 33), "CN", none}, // over-long
		{MSISDN, "+86 138 0013 8000 0000 0000 0000 0", "", none},

		// EMAIL.
		{EMAIL, "user@example.com", "", "user@example.com"},
		{EMAIL, "First.Last+Tag@Example.COM", "", "first.last+tag@example.com"},
		{EMAIL, " user@example.com ", "", "user@example.com"},
		{EMAIL, "o'brien@example.ie", "", "o'brien@example.ie"},
		{EMAIL, "用户@例子.广告", "", "用户@例子.广告"},
		{EMAIL, "ÜSER@example.de", "", "üser@example.de"},
		{EMAIL, strings.Repeat("a", 64) + "@example.com", "", strings.Repeat("a", 64) + "@example.com"},
		{EMAIL, strings.Repeat("a", 65) + "@example.com", "", none},
		{EMAIL, strings.Repeat("a", 61) + "@" + longDomain, "", strings.Repeat("a", 61) + "@" + longDomain}, // 254 bytes
		{EMAIL, strings.Repeat("a", 62) + "@" + longDomain, "", none},                                       // 255 bytes
		{EMAIL, "a@" + strings.Repeat("b", 63) + ".com", "", "a@" + strings.Repeat("b", 63) + ".com"},
		{EMAIL, "a@" + strings.Repeat("b", 64) + ".com", "", none}, // DNS label over 63
		{EMAIL, "User <user@example.com>", "", none},
		{EMAIL, "<user@example.com>", "", none},
		{EMAIL, "user@example.com (work)", "", none},
		{EMAIL, `"user"@example.com`, "", none},
		{EMAIL, `"a b"@example.com`, "", none},
		{EMAIL, "user@[127.0.0.1]", "", none},
		{EMAIL, "user@localhost", "", none},
		{EMAIL, "user@@example.com", "", none},
		{EMAIL, "user.@example.com", "", none},
		{EMAIL, "us er@example.com", "", none},
		{EMAIL, "user\u00a0x@example.com", "", none},
		{EMAIL, "a@b.com, c@d.com", "", none},
		{EMAIL, "example.com", "", none},
		{EMAIL, "@example.com", "", none},
		{EMAIL, "user@", "", none},
		{EMAIL, "", "", none},
		{EMAIL, "user@exa\xffmple.com", "", none},

		// NATIONAL_ID.
		{NATIONAL_ID, "11010519491231002X", "", "11010519491231002X"},
		{NATIONAL_ID, "11010519491231002x", "", "11010519491231002X"},
		{NATIONAL_ID, "ab12", "", "AB12"},
		{NATIONAL_ID, strings.Repeat("9", 32), "", strings.Repeat("9", 32)},
		{NATIONAL_ID, strings.Repeat("9", 33), "", none},
		{NATIONAL_ID, "123", "", none},
		{NATIONAL_ID, "110105-19491231-002X", "", none},
		{NATIONAL_ID, "1101 0519", "", none},
		{NATIONAL_ID, "ſ123", "", none}, // long s, which upper-cases to S
		{NATIONAL_ID, "", "", none},

		// RANDOM.
		{RANDOM, "123e4567-e89b-42d3-a456-426614174000", "", "123e4567-e89b-42d3-a456-426614174000"},
		{RANDOM, "123E4567-E89B-42D3-A456-426614174000", "", "123e4567-e89b-42d3-a456-426614174000"},
		{RANDOM, "123e4567-e89b-12d3-a456-426614174000", "", "123e4567-e89b-12d3-a456-426614174000"}, // v1 too
		{RANDOM, "123e4567e89b42d3a456426614174000", "", none},
		{RANDOM, "{123e4567-e89b-42d3-a456-426614174000}", "", none},
		{RANDOM, "urn:uuid:123e4567-e89b-42d3-a456-426614174000", "", none},
		{RANDOM, "123e4567-e89b-42d3-a456-42661417400g", "", none},
		{RANDOM, "123e4567-e89b-42d3-a456_426614174000", "", none},
		{RANDOM, "00000000-0000-0000-0000-000000000000", "", none},
		{RANDOM, "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "", none},
		{RANDOM, "", "", none},

		// WALLET.
		{WALLET, "alipay:2088102146225135", "", "alipay:2088102146225135"},
		{WALLET, "Zhang.San_01-x", "", "Zhang.San_01-x"},
		{WALLET, "a", "", "a"},
		{WALLET, strings.Repeat("w", 64), "", strings.Repeat("w", 64)},
		{WALLET, strings.Repeat("w", 65), "", none},
		{WALLET, "zhang san", "", none},
		{WALLET, "zhang@san", "", none},
		{WALLET, "张三", "", none},
		{WALLET, "", "", none},
	} {
		got, err := Normalize(tc.t, tc.in, tc.region)
		if tc.want == none {
			if !errors.Is(err, ErrInvalidValue) {
				t.Errorf("Normalize(%s, %q, %q) = %q, %v; want ErrInvalidValue", tc.t, tc.in, tc.region, got, err)
			} else if got != "" {
				t.Errorf("Normalize(%s, %q, %q) = %q with an error", tc.t, tc.in, tc.region, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%s, %q, %q) = %q, %v; want %q", tc.t, tc.in, tc.region, got, err, tc.want)
			continue
		}
		// Idempotent, whatever the region.
		for _, region := range []string{tc.region, "", "US"} {
			if again, err := Normalize(tc.t, got, region); err != nil || again != got {
				t.Errorf("Normalize(%s, %q, %q) = %q, %v; not idempotent", tc.t, got, region, again, err)
			}
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	_, err := Normalize("PHONE", "+8613800138000", "CN")
	if !errors.Is(err, ErrInvalidType) {
		t.Errorf("unknown type: %v, want ErrInvalidType", err)
	}
	// The reason is readable; the value is not echoed (personal data).
	_, err = Normalize(MSISDN, "13800138000", "US")
	if err == nil || !strings.Contains(err.Error(), "MSISDN") || strings.Contains(err.Error(), "13800138000") {
		t.Errorf("error %q: want the type and no value", err)
	}
	_, err = Normalize(EMAIL, "User <secret@example.com>", "")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q echoes the value", err)
	}
}

func TestNewRandomKey(t *testing.T) {
	k, err := NewRandomKey(bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "00000000-0000-4000-8000-000000000000"; k != want {
		t.Errorf("NewRandomKey(zeros) = %q, want %q", k, want)
	}
	k, err = NewRandomKey(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)))
	if err != nil || k != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Errorf("NewRandomKey(ones) = %q, %v", k, err)
	}
	seen := map[string]bool{}
	for range 100 {
		k, err := NewRandomKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := Normalize(RANDOM, k, ""); err != nil || n != k {
			t.Errorf("Normalize(RANDOM, %q) = %q, %v; want it unchanged", k, n, err)
		}
		if k[14] != '4' || !strings.ContainsRune("89ab", rune(k[19])) {
			t.Errorf("%q is not a version 4 UUID", k)
		}
		if seen[k] {
			t.Errorf("%q twice", k)
		}
		seen[k] = true
	}
	if _, err := NewRandomKey(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Error("NewRandomKey of a short reader: no error")
	}
}

func TestLookupKey(t *testing.T) {
	for _, tc := range []struct {
		t      Type
		in     string
		want   string
		wantOK bool
	}{
		{MSISDN, "+8613800138000", "+8613800138000", true},
		{MSISDN, "13800138000", "+8613800138000", true}, // national form: full normalisation
		{MSISDN, "+86 138 0013 8000", "+8613800138000", true},
		{MSISDN, "+861234567890123", "+861234567890123", true}, // E.164 shape: not validated, simply not registered
		{MSISDN, "+86123", "", false},
		{MSISDN, "+0861380013800", "", false},
		{EMAIL, "A@B.CN", "a@b.cn", true},
	} {
		got, err := LookupKey(tc.t, tc.in, "CN")
		if (err == nil) != tc.wantOK || got != tc.want {
			t.Errorf("LookupKey(%s, %q) = %q, %v", tc.t, tc.in, got, err)
		}
	}
}

// TestTypeCodes checks that every alias type parses to itself and has a
// code of its own: the cache tells entries apart by it.
func TestTypeCodes(t *testing.T) {
	seen := map[uint8]Type{}
	for _, typ := range types {
		if got, err := ParseType(string(typ)); err != nil || got != typ || !typ.Valid() {
			t.Errorf("%s: ParseType %q, %v; Valid %v", typ, got, err, typ.Valid())
		}
		c := typeCode(typ)
		if c == 0 || seen[c] != "" {
			t.Errorf("%s: code %d, already %q", typ, c, seen[c])
		}
		seen[c] = typ
	}
	for _, bad := range []Type{"", "msisdn", "PHONE", "MSISDN "} {
		if typeCode(bad) != 0 || bad.Valid() {
			t.Errorf("%q: a type", bad)
		}
		if _, err := ParseType(string(bad)); !errors.Is(err, ErrInvalidType) {
			t.Errorf("ParseType(%q): %v", bad, err)
		}
	}
}

func TestCheckRegion(t *testing.T) {
	for r, ok := range map[string]bool{"CN": true, "cn": true, "HK": true, "US": true, "": false, "XX": false, "CHN": false, "China": false, "C": false} {
		if err := CheckRegion(r); (err == nil) != ok {
			t.Errorf("CheckRegion(%q) = %v, want valid %v", r, err, ok)
		}
	}
}
