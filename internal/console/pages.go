package console

import (
	"errors"
	"net/http"

	"github.com/hulian/hulian/internal/console/users"
)

// page is a route of the console's pages.
type page struct {
	pattern string
	handle  Handler
}

// routes are the console's pages behind sign-in. A POST changes
// something; the gate has checked its CSRF token and that the user's
// role changes things, and the API decides the rest.
func (c *Console) routes() []page {
	return []page{
		{"GET " + Prefix + "/{$}", c.dashboard},
		{"GET " + Prefix + "/events", c.events},
		{"GET " + Prefix + "/participants", c.participants},
		{"POST " + Prefix + "/participants", c.onboard},
		{"GET " + Prefix + "/participants/{id}", c.participantPage},
		{"POST " + Prefix + "/participants/{id}/{what}", c.participantAct},
		{"POST " + Prefix + "/fees", c.setFees},
		{"GET " + Prefix + "/transfers", c.transfers},
		{"GET " + Prefix + "/transfers/{id}", c.transferPage},
		{"GET " + Prefix + "/transfers/{id}/proof", c.transferProof},
		{"GET " + Prefix + "/settlement", c.settlement},
		{"GET " + Prefix + "/settlement/{id}", c.window},
		{"GET " + Prefix + "/settlement/{id}/report.csv", c.windowCSV},
		{"POST " + Prefix + "/settlement/{id}/{what}", c.windowAct},
		{"GET " + Prefix + "/audit", c.auditPage},
		{"GET " + Prefix + "/risk", c.riskPage},
		{"POST " + Prefix + "/risk/rules", c.riskRule},
		{"POST " + Prefix + "/risk/rules/{id}/{what}", c.riskRule},
		{"POST " + Prefix + "/risk/alerts/{id}/decision", c.riskDecide},
		{"GET " + Prefix + "/users", c.onlyAdmin(c.usersPage)},
		{"POST " + Prefix + "/users", c.onlyAdmin(c.createUser)},
		{"POST " + Prefix + "/users/{name}/delete", c.onlyAdmin(c.deleteUser)},
		{"GET " + Prefix + "/logout", c.logoutPage},
		{"POST " + Prefix + "/logout", c.logout},
	}
}

// loginPage is the sign-in form; a signed-in user goes to the dashboard.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	v, ok := visitOf(r)
	if ok {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	v = &Visit{Lang: c.language(w, r), url: r.URL}
	c.Render(w, r, v, http.StatusOK, "login", Page{Title: "login.title"})
}

// login checks a sign-in form (inputs username, password, totp): on
// success it sets the session cookie and sends the user to the
// dashboard (303); on failure it shows the form again, saying only that
// the sign-in failed. Sign-in is the one state-changing request without
// a session: a request from another site's page is refused by its
// Origin, and the session cookie is SameSite=Strict.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	v := &Visit{Lang: c.language(w, r), url: r.URL}
	if !sameOrigin(r) {
		c.Error(w, r, v, http.StatusForbidden, "error.csrf")
		return
	}
	if !c.signIn.Allow() {
		w.Header().Set("Retry-After", "1")
		c.Render(w, r, v, http.StatusTooManyRequests, "login", Page{Title: "login.title", Message: "login.busy"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.Render(w, r, v, http.StatusBadRequest, "login", Page{Title: "login.title", Message: "login.failed"})
		return
	}
	f := r.PostForm
	s, token, err := c.Users.SignIn(r.Context(), f.Get("username"), f.Get("password"), f.Get("totp"))
	switch {
	case errors.Is(err, users.ErrSignIn):
		c.Render(w, r, v, http.StatusUnauthorized, "login", Page{Title: "login.title", Message: "login.failed"})
		return
	case errors.Is(err, users.ErrBusy), errors.Is(err, users.ErrSessionsFull):
		w.Header().Set("Retry-After", "5")
		c.Render(w, r, v, http.StatusServiceUnavailable, "login", Page{Title: "login.title", Message: "login.busy"})
		return
	case err != nil:
		c.Log.ErrorContext(r.Context(), "console: sign in", "err", err)
		c.Error(w, r, v, http.StatusInternalServerError, "error.internal")
		return
	}
	c.Log.InfoContext(r.Context(), "console: signed in", "user", s.Username, "role", string(s.Role))
	setSession(w, r, token, 0)
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

// logoutPage asks to confirm the sign-out, with a form the gate takes.
func (c *Console) logoutPage(w http.ResponseWriter, r *http.Request, v *Visit) {
	c.Render(w, r, v, http.StatusOK, "logout", Page{Title: "logout.title"})
}

// logout ends the session (the gate checked its CSRF token) and sends
// the user to the sign-in form.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *Visit) {
	if err := c.Users.SignOut(v.token); err != nil {
		// This node refuses the session already; the others may take
		// it until it expires.
		c.Log.WarnContext(r.Context(), "console: sign-out not recorded in the database", "user", v.User.Username, "err", err)
	}
	setSession(w, r, "", -1)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// notFound answers what no page matches.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	v, _ := visitOf(r)
	c.Error(w, r, v, http.StatusNotFound, "error.notfound")
}
