package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/console/users"
)

// The console's side of the API: its users (created, listed and deleted
// by the operator), the trail of what they changed, and the mechanism
// by which the console's pages call the routes of this API as their
// user's principal (ServeAs), so that the console decides nothing about
// access, validation or problems that the API decides already.

// NewConsoleUser is the body of POST /v1/console/users.
type NewConsoleUser struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	Role        string `json:"role"`
	Participant string `json:"participant,omitempty"`
}

// ConsoleUser is a console user as the API shows it: never its password
// hash nor its TOTP secret.
type ConsoleUser struct {
	Username    string `json:"username"`
	Role        string `json:"role"`
	Participant string `json:"participant,omitempty"`
	// TOTPURI is the user's TOTP key as an otpauth URI, in the answer to
	// its creation only: the one time it is shown.
	TOTPURI     string     `json:"totpUri,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	LockedUntil *time.Time `json:"lockedUntil,omitempty"`
}

// ConsoleUsers is the answer of GET /v1/console/users; Next, when
// present, is the after of the next page.
type ConsoleUsers struct {
	Users []ConsoleUser `json:"users"`
	Next  string        `json:"next,omitempty"`
}

// ConsoleAction is an action of a console user that changed something.
type ConsoleAction struct {
	ID          string    `json:"id"`
	At          time.Time `json:"at"`
	Username    string    `json:"username"`
	Role        string    `json:"role"`
	Participant string    `json:"participant,omitempty"`
	Action      string    `json:"action"`
	Target      string    `json:"target"`
	// LedgerID is the id of the action's mark on the ledger (its audit
	// leaf), 32 hex digits.
	LedgerID string `json:"ledgerId"`
}

// ConsoleActions is the answer of GET /v1/console/actions, newest first;
// Next, when present, is the before of the next page.
type ConsoleActions struct {
	Actions []ConsoleAction `json:"actions"`
	Next    string          `json:"next,omitempty"`
}

// actorOf is who makes request r: the console user the console says it
// acts for, or the principal of the token.
func actorOf(r *http.Request, who auth.Principal) users.Actor {
	if a, ok := users.ActorFrom(r.Context()); ok {
		return a
	}
	return users.Actor{Role: who.Role.String(), Participant: who.Participant.ID}
}

func (s *Server) withConsole(w http.ResponseWriter) bool {
	if s.Console == nil {
		writeProblem(w, probUnavailable, "")
		return false
	}
	return true
}

func consoleUser(u users.User, uri string) ConsoleUser {
	out := ConsoleUser{Username: u.Username, Role: string(u.Role), Participant: u.Participant, TOTPURI: uri, CreatedAt: u.CreatedAt}
	if !u.LockedUntil.IsZero() {
		lu := u.LockedUntil
		out.LockedUntil = &lu
	}
	return out
}

func (s *Server) createConsoleUser(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if !s.withConsole(w) {
		return
	}
	var n NewConsoleUser
	if !decode(w, r, bodyMax, &n) {
		return
	}
	u, uri, err := s.Console.Create(r.Context(), actorOf(r, who), users.New{Username: n.Username, Password: n.Password,
		Role: users.Role(n.Role), Participant: n.Participant})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusCreated, consoleUser(u, uri))
}

func (s *Server) listConsoleUsers(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.withConsole(w) {
		return
	}
	limit, ok := limitParam(w, r, 100, 1000)
	if !ok {
		return
	}
	after := r.URL.Query().Get("after")
	if after != "" && !users.ValidUsername(after) {
		writeProblem(w, probInvalid, "after must be the next of a page")
		return
	}
	us, err := s.Console.List(r.Context(), after, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := ConsoleUsers{Users: []ConsoleUser{}}
	for i, u := range us {
		if i == limit {
			out.Next = strings.ToLower(us[i-1].Username)
			break
		}
		out.Users = append(out.Users, consoleUser(u, ""))
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) deleteConsoleUser(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if !s.withConsole(w) {
		return
	}
	if err := s.Console.Delete(r.Context(), actorOf(r, who), r.PathValue("username")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header()["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listConsoleActions(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.withConsole(w) {
		return
	}
	limit, ok := limitParam(w, r, 100, 1000)
	if !ok {
		return
	}
	var before int64
	if q := r.URL.Query().Get("before"); q != "" {
		var err error
		if before, err = strconv.ParseInt(q, 10, 64); err != nil || before < 1 {
			writeProblem(w, probInvalid, "before must be the next of a page")
			return
		}
	}
	as, err := s.Console.Actions(r.Context(), before, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := ConsoleActions{Actions: []ConsoleAction{}}
	for i, a := range as {
		if i == limit {
			out.Next = strconv.FormatInt(as[i-1].Seq, 10)
			break
		}
		out.Actions = append(out.Actions, ConsoleAction{ID: a.ID, At: a.At, Username: a.Username, Role: a.Role,
			Participant: a.Participant, Action: a.Action, Target: a.Target, LedgerID: a.Mark.String()})
	}
	reply(w, http.StatusOK, out)
}

// actingAs is the principal ServeAs answers a request for, and the
// caller its access line names.
type actingAs struct {
	p   auth.Principal
	who string
}

type actingAsKey struct{}

// ServeAs answers r as the API answers a request that principal p sent
// with its own credentials: for the console, whose users act as the
// operator, the regulator or their participant (users.Role.Principal).
// Only authentication is skipped — r's Authorization header is
// ignored —; everything else applies as to any request: the route's
// access level, a suspended participant's limits, the participant's (or
// the regulator's) rate limit, body limits, problems. The request is
// logged, observed and traced as one of the API's, with caller who
// ("console:alice") and the request id of r's Hulian-Request-Id header
// if it has a valid one.
//
// A principal without a role is answered 401, like a request without
// credentials.
func (s *Server) ServeAs(w http.ResponseWriter, r *http.Request, p auth.Principal, who string) {
	r = r.WithContext(context.WithValue(r.Context(), actingAsKey{}, &actingAs{p: p, who: who}))
	if r.Header.Get("Authorization") != "" {
		r.Header = r.Header.Clone()
		r.Header.Del("Authorization")
	}
	s.ServeHTTP(w, r)
}

// actingFor returns the principal ServeAs gave r, if any.
func actingFor(r *http.Request) (*actingAs, bool) {
	a, ok := r.Context().Value(actingAsKey{}).(*actingAs)
	return a, ok && a.p.Role != 0
}

// Mount serves h at prefix ("/console") and every path under it,
// before the API's routes, as part of the API's server: its requests
// have ids and access lines, are observed and traced, and are counted by
// Drain, like the API's. Call it before serving.
func (s *Server) Mount(prefix string, h http.Handler) {
	s.mountPrefix, s.mounted = strings.TrimSuffix(prefix, "/"), h
}

// mountFor returns the handler mounted at r's path, if any.
func (s *Server) mountFor(r *http.Request) (http.Handler, bool) {
	if s.mounted == nil {
		return nil, false
	}
	p := r.URL.Path
	if p == s.mountPrefix || strings.HasPrefix(p, s.mountPrefix) && p[len(s.mountPrefix)] == '/' {
		return s.mounted, true
	}
	return nil, false
}

// Label names the route and the caller of r, a request to a mounted
// handler as the handler received it (its context the API's own, not
// one derived from it), in its access line, its metrics and its span:
// route as a route table writes them ("GET /console/transfers"), never
// a raw path; who as "console:alice".
func Label(r *http.Request, route, who string) {
	if x := exchangeOf(r); x != nil {
		x.route, x.who = route, who
	}
}
