package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// The cross-border section's own participants: like the experiences',
// they keep their books here, so that the simulators' checks are not
// disturbed by payments made on their behalf.
const (
	xbProvider = "demo-fx"
	xbPayer    = "demo-cn-wallet"
	xbPayee    = "demo-hk-wallet"
)

// The users abroad, by their Hong Kong numbers.
const (
	xbChan = "+85261234567"
	xbWong = "+85262345678"
)

// The section's figures: the provider's sheet (a rate a little better
// than the simulators' provider's, which withdrew its sheet when the
// traffic stopped anyway), and its prefunding, whose HKD lasts for the
// two payments shown and not a third.
var (
	xbRate          = "1.0852"
	xbSheetFee      = wire.FXFee{Fixed: "0.50", BPS: 10}
	xbPrefundCNY    = money.Amount(100_00)
	xbPrefundHKD    = money.Amount(1_000_00)
	xbPayerDeposit  = money.Amount(10_000_00)
	xbHKD           = money.MustCurrency("HKD")
	xbSheetValidity = 10 * time.Minute
)

// crossBorderDemo is a run of the cross-border section: the clients,
// each participant's balance per currency as the section's books have
// it, and what the steps made, for the later steps and for tests.
type crossBorderDemo struct {
	w     io.Writer
	op    *sim.Client
	keys  map[string]*sim.Client
	books map[string]money.Amount // "participant currency" → balance
	from  time.Time               // the report's start: the demo's

	paid    []wire.Transfer // the payments made, SEND then RECEIVE
	refusal string          // the problem of the payment the provider could not deliver
	report  []wire.CrossBorderPayment
	windows []wire.SettlementReport // CNY, then HKD
}

// demoCrossBorder shows issue 17's cross-border payments on participants
// of their own: a CNY wallet pays two users of an HKD wallet by their
// phone numbers through an FX provider — one payment fixing what the
// payer sends (SEND), one what the payee gets (RECEIVE) — and a third
// that the provider cannot deliver, which moves nothing; then the
// regulator's cross-border report of the whole run, and the settlement
// of both currencies, each window on its own. from is when the demo
// started.
func demoCrossBorder(ctx context.Context, w io.Writer, a *app.App, from time.Time) error {
	_, err := runCrossBorder(ctx, w, a.URL(), a.AdminToken, from)
	return err
}

// runCrossBorder runs the section against the switch at url with the
// operator's token.
func runCrossBorder(ctx context.Context, w io.Writer, url, token string, from time.Time) (*crossBorderDemo, error) {
	x := &crossBorderDemo{w: w, op: sim.NewClient(url, token, nil), keys: map[string]*sim.Client{}, books: map[string]money.Amount{}, from: from}
	fmt.Fprintf(w, "\nCross-border payments (issue 17): %s (CNY) pays %s (HKD) through the FX provider %s\n", xbPayer, xbPayee, xbProvider)
	for _, s := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"setup", x.setup},
		{"payments", x.payments},
		{"refusal", x.refused},
		{"books", x.checkBooks},
		{"report", x.crossBorderReport},
		{"settlement", x.settle},
	} {
		if err := s.run(ctx); err != nil {
			return x, fmt.Errorf("cross-border: %s: %w", s.name, err)
		}
	}
	return x, nil
}

// book adds amount to participant's balance in c, in the section's books.
func (x *crossBorderDemo) book(participant string, c money.Currency, amount money.Amount) {
	x.books[participant+" "+c.String()] += amount
}

// setup creates and funds the three participants, registers the users
// abroad in HKD, and has the provider publish its CNY → HKD sheet.
func (x *crossBorderDemo) setup(ctx context.Context) error {
	for _, p := range []struct {
		id, name, kind string
		funds          map[money.Currency]money.Amount
	}{
		{xbProvider, "Demo Exchange", "fxp", map[money.Currency]money.Amount{xpCNY: xbPrefundCNY, xbHKD: xbPrefundHKD}},
		{xbPayer, "Demo CN Wallet", "wallet", map[money.Currency]money.Amount{xpCNY: xbPayerDeposit}},
		{xbPayee, "Demo HK Wallet", "wallet", map[money.Currency]money.Amount{xbHKD: 0}},
	} {
		var currencies []string
		for _, c := range slices.Sorted(maps.Keys(p.funds)) {
			currencies = append(currencies, c.String())
		}
		made, err := x.op.CreateParticipant(ctx, wire.NewParticipant{ID: p.id, Name: p.name, Kind: p.kind, Currencies: currencies})
		if err != nil {
			return err
		}
		x.keys[p.id] = sim.NewClient(x.op.BaseURL, made.APIKey, nil)
		for c, amt := range p.funds {
			x.book(p.id, c, 0)
			if amt == 0 {
				continue
			}
			if _, err := x.op.MoveFunds(ctx, p.id, wire.Funds{ID: p.id + "-deposit-" + c.String(), Currency: c.String(), Amount: amt.Format(c),
				Direction: "deposit"}); err != nil {
				return err
			}
			x.book(p.id, c, amt)
		}
	}
	for _, u := range []struct{ alias, name, account string }{{xbChan, "Chan Siu Ming", "hk-chan"}, {xbWong, "Wong Mei Ling", "hk-wong"}} {
		if _, err := x.keys[xbPayee].RegisterParty(ctx, wire.NewParty{Type: "MSISDN", Value: u.alias, Name: u.name, Account: u.account,
			Currency: "HKD"}); err != nil {
			return err
		}
	}
	sheet, err := x.keys[xbProvider].PublishFXRate(ctx, "CNY", "HKD", wire.NewFXRate{Rate: xbRate, ValidUntil: time.Now().Add(xbSheetValidity).UTC(),
		Fee: &xbSheetFee})
	if err != nil {
		return err
	}
	fmt.Fprintf(x.w, "  provider   %s (kind fxp) prefunded %s CNY and %s HKD; sheet CNY→HKD at %s, fee %s CNY + %d bp, valid until %s\n",
		xbProvider, sim.Grouped(xbPrefundCNY, xpCNY), sim.Grouped(xbPrefundHKD, xbHKD), sheet.Rate, sheet.Fee.Fixed, sheet.Fee.BPS,
		sheet.ValidUntil.Local().Format("15:04:05"))
	fmt.Fprintf(x.w, "  users      %s (Chan Siu Ming) and %s (Wong Mei Ling) registered in HKD at %s; %s prefunded %s CNY\n",
		xbChan, xbWong, xbPayee, xbPayer, sim.Grouped(xbPayerDeposit, xpCNY))
	return nil
}

// quote asks the payer's wallet's quote for a payment to alias.
func (x *crossBorderDemo) quote(ctx context.Context, alias, amount, amountType string) (wire.Quote, error) {
	q, err := x.keys[xbPayer].Quote(ctx, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: alias}, Amount: amount, Currency: "CNY",
		AmountType: amountType, PayerAccount: "cn-li"})
	if err == nil && (q.FX == nil || q.FX.Provider != xbProvider) {
		err = fmt.Errorf("quote %s: not an FX quote of %s: %+v", q.ID, xbProvider, q.FX)
	}
	return q, err
}

// pay pays quote q to alias with purpose, as transfer id.
func (x *crossBorderDemo) pay(ctx context.Context, id, alias, purpose string, q wire.Quote) (wire.Transfer, error) {
	t, _, err := x.keys[xbPayer].CreateTransfer(ctx, wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: "MSISDN", Value: alias},
		Amount: q.Amount, Currency: q.Currency, QuoteID: q.ID, Purpose: purpose, PayerAccount: "cn-li",
		Authentication: &wire.Authentication{Factors: []string{"pin", "device"}}})
	return t, err
}

// payments makes the two payments: 500.00 CNY sent to Chan (SEND), and
// 300.00 HKD received by Wong (RECEIVE); each is booked on all three
// participants' sides.
func (x *crossBorderDemo) payments(ctx context.Context) error {
	for i, p := range []struct {
		alias, name, amount, amountType, purpose, why string
	}{
		{xbChan, "Chan Siu Ming", "500.00", "SEND", "FAMI", "family support"},
		{xbWong, "Wong Mei Ling", "300.00", "RECEIVE", "EDUC", "school fees"},
	} {
		q, err := x.quote(ctx, p.alias, p.amount, p.amountType)
		if err != nil {
			return err
		}
		fx := q.FX
		fmt.Fprintf(x.w, "  quote      %-7s %s %s: %s CNY → %s HKD at %s; provider fee %s CNY, scheme fee %s CNY; until %s\n",
			p.amountType, p.amount, map[string]string{"SEND": "CNY sent", "RECEIVE": "HKD received"}[p.amountType], fx.SourceAmount,
			fx.TargetAmount, fx.Rate, fx.ProviderFee, q.Fee, q.ExpiresAt.Local().Format("15:04:05"))
		t, err := x.pay(ctx, fmt.Sprintf("%s.fx-%d", xbPayer, i+1), p.alias, p.purpose, q)
		if err != nil {
			return err
		}
		if t.State != "COMMITTED" || t.FX == nil {
			return fmt.Errorf("payment %s: %s %s", t.ID, t.State, t.Reason)
		}
		if err := x.booked(t); err != nil {
			return err
		}
		x.paid = append(x.paid, t)
		fmt.Fprintf(x.w, "  paid       %s to %s (%s), purpose %s (%s): %s; %s CNY + fees %s + %s left the payer, %s HKD reached the payee\n",
			t.ID, p.alias, p.name, t.FX.Purpose, p.why, t.State, t.Amount, t.Fee, t.FX.ProviderFee, t.FX.TargetAmount)
	}
	return nil
}

// booked enters committed FX payment t in the section's books: the payer
// pays the source amount, the scheme fee and the provider's fee in CNY;
// the provider receives the source amount and its fee in CNY and pays
// the target amount in HKD, which the payee receives.
func (x *crossBorderDemo) booked(t wire.Transfer) error {
	var a [4]money.Amount
	for i, f := range []struct {
		s string
		c money.Currency
	}{{t.Amount, xpCNY}, {t.Fee, xpCNY}, {t.FX.ProviderFee, xpCNY}, {t.FX.TargetAmount, xbHKD}} {
		var err error
		if a[i], err = money.Parse(f.s, f.c); err != nil {
			return fmt.Errorf("transfer %s: %w", t.ID, err)
		}
	}
	x.book(t.Payer, xpCNY, -(a[0] + a[1] + a[2]))
	x.book(t.FX.Provider, xpCNY, a[0]+a[2])
	x.book(t.FX.Provider, xbHKD, -a[3])
	x.book(t.Payee.Participant, xbHKD, a[3])
	return nil
}

// balances returns the section's participants' balances at the switch,
// "participant currency" → balance, as the operator sees them.
func (x *crossBorderDemo) balances(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range []string{xbPayer, xbProvider, xbPayee} {
		accts, err := x.op.Accounts(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, a := range accts {
			out[id+" "+a.Currency] = a.Balance
		}
	}
	return out, nil
}

// refused asks for a payment to Chan the provider cannot deliver: its
// HKD is short of the target. The switch refuses it, and nothing moves.
func (x *crossBorderDemo) refused(ctx context.Context) error {
	before, err := x.balances(ctx)
	if err != nil {
		return err
	}
	q, err := x.quote(ctx, xbChan, "200.00", "SEND")
	if err != nil {
		return err
	}
	_, err = x.pay(ctx, xbPayer+".fx-3", xbChan, "FAMI", q)
	var e *sim.Error
	if !errors.As(err, &e) || e.Kind() != sim.ProblemFXLiquidity {
		return fmt.Errorf("a payment beyond the provider's HKD: want %s, got %v", sim.ProblemFXLiquidity, err)
	}
	x.refusal = e.Kind()
	after, err := x.balances(ctx)
	if err != nil {
		return err
	}
	verdict := "PASS"
	if !maps.Equal(before, after) {
		verdict = "FAIL"
	}
	fmt.Fprintf(x.w, "  refused    200.00 CNY → %s HKD to %s: %d %s (the provider holds %s HKD)\n", q.FX.TargetAmount, xbChan, e.Status, e.Kind(),
		before[xbProvider+" HKD"])
	fmt.Fprintf(x.w, "  %s  nothing moved: %s\n", verdict, x.line(after))
	if verdict != "PASS" {
		return fmt.Errorf("the refused payment moved money: %v → %v", before, after)
	}
	return nil
}

// line formats balances in the section's order.
func (x *crossBorderDemo) line(b map[string]string) string {
	var parts []string
	for _, k := range []string{xbPayer + " CNY", xbProvider + " CNY", xbProvider + " HKD", xbPayee + " HKD"} {
		parts = append(parts, k+" "+b[k])
	}
	return strings.Join(parts, ", ")
}

// checkBooks holds the section's books to the participants' accounts.
func (x *crossBorderDemo) checkBooks(ctx context.Context) error {
	got, err := x.balances(ctx)
	if err != nil {
		return err
	}
	var bad []string
	for k, want := range x.books {
		c := xpCNY
		if strings.HasSuffix(k, " HKD") {
			c = xbHKD
		}
		if got[k] != want.Format(c) {
			bad = append(bad, fmt.Sprintf("%s: the switch says %s, the books %s", k, got[k], want.Format(c)))
		}
	}
	verdict := "PASS"
	if len(bad) > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(x.w, "  %s  their books agree with the switch, per currency (%s)\n", verdict, x.line(got))
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// crossBorderReport reads the regulator's cross-border report of the
// whole demo, page by page, and summarises it: the simulators' payments
// and the section's, by provider, purpose and amount type.
func (x *crossBorderDemo) crossBorderReport(ctx context.Context) error {
	to := time.Now().Add(time.Minute)
	var rows []wire.CrossBorderPayment
	after := ""
	for {
		page, err := x.op.CrossBorderReport(ctx, x.from.Add(-time.Minute), to, after, 10_000)
		if err != nil {
			return err
		}
		rows = append(rows, page.Transfers...)
		if page.Next == "" || len(page.Transfers) == 0 {
			break
		}
		after = page.Next
	}
	x.report = rows
	byProvider, byPurpose, byType := map[string]int{}, map[string]int{}, map[string]int{}
	var source, target money.Amount
	for _, r := range rows {
		byProvider[r.FX.Provider]++
		byPurpose[r.FX.Purpose]++
		byType[r.FX.AmountType]++
		s, err := money.Parse(r.FX.SourceAmount, xpCNY)
		if err != nil || r.FX.SourceCurrency != "CNY" || r.FX.TargetCurrency != "HKD" {
			return fmt.Errorf("report row %s: %s %s → %s", r.TransferID, r.FX.SourceAmount, r.FX.SourceCurrency, r.FX.TargetCurrency)
		}
		t, err := money.Parse(r.FX.TargetAmount, xbHKD)
		if err != nil {
			return fmt.Errorf("report row %s: %w", r.TransferID, err)
		}
		source, target = source+s, target+t
	}
	fmt.Fprintf(x.w, "  report     GET /v1/reports/cross-border (operator, regulator): %d payments committed in the demo, %s CNY → %s HKD\n",
		len(rows), sim.Grouped(source, xpCNY), sim.Grouped(target, xbHKD))
	fmt.Fprintf(x.w, "             by provider %s; by purpose %s; by amount type %s\n", counts(byProvider), counts(byPurpose), counts(byType))
	for _, r := range rows {
		if r.FX.Provider != xbProvider {
			continue
		}
		fmt.Fprintf(x.w, "             %s %s  %s → %s: %s CNY → %s HKD at %s, fees %s + %s, %s %s\n", r.CommittedAt.Local().Format("15:04:05"),
			r.TransferID, r.Payer, r.Payee, r.FX.SourceAmount, r.FX.TargetAmount, r.FX.Rate, r.SchemeFee, r.FX.ProviderFee, r.FX.AmountType,
			r.FX.Purpose)
	}
	return nil
}

// counts formats a count per key, most first.
func counts(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " · ")
}

// settle closes the open CNY and HKD windows, each on its own, and
// prints each one's positions: the provider receives in CNY and pays in
// HKD, and each window's nets (the hub's fees included) sum to zero.
func (x *crossBorderDemo) settle(ctx context.Context) error {
	var bad []string
	for _, c := range []money.Currency{xpCNY, xbHKD} {
		ws, err := x.op.Windows(ctx, c.String(), "OPEN")
		if err != nil || len(ws) != 1 {
			return fmt.Errorf("open %s window: %d, %v", c, len(ws), err)
		}
		w, err := x.op.CloseWindow(ctx, ws[0].ID)
		if err != nil {
			return err
		}
		rep, err := x.op.SettlementReport(ctx, w.ID)
		if err != nil {
			return err
		}
		x.windows = append(x.windows, rep)
		n := int64(0)
		if rep.Transfers != nil {
			n = *rep.Transfers
		}
		fmt.Fprintf(x.w, "  window     %s closed: %d payments; positions (net: + receives, − pays)\n", rep.Window.ID, n)
		var sum money.Amount
		for _, p := range rep.Positions {
			net, err := money.Parse(p.Net, c)
			if err != nil {
				return fmt.Errorf("%s net of %s: %w", rep.Window.ID, p.Participant, err)
			}
			sum += net
			mark := ""
			if p.Participant == xbProvider {
				mark = "  ← the FX provider"
			}
			fmt.Fprintf(x.w, "             %-20s sent %12s  received %12s  fees %8s  net %13s %s%s\n", p.Participant, p.Sent, p.Received, p.Fees,
				p.Net, c, mark)
		}
		prov := x.net(rep, xbProvider, c)
		switch {
		case sum != 0:
			bad = append(bad, fmt.Sprintf("%s: the nets sum to %s", rep.Window.ID, sum.Format(c)))
		case c == xpCNY && prov <= 0, c == xbHKD && prov >= 0:
			bad = append(bad, fmt.Sprintf("%s: the provider's net is %s", rep.Window.ID, prov.Format(c)))
		}
	}
	verdict := "PASS"
	if len(bad) > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(x.w, "  %s  each currency settles on its own: %s receives %s CNY and pays %s HKD; each window's nets sum to zero\n",
		verdict, xbProvider, x.net(x.windows[0], xbProvider, xpCNY).Format(xpCNY), (-x.net(x.windows[1], xbProvider, xbHKD)).Format(xbHKD))
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// net returns participant's net in settlement report rep, of currency c
// (zero if it has no position).
func (x *crossBorderDemo) net(rep wire.SettlementReport, participant string, c money.Currency) money.Amount {
	for _, p := range rep.Positions {
		if p.Participant == participant {
			n, _ := money.Parse(p.Net, c)
			return n
		}
	}
	return 0
}
