package dfsp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hulian/hulian/internal/fspiop/ilp"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
)

// answerParty answers GET /parties/{Type}/{ID}[/{SubId}] from the party
// book, to the requester, echoing the identifier as the path had it (the
// payer SDK compares the strings).
func (d *DFSP) answerParty(ctx context.Context, rt route, source string) error {
	typ, id, sub := rt.ids[0], rt.ids[1], ""
	if len(rt.ids) == 3 {
		sub = rt.ids[2]
	}
	path := rt.path()
	p, ok := d.party(typ, id, sub)
	if !ok {
		return d.sendError(ctx, path, source, msg.NewError(msg.PartyNotFound, ""))
	}
	return d.send(ctx, http.MethodPut, path, source, msg.PartiesPut{Party: d.partyOf(p, id, sub)})
}

// answerQuote answers POST /quotes as the SDK with a backend that quotes
// no fee: transferAmount = amount, an ILPv1 packet of the transaction
// object (the request's own payee, payer and transactionType, the
// response's expiration and transferAmount) under the ILP secret, its
// condition; the fulfilment is kept by transactionId.
func (d *DFSP) answerQuote(ctx context.Context, q *msg.QuotesPost, body []byte, source string) error {
	path := pathOf(msg.ResourceQuotes, q.QuoteID)
	pi := q.Payee.PartyIDInfo
	if _, ok := d.party(pi.PartyIDType, pi.PartyIdentifier, pi.PartySubIDOrType); !ok {
		return d.sendError(ctx, path, source, msg.NewError(msg.PartyNotFound, ""))
	}
	if q.Amount.Currency != d.cfg.Currency {
		return d.sendError(ctx, path, source, msg.NewError(msg.PayeeUnsupportedCurr, ""))
	}
	amount := q.Amount
	expires := d.cfg.Now().Add(d.cfg.Expiry)
	expiration := msg.FormatDateTime(expires)
	units, err := ilpUnits(amount)
	if err != nil {
		return d.sendError(ctx, path, source, msg.NewError(msg.ValidationError, "amount"))
	}
	// The request's own JSON for the parties and type, so that the packet
	// carries what the payer sent, fields this package does not model
	// included (SSC's transactionObjectDto copies them).
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return err
	}
	amt, _ := json.Marshal(amount)
	exp, _ := json.Marshal(expiration)
	txn := map[string]json.RawMessage{
		"quoteId": raw["quoteId"], "transactionId": raw["transactionId"], "transactionType": raw["transactionType"],
		"payee": raw["payee"], "payer": raw["payer"], "expiration": exp, "amount": amt,
	}
	fsp := pi.FSPID
	if fsp == "" {
		fsp = d.cfg.ID
	}
	// Version 1 (ILP_VERSION=1, the SDK's default), not ilp.TypePayment,
	// which happens to be 1 too.
	packet, condition, fulfilment, err := ilp.Build(d.cfg.ILPSecret, 1, units,
		ilp.Address(fsp, pi.PartyIDType, pi.PartyIdentifier, pi.PartySubIDOrType), txn, expires)
	if err != nil {
		return d.sendError(ctx, path, source, msg.NewError(msg.InternalServerError, ""))
	}
	d.bookMu.Lock()
	d.quotes[q.TransactionID] = &quoteRec{quoteID: q.QuoteID, condition: condition, fulfilment: fulfilment,
		amount: amount, expires: expires}
	d.bookMu.Unlock()
	return d.send(ctx, http.MethodPut, path, source, msg.QuotesPut{
		TransferAmount: amount, Expiration: expiration, ILPPacket: packet, Condition: condition,
	})
}

// ilpUnits is the amount in the packet: minor units at SSC's scale.
func ilpUnits(m msg.Money) (uint64, error) {
	c, err := money.ParseCurrency(m.Currency)
	if err != nil {
		return 0, err
	}
	v, err := msg.ParseAmount(m, c.Exponent())
	if err != nil {
		return 0, err
	}
	return ilp.UnitsOf(v, c.Exponent(), m.Currency)
}

// answerPrepare answers POST /transfers as the SDK's InboundTransfersModel:
// the quote is found by transferId (= its transactionId) and its condition
// must be the prepare's, else 2001 "Internal server error" (the SDK's
// _handleError of "ILP condition … does not match quote" and of "Corresponding
// quote not found"); then the backend's decision (OnPrepare) and the
// fulfilment in FulfilState.
func (d *DFSP) answerPrepare(ctx context.Context, p *msg.TransfersPost, source string) error {
	path := pathOf(msg.ResourceTransfers, p.TransferID)
	d.bookMu.Lock()
	q := d.quotes[p.TransferID]
	var rec *transferRec
	if q != nil && q.condition == p.Condition {
		rec = d.record(d.in, p.TransferID, p.Amount, p.Condition)
	}
	d.bookMu.Unlock()
	if rec == nil {
		return d.sendError(ctx, path, source, msg.NewError(msg.InternalServerError, ""))
	}
	action := Fulfil
	if fn := d.onPrepare.Load(); fn != nil {
		action = (*fn)(*p)
	}
	fulfilment, state := q.fulfilment, d.cfg.FulfilState
	switch action {
	case Ignore:
		return nil
	case Refuse:
		d.bookMu.Lock()
		d.setState(rec, false, msg.StateAborted)
		d.bookMu.Unlock()
		return d.sendError(ctx, path, source, msg.NewError(msg.PayeeRejectedTxn, ""))
	case WrongFulfilment:
		f, err := ilp.Parse32(q.fulfilment)
		if err != nil {
			return err
		}
		f[0] ^= 0xff
		fulfilment, state = ilp.FormatB64(f), msg.StateCommitted
	}
	if action == Fulfil {
		// Booked before sending, since the switch may commit and notify the
		// payer before the send returns; undone if the switch refuses it.
		d.bookMu.Lock()
		d.setState(rec, false, state)
		d.bookMu.Unlock()
	}
	err := d.send(ctx, http.MethodPut, path, source, msg.TransfersPut{
		Fulfilment: fulfilment, CompletedTimestamp: msg.FormatDateTime(d.cfg.Now()), TransferState: state,
	})
	if err != nil && action == Fulfil {
		d.bookMu.Lock()
		d.setState(rec, false, msg.StateAborted)
		d.bookMu.Unlock()
	}
	return err
}

// checkFulfilment is the payer SDK's CHECK_ILP: the fulfilment is the
// SHA-256 preimage of the condition.
func checkFulfilment(fulfilment, condition string) error {
	if err := ilp.Check(fulfilment, condition); err != nil {
		return fmt.Errorf("%w: %w", ErrFulfilment, err)
	}
	return nil
}

// Incoming is a transfer this DFSP took as payee.
type Incoming struct {
	// State is RECEIVED (no answer sent yet, or ignored), RESERVED
	// (fulfilled RESERVED, waiting for the PATCH), COMMITTED or ABORTED.
	State string
	// Amount is the prepare's amount.
	Amount msg.Money
	// Patch is the switch's PATCH, if one came.
	Patch *msg.TransfersPatch
}

// Incoming returns a transfer taken as payee, if it is in the books.
func (d *DFSP) Incoming(id string) (Incoming, bool) {
	d.bookMu.Lock()
	defer d.bookMu.Unlock()
	r, ok := d.in[id]
	if !ok {
		return Incoming{}, false
	}
	return incomingOf(r), true
}

func incomingOf(r *transferRec) Incoming {
	in := Incoming{State: r.state, Amount: msg.Money{Currency: r.currency}, Patch: r.patch}
	if c, err := money.ParseCurrency(r.currency); err == nil {
		in.Amount.Amount = msg.FormatAmount(r.amount, c.Exponent())
	}
	return in
}

// AwaitPatch waits for the switch's PATCH /transfers/{ID} of a transfer
// this DFSP fulfilled RESERVED, returning it at once if it came already.
func (d *DFSP) AwaitPatch(ctx context.Context, id string) (msg.TransfersPatch, error) {
	d.bookMu.Lock()
	if r, ok := d.in[id]; ok && r.patch != nil {
		p := *r.patch
		d.bookMu.Unlock()
		return p, nil
	}
	ch, cancel := d.expect("patch/" + id)
	d.bookMu.Unlock()
	defer cancel()
	r, err := d.await(ctx, ch, "PATCH /transfers/"+id)
	if err != nil {
		return msg.TransfersPatch{}, err
	}
	var p msg.TransfersPatch
	if err := json.Unmarshal(r.body, &p); err != nil {
		return p, fmt.Errorf("%w: PATCH /transfers/%s: %w", ErrMismatch, id, err)
	}
	return p, nil
}
