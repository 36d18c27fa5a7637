// Package cluster owns the leader lease of the switch nodes that share one
// PostgreSQL database (issue 20): which node leads, with which epoch, and
// the members' table in which every node writes its heartbeat.
//
// The lease is the one row of cluster_lease, created by the ledger store's
// migration 0002. Its holder renews it every Config.Renew; it lapses
// Config.TTL after the last renewal, by the database's clock, and then any
// other node may take it with the next epoch. The epoch is what fences the
// ledger: every ledger write of the leader checks it in its own
// transaction, so a paused old leader can never write after a new one took
// over.
//
// A node also gives up leading by its own monotonic clock, TTL − Renew/2
// after the start of its last successful renewal. The database sets the
// expiry from its clock at a moment after that start, so a leader cut off
// from the database, or one whose statements are slow, stops considering
// itself leader at least Renew/2 before anyone else can take the lease.
// Database errors are otherwise harmless: a failed renewal is retried at
// the next tick and a failed acquisition waits for the next tick, which
// is what a database failover looks like from here.
//
// The package talks to the database through a small pool of its own and
// knows nothing of the ledger: the app reports each node's role and last
// applied batch (Report), which the heartbeat writes for the operator's
// view (Members).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// poolMax bounds the lease's own connections: Run uses one at a time,
	// Members and Release one more each.
	poolMax = 4
	// warnEvery is how often one kind of database error is logged at most,
	// so that a database down for minutes does not flood the log.
	warnEvery = 5 * time.Second
	// writerLockKey is the session advisory lock a single-node ledger store
	// (internal/store/postgres) holds on its database: while one does, no
	// node may lead, or two writers would share the ledger.
	writerLockKey int64 = 0x68756c69616e0001 // "hulian" 0001
)

// Roles a node reports (cluster_nodes.role).
const (
	// RoleStarting is a node that has not reported yet: still opening or
	// catching up.
	RoleStarting = "starting"
	// RoleLeader is the node that holds the lease and writes the ledger.
	RoleLeader = "leader"
	// RoleFollower is a node that follows the ledger and forwards writes.
	RoleFollower = "follower"
)

// Leader is the lease holder as a node last read it.
type Leader struct {
	Node  string // its --node-id
	Addr  string // its --advertise-addr, where followers forward writes
	Epoch int64  // the lease epoch it holds
}

// Lease is one node's view of, and claim to, the cluster's leader lease.
// Open it, call Run in a goroutine, and ask Leading before each leader's
// duty; its methods are safe for concurrent use.
type Lease struct {
	cfg     Config
	log     *slog.Logger
	pool    *pgxpool.Pool
	changes chan struct{}
	ctx     context.Context // cancelled by Close, which stops Run
	cancel  context.CancelFunc
	wg      sync.WaitGroup // Run

	// tick is held by Run while it talks to the database and by Release,
	// so that a renewal in flight cannot push back the expiry Release sets.
	tick sync.Mutex

	mu       sync.Mutex
	closed   bool
	running  bool
	released bool        // never acquire again
	leading  bool        // holds the lease with epoch, until deadline
	epoch    int64       // the epoch held when leading
	held     int64       // the last epoch this Lease acquired; 0 if none
	deadline time.Time   // by the monotonic clock
	timer    *time.Timer // fires at deadline, so that Changes hears of it
	leader   Leader      // the holder as last read (self when leading)
	leaderOK bool        // whether leader leads, as far as known
	seen     int64       // the epoch last read, for the heartbeat
	role     string      // as reported
	applied  uint64      // as reported
	warned   map[string]warning
}

type warning struct {
	at         time.Time
	suppressed int
}

// Open connects to the database named by dsn (the ledger store's DSN; at
// most poolMax connections whatever it asks) and registers this node in
// cluster_nodes, role "starting", within TTL. The tables must exist: the
// ledger store's migrations create them. A dsn for a pooler in
// transaction mode may need default_query_exec_mode=exec (pgx caches
// prepared statements per connection by default).
func Open(ctx context.Context, dsn string, cfg Config) (*Lease, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: open: %w", err)
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("cluster: open: %w", err)
	}
	pc.MaxConns = min(pc.MaxConns, poolMax)
	pc.MinConns = min(pc.MinConns, pc.MaxConns)
	pc.MinIdleConns = min(pc.MinIdleConns, pc.MaxConns)
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		// Lets an operator (or a test) find a node's sessions in pg_stat_activity.
		pc.ConnConfig.RuntimeParams["application_name"] = "hulian-cluster " + cfg.Node
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("cluster: open: %w", err)
	}
	l := &Lease{
		cfg:     cfg,
		log:     cfg.Log.With("node", cfg.Node),
		pool:    pool,
		changes: make(chan struct{}, 1),
		role:    RoleStarting,
		warned:  map[string]warning{},
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	// Connecting is part of this first statement: allow it a TTL, not a Renew.
	rctx, cancel := context.WithTimeout(ctx, cfg.TTL)
	defer cancel()
	_, err = pool.Exec(rctx, `INSERT INTO cluster_nodes (node_id, addr, role, epoch, applied_seq, started_at, seen_at)
		VALUES ($1, $2, $3, 0, 0, now(), now())
		ON CONFLICT (node_id) DO UPDATE SET addr = excluded.addr, role = excluded.role, epoch = 0,
			applied_seq = 0, started_at = now(), seen_at = now()`,
		cfg.Node, cfg.Addr, RoleStarting)
	if err != nil {
		pool.Close()
		l.cancel()
		return nil, fmt.Errorf("cluster: open: register node %s: %w", cfg.Node, err)
	}
	return l, nil
}

// Run takes part in the cluster until ctx ends or Close: every Renew it
// renews the lease when leading, or reads the lease and takes it when it
// has lapsed, and writes this node's heartbeat. When Run returns the
// node no longer leads (the lease lapses by itself; Release hands it over
// at once). A second Run while one runs returns at once.
func (l *Lease) Run(ctx context.Context) {
	l.mu.Lock()
	if l.closed || l.running {
		l.mu.Unlock()
		return
	}
	l.running = true
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(l.ctx, cancel)()
	defer func() {
		l.mu.Lock()
		l.running = false
		l.loseLocked("stopped")
		l.mu.Unlock()
	}()

	t := time.NewTicker(l.cfg.Renew)
	defer t.Stop()
	for {
		l.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step is one tick of Run, all of it bounded by Renew so that ticks stay
// regular while the database does not answer.
func (l *Lease) step(runCtx context.Context) {
	l.tick.Lock()
	defer l.tick.Unlock()
	ctx, cancel := context.WithTimeout(runCtx, l.cfg.Renew)
	defer cancel()
	if epoch, ok := l.Leading(); ok {
		l.renew(ctx, epoch)
	} else {
		l.follow(ctx)
	}
	l.heartbeat(ctx)
}

// renew extends the lease held with epoch; a renewal that finds the lease
// no longer carries it loses the leadership at once.
func (l *Lease) renew(ctx context.Context, epoch int64) {
	start := time.Now()
	tag, err := l.pool.Exec(ctx, `UPDATE cluster_lease
		SET expires_at = now() + $3::bigint * interval '1 microsecond', renewed_at = now()
		WHERE id = 1 AND holder = $1 AND epoch = $2`,
		l.cfg.Node, epoch, l.cfg.TTL.Microseconds())
	if err != nil {
		// The local deadline decides when a run of these costs the lease.
		l.failed(ctx, "renew", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leading || l.epoch != epoch {
		return
	}
	if tag.RowsAffected() == 0 {
		l.loseLocked("the lease was taken over or released")
		return
	}
	l.extendLocked(start)
}

// follow reads the lease and takes it when it has lapsed by the database's
// clock, or when it still carries the epoch this Lease last held (lost by
// the local deadline alone: nobody else can hold it, and waiting for it to
// lapse would leave the cluster without a leader for nothing).
func (l *Lease) follow(ctx context.Context) {
	var cur Leader
	var lapsed bool
	err := l.pool.QueryRow(ctx, `SELECT holder, addr, epoch, expires_at < now() FROM cluster_lease WHERE id = 1`).
		Scan(&cur.Node, &cur.Addr, &cur.Epoch, &lapsed)
	if errors.Is(err, pgx.ErrNoRows) {
		err = errors.New("no lease row (id 1) in cluster_lease")
	}
	if err != nil {
		l.failed(ctx, "read lease", err)
		return
	}
	l.mu.Lock()
	mine := l.held != 0 && cur.Node == l.cfg.Node && cur.Epoch == l.held
	try := (lapsed || mine) && !l.released
	held := l.held
	l.mu.Unlock()
	if try && l.acquire(ctx, held) {
		return
	}
	// A lease under this node's id that this Lease does not hold is a
	// previous process's: no leader until it lapses.
	l.observe(cur, !lapsed && cur.Node != "" && cur.Node != l.cfg.Node)
}

// acquire tries to take the lease with the next epoch and reports whether
// it did.
func (l *Lease) acquire(ctx context.Context, held int64) bool {
	start := time.Now()
	var single bool
	var epoch *int64
	err := l.pool.QueryRow(ctx, `WITH single AS (
			SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND classid::bigint = $5 AND objid::bigint = $6) AS held
		), taken AS (
			UPDATE cluster_lease SET holder = $1, addr = $2, epoch = epoch + 1,
				expires_at = now() + $3::bigint * interval '1 microsecond', renewed_at = now()
			WHERE id = 1 AND (expires_at < now() OR (holder = $1 AND epoch = $4))
				AND NOT (SELECT held FROM single)
			RETURNING epoch
		)
		SELECT (SELECT held FROM single), (SELECT epoch FROM taken)`,
		l.cfg.Node, l.cfg.Addr, l.cfg.TTL.Microseconds(), held,
		writerLockKey>>32, writerLockKey&0xffffffff).Scan(&single, &epoch)
	if err != nil {
		l.failed(ctx, "acquire", err)
		return false
	}
	if epoch == nil {
		if single {
			l.failed(ctx, "acquire", errors.New("a single-node Hulian store holds the database (its writer advisory lock): no node may lead until it closes"))
		}
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = *epoch
	if l.closed {
		// Closed while the statement ran: the lease lapses by itself, as
		// after a crash. (Release cannot run meanwhile: it waits for tick.)
		return true
	}
	l.leading, l.epoch = true, *epoch
	if !l.extendLocked(start) {
		return true
	}
	l.log.Info("cluster: acquired the lease", "epoch", *epoch, "addr", l.cfg.Addr)
	l.setLeaderLocked(Leader{Node: l.cfg.Node, Addr: l.cfg.Addr, Epoch: *epoch}, true)
	return true
}

// heartbeat writes this node's row of cluster_nodes.
func (l *Lease) heartbeat(ctx context.Context) {
	l.mu.Lock()
	role, epoch, applied := l.role, l.seen, l.applied
	if l.leading {
		epoch = l.epoch
	}
	l.mu.Unlock()
	_, err := l.pool.Exec(ctx, `INSERT INTO cluster_nodes (node_id, addr, role, epoch, applied_seq, started_at, seen_at)
		VALUES ($1, $2, $3, $4, $5, now(), now())
		ON CONFLICT (node_id) DO UPDATE SET addr = excluded.addr, role = excluded.role, epoch = excluded.epoch,
			applied_seq = excluded.applied_seq, seen_at = now()`,
		l.cfg.Node, l.cfg.Addr, role, epoch, int64(min(applied, math.MaxInt64)))
	if err != nil {
		l.failed(ctx, "heartbeat", err)
	}
}

// extendLocked moves the local deadline to start + TTL − Renew/2, start
// being when the statement that renewed or took the lease was sent. It
// reports false, and gives the lease up, if that is already past.
func (l *Lease) extendLocked(start time.Time) bool {
	deadline := start.Add(l.cfg.TTL - l.cfg.Renew/2)
	wait := time.Until(deadline)
	if wait <= 0 {
		l.loseLocked("the database answered too late")
		return false
	}
	l.deadline = deadline
	if l.timer == nil {
		l.timer = time.AfterFunc(wait, l.expire)
	} else {
		l.timer.Reset(wait)
	}
	return true
}

// expire gives the lease up once the local deadline has passed.
func (l *Lease) expire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked()
}

func (l *Lease) expireLocked() {
	if l.leading && !time.Now().Before(l.deadline) {
		l.loseLocked("not renewed within ttl − renew/2")
	}
}

// loseLocked stops leading, if this Lease leads.
func (l *Lease) loseLocked(why string) {
	if !l.leading {
		return
	}
	l.leading = false
	if l.timer != nil {
		l.timer.Stop()
	}
	l.log.Info("cluster: lost the lease", "epoch", l.epoch, "why", why)
	l.setLeaderLocked(Leader{}, false)
}

// observe records the lease holder as read by a follower.
func (l *Lease) observe(cur Leader, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = cur.Epoch
	if l.leading {
		return
	}
	if !ok {
		cur = Leader{}
	}
	if cur == l.leader && ok == l.leaderOK {
		return
	}
	if ok {
		l.log.Info("cluster: following", "leader", cur.Node, "addr", cur.Addr, "epoch", cur.Epoch)
	} else {
		l.log.Info("cluster: no leader")
	}
	l.setLeaderLocked(cur, ok)
}

// setLeaderLocked records the known leader and signals Changes.
func (l *Lease) setLeaderLocked(ld Leader, ok bool) {
	l.leader, l.leaderOK = ld, ok
	select {
	case l.changes <- struct{}{}:
	default:
	}
}

// failed logs a database error at Warn, at most once per warnEvery for
// each what, unless Run is stopping; after a database failover it drops
// connections still open to a server that became read-only.
func (l *Lease) failed(ctx context.Context, what string, err error) {
	if l.ctx.Err() != nil || (ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		return
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "25006" { // read_only_sql_transaction
		l.pool.Reset()
	}
	now := time.Now()
	l.mu.Lock()
	w := l.warned[what]
	if !w.at.IsZero() && now.Sub(w.at) < warnEvery {
		w.suppressed++
		l.warned[what] = w
		l.mu.Unlock()
		return
	}
	l.warned[what] = warning{at: now}
	l.mu.Unlock()
	l.log.Warn("cluster: "+what+" failed", "err", err, "suppressed", w.suppressed)
}

// Leading reports the epoch of the lease this node holds, if it leads
// now: it checks the local deadline on every call, so a leader cut off
// from the database answers false before another node can lead. Check it
// before each leader's duty; the epoch fences the ledger's writes.
func (l *Lease) Leading() (epoch int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked()
	if !l.leading {
		return 0, false
	}
	return l.epoch, true
}

// Changes is signalled (buffered 1, never closed) when this node starts
// or stops leading, or the known leader changes: the app then asks
// Leading and Leader again.
func (l *Lease) Changes() <-chan struct{} { return l.changes }

// Leader returns the leader as this node last read it (itself when it
// leads); false when none is known to lead: the lease has lapsed, or it
// is held under this node's id by a previous process.
func (l *Lease) Leader() (Leader, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked()
	return l.leader, l.leaderOK
}

// Report sets what this node's next heartbeat writes: its role (one of
// the Role constants) and the last ledger batch it has applied.
func (l *Lease) Report(role string, appliedSeq uint64) {
	l.mu.Lock()
	l.role, l.applied = role, appliedSeq
	l.mu.Unlock()
}

// Release steps down for a graceful stop: it stops leading, then expires
// the lease in the database if it still carries this node's epoch, so
// that a follower takes over at its next tick rather than after TTL. The
// Lease never leads again. Without a lease held it does nothing.
func (l *Lease) Release(ctx context.Context) error {
	l.tick.Lock()
	defer l.tick.Unlock()
	l.mu.Lock()
	l.released = true
	l.loseLocked("released")
	held := l.held
	l.mu.Unlock()
	if held == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Renew)
	defer cancel()
	_, err := l.pool.Exec(ctx, `UPDATE cluster_lease SET expires_at = now()
		WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > now()`, l.cfg.Node, held)
	if err != nil {
		return fmt.Errorf("cluster: release epoch %d: %w", held, err)
	}
	return nil
}

// Close stops Run, stops leading (without releasing: see Release) and
// closes the pool. Closing twice does nothing.
func (l *Lease) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	l.loseLocked("closed")
	l.mu.Unlock()
	l.pool.Close()
}
