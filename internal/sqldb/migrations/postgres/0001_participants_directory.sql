-- Participants, their aliases, fee schedules and callback delivery cursors.
-- Times are nanoseconds since the Unix epoch (bigint); amounts are int64
-- minor units of the row's currency; currencies are ISO 4217 alphabetic codes.
CREATE TABLE participants (
    id              text PRIMARY KEY,
    number          bigint NOT NULL UNIQUE,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('wallet', 'bank', 'fxp')),
    currencies      text NOT NULL,
    callback_url    text NOT NULL DEFAULT '',
    acceptance      text NOT NULL CHECK (acceptance IN ('notify', 'confirm')),
    status          text NOT NULL CHECK (status IN ('active', 'suspended')),
    api_key_hash    bytea NOT NULL,
    callback_secret text NOT NULL,
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL
);
COMMENT ON COLUMN participants.number IS 'allocates the participant''s ledger account ids';
COMMENT ON COLUMN participants.api_key_hash IS 'SHA-256 of the API key''s secret part';

CREATE TABLE parties (
    type        text NOT NULL,
    value       text NOT NULL,
    participant text NOT NULL REFERENCES participants(id),
    name        text NOT NULL,
    account     text NOT NULL,
    currency    text NOT NULL,
    created_at  bigint NOT NULL,
    PRIMARY KEY (type, value)
);
CREATE INDEX parties_participant ON parties (participant, type, value);
COMMENT ON TABLE parties IS 'aliases (directory): normalized type+value to the owning participant and its end user';

CREATE TABLE fee_schedules (
    currency   text PRIMARY KEY,
    fixed      bigint NOT NULL,
    rate_bps   integer NOT NULL,
    min_fee    bigint NOT NULL,
    max_fee    bigint NOT NULL,
    updated_at bigint NOT NULL
);
COMMENT ON COLUMN fee_schedules.rate_bps IS 'basis points of the amount (1 bp = 0.01%)';

CREATE TABLE delivery_cursors (
    participant text NOT NULL REFERENCES participants(id),
    stream      text NOT NULL,
    position    bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (participant, stream)
);
