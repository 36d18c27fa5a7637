package connector

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hulian/hulian/internal/sim"
)

// The connector calls the switch's API v1 with the participant's key
// through sim.Client, the reference participant's client. The client
// does not retry: whether a retry is safe depends on the call, which its
// caller knows (see retrying). A refusal of the switch is a *sim.Error;
// branch on its kind, never on the title.

// switchAnswerMax bounds what is read of one answer of the switch: one
// transfer, party or participant is a few kB.
const switchAnswerMax = 1 << 20

// newSwitchClient returns the client of the switch at cfg.SwitchURL with
// the participant's key, each call bounded by cfg.SwitchTimeout and
// counted in m. It shares cfg.HTTP's connections.
func newSwitchClient(cfg Config, m *metrics) *sim.Client {
	hc := *cfg.HTTP
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = switchTransport{base: base, m: m}
	c := sim.NewClient(cfg.SwitchURL, cfg.APIKey, &hc)
	c.Timeout, c.AnswerMax = cfg.SwitchTimeout, switchAnswerMax
	return c
}

// refusalOf returns err's refusal by the switch, if it is one.
func refusalOf(err error) (*sim.Error, bool) {
	var r *sim.Error
	ok := errors.As(err, &r)
	return r, ok
}

// backoff is the wait before attempt n+1 (n ≥ 1): min doubled n−1
// times, at most max, or the switch's Retry-After when it said one.
func backoff(n int, lo, hi time.Duration, err error) time.Duration {
	if r, ok := refusalOf(err); ok && r.RetryAfter > 0 {
		return min(r.RetryAfter, hi)
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// retrying calls call until it succeeds, fails definitely (see
// sim.Definite), or until has passed; it waits between attempts. tried says
// whether an attempt before the last got no definite answer: one may
// then have gone through although the last was refused.
func retrying[T any](ctx context.Context, until time.Time, lo, hi time.Duration, now func() time.Time,
	call func(context.Context) (T, error)) (out T, tried bool, err error) {
	for n := 1; ; n++ {
		out, err = call(ctx)
		if err == nil || sim.Definite(err) {
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
