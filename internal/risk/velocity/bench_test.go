package velocity

import (
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// The sizes that the package doc states.
func TestEntrySizes(t *testing.T) {
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"payer entry", unsafe.Sizeof(entry[payer]{}), 72},
		{"alias entry", unsafe.Sizeof(entry[struct{}]{}), 56},
		{"wide record", unsafe.Sizeof(wide{}), 152},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("a %s is %d bytes, the doc says %d", tt.name, tt.got, tt.want)
		}
	}
}

// accountName and aliasName write the names of payer account and alias k
// into buf, without allocating: a screening has its key strings at hand
// (in the CPU caches), so the benchmarks do not read them from a slice of
// a million strings spread over the heap.
func accountName(buf *[32]byte, k int) string {
	b := strconv.AppendInt(append(buf[:0], "user-"...), int64(k), 10)
	return unsafe.String(&b[0], len(b))
}

func aliasName(buf *[32]byte, k int) string {
	b := strconv.AppendInt(append(buf[:0], "MSISDN:86"...), int64(k), 10)
	return unsafe.String(&b[0], len(b))
}

// fill observes n transfers, each from its own payer account to its own
// alias, one per millisecond from t0.
func fill(w *Windows, n int) {
	var ab, lb [32]byte
	for i := range n {
		w.Observe(Txn{At: t0.Add(time.Duration(i) * time.Millisecond), Payer: "bank-a", PayerAccount: accountName(&ab, i), PayeeAlias: aliasName(&lb, i), Currency: "CNY", Amount: 100})
	}
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// maxBytesPerPair is the target of the package doc: the heap of one payer
// account and one alias at the cap, index included.
const maxBytesPerPair = 160

// TestMemoryPerKey measures the heap that a payer account and an alias
// cost at the cap (both tables and pools full) against maxBytesPerPair:
// 72 + 56 bytes of entries, 4 bytes an index place, at most 3/4 full, and
// 2 × 152/24 bytes of wide records. The
// defaults (384 Ki keys: 256 shards of 1536 keys, 2048 index places) must
// also fit in 64 MiB; a cap of 48 Ki keys has their ratio of keys to
// index places, 1 Mi keys the benchmarks' shape (index half full).
func TestMemoryPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("fills up to 2 × 1 Mi keys")
	}
	tests := []struct {
		name    string
		maxKeys int // 0: the default
	}{
		{"defaults", 0},
		{"48 Ki keys", 3 << 14},
		{"1 Mi keys", 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.maxKeys
			if n == 0 {
				n = DefaultMaxKeys
			}
			before := heap()
			w := New(Options{MaxKeys: tt.maxKeys})
			// Observe 2n distinct keys so that every shard is full, then
			// make one in 8 of the last n busy, which fills the pools.
			fill(w, 2*n)
			busy(w, 2*n, n/8)
			after := heap()
			st := w.Stats()
			if st.PayerKeys > n || st.AliasKeys > n || st.PayerKeys < n*9/10 {
				t.Fatalf("Stats = %+v for a cap of %d", st, n)
			}
			total := float64(after - before)
			perPair := total / float64(n)
			t.Logf("%.1f bytes per payer account and alias at the cap of %d, %.1f MiB in all", perPair, n, total/(1<<20))
			if perPair > maxBytesPerPair {
				t.Errorf("%.1f bytes per payer account and alias, more than %d", perPair, maxBytesPerPair)
			}
			if tt.maxKeys == 0 && total > 64<<20 {
				t.Errorf("the defaults take %.1f MiB, more than 64", total/(1<<20))
			}
			runtime.KeepAlive(w)
		})
	}
}

// busy observes 4 more transfers, a second apart, between payer account
// and alias k for k of from−1, from−9, … (count of them), which moves them
// past their inline slots.
func busy(w *Windows, from, count int) {
	var ab, lb [32]byte
	at := t0.Add(time.Duration(from) * time.Millisecond)
	for j := range 4 {
		for i := range count {
			k := from - 1 - 8*i
			w.Observe(Txn{At: at.Add(time.Duration(j+1) * time.Second), Payer: "bank-a", PayerAccount: accountName(&ab, k), PayeeAlias: aliasName(&lb, k), Currency: "CNY", Amount: 100})
		}
	}
}

// benchKeys is the number of payer accounts and aliases of the
// benchmarks: a national switch's day.
const benchKeys = 1 << 20

// benchW is the Windows of benchKeys payer accounts and aliases, built
// once per process.
var benchW *Windows

func benchSetup(b *testing.B) *Windows {
	if benchW == nil {
		before := heap()
		benchW = New(Options{MaxWindow: 24 * time.Hour, MaxKeys: benchKeys}) // full: Observe evicts
		fill(benchW, benchKeys)
		after := heap()
		b.Logf("%d keys of each kind: %.0f bytes per payer account and alias", benchKeys, float64(after-before)/benchKeys)
	}
	return benchW
}

// spread visits the keys in an order without locality, as screenings do.
func spread(i int) int { return (i * 7919) % benchKeys }

// BenchmarkObserve records a transfer between two of the benchKeys keys:
// two entries updated (payer account with its payees, alias).
func BenchmarkObserve(b *testing.B) {
	w := benchSetup(b)
	at := t0.Add(benchKeys * time.Millisecond)
	var ab, lb [32]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := spread(i)
		w.Observe(Txn{At: at.Add(time.Duration(i) * time.Microsecond), Payer: "bank-a", PayerAccount: accountName(&ab, k), PayeeAlias: aliasName(&lb, (k+i)%benchKeys), Currency: "CNY", Amount: 100})
		i++
	}
}

// BenchmarkPayer is one payerCount/payerSum query.
func BenchmarkPayer(b *testing.B) {
	w := benchSetup(b)
	now := t0.Add(benchKeys * time.Millisecond)
	var ab [32]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Payer("bank-a", accountName(&ab, spread(i)), "CNY", now, time.Hour)
		i++
	}
}

// BenchmarkAlias is one aliasCount/aliasSum query.
func BenchmarkAlias(b *testing.B) {
	w := benchSetup(b)
	now := t0.Add(benchKeys * time.Millisecond)
	var lb [32]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Alias(aliasName(&lb, spread(i)), "CNY", now, time.Hour)
		i++
	}
}

// BenchmarkNewPayee is one newPayee query, on an entry that no Payer
// query has just read.
func BenchmarkNewPayee(b *testing.B) {
	w := benchSetup(b)
	var ab, lb [32]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := spread(i)
		w.NewPayee("bank-a", accountName(&ab, k), aliasName(&lb, k+1))
		i++
	}
}

// BenchmarkQuery is what a screening with every velocity variable asks:
// Payer, Alias and NewPayee.
func BenchmarkQuery(b *testing.B) {
	w := benchSetup(b)
	now := t0.Add(benchKeys * time.Millisecond)
	var ab, lb [32]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		screen(w, &ab, &lb, spread(i), now)
		i++
	}
}

// screen asks what a screening of key k's transfer asks.
func screen(w *Windows, ab, lb *[32]byte, k int, now time.Time) {
	account, alias := accountName(ab, k), aliasName(lb, k)
	w.Payer("bank-a", account, "CNY", now, time.Hour)
	w.Alias(alias, "CNY", now, time.Hour)
	w.NewPayee("bank-a", account, alias)
}

func BenchmarkQueryParallel(b *testing.B) {
	w := benchSetup(b)
	now := t0.Add(benchKeys * time.Millisecond)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ab, lb [32]byte
		i := 0
		for pb.Next() {
			screen(w, &ab, &lb, spread(i), now)
			i++
		}
	})
}

// BenchmarkQueryWarm asks about 1,000 keys, which stay in the CPU caches:
// the cost of hashing and locking without the memory misses of 1 Mi keys.
func BenchmarkQueryWarm(b *testing.B) {
	w := New(Options{MaxWindow: 24 * time.Hour, MaxKeys: 1 << 12})
	fill(w, 1000)
	now := t0.Add(time.Hour)
	var ab, lb [32]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		screen(w, &ab, &lb, i%1000, now)
		i++
	}
}

func BenchmarkHash(b *testing.B) {
	w := New(Options{MaxKeys: 16})
	for b.Loop() {
		w.hash(kindPayer, "bank-a", "user-000000001", "CNY")
	}
}

// BenchmarkBaselineMap is the yardstick for the benchKeys benchmarks on a
// shared machine: three lookups of random keys in a Go map of benchKeys
// entries of 64 bytes (the size of an alias entry), which pays the same
// cache and TLB misses as any table of that size.
func BenchmarkBaselineMap(b *testing.B) {
	m := make(map[uint64][8]uint64, benchKeys)
	for i := range uint64(benchKeys) {
		m[i*0x9e3779b97f4a7c15] = [8]uint64{i}
	}
	var sink uint64
	i := uint64(0)
	for b.Loop() {
		for j := range uint64(3) {
			sink += m[((i*7919+j*104729)%benchKeys)*0x9e3779b97f4a7c15][0]
		}
		i++
	}
	runtime.KeepAlive(sink)
}

// BenchmarkObserveWarm records transfers among 1,000 payer accounts and
// aliases, which stay in the CPU caches: the CPU cost of Observe.
func BenchmarkObserveWarm(b *testing.B) {
	w := New(Options{MaxWindow: 24 * time.Hour, MaxKeys: 1 << 12})
	fill(w, 1000)
	at := t0.Add(time.Hour)
	var ab, lb [32]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % 1000
		w.Observe(Txn{At: at.Add(time.Duration(i) * time.Millisecond), Payer: "bank-a", PayerAccount: accountName(&ab, k), PayeeAlias: aliasName(&lb, (k*7)%1000), Currency: "CNY", Amount: 100})
		i++
	}
}

// BenchmarkObserveBusyKey records a transfer a second to one alias and
// payer account, past their wideMax slots: every Observe merges slots.
func BenchmarkObserveBusyKey(b *testing.B) {
	w := New(Options{MaxWindow: 24 * time.Hour, MaxKeys: 16})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Observe(Txn{At: t0.Add(time.Duration(i) * time.Second), Payer: "bank-a", PayerAccount: "merchant", PayeeAlias: "MSISDN:1", Currency: "CNY", Amount: 100})
		i++
	}
}
