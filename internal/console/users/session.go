package users

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/sqldb"
)

// SessionLimits bound the sessions. Zero fields take their defaults.
type SessionLimits struct {
	// Idle ends a session not used for this long (30 minutes). A use is
	// written to the database at most once a minute (seenEvery), so that
	// a console request costs no write: the node that served the use
	// holds the session to the exact Idle, and a node that did not (one
	// that newly leads, or this one restarted) may end it up to a minute
	// early, never late.
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

// seenEvery is how stale a session's last use may be in the database: a
// use is written only when the stored one is at least this old.
const seenEvery = time.Minute

// ErrSessionsFull means the switch keeps as many sessions as it may:
// retry later.
var ErrSessionsFull = fault.New(fault.Unavailable, "", "too many console sessions; retry later")

// tokenSize is a session token's random bytes: 256 bits.
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

// csrfOf is the CSRF token of the session of token. It is derived rather
// than stored, so that the database holds nothing that opens a session
// or passes its forms; HMAC keeps the token from being found from it (a
// page shows it, the cookie's token stays HttpOnly).
func csrfOf(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("hulian console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func newToken() string {
	b := make([]byte, tokenSize)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// dbTimeout bounds a session's database work for the methods that get
// no context from their caller.
const dbTimeout = 5 * time.Second

// sessionsLock is the PostgreSQL transaction advisory lock that
// serialises sign-ins' session starts, so that concurrent ones (on any
// node) cannot together pass PerUser or Total.
const sessionsLock int64 = 0x68756c69616e5353 // "hulian" "SS"

// sessions are the console's sessions, kept in console_sessions so that
// every node sees the same ones, with what this process knows better
// than the database: the exact last use of the sessions it served (the
// database's may be seenEvery older), and the sessions it ended but
// could not delete. Whether a session lives is always read from the
// database: nothing here can keep alive one that ended elsewhere.
type sessions struct {
	db  *sqldb.DB
	lim SessionLimits
	mu  sync.Mutex
	// local is bounded by lim.Total: sweep drops what no longer
	// matters, and nothing is added beyond it.
	local map[[sha256.Size]byte]localMark
}

// localMark is what this process knows of a session: its last use here,
// or, if ended, when it was ended.
type localMark struct {
	at    time.Time
	ended bool
}

func newSessions(db *sqldb.DB, lim SessionLimits) *sessions {
	return &sessions{db: db, lim: lim, local: map[[sha256.Size]byte]localMark{}}
}

// start starts a session of the user of key k, making room for it: it
// sweeps the ended sessions, ends the user's oldest beyond PerUser, and
// refuses one beyond Total. It returns the token.
func (ss *sessions) start(ctx context.Context, k string, now time.Time) (string, error) {
	token := newToken()
	h := hashOf(token)
	err := ss.db.Transact(ctx, func(tx *sql.Tx) error {
		if ss.db.Dialect == sqldb.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, sessionsLock); err != nil {
				return err
			}
		}
		if err := ss.sweepTx(ctx, tx, now); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq FROM console_sessions WHERE username_key = $1 ORDER BY seq`, k)
		if err != nil {
			return err
		}
		var seqs []int64
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return err
			}
			seqs = append(seqs, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for len(seqs) >= ss.lim.PerUser {
			if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE seq = $1`, seqs[0]); err != nil {
				return err
			}
			seqs = seqs[1:]
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM console_sessions`).Scan(&n); err != nil {
			return err
		}
		if n >= ss.lim.Total {
			return ErrSessionsFull
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO console_sessions (token_hash, username_key, started_at, seen_at) VALUES ($1, $2, $3, $3)`,
			h[:], k, now.UnixNano())
		return err
	})
	switch {
	case errors.Is(err, ErrSessionsFull):
		return "", err
	case sqldb.IsForeignKeyViolation(err):
		// The user was deleted while it signed in.
		return "", ErrSignIn
	case err != nil:
		return "", fmt.Errorf("users: start a session: %w", err)
	}
	ss.mu.Lock()
	ss.sweepLocal(now)
	ss.mu.Unlock()
	return token, nil
}

// sweepTx deletes the sessions ended by time on every node: past their
// lifetime, or idle for Idle since a last use that no node can hold
// more than seenEvery later than the database does.
func (ss *sessions) sweepTx(ctx context.Context, tx *sql.Tx, now time.Time) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE seen_at <= $1 OR started_at <= $2`,
		now.Add(-ss.lim.Idle-seenEvery).UnixNano(), now.Add(-ss.lim.Lifetime).UnixNano())
	return err
}

// sweepLocal forgets the uses older than Idle, which keep nothing
// alive, and the ends older than Lifetime, whose sessions have ended by
// time anyway. ss.mu is held.
func (ss *sessions) sweepLocal(now time.Time) {
	for h, m := range ss.local {
		if m.ended && now.Sub(m.at) >= ss.lim.Lifetime || !m.ended && now.Sub(m.at) >= ss.lim.Idle {
			delete(ss.local, h)
		}
	}
}

// remember records m for the session of h, if there is room.
func (ss *sessions) remember(h [sha256.Size]byte, m localMark, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.local[h]; !ok && len(ss.local) >= ss.lim.Total {
		ss.sweepLocal(now)
		if len(ss.local) >= ss.lim.Total {
			return
		}
	}
	ss.local[h] = m
}

func (ss *sessions) forget(h [sha256.Size]byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.local, h)
}

// check returns the session of token if it has not ended; use counts it
// as used now. A session the database does not have, or that it cannot
// be asked about, has ended: the console then asks to sign in.
func (ss *sessions) check(ctx context.Context, token string, now time.Time, use bool) (Session, bool) {
	if token == "" {
		return Session{}, false
	}
	h := hashOf(token)
	ss.mu.Lock()
	m, known := ss.local[h]
	ss.mu.Unlock()
	if known && m.ended {
		return Session{}, false
	}
	var started, seen int64
	var role string
	s := Session{CSRF: csrfOf(token)}
	err := ss.db.QueryRowContext(ctx, `SELECT s.started_at, s.seen_at, u.username, u.role, u.participant
		FROM console_sessions s JOIN console_users u ON u.username_key = s.username_key WHERE s.token_hash = $1`, h[:]).
		Scan(&started, &seen, &s.Username, &role, &s.Participant)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) && known {
			ss.forget(h)
		}
		return Session{}, false
	}
	s.Role, s.Started = Role(role), time.Unix(0, started).UTC()
	last := time.Unix(0, seen)
	if known && m.at.After(last) {
		last = m.at
	}
	if now.Sub(last) >= ss.lim.Idle || now.Sub(s.Started) >= ss.lim.Lifetime {
		// Best effort: a sign-in's sweep deletes it otherwise.
		ss.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE token_hash = $1`, h[:])
		ss.forget(h)
		return Session{}, false
	}
	if !use {
		return s, true
	}
	ss.remember(h, localMark{at: now}, now)
	if now.UnixNano()-seen >= int64(seenEvery) {
		// Best effort: this node holds the use; a failed write costs at
		// most an early end elsewhere.
		ss.db.ExecContext(ctx, `UPDATE console_sessions SET seen_at = $1 WHERE token_hash = $2 AND seen_at < $1`, now.UnixNano(), h[:])
	}
	return s, true
}

// end ends the session of token. If the database cannot delete it, this
// process still refuses it.
func (ss *sessions) end(ctx context.Context, token string, now time.Time) error {
	h := hashOf(token)
	if _, err := ss.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE token_hash = $1`, h[:]); err != nil {
		ss.remember(h, localMark{at: now, ended: true}, now)
		return fmt.Errorf("users: sign out: %w", err)
	}
	ss.forget(h)
	return nil
}

// Session returns the session of a token from a cookie, if it has not
// ended (idle for too long, past its lifetime, signed out, its user
// deleted), and counts it as used now. It reads the database, which
// every node shares, so that a session started on another node, or
// before a restart, is found, and one ended there is refused at once.
func (s *Store) Session(token string) (Session, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	return s.sessions.check(ctx, token, s.now(), true)
}

// Alive reports whether the session of token has not ended, without
// counting it as used: a live page's stream asks it every second, and
// must not keep an idle user's session open.
func (s *Store) Alive(token string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	_, ok := s.sessions.check(ctx, token, s.now(), false)
	return ok
}

// SignOut ends the session of token. When it returns an error the
// session could not be deleted from the database: this process refuses
// it all the same, but another node (or this one restarted) may not;
// the user should sign out again.
func (s *Store) SignOut(token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	return s.sessions.end(ctx, token, s.now())
}

// Sessions returns how many sessions there are, ended ones not yet
// swept included.
func (s *Store) Sessions(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM console_sessions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("users: count sessions: %w", err)
	}
	return n, nil
}
