-- The console's users (issue 19, package console/users), created by the
-- operator. username_key is the name in lower case: names are unique
-- whatever their case. password_hash is an Argon2id PHC string (its
-- parameters and salt with it); totp_secret the TOTP secret sealed with
-- the data key; totp_last_step the last 30-second step whose code signed
-- in, so that a code is not taken twice; failed the sign-ins failed (or
-- under way) since the last success, and locked_until (unix ns, 0: not
-- locked) when a lockout ends. participant is '' for the operator's and
-- the regulator's roles.
CREATE TABLE console_users (
    username_key   text PRIMARY KEY,
    username       text NOT NULL,
    role           text NOT NULL CHECK (role IN ('operator-admin', 'operator-viewer', 'regulator', 'participant-admin', 'participant-viewer')),
    participant    text NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    totp_secret    text NOT NULL,
    totp_last_step bigint NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,
    locked_until   bigint NOT NULL DEFAULT 0,
    created_at     bigint NOT NULL
);

-- The console's actions that changed something, as recorded on the
-- ledger (marks of purpose 22, console-action), for listing: id is the
-- mark's key, at unix nanoseconds.
CREATE TABLE console_actions (
    seq         bigserial PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    at          bigint NOT NULL,
    username    text NOT NULL,
    role        text NOT NULL,
    participant text NOT NULL,
    action      text NOT NULL,
    target      text NOT NULL
);
