package audit

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
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
var ErrRunning = errors.New("audit: the switch is running on this store: stop it first")

// embedded reads the embedded store's segment files (format "HLB1",
// docs/formats.md) with its own code, read-only.
type embedded struct {
	dir   string
	lock  *os.File
	notes []string
}

// Embedded returns a Source over the embedded store in the data
// directory dir. It takes a shared lock on the store's LOCK file, so it
// fails with ErrRunning while a switch has the store open.
func Embedded(dir string) (Source, error) {
	ld := filepath.Join(dir, "ledger")
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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const frameHeader = 40

func (s *embedded) Events(ctx context.Context, fn func(Record) error, problem func(string)) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	var segs []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".seg") {
			segs = append(segs, e.Name())
		}
	}
	slices.Sort(segs) // 20-digit names sort by number
	next := uint64(1)
	lastTS := int64(math.MinInt64)
	for si, name := range segs {
		first, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil || fmt.Sprintf("%020d.seg", first) != name {
			return fmt.Errorf("ledger/%s: not a segment name", name)
		}
		if first != next {
			problem(fmt.Sprintf("ledger/%s starts at batch %d where batch %d was expected: batches are missing", name, first, next))
			next = first
		}
		f, err := os.Open(filepath.Join(s.dir, name))
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		r := bufio.NewReaderSize(f, 1<<20)
		var off int64
		var hdr [frameHeader]byte
		var body []byte
		for {
			if err := ctx.Err(); err != nil {
				f.Close()
				return err
			}
			place := fmt.Sprintf("ledger/%s at byte offset %d", name, off)
			k, err := io.ReadFull(r, hdr[:])
			if err == io.EOF {
				break
			}
			last := si == len(segs)-1
			if err != nil {
				f.Close()
				if last {
					s.notes = append(s.notes, fmt.Sprintf("%s: a frame header cut short (%d bytes), what a crash leaves; never acknowledged, the switch cuts it off at its next start", place, k))
					break
				}
				return fmt.Errorf("%s: frame header cut short, %d bytes", place, k)
			}
			if string(hdr[:4]) != "HLB1" {
				f.Close()
				return fmt.Errorf("%s: no frame here (magic %q): the log's bytes were altered", place, hdr[:4])
			}
			n := binary.BigEndian.Uint32(hdr[4:])
			seq := binary.BigEndian.Uint64(hdr[12:])
			count := binary.BigEndian.Uint32(hdr[28:])
			if n > 64<<20 || binary.BigEndian.Uint32(hdr[32:]) != 0 || binary.BigEndian.Uint32(hdr[36:]) != 0 {
				f.Close()
				return fmt.Errorf("%s (batch %d): invalid frame header", place, seq)
			}
			body = slices.Grow(body[:0], int(n))[:n]
			if k, err := io.ReadFull(r, body); err != nil {
				f.Close()
				if last {
					s.notes = append(s.notes, fmt.Sprintf("%s (batch %d): a frame cut short (%d of %d bytes), what a crash leaves; never acknowledged, the switch cuts it off at its next start", place, seq, k, n))
					break
				}
				return fmt.Errorf("%s (batch %d): frame cut short", place, seq)
			}
			if crc32.Update(crc32.Checksum(hdr[12:], castagnoli), castagnoli, body) != binary.BigEndian.Uint32(hdr[8:]) {
				problem(fmt.Sprintf("%s (batch %d): the frame's CRC-32C does not match its bytes: the stored record was altered", place, seq))
			}
			if seq != next {
				problem(fmt.Sprintf("%s: batch %d where batch %d was expected: batches were removed or reordered", place, seq, next))
			}
			next = seq + 1
			var i uint32
			for bo := 0; bo < len(body); i++ {
				e, k, err := ledger.DecodeEvent(body[bo:])
				if err != nil {
					f.Close()
					return fmt.Errorf("%s (batch %d) event %d at body offset %d: %w", place, seq, i, bo, err)
				}
				ep := fmt.Sprintf("ledger/%s, batch %d at byte offset %d, event %d at byte offset %d", name, seq, off, i, off+frameHeader+int64(bo))
				if e.Timestamp <= lastTS {
					problem(fmt.Sprintf("%s: timestamp %d is not after the previous event's %d: records were reordered", ep, e.Timestamp, lastTS))
				}
				lastTS = e.Timestamp
				if err := fn(Record{Event: e, Batch: seq, Place: ep}); err != nil {
					f.Close()
					return err
				}
				bo += k
			}
			if i != count {
				problem(fmt.Sprintf("%s (batch %d): %d events where the header says %d", place, seq, i, count))
			}
			off += frameHeader + int64(n)
		}
		f.Close()
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

func (s *pgSource) Events(ctx context.Context, fn func(Record) error, problem func(string)) error {
	tx, err := s.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	declared := map[int64]int32{}
	rows, err := tx.Query(ctx, "SELECT seq, events FROM ledger_batches ORDER BY seq")
	if err != nil {
		return fmt.Errorf("audit: read ledger_batches: %w", err)
	}
	next := int64(1)
	for rows.Next() {
		var seq int64
		var n int32
		if err := rows.Scan(&seq, &n); err != nil {
			rows.Close()
			return fmt.Errorf("audit: read ledger_batches: %w", err)
		}
		if seq != next {
			problem(fmt.Sprintf("ledger_batches: batch %d follows batch %d: batches were removed", seq, next-1))
		}
		next = seq + 1
		declared[seq] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read ledger_batches: %w", err)
	}
	rows, err = tx.Query(ctx, "SELECT ts, batch, pos, kind, flags, purpose, currency, id, pending, ref, debit, credit, account, amount, timeout_ns, floor, meta FROM ledger_events ORDER BY ts")
	if err != nil {
		return fmt.Errorf("audit: read ledger_events: %w", err)
	}
	defer rows.Close()
	seen := map[int64]int32{}
	var lastBatch int64
	lastPos := int32(-1)
	for rows.Next() {
		var (
			ts, batch, amount, timeout, floor int64
			pos, purpose                      int32
			kind, flags, currency             int16
			id, pending, ref, meta            []byte
			debit, credit, account            pgtype.Int8
		)
		if err := rows.Scan(&ts, &batch, &pos, &kind, &flags, &purpose, &currency, &id, &pending, &ref, &debit, &credit, &account, &amount, &timeout, &floor, &meta); err != nil {
			return fmt.Errorf("audit: read ledger_events: %w", err)
		}
		place := fmt.Sprintf("ledger_events row ts=%d (batch %d, position %d)", ts, batch, pos)
		if batch < lastBatch || batch == lastBatch && pos <= lastPos {
			problem(fmt.Sprintf("%s: comes after batch %d position %d in time: records were reordered", place, lastBatch, lastPos))
		} else if batch == lastBatch && pos != lastPos+1 || batch > lastBatch && pos != 0 {
			problem(fmt.Sprintf("%s: the previous stored event is batch %d position %d: records are missing before it", place, lastBatch, lastPos))
		}
		lastBatch, lastPos = batch, pos
		seen[batch]++
		e := ledger.Event{
			Timestamp: ts, Kind: ledger.Kind(kind), Flags: ledger.EventFlags(flags), Purpose: uint16(purpose),
			Currency: money.Currency(currency), Debit: ledger.AccountID(debit.Int64), Credit: ledger.AccountID(credit.Int64),
			Account: ledger.AccountID(account.Int64), Amount: money.Amount(amount), Timeout: time.Duration(timeout),
			Floor: money.Amount(floor), Meta: string(meta),
		}
		for _, f := range []struct {
			dst *ledger.ID
			src []byte
		}{{&e.ID, id}, {&e.Pending, pending}, {&e.Ref, ref}} {
			copy(f.dst[:], f.src)
		}
		if err := fn(Record{Event: e, Batch: uint64(batch), Place: place}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read ledger_events: %w", err)
	}
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
	return nil
}
