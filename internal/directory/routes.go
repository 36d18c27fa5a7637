package directory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/money"
)

// Route is what any participant may learn of an alias: the owning
// participant, the end user's masked name and the account's currency.
// It is the answer to a payer's lookup (confirmation of payee).
type Route struct {
	Type        Type
	Value       string
	Participant string
	// DisplayName is MaskName of the end user's name.
	DisplayName string
	Currency    money.Currency
}

// Route returns the route of the alias (t, value), or ErrNotFound, like
// Lookup but without the private fields. With Options.Routes, phone
// numbers are answered from memory.
func (d *Directory) Route(ctx context.Context, t Type, value string) (Route, error) {
	var (
		key uint64
		gen uint64
		ok  bool
	)
	if d.routes != nil && t == MSISDN {
		if key, ok = phoneKey(value); ok {
			var r Route
			var hit bool
			if r, hit, gen = d.routes.get(key); hit {
				r.Type, r.Value = MSISDN, value
				return r, nil
			}
		}
	}
	p, err := d.Lookup(ctx, t, value)
	if err != nil {
		return Route{}, err
	}
	if ok {
		d.routes.put(key, p.Participant, p.Name, p.Currency, gen)
	}
	return Route{Type: p.Type, Value: p.Value, Participant: p.Participant, DisplayName: MaskName(p.Name), Currency: p.Currency}, nil
}

// phoneKey packs a normalized phone number (E.164: '+', then up to 15
// digits, the first not 0) into a non-zero integer, one to one.
func phoneKey(v string) (uint64, bool) {
	if len(v) < 2 || len(v) > 16 || v[0] != '+' || v[1] == '0' {
		return 0, false
	}
	var k uint64
	for i := 1; i < len(v); i++ {
		c := v[i] - '0'
		if c > 9 {
			return 0, false
		}
		k = k*10 + uint64(c)
	}
	return k, true
}

// routes holds the routes of phone-number aliases in memory, 16 bytes
// per alias in open-addressing tables (about 22 bytes per alias with the
// tables' free slots), so that lookups of tens of millions of aliases
// need not read SQLite's B-tree pages. It is a cache that is filled
// completely at start (see load), not a second source of truth: a key
// that is missing is looked up in the database, and it keeps the
// cache's rule against stale data (see cache): every write removes its
// key after its transaction, and bumps its shard's generation; a fill,
// from a lookup or from the loader, that read the database before such
// a removal is dropped.
type routes struct {
	seed   uint64
	shards [routeShards]routeShard
	// Participant ids and masked names repeat: each is stored once and
	// referred to by number.
	parts, names interner
}

// routeShards spreads the tables over independently locked shards, so
// that lookups rarely meet on a lock and a table grows 1/64 at a time.
const routeShards = 64

// Bits of a route's packed value: currency in the low 16, then the
// participant's number, then the masked name's number.
const (
	routePartBits = 20
	routeNameBits = 64 - 16 - routePartBits
)

type routeShard struct {
	mu    sync.RWMutex
	gen   uint64
	slots []routeSlot
	count int
	_     [64]byte // keeps shards' locks on separate cache lines
}

// routeSlot is a key and its packed route, side by side so that a
// lookup misses the cache once. Key 0 is a free slot (phoneKey is never 0).
type routeSlot struct{ key, val uint64 }

func newRoutes() *routes {
	return &routes{seed: maphash.Comparable(maphash.MakeSeed(), uint64(0)) | 1}
}

// hash mixes a key with the table's random seed (splitmix64's
// finalizer), so that clients choosing phone numbers cannot choose
// collisions. The shard takes the low bits and the slot the high ones.
func (rs *routes) hash(k uint64) uint64 { return mix(k, rs.seed) }

func mix(k, seed uint64) uint64 {
	x := k ^ seed
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (rs *routes) shard(h uint64) *routeShard { return &rs.shards[h%routeShards] }

// slot is where the probe for h starts in a table of n slots.
func slot(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// get returns the route of key if held (without Type and Value), and
// the shard's generation to pass to put after reading the database.
func (rs *routes) get(key uint64) (Route, bool, uint64) {
	h := rs.hash(key)
	s := rs.shard(h)
	s.mu.RLock()
	v, ok := s.find(h, key)
	gen := s.gen
	s.mu.RUnlock()
	if !ok {
		return Route{}, false, gen
	}
	return Route{
		Participant: rs.parts.str(uint32(v>>16) & (1<<routePartBits - 1)),
		DisplayName: rs.names.str(uint32(v >> (16 + routePartBits))),
		Currency:    money.Currency(v),
	}, true, gen
}

func (s *routeShard) find(h, key uint64) (uint64, bool) {
	n := len(s.slots)
	if n == 0 {
		return 0, false
	}
	for i := slot(h, n); ; {
		switch s.slots[i].key {
		case key:
			return s.slots[i].val, true
		case 0:
			return 0, false
		}
		if i++; i == n {
			i = 0
		}
	}
}

// put holds key's route unless its shard's generation has moved on from
// gen (a write came in since the route was read): then it returns false.
// (It also holds nothing, but returns true, past 2^20 participants or
// 2^28 distinct masked names.)
func (rs *routes) put(key uint64, participant, name string, c money.Currency, gen uint64) bool {
	pid, ok := rs.parts.id(participant, 1<<routePartBits)
	if !ok {
		return true
	}
	nid, ok := rs.names.id(MaskName(name), 1<<routeNameBits)
	if !ok {
		return true
	}
	v := uint64(c) | uint64(pid)<<16 | uint64(nid)<<(16+routePartBits)
	h := rs.hash(key)
	s := rs.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return false
	}
	s.insert(h, key, v, rs.seed)
	return true
}

func (s *routeShard) insert(h, key, v, seed uint64) {
	if (s.count+1)*8 > len(s.slots)*7 {
		s.grow(seed)
	}
	n := len(s.slots)
	for i := slot(h, n); ; {
		switch s.slots[i].key {
		case key:
			s.slots[i].val = v
			return
		case 0:
			s.slots[i] = routeSlot{key, v}
			s.count++
			return
		}
		if i++; i == n {
			i = 0
		}
	}
}

// grow rebuilds the table half as large again: the shard's cost per
// alias stays between 18 and 27 bytes, and a step moves 1/64 of the
// aliases.
func (s *routeShard) grow(seed uint64) {
	old := s.slots
	n := max(64, len(old)*3/2)
	s.slots = make([]routeSlot, n)
	for _, e := range old {
		if e.key == 0 {
			continue
		}
		for j := slot(mix(e.key, seed), n); ; {
			if s.slots[j].key == 0 {
				s.slots[j] = e
				break
			}
			if j++; j == n {
				j = 0
			}
		}
	}
}

// invalidate forgets key and stops fills that read the database before
// now from holding what they read. It returns the shard's new
// generation, with which a writer may put what it wrote.
func (rs *routes) invalidate(key uint64) uint64 {
	h := rs.hash(key)
	s := rs.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.remove(h, key, rs.seed)
	return s.gen
}

// remove deletes key, shifting the entries of its probe run back so that
// no probe ever stops early at the hole.
func (s *routeShard) remove(h, key, seed uint64) {
	n := len(s.slots)
	if n == 0 {
		return
	}
	i := slot(h, n)
	for s.slots[i].key != key {
		if s.slots[i].key == 0 {
			return
		}
		if i++; i == n {
			i = 0
		}
	}
	for j := i; ; {
		if j++; j == n {
			j = 0
		}
		if s.slots[j].key == 0 {
			break
		}
		// The entry at j may move to the hole at i if its probe starts
		// at or before i (cyclically), i.e. not within (i, j].
		home := slot(mix(s.slots[j].key, seed), n)
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = routeSlot{}
	s.count--
}

// len returns the number of routes held.
func (rs *routes) len() int {
	n := 0
	for i := range rs.shards {
		s := &rs.shards[i]
		s.mu.RLock()
		n += s.count
		s.mu.RUnlock()
	}
	return n
}

// interner numbers strings, each stored once.
type interner struct {
	mu   sync.RWMutex
	ids  map[string]uint32
	strs []string
}

// id returns s's number, numbering it if new, or false if limit numbers
// are taken.
func (in *interner) id(s string, limit int) (uint32, bool) {
	in.mu.RLock()
	id, ok := in.ids[s]
	in.mu.RUnlock()
	if ok {
		return id, true
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if id, ok := in.ids[s]; ok {
		return id, true
	}
	if len(in.strs) >= limit {
		return 0, false
	}
	if in.ids == nil {
		in.ids = map[string]uint32{}
	}
	id = uint32(len(in.strs))
	in.ids[s] = id
	in.strs = append(in.strs, s)
	return id, true
}

func (in *interner) str(id uint32) string {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.strs[id]
}

// routeChunk is how many aliases the loader reads per query: each query
// is a short read transaction, which does not hold back SQLite's
// checkpoints, and lets writes in between.
const routeChunk = 10000

const qRoutes = `SELECT value, participant, name, currency FROM parties WHERE type = $1 AND value > $2 ORDER BY value LIMIT $3`

// loadRoutes reads every phone-number alias into d.routes, a chunk at a
// time. A chunk's routes go in only where no write has come in since
// just before the chunk was read (the generations), so the loader never
// puts back what a write removed; a chunk that lost routes that way is
// read again, up to routeTries times, and what is still left out is
// looked up in the database when asked for, and held then.
func (d *Directory) loadRoutes(ctx context.Context) (int, error) {
	after, n := "", 0
	for {
		var (
			got, dropped int
			last         string
			err          error
		)
		for range routeTries {
			if got, dropped, last, err = d.loadChunk(ctx, after); err != nil || dropped == 0 {
				break
			}
		}
		if err != nil {
			return n, fmt.Errorf("directory: load routes: %w", err)
		}
		n += got
		if got < routeChunk {
			return n, nil
		}
		after = last
	}
}

// routeTries bounds the reads of one chunk of routes.
const routeTries = 3

// loadChunk reads the routes of up to routeChunk phone numbers after
// after. It returns how many it read, how many it could not hold because
// of writes, and the last number.
func (d *Directory) loadChunk(ctx context.Context, after string) (got, dropped int, last string, err error) {
	rs := d.routes
	var gens [routeShards]uint64
	for i := range rs.shards {
		s := &rs.shards[i]
		s.mu.RLock()
		gens[i] = s.gen
		s.mu.RUnlock()
	}
	rows, err := d.db.QueryContext(ctx, qRoutes, string(MSISDN), after, routeChunk)
	if err != nil {
		return 0, 0, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var value, participant, name, cur string
		if err := rows.Scan(&value, &participant, &name, &cur); err != nil {
			return got, dropped, last, err
		}
		last = value
		got++
		key, ok := phoneKey(value)
		c, err := money.ParseCurrency(cur)
		if !ok || err != nil {
			continue
		}
		if !rs.put(key, participant, name, c, gens[rs.hash(key)%routeShards]) {
			dropped++
		}
	}
	return got, dropped, last, rows.Err()
}

// startLoading loads the routes in the background; Close stops it.
func (d *Directory) startLoading(logf func(n int, took time.Duration, err error)) {
	ctx, cancel := context.WithCancel(context.Background())
	d.stopLoad = cancel
	d.loaded = make(chan struct{})
	go func() {
		defer close(d.loaded)
		start := time.Now()
		n, err := d.loadRoutes(ctx)
		if errors.Is(err, context.Canceled) {
			return
		}
		if logf != nil {
			logf(n, time.Since(start), err)
		}
	}()
}
