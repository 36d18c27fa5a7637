package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/store/frame"
)

// Record is a stored ledger event as a Source reads it, with where it is
// stored, so that a discrepancy can be named.
type Record struct {
	Event ledger.Event
	Batch uint64
	Place string
}

// Source reads a ledger's stored events, oldest first, without changing
// anything: the input of offline verification.
type Source interface {
	// Describe says what is read, for the report.
	Describe() string
	// Events calls fn with every stored event in commit order. Damage
	// that still lets it go on (a frame whose checksum fails, a batch
	// missing events) is passed to problem, naming the place; damage
	// that does not is returned as an error, naming the place.
	Events(ctx context.Context, fn func(Record) error, problem func(string)) error
	// Notes are remarks that are not discrepancies (a torn tail a crash
	// left behind), known once Events returned.
	Notes() []string
	Close() error
}

// ErrRunning means the switch has the store open: stop it first.
var ErrRunning = fault.New(fault.Conflict, "", "audit: the switch is running on this store: stop it first")

// embedded reads the embedded store's segment files, read-only, with its
// own code: it shares the format (package frame) with the engine but not
// the engine's reading, so that a bug there cannot hide damage here.
type embedded struct {
	dir   string
	lock  *os.File
	notes []string
}

// Embedded returns a Source over the embedded store in the data
// directory dir. It takes a shared lock on the store's LOCK file, so it
// fails with ErrRunning while a switch has the store open.
func Embedded(dir string) (Source, error) {
	ld := filepath.Join(dir, frame.Dir)
	if _, err := os.Stat(ld); err != nil {
		return nil, fmt.Errorf("audit: embedded store: %w", err)
	}
	lock, err := os.Open(filepath.Join(dir, "LOCK"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("audit: embedded store: %w", err)
	}
	if lock != nil {
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
			lock.Close()
			return nil, fmt.Errorf("%w (%s)", ErrRunning, dir)
		}
	}
	return &embedded{dir: ld, lock: lock}, nil
}

func (s *embedded) Describe() string { return "embedded store in " + filepath.Dir(s.dir) }
func (s *embedded) Notes() []string  { return s.notes }

func (s *embedded) Close() error {
	if s.lock != nil {
		return s.lock.Close()
	}
	return nil
}

// Events reads the segment files in order, frame by frame, naming the
// place of every fault it finds.
func (s *embedded) Events(ctx context.Context, fn func(Record) error, problem func(string)) error {
	names, err := s.segmentNames()
	if err != nil {
		return err
	}
	r := &segmentReader{s: s, fn: fn, problem: problem, next: 1, lastTS: math.MinInt64}
	for i, name := range names {
		if err := r.segment(ctx, name, i == len(names)-1); err != nil {
			return err
		}
	}
	return nil
}

// segmentNames lists the segment files in commit order: their 20-digit
// names sort by number.
func (s *embedded) segmentNames() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), frame.Ext) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// segmentReader is one pass of embedded.Events over the segment files:
// what it expects next, and where it sends what it reads.
type segmentReader struct {
	s       *embedded
	fn      func(Record) error
	problem func(string)
	next    uint64 // the batch expected next
	lastTS  int64  // the timestamp of the last event read
	hdr     [frame.HeaderSize]byte
	body    []byte
}

// segment reads the segment file name, frame by frame; last says it is
// the last one, where a frame cut short is what a crash leaves.
func (r *segmentReader) segment(ctx context.Context, name string, last bool) error {
	rel := frame.Dir + "/" + name
	first, ok := frame.ParseSegmentName(name)
	if !ok {
		return fmt.Errorf("%s: not a segment name", rel)
	}
	if first != r.next {
		r.problem(fmt.Sprintf("%s starts at batch %d where batch %d was expected: batches are missing", rel, first, r.next))
		r.next = first
	}
	f, err := os.Open(filepath.Join(r.s.dir, name))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	for off := int64(0); ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		size, err := r.frame(br, rel, off, last)
		if err != nil || size == 0 {
			return err
		}
		off += size
	}
}

// frame reads the frame at byte offset off of the segment rel (its path
// in the data directory) and passes on its events. It returns the
// frame's size, or 0 at the end of the segment: where it ends cleanly,
// or where the last segment ends in a frame cut short, which it notes.
func (r *segmentReader) frame(br *bufio.Reader, rel string, off int64, last bool) (int64, error) {
	place := fmt.Sprintf("%s at byte offset %d", rel, off)
	k, err := io.ReadFull(br, r.hdr[:])
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		if last {
			r.s.notes = append(r.s.notes, fmt.Sprintf("%s: a frame header cut short (%d bytes), what a crash leaves; never acknowledged, the switch cuts it off at its next start", place, k))
			return 0, nil
		}
		return 0, fmt.Errorf("%s: frame header cut short, %d bytes", place, k)
	}
	h, err := frame.Decode(r.hdr[:])
	if err != nil {
		return 0, fmt.Errorf("%s: no frame here (magic %q): the log's bytes were altered", place, r.hdr[:len(frame.Magic)])
	}
	n := h.BodyLen
	if n > frame.BodyMax || h.Records != 0 || h.Reserved != 0 {
		return 0, fmt.Errorf("%s (batch %d): invalid frame header", place, h.Seq)
	}
	r.body = slices.Grow(r.body[:0], int(n))[:n]
	if k, err := io.ReadFull(br, r.body); err != nil {
		if last {
			r.s.notes = append(r.s.notes, fmt.Sprintf("%s (batch %d): a frame cut short (%d of %d bytes), what a crash leaves; never acknowledged, the switch cuts it off at its next start", place, h.Seq, k, n))
			return 0, nil
		}
		return 0, fmt.Errorf("%s (batch %d): frame cut short", place, h.Seq)
	}
	if frame.Checksum(r.hdr[:], r.body) != h.Sum {
		r.problem(fmt.Sprintf("%s (batch %d): the frame's CRC-32C does not match its bytes: the stored record was altered", place, h.Seq))
	}
	if h.Seq != r.next {
		r.problem(fmt.Sprintf("%s: batch %d where batch %d was expected: batches were removed or reordered", place, h.Seq, r.next))
	}
	r.next = h.Seq + 1
	if err := r.events(h, rel, off, place); err != nil {
		return 0, err
	}
	return frame.HeaderSize + int64(n), nil
}

// events decodes the body just read, of the frame h at byte offset off
// of segment rel, and passes its events to fn.
func (r *segmentReader) events(h frame.Header, rel string, off int64, place string) error {
	var i uint32
	for bo := 0; bo < len(r.body); i++ {
		e, k, err := ledger.DecodeEvent(r.body[bo:])
		if err != nil {
			return fmt.Errorf("%s (batch %d) event %d at body offset %d: %w", place, h.Seq, i, bo, err)
		}
		ep := fmt.Sprintf("%s, batch %d at byte offset %d, event %d at byte offset %d", rel, h.Seq, off, i, off+frame.HeaderSize+int64(bo))
		if e.Timestamp <= r.lastTS {
			r.problem(fmt.Sprintf("%s: timestamp %d is not after the previous event's %d: records were reordered", ep, e.Timestamp, r.lastTS))
		}
		r.lastTS = e.Timestamp
		if err := r.fn(Record{Event: e, Batch: h.Seq, Place: ep}); err != nil {
			return err
		}
		bo += k
	}
	if i != h.Count {
		r.problem(fmt.Sprintf("%s (batch %d): %d events where the header says %d", place, h.Seq, i, h.Count))
	}
	return nil
}

// pgSource reads ledger_batches and ledger_events with plain SQL in one
// read-only snapshot.
type pgSource struct {
	conn  *pgx.Conn
	dsn   string
	notes []string
}

// writerLockKey is the PostgreSQL store's writer lock (package
// store/postgres): held while a switch has the database open.
const writerLockKey int64 = 0x68756c69616e0001

// Postgres returns a Source over the ledger tables of the database dsn.
// It fails with ErrRunning while a switch holds the database's writer
// lock.
func Postgres(ctx context.Context, dsn string) (Source, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("audit: connect: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", writerLockKey).Scan(&ok); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("audit: lock: %w", err)
	}
	if !ok {
		conn.Close(ctx)
		return nil, ErrRunning
	}
	return &pgSource{conn: conn, dsn: dsn}, nil
}

func (s *pgSource) Describe() string {
	if cfg, err := pgx.ParseConfig(s.dsn); err == nil {
		return fmt.Sprintf("PostgreSQL database %s on %s", cfg.Database, cfg.Host)
	}
	return "PostgreSQL database"
}
func (s *pgSource) Notes() []string { return s.notes }

func (s *pgSource) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", writerLockKey)
	return s.conn.Close(ctx)
}

// Events reads, in one read-only snapshot, the batches and then the
// events in timestamp order, and compares the events each batch
// declares with those stored.
func (s *pgSource) Events(ctx context.Context, fn func(Record) error, problem func(string)) error {
	tx, err := s.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	declared, err := pgBatches(ctx, tx, problem)
	if err != nil {
		return err
	}
	seen, err := pgEvents(ctx, tx, fn, problem)
	if err != nil {
		return err
	}
	pgBatchCounts(declared, seen, problem)
	return nil
}

// pgBatches reads ledger_batches: the events each batch declares, by
// seq. A gap in the sequence is a problem.
func pgBatches(ctx context.Context, tx pgx.Tx, problem func(string)) (map[int64]int32, error) {
	rows, err := tx.Query(ctx, "SELECT seq, events FROM ledger_batches ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("audit: read ledger_batches: %w", err)
	}
	defer rows.Close()
	declared := map[int64]int32{}
	next := int64(1)
	for rows.Next() {
		var seq int64
		var n int32
		if err := rows.Scan(&seq, &n); err != nil {
			return nil, fmt.Errorf("audit: read ledger_batches: %w", err)
		}
		if seq != next {
			problem(fmt.Sprintf("ledger_batches: batch %d follows batch %d: batches were removed", seq, next-1))
		}
		next = seq + 1
		declared[seq] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read ledger_batches: %w", err)
	}
	return declared, nil
}

// pgEvents reads ledger_events in timestamp order and passes each event
// to fn; events out of batch order, or missing before one, are
// problems. It returns how many events of each batch it read.
func pgEvents(ctx context.Context, tx pgx.Tx, fn func(Record) error, problem func(string)) (map[int64]int32, error) {
	rows, err := tx.Query(ctx, "SELECT ts, batch, pos, kind, flags, purpose, currency, id, pending, ref, debit, credit, account, amount, timeout_ns, floor, meta FROM ledger_events ORDER BY ts")
	if err != nil {
		return nil, fmt.Errorf("audit: read ledger_events: %w", err)
	}
	defer rows.Close()
	seen := map[int64]int32{}
	var lastBatch int64
	lastPos := int32(-1)
	for rows.Next() {
		var row pgEventRow
		if err := row.scan(rows); err != nil {
			return nil, fmt.Errorf("audit: read ledger_events: %w", err)
		}
		batch, pos := row.batch, row.pos
		place := fmt.Sprintf("ledger_events row ts=%d (batch %d, position %d)", row.ts, batch, pos)
		if batch < lastBatch || batch == lastBatch && pos <= lastPos {
			problem(fmt.Sprintf("%s: comes after batch %d position %d in time: records were reordered", place, lastBatch, lastPos))
		} else if batch == lastBatch && pos != lastPos+1 || batch > lastBatch && pos != 0 {
			problem(fmt.Sprintf("%s: the previous stored event is batch %d position %d: records are missing before it", place, lastBatch, lastPos))
		}
		lastBatch, lastPos = batch, pos
		seen[batch]++
		if err := fn(Record{Event: row.event(), Batch: uint64(batch), Place: place}); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read ledger_events: %w", err)
	}
	return seen, nil
}

// pgEventRow is a ledger_events row as stored.
type pgEventRow struct {
	ts, batch, amount, timeout, floor int64
	pos, purpose                      int32
	kind, flags, currency             int16
	id, pending, ref, meta            []byte
	debit, credit, account            pgtype.Int8
}

// scan scans the columns pgEvents selects, in its order.
func (r *pgEventRow) scan(rows pgx.Rows) error {
	return rows.Scan(&r.ts, &r.batch, &r.pos, &r.kind, &r.flags, &r.purpose, &r.currency, &r.id, &r.pending, &r.ref, &r.debit, &r.credit, &r.account, &r.amount, &r.timeout, &r.floor, &r.meta)
}

// event is the ledger event the row stores.
func (r *pgEventRow) event() ledger.Event {
	e := ledger.Event{
		Timestamp: r.ts, Kind: ledger.Kind(r.kind), Flags: ledger.EventFlags(r.flags), Purpose: uint16(r.purpose),
		Currency: money.Currency(r.currency), Debit: ledger.AccountID(r.debit.Int64), Credit: ledger.AccountID(r.credit.Int64),
		Account: ledger.AccountID(r.account.Int64), Amount: money.Amount(r.amount), Timeout: time.Duration(r.timeout),
		Floor: money.Amount(r.floor), Meta: string(r.meta),
	}
	copy(e.ID[:], r.id)
	copy(e.Pending[:], r.pending)
	copy(e.Ref[:], r.ref)
	return e
}

// pgBatchCounts compares the events each batch declares with those
// read of it, and reports events of batches that do not exist.
func pgBatchCounts(declared, seen map[int64]int32, problem func(string)) {
	seqs := make([]int64, 0, len(declared))
	for seq := range declared {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		if seen[seq] != declared[seq] {
			problem(fmt.Sprintf("ledger_batches: batch %d declares %d events, ledger_events holds %d of it", seq, declared[seq], seen[seq]))
		}
	}
	for seq := range seen {
		if _, ok := declared[seq]; !ok {
			problem(fmt.Sprintf("ledger_events: events of batch %d, which ledger_batches does not have", seq))
		}
	}
}
