package directory

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/sqldb"
)

// benchParticipants own the benchmark aliases, round robin.
const benchParticipants = 10

// loadMSISDNs registers n Chinese mobile numbers, +86138xxxxxxxx from
// first on, in batches of MaxBatch, and returns their values.
func loadMSISDNs(tb testing.TB, d *Directory, first, n int) []string {
	tb.Helper()
	ctx := context.Background()
	values := make([]string, 0, n)
	batch := make([]Party, 0, MaxBatch)
	flush := func() {
		errs, err := d.RegisterMany(ctx, batch)
		if err != nil {
			tb.Fatal(err)
		}
		for _, err := range errs {
			if err != nil {
				tb.Fatal(err)
			}
		}
		batch = batch[:0]
	}
	for i := first; i < first+n; i++ {
		v := fmt.Sprintf("+86138%08d", i)
		values = append(values, v)
		batch = append(batch, Party{
			Type: MSISDN, Value: v, Participant: fmt.Sprint("p", i%benchParticipants),
			Name: "Zhang San", Account: fmt.Sprint("6222", 1000000000+i), Currency: cny,
		})
		if len(batch) == MaxBatch {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return values
}

func benchDB(tb testing.TB) *sqldb.DB {
	db := openSQLite(tb)
	ids := make([]string, benchParticipants)
	for i := range ids {
		ids[i] = fmt.Sprint("p", i)
	}
	addParticipants(tb, db, ids...)
	return db
}

// BenchmarkRegisterMany measures loading new aliases into SQLite in
// batches of MaxBatch, each one transaction.
func BenchmarkRegisterMany(b *testing.B) {
	d := New(benchDB(b), Options{CacheEntries: -1})
	b.ResetTimer()
	loadMSISDNs(b, d, 0, b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLookup looks up uniformly random aliases among 1,000,000 in
// SQLite, from GOMAXPROCS goroutines, with the cache off and with it on
// and warm (the cache holds them all). With -short, 100,000 aliases.
var lookupAliases = flag.Int("lookup-aliases", 1_000_000, "aliases BenchmarkLookup registers")

func BenchmarkLookup(b *testing.B) {
	n := *lookupAliases
	if testing.Short() {
		n = 100_000
	}
	db := benchDB(b)
	start := time.Now()
	values := loadMSISDNs(b, New(db, Options{CacheEntries: -1}), 0, n)
	took := time.Since(start)
	b.Logf("loaded %d aliases with RegisterMany in %v: %.0f rows/s", n, took.Round(time.Millisecond), float64(n)/took.Seconds())

	run := func(b *testing.B, d *Directory) {
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				v := values[rand.IntN(len(values))]
				if _, err := d.Lookup(ctx, MSISDN, v); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	}
	b.Run("cache=off", func(b *testing.B) {
		d := New(db, Options{CacheEntries: -1})
		defer d.Close()
		run(b, d)
	})
	// A cache much smaller than the aliases: nearly every lookup misses
	// and evicts, as with millions of aliases and uniform traffic.
	b.Run("cache=small", func(b *testing.B) {
		d := New(db, Options{CacheEntries: 1 << 16})
		defer d.Close()
		run(b, d)
	})
	b.Run("cache=on", func(b *testing.B) {
		d := New(db, Options{})
		defer d.Close()
		warm(b, d, values)
		run(b, d)
	})
	b.Run("cache=on/misses", func(b *testing.B) {
		// Unregistered aliases: every lookup goes to the database, as
		// the cache keeps positive lookups only.
		d := New(db, Options{})
		defer d.Close()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				v := fmt.Sprintf("+86139%08d", rand.IntN(n))
				if _, err := d.Lookup(ctx, MSISDN, v); !errors.Is(err, ErrNotFound) {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
}

// warm looks every value up once, in parallel, so that the cache holds
// them all.
func warm(b *testing.B, d *Directory, values []string) {
	b.Helper()
	const workers = 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(values); i += workers {
				if _, err := d.Lookup(context.Background(), MSISDN, values[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := d.cache.len(); got != len(values) {
		b.Fatalf("warm cache holds %d of %d", got, len(values))
	}
}

// BenchmarkCacheGet reads 256 Ki cached phone numbers (the switch's
// cache size) from GOMAXPROCS goroutines, all hits: what a payment's
// payee lookup costs when its alias is cached. The cache has room for
// twice as many, so that no shard evicts.
func BenchmarkCacheGet(b *testing.B) {
	c := newCache(1 << 19)
	values := make([]string, 1<<18)
	for i := range values {
		values[i] = fmt.Sprintf("+86138%08d", i)
		_, _, gen := c.get(MSISDN, values[i])
		c.put(Party{Type: MSISDN, Value: values[i], Participant: "p", Name: "n", Account: "a"}, gen)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, _ := c.get(MSISDN, values[rand.IntN(len(values))]); !ok {
				b.Error("miss")
				return
			}
		}
	})
}
