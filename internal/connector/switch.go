package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// switchClient calls the switch's API v1 with the participant's key. It
// does not retry: whether a retry is safe depends on the call, which its
// caller knows (see retrying).
type switchClient struct {
	base    string
	key     string
	hc      *http.Client
	timeout time.Duration
}

// switchAnswerMax bounds what is read of one answer of the switch: one
// transfer, party or participant is a few kB.
const switchAnswerMax = 1 << 20

// refusal is an answer of the switch other than 2xx: its status and
// problem document. Branch on kind, never on the title.
type refusal struct {
	method, path string
	status       int
	problem      wire.Problem
	retryAfter   time.Duration
}

// Error says what was asked and why it was refused.
func (e *refusal) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.kind())
	if e.problem.Detail != "" {
		msg += ": " + e.problem.Detail
	}
	return msg
}

// kind is the problem type's last path segment ("insufficient-funds").
func (e *refusal) kind() string {
	t := e.problem.Type
	if i := strings.LastIndexByte(t, '/'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// temporary says whether the same request may succeed later unchanged.
func (e *refusal) temporary() bool {
	return e.status == http.StatusTooManyRequests || e.status >= 500
}

// refusalOf returns err's refusal, if it is one.
func refusalOf(err error) (*refusal, bool) {
	var r *refusal
	ok := errors.As(err, &r)
	return r, ok
}

// isKind reports whether err is a refusal of the given problem kind.
func isKind(err error, kind string) bool {
	r, ok := refusalOf(err)
	return ok && r.kind() == kind
}

// definite reports whether err is the switch's answer that the request
// cannot succeed as it is: a refusal that is not temporary. Anything
// else (no answer, 429, 5xx) may succeed if tried again.
func definite(err error) bool {
	r, ok := refusalOf(err)
	return ok && !r.temporary()
}

// do sends one request and decodes a 2xx answer into out (if not nil);
// another answer is a *refusal. It returns the status.
func (c *switchClient) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, withoutURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, switchAnswerMax))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &refusal{method: method, path: path, status: resp.StatusCode}
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/problem+json" || mt == "application/json" {
			_ = json.Unmarshal(b, &e.problem)
		}
		if e.problem.Type == "" {
			// Not a problem document (a proxy's error page): keep the
			// status, which is all that is known.
			e.problem = wire.Problem{Type: "about:blank", Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode}
		}
		e.problem.Status = resp.StatusCode
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			e.retryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, e
	}
	if out != nil && len(b) > 0 {
		// Unknown members are ignored: the switch may add fields to an
		// answer without a new API version.
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// withoutURL drops the URL net/http names in its errors, which may be
// logged.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func esc(s string) string { return url.PathEscape(s) }

// participant reads the participant itself.
func (c *switchClient) participant(ctx context.Context, id string) (wire.Participant, error) {
	var out wire.Participant
	_, err := c.do(ctx, http.MethodGet, "/v1/participants/"+esc(id), nil, &out)
	return out, err
}

// updateParticipant changes the participant's callback URL, format or
// acceptance mode.
func (c *switchClient) updateParticipant(ctx context.Context, id string, patch wire.ParticipantPatch) (wire.Participant, error) {
	var out wire.Participant
	_, err := c.do(ctx, http.MethodPatch, "/v1/participants/"+esc(id), patch, &out)
	return out, err
}

// lookup resolves an alias.
func (c *switchClient) lookup(ctx context.Context, typ, value string) (wire.PartyLookup, error) {
	var out wire.PartyLookup
	_, err := c.do(ctx, http.MethodGet, "/v1/parties/"+esc(typ)+"/"+esc(value), nil, &out)
	return out, err
}

// quote asks for the fee of a payment, fixed until the quote expires.
func (c *switchClient) quote(ctx context.Context, q wire.NewQuote) (wire.Quote, error) {
	var out wire.Quote
	_, err := c.do(ctx, http.MethodPost, "/v1/quotes", q, &out)
	return out, err
}

// createTransfer sends a payment; the same id again answers the stored
// transfer.
func (c *switchClient) createTransfer(ctx context.Context, t wire.NewTransfer) (wire.Transfer, error) {
	var out wire.Transfer
	_, err := c.do(ctx, http.MethodPost, "/v1/transfers", t, &out)
	return out, err
}

// transfer reads a transfer the participant is payer or payee of.
func (c *switchClient) transfer(ctx context.Context, id string) (wire.Transfer, error) {
	var out wire.Transfer
	_, err := c.do(ctx, http.MethodGet, "/v1/transfers/"+esc(id), nil, &out)
	return out, err
}

// registerParty registers an alias of one of the participant's users;
// it answers 201 (new) or 200 (replaced).
func (c *switchClient) registerParty(ctx context.Context, p wire.NewParty) (wire.Party, int, error) {
	var out wire.Party
	st, err := c.do(ctx, http.MethodPost, "/v1/parties", p, &out)
	return out, st, err
}

// deleteParty deletes one of the participant's aliases.
func (c *switchClient) deleteParty(ctx context.Context, typ, value string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/parties/"+esc(typ)+"/"+esc(value), nil, nil)
	return err
}

// backoff is the wait before attempt n+1 (n ≥ 1): min doubled n−1
// times, at most max, or the switch's Retry-After when it said one.
func backoff(n int, lo, hi time.Duration, err error) time.Duration {
	if r, ok := refusalOf(err); ok && r.retryAfter > 0 {
		return min(r.retryAfter, hi)
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// retrying calls call until it succeeds, fails definitely (see
// definite), or until has passed; it waits between attempts. tried says
// whether an attempt before the last got no definite answer: one may
// then have gone through although the last was refused.
func retrying[T any](ctx context.Context, until time.Time, lo, hi time.Duration, now func() time.Time,
	call func(context.Context) (T, error)) (out T, tried bool, err error) {
	for n := 1; ; n++ {
		out, err = call(ctx)
		if err == nil || definite(err) {
			return out, n > 1, err
		}
		wait := backoff(n, lo, hi, err)
		if ctx.Err() != nil || now().Add(wait).After(until) {
			return out, n > 1, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, n > 1, err
		case <-t.C:
		}
	}
}
