// Package callback owns what the switch sends to participants: signed
// HTTP callbacks. It asks confirm-mode payees to accept or reject a
// transfer, synchronously, and notifies payees of committed incoming
// transfers, asynchronously: at least once, in order per participant,
// retried with backoff.
//
// Notifications need no outbox table: the ledger's durable, ordered log
// already is one. Each participant has a cursor per currency (the
// timestamp of the last event delivered), kept in the app database, and a
// worker that reads the participant's account events after it. A crash
// can only make the worker deliver again what it delivered since the
// cursor was last saved.
package callback

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// bodyMax bounds what the switch reads of a participant's answer.
const bodyMax = 64 << 10

// Client sends signed callbacks.
type Client struct {
	HTTP *http.Client
	Now  func() time.Time
}

// NewClient returns a client with sensible connection reuse for many
// callbacks to few hosts.
func NewClient(now func() time.Time) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &Client{HTTP: &http.Client{Transport: tr}, Now: now}
}

// ErrRefused means the participant answered with an error status or an
// unreadable body.
var ErrRefused = errors.New("callback refused")

func (c *Client) post(ctx context.Context, p participant.Participant, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("callback to %s: %w", p.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(wire.SignatureHeader, wire.Sign(p.CallbackSecret(), c.Now(), body))
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("callback to %s: %w", p.ID, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, bodyMax))
	if err != nil {
		return nil, fmt.Errorf("callback to %s: %w", p.ID, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("callback to %s: status %d: %w", p.ID, resp.StatusCode, ErrRefused)
	}
	return b, nil
}

// Notify sends a signed callback with body to p; any 2xx is success.
func (c *Client) Notify(ctx context.Context, p participant.Participant, body []byte) error {
	_, err := c.post(ctx, p, body)
	return err
}

// Confirm asks a confirm-mode payee whether it accepts t. It implements
// transfer.Confirmer.
func (c *Client) Confirm(ctx context.Context, payee participant.Participant, t transfer.Transfer) (bool, string, error) {
	wt := wire.FromTransfer(t, true)
	body, err := json.Marshal(wire.Callback{Event: wire.EventTransferConfirm, Transfer: &wt})
	if err != nil {
		return false, "", err
	}
	b, err := c.post(ctx, payee, body)
	if err != nil {
		return false, "", err
	}
	var d wire.Decision
	if err := json.Unmarshal(b, &d); err != nil {
		return false, "", fmt.Errorf("confirm %s: %w: %v", t.ID, ErrRefused, err)
	}
	switch d.Decision {
	case "accept":
		return true, "", nil
	case "reject":
		return false, truncate(d.Reason, 200), nil
	}
	return false, "", fmt.Errorf("confirm %s: decision %q: %w", t.ID, d.Decision, ErrRefused)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Source is what delivery reads: the ledger's account events and the
// payments they belong to.
type Source interface {
	AccountEvents(ctx context.Context, account ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error)
	// Credit returns the payment an event commits to the credit of
	// account, if it does.
	Credit(ctx context.Context, account ledger.AccountID, e ledger.Event) (transfer.Transfer, bool, error)
}

// Options tune delivery; the zero value is the default.
type Options struct {
	BatchMax   int           // transfers per callback (default 100)
	Poll       time.Duration // how often idle workers look anyway (default 1 s)
	BackoffMin time.Duration // first retry delay (default 100 ms)
	BackoffMax time.Duration // longest retry delay (default 30 s)
	SaveEvery  time.Duration // how often cursors are saved (default 200 ms)
}

// Deliverer runs one worker per participant with a callback URL.
type Deliverer struct {
	src    Source
	reg    *participant.Registry
	db     *sqldb.DB
	client *Client
	opts   Options

	mu      sync.Mutex
	workers map[string]*worker
	wg      sync.WaitGroup
	cancel  context.CancelFunc

	delivered atomic.Int64
	failures  atomic.Int64
}

// NewDeliverer returns a deliverer; Start runs it.
func NewDeliverer(src Source, reg *participant.Registry, db *sqldb.DB, client *Client, opts Options) *Deliverer {
	if opts.BatchMax <= 0 {
		opts.BatchMax = 100
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = 100 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	if opts.SaveEvery <= 0 {
		opts.SaveEvery = 200 * time.Millisecond
	}
	return &Deliverer{src: src, reg: reg, db: db, client: client, opts: opts, workers: map[string]*worker{}}
}

// Start starts the workers, and a loop that starts workers for
// participants created later.
func (d *Deliverer) Start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(ctx)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(d.opts.Poll)
		defer t.Stop()
		for {
			for _, p := range d.reg.List() {
				d.ensure(ctx, p.ID)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop stops the workers and saves their cursors.
func (d *Deliverer) Stop() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
}

// Stats returns how many transfers were delivered and how many
// callbacks failed since start.
func (d *Deliverer) Stats() (delivered, failures int64) {
	return d.delivered.Load(), d.failures.Load()
}

// Wake tells the participant's worker to look now. It implements
// transfer.Notifier.
func (d *Deliverer) Wake(id string) {
	d.mu.Lock()
	w := d.workers[id]
	d.mu.Unlock()
	if w != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (d *Deliverer) ensure(ctx context.Context, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.workers[id]; ok || ctx.Err() != nil {
		return
	}
	w := &worker{d: d, id: id, wake: make(chan struct{}, 1), cursors: map[money.Currency]int64{}}
	d.workers[id] = w
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		w.run(ctx)
	}()
}

type worker struct {
	d       *Deliverer
	id      string
	wake    chan struct{}
	cursors map[money.Currency]int64 // timestamp of the last event handled
	saved   map[money.Currency]int64
}

func stream(c money.Currency) string { return "credits:" + c.String() }

func (w *worker) load(ctx context.Context) error {
	rows, err := w.d.db.QueryContext(ctx, `SELECT stream, position FROM delivery_cursors WHERE participant = $1`, w.id)
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
		if c, err := money.ParseCurrency(s[len("credits:"):]); err == nil && len(s) > len("credits:") {
			w.cursors[c] = pos
		}
	}
	w.saved = maps.Clone(w.cursors)
	return rows.Err()
}

// save writes the cursors that moved since the last save.
func (w *worker) save(ctx context.Context) error {
	return w.d.db.Transact(ctx, func(tx *sql.Tx) error {
		for c, pos := range w.cursors {
			if w.saved[c] == pos {
				continue
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO delivery_cursors (participant, stream, position, updated_at)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (participant, stream) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
				w.id, stream(c), pos, w.d.client.Now().UnixNano())
			if err != nil {
				return err
			}
		}
		w.saved = maps.Clone(w.cursors)
		return nil
	})
}

func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := w.load(ctx); err == nil {
			break
		}
		sleep(ctx, w.d.opts.BackoffMin)
	}
	backoff := w.d.opts.BackoffMin
	lastSave := time.Now()
	defer func() { w.save(context.WithoutCancel(ctx)) }()
	for ctx.Err() == nil {
		p, ok := w.d.reg.Get(w.id)
		var batch []transfer.Transfer
		var next map[money.Currency]int64
		var err error
		if ok && p.CallbackURL != "" {
			batch, next, err = w.collect(ctx, p)
		}
		if err == nil && len(batch) > 0 {
			err = w.deliver(ctx, p, batch)
		}
		switch {
		case err != nil:
			w.d.failures.Add(1)
			sleep(ctx, backoff)
			backoff = min(2*backoff, w.d.opts.BackoffMax)
			continue
		case next != nil:
			for c, pos := range next {
				w.cursors[c] = pos
			}
			w.d.delivered.Add(int64(len(batch)))
			backoff = w.d.opts.BackoffMin
		}
		if time.Since(lastSave) >= w.d.opts.SaveEvery {
			if w.save(ctx) == nil {
				lastSave = time.Now()
			}
		}
		if next == nil || len(batch) == 0 && !moved(next, w.saved) {
			select {
			case <-ctx.Done():
			case <-w.wake:
			case <-time.After(w.d.opts.Poll):
			}
		}
	}
}

func moved(next, saved map[money.Currency]int64) bool {
	for c, pos := range next {
		if saved[c] != pos {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// collect reads up to BatchMax deliverable transfers after the cursors,
// oldest first across currencies, and the cursors that delivering them
// would leave. Events that are not deliverable (fees, deposits, debits)
// only move the cursors.
func (w *worker) collect(ctx context.Context, p participant.Participant) ([]transfer.Transfer, map[money.Currency]int64, error) {
	type item struct {
		c  money.Currency
		ts int64
		t  transfer.Transfer
	}
	var items []item
	next := map[money.Currency]int64{}
	horizon := int64(1<<63 - 1) // no item beyond a window that may continue
	n := w.d.opts.BatchMax
	for _, c := range p.Currencies {
		acct := p.Account(c)
		from := w.cursors[c] + 1
		evs, err := w.d.src.AccountEvents(ctx, acct, from, 1<<63-1, 4*n)
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
			t, ok, err := w.d.src.Credit(ctx, acct, e)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				items = append(items, item{c, e.Timestamp, t})
			}
		}
	}
	slices.SortFunc(items, func(a, b item) int {
		switch {
		case a.ts < b.ts:
			return -1
		case a.ts > b.ts:
			return 1
		}
		return 0
	})
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

func (w *worker) deliver(ctx context.Context, p participant.Participant, ts []transfer.Transfer) error {
	cb := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: make([]wire.Transfer, len(ts))}
	for i, t := range ts {
		cb.Transfers[i] = wire.FromTransfer(t, true)
	}
	body, err := json.Marshal(cb)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = w.d.client.post(cctx, p, body)
	return err
}
