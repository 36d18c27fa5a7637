package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// TestFXCrash holds FX payments and the annual FX quota to the ground
// rule "nothing acknowledged is lost" across kill -9. A child process
// (this test binary again, TestFXCrashChild) runs the switch with a quota
// of 1,000.00 HKD per payer account; the parent sets it up over HTTP (two
// CNY wallets, an FX provider holding 5,000.00 HKD, an HKD wallet, a
// CNY → HKD sheet) and sends FX payments from fxWorkers workers, each a
// quote then a transfer, from eight payer accounts: four hot ones, first,
// asking more than their quota, then four cold ones, asking more than
// the provider has left; some quotes are paid twice at once by two
// transfer ids. The first child sends a few and stops cleanly, which
// saves the quota's count; a second child on the same data takes the
// load from there and is killed after a seeded number of
// acknowledgements. The parent restarts the switch in this process on
// the same data (the saved count, then the journal's tail replayed) and
// checks that:
//
//   - every acknowledged transfer is COMMITTED with its fx object as
//     quoted; every refused one (fx-quota-exceeded,
//     fx-provider-insufficient-funds, quote-used) does not exist; every
//     transfer is one the test made, and a quote paid at most one;
//   - the balances per currency are the sums of the committed transfers'
//     legs, nothing is reserved, and each currency sums to zero with the
//     hub's fee and settlement bank accounts;
//   - what each payer account used of its quota after the restart is the
//     sum of its committed payments' target amounts, never more than the
//     quota: a quote naming the account for exactly the rest is given,
//     one for a minor unit more is refused.
//
// It then sends what the kill cut and the rest of the load to the
// restarted switch, until the provider runs short, and checks all again.
func TestFXCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test starts processes")
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fxCrash(t, e.store(t)) })
	}
}

// The child's settings, from the parent.
const (
	fxCrashDirEnv   = "HULIAN_FXCRASH_DIR"
	fxCrashStoreEnv = "HULIAN_FXCRASH_STORE"
)

// TestFXCrashChild is the child's side; it does nothing in a normal run.
// It serves until it is killed, or until its standard input ends (the
// parent died).
func TestFXCrashChild(t *testing.T) {
	dir := os.Getenv(fxCrashDirEnv)
	if dir == "" {
		t.Skip("only runs as TestFXCrash's child")
	}
	a := serveChild(t, fxCrashConfig(t, dir, os.Getenv(fxCrashStoreEnv)))
	// The parent closed the input (or died): a clean stop, which saves
	// the quota's count for the next start to load.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "fxcrash child: close:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// stopFXChild stops the child cleanly: it closes the switch when its
// input ends.
func stopFXChild(t *testing.T, c *crashChild) {
	t.Helper()
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not stop within 30 s")
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("the child's clean stop: %v", err)
	}
}

// The crash test's figures, in minor units.
const (
	fxCrashQuota     = 1000_00   // HKD per payer account and year
	fxCrashLiquidity = 5000_00   // the provider's HKD
	fxCrashDeposit   = 100000_00 // each payer's CNY
	fxWorkers        = 6
)

// fxCrashConfig is the switch's configuration, in the child and after
// the restart alike.
func fxCrashConfig(t *testing.T, dir, store string) app.Config {
	q, err := fx.ParseQuota(money.FormatDecimal(fxCrashQuota, 2) + "HKD")
	if err != nil {
		t.Fatal(err)
	}
	return app.Config{DataDir: dir, Store: store, Addr: "127.0.0.1:0", AdminToken: opToken, FXAnnualQuota: q}
}

// startFXChild starts a child on dir and store and waits until it
// listens, retrying for a while when it ends first. The child is killed
// when the test ends, if not before.
func startFXChild(t *testing.T, dir, store string) *crashChild {
	t.Helper()
	return startChild(t, "TestFXCrashChild", map[string]string{fxCrashDirEnv: dir, fxCrashStoreEnv: store}, 20*time.Second)
}

// fxPayer is a payer account: a CNY wallet and its user's reference.
type fxPayer struct {
	participant, account string
}

// The payer accounts: the same references at both wallets, which are
// different accounts. The hot ones ask more than their quota.
var (
	fxHot  = []fxPayer{{"wallet-a", "u0"}, {"wallet-a", "u1"}, {"wallet-c", "u0"}, {"wallet-c", "u1"}}
	fxCold = []fxPayer{{"wallet-a", "u2"}, {"wallet-a", "u3"}, {"wallet-c", "u2"}, {"wallet-c", "u3"}}
)

// The crash test's HKD payee's alias.
const fxCrashPayee = "+85291234567"

// fxOp is one FX payment of the load (a quote, then a transfer), and how
// it was answered.
type fxOp struct {
	id    string
	payer fxPayer
	key   string // the payer's API key
	mode  string // the quote's amountType
	// amount is what the quote asks, in minor units: CNY for SEND, HKD
	// for RECEIVE.
	amount int64
	// named says the quote names the payer account (then the quote may be
	// refused over the quota already).
	named bool
	// twin, if set, pays the same quote under another id, at the same
	// time.
	twin *fxOp

	quote   wire.Quote
	sent    bool // the transfer was sent (before the kill or after)
	status  int  // the last answer, to the quote if refused, else to the transfer; 0: none
	resp    []byte
	onQuote bool // the answer is the quote's refusal
	after   bool // answered after the restart
}

// answered reports whether op has its answer.
func (op *fxOp) answered() bool { return op.status != 0 }

// acked reports whether op's transfer was acknowledged.
func (op *fxOp) acked() bool { return !op.onQuote && (op.status == 200 || op.status == 201) }

// refusal returns the problem type's name of a refusal, "" for none.
func (op *fxOp) refusal() string {
	var pr wire.Problem
	if op.status < 400 || json.Unmarshal(op.resp, &pr) != nil {
		return ""
	}
	return strings.TrimPrefix(pr.Type, wire.ProblemBase)
}

func (op *fxOp) String() string {
	unit := "CNY"
	if op.mode == "RECEIVE" {
		unit = "HKD"
	}
	return fmt.Sprintf("%s (%s %s %s %s, quote named %v): %d %s, after the restart %v", op.id, op.payer.participant, op.payer.account,
		op.mode, money.FormatDecimal(op.amount, 2)+" "+unit, op.named, op.status, op.resp, op.after)
}

// check returns what is wrong with op's answer, if anything.
func (op *fxOp) check() string {
	if !op.answered() {
		return "no answer"
	}
	if op.onQuote {
		if op.status == 422 && op.refusal() == "fx-quota-exceeded" && op.named {
			return ""
		}
		return "an unexpected answer to the quote"
	}
	if op.acked() {
		var tr wire.Transfer
		if json.Unmarshal(op.resp, &tr) != nil || tr.ID != op.id || tr.State != "COMMITTED" || tr.FX == nil ||
			tr.FX.TargetAmount != op.quote.FX.TargetAmount || tr.Amount != op.quote.Amount {
			return "an acknowledgement that is not the COMMITTED transfer as quoted"
		}
		return ""
	}
	switch name := op.refusal(); {
	case op.status != 422:
	case name == "fx-quota-exceeded", name == "fx-provider-insufficient-funds", name == "quote-used":
		return ""
	case name == "quote-expired" && op.after:
		return "" // a quote of before the kill, paid after a slow restart
	}
	return "an unexpected answer to the transfer"
}

// fxOps makes the load: 12 payments of 100.00 to 200.00 HKD for each hot
// account, in a seeded order, then 8 of 80.00 to 160.00 HKD for each cold
// one, each asked as what the payee gets (RECEIVE) or, converted, as
// what the payer sends (SEND); one in six has a twin.
func fxOps(rng *rand.Rand, keys map[string]string) []*fxOp {
	var ops []*fxOp
	n := 0
	for _, phase := range []struct {
		payers   []fxPayer
		each     int
		min, max int64 // HKD
	}{{fxHot, 12, 100_00, 200_00}, {fxCold, 8, 80_00, 160_00}} {
		var part []*fxOp
		for _, p := range phase.payers {
			for range phase.each {
				op := &fxOp{id: fmt.Sprintf("fx-%d", n), payer: p, key: keys[p.participant], mode: "RECEIVE",
					amount: phase.min + rng.Int64N(phase.max-phase.min+1), named: rng.IntN(2) == 0}
				n++
				if rng.IntN(2) == 0 {
					op.mode, op.amount = "SEND", op.amount*1000/1085
				}
				if rng.IntN(6) == 0 {
					op.twin = &fxOp{id: fmt.Sprintf("fx-%d", n), payer: p, key: op.key, mode: op.mode, amount: op.amount, named: op.named}
					n++
				}
				part = append(part, op)
			}
		}
		rng.Shuffle(len(part), func(i, j int) { part[i], part[j] = part[j], part[i] })
		ops = append(ops, part...)
	}
	return ops
}

// transfer is op's transfer.
func (op *fxOp) transfer() wire.NewTransfer {
	return wire.NewTransfer{ID: op.id, Payee: wire.PayeeRef{Type: "MSISDN", Value: fxCrashPayee}, Amount: op.quote.Amount,
		Currency: op.quote.Currency, QuoteID: op.quote.ID, Purpose: "SUPP", PayerAccount: op.payer.account}
}

// run sends op, and its twin, to base until each has an answer; false
// when the transport failed (the kill). acks counts the transfers
// acknowledged.
func (op *fxOp) run(hc *http.Client, base string, after bool, acks *atomic.Int64) bool {
	if op.quote.ID == "" && !op.onQuote {
		account := ""
		if op.named {
			account = op.payer.account
		}
		status, body, err := post(hc, base+"/v1/quotes", op.key, quoteReq(fxCrashPayee, money.FormatDecimal(op.amount, 2), op.mode, account))
		if err != nil {
			return false
		}
		if status != 201 || json.Unmarshal(body, &op.quote) != nil || op.quote.FX == nil {
			op.status, op.resp, op.onQuote, op.after = status, body, true, after
			if op.twin != nil {
				op.twin.status, op.twin.resp, op.twin.onQuote, op.twin.after = status, body, true, after
			}
			return true
		}
		if op.twin != nil {
			op.twin.quote = op.quote
		}
	}
	var wg sync.WaitGroup
	twinOK, ok := true, true
	if tw := op.twin; tw != nil && !tw.answered() {
		wg.Go(func() { twinOK = tw.send(hc, base, after, acks) })
	}
	if !op.answered() {
		ok = op.send(hc, base, after, acks)
	}
	wg.Wait()
	return ok && twinOK
}

// send sends op's transfer; false when the transport failed.
func (op *fxOp) send(hc *http.Client, base string, after bool, acks *atomic.Int64) bool {
	op.sent = true
	status, body, err := post(hc, base+"/v1/transfers", op.key, op.transfer())
	if err != nil {
		return false
	}
	op.status, op.resp, op.after = status, body, after
	if op.acked() {
		acks.Add(1)
	}
	return true
}

// runFX sends ops from fxWorkers workers to base, in order, each op after
// the one before it was taken; once acks reaches killAt (if positive),
// kill is called and the workers stop taking ops.
func runFX(ops []*fxOp, base string, after bool, killAt int64, kill func()) (acks int64) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * fxWorkers}}
	defer hc.CloseIdleConnections()
	var (
		next   atomic.Int64
		count  atomic.Int64
		killed atomic.Bool
		once   sync.Once
		wg     sync.WaitGroup
	)
	for range fxWorkers {
		wg.Go(func() {
			for !killed.Load() {
				i := next.Add(1) - 1
				if i >= int64(len(ops)) {
					return
				}
				if !ops[i].run(hc, base, after, &count) {
					return // the kill cut it
				}
				if killAt > 0 && count.Load() >= killAt {
					once.Do(func() {
						killed.Store(true)
						kill()
					})
				}
			}
		})
	}
	wg.Wait()
	return count.Load()
}

// fxCrashSetUp makes the participants, the deposits, the payee's alias,
// the scheme fee and the provider's sheet, and returns the API keys.
func fxCrashSetUp(s *sw) map[string]string {
	s.t.Helper()
	keys := map[string]string{}
	keys["wallet-a"], _ = s.participant("wallet-a", nil)
	keys["wallet-c"], _ = s.participant("wallet-c", nil)
	keys["fx-one"], _ = s.participant("fx-one", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
	keys["wallet-h"], _ = s.participant("wallet-h", func(n *wire.NewParticipant) { n.Currencies = []string{"HKD"} })
	s.deposit("wallet-a", money.FormatDecimal(fxCrashDeposit, 2))
	s.deposit("wallet-c", money.FormatDecimal(fxCrashDeposit, 2))
	s.ok(201, "POST", "/v1/participants/fx-one/funds", opToken, wire.Funds{Currency: "HKD", Amount: money.FormatDecimal(fxCrashLiquidity, 2),
		Direction: "deposit"}, nil)
	s.ok(201, "POST", "/v1/parties", keys["wallet-h"], wire.NewParty{Type: "MSISDN", Value: fxCrashPayee, Name: "Wing Chan", Account: "hk-1",
		Currency: "HKD"}, nil)
	s.ok(200, "PUT", "/v1/fees/CNY", opToken, wire.Fees{Fixed: "0.20", Rate: "0", Min: "0.00", Max: "0.00"}, nil)
	s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", keys["fx-one"], wire.NewFXRate{Rate: "1.085", ValidUntil: time.Now().Add(time.Hour).UTC(),
		Fee: &wire.FXFee{Fixed: "0.10", BPS: 10}}, nil)
	return keys
}

func fxCrash(t *testing.T, store string) {
	seed := uint64(time.Now().UnixNano())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 17))
	started := time.Now()
	dir := t.TempDir()

	// The first child: the set-up and the first ops, then a clean stop,
	// which saves the quota's count.
	child := startFXChild(t, dir, store)
	s := &sw{t: t, url: child.url, hc: &http.Client{Timeout: 10 * time.Second}}
	keys := fxCrashSetUp(s)
	ops := fxOps(rng, keys)
	all := ops
	for _, op := range ops {
		if op.twin != nil {
			all = append(all, op.twin)
		}
	}
	first := len(fxHot) * 2 // a few ops of each hot account, on average
	early := runFX(ops[:first], child.url, false, 0, nil)
	stopFXChild(t, child)
	setup := time.Since(started)

	// The second child: the load from there on, killed after a seeded
	// number of acknowledgements; the restart loads the saved count and
	// replays the journal's tail after it.
	child = startFXChild(t, dir, store)
	killAt := int64(4 + rng.IntN(24))
	before := runFX(ops[first:], child.url, false, killAt, child.kill)
	child.kill() // if the load ended first
	load := time.Since(started) - setup

	// The restart, in this process: the killed child's database session
	// may take a moment to end.
	var s2 *sw
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if s2, err = openSwitch(t, fxCrashConfig(t, dir, store)); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("restart: %v", err)
		}
	}
	t.Cleanup(s2.close)
	if err := s2.app.Journal.Check(); err != nil {
		t.Errorf("the ledger's invariants after the restart: %v", err)
	}
	cut, landed := 0, 0
	for _, op := range all {
		if op.sent && !op.answered() {
			cut++
			if status, _ := getTransfer(s2, op.id, op.key); status == 200 {
				landed++
			}
		}
	}
	checkFX(s2, keys, all, "after the restart", false)
	if t.Failed() {
		return
	}

	// What the kill cut, again, and the rest of the load.
	var rest []*fxOp
	for _, op := range ops {
		if !op.answered() || op.twin != nil && !op.twin.answered() {
			rest = append(rest, op)
		}
	}
	runFX(rest, s2.url, true, 0, nil)
	checkFX(s2, keys, all, "at the end", true)

	counts := map[string]int{}
	for _, op := range all {
		what := "acknowledged"
		switch {
		case op.onQuote:
			what = "quote " + op.refusal()
		case !op.acked():
			what = op.refusal()
		}
		if op.after {
			what += " after the restart"
		}
		counts[what]++
	}
	if counts["fx-quota-exceeded"]+counts["fx-quota-exceeded after the restart"]+counts["quote fx-quota-exceeded"]+
		counts["quote fx-quota-exceeded after the restart"] == 0 ||
		counts["fx-provider-insufficient-funds"]+counts["fx-provider-insufficient-funds after the restart"] == 0 {
		t.Errorf("the load did not reach both a quota and the provider's end: %v", counts)
	}
	t.Logf("seed %d: %d acknowledged before the clean stop; kill after %d acknowledgements (%d before it), %d transfers cut by it, "+
		"%d of them landed; %v; setup %v, load %v, all %v", seed, early, killAt, before, cut, landed, counts,
		setup.Round(time.Millisecond), load.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// minor reads a decimal amount of cur.
func minor(t *testing.T, what, v, cur string) int64 {
	t.Helper()
	if v == "" {
		return 0
	}
	a, err := money.Parse(v, money.MustCurrency(cur))
	if err != nil {
		t.Fatalf("%s %q: %v", what, v, err)
	}
	return int64(a)
}

// fxLedger lists every transfer of the crash test's payers, by id.
func fxLedger(s *sw) map[string]wire.Transfer {
	s.t.Helper()
	out := map[string]wire.Transfer{}
	for _, p := range []string{"wallet-a", "wallet-c"} {
		for since := ""; ; {
			var page wire.Transfers
			s.ok(200, "GET", "/v1/transfers?limit=1000&participant="+p+"&since="+url.QueryEscape(since), opToken, nil, &page)
			for _, tr := range page.Transfers {
				out[tr.ID] = tr
			}
			if page.Next == "" {
				break
			}
			since = page.Next
		}
	}
	return out
}

// checkFX holds the switch to the answers of ops (see TestFXCrash); when
// final, every op must have been answered.
func checkFX(s *sw, keys map[string]string, ops []*fxOp, when string, final bool) {
	s.t.Helper()
	t := s.t
	ledger := fxLedger(s)
	byID := map[string]*fxOp{}
	for _, op := range ops {
		byID[op.id] = op
		tr, in := ledger[op.id]
		switch {
		case op.acked():
			if bad := op.check(); bad != "" {
				t.Errorf("%s: %s: %s", when, bad, op)
			} else if !in || tr.State != "COMMITTED" || tr.FX == nil || *tr.FX != fxWant(op) || tr.PayerAccount != op.payer.account {
				t.Errorf("%s: acknowledged %s is now %v %+v %+v", when, op, in, tr, tr.FX)
			}
		case op.answered():
			if bad := op.check(); bad != "" {
				t.Errorf("%s: %s: %s", when, bad, op)
			}
			if status, got := getTransfer(s, op.id, op.key); in || status != 404 {
				t.Errorf("%s: refused %s exists: %d %+v", when, op, status, got)
			}
		case final:
			t.Errorf("%s: %s was never answered", when, op)
		case !op.sent && in:
			t.Errorf("%s: %s was never sent, yet exists: %+v", when, op, tr)
		}
	}
	// The ledger's transfers: ours, committed, one per quote.
	type line struct{ participant, currency string }
	want := map[line]int64{{"wallet-a", "CNY"}: fxCrashDeposit, {"wallet-c", "CNY"}: fxCrashDeposit, {"fx-one", "HKD"}: fxCrashLiquidity}
	var fees int64
	used := map[fxPayer]int64{}
	quotes := map[string]string{}
	for id, tr := range ledger {
		op := byID[id]
		if op == nil || tr.State != "COMMITTED" || tr.FX == nil {
			t.Errorf("%s: a transfer the test did not make, or not COMMITTED with fx: %+v %+v", when, tr, tr.FX)
			continue
		}
		if other, ok := quotes[op.quote.ID]; ok {
			t.Errorf("%s: the quote of %s paid twice: by %s and %s", when, op, other, id)
		}
		quotes[op.quote.ID] = id
		source, fee := minor(t, id, tr.Amount, "CNY"), minor(t, id+" fee", tr.Fee, "CNY")
		pfee, target := minor(t, id+" provider fee", tr.FX.ProviderFee, "CNY"), minor(t, id+" target", tr.FX.TargetAmount, "HKD")
		want[line{tr.Payer, "CNY"}] -= source + fee + pfee
		want[line{"fx-one", "CNY"}] += source + pfee
		want[line{"fx-one", "HKD"}] -= target
		want[line{"wallet-h", "HKD"}] += target
		fees += fee
		used[op.payer] += target
	}
	sums := map[string]int64{}
	for _, p := range []string{"wallet-a", "wallet-c", "fx-one", "wallet-h"} {
		var as wire.Accounts
		s.ok(200, "GET", "/v1/participants/"+p+"/accounts", opToken, nil, &as)
		for _, a := range as.Accounts {
			l := line{p, a.Currency}
			bal := minor(t, p+" balance", a.Balance, a.Currency)
			if bal != want[l] || a.Reserved != "0.00" || a.Available != a.Balance {
				t.Errorf("%s: %s %s: balance %s reserved %s available %s; the ledger's transfers make balance %s", when, p, a.Currency,
					a.Balance, a.Reserved, a.Available, money.FormatDecimal(want[l], 2))
			}
			sums[a.Currency] += bal
		}
	}
	var hub wire.HubAccounts
	s.ok(200, "GET", "/v1/hub/accounts", opToken, nil, &hub)
	for _, h := range hub.Accounts {
		rev := minor(t, "fee revenue", h.FeeRevenue, h.Currency)
		if h.Currency == "CNY" && rev != fees || h.Currency != "CNY" && rev != 0 {
			t.Errorf("%s: %s fee revenue %s, the committed transfers' fees %s", when, h.Currency, h.FeeRevenue, money.FormatDecimal(fees, 2))
		}
		sums[h.Currency] += rev + minor(t, "settlement bank", h.SettlementBank, h.Currency)
	}
	for _, c := range []string{"CNY", "HKD"} {
		if sums[c] != 0 {
			t.Errorf("%s: the %s accounts sum to %s, not zero (hub %+v)", when, c, money.FormatDecimal(sums[c], 2), hub.Accounts)
		}
	}

	// What each account used of its quota, as the switch counts it.
	for _, p := range append(append([]fxPayer(nil), fxHot...), fxCold...) {
		key := keys[p.participant]
		rest := fxCrashQuota - used[p]
		if rest < 0 {
			t.Errorf("%s: %s %s paid %s HKD, over its quota", when, p.participant, p.account, money.FormatDecimal(used[p], 2))
			continue
		}
		if rest > 0 {
			if r := s.do("POST", "/v1/quotes", key, quoteReq(fxCrashPayee, money.FormatDecimal(rest, 2), "RECEIVE", p.account)); r.status != 201 {
				t.Errorf("%s: %s %s paid %s HKD: a quote for the rest, %s, refused: %d %s", when, p.participant, p.account,
					money.FormatDecimal(used[p], 2), money.FormatDecimal(rest, 2), r.status, r.body)
			}
		}
		r := s.do("POST", "/v1/quotes", key, quoteReq(fxCrashPayee, money.FormatDecimal(rest+1, 2), "RECEIVE", p.account))
		var pr wire.Problem
		if r.status != 422 || json.Unmarshal(r.body, &pr) != nil || pr.Type != wire.ProblemBase+"fx-quota-exceeded" {
			t.Errorf("%s: %s %s paid %s HKD: a quote for a minor unit more than the rest, %s: %d %s", when, p.participant, p.account,
				money.FormatDecimal(used[p], 2), money.FormatDecimal(rest+1, 2), r.status, r.body)
		}
	}
}

// fxWant is the fx object of op's transfer: its quote's, with its purpose.
func fxWant(op *fxOp) wire.FX {
	f := *op.quote.FX
	f.Purpose = "SUPP"
	return f
}
