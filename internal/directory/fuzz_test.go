package directory

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize checks that Normalize never panics and that what it
// accepts is a fixed point whatever the default region, as Register
// relies on (it re-normalizes with no region).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"+8613800138000", "13800138000", "+86 138 0013 8000", "(650) 253-0000", "008613800138000",
		"+1-800-FLOWERS", "+16502530000;ext=12", "+٨٦١٣٨٠٠١٣٨٠٠٠", "0", "+", "()",
		"user@example.com", "First.Last+Tag@Example.COM", "User <u@example.com>", `"a b"@example.com`,
		"用户@例子.广告", "K\u212a@example.com", "\u0130@example.com", "ⱥ@example.com",
		"11010519491231002x", "ſ123", "123e4567-E89B-42d3-a456-426614174000",
		"alipay:2088102146225135", " \t", "\xff\xfe",
	} {
		f.Add(s)
	}
	types := []Type{MSISDN, EMAIL, NATIONAL_ID, RANDOM, WALLET}
	regions := []string{"CN", "", "US", "BR", "IT"}
	f.Fuzz(func(t *testing.T, value string) {
		for _, ty := range types {
			for _, region := range regions {
				out, err := Normalize(ty, value, region)
				if err != nil {
					if out != "" {
						t.Fatalf("Normalize(%s, %q, %q) = %q with error %v", ty, value, region, out, err)
					}
					continue
				}
				if out == "" || strings.TrimSpace(out) != out || !utf8.ValidString(out) {
					t.Fatalf("Normalize(%s, %q, %q) = %q", ty, value, region, out)
				}
				if ty == MSISDN && (out[0] != '+' || len(out) > 16) {
					t.Fatalf("Normalize(%s, %q, %q) = %q, not E.164", ty, value, region, out)
				}
				for _, r2 := range regions {
					again, err := Normalize(ty, out, r2)
					if err != nil || again != out {
						t.Fatalf("Normalize(%s, %q, %q) = %q, but Normalize(%s, %q, %q) = %q, %v",
							ty, value, region, out, ty, out, r2, again, err)
					}
				}
			}
		}
	})
}
