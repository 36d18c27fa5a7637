-- The console's sessions (package console/users), kept in the database so
-- that they survive a restart and a failover: the node that newly leads
-- reads them here. token_hash is SHA-256 of the session's token, never
-- the token; the CSRF token is derived from the token and not kept at
-- all. seq orders a user's sessions (its oldest ends first when it has
-- too many); started_at and seen_at (the last use, written at most once
-- a minute) are unix ns. A user's deletion takes its sessions with it.
-- Sign-ins sweep the ended ones: the table keeps at most the sessions'
-- Total limit.
CREATE TABLE console_sessions (
    seq          bigserial PRIMARY KEY,
    token_hash   bytea  NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    username_key text   NOT NULL REFERENCES console_users (username_key) ON DELETE CASCADE,
    started_at   bigint NOT NULL,
    seen_at      bigint NOT NULL CHECK (seen_at >= started_at)
);

CREATE INDEX console_sessions_user ON console_sessions (username_key, seq);
