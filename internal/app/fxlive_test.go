package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// liveProvider is an FX provider's fx.quote endpoint: it checks each
// request's signature and answers as answer says, signing what it
// answers.
type liveProvider struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	answer   func(ctx context.Context, r wire.FXQuoteRequest) (status int, offer *wire.FXOffer)
	requests [][]byte
}

func newLiveProvider(t *testing.T) *liveProvider {
	lp := &liveProvider{t: t}
	lp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lp.mu.Lock()
		secret, answer := lp.secret, lp.answer
		lp.requests = append(lp.requests, body)
		lp.mu.Unlock()
		if err := wire.Verify(r.Header.Get(wire.SignatureHeader), secret, body, time.Now(), time.Minute); err != nil {
			t.Errorf("fx.quote request signature: %v", err)
		}
		var req wire.FXQuoteRequest
		if err := json.Unmarshal(body, &req); err != nil || req.Event != wire.EventFXQuote {
			t.Errorf("fx.quote request %s: %v", body, err)
		}
		status, offer := answer(r.Context(), req)
		if offer == nil {
			w.WriteHeader(status)
			return
		}
		b, _ := json.Marshal(offer)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(wire.SignatureHeader, wire.Sign(secret, time.Now(), b))
		w.WriteHeader(status)
		w.Write(b)
	}))
	t.Cleanup(lp.srv.Close)
	return lp
}

func (lp *liveProvider) set(answer func(ctx context.Context, r wire.FXQuoteRequest) (int, *wire.FXOffer)) {
	lp.mu.Lock()
	lp.answer = answer
	lp.mu.Unlock()
}

func (lp *liveProvider) setSecret(secret string) {
	lp.mu.Lock()
	lp.secret = secret
	lp.mu.Unlock()
}

func (lp *liveProvider) asked() [][]byte {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return append([][]byte(nil), lp.requests...)
}

// liveOffer answers with an offer at rate, valid for d, for the request.
func liveOffer(rate string, d time.Duration) func(context.Context, wire.FXQuoteRequest) (int, *wire.FXOffer) {
	return func(_ context.Context, r wire.FXQuoteRequest) (int, *wire.FXOffer) {
		return 200, &wire.FXOffer{ID: r.ID, Rate: rate, ValidUntil: time.Now().Add(d).UTC(), Fee: &wire.FXFee{Fixed: "0.10", BPS: 10}}
	}
}

// TestFXLiveQuotes: through real HTTP on both engines, an FX provider
// that quotes live by callback beats the published rate for a quote, and
// the payment posts to it; when it makes no offer, the published rate
// wins; a silent provider delays a quote by the confirm timeout and no
// more; only an FX provider with a callback URL may opt in; the request
// names no participant.
func TestFXLiveQuotes(t *testing.T) {
	const timeout = 400 * time.Millisecond
	eachEngine(t, func(c *app.Config) { c.ConfirmTimeout = timeout }, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s) // fx-one publishes CNY → HKD at 1.085
		live, silent := newLiveProvider(t), newLiveProvider(t)
		live.set(liveOffer("1.0901", 20*time.Second))
		silent.set(func(ctx context.Context, _ wire.FXQuoteRequest) (int, *wire.FXOffer) {
			<-ctx.Done() // the switch gives up
			return 204, nil
		})
		// The opt-in: FX providers with a callback URL only.
		s.problem(400, "invalid-request", "POST", "/v1/participants", opToken, wire.NewParticipant{ID: "fx-nourl", Name: "X", Kind: "fxp",
			Currencies: []string{"CNY", "HKD"}, FXLiveQuotes: true})
		s.problem(400, "invalid-request", "PATCH", "/v1/participants/wallet-a", f.a, map[string]any{"fxLiveQuotes": true})
		liveKey, liveSecret := s.participant("fx-live", func(n *wire.NewParticipant) {
			n.Kind, n.Currencies, n.CallbackURL = "fxp", []string{"CNY", "HKD"}, live.srv.URL
		})
		live.setSecret(liveSecret)
		var p wire.Participant
		s.ok(200, "PATCH", "/v1/participants/fx-live", liveKey, map[string]any{"fxLiveQuotes": true}, &p) // the provider opts in itself
		if !p.FXLiveQuotes {
			t.Fatalf("after the opt-in: %+v", p)
		}
		s.problem(400, "invalid-request", "PATCH", "/v1/participants/fx-live", liveKey, map[string]any{"callbackUrl": ""})
		s.ok(200, "GET", "/v1/participants/fx-live", opToken, nil, &p)
		if !p.FXLiveQuotes || p.CallbackURL != live.srv.URL {
			t.Fatalf("fx-live %+v", p)
		}
		s.ok(201, "POST", "/v1/participants/fx-live/funds", opToken, wire.Funds{Currency: "HKD", Amount: "500.00", Direction: "deposit"}, nil)

		// The live offer beats the published one, and the quote ends with it.
		start := time.Now()
		q := f.quote("100.00", "")
		took := time.Since(start)
		if q.FX == nil || *q.FX != (wire.FX{Provider: "fx-live", SourceAmount: "100.00", SourceCurrency: "CNY", TargetAmount: "109.01",
			TargetCurrency: "HKD", Rate: "1.0901", ProviderFee: "0.20", AmountType: "SEND", Rounding: "0.00"}) {
			t.Fatalf("quote %+v %+v", q, q.FX)
		}
		if q.ExpiresAt.After(start.Add(took+20*time.Second)) || q.ExpiresAt.Before(start.Add(19*time.Second)) {
			t.Errorf("quote expires at %v, the offer 20 s after %v", q.ExpiresAt, start)
		}
		req := live.asked()
		if len(req) != 1 {
			t.Fatalf("fx-live asked %d times", len(req))
		}
		var members map[string]any
		json.Unmarshal(req[0], &members)
		if len(members) != 7 || members["amount"] != "100.00" || members["amountType"] != "SEND" || members["source"] != "CNY" ||
			members["target"] != "HKD" || strings.Contains(string(req[0]), "wallet") {
			t.Errorf("fx.quote request %s", req[0])
		}

		// The payment posts to the live provider.
		var tr wire.Transfer
		s.ok(201, "POST", "/v1/transfers", f.a, fxPay("live-1", q, "SUPP"), &tr)
		if tr.State != "COMMITTED" || tr.FX == nil || tr.FX.Provider != "fx-live" || tr.FX.TargetAmount != "109.01" {
			t.Fatalf("transfer %+v %+v", tr, tr.FX)
		}
		for _, c := range []struct{ key, id, cur, want string }{
			{f.a, "wallet-a", "CNY", "899.60"}, // 1,000.00 − 100.00 − 0.20 − 0.20
			{liveKey, "fx-live", "CNY", "100.20"},
			{liveKey, "fx-live", "HKD", "390.99"},
			{f.h, "wallet-h", "HKD", "109.01"},
			{f.p, "fx-one", "HKD", "500.00"},
		} {
			if got := f.accounts(c.key, c.id)[c.cur]; got != c.want {
				t.Errorf("%s %s: %s, want %s", c.id, c.cur, got, c.want)
			}
		}

		// No live offer: the published rate.
		live.set(func(context.Context, wire.FXQuoteRequest) (int, *wire.FXOffer) { return 204, nil })
		if q := f.quote("100.00", ""); q.FX == nil || q.FX.Provider != "fx-one" || q.FX.Rate != "1.085" {
			t.Fatalf("quote without a live offer %+v", q.FX)
		}

		// What a live provider costs a quote on loopback: the mean of 20,
		// asked and not.
		mean := func() time.Duration {
			start := time.Now()
			for range 20 {
				f.quote("100.00", "")
			}
			return time.Since(start) / 20
		}
		live.set(liveOffer("1.0901", time.Minute))
		withLive := mean()
		s.ok(200, "PATCH", "/v1/participants/fx-live", liveKey, map[string]any{"fxLiveQuotes": false}, nil)
		published := mean()
		s.ok(200, "PATCH", "/v1/participants/fx-live", liveKey, map[string]any{"fxLiveQuotes": true}, nil)
		t.Logf("an FX quote takes %v with a live provider, %v on published rates only", withLive, published)

		// A silent provider holds a quote for the confirm timeout, no more.
		_, silentSecret := s.participant("fx-silent", func(n *wire.NewParticipant) {
			n.Kind, n.Currencies, n.CallbackURL, n.FXLiveQuotes = "fxp", []string{"CNY", "HKD"}, silent.srv.URL, true
		})
		silent.setSecret(silentSecret)
		live.set(liveOffer("1.09", time.Minute))
		start = time.Now()
		q = f.quote("50.00", "RECEIVE")
		took = time.Since(start)
		if q.FX == nil || q.FX.Provider != "fx-live" || q.FX.TargetAmount != "50.00" || q.FX.Rate != "1.09" {
			t.Fatalf("RECEIVE quote %+v", q.FX)
		}
		if took < timeout || took > timeout+time.Second {
			t.Errorf("a quote with a silent provider took %v; the confirm timeout is %v", took, timeout)
		}
		if len(silent.asked()) != 1 {
			t.Errorf("fx-silent asked %d times, want 1", len(silent.asked()))
		}
		reqs := live.asked()
		var last map[string]any
		json.Unmarshal(reqs[len(reqs)-1], &last)
		if last["amount"] != "50.00" || last["amountType"] != "RECEIVE" {
			t.Errorf("RECEIVE request %s", reqs[len(reqs)-1])
		}
		t.Logf("quote with a silent provider: %v", took)
	})
}
