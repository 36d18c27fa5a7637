package directory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
)

// SchemeRoute sends the aliases of one type that start with Prefix, and
// are not registered with this switch, to a scheme link: a participant
// of kind scheme that stands for another payment scheme. They are looked
// up, quoted and paid through it, in Currency.
type SchemeRoute struct {
	Type        Type
	Prefix      string
	Participant string
	Currency    money.Currency
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Limits of scheme routes.
const (
	// SchemeRoutesMax bounds the routes: one per country code or so, and
	// every lookup that misses locally scans a type's routes.
	SchemeRoutesMax = 1000
	// SchemePrefixMax bounds a prefix other than a phone number's.
	SchemePrefixMax = 64
)

// Errors of scheme routes.
var (
	// ErrSchemeRoute means a route's prefix is not one of its alias
	// type (a phone prefix is '+' and 1 to 15 digits, the first not 0;
	// others 1 to SchemePrefixMax printable ASCII characters in the
	// type's case), or it names no active participant of kind scheme
	// enabled for its currency. Refuse (HTTP 400); do not retry.
	ErrSchemeRoute = fault.New(fault.Invalid, "", "directory: invalid scheme route")
	// ErrNoSchemeRoute means no route of that type and prefix.
	ErrNoSchemeRoute = fault.New(fault.NotFound, "", "directory: no such scheme route")
	// ErrSchemeRoutesFull means SchemeRoutesMax routes exist: refuse
	// (HTTP 400); delete one first.
	ErrSchemeRoutesFull = fault.New(fault.Invalid, "", "directory: at most 1000 scheme routes")
	// ErrLinkUnavailable means an alias is routed to a scheme link but
	// the switch cannot ask the far scheme (no FSPIOP front end, or the
	// link is suspended): the payer learns nothing of the alias; retry
	// later.
	ErrLinkUnavailable = fault.New(fault.Unavailable, "", "directory: the scheme link cannot be asked now")
)

// Far asks the scheme behind a link for the holder of an alias.
type Far interface {
	// FarParty returns the masked name the far scheme shows for the
	// alias (t, value) through link, or an error wrapping ErrNotFound
	// when the far scheme does not know it.
	FarParty(ctx context.Context, link string, t Type, value string) (maskedName string, err error)
}

// Links tells which participants may be routed to.
type Links interface {
	// SchemeLink returns the currencies of participant id if it is an
	// active participant of kind scheme, and false otherwise.
	SchemeLink(id string) ([]money.Currency, bool)
}

// SchemeRoutes are the operator's routes of alias prefixes to scheme
// links: in the database (table scheme_routes), and in memory for the
// lookups that miss locally. Each change is a ledger mark (purpose
// scheme-route), so that the regulator sees where the switch sends its
// users' money abroad. Set the fields, then Load; Far may be set later
// (SetFar), before lookups begin.
type SchemeRoutes struct {
	DB *sqldb.DB
	// Ledger records each change; nil records nothing (tests).
	Ledger mark.Submitter
	Links  Links
	Now    func() time.Time

	far    atomic.Pointer[farBox]
	mu     sync.RWMutex
	byType map[Type][]SchemeRoute // longest prefix first
}

type farBox struct{ Far }

// SetFar sets how routed aliases are asked for at the far scheme.
func (r *SchemeRoutes) SetFar(f Far) { r.far.Store(&farBox{f}) }

// Load reads the routes from the database.
func (r *SchemeRoutes) Load(ctx context.Context) error {
	rows, err := r.DB.QueryContext(ctx, `SELECT type, prefix, participant, currency, created_at, updated_at FROM scheme_routes`)
	if err != nil {
		return fmt.Errorf("directory: load scheme routes: %w", err)
	}
	defer rows.Close()
	byType := map[Type][]SchemeRoute{}
	for rows.Next() {
		var rt SchemeRoute
		var typ, cur string
		var created, updated int64
		if err := rows.Scan(&typ, &rt.Prefix, &rt.Participant, &cur, &created, &updated); err != nil {
			return fmt.Errorf("directory: load scheme routes: %w", err)
		}
		if rt.Type, err = ParseType(typ); err == nil {
			rt.Currency, err = money.ParseCurrency(cur)
		}
		if err != nil {
			return fmt.Errorf("directory: load scheme routes: %w", err)
		}
		rt.CreatedAt, rt.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		byType[rt.Type] = append(byType[rt.Type], rt)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("directory: load scheme routes: %w", err)
	}
	for t := range byType {
		sortRoutes(byType[t])
	}
	r.mu.Lock()
	r.byType = byType
	r.mu.Unlock()
	return nil
}

// sortRoutes orders a type's routes longest prefix first, so that the
// first that matches is the longest.
func sortRoutes(rs []SchemeRoute) {
	slices.SortFunc(rs, func(a, b SchemeRoute) int {
		return cmp.Or(cmp.Compare(len(b.Prefix), len(a.Prefix)), strings.Compare(a.Prefix, b.Prefix))
	})
}

// CheckSchemePrefix reports whether prefix can start an alias of type t
// as the directory keeps it (see Normalize), wrapping ErrSchemeRoute if
// not.
func CheckSchemePrefix(t Type, prefix string) error {
	if !t.Valid() {
		return fmt.Errorf("%w: unknown alias type", ErrSchemeRoute)
	}
	if t == MSISDN {
		if len(prefix) < 2 || len(prefix) > 16 || prefix[0] != '+' || prefix[1] == '0' {
			return fmt.Errorf("%w: a phone prefix is '+' and 1 to 15 digits, the first not 0 (\"+852\")", ErrSchemeRoute)
		}
		for i := 1; i < len(prefix); i++ {
			if prefix[i] < '0' || prefix[i] > '9' {
				return fmt.Errorf("%w: a phone prefix is '+' and 1 to 15 digits, the first not 0 (\"+852\")", ErrSchemeRoute)
			}
		}
		return nil
	}
	if len(prefix) == 0 || len(prefix) > SchemePrefixMax {
		return fmt.Errorf("%w: a prefix is 1 to %d characters", ErrSchemeRoute, SchemePrefixMax)
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		switch {
		case c <= ' ' || c > '~' || c == '/':
			return fmt.Errorf("%w: a prefix is printable ASCII without spaces or '/'", ErrSchemeRoute)
		case (t == EMAIL || t == RANDOM) && c >= 'A' && c <= 'Z', t == NATIONAL_ID && c >= 'a' && c <= 'z':
			return fmt.Errorf("%w: a %s prefix is in the case its aliases are kept in", ErrSchemeRoute, t)
		}
	}
	return nil
}

// Put saves the route of rt.Type and rt.Prefix (Currency 0: the link's
// first currency), marked on the ledger as who's change, and returns it
// as stored and whether it is new.
func (r *SchemeRoutes) Put(ctx context.Context, rt SchemeRoute, who string) (SchemeRoute, bool, error) {
	if err := CheckSchemePrefix(rt.Type, rt.Prefix); err != nil {
		return SchemeRoute{}, false, err
	}
	curs, ok := r.Links.SchemeLink(rt.Participant)
	switch {
	case !ok:
		return SchemeRoute{}, false, fmt.Errorf("%w: %q is not an active participant of kind scheme", ErrSchemeRoute, rt.Participant)
	case rt.Currency == 0:
		rt.Currency = curs[0]
	case !slices.Contains(curs, rt.Currency):
		return SchemeRoute{}, false, fmt.Errorf("%w: the link is not enabled for %s", ErrSchemeRoute, rt.Currency)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, exists := r.find(rt.Type, rt.Prefix)
	if !exists && r.count() >= SchemeRoutesMax {
		return SchemeRoute{}, false, ErrSchemeRoutesFull
	}
	rt.UpdatedAt = r.now()
	rt.CreatedAt = rt.UpdatedAt
	if exists {
		rt.CreatedAt = old.CreatedAt
		if !rt.UpdatedAt.After(old.UpdatedAt) {
			rt.UpdatedAt = old.UpdatedAt.Add(time.Nanosecond) // the mark's key must differ
		}
	}
	// On the ledger first: a failure after it leaves a recorded attempt,
	// never an unrecorded change.
	if err := r.mark(ctx, rt, []string{"put", string(rt.Type), rt.Prefix, rt.Participant, rt.Currency.String(), who}); err != nil {
		return SchemeRoute{}, false, err
	}
	_, err := r.DB.ExecContext(ctx, `INSERT INTO scheme_routes (type, prefix, participant, currency, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (type, prefix) DO UPDATE SET participant = $3, currency = $4, updated_at = $6`,
		string(rt.Type), rt.Prefix, rt.Participant, rt.Currency.String(), rt.CreatedAt.UnixNano(), rt.UpdatedAt.UnixNano())
	if err != nil {
		return SchemeRoute{}, false, fmt.Errorf("directory: save scheme route: %w", err)
	}
	rs := slices.DeleteFunc(slices.Clone(r.byType[rt.Type]), func(x SchemeRoute) bool { return x.Prefix == rt.Prefix })
	rs = append(rs, rt)
	sortRoutes(rs)
	if r.byType == nil {
		r.byType = map[Type][]SchemeRoute{}
	}
	r.byType[rt.Type] = rs
	return rt, !exists, nil
}

// Delete removes the route of t and prefix, marked as who's change, or
// returns ErrNoSchemeRoute.
func (r *SchemeRoutes) Delete(ctx context.Context, t Type, prefix, who string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.find(t, prefix)
	if !ok {
		return ErrNoSchemeRoute
	}
	now := r.now()
	if !now.After(old.UpdatedAt) {
		now = old.UpdatedAt.Add(time.Nanosecond) // the mark's key must differ
	}
	old.UpdatedAt = now
	if err := r.mark(ctx, old, []string{"delete", string(t), prefix, who}); err != nil {
		return err
	}
	if _, err := r.DB.ExecContext(ctx, `DELETE FROM scheme_routes WHERE type = $1 AND prefix = $2`, string(t), prefix); err != nil {
		return fmt.Errorf("directory: delete scheme route: %w", err)
	}
	r.byType[t] = slices.DeleteFunc(slices.Clone(r.byType[t]), func(x SchemeRoute) bool { return x.Prefix == prefix })
	return nil
}

// List returns the routes by type and prefix.
func (r *SchemeRoutes) List() []SchemeRoute {
	r.mu.RLock()
	var out []SchemeRoute
	for _, rs := range r.byType {
		out = append(out, rs...)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b SchemeRoute) int {
		return cmp.Or(strings.Compare(string(a.Type), string(b.Type)), strings.Compare(a.Prefix, b.Prefix))
	})
	return out
}

// Match returns the route of the longest prefix of value among the
// routes of type t.
func (r *SchemeRoutes) Match(t Type, value string) (SchemeRoute, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, rt := range r.byType[t] {
		if strings.HasPrefix(value, rt.Prefix) {
			return rt, true
		}
	}
	return SchemeRoute{}, false
}

// party resolves an alias not registered here through its route: the
// far scheme's masked name, the link as participant, no account (the far
// scheme resolves the alias itself). ok is false when no route matches.
func (r *SchemeRoutes) party(ctx context.Context, t Type, value string) (Party, bool, error) {
	rt, ok := r.Match(t, value)
	if !ok {
		return Party{}, false, nil
	}
	if _, active := r.Links.SchemeLink(rt.Participant); !active {
		return Party{}, true, ErrLinkUnavailable
	}
	far := r.far.Load()
	if far == nil || far.Far == nil {
		return Party{}, true, ErrLinkUnavailable
	}
	name, err := far.FarParty(ctx, rt.Participant, t, value)
	if err != nil {
		return Party{}, true, err
	}
	return Party{Type: t, Value: value, Participant: rt.Participant, Name: name, Currency: rt.Currency, CreatedAt: rt.CreatedAt}, true, nil
}

func (r *SchemeRoutes) find(t Type, prefix string) (SchemeRoute, bool) {
	for _, rt := range r.byType[t] {
		if rt.Prefix == prefix {
			return rt, true
		}
	}
	return SchemeRoute{}, false
}

func (r *SchemeRoutes) count() int {
	n := 0
	for _, rs := range r.byType {
		n += len(rs)
	}
	return n
}

func (r *SchemeRoutes) now() time.Time {
	if r.Now == nil {
		return time.Now().UTC()
	}
	return r.Now().UTC()
}

// mark records a change of rt on the ledger (docs/formats.md, purpose
// 21): keyed by the route and the change's time, so that every change is
// a mark of its own.
func (r *SchemeRoutes) mark(ctx context.Context, rt SchemeRoute, fields []string) error {
	if r.Ledger == nil {
		return nil
	}
	_, err := mark.Record(ctx, r.Ledger, mark.Mark{Purpose: purpose.SchemeRoute, Currency: rt.Currency,
		Key: []string{"route", string(rt.Type), rt.Prefix, strconv.FormatInt(rt.UpdatedAt.UnixNano(), 10)}, Fields: fields})
	if err != nil {
		return fmt.Errorf("directory: record the scheme route change: %w", err)
	}
	return nil
}
