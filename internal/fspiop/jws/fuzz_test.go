package jws

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// FuzzCanonical: Canonical never panics; what it accepts is valid JSON,
// means what the input meant (to encoding/json), and is its own canonical
// form.
func FuzzCanonical(f *testing.F) {
	var vs []canonicalVector
	readJSON(f, "canonical.json", &vs)
	for _, v := range vs {
		if len(v.Input) < 2000 {
			f.Add([]byte(v.Input))
		}
	}
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte("\"\xed\xa0\x80\""))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonical(in)
		if err != nil {
			if !errors.Is(err, ErrJSON) {
				t.Fatalf("error %v is not ErrJSON", err)
			}
			return
		}
		if !json.Valid(in) || !json.Valid(out) {
			t.Fatalf("Canonical(%q) = %q: accepted or produced invalid JSON", in, out)
		}
		again, err := Canonical(out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("Canonical(%q) = %q, but Canonical of that = %q, %v", in, out, again, err)
		}
		// encoding/json reads a lone surrogate as U+FFFD, which can make
		// two keys one: compare meanings only without them. Unmarshal
		// fails for numbers out of float64's range.
		var a, b any
		if !bytes.Contains(out, []byte(`\ud`)) && json.Unmarshal(in, &a) == nil {
			if err := json.Unmarshal(out, &b); err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("Canonical(%q) = %q changed the value: %v", in, out, err)
			}
		}
	})
}

// FuzzVerify: Verify never panics and refuses only with a *CheckError;
// a signature made for one body never verifies a body that means
// something else.
func FuzzVerify(f *testing.F) {
	s := signer(f, "rsa")
	key := s.PublicKey()
	var vs []sscVector
	readJSON(f, "ssc-signed.json", &vs)
	for _, v := range vs {
		if v.Key == "rsa" {
			f.Add(v.Headers["fspiop-signature"], v.Headers["fspiop-uri"], v.Headers["fspiop-http-method"],
				v.Headers["fspiop-source"], v.Headers["fspiop-destination"], v.Headers["date"], []byte(v.Body))
		}
	}
	f.Add(`{"protectedHeader":"eyJhbGciOiJub25lIn0","signature":""}`, "/quotes", "POST", "payer", "", "", []byte(`{}`))
	f.Add(`{"protectedHeader":"e30","signature":"AAAA"}`, "/quotes", "POST", "payer", "payee", "x", []byte(`[]`))
	f.Fuzz(func(t *testing.T, sig, uri, method, source, dest, date string, body []byte) {
		h := http.Header{}
		for name, v := range map[string]string{HeaderSignature: sig, HeaderURI: uri, HeaderMethod: method,
			HeaderSource: source, HeaderDestination: dest, HeaderDate: date} {
			if v != "" {
				h.Set(name, v)
			}
		}
		err := Verify(key, h, body)
		var ce *CheckError
		if err != nil && (!errors.As(err, &ce) || !errors.Is(err, ErrSignature) || ce.Detail == "") {
			t.Fatalf("Verify: %v is not a CheckError", err)
		}
		if err != nil {
			return
		}
		// It verified: the body must be a seed's (or mean the same), and
		// adding a member must break it.
		canonical, _ := Canonical(body)
		var m map[string]json.RawMessage
		if json.Unmarshal(canonical, &m) == nil && m != nil {
			m["fuzz-added"] = json.RawMessage(`"x"`)
			changed, _ := json.Marshal(m)
			if Verify(key, h, changed) == nil {
				t.Fatalf("signature verified a changed body %s", changed)
			}
		}
	})
}
