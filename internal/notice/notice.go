// Package notice is the outbox of callbacks to participants that are
// neither committed transfers (read from the ledger) nor liquidity
// alerts: payment requests, mandates, disputes. A capability adds a
// notice in the same database transaction as the change it announces,
// so that a notice is never lost nor sent for a change that did not
// happen; the callback deliverer sends each participant's notices in
// order, at least once, after its committed transfers' stream.
package notice

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/sqldb"
)

// Notice is one callback document to a participant.
type Notice struct {
	Seq         int64
	Participant string
	// Event names what happened (payment-request.created, …); Body is
	// the whole callback document, JSON with that event.
	Event string
	Body  []byte
	At    time.Time
}

// BodyMax bounds a notice's document.
const BodyMax = 64 << 10

// Waker is told that a participant has a new notice: the deliverer.
type Waker interface {
	NoticeRaised(participant string)
}

// Outbox stores notices and hands them to the deliverer.
type Outbox struct {
	DB *sqldb.DB
	// Waker, when set, is told of each notice once its transaction has
	// committed (Raised); until then the deliverer's poll finds it.
	Waker Waker
	Now   func() time.Time
}

// Add records a notice to participant in tx; call Raised after tx
// commits.
func (o *Outbox) Add(ctx context.Context, tx *sql.Tx, participant, event string, body []byte) error {
	if len(body) > BodyMax {
		return fmt.Errorf("notice %s to %s: %d bytes, at most %d", event, participant, len(body), BodyMax)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO notices (participant, event, body, at) VALUES ($1, $2, $3, $4)`,
		participant, event, body, now().UnixNano()); err != nil {
		return fmt.Errorf("notice %s to %s: %w", event, participant, err)
	}
	return nil
}

// Raised wakes the deliverer for participant.
func (o *Outbox) Raised(participant string) {
	if o.Waker != nil {
		o.Waker.NoticeRaised(participant)
	}
}

// Notices returns up to limit of participant's notices after seq, in
// order.
func (o *Outbox) Notices(ctx context.Context, participant string, after int64, limit int) ([]Notice, error) {
	rows, err := o.DB.QueryContext(ctx, `SELECT seq, event, body, at FROM notices WHERE participant = $1 AND seq > $2
		ORDER BY seq LIMIT $3`, participant, after, limit)
	if err != nil {
		return nil, fmt.Errorf("notices of %s: %w", participant, err)
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		n := Notice{Participant: participant}
		var at int64
		if err := rows.Scan(&n.Seq, &n.Event, &n.Body, &at); err != nil {
			return nil, fmt.Errorf("notices of %s: %w", participant, err)
		}
		n.At = time.Unix(0, at).UTC()
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notices of %s: %w", participant, err)
	}
	return out, nil
}

// Retention of notices: a delivered one is kept a day (for the record of
// what was sent), any other — to a participant without a callback URL,
// or one that never answers — thirty.
const (
	KeepDelivered   = 24 * time.Hour
	KeepUndelivered = 30 * 24 * time.Hour
)

// Prune deletes the notices past their retention at now; it returns how
// many.
func (o *Outbox) Prune(ctx context.Context, now time.Time) (int64, error) {
	res, err := o.DB.ExecContext(ctx, `DELETE FROM notices WHERE at < $1 OR at < $2 AND seq <= COALESCE((SELECT position
		FROM delivery_cursors c WHERE c.participant = notices.participant AND c.stream = 'notices'), 0)`,
		now.Add(-KeepUndelivered).UnixNano(), now.Add(-KeepDelivered).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("notices: prune: %w", err)
	}
	return res.RowsAffected()
}
