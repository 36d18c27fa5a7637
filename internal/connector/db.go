package connector

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the connector's record: one file, no server

	"github.com/hulian/hulian/internal/fault"
)

// dbFile is the record's file name in the data directory.
const dbFile = "connector.db"

// migrations are the record's schema, one step per version (PRAGMA
// user_version counts those applied). A step is never edited once
// released: a change is a new step.
var migrations = []string{
	// 1: the participant the record belongs to, outbound payments,
	// incoming transfers, the outbox of their deliveries to the backend,
	// and the confirm decisions.
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) STRICT;
	CREATE TABLE payments (
		id                TEXT PRIMARY KEY,          -- the transfer id at the switch, the connector's own
		idem_key          TEXT UNIQUE,               -- the backend's id or Idempotency-Key, if it gave one
		to_type           TEXT NOT NULL,
		to_value          TEXT NOT NULL,
		amount            INTEGER NOT NULL,          -- minor units of currency
		currency          TEXT NOT NULL,
		payer_account     TEXT NOT NULL,
		reference         TEXT NOT NULL,
		purpose           TEXT NOT NULL,
		factors           TEXT NOT NULL,             -- comma-separated authentication factors
		state             TEXT NOT NULL,             -- PENDING, COMMITTED, ABORTED, REFUSED
		sent              INTEGER NOT NULL DEFAULT 0, -- 1 once a transfer request may have reached the switch
		quote_id          TEXT NOT NULL DEFAULT '',
		fee               INTEGER,                   -- minor units, once committed
		fx                TEXT NOT NULL DEFAULT '',  -- a committed FX payment's exchange, as the switch's JSON
		payee_participant TEXT NOT NULL DEFAULT '',
		payee_name        TEXT NOT NULL DEFAULT '',  -- masked, as the lookup showed it
		reason            TEXT NOT NULL DEFAULT '',  -- why an ABORTED payment aborted
		problem_type      TEXT NOT NULL DEFAULT '',  -- why a REFUSED payment was refused
		problem_title     TEXT NOT NULL DEFAULT '',
		problem_status    INTEGER NOT NULL DEFAULT 0,
		problem_detail    TEXT NOT NULL DEFAULT '',
		attempts          INTEGER NOT NULL DEFAULT 0,
		next_at           INTEGER NOT NULL DEFAULT 0, -- unix ms: when the background loop tries again
		last_error        TEXT NOT NULL DEFAULT '',
		created_at        INTEGER NOT NULL,
		updated_at        INTEGER NOT NULL
	) STRICT;
	CREATE INDEX payments_pending ON payments (next_at) WHERE state = 'PENDING';
	CREATE TABLE inbound (
		seq           INTEGER PRIMARY KEY AUTOINCREMENT, -- the order the switch committed them in
		transfer_id   TEXT NOT NULL UNIQUE,
		amount        INTEGER NOT NULL,                  -- what the payee gets, minor units of currency
		currency      TEXT NOT NULL,
		payee_type    TEXT NOT NULL,
		payee_value   TEXT NOT NULL,
		payee_account TEXT NOT NULL,
		payer         TEXT NOT NULL,
		note          TEXT NOT NULL,
		credits       INTEGER NOT NULL DEFAULT 1,        -- times booked as a credit: once
		redeliveries  INTEGER NOT NULL DEFAULT 0,        -- notifications of it ignored since
		transfer      TEXT NOT NULL,                     -- the transfer as the switch sent it
		received_at   INTEGER NOT NULL,
		delivered_at  INTEGER                            -- when the backend took it (2xx)
	) STRICT;
	CREATE TABLE outbox (
		seq        INTEGER PRIMARY KEY REFERENCES inbound (seq),
		attempts   INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT ''
	) STRICT;
	CREATE TABLE decisions (
		transfer_id   TEXT PRIMARY KEY,
		accept        INTEGER NOT NULL,
		reason        TEXT NOT NULL,
		amount        INTEGER NOT NULL,
		currency      TEXT NOT NULL,
		payee_account TEXT NOT NULL,
		payer         TEXT NOT NULL,
		note          TEXT NOT NULL,
		decided_at    INTEGER NOT NULL
	) STRICT;`,
	// 2: requests to pay and mandates. The switch's other callbacks
	// (notices) join the incoming transfers in one outbox, which now
	// numbers its items itself: kind says which table ref is a row of.
	// A payment may pay a request to pay (request_id).
	`CREATE TABLE notices (
		seq         INTEGER PRIMARY KEY AUTOINCREMENT,
		key         TEXT NOT NULL UNIQUE,   -- the callback's identity: event and ids (notice.go)
		event       TEXT NOT NULL,          -- the connector's name of it: request, mandate-due, …
		body        TEXT NOT NULL,          -- what POST {backend}/incoming carries, fixed when booked
		redeliveries INTEGER NOT NULL DEFAULT 0,
		received_at INTEGER NOT NULL,
		delivered_at INTEGER
	) STRICT;
	CREATE TABLE outbox_items (
		seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- the order of delivery
		kind       TEXT NOT NULL CHECK (kind IN ('transfer', 'notice')),
		ref        INTEGER NOT NULL,                  -- inbound.seq or notices.seq
		attempts   INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT ''
	) STRICT;
	INSERT INTO outbox_items (seq, kind, ref, attempts, last_error) SELECT seq, 'transfer', seq, attempts, last_error FROM outbox ORDER BY seq;
	DROP TABLE outbox;
	ALTER TABLE outbox_items RENAME TO outbox;
	CREATE TABLE requests (
		id          TEXT PRIMARY KEY,       -- the request's id at the switch
		idem_key    TEXT UNIQUE,            -- the backend's id of a request it sent
		direction   TEXT NOT NULL,          -- outbound (the participant asks) | inbound (it is asked)
		asked       TEXT NOT NULL DEFAULT '', -- an outbound request's body, as the backend sent it
		account     TEXT NOT NULL DEFAULT '', -- the user an outbound request credits
		state       TEXT NOT NULL,          -- the switch's, or UNSENT, REFUSED
		doc         TEXT NOT NULL DEFAULT '', -- the request as the switch last showed it
		problem     TEXT NOT NULL DEFAULT '', -- why the switch refused it
		created_at  INTEGER NOT NULL,
		updated_at  INTEGER NOT NULL
	) STRICT;
	CREATE TABLE mandates (
		id         TEXT PRIMARY KEY,
		state      TEXT NOT NULL,
		doc        TEXT NOT NULL,           -- the mandate as the switch last showed it
		updated_at INTEGER NOT NULL
	) STRICT;
	ALTER TABLE payments ADD COLUMN request_id TEXT NOT NULL DEFAULT '';`,
}

// openDB opens (or creates) the record in dir and brings its schema up
// to date. Every commit is durable before it returns (WAL with
// synchronous=FULL): the connector acknowledges nothing it could lose.
func openDB(ctx context.Context, dir string) (*sql.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	file := filepath.Join(dir, dbFile)
	// The record holds the participant's payments: readable by its owner
	// only. SQLite gives its journal files the database file's mode.
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	f.Close()
	dsn := "file:" + file + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	// One writer at a time is SQLite's rule; a few connections let reads
	// go on beside it.
	db.SetMaxOpenConns(4)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return db, nil
}

// Errors of opening the record: the connector does not start.
var (
	// errNewerSchema means the record was written by a newer connector.
	errNewerSchema = fault.New(fault.Conflict, "", "the record is from a newer connector: run that version, or restore a backup")
	// errOtherParticipant means the data directory is another
	// participant's.
	errOtherParticipant = fault.New(fault.Conflict, "", "the data directory holds another participant's record")
)

// migrate applies the migrations not applied yet, each in a transaction
// of its own with the version it brings.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d: %w", v, errNewerSchema)
	}
	for i := v; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

// bindParticipant records which participant the record belongs to, the
// first time, and refuses the record of another: mixing two
// participants' payments in one record would deliver one's money to the
// other's backend.
func bindParticipant(ctx context.Context, db *sql.DB, participant string) error {
	if _, err := db.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('participant', ?) ON CONFLICT (key) DO NOTHING", participant); err != nil {
		return fmt.Errorf("record's participant: %w", err)
	}
	var have string
	if err := db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'participant'").Scan(&have); err != nil {
		return fmt.Errorf("record's participant: %w", err)
	}
	if have != participant {
		return fmt.Errorf("participant %s: %w (it is %s's): use another --data", participant, errOtherParticipant, have)
	}
	return nil
}
