-- Fingerprints of the keys every node of a cluster must share (issue
-- 20; clusters run on PostgreSQL, the table is kept here so that both
-- engines have one schema).
CREATE TABLE cluster_keys (
    name        TEXT    PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    node        TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL
);
