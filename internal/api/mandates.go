package api

import (
	"net/http"
	"net/url"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/mandate"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// mandates returns the mandate service, or answers 503 without one.
func (s *Server) mandates(w http.ResponseWriter) (*mandate.Service, bool) {
	if s.Mandates == nil {
		writeProblem(w, probUnavailable, "mandates are not configured")
		return nil, false
	}
	return s.Mandates, true
}

func (s *Server) createMandate(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.mandates(w)
	if !ok {
		return
	}
	var nm wire.NewMandate
	if !decode(w, r, bodyMax, &nm) {
		return
	}
	c, err := money.ParseCurrency(nm.Currency)
	if err != nil {
		writeProblem(w, probInvalid, "currency must be an ISO 4217 code")
		return
	}
	maxAmount, err := money.Parse(nm.MaxAmount, c)
	if err != nil {
		writeProblem(w, probInvalid, "maxAmount: "+err.Error())
		return
	}
	f, err := mandate.ParseFrequency(nm.Frequency)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := mandate.Proposal{ID: nm.ID, PayerType: nm.Payer.Type, PayerValue: nm.Payer.Value, Description: nm.Description,
		Terms: mandate.Terms{MaxAmount: maxAmount, Currency: c, Frequency: f, ValidFrom: nm.ValidFrom, ValidUntil: nm.ValidUntil,
			Condition: nm.Condition}}
	if sc := nm.Schedule; sc != nil {
		amount, err := money.Parse(sc.Amount, c)
		if err != nil {
			writeProblem(w, probInvalid, "schedule.amount: "+err.Error())
			return
		}
		p.Schedule = &mandate.Schedule{Month: sc.Month, Day: sc.Day, Amount: amount}
	}
	goOn, budgeted := s.beginLookup(w, &who, "")
	if !goOn {
		return
	}
	m, created, err := svc.Propose(r.Context(), who.Participant, p)
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
		w.Header().Set("Location", "/v1/mandates/"+url.PathEscape(m.ID))
	}
	reply(w, status, MandateWire(&m))
}

func (s *Server) getMandate(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.mandates(w)
	if !ok {
		return
	}
	m, err := svc.Get(r.Context(), who.ParticipantID(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, MandateWire(&m))
}

func (s *Server) listMandates(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.mandates(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	l, ok := partyListing(w, r, who, mandate.ListMax)
	if !ok {
		return
	}
	f := mandate.Filter{Participant: l.participant, Role: l.role, After: l.since, Limit: l.limit}
	if st := q.Get("state"); st != "" {
		var err error
		if f.State, err = mandate.ParseState(st); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ms, err := svc.List(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.Mandates{Mandates: make([]wire.Mandate, len(ms))}
	for i := range ms {
		out.Mandates[i] = MandateWire(&ms[i])
	}
	if len(ms) == l.limit {
		out.Next = ms[len(ms)-1].Cursor()
	}
	reply(w, http.StatusOK, out)
}

// mandateAction answers POST /v1/mandates/{id}/<action>.
func (s *Server) mandateAction(a mandate.Action) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, who auth.Principal) {
		svc, ok := s.mandates(w)
		if !ok {
			return
		}
		if r.ContentLength > 0 {
			var empty struct{}
			if !decode(w, r, bodyMax, &empty) {
				return
			}
		}
		m, err := svc.Act(r.Context(), who.Participant, r.PathValue("id"), a)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		reply(w, http.StatusOK, MandateWire(&m))
	}
}

func (s *Server) executeMandate(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.mandates(w)
	if !ok {
		return
	}
	var ne wire.NewMandateExecution
	if !decode(w, r, bodyMax, &ne) {
		return
	}
	m, err := svc.Get(r.Context(), who.ParticipantID(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	amount, err := money.Parse(ne.Amount, m.Currency)
	if err != nil {
		writeProblem(w, probInvalid, "amount: "+err.Error())
		return
	}
	e, created, err := svc.Execute(r.Context(), who.Participant, m.ID, ne.ID, amount, ne.Reference)
	if err != nil && e.ID == "" {
		s.writeError(w, r, err)
		return
	}
	if err != nil {
		// The execution was made and its payment refused: the refusal
		// is the answer; the execution is kept, FAILED.
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	reply(w, status, ExecutionWire(&e))
}

func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.mandates(w)
	if !ok {
		return
	}
	limit, ok := limitParam(w, r, 100, mandate.ListMax)
	if !ok {
		return
	}
	es, err := svc.Executions(r.Context(), who.ParticipantID(), r.PathValue("id"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.MandateExecutions{Executions: make([]wire.MandateExecution, len(es))}
	for i := range es {
		out.Executions[i] = ExecutionWire(&es[i])
	}
	reply(w, http.StatusOK, out)
}

// MandateWire is m in its JSON shape.
func MandateWire(m *mandate.Mandate) wire.Mandate {
	out := wire.Mandate{ID: m.ID, Biller: m.Biller, Payer: wire.PayeeRef{Type: m.PayerType, Value: m.PayerValue, Participant: m.Payer},
		MaxAmount: m.MaxAmount.Format(m.Currency), Currency: m.Currency.String(), Frequency: string(m.Frequency),
		ValidFrom: m.ValidFrom, ValidUntil: m.ValidUntil, Description: m.Description, Condition: m.Condition, State: string(m.State),
		NextExecution: m.DueAt, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if sc := m.Schedule; sc != nil {
		out.Schedule = &wire.MandateSchedule{Month: sc.Month, Day: sc.Day, Amount: sc.Amount.Format(m.Currency)}
	}
	return out
}

// ExecutionWire is e in its JSON shape.
func ExecutionWire(e *mandate.Execution) wire.MandateExecution {
	return wire.MandateExecution{ID: e.ID, Mandate: e.Mandate, Amount: e.Amount.Format(e.Currency), Currency: e.Currency.String(),
		Reference: e.Reference, PeriodStart: e.PeriodStart, Scheduled: e.Scheduled, State: e.State, Reason: e.Reason,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// Mandate renders the callback of a mandate event.
func (Callbacks) Mandate(event string, m *mandate.Mandate) ([]byte, error) {
	mw := MandateWire(m)
	return json.Marshal(wire.Callback{Event: event, Mandate: &mw})
}

// MandateExecution renders the callback of an execution event.
func (Callbacks) MandateExecution(event string, m *mandate.Mandate, e *mandate.Execution) ([]byte, error) {
	mw, ew := MandateWire(m), ExecutionWire(e)
	return json.Marshal(wire.Callback{Event: event, Mandate: &mw, Execution: &ew})
}
