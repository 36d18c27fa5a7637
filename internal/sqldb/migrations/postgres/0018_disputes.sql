-- Fraud disputes (package dispute): the payer's participant disputes a
-- committed payment; the switch holds up to the disputed amount on the
-- payee participant (transfer.HoldPayBack) until the payee accepts or
-- rejects it, or the response deadline accepts it. Amounts in minor
-- units, times unix nanoseconds. state OPEN, ACCEPTED or REJECTED;
-- held is what holds still reserve, refunded what was paid back; holds
-- counts the holds made (the next one's number); hold_at is when the
-- next top-up may be tried; check_at when the sweep next looks at it;
-- decided_by payee or switch (unanswered).
CREATE TABLE disputes (
    id            text PRIMARY KEY,
    transfer_id   text NOT NULL,
    payer         text NOT NULL,
    payee         text NOT NULL,
    reason        text NOT NULL,
    detail        text NOT NULL,
    amount        bigint NOT NULL,
    currency      text NOT NULL,
    held          bigint NOT NULL,
    refunded      bigint NOT NULL,
    state         text NOT NULL,
    decided_by    text NOT NULL,
    reject_reason text NOT NULL,
    respond_by    bigint NOT NULL,
    hold_until    bigint NOT NULL,
    holds         bigint NOT NULL,
    hold_at       bigint NOT NULL,
    check_at      bigint NOT NULL,
    reported      bigint NOT NULL,   -- 1 once a fraud dispute accepted was reported to risk control
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);
CREATE UNIQUE INDEX disputes_open ON disputes (transfer_id) WHERE state = 'OPEN';
CREATE INDEX disputes_transfer ON disputes (transfer_id, created_at);
CREATE INDEX disputes_payer ON disputes (payer, created_at);
CREATE INDEX disputes_payee ON disputes (payee, created_at);
CREATE INDEX disputes_check ON disputes (check_at);

-- A dispute's holds, numbered from 1 (hold id dispute:<id>:<n>): state
-- RESERVED, COMMITTED, RELEASED or EXPIRED, as last seen on the ledger.
CREATE TABLE dispute_holds (
    dispute_id text NOT NULL,
    n          bigint NOT NULL,
    hold_id    text NOT NULL,
    amount     bigint NOT NULL,
    state      text NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (dispute_id, n)
);
