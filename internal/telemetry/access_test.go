package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestRequestIDOf: one sane id is kept; none, two, or one that is no
// token give a new one.
func TestRequestIDOf(t *testing.T) {
	for _, c := range []struct {
		name string
		ids  []string
		keep bool
	}{
		{"sane", []string{"req-1.A_b"}, true},
		{"none", nil, false},
		{"two", []string{"a", "b"}, false},
		{"not a token", []string{"a b\n"}, false},
		{"empty", []string{""}, false},
	} {
		h := http.Header{}
		if c.ids != nil {
			h[RequestIDHeader] = c.ids
		}
		got := RequestIDOf(h)
		if !ValidRequestID(got) || (len(c.ids) > 0 && got == c.ids[0]) != c.keep {
			t.Errorf("%s: RequestIDOf(%q) = %q", c.name, c.ids, got)
		}
	}
}

// TestAccessLog: the access line's fields, its id named once when
// logged with a context that does not carry it; nothing below info.
func TestAccessLog(t *testing.T) {
	a := Access{Method: "PUT", Route: "PUT /transfers/{ID}", Status: 200, Took: 1500 * time.Microsecond, In: 321, Out: 0,
		Caller: "payerfsp", ID: "req-1"}
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "json", "info")
	a.Log(context.Background(), log)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%q: %v", buf.String(), err)
	}
	want := map[string]any{"msg": "request", "level": "INFO", "method": "PUT", "route": "PUT /transfers/{ID}", "status": 200.0,
		"took_us": 1500.0, "in_bytes": 321.0, "out_bytes": 0.0, "caller": "payerfsp", "request_id": "req-1"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, m[k], v, buf.String())
		}
	}
	if bytes.Count(buf.Bytes(), []byte("request_id")) != 1 {
		t.Errorf("the id named other than once: %s", buf.String())
	}
	buf.Reset()
	quiet, _ := NewLogger(&buf, "json", "warn")
	a.Log(context.Background(), quiet)
	if buf.Len() != 0 {
		t.Errorf("logged below its level: %s", buf.String())
	}
}

// TestAccessAnnotate: the server span is named for its route (a native
// one, a prefixed one), its path template is http.route, a 5xx is an
// error; with no route it keeps its name; an unrecorded span is left
// alone.
func TestAccessAnnotate(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	for _, c := range []struct {
		route, name, path string
		status            int
		code              codes.Code
	}{
		{"POST /v1/transfers", "POST /v1/transfers", "/v1/transfers", 201, codes.Unset},
		{"fspiop: PUT /transfers/{ID}", "fspiop: PUT /transfers/{ID}", "/transfers/{ID}", 200, codes.Unset},
		{"", "GET", "", 404, codes.Unset},
		{"GET /parties/{Type}/{ID}", "GET /parties/{Type}/{ID}", "/parties/{Type}/{ID}", 503, codes.Error},
	} {
		_, sp := StartServer(context.Background(), tp.Tracer("test"), "GET", http.Header{})
		a := Access{Method: "GET", Route: c.route, Status: c.status, ID: "r", Caller: "p"}
		a.Annotate(sp)
		sp.End()
		ended := rec.Ended()
		got := ended[len(ended)-1]
		var path string
		for _, kv := range got.Attributes() {
			if kv.Key == "http.route" {
				path = kv.Value.AsString()
			}
		}
		if got.Name() != c.name || path != c.path || got.Status().Code != c.code || got.SpanKind() != trace.SpanKindServer {
			t.Errorf("route %q: span %q, http.route %q, status %v, kind %v", c.route, got.Name(), path, got.Status().Code, got.SpanKind())
		}
	}
	(&Access{Route: "GET /x"}).Annotate(notRecorded) // must not panic
}

// TestStartServer: the server span continues the caller's traceparent.
func TestStartServer(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	h := http.Header{}
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	_, sp := StartServer(context.Background(), tp.Tracer("test"), "GET", h)
	defer sp.End()
	ro := sp.(sdktrace.ReadOnlySpan)
	if ro.Parent().SpanID().String() != "00f067aa0ba902b7" || ro.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("server span's parent %v, trace %v", ro.Parent().SpanID(), ro.SpanContext().TraceID())
	}
}
