-- FX rate sheets (package fx): one per provider and currency pair, the
-- provider's latest publication. rate is the exact decimal, target per
-- source; amounts in source minor units (max_amount 0: none); times unix
-- nanoseconds.
CREATE TABLE fx_sheets (
    provider    text NOT NULL,
    source      text NOT NULL,
    target      text NOT NULL,
    rate        text NOT NULL,
    valid_until bigint NOT NULL,
    min_amount  bigint NOT NULL,
    max_amount  bigint NOT NULL,
    fee_fixed   bigint NOT NULL,
    fee_bps     bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (provider, source, target)
);
