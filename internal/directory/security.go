package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/sqldb"
)

// The contexts under which parties' private fields are sealed and
// indexed (see seal.Key): a value copied to another column does not open
// there.
const (
	sealName    = "parties.name"
	sealAccount = "parties.account"
)

// MaxReasonRunes bounds the reason of an operator's removal, in
// characters.
const MaxReasonRunes = 200

// ErrInvalidReason: an operator's removal came without a reason (or with
// one of only white space). Refuse it (HTTP 400); do not retry.
var ErrInvalidReason = fault.New(fault.Invalid, "", "directory: a removal needs a reason")

// sealParty returns p's name and account as stored, and its account's
// blind index: sealed and keyed with the data key, or, without one, as
// they are (the index is then the account itself).
func (d *Directory) sealParty(p Party) (name, account, index string) {
	if d.seal == nil {
		return p.Name, p.Account, p.Account
	}
	return d.seal.Seal(sealName, p.Name), d.seal.Seal(sealAccount, p.Account), d.accountIndex(p.Account)
}

// accountIndex returns the blind index of an account reference, as
// sealParty does.
func (d *Directory) accountIndex(account string) string {
	if d.seal == nil {
		return account
	}
	return d.seal.Index(sealAccount, account)
}

// open returns the plain name and account of a stored party. Text
// stored before sealing existed is returned as it is.
func (d *Directory) open(name, account string) (string, string, error) {
	if d.seal == nil {
		return name, account, nil
	}
	n, err := d.seal.Open(sealName, name)
	if err != nil {
		return "", "", fmt.Errorf("stored name: %w", err)
	}
	a, err := d.seal.Open(sealAccount, account)
	if err != nil {
		return "", "", fmt.Errorf("stored account: %w", err)
	}
	return n, a, nil
}

// openName returns the plain text of a stored name.
func (d *Directory) openName(name string) (string, error) {
	if d.seal == nil {
		return name, nil
	}
	return d.seal.Open(sealName, name)
}

// lock takes, on PostgreSQL, a lock for the rest of the transaction on
// each (participant, account) of ps, in one order, so that concurrent
// writers of one account count its aliases one after the other (the
// quota) and no two writers wait for each other's locks. Writers take
// them before writing any row: a writer that holds a row lock never waits
// for one of these. SQLite needs none: its write transactions are serial.
//
// The locks are transaction-level advisory locks on a 64-bit hash of
// the pair; two pairs that collide merely wait for each other.
func (w *writer) lock(ctx context.Context, ps []Party) error {
	if w.d.db.Dialect != sqldb.Postgres {
		return nil
	}
	keys := make([]string, 0, len(ps))
	for _, p := range ps {
		keys = append(keys, "hulian/parties/"+p.Participant+" "+w.d.accountIndex(p.Account))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for _, k := range keys {
		if _, err := w.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, k); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
	}
	return nil
}

// Removal is an operator's removal of an alias, as recorded.
type Removal struct {
	Seq         int64
	Type        Type
	Value       string
	Participant string // the owner whose alias it was
	Reason      string
	RemovedAt   time.Time
}

// Remove removes the alias (t, value) whoever owns it, for the operator,
// and records the removal with its reason in the same transaction:
// ErrNotFound if there is none, ErrInvalidReason without a reason. The
// reason is kept to MaxReasonRunes characters, cut on a character
// boundary, invalid UTF-8 replaced.
func (d *Directory) Remove(ctx context.Context, t Type, value, reason string, now time.Time) (Removal, error) {
	t, err := ParseType(string(t))
	if err != nil {
		return Removal{}, fmt.Errorf("directory: remove: %w", err)
	}
	reason = CutText(reason, MaxReasonRunes)
	if strings.TrimSpace(reason) == "" {
		return Removal{}, fmt.Errorf("directory: remove %s alias: %w", t, ErrInvalidReason)
	}
	r := Removal{Type: t, Value: value, Reason: reason, RemovedAt: time.Unix(0, now.UnixNano()).UTC()}
	err = d.db.Transact(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM parties WHERE type = $1 AND value = $2 RETURNING participant`,
			string(t), value).Scan(&r.Participant)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO party_removals (type, value, participant, reason, removed_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING seq`, string(t), value, r.Participant, reason, r.RemovedAt.UnixNano()).Scan(&r.Seq)
	})
	d.invalidate(t, value)
	if err != nil {
		return Removal{}, fmt.Errorf("directory: remove %s alias: %w", t, err)
	}
	return r, nil
}

// Removals returns the operator's removals after seq, oldest first, at
// most limit (capped at MaxListLimit).
func (d *Directory) Removals(ctx context.Context, after int64, limit int) ([]Removal, error) {
	limit = min(max(limit, 1), MaxListLimit)
	rows, err := d.db.QueryContext(ctx, `SELECT seq, type, value, participant, reason, removed_at FROM party_removals
		WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("directory: removals: %w", err)
	}
	defer rows.Close()
	var out []Removal
	for rows.Next() {
		var (
			r  Removal
			t  string
			at int64
		)
		if err := rows.Scan(&r.Seq, &t, &r.Value, &r.Participant, &r.Reason, &at); err != nil {
			return nil, fmt.Errorf("directory: removals: %w", err)
		}
		r.Type, r.RemovedAt = Type(t), time.Unix(0, at).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("directory: removals: %w", err)
	}
	return out, nil
}

// CutText returns s with invalid UTF-8 replaced and cut to at most max
// characters, never inside one: text from outside that is stored.
func CutText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}

// Move registers p's alias to p.Participant, with p's name, account and
// currency, if it is registered to from or to p.Participant already, or
// to no one: the end of a portability claim. The alias's CreatedAt
// becomes p's. Like Register it refuses ErrOwnedByOther (another
// participant has the alias now) and ErrQuotaExceeded, and returns
// ErrInvalidValue or ErrInvalidParty for p itself; it is idempotent.
func (d *Directory) Move(ctx context.Context, from string, p Party) (Party, error) {
	p, err := checkParty(p, time.Now())
	if err != nil {
		return Party{}, fmt.Errorf("directory: move: %w", err)
	}
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
		return w.move(ctx, from, p)
	})
	d.written([]Party{p}, []bool{err == nil}, g)
	if err != nil {
		return Party{}, fmt.Errorf("directory: move %s alias: %w", p.Type, err)
	}
	return p, nil
}

// move is Move within a transaction that holds p's account's lock.
func (w *writer) move(ctx context.Context, from string, p Party) error {
	t, cur := string(p.Type), p.Currency.String()
	name, account, index := w.d.sealParty(p)
	var n int
	if err := w.tx.QueryRowContext(ctx, qCount, p.Participant, index, t, p.Value).Scan(&n); err != nil {
		return err
	}
	if n >= w.d.maxPerAccount {
		return ErrQuotaExceeded
	}
	// As put: retry when the alias changes between the statements.
	for range 3 {
		res, err := w.tx.ExecContext(ctx, `UPDATE parties SET participant = $3, name = $5, account = $6, currency = $7,
			account_index = $8, created_at = $9 WHERE type = $1 AND value = $2 AND participant IN ($3, $4)`,
			t, p.Value, p.Participant, from, name, account, cur, index, p.CreatedAt.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			return nil
		}
		res, err = w.tx.ExecContext(ctx, qInsert, t, p.Value, p.Participant, name, account, cur, p.CreatedAt.UnixNano(), index)
		if err != nil {
			if isForeignKeyViolation(err) {
				return ErrUnknownParticipant
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			return nil
		}
		var owner string
		err = w.tx.QueryRowContext(ctx, qOwner, t, p.Value).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case owner != from && owner != p.Participant:
			return ErrOwnedByOther
		}
	}
	return fmt.Errorf("%w: alias kept changing", sqldb.ErrConflict)
}

// deleteAllChunk is how many aliases DeleteAll removes per transaction:
// a participant with millions of aliases must not hold SQLite's write
// lock for long.
const deleteAllChunk = 1000

// DeleteAll removes every alias of owner, a chunk at a time, and returns
// how many it removed: when a participant is closed. An alias that
// owner registers meanwhile may survive; call it once owner can no
// longer register.
func (d *Directory) DeleteAll(ctx context.Context, owner string) (int, error) {
	total := 0
	for {
		var gone []Party
		err := d.db.Transact(ctx, func(tx *sql.Tx) error {
			gone = gone[:0]
			rows, err := tx.QueryContext(ctx, `DELETE FROM parties WHERE (type, value) IN
				(SELECT type, value FROM parties WHERE participant = $1 LIMIT $2) RETURNING type, value`, owner, deleteAllChunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var t, v string
				if err := rows.Scan(&t, &v); err != nil {
					return err
				}
				gone = append(gone, Party{Type: Type(t), Value: v})
			}
			return rows.Err()
		})
		for _, p := range gone {
			if t, perr := ParseType(string(p.Type)); perr == nil {
				d.invalidate(t, p.Value)
			}
		}
		if err != nil {
			return total, fmt.Errorf("directory: delete the aliases of %s: %w", owner, err)
		}
		total += len(gone)
		if len(gone) == 0 {
			return total, nil
		}
	}
}

// resealChunk is how many rows Reseal seals per transaction.
const resealChunk = 500

// Reseal seals the rows of parties stored before sealing existed (those
// without an account index), a chunk at a time, and returns how many it
// sealed. They are served correctly meanwhile: reading opens sealed and
// plain text alike, and what is read is the same before and after, so
// the cache and the routes need not hear of it. Without a data key it
// does nothing. New runs it in the background; running it again is
// harmless.
func (d *Directory) Reseal(ctx context.Context) (int, error) {
	if d.seal == nil {
		return 0, nil
	}
	type row struct{ t, v, name, account string }
	total := 0
	afterT, afterV := "", ""
	for {
		rows, err := d.db.QueryContext(ctx, `SELECT type, value, name, account FROM parties
			WHERE account_index = '' AND (type, value) > ($1, $2) ORDER BY type, value LIMIT $3`, afterT, afterV, resealChunk)
		if err != nil {
			return total, fmt.Errorf("directory: reseal: %w", err)
		}
		var chunk []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.t, &r.v, &r.name, &r.account); err != nil {
				rows.Close()
				return total, fmt.Errorf("directory: reseal: %w", err)
			}
			chunk = append(chunk, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("directory: reseal: %w", err)
		}
		if len(chunk) == 0 {
			return total, nil
		}
		var n int
		err = d.db.Transact(ctx, func(tx *sql.Tx) error {
			n = 0
			for _, r := range chunk {
				name, account, err := d.open(r.name, r.account)
				if err != nil {
					return fmt.Errorf("%s alias: %w", r.t, err)
				}
				sname, saccount, index := d.sealParty(Party{Name: name, Account: account})
				// Only if still unsealed: a registration since has
				// written the row sealed, with newer data.
				res, err := tx.ExecContext(ctx, `UPDATE parties SET name = $3, account = $4, account_index = $5
					WHERE type = $1 AND value = $2 AND account_index = ''`, r.t, r.v, sname, saccount, index)
				if err != nil {
					return err
				}
				k, err := res.RowsAffected()
				if err != nil {
					return err
				}
				n += int(k)
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("directory: reseal: %w", err)
		}
		total += n
		last := chunk[len(chunk)-1]
		afterT, afterV = last.t, last.v
		if len(chunk) < resealChunk {
			return total, nil
		}
	}
}

// startResealing runs Reseal in the background; Close stops it.
func (d *Directory) startResealing(logf func(n int, took time.Duration, err error)) {
	ctx, cancel := context.WithCancel(context.Background())
	d.stopSeal = cancel
	d.resealed = make(chan struct{})
	go func() {
		defer close(d.resealed)
		start := time.Now()
		n, err := d.Reseal(ctx)
		if ctx.Err() != nil {
			return
		}
		if logf != nil {
			logf(n, time.Since(start), err)
		}
	}()
}
