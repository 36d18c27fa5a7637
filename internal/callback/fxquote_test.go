package callback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/testbed"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

var (
	hkd = money.MustCurrency("HKD")
	jpy = money.MustCurrency("JPY")
)

// provider is an FX provider's fx.quote endpoint on loopback: it checks
// each request's signature and form, and answers as answer says.
type provider struct {
	t      *testing.T
	p      participant.Participant
	secret string
	srv    *httptest.Server
	// answer returns the status, the body and the answer's signature
	// header of request r ("" for none).
	answer func(ctx context.Context, r wire.FXQuoteRequest, secret string) (int, string, string)

	mu       sync.Mutex
	requests []wire.FXQuoteRequest
	raw      [][]byte
}

// inFlight counts the requests being answered across providers, and the
// most at once.
type inFlight struct{ now, max atomic.Int64 }

func (f *inFlight) enter() {
	n := f.now.Add(1)
	for m := f.max.Load(); n > m && !f.max.CompareAndSwap(m, n); m = f.max.Load() {
	}
}

// quoteEnv is a participant registry of FX providers that quote live.
type quoteEnv struct {
	*testbed.Bed
	t      *testing.T
	flight inFlight
}

func newQuoteEnv(t *testing.T) *quoteEnv {
	return &quoteEnv{Bed: testbed.Open(t, testbed.Options{}), t: t}
}

// provider creates an FX provider of CNY, HKD and JPY that quotes live,
// answering as answer says.
func (e *quoteEnv) provider(id string, answer func(ctx context.Context, r wire.FXQuoteRequest, secret string) (int, string, string)) *provider {
	e.t.Helper()
	pv := &provider{t: e.t, answer: answer}
	pv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.flight.enter()
		defer e.flight.now.Add(-1)
		body, _ := io.ReadAll(r.Body)
		var req wire.FXQuoteRequest
		if err := wire.Verify(r.Header.Get(wire.SignatureHeader), pv.secret, body, time.Now(), time.Minute); err != nil {
			e.t.Errorf("%s: request signature: %v", id, err)
		}
		if err := json.Unmarshal(body, &req); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			e.t.Errorf("%s: %s %s %q: %v", id, r.Method, r.Header.Get("Content-Type"), body, err)
		}
		pv.mu.Lock()
		pv.requests, pv.raw = append(pv.requests, req), append(pv.raw, body)
		pv.mu.Unlock()
		status, answer, sig := pv.answer(r.Context(), req, pv.secret)
		if sig != "" {
			w.Header().Set(wire.SignatureHeader, sig)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	e.t.Cleanup(pv.srv.Close)
	var cred participant.Credentials
	pv.p, cred = e.Create(participant.New{ID: id, Name: id, Kind: participant.FXP, Currencies: []money.Currency{cny, hkd, jpy},
		CallbackURL: pv.srv.URL, FXLiveQuotes: true})
	pv.secret = cred.CallbackSecret
	return pv
}

func (pv *provider) asked() []wire.FXQuoteRequest {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return slices.Clone(pv.requests)
}

// providers is a fixed list of providers to ask.
type providers []participant.Participant

func (ps providers) LiveQuoters(source, target money.Currency) []participant.Participant {
	return slices.Clone(ps)
}

// quoter returns a LiveQuoter of the providers, with a timeout.
func quoter(timeout time.Duration, log *slog.Logger, pvs ...*provider) *callback.LiveQuoter {
	var ps providers
	for _, pv := range pvs {
		ps = append(ps, pv.p)
	}
	return &callback.LiveQuoter{Client: callback.NewClient(api.Callbacks{}, time.Now, true), Format: api.Callbacks{},
		Providers: ps, Timeout: timeout, Log: log}
}

// offer answers with a signed offer at rate, valid for a minute.
func offer(rate string) func(context.Context, wire.FXQuoteRequest, string) (int, string, string) {
	return answerWith(func(r wire.FXQuoteRequest) wire.FXOffer {
		return wire.FXOffer{ID: r.ID, Rate: rate, ValidUntil: time.Now().Add(time.Minute).UTC(), Fee: &wire.FXFee{Fixed: "0.10", BPS: 10}}
	})
}

// answerWith answers 200 with the signed offer o returns.
func answerWith(o func(r wire.FXQuoteRequest) wire.FXOffer) func(context.Context, wire.FXQuoteRequest, string) (int, string, string) {
	return func(_ context.Context, r wire.FXQuoteRequest, secret string) (int, string, string) {
		b, _ := json.Marshal(o(r))
		return 200, string(b), wire.Sign(secret, time.Now(), b)
	}
}

// TestLiveQuoterAnswers asks one provider at a time, answering in each
// way a provider may: only a signed, valid offer for the request, in
// time, is an offer; 204 or another status is no offer; anything else is
// ignored. The request is signed, says the exchange, the amount in the
// currency its amountType names and the deadline, and names nobody.
func TestLiveQuoterAnswers(t *testing.T) {
	e := newQuoteEnv(t)
	const timeout = 500 * time.Millisecond
	send := transfer.LiveQuote{Source: cny, Target: hkd, Amount: 100_00, Mode: fx.Send, Exclude: []string{"wallet-a", "wallet-h"}}
	sign := func(body string) func(context.Context, wire.FXQuoteRequest, string) (int, string, string) {
		return func(_ context.Context, _ wire.FXQuoteRequest, secret string) (int, string, string) {
			return 200, body, wire.Sign(secret, time.Now(), []byte(body))
		}
	}
	until := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }
	tests := []struct {
		name   string
		q      transfer.LiveQuote
		answer func(context.Context, wire.FXQuoteRequest, string) (int, string, string)
		want   string // the offer's rate; "" for none
		stats  callback.QuoteStats
	}{
		{"offer", send, offer("1.0901"), "1.0901", callback.QuoteStats{Asked: 1, Offers: 1}},
		{"offer without the request's id", send, answerWith(func(wire.FXQuoteRequest) wire.FXOffer {
			return wire.FXOffer{Rate: "1.09", ValidUntil: time.Now().Add(time.Minute), MinAmount: "1.00", MaxAmount: "5000.00"}
		}), "1.09", callback.QuoteStats{Asked: 1, Offers: 1}},
		{"offer to receive yen", transfer.LiveQuote{Source: cny, Target: jpy, Amount: 10_000, Mode: fx.Receive}, offer("20.5"), "20.5",
			callback.QuoteStats{Asked: 1, Offers: 1}},
		{"no offer: 204", send, func(context.Context, wire.FXQuoteRequest, string) (int, string, string) { return 204, "", "" }, "",
			callback.QuoteStats{Asked: 1, NoOffer: 1}},
		{"no offer: 503", send, func(context.Context, wire.FXQuoteRequest, string) (int, string, string) { return 503, "busy", "" }, "",
			callback.QuoteStats{Asked: 1, NoOffer: 1}},
		{"no offer: 302", send, func(context.Context, wire.FXQuoteRequest, string) (int, string, string) { return 302, "", "" }, "",
			callback.QuoteStats{Asked: 1, NoOffer: 1}},
		{"unsigned", send, func(_ context.Context, r wire.FXQuoteRequest, _ string) (int, string, string) {
			_, body, _ := offer("1.2")(context.Background(), r, "")
			return 200, body, ""
		}, "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"signed by another", send, func(_ context.Context, r wire.FXQuoteRequest, _ string) (int, string, string) {
			return offer("1.2")(context.Background(), r, "another provider's secret")
		}, "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"signature over another body", send, func(_ context.Context, r wire.FXQuoteRequest, secret string) (int, string, string) {
			_, body, _ := offer("1.2")(context.Background(), r, secret)
			_, _, sig := offer("1.0")(context.Background(), r, secret)
			return 200, body, sig
		}, "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"for another request", send, answerWith(func(wire.FXQuoteRequest) wire.FXOffer {
			return wire.FXOffer{ID: "ANOTHERREQUEST", Rate: "1.2", ValidUntil: time.Now().Add(time.Minute)}
		}), "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"rate zero", send, offer("0"), "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"rate not a number", send, offer("1.2e3"), "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"fee of more than 100%", send, answerWith(func(r wire.FXQuoteRequest) wire.FXOffer {
			return wire.FXOffer{ID: r.ID, Rate: "1.2", ValidUntil: time.Now().Add(time.Minute), Fee: &wire.FXFee{BPS: 10_001}}
		}), "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"minimum finer than a fen", send, answerWith(func(r wire.FXQuoteRequest) wire.FXOffer {
			return wire.FXOffer{ID: r.ID, Rate: "1.2", ValidUntil: time.Now().Add(time.Minute), MinAmount: "1.001"}
		}), "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"expired", send, sign(`{"rate":"1.2","validUntil":"` + until(-time.Second) + `"}`), "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"valid too long", send, sign(`{"rate":"1.2","validUntil":"` + until(11*time.Minute) + `"}`), "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"not JSON", send, sign(`rate=1.2`), "", callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"duplicate member", send, sign(`{"rate":"1.0","rate":"1.2","validUntil":"` + until(time.Minute) + `"}`), "",
			callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"too large", send, sign(`{"rate":"1.2","validUntil":"` + until(time.Minute) + `","x":"` + strings.Repeat("x", 5000) + `"}`), "",
			callback.QuoteStats{Asked: 1, Ignored: 1}},
		{"late", send, func(ctx context.Context, r wire.FXQuoteRequest, secret string) (int, string, string) {
			select {
			case <-ctx.Done():
			case <-time.After(2 * timeout):
			}
			return offer("1.5")(ctx, r, secret)
		}, "", callback.QuoteStats{Asked: 1, Ignored: 1}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := e.provider(fmt.Sprintf("fx-%02d", i), tt.answer)
			q := quoter(timeout, nil, pv)
			start := time.Now()
			sheets := q.Ask(context.Background(), tt.q)
			took := time.Since(start)
			if took > timeout+200*time.Millisecond {
				t.Errorf("Ask took %v; the timeout is %v", took, timeout)
			}
			switch {
			case tt.want == "" && len(sheets) != 0:
				t.Errorf("offers %+v, want none", sheets)
			case tt.want != "" && (len(sheets) != 1 || sheets[0].Rate.String() != tt.want || sheets[0].Provider != pv.p.ID ||
				sheets[0].Source != tt.q.Source || sheets[0].Target != tt.q.Target):
				t.Errorf("offers %+v, want one by %s at %s", sheets, pv.p.ID, tt.want)
			}
			settled(t, q, tt.stats)
			reqs := pv.asked()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			in := tt.q.Source
			if tt.q.Mode == fx.Receive {
				in = tt.q.Target
			}
			if r.Event != wire.EventFXQuote || len(r.ID) < 16 || r.Source != tt.q.Source.String() || r.Target != tt.q.Target.String() ||
				r.Amount != tt.q.Amount.Format(in) || r.AmountType != tt.q.Mode.String() ||
				r.ExpiresAt.Before(start.Add(timeout-50*time.Millisecond)) || r.ExpiresAt.After(start.Add(timeout+50*time.Millisecond)) {
				t.Errorf("request %+v for %+v at %v", r, tt.q, start)
			}
			// What the provider learns: the exchange, not who pays whom.
			var members map[string]any
			json.Unmarshal(pv.raw[0], &members)
			if len(members) != 7 || strings.Contains(string(pv.raw[0]), "wallet") {
				t.Errorf("request body %s", pv.raw[0])
			}
		})
	}
}

// TestLiveQuoterProviders asks several providers at once: the excluded
// are not asked, a silent one does not delay the answer beyond the
// timeout, each request carries its provider's signature (the providers
// check it), and every valid offer comes back, each as its provider's.
func TestLiveQuoterProviders(t *testing.T) {
	e := newQuoteEnv(t)
	const timeout = 400 * time.Millisecond
	silent := func(ctx context.Context, _ wire.FXQuoteRequest, _ string) (int, string, string) {
		<-ctx.Done()
		return 204, "", ""
	}
	pvs := []*provider{e.provider("fx-a", offer("1.08")), e.provider("fx-b", offer("1.09")), e.provider("fx-payer", offer("1.5")),
		e.provider("fx-silent", silent), e.provider("fx-payee", offer("1.6"))}
	var buf strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(b)
	}), nil))
	q := quoter(timeout, log, pvs...)
	for round := range 2 {
		start := time.Now()
		sheets := q.Ask(context.Background(), transfer.LiveQuote{Source: cny, Target: hkd, Amount: 50_00, Mode: fx.Send,
			Exclude: []string{"fx-payer", "fx-payee"}})
		if took := time.Since(start); took < timeout-20*time.Millisecond || took > timeout+200*time.Millisecond {
			t.Errorf("round %d: Ask took %v: the silent provider holds it until the timeout, %v, and no longer", round, took, timeout)
		}
		var got []string
		for _, sh := range sheets {
			got = append(got, sh.Provider+" "+sh.Rate.String())
		}
		slices.Sort(got)
		if want := []string{"fx-a 1.08", "fx-b 1.09"}; !slices.Equal(got, want) {
			t.Errorf("round %d: offers %q, want %q", round, got, want)
		}
	}
	for _, pv := range pvs {
		want := 2
		if pv.p.ID == "fx-payer" || pv.p.ID == "fx-payee" {
			want = 0
		}
		if n := len(pv.asked()); n != want {
			t.Errorf("%s asked %d times, want %d", pv.p.ID, n, want)
		}
	}
	// One request id per quote, the same for all its providers.
	if a, b := pvs[0].asked(), pvs[1].asked(); a[0].ID != b[0].ID || a[0].ID == a[1].ID {
		t.Errorf("request ids %s %s, %s %s", a[0].ID, a[1].ID, b[0].ID, b[1].ID)
	}
	settled(t, q, callback.QuoteStats{Asked: 6, Offers: 4, Ignored: 2})
	// Two ignored answers of the silent provider within a minute: one
	// log line.
	mu.Lock()
	lines := strings.Count(buf.String(), "fx.quote: answer ignored")
	mu.Unlock()
	if lines != 1 || !strings.Contains(buf.String(), "provider=fx-silent") {
		t.Errorf("log:\n%s\nwant one line about fx-silent", buf.String())
	}
	// Nobody to ask: no wait at all.
	start := time.Now()
	if sheets := q.Ask(context.Background(), transfer.LiveQuote{Source: cny, Target: hkd, Amount: 1_00, Mode: fx.Send,
		Exclude: []string{"fx-a", "fx-b", "fx-payer", "fx-silent", "fx-payee"}}); sheets != nil || time.Since(start) > 50*time.Millisecond {
		t.Errorf("with everyone excluded: %+v after %v", sheets, time.Since(start))
	}
}

// settled checks q's stats, once they are want or a second has passed:
// Ask returns at its deadline, and a late answer is counted as its
// request ends, just after.
func settled(t *testing.T, q *callback.LiveQuoter, want callback.QuoteStats) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for q.Stats() != want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := q.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestLiveQuoterConcurrency asks 40 providers that each take 100 ms: at
// most QuoteParallelMax are asked at once, all answer within the
// timeout, and every offer comes back.
func TestLiveQuoterConcurrency(t *testing.T) {
	e := newQuoteEnv(t)
	const n, delay = 40, 100 * time.Millisecond
	var pvs []*provider
	for i := range n {
		rate := fmt.Sprintf("1.%03d", i+1)
		pvs = append(pvs, e.provider(fmt.Sprintf("fx-%02d", i), func(ctx context.Context, r wire.FXQuoteRequest, secret string) (int, string, string) {
			time.Sleep(delay)
			return offer(rate)(ctx, r, secret)
		}))
	}
	q := quoter(5*time.Second, nil, pvs...)
	start := time.Now()
	sheets := q.Ask(context.Background(), transfer.LiveQuote{Source: cny, Target: hkd, Amount: 100_00, Mode: fx.Send})
	took := time.Since(start)
	if len(sheets) != n {
		t.Errorf("%d offers, want %d", len(sheets), n)
	}
	if m := e.flight.max.Load(); m != callback.QuoteParallelMax {
		t.Errorf("at most %d requests at once, want %d", m, callback.QuoteParallelMax)
	}
	// Three rounds of 16, 16 and 8.
	if rounds := (n + callback.QuoteParallelMax - 1) / callback.QuoteParallelMax; took < time.Duration(rounds)*delay || took > 3*time.Second {
		t.Errorf("Ask took %v for %d rounds of %v", took, rounds, delay)
	}
	t.Logf("%d providers of %v each, %d at once: %v", n, delay, callback.QuoteParallelMax, took)
}
