// Package users owns the console's people: the users the operator
// creates, each with a role, an Argon2id password and a TOTP second
// factor; signing in with both, five failures locking the user for a
// while; the sessions that follow a sign-in; and the trail of what the
// users changed, recorded as ledger marks (purpose console-action).
//
// It decides who a console user is and what the user's role lets the
// console do; what a role may see and change of the scheme is the API's
// decision, made for the principal the role acts as (Role.Principal).
//
// Users live in the app database (console_users): a password only as its
// Argon2id hash with its salt and parameters, the TOTP secret sealed
// with the data key. Sessions live there too (console_sessions), so that
// they survive a restart and a failover, each under its token's SHA-256
// hash: the database holds neither a session's token nor its CSRF token.
package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/sqldb"
)

// Role is what a console user may do.
type Role string

// The roles.
const (
	// OperatorAdmin acts on everything, as the operator.
	OperatorAdmin Role = "operator-admin"
	// OperatorViewer reads everything the operator reads and changes
	// nothing.
	OperatorViewer Role = "operator-viewer"
	// Regulator reads everything, the audit trail included, and changes
	// nothing.
	Regulator Role = "regulator"
	// ParticipantAdmin acts for one participant, as its API key would.
	ParticipantAdmin Role = "participant-admin"
	// ParticipantViewer reads what its participant reads and changes
	// nothing.
	ParticipantViewer Role = "participant-viewer"
)

// Roles lists the roles, in the order the console shows them.
func Roles() []Role {
	return []Role{OperatorAdmin, OperatorViewer, Regulator, ParticipantAdmin, ParticipantViewer}
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	switch r {
	case OperatorAdmin, OperatorViewer, Regulator, ParticipantAdmin, ParticipantViewer:
		return true
	}
	return false
}

// Changes reports whether the role may change anything: the admins may;
// the viewers and the regulator only read.
func (r Role) Changes() bool { return r == OperatorAdmin || r == ParticipantAdmin }

// OfParticipant reports whether the role acts for one participant.
func (r Role) OfParticipant() bool { return r == ParticipantAdmin || r == ParticipantViewer }

// Principal is the API principal a user of role r acts as: the operator
// for operator-admin; the regulator's read-only principal for
// operator-viewer and regulator, so that the API itself refuses them any
// change; participant p for the participant roles (whose viewer the
// console keeps from changing anything, since the API cannot tell it from
// its admin).
func (r Role) Principal(p participant.Participant) auth.Principal {
	switch r {
	case OperatorAdmin:
		return auth.Principal{Role: auth.RoleOperator}
	case OperatorViewer, Regulator:
		return auth.Principal{Role: auth.RoleRegulator}
	case ParticipantAdmin, ParticipantViewer:
		return auth.Principal{Role: auth.RoleParticipant, Participant: p}
	}
	return auth.Principal{}
}

// Limits of users' names and passwords, and of the users kept.
const (
	UsernameMin = 3
	UsernameMax = 64
	PasswordMin = 12  // characters
	PasswordMax = 128 // characters
	UsersMax    = 10000
)

// Errors of the users' store.
var (
	// ErrInvalid means the user is not valid: the message says why.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid console user")
	// ErrExists means a user of that name exists, whatever the case of
	// its letters: choose another name.
	ErrExists = fault.New(fault.Conflict, "", "a console user of this name exists")
	// ErrNotFound means there is no user of that name.
	ErrNotFound = fault.New(fault.NotFound, "", "no console user of this name")
)

// invalid is ErrInvalid with its reason as the message.
type invalid struct{ reason string }

func (e *invalid) Error() string { return e.reason }
func (e *invalid) Unwrap() error { return ErrInvalid }

// ValidUsername reports whether name may be a user's name: 3 to 64 ASCII
// letters, digits and . _ - @, starting with a letter or digit. Names
// are compared without regard to case.
func ValidUsername(name string) bool {
	if len(name) < UsernameMin || len(name) > UsernameMax {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-' || c == '@') && i > 0:
		default:
			return false
		}
	}
	return true
}

// checkPassword refuses a password shorter than PasswordMin or longer
// than PasswordMax characters, or not UTF-8.
func checkPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return &invalid{"the password must be UTF-8 text"}
	}
	if n := utf8.RuneCountInString(pw); n < PasswordMin || n > PasswordMax {
		return &invalid{fmt.Sprintf("the password must be %d to %d characters", PasswordMin, PasswordMax)}
	}
	return nil
}

// key is the name a user is stored and found under.
func key(name string) string { return strings.ToLower(name) }

// User is a console user as the store shows it: never its password's
// hash nor its TOTP secret.
type User struct {
	Username string
	Role     Role
	// Participant is the participant of a participant role; "" for the
	// others.
	Participant string
	CreatedAt   time.Time
	// LockedUntil is when the user's lockout ends; zero when it is not
	// locked.
	LockedUntil time.Time
}

// New is a user to create.
type New struct {
	Username, Password string
	Role               Role
	Participant        string
}

// Participants finds participants: the registry.
type Participants interface {
	Get(id string) (participant.Participant, bool)
}

// Options build a store. DB, Seal, Participants and Ledger are required.
type Options struct {
	DB   *sqldb.DB
	Seal *seal.Key
	// Participants checks the participant of participant roles.
	Participants Participants
	// Ledger records the users' actions as marks.
	Ledger mark.Submitter
	// MarkCurrency is the currency of the action marks, which means
	// nothing for them (CNY).
	MarkCurrency money.Currency
	// Hash are the Argon2id parameters of new passwords (DefaultHash).
	Hash Hash
	// Sessions bound the sessions (see SessionLimits for defaults).
	Sessions SessionLimits
	// Lockout: after LockAfter failed sign-ins (5) a user is locked for
	// LockFor (15 minutes).
	LockAfter int
	LockFor   time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Store keeps the console's users, their sign-ins and sessions, and
// records their actions. It is safe for concurrent use.
type Store struct {
	db       *sqldb.DB
	seal     *seal.Key
	parts    Participants
	ledger   mark.Submitter
	cur      money.Currency
	hash     Hash
	lockN    int
	lockFor  time.Duration
	now      func() time.Time
	hashing  chan struct{}
	dummy    string // a hash no password matches, verified for unknown users
	sessions *sessions
}

// Open returns the store of opts.
func Open(opts Options) (*Store, error) {
	if opts.DB == nil || opts.Seal == nil || opts.Participants == nil || opts.Ledger == nil {
		return nil, errors.New("users: a database, a data key, the participants and the ledger are required")
	}
	if opts.MarkCurrency == 0 {
		opts.MarkCurrency = money.MustCurrency("CNY")
	}
	if opts.Hash == (Hash{}) {
		opts.Hash = DefaultHash
	}
	if err := opts.Hash.Validate(); err != nil {
		return nil, err
	}
	if opts.LockAfter == 0 {
		opts.LockAfter = 5
	}
	if opts.LockFor == 0 {
		opts.LockFor = 15 * time.Minute
	}
	if opts.LockAfter < 1 || opts.LockFor < 0 {
		return nil, errors.New("users: the lockout needs at least one failure and a duration")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Sessions.ensureDefaults()
	if err := opts.Sessions.validate(); err != nil {
		return nil, err
	}
	s := &Store{db: opts.DB, seal: opts.Seal, parts: opts.Participants, ledger: opts.Ledger, cur: opts.MarkCurrency,
		hash: opts.Hash, lockN: opts.LockAfter, lockFor: opts.LockFor, now: opts.Now,
		hashing: make(chan struct{}, hashingMax), sessions: newSessions(opts.DB, opts.Sessions)}
	d, err := opts.Hash.hash(randomText())
	if err != nil {
		return nil, err
	}
	s.dummy = d
	return s, nil
}

// Create creates a user and returns it with its TOTP key's otpauth URI,
// which is shown once: the user scans it into an authenticator app. who
// is recorded as having created it.
func (s *Store) Create(ctx context.Context, who Actor, n New) (User, string, error) {
	if !ValidUsername(n.Username) {
		return User{}, "", &invalid{fmt.Sprintf("username: %d to %d ASCII letters, digits and . _ - @, starting with a letter or digit", UsernameMin, UsernameMax)}
	}
	if err := checkPassword(n.Password); err != nil {
		return User{}, "", err
	}
	if !n.Role.Valid() {
		return User{}, "", &invalid{"role: one of operator-admin, operator-viewer, regulator, participant-admin, participant-viewer"}
	}
	if n.Role.OfParticipant() {
		p, ok := s.parts.Get(n.Participant)
		if n.Participant == "" || !ok {
			return User{}, "", &invalid{"participant: a participant role needs an existing participant"}
		}
		if p.Status == participant.Closed {
			return User{}, "", &invalid{"participant: " + p.ID + " is closed"}
		}
	} else if n.Participant != "" {
		return User{}, "", &invalid{"participant: only the participant roles have one"}
	}
	hash, err := s.hashPassword(ctx, n.Password)
	if err != nil {
		return User{}, "", err
	}
	secret, err := newTOTPSecret()
	if err != nil {
		return User{}, "", err
	}
	u := User{Username: n.Username, Role: n.Role, Participant: n.Participant, CreatedAt: s.now().UTC()}
	k := key(n.Username)
	err = s.db.Transact(ctx, func(tx *sql.Tx) error {
		var count int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM console_users`).Scan(&count); err != nil {
			return err
		}
		if count >= UsersMax {
			return &invalid{fmt.Sprintf("there are %d console users already, the most there may be", count)}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO console_users (username_key, username, role, participant, password_hash, totp_secret, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, k, u.Username, string(u.Role), u.Participant, hash,
			s.seal.Seal(secretContext(k), secret), u.CreatedAt.UnixNano())
		return err
	})
	if sqldb.IsUniqueViolation(err) {
		return User{}, "", ErrExists
	}
	if err != nil {
		if fault.Of(err) != nil {
			return User{}, "", err
		}
		return User{}, "", fmt.Errorf("users: create %s: %w", n.Username, err)
	}
	if err := s.Record(ctx, who, ActionUserCreate, u.Username); err != nil {
		// No user without its trail: take it back.
		if _, derr := s.db.ExecContext(ctx, `DELETE FROM console_users WHERE username_key = $1`, k); derr != nil {
			err = errors.Join(err, derr)
		}
		return User{}, "", err
	}
	return u, totpURI(u.Username, secret), nil
}

// secretContext binds a sealed TOTP secret to its user's row, so that a
// secret copied to another user does not open there.
func secretContext(k string) string { return "console_users.totp_secret/" + k }

// List returns up to limit users after the name after (in lower case
// order; "" for the first page).
func (s *Store) List(ctx context.Context, after string, limit int) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM console_users
		WHERE username_key > $1 ORDER BY username_key LIMIT $2`, key(after), limit)
	if err != nil {
		return nil, fmt.Errorf("users: list: %w", err)
	}
	defer rows.Close()
	var out []User
	now := s.now()
	for rows.Next() {
		u, err := scanUser(rows, now)
		if err != nil {
			return nil, fmt.Errorf("users: list: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Get returns the user named name, in any case.
func (s *Store) Get(ctx context.Context, name string) (User, error) {
	if !ValidUsername(name) {
		return User{}, ErrNotFound
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM console_users WHERE username_key = $1`, key(name)), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("users: get %s: %w", name, err)
	}
	return u, nil
}

// userColumns are what scanUser reads.
const userColumns = `username, role, participant, created_at, locked_until`

func scanUser(row sqldb.Row, now time.Time) (User, error) {
	var u User
	var role string
	var created, locked int64
	if err := row.Scan(&u.Username, &role, &u.Participant, &created, &locked); err != nil {
		return User{}, err
	}
	u.Role, u.CreatedAt = Role(role), time.Unix(0, created).UTC()
	if lu := time.Unix(0, locked); locked != 0 && lu.After(now) {
		u.LockedUntil = lu.UTC()
	}
	return u, nil
}

// Delete deletes the user named name (in any case) and ends its
// sessions; who is recorded as having deleted it. The record comes
// first, so that no user goes without its trail.
func (s *Store) Delete(ctx context.Context, who Actor, name string) error {
	u, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	if err := s.Record(ctx, who, ActionUserDelete, u.Username); err != nil {
		return err
	}
	// Its sessions go with it, in the same transaction (the foreign
	// key's cascade would take them too).
	err = s.db.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE username_key = $1`, key(name)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM console_users WHERE username_key = $1`, key(name))
		return err
	})
	if err != nil {
		return fmt.Errorf("users: delete %s: %w", name, err)
	}
	return nil
}
