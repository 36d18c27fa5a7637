-- 0003: fencing of the leader's ledger writes, and their announcement to
-- the followers (issue 20).
--
-- A node-mode store (postgres.OpenNode) calls hulian_lease_check first in
-- every transaction that appends ledger batches, in the same pipeline as
-- the inserts, so that the check costs no round trip of its own.

CREATE FUNCTION hulian_lease_check(p_epoch bigint, p_holder text, p_last_seq bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- FOR SHARE, held to the end of the calling transaction, conflicts with
    -- the UPDATE of a takeover: a takeover waits for an append in progress
    -- to commit, and an append that meets a takeover in progress waits for
    -- it, then sees the new epoch (READ COMMITTED rechecks the row) and
    -- fails. So no batch of an old leader commits after a takeover has.
    PERFORM 1 FROM cluster_lease
    WHERE id = 1 AND epoch = p_epoch AND holder = p_holder
    FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the cluster lease no longer carries epoch % of node %', p_epoch, quote_literal(p_holder)
            USING ERRCODE = 'HU001';
    END IF;
    -- Delivered to the listeners only if the transaction commits.
    PERFORM pg_notify('hulian_ledger', p_last_seq::text);
END
$$;

COMMENT ON FUNCTION hulian_lease_check(bigint, text, bigint) IS
    'Fences a ledger append: raises SQLSTATE HU001 unless cluster_lease carries epoch p_epoch held by node p_holder, and locks that row FOR SHARE until the transaction ends, so that a takeover (an UPDATE of the row) and the append are ordered. On commit, notifies channel hulian_ledger with the last batch appended, p_last_seq.';
