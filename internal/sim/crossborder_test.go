package sim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

var hkd = money.MustCurrency("HKD")

// fxTransfer is a committed FX payment of 100.00 CNY from bamboo-wallet
// to user of harbour-pay, who gets 108.50 HKD through jade-fx.
func fxTransfer(id, user string) wire.Transfer {
	return wire.Transfer{ID: id, State: "COMMITTED", Payer: "bamboo-wallet", Amount: "100.00", Fee: "0.20", Currency: "CNY",
		Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567", Participant: "harbour-pay", Account: user},
		FX: &wire.FX{Provider: "jade-fx", SourceAmount: "100.00", SourceCurrency: "CNY", TargetAmount: "108.50", TargetCurrency: "HKD",
			Rate: "1.085", ProviderFee: "0.35", AmountType: "SEND", Purpose: "FAMI", Rounding: "0.00"}}
}

// TestCallbackFX: a payee in HKD credits an FX payment's target amount,
// never its amount (the payer's, in CNY), once; it accepts one in
// confirm mode; and a payment in a currency it does not hold is an
// anomaly, credited to nobody.
func TestCallbackFX(t *testing.T) {
	p := newTestParticipant(t, Config{ID: "harbour-pay", Name: "Harbour Pay", Kind: "wallet", Currency: hkd, Acceptance: "confirm"})
	p.Connect(nil, secret)
	p.Books().Open("hk-1", "Chan Tai Man", 0)
	now := time.Now()

	st, body, _ := callbackHeader(t, p, wire.Callback{Event: wire.EventTransferConfirm, Transfer: ptr(fxTransfer("fx-1", "hk-1"))}, secret, now)
	var d wire.Decision
	if err := json.Unmarshal([]byte(body), &d); st != http.StatusOK || err != nil || d.Decision != "accept" {
		t.Fatalf("confirm: %d %s", st, body)
	}
	cb := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{fxTransfer("fx-1", "hk-1")}}
	for range 2 {
		if st, _ := callback(t, p, cb, secret, now); st != http.StatusNoContent {
			t.Fatalf("notify: %d", st)
		}
	}
	if u, _ := p.Books().User("hk-1"); u.Balance != 108_50 {
		t.Errorf("credited %s HKD, want 108.50", u.Balance.Format(hkd))
	}
	domestic := committed("cn-1", "hk-1", "10.00")
	domestic.Payee.Participant = "harbour-pay"
	callback(t, p, wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{domestic}}, secret, now)
	if cs := p.CallbackStats(); cs.Credited != 1 || cs.Duplicates != 1 || cs.Anomalies != 1 {
		t.Errorf("stats %+v", cs)
	}
	mustVerify(t, p.Books())
}

func ptr[T any](v T) *T { return &v }

// fxSwitch is a fake switch for one FX payment: it answers quotes with
// quote, transfers with answer, and lists listing to the caller.
type fxFake struct {
	quote    wire.Quote
	answer   func(w http.ResponseWriter, nt wire.NewTransfer)
	listing  []wire.Transfer
	got      atomic.Pointer[wire.NewTransfer]
	quotes   atomic.Int64
	requests atomic.Int64
}

func (f *fxFake) client(t *testing.T) *Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/quotes":
			f.quotes.Add(1)
			var nq wire.NewQuote
			json.Unmarshal(b, &nq)
			if nq.PayerAccount == "" || nq.AmountType == "" {
				problem(400, ProblemInvalidRequest, "")(w, wire.NewTransfer{})
				return
			}
			w.WriteHeader(http.StatusCreated)
			out, _ := json.Marshal(f.quote)
			w.Write(out)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/transfers":
			f.requests.Add(1)
			var nt wire.NewTransfer
			json.Unmarshal(b, &nt)
			f.got.Store(&nt)
			f.answer(w, nt)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/transfers":
			out, _ := json.Marshal(wire.Transfers{Transfers: f.listing})
			w.Write(out)
		default:
			http.Error(w, "unexpected", http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	return NewClient(srv.URL, "key", srv.Client())
}

// TestPayFX: a cross-border payment quotes, holds the source amount and
// the fees, sends the quote's amount with the purpose and the paying
// user, and books the outcome.
func TestPayFX(t *testing.T) {
	quote := wire.Quote{ID: "q-fx", Amount: "100.00", Fee: "0.20", Currency: "CNY",
		FX: &wire.FX{Provider: "jade-fx", SourceAmount: "100.00", SourceCurrency: "CNY", TargetAmount: "108.50", TargetCurrency: "HKD",
			Rate: "1.085", ProviderFee: "0.35", AmountType: "RECEIVE", Rounding: "0.00"}}
	committedFX := func(w http.ResponseWriter, nt wire.NewTransfer) {
		w.WriteHeader(http.StatusCreated)
		tr := fxTransfer(nt.ID, "hk-1")
		tr.Payer, tr.FX.AmountType, tr.FX.Purpose = "peony-pay", "RECEIVE", nt.Purpose
		b, _ := json.Marshal(tr)
		w.Write(b)
	}
	for _, tc := range []struct {
		name       string
		charge     bool
		answer     func(http.ResponseWriter, wire.NewTransfer)
		status     Status
		problem    string
		balance    money.Amount // alice's, from 150.00
		wantFXFees money.Amount
	}{
		{"committed, the wallet absorbs the scheme fee", false, committedFX, StatusCommitted, "", 150_00 - 100_00 - 35, 35},
		{"committed, the bank charges it", true, committedFX, StatusCommitted, "", 150_00 - 100_00 - 35 - 20, 35},
		{"quote used", false, problem(422, ProblemQuoteUsed, ""), StatusRefused, ProblemQuoteUsed, 150_00, 0},
		{"provider short of HKD", false, problem(422, ProblemFXLiquidity, ""), StatusRefused, ProblemFXLiquidity, 150_00, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fxFake{quote: quote, answer: tc.answer}
			p := newTestParticipant(t, Config{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currency: cny, Acceptance: "notify",
				ChargeFees: tc.charge})
			p.Connect(f.client(t), secret)
			p.Books().Open("alice", "王伟", 150_00)
			r := p.PayFX(context.Background(), FXPayment{From: "alice", Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"},
				Amount: 108_50, Receive: true, Target: hkd, Purpose: "FAMI"})
			if r.Status != tc.status || r.Problem != tc.problem || r.Err != nil || r.Amount != 100_00 || r.FX == nil || !r.Quoted {
				t.Fatalf("result %+v", r)
			}
			nt := f.got.Load()
			if nt == nil || nt.QuoteID != "q-fx" || nt.Amount != "100.00" || nt.Currency != "CNY" || nt.Purpose != "FAMI" || nt.PayerAccount != "alice" {
				t.Fatalf("sent %+v", nt)
			}
			u, _ := p.Books().User("alice")
			s := p.Books().Summary()
			if u.Balance != tc.balance || u.Held != 0 || s.FXFeesPaid != tc.wantFXFees {
				t.Errorf("alice %+v, summary %+v", u, s)
			}
			mustVerify(t, p.Books())
		})
	}
	// A quote that is no FX quote (the payee takes CNY after all) is not
	// paid as one.
	domestic := quote
	domestic.FX = nil
	f := &fxFake{quote: domestic, answer: committedFX}
	p := newTestParticipant(t, Config{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currency: cny, Acceptance: "notify"})
	p.Connect(f.client(t), secret)
	p.Books().Open("alice", "王伟", 150_00)
	if r := p.PayFX(context.Background(), FXPayment{From: "alice", Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"},
		Amount: 100_00, Target: hkd, Purpose: "FAMI"}); r.Status != StatusRefused || r.Err == nil || f.requests.Load() != 0 {
		t.Errorf("non-FX quote: %+v after %d transfers", r, f.requests.Load())
	}
}

// TestBookExchanges: an FX provider books each committed FX payment of
// its listing once, in both currencies' books, and skips what is not
// its own or not final.
func TestBookExchanges(t *testing.T) {
	mine := fxTransfer("fx-1", "hk-1")
	reserved := fxTransfer("fx-2", "hk-1")
	reserved.State = "RESERVED"
	aborted := fxTransfer("fx-3", "hk-1")
	aborted.State = "ABORTED"
	other := fxTransfer("fx-4", "hk-1")
	other.FX.Provider = "other-fx"
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	for i, tr := range []*wire.Transfer{&mine, &reserved, &aborted, &other} {
		tr.CreatedAt = t0.Add(time.Duration(i) * time.Millisecond)
	}
	f := &fxFake{listing: []wire.Transfer{mine, reserved, aborted, other}}
	p := newTestParticipant(t, Config{ID: "jade-fx", Name: "Jade Exchange", Kind: "fxp", Currency: cny, Others: []money.Currency{hkd},
		Acceptance: "notify"})
	p.Connect(f.client(t), secret)
	for _, c := range p.Currencies() {
		p.BooksIn(c).Open(FXTreasury, "treasury", 1_000_000_00)
	}
	for i, want := range []int{1, 0} {
		n, err := p.BookExchanges(context.Background())
		if n != want || err != nil {
			t.Fatalf("reading %d: %d booked, %v", i, n, err)
		}
	}
	in, out := p.BooksIn(cny).Summary(), p.BooksIn(hkd).Summary()
	if in.Received != 100_00 || in.FXFeesEarned != 35 || out.Sent != 108_50 || out.Unsent != 1 || in.NReceived != 1 {
		t.Errorf("CNY %+v, HKD %+v", in, out)
	}
	// The place it keeps is the first payment not final yet.
	if want := reserved.CreatedAt.Format(time.RFC3339Nano); p.fx.since != want {
		t.Errorf("since %q", p.fx.since)
	}
	mustVerify(t, p.BooksIn(cny))
	mustVerify(t, p.BooksIn(hkd))
	if p.BooksIn(money.MustCurrency("USD")) != nil {
		t.Error("books of a currency not held")
	}
}
