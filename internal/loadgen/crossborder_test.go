package loadgen

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// TestHKNumbers holds the +852 numbers the HKD wallet registers to the
// directory's validation: the ends of both ranges and random ones.
func TestHKNumbers(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	ns := []uint32{0, 1, 2_999_999, 3_000_000, hkNumbersMax - 1}
	for range 2000 {
		ns = append(ns, rng.Uint32N(hkNumbersMax))
	}
	seen := map[string]uint32{}
	for _, n := range ns {
		v := hkNumbers.value(n)
		got, err := directory.Normalize(directory.MSISDN, v, "CN")
		if err != nil || got != v {
			t.Fatalf("seed %d: number %d = %s: normalized %q, %v", seed, n, v, got, err)
		}
		if m, dup := seen[v]; dup && m != n {
			t.Fatalf("numbers %d and %d are both %s", m, n, v)
		}
		seen[v] = n
	}
	for _, c := range []struct {
		n    uint32
		want string
	}{{0, "+85263000000"}, {2_999_999, "+85265999999"}, {3_000_000, "+85296000000"}, {hkNumbersMax - 1, "+85297999999"}} {
		if got := hkNumbers.value(c.n); got != c.want {
			t.Errorf("number %d = %s, want %s", c.n, got, c.want)
		}
	}
	if a := hkNumbers.account("+85263000000"); a != "hk-63000000" {
		t.Errorf("account %s", a)
	}
}

// TestSwitchConstants: the generator reads CNY and HKD amounts with the
// exponent it assumes, and publishes sheets within the switch's limit.
func TestSwitchConstants(t *testing.T) {
	if sheetValidityMax != fx.ValidityMax {
		t.Errorf("sheetValidityMax %s, the switch's fx.ValidityMax %s", sheetValidityMax, fx.ValidityMax)
	}
	for _, c := range []string{currency, fxCurrency} {
		if e := money.MustCurrency(c).Exponent(); e != minorDigits {
			t.Errorf("%s has exponent %d, the generator reads %d", c, e, minorDigits)
		}
	}
}

func TestParseMinor(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0.00", 0, true}, {"12.34", 1234, true}, {"108.5", 10850, true}, {"7", 700, true}, {"1000000000000.00", 100000000000000, true},
		{"", 0, false}, {".", 0, false}, {"1.", 0, false}, {"1.234", 0, false}, {"-1.00", 0, false}, {"1.2.3", 0, false},
		{"1e3", 0, false}, {"123456789012345678", 0, false},
	} {
		got, ok := parseMinor([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseMinor(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestScanPayment reads answers the switch's own types make.
func TestScanPayment(t *testing.T) {
	fx := &wire.FX{Provider: "bench-x-fx", SourceAmount: "92.17", SourceCurrency: "CNY", TargetAmount: "100.00", TargetCurrency: "HKD",
		Rate: "1.085", ProviderFee: "0.20", AmountType: "RECEIVE", Purpose: "SALA", Rounding: "0.00445"}
	tr := wire.Transfer{ID: "b1-2-3", State: "COMMITTED", Payer: "bench-x-a", Amount: "92.17", Fee: "0.11", Currency: "CNY",
		Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85263000000", Participant: "bench-x-hk"}, Note: `"fee":"9.99" }{`,
		CreatedAt: time.Now(), FX: fx}
	q := wire.Quote{ID: "q-1", Amount: "92.17", Fee: "0.11", Currency: "CNY", FX: fx}
	domestic := tr
	domestic.FX = nil
	for _, c := range []struct {
		name string
		v    any
		want payAnswer
	}{
		{"fx transfer", tr, payAnswer{id: []byte("b1-2-3"), state: []byte("COMMITTED"), amount: []byte("92.17"), fee: []byte("0.11"),
			fx: true, provider: []byte("bench-x-fx"), target: []byte("100.00"), providerFee: []byte("0.20")}},
		{"domestic transfer", domestic, payAnswer{id: []byte("b1-2-3"), state: []byte("COMMITTED"), amount: []byte("92.17"), fee: []byte("0.11")}},
		{"fx quote", q, payAnswer{id: []byte("q-1"), amount: []byte("92.17"), fee: []byte("0.11"),
			fx: true, provider: []byte("bench-x-fx"), target: []byte("100.00"), providerFee: []byte("0.20")}},
	} {
		doc, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := scanPayment(doc)
		if !ok || !samePay(got, c.want) {
			t.Errorf("%s: scanPayment(%s) = %+v, %v", c.name, doc, got, ok)
		}
		if _, ok := scanPayment(doc[:len(doc)-1]); ok {
			t.Errorf("%s: a truncated answer was read", c.name)
		}
	}
	if a, ok := scanPayment([]byte(`{"state":"COMMITTED","fx":null}`)); !ok || a.fx {
		t.Errorf("fx null: %+v %v", a, ok)
	}
}

func samePay(a, b payAnswer) bool {
	eq := func(x, y []byte) bool { return string(x) == string(y) }
	return eq(a.id, b.id) && eq(a.state, b.state) && eq(a.amount, b.amount) && eq(a.fee, b.fee) && a.fx == b.fx &&
		eq(a.provider, b.provider) && eq(a.target, b.target) && eq(a.providerFee, b.providerFee)
}

func TestIDOf(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"id":"babc-def-3-17","payee":{}}`, "babc-def-3-17"},
		{`{"payee":{}}`, ""},
		{`{"id":"unterminated`, ""},
	} {
		if got := string(idOf([]byte(c.body))); got != c.want {
			t.Errorf("idOf(%s) = %q, want %q", c.body, got, c.want)
		}
	}
}

// TestBooks adds payments to a tally and holds balances to it: the
// balances the payments explain pass, one cent off anywhere or an
// amount left reserved does not.
func TestBooks(t *testing.T) {
	f := &fleet{parties: []*party{{id: "p-a"}, {id: "p-b"}},
		fx: &fxSide{provider: &party{id: "p-fx"}, wallet: &party{id: "p-hk"}}}
	w1, w2 := &worker{books: newTally(2)}, &worker{books: newTally(2)}
	// Domestic: a pays b 10.00 with 0.11 fee; FX: b pays 100.00 + 0.11 +
	// 0.20 for 108.50 through p-fx; a pays 5.00 + 0.10 + 0.10 for 5.42
	// through another provider.
	w1.books.add(0, 1, moved{amount: 1000, fee: 11})
	w2.books.add(1, payeeHK, moved{amount: 10000, fee: 11, fx: true, target: 10850, providerFee: 20, ours: true})
	w2.books.add(0, payeeHK, moved{amount: 500, fee: 10, fx: true, target: 542, providerFee: 10})
	r := &runner{f: f, workers: []*worker{w1, w2}}
	want, payments := r.expected()
	if payments != 3 {
		t.Errorf("%d payments", payments)
	}
	k := func(id, c string) acctKey { return acctKey{id, c} }
	const deposit = 1_000_000
	before := map[acctKey]balance{
		k("p-a", "CNY"): {deposit, 0}, k("p-b", "CNY"): {deposit, 0},
		k("p-fx", "CNY"): {0, 0}, k("p-fx", "HKD"): {deposit, 0}, k("p-hk", "HKD"): {0, 0},
	}
	good := map[acctKey]balance{
		k("p-a", "CNY"):  {deposit - 1011 - 520, 0},
		k("p-b", "CNY"):  {deposit + 1000 - 10031, 0},
		k("p-fx", "CNY"): {10020, 0}, k("p-fx", "HKD"): {deposit - 10850, 0}, k("p-hk", "HKD"): {10850 + 542, 0},
	}
	if bad := compareBooks(before, good, want); len(bad) != 0 {
		t.Fatalf("balanced books refused: %v", bad)
	}
	for _, c := range []struct {
		name string
		edit func(m map[acctKey]balance)
		want string
	}{
		{"payer a cent short", func(m map[acctKey]balance) { b := m[k("p-a", "CNY")]; b.balance--; m[k("p-a", "CNY")] = b },
			"p-a's CNY moved by -15.32, its payments say -15.31"},
		{"provider kept a cent", func(m map[acctKey]balance) { b := m[k("p-fx", "HKD")]; b.balance++; m[k("p-fx", "HKD")] = b },
			"p-fx's HKD moved by -108.49, its payments say -108.50"},
		{"payee short", func(m map[acctKey]balance) { b := m[k("p-hk", "HKD")]; b.balance -= 542; m[k("p-hk", "HKD")] = b },
			"p-hk's HKD moved by 108.50, its payments say 113.92"},
		{"reserved", func(m map[acctKey]balance) { b := m[k("p-b", "CNY")]; b.reserved = 5; m[k("p-b", "CNY")] = b },
			"p-b has 0.05 CNY reserved at the end, 0.00 at the start"},
		{"no account", func(m map[acctKey]balance) { delete(m, k("p-fx", "CNY")) }, "p-fx has no CNY account"},
	} {
		after := cloneBalances(good)
		c.edit(after)
		bad := compareBooks(before, after, want)
		if len(bad) != 1 || !strings.Contains(bad[0], c.want) {
			t.Errorf("%s: %q, want one mentioning %q", c.name, bad, c.want)
		}
	}
}

func cloneBalances(m map[acctKey]balance) map[acctKey]balance {
	out := make(map[acctKey]balance, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestCrossBorderConfig: the modes whose payments are quoted are valid,
// and crossborder refuses what it cannot do.
func TestCrossBorderConfig(t *testing.T) {
	base := func(m Mode) Config {
		u, _ := CheckTarget("http://127.0.0.1:1", false)
		return Config{Target: u, Token: "t", Mode: m, Concurrency: 1, Requests: 1, Participants: 2, Aliases: 2, PayerAccounts: 10}
	}
	for _, c := range []struct {
		name string
		cfg  func() Config
		want string // "" for valid
	}{
		{"quoted", func() Config { return base(Quoted) }, ""},
		{"quoted with a fleet", func() Config { c := base(Quoted); c.Fleet = "f"; return c }, ""},
		{"crossborder", func() Config { return base(CrossBorder) }, ""},
		{"crossborder with a fleet", func() Config { c := base(CrossBorder); c.Fleet = "f"; return c }, "--fleet"},
		{"crossborder without payer accounts", func() Config { c := base(CrossBorder); c.PayerAccounts = 0; return c }, "--payer-accounts"},
	} {
		cfg := c.cfg()
		err := cfg.check()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want a refusal naming %s", c.name, err, c.want)
		}
	}
	if !slices.Contains(Modes, Quoted) || !slices.Contains(Modes, CrossBorder) {
		t.Errorf("Modes %v", Modes)
	}
}
