package ledger

import (
	"encoding/binary"
	"hash/maphash"
	"iter"
	"math"
	"math/bits"
)

// idIndex is the idempotency index: a hash table from transfer id to
// entry, built for one job, tens of millions of inserts of ids never seen
// before with no long pause, and not for generality.
//
// Why not a Go map: at ten million entries, a lookup or insert misses the
// cache (and the TLB) whatever the table, so what matters is memory, how
// growth is spread, and whether the misses can be overlapped. The Go map
// takes 56–84 bytes per entry between 8 and 12 million entries (67 at
// 10 million) because its tables all fill, and grow, at about the same
// time, and its misses can only be taken one lookup at a time. Here:
//
//   - Tags (one byte per slot, derived from the hash) live apart from the
//     slots, and probing is linear over them, eight at a time (SWAR): a
//     probe reads one or two adjacent cache lines of tags, then only the
//     slots whose tag matches, and an insert writes one slot. Both are
//     addresses that warm can compute and load ahead, for many ids at
//     once, which is where most of the speed comes from.
//   - The table is split into shards by the hash's top bits (extendible
//     hashing: a directory of 2^depth pointers, a shard covering 2^(depth-
//     shard depth) of them). A shard grows on its own, by a factor
//     growth, and once it would exceed maxCap slots it splits in two
//     instead, so one growth step moves at most maxCap·7/8 entries.
//   - Shards are staggered: the 2^initDepth shards a new index starts
//     with get capacities spread over one growth step, and growth and
//     splits preserve that offset, so shards fill up at different times.
//     Growth work is then spread evenly over inserts, and memory per entry
//     stays flat as the index grows (46 bytes) instead of jumping at each
//     doubling.
//
// Hashing is keyed with a random per-index seed (hash/maphash), because
// ids are chosen by clients and must not be able to force collisions.
// The layout therefore differs from index to index; nothing the ledger
// returns may depend on it, which is why the index offers no ordered
// iteration, only all, whose order is unspecified.
//
// Deletion (rare: undoing a linked chain) shifts the following entries
// of the probe run back, so there are no tombstones and a lookup never
// scans past slots that once were full.
type idIndex struct {
	seed  maphash.Seed
	dir   []*shard
	depth uint8 // len(dir) == 1<<depth
	n     int
	// gen changes whenever an entry moves or a slot is taken or freed,
	// so that a ref knows whether the slot it names is still right.
	gen uint64
}

// shard is one open-addressing table with linear probing. Slots
// [0, len(slots)) hold entries; tags[i] is slot i's tag or 0 if it is
// empty, and tags[len(slots)+k] repeats tags[k] for k < group-1, so a
// probe can read any eight consecutive tags with one load, wrapping
// around the end.
type shard struct {
	tags  []uint8
	slots []slot
	count int
	limit int     // count at which the shard must grow: 7/8 of len(slots)
	ideal float64 // capacity before rounding, so repeated growth does not drift
	depth uint8   // how many of the hash's top bits all its ids share
}

type slot struct {
	id ID
	e  entry
}

const (
	group     = 8       // tags read per probe step: one uint64
	minCap    = group   // smallest shard; also keeps the tag copies unambiguous
	maxCap    = 1 << 13 // slots beyond which a shard splits instead of growing
	initDepth = 6       // 64 shards to start with, staggered
	maxDepth  = 24      // keeps shard bits clear of the tag and home bits
	// growth is the factor by which a shard grows. Below 2, a shard's
	// load stays nearer the maximum (7/8) on average, at the cost of
	// moving each entry more often: 1/(growth-1) moves per insert.
	// Measured at 10 million: √2 takes 46 bytes per entry, 2^¾ 51 and
	// 2 56, for about 15% more time per transfer with √2 than with 2.
	growth = 1.4142135623730951 // √2

	lsb  = 0x0101010101010101
	msb  = 0x8080808080808080
	low7 = 0x7f7f7f7f7f7f7f7f
)

func newIDIndex() idIndex {
	x := idIndex{seed: maphash.MakeSeed(), depth: initDepth, dir: make([]*shard, 1<<initDepth)}
	for i := range x.dir {
		// Spread the initial shards' capacities evenly over one growth
		// step (in log scale): this offset is what staggers them forever.
		phase := float64(i) / float64(len(x.dir))
		x.dir[i] = &shard{depth: initDepth, ideal: minCap * math.Pow(growth, phase)}
	}
	return x
}

// ref names a slot found by find: the entry's if found, else the empty
// slot where insert puts the id. It stays valid until the index changes
// layout (an insert, a delete or growth); overwriting an entry does not
// change the layout.
type ref struct {
	sh  *shard
	i   int
	gen uint64
	h   uint64
}

func (x *idIndex) hash(id ID) uint64 { return maphash.Bytes(x.seed, id[:]) }

// The hash's bits are used apart: the top ones pick the shard, bits
// 32–39 the tag and the low 32 bits the home slot.
func (x *idIndex) shardOf(h uint64) *shard { return x.dir[h>>(64-x.depth)] }

func tagOf(h uint64) uint8 {
	t := uint8(h >> 32)
	if t == 0 {
		t = 1 // 0 marks an empty slot
	}
	return t
}

// home maps h's low 32 bits onto [0, n) by multiplying instead of
// dividing, so capacities need not be powers of two.
func home(h uint64, n int) int { return int(h & 0xffffffff * uint64(n) >> 32) }

func (x *idIndex) len() int { return x.n }

// get returns id's entry.
func (x *idIndex) get(id ID) (entry, bool) {
	h := x.hash(id)
	sh := x.shardOf(h)
	if sh.count == 0 {
		return entry{}, false
	}
	i, ok := sh.probe(id, h)
	if !ok {
		return entry{}, false
	}
	return sh.slots[i].e, true
}

// find looks id up and, when it is absent, makes room for it, so that
// the common lookup-then-insert costs one probe. It grows a full shard
// even if the caller then inserts nothing.
func (x *idIndex) find(id ID) (ref, bool) {
	h := x.hash(id)
	sh := x.shardOf(h)
	if sh.count > 0 {
		// probe stops at the first empty slot of id's run: where id goes.
		i, ok := sh.probe(id, h)
		if ok || sh.count < sh.limit {
			return ref{sh, i, x.gen, h}, ok
		}
	}
	for sh.count >= sh.limit {
		x.grow(sh, h)
		sh = x.shardOf(h)
	}
	return ref{sh, sh.probeEmpty(h), x.gen, h}, false
}

// at returns the entry a found ref names.
func (x *idIndex) at(r ref) entry { return r.sh.slots[r.i].e }

// insert puts id, which find did not find, with e. If the layout changed
// since find, it finds the slot again.
func (x *idIndex) insert(r ref, id ID, e entry) {
	if r.gen != x.gen {
		r, _ = x.find(id)
	}
	r.sh.place(r.i, tagOf(r.h), slot{id, e})
	x.n++
	x.gen++
}

// put inserts or overwrites id's entry.
func (x *idIndex) put(id ID, e entry) {
	r, ok := x.find(id)
	if ok {
		r.sh.slots[r.i].e = e
		return
	}
	x.insert(r, id, e)
}

// del removes id, reporting whether it was there. The entries after it
// in its probe run move back to close the gap, each as far as its home
// allows, so that every entry stays reachable from its home without
// crossing an empty slot.
func (x *idIndex) del(id ID) bool {
	h := x.hash(id)
	sh := x.shardOf(h)
	if sh.count == 0 {
		return false
	}
	hole, ok := sh.probe(id, h)
	if !ok {
		return false
	}
	n := len(sh.slots)
	for k := next(hole, n); sh.tags[k] != 0; k = next(k, n) {
		// The entry at k may fill the hole unless its home lies in the
		// cyclic interval (hole, k]: it must stay at or after its home.
		hk := home(x.hash(sh.slots[k].id), n)
		if (k-hk+n)%n >= (k-hole+n)%n {
			sh.setTag(hole, sh.tags[k])
			sh.slots[hole] = sh.slots[k]
			hole = k
		}
	}
	sh.setTag(hole, 0)
	sh.slots[hole] = slot{}
	sh.count--
	x.n--
	x.gen++
	return true
}

func next(i, n int) int {
	if i++; i == n {
		return 0
	}
	return i
}

// all yields every entry, in an order that depends on the seed.
func (x *idIndex) all() iter.Seq2[ID, entry] {
	return func(yield func(ID, entry) bool) {
		for i, sh := range x.dir {
			if i&(1<<(x.depth-sh.depth)-1) != 0 {
				continue // not the shard's first directory entry
			}
			for j, t := range sh.tags[:len(sh.slots)] {
				if t != 0 && !yield(sh.slots[j].id, sh.slots[j].e) {
					return
				}
			}
		}
	}
}

// probe looks for id from its home slot up to the first empty slot. It
// returns the id's slot, or the empty slot where the run ended. The shard
// must have slots.
func (sh *shard) probe(id ID, h uint64) (int, bool) {
	n := len(sh.slots)
	pos := home(h, n)
	tt := lsb * uint64(tagOf(h))
	for {
		w := binary.LittleEndian.Uint64(sh.tags[pos:])
		// Bytes equal to the tag, and empty bytes: the lowest flagged
		// byte of each is exact, higher ones may be false positives,
		// which the key comparison and the empty byte's order absorb.
		m := w ^ tt
		m = (m - lsb) &^ m & msb
		e := (w - lsb) &^ w & msb
		if e != 0 {
			m &= e&-e - 1 // only tags before the first empty slot
		}
		for ; m != 0; m &= m - 1 {
			i := pos + bits.TrailingZeros64(m)>>3
			if i >= n {
				i -= n
			}
			if sh.slots[i].id == id {
				return i, true
			}
		}
		if e != 0 {
			i := pos + bits.TrailingZeros64(e)>>3
			if i >= n {
				i -= n
			}
			return i, false
		}
		if pos += group; pos >= n {
			pos -= n
		}
	}
}

// probeEmpty returns the first empty slot at or after h's home.
func (sh *shard) probeEmpty(h uint64) int {
	n := len(sh.slots)
	pos := home(h, n)
	for {
		w := binary.LittleEndian.Uint64(sh.tags[pos:])
		if e := (w - lsb) &^ w & msb; e != 0 {
			i := pos + bits.TrailingZeros64(e)>>3
			if i >= n {
				i -= n
			}
			return i
		}
		if pos += group; pos >= n {
			pos -= n
		}
	}
}

func (sh *shard) setTag(i int, t uint8) {
	sh.tags[i] = t
	if i < group-1 {
		sh.tags[len(sh.slots)+i] = t
	}
}

func (sh *shard) place(i int, t uint8, s slot) {
	sh.setTag(i, t)
	sh.slots[i] = s
	sh.count++
}

// alloc gives the shard empty arrays for ideal rounded up.
func (sh *shard) alloc(ideal float64) {
	n := max(int(math.Ceil(ideal)), minCap)
	sh.ideal = ideal
	sh.tags = make([]uint8, n+group-1)
	sh.slots = make([]slot, n)
	sh.count = 0
	sh.limit = n - n/8
}

// grow makes room in sh, the shard of hash h: its first arrays, larger
// arrays, or, past maxCap, a split into two shards.
func (x *idIndex) grow(sh *shard, h uint64) {
	x.gen++
	if len(sh.slots) == 0 {
		sh.alloc(sh.ideal)
		return
	}
	ideal := sh.ideal * growth
	if ideal > maxCap && sh.depth < maxDepth {
		x.split(sh, h, ideal/2)
		return
	}
	x.regrow(sh, ideal)
}

// regrow moves sh's entries into new arrays for ideal.
func (x *idIndex) regrow(sh *shard, ideal float64) {
	old := *sh
	sh.alloc(ideal)
	x.moveAll(&old, [2]*shard{sh, sh}, 0)
}

// split replaces sh, the shard of hash h, by two shards of capacity
// ideal, one for each value of the next hash bit.
func (x *idIndex) split(sh *shard, h uint64, ideal float64) {
	if sh.depth == x.depth {
		// Double the directory: each entry becomes two equal ones.
		dir := make([]*shard, 2*len(x.dir))
		for i, s := range x.dir {
			dir[2*i], dir[2*i+1] = s, s
		}
		x.dir, x.depth = dir, x.depth+1
	}
	lo := &shard{depth: sh.depth + 1}
	hi := &shard{depth: sh.depth + 1}
	lo.alloc(ideal)
	hi.alloc(ideal)
	x.moveAll(sh, [2]*shard{lo, hi}, 63-sh.depth)
	width := 1 << (x.depth - sh.depth)
	start := int(h>>(64-x.depth)) &^ (width - 1)
	for i := range width {
		if i < width/2 {
			x.dir[start+i] = lo
		} else {
			x.dir[start+i] = hi
		}
	}
}

// moveAll moves every entry of from into to[0] or to[1], chosen by hash
// bit bit (when growing in place, both are the same shard). It finds the
// full slots eight tags at a time and picks the target by indexing
// rather than branching, because both are random and mispredicted
// branches were a good part of the cost of a move.
func (x *idIndex) moveAll(from *shard, to [2]*shard, bit uint8) {
	n := len(from.slots)
	for base := 0; base < n; base += group {
		w := binary.LittleEndian.Uint64(from.tags[base:])
		full := ((w & low7) + low7 | w) & msb // exact: the high bit of each nonzero byte
		if n-base < group {
			full &= 1<<(8*(n-base)) - 1 // past the end are copies of the first tags
		}
		for ; full != 0; full &= full - 1 {
			i := base + bits.TrailingZeros64(full)>>3
			s := &from.slots[i]
			h := x.hash(s.id)
			sh := to[h>>bit&1]
			if sh.count >= sh.limit {
				// Only if the hash split the entries very unevenly.
				x.regrow(sh, sh.ideal*growth)
			}
			sh.place(sh.probeEmpty(h), from.tags[i], *s)
		}
	}
}

// warm loads into the cache what find will read and insert write for
// the ids with hashes hs, and returns a value derived from it so that the
// loads are not optimised away. It changes nothing.
//
// It works in two passes because each load is likely a cache and TLB
// miss: a pass of loads that do not depend on one another lets the CPU
// have many misses in flight at once, where a per-id loop would wait for
// the tags before it could compute which slot to load. The second pass
// finds the slot where a new id would go, usually in the first eight
// tags, inline: a call per id left fewer loads in flight.
func (x *idIndex) warm(hs []uint64) uint64 {
	var sink uint64
	for _, h := range hs {
		if sh := x.shardOf(h); len(sh.slots) > 0 {
			sink += uint64(sh.tags[home(h, len(sh.slots))])
		}
	}
	for _, h := range hs {
		sh := x.shardOf(h)
		n := len(sh.slots)
		if n == 0 {
			continue
		}
		pos := home(h, n)
		w := binary.LittleEndian.Uint64(sh.tags[pos:])
		var i int
		if e := (w - lsb) &^ w & msb; e != 0 {
			if i = pos + bits.TrailingZeros64(e)>>3; i >= n {
				i -= n
			}
		} else {
			i = sh.probeEmpty(h)
		}
		sink += uint64(sh.slots[i].e.ts)
	}
	return sink
}
