package jws

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// canonicalVector is one entry of testdata/canonical.json: a JSON text and
// what safe-stable-stringify(JSON.parse(text)) made of it in Node.
type canonicalVector struct {
	Input     string `json:"input"`
	Canonical string `json:"canonical"`
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestCanonicalMatchesNode(t *testing.T) {
	var vs []canonicalVector
	readJSON(t, "canonical.json", &vs)
	if len(vs) < 30 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		got, err := Canonical([]byte(v.Input))
		if err != nil {
			t.Errorf("Canonical(%.80q): %v", v.Input, err)
			continue
		}
		if string(got) != v.Canonical {
			// Numbers come in long arrays: name the first element that differs.
			g, w := strings.Split(string(got), ","), strings.Split(v.Canonical, ",")
			for i := range min(len(g), len(w)) {
				if g[i] != w[i] {
					t.Errorf("Canonical(%.80q): element %d is %s, Node wrote %s", v.Input, i, g[i], w[i])
					break
				}
			}
			t.Errorf("Canonical(%.80q)\n got %.300q\nwant %.300q", v.Input, got, v.Canonical)
		}
		again, err := Canonical(got)
		if err != nil || string(again) != string(got) {
			t.Errorf("Canonical is not idempotent on %.80q: %q, %v", got, again, err)
		}
	}
}

func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"b":"2","a":"1"}`, `{"a":"1","b":"2"}`},
		{"\t{ \"a\" :\r\n[ ] }\n", `{"a":[]}`},
		{`"\u00e9\/"`, `"é/"`},
		{`"\ud83d\ude00\ud83d"`, `"😀\ud83d"`},
		{`"\uDC00\uD800"`, `"\udc00\ud800"`},
		{`"\ud800\u0041"`, `"\ud800A"`},
		{`"\ud800\n"`, `"\ud800\n"`},
		{`{"\ue000":1,"😀":2}`, `{"😀":2,"` + "\ue000" + `":1}`},
		{`{"a":1,"b":{"a":2,"b":2}}`, `{"a":1,"b":{"a":2,"b":2}}`},
		{`[1e-7,1e-6,123e18,123e19,-5e-7]`, `[1e-7,0.000001,123000000000000000000,1.23e+21,-5e-7]`},
		{`[0.1e1,0E0,-0.0e-0,1.5E+300]`, `[1,0,0,1.5e+300]`},
	} {
		got, err := Canonical([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCanonicalRefuses(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	if _, err := Canonical([]byte(deep(DepthMax))); err != nil {
		t.Errorf("depth %d: %v", DepthMax, err)
	}
	big := `"` + strings.Repeat("a", BodyMax-2) + `"`
	if _, err := Canonical([]byte(big)); err != nil {
		t.Errorf("body of BodyMax bytes: %v", err)
	}
	for _, in := range []string{
		"", " ", "{", "}", "[1,]", "[,1]", `{"a":1,}`, `{"a"}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, "[1 2]",
		`{"a":1,"a":2}`, `{"x":{"b":1,"a":2,"b":3}}`, `[{"k":1},{"k":1,"k":1}]`,
		"01", "+1", ".5", "1.", "1e", "1e+", "-", "--1", "0x10", "NaN", "Infinity", "1_000",
		`"\x"`, `"\u12"`, `"\u12g4"`, `"\`, `"abc`, "\"a\nb\"", "\"\x00\"", `"\'"`,
		"nul", "tru", "falsey", "null null", `{"a":1}x`, "\ufeff{}", "'a'",
		"\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc3\"", "{\"\xe9\":1}",
		deep(DepthMax + 1), `{"a":` + deep(DepthMax) + `}`,
		`"` + strings.Repeat("a", BodyMax-1) + `"`,
	} {
		if got, err := Canonical([]byte(in)); !errors.Is(err, ErrJSON) {
			t.Errorf("Canonical(%.40q) = %.40q, %v; want ErrJSON", in, got, err)
		}
	}
}

func TestJSNumber(t *testing.T) {
	tenth := 0.1
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{1, "1"}, {-1, "-1"}, {0.5, "0.5"}, {1e21, "1e+21"}, {1e20, "100000000000000000000"},
		{123456789.125, "123456789.125"}, {1e-6, "0.000001"}, {1.5e-7, "1.5e-7"}, {2e-7, "2e-7"},
		{5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"}, {tenth + 2*tenth, "0.30000000000000004"},
		{-1e-7, "-1e-7"}, {1.2e22, "1.2e+22"},
	} {
		if got := jsNumber(tc.f); got != tc.want {
			t.Errorf("jsNumber(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	var vs []sscVector
	readJSON(b, "ssc-signed.json", &vs)
	body := []byte(vs[1].Input)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Canonical(body); err != nil {
			b.Fatal(err)
		}
	}
}
