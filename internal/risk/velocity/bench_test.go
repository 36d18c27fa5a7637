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
	if got := unsafe.Sizeof(entry[payer]{}); got != 320 {
		t.Errorf("a payer entry is %d bytes, the doc says 320", got)
	}
	if got := unsafe.Sizeof(entry[slots]{}); got != 280 {
		t.Errorf("an alias entry is %d bytes, the doc says 280", got)
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

// TestMemoryPerKey measures the heap that a key of each kind costs at the
// cap (the payer and alias tables full) against the bound that the
// package doc states: 320 + 280 bytes of entries and 8 to 16 bytes of
// index each.
func TestMemoryPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 2 × 64 Ki keys")
	}
	const n = 1 << 16
	before := heap()
	w := New(Options{MaxWindow: time.Hour, MaxKeys: n})
	// Observe 2n distinct keys so that every shard is full.
	fill(w, 2*n)
	after := heap()
	st := w.Stats()
	if st.PayerKeys > n || st.AliasKeys > n || st.PayerKeys < n*9/10 {
		t.Fatalf("Stats = %+v for a cap of %d", st, n)
	}
	perKey := float64(after-before) / n
	t.Logf("%.0f bytes per payer account and alias at the cap", perKey)
	if perKey > 320+280+2*16 {
		t.Errorf("%.0f bytes per key, more than the doc states", perKey)
	}
	runtime.KeepAlive(w)
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
// entries of 280 bytes (the size of a counts entry), which pays the same
// cache and TLB misses as any table of that size.
func BenchmarkBaselineMap(b *testing.B) {
	m := make(map[uint64][35]uint64, benchKeys)
	for i := range uint64(benchKeys) {
		m[i*0x9e3779b97f4a7c15] = [35]uint64{i}
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
// payer account, past their 16 slots: every Observe merges slots.
func BenchmarkObserveBusyKey(b *testing.B) {
	w := New(Options{MaxWindow: 24 * time.Hour, MaxKeys: 16})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Observe(Txn{At: t0.Add(time.Duration(i) * time.Second), Payer: "bank-a", PayerAccount: "merchant", PayeeAlias: "MSISDN:1", Currency: "CNY", Amount: 100})
		i++
	}
}
