-- 0002: the cluster's leader lease and its members (issue 20).
--
-- Several `hulian serve --node-id` processes share one database; exactly
-- one, the leader, writes the ledger. It holds the lease row below, which
-- it renews every --lease-renew and which expires --lease-ttl after the
-- last renewal, by the database's clock. Every acquisition increments the
-- epoch, and every ledger write of the leader checks, in its own
-- transaction, that the lease still carries its epoch (fencing): a paused
-- old leader can never write after a new one took over.

CREATE TABLE cluster_lease (
    id         smallint    PRIMARY KEY CHECK (id = 1),
    holder     text        NOT NULL,
    addr       text        NOT NULL,
    epoch      bigint      NOT NULL CHECK (epoch >= 0),
    expires_at timestamptz NOT NULL,
    renewed_at timestamptz NOT NULL
);

COMMENT ON TABLE cluster_lease IS
    'The leader lease of the switch nodes sharing this database: one row, id 1. Its holder alone writes the ledger.';
COMMENT ON COLUMN cluster_lease.holder IS 'The leader''s node id (--node-id); empty before the first leader.';
COMMENT ON COLUMN cluster_lease.addr IS 'The leader''s --advertise-addr (host:port), where followers forward writes.';
COMMENT ON COLUMN cluster_lease.epoch IS 'Incremented at every acquisition; ledger writes check it (fencing).';
COMMENT ON COLUMN cluster_lease.expires_at IS 'When the lease lapses unless renewed, by the database''s clock.';
COMMENT ON COLUMN cluster_lease.renewed_at IS 'When the holder last renewed (or acquired) the lease.';

INSERT INTO cluster_lease (id, holder, addr, epoch, expires_at, renewed_at)
VALUES (1, '', '', 0, '-infinity', '-infinity');

CREATE TABLE cluster_nodes (
    node_id     text        PRIMARY KEY,
    addr        text        NOT NULL,
    role        text        NOT NULL,
    epoch       bigint      NOT NULL DEFAULT 0,
    applied_seq bigint      NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL,
    seen_at     timestamptz NOT NULL
);

COMMENT ON TABLE cluster_nodes IS
    'The switch nodes that share this database, one row per --node-id, refreshed by each node every --lease-renew.';
COMMENT ON COLUMN cluster_nodes.role IS '''leader'', ''follower'' or ''starting''.';
COMMENT ON COLUMN cluster_nodes.epoch IS 'The lease epoch the node holds when leader, else the last it saw.';
COMMENT ON COLUMN cluster_nodes.applied_seq IS 'The last ledger batch the node has applied: the leader''s minus a follower''s is its lag.';
COMMENT ON COLUMN cluster_nodes.seen_at IS 'When the node last reported, by the database''s clock.';
