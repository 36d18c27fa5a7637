-- Mandates (package mandate): a biller's standing authority, approved by
-- the payer's participant, to pull payments within limits, and their
-- executions. Amounts in minor units, times unix nanoseconds. A
-- scheduled mandate (sched_amount > 0) is executed by the switch: due_at
-- is its current period's due time (0: none), try_at when it is next
-- tried (a retry after short funds), attempt the retries made, notified
-- the due_at whose notice was sent.
CREATE TABLE mandates (
    id           text PRIMARY KEY,
    biller       text NOT NULL,
    payer_type   text NOT NULL,
    payer_value  text NOT NULL,
    payer        text NOT NULL,
    max_amount   bigint NOT NULL,
    currency     text NOT NULL,
    frequency    text NOT NULL,
    valid_from   bigint NOT NULL,
    valid_until  bigint NOT NULL,
    description  text NOT NULL,
    condition    text NOT NULL,
    sched_month  bigint NOT NULL,
    sched_day    bigint NOT NULL,
    sched_amount bigint NOT NULL,
    state        text NOT NULL,
    due_at       bigint NOT NULL,
    try_at       bigint NOT NULL,
    attempt      bigint NOT NULL,
    notified     bigint NOT NULL,
    changes      bigint NOT NULL,   -- state changes so far (marks' keys)
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL
);
CREATE INDEX mandates_biller ON mandates (biller, created_at);
CREATE INDEX mandates_payer ON mandates (payer, created_at);
CREATE INDEX mandates_due ON mandates (state, try_at);
CREATE TABLE mandate_executions (
    id           text PRIMARY KEY,   -- the transfer's id
    mandate      text NOT NULL,
    amount       bigint NOT NULL,
    reference    text NOT NULL,
    period_start bigint NOT NULL,
    scheduled    bigint NOT NULL,
    state        text NOT NULL,      -- PENDING | COMMITTED | FAILED
    reason       text NOT NULL,
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL
);
CREATE INDEX mandate_executions_period ON mandate_executions (mandate, period_start);
