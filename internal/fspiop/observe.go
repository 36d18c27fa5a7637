package fspiop

import (
	"context"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hulian/hulian/internal/telemetry"
)

// RequestObserver hears of every request the front end answered, as the
// native API's observer does (internal/metrics implements both): its
// route label, its method, status, how long it took and the bytes of its
// answer. The label is the route template as FSPIOP's definition writes
// it, prefixed so that it is never taken for a native route ("fspiop:
// PUT /transfers/{ID}"; "fspiop: unmatched" when no route matched) —
// never the raw path, which holds a party's identifier. It is called on
// the request's goroutine after the answer is written, and must be quick.
type RequestObserver interface {
	Request(route, method string, status int, took time.Duration, bytes int64)
}

// labelPrefix sets the front end's route labels apart from the native
// API's; unmatched is the label of a request no route matched.
const (
	labelPrefix = "fspiop: "
	unmatched   = labelPrefix + "unmatched"
)

// templateNames writes a route pattern's wildcards as FSPIOP's
// definition names them: "PUT /parties/{type}/{id}/{sub}" is "PUT
// /parties/{Type}/{ID}/{SubId}".
var templateNames = strings.NewReplacer("{type}", "{Type}", "{id}", "{ID}", "{sub}", "{SubId}")

// exchange is one request as the front end answers it, in one
// allocation: the request's context (which carries its id for the logs,
// and its server span when tracing), the writer that counts the answer,
// and what the route's handler learns of the request (its route, who
// called, the bytes of its body). ServeHTTP logs it and tells the
// Observer of it once the answer is written.
type exchange struct {
	context.Context
	http.ResponseWriter
	telemetry.Request

	access telemetry.Access
	// label is the route's label for the Observer (see RequestObserver).
	label string
	start time.Time
	// span is the request's server span; nil when not tracing.
	span trace.Span
	// idHeader is the answer's Hulian-Request-Id value, kept here so
	// that setting it allocates nothing.
	idHeader [1]string
}

// Value answers the request's telemetry record itself; the rest comes
// from the request's context.
func (x *exchange) Value(key any) any {
	if _, ok := key.(telemetry.RequestKey); ok {
		return &x.Request
	}
	return x.Context.Value(key)
}

// WriteHeader notes the status of the answer.
func (x *exchange) WriteHeader(code int) {
	if x.access.Status == 0 && code >= 200 {
		x.access.Status = code
	}
	x.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes of the answer.
func (x *exchange) Write(b []byte) (int, error) {
	if x.access.Status == 0 {
		x.access.Status = http.StatusOK
	}
	n, err := x.ResponseWriter.Write(b)
	x.access.Out += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// exchangeOf returns r's exchange, nil if r did not come through
// ServeHTTP.
func exchangeOf(r *http.Request) *exchange {
	x, _ := r.Context().(*exchange)
	return x
}

// scope names the scope of the front end's spans.
const scope = telemetry.Scope + "/internal/fspiop"

// begin starts the exchange of w and r: its request id, taken from the
// client if it is a sane token, returned in the answer's header whatever
// happens next; its server span, continuing the client's traceparent,
// when tracing.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (*exchange, *http.Request) {
	x := &exchange{Context: r.Context(), ResponseWriter: w, start: time.Now(), label: unmatched}
	x.ID = telemetry.RequestIDOf(r.Header)
	x.access.ID, x.access.Method, x.idHeader[0] = x.ID, r.Method, x.ID
	w.Header()[telemetry.RequestIDHeader] = x.idHeader[:]
	if s.tracer != nil {
		x.Context, x.span = telemetry.StartServer(x.Context, s.tracer, r.Method, r.Header)
	}
	return x, r.WithContext(x)
}

// end logs the request's access line, tells the Observer of it and ends
// its span, once the answer is written. The line is logged with the
// request's own context, which does not carry its id again.
func (s *Server) end(x *exchange) {
	a := &x.access
	a.Took = time.Since(x.start)
	if a.Status == 0 {
		a.Status = http.StatusOK // what net/http answers for a handler that wrote nothing
	}
	a.Log(x.Context, s.accessLog)
	if s.Observer != nil {
		s.Observer.Request(x.label, a.Method, a.Status, a.Took, a.Out)
	}
	if x.span != nil {
		a.Annotate(x.span)
		x.span.End()
	}
}

// routed notes what the route's handler learnt of the request: its
// route, and, once checked, who called and the bytes of its body.
func (x *exchange) routed(h *handler, in *inbound) {
	x.access.Route, x.label = h.route, h.label
	if in != nil {
		x.access.Caller, x.access.In = in.from.ID, int64(len(in.body))
	}
}

// notRecorded is the span of a message sent while not tracing: boxed
// once, so that returning it allocates nothing.
var notRecorded trace.Span = noop.Span{}

// startSend starts the client span of one attempt to send m, a child of
// the span m was sent under (the request whose work sent it, or a
// native payment's stage), or of none; while not tracing it returns ctx
// and a span that records nothing.
func (s *Server) startSend(ctx context.Context, m *message) (context.Context, trace.Span) {
	if s.tracer == nil {
		return ctx, notRecorded
	}
	if m.parent.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, m.parent)
	}
	ctx, sp := s.tracer.Start(ctx, "fspiop.send", trace.WithSpanKind(trace.SpanKindClient))
	if sp.IsRecording() {
		sp.SetAttributes(attribute.String("hulian.participant", m.toID), attribute.String("http.request.method", m.method),
			attribute.String("fspiop.resource", m.resource))
	}
	return ctx, sp
}
