package velocity

import "math"

// slotsMax is the number of time slots of one key. A key with transfers in
// at most slotsMax distinct seconds within MaxWindow is answered exactly
// (to the second); that covers every account that pays or is paid up to
// 16 times a day. A busier key has slots merged (see cheapest).
const slotsMax = 16

// mergeGraceSec is added to a slot's age when weighing a merge, so that
// the newest slots are not treated as infinitely precious (age 0).
const mergeGraceSec = 10

// slot counts the transfers of one second (exact) or of a span of seconds
// ending at last (merged). Its 16 bytes keep a slot's fields in one cache
// line, and a key with few slots in the first lines of its entry.
type slot struct {
	last  uint32 // Unix second of the slot's newest transfer
	count uint32 // saturating
	sum   int64  // saturating
}

// slots is the bounded history of one key: up to slotsMax slots sorted by
// last (strictly increasing). Slot i holds the transfers of the seconds
// lo(i) to s[i].last: lo(i) is the slot's own last for an exact slot (bit
// i of merged clear), the previous slot's last + 1 for a merged one and
// first for a merged slot 0. Queries rely only on every transfer of slot
// i being at or before its last; merges rely on lo to weigh how far they
// move transfers.
type slots struct {
	n      uint8
	merged uint16
	first  uint32
	s      [slotsMax]slot
}

// lo returns the oldest second that slot i may hold.
func (s *slots) lo(i int) uint32 {
	switch {
	case s.merged&(1<<i) == 0:
		return s.s[i].last
	case i == 0:
		return s.first
	default:
		return s.s[i-1].last + 1
	}
}

// add records one transfer of amount at second sec; ref is the newest
// second known for the key (≥ sec after the caller's update) and keep how
// long a transfer is kept after ref, in seconds.
func (s *slots) add(sec, ref, keep uint32, amount int64) {
	s.expire(ref, keep)
	if sec+keep < ref {
		return // older than it is kept: no window could count it
	}
	n := int(s.n)
	// Find the first slot at or after sec; out-of-order transfers are
	// rare and near the end, so scan from the newest.
	j := n
	for j > 0 && s.s[j-1].last >= sec {
		j--
	}
	if j < n && (s.s[j].last == sec || s.lo(j) <= sec) {
		// The second is already exact, or falls inside a merged slot,
		// which a new slot must not split.
		s.s[j].bump(amount)
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
			s.s[j-1].last = sec
			s.merged |= 1 << (j - 1)
			s.s[j-1].bump(amount)
			return
		case i == j:
			// (new, slot j): slot j takes the older transfer.
			if j == 0 {
				s.first = min(s.lo(0), sec)
			}
			s.merged |= 1 << j
			s.s[j].bump(amount)
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
	copy(s.s[j+1:n+1], s.s[j:n])
	s.merged = s.merged&(1<<j-1) | (s.merged>>j)<<(j+1)
	s.s[j] = slot{last: sec}
	s.n = uint8(n + 1)
	s.s[j].bump(amount)
}

// bump adds one transfer of amount, saturating rather than wrapping: a
// saturated count or sum can only make a rule fire, never hide a key from
// it.
func (sl *slot) bump(amount int64) {
	if sl.count < math.MaxUint32 {
		sl.count++
	}
	sl.sum = addSat(sl.sum, amount)
}

// addSat returns a+b for non-negative a and b, or the largest int64 if
// that overflows.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// mergeAt merges slot k into slot k+1.
func (s *slots) mergeAt(k int) {
	n := int(s.n)
	if k == 0 {
		s.first = s.lo(0)
	}
	a, b := &s.s[k], &s.s[k+1]
	b.count = uint32(min(uint64(a.count)+uint64(b.count), math.MaxUint32))
	b.sum = addSat(b.sum, a.sum)
	s.merged = s.merged&(1<<k-1) | (s.merged>>(k+1))<<k | 1<<k
	copy(s.s[k:n-1], s.s[k+1:n])
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
			return s.s[i].last, s.lo(i)
		case i == j:
			return sec, sec
		default:
			return s.s[i-1].last, s.lo(i - 1)
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

// expire drops the slots whose transfers are all older than keep before
// ref.
func (s *slots) expire(ref, keep uint32) {
	n := int(s.n)
	k := 0
	for k < n && s.s[k].last+keep < ref {
		k++
	}
	if k == 0 {
		return
	}
	if k < n {
		s.first = s.lo(k) // before the shift, while slot k-1 is still there
	}
	copy(s.s[:n-k], s.s[k:n])
	s.merged >>= k
	s.n = uint8(n - k)
}

// since returns the count and sum of the slots whose last second is at or
// after from: every transfer of second from or later, and possibly older
// transfers of a merged slot that straddles from.
func (s *slots) since(from uint32) (count, sum int64) {
	for i := int(s.n) - 1; i >= 0 && s.s[i].last >= from; i-- {
		count += int64(s.s[i].count)
		sum = addSat(sum, s.s[i].sum)
	}
	return count, sum
}
