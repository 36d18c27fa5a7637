-- Alerts for the operator and the regulator: today a participant whose
-- lookups miss so often that it looks like a scan of the directory.
CREATE TABLE operator_alerts (
    seq         bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('lookup-scraping')),
    participant text NOT NULL,
    raised_at   bigint NOT NULL,
    lookups     bigint NOT NULL DEFAULT 0,
    not_found   bigint NOT NULL DEFAULT 0
);
COMMENT ON COLUMN operator_alerts.raised_at IS 'unix nanoseconds';
COMMENT ON COLUMN operator_alerts.lookups IS 'lookup-scraping: the window''s lookups; not_found: how many found nothing';
CREATE INDEX operator_alerts_participant ON operator_alerts (participant, kind, raised_at);
