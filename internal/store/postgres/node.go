package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
)

// ErrFenced means a node's Append found that the cluster lease no longer
// carries the epoch the store is armed with (or none is armed): nothing
// was written. The node is not, or no longer, the leader: it must stop
// writing and send writes to the lease's holder.
var ErrFenced = fault.New(fault.Unavailable, "not-leader", "postgres: the lease is held by another node")

// fencedState is the SQLSTATE hulian_lease_check (migration 0003) raises
// when the lease does not carry the caller's epoch and node.
const fencedState = "HU001"

// leaseCheckSQL fences a node's append and announces it: $1 epoch, $2
// node, $3 the last batch appended.
const leaseCheckSQL = "SELECT hulian_lease_check($1, $2, $3)"

// notifyChannel is the channel the lease check notifies on commit.
const notifyChannel = "hulian_ledger"

// Bounds that keep a node's store from waiting on a server that stopped
// answering.
const (
	// closeWait is how long Close lets an Append in progress finish, and
	// then how long it waits for the connections to close.
	closeWait = time.Second
	// connectWait bounds each connection attempt to each host of the DSN,
	// unless it sets connect_timeout: without a bound, a first host that
	// stopped answering would keep a node from ever trying the second.
	connectWait = 5 * time.Second
	// listenConnectWait bounds one connection attempt of the listener,
	// and its pings.
	listenConnectWait = 10 * time.Second
	// listenIdle is how long the listener waits for a notification before
	// it pings the server, to find a connection that died silently.
	listenIdle = 15 * time.Second
	// listenBackoffMin and listenBackoffMax bound the listener's wait
	// before it reconnects, doubled after each failed attempt.
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// OpenNode opens the store for node node of a cluster of switch nodes
// sharing the database named by dsn (as for Open; a multi-host DSN with
// target_session_attrs=read-write follows a database failover). It takes
// no session lock, which connection poolers and PostgreSQL-compatible
// distributed databases do not keep: instead each Append checks the
// cluster's lease (see SetEpoch). Migrations are serialised as Open's
// are, and commits are synchronous as Open's are. It fails with
// ErrLocked while a single-node store (Open) has the database open.
func OpenNode(ctx context.Context, dsn, node string) (*Store, error) {
	if node == "" {
		return nil, errors.New("postgres: open node: the node id is empty")
	}
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open node %s: %w", node, err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectWait
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: open node %s: connect: %w", node, err)
	}
	s := newStore(conn, node)
	fail := func(err error) (*Store, error) {
		s.kill()
		cctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		conn.Close(cctx)
		return nil, fmt.Errorf("postgres: open node %s: %w", node, err)
	}
	switch pid, err := writerLockHolder(ctx, conn); {
	case err == nil:
		return fail(fmt.Errorf("%w (a single-node store, server process %d)", ErrLocked, pid))
	case !errors.Is(err, pgx.ErrNoRows):
		return fail(fmt.Errorf("look for a single-node store's lock: %w", err))
	}
	if err := syncCommit(ctx, conn); err != nil {
		return fail(err)
	}
	if err := migrate(ctx, conn); err != nil {
		return fail(fmt.Errorf("migrate: %w", err))
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return fail(fmt.Errorf("pool: %w", err))
	}
	return s, nil
}

// SetEpoch arms a node's store to write under lease epoch e, which the
// lease row must carry, with the store's node as holder, for an Append to
// commit; 0 disarms it. Safe for concurrent use.
func (s *Store) SetEpoch(e int64) { s.epoch.Store(e) }

// fenced reports whether err is the lease check's refusal.
func fenced(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == fencedState
}

// closePool closes the pool, but waits for it at most closeWait: the
// pool waits up to 15 s for each connection cut off in the middle of a
// read, which it drains before closing, and a dead server sends nothing.
// The pool finishes closing in the background.
func (s *Store) closePool() {
	done := make(chan struct{})
	go func() {
		s.pool.Close()
		close(done)
	}()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// bind returns ctx, also cancelled when the store closes.
func (s *Store) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// lockToClose takes s.mu for Close. A node's store gives an Append in
// progress closeWait, then cancels it: a server that stopped answering
// must not hold Close, and the node's supervisor up, for ever.
func (s *Store) lockToClose() {
	if s.node == "" {
		s.mu.Lock()
		return
	}
	if s.mu.TryLock() {
		return
	}
	t := time.AfterFunc(closeWait, s.kill)
	s.mu.Lock()
	t.Stop()
}

// ReadAfter calls fn with the stored batches that follow batch seq, in
// sequence order, at most max of them (fewer if they hold more than
// readEventsMax events between them, but at least one), and returns the
// Seq of the last one passed (seq when none), also with an error. It
// reads them in one snapshot, checks as Replay does that they follow seq
// without a gap and that each has exactly its events, and calls fn only
// once it has read them all and given its connection back, so fn may
// read the store. fn's batch is valid only during the call.
//
// When seq is the last batch the store knows of (after Replay, a previous
// ReadAfter or an Append; for a store that has done none of these, 0),
// the store also learns the batches passed, so that a follower that has
// read to the end can Append what follows once it leads. From any other
// seq it must first find where batch seq's events end, reading back from
// the newest: following the store's own position is cheaper.
func (s *Store) ReadAfter(ctx context.Context, seq uint64, max int, fn func(*ledger.Committed) error) (uint64, error) {
	if max <= 0 {
		return seq, nil
	}
	if seq >= math.MaxInt64 {
		return seq, fmt.Errorf("postgres: read after batch %d: sequence number out of range", seq)
	}
	ctx, cancel := s.bind(ctx)
	defer cancel()
	s.mu.Lock()
	known := (s.replayed && s.lastSeq == seq) || (!s.replayed && seq == 0)
	from := tsBound{ts: s.lastTS, ok: s.haveTS}
	s.mu.Unlock()
	if seq == 0 {
		from = tsBound{}
	} else if !known {
		from.ok = false
		from.find = true
	}
	bs, evs, err := s.readAfter(ctx, seq, max, from)
	if err != nil {
		return seq, fmt.Errorf("postgres: read after batch %d: %w", seq, err)
	}
	last := seq
	var c ledger.Committed
	k := 0
	for _, b := range bs {
		c.Seq, c.Now, c.Events = uint64(b.seq), b.now, evs[k:k+int(b.events)]
		if err = fn(&c); err != nil {
			err = fmt.Errorf("postgres: read after batch %d: batch %d: %w", seq, b.seq, err)
			break
		}
		k += int(b.events)
		last = c.Seq
	}
	if known && (last > seq || err == nil) {
		s.mu.Lock()
		// Unless an Append or another ReadAfter has moved it meanwhile.
		if s.conn != nil && ((s.replayed && s.lastSeq == seq) || (!s.replayed && seq == 0)) {
			s.replayed, s.lastSeq = true, last
			if k > 0 {
				s.lastTS, s.haveTS = evs[k-1].Timestamp, true
			}
		}
		s.mu.Unlock()
	}
	return last, err
}

// readEventsMax bounds the events one ReadAfter holds in memory, unless
// a single batch has more.
const readEventsMax = 1 << 16

// tsBound is where the events of the batches after a batch start: after
// ts if ok; after the last event of the batch or those before it if find;
// else at the first event.
type tsBound struct {
	ts   int64
	ok   bool
	find bool
}

// readAfter reads up to max batches after seq and their events, from,
// in one read-only snapshot.
func (s *Store) readAfter(ctx context.Context, seq uint64, max int, from tsBound) ([]batchRow, []ledger.Event, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	rows, err := tx.Query(ctx, "SELECT seq, now, events FROM ledger_batches WHERE seq > $1 ORDER BY seq LIMIT $2", int64(seq), int64(max))
	if err != nil {
		return nil, nil, fmt.Errorf("read batches: %w", err)
	}
	var bs []batchRow
	events := 0
	for rows.Next() {
		var b batchRow
		if err := rows.Scan(&b.seq, &b.now, &b.events); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("read batches: %w", err)
		}
		if b.seq != int64(seq)+int64(len(bs))+1 {
			rows.Close()
			return nil, nil, fmt.Errorf("batch %d follows batch %d: the stored journal has a gap", b.seq, int64(seq)+int64(len(bs)))
		}
		if b.events < 0 || b.events > batchEventsMax {
			// The ledger never commits more (expiries and then
			// commands); a larger count is damage, and would make the
			// read below as large as the table.
			rows.Close()
			return nil, nil, fmt.Errorf("batch %d: %d events", b.seq, b.events)
		}
		if len(bs) > 0 && events+int(b.events) > readEventsMax {
			break
		}
		bs = append(bs, b)
		events += int(b.events)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read batches: %w", err)
	}
	if len(bs) == 0 {
		return nil, nil, nil
	}
	if from.find {
		// Timestamps increase with the batch, so the last event of batch
		// seq or before is the newest with batch <= seq: an index scan
		// back from the newest event, over the events after it.
		err := tx.QueryRow(ctx, "SELECT ts FROM ledger_events WHERE batch <= $1 ORDER BY ts DESC LIMIT 1", int64(seq)).Scan(&from.ts)
		switch {
		case err == nil:
			from.ok = true
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, nil, fmt.Errorf("find batch %d's last event: %w", seq, err)
		}
	}
	// One event more than the batches have shows an event that belongs
	// to none of them, as Replay's last check does.
	if from.ok {
		rows, err = tx.Query(ctx, "SELECT "+eventSelect+" FROM ledger_events WHERE ts > $1 ORDER BY ts LIMIT $2", from.ts, events+1)
	} else {
		rows, err = tx.Query(ctx, "SELECT "+eventSelect+" FROM ledger_events ORDER BY ts LIMIT $1", events+1)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	evs := make([]ledger.Event, 0, events)
	var sc eventScanner
	b, i := 0, int32(0) // the next event is batch bs[b]'s i-th
	for rows.Next() {
		for b < len(bs) && i == bs[b].events {
			b, i = b+1, 0
		}
		e, batch, pos, err := sc.scan(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("read events: %w", err)
		}
		if b == len(bs) {
			if batch <= bs[b-1].seq {
				return nil, nil, fmt.Errorf("event %d (batch %d position %d) is not part of its batch's events", e.Timestamp, batch, pos)
			}
			break
		}
		if batch != bs[b].seq || pos != i {
			return nil, nil, fmt.Errorf("batch %d: event %d is stored as batch %d position %d, want position %d", bs[b].seq, e.Timestamp, batch, pos, i)
		}
		evs = append(evs, e)
		i++
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	if len(evs) < events {
		for b < len(bs) && i == bs[b].events {
			b, i = b+1, 0
		}
		return nil, nil, fmt.Errorf("batch %d: %d of its %d events are missing", bs[b].seq, bs[b].events-i, bs[b].events)
	}
	return bs, evs, nil
}

// Appended returns a channel that receives after any node's store
// committed batches to this database, and each time the store starts
// listening, since batches committed while it was not are not announced.
// The channel has a buffer of one, and a receive may stand for many
// commits. The store listens (LISTEN hulian_ledger) on a connection of
// its own, from the first call to Close, and reconnects after a failure
// (a database failover), waiting from listenBackoffMin to
// listenBackoffMax: callers must also poll, as announcements made while
// it reconnects are lost.
func (s *Store) Appended() <-chan struct{} {
	s.ln.mu.Lock()
	defer s.ln.mu.Unlock()
	if s.ln.ch == nil {
		s.ln.ch = make(chan struct{}, 1)
		if !s.ln.stopped {
			s.ln.done = make(chan struct{})
			go listen(s.life, s.pool.Config().ConnConfig.Copy(), s.ln.ch, s.ln.done)
		}
	}
	return s.ln.ch
}

// listener is Appended's state.
type listener struct {
	mu      sync.Mutex
	ch      chan struct{}
	done    chan struct{} // closed when the listening goroutine has returned; nil if none started
	stopped bool          // set by Close: start none
}

// stop waits, once the store's life has ended, for the listening
// goroutine to return, and keeps another from starting.
func (l *listener) stop() {
	l.mu.Lock()
	l.stopped = true
	done := l.done
	l.mu.Unlock()
	if done != nil {
		<-done
	}
}

// listen listens until ctx ends, reconnecting after failures, and closes
// done when it returns.
func listen(ctx context.Context, cfg *pgx.ConnConfig, ch chan<- struct{}, done chan<- struct{}) {
	defer close(done)
	wait := listenBackoffMin
	for {
		listenOnce(ctx, cfg, ch, func() { wait = listenBackoffMin })
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, listenBackoffMax)
	}
}

// listenOnce connects, listens and signals ch at each notification until
// the connection fails or ctx ends; it calls listening once it listens.
// Why it stopped does not matter: listen reconnects either way, and
// callers poll meanwhile.
func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, ch chan<- struct{}, listening func()) {
	cctx, cancel := context.WithTimeout(ctx, listenConnectWait)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return
	}
	listening()
	signal(ch)
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdle)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			signal(ch)
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, listenConnectWait)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		default:
			return
		}
	}
}

// signal sends on ch unless a signal is already waiting there.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Migrate brings the ledger's schema, and the cluster's tables with it,
// up to date in the database named by dsn, as Open and OpenNode do: a
// cluster node calls it before it takes part in the lease, which lives
// in those tables.
func Migrate(ctx context.Context, dsn string) error {
	cfg, err := poolConfig(dsn)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectWait
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		conn.Close(cctx)
	}()
	if err := migrate(ctx, conn); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}
