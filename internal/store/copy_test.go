package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/store"
	"github.com/hulian/hulian/internal/store/storetest"
)

// copyLog copies the log of src as measured into a new data directory
// and returns it with what was copied.
func copyLog(t *testing.T, src string, measured []store.SegmentFile) (string, store.CopyStats, error) {
	t.Helper()
	segs, err := store.LogPrefix(src, measured)
	if err != nil {
		return "", store.CopyStats{}, err
	}
	dst := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dst, "ledger"), 0o750); err != nil {
		t.Fatal(err)
	}
	total := store.CopyStats{Next: 1}
	for _, s := range segs {
		var buf bytes.Buffer
		st, err := store.CopySegment(&buf, src, s, total.Next)
		if err != nil {
			return "", total, err
		}
		if int64(buf.Len()) != s.Size {
			t.Fatalf("%s: copied %d bytes of %d", s.Name, buf.Len(), s.Size)
		}
		if err := os.WriteFile(filepath.Join(dst, "ledger", s.Name), buf.Bytes(), 0o640); err != nil {
			t.Fatal(err)
		}
		total.Batches += st.Batches
		total.Events += st.Events
		total.Next = st.Next
	}
	return dst, total, nil
}

// replayAll reopens a data directory and returns its batches.
func replayAll(t *testing.T, dir string) []ledger.Committed {
	t.Helper()
	l, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out []ledger.Committed
	err = l.Replay(context.Background(), func(c *ledger.Committed) error {
		out = append(out, ledger.Committed{Seq: c.Seq, Now: c.Now, Events: append([]ledger.Event(nil), c.Events...)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// samePrefix checks that got is the first len(got) batches of want.
func samePrefix(t *testing.T, got, want []ledger.Committed) {
	t.Helper()
	if len(got) > len(want) {
		t.Fatalf("%d batches copied, the log has %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Now != w.Now || len(g.Events) != len(w.Events) {
			t.Fatalf("batch %d: seq %d now %d %d events; want seq %d now %d %d events", i, g.Seq, g.Now, len(g.Events), w.Seq, w.Now, len(w.Events))
		}
		for k := range g.Events {
			if !bytes.Equal(g.Events[k].AppendBinary(nil), w.Events[k].AppendBinary(nil)) {
				t.Fatalf("batch %d event %d differs", g.Seq, k)
			}
		}
	}
}

// A copy of a stopped log is the log, whatever a crash left at its end:
// a torn last frame is left out, as Replay would cut it.
func TestCopyLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts store.Options
		tear func(path string, size int64) error
		lost int
	}{
		{"whole", store.Options{}, nil, 0},
		{"many segments", store.Options{SegmentBytes: 2048}, nil, 0},
		{"cut inside the last frame", store.Options{SegmentBytes: 2048}, func(p string, size int64) error { return os.Truncate(p, size-50) }, 1},
		{"cut inside the last header", store.Options{}, func(p string, size int64) error { return os.Truncate(p, size-ledger.EventFixedSize-30) }, 1},
		{"zeros after the end", store.Options{}, func(p string, size int64) error {
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
			src := t.TempDir()
			batches := fill(t, src, tc.opts, 40)
			if tc.tear != nil {
				segs := segments(t, src)
				last := segs[len(segs)-1]
				fi, err := os.Stat(last)
				if err != nil {
					t.Fatal(err)
				}
				if err := tc.tear(last, fi.Size()); err != nil {
					t.Fatal(err)
				}
			}
			m, err := store.MeasureLog(src)
			if err != nil {
				t.Fatal(err)
			}
			dst, st, err := copyLog(t, src, m)
			if err != nil {
				t.Fatal(err)
			}
			want := len(batches) - tc.lost
			var events int64
			for _, b := range batches[:want] {
				events += int64(len(b.Events))
			}
			if st.Batches != uint64(want) || st.Events != events || st.Next != uint64(want)+1 {
				t.Fatalf("copied %+v; want %d batches, %d events", st, want, events)
			}
			got := replayAll(t, dst)
			if len(got) != want {
				t.Fatalf("the copy replays %d batches, want %d", len(got), want)
			}
			samePrefix(t, got, batches)
		})
	}
}

// A copy made while batches are appended is a prefix of the log that
// Replay accepts, and holds every batch appended before it was measured.
func TestCopyLogWhileAppending(t *testing.T) {
	src := t.TempDir()
	opts := store.Options{SegmentBytes: 8 << 10}
	batches := storetest.Workload(11, 400)
	l, err := store.Open(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Replay(context.Background(), func(*ledger.Committed) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	appended := 0
	done := make(chan error, 1)
	go func() {
		for i := range batches {
			if err := l.Append(context.Background(), batchPtrs(batches[i:i+1])); err != nil {
				done <- err
				return
			}
			mu.Lock()
			appended = i + 1
			mu.Unlock()
		}
		done <- nil
	}()
	copies := 0
	for finished := false; !finished; copies++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		mu.Lock()
		before := appended
		mu.Unlock()
		m, err := store.MeasureLog(src)
		if err != nil {
			t.Fatal(err)
		}
		dst, st, err := copyLog(t, src, m)
		if err != nil {
			t.Fatalf("copy %d: %v", copies, err)
		}
		if st.Batches < uint64(before) {
			t.Fatalf("copy %d holds %d batches; %d were appended before it was measured", copies, st.Batches, before)
		}
		samePrefix(t, replayAll(t, dst), batches)
	}
	t.Logf("%d copies", copies)
}

// Damage that a crash cannot leave fails the copy rather than dropping
// what follows it.
func TestCopyLogCorrupt(t *testing.T) {
	flip := func(t *testing.T, path string, off int64) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[off] ^= 0x40
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		opts   store.Options
		damage func(t *testing.T, segs []string)
	}{
		{"middle of the last segment", store.Options{}, func(t *testing.T, segs []string) { flip(t, segs[len(segs)-1], 300) }},
		{"earlier segment", store.Options{SegmentBytes: 2048}, func(t *testing.T, segs []string) {
			fi, _ := os.Stat(segs[1])
			flip(t, segs[1], fi.Size()-10)
		}},
		{"missing segment", store.Options{SegmentBytes: 2048}, func(t *testing.T, segs []string) { os.Remove(segs[1]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			fill(t, src, tc.opts, 40)
			segs := segments(t, src)
			tc.damage(t, segs)
			m, err := store.MeasureLog(src)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := copyLog(t, src, m); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("copy: %v; want ErrCorrupt", err)
			}
		})
	}
}
