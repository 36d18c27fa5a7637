// Package postgres is Hulian's PostgreSQL storage engine, an
// implementation of journal.Store. It owns the database's schema (the
// versioned migrations embedded in it, applied at Open and recorded in
// hulian_schema_migrations), the rule that only one switch process writes
// a database at a time (a session advisory lock held from Open to Close),
// and the mapping of committed batches and their events to rows of
// ledger_batches and ledger_events: plain columns, documented with
// COMMENT ON, that an auditor can query with ordinary SQL.
//
// The ledger's tables are append-only: the store inserts rows, one
// transaction per Append, and never updates or deletes them. Beside them
// it keeps the latest snapshot of the ledger's state (snapshot.go),
// replaced whole at each clean close, so that a start replays only the
// batches after it.
//
// A cluster of switch nodes shares one database through stores opened
// with OpenNode instead: no session lock, but every Append checks, in its
// own transaction, that the cluster's lease still names the node and the
// epoch the store is armed with (fencing), and announces the batches on
// channel hulian_ledger; followers tail the tables with ReadAfter and
// Appended (node.go).
package postgres

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

var _ journal.Store = (*Store)(nil)

// ErrLocked means another process, or another Store of this one, has the
// database open: only one may write it at a time.
var ErrLocked = fault.New(fault.Unavailable, "", "database is in use by another Hulian store")

// writerLockKey is the session advisory lock a Store holds on its
// database from Open to Close. Advisory locks are per database, so one
// server may hold several ledgers' databases.
const writerLockKey int64 = 0x68756c69616e0001 // "hulian" 0001

// eventSelect lists ledger_events' columns in the order the store reads
// and writes them.
const eventSelect = "ts, batch, pos, kind, flags, purpose, currency, id, pending, ref, debit, credit, account, amount, timeout_ns, floor, meta"

// eventColumns are eventSelect's columns, for COPY.
var eventColumns = strings.Split(eventSelect, ", ")

// Store is a ledger journal in a PostgreSQL database. Reads go through a
// connection pool; writes go through one connection of their own, which
// in a single-node store (Open) holds the writer lock, so that a write
// can only succeed while the lock is held, and in a node's store
// (OpenNode) checks the lease in every write instead. Its methods are
// safe for concurrent use, though the journal calls Replay and Append
// from one goroutine.
type Store struct {
	pool  *pgxpool.Pool
	node  string       // the node's id (OpenNode); empty for a single-node store (Open)
	epoch atomic.Int64 // the lease epoch a node's Append is fenced with; 0 refuses to write

	// life ends at Close, and with it the listener and the reads in
	// progress (and, in a node's store, a write that does not finish).
	life context.Context
	kill context.CancelFunc
	ln   listener

	mu       sync.Mutex // guards the fields below and serialises writes
	conn     *pgx.Conn  // writes; holds the writer lock in a single-node store; nil once closed
	replayed bool
	lastSeq  uint64 // the last stored batch's Seq, known after Replay
	lastTS   int64  // the last stored event's Timestamp, if haveTS
	haveTS   bool   // whether any event is stored
}

// newStore returns a store that writes through conn, for node (empty for
// a single-node store).
func newStore(conn *pgx.Conn, node string) *Store {
	s := &Store{conn: conn, node: node}
	s.life, s.kill = context.WithCancel(context.Background())
	return s
}

// Open connects to the database named by dsn (a PostgreSQL URL or
// keyword/value string; pool settings such as pool_max_conns are
// accepted), takes the writer lock, failing with ErrLocked if another
// store holds it, and migrates the schema to the latest version.
// Transactions commit synchronously: if the server or role has
// synchronous_commit off, the store turns it on for its writes. The lock
// is a session lock, so dsn must reach PostgreSQL directly or through a
// pooler in session mode, not one that shares server sessions between
// transactions.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: open: connect: %w", err)
	}
	s := newStore(conn, "")
	if err := s.setup(ctx); err != nil {
		s.kill()
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		s.kill()
		_ = s.unlock()
		return nil, fmt.Errorf("postgres: open: pool: %w", err)
	}
	return s, nil
}

// poolConfig parses dsn, naming the application hulian unless it says
// otherwise.
func poolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "hulian"
	}
	return cfg, nil
}

// setup takes the writer lock on s.conn, makes its commits synchronous
// and migrates the schema.
func (s *Store) setup(ctx context.Context) error {
	var ok bool
	if err := s.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", writerLockKey).Scan(&ok); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if !ok {
		// Say who holds it, for the operator; a failure here changes nothing.
		pid, _ := writerLockHolder(ctx, s.conn)
		return fmt.Errorf("%w (held by server process %d)", ErrLocked, pid)
	}
	if err := syncCommit(ctx, s.conn); err != nil {
		return err
	}
	if err := migrate(ctx, s.conn); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// writerLockHolder returns the server process that holds the writer lock
// on conn's database, or pgx.ErrNoRows if none does.
func writerLockHolder(ctx context.Context, conn *pgx.Conn) (int32, error) {
	var pid int32
	err := conn.QueryRow(ctx, `SELECT pid FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 1
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid::bigint = $1 AND objid::bigint = $2`,
		writerLockKey>>32, writerLockKey&0xffffffff).Scan(&pid)
	return pid, err
}

// syncCommit makes conn's commits synchronous if the server or role has
// turned synchronous_commit off.
func syncCommit(ctx context.Context, conn *pgx.Conn) error {
	var sc string
	if err := conn.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&sc); err != nil {
		return fmt.Errorf("synchronous_commit: %w", err)
	}
	if sc == "off" {
		if _, err := conn.Exec(ctx, "SET synchronous_commit = on"); err != nil {
			return fmt.Errorf("synchronous_commit: %w", err)
		}
	}
	return nil
}

// unlock releases the writer lock and closes its connection. Ending the
// session would release the lock too, but the server notices that only
// some time after the connection closes; unlocking first lets the next
// Open succeed at once.
func (s *Store) unlock() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", writerLockKey)
	if cerr := s.conn.Close(ctx); err == nil {
		err = cerr
	}
	s.conn = nil
	return err
}

// Close releases the writer lock and closes the store's connections,
// ending the listener of Appended and the reads in progress. A node's
// store gives an Append in progress closeWait to finish, then cancels it,
// so that Close returns soon even when the server no longer answers.
// Closing a closed store does nothing.
func (s *Store) Close() error {
	s.lockToClose()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	s.kill()
	s.ln.stop()
	if s.node != "" {
		s.closePool()
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		err := s.conn.Close(ctx)
		s.conn = nil
		if err != nil {
			return fmt.Errorf("postgres: close: %w", err)
		}
		return nil
	}
	s.pool.Close()
	if err := s.unlock(); err != nil {
		return fmt.Errorf("postgres: close: %w", err)
	}
	return nil
}

// Replay calls fn with every stored batch in sequence order, each with
// its events in order. It reads in one read-only snapshot through two
// cursors, fetchSize rows at a time, on a goroutine of its own that
// decodes the rows while fn applies the batches before them, at most
// replayChunks chunks ahead, so memory stays bounded however long the
// journal; it checks that sequence numbers run from 1 without a gap and
// that each batch has exactly its events.
func (s *Store) Replay(ctx context.Context, fn func(*ledger.Committed) error) error {
	at, err := s.replay(ctx, position{}, fn)
	if err != nil {
		return fmt.Errorf("postgres: replay: %w", err)
	}
	s.mu.Lock()
	s.replayed, s.lastSeq, s.lastTS, s.haveTS = true, at.seq, at.ts, at.haveTS
	s.mu.Unlock()
	return nil
}

type batchRow struct {
	seq, now int64
	events   int32
}

type eventRow struct {
	ev    ledger.Event
	batch int64
	pos   int32
}

// Append stores batches in one transaction and returns once it has
// committed, which with synchronous_commit on means durably. It refuses,
// before writing anything, batches that do not follow the stored ones
// without a gap, events whose timestamps do not increase, and a store
// that has not replayed. A node's store (OpenNode) also fails with
// ErrFenced, having written nothing, unless the cluster lease carries the
// epoch it is armed with and its node; its commit notifies the followers
// (Appended). A single-node store does neither: nobody follows it.
func (s *Store) Append(ctx context.Context, batches []*ledger.Committed) error {
	if len(batches) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.conn == nil:
		return fmt.Errorf("postgres: append batch %d: store is closed", batches[0].Seq)
	case !s.replayed:
		return fmt.Errorf("postgres: append batch %d: Append before Replay", batches[0].Seq)
	}
	var epoch int64
	if s.node != "" {
		if epoch = s.epoch.Load(); epoch == 0 {
			return fmt.Errorf("%w: append batch %d: no lease epoch is armed", ErrFenced, batches[0].Seq)
		}
		var cancel context.CancelFunc
		ctx, cancel = s.bind(ctx)
		defer cancel()
	}
	seq, ts, haveTS := s.lastSeq, s.lastTS, s.haveTS
	for _, b := range batches {
		switch {
		case b.Seq != seq+1:
			return fmt.Errorf("postgres: append batch %d: sequence gap: the next batch must be %d", b.Seq, seq+1)
		case b.Seq > math.MaxInt64:
			return fmt.Errorf("postgres: append batch %d: sequence number out of range", b.Seq)
		case len(b.Events) > math.MaxInt32:
			return fmt.Errorf("postgres: append batch %d: %d events", b.Seq, len(b.Events))
		}
		for i := range b.Events {
			e := &b.Events[i]
			switch {
			case haveTS && e.Timestamp <= ts:
				return fmt.Errorf("postgres: append batch %d: event %d has timestamp %d, not after %d", b.Seq, i, e.Timestamp, ts)
			case e.Currency > math.MaxInt16:
				return fmt.Errorf("postgres: append batch %d: event %d has currency %d", b.Seq, i, e.Currency)
			}
			ts, haveTS = e.Timestamp, true
		}
		seq = b.Seq
	}
	if err := s.append(ctx, epoch, batches); err != nil {
		if fenced(err) {
			return fmt.Errorf("%w: append batch %d: the lease no longer carries epoch %d of node %q", ErrFenced, batches[0].Seq, epoch, s.node)
		}
		return fmt.Errorf("postgres: append batch %d: %w", batches[0].Seq, err)
	}
	s.lastSeq, s.lastTS, s.haveTS = seq, ts, haveTS
	return nil
}

// pipelineMax is the most events an Append sends as one pipelined
// statement pair rather than by COPY. COPY inserts faster, but takes four
// more round trips; on loopback the pipeline is about a third faster for a
// batch of one event, level at around a hundred, and COPY is faster above.
const pipelineMax = 64

const insertBatchesSQL = `INSERT INTO ledger_batches (seq, now, events)
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[])`

const insertEventsSQL = `INSERT INTO ledger_events (` + eventSelect + `)
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::smallint[], $5::smallint[], $6::int[],
		$7::smallint[], $8::bytea[], $9::bytea[], $10::bytea[], $11::bigint[], $12::bigint[], $13::bigint[],
		$14::bigint[], $15::bigint[], $16::bigint[], $17::bytea[])`

// append stores batches in one transaction that has committed when it
// returns without error. Unless epoch is 0, the transaction starts with
// the lease check (leaseCheckSQL), which also announces the batches.
func (s *Store) append(ctx context.Context, epoch int64, batches []*ledger.Committed) error {
	seqs := make([]int64, len(batches))
	nows := make([]int64, len(batches))
	counts := make([]int32, len(batches))
	n := 0
	for i, b := range batches {
		seqs[i], nows[i], counts[i] = int64(b.Seq), b.Now, int32(len(b.Events))
		n += len(b.Events)
	}
	if n <= pipelineMax {
		return s.appendPipelined(ctx, epoch, batches, n, seqs, nows, counts)
	}
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if epoch != 0 {
		if _, err := tx.Exec(ctx, leaseCheckSQL, epoch, s.node, seqs[len(seqs)-1]); err != nil {
			return fmt.Errorf("lease check: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, insertBatchesSQL, seqs, nows, counts); err != nil {
		return fmt.Errorf("insert batches: %w", err)
	}
	got, err := tx.CopyFrom(ctx, pgx.Identifier{"ledger_events"}, eventColumns, &eventSource{batches: batches})
	if err != nil {
		return fmt.Errorf("copy events: %w", err)
	}
	if got != int64(n) {
		return fmt.Errorf("copy events: stored %d of %d", got, n)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// appendPipelined stores a few events in one round trip: both INSERTs,
// after the lease check unless epoch is 0, go in one pipeline ending in
// one Sync, so PostgreSQL runs them as one implicit transaction,
// committed (durably) before it answers, or rolled back whole if any
// statement fails.
func (s *Store) appendPipelined(ctx context.Context, epoch int64, batches []*ledger.Committed, n int, seqs, nows []int64, counts []int32) error {
	var (
		ts, batch, amount, timeout, floor = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
		meta                              = make([][]byte, 0, n)
		pos, purpose                      = make([]int32, 0, n), make([]int32, 0, n)
		kind, flags, currency             = make([]int16, 0, n), make([]int16, 0, n), make([]int16, 0, n)
		id, pending, ref                  = make([][]byte, 0, n), make([][]byte, 0, n), make([][]byte, 0, n)
		debit, credit, account            = make([]pgtype.Int8, 0, n), make([]pgtype.Int8, 0, n), make([]pgtype.Int8, 0, n)
	)
	for _, b := range batches {
		for i := range b.Events {
			e := &b.Events[i]
			ts, batch, pos = append(ts, e.Timestamp), append(batch, int64(b.Seq)), append(pos, int32(i))
			kind, flags = append(kind, int16(e.Kind)), append(flags, int16(e.Flags))
			purpose, currency = append(purpose, int32(e.Purpose)), append(currency, int16(e.Currency))
			id, pending, ref = append(id, idBytes(&e.ID)), append(pending, idBytes(&e.Pending)), append(ref, idBytes(&e.Ref))
			debit, credit, account = append(debit, accountInt8(e.Debit)), append(credit, accountInt8(e.Credit)), append(account, accountInt8(e.Account))
			amount, timeout, floor = append(amount, int64(e.Amount)), append(timeout, int64(e.Timeout)), append(floor, int64(e.Floor))
			meta = append(meta, metaBytes(e.Meta))
		}
	}
	var q pgx.Batch
	if epoch != 0 {
		q.Queue(leaseCheckSQL, epoch, s.node, seqs[len(seqs)-1])
	}
	q.Queue(insertBatchesSQL, seqs, nows, counts)
	if n > 0 {
		q.Queue(insertEventsSQL, ts, batch, pos, kind, flags, purpose, currency, id, pending, ref,
			debit, credit, account, amount, timeout, floor, meta)
	}
	br := s.conn.SendBatch(ctx, &q)
	var err error
	if epoch != 0 {
		if _, err = br.Exec(); err != nil {
			err = fmt.Errorf("lease check: %w", err)
		}
	}
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if err == nil && tag.RowsAffected() != int64(len(batches)) {
		err = fmt.Errorf("stored %d of %d batches", tag.RowsAffected(), len(batches))
	}
	if err == nil && n > 0 {
		tag, err = br.Exec()
		if err == nil && tag.RowsAffected() != int64(n) {
			err = fmt.Errorf("stored %d of %d events", tag.RowsAffected(), n)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// idBytes stores a zero ID as NULL.
func idBytes(id *ledger.ID) []byte {
	if id.IsZero() {
		return nil
	}
	return id[:]
}

// accountInt8 stores a zero account id as NULL, and an id as its 64
// bits: ids at or above 2^63 come out negative in SQL.
func accountInt8(a ledger.AccountID) pgtype.Int8 {
	return pgtype.Int8{Int64: int64(a), Valid: a != 0}
}

// eventSource feeds batches' events to COPY, in eventColumns order.
type eventSource struct {
	batches []*ledger.Committed
	b, i    int // the current event is batches[b].Events[i-1]
	row     [17]any
}

func (s *eventSource) Next() bool {
	for s.b < len(s.batches) && s.i >= len(s.batches[s.b].Events) {
		s.b, s.i = s.b+1, 0
	}
	if s.b == len(s.batches) {
		return false
	}
	s.i++
	return true
}

func (s *eventSource) Values() ([]any, error) {
	b := s.batches[s.b]
	e := &b.Events[s.i-1]
	s.row = [17]any{
		e.Timestamp, int64(b.Seq), int32(s.i - 1),
		int16(e.Kind), int16(e.Flags), int32(e.Purpose), int16(e.Currency),
		idValue(&e.ID), idValue(&e.Pending), idValue(&e.Ref),
		accountValue(e.Debit), accountValue(e.Credit), accountValue(e.Account),
		int64(e.Amount), int64(e.Timeout), int64(e.Floor), metaBytes(e.Meta),
	}
	return s.row[:], nil
}

func (s *eventSource) Err() error { return nil }

// metaBytes gives Meta as bytea; empty is an empty value, not NULL.
func metaBytes(m string) []byte {
	if m == "" {
		return []byte{}
	}
	return []byte(m)
}

// idValue is idBytes for COPY.
func idValue(id *ledger.ID) any {
	if id.IsZero() {
		return nil
	}
	return id[:]
}

// accountValue is accountInt8 for COPY.
func accountValue(a ledger.AccountID) any {
	if a == 0 {
		return nil
	}
	return int64(a)
}

// eventScanner scans eventSelect's columns without allocating.
type eventScanner struct {
	ts, batch              int64
	pos                    int32
	kind, flags, currency  int16
	purpose                int32
	id, pending, ref       pgtype.DriverBytes
	debit, credit, account pgtype.Int8
	amount, timeout, floor int64
	meta                   pgtype.DriverBytes
	dest                   []any
}

// scan reads the current row into an event, refusing values that no
// event can have.
func (s *eventScanner) scan(rows pgx.Rows) (ledger.Event, int64, int32, error) {
	if s.dest == nil {
		s.dest = []any{&s.ts, &s.batch, &s.pos, &s.kind, &s.flags, &s.purpose, &s.currency,
			&s.id, &s.pending, &s.ref, &s.debit, &s.credit, &s.account, &s.amount, &s.timeout, &s.floor, &s.meta}
	}
	if err := rows.Scan(s.dest...); err != nil {
		return ledger.Event{}, 0, 0, err
	}
	e := ledger.Event{
		Timestamp: s.ts,
		Kind:      ledger.Kind(s.kind),
		Flags:     ledger.EventFlags(s.flags),
		Purpose:   uint16(s.purpose),
		Currency:  money.Currency(s.currency),
		Debit:     ledger.AccountID(s.debit.Int64),
		Credit:    ledger.AccountID(s.credit.Int64),
		Account:   ledger.AccountID(s.account.Int64),
		Amount:    money.Amount(s.amount),
		Timeout:   time.Duration(s.timeout),
		Floor:     money.Amount(s.floor),
		Meta:      string(s.meta),
	}
	if len(s.meta) > ledger.MetaMax {
		return ledger.Event{}, 0, 0, fmt.Errorf("event %d: meta of %d bytes", s.ts, len(s.meta))
	}
	bad := s.kind < 1 || s.kind > math.MaxUint8 || s.flags < 0 || s.flags > math.MaxUint8 ||
		s.purpose < 0 || s.purpose > math.MaxUint16 || s.currency < 0
	for _, f := range []struct {
		dst *ledger.ID
		src []byte
	}{{&e.ID, s.id}, {&e.Pending, s.pending}, {&e.Ref, s.ref}} {
		switch len(f.src) {
		case 0:
		case len(f.dst):
			copy(f.dst[:], f.src)
		default:
			bad = true
		}
	}
	if bad {
		return ledger.Event{}, 0, 0, fmt.Errorf("event %d: stored values out of range", s.ts)
	}
	return e, s.batch, s.pos, nil
}

// Event returns the event with timestamp ts, or an error wrapping
// journal.ErrNotFound.
func (s *Store) Event(ctx context.Context, ts int64) (ledger.Event, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+eventSelect+" FROM ledger_events WHERE ts = $1", ts)
	if err != nil {
		return ledger.Event{}, fmt.Errorf("postgres: event %d: %w", ts, err)
	}
	evs, err := collect(rows, 1)
	if err != nil {
		return ledger.Event{}, fmt.Errorf("postgres: event %d: %w", ts, err)
	}
	if len(evs) == 0 {
		return ledger.Event{}, fmt.Errorf("postgres: event %d: %w", ts, journal.ErrNotFound)
	}
	return evs[0], nil
}

// accountEventsSQL merges three index range scans, one per way an event
// can concern an account, each stopping after $4 rows: the planner runs
// it as a Merge Append of the partial indexes on (debit, ts), (credit,
// ts) and (account, ts). An event appears once per column naming the
// account, so the caller drops repeats and $5 allows for them.
const accountEventsSQL = "SELECT " + eventSelect + ` FROM (
	(SELECT ` + eventSelect + ` FROM ledger_events WHERE debit = $1 AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT $4)
	UNION ALL
	(SELECT ` + eventSelect + ` FROM ledger_events WHERE credit = $1 AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT $4)
	UNION ALL
	(SELECT ` + eventSelect + ` FROM ledger_events WHERE account = $1 AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT $4)
) AS u ORDER BY ts LIMIT $5`

// AccountEvents returns up to limit events that debit, credit or change
// account, with from <= Timestamp < to, oldest first.
func (s *Store) AccountEvents(ctx context.Context, account ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error) {
	if limit <= 0 || from >= to || account == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, accountEventsSQL, int64(account), from, to, int64(limit), int64(min(limit, math.MaxInt64/3))*3)
	if err != nil {
		return nil, fmt.Errorf("postgres: account %d events: %w", account, err)
	}
	evs, err := collect(rows, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: account %d events: %w", account, err)
	}
	return evs, nil
}

// collect reads up to limit events from rows, which are in timestamp
// order, dropping repeats, and closes rows.
func collect(rows pgx.Rows, limit int) ([]ledger.Event, error) {
	defer rows.Close()
	var sc eventScanner
	var evs []ledger.Event
	for len(evs) < limit && rows.Next() {
		e, _, _, err := sc.scan(rows)
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 && evs[len(evs)-1].Timestamp == e.Timestamp {
			continue
		}
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return evs, nil
}

// Scan calls fn with the events with from <= ts < to, oldest first.
func (s *Store) Scan(ctx context.Context, from, to int64, fn func(ledger.Event) error) error {
	// In pages, each read whole and its connection given back before fn
	// sees its events: fn may read the store itself (a payment's other
	// legs), and callers holding every connection of the pool while
	// waiting for one more would wait for ever.
	page := make([]ledger.Event, 0, scanPage)
	for from < to {
		rows, err := s.pool.Query(ctx, `SELECT `+eventSelect+` FROM ledger_events WHERE ts >= $1 AND ts < $2 ORDER BY ts LIMIT $3`,
			from, to, scanPage)
		if err != nil {
			return fmt.Errorf("postgres: scan events: %w", err)
		}
		page = page[:0]
		var sc eventScanner
		for rows.Next() {
			e, _, _, err := sc.scan(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("postgres: scan events: %w", err)
			}
			page = append(page, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: scan events: %w", err)
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		from = page[len(page)-1].Timestamp + 1
	}
	return nil
}

// scanPage is how many events Scan reads per query.
const scanPage = 1024
