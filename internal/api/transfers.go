package api

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/lookups"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/qr"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// errPayeeFields refuses what answers carry but requests must not.
var errPayeeFields = fmt.Errorf("%w: payee takes only type and value", transfer.ErrInvalid)

// request turns a wire transfer into the flow's request.
func request(nt wire.NewTransfer) (transfer.Request, error) {
	if nt.Payee.Participant != "" || nt.Payee.Account != "" {
		return transfer.Request{}, errPayeeFields
	}
	if transfer.ReservedID(nt.ID) {
		return transfer.Request{}, fmt.Errorf("%w: ids beginning %q are the switch's", transfer.ErrInvalid, transfer.SwitchPrefixes)
	}
	amt, c, err := parseAmount("amount", nt.Amount, nt.Currency)
	if err != nil {
		return transfer.Request{}, err
	}
	req := transfer.Request{ID: nt.ID, PayeeType: nt.Payee.Type, PayeeValue: nt.Payee.Value, Amount: amt,
		Currency: c, QuoteID: nt.QuoteID, Note: nt.Note, PayerAccount: nt.PayerAccount, Purpose: nt.Purpose}
	if nt.Authentication != nil {
		req.Factors = nt.Authentication.Factors
	}
	return req, nil
}

// transferOut converts a transfer for an answer as who may see it: the
// payee's account reference for the payee (showAccount), the payer
// wallet's own records of its user for the payer (showPayer).
func transferOut(t *transfer.Transfer, who auth.Principal) wire.TransferOut {
	o := wire.TransferOut{
		ID: t.ID, State: string(t.State), Payer: t.Payer,
		Payee:  wire.PayeeRef{Type: t.Payee.Type, Value: t.Payee.Value, Participant: t.Payee.Participant},
		Amount: t.Amount, Fee: t.Fee, Currency: t.Currency,
		QuoteID: t.QuoteID, Note: t.Note, Reason: t.Reason, CreatedAt: t.CreatedAt,
	}
	if showAccount(t, who) {
		o.Payee.Account = t.Payee.Account
	}
	if showPayer(t, who) {
		o.PayerAccount, o.Factors = t.PayerAccount, t.Factors.Names()
	}
	if t.FX != nil {
		o.FX = fxOut(t.FX)
	}
	return o
}

// fxOut is an exchange in its JSON shape.
func fxOut(f *transfer.FX) *wire.FX {
	return &wire.FX{Provider: f.Provider, SourceAmount: f.SourceAmount.Format(f.SourceCurrency), SourceCurrency: f.SourceCurrency.String(),
		TargetAmount: f.TargetAmount.Format(f.TargetCurrency), TargetCurrency: f.TargetCurrency.String(), Rate: f.Rate.String(),
		ProviderFee: f.ProviderFee.Format(f.SourceCurrency), AmountType: f.Mode.String(), Purpose: f.Purpose, Rounding: f.Rounding}
}

// shown converts a transfer for a viewer.
func shown(t *transfer.Transfer, who auth.Principal) wire.Transfer {
	o := transferOut(t, who)
	return o.Transfer()
}

// showPayer says whether who may see the payer wallet's records of its
// user: the payer participant, the operator and the regulator may.
func showPayer(t *transfer.Transfer, who auth.Principal) bool {
	return who.SeesAll() || who.Participant.ID == t.Payer
}

// showAccount says whether who may see the payee's account reference:
// the payee participant, the operator and the regulator may.
func showAccount(t *transfer.Transfer, who auth.Principal) bool {
	return who.SeesAll() || who.Participant.ID == t.Payee.Participant
}

func (s *Server) createQuote(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	var req wire.NewQuote
	if !decode(w, r, bodyMax, &req) {
		return
	}
	if req.Payee.Participant != "" || req.Payee.Account != "" {
		s.writeError(w, r, errPayeeFields)
		return
	}
	c, err := money.ParseCurrency(req.Currency)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("currency: %w", err))
		return
	}
	// A quote resolves the payee's alias: it is a lookup, budgeted and
	// counted as one, or quotes would be a way around the budget.
	endUser, ok := endUserOf(w, r)
	if !ok {
		return
	}
	goOn, budgeted := s.beginLookup(w, &who, endUser)
	if !goOn {
		return
	}
	// The amount is read in the currency it is in, which for a RECEIVE
	// amount is the payee's: known once the alias is resolved.
	q, err := s.Transfers.Quote(r.Context(), who.Participant, transfer.Request{
		PayeeType: req.Payee.Type, PayeeValue: req.Payee.Value, AmountText: req.Amount, Currency: c,
		AmountType: req.AmountType, PayerAccount: req.PayerAccount})
	if budgeted {
		switch {
		case err == nil:
			s.guard.Done(who.Participant.ID, endUser, true)
		case errors.Is(err, transfer.ErrUnknownParty):
			s.guard.Done(who.Participant.ID, endUser, false)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.Quote{ID: q.ID,
		Payee:  wire.PayeeRef{Type: q.Payee.Type, Value: q.Payee.Value, Participant: q.Payee.Participant},
		Amount: q.Amount.Format(c), Fee: q.Fee.Format(c), Currency: c.String(), ExpiresAt: q.ExpiresAt}
	if q.FX != nil {
		out.FX = fxOut(q.FX)
	}
	reply(w, http.StatusCreated, out)
}

func (s *Server) createTransfer(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	var nt wire.NewTransfer
	if !decode(w, r, bodyMax, &nt) {
		return
	}
	req, err := request(nt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	endUser, ok := endUserOf(w, r)
	if !ok || !s.notOwing(w, who) {
		return
	}
	var t transfer.Transfer
	var created bool
	if req.PayeeType == qr.PayeeType {
		if s.QR == nil {
			writeProblem(w, probUnavailable, "QR codes are not configured")
			return
		}
		t, created, err = s.QR.Pay(r.Context(), who.Participant, req)
	} else {
		t, created, err = s.Transfers.Create(r.Context(), who.Participant, req)
	}
	if errors.Is(err, transfer.ErrUnknownParty) {
		s.guard.Missed(who.Participant.ID, endUser)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/v1/transfers/"+t.ID)
	s.replyTransfer(w, r, status, &t, who)
}

// notOwing refuses a payment request of a participant whose lookup
// budget is in debt: a payment resolves its payee's alias, and a payee
// that is not registered is charged like a lookup that found nothing
// (Guard.Missed), so that payments are no way around the directory's
// budget. Payments to registered payees cost the budget nothing.
func (s *Server) notOwing(w http.ResponseWriter, who auth.Principal) bool {
	wait := s.guard.Owed(who.Participant.ID)
	if wait <= 0 {
		return true
	}
	w.Header().Set("Retry-After", strconv.FormatInt(lookups.RetryAfter(wait), 10))
	writeProblem(w, probRateLimited, "participant "+who.Participant.ID+" exceeded its lookup budget: payees that are not registered count as lookups that find nothing")
	return false
}

// replyTransfer answers with the transfer as who may see it.
func (s *Server) replyTransfer(w http.ResponseWriter, r *http.Request, status int, t *transfer.Transfer, who auth.Principal) {
	bp := getBuf()
	defer putBuf(bp)
	o := transferOut(t, who)
	b, err := wire.AppendTransfer((*bp)[:0], &o)
	*bp = b
	s.replyAppended(w, r, status, b, err)
}

func (s *Server) createTransfers(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	var batch wire.TransferBatch
	if !decode(w, r, batchBodyMax, &batch) {
		return
	}
	if len(batch.Transfers) == 0 || len(batch.Transfers) > transfer.BatchMax {
		writeProblem(w, probInvalid, "transfers must hold 1 to 1000 entries")
		return
	}
	if !s.spend(who, len(batch.Transfers)-1) {
		refuseRate(w, "a batch of "+strconv.Itoa(len(batch.Transfers))+" transfers costs as many requests of the rate limit")
		return
	}
	// Refusals of the request's own checks and the payment flow's
	// outcomes, in the request's order.
	outs := make([]transfer.Outcome, len(batch.Transfers))
	var reqs []transfer.Request
	var at []int
	for i, nt := range batch.Transfers {
		req, err := request(nt)
		if err == nil && req.PayeeType == qr.PayeeType {
			err = fmt.Errorf("%w: %v", transfer.ErrInvalid, errQRBatch)
		}
		if err != nil {
			outs[i].Err = err
			continue
		}
		reqs = append(reqs, req)
		at = append(at, i)
	}
	endUser, ok := endUserOf(w, r)
	if !ok || !s.notOwing(w, who) {
		return
	}
	for k, o := range s.Transfers.CreateMany(r.Context(), who.Participant, reqs) {
		outs[at[k]] = o
		if errors.Is(o.Err, transfer.ErrUnknownParty) {
			s.guard.Missed(who.Participant.ID, endUser)
		}
	}
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"results":[`...)
	var err error
	for i := range outs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendResult(b, &outs[i], who); err != nil {
			break
		}
	}
	b = append(b, "]}"...)
	*bp = b
	s.replyAppended(w, r, http.StatusOK, b, err)
}

// appendResult appends one entry of a batch answer: the status the
// single endpoint would have answered, with the transfer or the problem.
func appendResult(b []byte, o *transfer.Outcome, who auth.Principal) ([]byte, error) {
	if o.Err != nil {
		prob := problemFor(o.Err)
		b = append(b, `{"status":`...)
		b = strconv.AppendInt(b, int64(prob.Status), 10)
		b = append(b, `,"error":`...)
		b, err := wire.AppendProblem(b, &prob)
		return append(b, '}'), err
	}
	status := http.StatusCreated
	if !o.Created {
		status = http.StatusOK
	}
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"transfer":`...)
	t := transferOut(&o.Transfer, who)
	b, err := wire.AppendTransfer(b, &t)
	return append(b, '}'), err
}

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	v := transfer.Viewer{Participant: who.ParticipantID()}
	t, err := s.Transfers.Get(r.Context(), v, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.replyTransferRefunded(w, r, http.StatusOK, &t, who)
}

// replyTransferRefunded answers one transfer with what was paid back of
// it, when it is a committed payment.
func (s *Server) replyTransferRefunded(w http.ResponseWriter, r *http.Request, status int, t *transfer.Transfer, who auth.Principal) {
	o := transferOut(t, who)
	if t.State == transfer.Committed && t.Payee.Type != transfer.RefundType && t.Payee.Type != transfer.ReturnType &&
		t.Payee.Type != transfer.DisputeType {
		amount, err := s.Transfers.Refunded(r.Context(), t.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		o.Refunded, o.Refunds = amount, true
	}
	bp := getBuf()
	defer putBuf(bp)
	b, err := wire.AppendTransfer((*bp)[:0], &o)
	*bp = b
	s.replyAppended(w, r, status, b, err)
}

// createRefund pays back all or part of a payment to its payer, asked by
// its payee.
func (s *Server) createRefund(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	var nr wire.NewRefund
	if !decode(w, r, bodyMax, &nr) {
		return
	}
	v := transfer.Viewer{Participant: who.ParticipantID()}
	orig, err := s.Transfers.Get(r.Context(), v, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	amount, err := money.Parse(nr.Amount, orig.Currency)
	if err != nil {
		writeProblem(w, probInvalid, "amount: "+err.Error())
		return
	}
	t, created, err := s.Transfers.Refund(r.Context(), who.Participant, orig.ID, nr.ID, amount, nr.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/transfers/"+url.PathEscape(t.ID))
	}
	s.replyTransfer(w, r, status, &t, who)
}

// cursor encodes a listing position; since accepts it or an RFC 3339 time.
func cursor(pos int64) string {
	return base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64([]byte("c1"), uint64(pos)))
}

func parseSince(s string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return max(t.UnixNano(), 0), true
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 10 || string(b[:2]) != "c1" {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[2:])), true
}

func (s *Server) listTransfers(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	q := r.URL.Query()
	since, ok := parseSince(q.Get("since"))
	if !ok {
		writeProblem(w, probInvalid, "since must be an RFC 3339 time or a cursor from next")
		return
	}
	limit, ok := limitParam(w, r, 100, transfer.ListMax)
	if !ok {
		return
	}
	var p participant.Participant
	switch {
	case !who.SeesAll() && q.Get("participant") != "" && q.Get("participant") != who.Participant.ID:
		writeProblem(w, probForbidden, "a participant lists only its own transfers")
		return
	case !who.SeesAll():
		p = who.Participant
	case q.Get("participant") == "":
		writeProblem(w, probInvalid, "the operator lists a participant's transfers with ?participant=")
		return
	default:
		var found bool
		if p, found = s.Participants.Get(q.Get("participant")); !found {
			writeProblem(w, probNotFound, "no participant "+q.Get("participant"))
			return
		}
	}
	ts, next, err := s.Transfers.List(r.Context(), p, since, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.Transfers{Transfers: make([]wire.Transfer, len(ts))}
	for i, t := range ts {
		out.Transfers[i] = shown(&t, who)
	}
	if next != 0 {
		out.Next = cursor(next)
	}
	reply(w, http.StatusOK, out)
}
