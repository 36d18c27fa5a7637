package ledger

import (
	"encoding/binary"
	"hash/maphash"
	"iter"
	"math"
	"math/bits"
	"runtime"
	"slices"
)

// idIndex is the idempotency index: a hash table from transfer id to
// entry, built for one job, tens of millions of inserts of ids never seen
// before, in little memory and with no long pause, and not for generality.
//
// Why not a Go map: at ten million entries, a lookup or insert misses the
// cache (and the TLB) whatever the table, so what matters is memory, how
// growth is spread, and whether the misses can be overlapped. The Go map
// takes 56–84 bytes per entry between 8 and 12 million entries (67 at
// 10 million) because its tables all fill, and grow, at about the same
// time, and its misses can only be taken one lookup at a time.
//
// The index has two tiers, and every id is in exactly one of them:
//
//   - The frozen tier holds all but the latest entries, packed without
//     gaps: 33 bytes per entry (the 32-byte id and entry, and a one-byte
//     tag) and 1.25 bytes per bucket of 4 to 8 entries (see segment). It
//     is split into segs segments by the hash's top bits.
//   - The live tier takes every insert: a hash table over entries kept in
//     the order they came (see shard), about 37 bytes per entry. Every
//     migrateEvery inserts, settle moves the live entries of one segment
//     to the frozen tier, the segments in turn, so that the live tier
//     holds about segs·migrateEvery/2 entries (512 Ki) whatever the size
//     of the index.
//
// At 10 million entries the index takes 33.8 bytes per entry, where a
// single table of 33-byte slots took 46.0 at its 72% average load
// (BenchmarkIndexMemory). The price is copying: a migration rewrites its
// segment in place (1.3 MB at 10 million), so that each insert pays for
// moving n/(segs·migrateEvery) frozen entries, about 10 at 10 million;
// and a segment hashes its entries again whenever it doubles its buckets.
// Against the single table (medians of interleaved runs on a 2-core VM):
// BenchmarkIndexInsert 424 ns where 541, BenchmarkIndexGet 656 where 683,
// BenchmarkApply 331 where 313; the slowest batch of BenchmarkIndexPause
// 10–12 ms where 10–27.
//
// A lookup of a new id, the common case, must miss in both tiers. Each
// costs one cache miss on a small array, whose address warm can compute
// and load ahead for many ids at once: the live tier's tags (the live
// tier is small), and the frozen bucket's tags, found through bucket
// offsets that mostly stay cached. The frozen ids themselves, 300 MB at
// 10 million entries, where every access misses the TLB too, are read
// only when a tag matches.
//
// The live tier's design:
//
//   - Tags (one byte per slot, derived from the hash) live apart from the
//     entries, and probing is linear over them, eight at a time (SWAR): a
//     probe reads one or two adjacent cache lines of tags, then only the
//     entries whose tag matches.
//   - The table is split into shards by the hash's top bits (extendible
//     hashing: a directory of 2^depth pointers, a shard covering 2^(depth-
//     shard depth) of them). A shard grows on its own, by a factor
//     growth, and once it would exceed maxCap slots it splits in two
//     instead, so one growth step moves at most maxCap·7/8 entries. The
//     directory starts at depth segBits, so that every shard holds ids of
//     one frozen segment only, and a migration takes whole shards.
//   - The 2^initDepth shards a new index starts with get capacities
//     spread over one growth step, so that they fill up at different
//     times; once migrations begin, the round robin staggers them.
//
// Hashing is keyed with a random per-index seed (hash/maphash), because
// ids are chosen by clients and must not be able to force collisions,
// in the live tier's probe runs or in the frozen tier's buckets.
// The layout therefore differs from index to index; nothing the ledger
// returns may depend on it, which is why the index offers no ordered
// iteration, only all, whose order is unspecified.
//
// Deletion (rare: undoing a linked chain) shifts the following slots of
// the probe run back, so there are no tombstones and a lookup never scans
// past slots that once were full. In the frozen tier it closes the gap by
// moving the rest of the segment, which is slow but, since settle runs
// only between commands and chains, never needed by the ledger: a chain's
// new ids are all still live when it is undone.
type idIndex struct {
	seed maphash.Seed
	n    int // entries in both tiers
	// gen changes whenever an entry moves or a slot is taken or freed,
	// so that a ref knows whether the slot it names is still right.
	gen uint64

	// The live tier.
	dir   []*shard
	depth uint8 // len(dir) == 1<<depth

	// The frozen tier, and when to move entries into it: after every
	// every inserts (fresh counts them), segment next.
	frozen [segs]segment
	every  int
	fresh  int
	next   int
	sink   uint8 // keeps the early loads of find (the writer's)

	free []*[chunkLen]slot // log chunks that migrations freed

	// Scratch space of migrations, kept between them.
	moving []slot   // live entries being moved
	hashes []uint64 // their hashes
	bk     []uint32 // their buckets, or the new buckets of one old one
	sorted []slot   // moving, grouped by bucket
	stags  []uint8  // their tags
	starts []uint32 // per bucket: where its entries start in sorted
}

// shard is one open-addressing table with linear probing over its
// entries, which it keeps apart in log, in the order they came, in chunks
// of chunkLen. Its table's slots [0, size) each hold a tag and a
// position: tags[i] is slot i's tag or 0 if it is empty, and pos[i] where
// its entry is in log; tags[size+k] repeats tags[k] for k < group-1, so a
// probe can read any eight consecutive tags with one load, wrapping
// around the end.
//
// Why the log: an insert then writes its entry next to the shard's
// previous one, in a chunk that is likely cached, instead of in a random
// slot of a large array, which cost a cache and TLB miss per insert, as
// much as the frozen tier's lookup does; and a slot takes 3 bytes where
// it took 33, so that an entry takes about 38 bytes in the live tier
// where it took 46.
type shard struct {
	tags  []uint8
	pos   []uint16          // a shard holds at most 2^16 entries: see alloc
	log   []*[chunkLen]slot // ⌈count/chunkLen⌉ chunks
	count int
	limit int     // count at which the shard must grow: 7/8 of its size
	ideal float64 // capacity before rounding, so repeated growth does not drift
	depth uint8   // how many of the hash's top bits all its ids share
}

// slot is one entry with its key, in either tier.
type slot struct {
	id ID
	e  entry
}

const (
	group     = 8       // tags read per probe step: one uint64
	minCap    = group   // smallest shard; also keeps the tag copies unambiguous
	maxCap    = 1 << 13 // slots beyond which a shard splits instead of growing
	initDepth = segBits // one shard per frozen segment to start with, staggered
	maxDepth  = 24      // keeps shard bits clear of the tag and home bits
	// growth is the factor by which a shard's table grows. Each growth
	// step hashes the shard's entries again, 1/(growth-1) times per
	// insert, and a lower factor keeps the load nearer its maximum (7/8).
	// With 3-byte slots the load costs little: 2 rather than √2 takes
	// about 1.3 bytes more per live entry and moves entries half as often.
	growth = 2

	lsb  = 0x0101010101010101
	msb  = 0x8080808080808080
	low7 = 0x7f7f7f7f7f7f7f7f

	// segBits of the hash's top bits pick an id's frozen segment. More
	// segments make a migration copy less at a time, but each segment
	// wastes half a block on average.
	segBits = 8
	segs    = 1 << segBits
	// migrateEvery is how many inserts the index takes between two
	// migrations: the live tier holds about segs·migrateEvery/2 entries,
	// each taking about 5 bytes more than a frozen one, and each insert
	// pays for moving n/(segs·migrateEvery) frozen entries. 4096 keeps
	// the live tier at 512 Ki entries, 0.3 bytes per entry at 10 million,
	// for about 10 entries moved per insert; 8192 took the index to 34.0
	// bytes per entry.
	migrateEvery = 4096
	// bucketMax is the most entries per frozen bucket on average: find
	// compares their tags, in one cache line, and get their ids, and a
	// bucket takes 1.25 bytes of offsets. A segment doubles its buckets
	// when it reaches it, so buckets hold bucketMax/2 to bucketMax
	// entries.
	bucketMax = 8
	chunkBits = 6 // a live log chunk holds 2^chunkBits entries (2 KiB)
	chunkLen  = 1 << chunkBits
	chunkMask = chunkLen - 1
	// freeMax is how many chunks migrations keep for the live logs to
	// reuse: what the inserts until the next migration need.
	freeMax     = 2 * migrateEvery / chunkLen
	groupBits   = 4 // buckets share a base offset by groups of bucketGroup
	bucketGroup = 1 << groupBits
	blockBits   = 7  // a frozen block holds 2^blockBits entries: one 4 KiB page
	tagsBits    = 11 // a frozen tag block holds 2^tagsBits tags
	tagsLen     = 1 << tagsBits
	tagsMask    = tagsLen - 1
	blockLen    = 1 << blockBits
	blockMask   = blockLen - 1
)

func newIDIndex() idIndex {
	x := idIndex{seed: maphash.MakeSeed(), depth: initDepth, dir: make([]*shard, 1<<initDepth), every: migrateEvery}
	for i := range x.dir {
		x.dir[i] = &shard{depth: initDepth, ideal: startIdeal(i)}
	}
	for g := range x.frozen {
		x.frozen[g] = segment{base: make([]uint32, 2), off: make([]uint8, bucketGroup+1)}
	}
	return x
}

// startIdeal spreads the initial capacities of the shards of the 2^
// initDepth directory entries evenly over one growth step (in log scale):
// this offset is what staggers them forever.
func startIdeal(i int) float64 {
	return minCap * math.Pow(growth, float64(i)/(1<<initDepth))
}

// ref names what find found: the entry (e, in either tier) if the id is
// there, else the empty live slot where insert puts it. It stays valid
// until the index changes layout (an insert, a delete, growth or a
// migration); overwriting an entry does not change the layout.
type ref struct {
	e   *entry // the entry, if found
	sh  *shard
	i   int
	gen uint64
	h   uint64
}

func (x *idIndex) hash(id ID) uint64 { return maphash.Bytes(x.seed, id[:]) }

// The hash's bits are used apart: the top ones pick the frozen segment
// and the live shard, bits 32–39 the tag in either tier, and the low 32
// bits the live home slot and, independently, the frozen bucket.
func (x *idIndex) shardOf(h uint64) *shard { return x.dir[h>>(64-x.depth)] }

func (x *idIndex) segmentOf(h uint64) *segment { return &x.frozen[h>>(64-segBits)] }

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

// get returns id's entry. It looks in the frozen tier first, where most
// entries are once the index is large, and compares the bucket's ids
// without their tags: an id looked up with get is usually there.
func (x *idIndex) get(id ID) (entry, bool) {
	h := x.hash(id)
	sg := x.segmentOf(h)
	b := home(h, sg.buckets())
	// get runs in many readers at once: the early loads go to a local,
	// kept alive, not to x.sink (a write readers would race on).
	var sink uint8
	if g := b >> groupBits; sg.n > 0 {
		// The bucket is near where an even spread over its group would
		// put it, likely in the same page: touching that spot while the
		// offsets load overlaps the TLB miss on the bucket with theirs.
		lo, hi := int(sg.base[g]), int(sg.base[g+1])
		sink += sg.id(min(lo+(hi-lo)*(b&(bucketGroup-1))/bucketGroup, sg.n-1))[0]
	}
	lo, hi := sg.bounds(b)
	if lo < hi {
		// Load the bucket's first entry with its ids: the entry found
		// is likely in the same cache line, and its load then overlaps
		// theirs.
		sink += uint8(sg.ent(lo).ts)
	}
	runtime.KeepAlive(sink)
	for i := lo; i < hi; i++ {
		if *sg.id(i) == id {
			return *sg.ent(i), true
		}
	}
	sh := x.shardOf(h)
	if sh.count == 0 {
		return entry{}, false
	}
	i, ok := sh.probe(id, h)
	if !ok {
		return entry{}, false
	}
	return sh.at(i).e, true
}

// find looks id up and, when it is absent, makes room for it in the live
// tier, so that the common lookup-then-insert costs one probe per tier.
// It grows a full shard even if the caller then inserts nothing. In the
// frozen tier it compares the bucket's tags first: an id looked up with
// find is usually new.
func (x *idIndex) find(id ID) (ref, bool) {
	h := x.hash(id)
	sg, sh := x.segmentOf(h), x.shardOf(h)
	// Load the frozen bucket's bounds and the live tags at once, so
	// that when neither is cached the two misses overlap instead of
	// following each other.
	lo, hi := sg.bounds(home(h, sg.buckets()))
	if n := sh.size(); n > 0 {
		x.sink += sh.tags[home(h, n)]
	}
	for t, i := tagOf(h), lo; i < hi; i++ {
		if *sg.tag(i) == t && *sg.id(i) == id {
			return ref{e: sg.ent(i)}, true
		}
	}
	if sh.count > 0 {
		// probe stops at the first empty slot of id's run: where id goes.
		i, ok := sh.probe(id, h)
		if ok {
			return ref{e: &sh.at(i).e, sh: sh, i: i, gen: x.gen, h: h}, true
		}
		if sh.count < sh.limit {
			return ref{sh: sh, i: i, gen: x.gen, h: h}, false
		}
	}
	for sh.count >= sh.limit {
		x.grow(sh, h)
		sh = x.shardOf(h)
	}
	return ref{sh: sh, i: sh.probeEmpty(h), gen: x.gen, h: h}, false
}

// at returns the entry a found ref names.
func (x *idIndex) at(r ref) entry { return *r.e }

// insert puts id, which find did not find, with e, in the live tier. If
// the layout changed since find, it finds the slot again.
func (x *idIndex) insert(r ref, id ID, e entry) {
	if r.gen != x.gen {
		r, _ = x.find(id)
	}
	x.add(r.sh, r.i, tagOf(r.h), slot{id, e})
	x.n++
	x.gen++
	x.fresh++
}

// put inserts or overwrites id's entry, in place in whichever tier holds
// it.
func (x *idIndex) put(id ID, e entry) {
	r, ok := x.find(id)
	if ok {
		*r.e = e
		return
	}
	x.insert(r, id, e)
}

// del removes id, reporting whether it was there. In the live tier, the
// slots after its slot in its probe run move back to close the gap, each
// as far as its home allows, so that every entry stays reachable from its
// home without crossing an empty slot; and the log's last entry moves
// into the place of id's, so that the log stays dense.
func (x *idIndex) del(id ID) bool {
	h := x.hash(id)
	if sg := x.segmentOf(h); sg.remove(id, h) {
		x.n--
		x.gen++
		return true
	}
	sh := x.shardOf(h)
	if sh.count == 0 {
		return false
	}
	hole, ok := sh.probe(id, h)
	if !ok {
		return false
	}
	gap := int(sh.pos[hole])
	n := sh.size()
	for k := next(hole, n); sh.tags[k] != 0; k = next(k, n) {
		// The slot at k may fill the hole unless its home lies in the
		// cyclic interval (hole, k]: it must stay at or after its home.
		hk := home(x.hash(sh.at(k).id), n)
		if (k-hk+n)%n >= (k-hole+n)%n {
			sh.setTag(hole, sh.tags[k])
			sh.pos[hole] = sh.pos[k]
			hole = k
		}
	}
	sh.setTag(hole, 0)
	sh.pos[hole] = 0
	last := sh.count - 1
	if gap != last {
		s := *sh.entry(last)
		i, _ := sh.probe(s.id, x.hash(s.id))
		*sh.entry(gap) = s
		sh.pos[i] = uint16(gap)
	}
	sh.count--
	if k := len(sh.log) - 1; sh.count == k*chunkLen {
		if len(x.free) < freeMax {
			x.free = append(x.free, sh.log[k])
		}
		sh.log[k] = nil
		sh.log = sh.log[:k]
	}
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

// all yields every entry once, in an order that depends on the seed and
// on when entries were migrated.
func (x *idIndex) all() iter.Seq2[ID, entry] {
	return func(yield func(ID, entry) bool) {
		for g := range x.frozen {
			sg := &x.frozen[g]
			for i := range sg.n {
				if !yield(*sg.id(i), *sg.ent(i)) {
					return
				}
			}
		}
		for i, sh := range x.dir {
			if i&(1<<(x.depth-sh.depth)-1) != 0 {
				continue // not the shard's first directory entry
			}
			for k := range sh.count {
				if s := sh.entry(k); !yield(s.id, s.e) {
					return
				}
			}
		}
	}
}

// size returns how many slots the shard's table has.
func (sh *shard) size() int { return len(sh.pos) }

// entry returns the shard's k-th entry in its log.
func (sh *shard) entry(k int) *slot { return &sh.log[k>>chunkBits][k&chunkMask] }

// at returns the entry of full slot i.
func (sh *shard) at(i int) *slot { return sh.entry(int(sh.pos[i])) }

// probe looks for id from its home slot up to the first empty slot. It
// returns the id's slot, or the empty slot where the run ended. The shard
// must have slots.
func (sh *shard) probe(id ID, h uint64) (int, bool) {
	n := sh.size()
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
			if sh.at(i).id == id {
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
	n := sh.size()
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
		sh.tags[sh.size()+i] = t
	}
}

// add appends s to sh's log and puts it in empty slot i with tag t.
func (x *idIndex) add(sh *shard, i int, t uint8, s slot) {
	k := sh.count
	if k == len(sh.log)*chunkLen {
		sh.log = append(sh.log, x.chunk())
	}
	*sh.entry(k) = s
	sh.setTag(i, t)
	sh.pos[i] = uint16(k)
	sh.count++
}

// chunk returns a chunk for a log, one that a migration freed if any:
// its old contents lie past the log's end, where nothing reads.
func (x *idIndex) chunk() *[chunkLen]slot {
	if n := len(x.free); n > 0 {
		c := x.free[n-1]
		x.free = x.free[:n-1]
		return c
	}
	return new([chunkLen]slot)
}

// release gives sh's log chunks back for reuse, up to freeMax in all.
func (x *idIndex) release(sh *shard) {
	for _, c := range sh.log {
		if len(x.free) < freeMax {
			x.free = append(x.free, c)
		}
	}
	sh.log = nil
}

// alloc gives the shard an empty table for ideal rounded up; its log
// stays as it is.
func (sh *shard) alloc(ideal float64) {
	n := max(int(math.Ceil(ideal)), minCap)
	sh.ideal = ideal
	sh.tags = make([]uint8, n+group-1)
	sh.pos = make([]uint16, n)
	sh.limit = n - n/8
	if sh.limit > 1<<16 {
		// Only past maxDepth, with 2^24 shards of 2^16 entries each.
		panic("ledger: idempotency index: live shard too large")
	}
}

// grow makes room in sh, the shard of hash h: its first table, a larger
// table, or, past maxCap, a split into two shards.
func (x *idIndex) grow(sh *shard, h uint64) {
	x.gen++
	if sh.size() == 0 {
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

// regrow gives sh a table for ideal and puts its entries in it, reading
// the log in order; the entries themselves do not move.
func (x *idIndex) regrow(sh *shard, ideal float64) {
	sh.alloc(ideal)
	for k := range sh.count {
		h := x.hash(sh.entry(k).id)
		i := sh.probeEmpty(h)
		sh.setTag(i, tagOf(h))
		sh.pos[i] = uint16(k)
	}
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
	to, bit := [2]*shard{lo, hi}, 63-sh.depth
	for k := range sh.count {
		s := sh.entry(k)
		h := x.hash(s.id)
		// Indexing rather than branching: the bit is random, and
		// mispredicted branches were a good part of the cost of a move.
		t := to[h>>bit&1]
		if t.count >= t.limit {
			// Only if the hash split the entries very unevenly.
			x.regrow(t, t.ideal*growth)
		}
		x.add(t, t.probeEmpty(h), tagOf(h), *s)
	}
	x.release(sh)
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

// warm loads into the cache what find will read and insert write for
// the ids with hashes hs, in both tiers, and returns a value derived from
// it so that the loads are not optimised away. It changes nothing.
//
// It works in two passes because each load is likely a cache and TLB
// miss: a pass of loads that do not depend on one another lets the CPU
// have many misses in flight at once, where a per-id loop would wait for
// the tags before it could compute which slot to load. The first pass
// loads the live tags and the frozen bucket's offsets; the second the
// frozen bucket's tags, and finds the live slot where a new id would go,
// usually in the first eight tags, inline (a call per id left fewer loads
// in flight), to load the slot's position and the end of the shard's
// log, which insert writes: without them Apply took a fifth longer.
func (x *idIndex) warm(hs []uint64) uint64 {
	var sink uint64
	for _, h := range hs {
		if sh := x.shardOf(h); sh.size() > 0 {
			sink += uint64(sh.tags[home(h, sh.size())])
		}
		sg := x.segmentOf(h)
		b := home(h, sg.buckets())
		sink += uint64(sg.base[b>>groupBits]) + uint64(sg.off[b])
	}
	for _, h := range hs {
		// The bucket's tags, in one cache line but for one bucket in
		// eight: buckets hold at most 8 on average, tag blocks are
		// line-aligned.
		if sg := x.segmentOf(h); sg.n > 0 {
			sink += uint64(*sg.tag(min(sg.start(home(h, sg.buckets())), sg.n-1)))
		}
		sh := x.shardOf(h)
		n := sh.size()
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
		sink += uint64(sh.pos[i])
		if k := sh.count; k < len(sh.log)*chunkLen {
			sink += uint64(sh.entry(k).e.ts)
		}
	}
	return sink
}

// segment is the frozen tier's part for one value of the hash's top
// segBits bits: its entries packed without gaps and grouped by bucket, a
// bucket being chosen by the hash's low 32 bits (home). A lookup computes
// the bucket's bounds, then compares the entries in it.
//
// Each entry has a one-byte tag, kept apart in tags, so that find, whose
// ids are mostly new, reads the bucket's tags (one cache line of a
// 10 MB array at ten million entries), and an id only when its tag
// matches, which for a new id is about 2% of the time. Reading the ids
// instead (one to three cache lines of a 300 MB array) cost a TLB miss
// as well per new id: BenchmarkIndexInsert took 30% longer. get,
// whose ids are mostly there, reads the ids without the tags. The tags
// cost a byte per entry, which the rest of the design made room for.
//
// The bounds take 1.25 bytes per bucket, a quarter of a uint32 offset
// each, so that at ten million entries they fit in about 2 MB, which the
// caches and the TLB mostly hold. Bucket b starts at base[b/group] +
// off[b]: a base per group of bucketGroup buckets, and per bucket a byte
// relative to it. A group whose first bucketGroup-1 buckets would hold
// more than 255 entries (at most 8 on average each) makes the segment
// double its buckets.
//
// The entries and tags are stored in blocks rather than one array so
// that a migration can merge new entries in place, growing the segment by
// a block at a time: rebuilding into a new array would allocate, zero
// and fault in 1.3 MB per migration at 10 million entries, which measured
// three times the cost of the copy itself, and slack capacity for the
// new entries would cost as much memory as it saves. A block holds its
// ids apart from their entries, so that the ids of a bucket share one
// or two cache lines, and is one page, so that an id and its entry
// share a TLB entry.
type segment struct {
	blocks []*block
	tags   []*[tagsLen]uint8
	// The bucket count nb is a multiple of bucketGroup; base has
	// nb/bucketGroup+1 elements and off nb+1, the last ones ending
	// bucket nb-1: base[nb/bucketGroup] == n, off[nb] == 0.
	base []uint32
	off  []uint8
	n    int
}

// buckets returns the segment's bucket count.
func (sg *segment) buckets() int { return len(sg.off) - 1 }

// start returns where bucket b starts; start(buckets()) is n.
func (sg *segment) start(b int) int { return int(sg.base[b>>groupBits]) + int(sg.off[b]) }

// bounds returns the slots [lo, hi) of bucket b.
func (sg *segment) bounds(b int) (lo, hi int) { return sg.start(b), sg.start(b + 1) }

// block holds blockLen frozen ids and their entries, in one page.
type block struct {
	ids [blockLen]ID
	es  [blockLen]entry
}

// id returns the segment's i-th id.
func (sg *segment) id(i int) *ID { return &sg.blocks[i>>blockBits].ids[i&blockMask] }

// ent returns the segment's i-th entry.
func (sg *segment) ent(i int) *entry { return &sg.blocks[i>>blockBits].es[i&blockMask] }

// tag returns the segment's i-th tag.
func (sg *segment) tag(i int) *uint8 { return &sg.tags[i>>tagsBits][i&tagsMask] }

// put sets the segment's i-th id, entry and tag.
func (sg *segment) put(i int, s slot, t uint8) {
	b := sg.blocks[i>>blockBits]
	b.ids[i&blockMask], b.es[i&blockMask] = s.id, s.e
	*sg.tag(i) = t
}

// lookup returns the position of id, of hash h, or -1. It compares ids
// without the tags, for ids that are likely there.
func (sg *segment) lookup(id ID, h uint64) int {
	lo, hi := sg.bounds(home(h, sg.buckets()))
	for i := lo; i < hi; i++ {
		if *sg.id(i) == id {
			return i
		}
	}
	return -1
}

// remove deletes id, of hash h, if the segment holds it, by moving the
// entries after it back by one: slow, and only for undoing a chain whose
// entries were migrated, which the ledger never needs (see idIndex).
func (sg *segment) remove(id ID, h uint64) bool {
	b := home(h, sg.buckets())
	i := sg.lookup(id, h)
	if i < 0 {
		return false
	}
	sg.move(i, i+1, sg.n)
	sg.n--
	sg.put(sg.n, slot{}, 0)
	g := b >> groupBits
	for k := b + 1; k < (g+1)<<groupBits; k++ {
		sg.off[k]--
	}
	for k := g + 1; k < len(sg.base); k++ {
		sg.base[k]--
	}
	if k := len(sg.blocks) - 1; sg.n <= k*blockLen {
		sg.blocks[k] = nil
		sg.blocks = sg.blocks[:k]
	}
	if k := len(sg.tags) - 1; sg.n <= k*tagsLen {
		sg.tags[k] = nil
		sg.tags = sg.tags[:k]
	}
	return true
}

// reserve adds blocks until the segment has room for n entries.
func (sg *segment) reserve(n int) {
	for len(sg.blocks)*blockLen < n {
		sg.blocks = append(slices.Grow(sg.blocks, len(sg.blocks)/8), new(block))
	}
	for len(sg.tags)*tagsLen < n {
		sg.tags = append(sg.tags, new([tagsLen]uint8))
	}
}

// move copies the entries and tags [from, to) to [dst, dst+to-from),
// which may overlap them.
func (sg *segment) move(dst, from, to int) {
	stretches(dst, from, to, blockBits, func(d, s, n int) {
		bd, bs := sg.blocks[d>>blockBits], sg.blocks[s>>blockBits]
		copy(bd.ids[d&blockMask:], bs.ids[s&blockMask:][:n])
		copy(bd.es[d&blockMask:], bs.es[s&blockMask:][:n])
	})
	stretches(dst, from, to, tagsBits, func(d, s, n int) {
		copy(sg.tags[d>>tagsBits][d&tagsMask:], sg.tags[s>>tagsBits][s&tagsMask:][:n])
	})
}

// write copies src, whose tags are ts, to the slots from dst on.
func (sg *segment) write(dst int, src []slot, ts []uint8) {
	for k, s := range src {
		sg.put(dst+k, s, ts[k])
	}
}

// stretches calls f(d, s, n) for each stretch of n elements, copied from
// s to d, into which copying the elements [from, to) to dst splits at
// the boundaries of blocks of 2^bits elements, so that no stretch leaves
// a block at either end. When dst > from it starts from the last, so that
// an overlapping copy reads each element before it overwrites it.
func stretches(dst, from, to int, bits uint, f func(d, s, n int)) {
	mask := 1<<bits - 1
	switch {
	case dst > from:
		for end := dst + to - from; to > from; {
			n := min(to-from, (to-1)&mask+1, (end-1)&mask+1)
			f(end-n, to-n, n)
			to, end = to-n, end-n
		}
	case dst < from:
		for from < to {
			n := min(to-from, mask+1-from&mask, mask+1-dst&mask)
			f(dst, from, n)
			from, dst = from+n, dst+n
		}
	}
}

// settle moves one segment's live entries to the frozen tier if the
// index has taken migrateEvery inserts since it last did. The ledger
// calls it between commands and chains, never within a chain, so that
// undoing a chain finds its new entries still live, where deleting is
// cheap, and so that no ref is held across a migration.
// A migration moves at most one segment: 1.3 MB at 10 million entries.
func (x *idIndex) settle() {
	if x.fresh < x.every {
		return
	}
	x.fresh -= x.every
	x.migrate(x.next)
	x.next = (x.next + 1) % segs
}

// migrate moves segment g's live entries to its frozen part and gives
// its live part one empty shard.
func (x *idIndex) migrate(g int) {
	width := 1 << (x.depth - segBits)
	start := g * width
	k := 0
	for d := start; d < start+width; d += 1 << (x.depth - x.dir[d].depth) {
		k += x.dir[d].count
	}
	if k == 0 {
		return
	}
	moving, hs := x.moving[:0], x.hashes[:0]
	for d := start; d < start+width; d += 1 << (x.depth - x.dir[d].depth) {
		moving, hs = x.gather(x.dir[d], moving, hs)
	}
	sg := &x.frozen[g]
	if m := sg.n + k; m > bucketMax*sg.buckets() {
		x.rebucket(sg, bucketCount(m, g))
	}
	for !x.merge(sg, moving, hs) {
		x.rebucket(sg, 2*sg.buckets())
	}
	x.moving, x.hashes = moving[:0], hs[:0]
	// The segment's live part will take about every entries before its
	// next migration: start with room for half of them, so that one
	// growth step, not a dozen from minCap, takes it there.
	empty := &shard{depth: segBits, ideal: max(startIdeal(g), min(0.6*float64(x.every), maxCap/2))}
	for d := start; d < start+width; d++ {
		x.dir[d] = empty
	}
	x.gen++
}

// gather appends sh's entries to moving and their hashes to hs, and
// gives its log's chunks back for reuse.
func (x *idIndex) gather(sh *shard, moving []slot, hs []uint64) ([]slot, []uint64) {
	for k := range sh.count {
		s := sh.entry(k)
		moving = append(moving, *s)
		hs = append(hs, x.hash(s.id))
	}
	x.release(sh)
	return moving, hs
}

// merge adds moving, whose hashes are hs, to sg without changing its
// bucket count, unless that would overflow a group's offsets, when it
// reports false and changes nothing. It sorts them by bucket, then walks
// the buckets from the last, shifting each stretch of old entries up by
// the number of new ones that go before it, and writing each bucket's new
// entries after its old ones. Every old entry after the first bucket that
// receives one moves; none is hashed again.
func (x *idIndex) merge(sg *segment, moving []slot, hs []uint64) bool {
	nb := sg.buckets()
	bk := grow(x.bk, len(moving))
	// starts[b] ends up as the number of new entries in buckets before b.
	starts := grow(x.starts, nb+1)
	clear(starts)
	for i, h := range hs {
		b := uint32(home(h, nb))
		bk[i] = b
		starts[b]++
	}
	for b := 1; b < nb; b++ {
		starts[b] += starts[b-1]
	}
	x.bk, x.starts = bk, starts
	// The largest offset of each group, its last bucket's, must fit: it
	// grows by the new entries of the group's other buckets.
	for b := bucketGroup - 1; b < nb; b += bucketGroup {
		before := uint32(0) // new entries before the group
		if first := b + 1 - bucketGroup; first > 0 {
			before = starts[first-1]
		}
		if int(sg.off[b])+int(starts[b-1]-before) > math.MaxUint8 {
			return false
		}
	}
	sorted, stags := grow(x.sorted, len(moving)), grow(x.stags, len(moving))
	for i := len(moving) - 1; i >= 0; i-- {
		b := bk[i]
		starts[b]--
		sorted[starts[b]], stags[starts[b]] = moving[i], tagOf(hs[i])
	}
	x.sorted, x.stags = sorted, stags
	starts[nb] = uint32(len(moving))
	old := sg.n
	sg.reserve(old + len(moving))
	end := old // old entries at and after end are in place
	for b := nb - 1; starts[b+1] > 0; b-- {
		lo, hi := starts[b], starts[b+1]
		if lo == hi {
			continue
		}
		e := sg.start(b + 1)
		if end-e > 32 {
			sg.move(e+int(hi), e, end)
		} else {
			// Runs are short, as many as the new entries: a call to
			// copy per run and array cost more than the copying.
			for i, d := end-1, int(hi); i >= e; i-- {
				bs, bd := sg.blocks[i>>blockBits], sg.blocks[(i+d)>>blockBits]
				bd.ids[(i+d)&blockMask] = bs.ids[i&blockMask]
				bd.es[(i+d)&blockMask] = bs.es[i&blockMask]
				*sg.tag(i + d) = *sg.tag(i)
			}
		}
		sg.write(e+int(lo), sorted[lo:hi], stags[lo:hi])
		end = e
	}
	for b := 0; b < nb; b += bucketGroup {
		first := starts[b]
		sg.base[b>>groupBits] += first
		for k := b + 1; k < b+bucketGroup; k++ {
			sg.off[k] += uint8(starts[k] - first)
		}
	}
	sg.base[nb>>groupBits] += starts[nb]
	sg.n = old + len(moving)
	return true
}

// rebucket gives sg nb buckets, or more if a group's offsets would
// overflow, in place: it hashes every entry again, but moves each only
// within its old bucket. Because home is monotonic in the hash's low
// bits, no entry's new bucket comes before that of an entry of an earlier
// old bucket, so sorting each old bucket's entries by new bucket sorts
// them all.
func (x *idIndex) rebucket(sg *segment, nb int) {
	for {
		count := grow(x.starts, nb+1)
		clear(count)
		for b := range sg.buckets() {
			lo, hi := sg.bounds(b)
			ks := grow(x.bk, hi-lo)
			x.bk = ks
			for i := lo; i < hi; i++ {
				k := uint32(home(x.hash(*sg.id(i)), nb))
				count[k]++
				// Insertion sort: buckets hold a few entries.
				j := i - lo
				for ; j > 0 && ks[j-1] > k; j-- {
					ks[j] = ks[j-1]
					sg.swap(lo+j, lo+j-1)
				}
				ks[j] = k
			}
		}
		x.starts = count
		if fits(count[:nb]) {
			break
		}
		// Only with a hash that failed: over 255 of 8·15 entries.
		if nb >= 1<<30 {
			panic("ledger: idempotency index: frozen bucket overflow")
		}
		nb *= 2
	}
	base := make([]uint32, nb/bucketGroup+1)
	off := make([]uint8, nb+1)
	pos := uint32(0)
	for b, c := range x.starts[:nb] {
		if b%bucketGroup == 0 {
			base[b>>groupBits] = pos
		}
		off[b] = uint8(pos - base[b>>groupBits])
		pos += c
	}
	base[nb/bucketGroup] = pos
	sg.base, sg.off = base, off
}

// swap exchanges the segment's i-th and j-th entries.
func (sg *segment) swap(i, j int) {
	ti, tj := sg.tag(i), sg.tag(j)
	*ti, *tj = *tj, *ti
	bi, bj := sg.blocks[i>>blockBits], sg.blocks[j>>blockBits]
	i, j = i&blockMask, j&blockMask
	bi.ids[i], bj.ids[j] = bj.ids[j], bi.ids[i]
	bi.es[i], bj.es[j] = bj.es[j], bi.es[i]
}

// fits reports whether each group of count, bucket counts, keeps its
// offsets within a byte.
func fits(count []uint32) bool {
	for b := 0; b < len(count); b += bucketGroup {
		sum := uint32(0)
		for _, c := range count[b : b+bucketGroup-1] {
			sum += c
		}
		if sum > math.MaxUint8 {
			return false
		}
	}
	return true
}

// bucketCount returns how many buckets segment g takes for m entries:
// bucketGroup times the smallest of the sequence ⌈2^(k+g/segs)⌉ (k an
// integer) that holds at most bucketMax entries per bucket. The
// fractional phase g/segs makes segments, which grow at the same pace,
// double their buckets (and hash all their entries again) at different
// sizes, so that the rehashing is spread over inserts as the live
// shards' growth is.
func bucketCount(m, g int) int {
	phase := float64(g) / segs
	k := math.Ceil(math.Log2(float64(m)/(bucketMax*bucketGroup)) - phase)
	n := max(int(math.Ceil(math.Exp2(k+phase))), 1)
	for m > bucketMax*bucketGroup*n { // only if rounding went the wrong way
		n++
	}
	return n * bucketGroup
}

// grow returns s resliced or reallocated to length n.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
