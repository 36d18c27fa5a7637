-- Rotating credentials: a participant holds at most two valid API keys and
-- two valid callback secrets, the current one and, during a rotation's
-- grace period, the previous one until it expires (ns since the epoch; 0:
-- none). Callback secrets are stored sealed with the data key (package
-- seal). A participant may be closed for good; it may be bound to a client
-- certificate (hex SHA-256 of its DER form; '' for none).
ALTER TABLE participants
    ADD COLUMN prev_api_key_hash bytea NOT NULL DEFAULT '\x',
    ADD COLUMN prev_api_key_expires bigint NOT NULL DEFAULT 0,
    ADD COLUMN prev_callback_secret text NOT NULL DEFAULT '',
    ADD COLUMN prev_callback_secret_expires bigint NOT NULL DEFAULT 0,
    ADD COLUMN client_cert_sha256 text NOT NULL DEFAULT '',
    DROP CONSTRAINT participants_status_check,
    ADD CONSTRAINT participants_status_check CHECK (status IN ('active', 'suspended', 'closed'));
