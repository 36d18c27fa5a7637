package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestBuckets(t *testing.T) {
	// Every value falls in the bucket whose bounds hold it, buckets are
	// contiguous and in order, and the width of a bucket is at most 1/32
	// of its lower bound (beyond the exact ones).
	prevHi := int64(-1)
	for i := range histBuckets {
		lo, hi := bucketBounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, the previous ended at %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d: [%d, %d]", i, lo, hi)
		}
		if lo >= 2*subBuckets && float64(hi-lo+1) > float64(lo)/subBuckets {
			t.Fatalf("bucket %d: [%d, %d] wider than 1/%d", i, lo, hi, subBuckets)
		}
		for _, v := range []int64{lo, hi, lo + (hi-lo)/2} {
			if got := bucketOf(v); got != i {
				t.Fatalf("value %d: bucket %d, want %d", v, got, i)
			}
		}
		prevHi = hi
	}
	if prevHi != math.MaxInt64 {
		t.Fatalf("the last bucket ends at %d", prevHi)
	}
}

func TestQuantiles(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 100_000)
	for i := range vals {
		// Latency-like: log-normal around a millisecond.
		vals[i] = int64(math.Exp(rng.NormFloat64()*0.8) * 1e6)
		h.Record(vals[i])
	}
	slices.Sort(vals)
	s := h.Snapshot()
	if s.Count != uint64(len(vals)) || s.Max != vals[len(vals)-1] {
		t.Fatalf("count %d max %d, want %d %d", s.Count, s.Max, len(vals), vals[len(vals)-1])
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := s.Quantile(q)
		// The answer is the upper bound of the exact value's bucket.
		if got < want || float64(got-want) > float64(want)/subBuckets {
			t.Errorf("q%v: %d, exact %d", q, got, want)
		}
	}
	var sum int64
	for _, v := range vals {
		sum += v
	}
	if s.Sum != sum || math.Abs(s.Mean()-float64(sum)/float64(len(vals))) > 1e-6 {
		t.Errorf("sum %d mean %v, want %d", s.Sum, s.Mean(), sum)
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	s := h.Snapshot()
	if s.Quantile(0.5) != 0 || s.Mean() != 0 {
		t.Fatal("empty histogram: want zeros")
	}
	h.Record(-5) // counts as zero
	h.Record(0)
	h.Record(math.MaxInt64)
	s = h.Snapshot()
	if s.Quantile(0.5) != 0 || s.Quantile(1) != math.MaxInt64 || s.Max != math.MaxInt64 {
		t.Errorf("q50 %d, q100 %d, max %d", s.Quantile(0.5), s.Quantile(1), s.Max)
	}
	// A single sample: every quantile is that sample, not its bucket's
	// upper bound.
	var one Histogram
	one.Record(1_000_003)
	o := one.Snapshot()
	if o.Quantile(0.5) != 1_000_003 || o.Quantile(0.99) != 1_000_003 {
		t.Errorf("single sample: q50 %d q99 %d", o.Quantile(0.5), o.Quantile(0.99))
	}
}

func TestSnapshotSubMerge(t *testing.T) {
	var h Histogram
	for v := range int64(1000) {
		h.Record(v)
	}
	first := h.Snapshot()
	for v := int64(10_000); v < 11_000; v++ {
		h.Record(v)
	}
	second := h.Snapshot()
	window := second.Sub(&first)
	if window.Count != 1000 || window.Quantile(0) < 10_000 {
		t.Errorf("window: count %d, min %d", window.Count, window.Quantile(0))
	}
	merged := first
	merged.Merge(&window)
	if merged.Count != second.Count || merged.Sum != second.Sum || merged.Counts != second.Counts {
		t.Errorf("first + window ≠ second")
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10_000 {
				h.Record(int64(g*10_000 + i))
			}
		})
	}
	wg.Wait()
	s := h.Snapshot()
	var total uint64
	for _, c := range s.Counts {
		total += c
	}
	if s.Count != 80_000 || total != 80_000 || s.Max != 79_999 {
		t.Errorf("count %d, buckets %d, max %d", s.Count, total, s.Max)
	}
}
