// Package liquidity owns liquidity alerts: a participant sets, per
// currency, the available headroom below which it wants to be warned;
// when its available balance (balance − reserved + net debit cap) falls
// below that threshold, it and the operator get an alert — once per
// crossing, not once per transfer — and another when it recovers.
//
// The monitor learns which accounts moved from the journal as soon as a
// batch is durable, coalesces them, and checks each one once, off the
// writer's path. An alert is recorded in the alerts table first; the
// callback deliverer sends it from there, in order, at least once,
// retried until the participant takes it (the monitor only wakes it).
package liquidity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/sqldb"
)

// Kind is what an alert says.
type Kind string

// The kinds of alerts.
const (
	Low      Kind = "low"      // available fell below the threshold
	Restored Kind = "restored" // available is back at or above it
)

// Alert is one crossing.
type Alert struct {
	Seq         int64
	Participant string
	Currency    money.Currency
	Kind        Kind
	Available   money.Amount
	Threshold   money.Amount
	At          time.Time
}

// Threshold is a participant's setting for one currency.
type Threshold struct {
	Participant string
	Currency    money.Currency
	Threshold   money.Amount
	Below       bool
}

// Errors of Set.
var (
	// ErrInvalid means a threshold is malformed.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid liquidity threshold")
	// ErrCurrency means the participant is not enabled for the currency.
	ErrCurrency = fault.New(fault.Refused, "currency-not-enabled", "currency not enabled for the participant")
)

// Accounts reads ledger accounts.
type Accounts interface {
	Account(ctx context.Context, id ledger.AccountID) (ledger.Account, error)
}

// Notifier is told that a participant has a new alert to be called back
// with: the callback deliverer, which delivers alerts in order, durably
// and retried, from the alerts table.
type Notifier interface {
	AlertRaised(participant string)
}

// Participants is what the monitor needs of the participant registry.
type Participants interface {
	Get(id string) (participant.Participant, bool)
}

// Deps are what the monitor is built on; a nil Notifier leaves the
// deliverer to find alerts at its next poll, a nil Now is time.Now.
type Deps struct {
	Accounts     Accounts
	Participants Participants
	DB           *sqldb.DB
	Notifier     Notifier
	Log          *slog.Logger
	Now          func() time.Time
}

// Monitor watches thresholds.
type Monitor struct {
	Deps

	mu         sync.Mutex
	thresholds map[ledger.AccountID]*Threshold
	dirty      map[ledger.AccountID]bool
	wake       chan struct{}
	raised     atomic.Int64 // alerts recorded since Load
}

// Raised returns how many alerts (low and restored) the monitor recorded
// since it was loaded, for metrics.
func (m *Monitor) Raised() int64 { return m.raised.Load() }

// Load reads the thresholds.
func Load(ctx context.Context, d Deps) (*Monitor, error) {
	if d.Accounts == nil || d.Participants == nil || d.DB == nil || d.Log == nil {
		return nil, errors.New("liquidity: accounts, participants, database and log are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	m := &Monitor{Deps: d, thresholds: map[ledger.AccountID]*Threshold{}, dirty: map[ledger.AccountID]bool{}, wake: make(chan struct{}, 1)}
	rows, err := d.DB.QueryContext(ctx, `SELECT participant, currency, threshold, below FROM liquidity_thresholds`)
	if err != nil {
		return nil, fmt.Errorf("load liquidity thresholds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t Threshold
		var code string
		var below int
		if err := rows.Scan(&t.Participant, &code, &t.Threshold, &below); err != nil {
			return nil, fmt.Errorf("load liquidity thresholds: %w", err)
		}
		if t.Currency, err = money.ParseCurrency(code); err != nil {
			return nil, err
		}
		t.Below = below != 0
		if pp, ok := d.Participants.Get(t.Participant); ok {
			m.thresholds[pp.Account(t.Currency)] = &t
			m.dirty[pp.Account(t.Currency)] = true // check once at start
		}
	}
	return m, rows.Err()
}

// Set stores a participant's threshold for a currency (zero removes the
// alert) and checks it at once.
func (m *Monitor) Set(ctx context.Context, p participant.Participant, c money.Currency, threshold money.Amount) (Threshold, error) {
	switch {
	case threshold < 0:
		return Threshold{}, fmt.Errorf("%w: threshold must not be negative", ErrInvalid)
	case !p.Uses(c):
		return Threshold{}, fmt.Errorf("participant %s, %s: %w", p.ID, c, ErrCurrency)
	}
	acct := p.Account(c)
	m.mu.Lock()
	defer m.mu.Unlock()
	t := Threshold{Participant: p.ID, Currency: c, Threshold: threshold}
	if old := m.thresholds[acct]; old != nil {
		t.Below = old.Below
	}
	err := m.DB.Transact(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO liquidity_thresholds (participant, currency, threshold, below, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (participant, currency) DO UPDATE SET threshold = excluded.threshold, updated_at = excluded.updated_at`,
			p.ID, c.String(), int64(threshold), boolInt(t.Below), m.Now().UnixNano())
		return err
	})
	if err != nil {
		return Threshold{}, fmt.Errorf("set liquidity threshold of %s: %w", p.ID, err)
	}
	m.thresholds[acct] = &t
	m.markLocked(acct)
	return t, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Get returns a participant's threshold for a currency.
func (m *Monitor) Get(p participant.Participant, c money.Currency) (Threshold, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.thresholds[p.Account(c)]
	if !ok {
		return Threshold{}, false
	}
	return *t, true
}

// Durable is the journal's OnDurable hook: it notes which watched
// accounts moved. It only takes a lock and sets flags.
func (m *Monitor) Durable(batches []*ledger.Committed) {
	m.mu.Lock()
	for _, b := range batches {
		for i := range b.Events {
			e := &b.Events[i]
			for _, a := range [...]ledger.AccountID{e.Debit, e.Credit, e.Account} {
				if m.thresholds[a] != nil {
					m.dirty[a] = true
				}
			}
		}
	}
	n := len(m.dirty)
	m.mu.Unlock()
	if n > 0 {
		m.markWake()
	}
}

func (m *Monitor) markLocked(a ledger.AccountID) {
	m.dirty[a] = true
	m.markWake()
}

func (m *Monitor) markWake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run checks moved accounts until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	for {
		m.mu.Lock()
		dirty := m.dirty
		m.dirty = map[ledger.AccountID]bool{}
		m.mu.Unlock()
		for a := range dirty {
			if err := m.check(ctx, a); err != nil && ctx.Err() == nil {
				m.Log.Error("liquidity check", "account", a, "err", err)
				m.mu.Lock()
				m.dirty[a] = true // try again at the next wake
				m.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-time.After(5 * time.Second):
		}
	}
}

// check compares one account with its threshold and raises an alert on a
// crossing.
func (m *Monitor) check(ctx context.Context, acct ledger.AccountID) error {
	m.mu.Lock()
	t := m.thresholds[acct]
	if t == nil {
		m.mu.Unlock()
		return nil
	}
	cur := *t
	m.mu.Unlock()
	a, err := m.Accounts.Account(ctx, acct)
	if err != nil {
		return err
	}
	avail := a.Available()
	below := cur.Threshold > 0 && avail < cur.Threshold
	if below == cur.Below {
		return nil
	}
	kind := Restored
	if below {
		kind = Low
	}
	al := Alert{Participant: cur.Participant, Currency: cur.Currency, Kind: kind, Available: avail, Threshold: cur.Threshold, At: m.Now().UTC()}
	err = m.DB.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE liquidity_thresholds SET below = $1, updated_at = $2 WHERE participant = $3 AND currency = $4`,
			boolInt(below), al.At.UnixNano(), cur.Participant, cur.Currency.String()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO liquidity_alerts (participant, currency, kind, available, threshold, at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq`,
			al.Participant, al.Currency.String(), string(al.Kind), int64(al.Available), int64(al.Threshold), al.At.UnixNano()).Scan(&al.Seq)
	})
	if err != nil {
		return fmt.Errorf("record liquidity alert of %s: %w", cur.Participant, err)
	}
	m.raised.Add(1)
	m.mu.Lock()
	if t := m.thresholds[acct]; t != nil {
		t.Below = below
	}
	m.mu.Unlock()
	m.Log.Warn("liquidity alert", "participant", al.Participant, "currency", al.Currency.String(), "kind", al.Kind,
		"available", al.Available.Format(al.Currency), "threshold", al.Threshold.Format(al.Currency))
	if m.Notifier != nil {
		m.Notifier.AlertRaised(al.Participant)
	}
	return nil
}

// Alerts returns alerts after seq, oldest first: all of them for the
// operator (participant empty), or one participant's.
func (m *Monitor) Alerts(ctx context.Context, participantID string, after int64, limit int) ([]Alert, error) {
	q := `SELECT seq, participant, currency, kind, available, threshold, at FROM liquidity_alerts WHERE seq > $1 AND ($2 = '' OR participant = $2) ORDER BY seq LIMIT $3`
	rows, err := m.DB.QueryContext(ctx, q, after, participantID, limit)
	if err != nil {
		return nil, fmt.Errorf("liquidity alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var code, kind string
		var at int64
		if err := rows.Scan(&a.Seq, &a.Participant, &code, &kind, &a.Available, &a.Threshold, &at); err != nil {
			return nil, fmt.Errorf("liquidity alerts: %w", err)
		}
		a.Currency, _ = money.ParseCurrency(code)
		a.Kind, a.At = Kind(kind), time.Unix(0, at).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
