-- Rotating credentials: a participant holds at most two valid API keys and
-- two valid callback secrets, the current one and, during a rotation's
-- grace period, the previous one until it expires (ns since the epoch; 0:
-- none). Callback secrets are stored sealed with the data key (package
-- seal). A participant may be closed for good; it may be bound to a client
-- certificate (hex SHA-256 of its DER form; '' for none).
ALTER TABLE participants ADD COLUMN prev_api_key_hash BLOB NOT NULL DEFAULT x'';
ALTER TABLE participants ADD COLUMN prev_api_key_expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN prev_callback_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN prev_callback_secret_expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN client_cert_sha256 TEXT NOT NULL DEFAULT '';
