package directory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
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
	r, err := d.route(ctx, t, value)
	d.lookups.count(err)
	return r, err
}

func (d *Directory) route(ctx context.Context, t Type, value string) (Route, error) {
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
	p, err := d.lookupLocal(ctx, t, value)
	if errors.Is(err, ErrNotFound) && d.schemes != nil {
		// Another scheme's user: asked each time, never kept.
		if rp, routed, rerr := d.schemes.party(ctx, p.Type, value); routed {
			if rerr != nil {
				return Route{}, fmt.Errorf("directory: lookup %s alias through a scheme link: %w", p.Type, rerr)
			}
			return Route{Type: rp.Type, Value: rp.Value, Participant: rp.Participant, DisplayName: MaskName(rp.Name), Currency: rp.Currency}, nil
		}
	}
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

// routes holds the routes of phone-number aliases in memory, 12 bytes
// per alias in open-addressing tables (about 16 bytes per alias with the
// tables' free slots), so that lookups of tens of millions of aliases
// need not read SQLite's B-tree pages. It is a cache that is filled
// completely at start (see loadRoutes), not a second source of truth: a key
// that is missing is looked up in the database, and it keeps the
// cache's rule against stale data (see cache): every write removes its
// key after its transaction, and bumps its bucket's generation; a fill,
// from a lookup or from the loader, that read the database before such
// a removal is dropped.
type routes struct {
	seed   uint64
	shards [routeShards]routeShard
	// Currencies, participant ids and masked names repeat: each is
	// stored once and referred to by number.
	curs  interner[money.Currency]
	parts interner[string]
	names interner[string]
}

// routeShards spreads the tables over independently locked shards, so
// that lookups rarely meet on a lock and a table grows 1/64 at a time.
const routeShards = 64

// routeBuckets is the number of generations per shard (512 Ki in all,
// 4 MiB): a batch of 1,000 registrations that waits while 7 others
// commit finds ~1.3 % of its buckets touched, and leaves those routes to
// be filled by their first lookup.
const routeBuckets = 8192

// bucket is h's bucket in its shard: the hash's bits above the shard's.
func bucket(h uint64) int { return int(h>>6) % routeBuckets }

// Bits of a route's packed value (routeValBits in all): the currency's
// number in the low ones, then the participant's, then the masked
// name's. A route past these limits (64 currencies, 16,384 participants,
// 64 Mi distinct masked names) is not held: its lookups read the
// database.
const (
	routeCurBits  = 6
	routePartBits = 14
	routeNameBits = routeValBits - routeCurBits - routePartBits
)

// routeKeyBits holds any phoneKey: 15 digits are less than 2^50.
const (
	routeKeyBits = 50
	routeValBits = 96 - routeKeyBits
)

type routeShard struct {
	mu sync.RWMutex
	// gens are the generations of the shard's buckets of keys: a write
	// bumps its keys' ones, and a fill that read the database before
	// the bump is dropped. Many buckets keep concurrent writes of
	// different keys from spoiling each other's fills.
	gens  [routeBuckets]uint64
	slots []routeSlot
	count int
	// dirty, while the loader reads a chunk, holds the keys written
	// since it began: the loader must not put back what it read of them.
	dirty map[uint64]struct{}
}

// routeSlot is a key and its packed route, side by side so that a
// lookup misses the cache once, in 12 bytes: the key's 50 bits, then the
// value's 46. Key 0 is a free slot (phoneKey is never 0).
type routeSlot struct{ lo, mid, hi uint32 }

func newRouteSlot(key, val uint64) routeSlot {
	return routeSlot{uint32(key), uint32(key>>32) | uint32(val)<<(routeKeyBits-32), uint32(val >> (64 - routeKeyBits))}
}

func (s routeSlot) key() uint64 { return uint64(s.lo) | uint64(s.mid&(1<<(routeKeyBits-32)-1))<<32 }

func (s routeSlot) val() uint64 {
	return uint64(s.mid>>(routeKeyBits-32)) | uint64(s.hi)<<(64-routeKeyBits)
}

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
// its bucket's generation to pass to put after reading the database.
func (rs *routes) get(key uint64) (Route, bool, uint64) {
	h := rs.hash(key)
	s := rs.shard(h)
	s.mu.RLock()
	v, ok := s.find(h, key)
	gen := s.gens[bucket(h)]
	s.mu.RUnlock()
	if !ok {
		return Route{}, false, gen
	}
	return Route{
		Currency:    rs.curs.str(uint32(v) & (1<<routeCurBits - 1)),
		Participant: rs.parts.str(uint32(v>>routeCurBits) & (1<<routePartBits - 1)),
		DisplayName: rs.names.str(uint32(v >> (routeCurBits + routePartBits))),
	}, true, gen
}

func (s *routeShard) find(h, key uint64) (uint64, bool) {
	if len(s.slots) == 0 {
		return 0, false
	}
	i, ok := s.probe(h, key)
	return s.slots[i].val(), ok
}

// probe returns the slot holding key, or the free slot where its probe
// run ends; the table must have slots, and free ones.
func (s *routeShard) probe(h, key uint64) (int, bool) {
	n := len(s.slots)
	for i := slot(h, n); ; {
		switch s.slots[i].key() {
		case key:
			return i, true
		case 0:
			return i, false
		}
		if i++; i == n {
			i = 0
		}
	}
}

// put holds key's route unless its bucket's generation has moved on
// from gen (a write came in since the route was read).
func (rs *routes) put(key uint64, participant, name string, c money.Currency, gen uint64) {
	if v, ok := rs.pack(participant, name, c); ok {
		rs.holdIf(key, v, func(s *routeShard, h uint64) bool { return s.gens[bucket(h)] == gen })
	}
}

// holdIf holds key's packed route v if keep, called with key's shard
// locked, allows.
func (rs *routes) holdIf(key, v uint64, keep func(s *routeShard, h uint64) bool) {
	h := rs.hash(key)
	s := rs.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if keep(s, h) {
		s.insert(h, key, v, rs.seed)
	}
}

// pack packs a route into a table value, or returns false past the
// limits of its numbers.
func (rs *routes) pack(participant, name string, c money.Currency) (uint64, bool) {
	cid, ok := rs.curs.id(c, 1<<routeCurBits)
	if !ok {
		return 0, false
	}
	pid, ok := rs.parts.id(participant, 1<<routePartBits)
	if !ok {
		return 0, false
	}
	nid, ok := rs.names.id(MaskName(name), 1<<routeNameBits)
	if !ok {
		return 0, false
	}
	return uint64(cid) | uint64(pid)<<routeCurBits | uint64(nid)<<(routeCurBits+routePartBits), true
}

func (s *routeShard) insert(h, key, v, seed uint64) {
	if (s.count+1)*8 > len(s.slots)*7 {
		s.grow(seed)
	}
	i, found := s.probe(h, key)
	if !found {
		s.count++
	}
	s.slots[i] = newRouteSlot(key, v)
}

// grow rebuilds the table half as large again: the shard's cost per
// alias stays between 14 and 21 bytes, and a step moves 1/64 of the
// aliases.
func (s *routeShard) grow(seed uint64) {
	old := s.slots
	n := max(64, len(old)*3/2)
	s.slots = make([]routeSlot, n)
	for _, e := range old {
		if k := e.key(); k != 0 {
			i, _ := s.probe(mix(k, seed), k)
			s.slots[i] = e
		}
	}
}

// gen returns the generation of key's bucket, read before a write's
// transaction, for wrote.
func (rs *routes) gen(key uint64) uint64 {
	h := rs.hash(key)
	s := rs.shard(h)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gens[bucket(h)]
}

// routeWrite is a phone number a write touched, the generation of its
// bucket before the write's transaction, and its route if the write
// stored one.
type routeWrite struct {
	key         uint64
	gen         uint64
	stored      bool
	participant string
	name        string
	currency    money.Currency
}

// wrote follows a write's transaction: each of its numbers is forgotten
// (removed, its bucket's generation bumped so that fills which read the
// database before now are dropped, and, while the loader reads a chunk,
// marked written), and the routes it stored are held, in order (a later
// one for the same number wins), where no other write has touched the
// number's bucket since its generation was read, before the
// transaction. A write that committed in between may be newer than this
// one; its own call to wrote or invalidate may not have come yet.
func (rs *routes) wrote(ws []routeWrite) {
	vals := make([]uint64, len(ws))
	held := make([]bool, len(ws))
	hs := make([]uint64, len(ws))
	var byShard [routeShards][]int
	for i, w := range ws {
		if w.stored {
			vals[i], held[i] = rs.pack(w.participant, w.name, w.currency)
		}
		hs[i] = rs.hash(w.key)
		byShard[hs[i]%routeShards] = append(byShard[hs[i]%routeShards], i)
	}
	for sh, is := range byShard {
		if len(is) == 0 {
			continue
		}
		s := &rs.shards[sh]
		s.mu.Lock()
		// All checks before any bump: the write's own numbers in one
		// bucket must not spoil each other.
		for _, i := range is {
			held[i] = held[i] && s.gens[bucket(hs[i])] == ws[i].gen
		}
		for _, i := range is {
			s.gens[bucket(hs[i])]++
			s.remove(hs[i], ws[i].key, rs.seed)
			if s.dirty != nil {
				s.dirty[ws[i].key] = struct{}{}
			}
		}
		for _, i := range is {
			if held[i] {
				s.insert(hs[i], ws[i].key, vals[i], rs.seed)
			}
		}
		s.mu.Unlock()
	}
}

// remove deletes key, shifting the entries of its probe run back so that
// no probe ever stops early at the hole.
func (s *routeShard) remove(h, key, seed uint64) {
	n := len(s.slots)
	if n == 0 {
		return
	}
	i, found := s.probe(h, key)
	if !found {
		return
	}
	for j := i; ; {
		if j++; j == n {
			j = 0
		}
		if s.slots[j].key() == 0 {
			break
		}
		// The entry at j may move to the hole at i if its probe starts
		// at or before i (cyclically), i.e. not within (i, j].
		home := slot(mix(s.slots[j].key(), seed), n)
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

// interner numbers values, each stored once. Reading a number's value
// takes no lock: strs is replaced, never changed in place, and a number
// is handed out only after the slice that holds it is published.
type interner[T comparable] struct {
	mu   sync.RWMutex // guards ids and writing strs
	ids  map[T]uint32
	strs atomic.Pointer[[]T]
}

// id returns s's number, numbering it if new, or false if limit numbers
// are taken.
func (in *interner[T]) id(s T, limit int) (uint32, bool) {
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
	var strs []T
	if p := in.strs.Load(); p != nil {
		strs = *p
	}
	if len(strs) >= limit {
		return 0, false
	}
	if in.ids == nil {
		in.ids = map[T]uint32{}
	}
	id = uint32(len(strs))
	// Appending may write past the length of a slice readers hold, never
	// within it.
	strs = append(strs, s)
	in.strs.Store(&strs)
	in.ids[s] = id
	return id, true
}

func (in *interner[T]) str(id uint32) T { return (*in.strs.Load())[id] }

// routeChunk is how many aliases the loader reads per query: each query
// is a short read transaction, which does not hold back SQLite's
// checkpoints, and lets writes in between.
const routeChunk = 10000

const qRoutes = `SELECT value, participant, name, currency FROM parties WHERE type = $1 AND value > $2 ORDER BY value LIMIT $3`

// loadRoutes reads every phone-number alias into d.routes, a chunk at a
// time. While a chunk is read, the shards note the numbers written
// (dirty): the loader leaves those out, since what it read of them may
// be older than the write; they are looked up in the database when
// asked for, and held then.
func (d *Directory) loadRoutes(ctx context.Context) (int, error) {
	rs := d.routes
	defer rs.setDirty(false)
	after, n := "", 0
	for {
		rs.setDirty(true)
		got, last, err := d.loadChunk(ctx, after)
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

// setDirty starts the shards' notes of written numbers afresh, or ends
// them.
func (rs *routes) setDirty(on bool) {
	for i := range rs.shards {
		s := &rs.shards[i]
		s.mu.Lock()
		s.dirty = nil
		if on {
			s.dirty = map[uint64]struct{}{}
		}
		s.mu.Unlock()
	}
}

// loadChunk reads the routes of up to routeChunk phone numbers after
// after, and returns how many it read and the last number.
func (d *Directory) loadChunk(ctx context.Context, after string) (got int, last string, err error) {
	rs := d.routes
	rows, err := d.db.QueryContext(ctx, qRoutes, string(MSISDN), after, routeChunk)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var value, participant, name, cur string
		if err := rows.Scan(&value, &participant, &name, &cur); err != nil {
			return got, last, err
		}
		last = value
		got++
		key, ok := phoneKey(value)
		c, err := money.ParseCurrency(cur)
		if !ok || err != nil {
			continue
		}
		// A name that does not open is left to the lookup, which
		// reports it.
		if name, err = d.openName(name); err != nil {
			continue
		}
		if v, ok := rs.pack(participant, name, c); ok {
			rs.holdIf(key, v, func(s *routeShard, _ uint64) bool {
				_, written := s.dirty[key]
				return !written
			})
		}
	}
	return got, last, rows.Err()
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
		if ctx.Err() != nil {
			return // closed: the driver's error may not say so
		}
		if logf != nil {
			logf(n, time.Since(start), err)
		}
	}()
}
