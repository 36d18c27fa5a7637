package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/risk/rules"
	"github.com/hulian/hulian/internal/wire"
)

// fraudMarks returns the open fraud reports against an alias, for a
// lookup's answer.
func (s *Server) fraudMarks(typ, value string) int {
	if s.Risk == nil {
		return 0
	}
	return s.Risk.FraudMarks(typ, value)
}

// withRisk wraps a risk control route: without risk control, it answers
// 503.
func (s *Server) withRisk(h func(http.ResponseWriter, *http.Request, auth.Principal)) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, who auth.Principal) {
		if s.Risk == nil {
			writeProblem(w, probUnavailable, "risk control is not configured")
			return
		}
		h(w, r, who)
	}
}

// listOut is a list as answers show it.
func listOut(l risk.List) wire.RiskList {
	return wire.RiskList{Name: l.Name, Items: append([]string{}, l.Items...)}
}

func ruleOut(r risk.Rule) wire.RiskRule {
	return wire.RiskRule{ID: r.ID, Expression: r.Expression, Action: string(r.Action), Reason: r.Reason, Mode: string(r.Mode),
		Description: r.Description, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	out := wire.RiskRules{Rules: []wire.RiskRule{}}
	for _, rl := range s.Risk.Rules() {
		out.Rules = append(out.Rules, ruleOut(rl))
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	rl, err := s.Risk.Rule(r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, ruleOut(rl))
}

func (s *Server) putRule(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	var in wire.RiskRule
	if !decode(w, r, bodyMax, &in) {
		return
	}
	id := r.PathValue("id")
	if in.ID != "" && in.ID != id {
		writeProblem(w, probInvalid, "the body's id is not the path's")
		return
	}
	if !in.CreatedAt.IsZero() || !in.UpdatedAt.IsZero() {
		writeProblem(w, probInvalid, "createdAt and updatedAt are the switch's to set")
		return
	}
	rl, created, err := s.Risk.PutRule(r.Context(), rules.Rule{ID: id, Expression: in.Expression, Action: rules.Action(in.Action),
		Reason: in.Reason, Mode: rules.Mode(in.Mode), Description: in.Description})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	reply(w, status, ruleOut(rl))
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if err := s.Risk.DeleteRule(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listLists(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	reply(w, http.StatusOK, wire.RiskLists{Lists: append([]string{}, s.Risk.Lists()...)})
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	l, err := s.Risk.List(r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, listOut(l))
}

// listBodyMax bounds a list request's body: ListRequestMax items of
// ItemMax bytes, escaped.
const listBodyMax = 4 << 20

func (s *Server) putList(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	s.changeList(w, r, s.Risk.PutList)
}

func (s *Server) addListItems(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	s.changeList(w, r, s.Risk.AddItems)
}

func (s *Server) changeList(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, name string, items []string) (risk.List, error)) {
	var in wire.RiskListItems
	if !decode(w, r, listBodyMax, &in) {
		return
	}
	if in.Items == nil {
		writeProblem(w, probInvalid, "items is required")
		return
	}
	l, err := change(r.Context(), r.PathValue("name"), in.Items)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, listOut(l))
}

func (s *Server) removeListItem(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	l, err := s.Risk.RemoveItem(r.Context(), r.PathValue("name"), r.PathValue("item"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, listOut(l))
}

func alertOut(a *risk.Alert) wire.RiskAlert {
	out := wire.RiskAlert{ID: strconv.FormatInt(a.ID, 10), TransferID: a.TransferID, Payer: a.Payer, Payee: a.Payee, Rule: a.Rule,
		Action: a.Action, Reason: a.Reason, Mode: a.Mode, Held: a.Held, Score: a.Score, Features: []wire.RiskFeature{},
		Status: a.Status, Decision: a.Decision, Note: a.Note, CreatedAt: a.CreatedAt, DecidedAt: a.DecidedAt}
	for _, f := range a.Features {
		out.Features = append(out.Features, wire.RiskFeature{Name: f.Name, Contribution: f.Contribution, Detail: f.Detail})
	}
	return out
}

func (s *Server) listRiskAlerts(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	limit, ok := limitParam(w, r, 100, risk.AlertsMax)
	if !ok {
		return
	}
	q := risk.AlertQuery{Limit: limit + 1, Status: r.URL.Query().Get("status"), Participant: who.ParticipantID()}
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeProblem(w, probInvalid, "since must be an alert id")
			return
		}
		q.Since = n
	}
	as, err := s.Risk.Alerts(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.RiskAlerts{Alerts: []wire.RiskAlert{}}
	for i := range as {
		if i == limit {
			out.Next = strconv.FormatInt(as[i-1].ID, 10)
			break
		}
		out.Alerts = append(out.Alerts, alertOut(&as[i]))
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) decideAlert(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeProblem(w, probNotFound, "no such alert")
		return
	}
	var in wire.AlertDecision
	if !decode(w, r, bodyMax, &in) {
		return
	}
	d, err := s.Risk.Decide(r.Context(), id, in.Decision, in.Note)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.AlertDecided{Alert: alertOut(&d.Alert)}
	if d.Transfer != nil {
		t := shown(d.Transfer, who)
		out.Transfer = &t
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) createFraudReport(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	var in wire.NewFraudReport
	if !decode(w, r, bodyMax, &in) {
		return
	}
	rep, created, err := s.Risk.Report(r.Context(), who.Participant.ID, in.TransferID, in.Reason, in.Detail)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	typ, value, _ := strings.Cut(rep.Alias, ":")
	reply(w, status, wire.FraudReport{ID: strconv.FormatInt(rep.ID, 10), TransferID: rep.TransferID, Reporter: rep.Reporter,
		Alias: wire.PayeeRef{Type: typ, Value: value}, Reason: rep.Reason, Detail: rep.Detail, Status: rep.Status, CreatedAt: rep.CreatedAt})
}
