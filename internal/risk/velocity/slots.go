package velocity

import "math"

// slotsMax is the number of time slots of one key. A key with transfers in
// at most slotsMax distinct seconds within MaxWindow is answered exactly
// (to the second); that covers every account that pays or is paid up to
// 16 times a day. A busier key has its older slots merged (see merge).
const slotsMax = 16

// mergeGraceSec is added to a slot's age when weighing a merge, so that
// the newest slots are not treated as infinitely precious (age 0).
const mergeGraceSec = 10

// slots is the bounded history of one key: up to slotsMax slots sorted by
// last (strictly increasing). Slot i holds the transfers of the seconds
// lo(i) to last[i]: lo(i) is last[i] for an exact slot (bit i of merged
// clear), last[i-1]+1 for a merged one and first for a merged slot 0.
// Queries rely only on every transfer of slot i being at or before
// last[i]; merges rely on lo to weigh how far they move transfers.
type slots struct {
	n      uint8
	merged uint16
	first  uint32
	last   [slotsMax]uint32
	count  [slotsMax]uint32
	sum    [slotsMax]int64
}

// lo returns the oldest second that slot i may hold.
func (s *slots) lo(i int) uint32 {
	switch {
	case s.merged&(1<<i) == 0:
		return s.last[i]
	case i == 0:
		return s.first
	default:
		return s.last[i-1] + 1
	}
}

// add records one transfer of amount at second sec; ref is the newest
// second known for the key (≥ sec after the caller's update) and window
// MaxWindow in seconds.
func (s *slots) add(sec, ref, window uint32, amount int64) {
	s.expire(ref, window)
	if sec+window < ref {
		return // older than MaxWindow already: it could never be counted
	}
	n := int(s.n)
	// Find the first slot at or after sec; out-of-order transfers are
	// rare and near the end, so scan from the newest.
	j := n
	for j > 0 && s.last[j-1] >= sec {
		j--
	}
	if j < n && (s.last[j] == sec || s.lo(j) <= sec) {
		// The second is already exact, or falls inside a merged slot,
		// which a new slot must not split.
		s.bump(j, amount)
		return
	}
	if n == slotsMax {
		// Make room: merge the cheapest adjacent pair of the current slots
		// with the new one inserted at j.
		i := s.cheapest(sec, ref, j)
		switch {
		case i == j-1:
			// (slot j-1, new): slot j-1 moves forward to sec and takes it.
			if j-1 == 0 {
				s.first = s.lo(0)
			}
			s.last[j-1] = sec
			s.merged |= 1 << (j - 1)
			s.bump(j-1, amount)
			return
		case i == j:
			// (new, slot j): slot j takes the older transfer.
			if j == 0 {
				s.first = min(s.lo(0), sec)
			}
			s.merged |= 1 << j
			s.bump(j, amount)
			return
		}
		// Two current slots merge: (i, i+1) of the list with the new slot
		// is (k, k+1) of the current one.
		k := i
		if i > j {
			k = i - 1
		}
		s.mergeAt(k)
		if k < j {
			j--
		}
		n--
	}
	copy(s.last[j+1:n+1], s.last[j:n])
	copy(s.count[j+1:n+1], s.count[j:n])
	copy(s.sum[j+1:n+1], s.sum[j:n])
	s.merged = s.merged&(1<<j-1) | (s.merged>>j)<<(j+1)
	s.last[j], s.count[j], s.sum[j] = sec, 0, 0
	s.n = uint8(n + 1)
	s.bump(j, amount)
}

// bump adds one transfer of amount to slot i, saturating rather than
// wrapping: a saturated count or sum can only make a rule fire, never hide
// a key from it.
func (s *slots) bump(i int, amount int64) {
	if s.count[i] < math.MaxUint32 {
		s.count[i]++
	}
	if s.sum[i] > math.MaxInt64-amount {
		s.sum[i] = math.MaxInt64
	} else {
		s.sum[i] += amount
	}
}

// mergeAt merges slot k into slot k+1.
func (s *slots) mergeAt(k int) {
	n := int(s.n)
	if k == 0 {
		s.first = s.lo(0)
	}
	c := uint64(s.count[k]) + uint64(s.count[k+1])
	s.count[k+1] = uint32(min(c, math.MaxUint32))
	if s.sum[k+1] > math.MaxInt64-s.sum[k] {
		s.sum[k+1] = math.MaxInt64
	} else {
		s.sum[k+1] += s.sum[k]
	}
	s.merged = s.merged&(1<<k-1) | (s.merged>>(k+1))<<k | 1<<k
	copy(s.last[k:n-1], s.last[k+1:n])
	copy(s.count[k:n-1], s.count[k+1:n])
	copy(s.sum[k:n-1], s.sum[k+1:n])
	s.n--
}

// cheapest returns the pair (i, i+1) whose merge moves transfers forward
// the least relative to their age, in the list of slotsMax+1 slots formed
// by the current ones and a new exact slot at second sec inserted at j. A
// merge moves the older slot's transfers forward to the newer slot's last
// second, by at most last(i+1) − lo(i). Dividing by the age of last(i+1)
// (plus a grace) keeps recent slots fine and lets old ones grow, so that
// the error of a window of d is a fraction of d rather than a fixed time.
// Ties go to the oldest pair.
func (s *slots) cheapest(sec, ref uint32, j int) int {
	n := int(s.n) + 1
	// at returns the last and lo seconds of slot i of the extended list.
	at := func(i int) (last, lo uint32) {
		switch {
		case i < j:
			return s.last[i], s.lo(i)
		case i == j:
			return sec, sec
		default:
			return s.last[i-1], s.lo(i - 1)
		}
	}
	best := -1
	var bestD, bestAge uint64
	_, lo := at(0)
	for i := 0; i+1 < n; i++ {
		next, nextLo := at(i + 1)
		d := uint64(next - min(lo, next))
		age := uint64(ref-min(next, ref)) + mergeGraceSec
		// d/age < bestD/bestAge, without division.
		if best < 0 || d*bestAge < bestD*age {
			best, bestD, bestAge = i, d, age
		}
		lo = nextLo
	}
	return best
}

// expire drops the slots whose transfers are all older than MaxWindow
// before ref.
func (s *slots) expire(ref, window uint32) {
	n := int(s.n)
	k := 0
	for k < n && s.last[k]+window < ref {
		k++
	}
	if k == 0 {
		return
	}
	if k < n {
		s.first = s.lo(k) // before the shift, while slot k-1 is still there
	}
	copy(s.last[:n-k], s.last[k:n])
	copy(s.count[:n-k], s.count[k:n])
	copy(s.sum[:n-k], s.sum[k:n])
	s.merged >>= k
	s.n = uint8(n - k)
}

// since returns the count and sum of the slots whose last second is at or
// after from: every transfer of second from or later, and possibly older
// transfers of a merged slot that straddles from.
func (s *slots) since(from uint32) (count, sum int64) {
	for i := int(s.n) - 1; i >= 0 && s.last[i] >= from; i-- {
		count += int64(s.count[i])
		if sum > math.MaxInt64-s.sum[i] {
			sum = math.MaxInt64
		} else {
			sum += s.sum[i]
		}
	}
	return count, sum
}
