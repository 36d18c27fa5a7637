package connector

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// Mandates, as the backend API has them (docs/connector.md): a mandate
// proposed to one of the wallet's users arrives as the notice
// "mandate-proposed"; the backend answers it with POST
// /mandates/{id}/approve or /reject, and may later pause, resume or
// revoke it. The pulls are the biller's: each is told as
// "mandate-executed" (debit the user) or "mandate-failed".

// mandateActions are the actions the payer's participant may take, as
// the switch names them.
var mandateActions = map[string]bool{"approve": true, "reject": true, "pause": true, "resume": true, "revoke": true}

// mandateFromRecord returns mandate id as the record last had it.
func (c *Connector) mandateFromRecord(ctx context.Context, id string) (wire.Mandate, bool, error) {
	var m wire.Mandate
	var doc string
	err := c.db.QueryRowContext(ctx, "SELECT doc FROM mandates WHERE id = ?", id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	if err == nil {
		err = json.Unmarshal([]byte(doc), &m)
	}
	if err != nil {
		return m, false, fmt.Errorf("mandate %s: %w", id, err)
	}
	return m, true, nil
}

// getMandate is GET /mandates/{id}: the mandate as the switch has it
// (recorded), or as the record last had it when the switch does not
// answer.
func (c *Connector) getMandate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx := r.Context()
	m, _, err := retrying(ctx, c.cfg.Now().Add(aliasWait), c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now,
		func(ctx context.Context) (wire.Mandate, error) { return c.sw.Mandate(ctx, id) })
	if err != nil {
		if _, refused := refusalOf(err); !refused {
			if rec, ok, rerr := c.mandateFromRecord(ctx, id); rerr == nil && ok {
				c.metrics.apiCalls.WithLabelValues("mandate_get", resultOK).Inc()
				writeJSON(w, http.StatusOK, rec)
				return
			}
		}
		c.requestFailed(w, "mandate_get", err)
		return
	}
	if err := recordMandate(context.WithoutCancel(ctx), c.db, &m, c.cfg.Now().UnixMilli()); err != nil {
		c.internal(w, err)
		return
	}
	c.metrics.apiCalls.WithLabelValues("mandate_get", resultOK).Inc()
	writeJSON(w, http.StatusOK, m)
}

// postMandateAction is POST /mandates/{id}/{action}: approve, reject,
// pause, resume or revoke a mandate of one of the wallet's users. The
// switch answers the same action again with the mandate as it stands, so
// a call without an answer is made again, and so may the backend's. It
// answers the mandate (recorded) or the switch's refusal.
func (c *Connector) postMandateAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if !mandateActions[action] {
		writeProblem(w, probNotFound, "no action "+action+": approve, reject, pause, resume or revoke")
		return
	}
	if r.ContentLength > 0 {
		var empty struct{}
		if !decode(w, r, apiBodyMax, &empty) {
			return
		}
	}
	ctx := r.Context()
	m, _, err := retrying(ctx, c.cfg.Now().Add(aliasWait), c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now,
		func(ctx context.Context) (wire.Mandate, error) { return c.sw.ActOnMandate(ctx, id, action) })
	if err != nil {
		c.requestFailed(w, "mandate_action", err)
		return
	}
	if err := recordMandate(context.WithoutCancel(ctx), c.db, &m, c.cfg.Now().UnixMilli()); err != nil {
		c.internal(w, err)
		return
	}
	c.log.Info("mandate acted on", "id", id, "action", action, "state", m.State)
	c.metrics.apiCalls.WithLabelValues("mandate_action", resultOK).Inc()
	writeJSON(w, http.StatusOK, m)
}
