package velocity

import "sync"

// entry is one tracked key in a shard's slab.
type entry[S any] struct {
	key    uint64 // the key's 64-bit hash, never 0; 0 marks a free position
	newest uint32 // the Unix second of the newest transfer observed for the key
	val    S
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
	// two and it is kept at most half full, with linear probing and
	// backward-shift deletion (no tombstones). Four bytes a place keep
	// the index of a million keys small enough to stay mostly in cache.
	index  []uint32
	slab   []entry[S]
	free   int32  // head of the list of free slab positions, chained through key; -1 when none
	n      int    // entries in use
	maxN   int    // the shard's share of MaxKeys
	cursor int    // next slab position to look at for expiry and eviction
	clock  uint32 // the newest second observed in the shard
	keep   uint32 // how long a key is kept after its newest transfer, in seconds
	_      [64]byte
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

// upsert returns the entry for key, marking it active at second sec. A
// key that is absent, or idle for longer than keep, starts from the zero
// S; adding a key to a full shard evicts one. The caller holds mu for
// writing.
func (s *shard[S]) upsert(key uint64, sec uint32) *entry[S] {
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
		var zero S
		e.val = zero
	}
	if sec > e.newest {
		e.newest = sec
	}
	return e
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
	if 2*(s.n+1) > len(s.index) {
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
				s.slab[p].key = 0
				s.slab[p].newest = uint32(s.free + 1)
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
