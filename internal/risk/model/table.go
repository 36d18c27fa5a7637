package model

import "sync"

// ways is the associativity of a table: a key lives in one bucket of
// ways places, whose keys fill one 64-byte cache line, so that a look-up
// reads one line of keys and one of state.
const ways = 8

// entity is the per-key state a table holds: plain values without
// pointers, so that the garbage collector never scans the slabs.
type entity interface {
	account | alias
}

// seenOf returns the Unix second of the entity's last observation, the
// age by which a full bucket chooses whom to forget.
func seenOf[V entity](v *V) uint32 {
	switch x := any(v).(type) {
	case *account:
		return x.last
	case *alias:
		return x.last
	}
	return 0
}

// table maps 64-bit key hashes (never 0) to entity state, in shards
// selected by the top bits of the hash, each a set-associative array that
// grows by doubling (when three quarters full) up to its share of the
// bound in places (rounded up to a whole bucket), and then forgets the
// least recently seen key of the bucket a new key falls in. A key may
// thus be forgotten a little before the shard is full, when its bucket
// is: at the bound a shard holds about nine tenths of its share.
type table[V entity] struct {
	shards    []shard[V]
	shardBits uint
}

// shard is one lock's worth of a table.
type shard[V entity] struct {
	mu   sync.RWMutex
	keys []uint64 // ways per bucket; 0 marks a free place
	vals []V      // parallel to keys
	n    int      // places in use
	maxN int      // the shard's share of the bound
	_    [64]byte // keeps neighbouring shards' locks off one cache line
}

// minBuckets is a new shard's first allocation: small, so that a model
// with few keys (tests, a small scheme) holds little memory.
const minBuckets = 2

func newTable[V entity](maxKeys int) *table[V] {
	// Few shards for a small bound, so that the bound is nearly exact;
	// up to 256 for a large one, so that screening goroutines and the
	// committer rarely meet on a lock.
	bits := uint(0)
	for bits < 8 && maxKeys>>(bits+1) >= 4096 {
		bits++
	}
	t := &table[V]{shards: make([]shard[V], 1<<bits), shardBits: bits}
	per := max((maxKeys+len(t.shards)-1)>>bits, 1)
	for i := range t.shards {
		t.shards[i].maxN = per
	}
	return t
}

func (t *table[V]) shardOf(key uint64) *shard[V] {
	if t.shardBits == 0 {
		return &t.shards[0]
	}
	return &t.shards[key>>(64-t.shardBits)]
}

// get copies the state of key into v and reports whether it was there.
func (t *table[V]) get(key uint64, v *V) bool {
	s := t.shardOf(key)
	s.mu.RLock()
	i := s.find(key)
	if i >= 0 {
		*v = s.vals[i]
	}
	s.mu.RUnlock()
	return i >= 0
}

// update calls f with the state of key (the zero V for a new key, with
// fresh true) under the shard's lock.
func (t *table[V]) update(key uint64, f func(v *V, fresh bool)) {
	s := t.shardOf(key)
	s.mu.Lock()
	i := s.find(key)
	fresh := i < 0
	if fresh {
		i = s.insert(key)
	}
	f(&s.vals[i], fresh)
	s.mu.Unlock()
}

// bucket returns the first place of key's bucket: the low 32 bits of the
// key scaled to the number of buckets, which need not be a power of two.
func (s *shard[V]) bucket(key uint64) int {
	nb := uint64(len(s.keys) / ways)
	return int(uint64(uint32(key))*nb>>32) * ways
}

// find returns the place of key, or -1. The caller holds mu.
func (s *shard[V]) find(key uint64) int {
	if len(s.keys) == 0 {
		return -1
	}
	b := s.bucket(key)
	for i, k := range s.keys[b : b+ways] {
		if k == key {
			return b + i
		}
	}
	return -1
}

// insert places key, absent, with the zero state and returns its place.
// The caller holds mu for writing.
func (s *shard[V]) insert(key uint64) int {
	if len(s.keys) == 0 {
		s.grow(minBuckets)
	} else if s.n >= len(s.keys)*3/4 && len(s.keys) < s.maxN {
		s.grow(min(2*len(s.keys), s.maxN+ways-1) / ways)
	}
	b := s.bucket(key)
	free, oldest := -1, -1
	for i := b; i < b+ways; i++ {
		if s.keys[i] == 0 {
			free = i
			break
		}
		if oldest < 0 || seenOf(&s.vals[i]) < seenOf(&s.vals[oldest]) {
			oldest = i
		}
	}
	switch {
	case free >= 0 && s.n < s.maxN:
		s.n++
	case free >= 0:
		// At the bound with room in this bucket: forget the least
		// recently seen key of the nearest occupied bucket instead, so
		// that the bound holds exactly.
		s.evictNear(b)
		s.n++
	default:
		free = oldest // the bucket is full: its least recently seen key goes
	}
	s.keys[free] = key
	var zero V
	s.vals[free] = zero
	return free
}

// evictNear frees the least recently seen place of the first occupied
// bucket from b on.
func (s *shard[V]) evictNear(b int) {
	for range len(s.keys) / ways {
		oldest := -1
		for i := b; i < b+ways; i++ {
			if s.keys[i] != 0 && (oldest < 0 || seenOf(&s.vals[i]) < seenOf(&s.vals[oldest])) {
				oldest = i
			}
		}
		if oldest >= 0 {
			s.keys[oldest] = 0
			s.n--
			return
		}
		b = (b + ways) % len(s.keys)
	}
}

// grow reallocates the shard with nb buckets and places every key again;
// a bucket that overflows keeps its most recently seen keys.
func (s *shard[V]) grow(nb int) {
	oldKeys, oldVals := s.keys, s.vals
	s.keys = make([]uint64, nb*ways)
	s.vals = make([]V, nb*ways)
	s.n = 0
	for i, k := range oldKeys {
		if k == 0 {
			continue
		}
		b := s.bucket(k)
		place := -1
		for j := b; j < b+ways; j++ {
			if s.keys[j] == 0 {
				place = j
				s.n++
				break
			}
			if place < 0 || seenOf(&s.vals[j]) < seenOf(&s.vals[place]) {
				place = j
			}
		}
		if s.keys[place] != 0 && seenOf(&s.vals[place]) > seenOf(&oldVals[i]) {
			continue // the newcomer is the least recently seen: it goes
		}
		s.keys[place], s.vals[place] = k, oldVals[i]
	}
}

// stats returns the keys held and the places allocated.
func (t *table[V]) stats() (n, places int) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += s.n
		places += len(s.keys)
		s.mu.RUnlock()
	}
	return n, places
}
