package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// reference returns the value of rank ceil(q·n) (at least 1) in sorted.
func reference(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		n    int
		gen  func() int64
	}{
		{"one value", 1, func() int64 { return 12345 }},
		{"constant", 1000, func() int64 { return 777_777 }},
		{"small exact", 10_000, func() int64 { return rng.Int64N(128) }},
		{"uniform µs to ms", 100_000, func() int64 { return 1_000 + rng.Int64N(10_000_000) }},
		{"exponential latency", 100_000, func() int64 { return int64(rng.ExpFloat64() * 2e6) }},
		{"log-normal latency", 100_000, func() int64 { return int64(math.Exp(rng.NormFloat64()*1.5 + 14)) }},
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
		{"powers of two", 64, func() int64 { return 1 << rng.IntN(42) }},
		{"near maxTrackable", 1000, func() int64 { return maxTrackable - rng.Int64N(1<<30) }},
	}
	quantiles := []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistogram()
			vals := make([]int64, tc.n)
			for i := range vals {
				vals[i] = tc.gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			if h.Count() != uint64(tc.n) || h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Fatalf("count/min/max = %d/%d/%d, want %d/%d/%d", h.Count(), h.Min(), h.Max(), tc.n, vals[0], vals[len(vals)-1])
			}
			for _, q := range quantiles {
				got, want := h.Quantile(q), reference(vals, q)
				if want < subBuckets && got != want {
					t.Errorf("q%v = %d, want exactly %d", q, got, want)
				}
				if rel := math.Abs(float64(got-want)) / float64(max(want, 1)); rel > 0.01 {
					t.Errorf("q%v = %d, want %d ± 1%% (off by %.3f%%)", q, got, want, rel*100)
				}
			}
		})
	}
}

func TestHistogramBuckets(t *testing.T) {
	// Every value lands in a bucket that holds it, and no bucket is wider
	// than 1/subBuckets of its lower bound.
	check := func(v int64) {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi || i < 0 || i >= numBuckets {
			t.Fatalf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if lo >= subBuckets && float64(hi-lo+1)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d = [%d, %d] is too wide", i, lo, hi)
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
	if i := bucketOf(maxTrackable); i != numBuckets-1 {
		t.Fatalf("maxTrackable in bucket %d of %d", i, numBuckets)
	}
}

func TestHistogramMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	whole := NewHistogram()
	parts := []*Histogram{NewHistogram(), NewHistogram(), NewHistogram(), NewHistogram()}
	for i := range 20_000 {
		v := int64(rng.ExpFloat64() * 1e6)
		whole.Record(v)
		parts[i%len(parts)].Record(v)
	}
	merged := NewHistogram()
	merged.Merge(NewHistogram()) // merging an empty one changes nothing
	for _, p := range parts {
		merged.Merge(p)
	}
	if merged.Count() != whole.Count() || merged.Min() != whole.Min() || merged.Max() != whole.Max() ||
		!slices.Equal(merged.counts, whole.counts) {
		t.Fatal("merged histogram differs from the one that saw every value")
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if merged.Quantile(q) != whole.Quantile(q) {
			t.Errorf("q%v: merged %d, whole %d", q, merged.Quantile(q), whole.Quantile(q))
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram: want zeros")
	}
	h.Record(-5) // counts as zero
	h.Record(math.MaxInt64)
	if h.Min() != 0 || h.Max() != math.MaxInt64 || h.Quantile(1) != math.MaxInt64 || h.Quantile(0) != 0 {
		t.Fatalf("min %d max %d q1 %d q0 %d", h.Min(), h.Max(), h.Quantile(1), h.Quantile(0))
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	for i := range b.N {
		h.Record(int64(i&0xfffff) * 997)
	}
}
