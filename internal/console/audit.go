package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/audit"
)

// The audit page: the newest signed checkpoint (the note as the API
// serves it, its tree size and root, who signed it), the switch's
// verifier key, the tree's size, the witnesses and the largest tree
// each co-signed, and — for the operator's roles and the regulator —
// the trail of what the console's users changed, newest first.

// auditPageView is the audit page.
type auditPageView struct {
	Note       string
	Checkpoint *audit.Checkpoint
	// Signers name the note's signatures: the switch's and witnesses'.
	Signers  []string
	Verifier string
	Progress *auditView
	// Trail is a page of the console's actions; TrailNext the before of
	// the next, "" for none. TrailShown says the user reads it.
	Trail      []api.ConsoleAction
	TrailNext  string
	TrailShown bool
}

// auditPage shows the audit log and the console's trail.
func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, v *Visit) {
	d := &auditPageView{}
	a := c.Call(r, v, "GET", "/v1/audit/checkpoint", nil)
	if !a.OK() {
		c.refused(w, r, v, "nav.audit", a)
		return
	}
	d.Note = string(a.Body)
	if text, sigs, ok := strings.Cut(d.Note, "\n\n"); ok {
		if cp, err := audit.ParseCheckpoint(text + "\n"); err == nil {
			d.Checkpoint = &cp
		}
		for line := range strings.Lines(sigs) {
			if name, _, ok := strings.Cut(strings.TrimPrefix(line, "— "), " "); ok {
				d.Signers = append(d.Signers, name)
			}
		}
	}
	if x := c.Call(r, v, "GET", "/v1/audit/verifier", nil); x.OK() {
		d.Verifier = strings.TrimSpace(string(x.Body))
	}
	if c.Live.Audit != nil {
		d.Progress = auditOf(c.Live.Audit)
	}
	if !v.User.Role.OfParticipant() {
		path := "/v1/console/actions?limit=50"
		if b := r.URL.Query().Get("before"); b != "" {
			path += "&before=" + url.QueryEscape(b)
		}
		var acts api.ConsoleActions
		if x := c.Call(r, v, "GET", path, nil); x.OK() && x.Decode(&acts) == nil {
			d.Trail, d.TrailNext, d.TrailShown = acts.Actions, acts.Next, true
		}
	}
	c.Render(w, r, v, http.StatusOK, "audit", Page{Title: "nav.audit", Data: d})
}
