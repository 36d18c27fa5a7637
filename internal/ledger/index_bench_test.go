package ledger

import (
	"encoding/binary"
	"runtime"
	"slices"
	"testing"
	"time"
)

// The index benchmarks insert fresh ids numbered like BenchmarkApply's,
// so that they measure the index alone on the path Apply takes for a new
// one-phase transfer: a lookup that misses, then an insert, then settle,
// which Apply calls after each command and which moves entries to the
// frozen tier every migrateEvery inserts.

func benchID(n uint64) ID {
	var id ID
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

func BenchmarkIndexInsert(b *testing.B) {
	x := newIDIndex()
	b.ReportAllocs()
	for n := uint64(1); n <= uint64(b.N); n++ {
		id := benchID(n)
		r, ok := x.find(id)
		if !ok {
			x.insert(r, id, entry{sum: n, ts: int64(n)})
		}
		x.settle()
	}
}

// BenchmarkMapInsert is BenchmarkIndexInsert on the Go map the index
// replaced, for comparison.
func BenchmarkMapInsert(b *testing.B) {
	m := make(map[ID]entry)
	b.ReportAllocs()
	for n := uint64(1); n <= uint64(b.N); n++ {
		id := benchID(n)
		if _, ok := m[id]; !ok {
			m[id] = entry{sum: n, ts: int64(n)}
		}
	}
}

// BenchmarkIndexGet looks up ids present in an index of 10 million.
func BenchmarkIndexGet(b *testing.B) {
	const size = 10_000_000
	x := newIDIndex()
	for n := uint64(1); n <= size; n++ {
		x.put(benchID(n), entry{ts: int64(n)})
		x.settle()
	}
	b.ResetTimer()
	for i := range uint64(b.N) {
		n := 1 + (i*0x9e3779b97f4a7c15)%size
		if e, ok := x.get(benchID(n)); !ok || e.ts != int64(n) {
			b.Fatalf("id %d: %+v %v", n, e, ok)
		}
	}
}

// BenchmarkIndexMemory reports the live heap per entry at sizes around
// 10 million, for the index and for the Go map. It does the same work
// whatever b.N is, so its ns/op means nothing.
func BenchmarkIndexMemory(b *testing.B) {
	for _, kind := range []string{"index", "map"} {
		b.Run(kind, func(b *testing.B) {
			if b.N > 1 {
				b.Skip("runs once")
			}
			{
				var x idIndex
				var m map[ID]entry
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				base := ms.HeapAlloc
				if kind == "index" {
					x = newIDIndex()
				} else {
					m = make(map[ID]entry)
				}
				n := uint64(0)
				for _, size := range []uint64{8_000_000, 9_000_000, 10_000_000, 11_000_000, 12_000_000} {
					for ; n < size; n++ {
						if kind == "index" {
							x.put(benchID(n+1), entry{ts: int64(n)})
							x.settle()
						} else {
							m[benchID(n+1)] = entry{ts: int64(n)}
						}
					}
					runtime.GC()
					runtime.ReadMemStats(&ms)
					per := float64(ms.HeapAlloc-base) / float64(size)
					b.Logf("%s %d entries: %.1f B/entry", kind, size, per)
					if size == 10_000_000 {
						b.ReportMetric(per, "B/entry@10M")
					}
				}
				runtime.KeepAlive(m)
				runtime.KeepAlive(&x)
			}
		})
	}
}

// BenchmarkIndexPause inserts 10 million fresh ids in runs of BatchMax,
// the most one batch inserts, and reports the slowest run and the 99.9th
// percentile, for the index and for the Go map: growth must not stall a
// batch. Like BenchmarkIndexMemory it ignores b.N.
func BenchmarkIndexPause(b *testing.B) {
	for _, kind := range []string{"index", "map"} {
		b.Run(kind, func(b *testing.B) {
			if b.N > 1 {
				b.Skip("runs once")
			}
			x := newIDIndex()
			m := make(map[ID]entry)
			var runs []time.Duration
			n := uint64(0)
			for range 10_000_000 / BatchMax {
				start := time.Now()
				for range BatchMax {
					n++
					id := benchID(n)
					if kind == "index" {
						if r, ok := x.find(id); !ok {
							x.insert(r, id, entry{ts: int64(n)})
						}
						x.settle()
					} else if _, ok := m[id]; !ok {
						m[id] = entry{ts: int64(n)}
					}
				}
				runs = append(runs, time.Since(start))
			}
			slices.Sort(runs)
			b.ReportMetric(float64(runs[len(runs)-1].Microseconds()), "max-µs/batch")
			b.ReportMetric(float64(runs[len(runs)*999/1000].Microseconds()), "p99.9-µs/batch")
			b.ReportMetric(float64(runs[len(runs)/2].Microseconds()), "median-µs/batch")
		})
	}
}
