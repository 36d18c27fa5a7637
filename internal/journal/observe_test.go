package journal_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
)

// countingObserver adds up what the journal tells it.
type countingObserver struct {
	mu                        sync.Mutex
	batches, commands, events int
	commits                   int
	negative                  bool
}

func (o *countingObserver) Applied(commands int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batches++
	o.commands += commands
}

func (o *countingObserver) Committed(events int, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits++
	o.events += events
	o.negative = o.negative || took < 0
}

// TestObserver checks that the observer hears of every command applied
// and of every event made durable, whatever the batching: the counts
// match the submissions and the store's events.
func TestObserver(t *testing.T) {
	eachEngine(t, func(t *testing.T, open func(t *testing.T) journal.Store) {
		ctx := context.Background()
		obs := &countingObserver{}
		r := start(t, open, journal.Options{Observer: obs})
		setup := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 1, Currency: cny, AccountFlags: ledger.AccountUnbounded},
			{Kind: ledger.KindCreateAccount, Account: 2, Currency: cny}}
		if _, err := r.Submit(ctx, setup); err != nil {
			t.Fatal(err)
		}
		const callers, each = 8, 50
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for i := range each {
					// Every fifth one is refused (account 3 does not exist):
					// applied, but no event.
					cr := ledger.AccountID(2)
					if i%5 == 0 {
						cr = 3
					}
					cmd := ledger.Command{Kind: ledger.KindPost, ID: tid(byte(c+1), uint64(i)), Debit: 1, Credit: cr, Amount: 1}
					if _, err := r.Submit(ctx, []ledger.Command{cmd}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		r.stop(t)
		stored := 0
		r = start(t, open, journal.Options{})
		defer r.stop(t)
		if err := r.Scan(ctx, 0, math.MaxInt64, func(ledger.Event) error { stored++; return nil }); err != nil {
			t.Fatal(err)
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if want := len(setup) + callers*each; obs.commands != want {
			t.Errorf("observer heard of %d commands, want %d", obs.commands, want)
		}
		if obs.events != stored || stored != len(setup)+callers*each*4/5 {
			t.Errorf("observer heard of %d durable events, the store holds %d, want %d", obs.events, stored, len(setup)+callers*each*4/5)
		}
		if obs.batches == 0 || obs.commits == 0 || obs.commits > obs.batches || obs.negative {
			t.Errorf("batches %d, group commits %d, negative duration %v", obs.batches, obs.commits, obs.negative)
		}
	})
}
