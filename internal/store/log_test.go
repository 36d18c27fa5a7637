package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/store"
	"github.com/hulian/hulian/internal/store/storetest"
)

func opener(dir string, opts store.Options) storetest.Opener {
	return func(t *testing.T) journal.Store {
		l, err := store.Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener { return opener(t.TempDir(), store.Options{}) })
}

// With tiny segments every test also crosses many segment boundaries.
func TestConformanceSmallSegments(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		return opener(t.TempDir(), store.Options{SegmentBytes: 4096})
	})
}

func batchPtrs(cs []ledger.Committed) []*ledger.Committed {
	out := make([]*ledger.Committed, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
}

// fill writes batches into a fresh log in dir and returns them.
func fill(t *testing.T, dir string, opts store.Options, n int) []ledger.Committed {
	t.Helper()
	batches := storetest.Workload(7, n)
	l, err := store.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Replay(context.Background(), func(*ledger.Committed) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for i := range batches {
		if err := l.Append(context.Background(), batchPtrs(batches[i:i+1])); err != nil {
			t.Fatal(err)
		}
	}
	return batches
}

func reopen(dir string, opts store.Options) (*store.Log, []uint64, error) {
	l, err := store.Open(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	var seqs []uint64
	err = l.Replay(context.Background(), func(c *ledger.Committed) error {
		seqs = append(seqs, c.Seq)
		return nil
	})
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	return l, seqs, nil
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "ledger", "*.seg"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no segments: %v", err)
	}
	slices.Sort(m)
	return m
}

// A crash in the middle of a write leaves part of the last frame, or
// garbage after it: replay cuts it off, keeps every whole batch, and
// appending carries on.
func TestTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(path string, size int64) error
		lost int
	}{
		{"cut inside the last frame", func(p string, size int64) error { return os.Truncate(p, size-50) }, 1},
		{"cut inside the last header", func(p string, size int64) error { return os.Truncate(p, size-ledger.EventFixedSize*1-30) }, 1},
		{"zeros after the end", func(p string, size int64) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write(make([]byte, 4096))
			return err
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			batches := fill(t, dir, store.Options{}, 40)
			seg := segments(t, dir)[0]
			fi, err := os.Stat(seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.tear(seg, fi.Size()); err != nil {
				t.Fatal(err)
			}
			l, seqs, err := reopen(dir, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if want := len(batches) - tc.lost; len(seqs) != want {
				l.Close()
				t.Fatalf("replayed %d batches, want %d", len(seqs), want)
			}
			// Append continues after the cut, and all of it reads back.
			rest := batches[len(seqs):]
			if err := l.Append(context.Background(), batchPtrs(rest)); err != nil {
				t.Fatal(err)
			}
			l.Close()
			l, seqs, err = reopen(dir, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if len(seqs) != len(batches) {
				t.Fatalf("after re-append: %d batches, want %d", len(seqs), len(batches))
			}
		})
	}
}

// Damage anywhere but a torn end is corruption: the log refuses to open
// instead of silently dropping acknowledged batches.
func TestCorruption(t *testing.T) {
	flip := func(path string, off int64) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[off] ^= 0x40
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("middle of the last segment", func(t *testing.T) {
		dir := t.TempDir()
		fill(t, dir, store.Options{}, 40)
		flip(segments(t, dir)[0], 300)
		if _, _, err := reopen(dir, store.Options{}); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("reopen: %v", err)
		}
	})
	t.Run("earlier segment", func(t *testing.T) {
		dir := t.TempDir()
		opts := store.Options{SegmentBytes: 2048}
		fill(t, dir, opts, 40)
		segs := segments(t, dir)
		if len(segs) < 3 {
			t.Fatalf("only %d segments", len(segs))
		}
		fi, _ := os.Stat(segs[1])
		flip(segs[1], fi.Size()-10) // the end of a segment that is not the last
		if _, _, err := reopen(dir, opts); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("reopen: %v", err)
		}
	})
	t.Run("missing segment", func(t *testing.T) {
		dir := t.TempDir()
		opts := store.Options{SegmentBytes: 2048}
		fill(t, dir, opts, 40)
		segs := segments(t, dir)
		os.Remove(segs[1])
		if _, _, err := reopen(dir, opts); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("reopen: %v", err)
		}
	})
	t.Run("stray file", func(t *testing.T) {
		dir := t.TempDir()
		fill(t, dir, store.Options{}, 3)
		os.WriteFile(filepath.Join(dir, "ledger", "7.seg"), nil, 0o640)
		if _, _, err := reopen(dir, store.Options{}); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("reopen: %v", err)
		}
	})
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	a, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(dir, store.Options{}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	a.Close()
	b, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	b.Close()
}

func TestAppendBeforeReplay(t *testing.T) {
	l, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b := storetest.Workload(1, 2)
	if err := l.Append(context.Background(), batchPtrs(b[:1])); !errors.Is(err, store.ErrNotReplayed) {
		t.Fatalf("append before replay: %v", err)
	}
}

// FuzzReplay feeds arbitrary bytes as the log's only segment: replay
// must never panic, and whatever it accepts must be whole batches.
func FuzzReplay(f *testing.F) {
	dir := f.TempDir()
	l, err := store.Open(dir, store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := l.Replay(context.Background(), func(*ledger.Committed) error { return nil }); err != nil {
		f.Fatal(err)
	}
	if err := l.Append(context.Background(), batchPtrs(storetest.Workload(5, 5))); err != nil {
		f.Fatal(err)
	}
	l.Close()
	seg, _ := filepath.Glob(filepath.Join(dir, "ledger", "*.seg"))
	valid, _ := os.ReadFile(seg[0])
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add([]byte("HLB1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "ledger"), 0o750)
		if err := os.WriteFile(filepath.Join(dir, "ledger", "00000000000000000001.seg"), b, 0o640); err != nil {
			t.Fatal(err)
		}
		l, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		_ = l.Replay(context.Background(), func(c *ledger.Committed) error {
			if len(c.Events) == 0 {
				t.Fatal("empty batch replayed")
			}
			return nil
		})
	})
}
