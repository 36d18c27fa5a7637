-- Alerts for the operator and the regulator: today a participant whose
-- lookups miss so often that it looks like a scan of the directory
-- (kind 'lookup-scraping': lookups is the window's size, not_found how
-- many of them found nothing).
CREATE TABLE operator_alerts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    participant TEXT NOT NULL,
    raised_at   INTEGER NOT NULL,              -- unix nanoseconds
    lookups     INTEGER NOT NULL DEFAULT 0,
    not_found   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX operator_alerts_participant ON operator_alerts (participant, kind, raised_at);
