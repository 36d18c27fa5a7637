package directory

import (
	"context"
	"testing"
)

// TestLookupCounts checks that every lookup is counted once by result,
// whichever way it is answered (database, cache, routes in memory), and
// that Aliases counts the registrations.
func TestLookupCounts(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		ctx := context.Background()
		mustRegister(t, d, party("alpha", MSISDN, "+8613800138000", "张三"))
		mustRegister(t, d, party("beta", WALLET, "beta:1", "李四"))
		for _, c := range []struct {
			name string
			call func() error
			want LookupCounts
		}{
			{"lookup found", func() error { _, err := d.Lookup(ctx, MSISDN, "+8613800138000"); return err }, LookupCounts{Found: 1}},
			{"lookup again", func() error { _, err := d.Lookup(ctx, MSISDN, "+8613800138000"); return err }, LookupCounts{Found: 1}},
			{"local", func() error { _, err := d.LookupLocal(ctx, WALLET, "beta:1"); return err }, LookupCounts{Found: 1}},
			{"route", func() error { _, err := d.Route(ctx, MSISDN, "+8613800138000"); return err }, LookupCounts{Found: 1}},
			{"route again", func() error { _, err := d.Route(ctx, MSISDN, "+8613800138000"); return err }, LookupCounts{Found: 1}},
			{"missing", func() error { _, err := d.Lookup(ctx, MSISDN, "+8613900139000"); return err }, LookupCounts{NotFound: 1}},
			{"route missing", func() error { _, err := d.Route(ctx, WALLET, "nobody:1"); return err }, LookupCounts{NotFound: 1}},
			{"bad type", func() error { _, err := d.Lookup(ctx, "NOPE", "x"); return err }, LookupCounts{Failed: 1}},
		} {
			before := d.Lookups()
			c.call()
			after := d.Lookups()
			got := LookupCounts{after.Found - before.Found, after.NotFound - before.NotFound, after.Failed - before.Failed}
			if got != c.want {
				t.Errorf("%s: counted %+v, want %+v", c.name, got, c.want)
			}
		}
		if n, err := d.Aliases(ctx); err != nil || n != 2 {
			t.Errorf("Aliases = %d, %v; want 2", n, err)
		}
	})
}
