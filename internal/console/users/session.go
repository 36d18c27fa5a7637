package users

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

// SessionLimits bound the sessions. Zero fields take their defaults.
type SessionLimits struct {
	// Idle ends a session not used for this long (30 minutes).
	Idle time.Duration
	// Lifetime ends a session this long after its sign-in, however
	// used (12 hours).
	Lifetime time.Duration
	// PerUser is how many sessions a user may have (5): a sign-in
	// beyond it ends the user's oldest.
	PerUser int
	// Total is how many sessions there may be (10,000): beyond it a
	// sign-in is refused (ErrSessionsFull) until some end.
	Total int
}

func (l *SessionLimits) ensureDefaults() {
	if l.Idle == 0 {
		l.Idle = 30 * time.Minute
	}
	if l.Lifetime == 0 {
		l.Lifetime = 12 * time.Hour
	}
	if l.PerUser == 0 {
		l.PerUser = 5
	}
	if l.Total == 0 {
		l.Total = 10000
	}
}

func (l *SessionLimits) validate() error {
	if l.Idle < 0 || l.Lifetime < l.Idle || l.PerUser < 1 || l.Total < l.PerUser {
		return errors.New("users: session limits: idle, a lifetime at least as long, at least one per user and as many in all")
	}
	return nil
}

// ErrSessionsFull means the switch keeps as many sessions as it may:
// retry later.
var ErrSessionsFull = fault.New(fault.Unavailable, "", "too many console sessions; retry later")

// tokenSize is a session token's and a CSRF token's random bytes: 256
// bits.
const tokenSize = 32

// Session is a signed-in user, as the console sees it on each request.
type Session struct {
	Username string
	Role     Role
	// Participant is the participant of a participant role.
	Participant string
	// CSRF is the session's token for state-changing forms.
	CSRF string
	// Started is when the user signed in.
	Started time.Time
}

// CheckCSRF reports whether token is the session's CSRF token, in
// constant time.
func (s *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// session is a session as kept: by its token's hash only.
type session struct {
	Session
	key  string // the user's key
	seen time.Time
}

// sessions are the sessions of this process.
type sessions struct {
	lim    SessionLimits
	mu     sync.Mutex
	byHash map[[sha256.Size]byte]*session
	byUser map[string][][sha256.Size]byte // oldest first
}

func newSessions(lim SessionLimits) *sessions {
	return &sessions{lim: lim, byHash: map[[sha256.Size]byte]*session{}, byUser: map[string][][sha256.Size]byte{}}
}

func newToken() string {
	b := make([]byte, tokenSize)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start starts a session of the user of key, making room for it.
func (ss *sessions) start(k, name string, role Role, participant string, now time.Time) (Session, string, error) {
	token := newToken()
	h := sha256.Sum256([]byte(token))
	s := &session{Session: Session{Username: name, Role: role, Participant: participant, CSRF: newToken(), Started: now}, key: k, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for len(ss.byUser[k]) >= ss.lim.PerUser {
		ss.remove(ss.byUser[k][0])
	}
	if len(ss.byHash) >= ss.lim.Total {
		ss.sweep(now)
		if len(ss.byHash) >= ss.lim.Total {
			return Session{}, "", ErrSessionsFull
		}
	}
	ss.byHash[h] = s
	ss.byUser[k] = append(ss.byUser[k], h)
	return s.Session, token, nil
}

// get returns the session of token if it has not ended, and marks it
// used now.
func (ss *sessions) get(token string, now time.Time) (Session, bool) {
	if token == "" {
		return Session{}, false
	}
	h := sha256.Sum256([]byte(token))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byHash[h]
	if !ok {
		return Session{}, false
	}
	if ss.ended(s, now) {
		ss.remove(h)
		return Session{}, false
	}
	s.seen = now
	return s.Session, true
}

// alive reports whether the session of token has not ended, leaving it
// as it was.
func (ss *sessions) alive(token string, now time.Time) bool {
	if token == "" {
		return false
	}
	h := sha256.Sum256([]byte(token))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byHash[h]
	return ok && !ss.ended(s, now)
}

func (ss *sessions) ended(s *session, now time.Time) bool {
	return now.Sub(s.seen) >= ss.lim.Idle || now.Sub(s.Started) >= ss.lim.Lifetime
}

// end ends the session of token.
func (ss *sessions) end(token string) {
	h := sha256.Sum256([]byte(token))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.remove(h)
}

// endUser ends every session of the user of key.
func (ss *sessions) endUser(k string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for len(ss.byUser[k]) > 0 {
		ss.remove(ss.byUser[k][0])
	}
}

// sweep ends the sessions that ended by time.
func (ss *sessions) sweep(now time.Time) {
	for h, s := range ss.byHash {
		if ss.ended(s, now) {
			ss.remove(h)
		}
	}
}

func (ss *sessions) remove(h [sha256.Size]byte) {
	s, ok := ss.byHash[h]
	if !ok {
		return
	}
	delete(ss.byHash, h)
	hs := ss.byUser[s.key]
	for i := range hs {
		if hs[i] == h {
			hs = append(hs[:i], hs[i+1:]...)
			break
		}
	}
	if len(hs) == 0 {
		delete(ss.byUser, s.key)
	} else {
		ss.byUser[s.key] = hs
	}
}

// Session returns the session of a token from a cookie, if it has not
// ended (idle for too long, past its lifetime, signed out, its user
// deleted), and counts it as used now.
func (s *Store) Session(token string) (Session, bool) { return s.sessions.get(token, s.now()) }

// Alive reports whether the session of token has not ended, without
// counting it as used: a live page's stream asks it every second, and
// must not keep an idle user's session open.
func (s *Store) Alive(token string) bool { return s.sessions.alive(token, s.now()) }

// SignOut ends the session of token.
func (s *Store) SignOut(token string) { s.sessions.end(token) }

// Sessions returns how many sessions there are, ended ones not yet
// swept included.
func (s *Store) Sessions() int {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	return len(s.sessions.byHash)
}
