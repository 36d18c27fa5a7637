-- Risk control (package risk): the operator's rules and lists, the alerts
-- that screening raises and the operator's decisions on them, and the
-- participants' fraud reports. Times are unix nanoseconds.
CREATE TABLE risk_rules (
    id          text PRIMARY KEY,
    expression  text NOT NULL,
    action      text NOT NULL CHECK (action IN ('decline', 'review', 'alert')),
    reason      text NOT NULL,
    mode        text NOT NULL CHECK (mode IN ('enforce', 'shadow')),
    description text NOT NULL DEFAULT '',
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL
);
CREATE TABLE risk_list_items (
    list text NOT NULL,
    item text NOT NULL,
    PRIMARY KEY (list, item)
);
CREATE TABLE risk_alerts (
    seq         bigserial PRIMARY KEY,
    transfer_id text NOT NULL,
    payer       text NOT NULL,
    payee       text NOT NULL,
    rule        text NOT NULL,
    action      text NOT NULL,
    reason      text NOT NULL,
    mode        text NOT NULL,
    held        integer NOT NULL DEFAULT 0,
    score       double precision NOT NULL,
    features    text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    decision    text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    created_at  bigint NOT NULL,
    decided_at  bigint NOT NULL DEFAULT 0
);
COMMENT ON COLUMN risk_alerts.rule IS 'empty for the anomaly model''s own alert';
COMMENT ON COLUMN risk_alerts.held IS '1: the transfer is held for this alert''s review';
COMMENT ON COLUMN risk_alerts.features IS 'JSON array of the model''s top features';
CREATE INDEX risk_alerts_payer ON risk_alerts (payer, seq);
CREATE INDEX risk_alerts_payee ON risk_alerts (payee, seq);
CREATE INDEX risk_alerts_transfer ON risk_alerts (transfer_id);
CREATE TABLE fraud_reports (
    seq         bigserial PRIMARY KEY,
    transfer_id text NOT NULL,
    reporter    text NOT NULL,
    alias       text NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('scam', 'account-takeover', 'mule', 'other')),
    detail      text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'open',
    created_at  bigint NOT NULL,
    UNIQUE (transfer_id, reporter)
);
CREATE INDEX fraud_reports_open ON fraud_reports (created_at);
