package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/sqldb"
)

func testKey(t testing.TB) *seal.Key {
	t.Helper()
	k, err := seal.New([]byte(strings.Repeat("k", seal.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// eachDB runs test on a fresh SQLite and PostgreSQL database with
// participants "alpha", "beta" and "gamma".
func eachDB(t *testing.T, test func(t *testing.T, db *sqldb.DB)) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *sqldb.DB
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(db.name, func(t *testing.T) {
			sdb := db.open(t)
			addParticipants(t, sdb, "alpha", "beta", "gamma")
			test(t, sdb)
		})
	}
}

func newDir(t testing.TB, db *sqldb.DB, opts Options) *Directory {
	d := New(db, opts)
	t.Cleanup(func() { d.Close() })
	return d
}

// stored reads a party's row as it is in the database.
func stored(t testing.TB, db *sqldb.DB, ty Type, v string) (name, account, index string) {
	t.Helper()
	err := db.QueryRow(`SELECT name, account, account_index FROM parties WHERE type = $1 AND value = $2`, string(ty), v).
		Scan(&name, &account, &index)
	if err != nil {
		t.Fatal(err)
	}
	return name, account, index
}

func TestSealedAtRest(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB) {
		key := testKey(t)
		d := newDir(t, db, Options{Seal: key, Routes: true})
		ctx := context.Background()
		p := party("alpha", MSISDN, "+8613800138000", "张三丰")
		p.Account = "6222021234567890"
		mustRegister(t, d, p)
		mustRegister(t, d, party("alpha", EMAIL, "zhang@example.com", "Zhang San"))

		name, account, index := stored(t, db, MSISDN, p.Value)
		if !seal.IsSealed(name) || !seal.IsSealed(account) || strings.Contains(name+account, "张三") || strings.Contains(account, "6222") {
			t.Errorf("stored in plain text: name %q account %q", name, account)
		}
		if index != key.Index(sealAccount, p.Account) {
			t.Errorf("account index %q, want the blind index of the account", index)
		}
		// Every way of reading gives the plain text, also past the cache.
		for _, d := range []*Directory{d, newDir(t, db, Options{Seal: key, CacheEntries: -1})} {
			got := mustLookup(t, d, MSISDN, p.Value)
			if got.Name != p.Name || got.Account != p.Account {
				t.Errorf("lookup: %q %q, want %q %q", got.Name, got.Account, p.Name, p.Account)
			}
			ps, err := d.List(ctx, "alpha", "", 10)
			if err != nil || len(ps) != 2 || ps[1].Name != p.Name || ps[1].Account != p.Account {
				t.Errorf("list: %+v %v", ps, err)
			}
			r, err := d.Route(ctx, MSISDN, p.Value)
			if err != nil || r.DisplayName != MaskName(p.Name) {
				t.Errorf("route: %+v %v", r, err)
			}
		}
		// The loader of routes opens names too.
		loaded := make(chan error, 1)
		d2 := newDir(t, db, Options{Seal: key, Routes: true, CacheEntries: -1, RoutesLoaded: func(_ int, _ time.Duration, err error) { loaded <- err }})
		if err := <-loaded; err != nil {
			t.Fatal(err)
		}
		if r, err := d2.Route(ctx, MSISDN, p.Value); err != nil || r.DisplayName != MaskName(p.Name) {
			t.Errorf("route from the loaded routes: %+v %v", r, err)
		}
		// Another key opens nothing.
		other, _ := seal.New([]byte(strings.Repeat("x", seal.KeySize)))
		if _, err := newDir(t, db, Options{Seal: other, CacheEntries: -1}).Lookup(ctx, MSISDN, p.Value); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("lookup with another key: %v, want seal.ErrOpen", err)
		}
	})
}

func TestResealOldRows(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// Rows as the release before sealing wrote them, more than a chunk.
		n := resealChunk + 7
		for i := range n {
			_, err := db.Exec(`INSERT INTO parties (type, value, participant, name, account, currency, created_at)
				VALUES ('WALLET', $1, 'alpha', $2, $3, 'CNY', 1)`, fmt.Sprintf("w%04d", i), fmt.Sprint("Name ", i), fmt.Sprint("acct-", i))
			if err != nil {
				t.Fatal(err)
			}
		}
		key := testKey(t)
		done := make(chan int, 1)
		d := newDir(t, db, Options{Seal: key, CacheEntries: -1, Resealed: func(n int, _ time.Duration, err error) {
			if err != nil {
				t.Error(err)
			}
			done <- n
		}})
		// Served correctly at once, sealed or not yet.
		if got := mustLookup(t, d, WALLET, "w0003"); got.Name != "Name 3" || got.Account != "acct-3" {
			t.Errorf("lookup of an old row: %+v", got)
		}
		select {
		case got := <-done:
			if got > n {
				t.Errorf("resealed %d rows of %d", got, n)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("resealing did not end")
		}
		var plain int
		if err := db.QueryRow(`SELECT count(*) FROM parties WHERE account_index = '' OR name NOT LIKE 'enc1:%' OR account NOT LIKE 'enc1:%'`).Scan(&plain); err != nil {
			t.Fatal(err)
		}
		if plain != 0 {
			t.Errorf("%d rows still in plain text", plain)
		}
		if got := mustLookup(t, d, WALLET, fmt.Sprintf("w%04d", n-1)); got.Name != fmt.Sprint("Name ", n-1) {
			t.Errorf("lookup after resealing: %+v", got)
		}
		// Again: nothing left to do.
		if again, err := d.Reseal(ctx); err != nil || again != 0 {
			t.Errorf("reseal again: %d %v", again, err)
		}
		// The quota sees the resealed rows.
		p := party("alpha", WALLET, "new", "Name 1")
		p.Account = "acct-1"
		d2 := newDir(t, db, Options{Seal: key, MaxAliasesPerAccount: 1})
		if _, _, err := d2.Register(ctx, p); !errors.Is(err, ErrQuotaExceeded) {
			t.Errorf("register past the quota of a resealed account: %v", err)
		}
	})
}

func TestQuota(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		d := newDir(t, db, Options{Seal: testKey(t), MaxAliasesPerAccount: 2})
		acct := func(owner, v, account string) Party {
			p := party(owner, WALLET, v, "Li Si")
			p.Account = account
			return p
		}
		steps := []struct {
			p    Party
			want error
		}{
			{acct("alpha", "a1", "X"), nil},
			{acct("alpha", "a2", "X"), nil},
			{acct("alpha", "a3", "X"), ErrQuotaExceeded},
			{acct("alpha", "a2", "X"), nil}, // re-registering counts once
			{acct("alpha", "a3", "Y"), nil}, // another account
			{acct("beta", "b1", "X"), nil},  // another participant's account X
			{acct("alpha", "a3", "X"), ErrQuotaExceeded},
		}
		for i, s := range steps {
			_, _, err := d.Register(ctx, s.p)
			if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
				t.Fatalf("step %d: register %s to %s: %v, want %v", i, s.p.Value, s.p.Account, err, s.want)
			}
		}
		// A refused registration changed nothing.
		if got := mustLookup(t, d, WALLET, "a3"); got.Account != "Y" {
			t.Errorf("a3 after a refusal: %+v", got)
		}
		// A batch counts its own earlier parties.
		_, errs, err := d.RegisterBatch(ctx, []Party{acct("gamma", "g1", "Z"), acct("gamma", "g2", "Z"), acct("gamma", "g3", "Z"), acct("gamma", "g4", "W")})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []error{nil, nil, ErrQuotaExceeded, nil} {
			if !errors.Is(errs[i], want) || (want == nil) != (errs[i] == nil) {
				t.Errorf("batch party %d: %v, want %v", i, errs[i], want)
			}
		}
		if _, err := d.Lookup(ctx, WALLET, "g3"); !errors.Is(err, ErrNotFound) {
			t.Errorf("g3 registered past the quota: %v", err)
		}

		// Concurrent registrations never pass the quota.
		const writers = 12
		var (
			wg sync.WaitGroup
			mu sync.Mutex
			ok int
		)
		for i := range writers {
			wg.Go(func() {
				_, _, err := d.Register(ctx, acct("beta", fmt.Sprint("race-", i), "R"))
				if err != nil && !errors.Is(err, ErrQuotaExceeded) {
					t.Error(err)
				}
				mu.Lock()
				ok += map[bool]int{true: 1}[err == nil]
				mu.Unlock()
			})
		}
		wg.Wait()
		if ok != 2 {
			t.Errorf("%d concurrent registrations for one account succeeded, want 2", ok)
		}
	})
}

func TestRemove(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		d := newDir(t, db, Options{Seal: testKey(t), Routes: true})
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		mustRegister(t, d, party("alpha", MSISDN, "+8613800138000", "Zhang San"))
		mustRegister(t, d, party("beta", WALLET, "w1", "Li Si"))
		mustLookup(t, d, MSISDN, "+8613800138000") // cached

		long := strings.Repeat("理", MaxReasonRunes+10)
		cases := []struct {
			ty         Type
			value      string
			reason     string
			want       error
			wantReason string
		}{
			{MSISDN, "+8613800138000", "fraud report 42", nil, "fraud report 42"},
			{MSISDN, "+8613800138000", "again", ErrNotFound, ""},
			{WALLET, "w1", "  ", ErrInvalidReason, ""},
			{WALLET, "w1", long + "\xff", nil, strings.Repeat("理", MaxReasonRunes)},
		}
		for _, c := range cases {
			r, err := d.Remove(ctx, c.ty, c.value, c.reason, now)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("remove %s: %v, want %v", c.value, err, c.want)
			}
			if err != nil {
				continue
			}
			if r.Reason != c.wantReason || !utf8.ValidString(r.Reason) || r.RemovedAt != now {
				t.Errorf("removal %+v, want reason %q", r, c.wantReason)
			}
			if _, err := d.Lookup(ctx, c.ty, c.value); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s after removal: %v", c.value, err)
			}
		}
		rs, err := d.Removals(ctx, 0, 10)
		if err != nil || len(rs) != 2 || rs[0].Participant != "alpha" || rs[1].Participant != "beta" || rs[1].Reason != strings.Repeat("理", MaxReasonRunes) {
			t.Errorf("removals: %+v %v", rs, err)
		}
		if _, err := d.Route(ctx, MSISDN, "+8613800138000"); !errors.Is(err, ErrNotFound) {
			t.Errorf("route after removal: %v", err)
		}
	})
}

func TestMove(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		d := newDir(t, db, Options{Seal: testKey(t), Routes: true, MaxAliasesPerAccount: 1})
		v := "+8613800138000"
		mustRegister(t, d, party("alpha", MSISDN, v, "Zhang San"))
		mustLookup(t, d, MSISDN, v)
		to := party("beta", MSISDN, v, "Zhang Sanfeng")
		to.Account = "beta-1"
		if _, err := d.Move(ctx, "alpha", to); err != nil {
			t.Fatal(err)
		}
		got := mustLookup(t, d, MSISDN, v)
		if got.Participant != "beta" || got.Name != "Zhang Sanfeng" || got.Account != "beta-1" {
			t.Errorf("after the move: %+v", got)
		}
		if r, err := d.Route(ctx, MSISDN, v); err != nil || r.Participant != "beta" {
			t.Errorf("route after the move: %+v %v", r, err)
		}
		if name, _, _ := stored(t, db, MSISDN, v); !seal.IsSealed(name) {
			t.Errorf("moved party stored in plain text: %q", name)
		}
		// Idempotent.
		if _, err := d.Move(ctx, "alpha", to); err != nil {
			t.Errorf("move again: %v", err)
		}
		// From an owner that is no longer the owner.
		if _, err := d.Move(ctx, "alpha", party("gamma", MSISDN, v, "X")); !errors.Is(err, ErrOwnedByOther) {
			t.Errorf("move from a former owner: %v", err)
		}
		// The quota of the claimant's account.
		mustRegister(t, d, party("alpha", WALLET, "w1", "Y"))
		q := party("beta", WALLET, "w1", "Y")
		q.Account = "beta-1"
		if _, err := d.Move(ctx, "alpha", q); !errors.Is(err, ErrQuotaExceeded) {
			t.Errorf("move past the quota: %v", err)
		}
		// An alias deleted meanwhile is simply registered.
		if err := d.Delete(ctx, "alpha", WALLET, "w1"); err != nil {
			t.Fatal(err)
		}
		q.Account = "beta-2"
		if _, err := d.Move(ctx, "alpha", q); err != nil {
			t.Errorf("move of a deleted alias: %v", err)
		}
	})
}

func TestDeleteAll(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		d := newDir(t, db, Options{Seal: testKey(t), Routes: true})
		n := deleteAllChunk + 3
		ps := make([]Party, n)
		for i := range ps {
			ps[i] = party("alpha", MSISDN, fmt.Sprintf("+86138%08d", i), "Zhang San")
		}
		for _, b := range [][]Party{ps[:MaxBatch], ps[MaxBatch:]} {
			if _, err := d.RegisterMany(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		mustRegister(t, d, party("beta", WALLET, "keep", "Li Si"))
		mustLookup(t, d, MSISDN, ps[0].Value)
		got, err := d.DeleteAll(ctx, "alpha")
		if err != nil || got != n {
			t.Fatalf("delete all: %d %v, want %d", got, err, n)
		}
		if _, err := d.Route(ctx, MSISDN, ps[0].Value); !errors.Is(err, ErrNotFound) {
			t.Errorf("route after delete all: %v", err)
		}
		mustLookup(t, d, WALLET, "keep")
		if got, err := d.DeleteAll(ctx, "alpha"); err != nil || got != 0 {
			t.Errorf("delete all again: %d %v", got, err)
		}
	})
}

func TestCutText(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"张三丰李", 3, "张三丰"},
		{"a\xffb", 3, "a\uFFFDb"},
		{"张\xe4\xb8", 5, "张\uFFFD"},
	} {
		if got := CutText(c.in, c.max); got != c.want {
			t.Errorf("CutText(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// TestClosedOwner: a closed participant registers nothing, in one or in
// a batch, and no alias moves to it; the registration reads the owner's
// status in its own transaction (on PostgreSQL holding it), so that one
// racing the closing either lands before it — and the closing's removal
// of the aliases sees it — or is refused.
func TestClosedOwner(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB) {
		d := newDir(t, db, Options{Seal: testKey(t)})
		ctx := context.Background()
		mustRegister(t, d, party("alpha", WALLET, "a1", "A"))
		if _, err := db.Exec(`UPDATE participants SET status = 'closed' WHERE id = 'beta'`); err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.Register(ctx, party("beta", WALLET, "b1", "B")); !errors.Is(err, ErrUnknownParticipant) {
			t.Errorf("Register for a closed participant: %v", err)
		}
		errs, err := d.RegisterMany(ctx, []Party{party("beta", WALLET, "b2", "B"), party("alpha", WALLET, "a2", "A")})
		if err != nil || !errors.Is(errs[0], ErrUnknownParticipant) || errs[1] != nil {
			t.Errorf("RegisterMany: %v, %v", errs, err)
		}
		if _, err := d.Move(ctx, "alpha", party("beta", WALLET, "a1", "B")); !errors.Is(err, ErrUnknownParticipant) {
			t.Errorf("Move to a closed participant: %v", err)
		}
	})
}
