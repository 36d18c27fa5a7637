package console

import (
	"net/http"
	"strings"
)

// How the pages' forms act: every change is a call of the API as the
// user (Console.Act, which records it), answered with a redirect back to
// the page that says what was done, or with the API's refusal and its
// status, so that a refused change reads as one in the browser too.

// act makes a state-changing call for a form and answers: a 303 to next
// with ?done=done.<action> when the API did it; the API's refusal with
// its status when not; a 500 that says so when it was done but not
// recorded in the trail.
func (c *Console) act(w http.ResponseWriter, r *http.Request, v *Visit, action, target, method, path string, body any, title, next string) {
	a, err := c.Act(r, v, action, target, method, path, body)
	if a == nil {
		c.Log.ErrorContext(r.Context(), "console: act", "action", action, "err", err)
		c.Error(w, r, v, http.StatusInternalServerError, "error.internal")
		return
	}
	if !a.OK() {
		c.refused(w, r, v, title, a)
		return
	}
	if err != nil {
		c.Error(w, r, v, http.StatusInternalServerError, "error.unrecorded")
		return
	}
	http.Redirect(w, r, done(next, "done."+action), http.StatusSeeOther)
}

// done is url with ?done=key (or &done=key).
func done(url, key string) string {
	if strings.Contains(url, "?") {
		return url + "&done=" + key
	}
	return url + "?done=" + key
}

// refused shows what the API answered instead of doing or showing what
// was asked: its status, and its problem's title and detail. An answer
// that is a success but could not be read is the switch's error.
func (c *Console) refused(w http.ResponseWriter, r *http.Request, v *Visit, title string, a *Answer) {
	status := a.Status
	if a.OK() {
		status = http.StatusInternalServerError
	}
	p := a.Problem()
	key := "error.refused"
	switch status {
	case http.StatusForbidden:
		key = "error.forbidden"
	case http.StatusNotFound:
		key = "error.absent"
	case http.StatusInternalServerError:
		key = "error.internal"
	}
	c.Render(w, r, v, status, "error", Page{Title: title, Message: key, Problem: &p})
}
