package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear (as in HdrHistogram): values below
// subBuckets are counted exactly; above, each power of two is split into
// subBuckets equal buckets, so a bucket is at most 1/subBuckets of its
// lower bound wide and its midpoint is within 1/(2·subBuckets) ≈ 0.4 % of
// any value in it. Memory is fixed, whatever the values: the range is
// bounded by maxTrackable and larger values are clamped into the last
// bucket (the exact maximum is kept aside).
const (
	subBits    = 7
	subBuckets = 1 << subBits // 128: ≤ 0.79 % bucket width, ≤ 0.4 % error at the midpoint
	// maxBits bounds the tracked range to 2^42 ns ≈ 73 minutes, far above
	// any request latency; the bucket array is then 36 KiB.
	maxBits      = 42
	maxTrackable = int64(1)<<maxBits - 1
	numBuckets   = (maxBits - subBits + 1) * subBuckets
)

// Histogram records durations (or any non-negative int64) with a bounded
// relative error (≤ 0.4 % at the reported midpoints, < 1 % in every case)
// in fixed memory. It is not safe for concurrent use: give each worker
// its own and Merge them at the end, so that recording takes no lock.
// The zero value is not ready; use NewHistogram.
type Histogram struct {
	counts   []uint64
	count    uint64
	sum      float64 // for the mean only; float is fine for a statistic
	min, max int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf returns v's bucket; v must be in [0, maxTrackable].
func bucketOf(v int64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 1 // v in [2^e, 2^(e+1)), e ≥ subBits
	shift := e - subBits
	sub := int(v>>shift) - subBuckets // in [0, subBuckets)
	return (shift+1)*subBuckets + sub
}

// bucketRange returns the values [lo, hi] that bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < subBuckets {
		return int64(i), int64(i)
	}
	shift := i/subBuckets - 1
	sub := int64(i%subBuckets) + subBuckets
	lo = sub << shift
	return lo, lo + int64(1)<<shift - 1
}

// Record adds one value; negative values count as zero.
func (h *Histogram) Record(v int64) {
	v = max(v, 0)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
	h.count++
	h.sum += float64(v)
	h.counts[bucketOf(min(v, maxTrackable))]++
}

// RecordDuration adds one duration.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.count == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.count += o.count
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.count }

// Min is the smallest value recorded (exact), 0 if none.
func (h *Histogram) Min() int64 {
	if h.count == 0 {
		return 0
	}
	return h.min
}

// Max is the largest value recorded (exact), 0 if none.
func (h *Histogram) Max() int64 { return h.max }

// Mean is the average value, 0 if none.
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sum / float64(h.count)
}

// Quantile returns the value at quantile q in [0, 1]: the value of rank
// ceil(q·count) in sorted order (the smallest for q = 0), within the
// histogram's precision; exact for the minimum and maximum. It is 0 for
// an empty histogram.
func (h *Histogram) Quantile(q float64) int64 {
	if h.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = min(max(rank, 1), h.count)
	if rank == h.count {
		return h.max
	}
	if rank == 1 {
		return h.min
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			// The midpoint halves the worst-case error; clamping to the
			// exact extremes keeps the answer inside what was seen.
			return min(max(lo+(hi-lo)/2, h.min), h.max)
		}
	}
	return h.max
}
