package directory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/hulian/hulian/internal/money"
)

func TestPhoneKey(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"+8613800138000", 8613800138000, true},
		{"+1", 1, true},
		{"+999999999999999", 999999999999999, true},
		{"+9999999999999999", 0, false}, // 16 digits: not E.164
		{"+0123", 0, false},
		{"8613800138000", 0, false},
		{"+", 0, false},
		{"", 0, false},
		{"+86138x0138000", 0, false},
		{"+86 138", 0, false},
	} {
		got, ok := phoneKey(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("phoneKey(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestRouteTable checks the open-addressing tables against a map through
// random puts, overwrites, removals and lookups, many of them on keys of
// few shards so that probe runs wrap around and removals shift entries.
func TestRouteTable(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	rs := newRoutes()
	model := map[uint64]Route{}
	keys := make([]uint64, 3000)
	for i := range keys {
		keys[i] = 8613800000000 + uint64(rng.IntN(1_000_000))
	}
	usd := money.MustCurrency("USD")
	for op := range 60000 {
		k := keys[rng.IntN(len(keys))]
		switch rng.IntN(4) {
		case 0, 1:
			name := fmt.Sprint("Name ", rng.IntN(50))
			r := Route{Participant: fmt.Sprint("p", rng.IntN(5)), DisplayName: MaskName(name), Currency: cny}
			if rng.IntN(2) == 0 {
				r.Currency = usd
			}
			_, _, gen := rs.get(k)
			rs.put(k, r.Participant, name, r.Currency, gen)
			model[k] = r
		case 2:
			rs.invalidate(k)
			delete(model, k)
		case 3:
			got, ok, _ := rs.get(k)
			want, wok := model[k]
			if ok != wok || got != want {
				t.Fatalf("op %d: get(%d) = %+v, %v; want %+v, %v (seed %d)", op, k, got, ok, want, wok, seed)
			}
		}
	}
	if rs.len() != len(model) {
		t.Fatalf("%d routes held, want %d (seed %d)", rs.len(), len(model), seed)
	}
	for k, want := range model {
		if got, ok, _ := rs.get(k); !ok || got != want {
			t.Fatalf("get(%d) = %+v, %v; want %+v (seed %d)", k, got, ok, want, seed)
		}
	}
}

// TestRoutePutAfterWrite checks that a fill which read the database
// before a write is dropped.
func TestRoutePutAfterWrite(t *testing.T) {
	rs := newRoutes()
	_, _, gen := rs.get(8613800138000)
	rs.invalidate(8613800138000) // a write lands between the read and the fill
	rs.put(8613800138000, "alpha", "Zhang San", cny, gen)
	if _, ok, _ := rs.get(8613800138000); ok {
		t.Fatal("a fill older than a write was kept")
	}
}

// TestRouteWriteOrder checks that a writer whose transaction began
// before another write's returned does not hold its route: the other
// write (here a delete) may have committed after it.
func TestRouteWriteOrder(t *testing.T) {
	rs := newRoutes()
	const k = 8613800138000
	w := []routeWrite{{key: k, stored: true, participant: "alpha", name: "Zhang San", currency: cny}}
	w[0].gen = rs.gen(k) // the registration's transaction begins
	rs.invalidate(k)     // a delete commits, forgets the number and returns
	rs.wrote(w)          // the registration, committed before the delete, follows up
	if r, ok, _ := rs.get(k); ok {
		t.Fatalf("a write older than a returned delete was held: %+v", r)
	}
	w[0].gen = rs.gen(k)
	rs.wrote(w) // nothing in between: held
	if _, ok, _ := rs.get(k); !ok {
		t.Fatal("a write with no other in between was not held")
	}
	// While the loader reads, a written number is noted for it to skip.
	rs.setDirty(true)
	rs.invalidate(k)
	if _, dirty := rs.shard(rs.hash(k)).dirty[k]; !dirty {
		t.Fatal("a number written while loading is not noted")
	}
	rs.setDirty(false)
}

// routeOf is what Route must answer for p.
func routeOf(p Party) Route {
	return Route{Type: p.Type, Value: p.Value, Participant: p.Participant, DisplayName: MaskName(p.Name), Currency: p.Currency}
}

func TestRoute(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		ctx := context.Background()
		ps := []Party{
			mustRegister(t, d, party("alpha", MSISDN, "+8613800138000", "Zhang San")),
			mustRegister(t, d, party("beta", EMAIL, "li.si@example.com", "李四")),
		}
		if d.routes != nil {
			// Held from the registration on, before any lookup.
			if r, ok, _ := d.routes.get(8613800138000); !ok || r.DisplayName != "Z**** S**" {
				t.Fatalf("route after registering: %+v, %v", r, ok)
			}
		}
		for range 2 { // the second time from memory, where it is held
			for _, p := range ps {
				got, err := d.Route(ctx, p.Type, p.Value)
				if err != nil || got != routeOf(p) {
					t.Fatalf("Route(%s %s) = %+v, %v; want %+v", p.Type, p.Value, got, err, routeOf(p))
				}
			}
		}
		p := mustRegister(t, d, party("alpha", MSISDN, "+8613800138000", "Wang Wu"))
		if got, err := d.Route(ctx, MSISDN, p.Value); err != nil || got.DisplayName != "W*** W*" {
			t.Fatalf("after an update: %+v, %v", got, err)
		}
		if _, _, err := d.Register(ctx, party("beta", MSISDN, p.Value, "Someone Else")); !errors.Is(err, ErrOwnedByOther) {
			t.Fatalf("registering another's alias: %v", err)
		}
		if got, err := d.Route(ctx, MSISDN, p.Value); err != nil || got.DisplayName != "W*** W*" || got.Participant != "alpha" {
			t.Fatalf("after a refused registration: %+v, %v", got, err)
		}
		if err := d.Delete(ctx, "alpha", MSISDN, p.Value); err != nil {
			t.Fatal(err)
		}
		if got, err := d.Route(ctx, MSISDN, p.Value); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after a delete: %+v, %v", got, err)
		}
		if _, err := d.Route(ctx, MSISDN, "+8613900000000"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown alias: %v", err)
		}
	})
}

// TestRoutesLoad checks that a directory opened over existing aliases
// loads their routes, more than one chunk of them, while other aliases
// are written, and that every route it then answers is the database's.
func TestRoutesLoad(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	db := benchDB(t)
	n := routeChunk*2 + 517
	values := loadMSISDNs(t, New(db, Options{CacheEntries: -1}), 0, n)

	var loaded struct {
		sync.Mutex
		n   int
		err error
	}
	done := make(chan struct{})
	d := New(db, Options{Routes: true, RoutesLoaded: func(n int, _ time.Duration, err error) {
		loaded.Lock()
		loaded.n, loaded.err = n, err
		loaded.Unlock()
		close(done)
	}})
	defer d.Close()

	// Writes while the loader runs: renames, deletes, registrations.
	ctx := context.Background()
	owner := func(i int) string { return fmt.Sprint("p", i%benchParticipants) }
	deleted := map[int]bool{}
	for k := 0; k < 300; k++ {
		i := rng.IntN(n)
		switch rng.IntN(3) {
		case 0:
			if !deleted[i] {
				mustRegister(t, d, party(owner(i), MSISDN, values[i], fmt.Sprint("Renamed ", k)))
			}
		case 1:
			if !deleted[i] {
				if err := d.Delete(ctx, owner(i), MSISDN, values[i]); err != nil {
					t.Fatal(err)
				}
				deleted[i] = true
			}
		case 2:
			if _, err := d.Route(ctx, MSISDN, values[i]); err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		}
	}
	<-done
	if loaded.err != nil || loaded.n < n-len(deleted) {
		t.Fatalf("loaded %d routes, %v; want at least %d", loaded.n, loaded.err, n-len(deleted))
	}
	if held := d.routes.len(); held < (n-len(deleted))*9/10 {
		t.Fatalf("%d routes held of %d aliases", held, n)
	}
	truth := New(db, Options{CacheEntries: -1})
	for i, v := range values {
		got, err := d.Route(ctx, MSISDN, v)
		want, werr := truth.Lookup(ctx, MSISDN, v)
		if deleted[i] {
			if !errors.Is(err, ErrNotFound) || !errors.Is(werr, ErrNotFound) {
				t.Fatalf("deleted alias %d: %+v, %v (seed %d)", i, got, err, seed)
			}
			continue
		}
		if err != nil || werr != nil || got != routeOf(want) {
			t.Fatalf("alias %d: Route = %+v, %v; database %+v, %v (seed %d)", i, got, err, routeOf(want), werr, seed)
		}
	}
}

// TestRoutesNotStale runs lookups through Route while the same phone
// numbers are registered, renamed, moved between owners and deleted: a
// lookup after a write has returned must see that write.
func TestRoutesNotStale(t *testing.T) {
	forEach(t, func(t *testing.T, d *Directory) {
		churn(t, d, MSISDN, []string{"+8613800000001", "+8613800000002", "+8613800000003"},
			func(ctx context.Context, v string) (any, error) { return d.Route(ctx, MSISDN, v) },
			func(p Party) any { return routeOf(p) })
	})
}

// TestInternerLimit checks that an interner refuses new strings past its
// limit, and still numbers the ones it has.
func TestInternerLimit(t *testing.T) {
	var in interner[string]
	a, ok := in.id("alpha", 2)
	b, ok2 := in.id("beta", 2)
	if !ok || !ok2 || a == b || in.str(a) != "alpha" || in.str(b) != "beta" {
		t.Fatalf("ids %d %v, %d %v", a, ok, b, ok2)
	}
	if _, ok := in.id("gamma", 2); ok {
		t.Fatal("a third string numbered past a limit of 2")
	}
	if id, ok := in.id("alpha", 2); !ok || id != a {
		t.Fatalf("alpha again: %d %v", id, ok)
	}
}

// TestRoutesHeldOnRegisterMany checks that a batch's phone numbers are
// answered from memory once registered, a number given twice with the
// later registration's name.
func TestRoutesHeldOnRegisterMany(t *testing.T) {
	d := loadedRoutes(t)
	values := loadMSISDNs(t, d, 0, 1500)
	again := party("p0", MSISDN, values[0], "Li Si")
	if errs, err := d.RegisterMany(context.Background(), []Party{party("p0", MSISDN, values[0], "Wang Wu"), again}); err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatal(err, errs)
	}
	if n := d.routes.len(); n != len(values) {
		t.Fatalf("%d routes held after registering %d numbers", n, len(values))
	}
	k, _ := phoneKey(values[0])
	if r, ok, _ := d.routes.get(k); !ok || r.DisplayName != MaskName("Li Si") {
		t.Fatalf("route of a number registered twice in a batch: %+v, %v", r, ok)
	}
}

// TestRoutesHeldUnderConcurrentBatches checks that batches registered at
// the same time hold nearly all their routes: they spoil each other's
// only where their numbers share a bucket.
func TestRoutesHeldUnderConcurrentBatches(t *testing.T) {
	d := loadedRoutes(t)
	var wg sync.WaitGroup
	const writers, batches = 4, 5
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				ps := make([]Party, 500)
				for i := range ps {
					ps[i] = party(fmt.Sprint("p", w), MSISDN, fmt.Sprintf("+8613%d%08d", w, b*1000+i), "Zhang San")
				}
				if errs, err := d.RegisterMany(context.Background(), ps); err != nil || errs[0] != nil {
					t.Error(err, errs[0])
					return
				}
			}
		})
	}
	wg.Wait()
	if n, all := d.routes.len(), writers*batches*500; n < all*97/100 {
		t.Fatalf("%d of %d routes held", n, all)
	}
}

// invalidate forgets key as a delete does.
func (rs *routes) invalidate(key uint64) { rs.wrote([]routeWrite{{key: key}}) }

// loadedRoutes returns a directory holding routes on a fresh database,
// done loading them.
func loadedRoutes(t *testing.T) *Directory {
	d := New(benchDB(t), Options{Routes: true})
	t.Cleanup(func() { d.Close() })
	<-d.loaded
	return d
}

// TestRouteSlotPacking checks that a slot gives back the largest keys
// and values it is made to hold, and that they do not bleed into each
// other.
func TestRouteSlotPacking(t *testing.T) {
	maxKey, _ := phoneKey("+999999999999999")
	maxVal := uint64(1)<<routeValBits - 1
	for _, c := range []struct{ key, val uint64 }{
		{1, 0}, {maxKey, 0}, {1, maxVal}, {maxKey, maxVal},
		{8613800138000, 0x2a5a5a5a5a5a}, {1<<routeKeyBits - 1, 1},
	} {
		s := newRouteSlot(c.key, c.val)
		if s.key() != c.key || s.val() != c.val {
			t.Errorf("slot(%#x, %#x) reads back (%#x, %#x)", c.key, c.val, s.key(), s.val())
		}
	}
	if maxKey >= 1<<routeKeyBits {
		t.Errorf("the largest phone key %d needs more than %d bits", maxKey, routeKeyBits)
	}
	if n := unsafe.Sizeof(routeSlot{}); n != 12 {
		t.Errorf("a route slot takes %d bytes, want 12", n)
	}
}

// TestRoutePackLimits checks that a route whose currency, participant or
// masked name would take a number past its bits is refused (left to the
// database), not packed into its neighbour's bits, and that the ones
// numbered before still unpack to what they were.
func TestRoutePackLimits(t *testing.T) {
	rs := newRoutes()
	for i := range 1 << routeCurBits {
		if _, ok := rs.pack("p0", "n", money.Currency(i+1)); !ok {
			t.Fatalf("currency %d of %d refused", i+1, 1<<routeCurBits)
		}
	}
	if _, ok := rs.pack("p0", "n", money.Currency(1<<routeCurBits+1)); ok {
		t.Error("a currency past the limit packed")
	}
	for i := range 1 << routePartBits {
		if _, ok := rs.pack(fmt.Sprint("p", i), "n", 1); !ok {
			t.Fatalf("participant %d refused", i)
		}
	}
	if _, ok := rs.pack("one too many", "n", 1); ok {
		t.Error("a participant past the limit packed")
	}
	v, ok := rs.pack(fmt.Sprint("p", 1<<routePartBits-1), "Zhang San", money.Currency(1<<routeCurBits))
	if !ok {
		t.Fatal("known participant and currency refused")
	}
	rs.holdIf(8613800138000, v, func(*routeShard, uint64) bool { return true })
	r, hit, _ := rs.get(8613800138000)
	if !hit || r.Participant != fmt.Sprint("p", 1<<routePartBits-1) || r.Currency != money.Currency(1<<routeCurBits) || r.DisplayName != MaskName("Zhang San") {
		t.Errorf("got %+v, %v", r, hit)
	}
}
