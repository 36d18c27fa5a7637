package fx

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// usageEngines are the databases the quota's tables are tested on; the
// PostgreSQL one is skipped unless HULIAN_TEST_POSTGRES names a server
// (scripts/test.sh).
var usageEngines = []struct {
	name string
	open func(t *testing.T) *sqldb.DB
}{
	{"sqlite", func(t *testing.T) *sqldb.DB {
		db, err := sqldb.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "fx.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
	{"postgres", func(t *testing.T) *sqldb.DB {
		db, err := sqldb.OpenPostgres(context.Background(), pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
}

// history is a ledger's life: its durable batches (copied) and the
// clock after each.
type history struct {
	batches []*ledger.Committed
	clock   []time.Time
}

// scan is the journal's Scan over the first n batches: what is durable
// when the scan reads.
func (h *history) scan(n *int) ScanFunc {
	return func(ctx context.Context, from, to int64, fn func(ledger.Event) error) error {
		for _, b := range h.batches[:*n] {
			for _, e := range b.Events {
				if e.Timestamp >= from && e.Timestamp < to {
					if err := fn(e); err != nil {
						return err
					}
				}
			}
		}
		return ctx.Err()
	}
}

// makeHistory runs a real ledger through steps random batches from
// shortly before new year's day in Beijing: fx legs posted and reserved
// for a few payer accounts, reservations committed, aborted and expired,
// other purposes' legs with readable terms (not counted), and time going
// by in steps of up to two hours.
func makeHistory(t *testing.T, rng *rand.Rand, steps int) *history {
	t.Helper()
	st := ledger.New()
	h := &history{}
	now := time.Date(2026, 12, 29, 0, 0, 0, 0, beijing)
	var c ledger.Committed
	apply := func(cmds ...ledger.Command) {
		res := st.Apply(now.UnixNano(), cmds, nil, &c)
		for i, r := range res {
			if cmds[i].Kind == ledger.KindCreateAccount && !r.Status.Succeeded() {
				t.Fatalf("create account: %s", r.Status)
			}
		}
		if c.Seq != 0 {
			h.batches = append(h.batches, &ledger.Committed{Seq: c.Seq, Now: c.Now, Events: append([]ledger.Event(nil), c.Events...)})
			h.clock = append(h.clock, now)
		}
	}
	apply(ledger.Command{Kind: ledger.KindCreateAccount, Account: 1, Currency: hkd, AccountFlags: ledger.AccountUnbounded},
		ledger.Command{Kind: ledger.KindCreateAccount, Account: 2, Currency: hkd})
	var pending []ledger.ID
	n := 0
	next := func() ledger.ID { n++; return ledger.ID{0xaa, byte(n >> 16), byte(n >> 8), byte(n)} }
	for range steps {
		now = now.Add(time.Duration(rng.Int64N(int64(2 * time.Hour))))
		pending = slices.DeleteFunc(pending, func(id ledger.ID) bool {
			s, _, _ := st.Transfer(id)
			return s != ledger.StatePending
		})
		key, v := byte(1+rng.IntN(5)), money.Amount(1+rng.Int64N(50_00))
		leg := ledger.Command{ID: next(), Debit: 1, Credit: 2, Amount: v * 7, Purpose: purpose.FX, Meta: terms(key, v)}
		switch r := rng.IntN(10); {
		case r < 3:
			leg.Kind = ledger.KindPost
			apply(leg)
		case r < 6:
			leg.Kind, leg.Timeout = ledger.KindReserve, time.Duration(1+rng.Int64N(int64(12*time.Hour)))
			apply(leg)
			pending = append(pending, leg.ID)
		case r < 9 && len(pending) > 0:
			i := rng.IntN(len(pending))
			kind := ledger.KindCommit
			if rng.IntN(2) == 0 {
				kind = ledger.KindAbort
			}
			// Refused if it expired at now (expiries come first).
			apply(ledger.Command{Kind: kind, ID: next(), Pending: pending[i], Purpose: purpose.FX})
			pending = append(pending[:i], pending[i+1:]...)
		default:
			leg.Kind, leg.Purpose = ledger.KindPost, purpose.Payment
			apply(leg)
		}
		apply() // expire what is due
	}
	return h
}

// usageState is what a Usage counts for the year of now.
type usageState struct {
	used    map[yearKey]money.Amount
	open    map[ledger.ID]openLeg
	through int64
}

func stateOf(u *Usage, now time.Time) usageState {
	u.mu.Lock()
	defer u.mu.Unlock()
	year := u.yearOf(now.UnixNano())
	s := usageState{used: map[yearKey]money.Amount{}, open: map[ledger.ID]openLeg{}, through: u.cursor}
	for k, v := range u.used {
		if k.year >= year {
			s.used[k] = v
		}
	}
	for id, o := range u.open {
		if o.year >= year {
			s.open[id] = o
		}
	}
	return s
}

func (s usageState) equal(o usageState) bool {
	return s.through == o.through && maps.Equal(s.used, o.used) && maps.Equal(s.open, o.open)
}

func (s usageState) String() string {
	return fmt.Sprintf("through %d, used %v, %d open", s.through, s.used, len(s.open))
}

// TestUsageSaveLoadReplay: a Usage that crashed after saving, restarted
// with Load and Replay while the journal goes on, counts what one Usage
// that saw every event counts, on each engine and across new year.
func TestUsageSaveLoadReplay(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d (rerun with -seed %d)", seed, seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for _, eng := range usageEngines {
		t.Run(eng.name, func(t *testing.T) {
			db := eng.open(t)
			for round := range 4 {
				h := makeHistory(t, rng, 300)
				nb := len(h.batches)
				// Saves at s1 <= s2 (the second incremental), a crash at c1,
				// Load at c2; Durable is given batches c2 to c3 (some
				// before Replay, the rest after the scan applied j events),
				// the scan sees the first sn batches (sn >= c2, durable at
				// Load), and batches from c3 arrive live.
				cuts := []int{rng.IntN(nb + 1), rng.IntN(nb + 1), rng.IntN(nb + 1), rng.IntN(nb + 1)}
				slices.Sort(cuts)
				s1, s2, c1, c2 := cuts[0], cuts[1], cuts[2], cuts[3]
				sn, c3 := c2+rng.IntN(nb-c2+1), c2+rng.IntN(nb-c2+1)
				early, j := c2+rng.IntN(c3-c2+1), rng.IntN(50)
				ctx := context.Background()

				a := NewUsage(usd100, beijing, testTerms)
				feed := func(u *Usage, lo, hi int) {
					for i := lo; i < hi; i++ {
						u.Durable(h.batches[i : i+1])
					}
				}
				at := func(i int) time.Time { return h.clock[max(0, i-1)] }
				feed(a, 0, s1)
				if err := a.Save(ctx, db, at(s1)); err != nil {
					t.Fatal(err)
				}
				feed(a, s1, s2)
				if err := a.Save(ctx, db, at(s2)); err != nil {
					t.Fatal(err)
				}
				saved := stateOf(a, at(c2))
				feed(a, s2, c1) // then the process dies

				b := NewUsage(usd100, beijing, testTerms)
				if err := b.Load(ctx, db, at(c2)); err != nil {
					t.Fatal(err)
				}
				if got := stateOf(b, at(c2)); !maps.Equal(got.used, saved.used) || !maps.Equal(got.open, saved.open) || got.through < saved.through {
					t.Fatalf("round %d: loaded %v, saved %v", round, got, saved)
				}
				feed(b, c2, early)
				scan := h.scan(&sn)
				err := b.Replay(ctx, func(ctx context.Context, from, to int64, fn func(ledger.Event) error) error {
					k := 0
					err := scan(ctx, from, to, func(e ledger.Event) error {
						if k == j {
							feed(b, early, c3)
						}
						k++
						return fn(e)
					})
					if k <= j {
						feed(b, early, c3)
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				feed(b, c3, nb)

				ref := NewUsage(usd100, beijing, testTerms)
				feed(ref, 0, nb)
				end := at(nb)
				if got, want := stateOf(b, end), stateOf(ref, end); !got.equal(want) {
					t.Fatalf("round %d (saves %d %d, crash %d, load %d, scan %d, live %d of %d): after Save, Load and Replay %v; one Usage that saw everything %v",
						round, s1, s2, c1, c2, sn, c3, nb, got, want)
				}
				// And saved and loaded again, the same.
				if err := b.Save(ctx, db, end); err != nil {
					t.Fatal(err)
				}
				c := NewUsage(usd100, beijing, testTerms)
				if err := c.Load(ctx, db, end); err != nil {
					t.Fatal(err)
				}
				n := nb
				if err := c.Replay(ctx, h.scan(&n)); err != nil {
					t.Fatal(err)
				}
				if got, want := stateOf(c, end), stateOf(ref, end); !got.equal(want) {
					t.Fatalf("round %d: loaded again %v, want %v", round, got, want)
				}
			}
		})
	}
}

// TestUsageLoadEmpty: with nothing saved, Replay starts at the year of
// now: older events count in years that no longer matter.
func TestUsageLoadEmpty(t *testing.T) {
	for _, eng := range usageEngines {
		t.Run(eng.name, func(t *testing.T) {
			db := eng.open(t)
			u := NewUsage(usd100, beijing, testTerms)
			if err := u.Load(context.Background(), db, usageNow); err != nil {
				t.Fatal(err)
			}
			start, _ := Year(usageNow, beijing)
			var from int64
			err := u.Replay(context.Background(), func(_ context.Context, lo, _ int64, _ func(ledger.Event) error) error {
				from = lo
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if from != start.UnixNano() {
				t.Errorf("Replay scanned from %d, want %d (1 January in Beijing)", from, start.UnixNano())
			}
		})
	}
}

// TestUsageSaveAfterFailure: what a failed Save did not write, the next
// one writes.
func TestUsageSaveAfterFailure(t *testing.T) {
	for _, eng := range usageEngines {
		t.Run(eng.name, func(t *testing.T) {
			db := eng.open(t)
			ctx := context.Background()
			a := NewUsage(usd100, beijing, testTerms)
			a.Durable(batch(fxLeg(ledger.KindPost, at(3, 1, 9), 1, 7, 30_00), fxLeg(ledger.KindReserve, at(3, 1, 10), 2, 8, 20_00),
				fxLeg(ledger.KindReserve, at(3, 1, 11), 3, 9, 10_00)))
			if err := a.Save(ctx, db, usageNow); err != nil {
				t.Fatal(err)
			}
			a.Durable(batch(fxLeg(ledger.KindPost, at(3, 2, 9), 4, 7, 5_00), decide(ledger.KindAbort, at(3, 2, 10), 5, 2),
				fxLeg(ledger.KindReserve, at(3, 2, 11), 6, 9, 1_00)))
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if err := a.Save(cancelled, db, usageNow); err == nil {
				t.Fatal("Save with a cancelled context succeeded")
			}
			a.Durable(batch(decide(ledger.KindCommit, at(3, 3, 9), 7, 3)))
			if err := a.Save(ctx, db, usageNow); err != nil {
				t.Fatal(err)
			}
			b := NewUsage(usd100, beijing, testTerms)
			if err := b.Load(ctx, db, usageNow); err != nil {
				t.Fatal(err)
			}
			if got, want := stateOf(b, usageNow), stateOf(a, usageNow); !got.equal(want) {
				t.Fatalf("loaded %v, want %v", got, want)
			}
		})
	}
}

// TestUsageSaveMany saves more rows than one statement carries, while
// Durable goes on in another goroutine.
func TestUsageSaveMany(t *testing.T) {
	const keys, reserved = 700, 600
	for _, eng := range usageEngines {
		t.Run(eng.name, func(t *testing.T) {
			db := eng.open(t)
			ctx := context.Background()
			a := NewUsage(usd100, beijing, testTerms)
			ts := at(2, 1, 0)
			var first, second []ledger.Event
			for i := range keys {
				first = append(first, fxLeg(ledger.KindPost, ts+int64(i), i, i+1, money.Amount(1+i)))
			}
			for i := range reserved {
				first = append(first, fxLeg(ledger.KindReserve, ts+keys+int64(i), keys+i, 1000+i, 5_00))
				second = append(second, decide(ledger.KindAbort, ts+2*keys+int64(i), 2*keys+i, keys+i),
					fxLeg(ledger.KindPost, ts+2*keys+int64(i)+keys, 3*keys+i, i+1, 1))
			}
			slices.SortFunc(second, func(x, y ledger.Event) int { return int(x.Timestamp - y.Timestamp) })
			a.Durable(batch(first...))
			if err := a.Save(ctx, db, usageNow); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range second {
					a.Durable(batch(second[i]))
				}
			}()
			for range 3 {
				if err := a.Save(ctx, db, usageNow); err != nil {
					t.Error(err)
				}
			}
			<-done
			if err := a.Save(ctx, db, usageNow); err != nil {
				t.Fatal(err)
			}
			b := NewUsage(usd100, beijing, testTerms)
			if err := b.Load(ctx, db, usageNow); err != nil {
				t.Fatal(err)
			}
			got, want := stateOf(b, usageNow), stateOf(a, usageNow)
			if !got.equal(want) || len(got.used) != keys || len(got.open) != 0 {
				t.Fatalf("loaded %d used and %d open, through %d; want %d and 0, through %d", len(got.used), len(got.open), got.through,
					keys, want.through)
			}
		})
	}
}
