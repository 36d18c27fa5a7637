-- Fingerprints of the keys every node of a cluster must share (issue
-- 20): the first node to start records each; a node whose key differs
-- refuses to start rather than sign quotes or checkpoints the others
-- would refuse. fingerprint is hex SHA-256 of a context and the key
-- (never the key); recorded_at unix nanoseconds; node the recorder.
CREATE TABLE cluster_keys (
    name        text   PRIMARY KEY,
    fingerprint text   NOT NULL,
    node        text   NOT NULL,
    recorded_at bigint NOT NULL
);
