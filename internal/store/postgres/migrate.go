package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFiles holds the schema, as numbered SQL files applied in
// order: NNNN_what.sql. A file, once released, never changes; a change of
// schema is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the pg_advisory_xact_lock key that serialises
// migrations of one database.
const migrateLockKey int64 = 0x68756c69616e0002 // "hulian" 0002

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: name is not NNNN_what.sql", name)
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate brings the schema up to date in one transaction, under an
// advisory lock so that two processes never migrate at once, and records
// each applied version in hulian_schema_migrations. It refuses a database
// migrated by a newer Hulian.
func migrate(ctx context.Context, conn *pgx.Conn) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS hulian_schema_migrations (
		version    int         PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("create hulian_schema_migrations: %w", err)
	}
	rows, err := tx.Query(ctx, "SELECT version FROM hulian_schema_migrations")
	if err != nil {
		return err
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("read hulian_schema_migrations: %w", err)
	}
	latest := ms[len(ms)-1].version
	for _, v := range applied {
		if int(v) > latest {
			return fmt.Errorf("database schema version %d is newer than this program's %d: run a newer Hulian", v, latest)
		}
	}
	for _, m := range ms {
		if slices.Contains(applied, int32(m.version)) {
			continue
		}
		// The simple protocol runs a file of several statements at once.
		if _, err := tx.Conn().PgConn().Exec(ctx, m.sql).ReadAll(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO hulian_schema_migrations (version) VALUES ($1)", m.version); err != nil {
			return fmt.Errorf("migration %s: record: %w", m.name, err)
		}
	}
	return tx.Commit(ctx)
}
