// Package telemetry owns what the switch tells its operators about each
// request, apart from metrics: the request's id and the structured logs
// that carry it (log/slog), and OpenTelemetry traces — the tracer
// provider that exports them over OTLP/HTTP, the W3C Trace Context
// propagation of participants' traceparent, and the helper that starts a
// child span only when its parent is recorded.
//
// Tracing is off unless an OTLP endpoint is configured. Then no
// provider exists: the request's context carries no span, and Start
// returns at once, allocating nothing. Logs never carry aliases, names,
// account references, secrets, raw paths or query strings: a request is
// named by its route template and its id.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Scope is the instrumentation scope of the switch's spans.
const Scope = "github.com/hulian/hulian"

// Propagator reads and writes W3C Trace Context headers (traceparent,
// tracestate): participants' requests carry them in, the switch's
// callbacks carry them out.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// notRecorded is the span Start returns when it starts none: boxed
// once, so that returning it allocates nothing.
var notRecorded trace.Span = noop.Span{}

// Start starts the span name as a child of ctx's span if that one is
// recorded, with the parent's provider; else it returns ctx and a span
// that records nothing, at no cost. A child of a span that is not
// recorded would not be recorded either (the samplers are parent-based),
// so nothing is lost.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, notRecorded
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, opts...)
}

// exportTimeout bounds one export to the collector, and flushing the
// spans still queued when the switch stops.
const exportTimeout = 10 * time.Second

// ParseEndpoint checks an OTLP/HTTP endpoint, "http(s)://host:port" with
// an optional path, and returns the URL spans are posted to: the path
// given, or the collectors' standard /v1/traces.
func ParseEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("OTLP endpoint %q: want http(s)://host:port[/path]", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// NewProvider returns a tracer provider that samples every trace a
// participant did not mark unsampled (OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG may say otherwise) and exports the spans in
// batches over OTLP/HTTP to endpoint (see ParseEndpoint). Its Shutdown
// flushes what is queued. Export failures are logged to log; OTel
// reports them through its process-wide error handler, which this sets.
func NewProvider(ctx context.Context, endpoint, service string, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	target, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(target), otlptracehttp.WithTimeout(exportTimeout))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "err", err) }))
	res := resource.NewSchemaless(attribute.String("service.name", service))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithExportTimeout(exportTimeout)),
		sdktrace.WithResource(res)), nil
}
