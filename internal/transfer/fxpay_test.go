package transfer

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

var hkd = money.MustCurrency("HKD")

// sheets are fixed rate sheets: the flow's Rates in these tests.
type sheets []fx.Sheet

func (s sheets) Live(source, target money.Currency) []fx.Sheet {
	var out []fx.Sheet
	for _, sh := range s {
		if sh.Source == source && sh.Target == target {
			out = append(out, sh)
		}
	}
	return out
}

// fxFixture is the fixture with FX: provider "fx-p" (CNY and HKD, with
// 1,000.00 HKD), HKD wallet "wallet-h" (alias "h:1", notify) and HKD bank
// "bank-k" (alias "k:1", confirm mode), and a sheet CNY → HKD at 1.085
// with a fee of 1 fen + 10 basis points.
type fxFixture struct {
	*fixture
	p, h, k participant.Participant
	rates   *sheets
}

func newFXFixture(t *testing.T, deps func(*Deps)) *fxFixture {
	t.Helper()
	rates := &sheets{}
	f := &fxFixture{rates: rates}
	f.fixture = newFixture(t, func(d *Deps) {
		d.Rates = rates
		if deps != nil {
			deps(d)
		}
	})
	var err error
	if f.p, _, err = f.reg.Create(f.ctx, participant.New{ID: "fx-p", Name: "FX", Kind: participant.FXP, Currencies: []money.Currency{cny, hkd}}); err != nil {
		t.Fatal(err)
	}
	if f.h, _, err = f.reg.Create(f.ctx, participant.New{ID: "wallet-h", Name: "H", Kind: participant.Wallet, Currencies: []money.Currency{hkd}}); err != nil {
		t.Fatal(err)
	}
	if f.k, _, err = f.reg.Create(f.ctx, participant.New{ID: "bank-k", Name: "K", Kind: participant.Bank, Currencies: []money.Currency{hkd},
		Acceptance: participant.Confirm, CallbackURL: "http://127.0.0.1:9/unused"}); err != nil {
		t.Fatal(err)
	}
	f.fund(f.p, hkd, 100000)
	for _, p := range []participant.Participant{f.h, f.k} {
		alias := p.ID[len(p.ID)-1:] + ":1"
		if _, _, err := f.dir.Register(f.ctx, directory.Party{Type: directory.WALLET, Value: alias, Participant: p.ID,
			Name: "User " + alias, Account: "acct-" + alias, Currency: hkd}); err != nil {
			t.Fatal(err)
		}
	}
	*rates = sheets{{Provider: "fx-p", Source: cny, Target: hkd, Rate: fx.MustRate("1.085"), ValidUntil: f.clk.now().Add(time.Hour),
		Fee: fx.Fee{Fixed: 1, BPS: 10}}}
	return f
}

func (f *fxFixture) fund(p participant.Participant, c money.Currency, amount money.Amount) {
	f.t.Helper()
	if _, _, err := f.s.MoveFunds(f.ctx, p, Funds{Currency: c, Amount: amount, Direction: Deposit}); err != nil {
		f.t.Fatal(err)
	}
}

// balances returns the booked balances of the accounts that an FX
// payment from a to h or k touches.
func (f *fxFixture) balances() []money.Amount {
	f.t.Helper()
	var out []money.Amount
	for _, id := range []ledger.AccountID{f.a.Account(cny), f.p.Account(cny), f.p.Account(hkd), f.h.Account(hkd), f.k.Account(hkd),
		participant.FeeAccount(cny)} {
		a := f.account(id)
		out = append(out, a.Balance, a.Reserved)
	}
	return out
}

// quoteFX asks for a quote from a to alias.
func (f *fxFixture) quoteFX(alias string, amount money.Amount, amountType string) QuoteOffer {
	f.t.Helper()
	q, err := f.s.Quote(f.ctx, f.a, Request{PayeeType: "WALLET", PayeeValue: alias, Amount: amount, Currency: cny, AmountType: amountType})
	if err != nil {
		f.t.Fatalf("quote %s %d %s: %v", alias, amount, amountType, err)
	}
	return q
}

// pay pays q from a with purpose SUPP under id.
func (f *fxFixture) pay(id string, q QuoteOffer) (Transfer, bool, error) {
	return f.s.Create(f.ctx, f.a, Request{ID: id, PayeeType: "WALLET", PayeeValue: q.Payee.Value, Amount: q.Amount,
		Currency: q.Currency, QuoteID: q.ID, Purpose: "SUPP"})
}

// TestFXQuoteAndPay: SEND and RECEIVE quotes convert exactly, rounded in
// the payer's disfavour; the payment posts its five-member chain, moves
// each currency by the quote's amounts and shows the exchange.
func TestFXQuoteAndPay(t *testing.T) {
	for _, c := range []struct {
		name                    string
		amount                  money.Amount
		amountType              string
		source, target, provFee money.Amount
		rounding                string
	}{
		// 100.00 CNY × 1.085 = 108.50 HKD exactly; fee 0.01 + ceil(10000 × 10 / 10000) fen.
		{"SEND exact", 10000, "", 10000, 10850, 11, "0.00"},
		// 100.01 CNY × 1.085 = 108.51085 HKD: the payee gets 108.51.
		{"SEND rounded down", 10001, "SEND", 10001, 10851, 12, "0.00085"},
		// 100.00 HKD / 1.085 = 92.1658… CNY: the payer sends 92.17, which
		// converts to 100.00445 HKD.
		{"RECEIVE rounded up", 10000, "RECEIVE", 9217, 10000, 11, "0.00445"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFXFixture(t, nil)
			q := f.quoteFX("h:1", c.amount, c.amountType)
			fee, _ := f.fees.Schedule(cny).Fee(c.source)
			want := FX{Provider: "fx-p", SourceAmount: c.source, SourceCurrency: cny, TargetAmount: c.target, TargetCurrency: hkd,
				Rate: fx.MustRate("1.085"), ProviderFee: c.provFee, Mode: fx.Send, Rounding: c.rounding}
			if c.amountType == "RECEIVE" {
				want.Mode = fx.Receive
			}
			if q.FX == nil || *q.FX != want || q.Amount != c.source || q.Currency != cny || q.Fee != fee || q.Payee.Participant != "wallet-h" {
				t.Fatalf("quote %+v fx %+v, want %+v fee %d", q, q.FX, want, fee)
			}
			before := f.balances()
			tr, created, err := f.pay("fx.1", q)
			if err != nil || !created || tr.State != Committed {
				t.Fatalf("pay: %v %v %+v", err, created, tr)
			}
			want.Purpose = "SUPP"
			if tr.FX == nil || *tr.FX != want || tr.Amount != c.source || tr.Fee != fee {
				t.Fatalf("transfer %+v fx %+v, want %+v", tr, tr.FX, want)
			}
			if amt, cur := tr.Received(); amt != c.target || cur != hkd {
				t.Errorf("Received = %d %s", amt, cur)
			}
			after := f.balances()
			moves := make([]money.Amount, len(after))
			for i := range after {
				moves[i] = after[i] - before[i]
			}
			wantMoves := []money.Amount{-(c.source + fee + c.provFee), 0, c.source + c.provFee, 0, -c.target, 0, c.target, 0, 0, 0, fee, 0}
			if !slices.Equal(moves, wantMoves) {
				t.Errorf("moves %v, want %v", moves, wantMoves)
			}
			f.zeroSum()
			if got := f.legEvents("fx.1"); !slices.Equal(got, []uint16{purpose.Payment, purpose.Fee, purpose.FXFee, purpose.FX}) {
				t.Errorf("legs %v", got)
			}
			// The payer, the payee and the provider see it, with the
			// exchange; another participant does not.
			for _, v := range []string{"wallet-a", "wallet-h", "fx-p", ""} {
				got, err := f.s.Get(f.ctx, Viewer{Participant: v}, "fx.1")
				if err != nil || got.FX == nil || *got.FX != want || got.State != Committed {
					t.Errorf("Get as %q: %v %+v", v, err, got.FX)
				}
			}
			if _, err := f.s.Get(f.ctx, Viewer{Participant: "wallet-b"}, "fx.1"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get as another: %v", err)
			}
			// The same request again is answered from the ledger.
			again, created, err := f.pay("fx.1", q)
			if err != nil || created || again.FX == nil || *again.FX != want {
				t.Errorf("retry: %v %v %+v", err, created, again.FX)
			}
		})
	}
}

// TestFXRefusals: what an FX payment refuses, each without moving money.
func TestFXRefusals(t *testing.T) {
	f := newFXFixture(t, nil)
	q := f.quoteFX("h:1", 10000, "")
	before := f.balances()
	payWith := func(id string, mod func(*Request)) error {
		r := Request{ID: id, PayeeType: "WALLET", PayeeValue: "h:1", Amount: q.Amount, Currency: cny, QuoteID: q.ID, Purpose: "SUPP"}
		mod(&r)
		_, _, err := f.s.Create(f.ctx, f.a, r)
		return err
	}
	for i, c := range []struct {
		name string
		mod  func(*Request)
		want error
	}{
		{"no quote", func(r *Request) { r.QuoteID = "" }, ErrFXQuoteRequired},
		{"no purpose", func(r *Request) { r.Purpose = "" }, ErrFXPurposeRequired},
		{"unknown purpose", func(r *Request) { r.Purpose = "XXXX" }, ErrInvalid},
		{"another amount", func(r *Request) { r.Amount++ }, ErrQuoteMismatch},
		{"another currency", func(r *Request) { r.Currency = hkd }, ErrCurrency},
		{"a domestic quote", func(r *Request) {
			d, err := f.s.Quote(f.ctx, f.a, req("", "b:1", 100))
			if err != nil {
				t.Fatal(err)
			}
			r.QuoteID, r.Amount = d.ID, 100
		}, ErrQuoteMismatch},
	} {
		if err := payWith("r."+strconv.Itoa(i), c.mod); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A purpose on a payment within one currency is refused, not dropped.
	r := req("r.domestic", "b:1", 100)
	r.Purpose = "SUPP"
	if _, _, err := f.s.Create(f.ctx, f.a, r); !errors.Is(err, ErrInvalid) {
		t.Errorf("domestic purpose: %v", err)
	}
	if got := f.balances(); !slices.Equal(got, before) {
		t.Errorf("refusals moved money: %v → %v", before, got)
	}

	// The provider short of HKD: nothing moves, and the quote stays
	// usable once it has the money.
	short := f.quoteFX("h:1", 95000, "") // 1,030.75 HKD: the provider has 1,000.00
	if _, _, err := f.pay("r.short", short); !errors.Is(err, ErrFXLiquidity) {
		t.Fatalf("provider short: %v", err)
	}
	if got := f.balances(); !slices.Equal(got, before) {
		t.Errorf("a failed chain moved money: %v → %v", before, got)
	}
	f.fund(f.p, hkd, 10000)
	if _, created, err := f.pay("r.short", short); err != nil || !created {
		t.Fatalf("after funding: %v", err)
	}
	// The payer short: its own error, not the provider's.
	big := f.quoteFX("h:1", 20000, "") // the payer has 1,000.00 − 950.00 − fees
	if _, _, err := f.pay("r.payer-short", big); !errors.Is(err, ErrInsufficientFunds) || errors.Is(err, ErrFXLiquidity) {
		t.Errorf("payer short: %v", err)
	}
	// A quote pays once: another id with it is refused.
	if _, _, err := f.pay("r.again", short); !errors.Is(err, ErrQuoteUsed) {
		t.Errorf("quote reused: %v", err)
	}
	// An expired quote.
	q2 := f.quoteFX("h:1", 100, "")
	f.clk.advance(2 * time.Minute)
	if _, _, err := f.pay("r.expired", q2); !errors.Is(err, ErrQuoteExpired) {
		t.Errorf("expired: %v", err)
	}
	// The provider suspended since the quote.
	q3 := f.quoteFX("h:1", 100, "")
	status := participant.Suspended
	if _, err := f.reg.Apply(f.ctx, "fx-p", participant.Update{Status: &status}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.pay("r.suspended", q3); !errors.Is(err, ErrSuspended) {
		t.Errorf("provider suspended: %v", err)
	}
	if _, err := f.s.Quote(f.ctx, f.a, Request{PayeeType: "WALLET", PayeeValue: "h:1", Amount: 100, Currency: cny}); !errors.Is(err, ErrNoFXOffer) {
		t.Errorf("quote without an active provider: %v", err)
	}
	f.zeroSum()
}

// TestFXConfirmAndPaths: a confirm-mode payee is asked for what it gets
// (Received), and its refusal undoes all four legs; the payee's listing,
// statement and notifications show the payment once, delivered by the fx
// leg; the provider's show its two sides; an FX payment is not refunded.
func TestFXConfirmAndPaths(t *testing.T) {
	var asked []string
	f := newFXFixture(t, func(d *Deps) {
		d.Confirmer = confirmFunc(func(_ context.Context, payee participant.Participant, tr Transfer) (bool, string, error) {
			amt, c := tr.Received()
			asked = append(asked, payee.ID+" "+amt.Format(c)+" "+c.String())
			return tr.Note != "refuse", "no", nil
		})
	})
	f.clk.advance(time.Second) // past the deposits
	start := f.clk.now()
	before := f.balances()
	q := f.quoteFX("k:1", 10000, "")
	r := Request{ID: "k.refused", PayeeType: "WALLET", PayeeValue: "k:1", Amount: q.Amount, Currency: cny, QuoteID: q.ID, Purpose: "GDDS", Note: "refuse"}
	tr, _, err := f.s.Create(f.ctx, f.a, r)
	if err != nil || tr.State != Aborted {
		t.Fatalf("refused: %v %+v", err, tr)
	}
	if got := f.balances(); !slices.Equal(got, before) {
		t.Errorf("a refused FX payment moved money: %v → %v", before, got)
	}
	q = f.quoteFX("k:1", 10000, "")
	r.ID, r.Note, r.QuoteID = "k.accepted", "", q.ID
	if tr, _, err = f.s.Create(f.ctx, f.a, r); err != nil || tr.State != Committed {
		t.Fatalf("accepted: %v %+v", err, tr)
	}
	if !slices.Equal(asked, []string{"bank-k 108.50 HKD", "bank-k 108.50 HKD"}) {
		t.Errorf("the payee was asked %q", asked)
	}
	q = f.quoteFX("h:1", 5000, "")
	if _, _, err := f.pay("h.1", q); err != nil {
		t.Fatal(err)
	}
	f.zeroSum()

	ids := func(ts []Transfer) (out []string) {
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	for _, c := range []struct {
		who  participant.Participant
		want []string
	}{
		{f.k, []string{"k.refused", "k.accepted"}},
		{f.h, []string{"h.1"}},
		{f.p, []string{"k.refused", "k.accepted", "h.1"}},
		{f.a, []string{"k.refused", "k.accepted", "h.1"}},
	} {
		got, _, err := f.s.List(f.ctx, c.who, 0, 100)
		if err != nil || !slices.Equal(ids(got), c.want) {
			t.Errorf("List of %s: %v %v, want %v", c.who.ID, err, ids(got), c.want)
		}
	}

	// Notifications: the fx leg delivers to the payee; the payment leg's
	// credit is the provider's, and no delivery to it.
	var delivered []string
	err = f.bed.Journal.Scan(f.ctx, 0, 1<<62, func(e ledger.Event) error {
		for _, p := range []participant.Participant{f.h, f.k, f.p} {
			for _, c := range p.Currencies {
				tr, ok, err := f.s.Credit(f.ctx, p.Account(c), e)
				if err != nil {
					return err
				}
				if ok {
					delivered = append(delivered, p.ID+" "+tr.ID)
				}
			}
		}
		return nil
	})
	if err != nil || !slices.Equal(delivered, []string{"bank-k k.accepted", "wallet-h h.1"}) {
		t.Errorf("deliveries %v %v", err, delivered)
	}

	// Statements: the payee's fx credit, the provider's both sides.
	end := f.clk.now().Add(time.Second)
	kinds := func(p participant.Participant, c money.Currency) (out []string) {
		st, err := f.s.Statement(f.ctx, p, c, start, end, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range st.Movements {
			dir := "-"
			if m.Credit {
				dir = "+"
			}
			out = append(out, m.Kind+" "+m.Ref+" "+dir+m.Amount.Format(c))
		}
		return out
	}
	for _, c := range []struct {
		who  participant.Participant
		c    money.Currency
		want []string
	}{
		{f.h, hkd, []string{"fx h.1 +54.25"}},
		{f.p, hkd, []string{"fx k.accepted -108.50", "fx h.1 -54.25"}},
		{f.p, cny, []string{"payment k.accepted +100.00", "fx-fee k.accepted +0.11", "payment h.1 +50.00", "fx-fee h.1 +0.06"}},
		{f.a, cny, []string{"payment k.accepted -100.00", "fee k.accepted -0.20", "fx-fee k.accepted -0.11",
			"payment h.1 -50.00", "fee h.1 -0.15", "fx-fee h.1 -0.06"}},
	} {
		if got := kinds(c.who, c.c); !slices.Equal(got, c.want) {
			t.Errorf("statement of %s %s:\n got %q\nwant %q", c.who.ID, c.c, got, c.want)
		}
	}

	// Payments, as reconciliation reads them: each side's own line.
	lines := func(p participant.Participant, c money.Currency) (out []string) {
		err := f.s.Payments(f.ctx, p, c, start, end, func(tr *Transfer) error {
			amt, debit := tr.Line(p.ID, c)
			dir := "+"
			if debit {
				dir = "-"
			}
			out = append(out, tr.ID+" "+dir+amt.Format(c))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		who  participant.Participant
		c    money.Currency
		want []string
	}{
		{f.h, hkd, []string{"h.1 +54.25"}},
		{f.p, hkd, []string{"k.refused -108.50", "k.accepted -108.50", "h.1 -54.25"}},
		{f.p, cny, []string{"k.refused +100.00", "k.accepted +100.00", "h.1 +50.00"}},
		{f.a, cny, []string{"k.refused -100.00", "k.accepted -100.00", "h.1 -50.00"}},
	} {
		if got := lines(c.who, c.c); !slices.Equal(got, c.want) {
			t.Errorf("payments of %s %s:\n got %q\nwant %q", c.who.ID, c.c, got, c.want)
		}
	}

	// Paying back an FX payment needs its own exchange.
	if _, _, err := f.s.Refund(f.ctx, f.h, "h.1", "h.1-r", 100, ""); !errors.Is(err, ErrNotReturnable) {
		t.Errorf("refund: %v", err)
	}
	if _, _, err := f.s.Return(f.ctx, f.h, "h.1", 100, hkd, ""); !errors.Is(err, ErrNotReturnable) {
		t.Errorf("return: %v", err)
	}
}

// TestFXPrepared: a prepared FX payment reserves all four legs, the
// provider's target currency included; its payee fulfils or rejects it
// as one, and a rejected one has used its quote.
func TestFXPrepared(t *testing.T) {
	f := newFXFixture(t, nil)
	before := f.balances()
	q := f.quoteFX("h:1", 10000, "")
	r := Request{ID: "pr.1", PayeeType: "WALLET", PayeeValue: "h:1", Amount: q.Amount, Currency: cny, QuoteID: q.ID, Purpose: "FAMI"}
	tr, created, err := f.s.Prepare(f.ctx, f.a, r, f.clk.now().Add(time.Minute))
	if err != nil || !created || tr.State != Reserved || tr.FX == nil {
		t.Fatalf("prepare: %v %+v", err, tr)
	}
	if got := f.account(f.p.Account(hkd)); got.Reserved != 10850 {
		t.Errorf("the provider's HKD reserved %d", got.Reserved)
	}
	if _, _, err := f.s.Reject(f.ctx, f.h, "pr.1", "no thanks"); err != nil {
		t.Fatal(err)
	}
	if got := f.balances(); !slices.Equal(got, before) {
		t.Errorf("a rejected FX payment moved money: %v → %v", before, got)
	}
	r.ID = "pr.2"
	if _, _, err := f.s.Prepare(f.ctx, f.a, r, f.clk.now().Add(time.Minute)); !errors.Is(err, ErrQuoteUsed) {
		t.Errorf("a rejected payment's quote again: %v", err)
	}
	q = f.quoteFX("h:1", 10000, "")
	r.QuoteID = q.ID
	if _, _, err := f.s.Prepare(f.ctx, f.a, r, f.clk.now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Fulfil(f.ctx, f.p, "pr.2"); !errors.Is(err, ErrNotPayee) {
		t.Errorf("the provider fulfils: %v", err)
	}
	tr, _, err = f.s.Fulfil(f.ctx, f.h, "pr.2")
	if err != nil || tr.State != Committed {
		t.Fatalf("fulfil: %v %+v", err, tr)
	}
	if got := f.account(f.h.Account(hkd)); got.Balance != 10850 || got.Reserved != 0 {
		t.Errorf("payee %+v", got)
	}
	f.zeroSum()
}

// liveRates answers live quote requests with fixed offers, and keeps the
// requests.
type liveRates struct {
	offers []fx.Sheet
	asked  []LiveQuote
}

func (l *liveRates) Ask(_ context.Context, q LiveQuote) []fx.Sheet {
	l.asked = append(l.asked, q)
	return l.offers
}

// TestFXLiveOffers: a live offer competes with the published sheets and
// wins when it gives the payee more; the quote then lasts no longer than
// the offer; the request names the exchange and whom to exclude.
func TestFXLiveOffers(t *testing.T) {
	live := &liveRates{}
	f := newFXFixture(t, func(d *Deps) { d.LiveRates = live })
	p2, _, err := f.reg.Create(f.ctx, participant.New{ID: "fx-live", Name: "Live", Kind: participant.FXP, Currencies: []money.Currency{cny, hkd}})
	if err != nil {
		t.Fatal(err)
	}
	f.fund(p2, hkd, 100000)
	until := f.clk.now().Add(20 * time.Second)
	live.offers = []fx.Sheet{{Provider: "fx-live", Source: cny, Target: hkd, Rate: fx.MustRate("1.09"), ValidUntil: until}}
	q := f.quoteFX("h:1", 10000, "")
	if q.FX.Provider != "fx-live" || q.FX.TargetAmount != 10900 || !q.ExpiresAt.Equal(until) {
		t.Fatalf("quote %+v %+v", q, q.FX)
	}
	if a := live.asked; len(a) != 1 || a[0].Source != cny || a[0].Target != hkd || a[0].Amount != 10000 || a[0].Mode != fx.Send ||
		!slices.Equal(a[0].Exclude, []string{"wallet-a", "wallet-h"}) {
		t.Errorf("asked %+v", live.asked)
	}
	if _, _, err := f.pay("live.1", q); err != nil {
		t.Fatal(err)
	}
	if got := f.account(p2.Account(hkd)); got.Balance != 100000-10900 {
		t.Errorf("the live provider's HKD: %d", got.Balance)
	}
	// A worse live offer loses to the sheet.
	live.offers[0].Rate = fx.MustRate("1.05")
	if q := f.quoteFX("h:1", 10000, ""); q.FX.Provider != "fx-p" {
		t.Errorf("a worse live offer won: %+v", q.FX)
	}
	f.zeroSum()
}
