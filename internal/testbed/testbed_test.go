package testbed_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/testbed"
)

var (
	cny = money.MustCurrency("CNY")
	usd = money.MustCurrency("USD")
	t0  = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
)

func TestClock(t *testing.T) {
	still := testbed.NewClock(t0, 0)
	if a, b := still.Now(), still.Now(); !a.Equal(t0) || !b.Equal(t0) {
		t.Errorf("a clock without a step read %v then %v, want %v twice", a, b, t0)
	}
	still.Advance(time.Minute)
	if got := still.Now(); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("after Advance(1m) it reads %v", got)
	}
	still.Set(t0.Add(-time.Hour))
	if got := still.Now(); !got.Equal(t0.Add(-time.Hour)) {
		t.Errorf("after Set it reads %v", got)
	}

	// A stepping clock moves before it is read, so no two readings are
	// equal, even from many goroutines at once.
	step := testbed.NewClock(t0, time.Millisecond)
	if got := step.Now(); !got.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("first reading %v, want %v", got, t0.Add(time.Millisecond))
	}
	step.Advance(time.Second)
	if got := step.Now(); !got.Equal(t0.Add(time.Second + 2*time.Millisecond)) {
		t.Errorf("after Advance(1s) it reads %v", got)
	}
	const readers, reads = 8, 100
	seen := make(chan time.Time, readers*reads)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for range reads {
				seen <- step.Now()
			}
		})
	}
	wg.Wait()
	close(seen)
	distinct := map[time.Time]bool{}
	for r := range seen {
		distinct[r] = true
	}
	if len(distinct) != readers*reads {
		t.Errorf("%d readings, %d distinct", readers*reads, len(distinct))
	}
}

func TestBed(t *testing.T) {
	clk := testbed.NewClock(t0, time.Millisecond)
	var durable int
	var mu sync.Mutex
	b := testbed.Open(t, testbed.Options{Now: clk.Now, OnDurable: func(bs []*ledger.Committed) {
		mu.Lock()
		durable += len(bs)
		mu.Unlock()
	}})
	p, cr := b.Create(participant.New{ID: "alpha", Name: "Alpha", Kind: participant.Wallet, Currencies: []money.Currency{cny, usd}})
	if cr.APIKey == "" {
		t.Fatal("no API key")
	}
	b.Deposit(p, cny, 1000)
	b.Deposit(p, usd, 7)
	b.ZeroSum()
	if got := b.Account(p.Account(cny)).Balance; got != 1000 {
		t.Errorf("CNY balance %d, want 1000", got)
	}
	if got := b.Account(participant.ExternalAccount(cny)).Balance; got != -1000 {
		t.Errorf("external CNY balance %d, want -1000", got)
	}
	mu.Lock()
	if durable == 0 {
		t.Error("OnDurable heard of no batch")
	}
	mu.Unlock()

	// Ids are fresh across a restart, and the ledger and the registry
	// come back with the directory.
	ids := map[ledger.ID]bool{}
	for range 100 {
		ids[b.ID()] = true
	}
	n := len(b.Accounts())
	b.Restart()
	ids[b.ID()] = true
	if len(ids) != 101 {
		t.Errorf("ID gave %d distinct ids in 101 calls", len(ids))
	}
	if len(b.Accounts()) != n {
		t.Errorf("%d accounts after the restart, want %d", len(b.Accounts()), n)
	}
	if _, ok := b.Registry.Get("alpha"); !ok {
		t.Error("alpha lost in the restart")
	}
	res := b.Submit(ledger.Command{Kind: ledger.KindPost, ID: b.ID(), Debit: p.Account(cny), Credit: participant.ExternalAccount(cny),
		Amount: 400, Purpose: purpose.Withdrawal})
	if res[0].Status != ledger.StatusOK || res[0].Timestamp <= 0 {
		t.Errorf("Submit = %+v", res)
	}
	if got := b.Account(p.Account(cny)).Balance; got != 600 {
		t.Errorf("CNY balance %d after a restart and a withdrawal, want 600", got)
	}
	b.ZeroSum()
}

// TestReopen: a bed opened on the directory of one closed before finds
// what it left.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	t.Run("first", func(t *testing.T) {
		b := testbed.Open(t, testbed.Options{Dir: dir})
		p, _ := b.Create(participant.New{ID: "alpha", Name: "Alpha", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
		b.Deposit(p, cny, 5)
	})
	b := testbed.Open(t, testbed.Options{Dir: dir})
	p, ok := b.Registry.Get("alpha")
	if !ok {
		t.Fatal("alpha not found in the reopened bed")
	}
	if got := b.Account(p.Account(cny)).Balance; got != 5 {
		t.Errorf("balance %d, want 5", got)
	}
	b.ZeroSum()
}

// TestImports: testbed imports only the parts it opens and what they are
// made of, never a package that a test using it belongs to (transfer,
// settlement, liquidity, callback, api, app): in-package tests of those
// would make an import cycle.
func TestImports(t *testing.T) {
	const module = "github.com/hulian/hulian/internal/"
	allowed := map[string]bool{"journal": true, "ledger": true, "money": true, "participant": true, "purpose": true,
		"sqldb": true, "store": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(p, module); ok && !allowed[rest] {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}
