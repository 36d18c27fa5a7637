package risk

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/risk/model"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// Alert statuses.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Decisions on an alert. DecisionExpired is not the operator's: Sweep
// closes with it the alerts whose held payment the review timeout
// aborted.
const (
	DecisionRelease = "release"
	DecisionReject  = "reject"
	DecisionExpired = "expired"
)

// Alert is what screening raised on one payment: a rule's match, or the
// model's score at or above the threshold (Rule empty).
type Alert struct {
	ID         int64
	TransferID string
	Payer      string
	Payee      string
	Rule       string
	Action     string
	Reason     string
	Mode       string
	// Held says the payment is held for this alert's review.
	Held      bool
	Score     float64
	Features  []model.Feature
	Status    string
	Decision  string
	Note      string
	CreatedAt time.Time
	DecidedAt time.Time

	// score is the model's score of a new alert, whose Features the
	// writer spells out: off the payment's path.
	score model.Score
}

// alertWriter writes alerts to the database in batches, from one
// goroutine, so that a shadow rule matching every payment costs the
// payment path a channel send, not a transaction.
type alertWriter struct {
	db   *sqldb.DB
	in   chan queued
	done chan struct{}
	once sync.Once
	// dropped counts the model's own alerts not written because the
	// queue was full (see add).
	dropped atomic.Int64
}

// queued is an alert waiting to be written; durable, if not nil, is
// told when it is.
type queued struct {
	a       Alert
	durable chan error
}

// alertQueue bounds the alerts waiting to be written; a full queue
// makes screening wait (alerts are not dropped), and alertBatch bounds
// one transaction's.
const (
	alertQueue = 65536
	alertBatch = 512
)

func newAlertWriter(db *sqldb.DB) *alertWriter {
	w := &alertWriter{db: db, in: make(chan queued, alertQueue), done: make(chan struct{})}
	go w.run()
	return w
}

// add queues a; with wait, it returns once a is written, or the error
// that stopped it. A rule's alert waits for room in the queue: the
// operator asked for it. The model's own alerts (Rule empty) are
// dropped, and counted, when the queue is full: a flood of them (traffic
// the model has never seen the like of) must not slow payments down to
// the speed of the database.
func (w *alertWriter) add(ctx context.Context, a Alert, wait bool) error {
	q := queued{a: a}
	if wait {
		q.durable = make(chan error, 1)
	}
	if a.Rule == "" && !wait {
		select {
		case w.in <- q:
		default:
			w.dropped.Add(1)
		}
		return nil
	}
	select {
	case w.in <- q:
	case <-ctx.Done():
		return ctx.Err()
	}
	if !wait {
		return nil
	}
	select {
	case err := <-q.durable:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close writes what is queued and stops the writer.
func (w *alertWriter) close() error {
	w.once.Do(func() { close(w.in) })
	<-w.done
	return nil
}

func (w *alertWriter) run() {
	defer close(w.done)
	batch := make([]queued, 0, alertBatch)
	for q := range w.in {
		batch = append(batch[:0], q)
	more:
		for len(batch) < alertBatch {
			select {
			case q, ok := <-w.in:
				if !ok {
					break more
				}
				batch = append(batch, q)
			default:
				break more
			}
		}
		err := w.write(batch)
		for _, q := range batch {
			if q.durable != nil {
				q.durable <- err
			}
		}
	}
}

// write inserts a batch of alerts in one transaction, rowsPerInsert
// to a statement, retried a few times: an alert is a record the
// operator relies on. The model's features are spelled out here, once
// per alert, off the payments' path.
func (w *alertWriter) write(batch []queued) error {
	features := make([]string, len(batch))
	for i := range batch {
		a := &batch[i].a
		if a.Features == nil {
			a.Features = a.score.Features()
		}
		f, _ := json.Marshal(a.Features)
		features[i] = string(f)
	}
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		err = w.db.Transact(context.Background(), func(tx *sql.Tx) error {
			for start := 0; start < len(batch); start += rowsPerInsert {
				end := min(start+rowsPerInsert, len(batch))
				var q strings.Builder
				q.WriteString(`INSERT INTO risk_alerts (transfer_id, payer, payee, rule, action, reason, mode, held,
					score, features, status, created_at) VALUES `)
				args := make([]any, 0, (end-start)*alertColumnsIn)
				for i := start; i < end; i++ {
					a := &batch[i].a
					if i > start {
						q.WriteByte(',')
					}
					q.WriteByte('(')
					for k := range alertColumnsIn {
						if k > 0 {
							q.WriteByte(',')
						}
						fmt.Fprintf(&q, "$%d", len(args)+k+1)
					}
					q.WriteByte(')')
					args = append(args, a.TransferID, a.Payer, a.Payee, a.Rule, a.Action, a.Reason, a.Mode, boolInt(a.Held),
						a.Score, features[i], a.Status, a.CreatedAt.UnixNano())
				}
				if _, err := tx.Exec(q.String(), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("risk: write %d alerts: %w", len(batch), err)
}

// rowsPerInsert is how many alerts one INSERT statement writes, and
// alertColumnsIn how many values each has.
const (
	rowsPerInsert  = 16 // SQLite looks numbered parameters up by name: many are slow
	alertColumnsIn = 12
)

// DroppedAlerts counts the model's own alerts dropped since the start:
// beyond Config.ModelAlertRate, or because the alert queue was full.
func (e *Engine) DroppedAlerts() int64 { return e.alerts.dropped.Load() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AlertQuery selects alerts: after the cursor Since (an alert id), at
// most Limit, of one status ("" for all), and for a participant only
// those of its own payments (as payer or payee; "" for all).
type AlertQuery struct {
	Since       int64
	Limit       int
	Status      string
	Participant string
}

// AlertsMax bounds a page of alerts; a query may ask for one more, to
// know whether a next page follows.
const AlertsMax = 1000

// Alerts lists alerts in the order they were raised.
func (e *Engine) Alerts(ctx context.Context, q AlertQuery) ([]Alert, error) {
	if q.Limit <= 0 || q.Limit > AlertsMax+1 {
		return nil, fmt.Errorf("%w: limit must be 1 to %d", ErrInvalid, AlertsMax)
	}
	if q.Status != "" && q.Status != StatusOpen && q.Status != StatusClosed {
		return nil, fmt.Errorf("%w: status must be open or closed", ErrInvalid)
	}
	rows, err := e.db.QueryContext(ctx, `SELECT `+alertColumns+` FROM risk_alerts
		WHERE seq > $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR payer = $3 OR payee = $3)
		ORDER BY seq LIMIT $4`, q.Since, q.Status, q.Participant, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("risk alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("risk alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const alertColumns = `seq, transfer_id, payer, payee, rule, action, reason, mode, held, score, features, status,
	decision, note, created_at, decided_at`

func scanAlert(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var held int
	var features string
	var created, decided int64
	if err := row.Scan(&a.ID, &a.TransferID, &a.Payer, &a.Payee, &a.Rule, &a.Action, &a.Reason, &a.Mode, &held,
		&a.Score, &features, &a.Status, &a.Decision, &a.Note, &created, &decided); err != nil {
		return a, err
	}
	a.Held = held != 0
	if features != "" {
		if err := json.Unmarshal([]byte(features), &a.Features); err != nil {
			return a, fmt.Errorf("alert %d: features: %w", a.ID, err)
		}
	}
	a.CreatedAt = time.Unix(0, created).UTC()
	if decided != 0 {
		a.DecidedAt = time.Unix(0, decided).UTC()
	}
	return a, nil
}

// Alert returns one alert, if the participant ("" for all) may see it.
func (e *Engine) Alert(ctx context.Context, id int64, participant string) (Alert, error) {
	a, err := scanAlert(e.db.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM risk_alerts WHERE seq = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && participant != "" && a.Payer != participant && a.Payee != participant {
		return Alert{}, fmt.Errorf("alert %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Alert{}, fmt.Errorf("alert %d: %w", id, err)
	}
	return a, nil
}

// NoteMax bounds a decision's note.
const NoteMax = 500

// Decision is the outcome of Decide: the alert as closed, and the held
// payment as the decision left it (zero for an alert that held none).
type Decision struct {
	Alert    Alert
	Transfer *transfer.Transfer
}

// Decide closes an open alert with the operator's decision. On the
// alert that holds a payment, release commits the payment (after its
// confirm-mode payee accepts) and reject aborts it; a payment that the
// review timeout aborted meanwhile stays aborted, and the alert closes
// all the same. On other alerts the decision is only recorded.
func (e *Engine) Decide(ctx context.Context, id int64, decision, note string) (Decision, error) {
	if decision != DecisionRelease && decision != DecisionReject {
		return Decision{}, fmt.Errorf("%w: decision must be release or reject", ErrInvalid)
	}
	if len(note) > NoteMax || !utf8.ValidString(note) {
		return Decision{}, fmt.Errorf("%w: note must be at most %d bytes of UTF-8", ErrInvalid, NoteMax)
	}
	e.mu.Lock() // one decision at a time: two on one alert must not both act
	defer e.mu.Unlock()
	a, err := e.Alert(ctx, id, "")
	if err != nil {
		return Decision{}, err
	}
	if a.Status != StatusOpen {
		return Decision{Alert: a}, fmt.Errorf("alert %d: %w", id, ErrAlertClosed)
	}
	var out Decision
	if a.Held {
		tr, err := e.transfers()
		if err != nil {
			return Decision{}, err
		}
		var t transfer.Transfer
		if decision == DecisionRelease {
			t, _, err = tr.Release(ctx, a.TransferID)
		} else {
			t, _, err = tr.Refuse(ctx, a.TransferID, note)
		}
		switch {
		case errors.Is(err, transfer.ErrNotFound):
			// The ledger refused the payment after it was screened
			// (insufficient funds, say): there is nothing to hold, and
			// the alert closes.
		case err != nil && !errors.Is(err, transfer.ErrExpired) && !errors.Is(err, transfer.ErrFinished):
			return Decision{}, fmt.Errorf("alert %d: transfer %s: %w", id, a.TransferID, err)
		default:
			// An expired or otherwise finished payment is the
			// decision's outcome, not its failure: the alert closes.
			out.Transfer = &t
		}
	}
	now := e.now().UTC()
	if err := e.mark(ctx, purpose.RiskDecision, a.TransferID, encodeMeta("decision", fmt.Sprint(id), a.TransferID, decision, note, byOperator)); err != nil {
		return Decision{}, err
	}
	if _, err := e.db.ExecContext(ctx, `UPDATE risk_alerts SET status = $1, decision = $2, note = $3, decided_at = $4 WHERE seq = $5`,
		StatusClosed, decision, note, now.UnixNano(), id); err != nil {
		return Decision{}, fmt.Errorf("alert %d: %w", id, err)
	}
	a.Status, a.Decision, a.Note, a.DecidedAt = StatusClosed, decision, note, now
	out.Alert = a
	return out, nil
}

// validText reports whether s is printable UTF-8 of at most max bytes,
// so that what is stored can always be read back and shown.
func validText(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f })
}

// sweepMax bounds the alerts one Sweep closes.
const sweepMax = 1000

// Sweep closes the open alerts that hold a payment which is no longer
// held (the review timeout aborted it): their decision is "expired".
// It looks only at alerts older than the review timeout, and returns how
// many it closed.
func (e *Engine) Sweep(ctx context.Context) (int, error) {
	tr, err := e.transfers()
	if err != nil {
		return 0, err
	}
	before := e.now().Add(-e.cfg.ReviewTimeout).UnixNano()
	rows, err := e.db.QueryContext(ctx, `SELECT seq, transfer_id FROM risk_alerts WHERE status = 'open' AND held = 1
		AND created_at < $1 ORDER BY seq LIMIT $2`, before, sweepMax)
	if err != nil {
		return 0, fmt.Errorf("risk: sweep alerts: %w", err)
	}
	type held struct {
		id         int64
		transferID string
	}
	var hs []held
	for rows.Next() {
		var h held
		if err := rows.Scan(&h.id, &h.transferID); err != nil {
			rows.Close()
			return 0, fmt.Errorf("risk: sweep alerts: %w", err)
		}
		hs = append(hs, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("risk: sweep alerts: %w", err)
	}
	n := 0
	for _, h := range hs {
		t, err := tr.Get(ctx, transfer.Viewer{}, h.transferID)
		if err == nil && t.State == transfer.Held {
			continue // not expired yet: the ledger's clock decides
		}
		if err != nil && !errors.Is(err, transfer.ErrNotFound) {
			return n, err
		}
		e.mu.Lock()
		res, err := e.db.ExecContext(ctx, `UPDATE risk_alerts SET status = $1, decision = $2, note = $3, decided_at = $4
			WHERE seq = $5 AND status = 'open'`, StatusClosed, DecisionExpired, "review timeout", e.now().UnixNano(), h.id)
		e.mu.Unlock()
		if err != nil {
			return n, fmt.Errorf("risk: sweep alert %d: %w", h.id, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}
