package directory

import (
	"hash/maphash"
	"strings"
	"sync"
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
// write invalidates its keys after its transaction ends, and a lookup
// that read the database before that invalidation must not put its
// (possibly old) result in afterwards. Each shard therefore has a
// generation, bumped by every invalidation; a lookup remembers the
// generation it saw before reading the database and fills the cache only
// if it is unchanged.
type cache struct {
	seed     maphash.Seed
	perShard int
	shards   []shard // a power of two of them
}

type shard struct {
	mu  sync.RWMutex
	gen uint64
	// m is keyed by a hash of the alias, and each entry holds its alias
	// to check against: a map keyed by two strings costs twice as much to
	// hash and compare, and a payment looks its payee up here.
	m map[uint64]cacheEntry
	_ [64]byte // keeps shards' locks on separate cache lines
}

// cacheEntry is a Party, compactly: at a million entries every word
// counts.
type cacheEntry struct {
	value       string
	participant string
	name        string
	account     string
	created     int64
	currency    money.Currency
	typ         uint8 // typeCode
}

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

// get returns the entry for (t, v) if cached, and the shard's generation
// to pass to put after reading the database.
func (c *cache) get(t Type, v string) (cacheEntry, bool, uint64) {
	s, k, code := c.slot(t, v)
	s.mu.RLock()
	e, ok := s.m[k]
	gen := s.gen
	s.mu.RUnlock()
	if ok && (e.typ != code || e.value != v) {
		return cacheEntry{}, false, gen
	}
	return e, ok, gen
}

// put caches p if no invalidation happened in its shard since gen was
// read.
func (c *cache) put(p Party, gen uint64) {
	s, k, code := c.slot(p.Type, p.Value)
	e := cacheEntry{
		// The caller's value may be a slice of a large request body; do
		// not keep that alive.
		value: strings.Clone(p.Value),
		// Few participants own millions of aliases: share their ids.
		participant: unique.Make(p.Participant).Value(),
		name:        p.Name,
		account:     p.Account,
		created:     p.CreatedAt.UnixNano(),
		currency:    p.Currency,
		typ:         code,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	if _, ok := s.m[k]; !ok && len(s.m) >= c.perShard {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = e
}

// invalidate forgets (t, v) and stops lookups that are reading the
// database now from caching what they read.
func (c *cache) invalidate(t Type, v string) {
	s, k, _ := c.slot(t, v)
	s.mu.Lock()
	s.gen++
	delete(s.m, k)
	s.mu.Unlock()
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
