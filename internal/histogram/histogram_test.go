package histogram

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/quick"
)

// reference returns the value of rank ceil(q·n) (at least 1) in sorted.
func reference(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// errorBound is how far Quantile may be from v, the exact answer: half
// the width of v's bucket, rounded up.
func errorBound(v int64) int64 {
	lo, hi := bucketRange(bucketOf(min(v, maxTrackable)))
	return (hi - lo + 1) / 2
}

// buckets returns h's bucket counts, for comparing two histograms.
func buckets(h *Histogram) []uint64 {
	out := make([]uint64, numBuckets)
	for i := range h.counts {
		out[i] = h.counts[i].Load()
	}
	return out
}

func TestBuckets(t *testing.T) {
	// Buckets are contiguous and in order from 0 to maxTrackable, no
	// bucket is wider than 1/subBuckets of its lower bound (beyond the
	// exact ones), and every value falls in the bucket whose bounds hold
	// it.
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], the previous ended at %d", i, lo, hi, prevHi)
		}
		if lo >= 2*subBuckets && float64(hi-lo+1) > float64(lo)/subBuckets {
			t.Fatalf("bucket %d = [%d, %d] is wider than 1/%d", i, lo, hi, subBuckets)
		}
		for _, v := range []int64{lo, hi, midpoint(i)} {
			if got := bucketOf(v); got != i {
				t.Fatalf("value %d: bucket %d, want %d", v, got, i)
			}
		}
		prevHi = hi
	}
	if prevHi != maxTrackable {
		t.Fatalf("the last bucket ends at %d, want %d", prevHi, maxTrackable)
	}
	check := func(v int64) {
		i := bucketOf(v)
		if lo, hi := bucketRange(i); v < lo || v > hi || i < 0 || i >= numBuckets {
			t.Fatalf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
	}
	for v := range int64(100_000) {
		check(v)
	}
	for e := range maxBits {
		for _, d := range []int64{-1, 0, 1} {
			if v := int64(1)<<e + d; v >= 0 && v <= maxTrackable {
				check(v)
			}
		}
	}
}

func TestQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		n    int
		gen  func() int64
	}{
		{"one value", 1, func() int64 { return 12345 }},
		{"constant", 1000, func() int64 { return 777_777 }},
		{"small exact", 10_000, func() int64 { return rng.Int64N(2 * subBuckets) }},
		{"uniform µs to ms", 100_000, func() int64 { return 1_000 + rng.Int64N(10_000_000) }},
		{"exponential latency", 100_000, func() int64 { return int64(rng.ExpFloat64() * 2e6) }},
		{"log-normal around a millisecond", 100_000, func() int64 { return int64(math.Exp(rng.NormFloat64()*0.8) * 1e6) }},
		{"log-normal, wide", 100_000, func() int64 { return int64(math.Exp(rng.NormFloat64()*1.5 + 14)) }},
		{"bimodal with outliers", 50_000, func() int64 {
			switch x := rng.IntN(1000); {
			case x == 0:
				return 2_000_000_000 + rng.Int64N(1_000_000_000) // seconds-long stalls
			case x < 300:
				return 50_000 + rng.Int64N(10_000)
			default:
				return 3_000_000 + rng.Int64N(1_000_000)
			}
		}},
		{"powers of two", 64, func() int64 { return 1 << rng.IntN(maxBits) }},
		{"near maxTrackable", 1000, func() int64 { return maxTrackable - rng.Int64N(1<<30) }},
	}
	quantiles := []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			vals := make([]int64, tc.n)
			var sum int64
			for i := range vals {
				vals[i] = tc.gen()
				sum += vals[i]
				h.Record(vals[i])
			}
			slices.Sort(vals)
			if h.Count() != uint64(tc.n) || h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Fatalf("count/min/max = %d/%d/%d, want %d/%d/%d", h.Count(), h.Min(), h.Max(), tc.n, vals[0], vals[len(vals)-1])
			}
			if h.sum.Load() != sum || math.Abs(h.Mean()-float64(sum)/float64(tc.n)) > 1e-6 {
				t.Errorf("sum %d mean %v, want %d", h.sum.Load(), h.Mean(), sum)
			}
			for _, q := range quantiles {
				got, want := h.Quantile(q), reference(vals, q)
				if want < 2*subBuckets && got != want {
					t.Errorf("q%v = %d, want exactly %d", q, got, want)
				}
				if d := got - want; d > errorBound(want) || -d > errorBound(want) {
					t.Errorf("q%v = %d, want %d ± %d", q, got, want, errorBound(want))
				}
				if rel := math.Abs(float64(got-want)) / float64(max(want, 1)); rel > 0.01 {
					t.Errorf("q%v = %d, want %d ± 1%% (off by %.3f%%)", q, got, want, rel*100)
				}
			}
		})
	}
}

// TestQuantileProperty: for any samples in the tracked range, every
// quantile is within half a bucket of the exact one from a sorted slice,
// and the extremes are exact.
func TestQuantileProperty(t *testing.T) {
	property := func(seed uint64, n uint16, scale uint8, q float64) bool {
		rng := rand.New(rand.NewPCG(seed, 7))
		// Spread the samples over [0, 2^bitsMax), bitsMax between 1 and
		// maxBits, so that small, exact values are drawn as often as
		// large ones.
		bitsMax := 1 + int(scale)%maxBits
		vals := make([]int64, 1+int(n)%5000)
		var h Histogram
		for i := range vals {
			vals[i] = rng.Int64N(int64(1) << bitsMax)
			h.Record(vals[i])
		}
		slices.Sort(vals)
		q = math.Abs(math.Mod(q, 1))
		for _, q := range []float64{0, q, 0.5, 0.99, 1} {
			got, want := h.Quantile(q), reference(vals, q)
			if d := got - want; d > errorBound(want) || -d > errorBound(want) {
				t.Logf("seed %d, %d samples below 2^%d: q%v = %d, want %d ± %d", seed, len(vals), bitsMax, q, got, want, errorBound(want))
				return false
			}
		}
		return h.Quantile(0) == vals[0] && h.Quantile(1) == vals[len(vals)-1]
	}
	if err := quick.Check(property, &quick.Config{MaxCount: 300}); err != nil {
		t.Fatal(err)
	}
}

func TestEdges(t *testing.T) {
	cases := []struct {
		name     string
		record   []int64
		min, max int64
		// quantiles maps q to the answer wanted.
		quantiles map[float64]int64
	}{
		{"empty", nil, 0, 0, map[float64]int64{0: 0, 0.5: 0, 1: 0}},
		{"negative counts as zero", []int64{-5, 0, math.MaxInt64}, 0, math.MaxInt64,
			map[float64]int64{0: 0, 0.5: 0, 1: math.MaxInt64}},
		{"extremes", []int64{-5, math.MaxInt64}, 0, math.MaxInt64,
			map[float64]int64{0: 0, 0.5: 0, 1: math.MaxInt64}},
		// A single sample: every quantile is that sample, not its
		// bucket's midpoint.
		{"single sample", []int64{1_000_003}, 1_000_003, 1_000_003,
			map[float64]int64{0: 1_000_003, 0.5: 1_000_003, 0.99: 1_000_003, 1: 1_000_003}},
		{"beyond the tracked range", []int64{maxTrackable + 1, math.MaxInt64 / 2, math.MaxInt64}, maxTrackable + 1, math.MaxInt64,
			map[float64]int64{0: maxTrackable + 1, 0.5: maxTrackable + 1, 1: math.MaxInt64}},
		{"q out of range", []int64{10, 20, 30}, 10, 30,
			map[float64]int64{-1: 10, 2: 30, math.NaN(): 10, math.Inf(1): 30}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tc.record {
				h.Record(v)
			}
			if h.Count() != uint64(len(tc.record)) || h.Min() != tc.min || h.Max() != tc.max {
				t.Errorf("count/min/max = %d/%d/%d, want %d/%d/%d", h.Count(), h.Min(), h.Max(), len(tc.record), tc.min, tc.max)
			}
			if len(tc.record) == 0 && h.Mean() != 0 {
				t.Errorf("mean %v, want 0", h.Mean())
			}
			for q, want := range tc.quantiles {
				if got := h.Quantile(q); got != want {
					t.Errorf("q%v = %d, want %d", q, got, want)
				}
			}
		})
	}
}

func TestSub(t *testing.T) {
	var h Histogram
	for v := range int64(1000) {
		h.Record(v)
	}
	first := h.Snapshot()
	for v := int64(10_000); v < 11_000; v++ {
		h.Record(v)
	}
	second := h.Snapshot()
	cases := []struct {
		name            string
		window          *Histogram
		count           uint64
		minLow, minHigh int64 // Min is within [minLow, minHigh]
		maxLow, maxHigh int64
		q50Low, q50High int64
	}{
		{name: "interval", window: second.Sub(first), count: 1000,
			minLow: 10_000 - errorBound(10_000), minHigh: 10_000 + errorBound(10_000),
			maxLow: 10_999 - errorBound(10_999), maxHigh: 10_999,
			q50Low: 10_499 - errorBound(10_499), q50High: 10_499 + errorBound(10_499)},
		{name: "from nothing", window: second.Sub(nil), count: 2000,
			minLow: 0, minHigh: 0, maxLow: 10_999, maxHigh: 10_999,
			q50Low: 999 - errorBound(999), q50High: 999 + errorBound(999)},
		{name: "nothing new", window: second.Sub(second), count: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.window
			if w.Count() != tc.count {
				t.Errorf("count %d, want %d", w.Count(), tc.count)
			}
			if got := w.Min(); got < tc.minLow || got > tc.minHigh {
				t.Errorf("min %d, want in [%d, %d]", got, tc.minLow, tc.minHigh)
			}
			if got := w.Max(); got < tc.maxLow || got > tc.maxHigh {
				t.Errorf("max %d, want in [%d, %d]", got, tc.maxLow, tc.maxHigh)
			}
			if got := w.Quantile(0.5); got < tc.q50Low || got > tc.q50High {
				t.Errorf("q50 %d, want in [%d, %d]", got, tc.q50Low, tc.q50High)
			}
			if w.Quantile(0) != w.Min() || w.Quantile(1) != w.Max() {
				t.Errorf("q0 %d q1 %d, want min %d max %d", w.Quantile(0), w.Quantile(1), w.Min(), w.Max())
			}
		})
	}
	// The first snapshot plus the interval is the second, but for the
	// extremes, which the interval knows only to its buckets.
	merged := first.Snapshot()
	merged.Merge(second.Sub(first))
	if merged.Count() != second.Count() || merged.sum.Load() != second.sum.Load() ||
		!slices.Equal(buckets(merged), buckets(second)) {
		t.Errorf("first + interval ≠ second")
	}
}

func TestMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var whole Histogram
	parts := make([]Histogram, 4)
	for i := range 20_000 {
		v := int64(rng.ExpFloat64() * 1e6)
		whole.Record(v)
		parts[i%len(parts)].Record(v)
	}
	var merged Histogram
	merged.Merge(nil)            // merging nothing changes nothing
	merged.Merge(new(Histogram)) // nor does merging an empty histogram
	if merged.Count() != 0 || merged.Min() != 0 || merged.Max() != 0 || merged.Quantile(0) != 0 {
		t.Fatalf("merging empty histograms: count %d min %d max %d", merged.Count(), merged.Min(), merged.Max())
	}
	for i := range parts {
		merged.Merge(&parts[i])
	}
	if merged.Count() != whole.Count() || merged.Min() != whole.Min() || merged.Max() != whole.Max() ||
		merged.Mean() != whole.Mean() || !slices.Equal(buckets(&merged), buckets(&whole)) {
		t.Fatal("merged histogram differs from the one that saw every value")
	}
	for _, q := range []float64{0, 0.5, 0.99, 0.999, 1} {
		if merged.Quantile(q) != whole.Quantile(q) {
			t.Errorf("q%v: merged %d, whole %d", q, merged.Quantile(q), whole.Quantile(q))
		}
	}
}

func TestConcurrent(t *testing.T) {
	// Goroutines record into one histogram while another takes snapshots;
	// when they are done, nothing was lost.
	var h Histogram
	var wg sync.WaitGroup
	done := make(chan struct{})
	snapshots := make(chan int, 1)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				snapshots <- n
				return
			default:
				// A snapshot's extremes hold every sample in its
				// buckets.
				s := h.Snapshot()
				counts := buckets(s)
				first, last := -1, -1
				for i, c := range counts {
					if c != 0 && first < 0 {
						first = i
					}
					if c != 0 {
						last = i
					}
				}
				if first >= 0 {
					if _, hi := bucketRange(first); s.Min() > hi {
						t.Errorf("snapshot: min %d above bucket %d", s.Min(), first)
					}
					if lo, _ := bucketRange(last); s.Max() < lo {
						t.Errorf("snapshot: max %d below bucket %d", s.Max(), last)
					}
				}
				n++
			}
		}
	}()
	for g := range 8 {
		wg.Go(func() {
			for i := range 10_000 {
				h.Record(int64(g*10_000 + i))
			}
		})
	}
	wg.Wait()
	close(done)
	<-snapshots
	var total uint64
	for _, c := range buckets(&h) {
		total += c
	}
	if h.Count() != 80_000 || total != 80_000 || h.Min() != 0 || h.Max() != 79_999 {
		t.Errorf("count %d, buckets %d, min %d, max %d", h.Count(), total, h.Min(), h.Max())
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(int64(i&0xfffff) * 997)
	}
}
