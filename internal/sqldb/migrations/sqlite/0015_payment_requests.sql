-- Payment requests (package rtp): a payee participant asks a payer
-- alias's participant to pay. Amounts in minor units, times unix
-- nanoseconds. state PENDING, ACCEPTING (its transfer is being made),
-- PAID, DECLINED or EXPIRED.
CREATE TABLE payment_requests (
    id          TEXT PRIMARY KEY,
    payee       TEXT NOT NULL,
    payer_type  TEXT NOT NULL,
    payer_value TEXT NOT NULL,
    payer       TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    message     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    state       TEXT NOT NULL,
    transfer_id TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX payment_requests_payee ON payment_requests (payee, created_at);
CREATE INDEX payment_requests_payer ON payment_requests (payer, created_at);
CREATE INDEX payment_requests_alias ON payment_requests (payer_type, payer_value, state);
CREATE INDEX payment_requests_expiry ON payment_requests (state, expires_at);
