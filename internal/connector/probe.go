package connector

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// serveProbe is the conformance probe, GET
// {callbackUrl}/conformance/transfers/{id}: the one way a conformance
// suite, a black box to the participant, can see whether a redelivered
// notification was counted twice. The request is signed like a
// callback, over its URL path (there is no body), since the answer
// tells of a user's money: 401 without a valid signature, 404 for a
// transfer never booked.
func (c *Connector) serveProbe(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !c.probeSigned(r, id) {
		c.stats.badSignatures.Add(1)
		c.metrics.callback(eventProbe, resultBadSignature)
		writeProblem(w, probSignature, "")
		return
	}
	c.metrics.callback(eventProbe, resultOK)
	var a wire.ConformanceProbe
	var amt int64
	err := c.db.QueryRowContext(r.Context(), "SELECT credits, amount, currency FROM inbound WHERE transfer_id = ?", id).
		Scan(&a.Credits, &amt, &a.Currency)
	if errors.Is(err, sql.ErrNoRows) {
		writeProblem(w, probNotFound, "transfer "+id+" was never credited here")
		return
	}
	if err != nil {
		c.internal(w, err)
		return
	}
	a.TransferID = id
	if cur, err := money.ParseCurrency(a.Currency); err == nil {
		a.Amount = money.Amount(amt).Format(cur)
	}
	writeJSON(w, http.StatusOK, a)
}

// probeSigned reports whether the probe carries a valid signature over
// its path: the path as the connector sees it, or, behind a proxy, as
// the switch's side named it (the callback URL's path).
func (c *Connector) probeSigned(r *http.Request, id string) bool {
	h := r.Header.Get(wire.SignatureHeader)
	if h == "" {
		return false
	}
	paths := []string{r.URL.EscapedPath(), r.URL.Path}
	for _, p := range c.callbackPaths[1:] {
		paths = append(paths, p+"/conformance/transfers/"+url.PathEscape(id), p+"/conformance/transfers/"+id)
	}
	for _, p := range paths {
		if c.verify(h, []byte(p)) {
			return true
		}
	}
	return false
}
