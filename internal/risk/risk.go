// Package risk is the switch's real-time risk control: it implements the
// Screener that the payment flow (package transfer) calls for every
// payment of every front end, and the Learner it tells of every commit.
//
// Screening evaluates the operator's rules (package rules: CEL over the
// payment, its velocity windows, the operator's lists, the payee alias's
// fraud marks and the anomaly model's score), and answers:
//
//   - the first enforced decline rule that matches refuses the payment
//     (ErrDeclined, with the rule and its reason), and nothing moves;
//   - else the first enforced review rule that matches holds it: the flow
//     reserves it on the payer (state HELD) until the operator decides
//     (Decide) or the review timeout passes;
//   - every match, shadow ones included, raises an alert, and so does a
//     model score at or above the threshold when no rule matched.
//
// What screening reads is in memory: the compiled rule set and the lists
// behind atomic pointers (a change builds new ones and swaps them), the
// velocity windows (package velocity) and the model (package model),
// which Learn feeds with committed payments and Rebuild refills from the
// ledger after a restart, and the fraud marks. Alerts are written to the
// database by one goroutine in batches; a held payment's alert is durable
// before the payment is answered.
//
// Rule and list changes, decisions and fraud reports are written to the
// ledger as marks (purposes risk-rule, risk-list, risk-decision and
// fraud-report), so that they are ordered among the payments they affect
// and are leaves of the audit log, then to the database, which is what
// the switch loads at start.
package risk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/risk/model"
	"github.com/hulian/hulian/internal/risk/velocity"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// Errors of risk control, by fault kind and code.
var (
	// ErrDeclined means an enforced decline rule refused the payment; the
	// error is a *Declined naming the rule.
	ErrDeclined = fault.New(fault.Refused, "risk-declined", "declined by risk control")
	// ErrNotFound means no such rule, list item, alert or transfer.
	ErrNotFound = fault.New(fault.NotFound, "", "not found")
	// ErrInvalid means a malformed request.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid request")
	// ErrAlertClosed means a decision on an alert decided already.
	ErrAlertClosed = fault.New(fault.Conflict, "alert-closed", "the alert is decided already")
	// ErrNotCommitted means a fraud report on a transfer that is not
	// committed.
	ErrNotCommitted = fault.New(fault.Conflict, "transfer-not-committed", "only a committed transfer can be reported")
	// ErrLimit means a bound on rules or lists would be passed.
	ErrLimit = fault.New(fault.Conflict, "risk-limit", "a risk control limit would be exceeded")
)

// Declined is the refusal of a payment by a decline rule.
type Declined struct {
	Rule, Reason string
}

// Error says which rule declined.
func (d *Declined) Error() string {
	return fmt.Sprintf("declined by risk rule %s (%s)", d.Rule, d.Reason)
}

// Unwrap makes a Declined an ErrDeclined.
func (d *Declined) Unwrap() error { return ErrDeclined }

// Declined returns the rule and its reason code, for the problem answer.
func (d *Declined) Declined() (rule, reason string) { return d.Rule, d.Reason }

// Config tunes risk control; zero fields take their defaults.
type Config struct {
	// Location is the scheme's time zone, for the rules' hour (Asia/Shanghai).
	Location *time.Location
	// MaxWindow bounds the velocity windows rules may ask for (24 h).
	MaxWindow time.Duration
	// FraudMarkTTL is how long an open fraud report counts in the payee
	// alias's fraudMarks (90 days).
	FraudMarkTTL time.Duration
	// VelocityKeys bounds the velocity windows' keys of each kind, and
	// ModelEntities the model's; 0 takes the packages' defaults.
	VelocityKeys  int
	ModelEntities int
	// MarkCurrency is the currency of the ledger marks of rule and list
	// changes, which move no money (the ledger wants one).
	MarkCurrency money.Currency
	// ReviewTimeout is the payment flow's: how long a payment is held
	// before it aborts (24 h). Sweep closes the alerts of those aborted.
	ReviewTimeout time.Duration
	// ModelAlertRate bounds the anomaly model's own alerts per second
	// (1,000, with a burst as large); those beyond it are counted
	// (DroppedAlerts), not written. Rules' alerts are never dropped.
	ModelAlertRate float64
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return c, fmt.Errorf("risk: time zone: %w", err)
		}
		c.Location = loc
	}
	if c.MaxWindow == 0 {
		c.MaxWindow = 24 * time.Hour
	}
	if c.FraudMarkTTL == 0 {
		c.FraudMarkTTL = 90 * 24 * time.Hour
	}
	if c.MarkCurrency == 0 {
		c.MarkCurrency = money.MustCurrency("CNY")
	}
	if c.ModelAlertRate == 0 {
		c.ModelAlertRate = 1000
	}
	if c.ReviewTimeout == 0 {
		c.ReviewTimeout = 24 * time.Hour
	}
	switch {
	case c.MaxWindow < time.Minute || c.MaxWindow > 7*24*time.Hour:
		return c, fmt.Errorf("risk: max window %v: must be between 1m and 168h", c.MaxWindow)
	case c.FraudMarkTTL < time.Hour:
		return c, fmt.Errorf("risk: fraud mark TTL %v: must be at least 1h", c.FraudMarkTTL)
	case !(c.ModelAlertRate > 0):
		return c, fmt.Errorf("risk: model alert rate %v: must be positive", c.ModelAlertRate)
	}
	return c, nil
}

// Ledger is where changes are marked.
type Ledger interface {
	Submit(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, error)
}

// Transfers is what decisions and reports need of the payment flow.
type Transfers interface {
	Release(ctx context.Context, id string) (transfer.Transfer, bool, error)
	Refuse(ctx context.Context, id, note string) (transfer.Transfer, bool, error)
	Get(ctx context.Context, v transfer.Viewer, id string) (transfer.Transfer, error)
}

// Engine is risk control: safe for concurrent use.
type Engine struct {
	cfg    Config
	db     *sqldb.DB
	ledger Ledger
	now    func() time.Time
	tr     atomic.Pointer[transfersBox]

	// mu serialises changes of rules and lists; screening reads the
	// snapshots without it.
	mu    sync.Mutex
	rules atomic.Pointer[ruleSet]
	lists atomic.Pointer[listSet]

	vel   *velocity.Windows
	model *model.Model
	// modelAlerts bounds the model's own alerts (Config.ModelAlertRate).
	modelAlerts *rate.Limiter
	marks       *marks
	alerts      *alertWriter

	// opened is when the engine was opened: Learn sees what is committed
	// after it, Rebuild what was before.
	opened      time.Time
	rebuilt     chan struct{}
	rebuiltOnce sync.Once
}

// transfersBox lets the flow be bound after the engine is built (the
// flow needs the engine as its Screener).
type transfersBox struct{ Transfers }

// Open loads rules, lists and fraud marks from db and starts the alert
// writer. Close stops it.
func Open(ctx context.Context, db *sqldb.DB, led Ledger, cfg Config, now func() time.Time) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		cfg: cfg, db: db, ledger: led, now: now, opened: now(), rebuilt: make(chan struct{}),
		vel:         velocity.New(velocity.Options{MaxWindow: cfg.MaxWindow, MaxKeys: cfg.VelocityKeys}),
		model:       model.New(model.Options{MaxEntities: cfg.ModelEntities}),
		modelAlerts: rate.NewLimiter(rate.Limit(cfg.ModelAlertRate), max(1, int(cfg.ModelAlertRate))),
	}
	if err := e.loadRules(ctx); err != nil {
		return nil, err
	}
	if err := e.loadLists(ctx); err != nil {
		return nil, err
	}
	if e.marks, err = loadMarks(ctx, db, now(), cfg.FraudMarkTTL); err != nil {
		return nil, err
	}
	e.alerts = newAlertWriter(db)
	return e, nil
}

// Bind gives the engine the payment flow, for decisions and reports.
func (e *Engine) Bind(t Transfers) { e.tr.Store(&transfersBox{t}) }

// transfers returns the bound flow.
func (e *Engine) transfers() (Transfers, error) {
	b := e.tr.Load()
	if b == nil {
		return nil, errors.New("risk: no payment flow bound")
	}
	return b.Transfers, nil
}

// Close writes the alerts still queued and stops the writer.
func (e *Engine) Close() error { return e.alerts.close() }

// Threshold is the model score at or above which a payment raises an
// alert of its own.
func (e *Engine) Threshold() float64 { return e.model.Threshold() }

// hour is t's hour in the scheme's time zone.
func (e *Engine) hour(t time.Time) int { return t.In(e.cfg.Location).Hour() }
