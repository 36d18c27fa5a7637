// Package store is Hulian's embedded storage engine: committed ledger
// batches in an append-only log of checksummed frames, in segment files
// under a data directory, made durable with one fdatasync per append
// (group commit), with small in-memory indexes for queries. Pure Go, no
// set-up: a directory is all it needs.
//
// A crash can only leave a torn frame at the very end of the last
// segment, and only one that was never acknowledged; Replay cuts it off.
// Anything else that does not check out is corruption, and Replay refuses
// to go on rather than silently drop acknowledged data.
package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/store/frame"
)

// The log's layout is package frame's: segment files of frames, each a
// 40-byte header and a body of events in the ledger's canonical encoding
// (ledger.Event.AppendBinary).
const (
	segmentMax  = 256 << 20 // default Options.SegmentBytes
	chunkBytes  = 64 << 10  // the sparse index has a point about every chunkBytes
	lockName    = "LOCK"
	readBufSize = 4 << 20
)

// Errors of the embedded engine.
var (
	// ErrLocked means another process has the data directory open.
	ErrLocked = fault.New(fault.Unavailable, "", "store: data directory is in use by another process")
	// ErrCorrupt means the log holds bytes that are not a valid frame
	// where a crash could not have left them. Restore from a copy.
	ErrCorrupt = fault.New(fault.Internal, "", "store: log is corrupt")
	// ErrSequence means an appended batch does not follow the last one.
	ErrSequence = fault.New(fault.Internal, "", "store: batch out of sequence")
	// ErrNotReplayed means Append or a query came before Replay.
	ErrNotReplayed = fault.New(fault.Internal, "", "store: Replay must come first")
	// ErrFailed means an earlier Append failed; the store takes no more.
	ErrFailed = fault.New(fault.Unavailable, "", "store: an earlier append failed")
	// ErrClosed means the store was closed.
	ErrClosed = fault.New(fault.Unavailable, "", "store: closed")
)

// Options tune the engine; the zero value is the default.
type Options struct {
	// SegmentBytes is the size beyond which a new segment file starts
	// (default 256 MiB). Small values are for tests.
	SegmentBytes int64
}

// Log is the embedded engine. It implements journal.Store.
type Log struct {
	dir          string
	lock         *os.File
	segmentBytes int64

	// mu guards what queries read: segments, index and the end of the
	// durable log. Append holds it only to publish a durable batch.
	mu       sync.RWMutex
	segs     []*segment
	points   []point
	accounts map[ledger.AccountID][]int32 // chunk numbers (points) where the account appears
	replayed bool
	closed   bool

	// Only Append (one caller at a time) touches these.
	appendMu sync.Mutex
	w        *os.File
	lastSeq  uint64
	buf      []byte
	failed   error
}

type segment struct {
	first uint64 // seq of its first batch
	path  string
	f     *os.File // for reads (ReadAt)
	size  int64    // bytes of valid, durable frames
}

// point is an entry of the sparse index: where a chunk of the log begins
// and the timestamp of its first event.
type point struct {
	ts  int64
	seg int32
	off int64
}

var _ journal.Store = (*Log)(nil)

// Open opens (creating if need be) the log in the data directory dir and
// locks it against other processes. Replay must be called next.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = segmentMax
	}
	ld := filepath.Join(dir, frame.Dir)
	if err := os.MkdirAll(ld, 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, ErrLocked)
	}
	return &Log{dir: ld, lock: lock, segmentBytes: opts.SegmentBytes, accounts: map[ledger.AccountID][]int32{}}, nil
}

// Close closes the files and releases the directory.
func (l *Log) Close() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	if l.w != nil {
		errs = append(errs, l.w.Close())
		l.w = nil
	}
	for _, s := range l.segs {
		errs = append(errs, s.f.Close())
	}
	l.segs = nil
	l.closed = true
	if l.lock != nil {
		errs = append(errs, l.lock.Close()) // closing releases the flock
		l.lock = nil
	}
	return errors.Join(errs...)
}

// listSegments returns the segment files in seq order.
func (l *Log) listSegments() ([]*segment, error) {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	var segs []*segment
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, frame.Ext) {
			continue
		}
		first, ok := frame.ParseSegmentName(name)
		if !ok {
			return nil, fmt.Errorf("%w: unexpected file %s", ErrCorrupt, name)
		}
		segs = append(segs, &segment{first: first, path: filepath.Join(l.dir, name)})
	}
	slices.SortFunc(segs, func(a, b *segment) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return segs, nil
}

// parseHeader decodes a frame header and checks what this engine writes:
// a body within bounds holding at least its events' fixed parts, and the
// reserved fields zero.
func parseHeader(b []byte) (frame.Header, error) {
	h, err := frame.Decode(b)
	if err != nil {
		return frame.Header{}, err
	}
	switch {
	case h.BodyLen > frame.BodyMax:
		return frame.Header{}, fmt.Errorf("body of %d bytes", h.BodyLen)
	case h.Records != 0 || h.Reserved != 0:
		return frame.Header{}, errors.New("reserved fields set")
	case h.Count == 0 || uint64(h.Count)*ledger.EventFixedSize > uint64(h.BodyLen):
		return frame.Header{}, fmt.Errorf("%d events in %d bytes", h.Count, h.BodyLen)
	}
	return h, nil
}

// appendFrame encodes c as one frame onto b.
func appendFrame(b []byte, c *ledger.Committed) []byte {
	start := len(b)
	size := 0
	for i := range c.Events {
		size += c.Events[i].EncodedSize()
	}
	h := frame.Header{BodyLen: uint32(size), Seq: c.Seq, Now: c.Now, Count: uint32(len(c.Events))}
	b = h.Append(b) // checksum 0, set below
	for i := range c.Events {
		b = c.Events[i].AppendBinary(b)
	}
	hdr := b[start : start+frame.HeaderSize]
	binary.BigEndian.PutUint32(hdr[frame.OffSum:], frame.Checksum(hdr, b[start+frame.HeaderSize:]))
	return b
}

// decodeBody decodes a frame's events into c.
func decodeBody(h frame.Header, body []byte, c *ledger.Committed) error {
	c.Seq, c.Now, c.Events = h.Seq, h.Now, c.Events[:0]
	for off := 0; off < len(body); {
		e, n, err := ledger.DecodeEvent(body[off:])
		if err != nil {
			return err
		}
		off += n
		if n := len(c.Events); n > 0 && e.Timestamp <= c.Events[n-1].Timestamp {
			return fmt.Errorf("timestamps not increasing at event %d", n)
		}
		c.Events = append(c.Events, e)
	}
	if len(c.Events) != int(h.Count) {
		return fmt.Errorf("%d events where the header says %d", len(c.Events), h.Count)
	}
	return nil
}

// Replay reads the whole log, calls fn for every batch, builds the
// indexes, cuts off a torn tail and readies the log for Append.
func (l *Log) Replay(ctx context.Context, fn func(*ledger.Committed) error) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.replayed {
		return errors.New("store: Replay called twice")
	}
	segs, err := l.listSegments()
	if err != nil {
		return fmt.Errorf("replay %s: %w", l.dir, err)
	}
	next := uint64(1)
	if len(segs) > 0 {
		next = segs[0].first
		if next != 1 {
			return fmt.Errorf("replay: %w: first segment starts at batch %d", ErrCorrupt, next)
		}
	}
	for _, s := range segs {
		f, err := os.Open(s.path)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		s.f = f
		l.segs = append(l.segs, s) // so Close closes it on any error below
	}
	// A reader goroutine reads, checks and decodes frames while this one
	// applies them: restart time is the slower of the two, not the sum.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items, free := make(chan *replayItem, 8), make(chan *replayItem, 10)
	for i := 0; i < cap(free); i++ {
		free <- &replayItem{}
	}
	go readFrames(ctx, segs, items, free)
	for it := range items {
		if it.err != nil {
			return it.err
		}
		if err := fn(&it.c); err != nil {
			return fmt.Errorf("replay batch %d: %w", it.c.Seq, err)
		}
		l.indexFrame(it.seg, it.off, &it.c)
		l.segs[it.seg].size = it.off + it.size
		next = it.c.Seq + 1
		free <- it
	}
	l.lastSeq = next - 1
	if n := len(l.segs); n > 0 {
		w, err := os.OpenFile(l.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		l.w = w
	}
	l.mu.Lock()
	l.replayed = true
	l.mu.Unlock()
	return nil
}

// replayItem is one frame on its way from the reader to the applier; a
// final item with err set ends the stream early.
type replayItem struct {
	c         ledger.Committed
	seg       int32
	off, size int64
	err       error
}

// readFrames reads every segment's frames in order and sends them, with
// their place, to items; it closes items at the end. A torn tail of the
// last segment is cut off; any other fault ends the stream with an error.
func readFrames(ctx context.Context, segs []*segment, items chan<- *replayItem, free chan *replayItem) {
	defer close(items)
	fail := func(err error) {
		select {
		case items <- &replayItem{err: err}:
		case <-ctx.Done():
		}
	}
	next := uint64(1)
	lastTS := int64(-1 << 63)
	var hdr [frame.HeaderSize]byte
	var body []byte
	for i, s := range segs {
		if s.first != next {
			fail(fmt.Errorf("replay: %w: segment %s starts at batch %d, expected %d", ErrCorrupt, filepath.Base(s.path), s.first, next))
			return
		}
		r := bufio.NewReaderSize(io.NewSectionReader(s.f, 0, 1<<62), readBufSize)
		var off int64
		for {
			if ctx.Err() != nil {
				return
			}
			h, err := readFrame(r, hdr[:], &body)
			if err == io.EOF {
				break
			}
			if err != nil {
				if i < len(segs)-1 {
					fail(fmt.Errorf("replay: %w: %s at offset %d: %v", ErrCorrupt, filepath.Base(s.path), off, err))
					return
				}
				if at, ok := validFrameAfter(s.path, off); ok {
					fail(fmt.Errorf("replay: %w: %s: damaged frame at offset %d (%v) is followed by a whole frame at offset %d; a crash leaves damage only at the end", ErrCorrupt, filepath.Base(s.path), off, err, at))
					return
				}
				if err := cutTail(s.path, off); err != nil {
					fail(err)
				}
				return
			}
			// From here on the frame was written whole: any fault is
			// corruption, not a torn write.
			if h.Seq != next {
				fail(fmt.Errorf("replay: %w: %s at offset %d: batch %d where %d was expected", ErrCorrupt, filepath.Base(s.path), off, h.Seq, next))
				return
			}
			var it *replayItem
			select {
			case it = <-free:
			case <-ctx.Done():
				return
			}
			if err := decodeBody(h, body, &it.c); err != nil {
				fail(fmt.Errorf("replay: %w: %s at offset %d: batch %d: %v", ErrCorrupt, filepath.Base(s.path), off, h.Seq, err))
				return
			}
			if it.c.Events[0].Timestamp <= lastTS {
				fail(fmt.Errorf("replay: %w: %s at offset %d: batch %d goes back in time", ErrCorrupt, filepath.Base(s.path), off, h.Seq))
				return
			}
			lastTS = it.c.Events[len(it.c.Events)-1].Timestamp
			it.seg, it.off, it.size = int32(i), off, frame.HeaderSize+int64(h.BodyLen)
			off += it.size
			next++
			select {
			case items <- it:
			case <-ctx.Done():
				return
			}
		}
	}
}

// readFrame reads one whole frame: io.EOF at a clean end, another error
// for a frame that is cut short or does not check out.
func readFrame(r io.Reader, hdr []byte, body *[]byte) (frame.Header, error) {
	if _, err := io.ReadFull(r, hdr); err == io.EOF {
		return frame.Header{}, io.EOF
	} else if err != nil {
		return frame.Header{}, errors.New("torn header")
	}
	h, err := parseHeader(hdr)
	if err != nil {
		return frame.Header{}, err
	}
	*body = slices.Grow((*body)[:0], int(h.BodyLen))[:h.BodyLen]
	if _, err := io.ReadFull(r, *body); err != nil {
		return frame.Header{}, errors.New("torn body")
	}
	if frame.Checksum(hdr, *body) != h.Sum {
		return frame.Header{}, errors.New("checksum mismatch")
	}
	return h, nil
}

// validFrameAfter looks for a whole, checksummed frame anywhere in the
// file after offset off: if there is one, the damage at off is not a torn
// final write.
func validFrameAfter(path string, off int64) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil || off+1 >= int64(len(b)) {
		return 0, false
	}
	var body []byte
	for i := off + 1; i+frame.HeaderSize <= int64(len(b)); i++ {
		j := bytes.Index(b[i:], []byte(frame.Magic))
		if j < 0 {
			return 0, false
		}
		i += int64(j)
		if _, err := readFrame(bytes.NewReader(b[i:]), make([]byte, frame.HeaderSize), &body); err == nil {
			return i, true
		}
	}
	return 0, false
}

// cutTail truncates the last segment after its last whole frame, at
// size: what a crash in the middle of a write leaves behind was never
// acknowledged.
func cutTail(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("replay: cut torn tail: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("replay: cut torn tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("replay: cut torn tail: %w", err)
	}
	return nil
}

// indexFrame adds a frame at (seg, off) to the sparse index and the
// per-account chunk lists. The caller holds appendMu; the index is only
// read under mu, which Append takes around this call.
func (l *Log) indexFrame(seg int32, off int64, c *ledger.Committed) {
	n := len(l.points)
	if n == 0 || l.points[n-1].seg != seg || off-l.points[n-1].off >= chunkBytes {
		l.points = append(l.points, point{ts: c.Events[0].Timestamp, seg: seg, off: off})
		n++
	}
	chunk := int32(n - 1)
	note := func(a ledger.AccountID) {
		if a == 0 {
			return
		}
		list := l.accounts[a]
		if k := len(list); k == 0 || list[k-1] != chunk {
			l.accounts[a] = append(list, chunk)
		}
	}
	for i := range c.Events {
		e := &c.Events[i]
		note(e.Debit)
		note(e.Credit)
		note(e.Account)
	}
}

// Append writes batches as frames and fdatasyncs once.
func (l *Log) Append(ctx context.Context, batches []*ledger.Committed) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if !l.replayed {
		return ErrNotReplayed
	}
	if l.failed != nil {
		return fmt.Errorf("%w: %v", ErrFailed, l.failed)
	}
	if err := ctx.Err(); err != nil || len(batches) == 0 {
		return err
	}
	for i, c := range batches {
		if c.Seq != l.lastSeq+1+uint64(i) || len(c.Events) == 0 {
			return fmt.Errorf("append batch %d after %d: %w", c.Seq, l.lastSeq+uint64(i), ErrSequence)
		}
	}
	if err := l.write(batches); err != nil {
		l.failed = err
		return fmt.Errorf("append batches %d..%d: %w", batches[0].Seq, batches[len(batches)-1].Seq, err)
	}
	return nil
}

// write does Append's I/O and publishes the result to queries.
func (l *Log) write(batches []*ledger.Committed) error {
	type placed struct {
		seg      int32
		off, len int64
	}
	where := make([]placed, len(batches))
	l.mu.RLock()
	seg := int32(len(l.segs) - 1)
	var size int64
	if seg >= 0 {
		size = l.segs[seg].size
	}
	l.mu.RUnlock()
	var created []*segment
	l.buf = l.buf[:0]
	for i, c := range batches {
		frameLen := int64(frame.HeaderSize)
		for k := range c.Events {
			frameLen += int64(c.Events[k].EncodedSize())
		}
		if frameLen-frame.HeaderSize > frame.BodyMax {
			return fmt.Errorf("batch %d: %d bytes is more than a frame holds", c.Seq, frameLen)
		}
		if used := size + int64(len(l.buf)); l.w == nil || (used+frameLen > l.segmentBytes && used > 0) {
			// Finish the current segment, durably, and start the next.
			if l.w != nil {
				if err := writeSync(l.w, l.buf); err != nil {
					return err
				}
				if err := l.w.Close(); err != nil {
					return err
				}
				l.w = nil
			}
			l.buf = l.buf[:0]
			s, w, err := l.createSegment(c.Seq)
			if err != nil {
				return err
			}
			l.w = w
			created = append(created, s)
			seg++
			size = 0
		}
		where[i] = placed{seg, size + int64(len(l.buf)), frameLen}
		l.buf = appendFrame(l.buf, c)
	}
	if err := writeSync(l.w, l.buf); err != nil {
		return err
	}
	// Durable: publish to queries.
	l.mu.Lock()
	defer l.mu.Unlock()
	l.segs = append(l.segs, created...)
	for i, c := range batches {
		l.indexFrame(where[i].seg, where[i].off, c)
		s := l.segs[where[i].seg]
		s.size = max(s.size, where[i].off+where[i].len)
	}
	l.lastSeq = batches[len(batches)-1].Seq
	return nil
}

// writeSync writes b at the end of f and waits until it is on disk.
// fdatasync suffices: it also persists the file size the data needs.
func writeSync(f *os.File, b []byte) error {
	if _, err := f.Write(b); err != nil {
		return err
	}
	return syscall.Fdatasync(int(f.Fd()))
}

// createSegment creates the segment file for batches from first on and
// makes its directory entry durable.
func (l *Log) createSegment(first uint64) (*segment, *os.File, error) {
	path := filepath.Join(l.dir, frame.SegmentName(first))
	w, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, err
	}
	if err := syncDir(l.dir); err != nil {
		w.Close()
		return nil, nil, err
	}
	r, err := os.Open(path)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return &segment{first: first, path: path, f: r}, w, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readChunk returns the bytes of chunk k. The caller holds mu (read).
func (l *Log) readChunk(k int) ([]byte, error) {
	p := l.points[k]
	s := l.segs[p.seg]
	end := s.size
	if k+1 < len(l.points) && l.points[k+1].seg == p.seg {
		end = l.points[k+1].off
	}
	b := make([]byte, end-p.off)
	if _, err := s.f.ReadAt(b, p.off); err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", filepath.Base(s.path), p.off, err)
	}
	return b, nil
}

// eachEvent calls fn with every event of the frames in b, in order,
// until fn returns false.
func eachEvent(b []byte, fn func(e []byte) bool) error {
	for len(b) > 0 {
		h, err := parseHeader(b)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if int(h.BodyLen) > len(b)-frame.HeaderSize {
			return fmt.Errorf("%w: frame runs past its chunk", ErrCorrupt)
		}
		body := b[frame.HeaderSize : frame.HeaderSize+h.BodyLen]
		for off := 0; off < len(body); {
			if len(body)-off < ledger.EventFixedSize {
				return fmt.Errorf("%w: short event", ErrCorrupt)
			}
			n := ledger.EventLen(body[off:])
			if n > len(body)-off {
				return fmt.Errorf("%w: event runs past its frame", ErrCorrupt)
			}
			if !fn(body[off : off+n]) {
				return nil
			}
			off += n
		}
		b = b[frame.HeaderSize+h.BodyLen:]
	}
	return nil
}

// Event returns the event with timestamp ts.
func (l *Log) Event(ctx context.Context, ts int64) (ledger.Event, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.replayed {
		return ledger.Event{}, ErrNotReplayed
	}
	if l.closed {
		return ledger.Event{}, ErrClosed
	}
	k := sort.Search(len(l.points), func(i int) bool { return l.points[i].ts > ts }) - 1
	if k < 0 {
		return ledger.Event{}, fmt.Errorf("event %d: %w", ts, journal.ErrNotFound)
	}
	b, err := l.readChunk(k)
	if err != nil {
		return ledger.Event{}, err
	}
	var found []byte
	err = eachEvent(b, func(e []byte) bool {
		t := ledger.EventTimestamp(e)
		if t == ts {
			found = e
		}
		return t < ts
	})
	if err != nil {
		return ledger.Event{}, err
	}
	if found == nil {
		return ledger.Event{}, fmt.Errorf("event %d: %w", ts, journal.ErrNotFound)
	}
	e, _, err := ledger.DecodeEvent(found)
	return e, err
}

// Scan calls fn with the events with from <= ts < to, oldest first.
// It reads from a position in the log (segment and offset) rather than by
// chunk number, so that frames appended to the last chunk while it scans
// are read before the next chunk: a scan that follows the log's tail, as
// the audit log does, misses nothing. The read lock is held while a piece
// is read, not across fn, so a long scan does not hold up appends.
func (l *Log) Scan(ctx context.Context, from, to int64, fn func(ledger.Event) error) error {
	return l.ScanEncoded(ctx, from, to, func(raw []byte) error {
		e, _, err := ledger.DecodeEvent(raw)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// ScanEncoded is Scan with each event in its stored encoding (the
// canonical one of ledger.Event.AppendBinary), valid only during the
// call: readers that hash or copy events need not decode them.
func (l *Log) ScanEncoded(ctx context.Context, from, to int64, fn func(raw []byte) error) error {
	l.mu.RLock()
	if !l.replayed {
		l.mu.RUnlock()
		return ErrNotReplayed
	}
	k := sort.Search(len(l.points), func(i int) bool { return l.points[i].ts > from }) - 1
	if k < 0 {
		k = 0
	}
	if len(l.points) == 0 {
		l.mu.RUnlock()
		return nil
	}
	seg, off := l.points[k].seg, l.points[k].off
	l.mu.RUnlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, next, nextOff, err := l.readFrom(seg, off)
		if err != nil {
			return err
		}
		if b == nil {
			if next == seg {
				return nil // the end of the durable log
			}
			seg, off = next, nextOff
			continue
		}
		off += int64(len(b))
		var ferr error
		done := false
		err = eachEvent(b, func(raw []byte) bool {
			ts := ledger.EventTimestamp(raw)
			if ts < from {
				return true
			}
			if ts >= to {
				done = true
				return false
			}
			ferr = fn(raw)
			return ferr == nil
		})
		if err == nil {
			err = ferr
		}
		if err != nil || done {
			return err
		}
	}
}

// readFrom reads whole frames of segment seg from off: up to the next
// point of the sparse index in the segment, or its durable end. At the end
// of a segment it returns no bytes and where to go on: the next segment,
// or seg itself at the end of the log.
func (l *Log) readFrom(seg int32, off int64) ([]byte, int32, int64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, 0, 0, ErrClosed
	}
	s := l.segs[seg]
	if off >= s.size {
		if int(seg)+1 < len(l.segs) {
			return nil, seg + 1, 0, nil
		}
		return nil, seg, off, nil
	}
	end := s.size
	k := sort.Search(len(l.points), func(i int) bool {
		p := l.points[i]
		return p.seg > seg || p.seg == seg && p.off > off
	})
	if k < len(l.points) && l.points[k].seg == seg {
		end = l.points[k].off
	}
	b := make([]byte, end-off)
	if _, err := s.f.ReadAt(b, off); err != nil {
		return nil, 0, 0, fmt.Errorf("read %s at %d: %w", filepath.Base(s.path), off, err)
	}
	return b, seg, off, nil
}

// AccountEvents returns the account's events with from <= ts < to.
func (l *Log) AccountEvents(ctx context.Context, account ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.replayed {
		return nil, ErrNotReplayed
	}
	if l.closed {
		return nil, ErrClosed
	}
	var out []ledger.Event
	if limit <= 0 || from >= to {
		return out, nil
	}
	chunks := l.accounts[account]
	// The first chunk that can hold from is the last one starting at or
	// before it.
	first := int32(sort.Search(len(l.points), func(i int) bool { return l.points[i].ts > from }) - 1)
	i := sort.Search(len(chunks), func(i int) bool { return chunks[i] >= first })
	done := false
	for ; i < len(chunks) && !done; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if l.points[chunks[i]].ts >= to {
			break
		}
		b, err := l.readChunk(int(chunks[i]))
		if err != nil {
			return nil, err
		}
		var derr error
		err = eachEvent(b, func(raw []byte) bool {
			ts := ledger.EventTimestamp(raw)
			if ts >= to {
				done = true
				return false
			}
			if ts < from {
				return true
			}
			if dr, cr, ac := ledger.EventAccounts(raw); dr != account && cr != account && ac != account {
				return true
			}
			e, _, err := ledger.DecodeEvent(raw)
			if err != nil {
				derr = err
				return false
			}
			out = append(out, e)
			if len(out) >= limit {
				done = true
				return false
			}
			return true
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return nil, fmt.Errorf("account %d events: %w", account, err)
		}
	}
	return out, nil
}
