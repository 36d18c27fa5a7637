package emv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/money"
)

// obj writes one data object, its length counted in characters.
func obj(id int, v string) string {
	return fmt.Sprintf("%02d%02d%s", id, utf8.RuneCountInString(v), v)
}

// seal appends the checksum to a run of data objects.
func seal(body string) string {
	body += "6304"
	return body + fmt.Sprintf("%04X", CRC16([]byte(body)))
}

// hulianBody is hulian-static without its checksum, to build variants.
func hulianBody(replace ...string) string {
	parts := map[int]string{
		0: "01", 1: "11", 26: obj(0, "cn.hulian") + obj(1, "m-10001"), 52: "5812", 53: "156",
		58: "CN", 59: "Lao Wang Noodles", 60: "Hangzhou",
	}
	for i := 0; i+1 < len(replace); i += 2 {
		var id int
		fmt.Sscanf(replace[i], "%d", &id)
		if replace[i+1] == "-" {
			delete(parts, id)
		} else {
			parts[id] = replace[i+1]
		}
	}
	var b strings.Builder
	for id := 0; id < 100; id++ {
		if v, ok := parts[id]; ok {
			b.WriteString(obj(id, v))
		}
	}
	return b.String()
}

// padding returns unreserved templates that bring hulian-static to n
// characters (n from 424 to 527).
func padding(n int) (string, []Field) {
	var s string
	var fs []Field
	for id, x := range []int{95, 95, 95, n - 512 + 94} {
		v := obj(0, strings.Repeat("x", x))
		s += obj(80+id, v)
		fs = append(fs, Field{80 + id, v})
	}
	return s, fs
}

func TestEncode(t *testing.T) {
	jpy, kwd := money.MustCurrency("JPY"), money.MustCurrency("KWD")
	for _, c := range []struct {
		name string
		code Code
		want string // the payload without its checksum
	}{
		{"static", hulianStatic, hulianBody()},
		{"static, template ID zero", func() Code { c := hulianStatic; c.TemplateID = 0; return c }(), hulianBody()},
		{"dynamic with amount", Code{Dynamic: true, GUID: "cn.hulian", MerchantID: "m-10001", MCC: "5812",
			Currency: cny, Amount: 1250, Country: "CN", Name: "Lao Wang Noodles", City: "Hangzhou"},
			hulianBody("01", "12", "54", "12.50")},
		{"static with amount", Code{GUID: "cn.hulian", MerchantID: "m-10001", MCC: "5812",
			Currency: cny, Amount: 5, Country: "CN", Name: "Lao Wang Noodles", City: "Hangzhou"},
			hulianBody("54", "0.05")},
		{"bill number", Code{GUID: "cn.hulian", MerchantID: "m-10001", MCC: "5812", Currency: cny,
			Country: "CN", Name: "Lao Wang Noodles", City: "Hangzhou", BillNumber: "B1"},
			hulianBody("62", "0102B1")},
		{"reference", Code{GUID: "cn.hulian", MerchantID: "m-10001", MCC: "5812", Currency: cny,
			Country: "CN", Name: "Lao Wang Noodles", City: "Hangzhou", Reference: "***"},
			hulianBody("62", "0503***")},
		{"yen, no decimals", Code{Dynamic: true, GUID: "cn.hulian", MerchantID: "m-10001", MCC: "5812",
			Currency: jpy, Amount: 1500, Country: "JP", Name: "Lao Wang Noodles", City: "Hangzhou"},
			hulianBody("01", "12", "53", "392", "54", "1500", "58", "JP")},
		{"dinar, three decimals", Code{Dynamic: true, GUID: "cn.hulian", MerchantID: "m-10001", MCC: "5812",
			Currency: kwd, Amount: 1250, Country: "KW", Name: "Lao Wang Noodles", City: "Hangzhou"},
			hulianBody("01", "12", "53", "414", "54", "1.250", "58", "KW")},
		{"kept fields in ID order, 63 last", Code{GUID: "cn.hulian", MerchantID: "m-10001", MCC: "5812", Currency: cny,
			Country: "CN", Name: "Lao Wang Noodles", City: "Hangzhou", TemplateID: 30,
			MerchantOther:   []Field{{2, "x"}},
			AdditionalOther: []Field{{7, "T1"}},
			Other:           []Field{{91, obj(0, "A0112233")}, {2, "4111111111111111"}, {64, obj(0, "ZH") + obj(1, "最佳运输")}}},
			obj(0, "01") + obj(1, "11") + obj(2, "4111111111111111") + obj(30, obj(0, "cn.hulian")+obj(1, "m-10001")+obj(2, "x")) +
				obj(52, "5812") + obj(53, "156") + obj(58, "CN") + obj(59, "Lao Wang Noodles") + obj(60, "Hangzhou") +
				obj(62, obj(7, "T1")) + obj(64, obj(0, "ZH")+obj(1, "最佳运输")) + obj(91, obj(0, "A0112233"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Encode(c.code)
			if err != nil {
				t.Fatal(err)
			}
			if want := seal(c.want); got != want {
				t.Fatalf("Encode:\n%s\nwant\n%s", got, want)
			}
			back, err := Decode(got, "cn.hulian")
			if err != nil {
				t.Fatal(err)
			}
			wantCode := c.code
			if wantCode.TemplateID == 0 {
				wantCode.TemplateID = DefaultTemplateID
			}
			sortFields(wantCode.Other)
			if !reflect.DeepEqual(back, wantCode) {
				t.Fatalf("decoded:\n%+v\nwant\n%+v", back, wantCode)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Code)
	}{
		{"name over 25 characters", func(c *Code) { c.Name = "Lao Wang Hand-Pulled Noodles" }},
		{"name not ASCII", func(c *Code) { c.Name = "老王面馆" }},
		{"name empty", func(c *Code) { c.Name = "" }},
		{"name with a newline", func(c *Code) { c.Name = "Lao\nWang" }},
		{"city over 15 characters", func(c *Code) { c.City = "Hangzhou Xihu District" }},
		{"city empty", func(c *Code) { c.City = "" }},
		{"MCC of 3 digits", func(c *Code) { c.MCC = "581" }},
		{"MCC not digits", func(c *Code) { c.MCC = "58a2" }},
		{"country lower case", func(c *Code) { c.Country = "cn" }},
		{"country of 3 letters", func(c *Code) { c.Country = "CHN" }},
		{"currency unknown", func(c *Code) { c.Currency = 999 }},
		{"currency zero", func(c *Code) { c.Currency = 0 }},
		{"amount negative", func(c *Code) { c.Amount = -1 }},
		{"amount over 13 characters", func(c *Code) { c.Amount = 1_000_000_000_000_00 }},
		{"GUID empty", func(c *Code) { c.GUID = "" }},
		{"GUID over 32 characters", func(c *Code) { c.GUID = strings.Repeat("g", 33) }},
		{"merchant id empty", func(c *Code) { c.MerchantID = "" }},
		{"merchant template over 99 characters", func(c *Code) { c.MerchantID = strings.Repeat("m", 83) }},
		{"template ID 25", func(c *Code) { c.TemplateID = 25 }},
		{"template ID 52", func(c *Code) { c.TemplateID = 52 }},
		{"bill number over 25 characters", func(c *Code) { c.BillNumber = strings.Repeat("b", 26) }},
		{"reference not ASCII", func(c *Code) { c.Reference = "réf" }},
		{"additional template over 99 characters", func(c *Code) {
			c.BillNumber, c.Reference = strings.Repeat("b", 25), strings.Repeat("r", 25)
			c.AdditionalOther = []Field{{7, strings.Repeat("t", 25)}, {8, strings.Repeat("p", 10)}}
		}},
		{"additional other 05", func(c *Code) { c.AdditionalOther = []Field{{5, "x"}} }},
		{"merchant other 01", func(c *Code) { c.MerchantOther = []Field{{1, "x"}} }},
		{"merchant other twice", func(c *Code) { c.MerchantOther = []Field{{3, "x"}, {3, "y"}} }},
		{"other 54", func(c *Code) { c.Other = []Field{{54, "1.00"}} }},
		{"other 63", func(c *Code) { c.Other = []Field{{63, "ABCD"}} }},
		{"other at the merchant template", func(c *Code) { c.Other = []Field{{26, obj(0, "x")}} }},
		{"other ID 100", func(c *Code) { c.Other = []Field{{100, "x"}} }},
		{"other ID negative", func(c *Code) { c.Other = []Field{{-1, "x"}} }},
		{"other twice", func(c *Code) { c.Other = []Field{{61, "1"}, {61, "2"}} }},
		{"other empty", func(c *Code) { c.Other = []Field{{61, ""}} }},
		{"other over 99 characters", func(c *Code) { c.Other = []Field{{61, strings.Repeat("1", 100)}} }},
		{"other with a control character", func(c *Code) { c.Other = []Field{{61, "1\x002"}} }},
		{"other invalid UTF-8", func(c *Code) { c.Other = []Field{{61, "\xff"}} }},
		{"other template not TLV", func(c *Code) { c.Other = []Field{{80, "hello"}} }},
		{"other template with the switch's GUID", func(c *Code) { c.Other = []Field{{27, obj(0, "CN.HULIAN") + obj(1, "x")}} }},
		{"payload of 513 characters", func(c *Code) {
			*c = hulianStatic
			_, c.Other = padding(PayloadMaxChars + 1)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code := hulianDynamic()
			c.edit(&code)
			got, err := Encode(code)
			if !errors.Is(err, ErrField) {
				t.Fatalf("Encode = %q, %v; want ErrField", got, err)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := seal(hulianBody())
	n := len(good)
	if strings.IndexAny(good[n-4:], "ABCDEF") < 0 {
		t.Fatalf("%s: the lower-case test needs a checksum with a letter", good)
	}
	long513, _ := padding(PayloadMaxChars + 1)
	twoGUID := hulianBody("27", obj(0, "cn.hulian")+obj(1, "m-2"))
	for _, c := range []struct {
		name    string
		payload string
		want    error
	}{
		{"bad CRC", good[:n-4] + "0000", ErrCRC},
		{"lower-case CRC hex", good[:n-4] + strings.ToLower(good[n-4:]), ErrCRC},
		{"CRC of 3 digits", good[:n-8] + "6303" + good[n-4:n-1], ErrMalformed},
		{"no CRC", hulianBody(), ErrMalformed},
		{"CRC not last", seal(hulianBody())[:n-8] + "6304ABCD" + obj(99, "x"), ErrMalformed},
		{"63 before the end", seal(hulianBody() + obj(63, "ABCD")), ErrMalformed},
		{"empty", "", ErrMalformed},
		{"only a CRC", seal(""), ErrMalformed},
		{"truncated data object", seal(hulianBody() + "61"), ErrMalformed},
		{"truncated value", seal(hulianBody() + "6110123"), ErrMalformed},
		{"length not digits", seal(hulianBody() + "61a1" + "1"), ErrMalformed},
		{"ID not digits", seal(hulianBody() + "6a011"), ErrMalformed},
		{"length 00", seal(hulianBody() + "6100"), ErrMalformed},
		{"duplicate ID", seal(hulianBody() + obj(59, "Again")), ErrMalformed},
		{"duplicate 00", seal(hulianBody() + obj(0, "01")), ErrMalformed},
		{"unknown GUID", seal(hulianBody("26", obj(0, "cn.other")+obj(1, "m-10001"))), ErrUnknownScheme},
		{"GUID outside 26–51", seal(hulianBody("26", "-", "80", obj(0, "cn.hulian")+obj(1, "m-10001"))), ErrUnknownScheme},
		{"two templates with the GUID", seal(twoGUID), ErrMalformed},
		{"missing 00", seal(hulianBody("00", "-")), ErrMalformed},
		{"00 not first", seal(obj(1, "11") + hulianBody("01", "-")), ErrMalformed},
		{"00 not 01", seal(hulianBody("00", "02")), ErrMalformed},
		{"01 not 11 or 12", seal(hulianBody("01", "13")), ErrMalformed},
		{"missing 52", seal(hulianBody("52", "-")), ErrMalformed},
		{"missing 53", seal(hulianBody("53", "-")), ErrMalformed},
		{"missing 58", seal(hulianBody("58", "-")), ErrMalformed},
		{"missing 59", seal(hulianBody("59", "-")), ErrMalformed},
		{"missing 60", seal(hulianBody("60", "-")), ErrMalformed},
		{"MCC of 5 digits", seal(hulianBody("52", "58120")), ErrMalformed},
		{"currency unknown", seal(hulianBody("53", "999")), ErrMalformed},
		{"currency alphabetic", seal(hulianBody("53", "CNY")), ErrMalformed},
		{"currency of 4 digits", seal(hulianBody("53", "0156")), ErrMalformed},
		{"amount 1.234 for CNY", seal(hulianBody("54", "1.234")), ErrMalformed},
		{"amount 1.5 for JPY", seal(hulianBody("53", "392", "54", "1.5")), ErrMalformed},
		{"amount -1", seal(hulianBody("54", "-1")), ErrMalformed},
		{"amount +1", seal(hulianBody("54", "+1")), ErrMalformed},
		{"amount 0.00", seal(hulianBody("54", "0.00")), ErrMalformed},
		{"amount .", seal(hulianBody("54", ".")), ErrMalformed},
		{"amount 1.2.3", seal(hulianBody("54", "1.2.3")), ErrMalformed},
		{"amount 1,50", seal(hulianBody("54", "1,50")), ErrMalformed},
		{"amount 1e5", seal(hulianBody("54", "1e5")), ErrMalformed},
		{"amount of 14 characters", seal(hulianBody("54", "12345678901.50")), ErrMalformed},
		{"country lower case", seal(hulianBody("58", "cn")), ErrMalformed},
		{"name over 25 characters", seal(hulianBody("59", strings.Repeat("n", 26))), ErrMalformed},
		{"name not ASCII", seal(hulianBody("59", "老王面馆")), ErrMalformed},
		{"city over 15 characters", seal(hulianBody("60", strings.Repeat("c", 16))), ErrMalformed},
		{"merchant template without 01", seal(hulianBody("26", obj(0, "cn.hulian")+obj(2, "m-10001"))), ErrMalformed},
		{"merchant template not TLV", seal(hulianBody("26", "0009cn.hulian01")), ErrMalformed},
		{"merchant template repeats 01", seal(hulianBody("26", obj(0, "cn.hulian")+obj(1, "a")+obj(1, "b"))), ErrMalformed},
		{"62 repeats 01", seal(hulianBody("62", obj(1, "a")+obj(1, "b"))), ErrMalformed},
		{"62 not TLV", seal(hulianBody("62", "***")), ErrMalformed},
		{"64 not TLV", seal(hulianBody("64", "ZH")), ErrMalformed},
		{"bill number over 25", seal(hulianBody("62", obj(1, strings.Repeat("b", 26)))), ErrMalformed},
		{"control character", seal(hulianBody("61", "1\t2")), ErrMalformed},
		{"DEL", seal(hulianBody("61", "1\x7f2")), ErrMalformed},
		{"C1 control character", seal(hulianBody("61", "1\u00852")), ErrMalformed},
		{"invalid UTF-8", seal(hulianBody("61", "1\xc32")), ErrMalformed},
		{"length in bytes, not characters", seal(hulianBody("64", "0002ZH0112最佳运输")), ErrMalformed},
		{"513 characters", seal(hulianBody() + long513), ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decode(c.payload, "cn.hulian")
			if !errors.Is(err, c.want) {
				t.Fatalf("Decode(%q) = %+v, %v; want %v", c.payload, got, err, c.want)
			}
			if !reflect.DeepEqual(got, Code{}) {
				t.Errorf("a refused code returns %+v, not the zero Code", got)
			}
		})
	}
}

// TestDecodeAccepts: what other issuers write and EMV allows.
func TestDecodeAccepts(t *testing.T) {
	emvco := strings.Replace( // the EMVCo example, its template 31 given a merchant id 01
		"00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A011223344998877070812345678",
		"0308", "0108", 1)
	long512, long512Fields := padding(PayloadMaxChars)
	for _, c := range []struct {
		name, payload, guid string
		want                Code
	}{
		{"no 01 reads as static", seal(hulianBody("01", "-")), "cn.hulian", hulianStatic},
		{"GUID in another case", seal(hulianBody()), "CN.Hulian", hulianStatic},
		{"fewer decimals than the exponent", seal(hulianBody("54", "12.5")), "cn.hulian",
			func() Code { c := hulianStatic; c.Amount = 1250; return c }()},
		{"a bare point", seal(hulianBody("54", "12.")), "cn.hulian",
			func() Code { c := hulianStatic; c.Amount = 1200; return c }()},
		{"leading zeros", seal(hulianBody("54", "007")), "cn.hulian",
			func() Code { c := hulianStatic; c.Amount = 700; return c }()},
		{"no integer digits", seal(hulianBody("54", ".5")), "cn.hulian",
			func() Code { c := hulianStatic; c.Amount = 50; return c }()},
		{"exactly 512 characters", seal(hulianBody() + long512), "cn.hulian",
			func() Code { c := hulianStatic; c.Other = long512Fields; return c }()},
		{"EMVCo example, any order, UTF-8 template", seal(emvco), "D15600000001", Code{
			Dynamic: true, TemplateID: 31, GUID: "D15600000001", MerchantID: "12345678", MCC: "4111",
			Currency: cny, Amount: 2372, Country: "CN", Name: "BEST TRANSPORT", City: "BEIJING",
			AdditionalOther: []Field{{3, "1234"}, {6, "***"}, {7, "A6008667"}, {9, "ME"}},
			Other: []Field{{29, "0012D156000000000510A93FO3230Q"}, {55, "01"},
				{64, "0002ZH0104最佳运输0202北京"}, {91, "0016A011223344998877070812345678"}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if n := utf8.RuneCountInString(c.payload); n > PayloadMaxChars {
				t.Fatalf("test payload of %d characters", n)
			}
			got, err := Decode(c.payload, c.guid)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Decode:\n%+v\nwant\n%+v", got, c.want)
			}
			enc, err := Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := Decode(enc, c.guid); err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("re-encoded %s decodes to %+v, %v", enc, again, err)
			}
		})
	}
}

// TestRoundTripRandom encodes random valid codes and decodes them back.
func TestRoundTripRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 0))
	currencies := []string{"CNY", "JPY", "KWD", "USD", "UYW", "CLP"}
	ans := func(maxChars int) string {
		b := make([]byte, 1+r.IntN(maxChars))
		for i := range b {
			b[i] = byte(0x20 + r.IntN(0x7F-0x20))
		}
		return string(b)
	}
	for i := range 2000 {
		c := Code{
			Dynamic: r.IntN(2) == 0, TemplateID: 26 + r.IntN(26), GUID: ans(20), MerchantID: ans(40),
			MCC: fmt.Sprintf("%04d", r.IntN(10000)), Currency: money.MustCurrency(currencies[r.IntN(len(currencies))]),
			Country: string([]byte{byte('A' + r.IntN(26)), byte('A' + r.IntN(26))}), Name: ans(25), City: ans(15),
		}
		if r.IntN(2) == 0 {
			c.Amount = money.Amount(1 + r.Int64N(1_000_000_000))
		}
		if r.IntN(2) == 0 {
			c.BillNumber = ans(25)
		}
		if r.IntN(2) == 0 {
			c.Reference = ans(25)
		}
		if r.IntN(3) == 0 {
			c.AdditionalOther = []Field{{7, ans(20)}}
		}
		if r.IntN(3) == 0 {
			c.MerchantOther = []Field{{2 + r.IntN(98), ans(20)}}
		}
		if r.IntN(3) == 0 {
			c.Other = []Field{{61, ans(10)}, {64, obj(0, "ZH") + obj(1, "最佳运输")}}
		}
		p, err := Encode(c)
		if err != nil {
			t.Fatalf("seed %d, code %d: Encode(%+v): %v", seed, i, c, err)
		}
		back, err := Decode(p, c.GUID)
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("seed %d, code %d: %q decodes to\n%+v, %v\nwant\n%+v", seed, i, p, back, err, c)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	_, payloads := golden(b)
	for _, name := range []string{"hulian-static", "hulian-dynamic"} {
		p := payloads[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := Decode(p, "cn.hulian"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	c := hulianDynamic()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(c); err != nil {
			b.Fatal(err)
		}
	}
}
