package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackupSQLite copies a database while another connection pool
// commits rows as fast as it can: the copy holds exactly the rows
// committed when at ran, no commit lands while at runs, and the writes go
// on during the copy.
func TestBackupSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "app.db")
	db, err := OpenSQLite(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan error, 1)
	var committed atomic.Int64
	go func() {
		for k := int64(1); ; k++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO t (k, v) VALUES ($1, randomblob(200))`, k); err != nil {
				done <- err
				return
			}
			committed.Store(k)
		}
	}()
	for committed.Load() < 200 {
		time.Sleep(time.Millisecond)
	}
	for round := range 5 {
		dst := filepath.Join(dir, "copy"+string(rune('a'+round))+".db")
		var atMax, afterAt int64
		held, err := BackupSQLite(ctx, file, dst, func() error {
			if err := db.QueryRowContext(ctx, `SELECT max(k) FROM t`).Scan(&atMax); err != nil {
				return err
			}
			// Long enough for the writer to try, and be held back.
			time.Sleep(5 * time.Millisecond)
			return db.QueryRowContext(ctx, `SELECT max(k) FROM t`).Scan(&afterAt)
		})
		if err != nil {
			t.Fatal(err)
		}
		if afterAt != atMax {
			t.Errorf("round %d: rows %d committed while at ran (max %d, then %d)", round, afterAt-atMax, atMax, afterAt)
		}
		c, err := sql.Open("sqlite", dst)
		if err != nil {
			t.Fatal(err)
		}
		var n, max int64
		var check string
		err = c.QueryRowContext(ctx, `SELECT count(*), max(k) FROM t`).Scan(&n, &max)
		if err == nil {
			err = c.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check)
		}
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n != atMax || max != atMax || check != "ok" {
			t.Errorf("round %d: the copy holds %d rows up to %d (%s); %d were committed at the instant", round, n, max, check, atMax)
		}
		t.Logf("round %d: %d rows, writers held %v", round, atMax, held)
	}
	// The writer goes on: within seconds, not a fixed 50 ms (one
	// fsync on a loaded machine took longer).
	before := committed.Load()
	for deadline := time.Now().Add(10 * time.Second); committed.Load() == before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Error("the writer stopped after the backups")
			break
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestBackupSQLiteRefuses: a missing source, an existing destination and
// a failing at make no copy, and leave the writers free.
func TestBackupSQLiteRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "app.db")
	db, err := OpenSQLite(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exists := filepath.Join(dir, "exists.db")
	if err := os.WriteFile(exists, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name, file, dst string
		at              func() error
		want            error
	}{
		{"missing source", filepath.Join(dir, "none.db"), filepath.Join(dir, "a.db"), func() error { return nil }, os.ErrNotExist},
		{"existing destination", file, exists, func() error { return nil }, nil},
		{"at fails", file, filepath.Join(dir, "b.db"), func() error { return boom }, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BackupSQLite(ctx, tc.file, tc.dst, tc.at)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("backup: %v; want %v", err, tc.want)
			}
			if tc.dst != exists {
				if _, err := os.Stat(tc.dst); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s was made: %v", tc.dst, err)
				}
			}
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if _, err := db.ExecContext(wctx, `CREATE TABLE IF NOT EXISTS free (k INTEGER)`); err != nil {
				t.Errorf("a write after the refusal: %v", err)
			}
		})
	}
}
