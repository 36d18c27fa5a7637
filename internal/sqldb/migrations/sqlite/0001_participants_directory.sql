-- Participants, their aliases, fee schedules and callback delivery cursors.
-- Times are nanoseconds since the Unix epoch (integer); amounts are int64
-- minor units of the row's currency; currencies are ISO 4217 alphabetic codes.
CREATE TABLE participants (
    id              TEXT PRIMARY KEY,
    number          INTEGER NOT NULL UNIQUE,   -- allocates the participant's ledger account ids
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,             -- wallet | bank | fxp
    currencies      TEXT NOT NULL,             -- comma-separated ISO 4217 codes
    callback_url    TEXT NOT NULL DEFAULT '',
    acceptance      TEXT NOT NULL,             -- notify | confirm
    status          TEXT NOT NULL,             -- active | suspended
    api_key_hash    BLOB NOT NULL,             -- SHA-256 of the API key's secret part
    callback_secret TEXT NOT NULL,             -- HMAC key for signing callbacks
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE parties (
    type        TEXT NOT NULL,                 -- MSISDN | EMAIL | NATIONAL_ID | RANDOM | WALLET
    value       TEXT NOT NULL,                 -- normalized
    participant TEXT NOT NULL REFERENCES participants(id),
    name        TEXT NOT NULL,
    account     TEXT NOT NULL,                 -- the participant's own reference for its end user
    currency    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (type, value)
) WITHOUT ROWID;
CREATE INDEX parties_participant ON parties (participant, type, value);

CREATE TABLE fee_schedules (
    currency   TEXT PRIMARY KEY,
    fixed      INTEGER NOT NULL,               -- minor units
    rate_bps   INTEGER NOT NULL,               -- basis points of the amount (1 bp = 0.01%)
    min_fee    INTEGER NOT NULL,
    max_fee    INTEGER NOT NULL,               -- 0: no maximum
    updated_at INTEGER NOT NULL
);

CREATE TABLE delivery_cursors (
    participant TEXT NOT NULL REFERENCES participants(id),
    stream      TEXT NOT NULL,                 -- what is delivered, e.g. the account id
    position    INTEGER NOT NULL,              -- last delivered event timestamp
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (participant, stream)
);
