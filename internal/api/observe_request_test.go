package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	stdjson "encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/telemetry"
	"github.com/hulian/hulian/internal/wire"
)

// observed is one request an observer heard of.
type observed struct {
	route, method string
	status        int
	bytes         int64
}

// observer records what the API tells it.
type observer struct {
	mu  sync.Mutex
	got []observed
}

func (o *observer) Request(route, method string, status int, took time.Duration, bytes int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, observed{route, method, status, bytes})
}

// observedServer is a server with no core behind it that logs, as JSON,
// to the returned buffer, and tells o of its requests.
func observedServer(t *testing.T, d api.Deps, o *observer) (*api.Server, *bytes.Buffer) {
	t.Helper()
	authn, err := auth.NewAuthenticator(sha256.Sum256([]byte(testOpToken)), [sha256.Size]byte{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log, err := telemetry.NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	d.Auth, d.Log = authn, log
	if o != nil {
		d.Observer = o
	}
	var cfg api.Config
	cfg.EnsureDefaults()
	s, err := api.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return s, &buf
}

const testOpToken = "test-op-0123456789abcdef-0123456789ab"

// logLines decodes the JSON lines of buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := stdjson.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestLogAccessLine: each request is logged once, after its answer, by
// its route template (never its path), with its status, sizes, caller
// and id; the observer hears the same; the id is the client's if sane,
// else a fresh one, and every answer carries it.
func TestLogAccessLine(t *testing.T) {
	o := &observer{}
	s, buf := observedServer(t, api.Deps{}, o)
	for _, c := range []struct {
		name, method, target, token, id string
		route                           string
		status                          int
		caller                          string
		keepID                          bool
	}{
		{"public, client id kept", "GET", "/healthz", "", "client-req.42_x", "GET /healthz", 200, "", true},
		{"operator, longest id kept", "GET", "/v1/audit/checkpoint", testOpToken, strings.Repeat("a", 64), "GET /v1/audit/checkpoint", 503, "operator", true},
		{"unauthenticated", "GET", "/v1/participants", "Bearer-less", "", "GET /v1/participants", 401, "", false},
		{"alias in the path", "GET", "/v1/parties/MSISDN/+8613987654321?after=QUERYSECRET", "wrong-token", "", "GET /v1/parties/{type}/{value}", 401, "", false},
		{"no route", "GET", "/v1/nothing/+8613987654321", "", "id with spaces", "", 404, "", false},
		{"id too long", "GET", "/healthz", "", strings.Repeat("a", 65), "GET /healthz", 200, "", false},
		{"id with a newline", "GET", "/healthz", "", "a\nb", "GET /healthz", 200, "", false},
		{"id not ASCII", "GET", "/healthz", "", "é", "GET /healthz", 200, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf.Reset()
			o.got = nil
			req := httptest.NewRequest(c.method, c.target, nil)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			if c.id != "" {
				req.Header[telemetry.RequestIDHeader] = []string{c.id}
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body.Bytes())
			}
			id := rec.Header().Get(telemetry.RequestIDHeader)
			switch {
			case c.keepID && id != c.id:
				t.Errorf("answer's request id %q, want the client's %q", id, c.id)
			case !c.keepID && (id == c.id || len(id) != 32 || strings.Trim(id, "0123456789abcdef") != ""):
				t.Errorf("answer's request id %q, want 32 fresh hex digits", id)
			}
			lines := logLines(t, buf)
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1: %s", len(lines), buf)
			}
			l := lines[0]
			want := map[string]any{"msg": "request", "level": "INFO", "method": c.method, "route": c.route,
				"status": float64(c.status), "out_bytes": float64(rec.Body.Len()), "in_bytes": float64(0),
				"caller": c.caller, "request_id": id}
			for k, v := range want {
				if l[k] != v {
					t.Errorf("log %s = %v, want %v (line %v)", k, l[k], v, l)
				}
			}
			if _, ok := l["took_us"].(float64); !ok {
				t.Errorf("log line without took_us: %v", l)
			}
			for _, secret := range []string{"8613987654321", "QUERYSECRET", "wrong-token", testOpToken, "nothing"} {
				if strings.Contains(buf.String(), secret) {
					t.Errorf("log holds %q: %s", secret, buf)
				}
			}
			if len(o.got) != 1 || o.got[0] != (observed{c.route, c.method, c.status, int64(rec.Body.Len())}) {
				t.Errorf("observer heard %+v, want %+v", o.got, observed{c.route, c.method, c.status, int64(rec.Body.Len())})
			}
		})
	}
}

// TestReadiness: /healthz answers 200 whatever Ready says; /readyz 200
// when ready, else 503 unavailable with the reason in detail.
func TestReadiness(t *testing.T) {
	var mu sync.Mutex
	var why error
	s, _ := observedServer(t, api.Deps{Ready: func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		mu.Lock()
		defer mu.Unlock()
		return why
	}}, nil)
	for _, c := range []struct {
		why             error
		healthz, readyz int
	}{
		{nil, 200, 200},
		{errors.New("the ledger store does not answer"), 200, 503},
		{nil, 200, 200},
	} {
		mu.Lock()
		why = c.why
		mu.Unlock()
		for _, path := range []string{"/healthz", "/readyz"} {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			want := c.healthz
			if path == "/readyz" {
				want = c.readyz
			}
			if rec.Code != want {
				t.Fatalf("%s with Ready %v: %d, want %d: %s", path, c.why, rec.Code, want, rec.Body.Bytes())
			}
			if want == 200 {
				if rec.Body.String() != `{"status":"ok"}` {
					t.Errorf("%s: body %s", path, rec.Body.Bytes())
				}
				continue
			}
			var p wire.Problem
			if err := stdjson.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Type != wire.ProblemBase+"unavailable" ||
				p.Detail != c.why.Error() || rec.Header().Get("Retry-After") == "" {
				t.Errorf("%s not ready: %s (Retry-After %q), want unavailable with detail %q", path, rec.Body.Bytes(),
					rec.Header().Get("Retry-After"), c.why)
			}
		}
	}
}

// TestTraceServerSpan: with a tracer, a request is a server span named
// for its route, in the trace of the client's traceparent, with its
// parent the client's span; a request with a traceparent that is not
// sampled records nothing; without one, a new trace.
func TestTraceServerSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	s, _ := observedServer(t, api.Deps{Tracer: tp}, nil)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, c := range []struct {
		name, traceparent string
		spans             int
		parent            bool
	}{
		{"continued", "00-" + traceID + "-" + parentID + "-01", 1, true},
		{"not sampled by the client", "00-" + traceID + "-" + parentID + "-00", 0, false},
		{"new trace", "", 1, false},
		{"malformed traceparent: new trace", "00-xyz-" + parentID + "-01", 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(rec.Ended())
			req := httptest.NewRequest("GET", "/v1/audit/checkpoint", nil)
			req.Header.Set("Authorization", "Bearer "+testOpToken)
			if c.traceparent != "" {
				req.Header.Set("traceparent", c.traceparent)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			spans := rec.Ended()[before:]
			if len(spans) != c.spans {
				t.Fatalf("%d spans, want %d", len(spans), c.spans)
			}
			if c.spans == 0 {
				return
			}
			sp := spans[0]
			if sp.Name() != "GET /v1/audit/checkpoint" || sp.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q of kind %v, want GET /v1/audit/checkpoint, server", sp.Name(), sp.SpanKind())
			}
			continued := sp.SpanContext().TraceID().String() == traceID && sp.Parent().SpanID().String() == parentID
			if continued != c.parent || (!c.parent && sp.Parent().IsValid()) {
				t.Errorf("span in trace %s with parent %s; want the client's: %v", sp.SpanContext().TraceID(), sp.Parent().SpanID(), c.parent)
			}
			attrs := map[string]string{}
			for _, kv := range sp.Attributes() {
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			for k, v := range map[string]string{"http.route": "/v1/audit/checkpoint", "http.request.method": "GET",
				"http.response.status_code": "503", "hulian.caller": "operator",
				"hulian.request_id": w.Header().Get(telemetry.RequestIDHeader)} {
				if attrs[k] != v {
					t.Errorf("attribute %s = %q, want %q", k, attrs[k], v)
				}
			}
		})
	}
}
