// Package sqldb owns the switch's relational database for everything
// that is not money: participants, aliases, fee schedules, delivery
// cursors and settings. It is SQLite in the data directory for the
// embedded engine, or the same PostgreSQL database as the ledger in
// production; one set of queries serves both, written in the SQL they
// share (numbered $n placeholders, ON CONFLICT, RETURNING).
package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/fault"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect says which database is underneath, for the few statements
// that differ (schema types, mostly).
type Dialect int

// The dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// DB is the database with its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect

	file string        // the SQLite database file
	stop chan struct{} // ends the SQLite checkpointer
	done chan struct{}
	// ckpt lets the checkpointer hold new write transactions back.
	ckpt sync.RWMutex
}

// Close stops the background work and closes the database.
func (db *DB) Close() error {
	if db.stop != nil {
		close(db.stop)
		<-db.done
		db.stop = nil
	}
	return db.DB.Close()
}

// checkpointEvery is how often the SQLite write-ahead log is checked,
// and walMax the size beyond which it is reset.
var (
	checkpointEvery       = 5 * time.Second
	walMax          int64 = 64 << 20
)

// checkpoint keeps SQLite's write-ahead log bounded. SQLite's automatic
// checkpoints are passive: they copy the log back into the database but
// restart it only when no transaction is in the way, which under a steady
// stream of writes (or of reads) never happens; the log then grows
// without end (tens of gigabytes while millions of aliases are
// registered) and every page read searches a larger log index. When the
// log passes walMax, this holds new write transactions back (Transact
// takes ckpt shared) and runs a TRUNCATE checkpoint, which waits for the
// readers of the moment and resets the log; writers wait for that, a
// short pause every few seconds at most.
func (db *DB) checkpoint() {
	defer close(db.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		if fi, err := os.Stat(db.file + "-wal"); err != nil || fi.Size() < walMax {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		db.ckpt.Lock()
		db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`) // best effort: the next tick tries again
		db.ckpt.Unlock()
		cancel()
	}
}

// ErrConflict is returned by Transact when a transaction kept failing on
// concurrent updates; the caller may retry the whole operation later.
var ErrConflict = fault.New(fault.Unavailable, "", "sqldb: transaction conflicted too often")

// OpenSQLite opens (creating) the SQLite database at file, in WAL mode
// with synchronous=FULL so that a committed transaction survives power
// loss, and applies the migrations.
func OpenSQLite(ctx context.Context, file string) (*DB, error) {
	// cache_size: 8 MiB of pages per connection (SQLite's default is
	// 2 MiB) holds the interior pages of the aliases' B-tree at 10 M
	// aliases, so that a lookup reads one page, its leaf, from the file.
	if err := private(file); err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	dsn := "file:" + file + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=cache_size(-8192)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	// SQLite has one writer; a few connections serve concurrent reads.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxLifetime(0)
	d := &DB{DB: db, Dialect: SQLite, file: file}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	go d.checkpoint()
	return d, nil
}

// private creates the database file readable by its owner only (mode
// 0600), and makes an existing one and its WAL files so: they hold
// participants' credentials and end users' data. SQLite creates the WAL
// and shared-memory files with the database file's mode.
func private(file string) error {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, name := range []string{file, file + "-wal", file + "-shm"} {
		if err := os.Chmod(name, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// OpenPostgres opens the PostgreSQL database at dsn through pgx and
// applies the migrations.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	d := &DB{DB: db, Dialect: Postgres}
	if err := d.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return d, nil
}

//go:embed migrations
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// load returns the dialect's migrations in version order. Files are
// migrations/<dialect>/NNNN_name.sql.
func (db *DB) load() ([]migration, error) {
	dir := "migrations/sqlite"
	if db.Dialect == Postgres {
		dir = "migrations/postgres"
	}
	ents, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range ents {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, name, string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations: version %d where %d was expected", m.version, i+1)
		}
	}
	return out, nil
}

// migrate applies the migrations not yet applied, each in its own
// transaction together with its row in hulian_app_migrations. On
// PostgreSQL an advisory lock keeps two starting processes apart.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := db.load()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS hulian_app_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at text NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	for _, m := range ms {
		err := db.Transact(ctx, func(tx *sql.Tx) error {
			if db.Dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7172635001)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM hulian_app_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO hulian_app_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, time.Now().UTC().Format(time.RFC3339Nano))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d %s: %w", m.version, m.name, err)
		}
	}
	return nil
}

// Transact runs fn in a transaction and commits it, retrying a few
// times when the database reports a serialization failure or a busy
// lock, as concurrent writers may cause. fn must be safe to re-run.
func (db *DB) Transact(ctx context.Context, fn func(*sql.Tx) error) error {
	const attempts = 5
	for i := 0; ; i++ {
		err := db.transact(ctx, fn)
		if err == nil || !db.retryable(err) {
			return err
		}
		if i == attempts-1 {
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
		select {
		case <-time.After(time.Duration(i+1) * 5 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (db *DB) transact(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	if db.Dialect == SQLite {
		db.ckpt.RLock()
		defer db.ckpt.RUnlock()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (db *DB) retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01" // serialization_failure, deadlock_detected
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		c := lite.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// IsForeignKeyViolation reports whether err is a foreign-key failure: a
// row refers to one that does not exist.
func IsForeignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint failure:
// an insert of a key that exists.
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}
