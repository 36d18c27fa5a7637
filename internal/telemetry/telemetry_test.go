package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestValidRequestID(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"abc-DEF_123.x", true},
		{strings.Repeat("a", RequestIDMax), true},
		{strings.Repeat("a", RequestIDMax+1), false},
		{"", false},
		{"a b", false},
		{"a\nb", false},
		{"a/b", false},
		{"é", false},
		{`a"b`, false},
	} {
		if got := ValidRequestID(c.id); got != c.want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", c.id, got, c.want)
		}
	}
	a, b := NewRequestID(), NewRequestID()
	if a == b || len(a) != 32 || !ValidRequestID(a) {
		t.Errorf("NewRequestID: %q then %q, want two different 32-digit ids", a, b)
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"http://collector:4318", "http://collector:4318/v1/traces"},
		{"http://collector:4318/", "http://collector:4318/v1/traces"},
		{"https://otel.example:443/custom/traces", "https://otel.example:443/custom/traces"},
		{"collector:4318", ""},
		{"grpc://collector:4317", ""},
		{"http://user:pw@collector:4318", ""},
		{"http://collector:4318/v1/traces?x=1", ""},
		{"http://", ""},
	} {
		got, err := ParseEndpoint(c.in)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("ParseEndpoint(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestLogRequestID: a line logged with a request's context carries its
// id; others do not; formats and levels are checked.
func TestLogRequestID(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := NewContext(context.Background(), &Request{ID: "req-1"})
	log.InfoContext(ctx, "in a request")
	log.With("k", "v").InfoContext(ctx, "with attrs")
	log.Info("outside")
	log.DebugContext(ctx, "below the level")
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 || lines[0]["request_id"] != "req-1" || lines[1]["request_id"] != "req-1" || lines[1]["k"] != "v" ||
		lines[2]["request_id"] != nil {
		t.Errorf("lines %v", lines)
	}
	if WithRequestID(log.Handler()) != log.Handler() {
		t.Error("WithRequestID wraps a handler that adds the id already")
	}
	for _, c := range []struct{ format, level string }{{"xml", "info"}, {"json", "loud"}, {"", ""}} {
		if _, err := NewLogger(&buf, c.format, c.level); err == nil {
			t.Errorf("NewLogger(%q, %q) accepted", c.format, c.level)
		}
	}
	buf.Reset()
	text, _ := NewLogger(&buf, "text", "debug")
	text.DebugContext(ctx, "debug line")
	if !strings.Contains(buf.String(), "request_id=req-1") || !strings.Contains(buf.String(), "level=DEBUG") {
		t.Errorf("text line %q", buf.String())
	}
	if lv, _ := ParseLevel("warn"); lv != slog.LevelWarn {
		t.Errorf("ParseLevel(warn) = %v", lv)
	}
}

// TestTraceStart: a child only of a recorded span; untraced, no span
// and no allocation.
func TestTraceStart(t *testing.T) {
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		c, sp := Start(ctx, "stage")
		sp.End()
		if c != ctx {
			t.Fatal("Start changed an untraced context")
		}
	}); n != 0 {
		t.Errorf("untraced Start allocates %v times", n)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(ctx)
	pctx, parent := tp.Tracer("test").Start(ctx, "request")
	_, child := Start(pctx, "stage")
	child.End()
	parent.End()
	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Name() != "stage" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("spans %v", ended)
	}
	// A parent sampled out: no child either.
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(rec))
	defer never.Shutdown(ctx)
	nctx, np := never.Tracer("test").Start(ctx, "request")
	if _, sp := Start(nctx, "stage"); sp.IsRecording() {
		t.Error("a child of an unrecorded span records")
	}
	np.End()
}

// TestTraceExport: a provider made for an endpoint posts the spans to
// its /v1/traces over OTLP/HTTP, at the latest when it shuts down.
func TestTraceExport(t *testing.T) {
	var mu sync.Mutex
	var posts []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
		if len(body) == 0 {
			t.Error("an empty export")
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	ctx := context.Background()
	tp, err := NewProvider(ctx, collector.URL, "hulian-test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, sp := tp.Tracer("test").Start(ctx, "request")
	sp.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 || posts[0] != "POST /v1/traces application/x-protobuf" {
		t.Errorf("the collector got %q, want one OTLP/HTTP protobuf export", posts)
	}
	if _, err := NewProvider(ctx, "collector:4318", "x", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("NewProvider accepted an endpoint without a scheme")
	}
}
