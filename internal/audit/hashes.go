package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"syscall"

	"golang.org/x/mod/sumdb/tlog"
)

// hashStore keeps the Merkle tree's stored hashes — tlog.StoredHashes of
// every leaf, in tlog.StoredHashIndex order — in an append-only file:
// hash i is the 32 bytes at offset 32·i. Written through a buffer and
// made durable (fdatasync) when a checkpoint is signed; anything after
// the last checkpoint can be recomputed from the ledger's events, so a
// crash can only cost time, never correctness.
//
// It is not safe for concurrent use: Log serialises access.
type hashStore struct {
	f     *os.File
	path  string
	n     int64  // leaves whose stored hashes are in the file or in buf
	count int64  // stored hashes written to the file
	buf   []byte // stored hashes not yet written, following count

	// frontier caches, per level, the newest stored hash of that level:
	// the left siblings that the next leaves complete, and the subtrees
	// of the current tree's root. With it appending reads nothing back.
	frontier [64]frontierHash
}

type frontierHash struct {
	index int64
	hash  tlog.Hash
	ok    bool
}

var _ tlog.HashReader = (*hashStore)(nil)

// leavesIn returns the most leaves whose stored hashes fit in count
// stored hashes: a file cut anywhere holds the hashes of that many
// whole leaves and a torn remainder.
func leavesIn(count int64) int64 {
	// StoredHashCount(n) ≥ n, so n ≤ count; it is monotonic.
	return int64(sort.Search(int(count)+1, func(n int) bool { return tlog.StoredHashCount(int64(n)) > count })) - 1
}

// openHashStore opens (creating) the file at path and cuts it to the
// stored hashes of at most maxLeaves whole leaves.
func openHashStore(path string, maxLeaves int64) (*hashStore, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	n := min(leavesIn(st.Size()/tlog.HashSize), maxLeaves)
	count := tlog.StoredHashCount(n)
	if st.Size() != count*tlog.HashSize {
		// A torn write, or hashes past the last durable checkpoint that
		// a crash may have left half written: recomputed from the events.
		if err := f.Truncate(count * tlog.HashSize); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: cut %s: %w", path, err)
		}
	}
	return &hashStore{f: f, path: path, n: n, count: count}, nil
}

// appendLeaf adds the leaf with record hash h as leaf s.n.
func (s *hashStore) appendLeaf(h tlog.Hash) error {
	var stack [64]tlog.Hash
	hashes, ok := s.storedHashes(h, stack[:0])
	if !ok {
		var err error
		if hashes, err = tlog.StoredHashesForRecordHash(s.n, h, s); err != nil {
			return fmt.Errorf("audit: hash leaf %d: %w", s.n, err)
		}
	}
	start := s.count + int64(len(s.buf))/tlog.HashSize
	if want := tlog.StoredHashIndex(0, s.n); start != want {
		return fmt.Errorf("audit: leaf %d: stored hashes at %d, want %d", s.n, start, want)
	}
	// The i-th hash StoredHashes returns is the new node of level i.
	for i, x := range hashes {
		s.buf = append(s.buf, x[:]...)
		s.frontier[i] = frontierHash{index: start + int64(i), hash: x, ok: true}
	}
	s.n++
	return nil
}

// storedHashes computes what tlog.StoredHashesForRecordHash does for the
// next leaf, from the frontier alone and into dst: the leaf hash, then
// one new node per level for as long as the new node is a right child,
// hashed with its left sibling, which is the newest stored hash of that
// level. It runs for every ledger event, where tlog's version would
// allocate twice; it reports false if the frontier lacks a sibling
// (which a test checks never happens), and appendLeaf then asks tlog.
func (s *hashStore) storedHashes(h tlog.Hash, dst []tlog.Hash) ([]tlog.Hash, bool) {
	dst = append(dst, h)
	for level, n := 0, s.n; n&1 == 1; level, n = level+1, n>>1 {
		f := &s.frontier[level]
		if !f.ok || f.index != tlog.StoredHashIndex(level, n-1) {
			return dst, false
		}
		h = tlog.NodeHash(f.hash, h)
		dst = append(dst, h)
	}
	return dst, true
}

// ReadHashes implements tlog.HashReader: from the frontier cache, the
// write buffer or the file.
func (s *hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	total := s.count + int64(len(s.buf))/tlog.HashSize
next:
	for i, x := range indexes {
		if x < 0 || x >= total {
			return nil, fmt.Errorf("audit: stored hash %d of %d: %w", x, total, ErrNotFound)
		}
		for l := range s.frontier {
			if f := &s.frontier[l]; f.ok && f.index == x {
				out[i] = f.hash
				continue next
			}
		}
		if x >= s.count {
			copy(out[i][:], s.buf[(x-s.count)*tlog.HashSize:])
			continue
		}
		if _, err := s.f.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("audit: read %s at hash %d: %w", s.path, x, err)
		}
	}
	return out, nil
}

// flush writes the buffer to the file, without waiting for the disk.
func (s *hashStore) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.f.WriteAt(s.buf, s.count*tlog.HashSize); err != nil {
		return fmt.Errorf("audit: write %s: %w", s.path, err)
	}
	s.count += int64(len(s.buf)) / tlog.HashSize
	s.buf = s.buf[:0]
	return nil
}

// sync flushes and waits until the file is on disk.
func (s *hashStore) sync() error {
	if err := s.flush(); err != nil {
		return err
	}
	if err := syscall.Fdatasync(int(s.f.Fd())); err != nil {
		return fmt.Errorf("audit: sync %s: %w", s.path, err)
	}
	return nil
}

func (s *hashStore) close() error {
	err := s.sync()
	return errors.Join(err, s.f.Close())
}

// frontierReader is a tlog.HashReader over the frontier only: enough to
// append leaves and to hash the current tree, which is all that
// verification, streaming through the events, needs.
type frontierReader struct {
	frontier [64]frontierHash
	n        int64
	next     int64 // stored hashes so far
}

func (r *frontierReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
next:
	for i, x := range indexes {
		for l := range r.frontier {
			if f := &r.frontier[l]; f.ok && f.index == x {
				out[i] = f.hash
				continue next
			}
		}
		return nil, fmt.Errorf("audit: stored hash %d is not on the frontier", x)
	}
	return out, nil
}

// add appends a leaf and returns its stored hashes, in file order.
func (r *frontierReader) add(h tlog.Hash) ([]tlog.Hash, error) {
	hashes, err := tlog.StoredHashesForRecordHash(r.n, h, r)
	if err != nil {
		return nil, err
	}
	for i, x := range hashes {
		r.frontier[i] = frontierHash{index: r.next + int64(i), hash: x, ok: true}
	}
	r.next += int64(len(hashes))
	r.n++
	return hashes, nil
}

// readFull reads len(b) bytes at off, or reports how many there were.
func readFull(r io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return n, nil
	}
	return n, err
}
