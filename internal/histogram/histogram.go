// Package histogram owns Histogram, the log-linear latency histogram that
// the simulator (sim) and the load generator (loadgen) record into: a
// fixed amount of memory whatever the number of samples, a bounded
// relative error at any magnitude, and recording from many goroutines
// without a lock.
package histogram

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The layout is log-linear, as in HdrHistogram: values below 2·subBuckets
// have a bucket each, and every power of two above is split into
// subBuckets equal buckets. A bucket is then at most 1/subBuckets of its
// lower bound wide, and its midpoint is within 1/(2·subBuckets) ≈ 0.4 %
// of any value in it.
const (
	subBits    = 7
	subBuckets = 1 << subBits // 128: ≤ 0.79 % bucket width, ≤ 0.4 % error at the midpoint
	// maxBits bounds the tracked range to 2^42 ns ≈ 73 minutes, far above
	// any request latency, so that a histogram is 36 KiB of counters (a
	// load generator keeps one per worker and operation). Larger values
	// are counted in the last bucket; the exact extremes are kept aside.
	maxBits      = 42
	maxTrackable = int64(1)<<maxBits - 1
	numBuckets   = (maxBits - subBits + 1) * subBuckets
)

// bucketOf returns the index of the bucket that holds v, which must be in
// [0, maxTrackable].
func bucketOf(v int64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1) // ≥ 1: how far the top subBits+1 bits lie from bit 0
	return shift*subBuckets + int(v>>shift)
}

// bucketRange returns the smallest and the largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < 2*subBuckets {
		return int64(i), int64(i)
	}
	shift := i/subBuckets - 1
	lo = int64(i%subBuckets+subBuckets) << shift
	return lo, lo + int64(1)<<shift - 1
}

// midpoint returns the value that stands for every value of bucket i: the
// middle halves the worst-case error of either bound.
func midpoint(i int) int64 {
	lo, hi := bucketRange(i)
	return lo + (hi-lo)/2
}

// Histogram counts non-negative int64 values (latencies in nanoseconds, as
// a rule) in log-linear buckets. Every counter is atomic, so any number of
// goroutines may Record into one Histogram at once without a lock; a
// worker that records alone into its own pays only for uncontended
// atomics, and its histograms are added up with Merge.
//
// The zero value is an empty histogram ready for use. A Histogram must not
// be copied; Snapshot makes a copy.
//
// Read a histogram that others are still recording into through Snapshot:
// the figures of a live histogram may then be a few samples apart from
// one another (Count and the buckets' total, say). They are statistics,
// not accounts.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	count  atomic.Uint64
	// sum serves the mean only; it wraps after 2^63 (292 years of
	// nanoseconds in total), which no run comes near.
	sum atomic.Int64
	// lowest holds math.MaxInt64 − the smallest value, so that the zero
	// value means "none yet" and one raise serves both extremes.
	lowest  atomic.Int64
	highest atomic.Int64
}

// raise sets a to v if v is greater, whoever else is raising it.
func raise(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// Record adds one value; a negative value counts as zero.
func (h *Histogram) Record(v int64) {
	v = max(v, 0)
	// The extremes go first and Snapshot reads them last, so that a
	// snapshot's extremes hold every sample in its buckets.
	raise(&h.lowest, math.MaxInt64-v)
	raise(&h.highest, v)
	h.counts[bucketOf(min(v, maxTrackable))].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
}

// RecordDuration adds one duration.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds o's samples to h; a nil o adds nothing.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil {
		return
	}
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.count.Add(o.count.Load())
	h.sum.Add(o.sum.Load())
	raise(&h.lowest, o.lowest.Load())
	raise(&h.highest, o.highest.Load())
}

// Snapshot returns a copy of h, for reading while others record into h or
// for subtracting from a later snapshot. Samples recorded during the copy
// may or may not be in it.
func (h *Histogram) Snapshot() *Histogram {
	s := new(Histogram)
	for i := range h.counts {
		s.counts[i].Store(h.counts[i].Load())
	}
	s.count.Store(h.count.Load())
	s.sum.Store(h.sum.Load())
	s.lowest.Store(h.lowest.Load())
	s.highest.Store(h.highest.Load())
	return s
}

// Sub returns the samples of h that are not in prev, an earlier snapshot
// of the same histogram (nil: none): the interval between the two.
//
// The extremes of an interval are not known exactly, as they are for a
// histogram that saw every sample: Min and Max of the result are the
// midpoints of its lowest and highest non-empty buckets, kept within h's
// own extremes.
func (h *Histogram) Sub(prev *Histogram) *Histogram {
	out := h.Snapshot()
	if prev == nil {
		return out
	}
	for i := range out.counts {
		out.counts[i].Add(-prev.counts[i].Load())
	}
	out.count.Add(-prev.count.Load())
	out.sum.Add(-prev.sum.Load())
	lo, hi := h.Min(), h.Max()
	out.lowest.Store(0)
	out.highest.Store(0)
	first, last := -1, -1
	for i := range out.counts {
		if out.counts[i].Load() != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first >= 0 {
		out.lowest.Store(math.MaxInt64 - min(max(midpoint(first), lo), hi))
		out.highest.Store(min(max(midpoint(last), lo), hi))
	}
	return out
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Min returns the smallest value recorded, 0 if none.
func (h *Histogram) Min() int64 {
	if h.count.Load() == 0 {
		return 0
	}
	return math.MaxInt64 - h.lowest.Load()
}

// Max returns the largest value recorded, 0 if none.
func (h *Histogram) Max() int64 { return h.highest.Load() }

// Mean returns the average value, 0 if none.
func (h *Histogram) Mean() float64 {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}

// Quantile returns the value at quantile q (clamped to [0, 1]): the value
// of rank ceil(q·n) in sorted order, the smallest for q = 0. It is exact
// for the smallest and the largest value; any other rank is answered with
// the midpoint of the bucket that holds it, kept within the extremes, so
// it is off by at most half a bucket (≤ 0.4 %). It is 0 for an empty
// histogram.
func (h *Histogram) Quantile(q float64) int64 {
	// n is the buckets' total rather than Count, which a live histogram
	// may have moved on from.
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	if n == 0 {
		return 0
	}
	if math.IsNaN(q) {
		q = 0
	}
	rank := uint64(math.Ceil(min(max(q, 0), 1) * float64(n)))
	rank = min(max(rank, 1), n)
	lo, hi := h.Min(), h.Max()
	switch rank {
	case n:
		return hi
	case 1:
		return lo
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(max(midpoint(i), lo), hi)
		}
	}
	return hi
}

// QuantileDuration is Quantile for durations.
func (h *Histogram) QuantileDuration(q float64) time.Duration {
	return time.Duration(h.Quantile(q))
}
