package app_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/telemetry"
	"github.com/hulian/hulian/internal/wire"
)

// syncBuf is a buffer the switch's goroutines may log to.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogNoSecrets runs traffic full of distinctive aliases, names,
// account references, notes, tokens, API keys, callback secrets and a
// callback URL with a token, at debug level, and checks that none of
// them reaches the logs, while every request has its access line: route
// template, caller, sizes and request id.
func TestLogNoSecrets(t *testing.T) {
	var logs syncBuf
	log, err := telemetry.NewLogger(&logs, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, "", func(c *app.Config) { c.Log = log; c.ConfirmTimeout = 300 * time.Millisecond })
	hb := newHook(t)
	keyA, secA := s.participant("wallet-a", func(np *wire.NewParticipant) { np.Name = "Quokka Payer Bank Ltd" })
	keyB, secB := s.participant("bank-b", func(np *wire.NewParticipant) {
		np.Kind, np.CallbackURL, np.Acceptance, np.Name = "bank", hb.url+"?token=CBURLSECRET77", "confirm", "Wombat Payee Bank"
	})
	// A payee whose callback URL answers nothing: its deliveries fail.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String() + "/cb/DEADURLSECRET"
	dead.Close()
	keyC, secC := s.participant("bank-c", func(np *wire.NewParticipant) {
		np.Kind, np.CallbackURL, np.Acceptance = "bank", deadURL, "confirm"
	})
	hb.mu.Lock()
	hb.secret = secB
	hb.mu.Unlock()
	s.deposit("wallet-a", "500.00")
	s.party(keyB, "MSISDN", "+8613987654321", "Quentin Quokka-Secret", "ACCT-QQ-777111")
	s.party(keyB, "EMAIL", "quokka.secret@example.org", "Quentin Quokka-Secret", "ACCT-QQ-777111")
	s.party(keyC, "EMAIL", "dead.secret@example.org", "Dora Deadline-Secret", "ACCT-DD-424242")

	requests := 0
	do := func(method, path, token string, body any, want int) resp {
		t.Helper()
		r := s.do(method, path, token, body)
		requests++
		if r.status != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, want)
		}
		if id := r.header.Get(telemetry.RequestIDHeader); !telemetry.ValidRequestID(id) {
			t.Errorf("%s %s: request id %q", method, path, id)
		}
		return r
	}
	do("GET", "/v1/parties/MSISDN/+8613987654321", keyA, nil, 200)
	do("GET", "/v1/parties/EMAIL/nobody.secret@example.org", keyA, nil, 404)
	tr := pay("t-secret-1", "MSISDN", "+8613987654321", "12.34")
	tr.Note, tr.PayerAccount = "NOTESECRET-991", "PAYERACCT-555999"
	body, _ := json.Marshal(tr)
	do("POST", "/v1/transfers", keyA, body, 201)
	tr = pay("t-secret-2", "EMAIL", "dead.secret@example.org", "1.00")
	tr.Note = "NOTESECRET-992"
	do("POST", "/v1/transfers", keyA, tr, 201) // aborted: its payee does not answer
	do("POST", "/v1/transfers", keyA, pay("t-secret-3", "MSISDN", "+8613900000001", "1.00"), 422)
	do("GET", "/v1/transfers", "BOGUSTOKEN-1234567890", nil, 401)
	do("GET", "/v1/parties?limit=5&after=CURSORSECRET", keyB, nil, 400)
	do("DELETE", "/v1/parties/EMAIL/quokka.secret@example.org", opToken,
		wire.PartyRemoval{Reason: "fraud report on Quentin Quokka-Secret"}, 204)
	do("GET", "/v1/nothing/+8613987654321?token=QUERYSECRET", "", nil, 404)

	text := logs.String()
	for _, secret := range []string{"8613987654321", "8613900000001", "quokka.secret", "nobody.secret", "dead.secret",
		"Quentin", "Quokka", "Dora", "Wombat", "ACCT-QQ", "ACCT-DD", "PAYERACCT", "NOTESECRET", "CBURLSECRET",
		"DEADURLSECRET", "BOGUSTOKEN", "CURSORSECRET", "QUERYSECRET", "fraud report",
		keyA, keyB, keyC, secA, secB, secC, opToken, keyA[strings.IndexByte(keyA, '.')+1:]} {
		if strings.Contains(text, secret) {
			t.Errorf("the logs hold %q:\n%s", secret, text)
		}
	}
	var access []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		var m map[string]any
		if err := stdjson.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "request" {
			access = append(access, m)
		}
	}
	// The harness's own requests (participants, deposit, aliases) count
	// too: at least those of this test.
	if len(access) < requests {
		t.Fatalf("%d access lines for at least %d requests", len(access), requests)
	}
	var sawTransfer bool
	for _, m := range access {
		if id, _ := m["request_id"].(string); !telemetry.ValidRequestID(id) {
			t.Errorf("access line without a request id: %v", m)
		}
		if route, _ := m["route"].(string); route != "" && !strings.HasPrefix(route, m["method"].(string)+" /") {
			t.Errorf("route %q is not a route template of %v", route, m["method"])
		}
		if m["route"] == "POST /v1/transfers" && m["status"] == float64(201) && m["in_bytes"] == float64(len(body)) {
			sawTransfer = true
			if m["caller"] != "wallet-a" {
				t.Errorf("transfer's caller %v, want wallet-a", m["caller"])
			}
		}
	}
	if !sawTransfer {
		t.Errorf("no access line of the transfer with in_bytes %d", len(body))
	}
}

// TestReady: /readyz answers 200 once the switch serves with its routes
// loaded and its stores answering, 503 with the reason when the app
// database is gone or the switch stops; /healthz answers 200 throughout.
func TestReady(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			cfg := app.Config{DataDir: t.TempDir(), Store: e.store(t), Addr: "127.0.0.1:0", AdminToken: opToken}
			a, err := app.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close(context.Background())
			get := func(path string) (int, wire.Problem) {
				rec := httptest.NewRecorder()
				a.API.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				var p wire.Problem
				if rec.Code != 200 {
					json.Unmarshal(rec.Body.Bytes(), &p)
				}
				return rec.Code, p
			}
			check := func(health, ready int, detail string) {
				t.Helper()
				if code, _ := get("/healthz"); code != health {
					t.Errorf("healthz %d, want %d", code, health)
				}
				code, p := get("/readyz")
				if code != ready || p.Detail != detail {
					t.Errorf("readyz %d %q, want %d %q", code, p.Detail, ready, detail)
				}
			}
			check(200, 503, "starting or stopping") // opened, not serving yet
			if err := a.Serve(context.Background()); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for code, _ := get("/readyz"); code != 200; code, _ = get("/readyz") {
				if time.Now().After(deadline) {
					t.Fatal("not ready 10 s after Serve")
				}
				time.Sleep(5 * time.Millisecond)
			}
			check(200, 200, "")
			a.DB.Close()
			check(200, 503, "the app database does not answer")
			a.Close(context.Background())
			check(200, 503, "starting or stopping")
		})
	}
}

// tracedHook is a confirm-mode payee that accepts everything and notes
// the traceparent of each callback.
type tracedHook struct {
	secret string
	mu     sync.Mutex
	parent []string
}

func (h *tracedHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.parent = append(h.parent, r.Header.Get("traceparent"))
	h.mu.Unlock()
	var cb wire.Callback
	if json.Unmarshal(body, &cb) != nil || cb.Event != wire.EventTransferConfirm {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, _ := json.Marshal(wire.Decision{Decision: "accept", TransferID: cb.Transfer.ID})
	w.Header().Set(wire.SignatureHeader, wire.Sign(h.secret, time.Now(), b))
	w.Write(b)
}

// TestTraceTransfer: a payment to a confirm-mode payee, sent with a W3C
// traceparent, is one trace: the server span, child of the caller's
// span; the pipeline's stages, children of it; the ledger submissions,
// children of the stages that made them; the confirm callback's client
// span, whose traceparent the payee receives.
func TestTraceTransfer(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	s := start(t, "", func(c *app.Config) { c.TracerProvider = tp })
	h := &tracedHook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	keyA, _ := s.participant("wallet-a", nil)
	keyB, secB := s.participant("bank-b", func(np *wire.NewParticipant) {
		np.Kind, np.CallbackURL, np.Acceptance = "bank", srv.URL, "confirm"
	})
	h.mu.Lock()
	h.secret = secB
	h.mu.Unlock()
	s.deposit("wallet-a", "100.00")
	s.party(keyB, "MSISDN", "+8613800000001", "Li Si", "acct-1")

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	b, _ := json.Marshal(pay("traced-1", "MSISDN", "+8613800000001", "10.00"))
	req, _ := http.NewRequest("POST", s.url+"/v1/transfers", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	r, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r.Body)
	r.Body.Close()
	var got wire.Transfer
	if r.StatusCode != 201 || json.Unmarshal(out, &got) != nil || got.State != "COMMITTED" {
		t.Fatalf("transfer: %d %s", r.StatusCode, out)
	}

	// The server span ends after the answer is written: wait for it.
	var spans []sdktrace.ReadOnlySpan
	deadline := time.Now().Add(5 * time.Second)
	for {
		spans = spans[:0]
		for _, sp := range rec.Ended() {
			if sp.SpanContext().TraceID().String() == traceID {
				spans = append(spans, sp)
			}
		}
		if slicesContainName(spans, "POST /v1/transfers") || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, sp := range spans {
		byName[sp.Name()] = append(byName[sp.Name()], sp)
	}
	one := func(name string) sdktrace.ReadOnlySpan {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("%d spans %q in the trace, want 1; spans: %v", len(byName[name]), name, names(spans))
		}
		return byName[name][0]
	}
	server := one("POST /v1/transfers")
	if server.Parent().SpanID().String() != parentID || server.SpanKind() != trace.SpanKindServer {
		t.Errorf("server span's parent %s kind %v, want the caller's %s, server", server.Parent().SpanID(), server.SpanKind(), parentID)
	}
	stages := []string{"transfer.parse", "transfer.replay", "transfer.resolve", "transfer.screen", "transfer.price",
		"transfer.post", "transfer.confirm", "transfer.finish"}
	for _, name := range stages {
		if sp := one(name); sp.Parent().SpanID() != server.SpanContext().SpanID() {
			t.Errorf("stage %s's parent %s, want the server span %s", name, sp.Parent().SpanID(), server.SpanContext().SpanID())
		}
	}
	// Reserved at post, then committed at finish: two submissions.
	var parents []string
	for _, sp := range byName["ledger.submit"] {
		for _, stage := range []string{"transfer.post", "transfer.finish"} {
			if sp.Parent().SpanID() == one(stage).SpanContext().SpanID() {
				parents = append(parents, stage)
			}
		}
	}
	if strings.Join(parents, ",") != "transfer.post,transfer.finish" {
		t.Errorf("ledger.submit spans under %v, want transfer.post then transfer.finish", parents)
	}
	cb := one("callback")
	if cb.Parent().SpanID() != one("transfer.confirm").SpanContext().SpanID() || cb.SpanKind() != trace.SpanKindClient {
		t.Errorf("callback span's parent %s kind %v, want transfer.confirm, client", cb.Parent().SpanID(), cb.SpanKind())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	want := "00-" + traceID + "-" + cb.SpanContext().SpanID().String() + "-01"
	if len(h.parent) == 0 || h.parent[0] != want {
		t.Errorf("the payee's callbacks carried traceparent %q, want first %q", h.parent, want)
	}
}

func slicesContainName(spans []sdktrace.ReadOnlySpan, name string) bool {
	for _, sp := range spans {
		if sp.Name() == name {
			return true
		}
	}
	return false
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, sp := range spans {
		out = append(out, sp.Name())
	}
	return out
}
