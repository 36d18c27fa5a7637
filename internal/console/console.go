// Package console is the switch's web console at /console/: pages
// rendered on the server from templates embedded in the binary, in
// Simplified Chinese and English, for the operator's staff, the
// regulator and each participant's team.
//
// It owns the web side of the console: sign-in and sign-out, the
// session cookie, CSRF tokens, the gate every state-changing request
// passes, the layout and its translations. Who the users are, their
// passwords, codes and sessions, and the trail of their actions are
// package users'. What a user may see or change of the scheme is the
// API's decision: a page calls the API's routes in process as its user's
// principal (Console.Call, Console.Act), so that access, scoping,
// validation and problems are the API's own.
//
// A page is a Handler registered with the signed-in middleware (pages
// in pages.go, or Handle): it gets the Visit (the user, the language),
// calls the API, and renders a template of assets/pages with the layout
// (Console.Render). A form's change is an Act, answered by a redirect
// back that says it was done, or by the API's refusal with its status
// (forms.go).
//
// Two things are read otherwise. The dashboard's scheme-wide numbers
// (throughput, positions, the audit log's progress) are read in process
// from Live, at most once a second however many watch, and pushed to the
// page by server-sent events (live.go, dashboard.go). A transfer's audit
// proof is verified in the user's browser (assets/static/proof.js), so
// that the user need not trust the switch's word that it holds.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/console/users"
)

// Prefix is where the console is served.
const Prefix = "/console"

//go:embed assets
var assets embed.FS

// Deps are what the console is built on; all are required but Log and
// Now.
type Deps struct {
	Users *users.Store
	// API answers the console's calls, as its users' principals.
	API *api.Server
	// Participants finds the participant a participant role acts for.
	Participants users.Participants
	// Live are what the dashboard reads in process; any may be nil.
	Live Live
	Log  *slog.Logger
	Now  func() time.Time
}

// Console is the web console, an http.Handler for the paths under
// /console.
type Console struct {
	Deps
	mux    *http.ServeMux
	pages  map[string]*template.Template
	signIn *rate.Limiter
	board  *board
	// done is closed by Close: the live streams end.
	done      chan struct{}
	closeOnce sync.Once
	// streams counts the live streams open; userStreams those of each
	// user (by its username's lower case), under streamsMu.
	streams     atomic.Int64
	streamsMu   sync.Mutex
	userStreams map[string]int
}

// Sign-in attempts the console takes, in all: each costs a password
// hash (~20 ms of a core), and anyone may send them.
const (
	signInRate  = 10 // a second
	signInBurst = 20
)

// New returns the console.
func New(d Deps) (*Console, error) {
	if d.Users == nil || d.API == nil || d.Participants == nil {
		return nil, errors.New("console: users, the API and the participants are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	c := &Console{Deps: d, mux: http.NewServeMux(), signIn: rate.NewLimiter(signInRate, signInBurst), board: newBoard(),
		done: make(chan struct{}), userStreams: map[string]int{}}
	if err := c.parse(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	c.mux.Handle("GET "+Prefix+"/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	c.mux.HandleFunc("GET "+Prefix+"/login", c.loginPage)
	c.mux.HandleFunc("POST "+Prefix+"/login", c.login)
	for _, p := range c.routes() {
		c.Handle(p.pattern, p.handle)
	}
	c.mux.HandleFunc(Prefix+"/", c.notFound)
	return c, nil
}

// Close ends the live streams of the dashboard, at once and for good:
// the HTTP server calls it when it shuts down (http.Server's
// RegisterOnShutdown), since a stream would otherwise hold the shutdown
// until its deadline. The pages still answer.
func (c *Console) Close() { c.closeOnce.Do(func() { close(c.done) }) }

// Handler is a console page: it answers a signed-in user's request.
type Handler func(w http.ResponseWriter, r *http.Request, v *Visit)

// Handle registers h for pattern ("GET /console/transfers/{id}"), behind
// the signed-in middleware: a request without a session is sent to the
// sign-in page (GET) or refused (anything else, by the gate).
func (c *Console) Handle(pattern string, h Handler) {
	c.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := visitOf(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
				return
			}
			c.Error(w, r, nil, http.StatusForbidden, "error.session")
			return
		}
		if !safe(r.Method) {
			// The gate parsed the form unless the token came in a
			// header; the body is bounded either way.
			if err := r.ParseForm(); err != nil {
				c.Error(w, r, v, http.StatusBadRequest, "error.form")
				return
			}
		}
		h(w, r, v)
	}))
}

// Visit is a signed-in user's request, as pages see it.
type Visit struct {
	// User is the signed-in user's session.
	User users.Session
	// Lang is the language the page is in.
	Lang Lang
	// url is the request's URL, for the language links.
	url *url.URL
	// token is the session's cookie, to end it at sign-out.
	token string
}

// Actor is who the visit's user is, for the trail.
func (v *Visit) Actor() users.Actor { return users.ActorOf(v.User) }

// T is the message of key in the visit's language.
func (v *Visit) T(key string) string { return v.Lang.T(key) }

func (v *Visit) caller() string { return "console:" + v.User.Username }

type visitKey struct{}

func visitOf(r *http.Request) (*Visit, bool) {
	v, ok := r.Context().Value(visitKey{}).(*Visit)
	return v, ok
}

// The cookies of the console, on its path only.
const (
	sessionCookie = "hulian_session"
	langCookie    = "hulian_lang"
)

// formMax bounds the body of a console form.
const formMax = 64 << 10

// ServeHTTP answers the requests under /console: it sets the security
// headers, finds the language and the session, and passes every
// state-changing request through the gate before it is routed.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	lang := c.language(w, r)
	v := &Visit{Lang: lang, url: r.URL}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if s, ok := c.Users.Session(ck.Value); ok {
			v.User, v.token = s, ck.Value
		}
	}
	// Labelled as the request came, whose context is the API's
	// exchange; the visit then rides in a context derived from it. The
	// route is the pattern that matches, never the path.
	_, pattern := c.mux.Handler(r)
	who := ""
	if v.token != "" {
		who = v.caller()
	}
	api.Label(r, pattern, who)
	if v.token != "" {
		r = r.WithContext(context.WithValue(r.Context(), visitKey{}, v))
	}
	if !safe(r.Method) && r.URL.Path != Prefix+"/login" {
		if !c.gate(w, r, v) {
			return
		}
	}
	c.mux.ServeHTTP(w, r)
}

// safe reports whether a method only reads.
func safe(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// gate lets a state-changing request through only if it comes from a
// page of this console (its Origin, or else its Referer, is this
// console's when the browser sends one), from a session, with the
// session's CSRF token (the form's csrf field, or an X-CSRF-Token
// header), and from a role that changes things (sign-out excepted).
// Otherwise it answers 403, and nothing has changed.
func (c *Console) gate(w http.ResponseWriter, r *http.Request, v *Visit) bool {
	r.Body = http.MaxBytesReader(w, r.Body, formMax)
	if !sameOrigin(r) {
		c.Error(w, r, v, http.StatusForbidden, "error.csrf")
		return false
	}
	if v.token == "" {
		c.Error(w, r, nil, http.StatusForbidden, "error.session")
		return false
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		if err := r.ParseForm(); err == nil {
			token = r.PostForm.Get("csrf")
		}
	}
	if !v.User.CheckCSRF(token) {
		c.Error(w, r, v, http.StatusForbidden, "error.csrf")
		return false
	}
	if !v.User.Role.Changes() && r.URL.Path != Prefix+"/logout" {
		c.Error(w, r, v, http.StatusForbidden, "error.readonly")
		return false
	}
	return true
}

// sameOrigin reports whether r's Origin header, or else its Referer,
// names this console's own origin; a request with neither (not from a
// browser) passes, its CSRF token being checked.
func sameOrigin(r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	self := scheme + "://" + r.Host
	if o := r.Header.Get("Origin"); o != "" {
		return o == self
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return ref == self || strings.HasPrefix(ref, self+"/")
	}
	return true
}

// setSession sets the session cookie: the console's path only, not for
// scripts, not sent with requests from other sites, and over TLS only
// when the console is served over TLS.
func setSession(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: maxAge})
}
