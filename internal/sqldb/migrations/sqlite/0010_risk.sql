-- Risk control (package risk): the operator's rules and lists, the alerts
-- that screening raises and the operator's decisions on them, and the
-- participants' fraud reports. Times are unix nanoseconds.
CREATE TABLE risk_rules (
    id          TEXT PRIMARY KEY,
    expression  TEXT NOT NULL,
    action      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    mode        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE TABLE risk_list_items (
    list TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (list, item)
);
CREATE TABLE risk_alerts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    transfer_id TEXT NOT NULL,
    payer       TEXT NOT NULL,
    payee       TEXT NOT NULL,
    rule        TEXT NOT NULL,               -- '' for the anomaly model's own alert
    action      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    mode        TEXT NOT NULL,
    held        INTEGER NOT NULL DEFAULT 0,  -- 1: the transfer is held for this alert's review
    score       REAL NOT NULL,
    features    TEXT NOT NULL DEFAULT '',    -- JSON array of the model's top features
    status      TEXT NOT NULL DEFAULT 'open',
    decision    TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    decided_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX risk_alerts_payer ON risk_alerts (payer, seq);
CREATE INDEX risk_alerts_payee ON risk_alerts (payee, seq);
CREATE INDEX risk_alerts_transfer ON risk_alerts (transfer_id);
CREATE TABLE fraud_reports (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    transfer_id TEXT NOT NULL,
    reporter    TEXT NOT NULL,
    alias       TEXT NOT NULL,               -- the payee alias, "TYPE:value"
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open',
    created_at  INTEGER NOT NULL,
    UNIQUE (transfer_id, reporter)
);
CREATE INDEX fraud_reports_open ON fraud_reports (created_at);
