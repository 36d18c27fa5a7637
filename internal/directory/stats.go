package directory

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// LookupCounts are the lookups (Lookup, LookupLocal and Route) the
// directory answered since it was made, by result: found, not found
// (ErrNotFound), or failed otherwise (a malformed alias type, a database
// error, a scheme link that could not be asked).
type LookupCounts struct {
	Found, NotFound, Failed uint64
}

// lookupCounters count lookups by result; atomics, so that counting
// costs a lookup no lock.
type lookupCounters struct {
	found, notFound, failed atomic.Uint64
}

func (c *lookupCounters) count(err error) {
	switch {
	case err == nil:
		c.found.Add(1)
	case errors.Is(err, ErrNotFound):
		c.notFound.Add(1)
	default:
		c.failed.Add(1)
	}
}

// Lookups returns how many lookups the directory answered, by result.
func (d *Directory) Lookups() LookupCounts {
	return LookupCounts{Found: d.lookups.found.Load(), NotFound: d.lookups.notFound.Load(), Failed: d.lookups.failed.Load()}
}

// Aliases counts the aliases registered: a scan of the parties table's
// index, for metrics, which should not ask it often.
func (d *Directory) Aliases(ctx context.Context) (int64, error) {
	var n int64
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM parties`).Scan(&n); err != nil {
		return 0, fmt.Errorf("directory: count aliases: %w", err)
	}
	return n, nil
}
