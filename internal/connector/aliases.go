package connector

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// aliasRequest is the body of POST /aliases: one of the participant's
// users under an alias. Currency defaults to the participant's, when it
// holds one; an empty value of type RANDOM asks the switch for a random
// key. A MERCHANT needs its category code, city and country.
type aliasRequest struct {
	Type     string `json:"type"`
	Value    string `json:"value,omitempty"`
	Account  string `json:"account"`
	Name     string `json:"name"`
	Currency string `json:"currency,omitempty"`
	MCC      string `json:"mcc,omitempty"`
	City     string `json:"city,omitempty"`
	Country  string `json:"country,omitempty"`
}

// aliasWait bounds how long an alias call retries a switch that does
// not answer.
const aliasWait = 15 * time.Second

// postAlias is POST /aliases: register (or re-register) an alias at the
// switch, POST /v1/parties. It answers the switch's party, 201 when new
// and 200 when it replaced the participant's own; a refusal with the
// switch's problem type. Registering is idempotent, so a switch that
// does not answer is asked again, for up to 15 s.
func (c *Connector) postAlias(w http.ResponseWriter, r *http.Request) {
	var req aliasRequest
	if !decode(w, r, apiBodyMax, &req) {
		return
	}
	switch {
	case req.Type == "" || !text(req.Type, aliasTypeMax):
		writeProblem(w, probInvalid, fmt.Sprintf("type: 1 to %d printable characters", aliasTypeMax))
		return
	case !text(req.Value, aliasMax) || !text(req.Account, accountMax) || !text(req.Name, 256) || !text(req.Currency, 3) ||
		!text(req.MCC, 4) || !text(req.City, 64) || !text(req.Country, 2):
		writeProblem(w, probInvalid, "value, account, name, currency, mcc, city or country: too long or not printable")
		return
	}
	if req.Currency == "" {
		if p := c.self.Load(); p != nil && len(p.Currencies) == 1 {
			req.Currency = p.Currencies[0]
		}
	}
	np := wire.NewParty{Type: req.Type, Value: req.Value, Name: req.Name, Account: req.Account, Currency: req.Currency,
		MCC: req.MCC, City: req.City, Country: req.Country}
	type answer struct {
		party  wire.Party
		status int
	}
	a, _, err := retrying(r.Context(), c.cfg.Now().Add(aliasWait), c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now,
		func(ctx context.Context) (answer, error) {
			p, created, err := c.sw.RegisterPartyCreated(ctx, np)
			if created {
				return answer{p, http.StatusCreated}, err
			}
			return answer{p, http.StatusOK}, err
		})
	if err != nil {
		c.switchFailed(w, err)
		return
	}
	writeJSON(w, a.status, a.party)
}

// deleteAlias is DELETE /aliases/{type}/{value}: delete one of the
// participant's aliases at the switch. A retry after a lost answer may
// find the alias gone already: that is the success it asked for.
func (c *Connector) deleteAlias(w http.ResponseWriter, r *http.Request) {
	typ, value := r.PathValue("type"), r.PathValue("value")
	_, tried, err := retrying(r.Context(), c.cfg.Now().Add(aliasWait), c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now,
		func(ctx context.Context) (struct{}, error) { return struct{}{}, c.sw.DeleteParty(ctx, typ, value) })
	if err != nil && !(tried && sim.IsProblem(err, sim.ProblemUnknownParty)) {
		c.switchFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// switchFailed answers a call the switch refused with its refusal, and
// one it did not answer with switch-unreachable (502).
func (c *Connector) switchFailed(w http.ResponseWriter, err error) {
	if r, ok := refusalOf(err); ok {
		if r.Status == http.StatusUnauthorized {
			// The backend's credentials are fine; the connector's are not.
			c.log.Error("the switch refuses the connector's API key", "err", err)
			writeProblem(w, probSwitch, "the switch refuses the connector's API key")
			return
		}
		writeRefusal(w, r)
		return
	}
	c.log.Warn("the switch did not answer", "err", err)
	writeProblem(w, probSwitch, "")
}
