package api

import (
	"net/http"
	"net/url"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/dispute"
	"github.com/hulian/hulian/internal/wire"
)

// disputes returns the dispute service, or answers 503 without one.
func (s *Server) disputes(w http.ResponseWriter) (*dispute.Service, bool) {
	if s.Disputes == nil {
		writeProblem(w, probUnavailable, "disputes are not configured")
		return nil, false
	}
	return s.Disputes, true
}

func (s *Server) openDispute(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.disputes(w)
	if !ok {
		return
	}
	var nd wire.NewDispute
	if !decode(w, r, bodyMax, &nd) {
		return
	}
	d, created, err := svc.Open(r.Context(), who.Participant, nd.TransferID, nd.Reason, nd.Detail)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/disputes/"+url.PathEscape(d.ID))
	}
	reply(w, status, DisputeWire(&d, nil))
}

func (s *Server) getDispute(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.disputes(w)
	if !ok {
		return
	}
	d, err := svc.Get(r.Context(), who.ParticipantID(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hs, err := svc.Holds(r.Context(), who.ParticipantID(), d.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, DisputeWire(&d, hs))
}

func (s *Server) listDisputes(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.disputes(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	l, ok := partyListing(w, r, who, dispute.ListMax)
	if !ok {
		return
	}
	f := dispute.Filter{Participant: l.participant, Role: l.role, TransferID: q.Get("transferId"), After: l.since, Limit: l.limit}
	if st := q.Get("state"); st != "" {
		if f.State, ok = dispute.ParseState(st); !ok {
			writeProblem(w, probInvalid, "state must be OPEN, ACCEPTED or REJECTED")
			return
		}
	}
	ds, err := svc.List(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.Disputes{Disputes: make([]wire.Dispute, len(ds))}
	for i := range ds {
		out.Disputes[i] = DisputeWire(&ds[i], nil)
	}
	if len(ds) == l.limit {
		out.Next = ds[len(ds)-1].Cursor()
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) acceptDispute(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.disputes(w)
	if !ok {
		return
	}
	if r.ContentLength > 0 {
		var empty struct{}
		if !decode(w, r, bodyMax, &empty) {
			return
		}
	}
	d, err := svc.Accept(r.Context(), who.Participant, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, DisputeWire(&d, nil))
}

func (s *Server) rejectDispute(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.disputes(w)
	if !ok {
		return
	}
	var rd wire.RejectDispute
	if !decode(w, r, bodyMax, &rd) {
		return
	}
	d, err := svc.Reject(r.Context(), who.Participant, r.PathValue("id"), rd.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, DisputeWire(&d, nil))
}

// DisputeWire is d, with its holds when given, in its JSON shape.
func DisputeWire(d *dispute.Dispute, hs []dispute.Hold) wire.Dispute {
	c := d.Currency
	out := wire.Dispute{ID: d.ID, TransferID: d.TransferID, Payer: d.Payer, Payee: d.Payee, Reason: d.Reason, Detail: d.Detail,
		Amount: d.Amount.Format(c), Currency: c.String(), Held: d.Held.Format(c), Refunded: d.Refunded.Format(c), State: string(d.State),
		DecidedBy: d.DecidedBy, RejectReason: d.RejectReason, RespondBy: d.RespondBy, HoldUntil: d.HoldUntil, CreatedAt: d.CreatedAt,
		UpdatedAt: d.UpdatedAt}
	for _, h := range hs {
		out.Holds = append(out.Holds, wire.DisputeHold{ID: h.ID, Amount: h.Amount.Format(c), State: string(h.State), ExpiresAt: h.ExpiresAt})
	}
	return out
}

// Dispute renders the callback of a dispute event.
func (Callbacks) Dispute(event string, d *dispute.Dispute) ([]byte, error) {
	dw := DisputeWire(d, nil)
	return json.Marshal(wire.Callback{Event: event, Dispute: &dw})
}
