package ledger

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// indexSeed replays TestIndexRandom; sim_test.go's -seed belongs to the
// external test package, which shares the test binary, hence the name.
var indexSeed = flag.Uint64("index-seed", 0, "seed of TestIndexRandom (0: from the clock)")

func testID(n uint64) ID {
	var id ID
	binary.LittleEndian.PutUint64(id[:8], n)
	binary.LittleEndian.PutUint64(id[8:], ^n)
	return id
}

// checkIndex verifies everything the index relies on: counts, the tag
// copies past the end, each entry's tag and shard, each entry reachable
// from its home slot without crossing an empty one, no id twice, and a
// directory whose shards each cover one aligned range.
func checkIndex(x *idIndex) error {
	if len(x.dir) != 1<<x.depth {
		return fmt.Errorf("directory of %d for depth %d", len(x.dir), x.depth)
	}
	seen := map[ID]bool{}
	total := 0
	for d, sh := range x.dir {
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
		n := len(sh.slots)
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
		for i, t := range sh.tags[:n] {
			if t == 0 {
				if sh.slots[i] != (slot{}) {
					return fmt.Errorf("shard %d slot %d: empty but holds %+v", d, i, sh.slots[i])
				}
				continue
			}
			count++
			id := sh.slots[i].id
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
	if total != x.n {
		return fmt.Errorf("%d entries, len %d", total, x.n)
	}
	return nil
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

func TestIndexBasics(t *testing.T) {
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
		{"find absent", func() any { _, ok := x.find(b); return ok }, false},
		{"insert found slot", func() any { r, _ := x.find(b); x.insert(r, b, entry{ts: 30}); return x.len() }, 2},
		{"get inserted", func() any { e, _ := x.get(b); return e.ts }, int64(30)},
		{"zero id is a key like any other", func() any { x.put(ID{}, entry{ts: 40}); e, ok := x.get(ID{}); return fmt.Sprint(ok, e.ts) }, "true 40"},
		{"delete", func() any { return x.del(a) }, true},
		{"delete again", func() any { return x.del(a) }, false},
		{"get deleted", func() any { _, ok := x.get(a); return ok }, false},
		{"others stay", func() any { _, ok1 := x.get(b); _, ok2 := x.get(ID{}); return ok1 && ok2 }, true},
		{"len", func() any { return x.len() }, 2},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
		mustCheck(t, &x)
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
			if len(sh.slots) == 0 {
				x.grow(sh, h)
			}
			if k >= sh.limit {
				t.Fatalf("%d colliding ids cannot fit in a shard of limit %d", k, sh.limit)
			}
			want = home(h, len(sh.slots))
			if wrap {
				want = len(sh.slots) - 1
			}
		}
		if x.shardOf(h) == sh && home(h, len(sh.slots)) == want {
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
					if want := (home(x.hash(id), len(sh.slots)) + i) % len(sh.slots); r.i != want {
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

// TestIndexGrowth grows the index through many splits and checks every
// entry, the invariants and all at several sizes.
func TestIndexGrowth(t *testing.T) {
	// The first split comes at about 64 shards × 5,000 entries.
	size := 1_000_000
	if testing.Short() {
		size = 400_000
	}
	x := newIDIndex()
	for n := range size {
		x.put(testID(uint64(n)), entry{sum: uint64(n), ts: int64(n)})
		if n&(n-1) == 0 || n == size-1 {
			mustCheck(t, &x)
		}
	}
	if x.len() != size {
		t.Fatalf("len %d, want %d", x.len(), size)
	}
	if x.depth <= initDepth {
		t.Fatalf("depth %d: no shard split", x.depth)
	}
	for n := range size {
		if e, ok := x.get(testID(uint64(n))); !ok || e.ts != int64(n) {
			t.Fatalf("id %d: %+v %v", n, e, ok)
		}
	}
	seen := make([]bool, size)
	for id, e := range x.all() {
		n := int(e.ts)
		if n < 0 || n >= size || id != testID(uint64(n)) || seen[n] {
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
		if len(sh.slots) > maxCap {
			t.Fatalf("shard of %d slots", len(sh.slots))
		}
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
	sh, n0 := r2.sh, len(r2.sh.slots)
	for n := uint64(1 << 40); len(sh.slots) == n0 && x.shardOf(r2.h) == sh; n++ {
		if id := testID(n); x.shardOf(x.hash(id)) == sh {
			x.put(id, entry{})
		}
		if n > 1<<40+1e7 {
			t.Fatal("shard never grew")
		}
	}
	x.insert(r2, ids[2], entry{ts: 2})
	mustCheck(t, &x)
	for i, id := range ids {
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
// with the invariants checked along the way.
func TestIndexRandom(t *testing.T) {
	seed := *indexSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d", seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with: go test ./internal/ledger -run 'TestIndexRandom' -index-seed %d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ops, prefill := 600_000, 400_000
	if testing.Short() {
		ops, prefill = 100_000, 0
	}
	x := newIDIndex()
	model := map[ID]entry{}
	// Start where shards begin to split (at about 325,000 entries), so
	// that the operations run across growth steps and splits.
	for n := range uint64(prefill) {
		id := testID(1<<50 + n)
		x.put(id, entry{ts: int64(n)})
		model[id] = entry{ts: int64(n)}
	}
	shards := countShards(&x)
	keys := uint64(1000)
	var recent [256]ID // ids inserted lately, so that gets and deletes hit
	for op := range ops {
		if op%50_000 == 0 {
			keys *= 4 // widen the key space so the index keeps growing
		}
		id := testID(rng.Uint64N(keys))
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
		if x.len() != len(model) {
			t.Fatalf("op %d: len %d, model %d", op, x.len(), len(model))
		}
		if op%100_000 == 0 {
			mustCheck(t, &x)
		}
	}
	mustCheck(t, &x)
	t.Logf("%d entries in %d shards, was %d", x.len(), countShards(&x), shards)
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
