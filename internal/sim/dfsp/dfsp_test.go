package dfsp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/sim/dfsp"
)

var secret = []byte("mojaloop-sdk")

// newDFSP starts a DFSP on loopback, joined to the fake switch.
func newDFSP(t testing.TB, sw *fakeSwitch, id string, mod func(*dfsp.Config)) *dfsp.DFSP {
	t.Helper()
	cfg := dfsp.Config{ID: id, SwitchURL: sw.srv.URL, APIKey: "key-" + id, ILPSecret: secret, Currency: "USD",
		Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	d, err := dfsp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(func() {
		d.Close()
		srv.Close()
	})
	sw.join(id, srv.URL, cfg.APIKey)
	return d
}

// pair is two DFSPs, each with a registered party, on a fake switch.
func pair(t testing.TB, signer *jws.Signer, modA, modB func(*dfsp.Config)) (*fakeSwitch, *dfsp.DFSP, *dfsp.DFSP) {
	t.Helper()
	sw := newFakeSwitch(t, signer)
	a := newDFSP(t, sw, "payerfsp", modA)
	b := newDFSP(t, sw, "payeefsp", modB)
	a.AddParty(msg.MSISDN, "44123456789", "Alice Alpha")
	b.AddParty(msg.MSISDN, "27713803912", "Bob Beta")
	b.AddParty(msg.AccountID, "bob-savings", "Bob")
	sw.addParty(msg.MSISDN, "44123456789", "payerfsp")
	sw.addParty(msg.MSISDN, "27713803912", "payeefsp")
	sw.addParty(msg.AccountID, "bob-savings", "payeefsp")
	return sw, a, b
}

// clean fails the test if the switch or a DFSP saw a problem, or a DFSP
// still waits for something.
func clean(t *testing.T, sw *fakeSwitch, ds ...*dfsp.DFSP) {
	t.Helper()
	for _, p := range sw.problems() {
		t.Errorf("switch: %s", p)
	}
	for _, d := range ds {
		for _, p := range d.Problems() {
			t.Errorf("%s: %v", d.ID(), p)
		}
		if n := d.Pending(); n != 0 {
			t.Errorf("%s: %d exchanges still pending", d.ID(), n)
		}
	}
}

// agree checks that both DFSPs' books match the switch's positions.
func agree(t *testing.T, sw *fakeSwitch, ds ...*dfsp.DFSP) {
	t.Helper()
	for _, d := range ds {
		b := d.Books()
		if got, want := b.Received["USD"]-b.Paid["USD"], sw.position(d.ID()); got != want {
			t.Errorf("%s: books say %d (received %d − paid %d), switch %d", d.ID(), got, b.Received["USD"],
				b.Paid["USD"], want)
		}
		if b.Pending != 0 {
			t.Errorf("%s: %d transfers pending in the books", d.ID(), b.Pending)
		}
	}
}

func TestPayBothWays(t *testing.T) {
	sw, a, b := pair(t, nil, nil, nil)
	ctx := context.Background()
	tests := []struct {
		name     string
		from, to *dfsp.DFSP
		req      dfsp.PayRequest
	}{
		{"MSISDN with plus", a, b, dfsp.PayRequest{IDType: msg.MSISDN, ID: "+27713803912", Amount: "100.5", Note: "rent"}},
		{"MSISDN", a, b, dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "1"}},
		{"ACCOUNT_ID", a, b, dfsp.PayRequest{IDType: msg.AccountID, ID: "bob-savings", Amount: "0.01"}},
		{"back", b, a, dfsp.PayRequest{IDType: msg.MSISDN, ID: "44123456789", Amount: "20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.from.Pay(ctx, tt.req)
			if err != nil {
				t.Fatalf("pay: %v (%+v)", err, res)
			}
			if res.State != msg.StateCommitted || res.Phase != "transfer" || res.Fulfilment == "" {
				t.Fatalf("result %+v", res)
			}
			if pi := res.Payee.PartyIDInfo; pi.PartyIdentifier != tt.req.ID || pi.FSPID != tt.to.ID() {
				t.Errorf("payee %+v, want the identifier as asked at %s", pi, tt.to.ID())
			}
			if res.Quote.Response.TransferAmount.Amount != tt.req.Amount || res.Quote.Source != tt.to.ID() {
				t.Errorf("quote %+v from %s", res.Quote.Response, res.Quote.Source)
			}
			if res.TransferID != res.Quote.Request.TransactionID || !msg.IsCorrelationID(res.TransferID) {
				t.Errorf("transfer id %s, transaction id %s", res.TransferID, res.Quote.Request.TransactionID)
			}
			// The payee books before it sends the fulfilment, so the record is
			// there once the payer has its answer.
			if in, ok := tt.to.Incoming(res.TransferID); !ok || in.State != msg.StateCommitted || in.Amount.Amount != tt.req.Amount {
				t.Errorf("payee's record %+v %v", in, ok)
			}
		})
	}
	wait(t, func() bool { return sw.position("payeefsp") == 10151-2000 })
	agree(t, sw, a, b)
	if got := a.Books(); got.PaidCount != 3 || got.Paid["USD"] != 10151 || got.ReceivedCount != 1 {
		t.Errorf("payer's books %+v", got)
	}
	clean(t, sw, a, b)
}

// wait polls cond for up to 5 s: some callbacks land after the payment
// returns (a payee's books move when its fulfilment is taken).
func wait(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
	}
}

func TestReservedAndPatch(t *testing.T) {
	sw, a, b := pair(t, nil, nil, func(c *dfsp.Config) {
		c.FulfilState, c.ContentVersion = msg.StateReserved, msg.Version11
	})
	ctx := context.Background()
	res, err := a.Pay(ctx, dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "7.25"})
	if err != nil || res.State != msg.StateCommitted {
		t.Fatalf("pay: %v %+v", err, res)
	}
	p, err := b.AwaitPatch(ctx, res.TransferID)
	if err != nil || p.TransferState != msg.StateCommitted {
		t.Fatalf("patch %+v: %v", p, err)
	}
	in, _ := b.Incoming(res.TransferID)
	if in.State != msg.StateCommitted || in.Patch == nil {
		t.Errorf("payee's record %+v", in)
	}
	agree(t, sw, a, b)
	clean(t, sw, a, b)
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		action dfsp.Action
		req    dfsp.PayRequest
		phase  string
		code   msg.Code
		is     error
	}{
		{"payee refuses", dfsp.Refuse, dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "5"},
			"transfer", msg.PayeeRejectedTxn, msg.ErrRefused},
		{"wrong fulfilment", dfsp.WrongFulfilment, dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "5"},
			"transfer", msg.ValidationError, msg.ErrInvalid},
		{"unknown at the switch", dfsp.Fulfil, dfsp.PayRequest{IDType: msg.MSISDN, ID: "999", Amount: "5"},
			"lookup", msg.PartyNotFound, msg.ErrNotFound},
		{"unknown at the payee", dfsp.Fulfil, dfsp.PayRequest{IDType: msg.EMAIL, ID: "gone@example.com", Amount: "5"},
			"lookup", msg.PartyNotFound, msg.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw, a, b := pair(t, nil, nil, nil)
			sw.addParty(msg.EMAIL, "gone@example.com", "payeefsp")
			b.SetOnPrepare(func(msg.TransfersPost) dfsp.Action { return tt.action })
			res, err := a.Pay(ctx, tt.req)
			var ce *dfsp.CallbackError
			if !errors.As(err, &ce) || !errors.Is(err, dfsp.ErrCallback) || !errors.Is(err, tt.is) {
				t.Fatalf("err %v, want an error callback wrapping %v", err, tt.is)
			}
			if res.Phase != tt.phase || res.Error == nil || res.Error.Code() != tt.code {
				t.Fatalf("result %+v, want %d in phase %s", res, tt.code, tt.phase)
			}
			if tt.phase == "transfer" {
				if res.State != msg.StateAborted {
					t.Errorf("state %q", res.State)
				}
				wait(t, func() bool { in, _ := b.Incoming(res.TransferID); return in.State == msg.StateAborted })
				if a.Books().Aborted != 1 || b.Books().Aborted != 1 {
					t.Errorf("aborted: payer %d, payee %d", a.Books().Aborted, b.Books().Aborted)
				}
			}
			agree(t, sw, a, b)
			for _, p := range sw.problems() {
				t.Errorf("switch: %s", p)
			}
		})
	}
}

func TestPrepares(t *testing.T) {
	ctx := context.Background()
	sw, a, b := pair(t, nil, nil, nil)
	quote := func() dfsp.QuoteResult {
		payee, err := a.Lookup(ctx, msg.MSISDN, "27713803912", "")
		if err != nil {
			t.Fatal(err)
		}
		q, err := a.Quote(ctx, dfsp.QuoteRequest{Payee: payee, Amount: "3"})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	t.Run("other condition", func(t *testing.T) {
		p := a.NewPrepare(quote())
		p.Condition = "_-oOoeqQFRdmF3SFZDFvDN9mE4lvUnr9soP_20fB5eI"
		res, err := a.Prepare(ctx, p)
		if !errors.Is(err, dfsp.ErrCallback) || res.Error.Code() != msg.InternalServerError {
			t.Fatalf("%v %+v: want the SDK's 2001", err, res)
		}
	})
	t.Run("repeat and modify", func(t *testing.T) {
		p := a.NewPrepare(quote())
		for i := range 2 {
			res, err := a.Prepare(ctx, p)
			if err != nil || res.State != msg.StateCommitted {
				t.Fatalf("prepare %d: %v %+v", i, err, res)
			}
		}
		if got := a.Books(); got.PaidCount != 1 || got.Paid["USD"] != 300 {
			t.Errorf("a repeat was booked twice: %+v", got)
		}
		p.Amount.Amount = "4"
		if res, err := a.Prepare(ctx, p); !errors.Is(err, dfsp.ErrCallback) || res.Error.Code() != msg.ModifiedRequest {
			t.Fatalf("%v %+v: want 3106", err, res)
		}
		got, err := a.GetTransfer(ctx, p.TransferID)
		if err != nil || got.State != msg.StateCommitted || got.Fulfilment == "" {
			t.Fatalf("get: %v %+v", err, got)
		}
	})
	t.Run("expired", func(t *testing.T) {
		p := a.NewPrepare(quote())
		p.Expiration = msg.FormatDateTime(time.Now().Add(-time.Minute))
		if res, err := a.Prepare(ctx, p); !errors.Is(err, dfsp.ErrCallback) || res.Error.Code() != msg.ValidationError {
			t.Fatalf("%v %+v", err, res)
		}
	})
	t.Run("unknown transfer", func(t *testing.T) {
		if res, err := a.GetTransfer(ctx, "85feac2f-39b2-491b-817e-4a03203d4f14"); !errors.Is(err, msg.ErrNotFound) ||
			res.Error.Code() != msg.TransferIDNotFound {
			t.Fatalf("%v %+v", err, res)
		}
	})
	wait(t, func() bool { return b.Books().ReceivedCount == 1 })
	agree(t, sw, a, b)
	if n := a.Books().Aborted; n != 2 {
		t.Errorf("payer aborted %d, want 2 (other condition, expired)", n)
	}
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	sw, a, b := pair(t, nil, nil, nil)
	b.AddParty(msg.MSISDN, "8613800000000", "Chen Cao")
	b.AddParty(msg.EMAIL, "dee@example.com", "Dee")
	if err := b.Register(ctx, msg.MSISDN, "8613800000000"); err != nil {
		t.Fatal(err)
	}
	rs, err := b.RegisterBulk(ctx, []dfsp.PartyID{{Type: msg.EMAIL, ID: "dee@example.com"}, {Type: msg.MSISDN, ID: "1"}})
	if err != nil || len(rs) != 2 || rs[0].ErrorInformation != nil {
		t.Fatalf("%v %+v", err, rs)
	}
	for _, id := range []string{"8613800000000", "dee@example.com"} {
		typ := msg.MSISDN
		if strings.Contains(id, "@") {
			typ = msg.EMAIL
		}
		if res, err := a.Pay(ctx, dfsp.PayRequest{IDType: typ, ID: id, Amount: "2"}); err != nil {
			t.Fatalf("pay %s: %v %+v", id, err, res)
		}
	}
	wait(t, func() bool { return b.Books().ReceivedCount == 2 })
	agree(t, sw, a, b)
	clean(t, sw, a, b)
}

// keys returns a PEM private key and its public key: RSA (Mojaloop's
// default, made once) or EC P-256.
var rsaOnce = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func keys(t testing.TB, kind string) (priv, pub []byte) {
	t.Helper()
	var k any
	var pk any
	switch kind {
	case "rsa":
		r, err := rsaOnce()
		if err != nil {
			t.Fatal(err)
		}
		k, pk = r, &r.PublicKey
	default:
		e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, pk = e, &e.PublicKey
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pubDer, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDer})
}

func TestJWS(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		kind     string
		reserved bool
		tamper   bool
	}{
		{"RS256", "rsa", false, false},
		{"ES256 reserved", "ec", true, false},
		{"tampered quote", "ec", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aPriv, aPub := keys(t, tt.kind)
			bPriv, bPub := keys(t, tt.kind)
			sPriv, sPub := keys(t, "ec")
			signer, err := jws.NewSigner(sPriv)
			if err != nil {
				t.Fatal(err)
			}
			trust := map[string][]byte{"payerfsp": aPub, "payeefsp": bPub, "switch": sPub}
			var sent sync.Map // signed-kind messages seen leaving a DFSP
			check := func(dir, method, path string, h http.Header, body []byte) error {
				if dir == dfsp.Sent {
					signed := h.Get(msg.HeaderSignature) != ""
					want := method != http.MethodGet && !(method == http.MethodPut && strings.HasPrefix(path, "/parties/"))
					if signed != want {
						return fmt.Errorf("%s %s signed %v", method, path, signed)
					}
					sent.Store(method+" "+msg.Resource(path), true)
				}
				return nil
			}
			mod := func(priv []byte) func(c *dfsp.Config) {
				return func(c *dfsp.Config) {
					c.SigningKey, c.SwitchKeys, c.RequireJWS, c.Check = priv, trust, true, check
					c.Timeout = 2 * time.Second
					if tt.reserved {
						c.FulfilState, c.ContentVersion = msg.StateReserved, msg.Version11
					}
				}
			}
			sw, a, b := pair(t, signer, mod(aPriv), mod(bPriv))
			if tt.tamper {
				sw.tamper = func(method, path string, body []byte) []byte {
					if method == http.MethodPost && path == "/quotes" {
						return []byte(strings.Replace(string(body), `"amount":"9"`, `"amount":"8"`, 1))
					}
					return body
				}
				_, err := a.Pay(ctx, dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "9"})
				if !errors.Is(err, dfsp.ErrTimeout) {
					t.Fatalf("err %v, want a timeout: the payee refuses the forged quote", err)
				}
				ps := sw.problems()
				if len(ps) != 1 || !strings.Contains(ps[0], "3105") {
					t.Errorf("switch saw %q, want the payee's 400 3105", ps)
				}
				if len(b.Problems()) != 1 || !errors.Is(b.Problems()[0], jws.ErrSignature) {
					t.Errorf("payee's problems %v", b.Problems())
				}
				return
			}
			for _, p := range []struct {
				from *dfsp.DFSP
				to   string
			}{{a, "27713803912"}, {b, "44123456789"}} {
				res, err := p.from.Pay(ctx, dfsp.PayRequest{IDType: msg.MSISDN, ID: p.to, Amount: "9"})
				if err != nil || res.State != msg.StateCommitted {
					t.Fatalf("pay: %v %+v", err, res)
				}
			}
			for _, k := range []string{"POST quotes", "PUT quotes", "POST transfers", "PUT transfers", "PUT parties"} {
				if _, ok := sent.Load(k); !ok {
					t.Errorf("no %s sent", k)
				}
			}
			wait(t, func() bool { return a.Books().ReceivedCount == 1 && b.Books().ReceivedCount == 1 })
			agree(t, sw, a, b)
			clean(t, sw, a, b)
		})
	}
}

// TestOutboundHeaders checks the headers of what a DFSP sends against the
// SDK's: Content-Type at the configured version, Accept only on GET and
// POST, FSPIOP-Destination when known, the bearer.
func TestOutboundHeaders(t *testing.T) {
	type seen struct {
		method, path string
		h            http.Header
	}
	var mu sync.Mutex
	var got []seen
	rec := func(dir, method, path string, h http.Header, _ []byte) error {
		if dir == dfsp.Sent {
			mu.Lock()
			got = append(got, seen{method, path, h.Clone()})
			mu.Unlock()
		}
		return nil
	}
	for _, version := range []string{msg.Version10, msg.Version11} {
		got = nil
		sw, a, b := pair(t, nil, func(c *dfsp.Config) { c.Check, c.ContentVersion = rec, version },
			func(c *dfsp.Config) { c.Check, c.ContentVersion = rec, version })
		if _, err := a.Pay(context.Background(), dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "1"}); err != nil {
			t.Fatal(err)
		}
		wait(t, func() bool { return b.Books().ReceivedCount == 1 })
		clean(t, sw, a, b)
		mu.Lock()
		if len(got) != 6 {
			t.Errorf("%d messages sent, want 6", len(got))
		}
		for _, s := range got {
			h, res := s.h, msg.Resource(s.path)
			if v := h.Get(msg.HeaderContentType); v != msg.ContentType(res, version) {
				t.Errorf("%s %s: Content-Type %q", s.method, s.path, v)
			}
			accept := h.Get(msg.HeaderAccept)
			if (s.method == http.MethodPut) != (accept == "") || (accept != "" && accept != msg.Accept(res)) {
				t.Errorf("%s %s: Accept %q", s.method, s.path, accept)
			}
			if _, err := msg.ParseDate(h.Get(msg.HeaderDate)); err != nil {
				t.Errorf("%s %s: Date %q", s.method, s.path, h.Get(msg.HeaderDate))
			}
			if dest := h.Get(msg.HeaderDestination); (dest == "") != (s.method == http.MethodGet) {
				t.Errorf("%s %s: FSPIOP-Destination %q", s.method, s.path, dest)
			}
			if !strings.HasPrefix(h.Get("Authorization"), "Bearer key-") || h.Get(msg.HeaderSignature) != "" {
				t.Errorf("%s %s: Authorization %q, signature %q", s.method, s.path, h.Get("Authorization"),
					h.Get(msg.HeaderSignature))
			}
		}
		mu.Unlock()
	}
}

// TestInboundHeaders sends a DFSP requests with one thing wrong each and
// checks its synchronous answer, as the SDK's header validator gives it.
func TestInboundHeaders(t *testing.T) {
	d, err := dfsp.New(dfsp.Config{ID: "payeefsp", SwitchURL: "http://127.0.0.1:1", ILPSecret: secret, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ok := func() http.Header {
		h := http.Header{}
		h.Set("Content-Type", "application/vnd.interoperability.quotes+json;version=1.0")
		h.Set("Accept", "application/vnd.interoperability.quotes+json;version=1")
		h.Set("Date", msg.FormatDate(time.Now()))
		h.Set("FSPIOP-Source", "payerfsp")
		return h
	}
	putOK := func() http.Header {
		h := ok()
		h.Del("Accept")
		return h
	}
	errBody := `{"errorInformation":{"errorCode":"3204","errorDescription":"Party not found"}}`
	tests := []struct {
		name, method, path string
		h                  http.Header
		body               string
		status             int
		code               msg.Code
	}{
		{"unsolicited error callback taken", "PUT", "/quotes/7c23e80c-d078-4077-8263-2c047876fcf6/error", putOK(), errBody, 200, 0},
		{"no Accept on POST", "POST", "/quotes", del(ok(), "Accept"), "{}", 400, msg.MissingElement},
		{"bad Accept", "POST", "/quotes", set(ok(), "Accept", "application/json"), "{}", 400, msg.MalformedSyntax},
		{"Accept 2", "POST", "/quotes", set(ok(), "Accept", "application/vnd.interoperability.quotes+json;version=2"), "{}", 406, msg.UnacceptableVersion},
		{"no Date", "POST", "/quotes", del(ok(), "Date"), "{}", 400, msg.MissingElement},
		{"bad Date", "POST", "/quotes", set(ok(), "Date", "2026-12-07T00:00:00Z"), "{}", 400, msg.MalformedSyntax},
		{"no Content-Type", "POST", "/quotes", del(ok(), "Content-Type"), "{}", 400, msg.MissingElement},
		{"plain JSON", "POST", "/quotes", set(ok(), "Content-Type", "application/json"), "{}", 400, msg.MalformedSyntax},
		{"other resource", "POST", "/quotes", set(ok(), "Content-Type", "application/vnd.interoperability.transfers+json;version=1.0"), "{}", 400, msg.MalformedSyntax},
		{"version 2.0", "POST", "/quotes", set(ok(), "Content-Type", "application/vnd.interoperability.quotes+json;version=2.0"), "{}", 406, msg.UnacceptableVersion},
		{"no source", "POST", "/quotes", del(ok(), "FSPIOP-Source"), "{}", 400, msg.MissingElement},
		{"missing elements", "POST", "/quotes", ok(), "{}", 400, msg.MissingElement},
		{"not JSON", "POST", "/quotes", ok(), "{", 400, msg.MalformedSyntax},
		{"unknown path", "POST", "/bulkQuotes", ok(), "{}", 404, msg.UnknownURI},
		{"wrong method", "DELETE", "/quotes", ok(), "", 405, msg.ClientError},
		{"GET /transfers is the switch's", "GET", "/transfers/x", ok(), "", 405, msg.ClientError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			r.Header = tt.h
			w := httptest.NewRecorder()
			d.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.code == 0 {
				if w.Body.Len() != 0 {
					t.Errorf("body %q, want none", w.Body)
				}
				return
			}
			var eb msg.ErrorBody
			if err := msg.Decode(w.Body.Bytes(), &eb); err != nil || eb.ErrorInformation.Code() != tt.code {
				t.Errorf("body %s (%v), want code %d", w.Body, err, tt.code)
			}
		})
	}
}

func set(h http.Header, k, v string) http.Header { h.Set(k, v); return h }
func del(h http.Header, k string) http.Header    { h.Del(k); return h }

func TestTimeouts(t *testing.T) {
	t.Run("Timeout", func(t *testing.T) {
		sw, a, b := pair(t, nil, func(c *dfsp.Config) { c.Timeout = 200 * time.Millisecond }, nil)
		sw.drop = func(method, path string) bool { return method == http.MethodPost && path == "/quotes" }
		res, err := a.Pay(context.Background(), dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "1"})
		if !errors.Is(err, dfsp.ErrTimeout) || res.Phase != "quote" || res.Timings.Quote < 200*time.Millisecond {
			t.Fatalf("%v, phase %q, %+v", err, res.Phase, res.Timings)
		}
		clean(t, sw, a, b)
	})
	t.Run("context", func(t *testing.T) {
		sw, a, b := pair(t, nil, nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		b.SetOnPrepare(func(msg.TransfersPost) dfsp.Action { return dfsp.Ignore })
		res, err := a.Pay(ctx, dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "1"})
		if !errors.Is(err, dfsp.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || res.Phase != "transfer" {
			t.Fatalf("%v, phase %q", err, res.Phase)
		}
		if got := a.Books(); got.Pending != 1 || got.PaidCount != 0 {
			t.Errorf("books %+v: the unanswered transfer is pending", got)
		}
		clean(t, sw, a, b)
	})
}

func TestCheckFailsTheExchange(t *testing.T) {
	refuse := func(dir, method, path string, _ http.Header, _ []byte) error {
		if dir == dfsp.Received && method == http.MethodPut && strings.HasPrefix(path, "/quotes/") {
			return errors.New("not to spec")
		}
		return nil
	}
	sw, a, b := pair(t, nil, func(c *dfsp.Config) { c.Check = refuse }, nil)
	res, err := a.Pay(context.Background(), dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "1"})
	if !errors.Is(err, dfsp.ErrCheck) || res.Phase != "quote" {
		t.Fatalf("%v %+v", err, res)
	}
	if ps := a.Problems(); len(ps) != 1 || !errors.Is(ps[0], dfsp.ErrCheck) {
		t.Errorf("problems %v", ps)
	}
	wait(t, func() bool { return len(sw.problems()) > 0 })
	if ps := sw.problems(); len(ps) != 1 || !strings.Contains(ps[0], "3100") {
		t.Errorf("switch saw %q, want the payer's 400", ps)
	}
	_ = b
}

// TestConcurrent pays both ways from many goroutines and checks that
// every payment commits and the books agree.
func TestConcurrent(t *testing.T) {
	sw, a, b := pair(t, nil, nil, func(c *dfsp.Config) {
		c.FulfilState, c.ContentVersion = msg.StateReserved, msg.Version11
	})
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := a, "27713803912"
			if i%2 == 1 {
				from, to = b, "44123456789"
			}
			res, err := from.Pay(context.Background(), dfsp.PayRequest{IDType: msg.MSISDN, ID: to, Amount: fmt.Sprintf("%d.5", i+1)})
			if err == nil && res.State != msg.StateCommitted {
				err = fmt.Errorf("state %s", res.State)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wait(t, func() bool { return a.Books().ReceivedCount == n/2 && b.Books().ReceivedCount == n/2 })
	agree(t, sw, a, b)
	clean(t, sw, a, b)
}

func TestConfig(t *testing.T) {
	good := dfsp.Config{ID: "x", SwitchURL: "http://h", ILPSecret: secret, Currency: "USD"}
	tests := []struct {
		name string
		mod  func(*dfsp.Config)
	}{
		{"no id", func(c *dfsp.Config) { c.ID = "" }},
		{"long id", func(c *dfsp.Config) { c.ID = strings.Repeat("x", 33) }},
		{"no scheme", func(c *dfsp.Config) { c.SwitchURL = "h:4000" }},
		{"no secret", func(c *dfsp.Config) { c.ILPSecret = nil }},
		{"currency", func(c *dfsp.Config) { c.Currency = "usd" }},
		{"version", func(c *dfsp.Config) { c.ContentVersion = "2.0" }},
		{"state", func(c *dfsp.Config) { c.FulfilState = msg.StateAborted }},
		{"key", func(c *dfsp.Config) { c.SigningKey = []byte("not a key") }},
		{"switch key", func(c *dfsp.Config) { c.SwitchKeys = map[string][]byte{"s": []byte("x")} }},
	}
	if _, err := dfsp.New(good); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		c := good
		tt.mod(&c)
		if _, err := dfsp.New(c); !errors.Is(err, dfsp.ErrConfig) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// BenchmarkPay measures a whole payment (six messages and their answers,
// over loopback HTTP through the fake switch), so that a benchmark of the
// real switch can tell the simulator's share of the cost.
func BenchmarkPay(b *testing.B) {
	sw, a, _ := pair(b, nil, nil, nil)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Pay(context.Background(), dfsp.PayRequest{IDType: msg.MSISDN, ID: "27713803912", Amount: "1"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if ps := sw.problems(); len(ps) > 0 {
		b.Fatal(ps[0])
	}
}
