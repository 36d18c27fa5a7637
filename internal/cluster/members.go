package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MembersMax bounds the rows Members reads: rows of nodes gone for good
// stay in cluster_nodes until an operator deletes them.
const MembersMax = 1000

// aliveTTLs is how many TTLs a node may go without a heartbeat and still
// count as alive: a follower reports every Renew, so three TTLs is many
// missed heartbeats, not a slow tick.
const aliveTTLs = 3

// Status is the cluster as the database sees it, for the operator.
type Status struct {
	// Lease is the lease row: its holder, address and epoch, even when
	// lapsed; Node is empty before the first leader.
	Lease Leader
	// Held says whether the lease is in force now by the database's clock.
	Held bool
	// ExpiresIn is the time until the lease lapses, negative once it has;
	// zero before the first leader.
	ExpiresIn time.Duration
	// Nodes are the rows of cluster_nodes, sorted by node id.
	Nodes []Member
}

// Member is one node's row of cluster_nodes as of its last heartbeat.
type Member struct {
	Node       string
	Addr       string
	Role       string // as the node reported it
	Epoch      int64  // the epoch it holds when leader, else the last it read
	AppliedSeq uint64 // the last ledger batch it has applied
	// Seen is the age of its last heartbeat, by the database's clock.
	Seen time.Duration
	// Lag is the leader's AppliedSeq minus this node's (0 when this node
	// is ahead of the leader's last report), or -1 when no leader holds
	// the lease or it has no row.
	Lag int64
	// Alive says whether the node reported within 3×TTL.
	Alive bool
	// Leading says whether this node holds the lease in force.
	Leading bool
}

// membersTimeout bounds Members: an operator's read, which need not keep
// the lease's beat (a loaded database took longer than a 50 ms renewal).
const membersTimeout = 5 * time.Second

// Members reads the lease and every node's row in one snapshot.
func (l *Lease) Members(ctx context.Context) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, membersTimeout)
	defer cancel()
	var st Status
	err := pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var expiresUS *int64
		err := tx.QueryRow(ctx, `SELECT holder, addr, epoch, expires_at > now(),
				CASE WHEN isfinite(expires_at) THEN (extract(epoch FROM expires_at - now()) * 1000000)::bigint END
			FROM cluster_lease WHERE id = 1`).Scan(&st.Lease.Node, &st.Lease.Addr, &st.Lease.Epoch, &st.Held, &expiresUS)
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		if expiresUS != nil {
			st.ExpiresIn = time.Duration(*expiresUS) * time.Microsecond
		}
		rows, err := tx.Query(ctx, `SELECT node_id, addr, role, epoch, applied_seq,
				(extract(epoch FROM now() - seen_at) * 1000000)::bigint
			FROM cluster_nodes ORDER BY node_id COLLATE "C" LIMIT $1`, MembersMax)
		if err != nil {
			return fmt.Errorf("nodes: %w", err)
		}
		st.Nodes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
			var m Member
			var applied, seenUS int64
			err := r.Scan(&m.Node, &m.Addr, &m.Role, &m.Epoch, &applied, &seenUS)
			m.AppliedSeq = uint64(max(applied, 0))
			// now() is when this transaction began: a heartbeat
			// committed since is "just now", not in the future.
			m.Seen = time.Duration(max(seenUS, 0)) * time.Microsecond
			return m, err
		})
		if err != nil {
			return fmt.Errorf("nodes: %w", err)
		}
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("cluster: members: %w", err)
	}
	st.fill(l.cfg.TTL)
	return st, nil
}

// fill derives each member's Alive, Leading and Lag.
func (st *Status) fill(ttl time.Duration) {
	var lead *Member
	for i := range st.Nodes {
		m := &st.Nodes[i]
		m.Alive = m.Seen <= aliveTTLs*ttl
		m.Leading = st.Held && m.Node == st.Lease.Node
		if m.Leading {
			lead = m
		}
	}
	for i := range st.Nodes {
		m := &st.Nodes[i]
		switch {
		case lead == nil:
			m.Lag = -1
		case m.AppliedSeq >= lead.AppliedSeq:
			m.Lag = 0
		default:
			m.Lag = int64(min(lead.AppliedSeq-m.AppliedSeq, 1<<63-1))
		}
	}
}
