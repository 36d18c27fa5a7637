package callback_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/notice"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// Operations on the payee wallet-b before delivery starts.
const (
	pay     = "pay"     // wallet-a pays wallet-b: the one deliverable event
	deposit = "deposit" // the settlement bank credits wallet-b
	payout  = "payout"  // wallet-b pays wallet-a: a debit of wallet-b
)

type op struct {
	kind string
	c    money.Currency
	id   string
}

// TestDeliverOrder makes wallet-b's ledger history, then delivers it,
// and checks that exactly the payments to wallet-b arrive, oldest first
// across currencies, in callbacks of at most BatchMax transfers, and
// that the cursors end after everything read.
func TestDeliverOrder(t *testing.T) {
	p := func(id string, c money.Currency) op { return op{pay, c, id} }
	dep := op{kind: deposit, c: cny}
	tests := []struct {
		name     string
		batchMax int
		ops      []op
		want     [][]string
	}{
		{"one currency, batches of three", 3,
			[]op{p("c1", cny), p("c2", cny), p("c3", cny), p("c4", cny), p("c5", cny), p("c6", cny), p("c7", cny)},
			[][]string{{"c1", "c2", "c3"}, {"c4", "c5", "c6"}, {"c7"}}},
		{"batches of one", 1,
			[]op{p("c1", cny), p("c2", cny), p("c3", cny)},
			[][]string{{"c1"}, {"c2"}, {"c3"}}},
		{"all in one batch", 100,
			[]op{p("c1", cny), p("c2", cny), p("c3", cny)},
			[][]string{{"c1", "c2", "c3"}}},
		{"deposits and payments out are not delivered", 10,
			[]op{p("c1", cny), dep, p("c2", cny), {kind: payout, c: cny, id: "out1"}, dep, p("c3", cny)},
			[][]string{{"c1", "c2", "c3"}}},
		{"currencies merged oldest first", 2,
			[]op{p("c1", cny), p("u1", usd), p("c2", cny), p("u2", usd), p("c3", cny)},
			[][]string{{"c1", "u1"}, {"c2", "u2"}, {"c3"}}},
		// With BatchMax 1 a worker reads 4 events of a currency at a
		// time: c1 lies beyond the CNY events read first, and must still
		// go before u1, which is later.
		{"a long run of other events does not let a later currency overtake", 1,
			[]op{dep, dep, dep, dep, dep, p("c1", cny), p("u1", usd), dep, p("c2", cny)},
			[][]string{{"c1"}, {"u1"}, {"c2"}}},
		{"nor an earlier one fall behind", 1,
			[]op{p("u1", usd), dep, dep, dep, dep, dep, p("c1", cny), p("u2", usd)},
			[][]string{{"u1"}, {"c1"}, {"u2"}}},
		{"nothing to deliver", 10, []op{dep, dep}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			b, h := e.payee("wallet-b", participant.Notify, cny, usd)
			want := 0
			for _, o := range tt.ops {
				switch o.kind {
				case pay:
					e.pay(e.svc, e.payer, o.id, "wallet-b:"+o.c.String(), o.c, 10_00)
					want++
				case deposit:
					e.Deposit(b, o.c, 100_00)
				case payout:
					e.pay(e.svc, b, o.id, "a:1", o.c, 1_00)
				}
			}
			cfg := fast()
			cfg.BatchMax = tt.batchMax
			r := e.run(e.deliverer(cfg, nil))
			h.waitTransfers(t, want)
			r.waitDelivered(t, int64(want))
			// The running worker saves each currency's cursor after the
			// last event it read, delivered or not. (What a stop saves is
			// TestRunWaitsForWorkers' business.)
			for _, c := range b.Currencies {
				e.waitCursor(b.ID, "credits:"+c.String(), e.lastEvent(b.Account(c)))
			}
			if delivered, failures := r.Stats(); delivered != int64(want) || failures != 0 {
				t.Fatalf("stats: %d delivered, %d failures; want %d, 0", delivered, failures, want)
			}
			r.stop(t)
			if got := h.batches(); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("callbacks %q, want %q", got, tt.want)
			}
			// What the payee is told: its own committed payments, with its
			// own account reference.
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, cb := range h.accepted {
				for _, tr := range cb.Transfers {
					if cb.Event != wire.EventTransfersCommitted || tr.State != "COMMITTED" || tr.Payer != e.payer.ID ||
						tr.Payee.Participant != b.ID || tr.Payee.Account != "acct-"+tr.Payee.Value || tr.Amount != "10.00" {
						t.Errorf("callback %s: transfer %+v", cb.Event, tr)
					}
				}
			}
		})
	}
}

// fast is a delivery configuration for tests: quick polls, retries and
// saves.
func fast() callback.Config {
	return callback.Config{BatchMax: 100, Poll: 20 * time.Millisecond, BackoffMin: 5 * time.Millisecond,
		BackoffMax: 50 * time.Millisecond, SaveEvery: 10 * time.Millisecond, Timeout: 5 * time.Second}
}

// running is a deliverer running in the background.
type running struct {
	*callback.Deliverer
	cancel context.CancelFunc
	done   chan struct{}
}

// stop cancels Run and waits for it to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// source is what delivery reads, as the app builds it: the journal's
// account events and the payments the flow finds in them.
type source struct {
	*journal.Journal
	*transfer.Service
}

// waitDelivered waits until r counts n transfers and alerts delivered:
// the hook records a callback before it answers, and a worker stopped
// before the answer reached it sends the callback again (at least once).
func (r *running) waitDelivered(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, "the deliverer to see the answers", func() bool {
		delivered, _ := r.Stats()
		return delivered >= n
	})
}

// waitCursor waits until a participant's saved cursor of a stream is at
// pos.
func (e *env) waitCursor(p, stream string, pos int64) {
	e.t.Helper()
	var got int64
	waitFor(e.t, fmt.Sprintf("%s's %s cursor to be saved at %d", p, stream, pos), func() bool {
		got, _ = e.cursor(p, stream)
		return got == pos
	})
}

// deliverer builds a deliverer from cfg on the env's parts, changed by
// deps.
func (e *env) deliverer(cfg callback.Config, deps func(*callback.Deps)) *callback.Deliverer {
	e.t.Helper()
	d := callback.Deps{Source: source{e.Journal, e.svc}, Participants: e.Registry, DB: e.DB, Client: e.client}
	if deps != nil {
		deps(&d)
	}
	dl, err := callback.NewDeliverer(cfg, d)
	if err != nil {
		e.t.Fatal(err)
	}
	return dl
}

// run runs d until stop or the end of the test.
func (e *env) run(d *callback.Deliverer) *running {
	ctx, cancel := context.WithCancel(e.ctx)
	r := &running{Deliverer: d, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		d.Run(ctx)
	}()
	e.t.Cleanup(func() { r.stop(e.t) })
	return r
}

// TestDeliverResumes stops and restarts delivery and checks that a new
// deliverer resumes from the saved cursor: nothing saved is sent again,
// and when the last save was lost (a crash), only what followed it is.
func TestDeliverResumes(t *testing.T) {
	e := newEnv(t)
	b, h := e.payee("wallet-b", participant.Notify, cny)
	ids := make([]string, 9)
	ts := make([]int64, 9)
	payN := func(from, to int) {
		for i := from; i < to; i++ {
			ids[i] = fmt.Sprintf("p%d", i)
			ts[i] = e.pay(e.svc, e.payer, ids[i], "wallet-b:CNY", cny, 1_00).CreatedAt.UnixNano()
		}
	}
	cfg := fast()
	cfg.BatchMax = 2
	payN(0, 5)
	r := e.run(e.deliverer(cfg, nil))
	h.waitTransfers(t, 5)
	e.waitCursor(b.ID, "credits:CNY", ts[4])
	r.stop(t)
	if pos, ok := e.cursor(b.ID, "credits:CNY"); !ok || pos != ts[4] {
		t.Fatalf("cursor after the first run %d, %v; want %d, the last payment's", pos, ok, ts[4])
	}

	// Restarted: only what came since.
	payN(5, 8)
	r = e.run(e.deliverer(cfg, nil))
	h.waitTransfers(t, 8)
	e.waitCursor(b.ID, "credits:CNY", ts[7])
	r.stop(t)
	if got := h.transfers(); !slices.Equal(got, ids[:8]) {
		t.Fatalf("after a restart: %q, want %q", got, ids[:8])
	}

	// A crash lost the save after p5: p6 and p7 come again, then the
	// next payment, which in order comes after anything resent.
	if _, err := e.DB.ExecContext(e.ctx, `UPDATE delivery_cursors SET position = $1 WHERE participant = $2 AND stream = 'credits:CNY'`,
		ts[5], b.ID); err != nil {
		t.Fatal(err)
	}
	r = e.run(e.deliverer(cfg, nil))
	h.waitTransfers(t, 10)
	payN(8, 9)
	h.waitTransfers(t, 11)
	want := append(slices.Clone(ids[:8]), "p6", "p7", "p8")
	if got := h.transfers(); !slices.Equal(got, want) {
		t.Fatalf("after a lost save: %q, want %q", got, want)
	}
	e.waitCursor(b.ID, "credits:CNY", ts[8])
	r.stop(t)
}

// TestDeliverWake checks that Wake makes an idle worker deliver at once.
// Poll is an hour, so nothing else could explain a delivery within the
// test; and a payment made without a wake is shown not to be delivered.
func TestDeliverWake(t *testing.T) {
	e := newEnv(t)
	b, h := e.payee("wallet-b", participant.Notify, cny)
	cfg := fast()
	// With saves only when idle, a saved cursor means that the worker
	// found nothing more and is waiting.
	cfg.Poll, cfg.SaveEvery = time.Hour, time.Hour
	idle := func(tr transfer.Transfer) {
		t.Helper()
		waitFor(t, "the worker to be idle", func() bool {
			pos, _ := e.cursor(b.ID, "credits:CNY")
			return pos == tr.CreatedAt.UnixNano()
		})
	}
	t0 := e.pay(e.svc, e.payer, "p0", "wallet-b:CNY", cny, 1_00)
	r := e.run(e.deliverer(cfg, nil))
	h.waitTransfers(t, 1)
	idle(t0)

	t1 := e.pay(e.svc, e.payer, "p1", "wallet-b:CNY", cny, 1_00)
	time.Sleep(200 * time.Millisecond)
	if got := h.transfers(); len(got) != 1 {
		t.Fatalf("delivered without a wake: %q", got)
	}
	r.Wake(b.ID)
	h.waitTransfers(t, 2)
	idle(t1)

	// The payment flow wakes the payee's worker itself.
	notifying := e.service(r.Deliverer)
	e.pay(notifying, e.payer, "p2", "wallet-b:CNY", cny, 1_00)
	if got := h.waitTransfers(t, 3); !slices.Equal(got, []string{"p0", "p1", "p2"}) {
		t.Fatalf("delivered %q", got)
	}
	// Waking a participant without a worker is harmless.
	r.Wake("nobody")
}

// recordingFormat is the JSON API's format, recording the batches of
// transfers it is handed and when; it fails the first fail of them.
type recordingFormat struct {
	api.Callbacks
	mu    sync.Mutex
	fail  int
	calls []rendering
}

type rendering struct {
	at  time.Time
	ids []string
}

var errRender = errors.New("render failed")

func (f *recordingFormat) TransfersCommitted(ts []transfer.Transfer) ([]byte, error) {
	r := rendering{at: time.Now()}
	for _, t := range ts {
		r.ids = append(r.ids, t.ID)
	}
	f.mu.Lock()
	f.calls = append(f.calls, r)
	n := len(f.calls)
	f.mu.Unlock()
	if n <= f.fail {
		return nil, errRender
	}
	return f.Callbacks.TransfersCommitted(ts)
}

// TestDeliverRetries makes the first attempts at a batch fail in each
// way a callback can fail and checks that the batch is sent again, with
// growing backoff, until it goes through, and that nothing is lost or
// reordered. A participant whose answer was lost gets the batch again:
// delivery is at least once.
// renderSlack bounds how far into an attempt its rendering is stamped.
const renderSlack = 5 * time.Millisecond

func TestDeliverRetries(t *testing.T) {
	const (
		statusErr = iota // the participant answers 500
		slow             // the participant answers after the timeout
		render           // the format fails
		lost             // the participant takes the callback, but its answer comes too late
	)
	tests := []struct {
		name     string
		how      int
		failures int
	}{
		{"participant answers 500", statusErr, 4},
		{"participant too slow", slow, 2},
		{"format fails", render, 3},
		{"answer lost", lost, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			b, h := e.payee("wallet-b", participant.Notify, cny)
			f := &recordingFormat{}
			if tt.how == render {
				f.fail = tt.failures
			}
			var mu sync.Mutex
			var arrived [][]string // the batches the hook received, in order
			h.setRespond(func(r *http.Request, cb *wire.Callback, n int) (int, string) {
				var ids []string
				for _, t := range cb.Transfers {
					ids = append(ids, t.ID)
				}
				mu.Lock()
				arrived = append(arrived, ids)
				mu.Unlock()
				switch {
				case n >= tt.failures:
					return 200, ""
				case tt.how == statusErr:
					return 500, `{"error":"try later"}`
				case tt.how == slow:
					<-r.Context().Done() // the switch gave up
					return http.StatusServiceUnavailable, ""
				case tt.how == lost:
					<-r.Context().Done()
					return 200, ""
				}
				return 200, ""
			})
			for i := range 4 {
				e.pay(e.svc, e.payer, fmt.Sprintf("p%d", i), "wallet-b:CNY", cny, 1_00)
			}
			cfg := fast()
			cfg.BatchMax = 2
			cfg.BackoffMin, cfg.BackoffMax = 10*time.Millisecond, 40*time.Millisecond
			if tt.how == slow || tt.how == lost {
				cfg.Timeout = 400 * time.Millisecond
			}
			client := callback.NewClient(f, time.Now, true)
			r := e.run(e.deliverer(cfg, func(d *callback.Deps) { d.Client = client }))
			r.waitDelivered(t, 4)
			e.waitCursor(b.ID, "credits:CNY", e.lastEvent(b.Account(cny)))
			if delivered, failures := r.Stats(); delivered != 4 || failures != int64(tt.failures) {
				t.Fatalf("stats: %d delivered, %d failures; want 4, %d", delivered, failures, tt.failures)
			}
			r.stop(t)

			want := [][]string{{"p0", "p1"}, {"p2", "p3"}}
			wantArrived := want
			if tt.how != render {
				wantArrived = nil
				for range tt.failures + 1 {
					wantArrived = append(wantArrived, want[0])
				}
				wantArrived = append(wantArrived, want[1])
			}
			mu.Lock()
			if !slices.EqualFunc(arrived, wantArrived, slices.Equal) {
				t.Errorf("the hook received %q, want %q", arrived, wantArrived)
			}
			mu.Unlock()
			if got := h.batches(); tt.how != lost && !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("accepted %q, want %q", got, want)
			}
			// Each attempt was at the first batch, until it went through;
			// the waits between attempts doubled from BackoffMin up to
			// BackoffMax.
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.calls) != tt.failures+2 {
				t.Fatalf("%d renderings, want %d", len(f.calls), tt.failures+2)
			}
			backoff := cfg.BackoffMin
			for i, c := range f.calls {
				if i <= tt.failures && !slices.Equal(c.ids, want[0]) || i > tt.failures && !slices.Equal(c.ids, want[1]) {
					t.Errorf("attempt %d at %q", i, c.ids)
				}
				if i < tt.failures {
					// The wait counts from the failed attempt's start; the
					// rendering is stamped a little into it, so the gap
					// between two renderings may fall short of the wait by
					// that little.
					if gap := f.calls[i+1].at.Sub(c.at); gap < backoff-renderSlack {
						t.Errorf("attempt %d came %v after the one before, want at least %v", i+1, gap, backoff)
					}
					backoff = min(2*backoff, cfg.BackoffMax)
				}
			}
		})
	}
}

// TestDeliverNoCallbackURL checks that a participant without a callback
// URL is sent nothing, and that this costs the others nothing.
func TestDeliverNoCallbackURL(t *testing.T) {
	e := newEnv(t)
	_, h := e.payee("wallet-b", participant.Notify, cny)
	c, _ := e.participant("wallet-c", "", participant.Notify, cny)
	e.alias(c, "wallet-c:CNY", cny)
	cfg := fast()
	r := e.run(e.deliverer(cfg, nil))
	for i := range 3 {
		e.pay(e.svc, e.payer, fmt.Sprintf("c%d", i), "wallet-c:CNY", cny, 1_00)
		e.pay(e.svc, e.payer, fmt.Sprintf("b%d", i), "wallet-b:CNY", cny, 1_00)
	}
	h.waitTransfers(t, 3)
	time.Sleep(10 * cfg.Poll) // room for wallet-c's worker to try
	if delivered, failures := r.Stats(); delivered != 3 || failures != 0 {
		t.Fatalf("stats: %d delivered, %d failures; want 3, 0", delivered, failures)
	}
	r.stop(t)
	if got := h.transfers(); !slices.Equal(got, []string{"b0", "b1", "b2"}) {
		t.Fatalf("wallet-b's hook got %q", got)
	}
}

// TestDeliverNewParticipant checks that a participant created while
// delivery runs gets a worker of its own, started at Run's next poll
// (the payment flow's wake before that finds no worker to wake).
func TestDeliverNewParticipant(t *testing.T) {
	for _, poll := range []time.Duration{0, time.Hour} {
		e := newEnv(t)
		cfg := fast()
		if poll > 0 {
			// Only the transfer flow's wake can explain a delivery now:
			// it starts the worker of a participant new since Run began.
			cfg.Poll = poll
		}
		r := e.run(e.deliverer(cfg, nil))
		_, h := e.payee("wallet-b", participant.Notify, cny)
		e.pay(e.service(r.Deliverer), e.payer, "p0", "wallet-b:CNY", cny, 1_00)
		if got := h.waitTransfers(t, 1); !slices.Equal(got, []string{"p0"}) {
			t.Fatalf("poll %v: delivered %q", poll, got)
		}
		r.stop(t)
	}
}

// TestDeliverConfirmMode checks that of a confirm-mode payee's payments
// only those it accepted, committed after reservation, are delivered.
func TestDeliverConfirmMode(t *testing.T) {
	e := newEnv(t)
	_, h := e.payee("bank-c", participant.Confirm, cny)
	h.setRespond(func(_ *http.Request, cb *wire.Callback, _ int) (int, string) {
		if cb.Event != wire.EventTransferConfirm {
			return 200, ""
		}
		if cb.Transfer.ID[0] == 'a' {
			return 200, `{"decision":"accept"}`
		}
		return 200, `{"decision":"reject","reason":"no such account"}`
	})
	for _, id := range []string{"a1", "r1", "a2", "r2", "a3"} {
		tr := e.pay(e.svc, e.payer, id, "bank-c:CNY", cny, 1_00)
		if want := map[byte]transfer.State{'a': transfer.Committed, 'r': transfer.Aborted}[id[0]]; tr.State != want {
			t.Fatalf("%s: %s, want %s", id, tr.State, want)
		}
	}
	r := e.run(e.deliverer(fast(), nil))
	h.waitTransfers(t, 3)
	r.waitDelivered(t, 3)
	r.stop(t)
	if got := h.transfers(); !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Fatalf("delivered %q", got)
	}
}

// TestDeliverAlerts checks that liquidity alerts reach the participant
// through the deliverer, its own ones only, in seq order, retried, with
// a cursor of their own that a restart resumes from. The first
// deliverer polls once an hour: the monitor's wake is what delivers.
func TestDeliverAlerts(t *testing.T) {
	e := newEnv(t)
	b, h := e.payee("wallet-b", participant.Notify, cny)
	c, hc := e.payee("wallet-c", participant.Notify, cny)
	m, err := liquidity.Load(e.ctx, liquidity.Deps{Accounts: e.Journal, Participants: e.Registry, DB: e.DB, Log: discard})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fast()
	cfg.Poll = time.Hour
	d := e.deliverer(cfg, func(d *callback.Deps) { d.Alerts = m })
	m.Notifier = d
	e.runMonitor(m)
	// The first two attempts at wallet-b's first alert fail.
	h.setRespond(func(_ *http.Request, cb *wire.Callback, n int) (int, string) {
		if n < 2 {
			return 500, ""
		}
		return 200, ""
	})
	r := e.run(d)

	e.Deposit(b, cny, 100_00)
	for _, p := range []participant.Participant{b, c} {
		if _, err := m.Set(e.ctx, p, cny, 20_00); err != nil {
			t.Fatal(err)
		}
	}
	// wallet-c is below at once; wallet-b crosses three times.
	waitFor(t, "wallet-c's alert", func() bool { return len(hc.alerts()) == 1 })
	steps := []struct {
		move      func()
		kind      string
		available string
	}{
		{func() { e.withdraw(b, cny, 90_00) }, "low", "10.00"},
		{func() { e.Deposit(b, cny, 50_00) }, "restored", "60.00"},
		{func() { e.withdraw(b, cny, 55_00) }, "low", "5.00"},
	}
	for i, s := range steps {
		s.move()
		waitFor(t, fmt.Sprintf("alert %d", i), func() bool { return len(h.alerts()) > i })
	}
	r.waitDelivered(t, 4)
	as := h.alerts()
	if len(as) != len(steps) {
		t.Fatalf("wallet-b got %d alerts: %+v", len(as), as)
	}
	for i, a := range as {
		s := steps[i]
		if a.Participant != b.ID || a.Currency != "CNY" || a.Kind != s.kind || a.Available != s.available || a.Threshold != "20.00" ||
			i > 0 && a.Seq <= as[i-1].Seq {
			t.Errorf("alert %d: %+v, want %s with %s available", i, a, s.kind, s.available)
		}
	}
	if ac := hc.alerts(); len(ac) != 1 || ac[0].Participant != c.ID || ac[0].Kind != "low" {
		t.Fatalf("wallet-c's alerts: %+v", ac)
	}
	if delivered, failures := r.Stats(); delivered != 4 || failures != 2 {
		t.Fatalf("stats: %d delivered, %d failures; want 4, 2", delivered, failures)
	}
	e.waitCursor(b.ID, "alerts", as[2].Seq)
	r.stop(t)

	// Two more alerts while delivery is stopped, from new thresholds
	// (no ledger events: the credit stream has nothing to do). Restarted,
	// with one alert per step and polls an hour apart, it sends both at
	// once, and nothing again: in seq order, anything resent would come
	// first.
	for i, th := range []money.Amount{1_00, 10_00} {
		if _, err := m.Set(e.ctx, b, cny, th); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the monitor to record the alert", func() bool { return countAlerts(t, m, b.ID) == 4+i })
	}
	cfg.BatchMax = 1
	r = e.run(e.deliverer(cfg, func(d *callback.Deps) { d.Alerts = m }))
	waitFor(t, "the alerts after the restart", func() bool { return len(h.alerts()) >= 5 })
	r.waitDelivered(t, 2)
	r.stop(t)
	as = h.alerts()
	if len(as) != 5 || as[3].Kind != "restored" || as[3].Threshold != "1.00" || as[4].Kind != "low" || as[4].Threshold != "10.00" ||
		as[3].Seq <= as[2].Seq || as[4].Seq <= as[3].Seq ||
		len(hc.alerts()) != 1 {
		t.Fatalf("after the restart wallet-b got %+v, wallet-c %+v", as, hc.alerts())
	}
}

func countAlerts(t *testing.T, m *liquidity.Monitor, p string) int {
	t.Helper()
	as, err := m.Alerts(context.Background(), p, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(as)
}

// runMonitor makes m hear of durable batches and runs it until the test
// ends.
func (e *env) runMonitor(m *liquidity.Monitor) {
	f := m.Durable
	e.durable.Store(&f)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// stallingSource reads through to the ledger until a participant's
// account is stalled; from then on a read of it waits for its context to
// end, and some more, like storage slow to notice a cancellation.
type stallingSource struct {
	callback.Source
	mu       sync.Mutex
	stall    map[ledger.AccountID]bool
	stalled  atomic.Int32 // reads that began waiting
	returned atomic.Int32 // stalled reads that returned
}

func (s *stallingSource) AccountEvents(ctx context.Context, acct ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error) {
	s.mu.Lock()
	stall := s.stall[acct]
	s.mu.Unlock()
	if !stall {
		return s.Source.AccountEvents(ctx, acct, from, to, limit)
	}
	s.stalled.Add(1)
	<-ctx.Done()
	time.Sleep(100 * time.Millisecond)
	s.returned.Add(1)
	return nil, ctx.Err()
}

// TestRunWaitsForWorkers cancels delivery while every worker is inside a
// slow read and checks that Run returns only after each worker returned
// from it and saved the cursor it had not saved yet.
func TestRunWaitsForWorkers(t *testing.T) {
	e := newEnv(t)
	src := &stallingSource{Source: source{e.Journal, e.svc}, stall: map[ledger.AccountID]bool{}}
	var payees []participant.Participant
	for _, id := range []string{"wallet-b", "wallet-c", "wallet-d"} {
		p, h := e.payee(id, participant.Notify, cny)
		payees = append(payees, p)
		// Once the payee has its payment, its worker's next read stalls.
		h.setRespond(func(*http.Request, *wire.Callback, int) (int, string) {
			src.mu.Lock()
			src.stall[p.Account(cny)] = true
			src.mu.Unlock()
			return 200, ""
		})
		e.pay(e.svc, e.payer, "to-"+id, id+":CNY", cny, 1_00)
	}
	cfg := fast()
	cfg.SaveEvery = time.Hour // a worker saves when it goes idle or stops
	r := e.run(e.deliverer(cfg, func(d *callback.Deps) { d.Source = src }))
	waitFor(t, "every worker to stall", func() bool { return src.stalled.Load() == int32(len(payees)) })
	for _, p := range payees {
		if _, ok := e.cursor(p.ID, "credits:CNY"); ok {
			t.Fatalf("cursor of %s saved before the stop", p.ID)
		}
	}
	r.stop(t)
	if n := src.returned.Load(); n != int32(len(payees)) {
		t.Fatalf("Run returned while %d of %d workers were still reading", int32(len(payees))-n, len(payees))
	}
	for _, p := range payees {
		if pos, ok := e.cursor(p.ID, "credits:CNY"); !ok || pos != e.lastEvent(p.Account(cny)) {
			t.Errorf("cursor of %s after the stop: %d, %v; want %d", p.ID, pos, ok, e.lastEvent(p.Account(cny)))
		}
	}
}

// TestRefusedAlertsDoNotHoldTransfersBack: a participant that refuses
// liquidity alerts (an event it does not know, say) still gets its
// committed transfers at once: each stream backs off on its own.
func TestRefusedAlertsDoNotHoldTransfersBack(t *testing.T) {
	e := newEnv(t)
	b, h := e.payee("wallet-b", participant.Notify, cny)
	m, err := liquidity.Load(e.ctx, liquidity.Deps{Accounts: e.Journal, Participants: e.Registry, DB: e.DB, Log: discard})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fast()
	cfg.Poll, cfg.BackoffMin, cfg.BackoffMax = time.Hour, time.Hour, time.Hour
	d := e.deliverer(cfg, func(d *callback.Deps) { d.Alerts = m })
	m.Notifier = d
	e.runMonitor(m)
	h.setRespond(func(_ *http.Request, cb *wire.Callback, _ int) (int, string) {
		if cb.Event != wire.EventTransfersCommitted {
			return 400, ""
		}
		return 200, ""
	})
	r := e.run(d)
	if _, err := m.Set(e.ctx, b, cny, 20_00); err != nil { // below at once: an alert
		t.Fatal(err)
	}
	waitFor(t, "the alert's refusal", func() bool { _, failures := r.Stats(); return failures > 0 })
	svc := e.service(d)
	for i := range 3 {
		e.pay(svc, e.payer, fmt.Sprintf("q%d", i), "wallet-b:CNY", cny, 1_00)
		h.waitTransfers(t, i+1) // promptly: not an hour's backoff
	}
	r.stop(t)
}

// countingAlerts counts how often the deliverer reads the alerts table.
type countingAlerts struct {
	src callback.Alerts
	n   atomic.Int64
}

func (c *countingAlerts) Alerts(ctx context.Context, p string, after int64, limit int) ([]liquidity.Alert, error) {
	c.n.Add(1)
	return c.src.Alerts(ctx, p, after, limit)
}

// TestAlertsReadWhenRaised: a worker reads the alerts table when it
// starts and when an alert is raised, not at every wake for credits.
func TestAlertsReadWhenRaised(t *testing.T) {
	e := newEnv(t)
	_, h := e.payee("wallet-b", participant.Notify, cny)
	m, err := liquidity.Load(e.ctx, liquidity.Deps{Accounts: e.Journal, Participants: e.Registry, DB: e.DB, Log: discard})
	if err != nil {
		t.Fatal(err)
	}
	ca := &countingAlerts{src: m}
	cfg := fast()
	cfg.Poll = time.Hour
	d := e.deliverer(cfg, func(d *callback.Deps) { d.Alerts = ca })
	r := e.run(d)
	svc := e.service(d)
	for i := range 5 {
		e.pay(svc, e.payer, fmt.Sprintf("w%d", i), "wallet-b:CNY", cny, 1_00)
		h.waitTransfers(t, i+1)
	}
	if n := ca.n.Load(); n != 1 {
		t.Fatalf("alerts read %d times for 5 credit wakes, want once (at start)", n)
	}
	d.AlertRaised("wallet-b")
	waitFor(t, "a read of the alerts", func() bool { return ca.n.Load() == 2 })
	r.stop(t)
}

// TestDeliverNotices: the outbox's notices reach their participant only,
// in seq order, retried after a failure, with a cursor of their own that
// a restart resumes from; a notice added in a transaction that rolls
// back is never sent.
func TestDeliverNotices(t *testing.T) {
	e := newEnv(t)
	b, h := e.payee("wallet-b", participant.Notify, cny)
	c, hc := e.payee("wallet-c", participant.Notify, cny)
	out := &notice.Outbox{DB: e.DB}
	add := func(p participant.Participant, event string, commit bool) {
		t.Helper()
		err := e.DB.Transact(e.ctx, func(tx *sql.Tx) error {
			if err := out.Add(e.ctx, tx, p.ID, event, []byte(`{"event":"`+event+`"}`)); err != nil {
				return err
			}
			if !commit {
				return errors.New("rolled back")
			}
			return nil
		})
		if commit && err != nil {
			t.Fatal(err)
		}
		out.Raised(p.ID)
	}
	cfg := fast()
	cfg.Poll = time.Hour
	d := e.deliverer(cfg, func(d *callback.Deps) { d.Notices = out })
	out.Waker = d
	h.setRespond(func(_ *http.Request, cb *wire.Callback, n int) (int, string) {
		if n < 1 {
			return 503, ""
		}
		return 200, ""
	})
	r := e.run(d)
	add(b, "test.1", true)
	add(c, "test.c", true)
	add(b, "test.never", false)
	add(b, "test.2", true)
	events := func(h *hook) []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		var out []string
		for _, cb := range h.accepted {
			out = append(out, cb.Event)
		}
		return out
	}
	waitFor(t, "wallet-b's notices", func() bool { return len(events(h)) >= 2 })
	waitFor(t, "wallet-c's notice", func() bool { return len(events(hc)) >= 1 })
	r.waitDelivered(t, 3)
	r.stop(t)
	add(b, "test.3", true)
	r = e.run(e.deliverer(cfg, func(d *callback.Deps) { d.Notices = out }))
	waitFor(t, "the notice after the restart", func() bool { return len(events(h)) >= 3 })
	r.waitDelivered(t, 1)
	r.stop(t)
	if got := events(h); !slices.Equal(got, []string{"test.1", "test.2", "test.3"}) {
		t.Errorf("wallet-b got %v", got)
	}
	if got := events(hc); !slices.Equal(got, []string{"test.c"}) {
		t.Errorf("wallet-c got %v", got)
	}
	// Retention: delivered notices go after a day, undelivered ones
	// after thirty.
	err := e.DB.Transact(e.ctx, func(tx *sql.Tx) error {
		return out.Add(e.ctx, tx, "nobody", "test.kept", []byte(`{"event":"test.kept"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		e.DB.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM notices`).Scan(&n)
		return n
	}
	if n, err := out.Prune(e.ctx, time.Now()); err != nil || n != 0 {
		t.Errorf("pruned %d at once: %v", n, err)
	}
	if n, err := out.Prune(e.ctx, time.Now().Add(2*notice.KeepDelivered)); err != nil || n != 4 || count() != 1 {
		t.Errorf("pruned %d delivered, %d left: %v", n, count(), err)
	}
	if n, err := out.Prune(e.ctx, time.Now().Add(notice.KeepUndelivered+time.Hour)); err != nil || n != 1 || count() != 0 {
		t.Errorf("pruned %d undelivered, %d left: %v", n, count(), err)
	}
}
