package velocity

import "sync"

// entry is one tracked key in a shard's slab. The fields before val are
// the bookkeeping every kind of state shares.
type entry[S any] struct {
	key        uint64 // the key's 64-bit hash, never 0 (0 marks a free index slot)
	prev, next int32  // the shard's list of keys, least recently observed first; -1 ends it
	newest     uint32 // the Unix second of the newest transfer observed for the key
	val        S
}

// shard is one lock's worth of a table: a slab of entries, an
// open-addressing index from key hash to slab position, and a list that
// orders the entries by their last observation for expiry and eviction.
type shard[S any] struct {
	mu     sync.RWMutex
	index  []int32 // slab position + 1; 0 is empty. len is a power of two, kept at most half full
	slab   []entry[S]
	free   int32 // head of the list of free slab positions (through next); -1 when none
	head   int32 // least recently observed entry, -1 when empty
	tail   int32 // most recently observed entry, -1 when empty
	n      int   // entries in use
	maxN   int   // the shard's share of MaxKeys
	clock  uint32
	window uint32 // how long a key is kept after its newest transfer, in seconds
	_      [64]byte
}

// table maps key hashes to per-key state S across shards selected by the
// top bits of the hash.
type table[S any] struct {
	shards    []shard[S]
	shardBits uint
}

func newTable[S any](maxKeys int, window uint32) *table[S] {
	// Few shards for a small table, so that its bound and its eviction
	// order are exact; 256 for a large one, so that screening goroutines
	// and the committer rarely meet on a lock.
	bits := uint(0)
	for bits < 8 && maxKeys>>(bits+1) >= 4096 {
		bits++
	}
	t := &table[S]{shards: make([]shard[S], 1<<bits), shardBits: bits}
	per := (maxKeys + len(t.shards) - 1) >> bits
	for i := range t.shards {
		s := &t.shards[i]
		s.free, s.head, s.tail = -1, -1, -1
		s.maxN = per
		s.window = window
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
	for i := key & mask; ; i = (i + 1) & mask {
		p := s.index[i]
		if p == 0 {
			return -1
		}
		if s.slab[p-1].key == key {
			return p - 1
		}
	}
}

// upsert returns the entry for key at second sec, creating it (after
// forgetting expired keys and, when the shard is full, the least recently
// observed one) if it is absent, and marks it most recently observed. The
// bool reports whether the entry is new; its val is then the zero S. The
// caller holds mu for writing.
func (s *shard[S]) upsert(key uint64, sec uint32) (*entry[S], bool) {
	if sec > s.clock {
		s.clock = sec
	}
	// Forget at most two expired keys per call: the work stays bounded
	// and still outpaces the creation of keys.
	for range 2 {
		if s.head < 0 || s.slab[s.head].newest+s.window >= s.clock {
			break
		}
		s.remove(s.head)
	}
	p := s.find(key)
	fresh := p < 0
	if fresh {
		if s.n >= s.maxN {
			s.remove(s.head)
		}
		p = s.alloc()
		e := &s.slab[p]
		var zero S
		e.key, e.newest, e.val = key, sec, zero
		s.insertIndex(key, p)
		s.n++
	} else {
		s.unlink(p)
		if e := &s.slab[p]; e.newest+s.window < sec {
			// Idle for longer than it is kept: start afresh, as if the
			// key had been forgotten already.
			var zero S
			e.val = zero
		}
	}
	s.pushTail(p)
	e := &s.slab[p]
	if sec > e.newest {
		e.newest = sec
	}
	return e, fresh
}

func (s *shard[S]) alloc() int32 {
	if s.free >= 0 {
		p := s.free
		s.free = s.slab[p].next
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
	s.index[i] = p + 1
}

func (s *shard[S]) growIndex() {
	size := max(2*len(s.index), 32)
	old := s.index
	s.index = make([]int32, size)
	mask := uint64(size - 1)
	for _, p := range old {
		if p == 0 {
			continue
		}
		i := s.slab[p-1].key & mask
		for s.index[i] != 0 {
			i = (i + 1) & mask
		}
		s.index[i] = p
	}
}

// remove forgets the entry at slab position p.
func (s *shard[S]) remove(p int32) {
	key := s.slab[p].key
	mask := uint64(len(s.index) - 1)
	i := key & mask
	for s.index[i] != p+1 {
		i = (i + 1) & mask
	}
	// Backward-shift deletion keeps linear probing free of tombstones, so
	// that the index never degrades however many keys come and go.
	for {
		s.index[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			q := s.index[j]
			if q == 0 {
				s.unlink(p)
				s.slab[p].key = 0
				s.slab[p].next = s.free
				s.free = p
				s.n--
				return
			}
			home := s.slab[q-1].key & mask
			// Move q back to i unless its home lies cyclically in (i, j].
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				s.index[i] = q
				i = j
				break
			}
		}
	}
}

func (s *shard[S]) unlink(p int32) {
	e := &s.slab[p]
	if e.prev >= 0 {
		s.slab[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.slab[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (s *shard[S]) pushTail(p int32) {
	e := &s.slab[p]
	e.prev, e.next = s.tail, -1
	if s.tail >= 0 {
		s.slab[s.tail].next = p
	} else {
		s.head = p
	}
	s.tail = p
}
