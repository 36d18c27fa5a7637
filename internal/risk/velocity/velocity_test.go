package velocity

import (
	"errors"
	"flag"
	"fmt"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("velocity.seed", 0, "seed of the model test (0: from the clock)")

// t0 is an arbitrary start of simulated time, on a whole second.
var t0 = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero means defaults", Options{}, true},
		{"one hour, few keys", Options{MaxWindow: time.Hour, MaxKeys: 10}, true},
		{"negative window", Options{MaxWindow: -time.Second}, false},
		{"window too long", Options{MaxWindow: maxWindowLimit + time.Second}, false},
		{"negative keys", Options{MaxKeys: -1}, false},
		{"too many keys", Options{MaxKeys: maxKeysLimit + 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("Validate() = %v, not ErrInvalidOptions", err)
			}
		})
	}
}

func TestDefaultsAndRounding(t *testing.T) {
	if got := New(Options{}).MaxWindow(); got != DefaultMaxWindow {
		t.Errorf("default MaxWindow = %v, want %v", got, DefaultMaxWindow)
	}
	if got := New(Options{MaxWindow: 1500 * time.Millisecond}).MaxWindow(); got != 2*time.Second {
		t.Errorf("MaxWindow 1.5s rounds to %v, want 2s", got)
	}
}

func TestQueries(t *testing.T) {
	w := New(Options{MaxWindow: time.Hour})
	obs := []Txn{
		{At: t0, Payer: "bank-a", PayerAccount: "u1", PayeeAlias: "MSISDN:1", Currency: "CNY", Amount: 100},
		{At: t0.Add(10 * time.Minute), Payer: "bank-a", PayerAccount: "u1", PayeeAlias: "MSISDN:2", Currency: "CNY", Amount: 200},
		{At: t0.Add(20 * time.Minute), Payer: "bank-a", PayerAccount: "u1", PayeeAlias: "MSISDN:1", Currency: "USD", Amount: 7},
		{At: t0.Add(30 * time.Minute), Payer: "bank-a", PayerAccount: "", PayeeAlias: "MSISDN:1", Currency: "CNY", Amount: 1000},
		{At: t0.Add(40 * time.Minute), Payer: "bank-b", PayerAccount: "u1", PayeeAlias: "MSISDN:1", Currency: "CNY", Amount: 5000},
		{At: t0.Add(41 * time.Minute), Payer: "bank-c", PayerAccount: "u1", PayeeAlias: "MSISDN:1", Currency: "POINTS", Amount: 9},
		{At: t0.Add(42 * time.Minute), Payer: "bank-c", PayerAccount: "u1", PayeeAlias: "MSISDN:1", Currency: "CNY", Amount: 11},
	}
	for _, o := range obs {
		w.Observe(o)
	}
	now := t0.Add(45 * time.Minute)
	tests := []struct {
		name       string
		get        func() (int64, int64)
		count, sum int64
	}{
		{"payer all", func() (int64, int64) { return w.Payer("bank-a", "u1", "CNY", now, time.Hour) }, 2, 300},
		{"payer last 40m", func() (int64, int64) { return w.Payer("bank-a", "u1", "CNY", now, 40*time.Minute) }, 1, 200},
		{"payer other currency", func() (int64, int64) { return w.Payer("bank-a", "u1", "USD", now, time.Hour) }, 1, 7},
		{"payer without account", func() (int64, int64) { return w.Payer("bank-a", "", "CNY", now, time.Hour) }, 1, 1000},
		{"same account string, other participant", func() (int64, int64) { return w.Payer("bank-b", "u1", "CNY", now, time.Hour) }, 1, 5000},
		{"alias from anyone", func() (int64, int64) { return w.Alias("MSISDN:1", "CNY", now, time.Hour) }, 4, 6111},
		{"alias last 10m", func() (int64, int64) { return w.Alias("MSISDN:1", "CNY", now, 10*time.Minute) }, 2, 5011},
		{"a currency code longer than 4 bytes", func() (int64, int64) { return w.Payer("bank-c", "u1", "POINTS", now, time.Hour) }, 1, 9},
		{"the second currency after a long one", func() (int64, int64) { return w.Payer("bank-c", "u1", "CNY", now, time.Hour) }, 1, 11},
		{"a currency never used", func() (int64, int64) { return w.Payer("bank-c", "u1", "EUR", now, time.Hour) }, 0, 0},
		{"alias other currency", func() (int64, int64) { return w.Alias("MSISDN:1", "USD", now, time.Hour) }, 1, 7},
		{"unknown alias", func() (int64, int64) { return w.Alias("MSISDN:9", "CNY", now, time.Hour) }, 0, 0},
		{"d capped at MaxWindow", func() (int64, int64) { return w.Payer("bank-a", "u1", "CNY", t0.Add(59*time.Minute), 48*time.Hour) }, 2, 300},
		{"d zero", func() (int64, int64) { return w.Payer("bank-a", "u1", "CNY", now, 0) }, 0, 0},
		{"window start inside the second counts it", func() (int64, int64) {
			return w.Payer("bank-a", "u1", "CNY", t0.Add(10*time.Minute+500*time.Millisecond), 100*time.Millisecond)
		}, 1, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := tt.get()
			if c != tt.count || s != tt.sum {
				t.Errorf("got (%d, %d), want (%d, %d)", c, s, tt.count, tt.sum)
			}
		})
	}
}

func TestNewPayee(t *testing.T) {
	w := New(Options{MaxWindow: time.Hour, MaxKeys: 100}) // one shard
	pay := func(at time.Duration, account, alias string) {
		w.Observe(Txn{At: t0.Add(at), Payer: "bank-a", PayerAccount: account, PayeeAlias: alias, Currency: "CNY", Amount: 1})
	}
	if !w.NewPayee("bank-a", "u1", "MSISDN:1") {
		t.Fatal("an unknown account has paid someone")
	}
	pay(0, "u1", "MSISDN:1")
	if w.NewPayee("bank-a", "u1", "MSISDN:1") {
		t.Error("a paid alias is new")
	}
	if !w.NewPayee("bank-a", "u2", "MSISDN:1") {
		t.Error("another account's payee is not new")
	}
	if !w.NewPayee("bank-b", "u1", "MSISDN:1") {
		t.Error("another participant's payee is not new")
	}
	// Paying payeesMax other aliases pushes the first one out.
	for i := range payeesMax - 1 {
		pay(time.Duration(i+1)*time.Second, "u1", fmt.Sprintf("MSISDN:%d", i+2))
	}
	if w.NewPayee("bank-a", "u1", "MSISDN:1") {
		t.Error("the first alias is forgotten while the memory is not full")
	}
	pay(10*time.Second, "u1", "MSISDN:100")
	if !w.NewPayee("bank-a", "u1", "MSISDN:1") {
		t.Error("the first alias is still known after payeesMax others")
	}
	// An account idle for MaxWindow is forgotten once its shard moves on.
	for i := range 4 {
		pay(2*time.Hour+time.Duration(i)*time.Second, fmt.Sprintf("other-%d", i), "MSISDN:5")
	}
	if !w.NewPayee("bank-a", "u1", "MSISDN:100") {
		t.Error("the payees of an account idle for MaxWindow are still known")
	}
}

func TestExpiry(t *testing.T) {
	w := New(Options{MaxWindow: time.Hour, MaxKeys: 100})
	for i := range 10 {
		w.Observe(Txn{At: t0.Add(time.Duration(i) * time.Second), Payer: fmt.Sprint("p", i), PayeeAlias: fmt.Sprint("A:", i), Currency: "CNY", Amount: 5})
	}
	if st := w.Stats(); st.PayerKeys != 10 || st.AliasKeys != 10 {
		t.Fatalf("Stats = %+v, want 10 of each", st)
	}
	later := t0.Add(time.Hour + 2*time.Minute) // past MaxWindow and lagSec
	if c, _ := w.Payer("p3", "", "CNY", later, time.Hour); c != 0 {
		t.Errorf("a transfer older than MaxWindow is counted: %d", c)
	}
	// Each new key looks at two slab positions and forgets expired keys
	// there: five new keys make room for ten.
	for i := range 5 {
		w.Observe(Txn{At: later.Add(time.Duration(i) * time.Second), Payer: fmt.Sprint("fresh", i), PayeeAlias: fmt.Sprint("A:fresh", i), Currency: "CNY", Amount: 5})
	}
	if st := w.Stats(); st.PayerKeys != 5 || st.AliasKeys != 5 {
		t.Fatalf("after MaxWindow Stats = %+v, want 5 of each", st)
	}
	w.Observe(Txn{At: later, Payer: "fresh", PayeeAlias: "A:fresh", Currency: "CNY", Amount: 5})
	// A key's own old slots go when it is observed again.
	w.Observe(Txn{At: later.Add(2 * time.Hour), Payer: "fresh", PayeeAlias: "A:fresh", Currency: "CNY", Amount: 7})
	if c, s := w.Payer("fresh", "", "CNY", later.Add(2*time.Hour), time.Hour); c != 1 || s != 7 {
		t.Errorf("after a gap Payer = (%d, %d), want (1, 7)", c, s)
	}
	p := w.payers.shardOf(w.hash(kindPayer, "fresh", "", ""))
	if n := p.slab[p.find(w.hash(kindPayer, "fresh", "", ""))].counts.view().n(); n != 1 {
		t.Errorf("%d slots kept, want 1", n)
	}
	// A transfer older than MaxWindow before the key's newest is ignored.
	w.Observe(Txn{At: later, Payer: "fresh", PayeeAlias: "A:fresh", Currency: "CNY", Amount: 9})
	if c, _ := w.Payer("fresh", "", "CNY", later.Add(2*time.Hour), time.Hour); c != 1 {
		t.Errorf("a stale transfer is counted: %d", c)
	}
}

func TestKeyCap(t *testing.T) {
	const maxKeys = 8
	w := New(Options{MaxWindow: time.Hour, MaxKeys: maxKeys})
	for i := range 20 {
		w.Observe(Txn{At: t0.Add(time.Duration(i) * time.Second), Payer: fmt.Sprint("p", i), PayeeAlias: fmt.Sprint("A:", i), Currency: "CNY", Amount: 1})
		// Keep p0 active: it must survive as the most recently observed.
		w.Observe(Txn{At: t0.Add(time.Duration(i) * time.Second), Payer: "p0", PayeeAlias: "A:0", Currency: "CNY", Amount: 1})
	}
	if st := w.Stats(); st.PayerKeys != maxKeys || st.AliasKeys != maxKeys {
		t.Fatalf("Stats = %+v, want %d of each", st, maxKeys)
	}
	now := t0.Add(time.Minute)
	if c, _ := w.Payer("p0", "", "CNY", now, time.Hour); c != 21 {
		t.Errorf("the most active key has count %d, want 21", c)
	}
	for i := 1; i < 20; i++ {
		c, _ := w.Payer(fmt.Sprint("p", i), "", "CNY", now, time.Hour)
		if want := int64(0); i >= 20-(maxKeys-1) {
			want = 1
			if c != want {
				t.Errorf("recent p%d has count %d, want %d", i, c, want)
			}
		} else if c != want {
			t.Errorf("evicted p%d has count %d, want 0", i, c)
		}
	}
	// Churn through many keys: the index must stay consistent.
	for i := range 10000 {
		w.Observe(Txn{At: t0.Add(time.Minute), Payer: fmt.Sprint("q", i), PayeeAlias: fmt.Sprint("B:", i%13), Currency: "CNY", Amount: 1})
		if c, _ := w.Payer(fmt.Sprint("q", i), "", "CNY", now, time.Hour); c != 1 {
			t.Fatalf("q%d has count %d just after its transfer", i, c)
		}
	}
	if st := w.Stats(); st.PayerKeys != maxKeys {
		t.Fatalf("after churn Stats = %+v", st)
	}
}

// TestWideRecords follows the pool of a shard with room for 2 wide
// records among three busy aliases: the third takes the record of the
// least recently active, which keeps all its transfers in 3 merged slots.
func TestWideRecords(t *testing.T) {
	w := New(Options{MaxWindow: time.Hour, MaxKeys: 2 * wideShare}) // one shard, 2 wide records
	s := &w.aliases.shards[0]
	if s.maxWide != 2 {
		t.Fatalf("maxWide = %d, want 2", s.maxWide)
	}
	wideOf := func(alias string) int32 { return s.slab[s.find(w.hash(kindAlias, alias, "CNY", ""))].wide }
	at := t0
	pay := func(alias string, times int) {
		for range times {
			at = at.Add(time.Minute)
			w.Observe(Txn{At: at, Payer: "bank-a", PayeeAlias: alias, Currency: "CNY", Amount: 10})
		}
	}
	pay("A:1", inlineMax)
	if wideOf("A:1") != 0 {
		t.Fatal("a key within its inline slots holds a wide record")
	}
	pay("A:1", 2)
	pay("A:2", inlineMax+2)
	if wideOf("A:1") == 0 || wideOf("A:2") == 0 {
		t.Fatalf("busy keys without wide records: %d, %d", wideOf("A:1"), wideOf("A:2"))
	}
	pay("A:3", inlineMax+2)
	if wideOf("A:1") != 0 || wideOf("A:3") == 0 || wideOf("A:2") == 0 {
		t.Fatalf("wide records %d, %d, %d, want A:1's taken by A:3", wideOf("A:1"), wideOf("A:2"), wideOf("A:3"))
	}
	tests := []struct {
		alias      string
		d          time.Duration
		count, sum int64 // exact
		exact      bool
	}{
		// A:1 paid at minutes 1 to 5, A:2 at 6 to 10, A:3 at 11 to 15 (now).
		{"A:1", time.Hour, 5, 50, true},
		{"A:1", 12 * time.Minute, 3, 30, false}, // merged: may count more
		{"A:2", 6 * time.Minute, 2, 20, true},
		{"A:3", 3 * time.Minute, 4, 40, true},
	}
	for _, tt := range tests {
		c, sum := w.Alias(tt.alias, "CNY", at, tt.d)
		if c < tt.count || sum < tt.sum || (tt.exact && (c != tt.count || sum != tt.sum)) {
			t.Errorf("Alias(%s, %v) = (%d, %d), exact (%d, %d)", tt.alias, tt.d, c, sum, tt.count, tt.sum)
		}
	}
}

// TestObserveNewPayee: Observe answers what NewPayee answered just
// before it.
func TestObserveNewPayee(t *testing.T) {
	w := New(Options{})
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		alias string
		want  bool
	}{{"MSISDN:+1", true}, {"MSISDN:+1", false}, {"MSISDN:+2", true}, {"MSISDN:+1", false}} {
		before := w.NewPayee("p", "u", c.alias)
		got := w.Observe(Txn{At: at.Add(time.Duration(i) * time.Second), Payer: "p", PayerAccount: "u", PayeeAlias: c.alias, Currency: "CNY", Amount: 1})
		if got != c.want || before != c.want {
			t.Errorf("payment %d to %s: Observe %v, NewPayee before %v, want %v", i, c.alias, got, before, c.want)
		}
	}
}
