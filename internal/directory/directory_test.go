package directory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

var cny = money.MustCurrency("CNY")

// openSQLite returns a fresh SQLite app database.
func openSQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqldb.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres returns a fresh PostgreSQL app database, or skips.
func openPostgres(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqldb.OpenPostgres(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// forEach runs test on SQLite and PostgreSQL, each with the cache on and
// off and with the routes in memory, with participants "alpha", "beta"
// and "gamma".
func forEach(t *testing.T, test func(t *testing.T, d *Directory)) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *sqldb.DB
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		for _, c := range []struct {
			name string
			opts Options
		}{{"cache", Options{}}, {"nocache", Options{CacheEntries: -1}}, {"routes", Options{Routes: true}}} {
			t.Run(db.name+"/"+c.name, func(t *testing.T) {
				sdb := db.open(t)
				addParticipants(t, sdb, "alpha", "beta", "gamma")
				d := New(sdb, c.opts)
				t.Cleanup(func() { d.Close() })
				test(t, d)
			})
		}
	}
}

func addParticipants(t testing.TB, db *sqldb.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		var n int64
		if err := db.QueryRow(`SELECT count(*) FROM participants`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		_, err := db.Exec(`INSERT INTO participants (id, number, name, kind, currencies, acceptance, status,
			api_key_hash, callback_secret, created_at, updated_at)
			VALUES ($1, $2, $3, 'wallet', 'CNY', 'notify', 'active', $4, 'secret', 0, 0)`,
			id, n+1, "Wallet "+id, []byte("hash"))
		if err != nil {
			t.Fatal(err)
		}
	}
}

func party(owner string, t Type, value, name string) Party {
	return Party{Type: t, Value: value, Participant: owner, Name: name, Account: "acct-" + value, Currency: cny}
}

func mustRegister(t testing.TB, d *Directory, p Party) Party {
	t.Helper()
	got, _, err := d.Register(context.Background(), p)
	if err != nil {
		t.Fatalf("register %+v: %v", p, err)
	}
	return got
}

func mustLookup(t testing.TB, d *Directory, ty Type, v string) Party {
	t.Helper()
	got, err := d.Lookup(context.Background(), ty, v)
	if err != nil {
		t.Fatalf("lookup %s %s: %v", ty, v, err)
	}
	return got
}

func TestRegisterLookup(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		ctx := context.Background()
		if _, err := d.Lookup(ctx, MSISDN, "+8613800138000"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("lookup of nothing: %v, want ErrNotFound", err)
		}

		p := party("alpha", MSISDN, "+8613800138000", "张三")
		got, created, err := d.Register(ctx, p)
		if err != nil || !created {
			t.Fatalf("register: %v, %v; want created", created, err)
		}
		if got.CreatedAt.IsZero() || time.Since(got.CreatedAt) > time.Minute {
			t.Errorf("CreatedAt = %v", got.CreatedAt)
		}
		p.CreatedAt = got.CreatedAt
		if got != p {
			t.Errorf("register returned %+v, want %+v", got, p)
		}
		for range 2 { // from the database, then from the cache
			if l := mustLookup(t, d, MSISDN, "+8613800138000"); l != got {
				t.Errorf("lookup = %+v, want %+v", l, got)
			}
		}
		if l := mustLookup(t, d, MSISDN, "+8613800138000"); l.MaskedName() != "*三" {
			t.Errorf("masked name %q", l.MaskedName())
		}

		// Re-registration by the owner replaces name, account and
		// currency, keeps CreatedAt, and the cache follows.
		p2 := Party{Type: MSISDN, Value: "+8613800138000", Participant: "alpha", Name: "张三丰", Account: "new", Currency: money.MustCurrency("HKD"),
			CreatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}
		got2, created, err := d.Register(ctx, p2)
		if err != nil || created {
			t.Fatalf("re-register: %v, %v; want updated", created, err)
		}
		want := p2
		want.CreatedAt = got.CreatedAt
		if got2 != want {
			t.Errorf("re-register returned %+v, want %+v", got2, want)
		}
		if l := mustLookup(t, d, MSISDN, "+8613800138000"); l != want {
			t.Errorf("lookup after re-register = %+v, want %+v (stale cache?)", l, want)
		}

		// Another participant may not take it.
		_, _, err = d.Register(ctx, party("beta", MSISDN, "+8613800138000", "李四"))
		if !errors.Is(err, ErrOwnedByOther) {
			t.Fatalf("register by another: %v, want ErrOwnedByOther", err)
		}
		if strings.Contains(err.Error(), "alpha") || strings.Contains(err.Error(), "13800138000") {
			t.Errorf("error %q reveals the owner or the alias", err)
		}
		if l := mustLookup(t, d, MSISDN, "+8613800138000"); l != want {
			t.Errorf("lookup after refused registration = %+v", l)
		}

		// The same value of another type is another alias.
		mustRegister(t, d, party("beta", WALLET, "13800138000", "李四"))
		mustRegister(t, d, party("gamma", NATIONAL_ID, "13800138000", "王五"))
		if l := mustLookup(t, d, WALLET, "13800138000"); l.Participant != "beta" {
			t.Errorf("WALLET alias owned by %q", l.Participant)
		}
		if l := mustLookup(t, d, NATIONAL_ID, "13800138000"); l.Participant != "gamma" {
			t.Errorf("NATIONAL_ID alias owned by %q", l.Participant)
		}

		// An explicit CreatedAt is kept on creation, to the nanosecond.
		at := time.Date(2020, 2, 29, 12, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
		p3 := party("gamma", EMAIL, "zs@example.com", "Zhang San")
		p3.CreatedAt = at
		if got := mustRegister(t, d, p3); !got.CreatedAt.Equal(at) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, at)
		}
		if l := mustLookup(t, d, EMAIL, "zs@example.com"); !l.CreatedAt.Equal(at) {
			t.Errorf("looked-up CreatedAt = %v, want %v", l.CreatedAt, at)
		}

		if _, err := d.Lookup(ctx, "PHONE", "+8613800138000"); !errors.Is(err, ErrInvalidType) {
			t.Errorf("lookup of a bad type: %v", err)
		}
		if _, err := d.Lookup(ctx, MSISDN, "13800138000"); !errors.Is(err, ErrNotFound) {
			t.Errorf("lookup of an unnormalized value: %v, want ErrNotFound", err)
		}
	})
}

func TestRegisterInvalid(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		ctx := context.Background()
		ok := party("alpha", MSISDN, "+8613800138000", "Zhang San")
		for _, tc := range []struct {
			name string
			edit func(*Party)
			want error
		}{
			{"type", func(p *Party) { p.Type = "msisdn" }, ErrInvalidType},
			{"value", func(p *Party) { p.Value = "+86138" }, ErrInvalidValue},
			{"unnormalized", func(p *Party) { p.Value = "+86 138 0013 8000" }, ErrInvalidValue},
			{"national form", func(p *Party) { p.Value = "13800138000" }, ErrInvalidValue},
			{"email case", func(p *Party) { p.Type, p.Value = EMAIL, "ZS@example.com" }, ErrInvalidValue},
			{"no participant", func(p *Party) { p.Participant = "" }, ErrInvalidParty},
			{"no name", func(p *Party) { p.Name = " " }, ErrInvalidParty},
			{"long name", func(p *Party) { p.Name = strings.Repeat("张", 141) }, ErrInvalidParty},
			{"control in name", func(p *Party) { p.Name = "Zhang\nSan" }, ErrInvalidParty},
			{"bad UTF-8 name", func(p *Party) { p.Name = "Zh\xffang" }, ErrInvalidParty},
			{"no account", func(p *Party) { p.Account = "" }, ErrInvalidParty},
			{"long account", func(p *Party) { p.Account = strings.Repeat("1", 129) }, ErrInvalidParty},
			{"no currency", func(p *Party) { p.Currency = 0 }, ErrInvalidParty},
			{"bad currency", func(p *Party) { p.Currency = 999 }, ErrInvalidParty},
			{"unknown participant", func(p *Party) { p.Participant = "nobody" }, ErrUnknownParticipant},
		} {
			p := ok
			tc.edit(&p)
			if _, _, err := d.Register(ctx, p); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if _, err := d.Lookup(ctx, MSISDN, "+8613800138000"); !errors.Is(err, ErrNotFound) {
			t.Errorf("an invalid party was registered: %v", err)
		}
		// Long names are counted in runes: 140 CJK characters are fine.
		p := ok
		p.Name = strings.Repeat("张", 140)
		mustRegister(t, d, p)
	})
}

func TestDelete(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		ctx := context.Background()
		mustRegister(t, d, party("alpha", EMAIL, "zs@example.com", "Zhang San"))
		mustLookup(t, d, EMAIL, "zs@example.com") // into the cache

		if err := d.Delete(ctx, "alpha", EMAIL, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete of nothing: %v, want ErrNotFound", err)
		}
		if err := d.Delete(ctx, "beta", EMAIL, "zs@example.com"); !errors.Is(err, ErrNotOwner) {
			t.Errorf("delete by another: %v, want ErrNotOwner", err)
		}
		if err := d.Delete(ctx, "alpha", "email", "zs@example.com"); !errors.Is(err, ErrInvalidType) {
			t.Errorf("delete with a bad type: %v, want ErrInvalidType", err)
		}
		mustLookup(t, d, EMAIL, "zs@example.com")
		if err := d.Delete(ctx, "alpha", EMAIL, "zs@example.com"); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, err := d.Lookup(ctx, EMAIL, "zs@example.com"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("lookup after delete: %v, want ErrNotFound (stale cache?)", err)
		}
		if err := d.Delete(ctx, "alpha", EMAIL, "zs@example.com"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}

		// Once deleted, another participant may register it (porting).
		got, created, err := d.Register(ctx, party("beta", EMAIL, "zs@example.com", "Zhang San"))
		if err != nil || !created {
			t.Fatalf("register after delete: %v, %v", created, err)
		}
		if l := mustLookup(t, d, EMAIL, "zs@example.com"); l != got {
			t.Errorf("lookup after porting = %+v, want %+v (stale cache?)", l, got)
		}
	})
}

// TestConcurrentRegister races registrations of the same aliases by two
// participants: exactly one wins each, and the loser is told why.
func TestConcurrentRegister(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		ctx := context.Background()
		const aliases = 40
		for i := range aliases {
			v := fmt.Sprintf("race-%d", i)
			owners := []string{"alpha", "beta", "alpha"} // alpha twice: one creates, one updates or loses
			errs := make([]error, len(owners))
			created := make([]bool, len(owners))
			var wg sync.WaitGroup
			for j, o := range owners {
				wg.Go(func() {
					_, created[j], errs[j] = d.Register(ctx, party(o, WALLET, v, o))
				})
			}
			wg.Wait()
			l := mustLookup(t, d, WALLET, v)
			ncreated := 0
			for j, o := range owners {
				switch {
				case errs[j] == nil:
					if o != l.Participant {
						t.Errorf("%s: %s registered it, but %s owns it", v, o, l.Participant)
					}
					if created[j] {
						ncreated++
					}
				case errors.Is(errs[j], ErrOwnedByOther):
					if o == l.Participant {
						t.Errorf("%s: owner %s was told it is owned by another", v, o)
					}
				default:
					t.Errorf("%s: register by %s: %v", v, o, errs[j])
				}
			}
			if ncreated != 1 {
				t.Errorf("%s: created %d times", v, ncreated)
			}
		}
	})
}

// TestCacheNotStale writes while other goroutines keep looking the same
// aliases up, and checks that every read after a write sees it.
func TestCacheNotStale(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		churn(t, d, WALLET, []string{"hot-0", "hot-1", "hot-2"},
			func(ctx context.Context, v string) (any, error) { return d.Lookup(ctx, WALLET, v) },
			func(p Party) any { return p })
	})
}

// churn looks values (of type ty) up through look from four goroutines
// while, in 60 rounds, each is registered, updated, moved between owners
// and deleted: a lookup after a write has returned must see that write,
// as want makes it of the party stored.
func churn(t *testing.T, d *Directory, ty Type, values []string, look func(context.Context, string) (any, error), want func(Party) any) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				_, err := look(ctx, values[i%len(values)])
				if err != nil && !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
					t.Errorf("lookup: %v", err)
					return
				}
			}
		})
	}
	owners := []string{"alpha", "beta"}
	for i := range 60 {
		v := values[i%len(values)]
		owner := owners[(i/len(values))%2]
		name := fmt.Sprintf("name %d", i)
		if _, _, err := d.Register(ctx, party(owner, ty, v, name)); err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
		p := mustRegister(t, d, party(owner, ty, v, name+" bis")) // an update
		if got, err := look(ctx, v); err != nil || got != want(p) {
			t.Fatalf("round %d: lookup = %+v, %v; want %+v", i, got, err, want(p))
		}
		if err := d.Delete(ctx, owner, ty, v); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
		if got, err := look(ctx, v); !errors.Is(err, ErrNotFound) {
			t.Fatalf("round %d: lookup after delete = %+v, %v", i, got, err)
		}
	}
	cancel()
	wg.Wait()
}

func TestList(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		ctx := context.Background()
		var want []Party
		for i := range 23 {
			p := party("alpha", []Type{WALLET, EMAIL, RANDOM}[i%3], "", fmt.Sprint("n", i))
			switch p.Type {
			case WALLET:
				p.Value = fmt.Sprintf("w%02d", i)
			case EMAIL:
				p.Value = fmt.Sprintf("u%02d@example.com", i)
			case RANDOM:
				p.Value = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
			}
			p.Account = "acct-" + p.Value
			want = append(want, mustRegister(t, d, p))
			mustRegister(t, d, party("beta", WALLET, fmt.Sprintf("b%02d", i), "other"))
		}
		slices.SortFunc(want, func(a, b Party) int {
			if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
				return c
			}
			return strings.Compare(a.Value, b.Value)
		})

		for _, limit := range []int{1, 5, 7, 23, 24, 0} {
			var got []Party
			after := ""
			for pages := 0; ; pages++ {
				page, err := d.List(ctx, "alpha", after, limit)
				if err != nil {
					t.Fatalf("limit %d: %v", limit, err)
				}
				got = append(got, page...)
				if len(page) == 0 || (limit > 0 && len(page) < limit) || pages > 30 {
					break
				}
				after = page[len(page)-1].Cursor()
			}
			if !slices.Equal(got, want) {
				t.Errorf("limit %d: listed\n%v\nwant\n%v", limit, got, want)
			}
		}

		if page, err := d.List(ctx, "gamma", "", 10); err != nil || len(page) != 0 {
			t.Errorf("list of an owner with none: %v, %v", page, err)
		}
		for _, c := range []string{"!!", "bm8tbnVs", Party{Type: "X", Value: "y"}.Cursor(), Party{Type: WALLET}.Cursor()} {
			if _, err := d.List(ctx, "alpha", c, 10); !errors.Is(err, ErrInvalidCursor) {
				t.Errorf("cursor %q: %v, want ErrInvalidCursor", c, err)
			}
		}
		// A cursor for a deleted alias still continues after it.
		mid := want[10]
		if err := d.Delete(ctx, "alpha", mid.Type, mid.Value); err != nil {
			t.Fatal(err)
		}
		page, err := d.List(ctx, "alpha", mid.Cursor(), 2)
		if err != nil || len(page) != 2 || page[0] != want[11] {
			t.Errorf("list after a deleted cursor: %v, %v", page, err)
		}
	})
}

func TestListLimit(t *testing.T) {
	d := New(openSQLite(t), Options{})
	addParticipants(t, d.db, "alpha")
	var ps []Party
	for i := range MaxListLimit + 5 {
		ps = append(ps, party("alpha", WALLET, fmt.Sprintf("w%05d", i), "n"))
	}
	for start := 0; start < len(ps); start += MaxBatch {
		errs, err := d.RegisterMany(context.Background(), ps[start:min(start+MaxBatch, len(ps))])
		if err != nil || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
			t.Fatal(err, errs)
		}
	}
	for _, tc := range []struct{ limit, want int }{{0, DefaultListLimit}, {-1, DefaultListLimit}, {MaxListLimit + 1, MaxListLimit + 1}, {MaxListLimit + 2, MaxListLimit + 1}} {
		if page, err := d.List(context.Background(), "alpha", "", tc.limit); err != nil || len(page) != tc.want {
			t.Errorf("limit %d: %d parties, %v; want %d", tc.limit, len(page), err, tc.want)
		}
	}
}

func TestRegisterMany(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		ctx := context.Background()
		mustRegister(t, d, party("beta", MSISDN, "+8613800138001", "taken"))
		mustRegister(t, d, party("alpha", MSISDN, "+8613800138002", "old name"))
		mustLookup(t, d, MSISDN, "+8613800138002") // into the cache

		batch := []Party{
			party("alpha", MSISDN, "+8613800138000", "new"),       // 0 created
			party("alpha", MSISDN, "+8613800138001", "conflict"),  // 1 owned by beta
			party("alpha", MSISDN, "+8613800138002", "new name"),  // 2 updated
			party("alpha", MSISDN, "13800138003", "unnormalized"), // 3 invalid value
			party("nobody", MSISDN, "+8613800138004", "who"),      // 4 unknown participant
			party("alpha", MSISDN, "+8613800138000", "again"),     // 5 updates 0
			party("beta", MSISDN, "+8613800138000", "late"),       // 6 owned by alpha, from 0
			{Type: WALLET, Value: "w", Participant: "alpha"},      // 7 invalid party
			party("gamma", WALLET, "g", "gamma"),                  // 8 created
		}
		errs, err := d.RegisterMany(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		wantErrs := []error{nil, ErrOwnedByOther, nil, ErrInvalidValue, ErrUnknownParticipant, nil, ErrOwnedByOther, ErrInvalidParty, nil}
		if len(errs) != len(batch) {
			t.Fatalf("%d errors for %d parties", len(errs), len(batch))
		}
		for i, want := range wantErrs {
			if (want == nil) != (errs[i] == nil) || !errors.Is(errs[i], want) {
				t.Errorf("party %d: %v, want %v", i, errs[i], want)
			}
		}
		for _, c := range []struct{ v, owner, name string }{
			{"+8613800138000", "alpha", "again"},
			{"+8613800138001", "beta", "taken"},
			{"+8613800138002", "alpha", "new name"}, // not the cached old name
		} {
			if l := mustLookup(t, d, MSISDN, c.v); l.Participant != c.owner || l.Name != c.name {
				t.Errorf("%s: %s %q, want %s %q", c.v, l.Participant, l.Name, c.owner, c.name)
			}
		}
		for _, v := range []string{"+8613800138003", "+8613800138004"} {
			if _, err := d.Lookup(ctx, MSISDN, v); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", v, err)
			}
		}
		if l := mustLookup(t, d, WALLET, "g"); l.Participant != "gamma" {
			t.Errorf("g owned by %s", l.Participant)
		}

		if errs, err := d.RegisterMany(ctx, nil); err != nil || len(errs) != 0 {
			t.Errorf("empty batch: %v, %v", errs, err)
		}
		if _, err := d.RegisterMany(ctx, make([]Party, MaxBatch+1)); !errors.Is(err, ErrBatchTooLarge) {
			t.Errorf("batch of %d: %v, want ErrBatchTooLarge", MaxBatch+1, err)
		}
	})
}

// TestRegisterManyRollsBack checks that a database failure leaves nothing
// of the batch behind.
func TestRegisterManyRollsBack(t *testing.T) {
	d := New(openSQLite(t), Options{})
	addParticipants(t, d.db, "alpha")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.RegisterMany(ctx, []Party{party("alpha", WALLET, "w1", "n")}); err == nil {
		t.Fatal("RegisterMany with a cancelled context: no error")
	}
	if _, err := d.Lookup(context.Background(), WALLET, "w1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup: %v, want ErrNotFound", err)
	}
}

func TestCacheBounded(t *testing.T) {
	d := New(openSQLite(t), Options{CacheEntries: 10})
	addParticipants(t, d.db, "alpha")
	var ps []Party
	for i := range 200 {
		ps = append(ps, party("alpha", WALLET, fmt.Sprint("w", i), "n"))
	}
	if _, err := d.RegisterMany(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for _, p := range ps {
			if l := mustLookup(t, d, p.Type, p.Value); l.Value != p.Value {
				t.Fatalf("round %d: lookup %s = %+v", round, p.Value, l)
			}
		}
	}
	if n := d.cache.len(); n == 0 || n > 10 {
		t.Errorf("cache holds %d entries, want 1 to 10", n)
	}
	if n := New(d.db, Options{}).cache.perShard * maxShards; n != DefaultCacheEntries {
		t.Errorf("default capacity %d", n)
	}
	if New(d.db, Options{CacheEntries: -1}).cache != nil {
		t.Error("CacheEntries -1: a cache")
	}
}

// TestCacheGeneration plays the race TestCacheNotStale can only hope to
// hit: a lookup reads the database, a write commits and invalidates, and
// then the lookup tries to cache what it read.
func TestCacheGeneration(t *testing.T) {
	c := newCache(100)
	old := party("alpha", WALLET, "w", "old")
	_, ok, gen := c.get(WALLET, "w") // the lookup misses, then reads the database
	if ok {
		t.Fatal("hit in an empty cache")
	}
	c.invalidate(WALLET, "w") // a write ends
	c.put(old, gen)           // the lookup would cache what it read before
	if _, ok, _ := c.get(WALLET, "w"); ok {
		t.Fatal("cached a read older than an invalidation")
	}
	_, _, gen = c.get(WALLET, "w")
	c.put(old, gen)
	if e, ok, _ := c.get(WALLET, "w"); !ok || e.name() != "old" {
		t.Fatalf("not cached without a write in between: %+v, %v", e, ok)
	}
	c.invalidate(WALLET, "w")
	if _, ok, _ := c.get(WALLET, "w"); ok {
		t.Fatal("invalidate left the entry")
	}
}

// TestCacheKeys checks that one value under two types is two entries,
// and that an entry whose key collides with another alias's is neither
// served for it nor left behind by its invalidation.
func TestCacheKeys(t *testing.T) {
	c := newCache(4 * maxShards) // one value's entries share a shard: room for four
	for _, typ := range []Type{WALLET, RANDOM} {
		_, _, gen := c.get(typ, "same")
		c.put(party("alpha", typ, "same", string(typ)), gen)
	}
	for _, typ := range []Type{WALLET, RANDOM} {
		if e, ok, _ := c.get(typ, "same"); !ok || e.name() != string(typ) {
			t.Errorf("%s same: %+v, %v", typ, e, ok)
		}
	}
	if _, ok, _ := c.get(EMAIL, "same"); ok {
		t.Error("EMAIL same: hit, never cached")
	}

	// Another alias sits under x's key, as if their hashes collided.
	s, k, _ := c.slot(WALLET, "x")
	s.m[k], _ = newCacheEntry(typeCode(WALLET), "y", "alpha", "y's", "", 0, cny)
	if e, ok, _ := c.get(WALLET, "x"); ok {
		t.Fatalf("served another alias's entry: %+v", e)
	}
	_, _, gen := c.get(WALLET, "x")
	c.put(party("alpha", WALLET, "x", "x's"), gen)
	if e, ok, _ := c.get(WALLET, "x"); !ok || e.name() != "x's" {
		t.Fatalf("after put: %+v, %v", e, ok)
	}
	s.m[k], _ = newCacheEntry(typeCode(RANDOM), "x", "alpha", "RANDOM x", "", 0, cny)
	if e, ok, _ := c.get(WALLET, "x"); ok {
		t.Fatalf("served another type's entry: %+v", e)
	}
	c.invalidate(WALLET, "x")
	if _, found := s.m[k]; found {
		t.Error("invalidate left an entry under the key")
	}
}

// invalidate is a write that stored nothing: a delete.
func (c *cache) invalidate(t Type, v string) { c.wrote([]cacheWrite{{p: Party{Type: t, Value: v}}}) }

// TestCacheWriteThrough plays the orders in which two writes of one
// alias can end: a write holds what it stored only if no other write of
// its bucket ended during its transaction, and of the same key twice in
// one write the later stays.
func TestCacheWriteThrough(t *testing.T) {
	c := newCache(100)
	v1, v2 := party("alpha", WALLET, "w", "one"), party("alpha", WALLET, "w", "two")
	name := func() string {
		e, ok, _ := c.get(WALLET, "w")
		if !ok {
			return ""
		}
		return e.name()
	}

	g := c.gen(WALLET, "w")
	c.wrote([]cacheWrite{{p: v1, stored: true, gen: g}})
	if got := name(); got != "one" {
		t.Fatalf("a write alone: cached %q, want %q", got, "one")
	}

	// Both transactions begin, then both end, in either order: which
	// committed last is unknown, so neither may stay.
	for _, order := range [][2]Party{{v1, v2}, {v2, v1}} {
		g1, g2 := c.gen(WALLET, "w"), c.gen(WALLET, "w")
		c.wrote([]cacheWrite{{p: order[0], stored: true, gen: g1}})
		c.wrote([]cacheWrite{{p: order[1], stored: true, gen: g2}})
		if got := name(); got != "" {
			t.Fatalf("overlapping writes %s then %s: cached %q, want nothing", order[0].Name, order[1].Name, got)
		}
	}

	// A lookup that read the database before a write ended must not
	// cache what it read.
	_, _, lg := c.get(WALLET, "w")
	g = c.gen(WALLET, "w")
	c.wrote([]cacheWrite{{p: v2, stored: true, gen: g}})
	c.put(v1, lg)
	if got := name(); got != "two" {
		t.Fatalf("a stale fill after a write: cached %q, want %q", got, "two")
	}

	// One write holding the alias twice (a batch that registers it and
	// then updates it): the later one stays.
	g = c.gen(WALLET, "w")
	c.wrote([]cacheWrite{{p: v1, stored: true, gen: g}, {p: v2, stored: true, gen: g}})
	if got := name(); got != "two" {
		t.Fatalf("a batch of one alias twice: cached %q, want %q", got, "two")
	}

	// A write that may not have stored (its commit failed) forgets.
	g = c.gen(WALLET, "w")
	c.wrote([]cacheWrite{{p: v1, gen: g}})
	if got := name(); got != "" {
		t.Fatalf("a failed write: cached %q, want nothing", got)
	}
}

// TestRegisterBatchCached checks what a batch leaves in the cache: the
// parties as stored (an update keeps the original CreatedAt), read back
// without the database, and nothing of the parties it refused.
func TestRegisterBatchCached(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		if d.cache == nil {
			t.Skip("no cache")
		}
		ctx := context.Background()
		first := party("alpha", WALLET, "w1", "old")
		if _, err := d.RegisterMany(ctx, []Party{first}); err != nil {
			t.Fatal(err)
		}
		orig := mustLookup(t, d, WALLET, "w1")
		if _, _, err := d.Register(ctx, party("beta", WALLET, "taken", "beta's")); err != nil {
			t.Fatal(err)
		}
		update := party("alpha", WALLET, "w1", "new")
		update.CreatedAt = orig.CreatedAt.Add(time.Hour)
		errs, err := d.RegisterMany(ctx, []Party{
			update,
			party("alpha", WALLET, "w2", "two"),
			party("alpha", WALLET, "taken", "alpha's"), // owned by beta
		})
		if err != nil || errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrOwnedByOther) {
			t.Fatalf("batch: %v, %v", errs, err)
		}
		e, ok, _ := d.cache.get(WALLET, "w1")
		if !ok || e.name() != "new" || e.created != orig.CreatedAt.UnixNano() {
			t.Errorf("cached update %+v, %v; want name new, created %v", e, ok, orig.CreatedAt)
		}
		if e, ok, _ := d.cache.get(WALLET, "w2"); !ok || e.name() != "two" {
			t.Errorf("cached new alias %+v, %v", e, ok)
		}
		if e, ok, _ := d.cache.get(WALLET, "taken"); ok && e.participant != "beta" {
			t.Errorf("cached the refused registration: %+v", e)
		}
		if l := mustLookup(t, d, WALLET, "taken"); l.Participant != "beta" {
			t.Errorf("lookup of the refused alias: %+v", l)
		}
	})
}

// TestCacheEntryParts checks that an entry gives back the parts it was
// cut from, empty ones included, and refuses parts longer than its
// lengths can say.
func TestCacheEntryParts(t *testing.T) {
	long := strings.Repeat("x", math.MaxUint16+1)
	for _, c := range []struct {
		value, name, account string
		ok                   bool
	}{
		{"+8613800138000", "张三", "6222 0000 1111", true},
		{"w", "", "", true},
		{"", "", "acct", true},
		{"w", "n", long, true}, // the account is the rest: any length
		{long, "n", "a", false},
		{"w", long, "a", false},
	} {
		e, ok := newCacheEntry(typeCode(WALLET), c.value, "alpha", c.name, c.account, 7, cny)
		if ok != c.ok {
			t.Errorf("entry(%.10q, %.10q, %.10q): ok %v, want %v", c.value, c.name, c.account, ok, c.ok)
			continue
		}
		if ok && (e.value() != c.value || e.name() != c.name || e.account() != c.account || e.participant != "alpha" || e.created != 7) {
			t.Errorf("entry(%.10q, %.10q, %.10q) reads back %.10q, %.10q, %.10q", c.value, c.name, c.account, e.value(), e.name(), e.account())
		}
	}
}

// TestCacheMaxAge: a directory whose cache has a maximum age, beside
// another that writes the same database (a cluster's follower and its
// leader), answers from its cache while the entry is younger, and reads
// the database again once it is older: what another process changed is
// seen within the maximum age.
func TestCacheMaxAge(t *testing.T) {
	db := openSQLite(t)
	now := time.Unix(1_800_000_000, 0)
	writer := New(db, Options{})
	follower := New(db, Options{CacheMaxAge: time.Second, Now: func() time.Time { return now }})
	addParticipants(t, db, "alpha")
	ctx := context.Background()
	mustRegister(t, writer, party("alpha", WALLET, "w-1", "old name"))
	if got := mustLookup(t, follower, WALLET, "w-1"); got.Name != "old name" {
		t.Fatalf("first lookup: %+v", got)
	}
	mustRegister(t, writer, party("alpha", WALLET, "w-1", "new name"))
	for _, step := range []struct {
		after time.Duration
		want  string // "" for not found
	}{
		{500 * time.Millisecond, "old name"},  // cached: the writer's change is not seen yet
		{1001 * time.Millisecond, "new name"}, // older than a second: read again
	} {
		now = now.Add(step.after)
		if got := mustLookup(t, follower, WALLET, "w-1"); got.Name != step.want {
			t.Fatalf("%v later: %q, want %q", step.after, got.Name, step.want)
		}
	}
	if err := writer.Delete(ctx, "alpha", WALLET, "w-1"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(1001 * time.Millisecond)
	if got, err := follower.Lookup(ctx, WALLET, "w-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a second after the delete: %+v, %v", got, err)
	}
}
