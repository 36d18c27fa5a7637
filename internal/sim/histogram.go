package sim

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram is log-linear, as HdrHistogram is: values below 2·subBuckets
// have a bucket each, and every power of two above is split into
// subBuckets equal buckets. With 32 sub-buckets a recorded value is known
// to within 1/32 (about 3 %) at any magnitude, from nanoseconds to
// centuries, in a fixed 1,888 counters: memory does not grow with the
// number of samples, which is what a load generator that runs for hours
// needs.
const (
	subBits     = 5
	subBuckets  = 1 << subBits
	histBuckets = (63-subBits)*subBuckets + subBuckets // the index of MaxInt64, plus one
)

// bucketOf returns the index of the bucket that holds v (v ≥ 0).
func bucketOf(v int64) int {
	u := uint64(v)
	if u < 2*subBuckets {
		return int(u)
	}
	e := bits.Len64(u) - (subBits + 1) // ≥ 1: how far the top subBits+1 bits are shifted
	return e*subBuckets + int(u>>e)
}

// bucketBounds returns the smallest and largest value of bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < 2*subBuckets {
		return int64(i), int64(i)
	}
	e := i/subBuckets - 1
	m := int64(i%subBuckets + subBuckets)
	lo = m << e
	return lo, lo + (int64(1) << e) - 1
}

// Histogram records non-negative values (here: latencies in nanoseconds)
// from many goroutines at once, without a lock: each bucket is an atomic
// counter. Read it with Snapshot.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	count  atomic.Uint64
	sum    atomic.Int64
	max    atomic.Int64
}

// Record adds one value; negative values count as zero.
func (h *Histogram) Record(v int64) {
	v = max(v, 0)
	h.counts[bucketOf(v)].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// RecordDuration adds one duration.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Snapshot copies the histogram. Samples recorded during the copy may or
// may not be in it, and Count may differ from the buckets' total by those
// few: the figures are statistics, not accounts.
func (h *Histogram) Snapshot() HistogramSnapshot {
	var s HistogramSnapshot
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	s.Count = h.count.Load()
	s.Sum = h.sum.Load()
	s.Max = h.max.Load()
	return s
}

// HistogramSnapshot is a histogram's state at one moment. Subtracting an
// earlier snapshot of the same histogram gives the interval between them
// (Max stays the maximum since the start: it cannot be subtracted).
type HistogramSnapshot struct {
	Counts [histBuckets]uint64
	Count  uint64
	Sum    int64
	Max    int64
}

// Sub returns the samples recorded after prev.
func (s *HistogramSnapshot) Sub(prev *HistogramSnapshot) HistogramSnapshot {
	out := *s
	for i := range out.Counts {
		out.Counts[i] -= prev.Counts[i]
	}
	out.Count -= prev.Count
	out.Sum -= prev.Sum
	return out
}

// Merge adds o's samples to s.
func (s *HistogramSnapshot) Merge(o *HistogramSnapshot) {
	for i := range s.Counts {
		s.Counts[i] += o.Counts[i]
	}
	s.Count += o.Count
	s.Sum += o.Sum
	s.Max = max(s.Max, o.Max)
}

// Quantile returns the value below or at which a fraction q (0…1) of the
// samples lie: the upper bound of the bucket holding that rank, which
// overstates it by at most 1/32, and never more than Max. It is 0 for an
// empty snapshot.
func (s *HistogramSnapshot) Quantile(q float64) int64 {
	var total uint64
	for _, c := range s.Counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range s.Counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			if s.Max > 0 {
				hi = min(hi, s.Max)
			}
			return hi
		}
	}
	return s.Max
}

// QuantileDuration is Quantile for durations.
func (s *HistogramSnapshot) QuantileDuration(q float64) time.Duration {
	return time.Duration(s.Quantile(q))
}

// Mean returns the average sample, 0 for an empty snapshot.
func (s *HistogramSnapshot) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.Count)
}
