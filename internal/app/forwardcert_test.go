package app

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/fspiop/msg"
)

// TestForwardedCert: a leader takes a follower's attestation of a client
// certificate only while it holds — made with the cluster's key, by the
// node it names, recently, for this very request and its credentials.
func TestForwardedCert(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	der := []byte("a client certificate's DER")
	want := sha256.Sum256(der)

	// in is what the follower took in; out what it sends on.
	forwarded := func(edit func(in, out *http.Request)) *http.Request {
		in := httptest.NewRequest("POST", "/v1/transfers?x=1", nil)
		in.Header.Set("Authorization", "Bearer wallet-a.secret")
		in.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: der}}}
		out := in.Clone(in.Context())
		out.TLS = nil
		out.Header.Set(ForwardedHeader, "node1")
		if edit != nil {
			edit(in, out)
		}
		attestClientCert(key, "node1", now, in, out)
		return out
	}
	tests := []struct {
		name  string
		req   *http.Request
		check func(*http.Request) ([]byte, bool)
		ok    bool
	}{
		{"as forwarded", forwarded(nil), forwardedCert(key, func() time.Time { return now }), true},
		{"59 s later", forwarded(nil), forwardedCert(key, func() time.Time { return now.Add(59 * time.Second) }), true},
		{"two minutes later", forwarded(nil), forwardedCert(key, func() time.Time { return now.Add(2 * time.Minute) }), false},
		{"from the future", forwarded(nil), forwardedCert(key, func() time.Time { return now.Add(-2 * time.Minute) }), false},
		{"another cluster's key", forwarded(nil), forwardedCert([]byte("another key of 32 bytes, at that"), func() time.Time { return now }), false},
		{"no client certificate", forwarded(func(in, _ *http.Request) { in.TLS = nil }), forwardedCert(key, func() time.Time { return now }), false},
		{"sent by the client, no certificate", forwarded(func(in, out *http.Request) {
			in.TLS = nil
			out.Header.Set(forwardedCertHeader, hex.EncodeToString(want[:]))
			out.Header.Set(forwardedProofHeader, "t=1,v1=00")
		}), forwardedCert(key, func() time.Time { return now }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, ok := tt.check(tt.req)
			if ok != tt.ok || (ok && string(sum) != string(want[:])) {
				t.Fatalf("got %x %v, want ok=%v", sum, ok, tt.ok)
			}
		})
	}

	// The proof is bound to the request: each change below breaks it.
	check := forwardedCert(key, func() time.Time { return now })
	for name, edit := range map[string]func(r *http.Request){
		"another node":        func(r *http.Request) { r.Header.Set(ForwardedHeader, "node2") },
		"not forwarded":       func(r *http.Request) { r.Header.Del(ForwardedHeader) },
		"another certificate": func(r *http.Request) { r.Header.Set(forwardedCertHeader, hex.EncodeToString(make([]byte, 32))) },
		"another key":         func(r *http.Request) { r.Header.Set("Authorization", "Bearer wallet-b.secret") },
		"another path":        func(r *http.Request) { r.URL.Path = "/v1/parties" },
		"another query":       func(r *http.Request) { r.URL.RawQuery = "x=2" },
		"another method":      func(r *http.Request) { r.Method = "PUT" },
		"another time": func(r *http.Request) {
			r.Header.Set(forwardedProofHeader, "t=1"+r.Header.Get(forwardedProofHeader)[2:])
		},
		"no proof":          func(r *http.Request) { r.Header.Del(forwardedProofHeader) },
		"a malformed proof": func(r *http.Request) { r.Header.Set(forwardedProofHeader, "v1=t=") },
		"a short hash":      func(r *http.Request) { r.Header.Set(forwardedCertHeader, "abcd") },
	} {
		r := forwarded(nil)
		edit(r)
		if sum, ok := check(r); ok {
			t.Errorf("%s: the proof still holds (%x)", name, sum)
		}
	}
}

// TestFSPIOPUnavailable: a node that cannot pass an FSPIOP request on
// answers as FSPIOP does when a peer should retry: 503, Retry-After,
// and error 2003 in an ErrorInformationResponse.
func TestFSPIOPUnavailable(t *testing.T) {
	w := httptest.NewRecorder()
	writeFSPIOPUnavailable(w, "the leader did not answer; try again")
	var body msg.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" || w.Header().Get("Content-Type") != "application/json" ||
		body.ErrorInformation.ErrorCode != "2003" || body.ErrorInformation.ErrorDescription == "" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}
