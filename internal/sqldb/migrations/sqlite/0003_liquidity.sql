-- Liquidity alert thresholds set by participants, and the alerts raised
-- when a participant's available headroom crossed one.
CREATE TABLE liquidity_thresholds (
    participant TEXT NOT NULL REFERENCES participants(id),
    currency    TEXT NOT NULL,
    threshold   INTEGER NOT NULL,              -- minor units of available balance
    below       INTEGER NOT NULL DEFAULT 0,    -- 1 while available is below the threshold
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (participant, currency)
);

CREATE TABLE liquidity_alerts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    participant TEXT NOT NULL,
    currency    TEXT NOT NULL,
    kind        TEXT NOT NULL,                 -- low | restored
    available   INTEGER NOT NULL,
    threshold   INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX liquidity_alerts_participant ON liquidity_alerts (participant, seq);
