package dfsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hulian/hulian/internal/fspiop/msg"
)

// decodeReply reads a callback's body into v (already validated when it
// was received).
func decodeReply(r reply, v any, what string) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("%s: %w: %w", what, ErrMismatch, err)
	}
	return nil
}

// exchange sends a request and waits for the callback of key.
func (d *DFSP) exchange(ctx context.Context, key, method, path, dest string, body any) (reply, error) {
	ch, cancel := d.expect(key)
	defer cancel()
	what := method + " " + path
	if err := d.send(ctx, method, path, dest, body); err != nil {
		return reply{}, err
	}
	return d.await(ctx, ch, what)
}

// Lookup asks the switch who holds a party (GET /parties without
// FSPIOP-Destination) and returns the payee's PUT /parties, checked as
// the payer SDK checks it: the type, identifier and sub-identifier asked
// for, exactly, and an FSP id.
func (d *DFSP) Lookup(ctx context.Context, idType, id, subID string) (msg.Party, error) {
	segs := []string{msg.ResourceParties, idType, id}
	if subID != "" {
		segs = append(segs, subID)
	}
	path := pathOf(segs...)
	r, err := d.exchange(ctx, msg.ResourceParties+"/"+joinIDs(segs[1:]), http.MethodGet, path, "", nil)
	if err != nil {
		return msg.Party{}, err
	}
	var put msg.PartiesPut
	if err := decodeReply(r, &put, "GET "+path); err != nil {
		return msg.Party{}, err
	}
	pi := put.Party.PartyIDInfo
	if pi.PartyIDType != idType || pi.PartyIdentifier != id || pi.PartySubIDOrType != subID || pi.FSPID == "" {
		return put.Party, fmt.Errorf("GET %s: %w: answered for %s/%s/%s at %q", path, ErrMismatch,
			pi.PartyIDType, pi.PartyIdentifier, pi.PartySubIDOrType, pi.FSPID)
	}
	return put.Party, nil
}

func joinIDs(ids []string) string {
	s := ""
	for i, v := range ids {
		if i > 0 {
			s += "/"
		}
		s += v
	}
	return s
}

// QuoteRequest is what a quote is asked for.
type QuoteRequest struct {
	// Payee is the party, as Lookup returned it (its fspId is the
	// destination).
	Payee msg.Party
	// Amount is the amount to send, in the DFSP's currency ("100.5").
	Amount string
	// Note is the payer's note, if any.
	Note string
	// From is the payer's identifier in the party book ("": the first).
	From string
}

// QuoteResult is an answered quote.
type QuoteResult struct {
	// Request is the POST /quotes body sent.
	Request msg.QuotesPost
	// Response is the PUT /quotes/{ID} body received.
	Response msg.QuotesPut
	// Source is the FSPIOP-Source of the answer (the SDK's
	// quoteResponseSource, the prepare's destination).
	Source string
}

// Quote sends POST /quotes as the payer SDK: new quote and transaction
// ids, amountType SEND, a P2P transfer initiated by the payer, expiring
// after Expiry, to the payee's FSP; and waits for PUT /quotes/{ID}.
func (d *DFSP) Quote(ctx context.Context, q QuoteRequest) (QuoteResult, error) {
	from, ok := d.payer(q.From)
	if !ok {
		return QuoteResult{}, fmt.Errorf("quote from %q: %w", q.From, ErrNoParty)
	}
	req := msg.QuotesPost{
		QuoteID: newID(), TransactionID: newID(),
		Payee: q.Payee, Payer: d.partyOf(from, from.id, ""),
		AmountType:      msg.AmountSend,
		Amount:          msg.Money{Currency: d.cfg.Currency, Amount: q.Amount},
		TransactionType: msg.TransactionType{Scenario: msg.ScenarioTransfer, Initiator: msg.InitiatorPayer, InitiatorType: msg.InitiatorConsumer},
		Note:            q.Note,
		Expiration:      msg.FormatDateTime(d.cfg.Now().Add(d.cfg.Expiry)),
	}
	return d.QuoteWith(ctx, req)
}

// QuoteWith sends req as it is (a test's own quote request) to its payee's
// FSP and waits for the answer.
func (d *DFSP) QuoteWith(ctx context.Context, req msg.QuotesPost) (QuoteResult, error) {
	path := pathOf(msg.ResourceQuotes)
	r, err := d.exchange(ctx, msg.ResourceQuotes+"/"+req.QuoteID, http.MethodPost, path,
		req.Payee.PartyIDInfo.FSPID, req)
	if err != nil {
		return QuoteResult{Request: req}, err
	}
	res := QuoteResult{Request: req, Source: r.header.Get(msg.HeaderSource)}
	if err := decodeReply(r, &res.Response, "POST /quotes "+req.QuoteID); err != nil {
		return res, err
	}
	return res, nil
}

// NewPrepare returns the prepare the payer SDK sends for a quote:
// transferId = the quote's transactionId, amount = transferAmount, the
// ilpPacket and condition unchanged, expiring after Expiry, to the FSP the
// payee's party names.
func (d *DFSP) NewPrepare(q QuoteResult) msg.TransfersPost {
	return msg.TransfersPost{
		TransferID: q.Request.TransactionID,
		PayeeFSP:   q.Request.Payee.PartyIDInfo.FSPID,
		PayerFSP:   d.cfg.ID,
		Amount:     q.Response.TransferAmount,
		ILPPacket:  q.Response.ILPPacket,
		Condition:  q.Response.Condition,
		Expiration: msg.FormatDateTime(d.cfg.Now().Add(d.cfg.Expiry)),
	}
}

// TransferResult is the answer to a prepare or a GET /transfers.
type TransferResult struct {
	// State is the transfer's state in the PUT /transfers/{ID}; "" if an
	// error callback came instead.
	State string
	// Fulfilment and CompletedTimestamp are the PUT's.
	Fulfilment, CompletedTimestamp string
	// Error is the error callback's errorInformation, if one came.
	Error *msg.ErrorInformation
	// Source is the FSPIOP-Source of the callback.
	Source string
}

func transferResult(r reply) (TransferResult, error) {
	res := TransferResult{Error: r.errInfo}
	if r.header != nil {
		res.Source = r.header.Get(msg.HeaderSource)
	}
	if r.errInfo != nil || r.body == nil {
		return res, nil
	}
	var put msg.TransfersPut
	if err := json.Unmarshal(r.body, &put); err != nil {
		return res, fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	res.State, res.Fulfilment, res.CompletedTimestamp = put.TransferState, put.Fulfilment, put.CompletedTimestamp
	return res, nil
}

// Prepare sends p as it is (POST /transfers to p.PayeeFSP) and waits for
// PUT /transfers/{ID} or its error. The answer must carry the fulfilment
// of p.Condition (else ErrFulfilment, and the payment is not booked), as
// the SDK's CHECK_ILP requires; only a COMMITTED one is booked as paid. The transfer enters the books when sent; sending the same id
// again waits for the switch's answer to the repeat.
func (d *DFSP) Prepare(ctx context.Context, p msg.TransfersPost) (TransferResult, error) {
	d.bookMu.Lock()
	d.record(d.out, p.TransferID, p.Amount, p.Condition)
	d.bookMu.Unlock()
	path := pathOf(msg.ResourceTransfers)
	r, err := d.exchange(ctx, msg.ResourceTransfers+"/"+p.TransferID, http.MethodPost, path, p.PayeeFSP, p)
	res, rerr := transferResult(r)
	var se *StatusError
	if errors.As(err, &se) || errors.Is(err, ErrCheck) {
		// Refused before it reached the switch's books: it will never be
		// answered.
		d.bookMu.Lock()
		d.setState(d.out[p.TransferID], true, msg.StateAborted)
		d.bookMu.Unlock()
	}
	if err != nil {
		return res, err
	}
	if rerr != nil {
		return res, fmt.Errorf("POST /transfers %s: %w", p.TransferID, rerr)
	}
	// The SDK checks the fulfilment of every PUT /transfers/{ID}, whatever
	// its state; an ABORTED one has none to check.
	if res.State != msg.StateAborted {
		if err := checkFulfilment(res.Fulfilment, p.Condition); err != nil {
			return res, fmt.Errorf("POST /transfers %s: %w", p.TransferID, err)
		}
	}
	return res, nil
}

// GetTransfer asks the switch for a transfer's state (GET /transfers/{ID})
// and waits for its PUT; a final state found this way is booked.
func (d *DFSP) GetTransfer(ctx context.Context, id string) (TransferResult, error) {
	path := pathOf(msg.ResourceTransfers, id)
	r, err := d.exchange(ctx, msg.ResourceTransfers+"/"+id, http.MethodGet, path, "", nil)
	res, rerr := transferResult(r)
	if err != nil {
		return res, err
	}
	if rerr != nil {
		return res, fmt.Errorf("GET %s: %w", path, rerr)
	}
	return res, nil
}

// PayRequest is a payment to make.
type PayRequest struct {
	// IDType, ID and SubID name the payee (MSISDN, "27713803912").
	IDType, ID, SubID string
	// Amount is what to send, in the DFSP's currency ("100.5").
	Amount string
	// Note is the payer's note.
	Note string
	// From is the payer's identifier in the party book ("": the first).
	From string
}

// Timings are how long each phase of a payment took, from sending its
// request to taking its callback.
type Timings struct {
	Lookup, Quote, Transfer, Total time.Duration
}

// PayResult is a payment's outcome.
type PayResult struct {
	// TransferID is the transfer's id (= the quote's transactionId).
	TransferID string
	// State is the final state: COMMITTED, ABORTED (an error callback
	// came), or "" (no answer, or the payment stopped before the prepare).
	State string
	// Payee is the looked-up party.
	Payee msg.Party
	// Quote is the answered quote.
	Quote QuoteResult
	// Fulfilment is the transfer's fulfilment.
	Fulfilment string
	// Error is the error callback's errorInformation, if one ended the
	// payment in any phase.
	Error *msg.ErrorInformation
	// Phase is the phase the payment ended in: "lookup", "quote",
	// "transfer" (also when it succeeded).
	Phase string
	// Timings are per phase.
	Timings Timings
}

// Pay makes a payment as the SDK's outbound POST /transfers with
// AUTO_ACCEPT_PARTY and AUTO_ACCEPT_QUOTES: lookup, quote, prepare, each
// waiting for its callback within Timeout. The result is filled as far as
// the payment got; the error says why it stopped (a *CallbackError for an
// error callback, ErrTimeout, ErrFulfilment, …).
func (d *DFSP) Pay(ctx context.Context, pr PayRequest) (res PayResult, err error) {
	start := time.Now()
	defer func() { res.Timings.Total = time.Since(start) }()
	fail := func(phase string, err error) (PayResult, error) {
		res.Phase = phase
		if ce, ok := asCallback(err); ok {
			info := ce.Info
			res.Error = &info
			if phase == "transfer" {
				res.State = msg.StateAborted
			}
		}
		res.Timings.Total = time.Since(start)
		return res, err
	}
	t := time.Now()
	payee, err := d.Lookup(ctx, pr.IDType, pr.ID, pr.SubID)
	res.Timings.Lookup = time.Since(t)
	if err != nil {
		return fail("lookup", err)
	}
	res.Payee = payee
	t = time.Now()
	q, err := d.Quote(ctx, QuoteRequest{Payee: payee, Amount: pr.Amount, Note: pr.Note, From: pr.From})
	res.Timings.Quote = time.Since(t)
	res.Quote = q
	if err != nil {
		return fail("quote", err)
	}
	p := d.NewPrepare(q)
	res.TransferID = p.TransferID
	t = time.Now()
	tr, err := d.Prepare(ctx, p)
	res.Timings.Transfer = time.Since(t)
	res.Fulfilment = tr.Fulfilment
	if err != nil {
		return fail("transfer", err)
	}
	res.State, res.Phase = tr.State, "transfer"
	return res, nil
}

// Register registers one of its parties with the switch (POST
// /participants/{Type}/{ID} {fspId, currency}) and waits for PUT
// /participants/{Type}/{ID}, which must name this FSP.
func (d *DFSP) Register(ctx context.Context, idType, id string) error {
	path := pathOf(msg.ResourceParticipants, idType, id)
	r, err := d.exchange(ctx, msg.ResourceParticipants+"/"+idType+"/"+id, http.MethodPost, path, "",
		msg.ParticipantsPost{FSPID: d.cfg.ID, Currency: d.cfg.Currency})
	if err != nil {
		return err
	}
	var put msg.ParticipantsPut
	if err := decodeReply(r, &put, "POST "+path); err != nil {
		return err
	}
	if put.FSPID != d.cfg.ID {
		return fmt.Errorf("POST %s: %w: registered to %q", path, ErrMismatch, put.FSPID)
	}
	return nil
}

// PartyID names a party.
type PartyID struct {
	Type, ID, SubID string
}

// RegisterBulk registers parties as the SDK's AccountsModel does: POST
// /participants {requestId, partyList, currency} in requests of at most
// msg.MaxPartyList, each waiting for PUT /participants/{requestId}. It
// returns one result per party, in order; a party the switch refused has
// its errorInformation. The error reports a failed exchange, or a result
// list that does not match the request.
func (d *DFSP) RegisterBulk(ctx context.Context, ids []PartyID) ([]msg.PartyResult, error) {
	var out []msg.PartyResult
	for len(ids) > 0 {
		n := min(len(ids), msg.MaxPartyList)
		req := msg.ParticipantsBulkPost{RequestID: newID(), Currency: d.cfg.Currency}
		for _, p := range ids[:n] {
			req.PartyList = append(req.PartyList, msg.PartyIDInfo{PartyIDType: p.Type, PartyIdentifier: p.ID,
				PartySubIDOrType: p.SubID, FSPID: d.cfg.ID})
		}
		r, err := d.exchange(ctx, msg.ResourceParticipants+"/"+req.RequestID, http.MethodPost,
			pathOf(msg.ResourceParticipants), "", req)
		if err != nil {
			return out, err
		}
		var put msg.ParticipantsBulkPut
		if err := decodeReply(r, &put, "POST /participants "+req.RequestID); err != nil {
			return out, err
		}
		if len(put.PartyList) != n {
			return out, fmt.Errorf("POST /participants %s: %w: %d results for %d parties", req.RequestID,
				ErrMismatch, len(put.PartyList), n)
		}
		out = append(out, put.PartyList...)
		ids = ids[n:]
	}
	return out, nil
}

func asCallback(err error) (*CallbackError, bool) {
	var ce *CallbackError
	ok := errors.As(err, &ce)
	return ce, ok
}
