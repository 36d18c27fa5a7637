package clients_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/wire"
)

// signatureCase is one header for the client libraries to verify, as
// clients/go/signature_test.go reads it.
type signatureCase struct {
	Name        string   `json:"name"`
	Header      string   `json:"header"`
	Body        string   `json:"body"` // base64
	NowMs       int64    `json:"nowMs"`
	ToleranceMs int64    `json:"toleranceMs"`
	Secrets     []string `json:"secrets"`
	SignAtMs    int64    `json:"signAtMs"`
	SignSecrets []string `json:"signSecrets"` // not nil: also a case of signing

	want   string // the verdict the table expects; "" for a random case
	wireOK bool   // whether wire.Verify accepts it under one of Secrets
}

// signatureVerdict is what each library said of a case.
type signatureVerdict struct {
	Name          string `json:"name"`
	Verdict       string `json:"verdict"`
	VerdictString string `json:"verdictString"` // TypeScript, the body as a string, when it is UTF-8
	Signed        string `json:"signed"`
}

// signatureSeedEnv replays the random cases of a failed run.
const signatureSeedEnv = "HULIAN_SIGNATURE_SEED"

// signatureJS runs the cases through the compiled TypeScript client, as
// a participant imports it (index.js).
const signatureJS = `import { readFileSync } from "node:fs";
import { verifySignature, createSignature, SignatureError } from "./src/index.js";

const verdict = (f) => {
  try {
    return f() === true ? "ok" : "unexpected: not true";
  } catch (e) {
    return e instanceof SignatureError ? e.kind : "unexpected: " + e;
  }
};
const utf8 = new TextDecoder("utf-8", { fatal: true });
const out = JSON.parse(readFileSync(process.argv[2], "utf8")).map((c) => {
  const body = Buffer.from(c.body, "base64");
  const opts = { now: new Date(c.nowMs), toleranceSeconds: c.toleranceMs / 1000 };
  const v = { name: c.name, verdict: verdict(() => verifySignature(c.header, body, c.secrets ?? [], opts)) };
  let text;
  try { text = utf8.decode(body); } catch { text = undefined; }
  if (text !== undefined) v.verdictString = verdict(() => verifySignature(c.header, text, c.secrets ?? [], opts));
  if (c.signSecrets) v.signed = createSignature(c.signSecrets, new Date(c.signAtMs), body);
  return v;
});
process.stdout.write(JSON.stringify(out));
`

// TestSignatureLibraries: both client libraries accept exactly what the
// switch signs (wire.SignAll) and refuse what its verification
// (wire.Verify, under any of the secrets held) refuses, with the same
// reason, over a table of cases and a few hundred random mutations of
// valid headers; and their signing makes what wire.SignAll makes.
func TestSignatureLibraries(t *testing.T) {
	node := nodeReady(t)
	g := goCmd(t)

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(signatureSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", signatureSeedEnv, s, err)
		}
	}
	cases := signatureTable(t)
	cases = append(cases, signatureMutations(seed, 400)...)
	for i := range cases {
		c := &cases[i]
		body, _ := base64.StdEncoding.DecodeString(c.Body)
		for _, s := range c.Secrets {
			if wire.Verify(c.Header, s, body, time.UnixMilli(c.NowMs), time.Duration(c.ToleranceMs)*time.Millisecond) == nil {
				c.wireOK = true
			}
		}
		if c.want != "" && (c.want == "ok") != c.wireOK {
			t.Errorf("%s: the table wants %s, but wire.Verify says ok=%v: fix the table", c.Name, c.want, c.wireOK)
		}
	}

	dir := t.TempDir()
	in, goOut := filepath.Join(dir, "cases.json"), filepath.Join(dir, "go-verdicts.json")
	b, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}

	run(t, goDir, []string{"HULIAN_SIGNATURE_CASES=" + in, "HULIAN_SIGNATURE_VERDICTS=" + goOut},
		g, "test", "-count=1", "-run", "^TestSignatureCases$", ".")
	goVerdicts := readVerdicts(t, goOut)

	js := t.TempDir()
	run(t, tsDir, nil, node, "node_modules/typescript/bin/tsc", "-p", ".", "--outDir", js)
	modules, err := filepath.Abs(filepath.Join(tsDir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"package.json": `{"type":"module"}`, "verify.mjs": signatureJS} {
		if err := os.WriteFile(filepath.Join(js, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(modules, filepath.Join(js, "node_modules")); err != nil {
		t.Fatal(err)
	}
	tsOut := filepath.Join(dir, "ts-verdicts.json")
	if err := os.WriteFile(tsOut, []byte(run(t, js, nil, node, "verify.mjs", in)), 0o644); err != nil {
		t.Fatal(err)
	}
	tsVerdicts := readVerdicts(t, tsOut)

	if len(goVerdicts) != len(cases) || len(tsVerdicts) != len(cases) {
		t.Fatalf("%d cases, %d Go verdicts, %d TypeScript verdicts", len(cases), len(goVerdicts), len(tsVerdicts))
	}
	accepted, signed := 0, 0
	for i, c := range cases {
		gv, tv := goVerdicts[i], tsVerdicts[i]
		if gv.Name != c.Name || tv.Name != c.Name {
			t.Fatalf("case %d is %q, but the verdicts are of %q (Go) and %q (TypeScript)", i, c.Name, gv.Name, tv.Name)
		}
		where := c.Name
		if c.want == "" {
			where = "seed " + strconv.FormatUint(seed, 10) + " (" + signatureSeedEnv + "), " + c.Name
		}
		if (gv.Verdict == "ok") != c.wireOK || gv.Verdict != tv.Verdict || (tv.VerdictString != "" && tv.VerdictString != tv.Verdict) ||
			c.want != "" && gv.Verdict != c.want {
			t.Errorf("%s: header %q at %d ms (tolerance %d ms) under %q: wire.Verify ok=%v, want %q; Go %q, TypeScript %q (string body %q)",
				where, c.Header, c.NowMs, c.ToleranceMs, c.Secrets, c.wireOK, c.want, gv.Verdict, tv.Verdict, tv.VerdictString)
		}
		if c.wireOK {
			accepted++
		}
		if c.SignSecrets != nil {
			signed++
			body, _ := base64.StdEncoding.DecodeString(c.Body)
			want := wire.SignAll(c.SignSecrets, time.UnixMilli(c.SignAtMs), body)
			if gv.Signed != want || tv.Signed != want {
				t.Errorf("%s: wire.SignAll makes %q; Go's Sign %q, TypeScript's createSignature %q", c.Name, want, gv.Signed, tv.Signed)
			}
		}
	}
	t.Logf("%d cases (%d accepted), %d of signing; seed %d", len(cases), accepted, signed, seed)
	if accepted < 10 || accepted == len(cases) {
		t.Errorf("%d of %d cases accepted: the cases do not test both verdicts", accepted, len(cases))
	}
}

func readVerdicts(t *testing.T, path string) []signatureVerdict {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []signatureVerdict
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return vs
}

// signatureAt is when the cases are signed; the tolerance is the
// switch's, 5 minutes.
var signatureAt = time.Unix(1_800_000_000, 0)

const signatureToleranceMs = 5 * 60 * 1000

// hmacHex is a v1 entry written by hand, for timestamps SignAll would not
// write.
func hmacHex(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// signatureTable is the cases whose verdict is known.
func signatureTable(t *testing.T) []signatureCase {
	body := []byte(`{"event":"transfers.committed","transfers":[{"id":"t-1","amount":"10.00","currency":"CNY"}]}`)
	binary := []byte{0xff, 0xfe, 0, '{', 0x80}
	sign := func(secrets ...string) string { return wire.SignAll(secrets, signatureAt, body) }
	good, both := sign("new"), sign("new", "old")
	v1 := good[strings.Index(good, ",v1=")+len(",v1="):]
	many := make([]string, wire.SignaturesMax+3)
	for i := range many {
		many[i] = "secret-" + strconv.Itoa(i)
	}
	now := signatureAt.UnixMilli()
	const tol = signatureToleranceMs
	type row struct {
		name, header string
		body         []byte
		nowMs        int64
		secrets      []string
		want         string
		signSecrets  []string // also check signing with these, at signatureAt
	}
	rows := []row{
		{"valid", good, body, now, []string{"new"}, "ok", []string{"new"}},
		{"rotated: signed with two, the receiver holds the new", both, body, now, []string{"new"}, "ok", []string{"new", "old"}},
		{"rotated: signed with two, the receiver holds the old", both, body, now, []string{"old"}, "ok", nil},
		{"rotated: signed with the old, the receiver holds both", sign("old"), body, now, []string{"new", "old"}, "ok", nil},
		{"rotated: signed with two, the receiver holds neither", both, body, now, []string{"other", "another"}, "mismatch", nil},
		{"wrong secret", good, body, now, []string{"other"}, "mismatch", nil},
		{"no secret held", good, body, now, nil, "mismatch", nil},
		{"changed body", good, []byte(strings.Replace(string(body), "10.00", "100.00", 1)), now, []string{"new"}, "mismatch", nil},
		{"body with a byte more", good, append(append([]byte{}, body...), '\n'), now, []string{"new"}, "mismatch", nil},
		{"empty body", wire.SignAll([]string{"new"}, signatureAt, nil), nil, now, []string{"new"}, "ok", []string{"new"}},
		{"binary body", wire.SignAll([]string{"new"}, signatureAt, binary), binary, now, []string{"new"}, "ok", []string{"new", "old"}},
		{"capped: the last secret written", wire.SignAll(many, signatureAt, body), body, now, []string{many[wire.SignaturesMax-1]}, "ok", many},
		{"capped: a secret left out", wire.SignAll(many, signatureAt, body), body, now, []string{many[wire.SignaturesMax]}, "mismatch", nil},
		{"a second later", good, body, now + 1000, []string{"new"}, "ok", nil},
		{"at the tolerance", good, body, now + tol, []string{"new"}, "ok", nil},
		{"stale by a millisecond", good, body, now + tol + 1, []string{"new"}, "stale", nil},
		{"stale by ten minutes", good, body, now + 2*tol, []string{"new"}, "stale", nil},
		{"future at the tolerance", good, body, now - tol, []string{"new"}, "ok", nil},
		{"future by a millisecond", good, body, now - tol - 1, []string{"new"}, "stale", nil},
		{"stale and wrong secret", good, body, now + 2*tol, []string{"other"}, "stale", nil},
		{"stale in 1970", wire.SignAll([]string{"new"}, time.Unix(0, 0), body), body, now, []string{"new"}, "stale", nil},
		{"the largest timestamp", "t=9223372036854775807,v1=" + hmacHex("new", "9223372036854775807", body), body, now, []string{"new"}, "stale", nil},
		{"a negative timestamp", "t=-1,v1=" + hmacHex("new", "-1", body), body, now, []string{"new"}, "stale", nil},
		{"a timestamp with a plus sign", "t=+1800000000,v1=" + hmacHex("new", "+1800000000", body), body, now, []string{"new"}, "ok", nil},
		{"a timestamp with a leading zero", "t=01800000000,v1=" + hmacHex("new", "01800000000", body), body, now, []string{"new"}, "ok", nil},
		{"a timestamp with a leading zero, signed without", "t=01800000000,v1=" + v1, body, now, []string{"new"}, "mismatch", nil},
		{"missing", "", body, now, []string{"new"}, "missing", nil},
		{"blank", " ", body, now, []string{"new"}, "malformed", nil},
		{"malformed: no v1", "t=1800000000", body, now, []string{"new"}, "malformed", nil},
		{"malformed: no t", "v1=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"malformed: empty t", "t=,v1=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"malformed: t not a number", "t=soon,v1=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"malformed: t in milliseconds beyond 64 bits", "t=18000000000000000000000,v1=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"malformed: t with a space", "t= 1800000000,v1=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"malformed: t with a fraction", "t=1800000000.0,v1=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"malformed: two timestamps", "t=1800000000,t=1800000001,v1=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"malformed: the same timestamp twice", "t=1800000000," + good, body, now, []string{"new"}, "malformed", nil},
		{"an empty t before the real one (as wire.Verify)", "t=,t=1800000000,v1=" + v1, body, now, []string{"new"}, "ok", nil},
		{"malformed: a space after the comma", "t=1800000000, v1=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"malformed: too many v1", good + strings.Repeat(",v1=00", wire.SignaturesMax), body, now, []string{"new"}, "malformed", nil},
		{"malformed: a hundred empty v1", "t=1800000000" + strings.Repeat(",v1=", 100), body, now, []string{"new"}, "malformed", nil},
		{"v1 at the bound", "t=1800000000" + strings.Repeat(",v1=00", wire.SignaturesMax-1) + ",v1=" + v1, body, now, []string{"new"}, "ok", nil},
		{"v1 not hex before a good one", "t=1800000000,v1=zz,v1=" + v1, body, now, []string{"new"}, "ok", nil},
		{"v1 not hex", "t=1800000000,v1=zz" + v1[2:], body, now, []string{"new"}, "mismatch", nil},
		{"v1 of odd length", "t=1800000000,v1=" + v1[1:], body, now, []string{"new"}, "mismatch", nil},
		{"v1 cut short", "t=1800000000,v1=" + v1[:62], body, now, []string{"new"}, "mismatch", nil},
		{"v1 with a digit more", "t=1800000000,v1=" + v1 + "0", body, now, []string{"new"}, "mismatch", nil},
		{"v1 with a byte more", "t=1800000000,v1=" + v1 + "00", body, now, []string{"new"}, "mismatch", nil},
		{"v1 upper-case", "t=1800000000,v1=" + strings.ToUpper(v1), body, now, []string{"new"}, "ok", nil},
		{"empty v1", "t=1800000000,v1=", body, now, []string{"new"}, "mismatch", nil},
		{"v1 first, t last", "v1=" + v1 + ",t=1800000000", body, now, []string{"new"}, "ok", nil},
		{"unknown keys ignored", "t=1800000000,v0=00,x,v1=" + v1 + ",", body, now, []string{"new"}, "ok", nil},
		{"v2 only", "t=1800000000,v2=" + v1, body, now, []string{"new"}, "malformed", nil},
		{"the MAC of another timestamp", "t=1800000001,v1=" + v1, body, now, []string{"new"}, "mismatch", nil},
	}
	var cases []signatureCase
	for _, r := range rows {
		cases = append(cases, signatureCase{
			Name: r.name, Header: r.header, Body: base64.StdEncoding.EncodeToString(r.body), NowMs: r.nowMs, ToleranceMs: tol,
			Secrets: r.secrets, SignAtMs: signatureAt.UnixMilli(), SignSecrets: r.signSecrets, want: r.want,
		})
	}
	// Signing at times that are not whole seconds, before 1970 too: the
	// timestamp is the second the time is in.
	for _, ms := range []int64{1_800_000_000_999, -1500, 0} {
		at := time.UnixMilli(ms)
		cases = append(cases, signatureCase{
			Name: "signed at " + strconv.FormatInt(ms, 10) + " ms", Header: wire.SignAll([]string{"new", "old"}, at, body),
			Body: base64.StdEncoding.EncodeToString(body), NowMs: ms, ToleranceMs: tol, Secrets: []string{"old"},
			SignAtMs: ms, SignSecrets: []string{"new", "old"}, want: "ok",
		})
	}
	if !utf8.Valid(body) || utf8.Valid(binary) {
		t.Fatal("the bodies are not what their names say")
	}
	return cases
}

// signatureMutations returns n cases made by changing valid headers a
// little at random; their verdicts are wire.Verify's.
func signatureMutations(seed uint64, n int) []signatureCase {
	rng := rand.New(rand.NewPCG(seed, 0))
	bodies := [][]byte{[]byte(`{"event":"transfer.confirm","transfer":{"id":"t-9"}}`), nil, []byte("\xff\x00é")}
	secrets := [][]string{{"new"}, {"new", "old"}, {"old"}, {"other"}}
	const alphabet = "tv1=,0123456789abcdefABCDEF +-x"
	cases := make([]signatureCase, n)
	for i := range cases {
		body := bodies[rng.IntN(len(bodies))]
		at := signatureAt.Add(time.Duration(rng.IntN(600)-300) * time.Second)
		h := wire.SignAll(secrets[rng.IntN(2)], at, body)
		var what []string
		for range rng.IntN(3) + 1 {
			parts := strings.Split(h, ",")
			p := rng.IntN(len(h) + 1)
			c := string(alphabet[rng.IntN(len(alphabet))])
			switch k := rng.IntN(7); k {
			case 0:
				h, what = h[:p]+c+h[p:], append(what, "insert")
			case 1:
				if p < len(h) {
					h, what = h[:p]+h[p+1:], append(what, "delete")
				}
			case 2:
				if p < len(h) {
					h, what = h[:p]+c+h[p+1:], append(what, "replace")
				}
			case 3:
				j := rng.IntN(len(parts))
				parts = slices.Insert(parts, j, parts[j])
				h, what = strings.Join(parts, ","), append(what, "duplicate a part")
			case 4:
				j := rng.IntN(len(parts))
				h, what = strings.Join(append(parts[:j], parts[j+1:]...), ","), append(what, "drop a part")
			case 5:
				j, l := rng.IntN(len(parts)), rng.IntN(len(parts))
				parts[j], parts[l] = parts[l], parts[j]
				h, what = strings.Join(parts, ","), append(what, "swap parts")
			case 6:
				h, what = strings.ToUpper(h), append(what, "upper-case")
			}
		}
		cases[i] = signatureCase{
			Name: "random " + strconv.Itoa(i) + ": " + strings.Join(what, ", "), Header: h,
			Body: base64.StdEncoding.EncodeToString(body), NowMs: signatureAt.UnixMilli() + rng.Int64N(20_000) - 10_000,
			ToleranceMs: signatureToleranceMs, Secrets: secrets[rng.IntN(len(secrets))],
		}
	}
	return cases
}
