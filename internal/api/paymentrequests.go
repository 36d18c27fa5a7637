package api

import (
	"net/http"
	"net/url"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/rtp"
	"github.com/hulian/hulian/internal/wire"
)

// requests returns the requests service, or answers 503 without one.
func (s *Server) requests(w http.ResponseWriter) (*rtp.Service, bool) {
	if s.Requests == nil {
		writeProblem(w, probUnavailable, "payment requests are not configured")
		return nil, false
	}
	return s.Requests, true
}

func (s *Server) createPaymentRequest(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.requests(w)
	if !ok {
		return
	}
	var nr wire.NewPaymentRequest
	if !decode(w, r, bodyMax, &nr) {
		return
	}
	c, err := money.ParseCurrency(nr.Currency)
	if err != nil {
		writeProblem(w, probInvalid, "currency must be an ISO 4217 code")
		return
	}
	amount, err := money.Parse(nr.Amount, c)
	if err != nil {
		writeProblem(w, probInvalid, "amount: "+err.Error())
		return
	}
	// Asking an alias tells whether it is registered, and whose it is,
	// as a lookup does: it draws on the same budget.
	goOn, budgeted := s.beginLookup(w, &who, "")
	if !goOn {
		return
	}
	req, created, err := svc.Create(r.Context(), who.Participant, rtp.New{ID: nr.ID, PayerType: nr.Payer.Type,
		PayerValue: nr.Payer.Value, Amount: amount, Currency: c, Message: nr.Message, ExpiresAt: nr.ExpiresAt})
	if budgeted {
		s.endAliasLookup(&who, err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/payment-requests/"+url.PathEscape(req.ID))
	}
	reply(w, status, PaymentRequestWire(&req))
}

func (s *Server) getPaymentRequest(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.requests(w)
	if !ok {
		return
	}
	req, err := svc.Get(r.Context(), who.ParticipantID(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, PaymentRequestWire(&req))
}

func (s *Server) listPaymentRequests(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.requests(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	l, ok := partyListing(w, r, who, rtp.ListMax)
	if !ok {
		return
	}
	f := rtp.Filter{Participant: l.participant, Role: l.role, After: l.since, Limit: l.limit}
	if st := q.Get("state"); st != "" {
		if f.State, ok = rtp.ParseState(st); !ok {
			writeProblem(w, probInvalid, "state must be PENDING, ACCEPTING, PAID, DECLINED or EXPIRED")
			return
		}
	}
	rs, err := svc.List(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.PaymentRequests{PaymentRequests: make([]wire.PaymentRequest, len(rs))}
	for i := range rs {
		out.PaymentRequests[i] = PaymentRequestWire(&rs[i])
	}
	if len(rs) == l.limit {
		out.Next = rs[len(rs)-1].Cursor()
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) acceptPaymentRequest(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.requests(w)
	if !ok {
		return
	}
	var a wire.AcceptPaymentRequest
	if !decode(w, r, bodyMax, &a) {
		return
	}
	req, err := svc.Accept(r.Context(), who.Participant, r.PathValue("id"), a.TransferID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, PaymentRequestWire(&req))
}

func (s *Server) declinePaymentRequest(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.requests(w)
	if !ok {
		return
	}
	var d wire.DeclinePaymentRequest
	if !decode(w, r, bodyMax, &d) {
		return
	}
	req, err := svc.Decline(r.Context(), who.Participant, r.PathValue("id"), d.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, PaymentRequestWire(&req))
}

// PaymentRequestWire is r in its JSON shape.
func PaymentRequestWire(r *rtp.Request) wire.PaymentRequest {
	return wire.PaymentRequest{ID: r.ID, Payee: r.Payee,
		Payer:  wire.PayeeRef{Type: r.PayerType, Value: r.PayerValue, Participant: r.Payer},
		Amount: r.Amount.Format(r.Currency), Currency: r.Currency.String(), Message: r.Message, ExpiresAt: r.ExpiresAt,
		State: string(r.State), TransferID: r.TransferID, Reason: r.Reason, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// PaymentRequest renders the callback of a payment request event.
func (Callbacks) PaymentRequest(event string, r *rtp.Request) ([]byte, error) {
	pr := PaymentRequestWire(r)
	return json.Marshal(wire.Callback{Event: event, PaymentRequest: &pr})
}

// listing is what a listing of records with a payer and a payee takes.
type listing struct {
	participant, role, since string
	limit                    int
}

// partyListing reads a listing's role, since and limit for who: a
// participant lists its own as payer or payee; the operator and the
// regulator list all, without a role.
func partyListing(w http.ResponseWriter, r *http.Request, who auth.Principal, max int) (listing, bool) {
	q := r.URL.Query()
	limit, ok := limitParam(w, r, 100, max)
	if !ok {
		return listing{}, false
	}
	l := listing{participant: who.ParticipantID(), role: q.Get("role"), since: q.Get("since"), limit: limit}
	if l.participant == "" && l.role != "" {
		writeProblem(w, probInvalid, "role is for participants: the operator and the regulator see every record")
		return listing{}, false
	}
	return l, true
}
