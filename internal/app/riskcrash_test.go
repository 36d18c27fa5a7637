package app_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// TestRiskCrash holds risk control to the ground rule "nothing
// acknowledged is lost" across a kill -9. A child process (this test
// binary again, TestRiskCrashChild) runs the switch on a data directory;
// the parent sets it up over HTTP, with a review rule that holds about
// half of the payments, a decline rule and an alert rule, sends single
// transfers from 8 workers and kills the child while they flow. It then
// restarts the switch on the same data directory, in this process, and
// checks that:
//
//   - every transfer answered HELD is HELD, and the alert that holds it
//     (the review rule's, Held) is open: it was written before the
//     answer; so is that of every transfer HELD in the ledger, answered
//     or not, since the alert is written before the reservation;
//   - every transfer answered COMMITTED is COMMITTED, and every declined
//     one does not exist;
//   - the balances are those of the transfers the ledger holds, and the
//     whole sums to zero;
//   - after the restart, releasing one held alert commits its transfer
//     and rejecting another aborts its own.
//
// What may be lost, by design: the alerts of alert rules (and the
// model's own) are written in the background after the answer, so those
// of the last payments before the kill may be missing; and a held alert
// whose payment the kill stopped before the ledger reserved it stays
// open over no transfer (a decision closes it). The test counts both and
// logs them; neither fails it.
func TestRiskCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test starts processes")
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { riskCrash(t, e.store(t)) })
	}
}

// The child's settings, from the parent.
const (
	riskCrashDirEnv   = "HULIAN_RISKCRASH_DIR"
	riskCrashStoreEnv = "HULIAN_RISKCRASH_STORE"
	riskCrashAddrEnv  = "HULIAN_RISKCRASH_ADDR"
)

// TestRiskCrashChild is the child's side; it does nothing in a normal
// run. It serves until it is killed, or until its standard input ends
// (the parent died), whichever comes first.
func TestRiskCrashChild(t *testing.T) {
	dir := os.Getenv(riskCrashDirEnv)
	if dir == "" {
		t.Skip("only runs as TestRiskCrash's child")
	}
	serveChild(t, app.Config{DataDir: dir, Store: os.Getenv(riskCrashStoreEnv), Addr: os.Getenv(riskCrashAddrEnv), AdminToken: opToken})
	fmt.Fprintln(os.Stderr, "riskcrash child: the parent went away before the kill")
	os.Exit(1)
}

// startRiskChild starts the child on dir and store and waits until it
// listens; the child is killed when the test ends, if not before.
func startRiskChild(t *testing.T, dir, store string) *crashChild {
	t.Helper()
	return startChild(t, "TestRiskCrashChild", map[string]string{riskCrashDirEnv: dir, riskCrashStoreEnv: store,
		riskCrashAddrEnv: "127.0.0.1:0"}, 0)
}

// Outcomes of a transfer as its payer was answered.
const (
	outUnanswered = "unanswered" // the kill cut the request
	outCommitted  = "COMMITTED"
	outHeld       = "HELD"
	outDeclined   = "declined"
)

// sent is a transfer the load sent, and how it was answered.
type sent struct {
	id      string
	payer   string // participant id
	amount  int64  // minor units
	outcome string
}

// The rules of the crash test, on the amount in minor units: deny (a
// decline) wins over hold (a review); watch only alerts.
const (
	denyRule  = "amount % 7 == 0"
	holdRule  = "amount % 2 == 0"
	watchRule = "amount % 3 == 0"
)

// wantOutcome is the answer the rules give an amount.
func wantOutcome(amount int64) string {
	switch {
	case amount%7 == 0:
		return outDeclined
	case amount%2 == 0:
		return outHeld
	}
	return outCommitted
}

// Deposits of the crash test's payers, in minor units: wallet-a's
// includes newRiskSwitch's 10,000.00.
const (
	depositA = 1_010_000_00
	depositC = 1_000_000_00
)

func riskCrash(t *testing.T, store string) {
	seed := uint64(time.Now().UnixNano())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 22))
	started := time.Now()
	dir := t.TempDir()

	child := startRiskChild(t, dir, store)
	s := newRiskSwitch(t, &sw{t: t, url: child.url, hc: &http.Client{Timeout: 10 * time.Second}})
	s.deposit("wallet-a", "1000000.00")
	s.deposit("wallet-c", "1000000.00")
	s.rule("deny", denyRule, "decline", "enforce")
	s.rule("hold", holdRule, "review", "enforce")
	s.rule("watch", watchRule, "alert", "enforce")
	setup := time.Since(started)

	// The load, killed while it flows.
	load := loadRiskCrash(t, child, s.a, s.c, rng)
	loaded := time.Since(started)

	// The restart: the killed child's database session may take a
	// moment to end.
	var s2 *sw
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		s2, err = openSwitch(t, app.Config{DataDir: dir, Store: store, Addr: "127.0.0.1:0", AdminToken: opToken})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restart: %v", err)
		}
	}
	t.Cleanup(s2.close)
	rs := &riskSwitch{sw: s2, a: s.a, b: s.b, c: s.c}
	if err := s2.app.Journal.Check(); err != nil {
		t.Errorf("the ledger's invariants after the restart: %v", err)
	}

	ledger := rs.payments()
	open := map[string][]wire.RiskAlert{}
	for _, a := range rs.allAlerts("&status=open") {
		open[a.TransferID] = append(open[a.TransferID], a)
	}
	counts := map[string]int{}
	var held []sent
	for _, p := range load {
		counts[p.outcome]++
		if p.outcome == outHeld {
			held = append(held, p)
		}
	}
	if counts[outHeld] < 2 || counts[outCommitted] == 0 || counts[outDeclined] == 0 {
		t.Fatalf("the load got too few answers to test: %v", counts)
	}

	// Each answer as the switch now has it, by id.
	got := rs.getEach(load)
	for _, p := range load {
		g := got[p.id]
		switch p.outcome {
		case outHeld, outCommitted:
			if g.status != 200 || g.tr.State != p.outcome {
				t.Errorf("transfer %s (%d from %s) answered %s: now %d %s %s", p.id, p.amount, p.payer, p.outcome, g.status, g.tr.State, g.body)
			}
		case outDeclined:
			if g.status != 404 {
				t.Errorf("transfer %s (%d) was declined: now %d %s", p.id, p.amount, g.status, g.body)
			}
		}
		if _, ok := ledger[p.id]; p.outcome != outUnanswered && ok != (g.status == 200) {
			t.Errorf("transfer %s: listed %v, fetched %d", p.id, ok, g.status)
		}
	}
	// Every held transfer has its open held alert: those answered HELD,
	// and those the kill cut after the reservation.
	heldInLedger, unansweredLanded := 0, 0
	byID := map[string]sent{}
	for _, p := range load {
		byID[p.id] = p
	}
	for id, tr := range ledger {
		if p := byID[id]; p.outcome == outUnanswered {
			unansweredLanded++
		}
		if tr.State != outHeld {
			continue
		}
		heldInLedger++
		if !hasHeldAlert(open[id]) {
			t.Errorf("transfer %s is HELD (answered %q) without its open held alert: %+v", id, byID[id].outcome, open[id])
		}
	}
	orphans := 0
	for id, as := range open {
		if _, ok := ledger[id]; !ok && hasHeldAlert(as) {
			orphans++
		}
	}
	watched, watchLost := 0, 0
	for _, p := range load {
		if p.outcome != outUnanswered && p.outcome != outDeclined && p.amount%3 == 0 {
			watched++
			if !hasRuleAlert(open[p.id], "watch") {
				watchLost++
			}
		}
	}
	rs.checkBalances(ledger)
	if t.Failed() {
		return
	}

	// Decisions after the restart: release the first held, reject the
	// last, answered just before the kill.
	var d wire.AlertDecided
	rel, rej := heldAlert(open[held[0].id]), heldAlert(open[held[len(held)-1].id])
	rs.ok(200, "POST", "/v1/risk/alerts/"+rel.ID+"/decision", opToken, wire.AlertDecision{Decision: "release", Note: "after the crash"}, &d)
	if d.Transfer == nil || d.Transfer.State != "COMMITTED" || d.Alert.Status != "closed" {
		t.Fatalf("release of %s after the restart: %+v %+v", rel.TransferID, d.Alert, d.Transfer)
	}
	rs.ok(200, "POST", "/v1/risk/alerts/"+rej.ID+"/decision", opToken, wire.AlertDecision{Decision: "reject", Note: "mule"}, &d)
	if d.Transfer == nil || d.Transfer.State != "ABORTED" || d.Alert.Status != "closed" {
		t.Fatalf("reject of %s after the restart: %+v %+v", rej.TransferID, d.Alert, d.Transfer)
	}
	after := rs.payments()
	if after[rel.TransferID].State != "COMMITTED" || after[rej.TransferID].State != "ABORTED" {
		t.Errorf("after the decisions: %s %+v, %s %+v", rel.TransferID, after[rel.TransferID], rej.TransferID, after[rej.TransferID])
	}
	rs.checkBalances(after)

	t.Logf("seed %d: answers %v; %d unanswered landed in the ledger, %d held in all; %d held alerts over no transfer; "+
		"%d of %d watch alerts lost; setup %v, load %v, all %v", seed, counts, unansweredLanded, heldInLedger, orphans,
		watchLost, watched, setup.Round(time.Millisecond), (loaded - setup).Round(time.Millisecond),
		time.Since(started).Round(time.Millisecond))
}

// loadRiskCrash sends single transfers to wallet-b's alias from 8
// workers, half paying from wallet-a and half from wallet-c, kills the
// child 1 to 1.5 s after the first answer, and returns what was sent.
func loadRiskCrash(t *testing.T, child *crashChild, keyA, keyC string, rng *rand.Rand) []sent {
	t.Helper()
	const workers = 8
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer hc.CloseIdleConnections()
	kill := time.Duration(1000+rng.IntN(500)) * time.Millisecond
	seeds := make([]uint64, workers)
	for w := range seeds {
		seeds[w] = rng.Uint64()
	}
	var (
		mu     sync.Mutex
		all    []sent
		errs   []string
		first  = make(chan struct{})
		once   sync.Once
		wg     sync.WaitGroup
		killed = make(chan struct{})
	)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seeds[w], uint64(w)))
			payer, key := "wallet-a", keyA
			if w%2 == 1 {
				payer, key = "wallet-c", keyC
			}
			for n := 0; ; n++ {
				select {
				case <-killed:
					return
				default:
				}
				p := sent{id: fmt.Sprintf("k%d-%d", w, n), payer: payer, amount: 100 + r.Int64N(9900), outcome: outUnanswered}
				status, body, err := post(hc, child.url+"/v1/transfers", key,
					pay(p.id, "MSISDN", "+8613800138000", money.FormatDecimal(p.amount, 2)))
				var bad string
				switch {
				case err != nil:
					// The kill cut it; so are all that follow.
				case status == 201:
					var tr wire.Transfer
					if json.Unmarshal(body, &tr) != nil || tr.State != outCommitted && tr.State != outHeld {
						bad = fmt.Sprintf("%s: 201 %s", p.id, body)
					}
					p.outcome = tr.State
				case status == 422:
					var pr wire.Problem
					if json.Unmarshal(body, &pr) != nil || pr.Rule != "deny" {
						bad = fmt.Sprintf("%s: 422 %s", p.id, body)
					}
					p.outcome = outDeclined
				default:
					bad = fmt.Sprintf("%s: %d %s", p.id, status, body)
				}
				if bad == "" && p.outcome != outUnanswered && p.outcome != wantOutcome(p.amount) {
					bad = fmt.Sprintf("%s: amount %d answered %s, the rules say %s", p.id, p.amount, p.outcome, wantOutcome(p.amount))
				}
				mu.Lock()
				all = append(all, p)
				if bad != "" {
					errs = append(errs, bad)
				}
				mu.Unlock()
				if err != nil {
					return
				}
				once.Do(func() { close(first) })
			}
		})
	}
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		t.Fatal("no transfer answered within 30 s")
	}
	time.Sleep(kill)
	child.kill()
	close(killed)
	wg.Wait()
	for _, e := range errs {
		t.Errorf("an unexpected answer: %s", e)
	}
	return all
}

// post sends a transfer; err is the transport's (the kill's).
func post(hc *http.Client, u, token string, body any) (int, []byte, error) {
	enc, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest("POST", u, bytes.NewReader(enc))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	r, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return r.StatusCode, b, err
}

// payments lists every transfer of the crash test's payers, by id.
func (s *riskSwitch) payments() map[string]wire.Transfer {
	s.t.Helper()
	out := map[string]wire.Transfer{}
	for _, participant := range []string{"wallet-a", "wallet-c"} {
		for since := ""; ; {
			var page wire.Transfers
			s.ok(200, "GET", "/v1/transfers?limit=1000&participant="+participant+"&since="+url.QueryEscape(since), opToken, nil, &page)
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

// allAlerts lists every alert the operator sees, through every page.
func (s *riskSwitch) allAlerts(query string) []wire.RiskAlert {
	s.t.Helper()
	var out []wire.RiskAlert
	for since := "0"; ; {
		var page wire.RiskAlerts
		s.ok(200, "GET", "/v1/risk/alerts?limit=1000&since="+since+query, opToken, nil, &page)
		out = append(out, page.Alerts...)
		if page.Next == "" {
			return out
		}
		since = page.Next
	}
}

// fetched is one GET /v1/transfers/{id}.
type fetched struct {
	status int
	body   []byte
	tr     wire.Transfer
}

// getEach fetches each transfer that was answered, as its payer, from 8
// goroutines.
func (s *riskSwitch) getEach(load []sent) map[string]fetched {
	s.t.Helper()
	keys := map[string]string{"wallet-a": s.a, "wallet-c": s.c}
	jobs := make(chan sent)
	var mu sync.Mutex
	out := map[string]fetched{}
	var errs []error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for p := range jobs {
				req, err := http.NewRequest("GET", s.url+"/v1/transfers/"+p.id, nil)
				if err != nil {
					panic(err)
				}
				req.Header.Set("Authorization", "Bearer "+keys[p.payer])
				var f fetched
				r, err := s.hc.Do(req)
				if err == nil {
					f.status = r.StatusCode
					f.body, err = io.ReadAll(r.Body)
					r.Body.Close()
				}
				if err == nil && f.status == 200 {
					err = json.Unmarshal(f.body, &f.tr)
				}
				mu.Lock()
				out[p.id] = f
				if err != nil {
					errs = append(errs, fmt.Errorf("GET /v1/transfers/%s: %w", p.id, err))
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range load {
		if p.outcome != outUnanswered {
			jobs <- p
		}
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// checkBalances holds the accounts to the transfers the ledger holds:
// each payer's balance is its deposit less what it committed (amounts
// and fees), its reserve what is held; the payee's balance is what it
// was paid, the hub's revenue the fees, and everything sums to zero.
func (s *riskSwitch) checkBalances(ledger map[string]wire.Transfer) {
	s.t.Helper()
	cny := money.MustCurrency("CNY")
	amt := func(what, v string) int64 {
		a, err := money.Parse(v, cny)
		if err != nil {
			s.t.Fatalf("%s %q: %v", what, v, err)
		}
		return int64(a)
	}
	wantBal := map[string]int64{"wallet-a": depositA, "wallet-b": 0, "wallet-c": depositC}
	wantRes := map[string]int64{}
	var fees int64
	for id, tr := range ledger {
		a, fee := amt(id+" amount", tr.Amount), amt(id+" fee", tr.Fee)
		switch tr.State {
		case "COMMITTED":
			wantBal[tr.Payer] -= a + fee
			wantBal[tr.Payee.Participant] += a
			fees += fee
		case "HELD":
			wantRes[tr.Payer] += a + fee
		case "ABORTED":
		default:
			s.t.Errorf("transfer %s in state %s", id, tr.State)
		}
	}
	var sum int64
	for _, p := range []struct{ id, key string }{{"wallet-a", s.a}, {"wallet-b", s.b}, {"wallet-c", s.c}} {
		b := s.balance(p.key, p.id)
		bal, res, avail := amt(p.id+" balance", b.Balance), amt(p.id+" reserved", b.Reserved), amt(p.id+" available", b.Available)
		if bal != wantBal[p.id] || res != wantRes[p.id] || avail != bal-res {
			s.t.Errorf("%s: balance %s reserved %s available %s; the ledger's transfers make balance %s reserved %s", p.id,
				b.Balance, b.Reserved, b.Available, money.FormatDecimal(wantBal[p.id], 2), money.FormatDecimal(wantRes[p.id], 2))
		}
		sum += bal
	}
	h := s.hub()
	if rev := amt("fee revenue", h.FeeRevenue); rev != fees {
		s.t.Errorf("fee revenue %s, the committed transfers' fees %s", h.FeeRevenue, money.FormatDecimal(fees, 2))
	}
	if sum += amt("fee revenue", h.FeeRevenue) + amt("settlement bank", h.SettlementBank); sum != 0 {
		s.t.Errorf("the accounts sum to %s, not zero (hub %+v)", money.FormatDecimal(sum, 2), h)
	}
}

// hasHeldAlert reports whether as holds the hold rule's held alert.
func hasHeldAlert(as []wire.RiskAlert) bool { return heldAlert(as).ID != "" }

// heldAlert returns the hold rule's held alert among as.
func heldAlert(as []wire.RiskAlert) wire.RiskAlert {
	for _, a := range as {
		if a.Held && a.Rule == "hold" && a.Action == "review" {
			return a
		}
	}
	return wire.RiskAlert{}
}

// hasRuleAlert reports whether as holds an alert of rule.
func hasRuleAlert(as []wire.RiskAlert, rule string) bool {
	for _, a := range as {
		if a.Rule == rule {
			return true
		}
	}
	return false
}
