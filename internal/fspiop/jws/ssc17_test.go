package jws

import (
	"bytes"
	"net/http"
	"testing"
)

// ssc17Vector is a request signed by sdk-standard-components 17.4.0, the
// signing code of Mojaloop's SDK scheme adapter 18 (testdata/gen-ssc17.js).
type ssc17Vector struct {
	Key     string            `json:"key"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// TestVerifySSC17Signed: SSC 17 signed the body as its sender wrote it,
// keys unsorted; the switch verifies such a signature over the bytes it
// received, and refuses it once a value or the order changes.
func TestVerifySSC17Signed(t *testing.T) {
	var vs []ssc17Vector
	readJSON(t, "ssc17-signed.json", &vs)
	if len(vs) < 2 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		h := http.Header{}
		for k, x := range v.Headers {
			h.Set(k, x)
		}
		k := publicKey(t, v.Key)
		if err := Verify(k, h, []byte(v.Body)); err != nil {
			t.Errorf("%s %s: %v", v.Method, v.Headers["fspiop-uri"], err)
		}
		canonical, err := Canonical([]byte(v.Body))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(canonical, []byte(v.Body)) {
			t.Errorf("%s: the vector's body is sorted already, so it tests nothing", v.Headers["fspiop-uri"])
		}
		if err := Verify(k, h, canonical); err == nil {
			t.Errorf("%s: verified with its members reordered, which SSC 17 did not sign", v.Headers["fspiop-uri"])
		}
		if err := Verify(k, h, bytes.Replace([]byte(v.Body), []byte("MSISDN"), []byte("EMAIL"), 1)); err == nil {
			t.Errorf("%s: verified with a changed value", v.Headers["fspiop-uri"])
		}
	}
}
