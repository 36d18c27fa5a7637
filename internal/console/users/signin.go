package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/sqldb"
)

// ErrSignIn means a sign-in failed: a wrong name, password or code, a
// code used before, or a user locked after too many failures. It never
// says which, so that it tells a guesser nothing.
var ErrSignIn = fault.New(fault.Unauthorized, "", "the username, password or code is wrong, or the user is locked for a while")

// SignIn checks a user's password and TOTP code and, if both are right,
// starts a session: it returns the session and its token, for the
// cookie. Both factors are always checked, and a name that is no user's
// costs a password hash too, so that the time taken does not tell which
// failed or whether the user exists.
//
// Every attempt counts as a failure until it succeeds: an attempt is
// counted before its factors are checked, so that attempts in parallel
// cannot outrun the lockout. After LockAfter failures the user is locked
// for LockFor, however right what it sends; a success clears the count.
// A code is taken once: a code of a step no later than the last that
// signed in fails.
func (s *Store) SignIn(ctx context.Context, username, password, code string) (Session, string, error) {
	if len(password) > 4*PasswordMax {
		password = password[:4*PasswordMax] // fails, after hashing like any other
	}
	now := s.now()
	a, err := s.begin(ctx, username, now)
	if err != nil {
		return Session{}, "", err
	}
	if !a.check {
		if _, err := s.verifyPassword(ctx, s.dummy, password); err != nil && !errors.Is(err, errHashFormat) {
			return Session{}, "", err
		}
		return Session{}, "", ErrSignIn
	}
	passOK, err := s.verifyPassword(ctx, a.hash, password)
	if errors.Is(err, ErrBusy) {
		// Not the user's failure: give the attempt back.
		s.finish(ctx, a, false, 0, now, true)
		return Session{}, "", err
	}
	if err != nil {
		return Session{}, "", fmt.Errorf("users: sign in %s: %w", a.username, err)
	}
	secret, err := s.seal.Open(secretContext(a.key), a.secret)
	if err != nil {
		return Session{}, "", fmt.Errorf("users: sign in %s: the TOTP secret: %w", a.username, err)
	}
	st, codeOK := checkCode(secret, code, now)
	ok, err := s.finish(ctx, a, passOK && codeOK, st, now, false)
	if err != nil {
		return Session{}, "", err
	}
	if !ok {
		return Session{}, "", ErrSignIn
	}
	token, err := s.sessions.start(ctx, a.key, now)
	if err != nil {
		return Session{}, "", err
	}
	return Session{Username: a.username, Role: a.role, Participant: a.participant, CSRF: csrfOf(token), Started: now}, token, nil
}

// attempt is a sign-in under way: the user's row as it was read, and
// whether its factors are to be checked at all (false: no such user, or
// locked).
type attempt struct {
	key, username, participant string
	role                       Role
	hash, secret               string
	check                      bool
}

// begin counts an attempt at the user's sign-in, and returns what to
// check it against. A lockout that has ended is lifted first.
func (s *Store) begin(ctx context.Context, username string, now time.Time) (attempt, error) {
	a := attempt{key: key(username)}
	if !ValidUsername(username) {
		return a, nil
	}
	lock := ""
	if s.db.Dialect == sqldb.Postgres {
		lock = " FOR UPDATE"
	}
	err := s.db.Transact(ctx, func(tx *sql.Tx) error {
		a.check = false
		var role string
		var failed int
		var locked int64
		err := tx.QueryRowContext(ctx, `SELECT username, role, participant, password_hash, totp_secret, failed, locked_until
			FROM console_users WHERE username_key = $1`+lock, a.key).Scan(&a.username, &role, &a.participant, &a.hash, &a.secret, &failed, &locked)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		a.role = Role(role)
		if locked != 0 && now.UnixNano() < locked {
			return nil
		}
		if locked != 0 {
			failed, locked = 0, 0
		}
		failed++
		if failed > s.lockN {
			// As many attempts under way as may fail: lock now.
			locked = now.Add(s.lockFor).UnixNano()
		} else {
			a.check = true
		}
		_, err = tx.ExecContext(ctx, `UPDATE console_users SET failed = $1, locked_until = $2 WHERE username_key = $3`, failed, locked, a.key)
		return err
	})
	if err != nil {
		return attempt{}, fmt.Errorf("users: sign in: %w", err)
	}
	return a, nil
}

// finish ends an attempt: a success (ok) takes the code's step, unless
// a code of that step or a later one signed in already, and clears the
// failures; a failure locks the user if it was the last one allowed.
// undo gives an attempt that was not checked back. It reports whether
// the sign-in succeeded.
func (s *Store) finish(ctx context.Context, a attempt, ok bool, st int64, now time.Time, undo bool) (bool, error) {
	var res sql.Result
	var err error
	switch {
	case undo:
		_, err = s.db.ExecContext(ctx, `UPDATE console_users SET failed = failed - 1 WHERE username_key = $1 AND failed > 0`, a.key)
		return false, err
	case ok:
		res, err = s.db.ExecContext(ctx, `UPDATE console_users SET failed = 0, locked_until = 0, totp_last_step = $1
			WHERE username_key = $2 AND totp_last_step < $1`, st, a.key)
		if err == nil {
			var n int64
			if n, err = res.RowsAffected(); err == nil && n == 1 {
				return true, nil
			}
		}
		if err != nil {
			return false, fmt.Errorf("users: sign in %s: %w", a.username, err)
		}
		// A replayed code: a failure like any other.
	}
	_, err = s.db.ExecContext(ctx, `UPDATE console_users SET locked_until = $1
		WHERE username_key = $2 AND failed >= $3 AND locked_until = 0`, now.Add(s.lockFor).UnixNano(), a.key, s.lockN)
	if err != nil {
		return false, fmt.Errorf("users: sign in %s: %w", a.username, err)
	}
	return false, nil
}
