-- The annual FX quota's usage (package fx, Usage), saved every minute so
-- that a restart replays the journal only from through_ts + 1: what each
-- payer account (quota_key, 16 bytes) used of its quota in a calendar
-- year of the scheme's time zone, in minor units of the quota's currency
-- (0 rows may linger until the year is dropped); the reserved FX legs
-- counted but not yet decided, by ledger id, so that an abort or expiry
-- after the restart gives their value back to the year they counted in;
-- and the ledger timestamp (unix nanoseconds) through which events were
-- counted. Rows of years before the current one are dropped.
CREATE TABLE fx_quota_usage (
    year      INTEGER NOT NULL,
    quota_key BLOB NOT NULL,
    used      INTEGER NOT NULL,
    PRIMARY KEY (year, quota_key)
);

CREATE TABLE fx_quota_open (
    id        BLOB PRIMARY KEY,
    year      INTEGER NOT NULL,
    quota_key BLOB NOT NULL,
    value     INTEGER NOT NULL
);

CREATE TABLE fx_quota_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    through_ts INTEGER NOT NULL
);
