package callback_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/wire"
)

// deliveries counts what the deliverer's Observer hears.
type deliveries struct {
	mu         sync.Mutex
	ok, failed int
}

func (d *deliveries) Delivery(ok bool, took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ok && took >= 0 {
		d.ok++
	} else {
		d.failed++
	}
}

func (d *deliveries) counts() (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ok, d.failed
}

// TestDeliveryMetrics checks what metrics see of delivery: each attempt
// by the Observer, as many failures as the participant refused and one
// success, and the queue that grows while its callbacks fail and empties
// once they go through.
func TestDeliveryMetrics(t *testing.T) {
	e := newEnv(t)
	b, h := e.payee("wallet-b", participant.Notify, cny)
	var accept atomic.Bool
	h.setRespond(func(r *http.Request, cb *wire.Callback, n int) (int, string) {
		if accept.Load() {
			return 200, ""
		}
		return 500, `{"error":"try later"}`
	})
	const payments = 3
	for i := range payments {
		e.pay(e.svc, e.payer, fmt.Sprintf("p%d", i), "wallet-b:CNY", cny, 1_00)
	}
	evs, err := e.Journal.AccountEvents(e.ctx, b.Account(cny), 1, 1<<63-1, 100)
	if err != nil {
		t.Fatal(err)
	}
	obs := &deliveries{}
	cfg := fast()
	cfg.BackoffMin, cfg.BackoffMax = 5*time.Millisecond, 10*time.Millisecond
	r := e.run(e.deliverer(cfg, func(d *callback.Deps) { d.Observer = obs }))
	waitFor(t, "two failed callbacks", func() bool { _, failed := obs.counts(); return failed >= 2 })
	depths, err := r.QueueDepths(e.ctx, 1000)
	if err != nil || depths[b.ID] != len(evs) || depths[e.payer.ID] != 0 {
		t.Fatalf("queue depths while wallet-b refuses: %v, %v; want wallet-b %d (its events), wallet-a 0 (no callback URL)",
			depths, err, len(evs))
	}
	if depths, err := r.QueueDepths(e.ctx, 2); err != nil || depths[b.ID] != 2 {
		t.Fatalf("queue depths up to 2: %v, %v", depths, err)
	}
	accept.Store(true)
	h.waitTransfers(t, payments)
	e.waitCursor(b.ID, "credits:CNY", e.lastEvent(b.Account(cny)))
	waitFor(t, "the queue to empty", func() bool {
		depths, err := r.QueueDepths(e.ctx, 1000)
		return err == nil && depths[b.ID] == 0
	})
	r.stop(t)
	ok, failed := obs.counts()
	if _, failures := r.Stats(); ok != 1 || failed != int(failures) {
		t.Fatalf("observer heard %d delivered and %d failed, want 1 and %d (the deliverer's count)", ok, failed, failures)
	}
}
