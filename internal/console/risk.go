package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hulian/hulian/internal/wire"
)

// The risk page: the rules (the operator's administrator changes and
// deletes them), the alerts — open first, or closed — with the
// operator's decisions (release or reject a held payment). A
// participant's users see the alerts on their payments, as the API
// shows them.

// riskView is the risk page.
type riskView struct {
	Rules   []wire.RiskRule
	RulesOK bool
	// Status is the alerts shown: open or closed.
	Status string
	Alerts []wire.RiskAlert
	// Next is the since of the alerts' next page, "" for none.
	Next string
	// Edit is the rule the form is filled with (?rule=id), if any.
	Edit wire.RiskRule
}

// riskPage shows the rules and a page of alerts.
func (c *Console) riskPage(w http.ResponseWriter, r *http.Request, v *Visit) {
	q := r.URL.Query()
	d := &riskView{Status: "open"}
	if q.Get("status") == "closed" {
		d.Status = "closed"
	}
	var rules wire.RiskRules
	if a := c.Call(r, v, "GET", "/v1/risk/rules", nil); a.OK() && a.Decode(&rules) == nil {
		d.Rules, d.RulesOK = rules.Rules, true
	}
	for _, ru := range d.Rules {
		if ru.ID == q.Get("rule") {
			d.Edit = ru
		}
	}
	api := url.Values{"status": {d.Status}, "limit": {"50"}}
	if s := q.Get("since"); s != "" {
		api.Set("since", s)
	}
	var alerts wire.RiskAlerts
	a := c.Call(r, v, "GET", "/v1/risk/alerts?"+api.Encode(), nil)
	if !a.OK() || a.Decode(&alerts) != nil {
		c.refused(w, r, v, "nav.risk", a)
		return
	}
	d.Alerts, d.Next = alerts.Alerts, alerts.Next
	c.Render(w, r, v, http.StatusOK, "risk", Page{Title: "nav.risk", Data: d})
}

// riskRule changes or deletes a rule: PUT with the form's expression,
// action, reason, mode and description, or DELETE.
func (c *Console) riskRule(w http.ResponseWriter, r *http.Request, v *Visit) {
	f := r.PostForm
	id := strings.TrimSpace(f.Get("id"))
	if id == "" {
		id = r.PathValue("id")
	}
	path := "/v1/risk/rules/" + url.PathEscape(id)
	next := Prefix + "/risk"
	if r.PathValue("what") == "delete" {
		c.act(w, r, v, "risk-rule-delete", id, "DELETE", path, nil, "nav.risk", next)
		return
	}
	rule := wire.RiskRule{Expression: strings.TrimSpace(f.Get("expression")), Action: f.Get("action"), Reason: strings.TrimSpace(f.Get("reason")),
		Mode: f.Get("mode"), Description: strings.TrimSpace(f.Get("description"))}
	c.act(w, r, v, "risk-rule-put", id, "PUT", path, rule, "nav.risk", next)
}

// riskDecide decides an open alert: release or reject, with a note.
func (c *Console) riskDecide(w http.ResponseWriter, r *http.Request, v *Visit) {
	id := r.PathValue("id")
	f := r.PostForm
	c.act(w, r, v, "risk-decision", id, "POST", "/v1/risk/alerts/"+url.PathEscape(id)+"/decision",
		wire.AlertDecision{Decision: f.Get("decision"), Note: strings.TrimSpace(f.Get("note"))}, "nav.risk", Prefix+"/risk")
}
