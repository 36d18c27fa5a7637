package lookups

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/sqldb"
)

// Alerts records operator alerts in the app database (table
// operator_alerts), for the operator and the regulator to read.
type Alerts struct {
	DB *sqldb.DB
}

// Raise records a, unless the participant has an alert of a's kind
// raised less than AlertEvery before it: the guard holds that rule in
// memory, the table holds it across restarts and between switches on
// one database. It returns a with its Seq, and whether it was recorded.
func (s *Alerts) Raise(ctx context.Context, a Alert) (Alert, bool, error) {
	recorded := false
	err := s.DB.Transact(ctx, func(tx *sql.Tx) error {
		recorded = false
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(raised_at) FROM operator_alerts WHERE participant = $1 AND kind = $2`,
			a.Participant, a.Kind).Scan(&last); err != nil {
			return err
		}
		if last.Valid && a.At.UnixNano()-last.Int64 < int64(AlertEvery) {
			return nil
		}
		recorded = true
		return tx.QueryRowContext(ctx, `INSERT INTO operator_alerts (kind, participant, raised_at, lookups, not_found)
			VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
			a.Kind, a.Participant, a.At.UnixNano(), a.Lookups, a.NotFound).Scan(&a.Seq)
	})
	if err != nil {
		return a, false, fmt.Errorf("record operator alert of %s: %w", a.Participant, err)
	}
	return a, recorded, nil
}

// List returns at most limit alerts, newest first: those before seq, or
// the newest when before is 0.
func (s *Alerts) List(ctx context.Context, before int64, limit int) ([]Alert, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT seq, kind, participant, raised_at, lookups, not_found FROM operator_alerts
		WHERE (seq < $1 OR $1 = 0) ORDER BY seq DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("operator alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var at int64
		if err := rows.Scan(&a.Seq, &a.Kind, &a.Participant, &at, &a.Lookups, &a.NotFound); err != nil {
			return nil, fmt.Errorf("operator alerts: %w", err)
		}
		a.At = time.Unix(0, at).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
