package app_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	stdjson "encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/fspiop/spec"
	"github.com/hulian/hulian/internal/telemetry"
	"github.com/hulian/hulian/internal/wire"
)

// newFSPSwitchWith is newFSPSwitch on the embedded store, with the
// switch's configuration changed by mod (a logger, metrics, a tracer).
func newFSPSwitchWith(t *testing.T, mod func(*app.Config)) *fspSwitch {
	s := start(t, "", func(c *app.Config) {
		c.FSPIOPAddr = "127.0.0.1:0"
		mod(c)
	})
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

// logLines parses a JSON log, one object a line.
func logLines(t *testing.T, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		var m map[string]any
		if err := stdjson.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// fspAccess returns the FSPIOP listener's access lines by request id.
func fspAccess(t *testing.T, text string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, m := range logLines(t, text) {
		if m["msg"] == "request" && m["listener"] == "fspiop" {
			id, _ := m[telemetry.RequestIDAttr].(string)
			if _, dup := out[id]; dup || !telemetry.ValidRequestID(id) {
				t.Errorf("access line with request id %q (seen before: %v): %v", id, dup, m)
			}
			out[id] = m
		}
	}
	return out
}

// withHeader sets a header on a request send makes.
func withHeader(name, value string) func(http.Header) {
	return func(h http.Header) { h.Set(name, value) }
}

// TestFSPIOPAccessLines: every FSPIOP request is answered with its id —
// the client's when sane, else a new one — and logged once after the
// answer under that id, with its FSPIOP route template (never the path
// and its party identifier), status, sizes and caller; the request
// metrics count it under the route label "fspiop: …", apart from the
// native API's. Not tracing, a relayed request carries its sender's
// traceparent on, and the switch's own callbacks carry none.
func TestFSPIOPAccessLines(t *testing.T) {
	var logs syncBuf
	log, err := telemetry.NewLogger(&logs, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	fs := newFSPSwitchWith(t, func(c *app.Config) { c.Log = log; c.MetricsAddr = "127.0.0.1:0" })
	fs.lax = true // a wrong key, a path no route has
	payee := newFSPEndpoint(t, fs.v)
	payeeKey, _ := fs.participant("payeefsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: payee.srv.URL} })
	fs.send("POST", "/participants/MSISDN/8613700137000", "participants", msg.ParticipantsPost{FSPID: "payeefsp"}, func(h http.Header) {
		h.Set("FSPIOP-Source", "payeefsp")
		h.Set("Authorization", "Bearer "+payeeKey)
	})
	payee.next(t)
	before := fs.scrape()

	const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	quote := msg.QuotesPost{QuoteID: "7c23e80c-d078-4077-8263-2c047876fcf6", TransactionID: "85feac2f-39b2-491b-817e-4a03203d4f14",
		Payer:      msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FSPID: "payerfsp"}},
		Payee:      msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "8613800138000", FSPID: "wallet-b"}},
		AmountType: "SEND", Amount: msg.Money{Currency: "CNY", Amount: "10"},
		TransactionType: msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}}
	quoteBody, _ := stdjson.Marshal(quote)
	type want struct {
		route, caller  string
		status         int
		in             int
		label          string
		callbackParent string // the traceparent of the message the request makes the switch send
	}
	cases := []struct {
		name     string
		method   string
		path     string
		resource string
		body     any
		mod      func(http.Header)
		sentID   string // the Hulian-Request-Id sent; "" none
		echoed   bool   // whether it comes back
		want     want
		sends    *fspEndpoint
	}{
		{"a look-up with a sane id", "GET", "/parties/MSISDN/8613800138000", "parties", nil, nil, "fsp-req.0001_A", true,
			want{"GET /parties/{Type}/{ID}", "payerfsp", 202, 0, "fspiop: GET /parties/{Type}/{ID}", ""}, fs.ep},
		{"a quote with no id", "POST", "/quotes", "quotes", quote, nil, "", false,
			want{"POST /quotes", "payerfsp", 202, len(quoteBody), "fspiop: POST /quotes", ""}, fs.ep},
		{"an id that is no token", "GET", "/parties/MSISDN/8613800138000/sub1", "parties", nil, nil, "bad id;", false,
			want{"GET /parties/{Type}/{ID}/{SubId}", "payerfsp", 202, 0, "fspiop: GET /parties/{Type}/{ID}/{SubId}", ""}, fs.ep},
		{"a relayed look-up keeps its sender's trace", "GET", "/parties/MSISDN/8613700137000", "parties", nil,
			withHeader("traceparent", traceparent), "", false,
			want{"GET /parties/{Type}/{ID}", "payerfsp", 202, 0, "fspiop: GET /parties/{Type}/{ID}", traceparent}, payee},
		{"a wrong key", "GET", "/parties/MSISDN/8613800138000", "parties", nil, withHeader("Authorization", "Bearer nope"), "", false,
			want{"GET /parties/{Type}/{ID}", "", 401, 0, "fspiop: GET /parties/{Type}/{ID}", ""}, nil},
		{"no route", "GET", "/nowhere/8613800138000", "parties", nil, nil, "", false,
			want{"", "", 404, 0, "fspiop: unmatched", ""}, nil},
	}
	ids := make([]string, len(cases))
	outs := make([]int, len(cases))
	for i, c := range cases {
		mod := c.mod
		if c.sentID != "" {
			mod = withHeader(telemetry.RequestIDHeader, c.sentID)
		}
		r := fs.send(c.method, c.path, c.resource, c.body, mod)
		if r.status != c.want.status {
			t.Fatalf("%s: %d %s, want %d", c.name, r.status, r.body, c.want.status)
		}
		ids[i], outs[i] = r.header.Get(telemetry.RequestIDHeader), len(r.body)
		if !telemetry.ValidRequestID(ids[i]) || (ids[i] == c.sentID) != c.echoed {
			t.Errorf("%s: answered with request id %q after sending %q", c.name, ids[i], c.sentID)
		}
		if c.sends != nil {
			if m := c.sends.next(t); m.header.Get("traceparent") != c.want.callbackParent {
				t.Errorf("%s: the switch's message %s %s carried traceparent %q, want %q", c.name, m.method, m.path,
					m.header.Get("traceparent"), c.want.callbackParent)
			}
		}
	}

	// The access line is written after the answer: wait for the last.
	deadline := time.Now().Add(5 * time.Second)
	access := fspAccess(t, logs.String())
	for access[ids[len(ids)-1]] == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		access = fspAccess(t, logs.String())
	}
	after := fs.scrape()
	type labelSet struct {
		route, method string
		status        int
	}
	labels := map[labelSet]int{}
	for i, c := range cases {
		m := access[ids[i]]
		if m == nil {
			t.Errorf("%s: no access line with request id %s", c.name, ids[i])
			continue
		}
		got := want{route: m["route"].(string), caller: m["caller"].(string), status: int(m["status"].(float64)),
			in: int(m["in_bytes"].(float64)), label: c.want.label, callbackParent: c.want.callbackParent}
		if got != c.want || m["method"] != c.method || int(m["out_bytes"].(float64)) != outs[i] || m["took_us"] == nil {
			t.Errorf("%s: access line %v, want %+v with %d bytes out", c.name, m, c.want, outs[i])
		}
		labels[labelSet{c.want.label, c.method, c.want.status}]++
	}
	for k, n := range labels {
		sel := []string{"route=" + k.route, "method=" + k.method, "code=" + strconv.Itoa(k.status)}
		if d := after.sum("hulian_http_requests_total", sel...) - before.sum("hulian_http_requests_total", sel...); int(d) != n {
			t.Errorf("hulian_http_requests_total%v moved by %v, want %d", sel, d, n)
		}
		sel = sel[:2]
		if d := after.sum("hulian_http_request_duration_seconds", sel...) - before.sum("hulian_http_request_duration_seconds", sel...); d < 1 {
			t.Errorf("hulian_http_request_duration_seconds%v moved by %v", sel, d)
		}
	}
	for _, m := range after["hulian_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if strings.Contains(l.GetValue(), "86138") || strings.Contains(l.GetValue(), "86137") {
				t.Errorf("a metric label holds a party identifier: %v", m.GetLabel())
			}
		}
	}
}

// TestFSPIOPTrace: an FSPIOP request sent with a W3C traceparent is one
// trace with what it makes the switch do: the server span, child of the
// caller's span; the work after the 202, child of the server span (the
// payment flow's stages under it); a client span per message sent, whose
// traceparent the receiver gets — the switch's own callback and a
// request relayed to another FSP alike.
func TestFSPIOPTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	fs := newFSPSwitchWith(t, func(c *app.Config) { c.TracerProvider = tp })
	payee := newFSPEndpoint(t, fs.v)
	payeeKey, _ := fs.participant("payeefsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: payee.srv.URL} })
	fs.send("POST", "/participants/MSISDN/8613700137000", "participants", msg.ParticipantsPost{FSPID: "payeefsp"}, func(h http.Header) {
		h.Set("FSPIOP-Source", "payeefsp")
		h.Set("Authorization", "Bearer "+payeeKey)
	})
	payee.next(t)

	// spans waits for the trace's spans until one named name has ended.
	spans := func(traceID, name string) map[string][]sdktrace.ReadOnlySpan {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			byName := map[string][]sdktrace.ReadOnlySpan{}
			for _, sp := range rec.Ended() {
				if sp.SpanContext().TraceID().String() == traceID {
					byName[sp.Name()] = append(byName[sp.Name()], sp)
				}
			}
			if len(byName[name]) > 0 {
				return byName
			}
			if time.Now().After(deadline) {
				t.Fatalf("no span %q in trace %s: %v", name, traceID, byName)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	one := func(byName map[string][]sdktrace.ReadOnlySpan, name string) sdktrace.ReadOnlySpan {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("%d spans %q, want 1: %v", len(byName[name]), name, byName)
		}
		return byName[name][0]
	}
	childOf := func(sp, parent sdktrace.ReadOnlySpan, kind trace.SpanKind) {
		t.Helper()
		if sp.Parent().SpanID() != parent.SpanContext().SpanID() || sp.SpanKind() != kind {
			t.Errorf("span %q: parent %s, kind %v; want %q's %s, %v", sp.Name(), sp.Parent().SpanID(), sp.SpanKind(),
				parent.Name(), parent.SpanContext().SpanID(), kind)
		}
	}
	attr := func(sp sdktrace.ReadOnlySpan, key string) string {
		for _, a := range sp.Attributes() {
			if string(a.Key) == key {
				return a.Value.Emit()
			}
		}
		return ""
	}

	cases := []struct {
		name, path, route string
		to                *fspEndpoint
		traceID           string
	}{
		{"answered by the switch", "/parties/MSISDN/8613800138000", "GET /parties/{Type}/{ID}", fs.ep, "4bf92f3577b34da6a3ce929d0e0e4731"},
		{"relayed to the payee FSP", "/parties/MSISDN/8613700137000", "GET /parties/{Type}/{ID}", payee, "4bf92f3577b34da6a3ce929d0e0e4732"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			traceID, parentID := c.traceID, "00f067aa0ba902b7"
			r := fs.send("GET", c.path, "parties", nil, withHeader("traceparent", "00-"+traceID+"-"+parentID+"-01"))
			if r.status != 202 {
				t.Fatalf("GET: %d %s", r.status, r.body)
			}
			m := c.to.next(t)
			byName := spans(traceID, "fspiop.send")
			server := one(byName, c.route)
			if server.Parent().SpanID().String() != parentID || server.SpanKind() != trace.SpanKindServer {
				t.Errorf("server span's parent %s kind %v, want the caller's %s, server", server.Parent().SpanID(), server.SpanKind(), parentID)
			}
			if attr(server, "http.route") != "/parties/{Type}/{ID}" || attr(server, "hulian.caller") != "payerfsp" ||
				attr(server, "hulian.request_id") != r.header.Get(telemetry.RequestIDHeader) || attr(server, "http.response.status_code") != "202" {
				t.Errorf("server span's attributes %v", server.Attributes())
			}
			work := one(byName, "fspiop.process")
			childOf(work, server, trace.SpanKindInternal)
			send := one(byName, "fspiop.send")
			childOf(send, work, trace.SpanKindClient)
			if want := "00-" + traceID + "-" + send.SpanContext().SpanID().String() + "-01"; m.header.Get("traceparent") != want {
				t.Errorf("%s %s carried traceparent %q, want %q", m.method, m.path, m.header.Get("traceparent"), want)
			}
			for _, sp := range []sdktrace.ReadOnlySpan{server, work, send} {
				for _, a := range sp.Attributes() {
					if strings.Contains(a.Value.Emit(), "8613") {
						t.Errorf("span %q holds a party identifier: %v", sp.Name(), a)
					}
				}
			}
		})
	}

	// A payment: the payment flow's stages are under the work after the
	// 202, and the payer's callback continues the trace.
	fs.send("POST", "/quotes", "quotes", msg.QuotesPost{QuoteID: "7c23e80c-d078-4077-8263-2c047876fcf6",
		TransactionID: "85feac2f-39b2-491b-817e-4a03203d4f14",
		Payer:         msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FSPID: "payerfsp"}},
		Payee:         msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "8613800138000", FSPID: "wallet-b"}},
		AmountType:    "SEND", Amount: msg.Money{Currency: "CNY", Amount: "10"},
		TransactionType: msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}}, nil)
	var quoted msg.QuotesPut
	if m := fs.ep.next(t); stdjson.Unmarshal(m.body, &quoted) != nil || quoted.Condition == "" {
		t.Fatalf("quote answer %s %s", m.path, m.body)
	}
	const traceID = "5bf92f3577b34da6a3ce929d0e0e4736"
	tr := msg.TransfersPost{TransferID: "85feac2f-39b2-491b-817e-4a03203d4f14", PayerFSP: "payerfsp", PayeeFSP: "wallet-b",
		Amount: quoted.TransferAmount, ILPPacket: quoted.ILPPacket, Condition: quoted.Condition,
		Expiration: msg.FormatDateTime(time.Now().Add(time.Minute))}
	if r := fs.send("POST", "/transfers", "transfers", tr, withHeader("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")); r.status != 202 {
		t.Fatalf("POST /transfers: %d %s", r.status, r.body)
	}
	m := fs.ep.next(t)
	if !strings.Contains(string(m.body), "COMMITTED") {
		t.Fatalf("transfer answer %s %s", m.path, m.body)
	}
	byName := spans(traceID, "fspiop.send")
	work := one(byName, "fspiop.process")
	childOf(work, one(byName, "POST /transfers"), trace.SpanKindInternal)
	stages := 0
	for name, sps := range byName {
		if strings.HasPrefix(name, "transfer.") {
			stages++
			childOf(sps[0], work, trace.SpanKindInternal)
		}
	}
	if stages == 0 || len(byName["ledger.submit"]) == 0 {
		t.Errorf("no stages of the payment flow or ledger submissions in the trace: %v", byName)
	}
	send := one(byName, "fspiop.send")
	if want := "00-" + traceID + "-" + send.SpanContext().SpanID().String() + "-01"; m.header.Get("traceparent") != want {
		t.Errorf("the payer's callback carried traceparent %q, want %q", m.header.Get("traceparent"), want)
	}
}

// TestFSPIOPLogNoSecrets runs FSPIOP traffic full of distinctive party
// identifiers, names, notes, account references, API keys, a signature
// and an endpoint with a token in its path — look-ups, quotes and a
// payment to a native payee, a look-up relayed to an FSPIOP payee, a
// native payment to it over FSPIOP, refusals, and callbacks that cannot
// be delivered — at debug level, and checks that none of them reaches
// the logs, while each request has its access line and the failure to
// deliver names the request that caused it.
func TestFSPIOPLogNoSecrets(t *testing.T) {
	var logs syncBuf
	log, err := telemetry.NewLogger(&logs, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	fs := newFSPSwitchWith(t, func(c *app.Config) { c.Log = log })
	fs.lax = true // a forged signature, an unknown path
	s := fs.sw
	s.party(fs.bKey, "MSISDN", "13912345678", "Quentin Quokka-Secret", "ACCT-QQ-777111")
	s.deposit("wallet-b", "100.00")

	// An FSPIOP payee that answers everything, holding 8613712345678.
	payee := &autoPayee{fs: fs, state: "COMMITTED", fulfil: map[string]string{}, patch: make(chan []byte, 4)}
	srv := httptest.NewServer(fs.v.Handler(payee))
	t.Cleanup(srv.Close)
	payeeKey, payeeSecret := fs.participant("payeefsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: srv.URL} })
	payee.key = payeeKey
	fs.send("POST", "/participants/MSISDN/8613712345678", "participants", msg.ParticipantsPost{FSPID: "payeefsp"},
		func(h http.Header) {
			h.Set("FSPIOP-Source", "payeefsp")
			h.Set("Authorization", "Bearer "+payeeKey)
		})
	// An FSP whose endpoint answers nothing, with a token in its path.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String() + "/fsp/ENDPOINTSECRET"
	dead.Close()
	deadKey, deadSecret := fs.participant("deadfsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: deadURL} })
	// An FSP that signs its requests.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sigKey, sigSecret := fs.participant("sigfsp", func(n *wire.NewParticipant) {
		n.FSPIOP = &wire.FSPIOP{Endpoint: fs.ep.srv.URL, JWSPublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))}
	})
	time.Sleep(100 * time.Millisecond) // the registration is written after its answer

	var ids []string
	send := func(method, path, resource string, body any, mod func(http.Header), status int) string {
		t.Helper()
		r := fs.send(method, path, resource, body, mod)
		if r.status != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, status)
		}
		id := r.header.Get(telemetry.RequestIDHeader)
		ids = append(ids, id)
		return id
	}
	// Look-up, quote and payment of a native payee.
	send("GET", "/parties/MSISDN/8613912345678", "parties", nil, nil, 202)
	fs.ep.next(t)
	quoteID, txID := "0f0e0d0c-0b0a-4909-8807-060504030201", "1f1e1d1c-1b1a-4919-8817-161514131211"
	send("POST", "/quotes", "quotes", msg.QuotesPost{QuoteID: quoteID, TransactionID: txID,
		Payer: msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44700900123", FSPID: "payerfsp"},
			Name: "Petra Payer-Secret"},
		Payee:      msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "8613912345678", FSPID: "wallet-b"}},
		AmountType: "SEND", Amount: msg.Money{Currency: "CNY", Amount: "3.21"}, Note: "NOTESECRET-881",
		TransactionType: msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}}, nil, 202)
	var quoted msg.QuotesPut
	if m := fs.ep.next(t); stdjson.Unmarshal(m.body, &quoted) != nil || quoted.Condition == "" {
		t.Fatalf("quote answer %s %s", m.path, m.body)
	}
	send("POST", "/transfers", "transfers", msg.TransfersPost{TransferID: txID, PayerFSP: "payerfsp", PayeeFSP: "wallet-b",
		Amount: quoted.TransferAmount, ILPPacket: quoted.ILPPacket, Condition: quoted.Condition,
		Expiration: msg.FormatDateTime(time.Now().Add(time.Minute))}, nil, 202)
	var done msg.TransfersPut
	if m := fs.ep.next(t); stdjson.Unmarshal(m.body, &done) != nil || done.Fulfilment == "" {
		t.Fatalf("transfer answer %s %s", m.path, m.body)
	}
	// A look-up relayed to the FSPIOP payee, answered with its name.
	send("GET", "/parties/MSISDN/8613712345678", "parties", nil, nil, 202)
	fs.ep.next(t)
	// A native payment to it, over FSPIOP.
	tr := pay("native-secret-1", "MSISDN", "+8613712345678", "1.00")
	tr.Note, tr.PayerAccount = "NOTESECRET-882", "PAYERACCT-555999"
	var got wire.Transfer
	fs.ok(201, "POST", "/v1/transfers", fs.bKey, tr, &got)
	if got.State != "COMMITTED" {
		t.Fatalf("native payment to the FSPIOP payee: %+v", got)
	}
	// Refusals: a wrong key, a forged signature, a party identifier that
	// is none, a path no route has.
	send("GET", "/parties/MSISDN/8613912345678", "parties", nil, withHeader("Authorization", "Bearer BOGUSKEY-1234567890"), 401)
	send("POST", "/participants/MSISDN/8613912340000", "participants", msg.ParticipantsPost{FSPID: "sigfsp"}, func(h http.Header) {
		h.Set("FSPIOP-Source", "sigfsp")
		h.Set("Authorization", "Bearer "+sigKey)
		h.Set("FSPIOP-Signature", `{"signature":"SIGSECRETxyz","protectedHeader":"eyJhbGciOiJSUzI1NiJ9"}`)
	}, 400)
	send("GET", "/parties/MSISDN/SECRETBADID", "parties", nil, nil, 400)
	send("GET", "/nowhere/8613912345678", "parties", nil, nil, 404)
	// A look-up whose answer cannot be delivered.
	deadID := send("GET", "/parties/MSISDN/8613912345678", "parties", nil, func(h http.Header) {
		h.Set("FSPIOP-Source", "deadfsp")
		h.Set("Authorization", "Bearer "+deadKey)
	}, 202)

	// Wait for the failed delivery's line (four attempts, with backoff)
	// and the last access line.
	var failed map[string]any
	deadline := time.Now().Add(15 * time.Second)
	for failed == nil {
		for _, m := range logLines(t, logs.String()) {
			if m["msg"] == "fspiop: message not delivered" {
				failed = m
			}
		}
		if failed == nil {
			if time.Now().After(deadline) {
				t.Fatal("no line of the callback that could not be delivered")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if failed[telemetry.RequestIDAttr] != deadID || failed["to"] != "deadfsp" {
		t.Errorf("the failed delivery's line %v, want request id %s", failed, deadID)
	}

	text := logs.String()
	for _, secret := range []string{"8613912345678", "13912345678", "8613712345678", "13712345678", "8613912340000", "44700900123",
		"Quentin", "Quokka", "Petra", "Wang Wu", "ACCT-QQ", "PAYERACCT", "NOTESECRET", "ENDPOINTSECRET", "BOGUSKEY", "SIGSECRET",
		"SECRETBADID", "eyJhbGciOiJSUzI1NiJ9", quoted.Condition, quoted.ILPPacket[:40], done.Fulfilment,
		fs.payerKey, fs.bKey, payeeKey, deadKey, sigKey, payeeSecret, deadSecret, sigSecret, opToken,
		fs.payerKey[strings.IndexByte(fs.payerKey, '.')+1:], deadKey[strings.IndexByte(deadKey, '.')+1:]} {
		if strings.Contains(text, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
	access := fspAccess(t, text)
	for _, id := range ids {
		m := access[id]
		if m == nil {
			t.Errorf("no access line of request %s", id)
			continue
		}
		if route := m["route"].(string); route != "" && !strings.HasPrefix(route, m["method"].(string)+" /") {
			t.Errorf("route %q is not a route template of %v", route, m["method"])
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", text)
	}
}
