package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// callbackClient calls the participant as the switch's callback client
// does (callback.NewClient): no proxy from the environment, and no
// redirects followed — a 3xx is an answer, and not a 2xx.
func callbackClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// answerRead bounds what the suite reads of a participant's answer: the
// switch reads 64 KiB of it.
const answerRead = 64 << 10

// answer is a participant's answer to a callback.
type answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func (a answer) ok() bool { return a.status/100 == 2 }

// deliver POSTs body to the participant's callback URL as the switch
// does, with sig as its Hulian-Signature ("" sends none), and waits at
// most wait for the answer.
func (s *session) deliver(ctx context.Context, body []byte, sig string, wait time.Duration) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.callback.String(), bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(wire.SignatureHeader, sig)
	}
	start := time.Now()
	resp, err := s.cb.Do(req)
	if err != nil {
		return answer{took: time.Since(start)}, fmt.Errorf("POST callbackUrl: %w", unwrapURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, answerRead))
	a := answer{status: resp.StatusCode, header: resp.Header, body: b, took: time.Since(start)}
	if err != nil {
		return a, fmt.Errorf("POST callbackUrl: reading the answer: %w", unwrapURL(err))
	}
	return a, nil
}

// sign returns the switch's Hulian-Signature of body sent at t.
func (s *session) sign(body []byte, t time.Time) string {
	return wire.Sign(s.cfg.CallbackSecret, t, body)
}

// send delivers body signed now, as the switch does.
func (s *session) send(ctx context.Context, body []byte) (answer, error) {
	return s.deliver(ctx, body, s.sign(body, s.cfg.Now()), s.cfg.Timeout)
}

// note marks the suite's synthetic transfers for whoever reads the books.
const note = "hulian conformance suite: synthetic transfer, no money moved"

// transfer returns a synthetic committed transfer id to the participant,
// as the switch shows it to its payee.
func (s *session) transfer(id string) wire.Transfer {
	return wire.Transfer{ID: id, State: "COMMITTED", Payer: "conformance-payer",
		Payee:  wire.PayeeRef{Type: "WALLET", Value: "conformance-payee", Participant: s.me.ID, Account: s.cfg.PayeeAccount},
		Amount: s.amount, Fee: money.Amount(0).Format(s.currency), Currency: s.currency.String(), Note: note,
		CreatedAt: s.cfg.Now().UTC().Truncate(time.Millisecond)}
}

// notification renders the transfers.committed callback of ts.
func notification(ts ...wire.Transfer) []byte {
	b, err := json.Marshal(wire.Callback{Event: wire.EventTransfersCommitted, Transfers: ts})
	if err != nil {
		panic(err) // wire types always marshal
	}
	return b
}

// confirmRequest renders the transfer.confirm callback of t.
func confirmRequest(t wire.Transfer) []byte {
	b, err := json.Marshal(wire.Callback{Event: wire.EventTransferConfirm, Transfer: &t})
	if err != nil {
		panic(err)
	}
	return b
}

// probeResult is what the probe answered.
type probeResult struct {
	status      int
	contentType string
	answer      wire.ConformanceProbe
}

// probe asks the participant's conformance probe about transfer id,
// signed now unless !signed.
func (s *session) probe(ctx context.Context, id string, signed bool) (probeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	u := *s.callback
	u.Path = u.Path + "/conformance/transfers/" + id
	u.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return probeResult{}, err
	}
	if signed {
		req.Header.Set(wire.SignatureHeader, s.sign([]byte(req.URL.EscapedPath()), s.cfg.Now()))
	}
	resp, err := s.cb.Do(req)
	if err != nil {
		return probeResult{}, fmt.Errorf("probe: %w", unwrapURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, answerRead))
	if err != nil {
		return probeResult{}, fmt.Errorf("probe: reading the answer: %w", unwrapURL(err))
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	r := probeResult{status: resp.StatusCode, contentType: mt}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &r.answer); err != nil {
			return r, fmt.Errorf("probe of %s: answer %.100q: %v", id, b, err)
		}
		if r.answer.TransferID != id {
			return r, fmt.Errorf("probe of %s answered for transfer %q", id, r.answer.TransferID)
		}
	}
	return r, nil
}

// credits returns how many times the participant says it credited
// transfer id: 0 when its probe answers 404.
func (s *session) credits(ctx context.Context, id string) (wire.ConformanceProbe, error) {
	r, err := s.probe(ctx, id, true)
	switch {
	case err != nil:
		return wire.ConformanceProbe{}, err
	case r.status == http.StatusNotFound:
		return wire.ConformanceProbe{TransferID: id}, nil
	case r.status != http.StatusOK:
		return wire.ConformanceProbe{}, fmt.Errorf("probe of %s answered %d, want 200 or 404 (is the probe implemented and signed as the contract says?)", id, r.status)
	}
	return r.answer, nil
}

// uncredited fails unless transfer id was never credited: what was
// refused, or was no credit to make, changed nothing.
func (s *session) uncredited(ctx context.Context, id, after string) error {
	p, err := s.credits(ctx, id)
	if err != nil {
		return err
	}
	if p.Credits != 0 {
		return failf("%s: transfer %s credited %d times (probe), want never", after, id, p.Credits)
	}
	return nil
}

// creditedOnce fails unless transfer id was credited exactly once, with
// its amount and currency.
func (s *session) creditedOnce(ctx context.Context, id, after string) error {
	p, err := s.credits(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case p.Credits != 1:
		return failf("%s: transfer %s credited %s (probe), want once", after, id, times(p.Credits))
	case !s.sameAmount(p.Amount) || p.Currency != s.currency.String():
		return failf("%s: transfer %s credited as %s %s (probe), want %s %s", after, id, p.Amount, p.Currency, s.amount, s.currency)
	}
	return nil
}

// sameAmount says whether a decimal string is the synthetic transfers'
// amount, however many zeros it was written with.
func (s *session) sameAmount(a string) bool {
	if a == s.amount {
		return true
	}
	v, err := money.ParseDecimal(a, s.currency.Exponent())
	return err == nil && v == 1
}

// unwrapURL drops the URL net/http names in its errors: a callback URL
// may hold a token, and the reason is printed.
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// times says how many times, in words.
func times(n int64) string {
	switch n {
	case 0:
		return "never"
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}
