-- The audit log's checkpoints as the leader of a cluster signs them
-- (issue 20): the followers import them into their own audit
-- directories, so that they answer proofs against the leader's
-- checkpoints and, once one of them leads, its audit log carries on the
-- same signed history. note is the signed note, byte for byte;
-- signed_at unix nanoseconds. Only cluster nodes write it.
CREATE TABLE audit_checkpoints (
    size      bigint PRIMARY KEY CHECK (size > 0),
    note      bytea  NOT NULL,
    signed_at bigint NOT NULL
);
