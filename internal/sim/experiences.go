package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// This file is the participant's side of issue 16's payment experiences:
// paying a merchant's QR code, requests to pay (bills) sent and
// answered, and refunds. None needs new books: each is an outgoing
// payment of the participant that made the request — held, sent with an
// id of its own, booked on the answer, exactly as Pay does — and an
// incoming one of the other side, credited from its transfers.committed
// callback like any other. What each flow adds is how the participant
// finds the user: the payee of a QR payment is the merchant's account;
// the payer of a bill is named by alias, and its payee by the request's
// id; a refund debits whoever the refunded payment credited.

// Notice events: news of requests to pay, mandates and disputes, which a
// participant acknowledges once read. They are delivered at least once,
// like transfers.committed.
const (
	eventRequestCreated  = "payment-request.created"
	eventRequestPaid     = "payment-request.paid"
	eventRequestDeclined = "payment-request.declined"
	eventRequestExpired  = "payment-request.expired"
)

// aliasKey keys an alias as the switch normalizes it.
func aliasKey(typ, value string) string { return typ + ":" + value }

// RegisterParties registers up to PartyBatchMax aliases of the
// participant's users, as Client.RegisterParties does, and remembers
// which user holds each one registered: a request to pay names its payer
// by alias only. The values are remembered as the switch answers them
// (normalized, or made by it for RANDOM).
func (p *Participant) RegisterParties(ctx context.Context, ps []wire.NewParty) ([]wire.PartyResult, error) {
	results, err := p.api.RegisterParties(ctx, ps)
	if err != nil {
		return results, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range results {
		if r.Party != nil && r.Status/100 == 2 {
			p.aliases[aliasKey(r.Party.Type, r.Party.Value)] = ps[i].Account
		}
	}
	return results, nil
}

// aliasUser returns the user holding one of the participant's aliases.
func (p *Participant) aliasUser(ref wire.PayeeRef) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.aliases[aliasKey(ref.Type, ref.Value)]
	return u, ok
}

// payeeUser returns whom an incoming transfer credits. Usually the
// switch names the account: the alias's (a MERCHANT's too, for a QR
// payment), or the original payer's, for a refund. The payment of a
// request to pay names the request instead (payee type ACCOUNT, account
// the request id): the user who sent it. An account the participant
// cannot place becomes "", which the books credit to suspense.
func (p *Participant) payeeUser(ref wire.PayeeRef) string {
	if ref.Type != "ACCOUNT" {
		return ref.Account
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requested[ref.Account]
}

// QRPayment is a payment of a scanned merchant QR code by one of the
// participant's users.
type QRPayment struct {
	// ID is the transfer id; empty makes a fresh one.
	ID string
	// From is the paying user's id in the participant's books.
	From string
	// Payload is the code's content, as scanned.
	Payload string
	// Amount is what the user typed for a static code; a dynamic code
	// sets its own, and Amount is ignored.
	Amount money.Amount
	// Note travels with the transfer to the merchant.
	Note string
}

// PayQR pays a merchant's QR code as a wallet app does. It decodes the
// payload at the switch first (POST /v1/qr:decode), which tells the app
// the merchant's name, category and city to show, and for a dynamic
// code its amount and whether it was paid already: a paid code is
// refused here (qr-already-paid) without sending anything. Then it holds
// the user's money and sends the transfer to payee {"type":"QR","value":
// payload}, with the same retries and booking as Pay. The switch pays
// the merchant's alias; the merchant's participant is credited by its
// ordinary transfers.committed callback (payee type MERCHANT).
//
// QR payments are not quoted (a quote names an alias, and the code is
// not one): a participant that charges its users the fee holds
// Config.FeeHold, as for a batch, and charges the actual fee.
func (p *Participant) PayQR(ctx context.Context, qp QRPayment) (Result, wire.QRDecoded) {
	if qp.ID == "" {
		qp.ID = p.NewTransferID()
	}
	c := p.books.Currency()
	res := Result{ID: qp.ID, Amount: qp.Amount}
	d, err := p.api.DecodeQR(ctx, qp.Payload)
	if err != nil {
		return refused(res, err), d
	}
	if d.Currency != c.String() {
		res.Status, res.Problem = StatusDeclined, "currency"
		return res, d
	}
	if d.Dynamic {
		if d.Paid {
			res.Status, res.Problem = StatusRefused, ProblemQRAlreadyPaid
			return res, d
		}
		if res.Amount, err = money.Parse(d.Amount, c); err != nil {
			res.Status, res.Err = StatusRefused, fmt.Errorf("QR code of %s: amount %q: %w", d.Merchant.ID, d.Amount, err)
			return res, d
		}
	}
	if res.Amount <= 0 {
		res.Status, res.Problem = StatusDeclined, "amount"
		return res, d
	}
	var userFee money.Amount
	if p.cfg.ChargeFees {
		userFee = p.cfg.FeeHold
	}
	nt := wire.NewTransfer{ID: qp.ID, Payee: wire.PayeeRef{Type: "QR", Value: qp.Payload}, Amount: res.Amount.Format(c),
		Currency: c.String(), Note: qp.Note}
	riskFields(&nt, &Payment{From: qp.From})
	return p.holdAndSend(ctx, res, qp.From, userFee, func() (wire.Transfer, error) {
		t, _, err := p.api.CreateTransfer(ctx, nt)
		return t, err
	}), d
}

// billTTL is how long the participant's requests to pay wait for an
// answer.
const billTTL = 24 * time.Hour

// RequestPayment sends a request to pay (a bill) on behalf of user: the
// participant of payer, an alias, is asked to pay amount to the
// participant, and its user accepts or declines. The participant
// remembers the request's user before sending it, since the payment, if
// it comes, names the request (payee type ACCOUNT, account the request
// id) and may arrive before the answer. The request is retried with its
// id when the answer is lost; the same request again answers the first.
func (p *Participant) RequestPayment(ctx context.Context, user string, payer wire.PayeeRef, amount money.Amount,
	message string) (wire.PaymentRequest, error) {
	if !p.books.CanReceive(user) {
		return wire.PaymentRequest{}, fmt.Errorf("request payment for %s: %w", user, ErrNoUser)
	}
	c := p.books.Currency()
	id := p.NewTransferID()
	p.mu.Lock()
	p.requested[id] = user
	p.mu.Unlock()
	nr := wire.NewPaymentRequest{ID: id, Payer: wire.PayeeRef{Type: payer.Type, Value: payer.Value}, Amount: amount.Format(c),
		Currency: c.String(), Message: message, ExpiresAt: time.Now().Add(billTTL).UTC().Truncate(time.Second)}
	r, _, err := retry(ctx, func() (wire.PaymentRequest, error) { return p.api.RequestPayment(ctx, nr) })
	return r, err
}

// billsMax bounds the requests to pay waiting for the users' answers;
// beyond it new ones are left to expire at the switch.
const billsMax = 1000

// onRequest takes the news of a request to pay. A new one for one of the
// participant's users (payment-request.created) waits in its inbox for
// the user's answer (NextBill): the callback is no place to pay, since
// the switch waits for its answer before it sends the next one. A
// redelivered one is recognized by its id. The requester's news (paid,
// declined, expired) changes nothing in its books: a payment arrives as
// a transfer.
func (p *Participant) onRequest(w http.ResponseWriter, event string, r *wire.PaymentRequest) {
	p.notices.Add(1)
	if r == nil {
		p.anomaly(event + " without a payment request")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if event == eventRequestCreated {
		p.mu.Lock()
		// A person's bill waits for the person (Person.Bills), never
		// for the simulator's NextBill.
		pe := p.persons[p.aliases[aliasKey(r.Payer.Type, r.Payer.Value)]]
		if pe == nil && !p.billSeen[r.ID] && len(p.bills) < billsMax {
			p.billSeen[r.ID] = true
			p.bills = append(p.bills, *r)
		}
		p.mu.Unlock()
		if pe != nil {
			pe.addBill(*r)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// NextBill takes the oldest request to pay waiting for an answer of one
// of the participant's users; false if none waits.
func (p *Participant) NextBill() (wire.PaymentRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bills) == 0 {
		return wire.PaymentRequest{}, false
	}
	r := p.bills[0]
	p.bills = p.bills[1:]
	return r, true
}

// takeBill takes request to pay id from the inbox, if it is there.
func (p *Participant) takeBill(id string) (wire.PaymentRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.bills {
		if r.ID == id {
			p.bills = append(p.bills[:i], p.bills[i+1:]...)
			return r, true
		}
	}
	return wire.PaymentRequest{}, false
}

// PayBill accepts request to pay r for the user its payer alias names,
// as Pay pays: hold the amount (and Config.FeeHold when the participant
// charges its users the fee: the payment is not quoted), accept with a
// transfer id of the participant's own, retried with that id when the
// answer is lost (the switch answers a repeated acceptance with the
// request as it stands), then read the payment and book its outcome.
// An acceptance refused as payment-aborted (the requester's participant
// rejected the payment; the request is pending again) made a transfer,
// which is read and booked as ABORTED; any other refusal made none, and
// the hold is released (after a lost answer, only once the switch says
// it has no such transfer, see failed).
// A user without the money is declined by the books, and the request
// left for the participant to decline (DeclineBill).
func (p *Participant) PayBill(ctx context.Context, r wire.PaymentRequest) Result {
	c := p.books.Currency()
	res := Result{ID: p.NewTransferID()}
	user, ok := p.aliasUser(r.Payer)
	if !ok {
		res.Status, res.Problem = StatusDeclined, "account"
		return res
	}
	amt, err := money.Parse(r.Amount, c)
	if err != nil || r.Currency != c.String() {
		res.Status, res.Problem, res.Err = StatusDeclined, "amount", fmt.Errorf("payment request %s: %s %s", r.ID, r.Amount, r.Currency)
		return res
	}
	res.Amount = amt
	var userFee money.Amount
	if p.cfg.ChargeFees {
		userFee = p.cfg.FeeHold
	}
	return p.holdAndSend(ctx, res, user, userFee, func() (wire.Transfer, error) {
		pr, err := p.api.AcceptPaymentRequest(ctx, r.ID, res.ID)
		if IsProblem(err, ProblemPaymentAborted) {
			// The payment was made and aborted: book it as such, so
			// that the books account for every transfer the switch
			// recorded (see Books.Records).
			return p.api.Transfer(ctx, res.ID)
		}
		if err != nil {
			return wire.Transfer{}, err
		}
		if pr.TransferID != res.ID {
			return wire.Transfer{}, fmt.Errorf("payment request %s accepted with %s: the switch says %q", r.ID, res.ID, pr.TransferID)
		}
		return p.api.Transfer(ctx, res.ID)
	})
}

// DeclineBill declines request to pay r, with a reason the requester is
// told. Nothing was held, so nothing is booked.
func (p *Participant) DeclineBill(ctx context.Context, r wire.PaymentRequest, reason string) error {
	_, _, err := retry(ctx, func() (wire.PaymentRequest, error) { return p.api.DeclinePaymentRequest(ctx, r.ID, reason) })
	return err
}

// Refund pays back amount of incoming payment original to its payer, as
// a merchant refunds part of a purchase: the user it credited is
// debited — held, sent (POST /v1/transfers/{id}/refunds, with a refund id
// of the participant's own), booked, exactly as Pay — and the payer's
// participant is credited by its transfers.committed callback (payee
// type REFUND, account the payer's user as its payment named it).
// Refunds carry no fee. A payment not credited yet, or to suspense, is
// declined here: the participant cannot say whose money pays it back.
func (p *Participant) Refund(ctx context.Context, original string, amount money.Amount, reason string) Result {
	res := Result{ID: p.NewTransferID(), Amount: amount}
	user, credited, ok := p.books.CreditedTo(original)
	switch {
	case !ok:
		res.Status, res.Problem = StatusDeclined, "not credited"
		return res
	case amount <= 0 || amount > credited:
		res.Status, res.Problem = StatusDeclined, "amount"
		return res
	}
	nr := wire.NewRefund{ID: res.ID, Amount: amount.Format(p.books.Currency()), Reason: reason}
	res = p.holdAndSend(ctx, res, user, 0, func() (wire.Transfer, error) { return p.api.Refund(ctx, original, nr) })
	if res.Status == StatusCommitted && res.Transfer.Payee.Type != "REFUND" {
		res.Err = errors.Join(res.Err, fmt.Errorf("refund %s of %s: payee type %q", res.ID, original, res.Transfer.Payee.Type))
	}
	return res
}
