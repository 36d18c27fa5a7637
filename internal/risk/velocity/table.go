package velocity

import "sync"

// entry is one tracked key in a shard's slab: the key's counts, in the
// entry or in a wide record of the shard's pool, and S, what else its
// table keeps of it. No field is a pointer, so that the garbage collector
// does not scan the slab.
type entry[S any] struct {
	key    uint64 // the key's 64-bit hash, never 0; 0 marks a free position
	newest uint32 // the Unix second of the newest transfer observed for the key
	wide   int32  // position + 1 of the key's wide record in the pool, 0 for none
	val    S      // before counts: a trailing empty S would take padding
	counts small  // the key's slots while wide is 0
}

// evictSample is how many consecutive slab positions a full shard looks
// at to choose the key to evict: the least recently active of them. A
// list in activity order would make the choice exact but cost two more
// cache misses per Observe (the neighbours' links), which at a million
// keys is more than the rest of the work.
const evictSample = 8

// shard is one lock's worth of a table: a slab of entries and an
// open-addressing index from key hash to slab position.
type shard[S any] struct {
	mu sync.RWMutex
	// index holds, per occupied place, 10 bits of the key (which skip
	// all but 1/1024 of the wrong slab entries a probe meets) above the
	// slab position + 1 (posBits); 0 is empty. Its length is a power of
	// two and it is kept at most 3/4 full, with linear probing and
	// backward-shift deletion (no tombstones): the tags make a probe of a
	// long cluster cost a scan of one or two cache lines, not slab
	// misses. Four bytes a place keep the index of a million keys small
	// enough to stay mostly in cache; at the default shard size (1536
	// keys, 2048 places) the index costs 5.3 bytes a key.
	index  []uint32
	slab   []entry[S]
	free   int32  // head of the list of free slab positions, chained through key; -1 when none
	n      int    // entries in use
	maxN   int    // the shard's share of MaxKeys
	cursor int    // next slab position to look at for expiry and eviction
	clock  uint32 // the newest second observed in the shard
	keep   uint32 // how long a key is kept after its newest transfer, in seconds
	// pool holds the wide records that the busiest keys borrow (see add),
	// at most maxWide; wideFree heads the list of free ones, chained
	// through owner (−2 − next), −1 when none; wideCursor is the next
	// record to look at for one to take back.
	pool       []wide
	maxWide    int
	wideFree   int32
	wideCursor int
	_          [64]byte
}

// posBits is the width of a slab position + 1 in an index place; it holds
// the largest shard that maxKeysLimit allows.
const posBits = 22

// tagOf returns the bits of key that its index place holds: above the
// shard bits' and the home place's use of the hash.
func tagOf(key uint64) uint32 { return uint32(key>>32) & (1<<(32-posBits) - 1) << posBits }

// table maps key hashes to per-key state S across shards selected by the
// top bits of the hash.
type table[S any] struct {
	shards    []shard[S]
	shardBits uint
}

func newTable[S any](maxKeys int, keep uint32) *table[S] {
	// Few shards for a small table, so that its bound is exact; up to 256
	// for a large one, so that screening goroutines and the committer
	// rarely meet on a lock.
	bits := uint(0)
	for bits < 8 && maxKeys>>(bits+1) >= 4096 {
		bits++
	}
	t := &table[S]{shards: make([]shard[S], 1<<bits), shardBits: bits}
	per := (maxKeys + len(t.shards) - 1) >> bits
	if per >= 1<<posBits {
		panic("velocity: a shard larger than an index place can address; maxKeysLimit is wrong")
	}
	for i := range t.shards {
		s := &t.shards[i]
		s.free = -1
		s.maxN = per
		s.keep = keep
		s.wideFree = -1
		s.maxWide = max(1, per/wideShare)
	}
	return t
}

func (t *table[S]) shardOf(key uint64) *shard[S] {
	if t.shardBits == 0 {
		return &t.shards[0]
	}
	return &t.shards[key>>(64-t.shardBits)]
}

// len returns the number of keys tracked.
func (t *table[S]) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += s.n
		s.mu.RUnlock()
	}
	return n
}

// find returns the slab position of key, or -1. The caller holds mu.
func (s *shard[S]) find(key uint64) int32 {
	if len(s.index) == 0 {
		return -1
	}
	mask := uint64(len(s.index) - 1)
	tag := tagOf(key)
	for i := key & mask; ; i = (i + 1) & mask {
		x := s.index[i]
		if x == 0 {
			return -1
		}
		if x&^(1<<posBits-1) == tag {
			if p := int32(x&(1<<posBits-1)) - 1; s.slab[p].key == key {
				return p
			}
		}
	}
}

// live returns the entry at p if it was active within keep of the
// shard's newest second, nil otherwise. The caller holds mu.
func (s *shard[S]) live(p int32) *entry[S] {
	if p < 0 {
		return nil
	}
	if e := &s.slab[p]; e.newest+s.keep >= s.clock {
		return e
	}
	return nil
}

// upsert returns the slab position of key, marking it active at second sec. A
// key that is absent, or idle for longer than keep, starts from the zero
// S; adding a key to a full shard evicts one. The caller holds mu for
// writing.
func (s *shard[S]) upsert(key uint64, sec uint32) int32 {
	if sec > s.clock {
		s.clock = sec
	}
	p := s.find(key)
	if p < 0 {
		s.makeRoom()
		p = s.alloc()
		s.slab[p] = entry[S]{key: key, newest: sec}
		s.insertIndex(key, p)
		s.n++
	}
	e := &s.slab[p]
	if e.newest+s.keep < sec {
		// Idle for longer than it is kept: start afresh, as if the key had
		// been forgotten already.
		s.freeWide(e)
		var zero S
		e.val = zero
		e.counts = small{}
	}
	if sec > e.newest {
		e.newest = sec
	}
	return p
}

// makeRoom forgets the expired keys among the next slab positions and,
// if the shard is full, the least recently active of evictSample of them.
// Looking at a few positions for every new key drains expired keys at
// least as fast as new ones arrive, with sequential memory accesses.
func (s *shard[S]) makeRoom() {
	look := 2
	if s.n >= s.maxN {
		look = evictSample
	}
	victim := int32(-1)
	for range min(look, len(s.slab)) {
		if s.cursor >= len(s.slab) {
			s.cursor = 0
		}
		p := int32(s.cursor)
		s.cursor++
		e := &s.slab[p]
		switch {
		case e.key == 0:
		case e.newest+s.keep < s.clock:
			s.remove(p)
		case victim < 0 || e.newest < s.slab[victim].newest:
			victim = p
		}
	}
	if s.n >= s.maxN && victim >= 0 {
		s.remove(victim)
	}
}

func (s *shard[S]) alloc() int32 {
	if s.free >= 0 {
		p := s.free
		s.free = int32(s.slab[p].newest) - 1
		return p
	}
	if len(s.slab) == cap(s.slab) {
		// Grow by doubling, but never past the shard's share of MaxKeys, so
		// that a full table holds no slack.
		c := min(max(2*cap(s.slab), 16), s.maxN)
		slab := make([]entry[S], len(s.slab), c)
		copy(slab, s.slab)
		s.slab = slab
	}
	s.slab = s.slab[:len(s.slab)+1]
	return int32(len(s.slab) - 1)
}

func (s *shard[S]) insertIndex(key uint64, p int32) {
	if 4*(s.n+1) > 3*len(s.index) {
		s.growIndex()
	}
	mask := uint64(len(s.index) - 1)
	i := key & mask
	for s.index[i] != 0 {
		i = (i + 1) & mask
	}
	s.index[i] = tagOf(key) | uint32(p+1)
}

func (s *shard[S]) growIndex() {
	size := max(2*len(s.index), 32)
	old := s.index
	s.index = make([]uint32, size)
	mask := uint64(size - 1)
	for _, x := range old {
		if x == 0 {
			continue
		}
		i := s.slab[x&(1<<posBits-1)-1].key & mask
		for s.index[i] != 0 {
			i = (i + 1) & mask
		}
		s.index[i] = x
	}
}

// remove forgets the entry at slab position p.
func (s *shard[S]) remove(p int32) {
	s.freeWide(&s.slab[p])
	key := s.slab[p].key
	mask := uint64(len(s.index) - 1)
	i := key & mask
	for s.index[i]&(1<<posBits-1) != uint32(p+1) {
		i = (i + 1) & mask
	}
	// Backward-shift deletion keeps linear probing free of tombstones, so
	// that the index never degrades however many keys come and go.
	for {
		s.index[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			x := s.index[j]
			if x == 0 {
				// The free list is chained through newest (position + 1), so
				// that key stays 0 for every free position.
				s.slab[p] = entry[S]{newest: uint32(s.free + 1)}
				s.free = p
				s.n--
				return
			}
			home := s.slab[x&(1<<posBits-1)-1].key & mask
			// Move x back to i unless its home lies cyclically in (i, j].
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				s.index[i] = x
				i = j
				break
			}
		}
	}
}

// wideShare is how many keys of a shard share one wide record: the pool
// costs at most 152/24 = 6.3 bytes a key, and a shard's 1/24 busiest keys
// (by recent activity) keep wideMax slots.
const wideShare = 24

// stealIdleSec is how long the key of a wide record must have been idle
// before a newcomer takes the record: more busy keys than records then
// keep theirs and merge the newcomers' slots, instead of taking records
// from each other on every transfer (each time merging 12 slots into 3).
const stealIdleSec = 60

// add records one transfer of amount at second sec in the counts of the
// entry at p, which upsert has just marked active. A key whose transfers
// no longer fit its inline slots borrows a wide record from the pool,
// taking one back from the least recently active of the next 4 records'
// keys when the pool is full (that key merges its slots down to
// inlineMax); if that key was active within stealIdleSec, this one merges
// its own slots instead. The caller holds mu for writing.
func (s *shard[S]) add(p int32, sec uint32, amount int64) {
	e := &s.slab[p]
	if e.wide != 0 {
		s.pool[e.wide-1].view().add(sec, e.newest, s.keep, amount)
		return
	}
	v := e.counts.view()
	if v.n() == inlineMax && v.full(sec, e.newest, s.keep) {
		if q := s.borrow(e.newest); q >= 0 {
			w := &s.pool[q]
			w.owner = p
			v.copyTo(w.view())
			e.wide = q + 1
			e.counts = small{}
			w.view().add(sec, e.newest, s.keep, amount)
			return
		}
	}
	v.add(sec, e.newest, s.keep, amount)
}

// since returns the count and sum of e's transfers from second from on.
// The caller holds mu.
func (s *shard[S]) since(e *entry[S], from uint32) (count, sum int64) {
	if e.wide != 0 {
		return s.pool[e.wide-1].view().since(from)
	}
	return e.counts.view().since(from)
}

// borrow returns the position of a wide record for a key active at
// second newest, or -1 if none is free and every candidate's key was
// active within stealIdleSec of it.
func (s *shard[S]) borrow(newest uint32) int32 {
	if s.wideFree >= 0 {
		q := s.wideFree
		s.wideFree = -2 - s.pool[q].owner
		return q
	}
	if len(s.pool) < s.maxWide {
		if len(s.pool) == cap(s.pool) {
			pool := make([]wide, len(s.pool), min(max(2*cap(s.pool), 4), s.maxWide))
			copy(pool, s.pool)
			s.pool = pool
		}
		s.pool = s.pool[:len(s.pool)+1]
		return int32(len(s.pool) - 1)
	}
	victim := int32(-1)
	for range min(4, len(s.pool)) {
		if s.wideCursor >= len(s.pool) {
			s.wideCursor = 0
		}
		q := int32(s.wideCursor)
		s.wideCursor++
		if victim < 0 || s.slab[s.pool[q].owner].newest < s.slab[s.pool[victim].owner].newest {
			victim = q
		}
	}
	if victim < 0 || s.slab[s.pool[victim].owner].newest+stealIdleSec > newest {
		return -1
	}
	owner := &s.slab[s.pool[victim].owner]
	w := s.pool[victim].view()
	w.shrink(owner.newest, inlineMax)
	w.copyTo(owner.counts.view())
	owner.wide = 0
	return victim
}

// freeWide returns e's wide record, if any, to the pool.
func (s *shard[S]) freeWide(e *entry[S]) {
	if e.wide == 0 {
		return
	}
	q := e.wide - 1
	s.pool[q] = wide{owner: -2 - s.wideFree}
	s.wideFree = q
	e.wide = 0
}
