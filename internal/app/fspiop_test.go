package app_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/fspiop/ilp"
	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/fspiop/spec"
	"github.com/hulian/hulian/internal/wire"
)

// fspEndpoint is an FSPIOP participant's endpoint in a test: it answers
// every request 200/202 with an empty body and records it.
type fspEndpoint struct {
	srv *httptest.Server
	got chan fspMsg
}

// fspMsg is a request the switch sent to an FSPIOP participant.
type fspMsg struct {
	method, path string
	header       http.Header
	body         []byte
}

// newFSPEndpoint starts an endpoint whose every request, what the switch
// sends, is checked against FSPIOP's OpenAPI definition by v.
func newFSPEndpoint(t *testing.T, v *spec.Validator) *fspEndpoint {
	e := &fspEndpoint{got: make(chan fspMsg, 100)}
	e.srv = httptest.NewServer(v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.got <- fspMsg{r.Method, r.URL.Path, r.Header.Clone(), b}
		if r.Method == http.MethodPut || r.Method == http.MethodPatch {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusAccepted)
		}
	})))
	t.Cleanup(e.srv.Close)
	return e
}

// next waits for the next message the switch sent.
func (e *fspEndpoint) next(t *testing.T) fspMsg {
	t.Helper()
	select {
	case m := <-e.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no FSPIOP message from the switch")
		return fspMsg{}
	}
}

// fspSwitch is a switch with its FSPIOP front end, an FSPIOP
// participant "payerfsp" (endpoint ep, 1,000.00 CNY) and a native
// participant "wallet-b" holding MSISDN +8613800138000.
type fspSwitch struct {
	*sw
	fsp            string // FSPIOP base URL
	ep             *fspEndpoint
	payerKey, bKey string
	// v checks what the switch sends to the endpoints, and, through
	// strict, what the test sends and the switch answers: a test that
	// sends malformed requests on purpose sets lax.
	v      *spec.Validator
	strict *http.Client
	lax    bool
}

func newFSPSwitch(t *testing.T, store string) *fspSwitch {
	s := start(t, store, func(c *app.Config) { c.FSPIOPAddr = "127.0.0.1:0" })
	v := spec.Start(t)
	fs := &fspSwitch{sw: s, fsp: s.app.FSPIOPURL(), ep: newFSPEndpoint(t, v), v: v,
		strict: &http.Client{Timeout: 30 * time.Second, Transport: v.Transport(http.DefaultTransport)}}
	t.Cleanup(func() {
		for _, f := range v.Failures() {
			t.Errorf("not FSPIOP 1.x as its OpenAPI definition says: %s", f)
		}
	})
	fs.payerKey, _ = s.participant("payerfsp", func(n *wire.NewParticipant) {
		n.FSPIOP = &wire.FSPIOP{Endpoint: fs.ep.srv.URL}
	})
	fs.bKey, _ = s.participant("wallet-b", nil)
	s.deposit("payerfsp", "1000.00")
	s.party(fs.bKey, "MSISDN", "13800138000", "Zhang San Feng", "u-b1")
	return fs
}

// send sends an FSPIOP request to the switch, as payerfsp unless the
// headers say otherwise.
func (fs *fspSwitch) send(method, path, resource string, body any, mod func(http.Header)) resp {
	fs.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			fs.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, fs.fsp+path, rd)
	if err != nil {
		fs.t.Fatal(err)
	}
	req.Header.Set("Content-Type", msg.ContentType(resource, "1.0"))
	if method != http.MethodPut {
		req.Header.Set("Accept", "application/vnd.interoperability."+resource+"+json;version=1")
	}
	req.Header.Set("Date", msg.FormatDate(time.Now()))
	req.Header.Set("FSPIOP-Source", "payerfsp")
	req.Header.Set("Authorization", "Bearer "+fs.payerKey)
	if mod != nil {
		mod(req.Header)
	}
	r, err := fs.client().Do(req)
	if err != nil {
		fs.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, b}
}

// client is the strict client, or a plain one when the test is lax.
func (fs *fspSwitch) client() *http.Client {
	if fs.lax {
		return fs.hc
	}
	return fs.strict
}

// errorCode returns the errorCode of an FSPIOP error body.
func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var e msg.ErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	return e.ErrorInformation.ErrorCode
}

// TestFSPIOPHeaders: what the front end refuses before it does anything,
// with the status and FSPIOP error code Mojaloop answers.
func TestFSPIOPHeaders(t *testing.T) {
	fs := newFSPSwitch(t, "")
	fs.lax = true // malformed on purpose
	nativeKey := fs.bKey
	cases := []struct {
		name   string
		mod    func(http.Header)
		status int
		code   string
	}{
		{"unsupported accept version", func(h http.Header) {
			h.Set("Accept", "application/vnd.interoperability.parties+json;version=3.0")
		}, 406, "3001"},
		{"no date", func(h http.Header) { h.Del("Date") }, 400, "3102"},
		{"bad date", func(h http.Header) { h.Set("Date", "yesterday") }, 400, "3101"},
		{"no source", func(h http.Header) { h.Del("FSPIOP-Source") }, 400, "3102"},
		{"no key", func(h http.Header) { h.Del("Authorization") }, 401, "3000"},
		{"wrong key", func(h http.Header) { h.Set("Authorization", "Bearer nope") }, 401, "3000"},
		{"source is not the key's", func(h http.Header) { h.Set("FSPIOP-Source", "wallet-b") }, 403, "3000"},
		{"a native participant", func(h http.Header) {
			h.Set("FSPIOP-Source", "wallet-b")
			h.Set("Authorization", "Bearer "+nativeKey)
		}, 403, "3000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := fs.send("GET", "/parties/MSISDN/8613800138000", "parties", nil, c.mod)
			if r.status != c.status || errorCode(t, r.body) != c.code {
				t.Errorf("%d %s, want %d with %s", r.status, r.body, c.status, c.code)
			}
		})
	}
	if r := fs.send("GET", "/nowhere", "parties", nil, nil); r.status != 404 || errorCode(t, r.body) != "3002" {
		t.Errorf("unknown URI: %d %s", r.status, r.body)
	}
	if r := fs.send("DELETE", "/quotes/x", "quotes", nil, nil); r.status != 405 {
		t.Errorf("wrong method: %d %s", r.status, r.body)
	}
	select {
	case m := <-fs.ep.got:
		t.Errorf("a refused request made the switch send %s %s", m.method, m.path)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestFSPIOPPayNative: an FSPIOP payer looks a native party up, quotes
// and pays it; the switch answers as the payee's agent, the fulfilment
// meets the condition, and the native payee is paid an ordinary
// transfer.
func TestFSPIOPPayNative(t *testing.T) {
	eachEngineFSP(t, func(t *testing.T, fs *fspSwitch) {
		// Look-up: the identifier is echoed as the path had it, the
		// name masked.
		if r := fs.send("GET", "/parties/MSISDN/8613800138000", "parties", nil, nil); r.status != 202 || len(r.body) != 0 {
			t.Fatalf("GET /parties: %d %q", r.status, r.body)
		}
		m := fs.ep.next(t)
		var party msg.PartiesPut
		if m.method != "PUT" || m.path != "/parties/MSISDN/8613800138000" || json.Unmarshal(m.body, &party) != nil {
			t.Fatalf("lookup answer %s %s %s", m.method, m.path, m.body)
		}
		if id := party.Party.PartyIDInfo; id.PartyIdentifier != "8613800138000" || id.FSPID != "wallet-b" || strings.Contains(party.Party.Name, "Feng") {
			t.Errorf("party %+v", party.Party)
		}
		if m.header.Get("FSPIOP-Source") != "wallet-b" || m.header.Get("FSPIOP-Destination") != "payerfsp" {
			t.Errorf("lookup answer headers %v", m.header)
		}

		quoteID, txID := "7c23e80c-d078-4077-8263-2c047876fcf6", "85feac2f-39b2-491b-817e-4a03203d4f14"
		payer := msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FSPID: "payerfsp"}}
		q := msg.QuotesPost{QuoteID: quoteID, TransactionID: txID, Payer: payer, Payee: party.Party, AmountType: "SEND",
			Amount: msg.Money{Currency: "CNY", Amount: "100.5"}, TransactionType: msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}}
		if r := fs.send("POST", "/quotes", "quotes", q, nil); r.status != 202 {
			t.Fatalf("POST /quotes: %d %s", r.status, r.body)
		}
		m = fs.ep.next(t)
		var quoted msg.QuotesPut
		if m.path != "/quotes/"+quoteID || json.Unmarshal(m.body, &quoted) != nil || quoted.Condition == "" {
			t.Fatalf("quote answer %s %s %s", m.method, m.path, m.body)
		}
		if quoted.TransferAmount != q.Amount {
			t.Errorf("transfer amount %+v", quoted.TransferAmount)
		}

		tr := msg.TransfersPost{TransferID: txID, PayerFSP: "payerfsp", PayeeFSP: "wallet-b", Amount: quoted.TransferAmount,
			ILPPacket: quoted.ILPPacket, Condition: quoted.Condition, Expiration: msg.FormatDateTime(time.Now().Add(time.Minute))}
		if r := fs.send("POST", "/transfers", "transfers", tr, nil); r.status != 202 {
			t.Fatalf("POST /transfers: %d %s", r.status, r.body)
		}
		m = fs.ep.next(t)
		var done msg.TransfersPut
		if m.path != "/transfers/"+txID || json.Unmarshal(m.body, &done) != nil || done.TransferState != "COMMITTED" {
			t.Fatalf("transfer answer %s %s %s", m.method, m.path, m.body)
		}
		f, err := base64.RawURLEncoding.DecodeString(done.Fulfilment)
		sum := sha256.Sum256(f)
		if err != nil || base64.RawURLEncoding.EncodeToString(sum[:]) != quoted.Condition {
			t.Errorf("fulfilment %q does not meet condition %q", done.Fulfilment, quoted.Condition)
		}
		// The native payee sees an ordinary payment.
		var got wire.Transfer
		fs.ok(200, "GET", "/v1/transfers/"+txID, fs.bKey, nil, &got)
		if got.State != "COMMITTED" || got.Amount != "100.50" || got.Payer != "payerfsp" {
			t.Errorf("native view %+v", got)
		}
		if b := fs.balance(fs.bKey, "wallet-b"); b.Balance != "100.50" {
			t.Errorf("payee balance %+v", b)
		}

		// The same prepare again gets the state; another body under the
		// id is 3106.
		fs.send("POST", "/transfers", "transfers", tr, nil)
		if m := fs.ep.next(t); m.path != "/transfers/"+txID || !strings.Contains(string(m.body), "COMMITTED") {
			t.Errorf("repeat: %s %s", m.path, m.body)
		}
		tr2 := tr
		tr2.Amount.Amount = "100"
		fs.send("POST", "/transfers", "transfers", tr2, nil)
		if m := fs.ep.next(t); m.path != "/transfers/"+txID+"/error" || errorCode(t, m.body) != "3106" {
			t.Errorf("modified repeat: %s %s", m.path, m.body)
		}
		// A condition the switch did not issue is refused.
		tr3 := tr
		tr3.TransferID, tr3.Condition = "0e3d3b6a-1d2c-4f6e-9a8b-7c6d5e4f3a2b", strings.Repeat("A", 43)
		fs.send("POST", "/transfers", "transfers", tr3, nil)
		if m := fs.ep.next(t); m.path != "/transfers/"+tr3.TransferID+"/error" || errorCode(t, m.body) != "3100" {
			t.Errorf("foreign condition: %s %s", m.path, m.body)
		}
		// GET /transfers is answered from the switch's records.
		fs.send("GET", "/transfers/"+txID, "transfers", nil, nil)
		if m := fs.ep.next(t); m.method != "PUT" || !strings.Contains(string(m.body), `"COMMITTED"`) {
			t.Errorf("GET /transfers: %s %s", m.method, m.body)
		}
		// It is a leaf of the audit log, with a proof for its payer…
		deadline := time.Now().Add(10 * time.Second)
		for r := fs.do("GET", "/v1/audit/transfers/"+txID+"/proof", fs.payerKey, nil); r.status != 200; r = fs.do("GET", "/v1/audit/transfers/"+txID+"/proof", fs.payerKey, nil) {
			if time.Now().After(deadline) {
				t.Fatalf("no audit proof of %s: %d %s", txID, r.status, r.body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// …and settles in the settlement window like a native payment.
		var ws wire.SettlementWindows
		fs.ok(200, "GET", "/v1/settlement-windows?currency=CNY&state=OPEN", opToken, nil, &ws)
		fs.ok(200, "POST", "/v1/settlement-windows/"+ws.Windows[0].ID+"/close", opToken, nil, nil)
		var rep wire.SettlementReport
		fs.ok(200, "GET", "/v1/settlement-windows/"+ws.Windows[0].ID+"/report", opToken, nil, &rep)
		for _, p := range rep.Positions {
			if p.Participant == "payerfsp" && p.Sent != "100.50" || p.Participant == "wallet-b" && p.Received != "100.50" {
				t.Errorf("settlement position %+v", p)
			}
		}
		if len(rep.Positions) < 2 {
			t.Errorf("settlement report %+v", rep)
		}
	})
}

// TestFSPIOPParticipants: the switch is the account-lookup oracle: an
// FSPIOP participant registers its parties, which native payers then
// find.
func TestFSPIOPParticipants(t *testing.T) {
	fs := newFSPSwitch(t, "")
	if r := fs.send("POST", "/participants/MSISDN/8613900139000", "participants", msg.ParticipantsPost{FSPID: "payerfsp", Currency: "CNY"}, nil); r.status != 202 {
		t.Fatalf("POST /participants: %d %s", r.status, r.body)
	}
	if m := fs.ep.next(t); m.path != "/participants/MSISDN/8613900139000" || !strings.Contains(string(m.body), `"payerfsp"`) {
		t.Fatalf("registration answer %s %s", m.path, m.body)
	}
	var found wire.PartyLookup
	fs.ok(200, "GET", "/v1/parties/MSISDN/+8613900139000", fs.bKey, nil, &found)
	if found.Participant != "payerfsp" {
		t.Errorf("native lookup %+v", found)
	}
	// Another FSP's party cannot be claimed.
	fs.send("POST", "/participants/MSISDN/8613800138000", "participants", msg.ParticipantsPost{FSPID: "payerfsp"}, nil)
	if m := fs.ep.next(t); !strings.HasSuffix(m.path, "/error") || errorCode(t, m.body) != "3003" {
		t.Errorf("claiming another's party: %s %s", m.path, m.body)
	}
	// Bulk: one result per party.
	bulk := msg.ParticipantsBulkPost{RequestID: "3f0c4e6a-5b2d-4c1e-8f7a-9b8c7d6e5f4a", PartyList: []msg.PartyIDInfo{
		{PartyIDType: "MSISDN", PartyIdentifier: "8613900139001"}, {PartyIDType: "MSISDN", PartyIdentifier: "8613800138000"}}}
	fs.send("POST", "/participants", "participants", bulk, nil)
	m := fs.ep.next(t)
	var out msg.ParticipantsBulkPut
	if m.path != "/participants/"+bulk.RequestID || json.Unmarshal(m.body, &out) != nil || len(out.PartyList) != 2 {
		t.Fatalf("bulk answer %s %s", m.path, m.body)
	}
	if out.PartyList[0].ErrorInformation != nil || out.PartyList[1].ErrorInformation == nil {
		t.Errorf("bulk results %s", m.body)
	}
	fs.send("DELETE", "/participants/MSISDN/8613900139000", "participants", nil, nil)
	if m := fs.ep.next(t); m.method != "PUT" || strings.HasSuffix(m.path, "/error") {
		t.Errorf("delete answer %s %s %s", m.method, m.path, m.body)
	}
	fs.problem(404, "unknown-party", "GET", "/v1/parties/MSISDN/+8613900139000", fs.bKey, nil)
}

// eachEngineFSP runs fn on a fresh FSPIOP switch per engine.
func eachEngineFSP(t *testing.T, fn func(t *testing.T, fs *fspSwitch)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, newFSPSwitch(t, e.store(t))) })
	}
}

var _ = fmt.Sprint
var _ sync.Mutex

// asPayee makes a request payeefsp's, with key.
func asPayee(key string) func(http.Header) {
	return func(h http.Header) {
		h.Set("FSPIOP-Source", "payeefsp")
		h.Set("FSPIOP-Destination", "payerfsp")
		h.Set("Authorization", "Bearer "+key)
	}
}

// condition returns a fulfilment and its condition.
func condition(seed string) (fulfilment, cond string) {
	f := sha256.Sum256([]byte(seed))
	c := sha256.Sum256(f[:])
	return base64.RawURLEncoding.EncodeToString(f[:]), base64.RawURLEncoding.EncodeToString(c[:])
}

// TestFSPIOPRelay: between two FSPIOP participants the switch relays
// look-up, quote and transfer, reserves on its ledger, checks the
// fulfilment, and tells each side what Mojaloop's hub would: a COMMITTED
// payee's PUT relayed as it came, a RESERVED one turned into the switch's
// COMMITTED and a PATCH, a bad fulfilment refused to both, silence ended
// by the expiry.
func TestFSPIOPRelay(t *testing.T) {
	eachEngineFSP(t, func(t *testing.T, fs *fspSwitch) {
		payee := newFSPEndpoint(t, fs.v)
		payeeKey, _ := fs.participant("payeefsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: payee.srv.URL} })
		reg := func(h http.Header) {
			h.Set("FSPIOP-Source", "payeefsp")
			h.Set("Authorization", "Bearer "+payeeKey)
		}
		fs.send("POST", "/participants/MSISDN/8613700137000", "participants", msg.ParticipantsPost{FSPID: "payeefsp"}, reg)
		payee.next(t)

		// Look-up: relayed to the payee FSP, whose answer is relayed back
		// byte for byte.
		fs.send("GET", "/parties/MSISDN/8613700137000", "parties", nil, nil)
		m := payee.next(t)
		if m.method != "GET" || m.path != "/parties/MSISDN/8613700137000" || m.header.Get("FSPIOP-Source") != "payerfsp" ||
			m.header.Get("FSPIOP-Destination") != "payeefsp" {
			t.Fatalf("relayed lookup %s %s %v", m.method, m.path, m.header)
		}
		if m.header.Get("Authorization") != "" {
			t.Fatalf("the payer's API key was relayed to the payee: %v", m.header)
		}
		answer := msg.PartiesPut{Party: msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "8613700137000", FSPID: "payeefsp"}, Name: "Li Si"}}
		if r := fs.send("PUT", "/parties/MSISDN/8613700137000", "parties", answer, asPayee(payeeKey)); r.status != 200 {
			t.Fatalf("PUT /parties: %d %s", r.status, r.body)
		}
		m = fs.ep.next(t)
		want, _ := json.Marshal(answer)
		if m.path != "/parties/MSISDN/8613700137000" || !bytes.Equal(m.body, want) || m.header.Get("FSPIOP-Source") != "payeefsp" {
			t.Fatalf("relayed lookup answer %s %s %v", m.path, m.body, m.header)
		}

		// A sub-identifier: the owning FSP tells its accounts apart; a
		// native participant's parties have none.
		fs.send("GET", "/parties/MSISDN/8613700137000/savings", "parties", nil, nil)
		if m := payee.next(t); m.method != "GET" || m.path != "/parties/MSISDN/8613700137000/savings" {
			t.Fatalf("relayed lookup with a sub-id: %s %s", m.method, m.path)
		}
		fs.send("GET", "/parties/MSISDN/8613800138000/savings", "parties", nil, nil)
		if m := fs.ep.next(t); m.path != "/parties/MSISDN/8613800138000/savings/error" || errorCode(t, m.body) != "3204" {
			t.Fatalf("native party with a sub-id: %s %s", m.path, m.body)
		}

		pay := func(id, state, fulfilment, cond string, expires time.Duration) {
			amount := msg.Money{Currency: "CNY", Amount: "10"}
			packet, _, _, err := ilp.Build([]byte("the payee FSP's secret"), 1, 1000, "g.payeefsp.msisdn.8613700137000", msg.Transaction{
				TransactionID: id, QuoteID: id, Payee: answer.Party,
				Payer:  msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FSPID: "payerfsp"}},
				Amount: amount, TransactionType: msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"},
			}, time.Now().Add(expires))
			if err != nil {
				t.Fatal(err)
			}
			tr := msg.TransfersPost{TransferID: id, PayerFSP: "payerfsp", PayeeFSP: "payeefsp", Amount: amount,
				ILPPacket: packet, Condition: cond, Expiration: msg.FormatDateTime(time.Now().Add(expires))}
			if r := fs.send("POST", "/transfers", "transfers", tr, nil); r.status != 202 {
				t.Fatalf("POST /transfers: %d %s", r.status, r.body)
			}
			if m := payee.next(t); m.method != "POST" || m.path != "/transfers" {
				t.Fatalf("relayed prepare %s %s", m.method, m.path)
			}
			if state == "" {
				return
			}
			if r := fs.send("PUT", "/transfers/"+id, "transfers", msg.TransfersPut{Fulfilment: fulfilment, TransferState: state,
				CompletedTimestamp: msg.FormatDateTime(time.Now())}, asPayee(payeeKey)); r.status != 200 {
				t.Fatalf("PUT /transfers: %d %s", r.status, r.body)
			}
		}
		ids := []string{"0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "1b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
			"2b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "3b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"}

		// The payee commits: its PUT goes to the payer as it came.
		f, c := condition("one")
		pay(ids[0], "COMMITTED", f, c, time.Minute)
		if m := fs.ep.next(t); m.method != "PUT" || m.path != "/transfers/"+ids[0] || !strings.Contains(string(m.body), f) {
			t.Fatalf("fulfilment to the payer: %s %s %s", m.method, m.path, m.body)
		}
		// The payee answers RESERVED: the payer gets COMMITTED, the payee a PATCH.
		f, c = condition("two")
		pay(ids[1], "RESERVED", f, c, time.Minute)
		if m := fs.ep.next(t); m.path != "/transfers/"+ids[1] || !strings.Contains(string(m.body), `"COMMITTED"`) {
			t.Fatalf("RESERVED, to the payer: %s %s", m.path, m.body)
		}
		if m := payee.next(t); m.method != "PATCH" || !strings.Contains(string(m.body), `"COMMITTED"`) {
			t.Fatalf("RESERVED, to the payee: %s %s %s", m.method, m.path, m.body)
		}
		// A fulfilment that does not meet the condition: both are told.
		_, c = condition("three")
		f, _ = condition("not three")
		pay(ids[2], "COMMITTED", f, c, time.Minute)
		if m := fs.ep.next(t); m.path != "/transfers/"+ids[2]+"/error" || errorCode(t, m.body) != "3100" {
			t.Fatalf("bad fulfilment, to the payer: %s %s", m.path, m.body)
		}
		if m := payee.next(t); m.path != "/transfers/"+ids[2]+"/error" {
			t.Fatalf("bad fulfilment, to the payee: %s %s", m.path, m.body)
		}
		// Silence: the reservation expires, both are told 3303.
		_, c = condition("four")
		pay(ids[3], "", "", c, 1500*time.Millisecond)
		if m := fs.ep.next(t); m.path != "/transfers/"+ids[3]+"/error" || errorCode(t, m.body) != "3303" {
			t.Fatalf("expiry, to the payer: %s %s", m.path, m.body)
		}
		if m := payee.next(t); m.path != "/transfers/"+ids[3]+"/error" || errorCode(t, m.body) != "3303" {
			t.Fatalf("expiry, to the payee: %s %s", m.path, m.body)
		}
		// Two payments of 10 moved; the payer has the rest.
		if b := fs.balance(payeeKey, "payeefsp"); b.Balance != "20.00" {
			t.Errorf("payee FSP's position %+v", b)
		}
		if b := fs.balance(fs.payerKey, "payerfsp"); b.Balance != "980.00" || b.Reserved != "0.00" {
			t.Errorf("payer FSP's position %+v", b)
		}
	})
}

// TestFSPIOPSignature: a participant that registered a JWS key has its
// POSTs and PUTs verified: signed ones pass, unsigned or altered ones are
// refused 3105 and do nothing; an unsigned PUT /parties passes, as
// Mojaloop's SDK does not sign it by default.
func TestFSPIOPSignature(t *testing.T) {
	fs := newFSPSwitch(t, "")
	fs.lax = true // tampered on purpose
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	signer, err := jws.NewSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	fs.ok(200, "PATCH", "/v1/participants/payerfsp", opToken, wire.ParticipantPatch{FSPIOP: &wire.FSPIOP{Endpoint: fs.ep.srv.URL,
		JWSPublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))}}, nil)
	// A participant may not change its own key.
	fs.problem(403, "forbidden", "PATCH", "/v1/participants/payerfsp", fs.payerKey, wire.ParticipantPatch{FSPIOP: &wire.FSPIOP{Endpoint: fs.ep.srv.URL}})

	body := msg.ParticipantsPost{FSPID: "payerfsp", Currency: "CNY"}
	sign := func(path string, b []byte, tamper func(h http.Header, b []byte) []byte) func(http.Header) {
		return func(h http.Header) {
			out, err := signer.Sign(h, "POST", path, b)
			if err != nil {
				t.Fatal(err)
			}
			if tamper != nil {
				out = tamper(h, out)
			}
			signed = out
		}
	}
	raw, _ := json.Marshal(body)
	cases := []struct {
		name   string
		path   string
		tamper func(http.Header, []byte) []byte
		code   string
	}{
		{"signed", "/participants/MSISDN/8613900139100", nil, ""},
		{"unsigned", "/participants/MSISDN/8613900139101", func(h http.Header, b []byte) []byte {
			h.Del("FSPIOP-Signature")
			return b
		}, "3105"},
		{"body changed", "/participants/MSISDN/8613900139102", func(h http.Header, b []byte) []byte {
			return bytes.Replace(b, []byte("CNY"), []byte("USD"), 1)
		}, "3105"},
		{"other URI signed", "/participants/MSISDN/8613900139103", func(h http.Header, b []byte) []byte {
			h.Set("FSPIOP-URI", "/participants/MSISDN/1")
			return b
		}, "3105"},
	}
	for _, c := range cases {
		r := fs.sendRaw("POST", c.path, "participants", raw, sign(c.path, raw, c.tamper))
		switch {
		case c.code == "" && r.status != 202:
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		case c.code != "" && (r.status != 400 || errorCode(t, r.body) != c.code):
			t.Errorf("%s: %d %s, want 400 %s", c.name, r.status, r.body, c.code)
		}
	}
	if m := fs.ep.next(t); m.path != "/participants/MSISDN/8613900139100" {
		t.Errorf("answer to the signed request: %s %s", m.path, m.body)
	}
	select {
	case m := <-fs.ep.got:
		t.Errorf("a refused request was answered: %s %s", m.path, m.body)
	case <-time.After(200 * time.Millisecond):
	}
	// An unsigned PUT /parties still passes (it is refused for another
	// reason: no destination).
	r := fs.send("PUT", "/parties/MSISDN/1", "parties", msg.PartiesPut{Party: msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "1"}}}, nil)
	if r.status != 400 || errorCode(t, r.body) == "3105" {
		t.Errorf("unsigned PUT /parties: %d %s", r.status, r.body)
	}
}

// signed is the body a signing mod produced, for sendRaw.
var signed []byte

// sendRaw is send with a body of exact bytes; mod may replace them
// through signed.
func (fs *fspSwitch) sendRaw(method, path, resource string, body []byte, mod func(http.Header)) resp {
	fs.t.Helper()
	h := http.Header{}
	h.Set("Date", msg.FormatDate(time.Now()))
	h.Set("FSPIOP-Source", "payerfsp")
	signed = body
	if mod != nil {
		mod(h)
	}
	req, err := http.NewRequest(method, fs.fsp+path, bytes.NewReader(signed))
	if err != nil {
		fs.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", msg.ContentType(resource, "1.1"))
	req.Header.Set("Accept", msg.ContentType(resource, "1.1"))
	req.Header.Set("Authorization", "Bearer "+fs.payerKey)
	r, err := fs.client().Do(req)
	if err != nil {
		fs.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, b}
}

// autoPayee is an FSPIOP payee FSP that answers what the switch asks:
// its parties, quotes (ILP v1, its own secret) and transfers, fulfilled
// in state (COMMITTED or RESERVED), or refused when refuse says so.
type autoPayee struct {
	fs     *fspSwitch
	key    string
	state  string
	refuse bool
	mu     sync.Mutex
	fulfil map[string]string // by transactionId
	patch  chan []byte
}

func (p *autoPayee) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPut || r.Method == http.MethodPatch {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	src := r.Header.Get("FSPIOP-Source")
	as := func(h http.Header) {
		h.Set("FSPIOP-Source", "payeefsp")
		h.Set("FSPIOP-Destination", src)
		h.Set("Authorization", "Bearer "+p.key)
	}
	go func() {
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/parties/"):
			parts := strings.Split(r.URL.Path, "/")
			p.fs.send("PUT", r.URL.Path, "parties", msg.PartiesPut{Party: msg.Party{PartyIDInfo: msg.PartyIDInfo{
				PartyIDType: parts[2], PartyIdentifier: parts[3], FSPID: "payeefsp"}, Name: "Wang Wu"}}, as)
		case r.Method == http.MethodPost && r.URL.Path == "/quotes":
			var q msg.QuotesPost
			json.Unmarshal(b, &q)
			txn := msg.Transaction{TransactionID: q.TransactionID, QuoteID: q.QuoteID, Payee: q.Payee, Payer: q.Payer,
				Amount: q.Amount, TransactionType: q.TransactionType}
			packet, cond, f, err := ilp.Build([]byte("payee secret"), 1, 1, "g.payeefsp.msisdn.x", txn, time.Now())
			if err != nil {
				panic(err)
			}
			p.mu.Lock()
			p.fulfil[q.TransactionID] = f
			p.mu.Unlock()
			p.fs.send("PUT", "/quotes/"+q.QuoteID, "quotes", msg.QuotesPut{TransferAmount: q.Amount, ILPPacket: packet, Condition: cond,
				Expiration: msg.FormatDateTime(time.Now().Add(time.Minute))}, as)
		case r.Method == http.MethodPost && r.URL.Path == "/transfers":
			var tr msg.TransfersPost
			json.Unmarshal(b, &tr)
			if p.refuse {
				p.fs.send("PUT", "/transfers/"+tr.TransferID+"/error", "transfers",
					msg.NewError(msg.PayeeRejectedTxn, "account closed").Body(), as)
				return
			}
			p.mu.Lock()
			f := p.fulfil[tr.TransferID]
			p.mu.Unlock()
			p.fs.send("PUT", "/transfers/"+tr.TransferID, "transfers", msg.TransfersPut{Fulfilment: f, TransferState: p.state,
				CompletedTimestamp: msg.FormatDateTime(time.Now())}, as)
		case r.Method == http.MethodPatch:
			p.patch <- b
		}
	}()
}

// TestFSPIOPNativePayer: a native payer's POST /v1/transfers to an alias
// of an FSPIOP participant runs look-up, quote and prepare over FSPIOP,
// and is answered COMMITTED once the payee's fulfilment meets the
// condition; a payee that answered RESERVED gets the PATCH; a refusal is
// the native payer's ABORTED.
func TestFSPIOPNativePayer(t *testing.T) {
	eachEngineFSP(t, func(t *testing.T, fs *fspSwitch) {
		payee := &autoPayee{fs: fs, state: "COMMITTED", fulfil: map[string]string{}, patch: make(chan []byte, 4)}
		srv := httptest.NewServer(fs.v.Handler(payee))
		t.Cleanup(srv.Close)
		payee.key, _ = fs.participant("payeefsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: srv.URL} })
		fs.send("POST", "/participants/MSISDN/8613700137000", "participants", msg.ParticipantsPost{FSPID: "payeefsp"},
			func(h http.Header) {
				h.Set("FSPIOP-Source", "payeefsp")
				h.Set("Authorization", "Bearer "+payee.key)
			})
		fs.deposit("wallet-b", "100.00")
		time.Sleep(100 * time.Millisecond) // the registration is written after its answer

		var got wire.Transfer
		fs.ok(201, "POST", "/v1/transfers", fs.bKey, pay("native-1", "MSISDN", "+8613700137000", "12.30"), &got)
		if got.State != "COMMITTED" || got.Payee.Participant != "payeefsp" {
			t.Fatalf("native payment to an FSPIOP payee: %+v", got)
		}
		payee.state = "RESERVED"
		fs.ok(201, "POST", "/v1/transfers", fs.bKey, pay("native-2", "MSISDN", "+8613700137000", "1.00"), &got)
		if got.State != "COMMITTED" {
			t.Fatalf("RESERVED payee: %+v", got)
		}
		select {
		case b := <-payee.patch:
			if !strings.Contains(string(b), `"COMMITTED"`) {
				t.Errorf("PATCH %s", b)
			}
		case <-time.After(5 * time.Second):
			t.Error("no PATCH to the payee that answered RESERVED")
		}
		payee.refuse = true
		fs.ok(201, "POST", "/v1/transfers", fs.bKey, pay("native-3", "MSISDN", "+8613700137000", "5.00"), &got)
		if got.State != "ABORTED" || !strings.Contains(got.Reason, "account closed") {
			t.Errorf("refused payment: %+v", got)
		}
		if b := fs.balance(payee.key, "payeefsp"); b.Balance != "13.30" {
			t.Errorf("payee FSP's position %+v", b)
		}
		if b := fs.balance(fs.bKey, "wallet-b"); b.Balance != "86.70" || b.Reserved != "0.00" {
			t.Errorf("native payer's position %+v", b)
		}
	})
}

// TestFSPIOPRisk: FSPIOP payments pass risk screening like native ones:
// a decline rule refuses one with 4400, and the alert names it.
func TestFSPIOPRisk(t *testing.T) {
	fs := newFSPSwitch(t, "")
	fs.ok(201, "PUT", "/v1/risk/rules/big", opToken, wire.RiskRule{Expression: "amount > 50000", Action: "decline", Reason: "too-big", Mode: "enforce"}, nil)
	fs.send("POST", "/quotes", "quotes", msg.QuotesPost{QuoteID: "9c23e80c-d078-4077-8263-2c047876fcf6", TransactionID: "95feac2f-39b2-491b-817e-4a03203d4f14",
		Payer: msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FSPID: "payerfsp"}},
		Payee: msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "8613800138000"}}, AmountType: "SEND",
		Amount: msg.Money{Currency: "CNY", Amount: "600"}, TransactionType: msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}}, nil)
	m := fs.ep.next(t)
	var quoted msg.QuotesPut
	if json.Unmarshal(m.body, &quoted) != nil || quoted.Condition == "" {
		t.Fatalf("quote: %s %s", m.path, m.body)
	}
	id := "95feac2f-39b2-491b-817e-4a03203d4f14"
	fs.send("POST", "/transfers", "transfers", msg.TransfersPost{TransferID: id, PayerFSP: "payerfsp", PayeeFSP: "wallet-b",
		Amount: quoted.TransferAmount, ILPPacket: quoted.ILPPacket, Condition: quoted.Condition,
		Expiration: msg.FormatDateTime(time.Now().Add(time.Minute))}, nil)
	if m := fs.ep.next(t); m.path != "/transfers/"+id+"/error" || errorCode(t, m.body) != "4400" {
		t.Fatalf("declined: %s %s", m.path, m.body)
	}
	fs.problem(404, "not-found", "GET", "/v1/transfers/"+id, fs.payerKey, nil)
	var alerts wire.RiskAlerts
	deadline := time.Now().Add(5 * time.Second)
	for len(alerts.Alerts) == 0 && time.Now().Before(deadline) {
		fs.ok(200, "GET", "/v1/risk/alerts?status=open", opToken, nil, &alerts)
		time.Sleep(20 * time.Millisecond)
	}
	found := false
	for _, a := range alerts.Alerts {
		found = found || a.Rule == "big" && a.TransferID == id
	}
	if !found {
		t.Errorf("no alert of rule big on %s: %+v", id, alerts.Alerts)
	}
}

// TestFSPIOPHeld: a payment between two FSPIOP participants that risk
// control holds is not relayed until the operator releases it; then its
// prepare goes to the payee as it came, and the payer gets the
// fulfilment once committed.
func TestFSPIOPHeld(t *testing.T) {
	eachEngineFSP(t, func(t *testing.T, fs *fspSwitch) {
		payee := newFSPEndpoint(t, fs.v)
		payeeKey, _ := fs.participant("payeefsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: payee.srv.URL} })
		fs.send("POST", "/participants/MSISDN/8613700137000", "participants", msg.ParticipantsPost{FSPID: "payeefsp"}, func(h http.Header) {
			h.Set("FSPIOP-Source", "payeefsp")
			h.Set("Authorization", "Bearer "+payeeKey)
		})
		payee.next(t)
		fs.ok(201, "PUT", "/v1/risk/rules/seven", opToken, wire.RiskRule{Expression: "amount == 700", Action: "review", Reason: "seven", Mode: "enforce"}, nil)

		id := "4b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
		f, c := condition("held")
		amount := msg.Money{Currency: "CNY", Amount: "7"}
		packet, _, _, err := ilp.Build([]byte("secret"), 1, 700, "g.payeefsp.msisdn.8613700137000", msg.Transaction{
			TransactionID: id, QuoteID: id,
			Payee:  msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "8613700137000", FSPID: "payeefsp"}},
			Payer:  msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FSPID: "payerfsp"}},
			Amount: amount, TransactionType: msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"},
		}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		fs.send("POST", "/transfers", "transfers", msg.TransfersPost{TransferID: id, PayerFSP: "payerfsp", PayeeFSP: "payeefsp",
			Amount: amount, ILPPacket: packet, Condition: c, Expiration: msg.FormatDateTime(time.Now().Add(time.Minute))}, nil)
		var alerts []wire.RiskAlert
		deadline := time.Now().Add(5 * time.Second)
		for len(alerts) == 0 && time.Now().Before(deadline) {
			var out wire.RiskAlerts
			fs.ok(200, "GET", "/v1/risk/alerts?status=open", opToken, nil, &out)
			for _, a := range out.Alerts {
				if a.Rule == "seven" {
					alerts = append(alerts, a)
				}
			}
		}
		if len(alerts) != 1 {
			t.Fatalf("alerts %+v", alerts)
		}
		select {
		case m := <-payee.got:
			t.Fatalf("a held payment was relayed: %s %s", m.method, m.path)
		case <-time.After(200 * time.Millisecond):
		}
		go func() {
			m := payee.next(t)
			if m.method != "POST" || m.path != "/transfers" {
				t.Errorf("released prepare: %s %s", m.method, m.path)
				return
			}
			fs.send("PUT", "/transfers/"+id, "transfers", msg.TransfersPut{Fulfilment: f, TransferState: "COMMITTED",
				CompletedTimestamp: msg.FormatDateTime(time.Now())}, asPayee(payeeKey))
		}()
		fs.ok(200, "POST", "/v1/risk/alerts/"+alerts[0].ID+"/decision", opToken, wire.AlertDecision{Decision: "release", Note: "ok"}, nil)
		if m := fs.ep.next(t); m.path != "/transfers/"+id || !strings.Contains(string(m.body), f) {
			t.Fatalf("the payer's fulfilment: %s %s", m.path, m.body)
		}
		if b := fs.balance(payeeKey, "payeefsp"); b.Balance != "7.00" {
			t.Errorf("payee FSP's position %+v", b)
		}
	})
}

// TestFSPIOPLookupBudget: the directory cannot be enumerated through the
// FSPIOP front end either: its look-ups spend the participant's lookup
// budget, shared with the native API, misses at their full cost.
func TestFSPIOPLookupBudget(t *testing.T) {
	s := start(t, "", func(c *app.Config) {
		c.FSPIOPAddr, c.LookupRate, c.LookupBurst, c.LookupMissCost = "127.0.0.1:0", 1, 40, 20
	})
	v := spec.Start(t)
	fs := &fspSwitch{sw: s, fsp: s.app.FSPIOPURL(), ep: newFSPEndpoint(t, v), v: v, lax: true}
	fs.payerKey, _ = s.participant("payerfsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: fs.ep.srv.URL} })
	refused := 0
	for i := range 6 {
		r := fs.send("GET", fmt.Sprintf("/parties/MSISDN/861390013900%d", i), "parties", nil, nil)
		if r.status == 503 && errorCode(t, r.body) == "2003" {
			refused++
			continue
		}
		if r.status != 202 {
			t.Fatalf("lookup %d: %d %s", i, r.status, r.body)
		}
		if m := fs.ep.next(t); errorCode(t, m.body) != "3204" {
			t.Fatalf("miss %d: %s %s", i, m.path, m.body)
		}
	}
	// A burst of 40 tokens, a miss costing 20: the third miss is refused.
	if refused < 3 {
		t.Errorf("%d of 6 misses refused, want the budget to stop them", refused)
	}
	// The same budget refuses the participant's native lookups.
	fs.problem(429, "rate-limited", "GET", "/v1/parties/MSISDN/+8613900139009", fs.payerKey, nil)
}

// TestFSPIOPRate: an FSPIOP participant's requests spend its request
// rate, shared with the native API: beyond it they are refused 503 with
// 2003 before anything is done.
func TestFSPIOPRate(t *testing.T) {
	s := start(t, "", func(c *app.Config) { c.FSPIOPAddr, c.RateLimit, c.RateBurst = "127.0.0.1:0", 1, 3 })
	v := spec.Start(t)
	fs := &fspSwitch{sw: s, fsp: s.app.FSPIOPURL(), ep: newFSPEndpoint(t, v), v: v, lax: true}
	fs.payerKey, _ = s.participant("payerfsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: fs.ep.srv.URL} })
	codes := map[int]int{}
	for range 6 {
		r := fs.send("GET", "/transfers/85feac2f-39b2-491b-817e-4a03203d4f14", "transfers", nil, nil)
		codes[r.status]++
		if r.status == 503 && errorCode(t, r.body) != "2003" {
			t.Errorf("refusal %s", r.body)
		}
	}
	if codes[202] == 0 || codes[503] < 2 {
		t.Errorf("answers %v: want the first within the burst, the rest refused", codes)
	}
}
