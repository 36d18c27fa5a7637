// Package portability owns portability claims: an end user who wants an
// alias registered at one participant (the owner) moved to another (the
// claimant) has the claimant file a claim; the owner hears of it by a
// party.claim callback, delivered until it is acknowledged or the claim
// ends, and confirms or cancels it within a timeout. On confirmation, or
// when the owner lets the timeout pass, the alias moves to the claimant,
// with the claimant's name and account for the end user, through the
// directory (directory.Move), under the same quota as any registration;
// on cancellation it stays.
//
// Claims are kept in the app database (party_claims), the claimant's
// name and account sealed, together with the state of their callback
// and of their move, so that a restart picks up where the last process
// left off: Run delivers what is undelivered, ends what has expired and
// finishes moves a crash interrupted.
package portability

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/sqldb"
)

// Status is where a claim stands.
type Status string

// The statuses. Pending is the only one that changes.
const (
	// Pending: filed, waiting for the owner's answer or the timeout.
	Pending Status = "pending"
	// Confirmed: the owner confirmed; the alias moves to the claimant.
	Confirmed Status = "confirmed"
	// Cancelled: the owner cancelled; the alias stays.
	Cancelled Status = "cancelled"
	// Expired: the owner did not answer in time; the alias moves to the
	// claimant.
	Expired Status = "expired"
	// Failed: the alias could not be moved (Claim.Reason says why: the
	// claimant's quota, another participant has the alias now).
	Failed Status = "failed"
)

// Claim is a portability claim.
type Claim struct {
	ID    string
	Type  directory.Type
	Value string
	// Claimant asks for the alias; Owner had it when the claim was filed.
	Claimant, Owner string
	// Name and Account are the claimant's for the end user; private to
	// the claimant and the switch.
	Name, Account string
	Currency      money.Currency
	Status        Status
	// Reason is the fault code of a failed move.
	Reason    string
	CreatedAt time.Time
	ExpiresAt time.Time
	// EndedAt is when the claim stopped being pending; zero while it is.
	EndedAt time.Time
	// Moved tells that the alias was moved to the claimant.
	Moved bool
	// Notified tells that the owner acknowledged the party.claim callback.
	Notified bool
}

// Errors of claims. Branch on them with errors.Is.
var (
	// ErrNotFound: no such claim, or none the caller may see (HTTP 404).
	ErrNotFound = fault.New(fault.NotFound, "", "portability: no such claim")
	// ErrOwnAlias: the claimant owns the alias already (HTTP 409).
	ErrOwnAlias = fault.New(fault.Conflict, "", "portability: the claimant owns the alias already")
	// ErrPending: the alias has a pending claim; wait for it to end
	// (HTTP 409).
	ErrPending = fault.New(fault.Conflict, "", "portability: the alias has a pending claim")
	// ErrEnded: the claim is no longer pending; read it for its outcome
	// (HTTP 409).
	ErrEnded = fault.New(fault.Conflict, "", "portability: the claim has ended")
	// ErrNotOwner: only the alias's owner answers a claim (HTTP 403).
	ErrNotOwner = fault.New(fault.Forbidden, "", "portability: only the owner answers a claim")
	// ErrInvalid: the claim's name, account or currency is unusable
	// (HTTP 400).
	ErrInvalid = fault.New(fault.Invalid, "", "portability: invalid claim")
	// ErrCurrency: the claimant does not use the alias's currency
	// (HTTP 422).
	ErrCurrency = fault.New(fault.Refused, "currency-not-enabled", "portability: the claimant is not enabled for the currency")
	// ErrTooMany: the claimant has MaxPending pending claims; wait for
	// some to end (HTTP 409).
	ErrTooMany = fault.New(fault.Conflict, "", "portability: too many pending claims")
	// ErrClaimantClosed: the claimant was closed before the alias could
	// move; the claim fails with its code.
	ErrClaimantClosed = fault.New(fault.Conflict, "participant-closed", "portability: the claimant is closed")
	// ErrClaimantSuspended: the claimant is suspended when the alias
	// would move; the claim fails with its code.
	ErrClaimantSuspended = fault.New(fault.Conflict, "participant-suspended", "portability: the claimant is suspended")
	// ErrOwnerNotNotified: the claim expired without the owner having
	// acknowledged its party.claim callback (no callback URL, or one that
	// never answered): silence from an owner who never heard of the
	// claim is no consent, and the alias stays.
	ErrOwnerNotNotified = fault.New(fault.Conflict, "owner-not-notified", "portability: the owner was never notified of the claim")
)

// Directory is what claims need of the alias directory.
type Directory interface {
	Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error)
	Move(ctx context.Context, from string, p directory.Party) (directory.Party, error)
}

// Participants finds participants, for their callback URLs and secrets.
type Participants interface {
	Get(id string) (participant.Participant, bool)
}

// Sender posts a signed callback to a participant and returns its
// answer; an error means it was not delivered. (*callback.Client) is one.
type Sender interface {
	Post(ctx context.Context, p *participant.Participant, body []byte) ([]byte, error)
}

// Config tunes claims. EnsureDefaults states every default.
type Config struct {
	// Timeout is how long the owner has to answer (7 days).
	Timeout time.Duration
	// Interval is how often Run looks for work besides being woken (1 s).
	Interval time.Duration
	// RetryMax caps the delay between attempts to deliver a callback
	// (5 minutes); it doubles from one second.
	RetryMax time.Duration
	// MaxPending bounds each claimant's pending claims (10,000).
	MaxPending int
}

// EnsureDefaults fills the fields left zero.
func (c *Config) EnsureDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 7 * 24 * time.Hour
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Minute
	}
	if c.MaxPending == 0 {
		c.MaxPending = 10000
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("claim timeout %v: must be positive", c.Timeout)
	case c.Interval <= 0:
		return fmt.Errorf("claim interval %v: must be positive", c.Interval)
	case c.RetryMax <= 0:
		return fmt.Errorf("claim retry max %v: must be positive", c.RetryMax)
	case c.MaxPending < 1:
		return fmt.Errorf("claims pending per claimant %d: must be at least 1", c.MaxPending)
	}
	return nil
}

// Deps are what the service is built on; all but Log and Now are
// required. Render makes the body of the party.claim callback in the
// owner's protocol.
type Deps struct {
	DB           *sqldb.DB
	Directory    Directory
	Participants Participants
	Sender       Sender
	Render       func(*Claim) ([]byte, error)
	Seal         *seal.Key
	Log          *slog.Logger
	Now          func() time.Time
}

// Service files, answers and ends claims. It is safe for concurrent use.
type Service struct {
	cfg  Config
	d    Deps
	wake chan struct{}
}

// New returns the service; cfg is made complete and checked.
func New(cfg Config, d Deps) (*Service, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("portability: %w", err)
	}
	if d.DB == nil || d.Directory == nil || d.Participants == nil || d.Sender == nil || d.Render == nil || d.Seal == nil {
		return nil, errors.New("portability: DB, Directory, Participants, Sender, Render and Seal are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{cfg: cfg, d: d, wake: make(chan struct{}, 1)}, nil
}

// The contexts under which a claim's private fields are sealed.
const (
	sealName    = "party_claims.name"
	sealAccount = "party_claims.account"
)

// Limits of what a claim holds, as the directory's.
const (
	maxNameRunes    = 140
	maxAccountBytes = 128
)

// Request is what a claimant files.
type Request struct {
	Name, Account string
	// Currency of the end user's account at the claimant; zero: the
	// alias's current currency.
	Currency money.Currency
}

// File files claimant's claim on the alias (t, value), which must be
// normalized: directory.ErrNotFound if no one has it, ErrOwnAlias if the
// claimant has it, ErrPending if it has a pending claim, ErrInvalid or
// ErrCurrency for the request, ErrTooMany past MaxPending. The owner is
// told by a callback, soon.
func (s *Service) File(ctx context.Context, claimant participant.Participant, t directory.Type, value string, req Request) (Claim, error) {
	switch {
	case strings.TrimSpace(req.Name) == "" || !utf8.ValidString(req.Name) || utf8.RuneCountInString(req.Name) > maxNameRunes:
		return Claim{}, fmt.Errorf("%w: name must be 1-%d characters", ErrInvalid, maxNameRunes)
	case strings.TrimSpace(req.Account) == "" || !utf8.ValidString(req.Account) || len(req.Account) > maxAccountBytes:
		return Claim{}, fmt.Errorf("%w: account must be 1-%d bytes", ErrInvalid, maxAccountBytes)
	}
	p, err := s.d.Directory.Lookup(ctx, t, value)
	if err != nil {
		return Claim{}, fmt.Errorf("portability: file: %w", err)
	}
	if p.Participant == claimant.ID {
		return Claim{}, ErrOwnAlias
	}
	c := req.Currency
	if c == 0 {
		c = p.Currency
	}
	if !claimant.Uses(c) {
		return Claim{}, fmt.Errorf("%w: %s", ErrCurrency, c)
	}
	id, err := directory.NewRandomKey(rand.Reader)
	if err != nil {
		return Claim{}, err
	}
	now := s.d.Now().UTC()
	cl := Claim{ID: id, Type: p.Type, Value: p.Value, Claimant: claimant.ID, Owner: p.Participant, Name: req.Name,
		Account: req.Account, Currency: c, Status: Pending, CreatedAt: trunc(now), ExpiresAt: trunc(now.Add(s.cfg.Timeout))}
	err = s.d.DB.Transact(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM party_claims WHERE claimant = $1 AND status = 'pending'`,
			claimant.ID).Scan(&n); err != nil {
			return err
		}
		if n >= s.cfg.MaxPending {
			return ErrTooMany
		}
		// A pending claim of the alias is found first, not by the unique
		// index failing: on PostgreSQL that would abort the transaction.
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM party_claims WHERE type = $1 AND value = $2 AND status = 'pending'`,
			string(cl.Type), cl.Value).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrPending
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO party_claims (id, type, value, claimant, owner, name, account, currency,
			status, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10)`,
			cl.ID, string(cl.Type), cl.Value, cl.Claimant, cl.Owner, s.d.Seal.Seal(sealName, cl.Name),
			s.d.Seal.Seal(sealAccount, cl.Account), cl.Currency.String(), cl.CreatedAt.UnixNano(), cl.ExpiresAt.UnixNano())
		if sqldb.IsUniqueViolation(err) {
			// A concurrent claim of the alias won (SQLite only: there
			// the failed statement does not spoil the transaction).
			return ErrPending
		}
		return err
	})
	if err != nil {
		if sqldb.IsUniqueViolation(err) {
			return Claim{}, ErrPending
		}
		return Claim{}, fmt.Errorf("portability: file: %w", err)
	}
	s.d.Log.Info("portability claim filed", "claim", cl.ID, "type", cl.Type, "claimant", cl.Claimant, "owner", cl.Owner,
		"expires", cl.ExpiresAt)
	s.Wake()
	return cl, nil
}

// trunc keeps what the database keeps: nanoseconds, UTC, no monotonic
// reading.
func trunc(t time.Time) time.Time { return time.Unix(0, t.UnixNano()).UTC() }

const qClaim = `SELECT id, type, value, claimant, owner, name, account, currency, status, reason, created_at, expires_at,
	ended_at, moved_at, notified_at FROM party_claims`

// scanClaim reads a row of qClaim.
func (s *Service) scanClaim(row interface{ Scan(...any) error }) (Claim, error) {
	var (
		c                                   Claim
		t, cur, status                      string
		created, expires, ended, moved, ack int64
	)
	if err := row.Scan(&c.ID, &t, &c.Value, &c.Claimant, &c.Owner, &c.Name, &c.Account, &cur, &status, &c.Reason,
		&created, &expires, &ended, &moved, &ack); err != nil {
		return Claim{}, err
	}
	var err error
	if c.Type, err = directory.ParseType(t); err != nil {
		return Claim{}, fmt.Errorf("stored type: %w", err)
	}
	if c.Currency, err = money.ParseCurrency(cur); err != nil {
		return Claim{}, fmt.Errorf("stored currency: %w", err)
	}
	if c.Name, err = s.d.Seal.Open(sealName, c.Name); err != nil {
		return Claim{}, fmt.Errorf("stored name: %w", err)
	}
	if c.Account, err = s.d.Seal.Open(sealAccount, c.Account); err != nil {
		return Claim{}, fmt.Errorf("stored account: %w", err)
	}
	c.Status = Status(status)
	c.CreatedAt, c.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	if ended != 0 {
		c.EndedAt = time.Unix(0, ended).UTC()
	}
	c.Moved, c.Notified = moved != 0, ack != 0
	return c, nil
}

// Get returns the claim id, or ErrNotFound. Who may see it is the
// caller's to decide (the claimant, the owner, the operator).
func (s *Service) Get(ctx context.Context, id string) (Claim, error) {
	c, err := s.scanClaim(s.d.DB.QueryRowContext(ctx, qClaim+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Claim{}, ErrNotFound
	}
	if err != nil {
		return Claim{}, fmt.Errorf("portability: claim %s: %w", id, err)
	}
	return c, nil
}

// ListMax bounds a page of List.
const ListMax = 1000

// Cursor is where a page of List starts: after the claim created at
// CreatedAt (Unix nanoseconds) with ID, in List's order; zero for the
// newest.
type Cursor struct {
	CreatedAt int64
	ID        string
}

// List returns up to limit claims newest first, of participant (as its
// claimant or its owner; "" for all), only those of status when it is
// not empty, after the cursor after. The next page starts after the last
// claim of a full page. An owner that missed a party.claim callback finds
// its pending claims here.
func (s *Service) List(ctx context.Context, participant string, status Status, after Cursor, limit int) ([]Claim, error) {
	limit = min(max(limit, 1), ListMax)
	if after.CreatedAt <= 0 {
		after = Cursor{CreatedAt: math.MaxInt64}
	}
	rows, err := s.d.DB.QueryContext(ctx, qClaim+` WHERE ($1 = '' OR claimant = $1 OR owner = $1)
		AND ($2 = '' OR status = $2) AND (created_at < $3 OR created_at = $3 AND id < $4)
		ORDER BY created_at DESC, id DESC LIMIT $5`,
		participant, string(status), after.CreatedAt, after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("portability: list claims: %w", err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		c, err := s.scanClaim(rows)
		if err != nil {
			return nil, fmt.Errorf("portability: list claims: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("portability: list claims: %w", err)
	}
	return out, nil
}

// Confirm is the owner's yes: the claim ends confirmed and the alias
// moves to the claimant at once (or, if the move fails, the claim ends
// failed). ErrNotFound if there is no such claim or owner is not its
// owner, ErrEnded if it is not pending.
func (s *Service) Confirm(ctx context.Context, owner, id string) (Claim, error) {
	c, err := s.answer(ctx, owner, id, Confirmed)
	if err != nil {
		return Claim{}, err
	}
	return s.move(ctx, c), nil
}

// Cancel is the owner's no: the claim ends cancelled and the alias
// stays. Errors as Confirm's.
func (s *Service) Cancel(ctx context.Context, owner, id string) (Claim, error) {
	return s.answer(ctx, owner, id, Cancelled)
}

// answer ends the pending claim id of owner with status.
func (s *Service) answer(ctx context.Context, owner, id string, status Status) (Claim, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return Claim{}, err
	}
	if c.Owner != owner {
		if c.Claimant == owner {
			return Claim{}, ErrNotOwner
		}
		return Claim{}, ErrNotFound
	}
	ok, err := s.end(ctx, &c, status)
	if err != nil {
		return Claim{}, err
	}
	if !ok {
		return Claim{}, fmt.Errorf("%w: it is %s", ErrEnded, c.Status)
	}
	s.d.Log.Info("portability claim answered", "claim", c.ID, "status", status, "owner", owner)
	return c, nil
}

// end moves c from pending to status, if it still is pending; c then
// holds the claim as it is.
func (s *Service) end(ctx context.Context, c *Claim, status Status) (bool, error) {
	now := trunc(s.d.Now())
	res, err := s.d.DB.ExecContext(ctx, `UPDATE party_claims SET status = $2, ended_at = $3 WHERE id = $1 AND status = 'pending'`,
		c.ID, string(status), now.UnixNano())
	if err != nil {
		return false, fmt.Errorf("portability: end claim %s: %w", c.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("portability: end claim %s: %w", c.ID, err)
	}
	if n == 0 {
		cur, err := s.Get(ctx, c.ID)
		if err != nil {
			return false, err
		}
		*c = cur
		return false, nil
	}
	c.Status, c.EndedAt = status, now
	return true, nil
}

// move moves the alias of the confirmed or expired claim c to the
// claimant and records the outcome: moved, or failed with the directory's
// refusal. A failure of the database leaves c as it is, for Run to retry.
func (s *Service) move(ctx context.Context, c Claim) Claim {
	p := directory.Party{Type: c.Type, Value: c.Value, Participant: c.Claimant, Name: c.Name, Account: c.Account,
		Currency: c.Currency, CreatedAt: s.d.Now()}
	var err error
	// A claimant closed since it filed gets nothing: its aliases are
	// gone for good; a suspended one gets nothing either, as it could
	// not register the alias itself. An owner that never acknowledged
	// the claim's callback did not consent by its silence.
	cp, ok := s.d.Participants.Get(c.Claimant)
	switch {
	case !ok || cp.Status == participant.Closed:
		err = ErrClaimantClosed
	case cp.Status != participant.Active:
		err = ErrClaimantSuspended
	case c.Status == Expired && !c.Notified:
		err = ErrOwnerNotNotified
	default:
		_, err = s.d.Directory.Move(ctx, c.Owner, p)
	}
	now := trunc(s.d.Now()).UnixNano()
	switch k := fault.KindOf(err); {
	case err == nil:
		if _, err := s.d.DB.ExecContext(ctx, `UPDATE party_claims SET moved_at = $2 WHERE id = $1`, c.ID, now); err != nil {
			s.d.Log.Error("portability: record a move", "claim", c.ID, "err", err)
			return c
		}
		c.Moved = true
		s.d.Log.Info("portability claim: alias moved", "claim", c.ID, "type", c.Type, "from", c.Owner, "to", c.Claimant)
	case k == fault.Internal || k == fault.Unavailable:
		s.d.Log.Error("portability: move an alias", "claim", c.ID, "err", err)
	default:
		reason := fault.CodeOf(err)
		if _, err := s.d.DB.ExecContext(ctx, `UPDATE party_claims SET status = 'failed', reason = $2 WHERE id = $1`, c.ID, reason); err != nil {
			s.d.Log.Error("portability: record a failed move", "claim", c.ID, "err", err)
			return c
		}
		c.Status, c.Reason = Failed, reason
		s.d.Log.Warn("portability claim failed", "claim", c.ID, "reason", reason, "err", err)
	}
	return c
}

// Wake makes Run look for work now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers claims' callbacks, ends expired claims and finishes their
// moves until ctx ends: every Interval, and when woken.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Error("portability claims", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// tickBatch bounds the claims each step of Tick takes on.
const tickBatch = 100

// Tick does, once, what is due: it ends the pending claims past their
// deadline (expired), moves the aliases of confirmed and expired claims
// not moved yet, and delivers the callbacks of pending claims whose next
// attempt is due.
func (s *Service) Tick(ctx context.Context) error {
	now := trunc(s.d.Now())
	expired, err := s.claims(ctx, `WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, now.UnixNano(), tickBatch)
	if err != nil {
		return err
	}
	for _, c := range expired {
		if ok, err := s.end(ctx, &c, Expired); err != nil {
			return err
		} else if ok {
			s.d.Log.Info("portability claim expired", "claim", c.ID, "owner", c.Owner)
		}
	}
	unmoved, err := s.claims(ctx, `WHERE status IN ('confirmed', 'expired') AND moved_at = 0 ORDER BY ended_at LIMIT $1`, tickBatch)
	if err != nil {
		return err
	}
	for _, c := range unmoved {
		s.move(ctx, c)
	}
	due, err := s.claims(ctx, `WHERE status = 'pending' AND notified_at = 0 AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`,
		now.UnixNano(), tickBatch)
	if err != nil {
		return err
	}
	for _, c := range due {
		if ctx.Err() != nil {
			return nil
		}
		s.notify(ctx, c)
	}
	return nil
}

// claims reads the claims of qClaim and where, with where's args.
func (s *Service) claims(ctx context.Context, where string, args ...any) ([]Claim, error) {
	rows, err := s.d.DB.QueryContext(ctx, qClaim+" "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("portability: claims: %w", err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		c, err := s.scanClaim(rows)
		if err != nil {
			return nil, fmt.Errorf("portability: claims: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// callbackTimeout bounds one attempt to deliver a callback.
const callbackTimeout = 10 * time.Second

// notify sends c's party.claim callback to its owner once, and records
// the outcome: delivered, or the time of the next attempt.
func (s *Service) notify(ctx context.Context, c Claim) {
	body, err := s.d.Render(&c)
	if err == nil {
		owner, ok := s.d.Participants.Get(c.Owner)
		switch {
		case !ok:
			err = errors.New("owner unknown")
		case owner.CallbackURL == "":
			err = errors.New("owner has no callback URL")
		default:
			cctx, cancel := context.WithTimeout(ctx, callbackTimeout)
			_, err = s.d.Sender.Post(cctx, &owner, body)
			cancel()
		}
	}
	now := trunc(s.d.Now()).UnixNano()
	if err == nil {
		if _, err := s.d.DB.ExecContext(ctx, `UPDATE party_claims SET notified_at = $2 WHERE id = $1`, c.ID, now); err != nil {
			s.d.Log.Error("portability: record a delivery", "claim", c.ID, "err", err)
		}
		return
	}
	var attempts int
	if err := s.d.DB.QueryRowContext(ctx, `SELECT attempts FROM party_claims WHERE id = $1`, c.ID).Scan(&attempts); err != nil {
		s.d.Log.Error("portability: record a failed delivery", "claim", c.ID, "err", err)
		return
	}
	delay := min(time.Second<<min(attempts, 30), s.cfg.RetryMax)
	s.d.Log.Warn("portability: party.claim callback not delivered", "claim", c.ID, "owner", c.Owner, "attempt", attempts+1,
		"retry in", delay, "err", err)
	if _, err := s.d.DB.ExecContext(ctx, `UPDATE party_claims SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1`,
		c.ID, now+int64(delay)); err != nil {
		s.d.Log.Error("portability: record a failed delivery", "claim", c.ID, "err", err)
	}
}
