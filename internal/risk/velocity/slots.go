package velocity

import "math"

// inlineMax is the number of time slots in a key's entry, and wideMax in
// a wide record that a busy key borrows from its shard's pool (see
// shard.add). A key with transfers in at most inlineMax distinct seconds
// within MaxWindow never needs a wide record; one with at most wideMax is
// answered exactly while it holds one. Three inline slots keep an alias
// entry at 56 bytes; twelve wide ones leave a factor of about
// (8640)^(1/11) ≈ 2.3 between the ages of neighbouring slots of a steady
// stream over 10 s to 24 h.
const (
	inlineMax = 3
	wideMax   = 12
)

// mergeGraceSec is added to a slot's age when weighing a merge, so that
// the newest slots are not treated as infinitely precious (age 0).
const mergeGraceSec = 10

// A slot's count and sum share one 64-bit word: count above sumBits, sum
// below. Both saturate (see bump).
const (
	sumBits  = 40
	sumMax   = 1<<sumBits - 1      // about 1.1·10¹² minor units
	countMax = 1<<(64-sumBits) - 1 // 16,777,215 transfers
)

// hist is the header of a key's slots: their number and which are merged
// (see view), in one word, and the span of a merged slot 0.
type hist struct {
	meta  uint16 // n<<12 | merged, bit i for slot i
	span0 uint16 // last[0] − the oldest second of a merged slot 0, saturating
}

// small is the history of a key in its entry. Its fields are 4-byte
// aligned and packed (40 bytes).
type small struct {
	last [inlineMax]uint32
	cs   [inlineMax][2]uint32
	h    hist
}

func (s *small) view() view { return view{s.last[:], s.cs[:], &s.h} }

// wide is the history of a busy key, borrowed from its shard's pool.
type wide struct {
	last  [wideMax]uint32
	cs    [wideMax][2]uint32
	h     hist
	owner int32 // slab position of the entry that holds it; -1 when free (next free position + 1 in free)
}

func (w *wide) view() view { return view{w.last[:], w.cs[:], &w.h} }

// view is the bounded history of one key over slots of either size: up to
// len(last) slots sorted by last (strictly increasing). Slot i holds the
// transfers of the seconds lo(i) to last[i]: lo(i) is last[i] for an
// exact slot (bit i of merged clear), last[i-1] + 1 for a merged one and
// last[0] − span0 for a merged slot 0. Queries rely only on every
// transfer of slot i being at or before last[i]; merges rely on lo to
// weigh how far they move transfers, so span0 may saturate (making lo(0)
// later than the truth) without harm. cs[i] packs slot i's count and sum:
// count<<sumBits | sum, low word first.
type view struct {
	last []uint32
	cs   [][2]uint32
	h    *hist
}

func (v view) n() int         { return int(v.h.meta >> 12) }
func (v view) merged() uint16 { return v.h.meta & (1<<12 - 1) }
func (v view) set(n int, merged uint16) {
	v.h.meta = uint16(n)<<12 | merged&(1<<12-1)
}

// get returns the count and sum of slot i.
func (v view) get(i int) (count, sum int64) {
	x := uint64(v.cs[i][1])<<32 | uint64(v.cs[i][0])
	return int64(x >> sumBits), int64(x & sumMax)
}

// put stores count and sum in slot i, saturating each.
func (v view) put(i int, count, sum int64) {
	x := uint64(min(count, countMax))<<sumBits | uint64(min(sum, sumMax))
	v.cs[i] = [2]uint32{uint32(x), uint32(x >> 32)}
}

// lo returns the oldest second that slot i may hold.
func (v view) lo(i int) uint32 {
	switch {
	case v.merged()&(1<<i) == 0:
		return v.last[i]
	case i == 0:
		return v.last[0] - min(uint32(v.h.span0), v.last[0])
	default:
		return v.last[i-1] + 1
	}
}

// setFirst records first as the oldest second of slot 0, which the caller
// has marked merged, with last[0] already final.
func (v view) setFirst(first uint32) {
	v.h.span0 = uint16(min(v.last[0]-min(first, v.last[0]), math.MaxUint16))
}

// move copies slots [from, from+k) to [to, to+k).
func (v view) move(to, from, k int) {
	copy(v.last[to:to+k], v.last[from:from+k])
	copy(v.cs[to:to+k], v.cs[from:from+k])
}

// copyTo copies the slots of v into u, which has room for them.
func (v view) copyTo(u view) {
	n := v.n()
	copy(u.last[:n], v.last[:n])
	copy(u.cs[:n], v.cs[:n])
	*u.h = *v.h
}

// full reports whether adding a transfer at second sec would need a merge,
// after dropping the slots expired at ref (see add).
func (v view) full(sec, ref, keep uint32) bool {
	v.expire(ref, keep)
	n := v.n()
	if n < len(v.last) || sec+keep < ref {
		return false
	}
	j := v.find(sec)
	return !(j < n && (v.last[j] == sec || v.lo(j) <= sec))
}

// find returns the first slot whose last is at or after sec, or n;
// out-of-order transfers are rare and near the end, so it scans from the
// newest.
func (v view) find(sec uint32) int {
	j := v.n()
	for j > 0 && v.last[j-1] >= sec {
		j--
	}
	return j
}

// add records one transfer of amount at second sec; ref is the newest
// second known for the key (≥ sec after the caller's update) and keep how
// long a transfer is kept after ref, in seconds.
func (v view) add(sec, ref, keep uint32, amount int64) {
	v.expire(ref, keep)
	if sec+keep < ref {
		return // older than it is kept: no window could count it
	}
	n := v.n()
	j := v.find(sec)
	if j < n && (v.last[j] == sec || v.lo(j) <= sec) {
		// The second is already exact, or falls inside a merged slot,
		// which a new slot must not split.
		v.bump(j, amount)
		return
	}
	merged := v.merged()
	if n == len(v.last) {
		// Make room: merge the cheapest adjacent pair of the current slots
		// with the new one inserted at j.
		i := v.cheapest(sec, ref, j)
		switch {
		case i == j-1:
			// (slot j-1, new): slot j-1 moves forward to sec and takes it.
			first := v.lo(j - 1)
			v.last[j-1] = sec
			v.set(n, merged|1<<(j-1))
			if j-1 == 0 {
				v.setFirst(first)
			}
			v.bump(j-1, amount)
			return
		case i == j:
			// (new, slot j): slot j takes the older transfer.
			if j == 0 {
				v.setFirst(min(v.lo(0), sec))
			}
			v.set(n, merged|1<<j)
			v.bump(j, amount)
			return
		}
		// Two current slots merge: (i, i+1) of the list with the new slot
		// is (k, k+1) of the current one.
		k := i
		if i > j {
			k = i - 1
		}
		v.mergeAt(k)
		if k < j {
			j--
		}
		n--
		merged = v.merged()
	}
	v.move(j+1, j, n-j)
	v.set(n+1, merged&(1<<j-1)|(merged>>j)<<(j+1))
	v.last[j] = sec
	v.put(j, 0, 0)
	v.bump(j, amount)
}

// bump adds one transfer of amount to slot i, saturating rather than
// wrapping: a count of 2²⁴−1 or a sum of 2⁴⁰−1 minor units is beyond any
// threshold a rule sets, so a saturated slot still makes the rule fire.
func (v view) bump(i int, amount int64) {
	c, sum := v.get(i)
	v.put(i, c+1, addSat(sum, amount))
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
func (v view) mergeAt(k int) {
	n, merged := v.n(), v.merged()
	first := v.lo(0)
	ac, as := v.get(k)
	bc, bs := v.get(k + 1)
	v.put(k+1, ac+bc, addSat(as, bs))
	v.move(k, k+1, n-1-k)
	v.set(n-1, merged&(1<<k-1)|(merged>>(k+1))<<k|1<<k)
	if k == 0 {
		v.setFirst(first)
	}
}

// shrink merges the cheapest pairs until at most m slots remain, for a
// key that gives its wide record back.
func (v view) shrink(ref uint32, m int) {
	for v.n() > m {
		best := -1
		var bestD, bestAge uint64
		for i := 0; i+1 < v.n(); i++ {
			d := uint64(v.last[i+1] - min(v.lo(i), v.last[i+1]))
			age := uint64(ref-min(v.last[i+1], ref)) + mergeGraceSec
			if best < 0 || d*bestAge < bestD*age {
				best, bestD, bestAge = i, d, age
			}
		}
		v.mergeAt(best)
	}
}

// cheapest returns the pair (i, i+1) whose merge moves transfers forward
// the least relative to their age, in the list of len(last)+1 slots formed
// by the current ones and a new exact slot at second sec inserted at j. A
// merge moves the older slot's transfers forward to the newer slot's last
// second, by at most last(i+1) − lo(i). Dividing by the age of last(i+1)
// (plus a grace) keeps recent slots fine and lets old ones grow, so that
// the error of a window of d is a fraction of d rather than a fixed time.
// Ties go to the oldest pair.
func (v view) cheapest(sec, ref uint32, j int) int {
	n := v.n() + 1
	// at returns the last and lo seconds of slot i of the extended list.
	at := func(i int) (last, lo uint32) {
		switch {
		case i < j:
			return v.last[i], v.lo(i)
		case i == j:
			return sec, sec
		default:
			return v.last[i-1], v.lo(i - 1)
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
func (v view) expire(ref, keep uint32) {
	n := v.n()
	k := 0
	for k < n && v.last[k]+keep < ref {
		k++
	}
	if k == 0 {
		return
	}
	first := uint32(0)
	if k < n {
		first = v.lo(k) // before the shift, while slot k-1 is still there
	}
	v.move(0, k, n-k)
	v.set(n-k, v.merged()>>k)
	if k < n {
		v.setFirst(first)
	}
}

// since returns the count and sum of the slots whose last second is at or
// after from: every transfer of second from or later, and possibly older
// transfers of a merged slot that straddles from.
func (v view) since(from uint32) (count, sum int64) {
	for i := v.n() - 1; i >= 0 && v.last[i] >= from; i-- {
		c, x := v.get(i)
		count += c
		sum = addSat(sum, x)
	}
	return count, sum
}
