package jws

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

var update = flag.Bool("update", false, "rewrite testdata/go-signed.json")

// sscVector is one entry of testdata/ssc-signed.json: a request signed by
// sdk-standard-components' JwsSigner (gen-ssc.js). Input is the body as
// the test wrote it, Body the canonical string the signer sent.
type sscVector struct {
	Name    string            `json:"name"`
	Key     string            `json:"key"` // "rsa" or "ec": testdata/<key>-{private,public}.pem
	Method  string            `json:"method"`
	URI     string            `json:"uri"`
	Input   string            `json:"input"`
	Body    string            `json:"body"`
	Headers map[string]string `json:"headers"`
}

func (v sscVector) header() http.Header {
	h := http.Header{}
	for k, val := range v.Headers {
		h.Set(k, val)
	}
	return h
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func publicKey(t testing.TB, name string) *Key {
	t.Helper()
	k, err := ParsePublicKey(readFile(t, name+"-public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signer(t testing.TB, name string) *Signer {
	t.Helper()
	s, err := NewSigner(readFile(t, name+"-private.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The headers a caller sets before signing.
var unsigned = []string{"date", "fspiop-source", "fspiop-destination"}

func TestVerifySSCSigned(t *testing.T) {
	var vs []sscVector
	readJSON(t, "ssc-signed.json", &vs)
	if len(vs) < 8 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			k := publicKey(t, v.Key)
			if err := Verify(k, v.header(), []byte(v.Body)); err != nil {
				t.Errorf("Verify(sent body): %v", err)
			}
			// The validator canonicalises the parsed body again: the body as
			// first written, in another order and spacing, verifies too.
			if err := Verify(k, v.header(), []byte(v.Input)); err != nil {
				t.Errorf("Verify(input body): %v", err)
			}
			canonical, err := Canonical([]byte(v.Input))
			if err != nil || string(canonical) != v.Body {
				t.Errorf("Canonical(input) = %q, %v; SSC sent %q", canonical, err, v.Body)
			}
		})
	}
}

// TestSignLikeSSC signs the vectors' requests again. RS256 is deterministic,
// so an RSA signature must equal SSC's byte for byte; an ES256 one must
// have the same protected header and verify.
func TestSignLikeSSC(t *testing.T) {
	var vs []sscVector
	readJSON(t, "ssc-signed.json", &vs)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			pems := []string{v.Key + "-private.pem", v.Key + "-private-pkcs8.pem"}
			for _, name := range pems {
				s, err := NewSigner(readFile(t, name))
				if err != nil {
					t.Fatal(err)
				}
				h := http.Header{}
				for _, k := range unsigned {
					if val, ok := v.Headers[k]; ok {
						h.Set(k, val)
					}
				}
				body, err := s.Sign(h, v.Method, v.URI, []byte(v.Input))
				if err != nil {
					t.Fatalf("%s: Sign: %v", name, err)
				}
				if string(body) != v.Body {
					t.Errorf("%s: body %q, SSC sent %q", name, body, v.Body)
				}
				for _, k := range []string{"fspiop-uri", "fspiop-http-method"} {
					if got := h.Get(k); got != v.Headers[k] {
						t.Errorf("%s: %s = %q, SSC set %q", name, k, got, v.Headers[k])
					}
				}
				got, want := h.Get("fspiop-signature"), v.Headers["fspiop-signature"]
				if v.Key == "rsa" && got != want {
					t.Errorf("%s: FSPIOP-Signature\n got %s\nwant %s", name, got, want)
				}
				var gs, ws struct{ ProtectedHeader, Signature string }
				_ = json.Unmarshal([]byte(got), &gs)
				_ = json.Unmarshal([]byte(want), &ws)
				if gs.ProtectedHeader != ws.ProtectedHeader {
					t.Errorf("%s: protected header %s, SSC's %s", name, gs.ProtectedHeader, ws.ProtectedHeader)
				}
				if err := Verify(s.PublicKey(), h, body); err != nil {
					t.Errorf("%s: Verify: %v", name, err)
				}
			}
		})
	}
}

// goSigned is testdata/go-signed.json: requests signed by Sign, which
// testdata/verify-go-signed.js checks with SSC's validator.
type goSigned struct {
	Key     string            `json:"key"`
	Method  string            `json:"method"`
	URI     string            `json:"uri"`
	Body    string            `json:"body"`
	Headers map[string]string `json:"headers"`
}

func goSignedRequests(t *testing.T) []goSigned {
	const date = "Mon, 07 Dec 2026 01:15:00 GMT"
	type req struct {
		key, method, uri, source, dest, date, body string
	}
	reqs := []req{
		{"rsa", "POST", "http://payee-sdk:4000/quotes", "hulian", "payeefsp", date,
			`{"quoteId":"q-1","transactionId":"t-1","amountType":"RECEIVE","amount":{"currency":"ZAR","amount":"10.25"},` +
				`"payer":{"name":"Zoë Ñandú 李小龍 😀","partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803912","fspId":"hulian"}},` +
				`"payee":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803913"}},` +
				`"transactionType":{"scenario":"TRANSFER","initiator":"PAYER","initiatorType":"CONSUMER"},"note":"a \"quote\"\n\tback\\slash \u0001 \u2028 <&> \u007f"}`},
		{"rsa", "put", "http://payer-sdk:4000/transfers/b51ec534-ee48-4575-b6a9-ead2955b8069", "hulian", "payerfsp", date,
			`{"transferState":"COMMITTED","fulfilment":"mhPUT9ZAwd-BXLfeSd7-YPh46rBWRNBiTCSWjpku90s","completedTimestamp":"2026-12-07T01:15:00.000Z",` +
				`"extensionList":{"extension":[{"key":"b","value":"2"},{"value":"1","key":"a"}]}}`},
		{"rsa", "PATCH", "http://payee-sdk:4000/transfers/b51ec534-ee48-4575-b6a9-ead2955b8069", "hulian", "payeefsp", "",
			`{"transferState":"COMMITTED","completedTimestamp":"2026-12-07T01:15:00.000Z"}`},
		{"rsa", "PUT", "http://payer-sdk:4000/quotes/q-1/error", "hulian", "", date,
			`{"errorInformation":{"errorCode":"3205","errorDescription":"Quote ID not found \u00e9\ud83d"}}`},
		{"ec", "PUT", "http://payer-sdk:4000/parties/MSISDN/27713803912", "hulian", "payerfsp", date,
			`{"party":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803912","fspId":"hulian"},"name":"Ṣàngó J.","list":[3,1.50,{"z":null,"y":true}]}}`},
		{"ec", "POST", "http://payee-sdk:4000/transfers", "hulian", "payeefsp", date,
			`{"transferId":"t-2","payerFsp":"hulian","payeeFsp":"payeefsp","amount":{"amount":"1","currency":"XOF"},"ilpPacket":"AYIC","condition":"f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA","expiration":"2026-12-07T01:16:00.000Z"}`},
	}
	var out []goSigned
	for _, r := range reqs {
		h := http.Header{}
		h.Set("FSPIOP-Source", r.source)
		if r.dest != "" {
			h.Set("FSPIOP-Destination", r.dest)
		}
		if r.date != "" {
			h.Set("Date", r.date)
		}
		body, err := signer(t, r.key).Sign(h, r.method, r.uri, []byte(r.body))
		if err != nil {
			t.Fatal(err)
		}
		g := goSigned{Key: r.key, Method: r.method, URI: r.uri, Body: string(body), Headers: map[string]string{}}
		for k := range h {
			g.Headers[strings.ToLower(k)] = h.Get(k)
		}
		out = append(out, g)
	}
	return out
}

// TestGoSigned checks the requests Sign made when the golden file was
// written (go test -run TestGoSigned -update; then check them with SSC:
// node testdata/verify-go-signed.js) still verify, and that RSA signing
// still gives the same bytes.
func TestGoSigned(t *testing.T) {
	fresh := goSignedRequests(t)
	if *update {
		b, err := json.MarshalIndent(fresh, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/go-signed.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var golden []goSigned
	readJSON(t, "go-signed.json", &golden)
	if len(golden) != len(fresh) {
		t.Fatalf("%d golden requests, %d made", len(golden), len(fresh))
	}
	for i, g := range golden {
		h := http.Header{}
		for k, v := range g.Headers {
			h.Set(k, v)
		}
		if err := Verify(publicKey(t, g.Key), h, []byte(g.Body)); err != nil {
			t.Errorf("%d %s %s: %v", i, g.Method, g.URI, err)
		}
		if g.Key == "rsa" && g.Headers["fspiop-signature"] != fresh[i].Headers["fspiop-signature"] {
			t.Errorf("%d %s %s: RS256 signature changed", i, g.Method, g.URI)
		}
	}
}

var (
	otherRSAOnce sync.Once
	otherRSA     *rsa.PrivateKey
)

// anotherRSAKey returns an RSA key that is not testdata's.
func anotherRSAKey(t *testing.T) *rsa.PrivateKey {
	otherRSAOnce.Do(func() {
		var err error
		if otherRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	})
	return otherRSA
}

// signRaw makes an FSPIOP-Signature over any protected header, to test
// what SSC's signer would never produce.
func signRaw(t *testing.T, priv any, protected string, body []byte) string {
	t.Helper()
	b64 := base64.RawURLEncoding
	ph := b64.EncodeToString([]byte(protected))
	canonical, err := Canonical(body)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(ph + "." + b64.EncodeToString(canonical)))
	var sig []byte
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(nil, k, 5 /* crypto.SHA256 */, digest[:])
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, digest[:])
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return `{"protectedHeader":"` + ph + `","signature":"` + b64.EncodeToString(sig) + `"}`
}

func TestVerifyTampered(t *testing.T) {
	rsaSigner, ecSigner := signer(t, "rsa"), signer(t, "ec")
	rsaKey, ecKey := rsaSigner.PublicKey(), ecSigner.PublicKey()
	const body = `{"transferId":"t-1","amount":{"amount":"10","currency":"USD"},"note":"Zoë 😀"}`
	const uri = "http://payee:4000/transfers/t-1"
	const date = "Mon, 07 Dec 2026 01:00:00 GMT"
	sign := func(s *Signer, dest, date string) (http.Header, []byte) {
		h := http.Header{}
		h.Set("FSPIOP-Source", "payer")
		if dest != "" {
			h.Set("FSPIOP-Destination", dest)
		}
		if date != "" {
			h.Set("Date", date)
		}
		b, err := s.Sign(h, "PUT", uri, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return h, b
	}
	rsaPriv, ecPriv := rsaSigner.rsa, ecSigner.ec
	const phBase = `"FSPIOP-URI":"/transfers/t-1","FSPIOP-HTTP-Method":"PUT","FSPIOP-Source":"payer"`
	withSig := func(sig string) func(http.Header, []byte) []byte {
		return func(h http.Header, b []byte) []byte { h.Set("FSPIOP-Signature", sig); return b }
	}
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none",` + phBase + `}`))
	hsHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256",` + phBase + `}`))

	for _, tc := range []struct {
		name   string
		signer *Signer // nil: RSA
		dest   string  // "-": none; "": "payee"
		date   string  // "-": none; "": date
		key    *Key    // nil: the signer's; use noKey for none
		change func(h http.Header, body []byte) []byte
		want   Check // "": valid
	}{
		{name: "untouched"},
		{name: "untouched ES256", signer: ecSigner},
		{name: "body reordered and re-spaced", change: func(h http.Header, b []byte) []byte {
			return []byte(" {\"note\" : \"Zo\\u00eb \\ud83d\\ude00\",\n \"amount\":{\"currency\":\"USD\",\"amount\":\"10\"},\"transferId\":\"t-1\"}")
		}},
		{name: "body value", change: func(h http.Header, b []byte) []byte {
			return []byte(strings.Replace(string(b), `"10"`, `"11"`, 1))
		}, want: CheckSignature},
		{name: "body value ES256", signer: ecSigner, change: func(h http.Header, b []byte) []byte {
			return []byte(strings.Replace(string(b), "Zoë", "Zoe", 1))
		}, want: CheckSignature},
		{name: "body field added", change: func(h http.Header, b []byte) []byte {
			return []byte(strings.Replace(string(b), `{`, `{"extra":"x",`, 1))
		}, want: CheckSignature},
		{name: "body number for string", change: func(h http.Header, b []byte) []byte {
			return []byte(strings.Replace(string(b), `"10"`, `10`, 1))
		}, want: CheckSignature},
		{name: "body empty", change: func(http.Header, []byte) []byte { return nil }, want: CheckBody},
		{name: "body not JSON", change: func(http.Header, []byte) []byte { return []byte("{") }, want: CheckBody},
		{name: "body null", change: func(http.Header, []byte) []byte { return []byte("null") }, want: CheckBody},
		{name: "body duplicate key", change: func(h http.Header, b []byte) []byte {
			return []byte(strings.Replace(string(b), `{`, `{"note":"x",`, 1))
		}, want: CheckBody},
		{name: "no source", change: func(h http.Header, b []byte) []byte { h.Del("FSPIOP-Source"); return b }, want: CheckSource},
		{name: "no key", key: noKey, want: CheckKey},
		{name: "no FSPIOP-URI", change: func(h http.Header, b []byte) []byte { h.Del("FSPIOP-URI"); return b }, want: CheckHeaders},
		{name: "no method", change: func(h http.Header, b []byte) []byte { h.Del("FSPIOP-HTTP-Method"); return b }, want: CheckHeaders},
		{name: "no signature", change: func(h http.Header, b []byte) []byte { h.Del("FSPIOP-Signature"); return b }, want: CheckHeaders},
		{name: "empty signature header", change: func(h http.Header, b []byte) []byte { h.Set("FSPIOP-Signature", ""); return b }, want: CheckHeaders},
		{name: "FSPIOP-URI changed", change: func(h http.Header, b []byte) []byte { h.Set("FSPIOP-URI", "/transfers/t-2"); return b }, want: CheckURI},
		{name: "method changed", change: func(h http.Header, b []byte) []byte { h.Set("FSPIOP-HTTP-Method", "POST"); return b }, want: CheckMethod},
		{name: "method lower case", change: func(h http.Header, b []byte) []byte { h.Set("FSPIOP-HTTP-Method", "put"); return b }, want: CheckMethod},
		{name: "source changed", change: func(h http.Header, b []byte) []byte { h.Set("FSPIOP-Source", "mallory"); return b }, want: CheckSourceMatch},
		{name: "source repeated", change: func(h http.Header, b []byte) []byte { h.Add("FSPIOP-Source", "payer"); return b }, want: CheckSourceMatch},
		{name: "date changed", change: func(h http.Header, b []byte) []byte { h.Set("Date", "Mon, 07 Dec 2026 01:00:01 GMT"); return b }, want: CheckDate},
		{name: "date removed", change: func(h http.Header, b []byte) []byte { h.Del("Date"); return b }, want: CheckDate},
		{name: "date added to an unsigned one (SSC lets it pass)", date: "-", change: func(h http.Header, b []byte) []byte {
			h.Set("Date", date)
			return b
		}},
		{name: "destination changed", change: func(h http.Header, b []byte) []byte { h.Set("FSPIOP-Destination", "other"); return b }, want: CheckDestination},
		{name: "destination removed", change: func(h http.Header, b []byte) []byte { h.Del("FSPIOP-Destination"); return b }, want: CheckDestination},
		{name: "destination added", dest: "-", change: func(h http.Header, b []byte) []byte {
			h.Set("FSPIOP-Destination", "payee")
			return b
		}, want: CheckDestination},
		{name: "unsigned destination and date", dest: "-", date: "-"},
		{name: "signature truncated", change: func(h http.Header, b []byte) []byte {
			s := h.Get("FSPIOP-Signature")
			h.Set("FSPIOP-Signature", s[:len(s)-6]+`"}`)
			return b
		}, want: CheckSignature},
		{name: "signature truncated ES256", signer: ecSigner, change: func(h http.Header, b []byte) []byte {
			s := h.Get("FSPIOP-Signature")
			h.Set("FSPIOP-Signature", s[:len(s)-6]+`"}`)
			return b
		}, want: CheckSignature},
		{name: "signature of another key", key: mustKey(t, &anotherRSAKey(t).PublicKey), want: CheckSignature},
		{name: "RS256 signature, EC key", key: ecKey, want: CheckAlg},
		{name: "ES256 signature, RSA key", signer: ecSigner, key: rsaKey, want: CheckAlg},
		{name: "alg none, no signature", change: withSig(`{"protectedHeader":"` + noneHeader + `","signature":""}`), want: CheckFormat},
		{name: "alg none with a signature", change: withSig(`{"protectedHeader":"` + noneHeader + `","signature":"AAAA"}`), want: CheckAlg},
		{name: "alg HS256", change: withSig(`{"protectedHeader":"` + hsHeader + `","signature":"AAAA"}`), want: CheckAlg},
		{name: "signature header not JSON", change: withSig(`protectedHeader=x`), want: CheckFormat},
		{name: "signature header an array", change: withSig(`["a","b"]`), want: CheckFormat},
		{name: "signature header numbers", change: withSig(`{"protectedHeader":1,"signature":2}`), want: CheckFormat},
		{name: "signature with a dot", change: withSig(`{"protectedHeader":"eyJ9.eyJ9","signature":"AAAA"}`), want: CheckFormat},
		{name: "protected header not JSON", change: withSig(`{"protectedHeader":"bm90IGpzb24","signature":"AAAA"}`), want: CheckFormat},
		{name: "protected header without FSPIOP-URI", change: func(h http.Header, b []byte) []byte {
			h.Set("FSPIOP-Signature", signRaw(t, rsaPriv, `{"alg":"RS256","FSPIOP-HTTP-Method":"PUT","FSPIOP-Source":"payer","FSPIOP-Destination":"payee","Date":"`+date+`"}`, b))
			return b
		}, want: CheckURI},
		{name: "protected header without source", change: func(h http.Header, b []byte) []byte {
			h.Set("FSPIOP-Signature", signRaw(t, rsaPriv, `{"alg":"RS256","FSPIOP-URI":"/transfers/t-1","FSPIOP-HTTP-Method":"PUT","FSPIOP-Destination":"payee","Date":"`+date+`"}`, b))
			return b
		}, want: CheckSourceMatch},
		{name: "protected date a number", change: func(h http.Header, b []byte) []byte {
			h.Set("FSPIOP-Signature", signRaw(t, rsaPriv, `{"alg":"RS256",`+phBase+`,"FSPIOP-Destination":"payee","Date":1}`, b))
			return b
		}, want: CheckDate},
		{name: "protected empty destination, none sent", dest: "-", change: func(h http.Header, b []byte) []byte {
			h.Set("FSPIOP-Signature", signRaw(t, rsaPriv, `{"alg":"RS256",`+phBase+`,"FSPIOP-Destination":"","Date":"`+date+`"}`, b))
			return b
		}},
		{name: "protected header with extra members, ES256", signer: ecSigner, change: func(h http.Header, b []byte) []byte {
			h.Set("FSPIOP-Signature", signRaw(t, ecPriv, `{"typ":"JWT","kid":"k1","alg":"ES256",`+phBase+`,"FSPIOP-Destination":"payee","Date":"`+date+`"}`, b))
			return b
		}},
		{name: "Latin-1 source as Node reads it", change: func(h http.Header, b []byte) []byte {
			h.Set("FSPIOP-Source", "pay\xe9r")
			h.Set("FSPIOP-Signature", signRaw(t, rsaPriv, "{\"alg\":\"RS256\",\"FSPIOP-URI\":\"/transfers/t-1\",\"FSPIOP-HTTP-Method\":\"PUT\",\"FSPIOP-Source\":\"pay\xe9r\",\"FSPIOP-Destination\":\"payee\"}", b))
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.signer
			if s == nil {
				s = rsaSigner
			}
			dest, d := "payee", date
			if tc.dest == "-" {
				dest = ""
			}
			if tc.date == "-" {
				d = ""
			}
			h, b := sign(s, dest, d)
			if tc.change != nil {
				b = tc.change(h, b)
			}
			k := tc.key
			switch k {
			case nil:
				k = s.PublicKey()
			case noKey:
				k = nil
			}
			err := Verify(k, h, b)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Check != tc.want {
				t.Fatalf("Verify: %v; want check %s", err, tc.want)
			}
			if !errors.Is(err, ErrSignature) || fault.KindOf(err) != fault.Unauthorized || fault.CodeOf(err) != "invalid-signature" {
				t.Errorf("error %v is not ErrSignature", err)
			}
			if ce.Detail == "" || !strings.HasSuffix(err.Error(), ce.Detail) {
				t.Errorf("detail %q, message %q", ce.Detail, err.Error())
			}
		})
	}
}

// noKey stands for a nil key in TestVerifyTampered's table.
var noKey = &Key{}

func mustKey(t *testing.T, pub any) *Key {
	k, err := newKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignRefuses(t *testing.T) {
	s := signer(t, "rsa")
	for _, tc := range []struct {
		name, method, uri, body string
		header                  map[string][]string
		want                    error
	}{
		{name: "no body", body: ""},
		{name: "body not JSON", body: "{", want: ErrJSON},
		{name: "no source", header: map[string][]string{"Fspiop-Source": nil}},
		{name: "two sources", header: map[string][]string{"Fspiop-Source": {"a", "b"}}},
		{name: "two dates", header: map[string][]string{"Date": {"x", "y"}}},
		{name: "destination not ASCII", header: map[string][]string{"Fspiop-Destination": {"payé"}}},
		{name: "source with a newline", header: map[string][]string{"Fspiop-Source": {"a\nb"}}},
		{name: "no method", method: "-"},
		{name: "method with a space", method: "PU T "},
		{name: "URI without a slash", uri: "quotes"},
		{name: "URI path not ASCII", uri: "http://h/quotes/é"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Fspiop-Source": {"payer"}, "Date": {"Mon, 07 Dec 2026 01:00:00 GMT"}}
			for k, v := range tc.header {
				h[k] = v
			}
			method, uri, body := "PUT", "http://h/quotes/1", `{"a":"b"}`
			if tc.method == "-" {
				method = ""
			} else if tc.method != "" {
				method = tc.method
			}
			if tc.uri != "" {
				uri = tc.uri
			}
			if tc.name != "no body" && tc.body != "" || tc.name == "no body" {
				body = tc.body
			}
			_, err := s.Sign(h, method, uri, []byte(body))
			if !errors.Is(err, ErrSign) || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Sign: %v", err)
			}
			if h.Get("FSPIOP-Signature") != "" {
				t.Error("a refused Sign set FSPIOP-Signature")
			}
		})
	}
}

func TestURIPath(t *testing.T) {
	// Expectations from SSC's regular expression run in Node.
	for _, tc := range []struct{ uri, want string }{
		{"http://switch:4000/quotes/7c23", "/quotes/7c23"},
		{"/quotes", "/quotes"},
		{"http://h:1/base/transfers/abc/error", "/transfers/abc/error"},
		{"http://h:1/parties/MSISDN/transfers", "/transfers"},
		{"http://h:1/foo/bar", "//h:1/foo/bar"},
		{"http://h:1/foo/", "/"},
		{"http://h:1", "//h:1"},
		{"/", "/"},
		{"http://h/participants/MSISDN/1?currency=USD", "/participants/MSISDN/1?currency=USD"},
		{"http://h/quotesX/1", "//h/quotesX/1"},
		{"https://h/fxTransfers/1", "/fxTransfers/1"},
		{"http://h/a/quotes?x=/b", "//h/a/quotes?x=/b"},
	} {
		got, err := URIPath(tc.uri)
		if err != nil || got != tc.want {
			t.Errorf("URIPath(%q) = %q, %v; want %q", tc.uri, got, err, tc.want)
		}
	}
	if _, err := URIPath("quotes"); !errors.Is(err, ErrSign) {
		t.Errorf("URIPath(quotes): %v", err)
	}
}

func TestKeys(t *testing.T) {
	cert := selfSigned(t)
	for _, tc := range []struct {
		name string
		pem  []byte
		alg  string // "": refused
	}{
		{"rsa spki", readFile(t, "rsa-public.pem"), RS256},
		{"rsa pkcs1", readFile(t, "rsa-public-pkcs1.pem"), RS256},
		{"ec spki", readFile(t, "ec-public.pem"), ES256},
		{"certificate after text", append([]byte("subject=test\n"), cert...), ES256},
		{"rsa 1024", readFile(t, "rsa1024-public.pem"), ""},
		{"p384", readFile(t, "p384-public.pem"), ""},
		{"ed25519", readFile(t, "ed25519-public.pem"), ""},
		{"private key", readFile(t, "rsa-private.pem"), ""},
		{"garbage", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), ""},
		{"empty", nil, ""},
	} {
		k, err := ParsePublicKey(tc.pem)
		switch {
		case tc.alg == "" && !errors.Is(err, ErrKey):
			t.Errorf("%s: ParsePublicKey: %v, want ErrKey", tc.name, err)
		case tc.alg != "" && (err != nil || k.Alg() != tc.alg):
			t.Errorf("%s: ParsePublicKey: %v", tc.name, err)
		}
	}
	ecParams := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	for _, tc := range []struct {
		name string
		pem  []byte
		alg  string
	}{
		{"rsa pkcs1", readFile(t, "rsa-private.pem"), RS256},
		{"rsa pkcs8", readFile(t, "rsa-private-pkcs8.pem"), RS256},
		{"ec sec1", readFile(t, "ec-private.pem"), ES256},
		{"ec sec1 after parameters", append([]byte(ecParams), readFile(t, "ec-private.pem")...), ES256},
		{"ec pkcs8", readFile(t, "ec-private-pkcs8.pem"), ES256},
		{"rsa 1024", readFile(t, "rsa1024-private.pem"), ""},
		{"p384", readFile(t, "p384-private.pem"), ""},
		{"public key", readFile(t, "rsa-public.pem"), ""},
		{"encrypted", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), ""},
		{"empty", nil, ""},
	} {
		s, err := NewSigner(tc.pem)
		switch {
		case tc.alg == "" && !errors.Is(err, ErrKey):
			t.Errorf("%s: NewSigner: %v, want ErrKey", tc.name, err)
		case tc.alg != "" && (err != nil || s.PublicKey().Alg() != tc.alg):
			t.Errorf("%s: NewSigner: %v", tc.name, err)
		}
	}
	// The signer's public key in PEM is the file a DFSP installs: the same
	// bytes Node exports.
	for _, name := range []string{"rsa", "ec"} {
		if got, want := string(signer(t, name).PublicKey().PEM()), string(readFile(t, name+"-public.pem")); got != want {
			t.Errorf("%s: PEM\n%s, want\n%s", name, got, want)
		}
	}
}

func selfSigned(t *testing.T) []byte {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "payer"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestRelay(t *testing.T) {
	s := signer(t, "rsa")
	in := http.Header{}
	in.Set("FSPIOP-Source", "payer")
	in.Set("FSPIOP-Destination", "payee")
	in.Set("Date", "Mon, 07 Dec 2026 01:00:00 GMT")
	in.Set("Content-Type", "application/vnd.interoperability.transfers+json;version=1.1")
	body, err := s.Sign(in, "POST", "http://switch:4000/transfers", []byte(`{"transferId":"t-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	out := http.Header{}
	out.Set("Date", "Tue, 08 Dec 2026 00:00:00 GMT") // the relayer's own, replaced
	out.Set("FSPIOP-Encryption", "x")                // not relayed: kept
	out.Set("Content-Type", "application/vnd.interoperability.transfers+json;version=1.0")
	Relay(out, in)
	for _, name := range relayed {
		if got, want := out.Values(name), in.Values(name); strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) == 0 {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if out.Get("FSPIOP-Encryption") != "x" || !strings.HasSuffix(out.Get("Content-Type"), "1.0") {
		t.Errorf("Relay touched other headers: %v", out)
	}
	if err := Verify(s.PublicKey(), out, body); err != nil {
		t.Errorf("relayed request: %v", err)
	}
	// A header the sender did not send is removed, not left over.
	in.Del("FSPIOP-Destination")
	Relay(out, in)
	if _, ok := out["Fspiop-Destination"]; ok {
		t.Errorf("FSPIOP-Destination left in: %v", out)
	}
}

func BenchmarkSignVerify(b *testing.B) {
	var vs []sscVector
	readJSON(b, "ssc-signed.json", &vs)
	v := vs[1] // POST /transfers, 1.3 kB
	for _, name := range []string{"rsa", "ec"} {
		s := signer(b, name)
		h := http.Header{"Fspiop-Source": {"payer"}, "Fspiop-Destination": {"payee"}, "Date": {"Mon, 07 Dec 2026 01:00:00 GMT"}}
		body, err := s.Sign(h, "POST", v.URI, []byte(v.Input))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("sign-"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Sign(h, "POST", v.URI, []byte(v.Input)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("verify-"+name, func(b *testing.B) {
			for b.Loop() {
				if err := Verify(s.PublicKey(), h, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
