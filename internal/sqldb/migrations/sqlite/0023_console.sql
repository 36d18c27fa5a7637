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
    username_key   TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    role           TEXT NOT NULL,
    participant    TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

-- The console's actions that changed something, as recorded on the
-- ledger (marks of purpose 22, console-action), for listing: id is the
-- mark's key, at unix nanoseconds.
CREATE TABLE console_actions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    at          INTEGER NOT NULL,
    username    TEXT NOT NULL,
    role        TEXT NOT NULL,
    participant TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL
);
