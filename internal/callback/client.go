// Package callback owns what the switch sends to participants: signed
// HTTP callbacks. It asks confirm-mode payees to accept or reject a
// transfer, synchronously, and delivers notifications asynchronously —
// committed incoming transfers and liquidity alerts —, at least once, in
// order per participant and stream, retried with backoff.
//
// Notifications need no outbox table: the ledger's durable, ordered log
// already is one for transfers, and the liquidity alerts table for
// alerts. Each participant has a cursor per stream (a currency's credits:
// the timestamp of the last event delivered; alerts: the seq of the last
// alert), kept in the app database, and a worker that reads what follows
// it. A crash can only make the worker deliver again what it delivered
// since the cursor was last saved.
//
// What a callback body looks like is the participant's protocol's
// business (Format): the package signs, sends, retries and keeps cursors.
package callback

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

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/telemetry"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// bodyMax bounds what the switch reads of a participant's answer.
const bodyMax = 64 << 10

// Format renders callbacks in a participant's protocol and reads its
// answers: the JSON API's (package api) for participants of the native
// API.
type Format interface {
	// TransfersCommitted renders the notification that transfers to the
	// participant committed, oldest first.
	TransfersCommitted(ts []transfer.Transfer) ([]byte, error)
	// TransferConfirm renders the request to accept or reject t.
	TransferConfirm(t *transfer.Transfer) ([]byte, error)
	// Decision reads a payee's answer to TransferConfirm.
	Decision(t *transfer.Transfer, body []byte) (accept bool, reason string, err error)
	// LiquidityAlert renders a liquidity alert.
	LiquidityAlert(a *liquidity.Alert) ([]byte, error)
}

// Client sends signed callbacks.
type Client struct {
	HTTP   *http.Client
	Format Format
	// Formats are the formats of participants whose MessageFormat is not
	// the default, by that name; Format writes for the others.
	Formats map[string]Format
	Now     func() time.Time
	// PlainHTTP allows http:// callback URLs (with private addresses,
	// for development); else only https:// ones are called, whatever an
	// older release let participants register.
	PlainHTTP bool
	// Tracer, if set, traces each callback as a client span: a child of
	// the span of the request it is sent for (a confirm), else a trace of
	// its own (a notification). Without it, only callbacks sent for a
	// traced request are traced. Either way a callback carries the W3C
	// traceparent of its span, or of the request it is sent for.
	Tracer trace.TracerProvider
}

// dialTimeout bounds connecting to a participant; keep-alive probes
// run at the same period.
const dialTimeout = 30 * time.Second

// NewClient returns a client with sensible connection reuse for many
// callbacks to few hosts. Unless allowPrivate, it connects only to
// public addresses, checked after DNS resolution (see Public). It never
// follows a redirect: a 3xx answer is a refusal, so that a participant's
// server cannot point the switch's signed requests elsewhere. It ignores
// the HTTP(S)_PROXY environment, under which the proxy, not the switch,
// would resolve and reach the participant's host.
func NewClient(f Format, now func() time.Time, allowPrivate bool) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialer(allowPrivate).DialContext
	tr.MaxIdleConnsPerHost = 64
	hc := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{HTTP: hc, Format: f, Now: now, PlainHTTP: allowPrivate}
}

// FormatFor returns the format p's callbacks are written in.
func (c *Client) FormatFor(p *participant.Participant) Format {
	if f, ok := c.Formats[p.MessageFormat]; ok {
		return f
	}
	return c.Format
}

// ErrRefused means the participant answered with a status other than
// 2xx (a redirect included) or an unreadable body, or answered a confirm
// without its signature: the callback failed, as if unanswered.
var ErrRefused = fault.New(fault.Unavailable, "", "callback refused")

// Post sends body to p's callback URL, signed with each of p's valid
// callback secrets, and returns the answer's body (at most 64 KiB). A
// status other than 2xx — a redirect included — is ErrRefused.
func (c *Client) Post(ctx context.Context, p *participant.Participant, body []byte) ([]byte, error) {
	b, _, err := c.send(ctx, p, body)
	return b, err
}

// callbackScope names the scope of the callbacks' spans.
const callbackScope = telemetry.Scope + "/internal/callback"

// startSpan starts the client span of a callback to p, when its
// request's span is recorded or the client has a tracer; else it
// returns ctx and a span that records nothing.
func (c *Client) startSpan(ctx context.Context, p *participant.Participant) (context.Context, trace.Span) {
	opts := trace.WithSpanKind(trace.SpanKindClient)
	var span trace.Span
	if parent := trace.SpanFromContext(ctx); parent.IsRecording() || c.Tracer == nil {
		ctx, span = telemetry.Start(ctx, "callback", opts)
	} else {
		ctx, span = c.Tracer.Tracer(callbackScope).Start(ctx, "callback", opts)
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.String("hulian.participant", p.ID), attribute.String("http.request.method", http.MethodPost))
	}
	return ctx, span
}

// send is Post, which also returns the answer's header.
func (c *Client) send(ctx context.Context, p *participant.Participant, body []byte) (_ []byte, _ http.Header, err error) {
	ctx, span := c.startSpan(ctx, p)
	defer func() {
		if err != nil && span.IsRecording() {
			span.SetStatus(codes.Error, "")
		}
		span.End()
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("callback to %s: %w", p.ID, withoutURL(err))
	}
	// The participant's own trace goes on: the callback continues the
	// traceparent its request came with (nothing without one).
	telemetry.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	if req.URL.Scheme != "https" && !c.PlainHTTP {
		// A URL registered before callbacks had to be https: the body
		// and the signed answer would cross the network in clear.
		return nil, nil, fmt.Errorf("callback to %s: %w: %s is not https", p.ID, ErrAddress, req.URL.Scheme)
	}
	// The body says what it is: an ISO 20022 document, or JSON.
	ctype := "application/json"
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
		ctype = "application/xml"
	}
	req.Header.Set("Content-Type", ctype)
	now := c.Now()
	req.Header.Set(wire.SignatureHeader, wire.SignAll(p.CallbackSecrets(now), now, body))
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("callback to %s: %w", p.ID, withoutURL(err))
	}
	defer resp.Body.Close()
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, bodyMax))
	if err != nil {
		return nil, nil, fmt.Errorf("callback to %s: %w", p.ID, withoutURL(err))
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, fmt.Errorf("callback to %s: status %d: %w", p.ID, resp.StatusCode, ErrRefused)
	}
	return b, resp.Header, nil
}

// withoutURL drops the URL net/http names in its errors: a callback URL
// may hold a participant's token in its path or query, and the error is
// logged. The participant's id names the callback instead.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// AnswerTolerance is how far the time in a confirm answer's signature
// may be from the switch's clock.
const AnswerTolerance = 5 * time.Minute

// Confirm asks a confirm-mode payee whether it accepts t. It implements
// transfer.Confirmer. The answer must carry a SignatureHeader over its
// body under one of the payee's valid callback secrets: an answer
// without one, or with a wrong one, could come from whoever sits
// between the switch and the payee, and is ErrRefused like no answer.
func (c *Client) Confirm(ctx context.Context, payee participant.Participant, t transfer.Transfer) (bool, string, error) {
	f := c.FormatFor(&payee)
	body, err := f.TransferConfirm(&t)
	if err != nil {
		return false, "", err
	}
	b, h, err := c.send(ctx, &payee, body)
	if err != nil {
		return false, "", err
	}
	if err := verifyAnswer(h.Get(wire.SignatureHeader), payee.CallbackSecrets(c.Now()), b, c.Now()); err != nil {
		return false, "", fmt.Errorf("confirm %s: %w: answer %v", t.ID, ErrRefused, err)
	}
	accept, reason, err := f.Decision(&t, b)
	if err != nil {
		return false, "", fmt.Errorf("confirm %s: %w: %v", t.ID, ErrRefused, err)
	}
	return accept, reason, nil
}

// verifyAnswer checks an answer's signature under any of secrets.
func verifyAnswer(header string, secrets []string, body []byte, now time.Time) error {
	err := wire.ErrSignature
	for _, s := range secrets {
		if err = wire.Verify(header, s, body, now, AnswerTolerance); err == nil {
			return nil
		}
	}
	return err
}
