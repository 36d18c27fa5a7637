package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// pki is a test CA with the certificates it issued.
type pki struct {
	t      *testing.T
	dir    string
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

func newPKI(t *testing.T) *pki {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{t: t, dir: t.TempDir(), caCert: cert, caKey: key, serial: 1}
	p.write("ca.pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// issue makes a certificate for a server (127.0.0.1) or a client.
func (p *pki) issue(name string, server bool) (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	p.write(name+".pem", "CERTIFICATE", der)
	p.write(name+".key", "EC PRIVATE KEY", kder)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der
}

// TestClientCertificates: a participant bound to a client certificate
// must present that one, verified against --client-ca, besides its key;
// others authenticate with their keys alone.
func TestClientCertificates(t *testing.T) {
	p := newPKI(t)
	p.issue("server", true)
	bound, boundDER := p.issue("wallet-a", false)
	other, _ := p.issue("wallet-x", false)
	s := start(t, "", func(c *app.Config) {
		c.TLSCert, c.TLSKey, c.ClientCA = filepath.Join(p.dir, "server.pem"), filepath.Join(p.dir, "server.key"), filepath.Join(p.dir, "ca.pem")
	})
	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}
	s.hc = client()
	sum := sha256.Sum256(boundDER)
	ka, _ := s.participant("wallet-a", func(np *wire.NewParticipant) { np.ClientCertSHA256 = hex.EncodeToString(sum[:]) })
	kb, _ := s.participant("wallet-b", nil)

	s.problem(401, "unauthorized", "GET", "/v1/participants/wallet-a", ka, nil) // no certificate
	s.hc = client(other)
	s.problem(401, "unauthorized", "GET", "/v1/participants/wallet-a", ka, nil) // another one of the CA
	s.hc = client(bound)
	s.ok(200, "GET", "/v1/participants/wallet-a", ka, nil, nil)
	s.hc = client()
	s.ok(200, "GET", "/v1/participants/wallet-b", kb, nil, nil) // not bound: the key suffices

	// A certificate the CA did not issue does not even complete the
	// handshake.
	stranger := newPKI(t)
	foreign, _ := stranger.issue("wallet-a", false)
	if _, err := client(foreign).Get(s.url + "/healthz"); err == nil {
		t.Error("a client certificate of another CA was accepted")
	}
	// Unbinding (by the operator) lifts the requirement.
	s.ok(200, "PATCH", "/v1/participants/wallet-a", opToken, map[string]any{"clientCertSha256": ""}, nil)
	s.ok(200, "GET", "/v1/participants/wallet-a", ka, nil, nil)
	s.problem(400, "invalid-request", "PATCH", "/v1/participants/wallet-a", opToken, map[string]any{"clientCertSha256": "abc"})
}

// TestBatchCostsItsItems: a batch of N costs N tokens of the rate limit.
func TestBatchCostsItsItems(t *testing.T) {
	s := start(t, "", func(c *app.Config) { c.RateLimit, c.RateBurst = 0.001, 10 })
	ka, _ := s.participant("wallet-a", nil)
	batch := func(n int) wire.TransferBatch {
		var b wire.TransferBatch
		for i := range n {
			b.Transfers = append(b.Transfers, pay(fmt.Sprintf("b-%d-%d", n, i), "MSISDN", "+8613800000001", "1.00"))
		}
		return b
	}
	s.problem(429, "rate-limited", "POST", "/v1/transfers:batch", ka, batch(11))
	s.ok(200, "POST", "/v1/transfers:batch", ka, batch(8), nil) // with the refused request: 1 + 8 of 10
	s.ok(200, "GET", "/v1/transfers", ka, nil, nil)
	s.problem(429, "rate-limited", "GET", "/v1/transfers", ka, nil)
}

// TestChineseRejectReason: a confirm-mode payee rejects with a reason of
// 100 Chinese characters (300 bytes, more than is kept): it is cut on a
// character boundary, and every answer that shows it succeeds.
func TestChineseRejectReason(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		h := newHook(t)
		reason := strings.Repeat("拒绝付款原因", 17)[:100*3]
		h.decide = func(wire.Transfer) wire.Decision { return wire.Decision{Decision: "reject", Reason: reason} }
		ka, _ := s.participant("wallet-a", nil)
		kb, secret := s.participant("bank-b", func(np *wire.NewParticipant) {
			np.Kind, np.CallbackURL, np.Acceptance = "bank", h.url, "confirm"
		})
		h.mu.Lock()
		h.secret = secret
		h.mu.Unlock()
		s.deposit("wallet-a", "100.00")
		s.party(kb, "MSISDN", "+8613800000001", "Li Lei", "acct-1")
		var tr wire.Transfer
		s.ok(201, "POST", "/v1/transfers", ka, pay("t-1", "MSISDN", "+8613800000001", "1.00"), &tr)
		check := func(tr wire.Transfer) {
			t.Helper()
			if tr.State != "ABORTED" || !strings.HasPrefix(tr.Reason, "rejected: 拒绝") || !strings.HasPrefix("rejected: "+reason, tr.Reason) {
				t.Fatalf("transfer %s %s, reason %q", tr.ID, tr.State, tr.Reason)
			}
		}
		check(tr)
		s.ok(200, "GET", "/v1/transfers/t-1", ka, nil, &tr)
		check(tr)
		var page wire.Transfers
		s.ok(200, "GET", "/v1/transfers?limit=10", ka, nil, &page)
		if len(page.Transfers) != 1 {
			t.Fatalf("list: %+v", page)
		}
		check(page.Transfers[0])
		var res wire.TransferBatchResult
		s.ok(200, "POST", "/v1/transfers:batch", ka, wire.TransferBatch{Transfers: []wire.NewTransfer{
			pay("t-1", "MSISDN", "+8613800000001", "1.00"), pay("t-2", "MSISDN", "+8613800000001", "1.00")}}, &res)
		for _, r := range res.Results {
			if r.Transfer == nil {
				t.Fatalf("batch result %+v", r)
			}
			check(*r.Transfer)
		}
	})
}

// TestSlowBodiesHoldLittle: connections that declare 4 MiB batch bodies
// and send a few bytes leave resident memory within a few MiB of where
// it was: bodies are read as they arrive, not allocated from the
// declared length.
func TestSlowBodiesHoldLittle(t *testing.T) {
	s := start(t, "", nil)
	ka, _ := s.participant("wallet-a", nil)
	addr := strings.TrimPrefix(s.url, "http://")
	runtime.GC()
	debug.FreeOSMemory()
	before := rssKiB()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	const conns = 50
	var cs []net.Conn
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		fmt.Fprintf(c, "POST /v1/transfers:batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"transfers\":[", ka, 4<<20)
	}
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	// Let the server read the headers and start on the bodies.
	for deadline := time.Now().Add(5 * time.Second); s.app.API.InFlight() < conns && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.app.API.InFlight(); n < conns {
		t.Fatalf("%d requests in flight, want %d", n, conns)
	}
	after := rssKiB()
	// The heap too: fresh pages of an allocation that is never written
	// need not be resident, so the heap is what shows an allocation from
	// the declared length.
	runtime.ReadMemStats(&m1)
	if grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grew > 8<<20 {
		t.Errorf("the heap grew by %d KiB with %d slow bodies", grew>>10, conns)
	}
	if before == 0 {
		t.Skip("no resident set size on this system")
	}
	t.Logf("resident memory %d KiB before, %d KiB with %d slow 4 MiB bodies", before, after, conns)
	if grew := after - before; grew > 8<<10 {
		t.Errorf("resident memory grew by %d KiB with %d slow bodies; allocating the declared lengths would be %d MiB", grew, conns, conns*4)
	}
}
