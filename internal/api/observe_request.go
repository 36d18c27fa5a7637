package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/telemetry"
)

// exchange is one request as the API answers it, in one allocation: the
// request's context (which carries its id for the logs, and its span
// when tracing), the writer that counts the answer, the reader that
// counts the body, and what wrap learns of the request (its route
// template and who called). ServeHTTP logs it and tells the Observer of
// it once the answer is written.
type exchange struct {
	context.Context
	http.ResponseWriter
	telemetry.Request

	// body is the request's own body, which the exchange reads for the
	// handler (nil: the request has none).
	body io.ReadCloser
	// route is the route template, "POST /v1/transfers", set by wrap
	// ("" if no route matched); who is the caller as wrap found it:
	// a participant's id, "operator" or "regulator" ("" if none).
	route, who string
	start      time.Time
	status     int
	in, out    int64
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
	if x.status == 0 && code >= 200 {
		x.status = code
	}
	x.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes of the answer.
func (x *exchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	n, err := x.ResponseWriter.Write(b)
	x.out += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// Read counts the bytes of the request body.
func (x *exchange) Read(p []byte) (int, error) {
	n, err := x.body.Read(p)
	x.in += int64(n)
	return n, err
}

// Close closes the request body.
func (x *exchange) Close() error { return x.body.Close() }

// exchangeOf returns r's exchange, nil if r did not come through
// ServeHTTP.
func exchangeOf(r *http.Request) *exchange {
	x, _ := r.Context().(*exchange)
	return x
}

// serverSpan names the scope of the API's spans.
const serverScope = telemetry.Scope + "/internal/api"

// begin starts the exchange of w and r: its request id, taken from the
// client if it is a sane token, returned in the answer's header whatever
// happens next; its server span, continuing the client's traceparent,
// when tracing.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (*exchange, *http.Request) {
	x := &exchange{Context: r.Context(), ResponseWriter: w, start: time.Now()}
	id := ""
	if v := r.Header[telemetry.RequestIDHeader]; len(v) == 1 && telemetry.ValidRequestID(v[0]) {
		id = v[0]
	} else {
		id = telemetry.NewRequestID()
	}
	x.ID, x.idHeader[0] = id, id
	w.Header()[telemetry.RequestIDHeader] = x.idHeader[:]
	if s.tracer != nil {
		ctx := telemetry.Propagator.Extract(x.Context, propagation.HeaderCarrier(r.Header))
		x.Context, x.span = s.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
	}
	if r.Body != nil && r.Body != http.NoBody {
		x.body = r.Body
	}
	r = r.WithContext(x)
	if x.body != nil {
		r.Body = x
	}
	return x, r
}

// end logs the request's access line, tells the Observer of it and ends
// its span, once the answer is written.
func (s *Server) end(x *exchange, r *http.Request) {
	took := time.Since(x.start)
	status := x.status
	if status == 0 {
		status = http.StatusOK // what net/http answers for a handler that wrote nothing
	}
	if s.log.Enabled(x, slog.LevelInfo) {
		// The request's id is named here, and the line logged with the
		// request's own context, which does not carry it again: a record
		// whose attributes outgrow their first slice allocates once more.
		s.log.LogAttrs(x.Context, slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("route", x.route),
			slog.Int("status", status), slog.Int64("took_us", took.Microseconds()), slog.Int64("in_bytes", x.in),
			slog.Int64("out_bytes", x.out), slog.String("caller", x.who), slog.String(telemetry.RequestIDAttr, x.ID))
	}
	if s.Observer != nil {
		s.Observer.Request(x.route, r.Method, status, took, x.out)
	}
	if x.span != nil {
		if x.span.IsRecording() {
			s.endSpan(x, r, status)
		}
		x.span.End()
	}
}

// endSpan names the server span for its route and records the answer.
func (s *Server) endSpan(x *exchange, r *http.Request, status int) {
	sp := x.span
	if x.route != "" {
		sp.SetName(x.route)
		_, path, _ := strings.Cut(x.route, " ")
		sp.SetAttributes(attribute.String("http.route", path))
	}
	sp.SetAttributes(attribute.String("http.request.method", r.Method), attribute.Int("http.response.status_code", status),
		attribute.String("hulian.request_id", x.ID), attribute.Int64("http.request.body.size", x.in),
		attribute.Int64("http.response.body.size", x.out))
	if x.who != "" {
		sp.SetAttributes(attribute.String("hulian.caller", x.who))
	}
	if status >= 500 {
		sp.SetStatus(codes.Error, "")
	}
}

// caller names the principal in the logs: a participant by its id, the
// operator and the regulator by their roles.
func caller(p *auth.Principal) string {
	if p.Role == auth.RoleParticipant {
		return p.Participant.ID
	}
	return p.Role.String()
}
