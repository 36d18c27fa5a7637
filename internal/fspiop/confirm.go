package fspiop

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/hulian/hulian/internal/fspiop/ilp"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/transfer"
)

// reply is a callback that a native payment waits for.
type reply struct {
	method string
	path   string
	body   []byte
}

// waitKey names the callback of a request the switch sent for a native
// payer (dest, the callback's FSPIOP-Destination) to the FSP answerer, at
// path: only the FSP that was asked answers it, and another FSP's
// callback to the same path is not taken for it.
func waitKey(resource, answerer, dest, path string) string {
	return resource + " " + answerer + " " + dest + " " + path
}

// sourceAt is the FSPIOP-Source under which the switch asks payee for
// the native payer: the payer itself, or, for a scheme link, the id the
// far scheme knows this switch by (whose callbacks come back to it).
func sourceAt(payee participant.Participant, payer string) string {
	if payee.FSPIOP != nil && payee.FSPIOP.LinkID != "" {
		return payee.FSPIOP.LinkID
	}
	return payer
}

// isLink reports whether p is a link to another scheme.
func isLink(p participant.Participant) bool {
	return p.Kind == participant.Scheme && p.FSPIOP != nil && p.FSPIOP.LinkID != ""
}

// linkMarginMax bounds how much earlier than the payer's deadline a
// scheme link's expiration is: the far scheme decides by its expiration,
// and its answer must reach this switch before the payer stops waiting.
const linkMarginMax = time.Second

// wait registers for the callback of key; done unregisters. first says
// no one else waited for it: several native payments of one payer to one
// party wait for the same look-up, which is asked once and answers them
// all.
func (s *Server) wait(key string) (ch chan reply, first bool, done func()) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	ch = make(chan reply, 1)
	first = len(s.waits[key]) == 0
	s.waits[key] = append(s.waits[key], ch)
	return ch, first, func() {
		s.waitMu.Lock()
		defer s.waitMu.Unlock()
		ws := s.waits[key]
		for i, c := range ws {
			if c == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(s.waits, key)
		} else {
			s.waits[key] = ws
		}
	}
}

// deliverWait hands in to the native payments waiting for key, and
// reports whether any was.
func (s *Server) deliverWait(key string, in *inbound) bool {
	s.waitMu.Lock()
	ws := slices.Clone(s.waits[key])
	s.waitMu.Unlock()
	for _, ch := range ws {
		select {
		case ch <- reply{method: in.r.Method, path: in.r.URL.Path, body: in.body}:
		default: // a second answer: the first one counts
		}
	}
	return len(ws) > 0
}

// uuidOf derives the FSPIOP id (a lower-case UUID, version 5 in form)
// that stands for a native transfer's id in FSPIOP, where ids must be
// UUIDs: the same id always gives the same UUID.
func uuidOf(kind, id string) string {
	h := sha256.Sum256([]byte("hulian fspiop " + kind + "\x00" + id))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Confirm runs a native payer's payment to an FSPIOP payee over FSPIOP —
// look-up, quote, prepare — and accepts it once the payee's fulfilment
// meets the quote's condition. The payment flow has reserved it and
// commits it on accept; a payee that answered RESERVED is sent a PATCH
// once the ledger decided (see sweep). The payee is sent what it
// receives (Transfer.Received: the FX target of an FX payment).
//
// A scheme link is asked as the FSP the far scheme knows this switch by
// (its LinkID), for the payee FSP the far scheme's look-up names, with
// an expiration a margin before this switch stops waiting; a link that
// has not answered the prepare by then is asked for the transfer's state
// once more (GET /transfers) before the payment is given up.
func (s *Server) Confirm(ctx context.Context, payee participant.Participant, t transfer.Transfer) (bool, string, error) {
	if payee.FSPIOP == nil {
		return false, "", fmt.Errorf("fspiop: %s is not an FSPIOP participant", payee.ID)
	}
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > s.cfg.ConfirmTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.ConfirmTimeout)
		defer cancel()
		deadline, _ = ctx.Deadline()
	}
	if p, found, err := s.store.byTransfer(ctx, t.ID); err != nil {
		return false, "", err
	} else if found && s.isFSPIOP(p.Payer) {
		return s.releaseHeld(ctx, payee, &p)
	}
	version := "1.1"
	link := isLink(payee)
	source := sourceAt(payee, t.Payer)
	expires := deadline
	if link {
		expires = deadline.Add(-min(linkMarginMax, time.Until(deadline)/4))
	}
	id, err := msg.PartyOf(t.Payee.Type, t.Payee.Value)
	if err != nil {
		return false, "payee identifier cannot be written in FSPIOP", nil
	}
	id.FSPID = payee.ID
	// Look-up: the payee FSP still holds the party.
	lookup := "/parties/" + url.PathEscape(id.PartyIDType) + "/" + url.PathEscape(id.PartyIdentifier)
	if id.PartySubIDOrType != "" {
		lookup += "/" + url.PathEscape(id.PartySubIDOrType)
	}
	r, err := s.ask(ctx, payee, source, http.MethodGet, lookup, lookup, "parties", version, nil)
	if err != nil || r.failed() {
		return false, "payee lookup: " + r.reason(err), nil
	}
	if link {
		// The far scheme's payee FSP, which the prepare names.
		var found msg.PartiesPut
		if err := msg.Decode(r.body, &found); err != nil || found.Party.PartyIDInfo.FSPID == "" {
			return false, "payee lookup: malformed", nil
		}
		id.FSPID = found.Party.PartyIDInfo.FSPID
	}
	// Quote: the amount the payee receives, no fee of its own.
	received, c := t.Received()
	amount := msg.Money{Currency: c.String(), Amount: msg.FormatAmount(int64(received), c.Exponent())}
	transferID, quoteID := uuidOf("transfer", t.ID), uuidOf("quote", t.ID)
	payer := msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: msg.AccountID, PartyIdentifier: payerIdentifier(t), FSPID: source}}
	q := msg.QuotesPost{QuoteID: quoteID, TransactionID: transferID, Payee: msg.Party{PartyIDInfo: id}, Payer: payer,
		AmountType: msg.AmountSend, Amount: amount, Note: t.Note, Expiration: msg.FormatDateTime(expires),
		TransactionType: msg.TransactionType{Scenario: msg.ScenarioTransfer, Initiator: msg.InitiatorPayer, InitiatorType: msg.InitiatorConsumer}}
	r, err = s.ask(ctx, payee, source, http.MethodPost, "/quotes", "/quotes/"+quoteID, "quotes", version, q)
	if err != nil || r.failed() {
		return false, "payee quote: " + r.reason(err), nil
	}
	var quoted msg.QuotesPut
	if err := msg.Decode(r.body, &quoted); err != nil {
		return false, "payee quote: malformed", nil
	}
	if quoted.TransferAmount != amount {
		return false, "payee quote: its transfer amount differs (payee fees are not supported)", nil
	}
	// Prepare: the reservation is the flow's; its deadline is the wait's.
	p := payment{ID: transferID, TransferID: t.ID, Payer: t.Payer, Payee: payee.ID, Digest: []byte{},
		Condition: quoted.Condition, Expires: deadline, State: stateReserved}
	if err := s.store.insert(ctx, &p, s.Now()); err != nil {
		return false, "", err
	}
	prep := msg.TransfersPost{TransferID: transferID, PayeeFSP: id.FSPID, PayerFSP: source, Amount: amount,
		ILPPacket: quoted.ILPPacket, Condition: quoted.Condition, Expiration: msg.FormatDateTime(expires)}
	r, err = s.ask(ctx, payee, source, http.MethodPost, "/transfers", transferPath(transferID), "transfers", version, prep)
	if link && err != nil {
		// The far scheme may have paid just before this switch stopped
		// waiting: its state decides, while the reservation lasts.
		r, err = s.askState(ctx, payee, source, transferID, version)
	}
	if err != nil || r.failed() {
		return false, "payee refused: " + r.reason(err), nil
	}
	var done msg.TransfersPut
	if err := msg.Decode(r.body, &done); err != nil {
		return false, "payee fulfilment: malformed", nil
	}
	if done.TransferState == msg.StateAborted {
		return false, "payee aborted", nil
	}
	if err := ilp.Check(done.Fulfilment, quoted.Condition); err != nil {
		return false, "invalid fulfilment", nil
	}
	return s.accepted(ctx, transferID, done.Fulfilment, done.TransferState)
}

// accepted accepts a payment whose payee's fulfilment met its condition:
// the fulfilment goes with the commit (the flow keeps an acceptance's
// note as its proof); a payee that answered RESERVED has its PATCH
// remembered first.
func (s *Server) accepted(ctx context.Context, id, fulfilment, state string) (bool, string, error) {
	if state == msg.StateReserved {
		if err := s.store.setFulfilment(ctx, id, fulfilment, true); err != nil {
			return false, "", err
		}
	}
	return true, fulfilment, nil
}

// isFSPIOP reports whether participant id speaks FSPIOP.
func (s *Server) isFSPIOP(id string) bool {
	p, ok := s.Participants.Get(id)
	return ok && p.FSPIOP != nil
}

// releaseHeld relays the kept prepare of a payment between two FSPIOP
// participants that risk control held and the operator released, and
// accepts it once the payee's fulfilment meets its condition; the payer
// is told by sweep once the ledger commits.
func (s *Server) releaseHeld(ctx context.Context, payee participant.Participant, p *payment) (bool, string, error) {
	h, ok, err := s.store.held(ctx, p.ID)
	if err != nil || !ok {
		return false, "the held prepare is not kept", err
	}
	ch, _, done := s.wait(waitKey("transfers", payee.ID, p.Payer, transferPath(p.ID)))
	defer done()
	s.out.send(ctx, &message{to: payee.FSPIOP, toID: payee.ID, method: http.MethodPost, path: "/transfers", resource: "transfers",
		version: h.Version, body: h.Body, relay: h.Header})
	var r reply
	select {
	case r = <-ch:
	case <-ctx.Done():
		return false, "payee: no answer in time", nil
	}
	if r.failed() {
		return false, "payee refused: " + r.reason(nil), nil
	}
	var put msg.TransfersPut
	if err := msg.Decode(r.body, &put); err != nil || put.TransferState == msg.StateAborted {
		return false, "payee aborted", nil
	}
	if err := ilp.Check(put.Fulfilment, p.Condition); err != nil {
		return false, "invalid fulfilment", nil
	}
	return s.accepted(ctx, p.ID, put.Fulfilment, put.TransferState)
}

// payerIdentifier is how a native payer's user appears to an FSPIOP
// payee: its payerAccount, or the payer participant itself.
func payerIdentifier(t transfer.Transfer) string {
	if t.PayerAccount != "" && len(t.PayerAccount) <= 128 {
		return t.PayerAccount
	}
	return t.Payer
}

// askState asks a scheme link for the state of transfer id after the
// wait for its fulfilment ended, and waits up to a send timeout for it:
// the payment flow's reservation outlives the wait by a margin.
func (s *Server) askState(ctx context.Context, payee participant.Participant, source, id, version string) (reply, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SendTimeout)
	defer cancel()
	return s.ask(ctx, payee, source, http.MethodGet, transferPath(id), transferPath(id), "transfers", version, nil)
}

// ask sends payee a request for a native payer (source) and waits for
// its callback at cbPath.
func (s *Server) ask(ctx context.Context, payee participant.Participant, source, method, path, cbPath, resource, version string, body any) (reply, error) {
	ch, first, done := s.wait(waitKey(resource, payee.ID, source, cbPath))
	defer done()
	// A look-up already asked for this payer answers this payment too;
	// anything else has an id of its own, so it is always first.
	if first || method != http.MethodGet {
		var b []byte
		if body != nil {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return reply{}, err
			}
		}
		s.out.send(ctx, &message{to: payee.FSPIOP, toID: payee.ID, method: method, path: path, resource: resource, version: version,
			source: source, dest: payee.ID, body: b})
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

// failed reports whether r is an error callback.
func (r reply) failed() bool { return len(r.path) >= 6 && r.path[len(r.path)-6:] == "/error" }

// reason says why an exchange failed: the wait's error, or the error
// callback's description.
func (r reply) reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "no answer in time"
	}
	if err != nil {
		return "the switch could not ask"
	}
	var e msg.ErrorBody
	if json.Unmarshal(r.body, &e) == nil && e.ErrorInformation.ErrorDescription != "" {
		return e.ErrorInformation.ErrorCode + " " + e.ErrorInformation.ErrorDescription
	}
	return "error"
}
