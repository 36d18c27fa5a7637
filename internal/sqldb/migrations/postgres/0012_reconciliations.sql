-- Reconciliations (package recon): a participant's records of a time
-- window against the switch's, the counts of what matched and broke, and
-- the first breaks (at most recon.BreaksKept) with both sides' records
-- (amounts in minor units, empty when a side has none). Times are unix
-- nanoseconds.
CREATE TABLE reconciliations (
    id          text PRIMARY KEY,
    participant text NOT NULL,
    currency    text NOT NULL,
    window_from bigint NOT NULL,
    window_to   bigint NOT NULL,
    switch_n    bigint NOT NULL,
    theirs_n    bigint NOT NULL,
    matched     bigint NOT NULL,
    breaks      bigint NOT NULL,
    by_kind     text NOT NULL,      -- JSON object: kind → count
    created     bigint NOT NULL
);
CREATE INDEX reconciliations_participant ON reconciliations (participant, created);
CREATE TABLE reconciliation_breaks (
    reconciliation text NOT NULL REFERENCES reconciliations(id),
    seq            bigint NOT NULL,
    transfer_id    text NOT NULL,
    kind           text NOT NULL,
    switch         text NOT NULL,   -- "amount,direction,status" or ''
    theirs         text NOT NULL,   -- the same of the participant's record
    PRIMARY KEY (reconciliation, seq)
);
