-- Merchant QR codes (package qr). merchants holds what a MERCHANT alias's
-- codes print (the alias itself is in aliases); qr_codes the codes made,
-- a dynamic one paid once: paid_transfer names the transfer that claimed
-- it ('' while unpaid). Amounts in minor units (0: a static code without
-- one), times unix nanoseconds (expires_at 0: never).
CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    name        TEXT NOT NULL,
    mcc         TEXT NOT NULL,
    city        TEXT NOT NULL,
    country     TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE TABLE qr_codes (
    id            TEXT PRIMARY KEY,
    merchant      TEXT NOT NULL,
    participant   TEXT NOT NULL,
    dynamic       INTEGER NOT NULL,
    amount        INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    reference     TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    payload       TEXT NOT NULL,
    paid_transfer TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX qr_codes_participant ON qr_codes (participant, created_at);
