package api

import (
	"context"
	"io"
	"net/http"
	"time"

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
	id := telemetry.RequestIDOf(r.Header)
	x.ID, x.idHeader[0] = id, id
	w.Header()[telemetry.RequestIDHeader] = x.idHeader[:]
	if s.tracer != nil {
		x.Context, x.span = telemetry.StartServer(x.Context, s.tracer, r.Method, r.Header)
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
	a := telemetry.Access{Method: r.Method, Route: x.route, Status: status, Took: took, In: x.in, Out: x.out, Caller: x.who, ID: x.ID}
	// Logged with the request's own context, which does not carry its id
	// again (Access.Log names it).
	a.Log(x.Context, s.log)
	if s.Observer != nil {
		s.Observer.Request(x.route, r.Method, status, took, x.out)
	}
	if x.span != nil {
		a.Annotate(x.span)
		x.span.End()
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
