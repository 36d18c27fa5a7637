package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A follower that forwards a request made over TLS with a client
// certificate attests the certificate to the leader, which cannot see
// it: the certificate's SHA-256 and a proof, an HMAC under a key derived
// from the data key that every node of a cluster shares. The proof binds
// the hash to the forwarding node, the time, the request's method and
// target and its Authorization header, so that it cannot vouch for
// another request's credentials; the leader takes it for a short while
// only. Anyone may send the headers; only a node can make a proof that
// holds, and a follower replaces whatever the client sent.
const (
	forwardedCertHeader  = "Hulian-Forwarded-Client-Cert"
	forwardedProofHeader = "Hulian-Forwarded-Proof"
	// forwardedCertLabel names the proof key's derivation from the data
	// key.
	forwardedCertLabel = "hulian/cluster/forwarded-client-cert/v1"
	// forwardedCertSkew is how far a proof's time may be from the
	// leader's clock: the forwarding itself and the nodes' clocks'
	// difference.
	forwardedCertSkew = time.Minute
)

// certProof is the proof of a forwarded client certificate.
func certProof(key []byte, node string, at int64, certHex string, r *http.Request) string {
	authz := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	m := hmac.New(sha256.New, key)
	for _, part := range []string{node, strconv.FormatInt(at, 10), certHex, r.Method, r.URL.RequestURI(), hex.EncodeToString(authz[:])} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// attestClientCert sets out's attestation of the client certificate in
// the request in, or removes any that the client sent when it
// presented none.
func attestClientCert(key []byte, node string, now time.Time, in, out *http.Request) {
	out.Header.Del(forwardedCertHeader)
	out.Header.Del(forwardedProofHeader)
	if in.TLS == nil || len(in.TLS.PeerCertificates) == 0 || key == nil {
		return
	}
	sum := sha256.Sum256(in.TLS.PeerCertificates[0].Raw)
	certHex := hex.EncodeToString(sum[:])
	at := now.Unix()
	out.Header.Set(forwardedCertHeader, certHex)
	out.Header.Set(forwardedProofHeader, "t="+strconv.FormatInt(at, 10)+",v1="+certProof(key, node, at, certHex, in))
}

// forwardedCert returns the leader's check of an attested certificate
// (api.Deps.ForwardedCert): the hash, when the request was forwarded by
// a node and its proof holds.
func forwardedCert(key []byte, now func() time.Time) func(r *http.Request) ([]byte, bool) {
	return func(r *http.Request) ([]byte, bool) {
		certHex := r.Header.Get(forwardedCertHeader)
		sum, err := hex.DecodeString(certHex)
		if certHex == "" || err != nil || len(sum) != sha256.Size || !proofHolds(key, now(), certHex, r) {
			return nil, false
		}
		return sum, true
	}
}

// proofHolds reports whether r carries a node's proof, made recently
// under key, of itself and certHex (empty: a request forwarded without
// a certificate to attest, e.g. over FSPIOP).
func proofHolds(key []byte, now time.Time, certHex string, r *http.Request) bool {
	node, proof := r.Header.Get(ForwardedHeader), r.Header.Get(forwardedProofHeader)
	if node == "" || proof == "" || key == nil {
		return false
	}
	ts, mac, ok := strings.Cut(proof, ",v1=")
	ts, okT := strings.CutPrefix(ts, "t=")
	at, err := strconv.ParseInt(ts, 10, 64)
	if !ok || !okT || err != nil {
		return false
	}
	if d := now.Sub(time.Unix(at, 0)); d > forwardedCertSkew || d < -forwardedCertSkew {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(certProof(key, node, at, certHex, r)))
}

// proveForwarded sets out's proof that node forwarded it, attesting no
// certificate.
func proveForwarded(key []byte, node string, now time.Time, out *http.Request) {
	at := now.Unix()
	out.Header.Del(forwardedCertHeader)
	out.Header.Set(forwardedProofHeader, "t="+strconv.FormatInt(at, 10)+",v1="+certProof(key, node, at, "", out))
}
