package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// RequestIDOf returns the id a request is logged under: the one its
// client sent in RequestIDHeader if it sent one sane token
// (ValidRequestID), else a new one.
func RequestIDOf(h http.Header) string {
	if v := h[RequestIDHeader]; len(v) == 1 && ValidRequestID(v[0]) {
		return v[0]
	}
	return NewRequestID()
}

// StartServer starts the server span of a request with tracer,
// continuing the W3C traceparent its header h carries (a new trace
// without one). The span is named for the method until Annotate names it
// for its route.
func StartServer(ctx context.Context, tracer trace.Tracer, method string, h http.Header) (context.Context, trace.Span) {
	ctx = Propagator.Extract(ctx, propagation.HeaderCarrier(h))
	return tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer))
}

// Access is one answered request as its access line and its server span
// tell it: every front end of the switch logs the same fields. It holds
// no path, query, header or body: an alias, a key or a signature never
// reaches the logs through it.
type Access struct {
	Method string
	// Route is the route template ("POST /v1/transfers", "PUT
	// /transfers/{ID}"), "" when no route matched — never the raw path,
	// which may hold an alias.
	Route  string
	Status int
	Took   time.Duration
	// In and Out are the bytes of the request body read and of the
	// answer written.
	In, Out int64
	// Caller names who called once authenticated: a participant's id, or
	// a role; "" before.
	Caller string
	// ID is the request's id (RequestIDHeader).
	ID string
}

// Log writes a's access line, "request", at info level. The request's id
// is named here: ctx should be the request's context without its
// *Request, or WithRequestID's handler names it a second time (and a
// record whose attributes outgrow their first slice allocates once
// more).
func (a *Access) Log(ctx context.Context, log *slog.Logger) {
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", a.Method), slog.String("route", a.Route),
		slog.Int("status", a.Status), slog.Int64("took_us", a.Took.Microseconds()), slog.Int64("in_bytes", a.In),
		slog.Int64("out_bytes", a.Out), slog.String("caller", a.Caller), slog.String(RequestIDAttr, a.ID))
}

// Annotate names a request's server span for its route and records the
// answer on it, if the span is recorded; the caller ends the span.
func (a *Access) Annotate(sp trace.Span) {
	if !sp.IsRecording() {
		return
	}
	if a.Route != "" {
		sp.SetName(a.Route)
		sp.SetAttributes(attribute.String("http.route", a.Route[strings.LastIndexByte(a.Route, ' ')+1:]))
	}
	sp.SetAttributes(attribute.String("http.request.method", a.Method), attribute.Int("http.response.status_code", a.Status),
		attribute.String("hulian.request_id", a.ID), attribute.Int64("http.request.body.size", a.In),
		attribute.Int64("http.response.body.size", a.Out))
	if a.Caller != "" {
		sp.SetAttributes(attribute.String("hulian.caller", a.Caller))
	}
	if a.Status >= 500 {
		sp.SetStatus(codes.Error, "")
	}
}
