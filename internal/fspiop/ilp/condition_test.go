package ilp

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// The ILPv1 vector of testdata/ilp-vectors.json.
const (
	vecFulfilment = "0jHsbrry53c0QMKTbRWRXaOMwU3zOpb6eX_NtbPuPuc"
	vecCondition  = "DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgxw"
)

func TestParse32(t *testing.T) {
	cases := []struct {
		name string
		s    string
		ok   bool
	}{
		{"vector", vecCondition, true},
		{"all zero", strings.Repeat("A", 43), true},
		{"42 characters", vecCondition[:42], false},
		{"44 characters", vecCondition + "A", false},
		{"padded", vecCondition + "=", false},
		{"standard alphabet", strings.Repeat("+", 42) + "A", false},
		{"non-zero unused bits", strings.Repeat("A", 42) + "B", false},
		{"space", strings.Repeat("A", 42) + " ", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Parse32(c.s)
			if c.ok {
				if err != nil || FormatB64(b) != c.s {
					t.Fatalf("Parse32 = %x, %v; want it to write back as %s", b, err, c.s)
				}
				return
			}
			if !errors.Is(err, ErrCondition) || b != ([32]byte{}) {
				t.Fatalf("Parse32 = %x, %v; want ErrCondition", b, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	zero := FormatB64([32]byte{})
	zeroCond := FormatB64(sha256.Sum256(make([]byte, 32)))
	cases := []struct {
		name             string
		fulfilment, cond string
		ok               bool
	}{
		{"vector", vecFulfilment, vecCondition, true},
		{"zero preimage", zero, zeroCond, true},
		// central-ledger and SSC decode the fulfilment leniently.
		{"padded fulfilment", vecFulfilment + "=", vecCondition, true},
		{"standard-alphabet fulfilment", strings.NewReplacer("_", "/", "-", "+").Replace(vecFulfilment), vecCondition, true},
		{"swapped", vecCondition, vecFulfilment, false},
		{"other condition", vecFulfilment, zeroCond, false},
		{"condition padded", vecFulfilment, vecCondition + "=", false},
		{"condition standard alphabet", vecFulfilment, strings.NewReplacer("_", "/", "-", "+").Replace(vecCondition), false},
		{"condition empty", vecFulfilment, "", false},
		{"fulfilment 31 bytes", FormatB64([32]byte{})[:42], zeroCond, false},
		{"fulfilment 33 bytes", url64(make([]byte, 33)), zeroCond, false},
		{"fulfilment not base64", "not base64!", zeroCond, false},
		{"fulfilment empty", "", zeroCond, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check(c.fulfilment, c.cond)
			if c.ok != (err == nil) {
				t.Fatalf("Check(%q, %q) = %v, want ok=%v", c.fulfilment, c.cond, err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrFulfilment) {
				t.Fatalf("Check = %v, want ErrFulfilment", err)
			}
		})
	}
}

// TestHMACKey pins SSC's key: the base64 text of the secret, not the secret.
func TestHMACKey(t *testing.T) {
	v := loadVectors(t, "ilp-vectors.json")
	f := Fulfil([]byte("mojaloop-sdk"), v.V1.IlpPacket)
	if FormatB64(f) != vecFulfilment {
		t.Fatalf("Fulfil = %s, want %s", FormatB64(f), vecFulfilment)
	}
	if g := hmac32([]byte("bW9qYWxvb3Atc2Rr"), []byte(v.V1.IlpPacket)); g == f {
		t.Fatal("the key must be base64 of the secret, once, not twice")
	}
	if FormatB64(ConditionOf(f)) != vecCondition {
		t.Fatal("ConditionOf is not SHA-256 of the fulfilment")
	}
}

func TestFulfilPacketRefusals(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	notJSON, err := Encode(Packet{Version: 4, Address: MojaloopAddress, ExpiresAt: at, Data: []byte(url64([]byte("{")))})
	if err != nil {
		t.Fatal(err)
	}
	notBase64, err := Encode(Packet{Version: 4, Address: MojaloopAddress, ExpiresAt: at, Data: []byte("e30*")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, packet string
		want         error
	}{
		{"not a packet", "AQ", ErrPacket},
		{"v4 data not JSON", notJSON, ErrData},
		{"v4 data not base64", notBase64, ErrData},
	} {
		if f, err := FulfilPacket([]byte("s"), c.packet); !errors.Is(err, c.want) || f != ([32]byte{}) {
			t.Errorf("%s: FulfilPacket = %x, %v; want %v", c.name, f, err, c.want)
		}
	}
}

func TestBuildRefusals(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	txn := map[string]string{"quoteId": "q"}
	cases := []struct {
		name    string
		secret  string
		version int
		address string
		txn     any
		expires time.Time
		want    error
	}{
		{"no secret", "", 1, "g.a.b.c", txn, at, ErrSecret},
		{"version 2", "s", 2, "g.a.b.c", txn, at, ErrPacket},
		{"version 0", "s", 0, "g.a.b.c", txn, at, ErrPacket},
		{"unmarshalable transaction", "s", 1, "g.a.b.c", map[string]any{"c": make(chan int)}, at, ErrData},
		{"v4 without expiry", "s", 4, "", txn, time.Time{}, ErrPacket},
		{"v4 bad destination", "s", 4, "g.payee.email.a@b", txn, at, ErrPacket},
		{"v1 too large", "s", 1, "g.a.b.c", map[string]string{"x": strings.Repeat("x", 20000)}, at, ErrPacket},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, cond, f, err := Build([]byte(c.secret), c.version, 1, c.address, c.txn, c.expires)
			if !errors.Is(err, c.want) || p != "" || cond != "" || f != "" {
				t.Fatalf("Build = %q, %q, %q, %v; want %v", p, cond, f, err, c.want)
			}
		})
	}
	// An empty v4 address is SSC's constant one.
	p, _, _, err := Build([]byte("s"), 4, 1, "", txn, at)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := Decode(p); err != nil || d.Address != MojaloopAddress {
		t.Fatalf("v4 destination %q, %v", d.Address, err)
	}
}

func TestCanonicalJSON(t *testing.T) {
	// want: safe-stable-stringify 2.5.0 over JSON.parse(in), run with node.
	cases := []struct {
		name, in, want string
	}{
		{"nested sort", `{"b":1,"a":{"d":[3,{"z":1,"y":2}],"c":"x"}}`, `{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}`},
		{"escapes", `{"s":"<&>\u2028\u2029\u007f","c":"\u0000\u0001\b\f\n\r\t\u001f\"\\/"}`,
			"{\"c\":\"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\\\"\\\\/\",\"s\":\"<&>\u2028\u2029\u007f\"}"},
		{"UTF-16 key order", `{"\ufb01":1,"\ud83d\ude00":2,"a":3,"B":4,"":5,"10":6,"9":7}`,
			"{\"\":5,\"10\":6,\"9\":7,\"B\":4,\"a\":3,\"\U0001F600\":2,\"\ufb01\":1}"},
		{"numbers", `[1.0,1e21,1e20,123456789012345678901,1e-7,0.000001,0.0000012345,-0,-1.5,1.5e300,5e-324,1e400,-1e400,0.1,100,2.5e-7,123.456e5,9007199254740993]`,
			`[1,1e+21,100000000000000000000,123456789012345680000,1e-7,0.000001,0.0000012345,0,-1.5,1.5e+300,5e-324,null,null,0.1,100,2.5e-7,12345600,9007199254740992]`},
		{"literals and empties", `{"n":null,"t":true,"f":false,"e":{},"a":[]}`, `{"a":[],"e":{},"f":false,"n":null,"t":true}`},
		{"non-ASCII string", `"\u00e9\u4e2d"`, "\"\u00e9\u4e2d\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CanonicalJSON(json.RawMessage(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
	for _, bad := range []any{make(chan int), json.RawMessage(`{"a":`), json.RawMessage(`1 2`)} {
		if _, err := CanonicalJSON(bad); !errors.Is(err, ErrData) {
			t.Errorf("CanonicalJSON(%v) = %v, want ErrData", bad, err)
		}
	}
}

func TestDecodeData(t *testing.T) {
	good := []byte(url64([]byte(`{"quoteId":"q"}`)))
	var v struct{ QuoteID string }
	if err := DecodeData(good, &v); err != nil || v.QuoteID != "q" {
		t.Fatalf("DecodeData = %+v, %v", v, err)
	}
	for name, data := range map[string][]byte{
		"empty":         nil,
		"not base64":    []byte("e30*"),
		"not JSON":      []byte(url64([]byte("{"))),
		"trailing JSON": []byte(url64([]byte(`{} {}`))),
		"wrong type":    []byte(url64([]byte(`{"quoteId":1}`))),
	} {
		var v struct{ QuoteID string }
		if err := DecodeData(data, &v); !errors.Is(err, ErrData) {
			t.Errorf("%s: DecodeData = %v, want ErrData", name, err)
		}
	}
}

func TestScaleTable(t *testing.T) {
	b, err := os.ReadFile("testdata/ilp-currency-decimals.json") // SSC's currency.json
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]int
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(scales) != len(want) {
		t.Errorf("%d currencies, SSC has %d", len(scales), len(want))
	}
	for c, s := range want {
		if got := Scale(c); got != s {
			t.Errorf("Scale(%s) = %d, want %d", c, got, s)
		}
	}
	for _, c := range []string{"", "usd", "SLE", "ZWG", "XCG", "ABC"} {
		if got := Scale(c); got != -1 {
			t.Errorf("Scale(%q) = %d, want -1", c, got)
		}
	}
}

func TestUnitsOf(t *testing.T) {
	cases := []struct {
		minor    int64
		exponent int
		currency string
		want     uint64
		ok       bool
	}{
		{10050, 2, "USD", 10050, true},
		{0, 2, "USD", 0, true},
		{5, 0, "USD", 500, true},     // an amount kept in major units
		{1505, 3, "KWD", 1505, true}, // 3 decimals
		{1500, 0, "UGX", 1500, true}, // 0 decimals
		{12345, 4, "CLF", 12345, true},
		{1000, 3, "USD", 100, true}, // more exponent than scale, exact
		{1005, 3, "USD", 0, false},  // …not exact: SSC would write "100.5"
		{1 << 62, 2, "USD", 1 << 62, true},
		{1<<63 - 1, 0, "XTS", 0, false}, // × 10^4 overflows
		{1<<63 - 1, 2, "USD", 1<<63 - 1, true},
		{-1, 2, "USD", 0, false},
		{100, -1, "USD", 0, false},
		{100, 19, "USD", 0, false},
		{100, 2, "SLE", 0, false}, // not in SSC's table
		{100, 2, "usd", 0, false},
	}
	for _, c := range cases {
		got, err := UnitsOf(c.minor, c.exponent, c.currency)
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("UnitsOf(%d, %d, %s) = %d, %v; want %d ok=%v", c.minor, c.exponent, c.currency, got, err, c.want, c.ok)
		}
		if err != nil && !errors.Is(err, ErrAmount) {
			t.Errorf("UnitsOf(%d, %d, %s): %v is not ErrAmount", c.minor, c.exponent, c.currency, err)
		}
		if err == nil {
			back, err := MinorOf(got, c.exponent, c.currency)
			if err != nil || back != c.minor {
				t.Errorf("MinorOf(UnitsOf(%d, %d, %s)) = %d, %v", c.minor, c.exponent, c.currency, back, err)
			}
		}
	}
	for _, c := range []struct {
		units    uint64
		exponent int
		currency string
	}{
		{1 << 63, 2, "USD"}, // beyond int64
		{10050, 1, "USD"},   // 1005.0 at exponent 1 is exact…
		{10055, 1, "USD"},   // …but 1005.5 is not
		{1 << 62, 4, "USD"}, // overflow scaling up
		{1, -1, "USD"},
		{1, 2, "SLE"},
	} {
		got, err := MinorOf(c.units, c.exponent, c.currency)
		exact := c.units == 10050
		if exact != (err == nil) || (exact && got != 1005) {
			t.Errorf("MinorOf(%d, %d, %s) = %d, %v", c.units, c.exponent, c.currency, got, err)
		}
		if err != nil && !errors.Is(err, ErrAmount) {
			t.Errorf("MinorOf: %v is not ErrAmount", err)
		}
	}
}

func TestAddress(t *testing.T) {
	cases := []struct {
		fsp, typ, id, sub, want string
	}{
		{"payeefsp", "MSISDN", "27713803912", "", "g.payeefsp.msisdn.27713803912"},
		{"HulianBank", "ACCOUNT_ID", "Acc-0042", "Savings", "g.HulianBank.account_id.acc-0042.savings"},
		{"bank", "EMAIL", "Alice@Example.COM", "", "g.bank.email.alice@example.com"},
		{"bank", "BUSINESS", "ACME", "Till 7", "g.bank.business.acme.till 7"},
	}
	for _, c := range cases {
		if got := Address(c.fsp, c.typ, c.id, c.sub); got != c.want {
			t.Errorf("Address(%q, %q, %q, %q) = %q, want %q", c.fsp, c.typ, c.id, c.sub, got, c.want)
		}
	}
}

// FuzzParse32: Parse32 never panics; what it accepts writes back as the
// same string, and Check agrees with ConditionOf for it.
func FuzzParse32(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Parse32(s)
		if err != nil {
			if !errors.Is(err, ErrCondition) {
				t.Fatalf("Parse32(%q): %v is not ErrCondition", s, err)
			}
			return
		}
		if FormatB64(b) != s {
			t.Fatalf("Parse32(%q) writes back as %q", s, FormatB64(b))
		}
		if err := Check(s, FormatB64(ConditionOf(b))); err != nil {
			t.Fatalf("Check(%q, its own condition) = %v", s, err)
		}
		if err := Check(s, s); err == nil {
			t.Fatalf("Check(%q, %q) passed: a fixed point of SHA-256", s, s)
		}
	})
}

// FuzzCanonicalJSON: for any JSON, the canonical form is valid JSON, is
// its own canonical form, and DecodeData reads back what EncodeData wrote.
func FuzzCanonicalJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			if _, err := CanonicalJSON(json.RawMessage(in)); err == nil {
				t.Fatalf("CanonicalJSON(%q) accepted invalid JSON", in)
			}
			return
		}
		out, err := CanonicalJSON(json.RawMessage(in))
		if err != nil {
			t.Fatalf("CanonicalJSON(%q): %v", in, err)
		}
		if !json.Valid(out) {
			t.Fatalf("CanonicalJSON(%q) = %q, not JSON", in, out)
		}
		again, err := CanonicalJSON(json.RawMessage(out))
		if err != nil || string(again) != string(out) {
			t.Fatalf("CanonicalJSON not idempotent on %q: %q then %q, %v", in, out, again, err)
		}
		data, err := EncodeData(json.RawMessage(in))
		if err != nil {
			t.Fatal(err)
		}
		var back json.RawMessage
		if err := DecodeData(data, &back); err != nil || string(back) != string(out) {
			t.Fatalf("DecodeData(EncodeData(%q)) = %q, %v; want %q", in, back, err, out)
		}
	})
}
