package emv

import (
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// growthMaxChars is how much longer Encode may write a code Decode
// accepted: a missing 01 (6 characters) and an amount given with fewer
// decimals than its currency's exponent ("5" for a currency of exponent
// 4 is written "5.0000").
const growthMaxChars = 6 + 5

// FuzzDecode: Decode never panics and refuses only with its three
// sentinels; whatever it accepts re-encodes to a payload that decodes to
// the same Code, and that payload is a fixed point of Encode. The input is
// a payload without its checksum: the target decodes it as it is and with
// the right checksum appended, so that mutations reach the parser instead
// of stopping at the CRC. Seeds are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	names, payloads := golden(f)
	guids := []string{"D15600000001", "D15600000000", "br.gov.bcb.pix", "br.gov.bcb.pix", "br.gov.bcb.pix", "cn.hulian", "cn.hulian"}
	for i, name := range names {
		p := payloads[name]
		f.Add(p[:len(p)-8], guids[i])
	}
	f.Fuzz(func(t *testing.T, body, guid string) {
		for _, payload := range []string{body, seal(body)} {
			c, err := Decode(payload, guid)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrCRC) && !errors.Is(err, ErrUnknownScheme) {
					t.Fatalf("Decode(%q, %q): %v, not one of its sentinels", payload, guid, err)
				}
				continue
			}
			enc, err := Encode(c)
			if err != nil {
				if errors.Is(err, ErrField) && utf8.RuneCountInString(payload) > PayloadMaxChars-growthMaxChars {
					continue // normalized past 512 characters
				}
				t.Fatalf("Decode(%q, %q) = %+v, which Encode refuses: %v", payload, guid, c, err)
			}
			back, err := Decode(enc, guid)
			if err != nil {
				t.Fatalf("%q decodes, re-encoded as %q it does not: %v", payload, enc, err)
			}
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("%q decodes to\n%+v\nre-encoded as %q to\n%+v", payload, c, enc, back)
			}
			if again, err := Encode(back); err != nil || again != enc {
				t.Fatalf("Encode is not a fixed point: %q then %q, %v", enc, again, err)
			}
		}
	})
}
