-- 0004: the latest snapshot of the ledger's state, so that a restart
-- loads it and replays only the batches stored after it.
--
-- Unlike ledger_batches and ledger_events, these tables are replaced
-- whole, in one transaction, each time a switch closes cleanly. They
-- hold nothing that the batches and events do not: deleting their rows
-- only makes the next start replay every batch.

CREATE TABLE ledger_snapshot (
    id         smallint    PRIMARY KEY CHECK (id = 1),
    seq        bigint      NOT NULL CHECK (seq > 0),
    last_ts    bigint      NOT NULL,
    size       bigint      NOT NULL CHECK (size >= 0),
    chunks     int         NOT NULL CHECK (chunks >= 0),
    crc32c     bigint      NOT NULL CHECK (crc32c BETWEEN 0 AND 4294967295),
    written_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE ledger_snapshot IS
    'The latest snapshot of the ledger''s state (one row, id 1), whose bytes are in ledger_snapshot_chunks. A start uses it only if batch seq is stored and its last event has timestamp last_ts; otherwise it replays every batch.';
COMMENT ON COLUMN ledger_snapshot.seq IS 'The last batch (ledger_batches.seq) the snapshot includes.';
COMMENT ON COLUMN ledger_snapshot.last_ts IS 'The timestamp of that batch''s last event (ledger_events.ts).';
COMMENT ON COLUMN ledger_snapshot.size IS 'The snapshot''s length in bytes: the chunks'' lengths add up to it.';
COMMENT ON COLUMN ledger_snapshot.chunks IS 'How many rows of ledger_snapshot_chunks hold it, numbered from 0.';
COMMENT ON COLUMN ledger_snapshot.crc32c IS 'CRC-32C (Castagnoli) of the snapshot''s bytes, the chunks in order.';
COMMENT ON COLUMN ledger_snapshot.written_at IS 'When it was written; for information only.';

CREATE TABLE ledger_snapshot_chunks (
    n    int   PRIMARY KEY CHECK (n >= 0),
    data bytea NOT NULL
);

-- The bytes are a binary encoding that compresses little: storing them
-- uncompressed saves PostgreSQL the attempt, at every write and read.
ALTER TABLE ledger_snapshot_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

COMMENT ON TABLE ledger_snapshot_chunks IS
    'The bytes of the snapshot in ledger_snapshot, in chunks of up to 1 MiB, in order of n: Hulian''s ledger snapshot encoding, version 1 (internal/ledger/snapshot.go).';
