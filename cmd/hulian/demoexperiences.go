package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The experiences' own participants. They are not the simulator's: the
// simulated participants keep books of what they paid and were paid,
// which the demo holds to the switch, so payments made here on their
// behalf would break those checks. These keep their books here instead.
const (
	xpMerchantBank = "demo-merchant-bank"
	xpUtility      = "demo-utility"
	xpWalletX      = "demo-wallet-x"
	xpWalletY      = "demo-wallet-y"
)

// The aliases of their users and their merchant.
const (
	xpMerchant = "demo-noodles"
	xpLiLei    = "demo.li-lei"
	xpHan      = "demo.han-meimei"
	xpZhang    = "demo.zhang-wei"
)

// xpDeposit is what each participant of the experiences is funded with,
// in minor units (10,000.00 CNY).
const xpDeposit money.Amount = 1_000_000

// xpScheduledWait bounds the wait for the switch's own execution of the
// scheduled mandate: its sweep runs every 10 s.
const xpScheduledWait = 25 * time.Second

var xpCNY = money.MustCurrency("CNY")

// demoExperiences shows issue 16's payment experiences on participants
// of their own: a merchant's static and dynamic QR codes paid by a
// wallet (the dynamic one only once), bills sent as requests to pay (one
// paid, one declined), a monthly mandate the switch executes itself and
// an adhoc one the biller pulls, a partial refund, and a fraud dispute
// when the switch has them; then it holds those participants' books to
// the switch. It runs after the simulated traffic's checks, whose
// zero-sum counts only the simulator's deposits.
func demoExperiences(ctx context.Context, w io.Writer, a *app.App, dir string) error {
	_, err := runExperiences(ctx, w, a, dir, xpScheduledWait)
	return err
}

// experiences is the state of a run of the experiences: who is who, and
// each participant's balance as its own books have it.
type experiences struct {
	w     io.Writer
	dir   string
	op    xpClient
	keys  map[string]xpClient
	books map[string]money.Amount
	loc   *time.Location
	wait  time.Duration

	// What the steps made, for the later steps and for tests.
	scheduled   wire.Mandate
	approvedAt  time.Time
	static, dyn wire.QR
	qrPayment   wire.Transfer
	requests    [2]wire.PaymentRequest
	adhoc       wire.MandateExecution
	refund      wire.Transfer
	executed    *wire.MandateExecution // the switch's execution of the scheduled mandate, if it came in time
	dispute     map[string]any         // the dispute accepted, when the switch has disputes
}

// runExperiences runs the experiences, waiting at most wait for the
// switch to execute the scheduled mandate.
func runExperiences(ctx context.Context, w io.Writer, a *app.App, dir string, wait time.Duration) (*experiences, error) {
	loc, err := xpLocation()
	if err != nil {
		return nil, fmt.Errorf("experiences: %w", err)
	}
	x := &experiences{w: w, dir: dir, op: xpClient{a.URL(), a.AdminToken}, keys: map[string]xpClient{},
		books: map[string]money.Amount{}, loc: loc, wait: wait}
	fmt.Fprintf(w, "\nPayment experiences (issue 16) on four participants of their own, each funded with %s CNY:\n", xpDeposit.Format(xpCNY))
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"setup", x.setup},
		// The scheduled mandate first: the switch's sweep executes it
		// while the other steps run.
		{"scheduled mandate", x.proposeScheduled},
		{"QR", x.qr},
		{"bills", x.bills},
		{"adhoc mandate", x.pullAdhoc},
		{"refund", x.refundQR},
		{"dispute", x.disputeStep},
		{"scheduled execution", x.awaitScheduled},
		{"books", x.checkBooks},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return x, fmt.Errorf("experiences: %s: %w", s.name, err)
		}
	}
	return x, nil
}

// xpLocation returns the scheme's time zone of the demo's switch, which
// sets none: the switch's default.
func xpLocation() (*time.Location, error) {
	var c app.Config
	c.EnsureDefaults()
	return time.LoadLocation(c.Timezone)
}

// setup creates and funds the participants and registers their aliases.
func (x *experiences) setup(ctx context.Context) error {
	for _, p := range []struct{ id, name, kind string }{
		{xpMerchantBank, "Demo Merchant Bank", "bank"},
		{xpUtility, "Demo Power & Water", "bank"},
		{xpWalletX, "Demo Wallet X", "wallet"},
		{xpWalletY, "Demo Wallet Y", "wallet"},
	} {
		var made wire.Participant
		if err := x.op.call(ctx, "POST", "/v1/participants", wire.NewParticipant{ID: p.id, Name: p.name, Kind: p.kind,
			Currencies: []string{"CNY"}}, &made); err != nil {
			return err
		}
		x.keys[p.id] = xpClient{x.op.base, made.APIKey}
		if err := x.op.call(ctx, "POST", "/v1/participants/"+p.id+"/funds",
			wire.Funds{Currency: "CNY", Amount: xpDeposit.Format(xpCNY), Direction: "deposit"}, nil); err != nil {
			return err
		}
		x.books[p.id] = xpDeposit
	}
	for _, r := range []struct {
		at string
		p  wire.NewParty
	}{
		{xpMerchantBank, wire.NewParty{Type: "MERCHANT", Value: xpMerchant, Name: "Lanzhou Noodles", Account: "shop-7", Currency: "CNY",
			MCC: "5812", City: "Shanghai", Country: "CN"}},
		{xpWalletX, wire.NewParty{Type: "WALLET", Value: xpLiLei, Name: "Li Lei", Account: "u-1", Currency: "CNY"}},
		{xpWalletX, wire.NewParty{Type: "WALLET", Value: xpHan, Name: "Han Meimei", Account: "u-2", Currency: "CNY"}},
		{xpWalletY, wire.NewParty{Type: "WALLET", Value: xpZhang, Name: "Zhang Wei", Account: "u-9", Currency: "CNY"}},
	} {
		if err := x.keys[r.at].call(ctx, "POST", "/v1/parties", r.p, nil); err != nil {
			return err
		}
	}
	fmt.Fprintf(x.w, "  merchant   MERCHANT %s \"Lanzhou Noodles\" (mcc 5812, Shanghai CN) at %s; users %s and %s at %s, %s at %s\n",
		xpMerchant, xpMerchantBank, xpLiLei, xpHan, xpWalletX, xpZhang, xpWalletY)
	return nil
}

// xpScheduleDay returns the day of the month on which a monthly mandate
// approved at now is already due this month: yesterday's, in loc, so
// that the switch executes it at once; on the 1st, day 1, which is due
// at once only from 09:00.
func xpScheduleDay(now time.Time, loc *time.Location) int {
	return max(now.In(loc).Day()-1, 1)
}

// proposeScheduled has the utility propose a monthly electricity
// mandate to Li Lei, due on a day already past this month, and Li Lei's
// wallet approve it: the switch executes it for this month at its next
// sweep.
func (x *experiences) proposeScheduled(ctx context.Context) error {
	now := time.Now().In(x.loc)
	day := xpScheduleDay(now, x.loc)
	nm := wire.NewMandate{ID: xpUtility + ".md-power", Payer: wire.PayeeRef{Type: "WALLET", Value: xpLiLei}, MaxAmount: "300.00",
		Currency: "CNY", Frequency: "monthly", ValidFrom: time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, x.loc),
		ValidUntil: now.AddDate(1, 0, 0), Description: "electricity, account 0042-7731",
		Schedule: &wire.MandateSchedule{Day: day, Amount: "186.40"}}
	if err := x.keys[xpUtility].call(ctx, "POST", "/v1/mandates", nm, nil); err != nil {
		return err
	}
	if err := x.keys[xpWalletX].call(ctx, "POST", "/v1/mandates/"+url.PathEscape(nm.ID)+"/approve", nil, &x.scheduled); err != nil {
		return err
	}
	x.approvedAt = time.Now()
	due := x.scheduled.NextExecution.In(x.loc)
	when := "already past: the switch executes it for this month at its next sweep (every 10 s)"
	if due.After(x.approvedAt) {
		when = "still to come"
	}
	fmt.Fprintf(x.w, "  mandate    %s (%s): monthly from %s, %s on day %d (%s), at most %s; approved by %s: %s; due %s, %s\n",
		nm.ID, nm.Description, xpLiLei, nm.Schedule.Amount, day, x.loc, nm.MaxAmount, xpWalletX, x.scheduled.State,
		due.Format("2006-01-02 15:04"), when)
	return nil
}

// qr has the merchant's bank make a static and a dynamic code, draw
// them, and Li Lei's wallet decode and pay both, the dynamic one twice.
func (x *experiences) qr(ctx context.Context) error {
	bank, wallet := x.keys[xpMerchantBank], x.keys[xpWalletX]
	if err := bank.call(ctx, "POST", "/v1/qr", wire.NewQR{Merchant: xpMerchant, Currency: "CNY"}, &x.static); err != nil {
		return err
	}
	if err := bank.call(ctx, "POST", "/v1/qr", wire.NewQR{Merchant: xpMerchant, Amount: "68.00", Currency: "CNY",
		Reference: "table-7"}, &x.dyn); err != nil {
		return err
	}
	var files []string
	for _, c := range []struct{ name, id string }{{"qr-static.png", x.static.ID}, {"qr-dynamic.png", x.dyn.ID}} {
		img, err := bank.get(ctx, "/v1/qr/"+url.PathEscape(c.id)+".png")
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) {
			return fmt.Errorf("code %s: the image is not a PNG", c.id)
		}
		f := filepath.Join(x.dir, c.name)
		if err := os.WriteFile(f, img, 0o644); err != nil {
			return err
		}
		files = append(files, f)
	}
	fmt.Fprintf(x.w, "  QR codes   static %s, dynamic %s (%s CNY, bill %s, expires %s); images %s\n", x.static.ID, x.dyn.ID,
		x.dyn.Amount, x.dyn.Reference, x.dyn.ExpiresAt.In(x.loc).Format("15:04"), strings.Join(files, ", "))
	var d wire.QRDecoded
	if err := wallet.call(ctx, "POST", "/v1/qr:decode", wire.QRDecode{Payload: x.dyn.Payload}, &d); err != nil {
		return err
	}
	fmt.Fprintf(x.w, "  decoded    by %s: %q, mcc %s, %s %s; %s CNY, bill %s, paid %v\n", xpWalletX, d.Merchant.DisplayName,
		d.Merchant.MCC, d.Merchant.City, d.Merchant.Country, d.Amount, d.Reference, d.Paid)
	qrPayee := func(c wire.QR) wire.PayeeRef { return wire.PayeeRef{Type: "QR", Value: c.Payload} }
	st, err := x.pay(ctx, xpWalletX, wire.NewTransfer{ID: xpWalletX + ".qr-1", Payee: qrPayee(x.static), Amount: "25.00", Currency: "CNY",
		PayerAccount: "u-1", Note: "noodles"})
	if err != nil {
		return err
	}
	if x.qrPayment, err = x.pay(ctx, xpWalletX, wire.NewTransfer{ID: xpWalletX + ".qr-2", Payee: qrPayee(x.dyn), Amount: x.dyn.Amount,
		Currency: "CNY", PayerAccount: "u-1", Note: "table 7"}); err != nil {
		return err
	}
	fmt.Fprintf(x.w, "  QR paid    static code: %s, amount typed by the payer (%s %s, fee %s); dynamic code: %s (%s %s, fee %s)\n",
		st.Amount, st.ID, st.State, st.Fee, x.qrPayment.Amount, x.qrPayment.ID, x.qrPayment.State, x.qrPayment.Fee)
	_, err = x.pay(ctx, xpWalletX, wire.NewTransfer{ID: xpWalletX + ".qr-3", Payee: qrPayee(x.dyn), Amount: x.dyn.Amount,
		Currency: "CNY", PayerAccount: "u-1"})
	var pe *xpError
	if !errors.As(err, &pe) || pe.problem != "qr-already-paid" {
		return fmt.Errorf("the dynamic code paid twice: want qr-already-paid, got %v", err)
	}
	fmt.Fprintf(x.w, "  QR again   the dynamic code paid a second time: refused, %d %s\n", pe.status, pe.problem)
	return nil
}

// bills has the utility send two bills as requests to pay; the users'
// wallet pays the first and declines the second.
func (x *experiences) bills(ctx context.Context) error {
	utility, wallet := x.keys[xpUtility], x.keys[xpWalletX]
	exp := time.Now().Add(7 * 24 * time.Hour).UTC()
	month := time.Now().In(x.loc).Month().String()
	for i, b := range []struct{ payer, amount, msg string }{{xpLiLei, "58.20", "water, " + month}, {xpHan, "96.50", "gas, " + month}} {
		if err := utility.call(ctx, "POST", "/v1/payment-requests", wire.NewPaymentRequest{ID: fmt.Sprintf("%s.bill-%d", xpUtility, i+1),
			Payer: wire.PayeeRef{Type: "WALLET", Value: b.payer}, Amount: b.amount, Currency: "CNY", Message: b.msg, ExpiresAt: exp},
			&x.requests[i]); err != nil {
			return err
		}
	}
	r0, r1 := &x.requests[0], &x.requests[1]
	if err := wallet.call(ctx, "POST", "/v1/payment-requests/"+url.PathEscape(r0.ID)+"/accept",
		wire.AcceptPaymentRequest{TransferID: xpWalletX + ".bill-1"}, r0); err != nil {
		return err
	}
	t, err := x.book(ctx, xpWalletX, r0.TransferID)
	if err != nil {
		return err
	}
	if err := wallet.call(ctx, "POST", "/v1/payment-requests/"+url.PathEscape(r1.ID)+"/decline",
		wire.DeclinePaymentRequest{Reason: "meter reading disputed"}, r1); err != nil {
		return err
	}
	fmt.Fprintf(x.w, "  bills      %s asks %s %s (%s): %s, paid by %s %s (fee %s); asks %s %s (%s): %s (%s)\n",
		xpUtility, r0.Payer.Value, r0.Amount, r0.Message, r0.State, t.ID, t.State, t.Fee, r1.Payer.Value, r1.Amount, r1.Message,
		r1.State, r1.Reason)
	return nil
}

// pullAdhoc has the utility propose an adhoc mandate for repairs to Han
// Meimei, her wallet approve it, and the utility pull from it once.
func (x *experiences) pullAdhoc(ctx context.Context) error {
	utility := x.keys[xpUtility]
	nm := wire.NewMandate{ID: xpUtility + ".md-repairs", Payer: wire.PayeeRef{Type: "WALLET", Value: xpHan}, MaxAmount: "100.00",
		Currency: "CNY", Frequency: "adhoc", ValidFrom: time.Now().Add(-time.Minute).UTC(), ValidUntil: time.Now().AddDate(0, 6, 0).UTC(),
		Description: "repairs on call"}
	if err := utility.call(ctx, "POST", "/v1/mandates", nm, nil); err != nil {
		return err
	}
	var m wire.Mandate
	if err := x.keys[xpWalletX].call(ctx, "POST", "/v1/mandates/"+url.PathEscape(nm.ID)+"/approve", nil, &m); err != nil {
		return err
	}
	if err := utility.call(ctx, "POST", "/v1/mandates/"+url.PathEscape(nm.ID)+"/executions",
		wire.NewMandateExecution{ID: nm.ID + ".1", Amount: "42.00", Reference: "boiler repair"}, &x.adhoc); err != nil {
		return err
	}
	t, err := x.book(ctx, xpWalletX, x.adhoc.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(x.w, "  adhoc      %s: %s from %s, at most %s, %s; the biller pulls %s (%s): %s (fee %s)\n",
		nm.ID, nm.Description, xpHan, nm.MaxAmount, m.State, x.adhoc.Amount, x.adhoc.ID, x.adhoc.State, t.Fee)
	return nil
}

// refundQR has the merchant's bank pay back part of the dynamic code's
// payment.
func (x *experiences) refundQR(ctx context.Context) error {
	bank := x.keys[xpMerchantBank]
	if err := bank.call(ctx, "POST", "/v1/transfers/"+url.PathEscape(x.qrPayment.ID)+"/refunds",
		wire.NewRefund{ID: xpMerchantBank + ".rf-1", Amount: "20.00", Reason: "one dish never came"}, &x.refund); err != nil {
		return err
	}
	if err := x.booked(x.refund); err != nil {
		return err
	}
	var orig wire.Transfer
	if err := x.keys[xpWalletX].call(ctx, "GET", "/v1/transfers/"+url.PathEscape(x.qrPayment.ID), nil, &orig); err != nil {
		return err
	}
	fmt.Fprintf(x.w, "  refund     %s pays back %s of %s (%s %s, fee %s); the payment now shows refunded %s of %s\n",
		xpMerchantBank, x.refund.Amount, x.qrPayment.ID, x.refund.ID, x.refund.State, x.refund.Fee, orig.Refunded, orig.Amount)
	if orig.Refunded != x.refund.Amount {
		return fmt.Errorf("payment %s shows refunded %q, want %s", orig.ID, orig.Refunded, x.refund.Amount)
	}
	return nil
}

// disputeStep runs demoDispute if the switch routes disputes.
func (x *experiences) disputeStep(ctx context.Context) error {
	ok, err := disputesRouted(ctx, x.keys[xpWalletX])
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(x.w, "  disputes: not available in this build")
		return nil
	}
	return demoDispute(ctx, x)
}

// disputesRouted reports whether the switch answers POST /v1/disputes:
// an empty body is refused as invalid by a switch that has disputes,
// while one without them answers that no route matches (404 or 405), or
// 503 when they are routed but not configured.
func disputesRouted(ctx context.Context, c xpClient) (bool, error) {
	err := c.call(ctx, "POST", "/v1/disputes", struct{}{}, nil)
	var pe *xpError
	switch {
	case err == nil:
		return true, nil
	case !errors.As(err, &pe):
		return false, err
	case pe.status == http.StatusMethodNotAllowed, pe.status == http.StatusServiceUnavailable,
		pe.status == http.StatusNotFound && strings.HasPrefix(pe.detail, "no route"):
		return false, nil
	}
	return true, nil
}

// demoDispute shows a fraud dispute: Li Lei is talked into paying Zhang
// Wei at the other wallet, his wallet disputes the payment as fraud, the
// payee's wallet accepts, and the money comes back. The dispute's shape
// is POST /v1/disputes {"transferId", "reason", "detail"} by the payer's
// participant (201, state OPEN), and POST /v1/disputes/{id}/accept by the
// payee's (200, state ACCEPTED).
func demoDispute(ctx context.Context, x *experiences) error {
	payer, payee := x.keys[xpWalletX], x.keys[xpWalletY]
	scam, err := x.pay(ctx, xpWalletX, wire.NewTransfer{ID: xpWalletX + ".scam-1", Payee: wire.PayeeRef{Type: "WALLET", Value: xpZhang},
		Amount: "500.00", Currency: "CNY", PayerAccount: "u-1", Note: "parcel customs fee"})
	if err != nil {
		return err
	}
	var opened, decided map[string]any
	if err := payer.call(ctx, "POST", "/v1/disputes", map[string]string{"transferId": scam.ID, "reason": "fraud",
		"detail": "a caller posing as a courier asked for a customs fee"}, &opened); err != nil {
		return err
	}
	id, _ := opened["id"].(string)
	if id == "" || opened["state"] != "OPEN" {
		return fmt.Errorf("dispute of %s opened as %v", scam.ID, opened)
	}
	if err := payee.call(ctx, "POST", "/v1/disputes/"+url.PathEscape(id)+"/accept", struct{}{}, &decided); err != nil {
		return err
	}
	if decided["state"] != "ACCEPTED" {
		return fmt.Errorf("dispute %s accepted as %v", id, decided)
	}
	x.dispute = decided
	// What came back is what the payment shows paid back: the dispute's
	// refund shares the cap of refunds.
	var orig wire.Transfer
	if err := payer.call(ctx, "GET", "/v1/transfers/"+url.PathEscape(scam.ID), nil, &orig); err != nil {
		return err
	}
	back := money.Amount(0)
	if orig.Refunded != "" {
		if back, err = money.Parse(orig.Refunded, xpCNY); err != nil {
			return err
		}
	}
	x.books[xpWalletY] -= back
	x.books[xpWalletX] += back
	fmt.Fprintf(x.w, "  dispute    %s pays %s %s (%s); %s disputes it as fraud: %s %v; %s accepts: %v; paid back %s\n",
		xpLiLei, xpZhang, scam.Amount, scam.ID, xpWalletX, id, opened["state"], xpWalletY, decided["state"], back.Format(xpCNY))
	return nil
}

// awaitScheduled waits, at most x.wait after the approval, for the
// switch's own execution of the scheduled mandate, and says honestly if
// it does not come in time.
func (x *experiences) awaitScheduled(ctx context.Context) error {
	id := x.scheduled.ID
	if x.scheduled.NextExecution.After(x.approvedAt) {
		fmt.Fprintf(x.w, "  scheduled  %s is due %s, after the demo: the switch executes it then\n", id,
			x.scheduled.NextExecution.In(x.loc).Format("2006-01-02 15:04 MST"))
		return nil
	}
	deadline := x.approvedAt.Add(x.wait)
	for {
		var es wire.MandateExecutions
		if err := x.keys[xpUtility].call(ctx, "GET", "/v1/mandates/"+url.PathEscape(id)+"/executions", nil, &es); err != nil {
			return err
		}
		for _, e := range es.Executions {
			switch {
			case e.Scheduled && e.State == "COMMITTED":
				t, err := x.book(ctx, xpWalletX, e.ID)
				if err != nil {
					return err
				}
				x.executed = &e
				fmt.Fprintf(x.w, "  scheduled  %s executed by the switch %.1f s after its approval: %s %s for the month from %s, %s (fee %s)\n",
					id, e.CreatedAt.Sub(x.approvedAt).Seconds(), e.ID, e.Amount, e.PeriodStart.In(x.loc).Format("2006-01-02"), e.State, t.Fee)
				return nil
			case e.Scheduled && e.State == "FAILED":
				return fmt.Errorf("mandate %s: the switch's execution %s failed: %s", id, e.ID, e.Reason)
			}
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			fmt.Fprintf(x.w, "  scheduled  %s: the switch had not executed it %s after its approval; it will at a later sweep\n",
				id, x.wait)
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkBooks holds the participants' books to their accounts at the
// switch.
func (x *experiences) checkBooks(ctx context.Context) error {
	var parts, bad []string
	for _, id := range []string{xpMerchantBank, xpUtility, xpWalletX, xpWalletY} {
		acct, err := demoOperator{base: x.op.base, token: x.op.token}.account(ctx, id)
		if err != nil {
			return err
		}
		parts = append(parts, id+" "+acct.Balance)
		if acct.Balance != x.books[id].Format(xpCNY) {
			bad = append(bad, fmt.Sprintf("%s: the switch says %s, the books %s", id, acct.Balance, x.books[id].Format(xpCNY)))
		}
	}
	verdict := "PASS"
	if len(bad) > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(x.w, "  %s  their books agree with the switch (balances %s)\n", verdict, strings.Join(parts, ", "))
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// pay makes a payment as payer and books it when it commits.
func (x *experiences) pay(ctx context.Context, payer string, nt wire.NewTransfer) (wire.Transfer, error) {
	nt.Authentication = &wire.Authentication{Factors: []string{"pin", "device"}}
	var t wire.Transfer
	if err := x.keys[payer].call(ctx, "POST", "/v1/transfers", nt, &t); err != nil {
		return t, err
	}
	if t.State != "COMMITTED" {
		return t, fmt.Errorf("payment %s: %s %s", t.ID, t.State, t.Reason)
	}
	return t, x.booked(t)
}

// book reads a transfer the switch made for payer and books it.
func (x *experiences) book(ctx context.Context, payer, id string) (wire.Transfer, error) {
	var t wire.Transfer
	if err := x.keys[payer].call(ctx, "GET", "/v1/transfers/"+url.PathEscape(id), nil, &t); err != nil {
		return t, err
	}
	if t.State != "COMMITTED" {
		return t, fmt.Errorf("transfer %s: %s %s", t.ID, t.State, t.Reason)
	}
	return t, x.booked(t)
}

// booked enters a committed transfer in its payer's and payee's books:
// the payer pays the amount and the fee, the payee receives the amount.
func (x *experiences) booked(t wire.Transfer) error {
	amount, err := money.Parse(t.Amount, xpCNY)
	if err != nil {
		return fmt.Errorf("transfer %s: %w", t.ID, err)
	}
	fee := money.Amount(0)
	if t.Fee != "" {
		if fee, err = money.Parse(t.Fee, xpCNY); err != nil {
			return fmt.Errorf("transfer %s: %w", t.ID, err)
		}
	}
	if _, ok := x.books[t.Payee.Participant]; !ok {
		return fmt.Errorf("transfer %s: payee participant %q is not one of the experiences'", t.ID, t.Payee.Participant)
	}
	x.books[t.Payer] -= amount + fee
	x.books[t.Payee.Participant] += amount
	return nil
}

// xpClient calls the switch's API with one bearer token: the operator's
// or a participant's API key.
type xpClient struct {
	base, token string
}

// xpError is a refusal by the switch: its status and problem type (the
// type's last segment).
type xpError struct {
	method, path    string
	status          int
	problem, detail string
}

// Error names the call and the refusal.
func (e *xpError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.method, e.path, e.status, e.problem, e.detail)
}

// call sends body as JSON and decodes the answer into out (when not
// nil); a status of 300 or more is an *xpError.
func (c xpClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	b, err := c.do(ctx, method, path, rd)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// get returns the body of a GET.
func (c xpClient) get(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, "GET", path, nil)
}

func (c xpClient) do(ctx context.Context, method, path string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var p wire.Problem
		json.Unmarshal(b, &p)
		return nil, &xpError{method: method, path: path, status: resp.StatusCode,
			problem: strings.TrimPrefix(p.Type, wire.ProblemBase), detail: p.Detail}
	}
	return b, nil
}
