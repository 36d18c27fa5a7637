package recon

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hulian/hulian/internal/fault"
)

// SortOptions bound the memory and files of Sort. The zero value is the
// defaults.
type SortOptions struct {
	// RunMax is the most records held in memory at once: each run of
	// that many is sorted and spilled to a file. Default 100,000 (some
	// 20 MB with the longest ids).
	RunMax int
	// FanInMax is the most run files merged at once, hence open at once;
	// more runs are merged in passes. Default 64.
	FanInMax int
	// Dir is where the temporary files go; default os.TempDir().
	Dir string
}

const (
	runMaxDefault   = 100_000
	fanInMaxDefault = 64
)

// Validate reports options that cannot work.
func (o SortOptions) Validate() error {
	switch {
	case o.RunMax < 0:
		return fmt.Errorf("recon: RunMax %d < 0", o.RunMax)
	case o.FanInMax < 0 || o.FanInMax == 1:
		return fmt.Errorf("recon: FanInMax %d: want 0 (the default) or at least 2", o.FanInMax)
	}
	return nil
}

func (o SortOptions) withDefaults() SortOptions {
	if o.RunMax == 0 {
		o.RunMax = runMaxDefault
	}
	if o.FanInMax == 0 {
		o.FanInMax = fanInMaxDefault
	}
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	return o
}

// ErrRunCorrupt: a spilled run did not read back as it was written (the
// temporary directory was tampered with or the disk failed).
var ErrRunCorrupt = fault.New(fault.Internal, "", "recon: a sorted run file is corrupt")

// Sorted is a Source of records in increasing id order, read from spilled
// runs. Close removes its temporary files; call it in every case.
type Sorted struct {
	dir   string
	runs  []*runReader
	heap  []*runReader // a min-heap by the current record's id
	mem   []Record     // the only run, when everything fit in memory
	n     int
	err   error
	close bool
}

// Sort reads src to its end and returns its records in increasing
// TransferID order (byte order), holding at most opts.RunMax records in
// memory: each full run is sorted and written to a temporary file, and
// the runs are merged as the result is read. Records with equal ids stay
// next to each other, for Reconcile to refuse. The records are validated
// on the way in (Record.Validate), so that a bad one is refused before
// any sorting.
func Sort(src Source, opts SortOptions) (*Sorted, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Sorted{}
	buf := make([]Record, 0, min(opts.RunMax, 4096))
	var files []string
	fail := func(err error) (*Sorted, error) {
		s.Close()
		return nil, err
	}
	var n int64
	for {
		r, ok, err := src.Next()
		if err != nil {
			return fail(err)
		}
		if ok {
			n++
			if err := r.Validate(); err != nil {
				return fail(fmt.Errorf("record %d: %w", n, err))
			}
			buf = append(buf, r)
		}
		if len(buf) < opts.RunMax && ok {
			continue
		}
		sortRecords(buf)
		if !ok && files == nil { // it all fit: no file at all
			s.mem = buf
			return s, nil
		}
		if len(buf) > 0 {
			if s.dir == "" {
				if s.dir, err = os.MkdirTemp(opts.Dir, "recon-sort-*"); err != nil {
					return fail(fmt.Errorf("recon: sort: %w", err))
				}
			}
			name, err := s.spill(len(files), SliceSource(buf))
			if err != nil {
				return fail(err)
			}
			files = append(files, name)
			clear(buf) // let the ids go
			buf = buf[:0]
		}
		if !ok {
			break
		}
	}
	// Merge in passes until one merge can take every run at once.
	for next := len(files); len(files) > opts.FanInMax; next++ {
		group := files[:opts.FanInMax]
		m, err := s.open(group)
		if err != nil {
			return fail(err)
		}
		name, err := s.spill(next, m)
		for _, r := range m.runs {
			r.close()
		}
		m.runs = nil
		if err != nil {
			return fail(err)
		}
		for _, f := range group {
			os.Remove(f)
		}
		files = append(files[opts.FanInMax:], name)
	}
	m, err := s.open(files)
	if err != nil {
		return fail(err)
	}
	s.runs, s.heap = m.runs, m.heap
	return s, nil
}

func sortRecords(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int { return strings.Compare(a.TransferID, b.TransferID) })
}

// spill writes src's records to a new run file of s.dir.
func (s *Sorted) spill(i int, src Source) (string, error) {
	name := filepath.Join(s.dir, fmt.Sprintf("run-%06d", i))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("recon: sort: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var b []byte
	for {
		r, ok, err := src.Next()
		if err != nil {
			f.Close()
			return "", err
		}
		if !ok {
			break
		}
		b = appendRecord(b[:0], r)
		if _, err := w.Write(b); err != nil {
			f.Close()
			return "", fmt.Errorf("recon: sort: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", fmt.Errorf("recon: sort: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("recon: sort: %w", err)
	}
	return name, nil
}

// open returns a merge of the named runs (a Sorted without a directory of
// its own).
func (s *Sorted) open(names []string) (*Sorted, error) {
	m := &Sorted{}
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("recon: sort: %w", err)
		}
		r := &runReader{f: f, r: bufio.NewReaderSize(f, 64<<10)}
		m.runs = append(m.runs, r)
		ok, err := r.advance()
		if err != nil {
			m.Close()
			return nil, err
		}
		if ok {
			m.heap = append(m.heap, r)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m, nil
}

// Next returns the next record in id order.
func (s *Sorted) Next() (Record, bool, error) {
	if s.err != nil {
		return Record{}, false, s.err
	}
	if s.close {
		return Record{}, false, errors.New("recon: Next after Close")
	}
	if s.runs == nil {
		if s.n == len(s.mem) {
			return Record{}, false, nil
		}
		s.n++
		return s.mem[s.n-1], true, nil
	}
	if len(s.heap) == 0 {
		return Record{}, false, nil
	}
	top := s.heap[0]
	r := top.rec
	ok, err := top.advance()
	if err != nil {
		s.err = err
		return Record{}, false, err
	}
	if !ok {
		last := len(s.heap) - 1
		s.heap[0] = s.heap[last]
		s.heap = s.heap[:last]
	}
	if len(s.heap) > 0 {
		s.down(0)
	}
	return r, true, nil
}

// down restores the heap below i. Ties go either way: equal ids are
// duplicates, refused downstream whichever comes first.
func (s *Sorted) down(i int) {
	h := s.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h[r].rec.TransferID < h[l].rec.TransferID {
			c = r
		}
		if h[i].rec.TransferID <= h[c].rec.TransferID {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// Close releases the runs and removes the temporary directory.
func (s *Sorted) Close() error {
	s.close = true
	for _, r := range s.runs {
		r.close()
	}
	s.runs, s.heap, s.mem = nil, nil, nil
	if s.dir != "" {
		err := os.RemoveAll(s.dir)
		s.dir = ""
		return err
	}
	return nil
}

// A run file is a sequence of records, each: uvarint id length, the id,
// zigzag varint amount, one byte direction, one byte status. It lives
// only as long as one Sort, so it carries no version.
func appendRecord(b []byte, r Record) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.TransferID)))
	b = append(b, r.TransferID...)
	b = binary.AppendVarint(b, r.Amount)
	return append(b, byte(r.Direction), byte(r.Status))
}

type runReader struct {
	f   *os.File
	r   *bufio.Reader
	rec Record
	id  [IDMax]byte
}

// advance reads the next record into rr.rec; false at the end.
func (rr *runReader) advance() (bool, error) {
	n, err := binary.ReadUvarint(rr.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil || n == 0 || n > IDMax {
		return false, fmt.Errorf("%s: id length %d: %w", rr.f.Name(), n, ErrRunCorrupt)
	}
	id := rr.id[:n]
	if _, err := io.ReadFull(rr.r, id); err != nil {
		return false, fmt.Errorf("%s: %w", rr.f.Name(), ErrRunCorrupt)
	}
	amount, err := binary.ReadVarint(rr.r)
	if err != nil {
		return false, fmt.Errorf("%s: %w", rr.f.Name(), ErrRunCorrupt)
	}
	var ds [2]byte
	if _, err := io.ReadFull(rr.r, ds[:]); err != nil {
		return false, fmt.Errorf("%s: %w", rr.f.Name(), ErrRunCorrupt)
	}
	rr.rec = Record{TransferID: string(id), Amount: amount, Direction: Direction(ds[0]), Status: Status(ds[1])}
	return true, nil
}

func (rr *runReader) close() { rr.f.Close() }
