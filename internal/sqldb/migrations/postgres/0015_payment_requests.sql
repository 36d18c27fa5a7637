-- Payment requests (package rtp): a payee participant asks a payer
-- alias's participant to pay. Amounts in minor units, times unix
-- nanoseconds. state PENDING, ACCEPTING (its transfer is being made),
-- PAID, DECLINED or EXPIRED.
CREATE TABLE payment_requests (
    id          text PRIMARY KEY,
    payee       text NOT NULL,
    payer_type  text NOT NULL,
    payer_value text NOT NULL,
    payer       text NOT NULL,
    amount      bigint NOT NULL,
    currency    text NOT NULL,
    message     text NOT NULL,
    expires_at  bigint NOT NULL,
    state       text NOT NULL,
    transfer_id text NOT NULL,
    reason      text NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL
);
CREATE INDEX payment_requests_payee ON payment_requests (payee, created_at);
CREATE INDEX payment_requests_payer ON payment_requests (payer, created_at);
CREATE INDEX payment_requests_alias ON payment_requests (payer_type, payer_value, state);
CREATE INDEX payment_requests_expiry ON payment_requests (state, expires_at);
