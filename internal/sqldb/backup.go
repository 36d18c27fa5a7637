package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// BackupSQLite copies the SQLite database file to dst, a new file, as it
// stood at one instant, while other processes (a running switch) go on
// using it. It neither migrates nor changes the database (closing the
// last connection to it, SQLite may fold the write-ahead log into the
// file, as any last connection does).
//
// At that instant it calls at, with the database's writers held back: it
// holds SQLite's write lock, so that no transaction commits, while it
// opens the read snapshot the copy is made from and while at runs. at
// notes the state of other stores at the same instant (hulian backup
// measures the ledger's log there), so that the copies of both are what a
// crash at that instant would have left. at must be quick: the switch's
// writers wait for it. The copy itself is made after, from the snapshot,
// while the writers go on. BackupSQLite returns how long it held them.
//
// The read snapshot it keeps while it copies holds up a TRUNCATE
// checkpoint of the write-ahead log until the copy is done: the switch's
// checkpointer, when the log has passed walMax, then waits for it (at
// most 5 s) with the switch's writers held back.
func BackupSQLite(ctx context.Context, file, dst string, at func() error) (held time.Duration, err error) {
	if _, err := os.Stat(file); err != nil {
		return 0, fmt.Errorf("backup %s: %w", file, err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("backup %s: %s exists", file, dst)
	}
	// mode=rw: never create the file. No busy timeout: holdWriters
	// polls for the write lock itself.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw")
	if err != nil {
		return 0, fmt.Errorf("backup %s: %w", file, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	writer, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("backup %s: %w", file, err)
	}
	defer writer.Close()
	reader, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("backup %s: %w", file, err)
	}
	defer reader.Close()
	// The reader waits out what may briefly keep a snapshot from
	// starting (a checkpoint resetting the write-ahead log).
	if _, err := reader.ExecContext(ctx, "PRAGMA busy_timeout = 10000"); err != nil {
		return 0, fmt.Errorf("backup %s: %w", file, err)
	}

	if err := holdWriters(ctx, writer); err != nil {
		return 0, fmt.Errorf("backup %s: hold the writers: %w", file, err)
	}
	start := time.Now()
	snapshot := func() error {
		if _, err := reader.ExecContext(ctx, "BEGIN"); err != nil {
			return err
		}
		// A read transaction takes its snapshot at its first read.
		var n int
		return reader.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n)
	}
	err = snapshot()
	if err == nil {
		err = at()
	}
	_, rerr := writer.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	held = time.Since(start)
	if err != nil {
		return held, fmt.Errorf("backup %s: %w", file, err)
	}
	if rerr != nil {
		return held, fmt.Errorf("backup %s: release the writers: %w", file, rerr)
	}
	defer reader.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")

	// The online backup API reads the source through the connection's
	// open read transaction: the snapshot taken above.
	err = reader.Raw(func(dc any) error {
		c, ok := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("driver connection %T has no backup", dc)
		}
		b, err := c.NewBackup(dst)
		if err != nil {
			return err
		}
		// One step copies every page: steps apart would each see
		// whether other connections wrote meanwhile, and start over.
		_, err = b.Step(-1)
		return errors.Join(err, b.Finish())
	})
	if err != nil {
		os.Remove(dst)
		return held, fmt.Errorf("backup %s: copy: %w", file, err)
	}
	return held, nil
}

// lockWaitMax bounds how long BackupSQLite waits for the write lock.
const lockWaitMax = 30 * time.Second

// holdWriters takes SQLite's write lock on conn (BEGIN IMMEDIATE). It
// polls every 100 µs rather than leave it to SQLite's busy handler, which
// sleeps 1, 2, 5, 10 ms and more between tries: against a stream of short
// write transactions, each taken as soon as the last one ends, it would
// lose nearly every race for the gaps between them.
func holdWriters(ctx context.Context, conn *sql.Conn) error {
	deadline := time.Now().Add(lockWaitMax)
	for {
		_, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		var lite *sqlite.Error
		if err == nil || !errors.As(err, &lite) || lite.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the database stayed locked for %v: %w", lockWaitMax, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Microsecond):
		}
	}
}
