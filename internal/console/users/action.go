package users

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/purpose"
)

// Actor is who did something: a console user (its name, role and
// participant), or, with no username, a caller of the API with a token
// (Role "operator").
type Actor struct {
	Username string
	// Role is the console role (users.Role), or the API role of a token.
	Role        string
	Participant string
}

// ActorOf is the actor a session's user is.
func ActorOf(s Session) Actor {
	return Actor{Username: s.Username, Role: string(s.Role), Participant: s.Participant}
}

type actorKey struct{}

// WithActor returns ctx carrying who acts: the console sets it on the
// requests it makes of the API for its users, so that what the API
// records names the user rather than the principal it acts as.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// The actions of this package.
const (
	ActionUserCreate = "console-user-create"
	ActionUserDelete = "console-user-delete"
)

// Limits of an action's name and target.
const (
	actionMax = 64
	targetMax = 256
)

// ValidAction reports whether name may name an action: 1 to 64 lower
// case letters, digits and '-'.
func ValidAction(name string) bool {
	if name == "" || len(name) > actionMax {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Action is a recorded action.
type Action struct {
	// Seq orders the actions as they were listed (newest highest).
	Seq int64
	// ID is the action's id, its mark's key; Mark the mark's ledger id.
	ID   string
	Mark ledger.ID
	At   time.Time
	Actor
	Action string
	Target string
}

// Record records that who did action to target, as a ledger mark
// (purpose console-action: the ledger's order and the audit log's leaf
// make it evidence) and then in the listing. Call it once the action
// has succeeded; an error means the trail lacks it, and the caller
// must say so rather than report success.
func (s *Store) Record(ctx context.Context, who Actor, action, target string) error {
	if !ValidAction(action) {
		return fmt.Errorf("users: action %q: not an action name", action)
	}
	if len(target) > targetMax || !utf8.ValidString(target) || hasControl(target) {
		return fmt.Errorf("users: action %s: a target of at most %d bytes of printable UTF-8", action, targetMax)
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	at := s.now().UTC()
	m := mark.Mark{Purpose: purpose.ConsoleAction, Currency: s.cur, Key: []string{"action", id},
		Fields: []string{who.Username, who.Role, who.Participant, action, target, strconv.FormatInt(at.UnixNano(), 10)}}
	if _, err := mark.Record(ctx, s.ledger, m); err != nil {
		return fmt.Errorf("users: record %s of %s: %w", action, target, err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO console_actions (id, at, username, role, participant, action, target)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, at.UnixNano(), who.Username, who.Role, who.Participant, action, target); err != nil {
		return fmt.Errorf("users: list %s of %s (its mark %s is recorded): %w", action, target, m.ID(), err)
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// Actions returns up to limit actions before seq before (0: the
// newest), newest first.
func (s *Store) Actions(ctx context.Context, before int64, limit int) ([]Action, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, id, at, username, role, participant, action, target FROM console_actions
		WHERE (seq < $1 OR $1 = 0) ORDER BY seq DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("users: actions: %w", err)
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		var a Action
		var at int64
		if err := rows.Scan(&a.Seq, &a.ID, &at, &a.Username, &a.Role, &a.Participant, &a.Action, &a.Target); err != nil {
			return nil, fmt.Errorf("users: actions: %w", err)
		}
		a.At = time.Unix(0, at).UTC()
		m := mark.Mark{Purpose: purpose.ConsoleAction, Key: []string{"action", a.ID}}
		a.Mark = m.ID()
		out = append(out, a)
	}
	return out, rows.Err()
}
