package fspiop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fspiop/ilp"
	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/transfer"
)

// digest is the SHA-256 of a body's canonical JSON: a repeated request
// whose fields are the same is the same request, however its sender
// ordered or spaced them.
func digest(body []byte) []byte {
	c, err := jws.Canonical(body)
	if err != nil {
		c = body
	}
	d := sha256.Sum256(c)
	return d[:]
}

// payeeOf resolves a quote's or transaction's payee party.
func (s *Server) payeeOf(ctx context.Context, p *msg.Party) (directory.Party, participant.Participant, error) {
	id := p.PartyIDInfo
	t, v, err := s.aliasOf(id.PartyIDType, id.PartyIdentifier, id.PartySubIDOrType)
	if err != nil {
		return directory.Party{}, participant.Participant{}, err
	}
	party, err := s.Directory.LookupLocal(ctx, t, v)
	if err != nil {
		return directory.Party{}, participant.Participant{}, lookupError(err)
	}
	owner, ok := s.Participants.Get(party.Participant)
	if !ok || owner.FSPIOP == nil && id.PartySubIDOrType != "" && id.PartyIDType != msg.PersonalID {
		return directory.Party{}, participant.Participant{}, msg.NewError(msg.PartyNotFound, "")
	}
	return party, owner, nil
}

// postQuote quotes a payment for an FSPIOP payer: relayed to an FSPIOP
// payee's FSP, answered by the switch for a native one.
func (s *Server) postQuote(in *inbound) error {
	var body msg.QuotesPost
	if err := msg.Decode(in.body, &body); err != nil {
		return err
	}
	path := "/quotes/" + url.PathEscape(body.QuoteID)
	s.async(in, func(ctx context.Context) {
		party, owner, err := s.payeeOf(ctx, &body.Payee)
		if err == nil && owner.FSPIOP == nil {
			err = currencyMismatch(party, body.Amount.Currency)
		}
		if err != nil {
			s.sendError(ctx, in.from, path, "quotes", in.version, s.cfg.HubID, err)
			return
		}
		if owner.FSPIOP != nil {
			h := relayHeader(in, owner.ID)
			s.out.send(ctx, &message{to: owner.FSPIOP, toID: owner.ID, method: http.MethodPost, path: "/quotes", resource: "quotes",
				version: in.version, body: in.body, relay: h})
			return
		}
		answer, err := s.quote(ctx, in, &body, owner)
		if err != nil {
			s.sendError(ctx, in.from, path, "quotes", in.version, owner.ID, err)
			return
		}
		s.out.send(ctx, &message{to: in.from.FSPIOP, toID: in.from.ID, method: http.MethodPut, path: path, resource: "quotes",
			version: in.version, source: owner.ID, dest: in.from.ID, body: answer})
	})
	return nil
}

// quote answers a quote for a native payee, as its agent: the switch's
// own quote (which locks the scheme fee), an ILP packet carrying the
// transaction, and a condition whose fulfilment only the switch can
// compute. A repeat of the same request gets the same answer; another
// request under the same quote id is refused (3106).
func (s *Server) quote(ctx context.Context, in *inbound, body *msg.QuotesPost, payee participant.Participant) ([]byte, error) {
	d := digest(in.body)
	if q, ok, err := s.store.getQuote(ctx, body.QuoteID); err != nil {
		return nil, err
	} else if ok {
		if q.Payer != in.from.ID || !bytes.Equal(q.Digest, d) {
			return nil, msg.NewError(msg.ModifiedRequest, "")
		}
		return q.Answer, nil
	}
	if body.AmountType == msg.AmountReceive && body.Fees != nil {
		return nil, msg.NewError(msg.ValidationError, "fees with amountType RECEIVE are not supported")
	}
	c, err := money.ParseCurrency(body.Amount.Currency)
	if err != nil {
		return nil, msg.NewError(msg.PayeeUnsupportedCurr, "")
	}
	amount, err := msg.ParseAmount(body.Amount, c.Exponent())
	if err != nil {
		return nil, err
	}
	pid := body.Payee.PartyIDInfo
	t, value, err := s.aliasOf(pid.PartyIDType, pid.PartyIdentifier, pid.PartySubIDOrType)
	if err != nil {
		return nil, err
	}
	offer, err := s.Transfers.Quote(ctx, in.from, transfer.Request{PayeeType: string(t), PayeeValue: value,
		Amount: money.Amount(amount), Currency: c, Note: body.Note})
	if err != nil {
		return nil, err
	}
	expires := offer.ExpiresAt
	if body.Expiration != "" {
		if t, err := msg.ParseDateTime(body.Expiration); err == nil && t.Before(expires) {
			expires = t
		}
	}
	if !expires.After(s.Now()) {
		return nil, msg.NewError(msg.QuoteExpired, "")
	}
	// The payee receives the whole amount: the scheme fee is the payer
	// FSP's, a leg of its own to the hub, stated in the extension list.
	amt := msg.Money{Currency: c.String(), Amount: msg.FormatAmount(amount, c.Exponent())}
	payeeParty := body.Payee
	payeeParty.PartyIDInfo.FSPID = payee.ID
	txn := msg.Transaction{TransactionID: body.TransactionID, QuoteID: body.QuoteID, Payee: payeeParty, Payer: body.Payer,
		Amount: amt, TransactionType: body.TransactionType, Note: body.Note, Expiration: msg.FormatDateTime(expires)}
	units, err := ilp.UnitsOf(amount, c.Exponent(), c.String())
	if err != nil {
		return nil, msg.NewError(msg.ValidationError, "amount: "+err.Error())
	}
	id := body.Payee.PartyIDInfo
	packet, condition, _, err := ilp.Build(s.cfg.Secret, 1, units, ilp.Address(payee.ID, id.PartyIDType, id.PartyIdentifier,
		id.PartySubIDOrType), txn, expires)
	if err != nil {
		return nil, err
	}
	answer, err := json.Marshal(msg.QuotesPut{
		TransferAmount: amt, PayeeReceiveAmount: &amt, Expiration: msg.FormatDateTime(expires), ILPPacket: packet,
		Condition: condition, ExtensionList: &msg.ExtensionList{Extension: []msg.Extension{
			{Key: "schemeFee", Value: msg.FormatAmount(int64(offer.Fee), c.Exponent())},
			{Key: "schemeQuote", Value: offer.ID},
		}},
	})
	if err != nil {
		return nil, err
	}
	q := storedQuote{ID: body.QuoteID, Payer: in.from.ID, Digest: d, Answer: answer, Native: offer.ID, Expires: expires}
	if err := s.store.putQuote(ctx, &q); errors.Is(err, errExists) {
		// A concurrent repeat stored it first: answer what it stored.
		return s.quote(ctx, in, body, payee)
	} else if err != nil {
		return nil, err
	}
	return answer, nil
}

// getQuote answers a quote again: the switch's own from its store, an
// FSPIOP payee's by relaying the request to it.
func (s *Server) getQuote(in *inbound) error {
	id := in.r.PathValue("id")
	path := "/quotes/" + url.PathEscape(id)
	s.async(in, func(ctx context.Context) {
		q, ok, err := s.store.getQuote(ctx, id)
		switch {
		case err != nil:
			s.sendError(ctx, in.from, path, "quotes", in.version, s.cfg.HubID, err)
		case ok && q.Payer == in.from.ID && q.Expires.After(s.Now()):
			s.out.send(ctx, &message{to: in.from.FSPIOP, toID: in.from.ID, method: http.MethodPut, path: path, resource: "quotes",
				version: in.version, source: s.cfg.HubID, dest: in.from.ID, body: q.Answer})
		case ok && q.Payer == in.from.ID:
			s.sendError(ctx, in.from, path, "quotes", in.version, s.cfg.HubID, msg.NewError(msg.QuoteExpired, ""))
		default:
			to, known := s.Participants.Get(in.dest)
			if !ok && known && to.FSPIOP != nil && in.dest != in.from.ID {
				s.out.send(ctx, &message{to: to.FSPIOP, toID: to.ID, method: http.MethodGet, path: path, resource: "quotes",
					version: in.version, relay: in.r.Header})
				return
			}
			s.sendError(ctx, in.from, path, "quotes", in.version, s.cfg.HubID, msg.NewError(msg.QuoteIDNotFound, ""))
		}
	})
	return nil
}

// putQuote takes a payee FSP's quote: for a native payer waiting on it,
// or relayed to the FSPIOP payer it names.
func (s *Server) putQuote(in *inbound) error {
	var body msg.QuotesPut
	if err := msg.Decode(in.body, &body); err != nil {
		return err
	}
	return s.relayCallback(in, "quotes", "/quotes/"+url.PathEscape(in.r.PathValue("id")))
}

// putQuoteError takes a payee FSP's refusal of a quote.
func (s *Server) putQuoteError(in *inbound) error {
	var body msg.ErrorBody
	if err := msg.Decode(in.body, &body); err != nil {
		return err
	}
	return s.relayCallback(in, "quotes", "/quotes/"+url.PathEscape(in.r.PathValue("id"))+"/error")
}

// quoteOfPacket returns the switch's quote a prepare's ILP packet refers
// to, if the switch answered it.
func (s *Server) quoteOfPacket(ctx context.Context, packet string) (msg.Transaction, storedQuote, bool, error) {
	var txn msg.Transaction
	p, err := ilp.Decode(packet)
	if err != nil {
		return txn, storedQuote{}, false, msg.NewError(msg.ValidationError, "ilpPacket: "+err.Error())
	}
	if err := ilp.DecodeData(p.Data, &txn); err != nil {
		return txn, storedQuote{}, false, msg.NewError(msg.ValidationError, "ilpPacket data: "+err.Error())
	}
	q, ok, err := s.store.getQuote(ctx, txn.QuoteID)
	return txn, q, ok, err
}

// quoteExpiry is how long past its own expiry a quote's row is kept:
// long enough for the transfer that follows it to find its fee.
const quoteExpiry = time.Hour
