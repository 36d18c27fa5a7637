-- Mandates (package mandate): a biller's standing authority, approved by
-- the payer's participant, to pull payments within limits, and their
-- executions. Amounts in minor units, times unix nanoseconds. A
-- scheduled mandate (sched_amount > 0) is executed by the switch: due_at
-- is its current period's due time (0: none), try_at when it is next
-- tried (a retry after short funds), attempt the retries made, notified
-- the due_at whose notice was sent.
CREATE TABLE mandates (
    id           TEXT PRIMARY KEY,
    biller       TEXT NOT NULL,
    payer_type   TEXT NOT NULL,
    payer_value  TEXT NOT NULL,
    payer        TEXT NOT NULL,
    max_amount   INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    frequency    TEXT NOT NULL,
    valid_from   INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL,
    description  TEXT NOT NULL,
    condition    TEXT NOT NULL,
    sched_month  INTEGER NOT NULL,
    sched_day    INTEGER NOT NULL,
    sched_amount INTEGER NOT NULL,
    state        TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    try_at       INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    notified     INTEGER NOT NULL,
    changes      INTEGER NOT NULL,   -- state changes so far (marks' keys)
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX mandates_biller ON mandates (biller, created_at);
CREATE INDEX mandates_payer ON mandates (payer, created_at);
CREATE INDEX mandates_due ON mandates (state, try_at);
CREATE TABLE mandate_executions (
    id           TEXT PRIMARY KEY,   -- the transfer's id
    mandate      TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    reference    TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    scheduled    INTEGER NOT NULL,
    state        TEXT NOT NULL,      -- PENDING | COMMITTED | FAILED
    reason       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX mandate_executions_period ON mandate_executions (mandate, period_start);
