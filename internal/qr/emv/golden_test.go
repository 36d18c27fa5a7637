package emv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/money"
)

// golden reads testdata/golden.txt into name → payload, in file order.
func golden(t testing.TB) (names []string, payloads map[string]string) {
	t.Helper()
	f, err := os.Open("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	payloads = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, p, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("golden line %q has no tab", line)
		}
		names = append(names, name)
		payloads[name] = p
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names, payloads
}

var (
	cny = money.MustCurrency("CNY")
	brl = money.MustCurrency("BRL")
)

// hulianStatic is the merchant of the golden hulian-* payloads.
var hulianStatic = Code{TemplateID: 26, GUID: "cn.hulian", MerchantID: "m-10001", MCC: "5812", Currency: cny,
	Country: "CN", Name: "Lao Wang Noodles", City: "Hangzhou"}

func hulianDynamic() Code {
	c := hulianStatic
	c.Dynamic, c.Amount, c.BillNumber, c.Reference = true, 1250, "INV-2026-0042", "r-7f3a9c"
	return c
}

// TestGolden checks every golden payload: the publisher's checksum, the
// data objects re-joined byte for byte, and what Decode makes of it.
func TestGolden(t *testing.T) {
	names, payloads := golden(t)
	want := map[string]struct {
		guid string
		code Code
		err  error
		// top lists the top-level IDs in payload order, for payloads
		// whose structure is sound.
		top []int
	}{
		"emvco-v1.1": {guid: "D15600000001", err: ErrMalformed, // its templates carry no 01
			top: []int{0, 1, 29, 31, 52, 58, 59, 60, 64, 54, 53, 55, 62, 91}},
		"mercari-go-emv-code": {guid: "D15600000000", err: ErrMalformed,
			top: []int{0, 1, 29, 31, 52, 53, 54, 55, 58, 59, 60, 62, 64, 80, 81}},
		"pix-bcb-static": {guid: "BR.GOV.BCB.PIX", code: Code{TemplateID: 26, GUID: "br.gov.bcb.pix",
			MerchantID: "123e4567-e12b-12d1-a456-426655440000", MCC: "0000", Currency: brl, Country: "BR",
			Name: "Fulano de Tal", City: "BRASILIA", Reference: "***"},
			top: []int{0, 26, 52, 53, 58, 59, 60, 62}},
		"pix-gist-static-bad-length": {guid: "br.gov.bcb.pix", err: ErrMalformed},
		"pix-gist-dynamic": {guid: "br.gov.bcb.pix", err: ErrMalformed,
			top: []int{0, 1, 26, 52, 53, 58, 59, 60, 62}},
		"hulian-static":  {guid: "cn.hulian", code: hulianStatic, top: []int{0, 1, 26, 52, 53, 58, 59, 60}},
		"hulian-dynamic": {guid: "cn.hulian", code: hulianDynamic(), top: []int{0, 1, 26, 52, 53, 54, 58, 59, 60, 62}},
	}
	if len(names) != len(want) {
		t.Fatalf("%d golden payloads, %d expectations", len(names), len(want))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, w := payloads[name], want[name]
			n := len(p)
			if got := fmt.Sprintf("%04X", CRC16([]byte(p[:n-4]))); got != p[n-4:] {
				t.Errorf("CRC16 = %s, the publisher's is %s", got, p[n-4:])
			}
			if w.top != nil {
				var ids []int
				var joined strings.Builder
				walk := tlv{s: p[:n-8]}
				for {
					id, v, more, err := walk.next()
					if err != nil {
						t.Fatal(err)
					}
					if !more {
						break
					}
					ids = append(ids, id)
					fmt.Fprintf(&joined, "%02d%02d%s", id, len([]rune(v)), v)
				}
				if joined.String()+p[n-8:] != p {
					t.Errorf("data objects re-joined:\n%s\nnot\n%s", joined.String()+p[n-8:], p)
				}
				if !reflect.DeepEqual(ids, w.top) {
					t.Errorf("top-level IDs %v, want %v", ids, w.top)
				}
			}
			c, err := Decode(p, w.guid)
			if w.err != nil {
				if !errors.Is(err, w.err) {
					t.Fatalf("Decode: %v, want %v", err, w.err)
				}
				t.Logf("refused as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, w.code) {
				t.Fatalf("Decode:\n%+v\nwant\n%+v", c, w.code)
			}
			enc, err := Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(name, "hulian-") && enc != p {
				t.Errorf("Encode:\n%s\nwant\n%s", enc, p)
			}
			c2, err := Decode(enc, w.guid)
			if err != nil || !reflect.DeepEqual(c2, c) {
				t.Errorf("re-encoded %s decodes to %+v, %v", enc, c2, err)
			}
		})
	}
}

// TestGoldenOtherScheme: a sound code of another scheme is refused as
// such, not as malformed, so that the payer's app can say so.
func TestGoldenOtherScheme(t *testing.T) {
	_, payloads := golden(t)
	for _, name := range []string{"emvco-v1.1", "mercari-go-emv-code", "pix-bcb-static", "pix-gist-dynamic"} {
		if _, err := Decode(payloads[name], "cn.hulian"); !errors.Is(err, ErrUnknownScheme) {
			t.Errorf("%s: %v, want ErrUnknownScheme", name, err)
		}
	}
}

func TestCRC16(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint16
	}{
		{"123456789", 0x29B1}, // the check value of CRC-16/CCITT-FALSE
		{"", 0xFFFF},
		{"A", 0xB915},
	} {
		if got := CRC16([]byte(c.in)); got != c.want {
			t.Errorf("CRC16(%q) = %04X, want %04X", c.in, got, c.want)
		}
	}
}
