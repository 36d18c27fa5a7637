package callback

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/notice"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// Source is what delivery reads of the ledger: the account events and
// the payments they belong to.
type Source interface {
	AccountEvents(ctx context.Context, account ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error)
	// Credit returns the payment an event commits to the credit of
	// account, if it does.
	Credit(ctx context.Context, account ledger.AccountID, e ledger.Event) (transfer.Transfer, bool, error)
}

// Alerts is the durable, ordered feed of liquidity alerts: the
// liquidity monitor.
type Alerts interface {
	Alerts(ctx context.Context, participant string, after int64, limit int) ([]liquidity.Alert, error)
}

// Participants is what delivery needs of the participant registry.
type Participants interface {
	Get(id string) (participant.Participant, bool)
	List() []participant.Participant
}

// Config tunes delivery. EnsureDefaults states every default; Validate
// refuses what is out of range.
type Config struct {
	BatchMax   int           // transfers per callback (100)
	Poll       time.Duration // how often idle workers look anyway (1 s)
	BackoffMin time.Duration // first retry delay (100 ms)
	BackoffMax time.Duration // longest retry delay (30 s)
	SaveEvery  time.Duration // how often cursors are saved (200 ms)
	Timeout    time.Duration // bound on one callback (10 s)
	// AllowPrivate lets callbacks go to loopback, private and other
	// non-public addresses, and over plain http (--callback-allow-private:
	// development, tests, the demo). Off, such URLs are refused at
	// registration (CheckURL) and such addresses at dial time.
	AllowPrivate bool
}

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	for _, f := range []struct {
		p *time.Duration
		d time.Duration
	}{{&c.Poll, time.Second}, {&c.BackoffMin, 100 * time.Millisecond}, {&c.BackoffMax, 30 * time.Second},
		{&c.SaveEvery, 200 * time.Millisecond}, {&c.Timeout, 10 * time.Second}} {
		if *f.p == 0 {
			*f.p = f.d
		}
	}
	if c.BatchMax == 0 {
		c.BatchMax = 100
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	switch {
	case c.BatchMax < 1 || c.BatchMax > 1000:
		return fmt.Errorf("callback batch %d: must be 1 to 1000", c.BatchMax)
	case c.Poll <= 0 || c.BackoffMin <= 0 || c.SaveEvery <= 0 || c.Timeout <= 0:
		return errors.New("callback poll, backoff, save and timeout durations must be positive")
	case c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("callback backoff: longest %v below first %v", c.BackoffMax, c.BackoffMin)
	}
	return nil
}

// Notices is the durable, ordered feed of the other notices to
// participants: the notice outbox.
type Notices interface {
	Notices(ctx context.Context, participant string, after int64, limit int) ([]notice.Notice, error)
}

// Deps are what delivery is built on; Alerts and Notices may be nil
// (none are delivered).
type Deps struct {
	Source       Source
	Alerts       Alerts
	Notices      Notices
	Participants Participants
	DB           *sqldb.DB
	Client       *Client
	// Observer, if set, hears of every callback delivered or failed
	// (metrics).
	Observer Observer
}

// Observer hears of each callback delivery attempt: whether the
// participant took it and how long it took. It is called on the
// delivering worker's goroutine and must be quick.
type Observer interface {
	Delivery(ok bool, took time.Duration)
}

// Deliverer runs one worker per participant with a callback URL.
type Deliverer struct {
	Deps
	cfg Config

	mu      sync.Mutex
	workers map[string]*worker
	runCtx  context.Context // Run's, once it runs
	wg      sync.WaitGroup

	delivered atomic.Int64
	failures  atomic.Int64
}

// NewDeliverer returns a deliverer; Run runs it.
func NewDeliverer(cfg Config, d Deps) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	if d.Source == nil || d.Participants == nil || d.DB == nil || d.Client == nil {
		return nil, errors.New("callback: source, participants, database and client are required")
	}
	return &Deliverer{Deps: d, cfg: cfg, workers: map[string]*worker{}}, nil
}

// Run runs the workers, and starts workers for participants created
// later, until ctx ends; then it waits for the workers, which save their
// cursors.
func (d *Deliverer) Run(ctx context.Context) {
	d.mu.Lock()
	d.runCtx = ctx
	d.mu.Unlock()
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for ctx.Err() == nil {
		for _, p := range d.Participants.List() {
			d.ensure(ctx, p.ID)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	d.mu.Lock() // no worker starts after this
	d.mu.Unlock()
	d.wg.Wait()
}

// Stats returns how many transfers and alerts were delivered and how
// many callbacks failed since start.
func (d *Deliverer) Stats() (delivered, failures int64) {
	return d.delivered.Load(), d.failures.Load()
}

// Wake tells the participant's worker to look for new credits now,
// starting it if the participant is new since the last poll. It
// implements transfer.Notifier.
func (d *Deliverer) Wake(id string) {
	if w := d.worker(id); w != nil {
		w.poke()
	}
}

// AlertRaised tells the participant's worker that it has a new liquidity
// alert. It implements the liquidity monitor's Notifier: the worker reads
// the alerts table only when told so (or at a poll), not at every wake
// for credits.
func (d *Deliverer) AlertRaised(id string) {
	if w := d.worker(id); w != nil {
		w.alertsDue.Store(true)
		w.poke()
	}
}

// NoticeRaised tells the participant's worker that it has a new notice
// in the outbox.
func (d *Deliverer) NoticeRaised(id string) {
	if w := d.worker(id); w != nil {
		w.noticesDue.Store(true)
		w.poke()
	}
}

// worker returns the participant's worker, started if it is new since
// the last poll; nil before Run or after it.
func (d *Deliverer) worker(id string) *worker {
	d.mu.Lock()
	w, ctx := d.workers[id], d.runCtx
	d.mu.Unlock()
	if w == nil && ctx != nil {
		w = d.ensure(ctx, id)
	}
	return w
}

// ensure starts the participant's worker if it has none, and returns it
// (nil once ctx ended).
func (d *Deliverer) ensure(ctx context.Context, id string) *worker {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w, ok := d.workers[id]; ok || ctx.Err() != nil {
		return w
	}
	w := &worker{d: d, id: id, wake: make(chan struct{}, 1), cursors: map[string]int64{}}
	w.alertsDue.Store(true) // whatever came while no worker ran
	w.noticesDue.Store(true)
	d.workers[id] = w
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		w.run(ctx)
	}()
	return w
}

// QueueDepths returns, for each participant whose worker runs, how many
// ledger events on its accounts delivery has not passed yet, up to
// limit per currency: its incoming payments waiting to be called back,
// and the other events between them, which delivery only steps over. A
// worker keeps up when the count stays near zero; one whose callbacks
// fail sees it grow. It reads the events after the cursors the workers
// saved last (at most Config.SaveEvery old), so a look costs a read of
// the waiting events: for metrics, not for every request.
func (d *Deliverer) QueueDepths(ctx context.Context, limit int) (map[string]int, error) {
	d.mu.Lock()
	workers := make([]*worker, 0, len(d.workers))
	for _, w := range d.workers {
		workers = append(workers, w)
	}
	d.mu.Unlock()
	out := make(map[string]int, len(workers))
	for _, w := range workers {
		cur := w.published.Load()
		p, ok := d.Participants.Get(w.id)
		if cur == nil || !ok || p.CallbackURL == "" {
			continue // not loaded yet, or nothing to deliver to
		}
		n := 0
		for _, c := range p.Currencies {
			evs, err := d.Source.AccountEvents(ctx, p.Account(c), (*cur)[creditStream(c)]+1, 1<<63-1, limit)
			if err != nil {
				return nil, fmt.Errorf("callback queue of %s: %w", w.id, err)
			}
			n += len(evs)
		}
		out[w.id] = n
	}
	return out, nil
}

// poke wakes the worker if it waits.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// A worker delivers one participant's streams. Its cursors are keyed by
// stream: "credits:<currency>" (the timestamp of the last ledger event
// handled), alertStream and noticeStream (the seq of the last alert and
// notice delivered).
type worker struct {
	d       *Deliverer
	id      string
	wake    chan struct{}
	cursors map[string]int64
	saved   map[string]int64
	// published is saved, for QueueDepths on other goroutines: saved is
	// replaced, never changed, so that sharing it is safe.
	published atomic.Pointer[map[string]int64]

	creditRetry, alertRetry, noticeRetry retry
	// alertsDue and noticesDue say the alerts table or the outbox may
	// hold alerts or notices for the participant that it has not been
	// sent.
	alertsDue, noticesDue atomic.Bool
}

const (
	creditsPrefix = "credits:"
	alertStream   = "alerts"
	noticeStream  = "notices"
)

func creditStream(c money.Currency) string { return creditsPrefix + c.String() }

func (w *worker) load(ctx context.Context) error {
	rows, err := w.d.DB.QueryContext(ctx, `SELECT stream, position FROM delivery_cursors WHERE participant = $1`, w.id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var pos int64
		if err := rows.Scan(&s, &pos); err != nil {
			return err
		}
		if s == alertStream || s == noticeStream || strings.HasPrefix(s, creditsPrefix) {
			w.cursors[s] = pos
		}
	}
	w.saved = maps.Clone(w.cursors)
	w.published.Store(&w.saved)
	return rows.Err()
}

// save writes the cursors that moved since the last save. Only a
// committed save counts: one that fails (the worker stopping midway)
// leaves them to the next, or to the final save on the way out.
func (w *worker) save(ctx context.Context) error {
	err := w.d.DB.Transact(ctx, func(tx *sql.Tx) error {
		for s, pos := range w.cursors {
			if w.saved[s] == pos {
				continue
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO delivery_cursors (participant, stream, position, updated_at)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (participant, stream) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
				w.id, s, pos, w.d.Client.Now().UnixNano())
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		saved := maps.Clone(w.cursors)
		w.saved = saved
		w.published.Store(&saved)
	}
	return err
}

func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := w.load(ctx); err == nil {
			break
		}
		sleep(ctx, w.d.cfg.BackoffMin)
	}
	lastSave := time.Now()
	defer func() { w.save(context.WithoutCancel(ctx)) }()
	for ctx.Err() == nil {
		progressed := w.step(ctx)
		if progressed && time.Since(lastSave) < w.d.cfg.SaveEvery {
			continue
		}
		if !maps.Equal(w.cursors, w.saved) && w.save(ctx) == nil {
			lastSave = time.Now()
		}
		if !progressed {
			wait := w.d.cfg.Poll
			for _, r := range []*retry{&w.creditRetry, &w.alertRetry, &w.noticeRetry} {
				if d := time.Until(r.at); r.backoff > 0 && d < wait {
					wait = max(d, 0)
				}
			}
			select {
			case <-ctx.Done():
			case <-w.wake:
			case <-time.After(wait):
				if wait == w.d.cfg.Poll {
					w.alertsDue.Store(true) // a poll looks at every stream
					w.noticesDue.Store(true)
				}
			}
		}
	}
}

// retry is a stream's backoff: after a failure the stream waits, twice
// as long after each further one up to BackoffMax, while the worker's
// other stream goes on.
type retry struct {
	backoff time.Duration // zero: the last attempt succeeded
	at      time.Time     // not before
}

func (r *retry) due(now time.Time) bool { return !now.Before(r.at) }

// note records an attempt's outcome and reports whether it failed.
func (r *retry) note(err error, now time.Time, cfg *Config) bool {
	if err == nil {
		*r = retry{}
		return false
	}
	r.backoff = max(cfg.BackoffMin, min(2*r.backoff, cfg.BackoffMax))
	r.at = now.Add(r.backoff)
	return true
}

// step delivers what follows the cursors of each stream that is not
// waiting after a failure, a batch at a time, and reports whether a
// cursor moved. A stream that fails does not hold the other back: a
// participant that refuses alerts still gets its transfers.
func (w *worker) step(ctx context.Context) bool {
	p, ok := w.d.Participants.Get(w.id)
	if !ok || p.CallbackURL == "" {
		return false
	}
	progressed := false
	for _, s := range []struct {
		r       *retry
		deliver func(context.Context, *participant.Participant) (bool, error)
	}{{&w.creditRetry, w.credits}, {&w.alertRetry, w.alerts}, {&w.noticeRetry, w.notices}} {
		now := time.Now()
		if !s.r.due(now) {
			continue
		}
		moved, err := s.deliver(ctx, &p)
		progressed = progressed || moved
		if err != nil && ctx.Err() != nil {
			return progressed // stopping, not a failed callback
		}
		if s.r.note(err, now, &w.d.cfg) {
			w.d.failures.Add(1)
		}
	}
	return progressed
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// post sends one callback and tells the Observer, unless delivery is
// stopping (ctx ended), which is no failed callback.
func (d *Deliverer) post(ctx context.Context, p *participant.Participant, body []byte) error {
	start := time.Now()
	_, err := d.Client.Post(ctx, p, body)
	if d.Observer != nil && (err == nil || !errors.Is(ctx.Err(), context.Canceled)) {
		d.Observer.Delivery(err == nil, time.Since(start))
	}
	return err
}

// credits delivers the next batch of committed incoming transfers as one
// callback, and moves the credit cursors past them.
func (w *worker) credits(ctx context.Context, p *participant.Participant) (bool, error) {
	batch, next, err := w.collect(ctx, p)
	if err != nil {
		return false, err
	}
	if len(batch) > 0 {
		body, err := w.d.Client.FormatFor(p).TransfersCommitted(batch)
		if err != nil {
			return false, err
		}
		cctx, cancel := context.WithTimeout(ctx, w.d.cfg.Timeout)
		defer cancel()
		if err := w.d.post(cctx, p, body); err != nil {
			return false, err
		}
		w.d.delivered.Add(int64(len(batch)))
	}
	moved := false
	for c, pos := range next {
		if w.cursors[creditStream(c)] != pos {
			w.cursors[creditStream(c)], moved = pos, true
		}
	}
	return moved, nil
}

// alerts delivers the participant's next liquidity alerts, one callback
// each, in order, moving the alert cursor past each one delivered.
func (w *worker) alerts(ctx context.Context, p *participant.Participant) (bool, error) {
	if w.d.Alerts == nil {
		return false, nil
	}
	return w.feed(ctx, p, &w.alertsDue, alertStream, func(after int64) ([]fed, error) {
		as, err := w.d.Alerts.Alerts(ctx, p.ID, after, w.d.cfg.BatchMax)
		out := make([]fed, len(as))
		for i := range as {
			out[i].seq = as[i].Seq
			if err == nil {
				out[i].body, err = w.d.Client.FormatFor(p).LiquidityAlert(&as[i])
			}
		}
		return out, err
	})
}

// notices delivers the participant's next notices from the outbox, one
// callback each, in order.
func (w *worker) notices(ctx context.Context, p *participant.Participant) (bool, error) {
	if w.d.Notices == nil {
		return false, nil
	}
	return w.feed(ctx, p, &w.noticesDue, noticeStream, func(after int64) ([]fed, error) {
		ns, err := w.d.Notices.Notices(ctx, p.ID, after, w.d.cfg.BatchMax)
		out := make([]fed, len(ns))
		for i := range ns {
			out[i] = fed{seq: ns[i].Seq, body: ns[i].Body}
		}
		return out, err
	})
}

// fed is one callback of an ordered feed: its seq and document.
type fed struct {
	seq  int64
	body []byte
}

// feed delivers the next callbacks of an ordered feed after the
// stream's cursor, one at a time, moving the cursor past each one
// delivered. It reads the feed only when due says it may hold more.
func (w *worker) feed(ctx context.Context, p *participant.Participant, due *atomic.Bool, stream string,
	next func(after int64) ([]fed, error)) (bool, error) {
	if !due.Swap(false) {
		return false, nil
	}
	fs, err := next(w.cursors[stream])
	if err != nil || len(fs) == w.d.cfg.BatchMax {
		due.Store(true) // look again: it failed, or there may be more
	}
	if err != nil {
		return false, err
	}
	for i := range fs {
		cctx, cancel := context.WithTimeout(ctx, w.d.cfg.Timeout)
		err := w.d.post(cctx, p, fs[i].body)
		cancel()
		if err != nil {
			due.Store(true)
			return i > 0, err
		}
		w.cursors[stream] = fs[i].seq
		w.d.delivered.Add(1)
	}
	return len(fs) > 0, nil
}

// collect reads up to BatchMax deliverable transfers after the credit
// cursors, oldest first across currencies, and the cursors that
// delivering them would leave. Events that are not deliverable (fees,
// deposits, debits) only move the cursors.
func (w *worker) collect(ctx context.Context, p *participant.Participant) ([]transfer.Transfer, map[money.Currency]int64, error) {
	type item struct {
		ts int64
		t  transfer.Transfer
	}
	var items []item
	next := map[money.Currency]int64{}
	horizon := int64(1<<63 - 1) // no item beyond a window that may continue
	n := w.d.cfg.BatchMax
	for _, c := range p.Currencies {
		acct := p.Account(c)
		evs, err := w.d.Source.AccountEvents(ctx, acct, w.cursors[creditStream(c)]+1, 1<<63-1, 4*n)
		if err != nil {
			return nil, nil, err
		}
		if len(evs) == 0 {
			continue
		}
		if len(evs) == 4*n {
			horizon = min(horizon, evs[len(evs)-1].Timestamp)
		}
		next[c] = evs[len(evs)-1].Timestamp
		for _, e := range evs {
			t, ok, err := w.d.Source.Credit(ctx, acct, e)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				items = append(items, item{e.Timestamp, t})
			}
		}
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.ts, b.ts) })
	cut := len(items)
	for i, it := range items {
		if it.ts > horizon || i == n {
			cut = i
			break
		}
	}
	if cut < len(items) {
		// Stop every currency's cursor before the first item left out.
		limit := items[cut].ts - 1
		for c, pos := range next {
			next[c] = min(pos, limit)
		}
		items = items[:cut]
	}
	out := make([]transfer.Transfer, len(items))
	for i, it := range items {
		out[i] = it.t
	}
	return out, next, nil
}
