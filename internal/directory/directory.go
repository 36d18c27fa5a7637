// Package directory owns the alias directory: which participant (wallet
// or bank) an alias such as a phone number, e-mail address, national ID,
// random key or wallet handle belongs to, and that participant's own
// reference for the end user behind it. It owns the rules that make one
// alias one key (Normalize), the masking of names shown to payers
// (MaskName), and the parties table of the app database (internal/sqldb),
// with an in-process cache of lookups in front of it and, optionally,
// the routes of all phone numbers in memory (Route).
//
// End users' names and account references are stored sealed with the
// switch's data key (Options.Seal), and opened once per database read:
// the cache and the routes hold them opened. The alias stays plain, as
// the key of every lookup. Each (participant, account) may hold at most
// Options.MaxAliasesPerAccount aliases, counted through the account's
// blind index. The operator may remove any alias (Remove, recorded with
// its reason), and a portability claim moves one (Move).
//
// Aliases not registered here may belong to another payment scheme:
// the operator routes alias prefixes to scheme links (SchemeRoutes, in
// scheme.go; not to be confused with routes.go's in-memory table of
// phone numbers), and Lookup asks the far scheme for them.
//
// The directory does not authenticate anyone: callers pass the
// participant on whose behalf they act, as established by the API layer.
package directory

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/sqldb"
)

// Errors of the directory. Branch on them with errors.Is; the wrapping
// error adds context but never the alias value or another participant's
// identity.
var (
	// ErrNotFound: no such alias. For a lookup, tell the payer the payee
	// is not registered (HTTP 404); for a delete, there is nothing to do.
	ErrNotFound = fault.New(fault.NotFound, "unknown-party", "directory: alias not found")
	// ErrOwnedByOther: the alias is registered to another participant.
	// Refuse the registration (HTTP 409); the end user must first have
	// the other participant delete it (portability is a process, not an
	// API call).
	ErrOwnedByOther = fault.New(fault.Conflict, "", "directory: alias is registered to another participant")
	// ErrNotOwner: a participant tried to delete an alias it does not
	// own. Refuse (HTTP 403 or 404); do not retry.
	ErrNotOwner = fault.New(fault.Forbidden, "", "directory: alias is owned by another participant")
	// ErrInvalidParty: a field of a Party to register other than its
	// alias is unusable (participant, name, account, currency). Refuse
	// the request (HTTP 400); do not retry. (An unusable alias is
	// ErrInvalidType or ErrInvalidValue, which a value not in normalized
	// form also is.)
	ErrInvalidParty = fault.New(fault.Invalid, "", "directory: invalid party")
	// ErrUnknownParticipant: the owning participant does not exist. A
	// bug or a race with participant administration; do not retry.
	ErrUnknownParticipant = fault.New(fault.NotFound, "", "directory: unknown participant")
	// ErrInvalidCursor: List was given a cursor it did not make. Start
	// again without one.
	ErrInvalidCursor = fault.New(fault.Invalid, "", "directory: invalid list cursor")
	// ErrBatchTooLarge: RegisterMany was given more than MaxBatch
	// parties. Split the batch.
	ErrBatchTooLarge = fault.New(fault.Invalid, "", "directory: batch too large")
	// ErrQuotaExceeded: the participant's account already has
	// Options.MaxAliasesPerAccount aliases. Refuse the registration
	// (HTTP 409); nothing was written. The end user must give up an
	// alias first.
	ErrQuotaExceeded = fault.New(fault.Conflict, "alias-quota-exceeded", "directory: the account has as many aliases as it may")
)

// Limits.
const (
	// MaxBatch is the most parties RegisterMany takes in one call (one
	// transaction): large enough to amortize a commit, small enough not
	// to hold SQLite's single write lock for long.
	MaxBatch = 1000
	// DefaultListLimit is List's page size when limit <= 0.
	DefaultListLimit = 100
	// MaxListLimit is the largest page List returns.
	MaxListLimit = 1000
	// DefaultCacheEntries is the cache size when Options.CacheEntries is
	// 0. An entry takes about 250 bytes with typical names and account
	// numbers, so a full default cache some 65 MB: the hot payees of
	// transfers, within the switch's memory budget of 1 GiB with 10 M
	// aliases; the rest are one database lookup away.
	DefaultCacheEntries = 1 << 18

	// DefaultMaxAliasesPerAccount is Options.MaxAliasesPerAccount's
	// default: an end user has a phone number, an e-mail address, an ID
	// and a random key or two; more for one account is a sign of a
	// participant hoarding or farming aliases.
	DefaultMaxAliasesPerAccount = 5

	maxNameRunes    = 140
	maxAccountBytes = 128
	maxParticipant  = 128
)

// Party is an alias and whom it designates.
type Party struct {
	// Type and Value are the alias; Value is normalized (see Normalize).
	Type  Type
	Value string
	// Participant is the id of the owning participant.
	Participant string
	// Name is the end user's full name. It is private: show other
	// participants only MaskName(Name).
	Name string
	// Account is the owner's own reference for the end user (an account
	// or wallet number); it is private to the owner and the switch,
	// which passes it back to the owner when crediting.
	Account string
	// Currency is the currency of the end user's account, which a payer
	// needs to know to quote the payment.
	Currency money.Currency
	// CreatedAt is when the alias was first registered; re-registering
	// by the same owner keeps it. Register sets it to the current time
	// when zero.
	CreatedAt time.Time
}

// MaskedName returns the name as another participant may see it.
func (p Party) MaskedName() string { return MaskName(p.Name) }

// Cursor returns the List cursor that continues after p.
func (p Party) Cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(p.Type) + "\x00" + p.Value))
}

// Options configure a Directory.
type Options struct {
	// CacheEntries bounds the lookup cache: 0 means DefaultCacheEntries,
	// a negative number means no cache. The cache is per process: turn
	// it off when another process writes the same database, as it would
	// not see those writes.
	CacheEntries int
	// CacheMaxAge, if positive, bounds how old a cached lookup may be:
	// for a process that shares the database with one that writes it
	// (a cluster's follower), whose cache would otherwise keep what the
	// writer changed since.
	CacheMaxAge time.Duration
	// Now is the cache's clock for CacheMaxAge (time.Now).
	Now func() time.Time
	// Routes keeps the routes of all phone-number aliases in memory
	// (about 21 bytes per alias), loaded in the background from New on,
	// for Route. Like the cache, it is per process.
	Routes bool
	// RoutesLoaded, if set, is called once the routes are loaded, with
	// how many aliases were read, or the error that stopped loading.
	RoutesLoaded func(n int, took time.Duration, err error)
	// Seal seals end users' names and account references at rest and
	// makes the accounts' blind indexes. With it, New re-seals in the
	// background the rows written before sealing existed (see Reseal).
	// Nil stores them in plain text, for tests only.
	Seal *seal.Key
	// Resealed, if set, is called once the background re-sealing has
	// ended, with how many rows it sealed, or the error that stopped it.
	Resealed func(n int, took time.Duration, err error)
	// KeepPlain leaves rows stored in plain text as they are, with Seal
	// set: another process re-seals them (a cluster's leader).
	KeepPlain bool
	// MaxAliasesPerAccount bounds the aliases of one (participant,
	// account): 0 means DefaultMaxAliasesPerAccount.
	MaxAliasesPerAccount int
	// SchemeRoutes, if set, resolve the aliases not registered here
	// that the operator routes to other schemes (see Lookup).
	SchemeRoutes *SchemeRoutes
}

// Directory is the alias directory. It is safe for concurrent use.
type Directory struct {
	db     *sqldb.DB
	cache  *cache  // nil: no cache
	routes *routes // nil: no routes in memory

	stopLoad context.CancelFunc // stops loading the routes
	loaded   chan struct{}      // closed when loading the routes ended

	schemes       *SchemeRoutes // nil: no routes to other schemes
	seal          *seal.Key     // nil: plain text
	maxPerAccount int
	stopSeal      context.CancelFunc // stops re-sealing
	resealed      chan struct{}      // closed when re-sealing ended

	mu     sync.Mutex               // serializes preparing and closing
	lookup atomic.Pointer[sql.Stmt] // prepared on first use: New has no context and no error

	lookups lookupCounters // by result, for metrics (stats.go)
}

// New returns the directory over db, whose migrations have created the
// parties table.
func New(db *sqldb.DB, opts Options) *Directory {
	d := &Directory{db: db, seal: opts.Seal, maxPerAccount: opts.MaxAliasesPerAccount, schemes: opts.SchemeRoutes}
	if d.maxPerAccount <= 0 {
		d.maxPerAccount = DefaultMaxAliasesPerAccount
	}
	switch n := opts.CacheEntries; {
	case n == 0:
		d.cache = newCache(DefaultCacheEntries)
	case n > 0:
		d.cache = newCache(n)
	}
	if d.cache != nil && opts.CacheMaxAge > 0 {
		d.cache.maxAge, d.cache.now = opts.CacheMaxAge.Nanoseconds(), opts.Now
		if d.cache.now == nil {
			d.cache.now = time.Now
		}
	}
	if opts.Routes {
		d.routes = newRoutes()
		d.startLoading(opts.RoutesLoaded)
	}
	if d.seal != nil && !opts.KeepPlain {
		d.startResealing(opts.Resealed)
	}
	return d
}

// Close stops loading routes and releases the prepared statement; call it when
// lookups have ended. It does not close the database.
func (d *Directory) Close() error {
	if d.stopLoad != nil {
		d.stopLoad()
		<-d.loaded
	}
	if d.stopSeal != nil {
		d.stopSeal()
		<-d.resealed
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.lookup.Swap(nil)
	if s == nil {
		return nil
	}
	return s.Close()
}

// The statements. They are the same for SQLite and PostgreSQL.
const (
	qLookup = `SELECT participant, name, account, currency, created_at FROM parties WHERE type = $1 AND value = $2`
	// qInsert does nothing, rather than failing, on an existing alias:
	// on PostgreSQL a failed statement would abort the transaction, and
	// ON CONFLICT waits for a concurrent insert of the same alias to end,
	// which is what makes registration race-safe.
	qInsert = `INSERT INTO parties (type, value, participant, name, account, currency, created_at, account_index)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (type, value) DO NOTHING`
	qUpdate = `UPDATE parties SET name = $4, account = $5, currency = $6, account_index = $7
		WHERE type = $1 AND value = $2 AND participant = $3 RETURNING created_at`
	// qCount counts the aliases of an account other than the one being
	// written, for the quota; parties_account serves it.
	qCount  = `SELECT count(*) FROM parties WHERE participant = $1 AND account_index = $2 AND NOT (type = $3 AND value = $4)`
	qOwner  = `SELECT participant FROM parties WHERE type = $1 AND value = $2`
	qDelete = `DELETE FROM parties WHERE type = $1 AND value = $2 AND participant = $3`
	// qOwner reads a registering participant's status; on PostgreSQL
	// FOR SHARE holds it until the registration commits, so that closing
	// the participant (an UPDATE of its row) waits for the registration,
	// and the removal of its aliases that follows sees it.
	qOwnerStatus = `SELECT status FROM participants WHERE id = $1`
	// Row-value comparison lets both databases walk the
	// parties_participant index from the cursor on.
	qList = `SELECT type, value, name, account, currency, created_at FROM parties
		WHERE participant = $1 AND (type, value) > ($2, $3)
		ORDER BY type, value LIMIT $4`
	qListFirst = `SELECT type, value, name, account, currency, created_at FROM parties
		WHERE participant = $1 ORDER BY type, value LIMIT $2`
)

// Lookup returns the party registered under the alias (t, value), or
// ErrNotFound. The value must be normalized already (see Normalize); a
// value that is not is simply not found.
//
// An alias not registered here that a scheme route matches (longest
// prefix) is the far scheme's: Lookup asks it (Far) and returns the
// link as the participant, the route's currency, the name as the far
// scheme masked it, and no account; ErrNotFound if the far scheme does
// not know it, ErrLinkUnavailable if it cannot be asked. Such parties
// are never cached: the far scheme's users come and go without telling
// this switch. Local registrations always win over routes.
func (d *Directory) Lookup(ctx context.Context, t Type, value string) (Party, error) {
	p, err := d.lookupRouted(ctx, t, value)
	d.lookups.count(err)
	return p, err
}

func (d *Directory) lookupRouted(ctx context.Context, t Type, value string) (Party, error) {
	p, err := d.lookupLocal(ctx, t, value)
	if errors.Is(err, ErrNotFound) && d.schemes != nil {
		if rp, routed, rerr := d.schemes.party(ctx, p.Type, value); routed {
			if rerr != nil {
				return Party{}, fmt.Errorf("directory: lookup %s alias through a scheme link: %w", p.Type, rerr)
			}
			return rp, nil
		}
	}
	return p, err
}

// LookupLocal is Lookup without the scheme routes: the aliases
// registered with this switch only. The FSPIOP front end answers other
// FSPs, scheme links among them, from it, so that no request passes
// through this switch on to a third scheme.
func (d *Directory) LookupLocal(ctx context.Context, t Type, value string) (Party, error) {
	p, err := d.lookupLocal(ctx, t, value)
	d.lookups.count(err)
	if err != nil {
		return Party{}, err
	}
	return p, nil
}

// lookupLocal is Lookup of the aliases registered here. On ErrNotFound
// it returns a Party holding the parsed type.
func (d *Directory) lookupLocal(ctx context.Context, t Type, value string) (Party, error) {
	t, err := ParseType(string(t))
	if err != nil {
		return Party{}, fmt.Errorf("directory: lookup: %w", err)
	}
	var gen uint64
	if d.cache != nil {
		e, ok, g := d.cache.get(t, value)
		if ok {
			return Party{
				Type: t, Value: value, Participant: e.participant, Name: e.name(), Account: e.account(),
				Currency: e.currency, CreatedAt: time.Unix(0, e.created).UTC(),
			}, nil
		}
		gen = g
	}
	stmt, err := d.lookupStmt(ctx)
	if err != nil {
		return Party{}, fmt.Errorf("directory: lookup %s alias: %w", t, err)
	}
	p := Party{Type: t, Value: value}
	var (
		cur     string
		created int64
	)
	// A lookup takes microseconds and reads never wait for writers in
	// WAL mode: not tying the query to ctx spares database/sql a
	// goroutine per query that watches ctx, and the driver its busy
	// handler set-up (together a third of a lookup's cost with 10 M
	// aliases).
	err = stmt.QueryRowContext(context.WithoutCancel(ctx), string(t), value).Scan(&p.Participant, &p.Name, &p.Account, &cur, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Party{Type: t}, fmt.Errorf("directory: lookup %s alias: %w", t, ErrNotFound)
	}
	if err != nil {
		return Party{}, fmt.Errorf("directory: lookup %s alias: %w", t, err)
	}
	if p.Currency, err = money.ParseCurrency(cur); err != nil {
		return Party{}, fmt.Errorf("directory: lookup %s alias: stored currency: %w", t, err)
	}
	// Opened once per database read: the cache and the routes hold the
	// plain text, so that hits cost no decryption.
	if p.Name, p.Account, err = d.open(p.Name, p.Account); err != nil {
		return Party{}, fmt.Errorf("directory: lookup %s alias: %w", t, err)
	}
	p.CreatedAt = time.Unix(0, created).UTC()
	if d.cache != nil {
		d.cache.put(p, gen)
	}
	return p, nil
}

func (d *Directory) lookupStmt(ctx context.Context) (*sql.Stmt, error) {
	if s := d.lookup.Load(); s != nil {
		return s, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.lookup.Load(); s != nil {
		return s, nil
	}
	s, err := d.db.PrepareContext(ctx, qLookup)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	d.lookup.Store(s)
	return s, nil
}

// Register registers p.Value (normalized) of p.Type to p.Participant and
// returns the party as stored and true. If the alias is already
// registered to the same participant, its name, account and currency are
// replaced and Register returns false (CreatedAt is the original one); if
// it is registered to another participant, ErrOwnedByOther; if the
// account has Options.MaxAliasesPerAccount other aliases already,
// ErrQuotaExceeded. Of concurrent registrations of one alias by
// different participants exactly one succeeds, and concurrent
// registrations for one account never take it past its quota.
func (d *Directory) Register(ctx context.Context, p Party) (Party, bool, error) {
	p, err := checkParty(p, time.Now())
	if err != nil {
		return Party{}, false, fmt.Errorf("directory: register: %w", err)
	}
	var (
		stored  Party
		created bool
	)
	g := d.gensOf([]Party{p})
	err = d.db.Transact(ctx, func(tx *sql.Tx) error {
		w := &writer{tx: tx, d: d}
		if open, err := w.openOwner(ctx, p.Participant); err != nil {
			return err
		} else if !open {
			return ErrUnknownParticipant
		}
		if err := w.lock(ctx, []Party{p}); err != nil {
			return err
		}
		var err error
		stored, created, err = w.put(ctx, p)
		return err
	})
	// Even on error: a commit that failed in flight may have happened.
	if err != nil {
		stored = p
	}
	d.written([]Party{stored}, []bool{err == nil}, g)
	if err != nil {
		return Party{}, false, fmt.Errorf("directory: register %s alias: %w", p.Type, err)
	}
	return stored, created, nil
}

// RegisterMany registers up to MaxBatch parties in one transaction, each
// as Register would, in order (so a later duplicate in the batch updates
// an earlier one). It returns one error per party: nil when registered or
// updated, else wrapping ErrInvalidValue, ErrInvalidParty,
// ErrOwnedByOther, ErrQuotaExceeded (the quota counts the batch's earlier
// parties too) or ErrUnknownParticipant. Those do not stop the
// others. Any other failure (the database's) returns a nil slice and the
// error, and then nothing of the batch was written.
func (d *Directory) RegisterMany(ctx context.Context, ps []Party) ([]error, error) {
	_, errs, err := d.RegisterBatch(ctx, ps)
	return errs, err
}

// RegisterBatch is RegisterMany that also says, per party, whether it
// was created (true) or an existing registration of the same owner was
// updated (false).
func (d *Directory) RegisterBatch(ctx context.Context, ps []Party) ([]bool, []error, error) {
	if len(ps) > MaxBatch {
		return nil, nil, fmt.Errorf("directory: register %d parties: %w (at most %d)", len(ps), ErrBatchTooLarge, MaxBatch)
	}
	checked, invalid := checkParties(ps, time.Now())
	created := make([]bool, len(ps))
	owners := make(map[string]bool) // whether each participant exists
	var (
		valid   []int   // the indexes of the parties that passed the checks
		touched []Party // and the parties
	)
	for i, p := range checked {
		if invalid[i] == nil {
			owners[p.Participant] = false
			valid = append(valid, i)
			touched = append(touched, p)
		}
	}
	errs := make([]error, len(ps))
	g := d.gensOf(touched)
	// What the transaction stored of touched: CreatedAt stays the
	// original one when an owner updates its alias.
	out := slices.Clone(touched)
	err := d.db.Transact(ctx, func(tx *sql.Tx) error {
		copy(errs, invalid) // Transact may run this again
		clear(created)
		copy(out, touched)
		// Check owners first, not by the foreign key failing: on
		// PostgreSQL that would abort the whole transaction.
		w := &writer{tx: tx, d: d}
		for o := range owners {
			open, err := w.openOwner(ctx, o)
			if err != nil {
				return fmt.Errorf("participant: %w", err)
			}
			owners[o] = open
		}
		if err := w.lock(ctx, touched); err != nil {
			return err
		}
		if err := w.prepare(ctx); err != nil {
			return err
		}
		defer w.close()
		k := 0 // checked[i] is touched[k]
		for i, p := range checked {
			if invalid[i] != nil {
				continue
			}
			k++
			if !owners[p.Participant] {
				errs[i] = ErrUnknownParticipant
				continue
			}
			stored, isNew, err := w.put(ctx, p)
			if errors.Is(err, ErrOwnedByOther) || errors.Is(err, ErrQuotaExceeded) {
				errs[i] = err
			} else if err != nil {
				return err
			}
			if err == nil {
				out[k-1] = stored
			}
			created[i] = isNew
		}
		return nil
	})
	stored := make([]bool, len(valid))
	for k, i := range valid {
		stored[k] = err == nil && errs[i] == nil
	}
	d.written(out, stored, g)
	if err != nil {
		return nil, nil, fmt.Errorf("directory: register %d parties: %w", len(ps), err)
	}
	for i, err := range errs {
		if err != nil {
			errs[i] = fmt.Errorf("directory: register party %d: %w", i, err)
		}
	}
	return created, errs, nil
}

// checkParties runs checkParty on each of ps. Large batches are checked
// on all CPUs: validating a phone number costs more than inserting it.
func checkParties(ps []Party, now time.Time) ([]Party, []error) {
	checked := make([]Party, len(ps))
	invalid := make([]error, len(ps))
	check := func(from, to int) {
		for i := from; i < to; i++ {
			checked[i], invalid[i] = checkParty(ps[i], now)
		}
	}
	const minChunk = 128
	workers := min(runtime.GOMAXPROCS(0), len(ps)/minChunk)
	if workers <= 1 {
		check(0, len(ps))
		return checked, invalid
	}
	var wg sync.WaitGroup
	chunk := (len(ps) + workers - 1) / workers
	for from := 0; from < len(ps); from += chunk {
		wg.Go(func() { check(from, min(from+chunk, len(ps))) })
	}
	wg.Wait()
	return checked, invalid
}

// Delete deletes the alias (t, value) of owner: ErrNotFound if there is
// none, ErrNotOwner if another participant owns it.
func (d *Directory) Delete(ctx context.Context, owner string, t Type, value string) error {
	t, err := ParseType(string(t))
	if err != nil {
		return fmt.Errorf("directory: delete: %w", err)
	}
	err = d.db.Transact(ctx, func(tx *sql.Tx) error {
		// Retry when the alias changes between the statements; it can
		// on PostgreSQL, where each statement sees the latest commits.
		for range 3 {
			res, err := tx.ExecContext(ctx, qDelete, string(t), value, owner)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				return nil
			}
			var o string
			err = tx.QueryRowContext(ctx, qOwner, string(t), value).Scan(&o)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return ErrNotFound
			case err != nil:
				return err
			case o != owner:
				return ErrNotOwner
			}
		}
		return fmt.Errorf("%w: alias kept changing", sqldb.ErrConflict)
	})
	d.invalidate(t, value)
	if err != nil {
		return fmt.Errorf("directory: delete %s alias: %w", t, err)
	}
	return nil
}

// List returns up to limit of owner's aliases in (type, value) order,
// starting after the cursor after ("" for the first page; then the
// Cursor of the last party of the previous page). limit <= 0 means
// DefaultListLimit; it is capped at MaxListLimit. A page shorter than
// the limit is the last. Pages are consistent with concurrent writes in
// the keyset sense: an alias present for the whole listing is listed
// exactly once.
func (d *Directory) List(ctx context.Context, owner, after string, limit int) ([]Party, error) {
	switch {
	case limit <= 0:
		limit = DefaultListLimit
	case limit > MaxListLimit+1:
		// One more than a page, so that a caller can tell whether a
		// full page is the last.
		limit = MaxListLimit + 1
	}
	var (
		rows *sql.Rows
		err  error
	)
	if after == "" {
		rows, err = d.db.QueryContext(ctx, qListFirst, owner, limit)
	} else {
		t, v, cerr := parseCursor(after)
		if cerr != nil {
			return nil, fmt.Errorf("directory: list: %w", cerr)
		}
		rows, err = d.db.QueryContext(ctx, qList, owner, string(t), v, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("directory: list: %w", err)
	}
	defer rows.Close()
	var out []Party
	for rows.Next() {
		p := Party{Participant: owner}
		var (
			t, cur  string
			created int64
		)
		if err := rows.Scan(&t, &p.Value, &p.Name, &p.Account, &cur, &created); err != nil {
			return nil, fmt.Errorf("directory: list: %w", err)
		}
		if p.Type, err = ParseType(t); err != nil {
			return nil, fmt.Errorf("directory: list: stored type: %w", err)
		}
		if p.Currency, err = money.ParseCurrency(cur); err != nil {
			return nil, fmt.Errorf("directory: list: stored currency: %w", err)
		}
		if p.Name, p.Account, err = d.open(p.Name, p.Account); err != nil {
			return nil, fmt.Errorf("directory: list: %w", err)
		}
		p.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("directory: list: %w", err)
	}
	return out, nil
}

func parseCursor(c string) (Type, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", ErrInvalidCursor
	}
	ts, v, ok := strings.Cut(string(b), "\x00")
	t, err := ParseType(ts)
	if !ok || err != nil || v == "" {
		return "", "", ErrInvalidCursor
	}
	return t, v, nil
}

// gens are the generations, read before a write's transaction, of the
// cache entries and routes of the parties it is about to write, for
// written: one per party (0 for those without a route in memory), nil
// without a cache or routes.
type gens struct{ cache, routes []uint64 }

// gensOf reads the gens of ps before a write's transaction.
func (d *Directory) gensOf(ps []Party) gens {
	var g gens
	if d.cache != nil {
		g.cache = make([]uint64, len(ps))
		for i, p := range ps {
			g.cache[i] = d.cache.gen(p.Type, p.Value)
		}
	}
	if d.routes == nil {
		return g
	}
	for i, p := range ps {
		if k, ok := phoneKey(p.Value); ok && p.Type == MSISDN {
			if g.routes == nil {
				g.routes = make([]uint64, len(ps))
			}
			g.routes[i] = d.routes.gen(k)
		}
	}
	return g
}

// written follows a write to the aliases ps that ended: it holds in the
// cache and the routes those it stored (stored[i]; ps[i] is then the
// party as stored) as cache.wrote and routes.wrote allow, and forgets the
// others, so that an alias registered while the switch runs is answered
// from memory from the start. g is gensOf(ps) from before the write's
// transaction; zero when the write stores nothing.
func (d *Directory) written(ps []Party, stored []bool, g gens) {
	if d.cache != nil {
		cws := make([]cacheWrite, len(ps))
		for i, p := range ps {
			cws[i] = cacheWrite{p: p, stored: stored[i] && g.cache != nil}
			if g.cache != nil {
				cws[i].gen = g.cache[i]
			}
		}
		d.cache.wrote(cws)
	}
	if d.routes == nil {
		return
	}
	var ws []routeWrite
	for i, p := range ps {
		if p.Type != MSISDN {
			continue
		}
		if k, ok := phoneKey(p.Value); ok {
			w := routeWrite{key: k, stored: stored[i], participant: p.Participant, name: p.Name, currency: p.Currency}
			if g.routes != nil {
				w.gen = g.routes[i]
			}
			ws = append(ws, w)
		}
	}
	if len(ws) > 0 {
		d.routes.wrote(ws)
	}
}

// invalidate forgets the alias (t, v) after a write that stored nothing
// (a delete).
func (d *Directory) invalidate(t Type, v string) {
	d.written([]Party{{Type: t, Value: v}}, []bool{false}, gens{})
}

// checkParty validates p for registration, makes its Type the constant
// and sets its CreatedAt to now when zero.
func checkParty(p Party, now time.Time) (Party, error) {
	t, err := ParseType(string(p.Type))
	if err != nil {
		return p, err
	}
	p.Type = t
	// Register refuses what Lookup could never find. With an empty
	// region, an MSISDN must carry its '+', as E.164 does.
	if n, err := Normalize(t, p.Value, ""); err != nil {
		return p, err
	} else if n != p.Value {
		return p, fmt.Errorf("%w: %s: not in normalized form", ErrInvalidValue, t)
	}
	switch {
	case p.Participant == "" || len(p.Participant) > maxParticipant || !utf8.ValidString(p.Participant):
		return p, fmt.Errorf("%w: participant id empty, too long or not UTF-8", ErrInvalidParty)
	case !validText(p.Name, maxNameRunes*utf8.UTFMax) || utf8.RuneCountInString(p.Name) > maxNameRunes:
		return p, fmt.Errorf("%w: name empty, longer than %d characters, not UTF-8 or with control characters", ErrInvalidParty, maxNameRunes)
	case !validText(p.Account, maxAccountBytes):
		return p, fmt.Errorf("%w: account empty, longer than %d bytes, not UTF-8 or with control characters", ErrInvalidParty, maxAccountBytes)
	case !p.Currency.Valid():
		return p, fmt.Errorf("%w: no currency", ErrInvalidParty)
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	// Keep what the database keeps: nanoseconds, no monotonic reading,
	// UTC; so that Register returns what Lookup will.
	p.CreatedAt = time.Unix(0, p.CreatedAt.UnixNano()).UTC()
	return p, nil
}

// validText reports whether s is non-blank UTF-8 of at most max bytes
// without control characters.
func validText(s string, max int) bool {
	if len(s) > max || strings.TrimSpace(s) == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// openOwner reports whether participant may hold aliases: it exists and
// is not closed. Its row stays as read until the transaction ends.
func (w *writer) openOwner(ctx context.Context, participant string) (bool, error) {
	q := qOwnerStatus
	if w.d.db.Dialect == sqldb.Postgres {
		q += " FOR SHARE"
	}
	var status string
	err := w.tx.QueryRowContext(ctx, q, participant).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil && status != "closed", err
}

// writer registers parties inside one transaction, through prepared
// statements when prepare was called (for batches).
type writer struct {
	tx                           *sql.Tx
	d                            *Directory
	insert, update, owner, count *sql.Stmt
}

func (w *writer) prepare(ctx context.Context) error {
	var err error
	if w.insert, err = w.tx.PrepareContext(ctx, qInsert); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if w.update, err = w.tx.PrepareContext(ctx, qUpdate); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if w.owner, err = w.tx.PrepareContext(ctx, qOwner); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if w.count, err = w.tx.PrepareContext(ctx, qCount); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return nil
}

func (w *writer) close() {
	for _, s := range []*sql.Stmt{w.insert, w.update, w.owner, w.count} {
		if s != nil {
			s.Close()
		}
	}
}

func (w *writer) exec(ctx context.Context, s *sql.Stmt, q string, args ...any) (sql.Result, error) {
	if s != nil {
		return s.ExecContext(ctx, args...)
	}
	return w.tx.ExecContext(ctx, q, args...)
}

func (w *writer) queryRow(ctx context.Context, s *sql.Stmt, q string, args ...any) *sql.Row {
	if s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return w.tx.QueryRowContext(ctx, q, args...)
}

// put inserts p, or updates it if p.Participant owns it, and says which;
// ErrOwnedByOther if another participant owns it, ErrQuotaExceeded if
// p's account has its quota of other aliases. The transaction must hold
// lock's lock of p's account.
func (w *writer) put(ctx context.Context, p Party) (Party, bool, error) {
	t, cur := string(p.Type), p.Currency.String()
	name, account, index := w.d.sealParty(p)
	var n int
	if err := w.queryRow(ctx, w.count, qCount, p.Participant, index, t, p.Value).Scan(&n); err != nil {
		return Party{}, false, err
	}
	if n >= w.d.maxPerAccount {
		return Party{}, false, ErrQuotaExceeded
	}
	// Retry when the alias changes between the statements: deleted after
	// the insert found it, or re-registered after the update did not. On
	// SQLite, whose write transactions are serial, it cannot.
	for range 3 {
		res, err := w.exec(ctx, w.insert, qInsert, t, p.Value, p.Participant, name, account, cur, p.CreatedAt.UnixNano(), index)
		if err != nil {
			if isForeignKeyViolation(err) {
				return Party{}, false, ErrUnknownParticipant
			}
			return Party{}, false, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return Party{}, false, err
		}
		if n > 0 {
			return p, true, nil
		}
		var created int64
		err = w.queryRow(ctx, w.update, qUpdate, t, p.Value, p.Participant, name, account, cur, index).Scan(&created)
		if err == nil {
			p.CreatedAt = time.Unix(0, created).UTC()
			return p, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Party{}, false, err
		}
		var owner string
		err = w.queryRow(ctx, w.owner, qOwner, t, p.Value).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return Party{}, false, err
		case owner != p.Participant:
			return Party{}, false, ErrOwnedByOther
		}
	}
	return Party{}, false, fmt.Errorf("%w: alias kept changing", sqldb.ErrConflict)
}

// isForeignKeyViolation reports whether err is a foreign-key failure (an
// unknown participant).
func isForeignKeyViolation(err error) bool { return sqldb.IsForeignKeyViolation(err) }
