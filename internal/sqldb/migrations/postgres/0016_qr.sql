-- Merchant QR codes (package qr). merchants holds what a MERCHANT alias's
-- codes print (the alias itself is in aliases); qr_codes the codes made,
-- a dynamic one paid once: paid_transfer names the transfer that claimed
-- it ('' while unpaid). Amounts in minor units (0: a static code without
-- one), times unix nanoseconds (expires_at 0: never).
CREATE TABLE merchants (
    id          text PRIMARY KEY,
    participant text NOT NULL,
    name        text NOT NULL,
    mcc         text NOT NULL,
    city        text NOT NULL,
    country     text NOT NULL,
    updated_at  bigint NOT NULL
);
CREATE TABLE qr_codes (
    id            text PRIMARY KEY,
    merchant      text NOT NULL,
    participant   text NOT NULL,
    dynamic       bigint NOT NULL,
    amount        bigint NOT NULL,
    currency      text NOT NULL,
    reference     text NOT NULL,
    expires_at    bigint NOT NULL,
    payload       text NOT NULL,
    paid_transfer text NOT NULL,
    created_at    bigint NOT NULL
);
CREATE INDEX qr_codes_participant ON qr_codes (participant, created_at);
