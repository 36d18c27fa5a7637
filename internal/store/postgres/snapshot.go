package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
)

var _ journal.Snapshotter = (*Store)(nil)

// snapshotChunk is the most bytes of a snapshot one row of
// ledger_snapshot_chunks holds.
const snapshotChunk = 1 << 20

// snapshotLockKey is the pg_advisory_xact_lock key that serialises
// writers of the snapshot.
const snapshotLockKey int64 = 0x68756c69616e0003 // "hulian" 0003

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errNoSnapshot means no snapshot is stored.
var errNoSnapshot = errors.New("no snapshot is stored")

// ReplaySnapshot is Replay from the stored snapshot (see
// journal.Snapshotter): the snapshot is used if its batch is stored and
// that batch's last event has the snapshot's last timestamp. Its bytes
// are read in a read-only transaction of their own and checked (chunk
// numbers, length, CRC-32C) as load reads them: the reader fails rather
// than end when they do not add up. The batches after it are read as
// Replay reads them.
func (s *Store) ReplaySnapshot(ctx context.Context, load func(seq uint64, lastTS int64, r io.Reader) error, fn func(*ledger.Committed) error) (journal.SnapshotUse, error) {
	from, why := s.loadSnapshot(ctx, load)
	use := journal.SnapshotUse{Seq: from.seq, Ignored: why}
	if errors.Is(why, errNoSnapshot) {
		use.Ignored = nil
	}
	at, err := s.replay(ctx, from, fn)
	if err != nil {
		return use, fmt.Errorf("postgres: replay after batch %d: %w", from.seq, err)
	}
	s.mu.Lock()
	s.replayed, s.lastSeq, s.lastTS, s.haveTS = true, at.seq, at.ts, at.haveTS
	s.mu.Unlock()
	return use, nil
}

// loadSnapshot passes the stored snapshot to load if its batch is
// stored, and returns where replay goes on: after the snapshot, or from
// the start with the reason.
func (s *Store) loadSnapshot(ctx context.Context, load func(seq uint64, lastTS int64, r io.Reader) error) (position, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return position{}, fmt.Errorf("snapshot: %w", err)
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return position{}, fmt.Errorf("snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	var seq, lastTS, size, sum int64
	var chunks int32
	err = tx.QueryRow(ctx, "SELECT seq, last_ts, size, chunks, crc32c FROM ledger_snapshot WHERE id = 1").Scan(&seq, &lastTS, &size, &chunks, &sum)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return position{}, errNoSnapshot
	case err != nil:
		return position{}, fmt.Errorf("snapshot: %w", err)
	}
	// The snapshot belongs to the stored batches if its batch is stored
	// and that batch's last event has its last timestamp.
	var events, pos int32
	var batch int64
	err = tx.QueryRow(ctx, `SELECT b.events, e.batch, e.pos FROM ledger_batches b, ledger_events e
		WHERE b.seq = $1 AND e.ts = $2`, seq, lastTS).Scan(&events, &batch, &pos)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return position{}, fmt.Errorf("snapshot of batch %d: batch %d or event %d is not stored", seq, seq, lastTS)
	case err != nil:
		return position{}, fmt.Errorf("snapshot of batch %d: %w", seq, err)
	case batch != seq || pos != events-1:
		return position{}, fmt.Errorf("snapshot of batch %d: event %d is batch %d's position %d, not the last of batch %d", seq, lastTS, batch, pos, seq)
	}
	rows, err := tx.Query(ctx, "SELECT n, data FROM ledger_snapshot_chunks ORDER BY n", binaryFormats)
	if err != nil {
		return position{}, fmt.Errorf("snapshot of batch %d: %w", seq, err)
	}
	defer rows.Close()
	// Once load has taken the snapshot, it is used: nothing may fail
	// after it.
	if err := load(uint64(seq), lastTS, &chunkReader{rows: rows, chunks: chunks, size: size, sum: uint32(sum)}); err != nil {
		return position{}, fmt.Errorf("snapshot of batch %d: %w", seq, err)
	}
	return position{seq: uint64(seq), ts: lastTS, haveTS: true}, nil
}

// chunkReader reads a snapshot's chunks in order, checking their
// numbers, their total size and their CRC-32C; it returns io.EOF only
// once all add up.
type chunkReader struct {
	rows   pgx.Rows
	chunks int32  // how many there must be
	size   int64  // and their bytes
	sum    uint32 // and their CRC-32C
	cur    []byte // the unread part of the current chunk, valid until the next row
	n      int32  // chunks read
	read   int64
	crc    uint32
	done   bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.done {
			return 0, io.EOF
		}
		if !r.rows.Next() {
			if err := r.rows.Err(); err != nil {
				return 0, err
			}
			if r.n != r.chunks || r.read != r.size || r.crc != r.sum {
				return 0, fmt.Errorf("%d chunks of %d bytes, CRC-32C %08x; stored as %d of %d, %08x", r.n, r.read, r.crc, r.chunks, r.size, r.sum)
			}
			r.done = true
			return 0, io.EOF
		}
		v := r.rows.RawValues()
		if len(v) != 2 || len(v[0]) != 4 || v[1] == nil {
			return 0, errors.New("a chunk row of the wrong shape")
		}
		if n := int32(binary.BigEndian.Uint32(v[0])); n != r.n {
			return 0, fmt.Errorf("chunk %d where chunk %d belongs", n, r.n)
		}
		if len(v[1]) > snapshotChunk || r.read+int64(len(v[1])) > r.size {
			return 0, fmt.Errorf("chunk %d: %d bytes, more than stored", r.n, len(v[1]))
		}
		r.n++
		r.read += int64(len(v[1]))
		r.crc = crc32.Update(r.crc, castagnoli, v[1])
		r.cur = v[1]
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// SaveSnapshot replaces the stored snapshot, in one transaction, with
// the bytes write writes: a snapshot of the ledger at batch seq, whose
// last event has timestamp lastTS, which must be the last batch stored,
// so that whatever snapshot is stored is replaced (one of a later batch
// cannot belong to the stored batches). It writes through the writer's
// connection, in chunks of snapshotChunk bytes, under an advisory lock
// that serialises writers.
func (s *Store) SaveSnapshot(ctx context.Context, seq uint64, lastTS int64, write func(io.Writer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.conn == nil:
		return fmt.Errorf("postgres: save snapshot of batch %d: store is closed", seq)
	case !s.replayed || seq != s.lastSeq || !s.haveTS || lastTS != s.lastTS:
		return fmt.Errorf("postgres: save snapshot of batch %d at %d: the last stored batch is %d at %d", seq, lastTS, s.lastSeq, s.lastTS)
	case seq > math.MaxInt64:
		return fmt.Errorf("postgres: save snapshot of batch %d: sequence number out of range", seq)
	}
	if s.node != "" {
		var cancel context.CancelFunc
		ctx, cancel = s.bind(ctx)
		defer cancel()
	}
	if err := s.saveSnapshot(ctx, seq, lastTS, write); err != nil {
		return fmt.Errorf("postgres: save snapshot of batch %d: %w", seq, err)
	}
	return nil
}

func (s *Store) saveSnapshot(ctx context.Context, seq uint64, lastTS int64, write func(io.Writer) error) error {
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", snapshotLockKey); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	// DELETE rather than TRUNCATE: a reader's snapshot of the database
	// keeps seeing the rows it began with.
	if _, err := tx.Exec(ctx, "DELETE FROM ledger_snapshot_chunks"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM ledger_snapshot"); err != nil {
		return err
	}
	// write runs on a goroutine of its own, so that the ledger encodes
	// the next chunk while PostgreSQL stores the last one.
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := write(pw)
		pw.CloseWithError(err) // io.EOF for the reader if nil
		werr <- err
	}()
	var n int32
	var size int64
	var sum uint32
	buf := make([]byte, snapshotChunk)
	for {
		var k int
		k, err = io.ReadFull(pr, buf)
		if k > 0 {
			if _, err := tx.Exec(ctx, "INSERT INTO ledger_snapshot_chunks (n, data) VALUES ($1, $2)", n, buf[:k]); err != nil {
				pr.CloseWithError(err) // the writer's next Write fails
				<-werr
				return fmt.Errorf("chunk %d: %w", n, err)
			}
			sum = crc32.Update(sum, castagnoli, buf[:k])
			size += int64(k)
			n++
		}
		if err != nil {
			break
		}
	}
	if err := <-werr; err != nil {
		return err
	}
	if err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO ledger_snapshot (id, seq, last_ts, size, chunks, crc32c) VALUES (1, $1, $2, $3, $4, $5)",
		int64(seq), lastTS, size, n, int64(sum)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
