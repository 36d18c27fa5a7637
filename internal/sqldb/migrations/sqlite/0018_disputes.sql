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
    id            TEXT PRIMARY KEY,
    transfer_id   TEXT NOT NULL,
    payer         TEXT NOT NULL,
    payee         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    held          INTEGER NOT NULL,
    refunded      INTEGER NOT NULL,
    state         TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    reject_reason TEXT NOT NULL,
    respond_by    INTEGER NOT NULL,
    hold_until    INTEGER NOT NULL,
    holds         INTEGER NOT NULL,
    hold_at       INTEGER NOT NULL,
    check_at      INTEGER NOT NULL,
    reported      INTEGER NOT NULL,   -- 1 once a fraud dispute accepted was reported to risk control
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX disputes_open ON disputes (transfer_id) WHERE state = 'OPEN';
CREATE INDEX disputes_transfer ON disputes (transfer_id, created_at);
CREATE INDEX disputes_payer ON disputes (payer, created_at);
CREATE INDEX disputes_payee ON disputes (payee, created_at);
CREATE INDEX disputes_check ON disputes (check_at);

-- A dispute's holds, numbered from 1 (hold id dispute:<id>:<n>): state
-- RESERVED, COMMITTED, RELEASED or EXPIRED, as last seen on the ledger.
CREATE TABLE dispute_holds (
    dispute_id TEXT NOT NULL,
    n          INTEGER NOT NULL,
    hold_id    TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    state      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (dispute_id, n)
);
