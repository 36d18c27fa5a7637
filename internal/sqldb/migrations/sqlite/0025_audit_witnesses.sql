-- The audit log's witnesses and their co-signatures as the leader of a
-- cluster takes them (issue 20; clusters run on PostgreSQL, the tables
-- are kept here so that both engines have one schema). vkey is the
-- witness's note verifier key; note a co-signed checkpoint; the times
-- are unix nanoseconds.
CREATE TABLE audit_witnesses (
    name          TEXT    PRIMARY KEY,
    vkey          TEXT    NOT NULL,
    registered_at INTEGER NOT NULL
);
CREATE TABLE audit_cosignatures (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    note      BLOB    NOT NULL,
    stored_at INTEGER NOT NULL
);
