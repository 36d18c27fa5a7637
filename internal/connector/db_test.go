package connector

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestMigrateOutbox: a record of schema 1 with incoming transfers not
// yet delivered keeps them, in order, in the outbox of schema 2, and a
// notice queued after them comes after them.
func TestMigrateOutbox(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], "PRAGMA user_version = 1"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"t1", "t2", "t3"} {
		res, err := db.ExecContext(ctx, `INSERT INTO inbound (transfer_id, amount, currency, payee_type, payee_value, payee_account, payer,
			note, transfer, received_at) VALUES (?, 100, 'CNY', 'MSISDN', '+8613900139001', 'alice', 'p', '', '{}', 1)`, id)
		if err != nil {
			t.Fatal(err)
		}
		if id == "t1" {
			continue // delivered already
		}
		seq, _ := res.LastInsertId()
		if _, err := db.ExecContext(ctx, "INSERT INTO outbox (seq, attempts) VALUES (?, 2)", seq); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db, err = openDB(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO outbox (kind, ref) VALUES ('notice', 1)`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, "SELECT seq, kind, ref, attempts FROM outbox ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type item struct {
		seq      int64
		kind     string
		ref      int64
		attempts int
	}
	var got []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.seq, &it.kind, &it.ref, &it.attempts); err != nil {
			t.Fatal(err)
		}
		got = append(got, it)
	}
	want := []item{{2, "transfer", 2, 2}, {3, "transfer", 3, 2}, {4, "notice", 1, 0}}
	if len(got) != len(want) {
		t.Fatalf("outbox %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("outbox %+v, want %+v", got, want)
		}
	}
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != len(migrations) {
		t.Errorf("schema version %d, %v", v, err)
	}
}
