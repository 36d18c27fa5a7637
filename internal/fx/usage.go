package fx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
)

// ErrUsageReplaying means the quota's usage is still being replayed from
// the journal after a start, so a payment cannot be checked against it
// yet: the caller answers "unavailable"; the payer retries in a moment.
var ErrUsageReplaying = fault.New(fault.Unavailable, "", "fx: the annual quota's usage is still being replayed")

// TermsFunc reads what the quota needs from an fx leg's Meta (the FX
// terms): the quota key (16 bytes; zero means the payment is not
// counted) and the payment's value in the quota's currency, fixed when
// the payment was made (never re-valued at later rates). ok is false for
// a Meta it cannot read; such a leg is not counted.
type TermsFunc func(meta string) (key [16]byte, value money.Amount, ok bool)

// Usage is the annual quota's count: a projection of the durable ledger
// events onto what each payer account used this year, plus the payments
// being checked and submitted right now (in flight).
//
// An fx leg (purpose.FX) posted or reserved counts its terms' value in
// the calendar year (in loc) of its event's ledger timestamp; a
// reservation's value is given back when it is aborted or expires, and
// kept when it is committed. Reserve checks a payment against the quota
// and holds its value in flight until the ledger has answered, by which
// time Durable has counted it: the count may be briefly over, never
// under.
//
// Memory: used holds one entry per payer account that made an FX
// payment this year (and, until the next Save after 1 January, last
// year), which is inherent to a per-account quota; open holds one entry
// per fx reservation the ledger still holds, so it is bounded by the
// ledger's own reservations; in flight holds one entry per key being
// submitted. The dirty sets hold what changed between two Saves (a
// minute's payments), and held the fx and expiry events made durable
// while Replay runs (at start, before the switch takes payments).
//
// A Usage is safe for concurrent use. It does no I/O but in Load, Save
// and Replay.
type Usage struct {
	quota Quota
	loc   *time.Location
	terms TermsFunc

	mu       sync.Mutex
	used     map[yearKey]money.Amount
	open     map[ledger.ID]openLeg
	inflight map[[16]byte]money.Amount
	// flying are the reservations in flight by their fx leg's ledger id:
	// the leg counted durable ends its own, at once, so that no moment
	// counts a payment both in used and in flight.
	flying map[ledger.ID]flight
	// cursor is the ledger timestamp through which events are counted:
	// every event at or before it is in used and open, none after it.
	cursor int64
	// floor is the oldest year kept: older ones were dropped by Save.
	floor int
	// The year of the last timestamp looked up, [yearStart, yearEnd) in
	// nanoseconds: nearly every event falls in it.
	yearStart, yearEnd int64
	year               int

	// While replaying, Durable holds the events it may need (fx legs and
	// expiries) and the last timestamp it was given, for Replay to apply
	// after the journal's scan: the scan and the hook overlap, and
	// neither alone is sure to see every event.
	replaying   bool
	held        []ledger.Event
	heldThrough int64

	// What changed since the last Save: used entries, and open ids (true:
	// added since, so not yet in the database; false: to delete). rewrite
	// says the next Save writes everything instead (nothing saved yet, or
	// the last Save failed).
	dirtyUsed map[yearKey]struct{}
	dirtyOpen map[ledger.ID]bool
	rewrite   bool

	// saveMu orders Saves, so that an older snapshot never commits after
	// a newer one.
	saveMu sync.Mutex
}

type yearKey struct {
	year int
	key  [16]byte
}

// openLeg is a reserved fx leg's count: given back to its year if the
// reservation is aborted or expires.
type openLeg struct {
	year  int
	key   [16]byte
	value money.Amount
}

// NewUsage returns an empty Usage for quota q (the zero Quota admits
// everything, but payments are still counted), whose years are calendar
// years in loc (nil: UTC). It panics if terms is nil.
func NewUsage(q Quota, loc *time.Location, terms TermsFunc) *Usage {
	if terms == nil {
		panic("fx: NewUsage without a TermsFunc")
	}
	if loc == nil {
		loc = time.UTC
	}
	return &Usage{
		quota: q, loc: loc, terms: terms,
		used: map[yearKey]money.Amount{}, open: map[ledger.ID]openLeg{}, inflight: map[[16]byte]money.Amount{},
		flying:    map[ledger.ID]flight{},
		dirtyUsed: map[yearKey]struct{}{}, dirtyOpen: map[ledger.ID]bool{}, rewrite: true,
	}
}

// Durable is the journal's OnDurable hook: it counts the batches' fx legs
// and gives back aborted and expired reservations. It is quick, does no
// I/O and keeps nothing of the batches but copies of fx and expiry
// events while Replay runs. Batches come in ledger order; an event at or
// before the cursor (seen already) is skipped.
func (u *Usage) Durable(batches []*ledger.Committed) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, b := range batches {
		n := len(b.Events)
		if n == 0 {
			continue
		}
		for i := range b.Events {
			e := &b.Events[i]
			if e.Purpose != purpose.FX && e.Kind != ledger.KindExpire {
				continue
			}
			if u.replaying {
				u.held = append(u.held, *e)
				continue
			}
			u.apply(e)
		}
		if last := b.Events[n-1].Timestamp; u.replaying {
			u.heldThrough = max(u.heldThrough, last)
		} else {
			u.cursor = max(u.cursor, last)
		}
	}
}

// apply counts one event, in ledger order; the caller holds u.mu. It is
// the one place where events change the count, for Durable and Replay.
func (u *Usage) apply(e *ledger.Event) {
	if e.Timestamp <= u.cursor {
		return
	}
	u.cursor = e.Timestamp
	switch {
	case e.Purpose == purpose.FX:
		switch e.Kind {
		case ledger.KindPost, ledger.KindReserve:
			u.count(e)
		case ledger.KindCommit:
			u.forget(e.Pending, false)
		case ledger.KindAbort:
			u.forget(e.Pending, true)
		}
	case e.Kind == ledger.KindExpire && len(u.open) > 0:
		// An expiry carries purpose 0 (the ledger emits it, not a
		// command): it is matched by the reservation's id.
		u.forget(e.Pending, true)
	}
}

// flight is a payment in flight: its payer account's key and value.
type flight struct {
	key   [16]byte
	value money.Amount
}

// land ends the flight id, if it is in flight: counted durable, or
// released. The caller holds u.mu.
func (u *Usage) land(id ledger.ID) {
	f, ok := u.flying[id]
	if !ok {
		return
	}
	delete(u.flying, id)
	if v := u.inflight[f.key] - f.value; v > 0 {
		u.inflight[f.key] = v
	} else {
		delete(u.inflight, f.key)
	}
}

// count adds a posted or reserved fx leg's value to its year, and ends
// its flight.
func (u *Usage) count(e *ledger.Event) {
	u.land(e.ID)
	key, value, ok := u.terms(e.Meta)
	if !ok || key == ([16]byte{}) || value <= 0 {
		return
	}
	k := yearKey{u.yearOf(e.Timestamp), key}
	// Saturate rather than wrap: Reserve keeps real sums far below, and
	// a saturated count still refuses.
	v, err := money.Add(u.used[k], value)
	if err != nil {
		v = math.MaxInt64
	}
	u.used[k] = v
	u.markUsed(k)
	if e.Kind == ledger.KindReserve {
		u.open[e.ID] = openLeg{year: k.year, key: key, value: value}
		u.markOpen(e.ID, true)
	}
}

// forget ends the open reservation id, if counted, giving its value back
// to the year it counted in when giveBack.
func (u *Usage) forget(id ledger.ID, giveBack bool) {
	o, ok := u.open[id]
	if !ok {
		return
	}
	delete(u.open, id)
	u.markOpen(id, false)
	if !giveBack {
		return
	}
	k := yearKey{o.year, o.key}
	v, ok := u.used[k]
	if !ok {
		return // its year was dropped
	}
	if v -= o.value; v > 0 {
		u.used[k] = v
	} else {
		delete(u.used, k)
	}
	u.markUsed(k)
}

func (u *Usage) markUsed(k yearKey) {
	if !u.rewrite {
		u.dirtyUsed[k] = struct{}{}
	}
}

func (u *Usage) markOpen(id ledger.ID, added bool) {
	switch {
	case u.rewrite:
	case added:
		u.dirtyOpen[id] = true
	case u.dirtyOpen[id]:
		delete(u.dirtyOpen, id) // added and ended between two Saves: never written
	default:
		u.dirtyOpen[id] = false
	}
}

// yearOf returns the calendar year in u.loc of ts (unix nanoseconds);
// the caller holds u.mu.
func (u *Usage) yearOf(ts int64) int {
	if ts >= u.yearStart && ts < u.yearEnd {
		return u.year
	}
	start, end := Year(time.Unix(0, ts), u.loc)
	u.yearStart, u.yearEnd, u.year = start.UnixNano(), end.UnixNano(), start.Year()
	return u.year
}

// Reserve checks a payment of value (in the quota's currency) by the
// payer account key against what the account used this year (the year
// of now) plus what is in flight for it, and, if it fits, holds value in
// flight: until Durable counts the payment's fx leg, whose ledger id is
// id — in the same step, so that no moment counts the payment twice and
// refuses another that fits — or until release, which the pipeline calls
// once the ledger answered the submission (a refused payment is never
// counted). Concurrent Reserves for one key never together pass the
// quota; the same id twice at once is refused.
//
// It returns an error wrapping ErrQuotaExceeded if the payment does not
// fit, ErrAmount for a value that is not positive, ErrUsageReplaying
// from Load until Replay has finished. A zero key (not counted) and no quota
// admit everything, holding nothing. release may be called more than
// once.
func (u *Usage) Reserve(id ledger.ID, key [16]byte, value money.Amount, now time.Time) (release func(), err error) {
	if value <= 0 {
		return nil, fmt.Errorf("reserve %d of the FX quota: %w", value, ErrAmount)
	}
	if u.quota.IsZero() || key == ([16]byte{}) {
		return func() {}, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.replaying {
		return nil, ErrUsageReplaying
	}
	if _, dup := u.flying[id]; dup {
		// The same payment twice at once (a retry racing its first
		// request): the ledger lets one through.
		return nil, fmt.Errorf("reserve of the FX quota: the payment is in flight already: %w", ErrQuotaExceeded)
	}
	pending := u.inflight[key]
	taken, err := money.Add(u.used[yearKey{u.yearOf(now.UnixNano()), key}], pending)
	if err == nil {
		err = u.quota.Check(taken, value)
	} else {
		err = fmt.Errorf("%w: its count overflows", ErrQuotaExceeded)
	}
	if err != nil {
		return nil, fmt.Errorf("reserve of the FX quota: %w", err)
	}
	u.inflight[key] = pending + value // no overflow: Check kept it within the limit
	u.flying[id] = flight{key: key, value: value}
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.land(id)
		})
	}, nil
}

// Used returns what the payer account key used of its quota in the year
// of now, in the quota's currency; payments in flight are not in it.
func (u *Usage) Used(key [16]byte, now time.Time) money.Amount {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.used[yearKey{u.yearOf(now.UnixNano()), key}]
}

// Remaining returns what is left of the payer account key's quota in the
// year of now after Used (never negative; zero without a quota).
func (u *Usage) Remaining(key [16]byte, now time.Time) money.Amount {
	return u.quota.Remaining(u.Used(key, now))
}

// Through returns the ledger timestamp through which events are counted.
func (u *Usage) Through() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cursor
}

// ScanFunc calls fn with every durable ledger event with from <=
// Timestamp < to, oldest first, as journal.Journal.Scan does.
type ScanFunc func(ctx context.Context, from, to int64, fn func(ledger.Event) error) error

// Replay counts the events after the cursor, read with scan to the end
// of the journal, through the same code as Durable, then the events
// Durable was given meanwhile; until it returns, Reserve refuses with
// ErrUsageReplaying. At start: Load (or nothing, on a fresh Usage, to
// count the whole journal), then join the OnDurable chain, then Replay,
// before the switch is ready; Durable may run at any point of that
// sequence after Load, and nothing is counted twice or missed. On error
// the Usage stays replaying and Replay may be called again.
func (u *Usage) Replay(ctx context.Context, scan ScanFunc) error {
	u.mu.Lock()
	u.replaying = true
	from := u.cursor + 1
	u.mu.Unlock()
	err := scan(ctx, from, math.MaxInt64, func(e ledger.Event) error {
		u.mu.Lock()
		u.apply(&e)
		u.mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("fx: replay the quota's usage from %d: %w", from, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	// The scan saw every event durable when it began; Durable was given
	// every one made durable since Load. What the scan saw is skipped.
	for i := range u.held {
		u.apply(&u.held[i])
	}
	u.cursor = max(u.cursor, u.heldThrough)
	u.held, u.heldThrough, u.replaying = nil, 0, false
	return nil
}

// Load reads the state Save wrote into u, which must be fresh (from
// NewUsage, not yet given any event): the years from now's on, the open
// reservations and the cursor. The cursor is raised to the start of
// now's year if it is older, since older events count in years that no
// longer matter. u then holds what Durable is given until Replay, which
// must follow. Load and Save must not run at the same time.
func (u *Usage) Load(ctx context.Context, db *sqldb.DB, now time.Time) error {
	u.mu.Lock()
	year := u.yearOf(now.UnixNano())
	floorTS := u.yearStart - 1
	u.mu.Unlock()
	var through int64
	err := db.QueryRowContext(ctx, `SELECT through_ts FROM fx_quota_cursor WHERE id = 1`).Scan(&through)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("fx: load the quota's cursor: %w", err)
	}
	used := map[yearKey]money.Amount{}
	err = query(ctx, db, `SELECT year, quota_key, used FROM fx_quota_usage WHERE year >= $1 AND used > 0`, year,
		func(rows *sql.Rows) error {
			var k yearKey
			var key []byte
			var v int64
			if err := rows.Scan(&k.year, &key, &v); err != nil {
				return err
			}
			if len(key) != len(k.key) {
				return fmt.Errorf("quota key of %d bytes", len(key))
			}
			copy(k.key[:], key)
			used[k] = money.Amount(v)
			return nil
		})
	if err != nil {
		return fmt.Errorf("fx: load the quota's usage: %w", err)
	}
	open := map[ledger.ID]openLeg{}
	err = query(ctx, db, `SELECT id, year, quota_key, value FROM fx_quota_open WHERE year >= $1`, year,
		func(rows *sql.Rows) error {
			var o openLeg
			var id ledger.ID
			var rawID, key []byte
			var v int64
			if err := rows.Scan(&rawID, &o.year, &key, &v); err != nil {
				return err
			}
			if len(rawID) != len(id) || len(key) != len(o.key) {
				return fmt.Errorf("id of %d bytes or quota key of %d bytes", len(rawID), len(key))
			}
			copy(id[:], rawID)
			copy(o.key[:], key)
			o.value = money.Amount(v)
			open[id] = o
			return nil
		})
	if err != nil {
		return fmt.Errorf("fx: load the quota's open reservations: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.used, u.open, u.floor = used, open, year
	u.cursor = max(through, floorTS)
	u.dirtyUsed, u.dirtyOpen, u.rewrite = map[yearKey]struct{}{}, map[ledger.ID]bool{}, false
	u.replaying, u.held, u.heldThrough = true, nil, 0
	return nil
}

func query(ctx context.Context, db *sqldb.DB, q string, arg any, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// usageRow and openRow are what Save writes.
type (
	usageRow struct {
		k yearKey
		v money.Amount
	}
	openRow struct {
		id ledger.ID
		o  openLeg
	}
)

// Save writes, in one transaction, the count through the cursor: what
// changed since the last Save (everything, the first time and after a
// failed Save), dropping the years before now's, here and in the
// database. The app calls it every minute and at Close, after the
// journal closed. Durable and Reserve wait only while the changes are
// copied, not during the write.
func (u *Usage) Save(ctx context.Context, db *sqldb.DB, now time.Time) error {
	u.saveMu.Lock()
	defer u.saveMu.Unlock()
	u.mu.Lock()
	year := u.yearOf(now.UnixNano())
	if year > u.floor {
		// Rollover: once a year, a walk over last year's entries.
		for k := range u.used {
			if k.year < year {
				delete(u.used, k)
			}
		}
		for id, o := range u.open {
			if o.year < year {
				delete(u.open, id)
			}
		}
		u.floor = year
	}
	through, full := u.cursor, u.rewrite
	var usage []usageRow
	var opened []openRow
	var ended []ledger.ID
	if full {
		for k, v := range u.used {
			usage = append(usage, usageRow{k, v})
		}
		for id, o := range u.open {
			opened = append(opened, openRow{id, o})
		}
	} else {
		for k := range u.dirtyUsed {
			if k.year >= year {
				usage = append(usage, usageRow{k, u.used[k]}) // 0: given back; the row stays until its year is dropped
			}
		}
		for id, added := range u.dirtyOpen {
			if o, ok := u.open[id]; ok && added {
				opened = append(opened, openRow{id, o})
			} else if !ok {
				ended = append(ended, id)
			}
		}
	}
	clear(u.dirtyUsed)
	clear(u.dirtyOpen)
	u.rewrite = false
	u.mu.Unlock()

	err := db.Transact(ctx, func(tx *sql.Tx) error {
		return writeUsage(ctx, tx, year, full, through, usage, opened, ended)
	})
	if err != nil {
		u.mu.Lock()
		u.rewrite = true
		clear(u.dirtyUsed)
		clear(u.dirtyOpen)
		u.mu.Unlock()
		return fmt.Errorf("fx: save the quota's usage through %d: %w", through, err)
	}
	return nil
}

// rowsPerStatement bounds the rows one INSERT or DELETE carries: 1024
// parameters at most, far below either engine's limit.
const rowsPerStatement = 256

func writeUsage(ctx context.Context, tx *sql.Tx, year int, full bool, through int64, usage []usageRow, opened []openRow, ended []ledger.ID) error {
	drop := ` WHERE year < $1` // the years before now's
	var args []any
	if full {
		drop = "" // everything: what follows is the whole count
	} else {
		args = []any{year}
	}
	for _, table := range []string{"fx_quota_usage", "fx_quota_open"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+drop, args...); err != nil {
			return err
		}
	}
	err := chunked(ctx, tx, len(usage), 3, `INSERT INTO fx_quota_usage (year, quota_key, used) VALUES %s
		ON CONFLICT (year, quota_key) DO UPDATE SET used = excluded.used`, func(i int) []any {
		r := &usage[i]
		return []any{r.k.year, r.k.key[:], int64(r.v)}
	})
	if err != nil {
		return err
	}
	err = chunked(ctx, tx, len(opened), 4, `INSERT INTO fx_quota_open (id, year, quota_key, value) VALUES %s
		ON CONFLICT (id) DO NOTHING`, func(i int) []any {
		r := &opened[i]
		return []any{r.id[:], r.o.year, r.o.key[:], int64(r.o.value)}
	})
	if err != nil {
		return err
	}
	err = chunked(ctx, tx, len(ended), 1, `DELETE FROM fx_quota_open WHERE id IN (%s)`, func(i int) []any {
		return []any{ended[i][:]}
	})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO fx_quota_cursor (id, through_ts) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET through_ts = excluded.through_ts`, through)
	return err
}

// chunked runs format with n groups of width parameters in place of %s,
// "($1, $2), ($3, $4)" (a group of one bare: "$1, $2"), at most
// rowsPerStatement groups a statement; row(i) gives group i's values.
func chunked(ctx context.Context, tx *sql.Tx, n, width int, format string, row func(i int) []any) error {
	for lo := 0; lo < n; lo += rowsPerStatement {
		hi := min(lo+rowsPerStatement, n)
		var sb strings.Builder
		args := make([]any, 0, (hi-lo)*width)
		for i := lo; i < hi; i++ {
			if i > lo {
				sb.WriteString(", ")
			}
			if width > 1 {
				sb.WriteByte('(')
			}
			for j := range width {
				if j > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("$" + strconv.Itoa(len(args)+j+1))
			}
			if width > 1 {
				sb.WriteByte(')')
			}
			args = append(args, row(i)...)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(format, sb.String()), args...); err != nil {
			return err
		}
	}
	return nil
}
