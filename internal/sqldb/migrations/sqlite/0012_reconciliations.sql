-- Reconciliations (package recon): a participant's records of a time
-- window against the switch's, the counts of what matched and broke, and
-- the first breaks (at most recon.BreaksKept) with both sides' records
-- (amounts in minor units, empty when a side has none). Times are unix
-- nanoseconds.
CREATE TABLE reconciliations (
    id          TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    currency    TEXT NOT NULL,
    window_from INTEGER NOT NULL,
    window_to   INTEGER NOT NULL,
    switch_n    INTEGER NOT NULL,
    theirs_n    INTEGER NOT NULL,
    matched     INTEGER NOT NULL,
    breaks      INTEGER NOT NULL,
    by_kind     TEXT NOT NULL,      -- JSON object: kind → count
    created     INTEGER NOT NULL
);
CREATE INDEX reconciliations_participant ON reconciliations (participant, created);
CREATE TABLE reconciliation_breaks (
    reconciliation TEXT NOT NULL REFERENCES reconciliations(id),
    seq            INTEGER NOT NULL,
    transfer_id    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    switch         TEXT NOT NULL,   -- "amount,direction,status" or ''
    theirs         TEXT NOT NULL,   -- the same of the participant's record
    PRIMARY KEY (reconciliation, seq)
);
