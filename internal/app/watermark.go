package app

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hulian/hulian/internal/sqldb"
)

// auditWatermark keeps the audit log's newest signed tree size in the
// app database (audit.Watermark): apart from the audit directory, and on
// PostgreSQL on another machine than the switch's files.
type auditWatermark struct {
	db  *sqldb.DB
	now func() time.Time
	// published: the watermark is saved with each checkpoint the
	// cluster's leader publishes, not here.
	published bool
}

func (w auditWatermark) Load(ctx context.Context) (int64, bool, error) {
	var size int64
	err := w.db.QueryRowContext(ctx, `SELECT size FROM audit_watermark WHERE id = 1`).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return size, err == nil, err
}

func (w auditWatermark) Save(ctx context.Context, size int64) error {
	if w.published {
		// A cluster's leader saves it with the published checkpoint
		// (publishCheckpoint).
		return nil
	}
	return w.save(ctx, w.db, size)
}

// execer is a database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (w auditWatermark) save(ctx context.Context, db execer, size int64) error {
	_, err := db.ExecContext(ctx, `INSERT INTO audit_watermark (id, size, updated_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET size = excluded.size, updated_at = excluded.updated_at`, size, w.now().UnixNano())
	return err
}
