package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/mandate"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// TestExperiencesCrash holds issue 16's payment experiences to the ground
// rule "nothing acknowledged is lost" across kill -9. A child process
// (this test binary again, TestExperiencesCrashChild) runs the switch on
// a data directory (and database); the parent sets it up over HTTP:
// payments to refund, requests to pay, dynamic merchant QR codes and two
// scheduled mandates already due. It approves the first mandate and kills
// the child at once; it starts a second child on the same data, waits
// for its start-up sweep to execute that mandate, approves the second,
// and sends from expWorkers workers, in groups that race on purpose:
//
//   - refunds of a payment in three parts that together exceed it, all
//     three at once (two of them at most can fit);
//   - accepts of a request to pay, half of them raced by a second accept
//     of the same request with another transfer id;
//   - payments of a dynamic QR code by two payers at once, with
//     different transfer ids;
//
// and kills the child after a seeded number of acknowledged answers. It
// restarts the switch in this process on the same data, sweeps the
// mandates once more, sends again every request that was not answered
// (same ids, again in racing groups) and checks that:
//
//   - every acknowledged refund exists, COMMITTED, with its amount; every
//     refused one does not; a payment's "refunded" is the sum of its
//     acknowledged refunds, equals the refunds in the ledger, and never
//     exceeds the payment;
//   - every request is PAID by exactly one COMMITTED transfer of its
//     amount, the one whose accept was answered PAID; the racing accept
//     was refused and its transfer does not exist;
//   - every dynamic code is paid by exactly one COMMITTED transfer, the
//     one answered 201; the other payer was refused and not paid;
//   - each mandate has exactly one execution, its transfer
//     mandate:<id>:<period start> COMMITTED, and its payer was debited
//     once;
//   - every transfer in the ledger is one the test made, the balances
//     are those of the transfers, everything sums to zero, and the
//     journal's invariants hold.
func TestExperiencesCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test starts processes")
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { experiencesCrash(t, e.store(t)) })
	}
}

// The child's settings, from the parent.
const (
	expCrashDirEnv   = "HULIAN_EXPCRASH_DIR"
	expCrashStoreEnv = "HULIAN_EXPCRASH_STORE"
)

// TestExperiencesCrashChild is the child's side; it does nothing in a
// normal run. It serves until it is killed, or until its standard input
// ends (the parent died).
func TestExperiencesCrashChild(t *testing.T) {
	dir := os.Getenv(expCrashDirEnv)
	if dir == "" {
		t.Skip("only runs as TestExperiencesCrash's child")
	}
	serveChild(t, expCrashConfig(dir, os.Getenv(expCrashStoreEnv)))
	fmt.Fprintln(os.Stderr, "expcrash child: the parent went away before the kill")
	os.Exit(1)
}

// expCrashConfig is the switch's configuration, in the children and after
// the restart alike.
func expCrashConfig(dir, store string) app.Config {
	return app.Config{DataDir: dir, Store: store, Addr: "127.0.0.1:0", AdminToken: opToken}
}

// startExpChild starts a child on dir and store and waits until it
// listens, retrying for a while when it ends first (a killed child's
// database session may take a moment to end). The child is killed when
// the test ends, if not before.
func startExpChild(t *testing.T, dir, store string) *crashChild {
	t.Helper()
	return startChild(t, "TestExperiencesCrashChild", map[string]string{expCrashDirEnv: dir, expCrashStoreEnv: store}, 20*time.Second)
}

// The sizes of the load.
const (
	expPayments = 60 // payments of 100.00, each refunded in three parts
	expAliases  = 12 // payer aliases of requests to pay (a request limit is per alias)
	expRequests = 96 // requests to pay, expRequests/expAliases per alias
	expCodes    = 60 // dynamic QR codes
	expWorkers  = 8
)

// The crash test's deposits, in minor units.
var expDeposits = map[string]int64{"wallet-a": 1_000_000_00, "wallet-c": 1_000_000_00, "wallet-d": 1_000_00}

// expParticipants are the crash test's participants: payers a and c,
// payee, merchant and requester b, mandate payer d and biller e.
var expParticipants = []string{"wallet-a", "wallet-b", "wallet-c", "wallet-d", "biller-e"}

// The kinds of operation of the load.
const (
	kindRefund = "refund"
	kindAccept = "accept"
	kindQR     = "qr"
)

// expOp is one operation of the load and how it was answered.
type expOp struct {
	kind   string
	group  int    // the operations of a group are sent together
	on     string // the payment refunded, the request accepted, the code paid
	id     string // the refund's or payment's transfer id
	amount int64  // minor units
	payer  string // the participant whose payment it is
	path   string
	token  string
	body   any

	sent   bool // sent before the kill
	status int  // 0: never answered
	resp   []byte
	after  bool // answered after the restart
	tries5 int  // 5xx answers tried again
}

// answered reports whether op has its final answer.
func (op *expOp) answered() bool { return op.status != 0 }

// acked reports whether op was acknowledged: paid, accepted, refunded.
func (op *expOp) acked() bool { return op.status == 200 || op.status == 201 }

func (op *expOp) String() string {
	when := "before the kill"
	if op.after {
		when = "after the restart"
	}
	return fmt.Sprintf("%s %s of %s (%s, by %s): %d %s %s", op.kind, op.id, op.on, money.FormatDecimal(op.amount, 2), op.payer,
		op.status, op.resp, when)
}

// check returns what is wrong with op's final answer, if anything: each
// kind has one acknowledgement and one refusal the race allows.
func (op *expOp) check() string {
	var pr wire.Problem
	refused := func(status int, name string) bool {
		return op.status == status && json.Unmarshal(op.resp, &pr) == nil && pr.Type == wire.ProblemBase+name
	}
	switch op.kind {
	case kindRefund, kindQR:
		if op.acked() {
			var tr wire.Transfer
			if json.Unmarshal(op.resp, &tr) != nil || tr.ID != op.id || tr.State != "COMMITTED" || tr.Amount != money.FormatDecimal(op.amount, 2) {
				return "an acknowledgement that is not the COMMITTED transfer"
			}
			return ""
		}
		if op.kind == kindRefund && refused(422, "refund-exceeds-original") || op.kind == kindQR && refused(409, "qr-already-paid") {
			return ""
		}
	case kindAccept:
		if op.status == 200 {
			var r wire.PaymentRequest
			if json.Unmarshal(op.resp, &r) != nil || r.ID != op.on || r.State != "PAID" || r.TransferID != op.id {
				return "an acknowledgement that is not the request PAID by this transfer"
			}
			return ""
		}
		if refused(409, "payment-request-not-pending") {
			return ""
		}
	}
	return "an unexpected answer"
}

// send sends op to base until it has an answer other than a 5xx; false
// when the transport failed (the kill).
func (op *expOp) send(hc *http.Client, base string, after bool) bool {
	op.sent = op.sent || !after
	for {
		status, body, err := post(hc, base+op.path, op.token, op.body)
		if err != nil {
			return false
		}
		if status >= 500 && op.tries5 < 3 {
			op.tries5++
			time.Sleep(50 * time.Millisecond)
			continue
		}
		op.status, op.resp, op.after = status, body, after
		return true
	}
}

// expSetup is what the set-up made.
type expSetup struct {
	keys     map[string]string // API keys by participant
	payments []string          // ids of the payments refunded
	requests map[string]int64  // amounts of the requests by id
	codes    map[string]string // the references of the codes by payload
	mandates []expMandate
}

// expMandate is a scheduled mandate of the test, and the id of its
// execution's transfer.
type expMandate struct {
	id, key string
	amount  int64
}

func experiencesCrash(t *testing.T, store string) {
	seed := uint64(time.Now().UnixNano())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 16))
	started := time.Now()
	dir := t.TempDir()

	// The first child: set up, approve the first mandate and kill.
	child := startExpChild(t, dir, store)
	s := &sw{t: t, url: child.url, hc: &http.Client{Timeout: 10 * time.Second}}
	set := expSetUp(s, rng)
	var m wire.Mandate
	s.ok(200, "POST", "/v1/mandates/"+set.mandates[0].id+"/approve", set.keys["wallet-d"], nil, &m)
	child.kill()
	setup := time.Since(started)

	// The second child: the first mandate executed by its start-up sweep;
	// the second approved, then the load, killed while it flows.
	child = startExpChild(t, dir, store)
	s = &sw{t: t, url: child.url, hc: &http.Client{Timeout: 10 * time.Second}}
	s.ok(200, "GET", "/v1/mandates/"+set.mandates[0].id, set.keys["wallet-d"], nil, &m)
	if m.State != "ACTIVE" && m.State != "COMPLETED" {
		t.Fatalf("mandate %s approved before the kill: %+v", m.ID, m)
	}
	waitExecuted(s, set.mandates[0], set.keys["biller-e"])
	s.ok(200, "POST", "/v1/mandates/"+set.mandates[1].id+"/approve", set.keys["wallet-d"], nil, &m)
	ops := expOps(set, rng)
	killAfter := len(ops)/6 + rng.IntN(len(ops)/3)
	loadStart := time.Now()
	sentBefore := expLoad(t, child, ops, killAfter)
	load := time.Since(loadStart)

	// The restart, in this process.
	var s2 *sw
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		s2, err = openSwitch(t, expCrashConfig(dir, store))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restart: %v", err)
		}
	}
	t.Cleanup(s2.close)
	if err := s2.app.Journal.Check(); err != nil {
		t.Errorf("the ledger's invariants after the restart: %v", err)
	}
	// One sweep more than the start-up's: due mandates are executed by the
	// time it returns, and one executed already is not again.
	for range 2 {
		if _, err := s2.app.Mandates.Sweep(context.Background(), 100); err != nil {
			t.Fatalf("mandate sweep after the restart: %v", err)
		}
	}

	// Every operation not answered, again, in its groups; first, those
	// the kill cut: did their transfer land?
	var again []*expOp
	cut, landed := 0, 0
	for _, op := range ops {
		if op.answered() {
			continue
		}
		again = append(again, op)
		if op.sent {
			cut++
			if status, _ := getTransfer(s2, op.id, op.token); status == 200 {
				landed++
			}
		}
	}
	runGroups(again, s2.url, true, nil)
	for _, op := range ops {
		if !op.answered() {
			t.Fatalf("no answer after the restart: %s", op)
		}
		if bad := op.check(); bad != "" {
			t.Errorf("%s: %s", bad, op)
		}
	}
	if t.Failed() {
		return
	}
	ledger := expLedger(s2)
	checkRefunds(s2, set, ops, ledger)
	checkRequests(s2, set, ops, ledger)
	checkCodes(s2, set, ops, ledger)
	checkMandates(s2, set, ledger)
	checkExpBalances(s2, set, ops, ledger)

	counts := map[string]int{}
	for _, op := range ops {
		switch {
		case !op.after && op.acked():
			counts[op.kind+" acknowledged"]++
		case !op.after:
			counts[op.kind+" refused"]++
		default:
			counts[op.kind+" after the restart"]++
		}
	}
	t.Logf("seed %d: kill after %d acknowledgements, %d of %d operations answered before it, %d sent and not answered (%d of them landed); "+
		"%v; mandates %s, %s; setup %v, load %v, all %v", seed, killAfter, sentBefore, len(ops), cut, landed, counts,
		set.mandates[0].key, set.mandates[1].key,
		setup.Round(time.Millisecond), load.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// expSetUp makes the participants, aliases and deposits, the payments to
// refund, the requests to pay, the dynamic codes and two scheduled
// mandates, already due, proposed and not yet approved.
func expSetUp(s *sw, rng *rand.Rand) expSetup {
	s.t.Helper()
	set := expSetup{keys: map[string]string{}, requests: map[string]int64{}, codes: map[string]string{}}
	for _, p := range expParticipants {
		set.keys[p], _ = s.participant(p, nil)
	}
	for _, p := range expParticipants {
		if d := expDeposits[p]; d > 0 {
			s.deposit(p, money.FormatDecimal(d, 2))
		}
	}
	a, b, c, d, e := set.keys["wallet-a"], set.keys["wallet-b"], set.keys["wallet-c"], set.keys["wallet-d"], set.keys["biller-e"]
	s.party(b, "MSISDN", "13800138000", "Zhang San", "u-b1")
	s.party(d, "MSISDN", "13600136000", "Zhao Liu", "u-d1")
	for i := range expAliases {
		key, prefix := a, "139001390"
		if i%2 == 1 {
			key, prefix = c, "137001370"
		}
		s.party(key, "MSISDN", fmt.Sprintf("%s%02d", prefix, i), "Payer", fmt.Sprintf("u-%d", i))
	}
	s.ok(201, "POST", "/v1/parties", b, wire.NewParty{Type: "MERCHANT", Value: "M-CRASH", Name: "Crash Noodles", Account: "shop-1",
		Currency: "CNY", MCC: "5812", City: "Beijing", Country: "CN"}, nil)

	for i := range expPayments {
		id := fmt.Sprintf("pay-%d", i)
		s.ok(201, "POST", "/v1/transfers", a, pay(id, "MSISDN", "+8613800138000", "100.00"), nil)
		set.payments = append(set.payments, id)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	for i := range expRequests {
		id, amount := fmt.Sprintf("rq-%d", i), 100+rng.Int64N(9900)
		prefix := "139001390"
		if i%expAliases%2 == 1 {
			prefix = "137001370"
		}
		s.ok(201, "POST", "/v1/payment-requests", b, wire.NewPaymentRequest{ID: id, Payer: wire.PayeeRef{Type: "MSISDN",
			Value: fmt.Sprintf("%s%02d", prefix, i%expAliases)}, Amount: money.FormatDecimal(amount, 2), Currency: "CNY", ExpiresAt: exp}, nil)
		set.requests[id] = amount
	}
	for i := range expCodes {
		var q wire.QR
		ref := fmt.Sprintf("ord-%d", i)
		s.ok(201, "POST", "/v1/qr", b, wire.NewQR{Merchant: "M-CRASH", Amount: money.FormatDecimal(100+rng.Int64N(9900), 2), Currency: "CNY",
			Reference: ref}, &q)
		set.codes[q.Payload] = ref
	}

	// Two mandates already due: a yearly one due on 1 January, approved
	// after its day (a once one if the year has only just begun), and a
	// once one due at its start, an hour ago.
	loc, err := time.LoadLocation("Asia/Shanghai") // the switch's default zone
	if err != nil {
		s.t.Fatal(err)
	}
	now := time.Now()
	jan1 := time.Date(now.In(loc).Year(), 1, 1, 0, 0, 0, 0, loc)
	from := now.Add(-time.Hour).UTC().Truncate(time.Second)
	once := func(id string, amount int64) (wire.NewMandate, expMandate) {
		return wire.NewMandate{ID: id, Payer: wire.PayeeRef{Type: "MSISDN", Value: "13600136000"}, MaxAmount: "100.00", Currency: "CNY",
				Frequency: "once", ValidFrom: from, ValidUntil: now.AddDate(1, 0, 0), Schedule: &wire.MandateSchedule{Amount: money.FormatDecimal(amount, 2)}},
			expMandate{id: id, key: mandate.ExecutionKey(id, from), amount: amount}
	}
	first, firstM := once("crash-first", 25_00)
	if now.After(jan1.Add(mandate.DueHour*time.Hour + time.Minute)) {
		first.ID, first.Frequency, first.ValidFrom = "crash-yearly", "yearly", jan1
		first.Schedule.Month, first.Schedule.Day = 1, 1
		firstM = expMandate{id: first.ID, key: mandate.ExecutionKey(first.ID, jan1), amount: 25_00}
	}
	second, secondM := once("crash-once", 35_00)
	for _, nm := range []wire.NewMandate{first, second} {
		s.ok(201, "POST", "/v1/mandates", e, nm, nil)
	}
	set.mandates = []expMandate{firstM, secondM}
	return set
}

// waitExecuted waits until the mandate's scheduled execution committed.
func waitExecuted(s *sw, m expMandate, billerKey string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var es wire.MandateExecutions
		s.ok(200, "GET", "/v1/mandates/"+m.id+"/executions", billerKey, nil, &es)
		if len(es.Executions) == 1 && es.Executions[0].State == "COMMITTED" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("mandate %s was not executed within 15 s of the start: %+v", m.id, es)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// expOps makes the operations of the load, in groups that race, the
// groups in a seeded order.
func expOps(set expSetup, rng *rand.Rand) []*expOp {
	var groups [][]*expOp
	a, b, c := set.keys["wallet-a"], set.keys["wallet-b"], set.keys["wallet-c"]
	for _, p := range set.payments {
		var g []*expOp
		// Three parts of 34.00 to 60.00: more than the payment together,
		// so at most two are paid back.
		for k := range 3 {
			amount := 34_00 + rng.Int64N(26_01)
			id := fmt.Sprintf("%s-rf%d", p, k)
			g = append(g, &expOp{kind: kindRefund, on: p, id: id, amount: amount, payer: "wallet-b", path: "/v1/transfers/" + p + "/refunds",
				token: b, body: wire.NewRefund{ID: id, Amount: money.FormatDecimal(amount, 2), Reason: "part " + fmt.Sprint(k)}})
		}
		groups = append(groups, g)
	}
	ids := sortedKeys(set.requests)
	for i, r := range ids {
		payer, key := "wallet-a", a
		var n int
		fmt.Sscanf(r, "rq-%d", &n)
		if n%expAliases%2 == 1 {
			payer, key = "wallet-c", c
		}
		g := []*expOp{{kind: kindAccept, on: r, id: r + "-t1", amount: set.requests[r], payer: payer,
			path: "/v1/payment-requests/" + r + "/accept", token: key, body: wire.AcceptPaymentRequest{TransferID: r + "-t1"}}}
		if i%2 == 0 {
			g = append(g, &expOp{kind: kindAccept, on: r, id: r + "-t2", amount: set.requests[r], payer: payer,
				path: "/v1/payment-requests/" + r + "/accept", token: key, body: wire.AcceptPaymentRequest{TransferID: r + "-t2"}})
		}
		groups = append(groups, g)
	}
	for _, payload := range sortedKeys(set.codes) {
		ref := set.codes[payload]
		amount := qrAmount(payload)
		var g []*expOp
		for _, p := range []struct{ id, key string }{{"wallet-a", a}, {"wallet-c", c}} {
			id := fmt.Sprintf("%s-%s", ref, p.id[len(p.id)-1:])
			g = append(g, &expOp{kind: kindQR, on: ref, id: id, amount: amount, payer: p.id, path: "/v1/transfers", token: p.key,
				body: pay(id, "QR", payload, money.FormatDecimal(amount, 2))})
		}
		groups = append(groups, g)
	}
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	var ops []*expOp
	for i, g := range groups {
		for _, op := range g {
			op.group = i
			ops = append(ops, op)
		}
	}
	return ops
}

// qrAmount reads a dynamic code's amount (EMV tag 54) from its payload.
func qrAmount(payload string) int64 {
	for i := 0; i+4 <= len(payload); {
		tag, n := payload[i:i+2], 0
		fmt.Sscanf(payload[i+2:i+4], "%d", &n)
		if i+4+n > len(payload) {
			break
		}
		if tag == "54" {
			a, err := money.Parse(payload[i+4:i+4+n], money.MustCurrency("CNY"))
			if err != nil {
				panic(err)
			}
			return int64(a)
		}
		i += 4 + n
	}
	panic("a dynamic code without an amount: " + payload)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runGroups sends ops to base from expWorkers workers, each group's
// operations at once; it calls answered after each answer, and stops
// taking groups once stop is closed. It returns when every group taken
// is done.
func runGroups(ops []*expOp, base string, after bool, stop <-chan struct{}, answered ...func(*expOp)) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 3 * expWorkers}}
	defer hc.CloseIdleConnections()
	var groups [][]*expOp
	for i, op := range ops {
		if i == 0 || ops[i-1].group != op.group {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], op)
	}
	jobs := make(chan []*expOp)
	var wg sync.WaitGroup
	for range expWorkers {
		wg.Go(func() {
			for g := range jobs {
				var gw sync.WaitGroup
				for _, op := range g {
					gw.Go(func() {
						if op.send(hc, base, after) {
							for _, f := range answered {
								f(op)
							}
						}
					})
				}
				gw.Wait()
			}
		})
	}
	for _, g := range groups {
		select {
		case <-stop:
		case jobs <- g:
			continue
		}
		break
	}
	close(jobs)
	wg.Wait()
}

// expLoad sends ops to the child and kills it after killAfter
// acknowledgements (or when all are answered); it returns how many were
// answered before the kill.
func expLoad(t *testing.T, child *crashChild, ops []*expOp, killAfter int) int {
	t.Helper()
	var acks, answered atomic.Int64
	kill := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		runGroups(ops, child.url, false, kill, func(op *expOp) {
			answered.Add(1)
			if op.acked() && acks.Add(1) == int64(killAfter) {
				once.Do(func() { child.kill(); close(kill) })
			}
		})
	}()
	select {
	case <-done:
		t.Logf("the load ended before %d acknowledgements (%d): killed after it", killAfter, acks.Load())
		once.Do(func() { child.kill(); close(kill) })
	case <-kill:
		<-done
	}
	return int(answered.Load())
}

// expLedger lists every transfer of the test's participants, by id.
func expLedger(s *sw) map[string]wire.Transfer {
	s.t.Helper()
	out := map[string]wire.Transfer{}
	for _, p := range expParticipants {
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

// amountOf reads a decimal amount of the test's currency.
func amountOf(t *testing.T, what, v string) int64 {
	t.Helper()
	if v == "" {
		return 0
	}
	a, err := money.Parse(v, money.MustCurrency("CNY"))
	if err != nil {
		t.Fatalf("%s %q: %v", what, v, err)
	}
	return int64(a)
}

// getTransfer fetches a transfer as token sees it.
func getTransfer(s *sw, id, token string) (int, wire.Transfer) {
	s.t.Helper()
	r := s.do("GET", "/v1/transfers/"+id, token, nil)
	var tr wire.Transfer
	if r.status == 200 {
		if err := json.Unmarshal(r.body, &tr); err != nil {
			s.t.Fatalf("GET /v1/transfers/%s: %v", id, err)
		}
	}
	return r.status, tr
}

// checkRefunds: every acknowledged refund is COMMITTED with its amount,
// every refused one absent, and each payment's refunded is the sum of
// its acknowledged refunds, those in the ledger, at most the payment.
func checkRefunds(s *sw, set expSetup, ops []*expOp, ledger map[string]wire.Transfer) {
	s.t.Helper()
	t := s.t
	acked := map[string]int64{}
	for _, op := range ops {
		if op.kind != kindRefund {
			continue
		}
		status, tr := getTransfer(s, op.id, set.keys["wallet-b"])
		switch {
		case op.acked():
			acked[op.on] += op.amount
			if status != 200 || tr.State != "COMMITTED" || amountOf(t, op.id, tr.Amount) != op.amount || tr.Payee.Type != "REFUND" ||
				tr.Payee.Value != op.on || tr.Payer != "wallet-b" || tr.Payee.Participant != "wallet-a" {
				t.Errorf("acknowledged %s: now %d %+v", op, status, tr)
			}
		case status != 404:
			t.Errorf("refused %s: now %d %+v", op, status, tr)
		}
	}
	inLedger := map[string]int64{}
	for _, tr := range ledger {
		if tr.Payee.Type == "REFUND" && tr.State == "COMMITTED" {
			inLedger[tr.Payee.Value] += amountOf(t, tr.ID, tr.Amount)
		}
	}
	for _, p := range set.payments {
		status, tr := getTransfer(s, p, set.keys["wallet-a"])
		got := amountOf(t, p+" refunded", tr.Refunded)
		if status != 200 || got != acked[p] || got != inLedger[p] || got > amountOf(t, p, tr.Amount) {
			t.Errorf("payment %s: %d, refunded %q; acknowledged refunds %s, in the ledger %s", p, status, tr.Refunded,
				money.FormatDecimal(acked[p], 2), money.FormatDecimal(inLedger[p], 2))
		}
	}
}

// checkRequests: every request is PAID by the transfer whose accept was
// answered PAID, COMMITTED with its amount, and by no other.
func checkRequests(s *sw, set expSetup, ops []*expOp, ledger map[string]wire.Transfer) {
	s.t.Helper()
	t := s.t
	paidBy := map[string][]string{} // acknowledged transfers of each request
	for _, op := range ops {
		if op.kind != kindAccept {
			continue
		}
		if op.acked() {
			paidBy[op.on] = append(paidBy[op.on], op.id)
		} else if status, tr := getTransfer(s, op.id, op.token); status != 404 {
			t.Errorf("refused %s: its transfer now %d %+v", op, status, tr)
		}
	}
	inLedger := map[string][]string{}
	for _, tr := range ledger {
		if tr.Payee.Type == "ACCOUNT" && tr.Payee.Participant == "wallet-b" && tr.State == "COMMITTED" {
			inLedger[tr.Payee.Account] = append(inLedger[tr.Payee.Account], tr.ID)
		}
	}
	for _, id := range sortedKeys(set.requests) {
		var r wire.PaymentRequest
		s.ok(200, "GET", "/v1/payment-requests/"+id, set.keys["wallet-b"], nil, &r)
		if len(paidBy[id]) != 1 || r.State != "PAID" || r.TransferID != paidBy[id][0] || len(inLedger[id]) != 1 || inLedger[id][0] != r.TransferID {
			t.Errorf("request %s: %s by %q; acknowledged PAID by %v; paid in the ledger by %v", id, r.State, r.TransferID, paidBy[id], inLedger[id])
			continue
		}
		if tr := ledger[r.TransferID]; amountOf(t, tr.ID, tr.Amount) != set.requests[id] {
			t.Errorf("request %s of %s paid by %+v", id, money.FormatDecimal(set.requests[id], 2), tr)
		}
	}
}

// checkCodes: every dynamic code is paid by exactly one COMMITTED
// transfer, the one answered 201, and the other payer's does not exist.
func checkCodes(s *sw, set expSetup, ops []*expOp, ledger map[string]wire.Transfer) {
	s.t.Helper()
	t := s.t
	paidBy := map[string][]string{}
	byCode := map[string][]string{}
	for _, op := range ops {
		if op.kind != kindQR {
			continue
		}
		byCode[op.on] = append(byCode[op.on], op.String())
		status, tr := getTransfer(s, op.id, op.token)
		switch {
		case op.acked():
			paidBy[op.on] = append(paidBy[op.on], op.id)
			if status != 200 || tr.State != "COMMITTED" || amountOf(t, op.id, tr.Amount) != op.amount {
				t.Errorf("acknowledged %s: now %d %+v", op, status, tr)
			}
		case status != 404 && tr.State == "COMMITTED":
			t.Errorf("refused %s: its transfer now %d %+v", op, status, tr)
		}
	}
	inLedger := map[string][]string{}
	for _, tr := range ledger {
		if tr.Payee.Type == "MERCHANT" && tr.State == "COMMITTED" {
			inLedger[tr.Note] = append(inLedger[tr.Note], tr.ID)
		}
	}
	for _, ref := range set.codes {
		sort.Strings(paidBy[ref])
		sort.Strings(inLedger[ref])
		if len(inLedger[ref]) != 1 || len(paidBy[ref]) != 1 || paidBy[ref][0] != inLedger[ref][0] {
			t.Errorf("code %s: acknowledged payments %v, COMMITTED in the ledger %v; answers: %s", ref, paidBy[ref], inLedger[ref],
				strings.Join(byCode[ref], "; "))
		}
	}
}

// checkMandates: each mandate has one execution, its transfer COMMITTED
// with the schedule's amount, and no other transfer to its biller.
func checkMandates(s *sw, set expSetup, ledger map[string]wire.Transfer) {
	s.t.Helper()
	t := s.t
	for _, m := range set.mandates {
		var es wire.MandateExecutions
		s.ok(200, "GET", "/v1/mandates/"+m.id+"/executions", set.keys["biller-e"], nil, &es)
		if len(es.Executions) != 1 || es.Executions[0].ID != m.key || es.Executions[0].State != "COMMITTED" || !es.Executions[0].Scheduled {
			t.Errorf("mandate %s: executions %+v, want one COMMITTED, %s", m.id, es.Executions, m.key)
		}
		status, tr := getTransfer(s, m.key, set.keys["wallet-d"])
		if status != 200 || tr.State != "COMMITTED" || amountOf(t, m.key, tr.Amount) != m.amount || tr.Payer != "wallet-d" ||
			tr.Payee.Participant != "biller-e" {
			t.Errorf("mandate %s: its transfer %s %d %+v", m.id, m.key, status, tr)
		}
	}
	var toBiller []string
	for _, tr := range ledger {
		if tr.Payee.Participant == "biller-e" || tr.Payer == "wallet-d" {
			toBiller = append(toBiller, tr.ID+" "+tr.State)
		}
	}
	sort.Strings(toBiller)
	if len(toBiller) != len(set.mandates) {
		t.Errorf("transfers of the mandates' payer and biller: %v, want one per mandate", toBiller)
	}
}

// checkExpBalances holds the accounts to the transfers the ledger holds,
// every one of which the test made: each balance is the deposit less what
// was paid (amounts and fees) plus what was received, nothing is
// reserved, the hub's revenue is the fees, and everything sums to zero.
func checkExpBalances(s *sw, set expSetup, ops []*expOp, ledger map[string]wire.Transfer) {
	s.t.Helper()
	t := s.t
	known := map[string]bool{}
	for _, p := range set.payments {
		known[p] = true
	}
	for _, op := range ops {
		known[op.id] = true
	}
	for _, m := range set.mandates {
		known[m.key] = true
	}
	want := map[string]int64{}
	for p, d := range expDeposits {
		want[p] = d
	}
	var fees int64
	for id, tr := range ledger {
		if !known[id] {
			t.Errorf("a transfer the test did not make: %+v", tr)
		}
		switch tr.State {
		case "COMMITTED":
			a, fee := amountOf(t, id, tr.Amount), amountOf(t, id+" fee", tr.Fee)
			want[tr.Payer] -= a + fee
			want[tr.Payee.Participant] += a
			fees += fee
		case "ABORTED":
		default:
			t.Errorf("transfer %s in state %s: %+v", id, tr.State, tr)
		}
	}
	var sum int64
	for _, p := range expParticipants {
		b := s.balance(set.keys[p], p)
		bal, res, avail := amountOf(t, p, b.Balance), amountOf(t, p, b.Reserved), amountOf(t, p, b.Available)
		if bal != want[p] || res != 0 || avail != bal {
			t.Errorf("%s: balance %s reserved %s available %s; the ledger's transfers make %s", p, b.Balance, b.Reserved, b.Available,
				money.FormatDecimal(want[p], 2))
		}
		sum += bal
	}
	h := s.hub()
	if rev := amountOf(t, "fee revenue", h.FeeRevenue); rev != fees {
		t.Errorf("fee revenue %s, the committed transfers' fees %s", h.FeeRevenue, money.FormatDecimal(fees, 2))
	}
	if sum += amountOf(t, "fee revenue", h.FeeRevenue) + amountOf(t, "settlement bank", h.SettlementBank); sum != 0 {
		t.Errorf("the accounts sum to %s, not zero (hub %+v)", money.FormatDecimal(sum, 2), h)
	}
	want2 := expDeposits["wallet-d"]
	for _, m := range set.mandates {
		want2 -= m.amount + amountOf(t, m.key+" fee", ledger[m.key].Fee)
	}
	if b := s.balance(set.keys["wallet-d"], "wallet-d"); amountOf(t, "wallet-d", b.Balance) != want2 {
		t.Errorf("the mandates' payer: %+v, want %s: one execution each", b, money.FormatDecimal(want2, 2))
	}
}

// TestQRConcurrentPayers: a dynamic QR code pays once, even when two
// payers pay it at the same moment with different transfer ids, while
// other codes are paid alongside; no crash is needed. It failed before
// 51e8af2: qr.Service.claim took over a claim whose payment
// Payments.Get did not find, and a payment still in flight (claimed, not
// yet in the ledger) is not found, so the second payer released the
// first one's claim, claimed the code and paid it too.
func TestQRConcurrentPayers(t *testing.T) {
	const codes, together = 240, 4 // codes paid at once
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		mKey, _ := s.participant("wallet-m", nil)
		var keys [2]string
		for n := range keys {
			id := fmt.Sprint("wallet-", n)
			keys[n], _ = s.participant(id, nil)
			s.deposit(id, "10000.00")
		}
		s.ok(201, "POST", "/v1/parties", mKey, wire.NewParty{Type: "MERCHANT", Value: "M-RACE", Name: "Race Noodles", Account: "shop-1",
			Currency: "CNY", MCC: "5812", City: "Beijing", Country: "CN"}, nil)
		payloads := make([]string, codes)
		for i := range payloads {
			var q wire.QR
			s.ok(201, "POST", "/v1/qr", mKey, wire.NewQR{Merchant: "M-RACE", Amount: "10.00", Currency: "CNY", Reference: fmt.Sprint("r-", i)}, &q)
			payloads[i] = q.Payload
		}
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * together}}
		defer hc.CloseIdleConnections()
		var mu sync.Mutex
		var twice []string
		for i := 0; i < codes; i += together {
			var wg sync.WaitGroup
			ready := make(chan struct{})
			for c := i; c < i+together; c++ {
				var paid atomic.Int32
				var each sync.WaitGroup
				for n, key := range keys {
					each.Go(func() {
						<-ready
						status, body, err := post(hc, s.url+"/v1/transfers", key, pay(fmt.Sprintf("race-%d-%d", c, n), "QR", payloads[c], "10.00"))
						switch {
						case err != nil:
							t.Errorf("code r-%d: %v", c, err)
						case status == 201:
							paid.Add(1)
						case status != 409:
							t.Errorf("code r-%d: %d %s", c, status, body)
						}
					})
				}
				wg.Go(func() {
					each.Wait()
					if paid.Load() != 1 {
						mu.Lock()
						twice = append(twice, fmt.Sprintf("r-%d×%d", c, paid.Load()))
						mu.Unlock()
					}
				})
			}
			close(ready)
			wg.Wait()
		}
		if b := s.balance(mKey, "wallet-m"); len(twice) > 0 || b.Balance != money.FormatDecimal(codes*10_00, 2) {
			t.Errorf("%d codes of %d not paid exactly once (%v); the merchant has %s, want %s", len(twice), codes, twice, b.Balance,
				money.FormatDecimal(codes*10_00, 2))
		}
	})
}

// TestMandateCrashBeforePayment: a switch killed while it executes a
// scheduled mandate, after the execution's row and before its payment,
// makes that execution once it restarts. The kill's window is too narrow
// for TestExperiencesCrash to hit, so the test leaves the database as
// the kill would — the execution's row PENDING, no payment — and sweeps.
// It failed before 51e8af2: mandate.Service.settle found no payment and
// recorded the execution FAILED ("the switch stopped before the payment
// was made"), and runScheduled moved the schedule on to the next period,
// as for a refusal: the period was never paid.
func TestMandateCrashBeforePayment(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		e, _ := s.participant("biller-e", nil)
		d, _ := s.participant("wallet-d", nil)
		s.deposit("wallet-d", "100.00")
		s.party(d, "MSISDN", "13600136000", "Zhao Liu", "u-d1")
		now := time.Now()
		from := now.Add(-time.Hour).UTC().Truncate(time.Second)
		s.ok(201, "POST", "/v1/mandates", e, wire.NewMandate{ID: "cut", Payer: wire.PayeeRef{Type: "MSISDN", Value: "13600136000"},
			MaxAmount: "100.00", Currency: "CNY", Frequency: "once", ValidFrom: from, ValidUntil: now.AddDate(1, 0, 0),
			Schedule: &wire.MandateSchedule{Amount: "20.00"}}, nil)
		s.ok(200, "POST", "/v1/mandates/cut/approve", d, nil, nil)
		// What runScheduled leaves when the kill comes between the row
		// and the payment (its mark is left out: settle does not read it).
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		key := mandate.ExecutionKey("cut", from)
		if _, err := s.app.Mandates.DB.ExecContext(context.Background(), `INSERT INTO mandate_executions (id, mandate, amount, reference,
			period_start, scheduled, state, reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, 'PENDING', '', $6, $6)`,
			key, "cut", 20_00, "scheduled "+from.In(loc).Format(time.DateOnly), from.UnixNano(), now.UnixNano()); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.app.Mandates.Sweep(context.Background(), 100); err != nil {
				t.Fatal(err)
			}
		}
		var es wire.MandateExecutions
		s.ok(200, "GET", "/v1/mandates/cut/executions", e, nil, &es)
		status, tr := getTransfer(s, key, d)
		if len(es.Executions) != 1 || es.Executions[0].State != "COMMITTED" || status != 200 || tr.State != "COMMITTED" {
			t.Errorf("after the restart's sweep: executions %+v; transfer %s %d %+v", es.Executions, key, status, tr)
		}
		if b := s.balance(d, "wallet-d"); amountOf(t, "wallet-d", b.Balance) != 100_00-20_00-amountOf(t, "fee", tr.Fee) {
			t.Errorf("wallet-d: %+v, want one execution of 20.00 paid", b)
		}
	})
}
