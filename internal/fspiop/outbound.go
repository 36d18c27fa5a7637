package fspiop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/telemetry"
)

// message is one request or callback the switch sends to an FSPIOP
// participant.
type message struct {
	to       *participant.FSPIOP
	toID     string
	method   string
	path     string // from the root, e.g. "/parties/MSISDN/27713803912"
	resource string
	version  string // of the content, as the original requester used it
	source   string
	dest     string
	body     []byte
	// relay holds the headers of the request being relayed, which go on
	// byte for byte (the sender's signature among them); nil for the
	// switch's own message, which the switch signs if it has a key.
	relay http.Header
	// parent is the span the message was sent under, which its client
	// spans continue (set only when tracing); rid is the id of the
	// request whose work sent it, "" if none, for the log lines of its
	// delivery.
	parent trace.SpanContext
	rid    string
}

// sender delivers messages from a bounded queue with a few workers,
// retrying each with backoff: callbacks are how every FSPIOP exchange
// ends, so a participant briefly unreachable still gets them.
type sender struct {
	s     *Server
	queue chan *message
	cfg   Config
}

func newSender(s *Server, cfg Config) *sender {
	return &sender{s: s, queue: make(chan *message, cfg.QueueMax), cfg: cfg}
}

// send queues m, sent for the work of ctx (a request's, or a native
// payment's), or drops it (logged) when the queue is full.
func (q *sender) send(ctx context.Context, m *message) {
	if q.s.tracer != nil {
		m.parent = trace.SpanContextFromContext(ctx)
	}
	if rq := telemetry.FromContext(ctx); rq != nil {
		m.rid = rq.ID
	}
	select {
	case q.queue <- m:
	default:
		q.s.Log.ErrorContext(ctx, "fspiop: send queue full, message dropped", "to", m.toID, "method", m.method, "resource", m.resource)
	}
}

func (q *sender) run(ctx context.Context) {
	done := make(chan struct{})
	for range q.cfg.Senders {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-q.queue:
					q.deliver(ctx, m)
				}
			}
		}()
	}
	for range q.cfg.Senders {
		<-done
	}
}

// deliver sends m until it is accepted (2xx), refused for good (4xx
// other than 408 and 429), or the attempts are spent.
func (q *sender) deliver(ctx context.Context, m *message) {
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		status, err := q.attempt(ctx, m)
		if err == nil && status/100 == 2 {
			return
		}
		final := attempt >= q.cfg.Attempts || (err == nil && status/100 == 4 && status != 408 && status != 429)
		if final {
			// The resource, not the path, and the error without its URL:
			// both may hold an alias. Named by the request that sent it.
			lctx := ctx
			if m.rid != "" {
				lctx = telemetry.NewContext(ctx, &telemetry.Request{ID: m.rid})
			}
			q.s.Log.WarnContext(lctx, "fspiop: message not delivered", "to", m.toID, "method", m.method, "resource", m.resource,
				"status", status, "err", withoutURL(err), "attempts", attempt)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff *= 3
	}
}

// traceHeaders are W3C Trace Context's headers, in canonical form.
var traceHeaders = [...]string{"Traceparent", "Tracestate"}

// withoutURL drops the URL net/http names in its errors: an FSPIOP path
// may hold an alias ("/parties/MSISDN/…"), and these errors are logged.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// attempt sends m once, in a client span of its own when tracing.
func (q *sender) attempt(ctx context.Context, m *message) (status int, err error) {
	ctx, cancel := context.WithTimeout(ctx, q.cfg.SendTimeout)
	defer cancel()
	ctx, span := q.s.startSend(ctx, m)
	defer func() {
		if span.IsRecording() {
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if err != nil || status >= 400 {
				span.SetStatus(codes.Error, "")
			}
		}
		span.End()
	}()
	body := m.body
	h := make(http.Header)
	relay, source, dest := m.relay, m.source, m.dest
	if m.to.LinkID != "" {
		// Another scheme knows this switch as one FSP, LinkID, whatever
		// FSP of this switch a message is from: it is sent as the
		// switch's own, signed by the switch, with the far scheme's key.
		if relay != nil {
			dest = relay.Get(msg.HeaderDestination)
		}
		relay, source = nil, m.to.LinkID
		if m.to.LinkKey != "" {
			h.Set("Authorization", "Bearer "+m.to.LinkKey)
		}
	}
	switch {
	case q.s.tracer != nil:
		// The receiver's trace goes on from this attempt's span.
		telemetry.Propagator.Inject(ctx, propagation.HeaderCarrier(h))
	case relay != nil:
		// Not tracing, the switch passes the sender's trace on, as
		// Mojaloop's hub does.
		for _, name := range traceHeaders {
			if v := relay[name]; len(v) > 0 {
				h[name] = v
			}
		}
	}
	if relay != nil {
		jws.Relay(h, relay)
	} else {
		h.Set("Date", msg.FormatDate(q.s.Now()))
		h.Set(msg.HeaderSource, source)
		if dest != "" {
			h.Set(msg.HeaderDestination, dest)
		}
	}
	h.Set("Content-Type", msg.ContentType(m.resource, m.version))
	if m.method != http.MethodPut && m.method != http.MethodPatch {
		h.Set("Accept", msg.ContentType(m.resource, m.version))
	}
	if relay == nil && q.s.Signer != nil && body != nil {
		var err error
		if body, err = q.s.Signer.Sign(h, m.method, m.path, body); err != nil {
			return 0, fmt.Errorf("sign: %w", err)
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, m.method, m.to.Endpoint+m.path, rd)
	if err != nil {
		return 0, err
	}
	req.Header = h
	resp, err := q.s.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}
