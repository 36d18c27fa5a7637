package console

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/console/users"
)

// The users page, the operator's administrator's alone: the console's
// users, creating one (its TOTP key shown once, as the otpauth URI and
// as a QR code for the authenticator app), deleting one. The API
// records both in the trail, naming the administrator.

// usersView is the users page.
type usersView struct {
	Users []api.ConsoleUser
	Next  string
	Roles []users.Role
	// Created is the user just created, with its TOTP URI, and QR that
	// URI as a PNG data URL.
	Created *api.ConsoleUser
	QR      template.URL
}

// onlyAdmin refuses every role but the operator's administrator: the
// API would let the operator's viewer and the regulator read the users,
// but the console keeps its users the administrator's business.
func (c *Console) onlyAdmin(h Handler) Handler {
	return func(w http.ResponseWriter, r *http.Request, v *Visit) {
		if v.User.Role != users.OperatorAdmin {
			c.Error(w, r, v, http.StatusForbidden, "error.forbidden")
			return
		}
		h(w, r, v)
	}
}

// usersPage lists the console's users, a page at a time.
func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, v *Visit) {
	d, a := c.usersView(r, v)
	if a != nil {
		c.refused(w, r, v, "nav.users", a)
		return
	}
	c.Render(w, r, v, http.StatusOK, "users", Page{Title: "nav.users", Data: d})
}

func (c *Console) usersView(r *http.Request, v *Visit) (*usersView, *Answer) {
	path := "/v1/console/users?limit=100"
	if after := r.URL.Query().Get("after"); after != "" {
		path += "&after=" + url.QueryEscape(after)
	}
	var list api.ConsoleUsers
	a := c.Call(r, v, "GET", path, nil)
	if !a.OK() || a.Decode(&list) != nil {
		return nil, a
	}
	return &usersView{Users: list.Users, Next: list.Next, Roles: users.Roles()}, nil
}

// createUser creates a user from the form (username, password, role,
// participant) and shows its TOTP key, once.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, v *Visit) {
	f := r.PostForm
	n := api.NewConsoleUser{Username: strings.TrimSpace(f.Get("username")), Password: f.Get("password"), Role: f.Get("role"),
		Participant: strings.TrimSpace(f.Get("participant"))}
	if !users.Role(n.Role).OfParticipant() {
		n.Participant = ""
	}
	a, _ := c.Act(r, v, users.ActionUserCreate, n.Username, "POST", "/v1/console/users", n)
	if !a.OK() {
		c.refused(w, r, v, "nav.users", a)
		return
	}
	var created api.ConsoleUser
	if a.Decode(&created) != nil {
		c.Error(w, r, v, http.StatusInternalServerError, "error.internal")
		return
	}
	d, la := c.usersView(r, v)
	if la != nil {
		d = &usersView{Roles: users.Roles()}
	}
	d.Created = &created
	if png, err := qrcode.Encode(created.TOTPURI, qrcode.Medium, 240); err == nil {
		// A data URL the template may put in an img: made here, of the
		// switch's own URI.
		d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	w.Header().Set("Cache-Control", "no-store")
	c.Render(w, r, v, http.StatusCreated, "users", Page{Title: "nav.users", Data: d, Message: "done.console-user-create"})
}

// deleteUser deletes a user; its sessions end.
func (c *Console) deleteUser(w http.ResponseWriter, r *http.Request, v *Visit) {
	name := r.PathValue("name")
	c.act(w, r, v, users.ActionUserDelete, name, "DELETE", "/v1/console/users/"+url.PathEscape(name), nil, "nav.users", Prefix+"/users")
}
