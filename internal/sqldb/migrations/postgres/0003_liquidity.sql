-- Liquidity alert thresholds set by participants, and the alerts raised
-- when a participant's available headroom crossed one.
CREATE TABLE liquidity_thresholds (
    participant text NOT NULL REFERENCES participants(id),
    currency    text NOT NULL,
    threshold   bigint NOT NULL,
    below       integer NOT NULL DEFAULT 0,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (participant, currency)
);
COMMENT ON COLUMN liquidity_thresholds.threshold IS 'minor units of available balance (balance - reserved + net debit cap)';

CREATE TABLE liquidity_alerts (
    seq         bigserial PRIMARY KEY,
    participant text NOT NULL,
    currency    text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('low', 'restored')),
    available   bigint NOT NULL,
    threshold   bigint NOT NULL,
    at          bigint NOT NULL
);
CREATE INDEX liquidity_alerts_participant ON liquidity_alerts (participant, seq);
