package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// TestAuthorization checks every endpoint against every kind of caller:
// nobody, a wrong token, the operator, the participant concerned and
// another participant. A participant never sees another's transfers,
// accounts or its aliases' private data.
func TestAuthorization(t *testing.T) {
	s := start(t, "", nil)
	a, _ := s.participant("wallet-a", nil)
	b, _ := s.participant("wallet-b", nil)
	c, _ := s.participant("wallet-c", nil)
	s.deposit("wallet-a", "100.00")
	s.party(b, "MSISDN", "+8613800000001", "Bo", "b-1")
	s.ok(201, "POST", "/v1/transfers", a, pay("t-1", "MSISDN", "+8613800000001", "1.00"), nil)

	newP := func(id string) wire.NewParticipant {
		return wire.NewParticipant{ID: id, Name: id, Kind: "wallet", Currencies: []string{"CNY"}}
	}
	type call struct {
		method, path string
		body         any
	}
	// who → expected status (0: not tried).
	type expect struct{ none, op, owner, other int }
	const (
		u = 401 // unauthorized
		f = 403 // forbidden
		n = 404 // not found (hides existence)
	)
	cases := []struct {
		call
		expect
		subject string // the participant concerned, "" for a (any participant)
	}{
		{call{"POST", "/v1/participants", newP("x-1")}, expect{u, 201, f, f}, ""},
		{call{"GET", "/v1/participants", nil}, expect{u, 200, f, f}, ""},
		{call{"GET", "/v1/participants/wallet-a", nil}, expect{u, 200, 200, n}, "a"},
		{call{"PATCH", "/v1/participants/wallet-a", wire.ParticipantPatch{}}, expect{u, 200, 200, n}, "a"},
		{call{"POST", "/v1/participants/wallet-c/suspend", nil}, expect{u, 200, f, f}, "c"},
		{call{"POST", "/v1/participants/wallet-c/resume", nil}, expect{u, 200, f, f}, "c"},
		{call{"POST", "/v1/participants/wallet-a/funds", wire.Funds{Currency: "CNY", Amount: "1.00", Direction: "deposit"}}, expect{u, 201, f, f}, "a"},
		{call{"PUT", "/v1/participants/wallet-a/limits/CNY", wire.Limit{NetDebitCap: "10.00"}}, expect{u, 200, f, f}, "a"},
		{call{"GET", "/v1/participants/wallet-a/accounts", nil}, expect{u, 200, 200, n}, "a"},
		{call{"GET", "/v1/hub/accounts", nil}, expect{u, 200, f, f}, ""},
		{call{"GET", "/v1/fees", nil}, expect{u, 200, 200, 200}, ""},
		{call{"PUT", "/v1/fees/CNY", wire.Fees{Fixed: "0.00", Rate: "0.00", Min: "0.00", Max: "0.00"}}, expect{u, 200, f, f}, ""},
		{call{"GET", "/v1/parties", nil}, expect{u, f, 200, 200}, "b"},
		{call{"GET", "/v1/parties/MSISDN/+8613800000001", nil}, expect{u, 200, 200, 200}, "b"},
		{call{"GET", "/v1/transfers/t-1", nil}, expect{u, 200, 200, n}, "a"},
		{call{"GET", "/v1/transfers/t-1", nil}, expect{u, 200, 200, n}, "b"},
		{call{"GET", "/v1/transfers", nil}, expect{u, 400, 200, 200}, "a"},
		{call{"POST", "/v1/quotes", wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800000001"}, Amount: "1.00", Currency: "CNY"}}, expect{u, f, 201, 201}, "a"},
	}
	keys := map[string]string{"a": a, "b": b, "c": c}
	others := map[string]string{"a": c, "b": c, "c": a, "": c}
	for _, tc := range cases {
		owner := tc.subject
		if owner == "" {
			owner = "a"
		}
		name := tc.method + " " + tc.path
		for _, who := range []struct {
			label, token string
			want         int
		}{
			{"nobody", "", tc.none},
			{"bad token", "wallet-a.not-the-key", tc.none},
			{"operator token with a typo", opToken + "x", tc.none},
			{"operator", opToken, tc.op},
			{"owner " + owner, keys[owner], tc.owner},
			{"other", others[tc.subject], tc.other},
		} {
			if who.want == 0 {
				continue
			}
			r := s.do(tc.method, tc.path, who.token, tc.body)
			if r.status != who.want {
				t.Errorf("%s as %s: %d %s, want %d", name, who.label, r.status, r.body, who.want)
			}
		}
	}
	// Private data: the payer sees the transfer but not the payee's
	// account reference; a lookup never shows the name or the account.
	var tr wire.Transfer
	s.ok(200, "GET", "/v1/transfers/t-1", a, nil, &tr)
	if tr.Payee.Account != "" {
		t.Errorf("payer sees the payee's account: %+v", tr)
	}
	r := s.do("GET", "/v1/parties/MSISDN/+8613800000001", c, nil)
	if strings.Contains(string(r.body), "b-1") || strings.Contains(string(r.body), `"Bo"`) {
		t.Errorf("lookup leaks private data: %s", r.body)
	}
	// Participants creating aliases or transfers: only participants.
	s.problem(403, "forbidden", "POST", "/v1/transfers", opToken, pay("t-2", "MSISDN", "+8613800000001", "1.00"))
	s.problem(403, "forbidden", "POST", "/v1/parties", opToken, wire.NewParty{Type: "RANDOM", Name: "x", Account: "x", Currency: "CNY"})
	s.problem(401, "unauthorized", "GET", "/v1/fees", "Basic Zm9vOmJhcg==", nil)
	// A participant cannot list another's transfers by naming it.
	s.problem(403, "forbidden", "GET", "/v1/transfers?participant=wallet-b", a, nil)
	s.ok(200, "GET", "/v1/transfers?participant=wallet-a", a, nil, nil)
	// Unknown routes and methods are problems too.
	s.problem(404, "not-found", "GET", "/v1/nothing", a, nil)
	s.problem(405, "method-not-allowed", "DELETE", "/v1/transfers/t-1", a, nil)
}

// TestBadInput tries malformed and refused requests; each gets its
// problem type, and none changes anything.
func TestBadInput(t *testing.T) {
	s := start(t, "", func(c *app.Config) { c.Now = time.Now })
	a, _ := s.participant("wallet-a", nil)
	b, _ := s.participant("wallet-b", nil)
	usd, _ := s.participant("wallet-usd", func(np *wire.NewParticipant) { np.Currencies = []string{"USD"} })
	s.deposit("wallet-a", "100.00")
	s.party(b, "MSISDN", "+8613800000002", "Bo", "b-1")
	before := s.balance(a, "wallet-a")

	good := `{"id":"x-1","payee":{"type":"MSISDN","value":"+8613800000002"},"amount":"1.00","currency":"CNY"}`
	for _, tc := range []struct {
		name, body string
		status     int
		prob       string
		token      string
	}{
		{"malformed JSON", `{"id":`, 400, "invalid-request", a},
		{"not an object", `[1,2]`, 400, "invalid-request", a},
		{"unknown field", strings.Replace(good, `"id"`, `"colour":"red","id"`, 1), 400, "invalid-request", a},
		{"duplicate field", strings.Replace(good, `"id":"x-1"`, `"id":"x-1","id":"x-2"`, 1), 400, "invalid-request", a},
		{"number amount", strings.Replace(good, `"1.00"`, `1.00`, 1), 400, "invalid-request", a},
		{"negative amount", strings.Replace(good, `"1.00"`, `"-1.00"`, 1), 400, "invalid-request", a},
		{"zero amount", strings.Replace(good, `"1.00"`, `"0.00"`, 1), 400, "invalid-request", a},
		{"too many decimals", strings.Replace(good, `"1.00"`, `"1.001"`, 1), 400, "invalid-request", a},
		{"exponent", strings.Replace(good, `"1.00"`, `"1e2"`, 1), 400, "invalid-request", a},
		{"huge amount", strings.Replace(good, `"1.00"`, `"99999999999999999999.00"`, 1), 400, "invalid-request", a},
		{"unknown currency", strings.Replace(good, `"CNY"`, `"XYZ"`, 1), 400, "invalid-request", a},
		{"lower-case currency", strings.Replace(good, `"CNY"`, `"cny"`, 1), 400, "invalid-request", a},
		{"currency not enabled for the payer", strings.Replace(good, `"CNY"`, `"USD"`, 1), 422, "currency-not-enabled", a},
		{"the payee takes another currency: an FX quote is needed", strings.Replace(good, `"CNY"`, `"USD"`, 1), 422, "fx-quote-required", usd},
		{"invalid phone number", strings.Replace(good, `+8613800000002`, `+86123`, 1), 400, "invalid-request", a},
		{"letters in a phone number", strings.Replace(good, `+8613800000002`, `+86138abc0002`, 1), 400, "invalid-request", a},
		{"unknown alias type", strings.Replace(good, `MSISDN`, `IBAN`, 1), 400, "invalid-request", a},
		{"unknown payee", strings.Replace(good, `+8613800000002`, `+8613800000009`, 1), 422, "unknown-party", a},
		{"payee is the payer", strings.Replace(good, `"x-1"`, `"x-1"`, 1), 422, "same-participant", b},
		{"bad id", strings.Replace(good, `"x-1"`, `"x 1"`, 1), 400, "invalid-request", a},
		{"empty id", strings.Replace(good, `"x-1"`, `""`, 1), 400, "invalid-request", a},
		{"insufficient funds", strings.Replace(good, `"1.00"`, `"100.01"`, 1), 422, "insufficient-funds", a},
		{"forged quote", strings.Replace(good, `"currency"`, `"quoteId":"AAAA","currency"`, 1), 422, "quote-mismatch", a},
		{"huge body", `{"id":"x-1","note":"` + strings.Repeat("n", 70<<10) + `"}`, 413, "payload-too-large", a},
		{"long note", strings.Replace(good, `"currency"`, `"note":"`+strings.Repeat("n", 300)+`","currency"`, 1), 400, "invalid-request", a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			s.problem(tc.status, tc.prob, "POST", "/v1/transfers", tc.token, tc.body)
		})
	}
	s.t = t
	// Wrong media type.
	req, _ := http.NewRequest("POST", s.url+"/v1/transfers", strings.NewReader(good))
	req.Header.Set("Authorization", "Bearer "+a)
	req.Header.Set("Content-Type", "text/plain")
	if r, err := s.hc.Do(req); err != nil || r.StatusCode != 415 {
		t.Fatalf("text/plain body: %v %v", r.StatusCode, err)
	}

	// Bodies without a declared length (chunked) are read and limited
	// the same way.
	for _, tc := range []struct {
		body   string
		status int
		prob   string
	}{
		{strings.Replace(good, `"1.00"`, `"0.00"`, 1), 400, "invalid-request"},
		{`{"id":"x-1","note":"` + strings.Repeat("n", 70<<10) + `"}`, 413, "payload-too-large"},
	} {
		req, _ := http.NewRequest("POST", s.url+"/v1/transfers", io.MultiReader(strings.NewReader(tc.body)))
		req.Header.Set("Authorization", "Bearer "+a)
		req.Header.Set("Content-Type", "application/json")
		r, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != tc.status || !strings.Contains(string(body), "/"+tc.prob+`"`) {
			t.Errorf("chunked body of %d bytes: %d %s, want %d %s", len(tc.body), r.StatusCode, body, tc.status, tc.prob)
		}
	}

	// An expired quote.
	var q wire.Quote
	s.ok(201, "POST", "/v1/quotes", a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800000002"}, Amount: "1.00", Currency: "CNY"}, &q)
	s.app.Transfers.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	tr := pay("x-q", "MSISDN", "+8613800000002", "1.00")
	tr.QuoteID = q.ID
	s.problem(422, "quote-expired", "POST", "/v1/transfers", a, tr)
	s.app.Transfers.Now = time.Now
	// A quote for another amount.
	tr.Amount = "2.00"
	s.problem(422, "quote-mismatch", "POST", "/v1/transfers", a, tr)

	// Suspended payer and suspended payee.
	s.ok(200, "POST", "/v1/participants/wallet-b/suspend", opToken, nil, nil)
	s.problem(422, "participant-suspended", "POST", "/v1/transfers", a, good)
	s.ok(200, "POST", "/v1/participants/wallet-b/resume", opToken, nil, nil)
	// A suspended payer is refused at the door: its key reads, and
	// nothing else (403); the payment flow would refuse it too (422).
	s.ok(200, "POST", "/v1/participants/wallet-a/suspend", opToken, nil, nil)
	s.problem(403, "participant-suspended", "POST", "/v1/transfers", a, good)
	s.problem(403, "participant-suspended", "POST", "/v1/quotes", a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800000002"}, Amount: "1.00", Currency: "CNY"})
	s.ok(200, "POST", "/v1/participants/wallet-a/resume", opToken, nil, nil)

	// Operator refusals.
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		prob         string
	}{
		{"POST", "/v1/participants", wire.NewParticipant{ID: "wallet-a", Name: "A", Kind: "wallet", Currencies: []string{"CNY"}}, 409, "duplicate-conflict"},
		{"POST", "/v1/participants", wire.NewParticipant{ID: "Bad Id", Name: "A", Kind: "wallet", Currencies: []string{"CNY"}}, 400, "invalid-request"},
		{"POST", "/v1/participants", wire.NewParticipant{ID: "w-k", Name: "A", Kind: "shop", Currencies: []string{"CNY"}}, 400, "invalid-request"},
		{"POST", "/v1/participants", wire.NewParticipant{ID: "w-c", Name: "A", Kind: "wallet", Currencies: []string{"CNX"}}, 400, "invalid-request"},
		{"POST", "/v1/participants", wire.NewParticipant{ID: "w-u", Name: "A", Kind: "wallet", Currencies: []string{"CNY"}, CallbackURL: "ftp://x"}, 400, "invalid-request"},
		{"POST", "/v1/participants", wire.NewParticipant{ID: "w-m", Name: "A", Kind: "wallet", Currencies: []string{"CNY"}, Acceptance: "confirm"}, 400, "invalid-request"},
		{"POST", "/v1/participants/wallet-a/funds", wire.Funds{Currency: "CNY", Amount: "100.01", Direction: "withdrawal"}, 422, "insufficient-funds"},
		{"POST", "/v1/participants/wallet-a/funds", wire.Funds{Currency: "CNY", Amount: "1.00", Direction: "sideways"}, 400, "invalid-request"},
		{"POST", "/v1/participants/wallet-a/funds", wire.Funds{Currency: "USD", Amount: "1.00", Direction: "deposit"}, 422, "currency-not-enabled"},
		{"POST", "/v1/participants/wallet-a/funds", wire.Funds{Currency: "CNY", Amount: "-1.00", Direction: "deposit"}, 400, "invalid-request"},
		{"POST", "/v1/participants/nobody/funds", wire.Funds{Currency: "CNY", Amount: "1.00", Direction: "deposit"}, 404, "not-found"},
		{"PUT", "/v1/participants/wallet-a/limits/CNY", wire.Limit{NetDebitCap: "-5.00"}, 400, "invalid-request"},
		{"PUT", "/v1/participants/wallet-a/limits/XYZ", wire.Limit{NetDebitCap: "5.00"}, 400, "invalid-request"},
		{"PUT", "/v1/fees/CNY", wire.Fees{Fixed: "1.00", Rate: "101", Min: "0", Max: "0"}, 400, "invalid-request"},
		{"PUT", "/v1/fees/CNY", wire.Fees{Fixed: "1.00", Rate: "0.5", Min: "3.00", Max: "2.00"}, 400, "invalid-request"},
	} {
		s.problem(tc.status, tc.prob, tc.method, tc.path, opToken, tc.body)
	}
	if after := s.balance(a, "wallet-a"); after != before {
		t.Fatalf("refusals changed the payer: %+v → %+v", before, after)
	}
	var l wire.Transfers
	s.ok(200, "GET", "/v1/transfers", a, nil, &l)
	if len(l.Transfers) != 0 {
		t.Fatalf("refusals stored transfers: %+v", l.Transfers)
	}
	// A net debit cap lets the payer go below zero, up to the cap; a
	// lower cap than what it uses is refused.
	s.ok(200, "PUT", "/v1/participants/wallet-a/limits/CNY", opToken, wire.Limit{NetDebitCap: "50.00"}, nil)
	s.ok(201, "POST", "/v1/transfers", a, pay("cap-1", "MSISDN", "+8613800000002", "140.00"), nil)
	if ab := s.balance(a, "wallet-a"); ab.Balance != "-40.00" || ab.Available != "10.00" || ab.NetDebitCap != "50.00" {
		t.Fatalf("payer with a cap: %+v", ab)
	}
	s.problem(422, "limit-below-position", "PUT", "/v1/participants/wallet-a/limits/CNY", opToken, wire.Limit{NetDebitCap: "39.99"})
	s.problem(422, "insufficient-funds", "POST", "/v1/transfers", a, pay("cap-2", "MSISDN", "+8613800000002", "10.01"))
}

// TestRateLimit checks that a participant beyond its rate gets a 429
// problem with Retry-After, and others are not affected.
func TestRateLimit(t *testing.T) {
	s := start(t, "", func(c *app.Config) { c.RateLimit, c.RateBurst = 1, 3 })
	a, _ := s.participant("wallet-a", nil)
	b, _ := s.participant("wallet-b", nil)
	for i := 0; i < 3; i++ {
		s.ok(200, "GET", "/v1/fees", a, nil, nil)
	}
	p := s.problem(429, "rate-limited", "GET", "/v1/fees", a, nil)
	if !strings.Contains(p.Detail, "wallet-a") {
		t.Errorf("problem %+v", p)
	}
	if r := s.do("GET", "/v1/fees", a, nil); r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	s.ok(200, "GET", "/v1/fees", b, nil, nil)
	s.ok(200, "GET", "/v1/fees", opToken, nil, nil) // the operator is not limited
}

// TestRestartKeepsEverything stops the switch and starts it again on the
// same data: participants, keys, aliases, fees, balances and transfers are
// all there, and the generated operator token was printed once and works.
func TestRestartKeepsEverything(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			dir, store := t.TempDir(), e.store(t)
			var out strings.Builder
			cfg := app.Config{DataDir: dir, Store: store, Addr: "127.0.0.1:0", Out: &out}
			a1, err := app.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			// The generated token is in DIR/operator-token; the switch
			// prints where, not the token.
			op := a1.AdminToken
			if b, _ := os.ReadFile(filepath.Join(dir, "operator-token")); op == "" || strings.TrimSpace(string(b)) != op || strings.Contains(out.String(), op) {
				t.Fatalf("generated token: printed %q, in the file %q", out.String(), b)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "admin-token.sha256")); strings.Contains(string(b), op) {
				t.Fatal("the token itself is stored")
			}
			a1.Serve(context.Background())
			s := &sw{t: t, app: a1, url: a1.URL(), hc: http.DefaultClient}
			var pa wire.Participant
			s.ok(201, "POST", "/v1/participants", op, wire.NewParticipant{ID: "wallet-a", Name: "A", Kind: "wallet", Currencies: []string{"CNY"}}, &pa)
			var pb wire.Participant
			s.ok(201, "POST", "/v1/participants", op, wire.NewParticipant{ID: "wallet-b", Name: "B", Kind: "wallet", Currencies: []string{"CNY"}}, &pb)
			s.ok(201, "POST", "/v1/participants/wallet-a/funds", op, wire.Funds{Currency: "CNY", Amount: "10.00", Direction: "deposit"}, nil)
			s.ok(200, "PUT", "/v1/fees/CNY", op, wire.Fees{Fixed: "0.01", Rate: "0", Min: "0", Max: "0"}, nil)
			s.ok(201, "POST", "/v1/parties", pb.APIKey, wire.NewParty{Type: "EMAIL", Value: "b@x.cn", Name: "B", Account: "1", Currency: "CNY"}, nil)
			s.ok(201, "POST", "/v1/transfers", pa.APIKey, pay("r-1", "EMAIL", "b@x.cn", "3.00"), nil)
			a1.Close(context.Background())

			out.Reset()
			cfg.Out = &out
			a2, err := app.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a2.Close(context.Background())
			if out.Len() != 0 || a2.AdminToken != "" {
				t.Fatalf("token printed again: %q", out.String())
			}
			a2.Serve(context.Background())
			s = &sw{t: t, app: a2, url: a2.URL(), hc: http.DefaultClient}
			var tr wire.Transfer
			s.ok(200, "GET", "/v1/transfers/r-1", pb.APIKey, nil, &tr)
			if tr.State != "COMMITTED" || tr.Fee != "0.01" {
				t.Fatalf("after restart: %+v", tr)
			}
			if ab := s.balance(pa.APIKey, "wallet-a"); ab.Balance != "6.99" {
				t.Fatalf("after restart: %+v", ab)
			}
			s.ok(201, "POST", "/v1/transfers", pa.APIKey, pay("r-2", "EMAIL", "b@x.cn", "1.00"), nil)
			s.ok(200, "GET", "/v1/participants", op, nil, nil)
		})
	}
}

// TestTLS serves the API over HTTPS when given a certificate and key.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	s := start(t, "", func(c *app.Config) { c.TLSCert, c.TLSKey = cert, key })
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("url %s", s.url)
	}
	pem, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	s.hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	s.ok(200, "GET", "/healthz", "", nil, nil)
	s.ok(200, "GET", "/v1/participants", opToken, nil, nil)
	// Plain HTTP to the TLS port is not served.
	plain := strings.Replace(s.url, "https://", "http://", 1)
	if r, err := http.Get(plain + "/healthz"); err == nil && r.StatusCode == 200 {
		t.Fatal("plain HTTP answered on the TLS port")
	}
}

func selfSigned(t *testing.T, dir string) (string, string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}
