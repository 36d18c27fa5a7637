package ledger

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
)

// indexSeed replays TestIndexRandom; sim_test.go's -seed belongs to the
// external test package, which shares the test binary, hence the name.
var indexSeed = flag.Uint64("index-seed", 0, "seed of TestIndexRandom (0: from the clock)")

// testSeed returns -index-seed or a seed from the clock, logs it, and
// says how to replay the test named name with it if the test fails.
func testSeed(t *testing.T, name string) uint64 {
	seed := *indexSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d", seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with: go test ./internal/ledger -run '%s' -index-seed %d", name, seed)
		}
	})
	return seed
}

func testID(n uint64) ID {
	var id ID
	binary.LittleEndian.PutUint64(id[:8], n)
	binary.LittleEndian.PutUint64(id[8:], ^n)
	return id
}

// checkIndex verifies everything the index relies on. In the live tier:
// counts, the tag copies past the end, each entry's tag and shard, each
// entry reachable from its home slot without crossing an empty one, and a
// directory whose shards each cover one aligned range within one
// segment. In the frozen tier: offsets that start at 0, never decrease
// and end at the count, each entry in its segment and bucket, no more
// blocks than needed and nothing past the end. And no id twice, in one
// tier or across both.
func checkIndex(x *idIndex) error {
	if len(x.dir) != 1<<x.depth {
		return fmt.Errorf("directory of %d for depth %d", len(x.dir), x.depth)
	}
	seen := map[ID]bool{}
	total := 0
	for d, sh := range x.dir {
		if sh.depth < segBits || sh.depth > x.depth {
			return fmt.Errorf("directory entry %d: shard of depth %d in directory of depth %d", d, sh.depth, x.depth)
		}
		width := 1 << (x.depth - sh.depth)
		start := d &^ (width - 1)
		for k := start; k < start+width; k++ {
			if x.dir[k] != sh {
				return fmt.Errorf("directory entry %d: shard of depth %d should cover [%d, %d)", k, sh.depth, start, start+width)
			}
		}
		if d != start {
			continue
		}
		if want := (sh.count + chunkLen - 1) / chunkLen; len(sh.log) != want {
			return fmt.Errorf("shard %d: %d log chunks for %d entries", d, len(sh.log), sh.count)
		}
		n := sh.size()
		if n == 0 {
			if sh.count != 0 || len(sh.tags) != 0 {
				return fmt.Errorf("shard %d: no slots but count %d, %d tags", d, sh.count, len(sh.tags))
			}
			continue
		}
		if len(sh.tags) != n+group-1 || sh.limit != n-n/8 || n < minCap {
			return fmt.Errorf("shard %d: %d slots, %d tags, limit %d", d, n, len(sh.tags), sh.limit)
		}
		for k := range group - 1 {
			if sh.tags[n+k] != sh.tags[k] {
				return fmt.Errorf("shard %d: tag copy %d is %d, tag is %d", d, k, sh.tags[n+k], sh.tags[k])
			}
		}
		count := 0
		logged := make([]bool, sh.count) // log positions that a slot names
		for i, t := range sh.tags[:n] {
			if t == 0 {
				if sh.pos[i] != 0 {
					return fmt.Errorf("shard %d slot %d: empty but at log position %d", d, i, sh.pos[i])
				}
				continue
			}
			count++
			if k := int(sh.pos[i]); k >= sh.count || logged[k] {
				return fmt.Errorf("shard %d slot %d: log position %d of %d, or named twice", d, i, k, sh.count)
			}
			logged[sh.pos[i]] = true
			id := sh.at(i).id
			h := x.hash(id)
			if seen[id] {
				return fmt.Errorf("id %s twice", id)
			}
			seen[id] = true
			if x.shardOf(h) != sh {
				return fmt.Errorf("id %s in shard %d, hash says %d", id, d, h>>(64-x.depth))
			}
			if t != tagOf(h) {
				return fmt.Errorf("id %s: tag %d, want %d", id, t, tagOf(h))
			}
			for k := home(h, n); k != i; k = next(k, n) {
				if sh.tags[k] == 0 {
					return fmt.Errorf("id %s at %d: empty slot %d after its home %d", id, i, k, home(h, n))
				}
			}
		}
		if count != sh.count {
			return fmt.Errorf("shard %d: %d entries, count %d", d, count, sh.count)
		}
		if count > sh.limit {
			return fmt.Errorf("shard %d: %d entries over limit %d", d, count, sh.limit)
		}
		total += count
	}
	for g := range x.frozen {
		sg := &x.frozen[g]
		nb := sg.buckets()
		if nb < bucketGroup || nb%bucketGroup != 0 || len(sg.base) != nb/bucketGroup+1 {
			return fmt.Errorf("segment %d: %d buckets, %d bases", g, nb, len(sg.base))
		}
		if sg.start(0) != 0 || sg.start(nb) != sg.n || sg.off[nb] != 0 {
			return fmt.Errorf("segment %d: %d entries, buckets from %d to %d, last offset %d", g, sg.n, sg.start(0), sg.start(nb), sg.off[nb])
		}
		if sg.n > bucketMax*nb {
			return fmt.Errorf("segment %d: %d entries in %d buckets", g, sg.n, nb)
		}
		if want := (sg.n + blockLen - 1) / blockLen; len(sg.blocks) != want {
			return fmt.Errorf("segment %d: %d blocks for %d entries", g, len(sg.blocks), sg.n)
		}
		if want := (sg.n + tagsLen - 1) / tagsLen; len(sg.tags) != want {
			return fmt.Errorf("segment %d: %d tag blocks for %d entries", g, len(sg.tags), sg.n)
		}
		for b := range nb {
			if b%bucketGroup == 0 && sg.off[b] != 0 {
				return fmt.Errorf("segment %d: group %d starts at offset %d", g, b/bucketGroup, sg.off[b])
			}
			lo, hi := sg.bounds(b)
			if lo > hi {
				return fmt.Errorf("segment %d: bucket %d from %d to %d", g, b, lo, hi)
			}
			for i := lo; i < hi; i++ {
				id := *sg.id(i)
				h := x.hash(id)
				if seen[id] {
					return fmt.Errorf("id %s twice", id)
				}
				seen[id] = true
				if int(h>>(64-segBits)) != g || home(h, nb) != b {
					return fmt.Errorf("id %s in segment %d bucket %d, hash says %d, %d", id, g, b, h>>(64-segBits), home(h, nb))
				}
				if *sg.tag(i) != tagOf(h) {
					return fmt.Errorf("id %s: frozen tag %d, want %d", id, *sg.tag(i), tagOf(h))
				}
			}
		}
		for i := sg.n; i < len(sg.blocks)*blockLen; i++ {
			if *sg.id(i) != (ID{}) || *sg.ent(i) != (entry{}) || i < len(sg.tags)*tagsLen && *sg.tag(i) != 0 {
				return fmt.Errorf("segment %d: slot %d past the end holds %s %+v", g, i, *sg.id(i), *sg.ent(i))
			}
		}
		total += sg.n
	}
	if total != x.n {
		return fmt.Errorf("%d entries, len %d", total, x.n)
	}
	return nil
}

// frozenLen returns how many entries the frozen tier holds.
func frozenLen(x *idIndex) int {
	n := 0
	for g := range x.frozen {
		n += x.frozen[g].n
	}
	return n
}

// freeze migrates every segment, leaving the live tier empty.
func freeze(x *idIndex) {
	for g := range segs {
		x.migrate(g)
	}
}

// segmentIDs returns count ids whose hashes in x fall in the first few
// segments, so that live shards fill up, and split, without millions of
// entries.
func segmentIDs(x *idIndex, few, count int) []ID {
	var out []ID
	for n := uint64(0); len(out) < count; n++ {
		if id := testID(1<<52 + n); int(x.hash(id)>>(64-segBits)) < few {
			out = append(out, id)
		}
	}
	return out
}

func countShards(x *idIndex) int {
	n := 0
	for i, sh := range x.dir {
		if i&(1<<(x.depth-sh.depth)-1) == 0 {
			n++
		}
	}
	return n
}

func mustCheck(t *testing.T, x *idIndex) {
	t.Helper()
	if err := checkIndex(x); err != nil {
		t.Fatal(err)
	}
}

// TestIndexBasics runs the same steps on entries that stay live and on
// entries that move to the frozen tier after every step, so that gets,
// overwrites, finds and deletes are each seen in both tiers.
func TestIndexBasics(t *testing.T) {
	for _, tiers := range []bool{false, true} {
		t.Run(fmt.Sprintf("frozen=%v", tiers), func(t *testing.T) {
			x := newIDIndex()
			a, b := testID(1), testID(2)
			steps := []struct {
				name string
				do   func() any
				want any
			}{
				{"get from empty", func() any { _, ok := x.get(a); return ok }, false},
				{"delete from empty", func() any { return x.del(a) }, false},
				{"put", func() any { x.put(a, entry{sum: 1, ts: 10}); return x.len() }, 1},
				{"get", func() any { e, _ := x.get(a); return e }, entry{sum: 1, ts: 10}},
				{"get other", func() any { _, ok := x.get(b); return ok }, false},
				{"overwrite", func() any { x.put(a, entry{sum: 2, ts: 20}); return x.len() }, 1},
				{"get overwritten", func() any { e, _ := x.get(a); return e }, entry{sum: 2, ts: 20}},
				{"find present", func() any { r, ok := x.find(a); return fmt.Sprint(ok, x.at(r)) }, "true {2 20}"},
				{"state through found ref", func() any { e, _ := x.get(a); x.put(a, e.with(StateCommitted)); e, _ = x.get(a); return e.state() }, StateCommitted},
				{"find absent", func() any { _, ok := x.find(b); return ok }, false},
				{"insert found slot", func() any { r, _ := x.find(b); x.insert(r, b, entry{ts: 30}); return x.len() }, 2},
				{"get inserted", func() any { e, _ := x.get(b); return e.ts }, int64(30)},
				{"zero id is a key like any other", func() any { x.put(ID{}, entry{ts: 40}); e, ok := x.get(ID{}); return fmt.Sprint(ok, e.ts) }, "true 40"},
				{"delete", func() any { return x.del(a) }, true},
				{"delete again", func() any { return x.del(a) }, false},
				{"get deleted", func() any { _, ok := x.get(a); return ok }, false},
				{"others stay", func() any { _, ok1 := x.get(b); _, ok2 := x.get(ID{}); return ok1 && ok2 }, true},
				{"reinsert deleted", func() any { x.put(a, entry{ts: 50}); e, _ := x.get(a); return e.ts }, int64(50)},
				{"len", func() any { return x.len() }, 3},
				{"all", func() any {
					n := 0
					for range x.all() {
						n++
					}
					return n
				}, 3},
			}
			for _, s := range steps {
				if got := s.do(); got != s.want {
					t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
				}
				mustCheck(t, &x)
				if tiers {
					freeze(&x)
					mustCheck(t, &x)
					if f := frozenLen(&x); f != x.len() {
						t.Fatalf("%s: %d of %d entries frozen", s.name, f, x.len())
					}
				}
			}
		})
	}
}

// collide returns k ids whose hashes pick the same shard and the same
// home slot in x, with the home being the shard's last slot if wrap, so
// that their probe run wraps around the end. It allocates the shard's
// slots first, since homes depend on the capacity.
func collide(t *testing.T, x *idIndex, k int, wrap bool) []ID {
	t.Helper()
	var sh *shard
	var want int
	var out []ID
	for n := uint64(1); n < 1e7 && len(out) < k; n++ {
		id := testID(n)
		h := x.hash(id)
		if sh == nil {
			sh = x.shardOf(h)
			if sh.size() == 0 {
				x.grow(sh, h)
			}
			if k >= sh.limit {
				t.Fatalf("%d colliding ids cannot fit in a shard of limit %d", k, sh.limit)
			}
			want = home(h, sh.size())
			if wrap {
				want = sh.size() - 1
			}
		}
		if x.shardOf(h) == sh && home(h, sh.size()) == want {
			out = append(out, id)
		}
	}
	if len(out) < k {
		t.Fatalf("found only %d colliding ids", len(out))
	}
	return out
}

// TestIndexProbeRuns forces ids into one probe run, including one that
// wraps around the end of the shard, and deletes each position of it:
// the entries after a deleted one must move back and stay reachable.
func TestIndexProbeRuns(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		for del := range 5 {
			t.Run(fmt.Sprintf("wrap=%v/delete=%d", wrap, del), func(t *testing.T) {
				x := newIDIndex()
				ids := collide(t, &x, 5, wrap)
				for i, id := range ids {
					r, ok := x.find(id)
					if ok {
						t.Fatalf("id %d found before insert", i)
					}
					x.insert(r, id, entry{ts: int64(i)})
					mustCheck(t, &x)
				}
				sh := x.shardOf(x.hash(ids[0]))
				for i, id := range ids {
					r, _ := x.find(id)
					if want := (home(x.hash(id), sh.size()) + i) % sh.size(); r.i != want {
						t.Fatalf("id %d at slot %d, want %d: not one run", i, r.i, want)
					}
				}
				if !x.del(ids[del]) {
					t.Fatal("delete found nothing")
				}
				mustCheck(t, &x)
				for i, id := range ids {
					e, ok := x.get(id)
					if ok != (i != del) || ok && e.ts != int64(i) {
						t.Fatalf("after deleting %d: id %d: %+v %v", del, i, e, ok)
					}
				}
				// The freed slot is usable again.
				x.put(ids[del], entry{ts: 99})
				mustCheck(t, &x)
				if e, _ := x.get(ids[del]); e.ts != 99 || x.len() != len(ids) {
					t.Fatalf("reinsert: %+v, len %d", e, x.len())
				}
			})
		}
	}
}

// TestIndexDeleteKeepsOthers deletes entries from a crowded shard whose
// runs hold entries with different homes, where a careless shift would
// move an entry before its home.
func TestIndexDeleteKeepsOthers(t *testing.T) {
	x := newIDIndex()
	var ids []ID
	var sh *shard
	for n := uint64(1); len(ids) < 6; n++ {
		id := testID(n)
		h := x.hash(id)
		if sh == nil {
			sh = x.shardOf(h)
		}
		if x.shardOf(h) == sh {
			ids = append(ids, id)
			x.put(id, entry{ts: int64(n)})
		}
	}
	mustCheck(t, &x)
	for i := range ids {
		x.del(ids[i])
		mustCheck(t, &x)
		for _, id := range ids[i+1:] {
			if _, ok := x.get(id); !ok {
				t.Fatalf("deleting %d lost %s", i, id)
			}
		}
	}
}

// TestIndexGrowth grows the index through many splits, and through many
// migrations, and checks every entry, the invariants and all at several
// sizes.
func TestIndexGrowth(t *testing.T) {
	tests := []struct {
		name       string
		size, tiny int // entries, and with -short
		few        int // if not 0, ids of the first few segments only
		every      int // if not 0, settle after each put with this migrateEvery
	}{
		// Sixteen segments' shards split from about 16 × 5,000 entries;
		// with migrations, each segment's live part gets up to 16 × 512.
		{"live", 400_000, 100_000, 16, 0},
		{"tiers", 1_000_000, 250_000, 0, 64},
		{"tiers, few segments", 400_000, 400_000, 16, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.size
			if testing.Short() {
				size = tt.tiny
			}
			x := newIDIndex()
			ids := make([]ID, size)
			if tt.few > 0 {
				ids = segmentIDs(&x, tt.few, size)
			} else {
				for n := range ids {
					ids[n] = testID(uint64(n))
				}
			}
			x.every = max(tt.every, 1)
			for n, id := range ids {
				x.put(id, entry{sum: uint64(n), ts: int64(n)})
				if tt.every > 0 {
					x.settle()
				}
				if n&(n-1) == 0 || n == size-1 {
					mustCheck(t, &x)
				}
			}
			if x.len() != size {
				t.Fatalf("len %d, want %d", x.len(), size)
			}
			if tt.few > 0 && x.depth <= initDepth {
				t.Fatalf("depth %d: no shard split", x.depth)
			}
			if f := frozenLen(&x); tt.every > 0 && f < size/2 {
				t.Fatalf("%d of %d entries frozen", f, size)
			}
			for n, id := range ids {
				if e, ok := x.get(id); !ok || e.ts != int64(n) {
					t.Fatalf("id %d: %+v %v", n, e, ok)
				}
			}
			seen := make([]bool, size)
			for id, e := range x.all() {
				n := int(e.ts)
				if n < 0 || n >= size || id != ids[n] || seen[n] {
					t.Fatalf("all yielded %s %+v", id, e)
				}
				seen[n] = true
			}
			for n, ok := range seen {
				if !ok {
					t.Fatalf("all missed %d", n)
				}
			}
			calls := 0
			for range x.all() {
				if calls++; calls == 3 {
					break
				}
			}
			if calls != 3 {
				t.Fatalf("all went on after break: %d", calls)
			}
			// Growth steps stay small: no shard beyond maxCap.
			for _, sh := range x.dir {
				if sh.size() > maxCap {
					t.Fatalf("shard of %d slots", sh.size())
				}
			}
			// Migrating everything leaves one empty shard per segment.
			freeze(&x)
			mustCheck(t, &x)
			if f := frozenLen(&x); f != size {
				t.Fatalf("after freezing: %d of %d entries frozen", f, size)
			}
		})
	}
}

// TestIndexStaleRef inserts through a ref after the layout changed:
// insert must notice and find the slot again.
func TestIndexStaleRef(t *testing.T) {
	x := newIDIndex()
	ids := collide(t, &x, 3, false)
	r0, _ := x.find(ids[0])
	r1, _ := x.find(ids[1])
	if r0.i != r1.i {
		t.Fatalf("colliding ids got slots %d and %d", r0.i, r1.i)
	}
	x.insert(r1, ids[1], entry{ts: 1})
	x.insert(r0, ids[0], entry{ts: 0}) // r0's slot is now taken
	mustCheck(t, &x)
	// And across growth: fill the shard until it grows under a ref.
	r2, _ := x.find(ids[2])
	sh, n0 := r2.sh, r2.sh.size()
	for n := uint64(1 << 40); sh.size() == n0 && x.shardOf(r2.h) == sh; n++ {
		if id := testID(n); x.shardOf(x.hash(id)) == sh {
			x.put(id, entry{})
		}
		if n > 1<<40+1e7 {
			t.Fatal("shard never grew")
		}
	}
	x.insert(r2, ids[2], entry{ts: 2})
	mustCheck(t, &x)
	// And across a migration, which replaces the shard the ref names.
	id3 := testID(1 << 41)
	r3, _ := x.find(id3)
	g := int(r3.h >> (64 - segBits))
	for n := uint64(1<<41 + 1); x.shardOf(r3.h).count == 0; n++ {
		if id := testID(n); int(x.hash(id)>>(64-segBits)) == g {
			x.put(id, entry{}) // the migration has something to move
		}
	}
	r3, _ = x.find(id3)
	x.migrate(g)
	x.insert(r3, id3, entry{ts: 3})
	mustCheck(t, &x)
	for i, id := range append(ids, id3) {
		if e, ok := x.get(id); !ok || e.ts != int64(i) {
			t.Fatalf("id %d: %+v %v", i, e, ok)
		}
	}
}

// TestIndexUnevenSplit splits a shard into halves too small for what the
// hash sends them, which must grow them rather than overfill them.
func TestIndexUnevenSplit(t *testing.T) {
	x := newIDIndex()
	var h uint64
	var sh *shard
	for n := uint64(1); sh == nil || sh.count < 400; n++ {
		id := testID(n)
		if sh == nil {
			h = x.hash(id)
			sh = x.shardOf(h)
		}
		if x.shardOf(x.hash(id)) == sh {
			x.put(id, entry{ts: int64(n)})
		}
	}
	x.split(sh, h, minCap)
	mustCheck(t, &x)
	if x.len() != 400 {
		t.Fatalf("len %d", x.len())
	}
}

// TestIndexRandom runs random operations against the index and a Go map
// as the model, on a key space small enough that ids are often reused,
// with the invariants checked along the way: with the live tier alone,
// and with migrations to the frozen tier after every few inserts, in
// bursts, so that gets, puts, finds and deletes meet entries in both.
func TestIndexRandom(t *testing.T) {
	seed := testSeed(t, "TestIndexRandom")
	tests := []struct {
		name  string
		few   int // if not 0, ids of the first few segments only
		every int // if not 0, settle after each operation with this migrateEvery
	}{
		// Few segments, so that shards split within the run.
		{"live", 16, 0},
		{"tiers", 0, 1},
		{"tiers, fewer migrations", 0, 100},
		{"tiers, few segments", 4, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
			// The prefill takes the live tier to where shards begin to
			// split (with few segments) and fills the frozen tier.
			ops, prefill := 400_000, 100_000
			if testing.Short() {
				ops = 100_000
			}
			x := newIDIndex()
			x.every = max(tt.every, 1)
			keyID := func(k uint64) ID { return testID(k) }
			prefillID := func(n uint64) ID { return testID(1<<50 + n) }
			if tt.few > 0 {
				pool := segmentIDs(&x, tt.few, 300_000)
				keyID = func(k uint64) ID { return pool[k%200_000] }
				prefillID = func(n uint64) ID { return pool[200_000+n%100_000] }
			}
			model := map[ID]entry{}
			for n := range uint64(prefill) {
				id := prefillID(n)
				x.put(id, entry{ts: int64(n)})
				model[id] = entry{ts: int64(n)}
				if tt.every > 0 {
					x.settle()
				}
			}
			shards, frozen := countShards(&x), 0
			keys := uint64(1000)
			var recent [256]ID // ids inserted lately, so that gets and deletes hit
			for op := range ops {
				if op%50_000 == 0 {
					keys *= 4 // widen the key space so the index keeps growing
				}
				id := keyID(rng.Uint64N(keys))
				if rng.IntN(2) == 0 {
					id = recent[rng.IntN(len(recent))]
				}
				e := entry{sum: rng.Uint64(), ts: rng.Int64()}
				switch p := rng.IntN(100); {
				case p < 35:
					x.put(id, e)
					model[id] = e
					recent[op%len(recent)] = id
				case p < 60:
					r, ok := x.find(id)
					_, want := model[id]
					if ok != want {
						t.Fatalf("op %d: find %s: %v, model %v", op, id, ok, want)
					}
					if ok {
						if x.at(r) != model[id] {
							t.Fatalf("op %d: find %s: %+v, model %+v", op, id, x.at(r), model[id])
						}
					} else if rng.IntN(4) > 0 { // sometimes find without inserting
						x.insert(r, id, e)
						model[id] = e
						recent[op%len(recent)] = id
					}
				case p < 80:
					got, ok := x.get(id)
					want, wok := model[id]
					if ok != wok || got != want {
						t.Fatalf("op %d: get %s: %+v %v, model %+v %v", op, id, got, ok, want, wok)
					}
				default:
					_, want := model[id]
					if got := x.del(id); got != want {
						t.Fatalf("op %d: del %s: %v, model %v", op, id, got, want)
					}
					delete(model, id)
				}
				// Now and then a burst without migrations, which later
				// settles catch up with one segment at a time.
				if tt.every > 0 && op/10_000%4 != 3 {
					x.settle()
				}
				if x.len() != len(model) {
					t.Fatalf("op %d: len %d, model %d", op, x.len(), len(model))
				}
				if op%25_000 == 0 {
					mustCheck(t, &x)
					frozen = max(frozen, frozenLen(&x))
				}
			}
			mustCheck(t, &x)
			t.Logf("%d entries in %d shards, was %d; up to %d frozen", x.len(), countShards(&x), shards, frozen)
			if tt.every == 0 && x.depth <= initDepth {
				t.Errorf("depth %d: no shard split", x.depth)
			}
			if tt.every > 0 && frozen < x.len()/4 {
				t.Errorf("at most %d entries frozen", frozen)
			}
			n := 0
			for id, e := range x.all() {
				if want, ok := model[id]; !ok || want != e {
					t.Fatalf("all: %s %+v, model %+v %v", id, e, want, ok)
				}
				n++
			}
			if n != len(model) {
				t.Fatalf("all yielded %d, model has %d", n, len(model))
			}
		})
	}
}

// TestIndexSeeds checks that two indexes with the same contents compare
// equal however differently their seeds laid them out, which is what
// sameState relies on.
func TestIndexSeeds(t *testing.T) {
	a, b := newIDIndex(), newIDIndex()
	for n := range uint64(5000) {
		a.put(testID(n), entry{ts: int64(n)})
		b.put(testID(4999-n), entry{ts: int64(4999 - n)})
	}
	if err := sameIndex(&a, &b); err != nil {
		t.Fatal(err)
	}
	b.put(testID(7), entry{ts: 8})
	if sameIndex(&a, &b) == nil {
		t.Fatal("different entries compare equal")
	}
	b.put(testID(7), entry{ts: 7})
	b.del(testID(9))
	if sameIndex(&a, &b) == nil {
		t.Fatal("different lengths compare equal")
	}
}

// TestIndexTiersInLedger applies the same random batches to a ledger
// whose index migrates a segment after every insert and to one whose
// index never migrates, and requires the same results, events and state:
// nothing the ledger returns may depend on which tier holds an entry.
// The batches retry old ids, commit and abort reservations made long
// before (whose entries have been frozen), let reservations expire, and
// apply linked chains that fail and are undone.
func TestIndexTiersInLedger(t *testing.T) {
	seed := testSeed(t, "TestIndexTiersInLedger")
	rng := rand.New(rand.NewPCG(seed, seed^0x71e5))
	a, b := New(), New()
	a.transfers.every = 1
	b.transfers.every = math.MaxInt
	var log []Committed
	apply := func(now int64, cmds []Command) []Result {
		var ca, cb Committed
		ra := a.Apply(now, cmds, nil, &ca)
		rb := b.Apply(now, cmds, nil, &cb)
		if !slices.Equal(ra, rb) {
			t.Fatalf("batch %d: results differ\n%v\n%v", a.Seq(), ra, rb)
		}
		if ca.Seq != cb.Seq || !slices.Equal(ca.Events, cb.Events) {
			t.Fatalf("batch %d: events differ", a.Seq())
		}
		if err := sameState(a, b); err != nil {
			t.Fatalf("batch %d: %v", a.Seq(), err)
		}
		if err := a.CheckInvariants(); err != nil {
			t.Fatalf("batch %d: %v", a.Seq(), err)
		}
		if ca.Seq != 0 {
			log = append(log, Committed{Seq: ca.Seq, Now: ca.Now, Events: slices.Clone(ca.Events)})
		}
		return ra
	}
	const wallets = 8
	setup := []Command{{Kind: KindCreateAccount, Account: bank, Currency: cny, AccountFlags: AccountUnbounded}}
	for w := AccountID(1); w <= wallets; w++ {
		setup = append(setup, Command{Kind: KindCreateAccount, Account: 10 + w, Currency: cny},
			Command{Kind: KindPost, ID: ID{0: 0xf, 15: byte(w)}, Debit: bank, Credit: 10 + w, Amount: 5000})
	}
	now := t0
	apply(now, setup)
	var sent, reserves []Command
	nextID := uint64(0)
	newID := func() ID {
		nextID++
		var id ID
		binary.BigEndian.PutUint64(id[8:], nextID)
		return id
	}
	account := func() AccountID {
		if rng.IntN(10) == 0 {
			return bank
		}
		return 11 + AccountID(rng.IntN(wallets))
	}
	command := func() Command {
		var c Command
		switch r := rng.IntN(100); {
		case r < 35:
			c = Command{Kind: KindPost, ID: newID(), Debit: account(), Credit: account(), Amount: money.Amount(1 + rng.Int64N(2000))}
		case r < 55:
			c = Command{Kind: KindReserve, ID: newID(), Debit: account(), Credit: account(), Amount: money.Amount(1 + rng.Int64N(2000)),
				Timeout: time.Duration(1+rng.IntN(20)) * time.Second}
			reserves = append(reserves, c)
		case r < 75 && len(reserves) > 0:
			c = Command{Kind: KindCommit, ID: newID(), Pending: reserves[rng.IntN(len(reserves))].ID}
			if r >= 68 {
				c.Kind = KindAbort
			}
		case r < 90 && len(sent) > 0:
			c = sent[rng.IntN(len(sent))] // a retry, sometimes with other content
			if rng.IntN(3) == 0 {
				c.Amount++
			}
			c.Linked = false
		default:
			c = Command{Kind: KindMark, ID: newID(), Currency: cny}
		}
		sent = append(sent, c)
		return c
	}
	counts := map[Status]int{}
	batches := 3000
	if testing.Short() {
		batches = 600
	}
	for range batches {
		now += rng.Int64N(int64(1500 * time.Millisecond))
		var cmds []Command
		for n := 1 + rng.IntN(16); len(cmds) < n; {
			if rng.IntN(8) == 0 {
				k := 2 + rng.IntN(3)
				for j := range k {
					c := command()
					c.Linked = j < k-1
					cmds = append(cmds, c)
				}
				continue
			}
			cmds = append(cmds, command())
		}
		for _, r := range apply(now, cmds) {
			counts[r.Status]++
		}
	}
	if f := frozenLen(&a.transfers); f < a.Transfers()/2 {
		t.Errorf("%d of %d transfers frozen", f, a.Transfers())
	}
	for _, st := range []Status{StatusOK, StatusExists, StatusExistsDifferent, StatusLinkedEventFailed,
		StatusInsufficientFunds, StatusPendingCommitted, StatusPendingAborted, StatusPendingExpired} {
		if counts[st] == 0 {
			t.Errorf("workload never produced %v", st)
		}
	}
	r := New()
	r.transfers.every = 1
	for i := range log {
		if err := r.Replay(&log[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sameState(r, b); err != nil {
		t.Fatalf("replayed: %v", err)
	}
	t.Logf("%d transfers, %d frozen; statuses %v", a.Transfers(), frozenLen(&a.transfers), counts)
}

// TestIndexCrowdedBuckets migrates ids chosen, with the index's own
// seed, to crowd the first buckets of one segment far beyond what a
// keyed hash would ever put there, so that a group's byte offsets
// overflow: on a migration that changes the bucket count, and on one
// that merges into the existing buckets. The segment must take more
// buckets and keep every entry.
func TestIndexCrowdedBuckets(t *testing.T) {
	x := newIDIndex()
	x.every = 1
	var ids []ID
	for n := uint64(0); len(ids) < 600; n++ {
		id := testID(1<<53 + n)
		if h := x.hash(id); h>>(64-segBits) == 0 && uint32(h) < 1<<26 {
			ids = append(ids, id)
		}
	}
	for i, id := range ids {
		x.put(id, entry{ts: int64(i)})
		if i == 299 || i == len(ids)-1 {
			x.migrate(0)
			mustCheck(t, &x)
		}
	}
	sg := &x.frozen[0]
	if sg.n != len(ids) || sg.buckets() < 2048 {
		t.Fatalf("%d entries in %d buckets", sg.n, sg.buckets())
	}
	// And a bucket count too small for the entries already frozen.
	x.rebucket(sg, bucketGroup)
	mustCheck(t, &x)
	if sg.buckets() < 2048 {
		t.Fatalf("rebucketed into %d buckets", sg.buckets())
	}
	for i, id := range ids {
		if e, ok := x.get(id); !ok || e.ts != int64(i) {
			t.Fatalf("id %d: %+v %v", i, e, ok)
		}
	}
}
