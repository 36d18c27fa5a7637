-- FX rate sheets (package fx): one per provider and currency pair, the
-- provider's latest publication. rate is the exact decimal, target per
-- source; amounts in source minor units (max_amount 0: none); times unix
-- nanoseconds.
CREATE TABLE fx_sheets (
    provider    TEXT NOT NULL,
    source      TEXT NOT NULL,
    target      TEXT NOT NULL,
    rate        TEXT NOT NULL,
    valid_until INTEGER NOT NULL,
    min_amount  INTEGER NOT NULL,
    max_amount  INTEGER NOT NULL,
    fee_fixed   INTEGER NOT NULL,
    fee_bps     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (provider, source, target)
);
