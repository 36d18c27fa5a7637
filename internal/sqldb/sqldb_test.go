package sqldb

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointTruncatesWAL writes while readers keep reading and checks
// that the write-ahead log is reset rather than left to grow.
func TestCheckpointTruncatesWAL(t *testing.T) {
	checkpointEvery, walMax = 100*time.Millisecond, 1
	defer func() { checkpointEvery, walMax = 5*time.Second, 64<<20 }()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "app.db")
	db, err := OpenSQLite(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	for i := 0; i < 3; i++ {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n)
			}
		}()
	}
	for i := 0; i < 200; i++ {
		err := db.Transact(ctx, func(tx *sql.Tx) error {
			for j := 0; j < 50; j++ {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, string(make([]byte, 512))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Once writing stops, a checkpoint resets the log to nothing.
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(file + "-wal")
		if err == nil && fi.Size() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("write-ahead log still %d bytes", fi.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
