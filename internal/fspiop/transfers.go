package fspiop

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fspiop/ilp"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/transfer"
)

func transferPath(id string) string { return "/transfers/" + url.PathEscape(id) }

// postTransfer prepares an FSPIOP payer's payment: reserved on the
// payer through the payment flow, then relayed to an FSPIOP payee's FSP,
// or, for a native payee, paid as a native payment and answered with the
// fulfilment of the switch's quote.
func (s *Server) postTransfer(in *inbound) error {
	var body msg.TransfersPost
	if err := msg.Decode(in.body, &body); err != nil {
		return err
	}
	if body.PayerFSP != in.from.ID {
		return msg.NewError(msg.ValidationError, "FSPIOP-Source header should match Payer")
	}
	s.async(in, func(ctx context.Context) {
		if err := s.prepare(ctx, in, &body); err != nil {
			s.sendError(ctx, in.from, transferPath(body.TransferID), "transfers", in.version, s.cfg.HubID, s.modified(ctx, in, &body, err))
		}
	})
	return nil
}

// modified returns 3106 for a refused prepare whose id another request
// used (another body, or another payer): that it modifies a request is
// what its sender must hear, whatever else is wrong with it. Otherwise it
// returns err. The id is looked up only here, on the way out of a
// refusal, so that a new payment reads no row.
func (s *Server) modified(ctx context.Context, in *inbound, body *msg.TransfersPost, err error) error {
	p, found, gerr := s.store.get(ctx, body.TransferID)
	if gerr == nil && found && (p.Payer != in.from.ID || !bytes.Equal(p.Digest, digest(in.body))) {
		return msg.NewError(msg.ModifiedRequest, "")
	}
	return err
}

// prepare does postTransfer's work; an error it returns is the payer's
// error callback.
func (s *Server) prepare(ctx context.Context, in *inbound, body *msg.TransfersPost) error {
	payee, ok := s.Participants.Get(body.PayeeFSP)
	if !ok || payee.Status != participant.Active {
		return msg.NewError(msg.PayeeFSPIDNotFound, "")
	}
	c, err := money.ParseCurrency(body.Amount.Currency)
	if err != nil || !in.from.Uses(c) {
		return msg.NewError(msg.PayerUnsupportedCurr, "")
	}
	amount, err := msg.ParseAmount(body.Amount, c.Exponent())
	if err != nil {
		return err
	}
	expires, err := msg.ParseDateTime(body.Expiration)
	if err != nil {
		return msg.NewError(msg.ValidationError, "expiration")
	}
	d := digest(in.body)
	// A new id is the usual case: its insert (below) finds a repeat, and
	// only an expired prepare is looked up first, to tell a repeat of a
	// payment from a late one.
	if !expires.After(s.Now()) {
		if p, found, err := s.store.get(ctx, body.TransferID); err != nil {
			return err
		} else if found {
			return s.repeat(ctx, in, &p, d)
		}
		return msg.NewError(msg.TransferExpired, "")
	}
	txn, q, quoted, err := s.quoteOfPacket(ctx, body.ILPPacket)
	if err != nil {
		return err
	}
	party, owner, err := s.payeeOf(ctx, &txn.Payee)
	if err != nil {
		return err
	}
	if owner.ID != payee.ID {
		return msg.NewError(msg.ValidationError, "payeeFsp does not hold the payee")
	}
	if txn.Amount != body.Amount {
		return msg.NewError(msg.ValidationError, "amount differs from the ILP packet's")
	}
	req := transfer.Request{ID: body.TransferID, PayeeType: string(party.Type), PayeeValue: party.Value,
		Amount: money.Amount(amount), Currency: c, Note: txn.Note, PayerAccount: payerAccount(&txn.Payer)}
	p := payment{ID: body.TransferID, TransferID: body.TransferID, Payer: in.from.ID, Payee: payee.ID, Digest: d,
		Condition: body.Condition, Expires: expires, State: stateReserved}
	if payee.FSPIOP != nil {
		return s.prepareRelayed(ctx, in, &p, req, payee)
	}
	if err := currencyMismatch(party, body.Amount.Currency); err != nil {
		return err
	}
	// A native payee: the switch answered the quote, so only it can
	// fulfil the condition; a condition it cannot fulfil is not its.
	f := ilp.Fulfil(s.cfg.Secret, body.ILPPacket)
	if ilp.FormatB64(ilp.ConditionOf(f)) != body.Condition {
		return msg.NewError(msg.ValidationError, "condition does not match the switch's quote")
	}
	if quoted && q.Payer == in.from.ID {
		req.QuoteID = q.Native
	}
	// Kept with the payment, so that sweep can send it when the ledger
	// commits later (a payment held for review and released).
	p.Fulfilment = ilp.FormatB64(f)
	if err := s.store.insert(ctx, &p, s.Now()); errors.Is(err, errExists) {
		// A concurrent repeat stored it first.
		stored, _, err := s.store.get(ctx, p.ID)
		if err != nil {
			return err
		}
		return s.repeat(ctx, in, &stored, d)
	} else if err != nil {
		return err
	}
	t, _, err := s.Transfers.Create(ctx, in.from, req)
	if err != nil && t.State != transfer.Aborted {
		s.finish(ctx, &p, stateAborted, "")
		return err
	}
	s.decided(ctx, &p, t, p.Fulfilment, in.version)
	return nil
}

// payerAccount is the payer party as risk control knows a paying user:
// "TYPE:identifier[/sub]".
func payerAccount(p *msg.Party) string {
	id := p.PartyIDInfo
	s := id.PartyIDType + ":" + id.PartyIdentifier
	if id.PartySubIDOrType != "" {
		s += "/" + id.PartySubIDOrType
	}
	if len(s) > transfer.PayerAccountMax {
		s = s[:transfer.PayerAccountMax]
	}
	return strings.ToValidUTF8(s, "")
}

// prepareRelayed reserves a payment to an FSPIOP payee and relays the
// prepare to its FSP; the fulfilment comes back through putTransfer.
func (s *Server) prepareRelayed(ctx context.Context, in *inbound, p *payment, req transfer.Request, payee participant.Participant) error {
	if err := s.store.insert(ctx, p, s.Now()); errors.Is(err, errExists) {
		stored, _, err := s.store.get(ctx, p.ID)
		if err != nil {
			return err
		}
		return s.repeat(ctx, in, &stored, p.Digest)
	} else if err != nil {
		return err
	}
	t, _, err := s.Transfers.Prepare(ctx, in.from, req, p.Expires)
	if err != nil {
		s.finish(ctx, p, stateAborted, "")
		return err
	}
	h := relayHeader(in, payee.ID)
	if t.State == transfer.Held {
		// Relayed once the operator releases it (Confirm).
		return s.store.hold(ctx, p.ID, heldPrepare{Header: h, Body: in.body, Version: in.version})
	}
	s.out.send(ctx, &message{to: payee.FSPIOP, toID: payee.ID, method: http.MethodPost, path: "/transfers", resource: "transfers",
		version: in.version, body: in.body, relay: h})
	return nil
}

// repeat answers a POST /transfers whose id is known: the same request
// gets the payment's state once it is decided (nothing while it is in
// progress, as in Mojaloop); another request under the id is 3106.
func (s *Server) repeat(ctx context.Context, in *inbound, p *payment, d []byte) error {
	if p.Payer != in.from.ID || !bytes.Equal(p.Digest, d) {
		return msg.NewError(msg.ModifiedRequest, "")
	}
	if p.State != stateReserved {
		s.sendState(ctx, in.from, p, in.version)
	}
	return nil
}

// sendState sends to (payer or payee) the payment's state as PUT
// /transfers/{ID}.
func (s *Server) sendState(ctx context.Context, to participant.Participant, p *payment, version string) {
	body := msg.TransfersPut{TransferState: p.State}
	if p.State == stateCommitted {
		body.Fulfilment = p.Fulfilment
	}
	if !p.Completed.IsZero() {
		body.CompletedTimestamp = msg.FormatDateTime(p.Completed)
	}
	s.sendJSON(ctx, to, http.MethodPut, transferPath(p.ID), "transfers", version, s.cfg.HubID, body)
}

// decided tells an FSPIOP payer of a native payment's outcome: the
// fulfilment once committed, an error once aborted; a payment still
// reserved (held for review, waiting for a confirm-mode payee) is told
// by sweep once the ledger decides.
func (s *Server) decided(ctx context.Context, p *payment, t transfer.Transfer, fulfilment, version string) {
	payer, _ := s.Participants.Get(p.Payer)
	switch t.State {
	case transfer.Committed:
		if s.finish(ctx, p, stateCommitted, fulfilment) {
			s.sendJSON(ctx, payer, http.MethodPut, transferPath(p.ID), "transfers", version, p.Payee,
				msg.TransfersPut{Fulfilment: fulfilment, CompletedTimestamp: msg.FormatDateTime(p.Completed), TransferState: stateCommitted})
		}
	case transfer.Aborted:
		if s.finish(ctx, p, stateAborted, "") {
			s.sendError(ctx, payer, transferPath(p.ID), "transfers", version, s.cfg.HubID, abortError(t.Reason))
		}
	}
}

// abortError is the FSPIOP error of a payment the ledger aborted, by
// its reason.
func abortError(reason string) *msg.Error {
	switch {
	case reason == "expired" || reason == "timeout" || reason == "review timeout":
		return msg.NewError(msg.TransferExpired, "")
	case strings.HasPrefix(reason, "rejected"):
		return msg.NewError(msg.PayeeRejectedTxn, strings.TrimPrefix(strings.TrimPrefix(reason, "rejected"), ": "))
	case strings.HasPrefix(reason, "risk-rejected"):
		return msg.NewError(msg.PayerBlockedError, "refused by risk control")
	case reason == "payee unreachable":
		return msg.NewError(msg.DestinationCommunicationError, "")
	}
	return msg.NewError(msg.PayeeRejection, reason)
}

// finish records p's end, and reports whether this call did (another
// one may have first).
func (s *Server) finish(ctx context.Context, p *payment, state, fulfilment string) bool {
	p.Completed = s.Now().UTC().Truncate(time.Millisecond)
	ok, err := s.store.finish(ctx, p.ID, state, fulfilment, p.Completed)
	if err != nil {
		s.Log.Error("fspiop: record a payment's end", "transfer", p.ID, "err", err)
		return false
	}
	if ok {
		p.State, p.Fulfilment = state, fulfilment
	}
	return ok
}

// putTransfer takes a payee FSP's fulfilment (or, from an older peer,
// its rejection as transferState ABORTED): checked against the
// condition, committed, and told to the payer — relayed as it came when
// the payee committed, or as the switch's own COMMITTED when the payee
// answered RESERVED, which then also gets a PATCH.
func (s *Server) putTransfer(in *inbound) error {
	var body msg.TransfersPut
	p, waited, err := s.payeeCallback(in, &body)
	if err != nil || waited || body.TransferState == msg.StateReceived {
		return err // a RECEIVED is progress, not an answer
	}
	s.async(in, func(ctx context.Context) { s.payeeAnswered(ctx, in, &p, &body) })
	return nil
}

// payeeAnswered is putTransfer's work.
func (s *Server) payeeAnswered(ctx context.Context, in *inbound, p *payment, body *msg.TransfersPut) {
	payer, _ := s.Participants.Get(p.Payer)
	path := transferPath(p.ID)
	if body.TransferState == msg.StateAborted {
		s.reject(ctx, in, p, "aborted by the payee")
		if s.finish(ctx, p, stateAborted, "") {
			s.out.send(ctx, &message{to: payer.FSPIOP, toID: payer.ID, method: http.MethodPut, path: path, resource: "transfers",
				version: in.version, body: in.body, relay: in.r.Header})
		}
		return
	}
	if err := ilp.Check(body.Fulfilment, p.Condition); err != nil {
		s.reject(ctx, in, p, "invalid fulfilment")
		if s.finish(ctx, p, stateAborted, "") {
			e := msg.NewError(msg.ValidationError, "invalid fulfilment")
			s.sendError(ctx, payer, path, "transfers", in.version, s.cfg.HubID, e)
			s.sendError(ctx, in.from, path, "transfers", in.version, s.cfg.HubID, e)
		}
		return
	}
	// The fulfilment is kept with the commit on the ledger (a crash after
	// it loses nothing the payer is owed); a payee that answered RESERVED
	// also needs its PATCH remembered.
	reserved := body.TransferState == msg.StateReserved
	if reserved {
		if err := s.store.setFulfilment(ctx, p.ID, body.Fulfilment, true); err != nil {
			s.Log.Error("fspiop: record a fulfilment", "transfer", p.ID, "err", err)
			return // the payee's retry, or the expiry, ends it
		}
	}
	_, _, err := s.Transfers.FulfilWith(ctx, in.from, p.TransferID, body.Fulfilment)
	if err != nil {
		e := errorOf(err)
		if s.finish(ctx, p, stateAborted, "") {
			s.sendError(ctx, payer, path, "transfers", in.version, s.cfg.HubID, e)
			s.sendError(ctx, in.from, path, "transfers", in.version, s.cfg.HubID, e)
		}
		return
	}
	if !s.finish(ctx, p, stateCommitted, body.Fulfilment) {
		return
	}
	if !reserved {
		s.out.send(ctx, &message{to: payer.FSPIOP, toID: payer.ID, method: http.MethodPut, path: path, resource: "transfers",
			version: in.version, body: in.body, relay: in.r.Header})
		return
	}
	s.sendState(ctx, payer, p, in.version)
	// PATCH exists from FSPIOP 1.1 on, whatever version the payee's PUT
	// came in.
	s.sendJSON(ctx, in.from, http.MethodPatch, path, "transfers", "1.1", s.cfg.HubID,
		msg.TransfersPatch{CompletedTimestamp: msg.FormatDateTime(p.Completed), TransferState: stateCommitted})
}

// reject aborts p's reservation on its payee's word, logging a failure
// (the reservation then expires by itself).
func (s *Server) reject(ctx context.Context, in *inbound, p *payment, reason string) {
	if _, _, err := s.Transfers.Reject(ctx, in.from, p.TransferID, reason); err != nil {
		s.Log.Warn("fspiop: abort a payment the payee refused", "transfer", p.ID, "err", err)
	}
}

// putTransferError takes a payee FSP's refusal: the reservation is
// released and the error relayed to the payer.
func (s *Server) putTransferError(in *inbound) error {
	var body msg.ErrorBody
	p, waited, err := s.payeeCallback(in, &body)
	if err != nil || waited {
		return err
	}
	s.async(in, func(ctx context.Context) {
		s.reject(ctx, in, &p, "rejected: "+body.ErrorInformation.ErrorDescription)
		if !s.finish(ctx, &p, stateAborted, "") {
			return
		}
		payer, _ := s.Participants.Get(p.Payer)
		s.out.send(ctx, &message{to: payer.FSPIOP, toID: payer.ID, method: http.MethodPut, path: transferPath(p.ID) + "/error",
			resource: "transfers", version: in.version, body: in.body, relay: in.r.Header})
	})
	return nil
}

// payeeCallback decodes a payee FSP's callback on a transfer into body
// and hands it to the native payment waiting for it (waited), or returns
// the payment it is about, which must be that FSP's as payee.
func (s *Server) payeeCallback(in *inbound, body interface{ Validate() error }) (payment, bool, error) {
	if err := msg.Decode(in.body, body); err != nil {
		return payment{}, false, err
	}
	id := in.r.PathValue("id")
	if s.deliverWait(waitKey("transfers", in.from.ID, in.dest, transferPath(id)), in) {
		return payment{}, true, nil
	}
	p, found, err := s.store.get(in.r.Context(), id)
	switch {
	case err != nil:
		return payment{}, false, err
	case !found || p.Payee != in.from.ID:
		return payment{}, false, msg.NewError(msg.TransferIDNotFound, "")
	}
	return p, false, nil
}

// getTransfer answers a payment's state from the ledger and the switch's
// own records, to its payer or payee FSP only: to anyone else it does not
// exist.
func (s *Server) getTransfer(in *inbound) error {
	id := in.r.PathValue("id")
	s.async(in, func(ctx context.Context) {
		p, found, err := s.store.get(ctx, id)
		switch {
		case err != nil:
			s.sendError(ctx, in.from, transferPath(id), "transfers", in.version, s.cfg.HubID, err)
		case !found || (p.Payer != in.from.ID && p.Payee != in.from.ID):
			s.sendError(ctx, in.from, transferPath(id), "transfers", in.version, s.cfg.HubID, msg.NewError(msg.TransferIDNotFound, ""))
		default:
			// The ledger decides: a payment it ended since is told as
			// ended (its parties are sent what they are owed, as sweep
			// would).
			if err := s.reconcile(ctx, &p, s.Now()); err != nil {
				s.sendError(ctx, in.from, transferPath(id), "transfers", in.version, s.cfg.HubID, err)
				return
			}
			if p.State == stateCommitted && p.Payee == in.from.ID {
				p.Fulfilment = "" // the payee knows it; keep the answer what Mojaloop sends
			}
			s.sendState(ctx, in.from, &p, in.version)
		}
	})
	return nil
}
