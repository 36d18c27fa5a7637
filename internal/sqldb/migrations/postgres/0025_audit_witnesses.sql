-- The audit log's witnesses and their co-signatures as the leader of a
-- cluster takes them (issue 20): the followers register the same
-- witnesses and keep the same co-signatures, so that they publish them
-- with the checkpoints and, once one of them leads, it takes the
-- witnesses' next co-signatures. vkey is the witness's note verifier
-- key; note a checkpoint signed by the switch and the witnesses whose
-- co-signatures were new; the times are unix nanoseconds. Only cluster
-- nodes write them; the leader keeps the newest co-signatures only
-- (each node keeps its own copy in its audit directory).
CREATE TABLE audit_witnesses (
    name          text   PRIMARY KEY,
    vkey          text   NOT NULL,
    registered_at bigint NOT NULL
);
CREATE TABLE audit_cosignatures (
    id        bigserial PRIMARY KEY,
    note      bytea     NOT NULL,
    stored_at bigint    NOT NULL
);
