package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// Replay's reader decodes rows on a goroutine of its own while the
// caller applies what it decoded, so that PostgreSQL's work, the
// client's decoding and the ledger's re-application overlap. They meet
// in chunks of consecutive batches, of which at most replayChunks exist.
const (
	// fetchSize is how many rows the reader fetches from a cursor at a
	// time.
	fetchSize = 1 << 13
	// chunkEvents and chunkBatches bound a chunk: it is handed over once
	// it holds either many events or batches (or its one batch more).
	chunkEvents  = 1 << 13
	chunkBatches = 1 << 10
	// replayChunks is how many chunks exist, so how far the reader may
	// run ahead of the caller: about replayChunks·chunkEvents events.
	replayChunks = 6
	// batchEventsMax is the most events a stored batch may have: the
	// ledger expires at most ledger.BatchMax reservations in a batch and
	// then applies at most ledger.BatchMax commands, each making at most
	// one event. A larger count is damage, and would make a chunk as
	// large as it says.
	batchEventsMax = 2 * ledger.BatchMax
)

// position is where a replay stands: after batch seq, whose last event
// (the last stored one) has timestamp ts if haveTS.
type position struct {
	seq    uint64
	ts     int64
	haveTS bool
}

// chunk is a run of consecutive batches, decoded, whose events are in
// one slice: batch i's are events[starts[i]:starts[i+1]].
type chunk struct {
	batches []ledger.Committed
	starts  []int
	events  []ledger.Event
}

// reset empties c for reuse.
func (c *chunk) reset() {
	c.batches, c.starts, c.events = c.batches[:0], c.starts[:0], c.events[:0]
}

// seal points each batch at its events, once no more will be appended.
func (c *chunk) seal() {
	for i := range c.batches {
		end := len(c.events)
		if i+1 < len(c.batches) {
			end = c.starts[i+1]
		}
		c.batches[i].Events = c.events[c.starts[i]:end:end]
	}
}

// full reports whether c should be handed over.
func (c *chunk) full() bool {
	return len(c.events) >= chunkEvents || len(c.batches) >= chunkBatches
}

// replay calls fn with every stored batch after from, in order, and
// returns where it ended. The reading happens on another goroutine, in
// one read-only snapshot of the database (reader); fn runs on the
// caller's. An error of either side ends both.
func (s *Store) replay(ctx context.Context, from position, fn func(*ledger.Committed) error) (position, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan *chunk, replayChunks)
	free := make(chan *chunk, replayChunks)
	for range replayChunks {
		free <- new(chunk)
	}
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		errc <- s.read(ctx, from, out, free)
	}()
	at := from
	var ferr error
	for c := range out {
		for i := 0; ferr == nil && i < len(c.batches); i++ {
			b := &c.batches[i]
			if err := fn(b); err != nil {
				ferr = fmt.Errorf("batch %d: %w", b.Seq, err)
				cancel()
				break
			}
			at.seq = b.Seq
			if n := len(b.Events); n > 0 {
				at.ts, at.haveTS = b.Events[n-1].Timestamp, true
			}
		}
		free <- c // never blocks: free holds every chunk
	}
	rerr := <-errc
	if ferr != nil {
		return at, ferr
	}
	return at, rerr
}

// read is replay's reader: it reads the batches after from and their
// events through two cursors in one read-only snapshot, checks that
// sequence numbers follow from without a gap and that each batch has
// exactly its events, and sends them in chunks taken from free to out.
func (s *Store) read(ctx context.Context, from position, out chan<- *chunk, free <-chan *chunk) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	// Timestamps increase with the batch and the position in it (Append
	// checks it), so the primary key gives the events in replay order.
	// The bounds are integers, written into the statements.
	where := ""
	if from.haveTS {
		where = " WHERE ts > " + strconv.FormatInt(from.ts, 10)
	}
	if _, err := tx.Exec(ctx, "DECLARE hulian_replay_batches NO SCROLL CURSOR FOR SELECT seq, now, events FROM ledger_batches WHERE seq > "+
		strconv.FormatUint(from.seq, 10)+" ORDER BY seq"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DECLARE hulian_replay_events NO SCROLL CURSOR FOR SELECT "+eventSelect+" FROM ledger_events"+where+" ORDER BY ts"); err != nil {
		return err
	}
	events := &fetcher[eventRow]{tx: tx, sql: fmt.Sprintf("FETCH %d FROM hulian_replay_events", fetchSize), cols: len(eventColumns), decode: decodeEventRow}
	batches := &fetcher[batchRow]{tx: tx, sql: fmt.Sprintf("FETCH %d FROM hulian_replay_batches", fetchSize), cols: 3, decode: decodeBatch}
	var c *chunk
	take := func() error {
		select {
		case c = <-free:
			c.reset()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	send := func() error {
		c.seal()
		select {
		case out <- c:
			c = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := take(); err != nil {
		return err
	}
	last := from.seq
	for {
		b, ok, err := batches.next(ctx)
		if err != nil {
			return fmt.Errorf("read batches: %w", err)
		}
		if !ok {
			break
		}
		seq, n := b.seq, b.events
		if seq != int64(last)+1 {
			return fmt.Errorf("batch %d follows batch %d: the stored journal has a gap", seq, last)
		}
		if n < 0 || n > batchEventsMax {
			return fmt.Errorf("batch %d: %d events", seq, n)
		}
		c.starts = append(c.starts, len(c.events))
		c.batches = append(c.batches, ledger.Committed{Seq: uint64(seq), Now: b.now})
		for i := int32(0); i < n; i++ {
			r, ok, err := events.next(ctx)
			if err != nil {
				return fmt.Errorf("batch %d: read events: %w", seq, err)
			}
			if !ok {
				return fmt.Errorf("batch %d: %d of its %d events are missing", seq, n-i, n)
			}
			if r.batch != seq || r.pos != i {
				return fmt.Errorf("batch %d: event %d is stored as batch %d position %d, want position %d", seq, r.ev.Timestamp, r.batch, r.pos, i)
			}
			c.events = append(c.events, r.ev)
		}
		last = uint64(seq)
		if c.full() {
			if err := send(); err != nil {
				return err
			}
			if err := take(); err != nil {
				return err
			}
		}
	}
	r, ok, err := events.next(ctx)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	if ok {
		return fmt.Errorf("event %d (batch %d position %d) is not part of any batch's events", r.ev.Timestamp, r.batch, r.pos)
	}
	if len(c.batches) > 0 {
		return send()
	}
	return nil
}

// fetcher reads a cursor's rows fetchSize at a time, in PostgreSQL's
// binary format, and decodes each with decode.
type fetcher[T any] struct {
	tx     pgx.Tx
	sql    string
	cols   int
	decode func([][]byte) (T, error)
	buf    []T
	i      int
	done   bool
}

// binaryFormats asks for every result column in binary.
var binaryFormats = pgx.QueryResultFormats{pgx.BinaryFormatCode}

// next returns the next row, or false after the last.
func (f *fetcher[T]) next(ctx context.Context) (T, bool, error) {
	var zero T
	if f.i == len(f.buf) {
		if f.done {
			return zero, false, nil
		}
		if err := f.fetch(ctx); err != nil {
			return zero, false, err
		}
		if len(f.buf) == 0 {
			return zero, false, nil
		}
	}
	f.i++
	return f.buf[f.i-1], true, nil
}

func (f *fetcher[T]) fetch(ctx context.Context) error {
	f.buf, f.i = f.buf[:0], 0
	rows, err := f.tx.Query(ctx, f.sql, binaryFormats)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals := rows.RawValues()
		if len(vals) != f.cols {
			return fmt.Errorf("%d columns, want %d", len(vals), f.cols)
		}
		v, err := f.decode(vals)
		if err != nil {
			return err
		}
		f.buf = append(f.buf, v)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.done = len(f.buf) < fetchSize
	return nil
}

// decodeBatch decodes ledger_batches' seq, now and events, in binary.
func decodeBatch(v [][]byte) (batchRow, error) {
	if len(v[0]) != 8 || len(v[1]) != 8 || len(v[2]) != 4 {
		return batchRow{}, fmt.Errorf("batch row of %d, %d and %d bytes", len(v[0]), len(v[1]), len(v[2]))
	}
	return batchRow{seq: int64(binary.BigEndian.Uint64(v[0])), now: int64(binary.BigEndian.Uint64(v[1])), events: int32(binary.BigEndian.Uint32(v[2]))}, nil
}

// decodeEventRow is decodeEvent for a fetcher.
func decodeEventRow(v [][]byte) (eventRow, error) {
	e, batch, pos, err := decodeEvent(v)
	return eventRow{ev: e, batch: batch, pos: pos}, err
}

// decodeEvent decodes eventSelect's columns, in binary, refusing values
// that no event can have, as eventScanner.scan does.
func decodeEvent(v [][]byte) (ledger.Event, int64, int32, error) {
	// Fixed-width columns: their index and width.
	const (
		cTS, cBatch, cPos, cKind, cFlags, cPurpose, cCurrency = 0, 1, 2, 3, 4, 5, 6
		cID, cPending, cRef, cDebit, cCredit, cAccount        = 7, 8, 9, 10, 11, 12
		cAmount, cTimeout, cFloor, cMeta                      = 13, 14, 15, 16
	)
	bad := len(v[cTS]) != 8 || len(v[cBatch]) != 8 || len(v[cPos]) != 4 || len(v[cKind]) != 2 ||
		len(v[cFlags]) != 2 || len(v[cPurpose]) != 4 || len(v[cCurrency]) != 2 ||
		len(v[cAmount]) != 8 || len(v[cTimeout]) != 8 || len(v[cFloor]) != 8 || v[cMeta] == nil
	if bad {
		return ledger.Event{}, 0, 0, fmt.Errorf("event row with a value of the wrong size")
	}
	i64 := func(k int) int64 { return int64(binary.BigEndian.Uint64(v[k])) }
	i16 := func(k int) int16 { return int16(binary.BigEndian.Uint16(v[k])) }
	acct := func(k int) (ledger.AccountID, bool) {
		switch len(v[k]) {
		case 0:
			return 0, v[k] == nil
		case 8:
			return ledger.AccountID(binary.BigEndian.Uint64(v[k])), true
		}
		return 0, false
	}
	ts := i64(cTS)
	kind, flags, currency := i16(cKind), i16(cFlags), i16(cCurrency)
	purpose := int32(binary.BigEndian.Uint32(v[cPurpose]))
	debit, okD := acct(cDebit)
	credit, okC := acct(cCredit)
	account, okA := acct(cAccount)
	if len(v[cMeta]) > ledger.MetaMax {
		return ledger.Event{}, 0, 0, fmt.Errorf("event %d: meta of %d bytes", ts, len(v[cMeta]))
	}
	e := ledger.Event{
		Timestamp: ts,
		Kind:      ledger.Kind(kind),
		Flags:     ledger.EventFlags(flags),
		Purpose:   uint16(purpose),
		Currency:  money.Currency(currency),
		Debit:     debit,
		Credit:    credit,
		Account:   account,
		Amount:    money.Amount(i64(cAmount)),
		Timeout:   time.Duration(i64(cTimeout)),
		Floor:     money.Amount(i64(cFloor)),
	}
	if len(v[cMeta]) > 0 {
		e.Meta = string(v[cMeta])
	}
	bad = !okD || !okC || !okA || kind < 1 || kind > math.MaxUint8 || flags < 0 || flags > math.MaxUint8 ||
		purpose < 0 || purpose > math.MaxUint16 || currency < 0
	for _, f := range [...]struct {
		dst *ledger.ID
		src []byte
	}{{&e.ID, v[cID]}, {&e.Pending, v[cPending]}, {&e.Ref, v[cRef]}} {
		switch len(f.src) {
		case 0:
		case len(f.dst):
			copy(f.dst[:], f.src)
		default:
			bad = true
		}
	}
	if bad {
		return ledger.Event{}, 0, 0, fmt.Errorf("event %d: stored values out of range", ts)
	}
	return e, i64(cBatch), int32(binary.BigEndian.Uint32(v[cPos])), nil
}
