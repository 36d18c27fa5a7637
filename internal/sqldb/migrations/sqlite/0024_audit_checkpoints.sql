-- The audit log's checkpoints as the leader of a cluster signs them
-- (issue 20; clusters run on PostgreSQL, the table is kept here so that
-- both engines have one schema). note is the signed note, byte for
-- byte; signed_at unix nanoseconds.
CREATE TABLE audit_checkpoints (
    size      INTEGER PRIMARY KEY CHECK (size > 0),
    note      BLOB    NOT NULL,
    signed_at INTEGER NOT NULL
);
