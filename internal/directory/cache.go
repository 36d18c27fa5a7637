package directory

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
	"unique"

	"github.com/hulian/hulian/internal/money"
)

// maxShards spreads the cache over independently locked maps so that
// lookups from many goroutines rarely meet on one lock. A power of two.
const maxShards = 64

// cache holds positive lookups, bounded, with random eviction: when a
// shard is full, inserting drops whichever entry Go's map iteration
// yields first, which starts at a random position. That is close enough
// to random replacement, which on the uniform or heavy-tailed lookups of
// a directory does about as well as LRU, and needs no bookkeeping on the
// read path (a read takes only a shard's read lock).
//
// It never serves data older than a write that has returned: every
// write, after its transaction ends, replaces its keys' entries with
// what it stored or removes them, and a lookup that read the database
// before that must not put its (possibly old) result in afterwards.
// Each shard therefore has generations, one per bucket of keys, bumped
// by every write to a key of the bucket; a lookup remembers the
// generation it saw before reading the database and fills the cache only
// if it is unchanged. A write holds what it stored only if its
// buckets' generations did not move during its transaction either: a
// concurrent write of the same key may have committed after it. Many
// buckets keep concurrent batches of registrations from spoiling each
// other's entries.
//
// A cache with a maximum age also forgets an entry that old: for a
// process whose cache no write of its own keeps current (a cluster's
// follower, whose leader writes the database), so that what it answers
// is never older than that.
type cache struct {
	seed     maphash.Seed
	perShard int
	shards   []shard // a power of two of them
	maxAge   int64   // nanoseconds; 0: entries last until a write or eviction
	now      func() time.Time
}

// cacheBuckets is the number of generations per shard (512 Ki in all
// with 64 shards, 4 MiB), as for the routes (see routeBuckets).
const cacheBuckets = 8192

type shard struct {
	mu   sync.RWMutex
	gens [cacheBuckets]uint64
	// m is keyed by a hash of the alias, and each entry holds its alias
	// to check against: a map keyed by two strings costs twice as much to
	// hash and compare, and a payment looks its payee up here.
	m map[uint64]cacheEntry
	_ [64]byte // keeps shards' locks on separate cache lines
}

// cacheEntry is a Party, compactly: at a quarter of a million entries
// every word counts. The alias, the name and the account share one
// string (one allocation, one header), cut where the lengths say.
type cacheEntry struct {
	text        string // value, name, account
	participant string
	created     int64
	nValue      uint16
	nName       uint16
	currency    money.Currency
	typ         uint8 // typeCode
	read        int64 // when it was read, unix nanoseconds; 0 without a maximum age
}

// newCacheEntry returns the entry of an alias of type code typ; ok is
// false if a part is too long to be cut by a uint16.
func newCacheEntry(typ uint8, value, participant, name, account string, created int64, c money.Currency) (cacheEntry, bool) {
	if len(value) > math.MaxUint16 || len(name) > math.MaxUint16 {
		return cacheEntry{}, false
	}
	return cacheEntry{
		text: value + name + account,
		// Few participants own millions of aliases: share their ids.
		participant: unique.Make(participant).Value(),
		created:     created,
		nValue:      uint16(len(value)),
		nName:       uint16(len(name)),
		currency:    c,
		typ:         typ,
	}, true
}

func (e *cacheEntry) value() string { return e.text[:e.nValue] }

func (e *cacheEntry) name() string { return e.text[e.nValue : e.nValue+e.nName] }

func (e *cacheEntry) account() string { return e.text[e.nValue+e.nName:] }

// newCache returns a cache of at most entries entries (entries > 0).
func newCache(entries int) *cache {
	n := maxShards
	for n > entries {
		n /= 2
	}
	c := &cache{seed: maphash.MakeSeed(), perShard: entries / n, shards: make([]shard, n)}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]cacheEntry)
	}
	return c
}

// slot returns the shard of (t, v) and its key there. Keys of distinct
// aliases may collide; an entry is only a hit if its alias is the one
// asked for, and an alias has one key, so that a put overwrites and an
// invalidation removes whatever held its key.
func (c *cache) slot(t Type, v string) (*shard, uint64, uint8) {
	h := maphash.String(c.seed, v)
	code := typeCode(t)
	// The value alone picks the shard; the type moves the key within it.
	return &c.shards[h&uint64(len(c.shards)-1)], h ^ uint64(code)*0x9e3779b97f4a7c15, code
}

// cacheBucket is key's bucket of generations in its shard: bits the
// shard's index does not use.
func cacheBucket(key uint64) int { return int(key>>32) % cacheBuckets }

// get returns the entry for (t, v) if cached, and its bucket's generation
// to pass to put after reading the database.
func (c *cache) get(t Type, v string) (cacheEntry, bool, uint64) {
	s, k, code := c.slot(t, v)
	s.mu.RLock()
	e, ok := s.m[k]
	gen := s.gens[cacheBucket(k)]
	s.mu.RUnlock()
	if ok && (e.typ != code || e.value() != v || c.maxAge > 0 && c.now().UnixNano()-e.read > c.maxAge) {
		return cacheEntry{}, false, gen
	}
	return e, ok, gen
}

// gen returns the generation of (t, v)'s bucket, to pass to wrote.
func (c *cache) gen(t Type, v string) uint64 {
	s, k, _ := c.slot(t, v)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gens[cacheBucket(k)]
}

// put caches p if no write happened in its bucket since gen was read.
func (c *cache) put(p Party, gen uint64) {
	e, ok := entryOf(p)
	if !ok {
		return
	}
	s, k, _ := c.slot(p.Type, p.Value)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gens[cacheBucket(k)] != gen {
		return
	}
	c.hold(s, k, e)
}

// entryOf is p's entry. It copies p's strings, which may be slices of a
// large request body that the cache must not keep alive.
func entryOf(p Party) (cacheEntry, bool) {
	return newCacheEntry(typeCode(p.Type), p.Value, p.Participant, p.Name, p.Account, p.CreatedAt.UnixNano(), p.Currency)
}

// hold puts e under k in s, whose lock the caller holds, evicting a
// random entry when s is full.
func (c *cache) hold(s *shard, k uint64, e cacheEntry) {
	if c.maxAge > 0 {
		e.read = c.now().UnixNano()
	}
	if _, ok := s.m[k]; !ok && len(s.m) >= c.perShard {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = e
}

// cacheWrite is one key of a write that ended: the party as stored, or
// only its Type and Value when it stored nothing (or may not have).
type cacheWrite struct {
	p      Party
	stored bool
	gen    uint64 // its bucket's generation before the write's transaction
}

// wrote follows writes that ended: it stops lookups that are reading the
// database now from caching what they read, and holds each stored party
// whose bucket no other write touched since its gen; the others it
// forgets.
func (c *cache) wrote(ws []cacheWrite) {
	type item struct {
		k    uint64
		e    cacheEntry
		gen  uint64
		held bool
	}
	byShard := make(map[*shard][]item, min(len(ws), len(c.shards)))
	for _, w := range ws {
		s, k, _ := c.slot(w.p.Type, w.p.Value)
		it := item{k: k, gen: w.gen}
		if w.stored {
			it.e, it.held = entryOf(w.p)
		}
		byShard[s] = append(byShard[s], it)
	}
	for s, items := range byShard {
		s.mu.Lock()
		// All checks before any bump: the write's own keys in one
		// bucket must not spoil each other. Of a key the write holds
		// twice, the later one stays, as in the database.
		for i := range items {
			items[i].held = items[i].held && s.gens[cacheBucket(items[i].k)] == items[i].gen
		}
		for _, it := range items {
			s.gens[cacheBucket(it.k)]++
			delete(s.m, it.k)
		}
		for _, it := range items {
			if it.held {
				c.hold(s, it.k, it.e)
			}
		}
		s.mu.Unlock()
	}
}

// len returns the number of cached entries.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
