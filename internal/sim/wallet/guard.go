package wallet

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// guard issues and checks the forms' tokens against cross-site request
// forgery. A browser is known by a random session cookie (HttpOnly,
// SameSite=Strict); every page with a form gets a fresh token, bound to
// that session, which one POST uses up. A page of another site can
// neither read a token (the same-origin policy) nor make the browser
// send the cookie (SameSite), and http.CrossOriginProtection refuses a
// cross-origin POST before the guard even looks. Using tokens up also
// makes a form sent twice (a double click, a reload) pay once.
type guard struct {
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]issued
	order  []string // in issue order, to forget the oldest beyond tokensMax
}

// issued is a token's session and expiry.
type issued struct {
	session string
	expires time.Time
}

// Limits of the guard.
const (
	// sessionCookie names the browser's session.
	sessionCookie = "wallet_session"
	// tokensMax bounds the tokens remembered; beyond it the oldest are
	// forgotten (their forms answer "expired").
	tokensMax = 1024
	// tokenTTL is how long a form stays usable.
	tokenTTL = 30 * time.Minute
	// tokenField names the forms' token field.
	tokenField = "csrf"
)

func newGuard(now func() time.Time) *guard {
	return &guard{now: now, tokens: map[string]issued{}}
}

// random returns 128 random bits in hex.
func random() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// session returns the browser's session, starting one (and setting its
// cookie on w) if it has none.
func (g *guard) session(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	id := random()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil})
	return id
}

// issue returns a fresh token for a page of session.
func (g *guard) issue(session string) string {
	t := random()
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.order) > 0 && (len(g.order) >= tokensMax || g.tokens[g.order[0]].expires.Before(now)) {
		delete(g.tokens, g.order[0])
		g.order = g.order[1:]
	}
	g.tokens[t] = issued{session: session, expires: now.Add(tokenTTL)}
	g.order = append(g.order, t)
	return t
}

// check uses up the token of a POST's form and reports whether it was
// issued to the browser's session and is still valid. It returns the
// session.
func (g *guard) check(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	t := r.PostFormValue(tokenField)
	if err != nil || t == "" {
		return "", false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	is, ok := g.tokens[t]
	if !ok || is.session != c.Value {
		// Another browser's token is not used up: it is not theirs.
		return "", false
	}
	delete(g.tokens, t) // used up, whatever follows; order forgets it in time
	return is.session, !is.expires.Before(g.now())
}
