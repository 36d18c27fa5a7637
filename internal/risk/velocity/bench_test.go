package velocity

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// The sizes that the package doc states.
func TestEntrySizes(t *testing.T) {
	if got := unsafe.Sizeof(entry[slots]{}); got != 288 {
		t.Errorf("a counts entry is %d bytes, the doc says 288", got)
	}
	if got := unsafe.Sizeof(entry[payees]{}); got != 56 {
		t.Errorf("a payees entry is %d bytes, the doc says 56", got)
	}
}

// fill observes n transfers, each from its own payer account to its own
// alias, one per millisecond from t0, and returns the keys' names.
func fill(w *Windows, n int) (accounts, aliases []string) {
	accounts, aliases = make([]string, n), make([]string, n)
	for i := range n {
		accounts[i] = fmt.Sprintf("user-%09d", i)
		aliases[i] = fmt.Sprintf("MSISDN:86%011d", i)
	}
	for i := range n {
		w.Observe(Txn{At: t0.Add(time.Duration(i) * time.Millisecond), Payer: "bank-a", PayerAccount: accounts[i], PayeeAlias: aliases[i], Currency: "CNY", Amount: 100})
	}
	return accounts, aliases
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryPerKey measures the heap that a key of each kind costs at the
// cap (the payer, alias and payees tables full) against the bound that
// the package doc states: 288 + 288 + 56 bytes and the index.
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
	if st.PayerKeys > n || st.AliasKeys > n || st.PayeeKeys > n || st.PayerKeys < n*9/10 {
		t.Fatalf("Stats = %+v for a cap of %d", st, n)
	}
	perKey := float64(after-before) / n
	t.Logf("%.0f bytes per payer+alias+payees key at the cap", perKey)
	if perKey > 288+288+56+3*8*1.2 {
		t.Errorf("%.0f bytes per key, more than the doc states", perKey)
	}
	runtime.KeepAlive(w)
}

// benchWindows is a table of 1 Mi payer accounts and aliases, built once.
var bench struct {
	w                 *Windows
	accounts, aliases []string
}

func benchSetup(b *testing.B) {
	if bench.w != nil {
		return
	}
	const n = 1 << 20
	before := heap()
	bench.w = New(Options{MaxWindow: 24 * time.Hour, MaxKeys: 2 * n})
	bench.accounts, bench.aliases = fill(bench.w, n)
	after := heap()
	b.Logf("%d keys of each kind: %.0f bytes per key of each kind together, with the key strings", n, float64(after-before)/n)
}

func BenchmarkObserve(b *testing.B) {
	benchSetup(b)
	w := bench.w
	n := len(bench.accounts)
	at := t0.Add(time.Duration(n) * time.Millisecond)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := (i * 7919) % n
		w.Observe(Txn{At: at.Add(time.Duration(i) * time.Microsecond), Payer: "bank-a", PayerAccount: bench.accounts[k], PayeeAlias: bench.aliases[(k+i)%n], Currency: "CNY", Amount: 100})
		i++
	}
}

func BenchmarkQuery(b *testing.B) {
	benchSetup(b)
	w := bench.w
	n := len(bench.accounts)
	now := t0.Add(time.Duration(n) * time.Millisecond)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := (i * 7919) % n
		w.Payer("bank-a", bench.accounts[k], "CNY", now, time.Hour)
		w.Alias(bench.aliases[k], "CNY", now, time.Hour)
		w.NewPayee("bank-a", bench.accounts[k], bench.aliases[k])
		i++
	}
}

func BenchmarkQueryParallel(b *testing.B) {
	benchSetup(b)
	w := bench.w
	n := len(bench.accounts)
	now := t0.Add(time.Duration(n) * time.Millisecond)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := (i * 7919) % n
			w.Payer("bank-a", bench.accounts[k], "CNY", now, time.Hour)
			w.Alias(bench.aliases[k], "CNY", now, time.Hour)
			i++
		}
	})
}
