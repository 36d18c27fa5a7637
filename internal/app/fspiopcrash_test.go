package app_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
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
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/fspiop/ilp"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim/dfsp"
	"github.com/hulian/hulian/internal/wire"
)

// TestFSPIOPCrash holds the FSPIOP front end to the ground rule "nothing
// acknowledged is lost" across a kill -9. A child process (this test
// binary again, TestFSPIOPCrashChild) runs the switch with its FSPIOP
// front end on a data directory and two loopback ports chosen up front.
// The parent connects two DFSPs simulated by package sim/dfsp (payerfsp
// and payeefsp, each with its own endpoint) and a native wallet holding
// an alias, funds them, and pays for about 1.5 s from 9 workers:
// payerfsp to payeefsp and payerfsp to the wallet (dfsp.Pay: lookup,
// quote, prepare), the wallet to payeefsp (POST /v1/transfers); then it
// kills the child. It restarts the switch in this process on the same
// data directory and the same ports (the DFSPs keep their SwitchURL),
// while the payments the kill cut still wait for their callbacks, and
// waits for the DFSPs' prepares to expire (Expiry, 3 s) and the sweep to
// tell both sides. Then:
//
//   - every payment its payer was answered COMMITTED (a DFSP's PUT with
//     a fulfilment of its condition, a native 201) is COMMITTED at the
//     switch, and every one answered otherwise is not; one answered
//     before the kill must have been answered COMMITTED;
//   - every payment the switch committed for payerfsp reached it: as the
//     answer to its Pay, as a late callback, or, asked after the restart
//     with GET /transfers/{ID}, as COMMITTED with a fulfilment of its
//     condition; and GET /transfers/{ID} answers no other payment
//     COMMITTED;
//   - payeefsp counts a payment as received (COMMITTED) if and only if
//     the switch committed it;
//   - nothing else is RESERVED at the switch but the wallet's payments to
//     payeefsp that the kill cut (see below), and after them nothing at
//     all: every reserved balance is 0;
//   - the balances are those of the committed transfers, the accounts sum
//     to zero, each DFSP's books (deposit − paid + received) equal its
//     balance at the switch, and the journal's invariants hold.
//
// What may differ, by design, and is counted and logged, not failed: a
// payeefsp that fulfilled a payment just before the kill, whose
// fulfilment the switch took (200) but never committed, books it
// COMMITTED until the reservation expires after the restart; the sweep
// then tells it 3303 and it books the payment ABORTED. A wallet's
// payment to payeefsp that the kill cut during its FSPIOP exchange stays
// reserved for the switch's ConfirmTimeout plus the payment flow's 30 s
// reservation margin (transfer's reservationMargin): to keep the test
// short, the restarted switch's clock is then moved forward past it, and
// the sweep must end those payments (ABORTED, 3303 to payeefsp) too.
// A payment the kill cut before the ledger reserved it is not in the
// ledger: GET /transfers answers it 3208 (the front end never stored
// it), or RESERVED (stored, then cut) until the front end writes it off
// a minute after its expiry; neither side books it.
func TestFSPIOPCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test starts processes")
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fspiopCrash(t, e.store(t)) })
	}
}

// The child's settings, from the parent.
const (
	fspCrashDirEnv    = "HULIAN_FSPIOPCRASH_DIR"
	fspCrashStoreEnv  = "HULIAN_FSPIOPCRASH_STORE"
	fspCrashAddrEnv   = "HULIAN_FSPIOPCRASH_ADDR"
	fspCrashFSPIOPEnv = "HULIAN_FSPIOPCRASH_FSPIOP"
)

// Timing of the crash test.
const (
	// crashExpiry is the life of the DFSPs' quotes and prepares, and each
	// of their waits for a callback.
	crashExpiry = 3 * time.Second
	// crashConfirm is the switch's ConfirmTimeout: a native payer's wait
	// for an FSPIOP payee.
	crashConfirm = 3 * time.Second
	// crashMargin is how long a native payment to a confirming (FSPIOP)
	// payee stays reserved after its wait: transfer's reservationMargin.
	crashMargin = 30 * time.Second
	// crashSweep is how long the restarted switch is given to expire and
	// tell what the kill left open, beyond the expiry.
	crashSweep = 3 * time.Second
)

// Deposits of the crash test, in minor units of CNY.
const crashDeposit = 100_000_00

// The crash test's parties: payeefsp's, which the wallet pays, and the
// wallet's, which payerfsp pays.
const (
	crashDFSPParty   = "8613700137000"
	crashNativeParty = "8613800138000"
)

// fspCrashConfig is the switch's configuration, in the child and at the
// restart.
func fspCrashConfig(dir, store, addr, fsp string, now func() time.Time) app.Config {
	return app.Config{DataDir: dir, Store: store, Addr: addr, FSPIOPAddr: fsp, AdminToken: opToken,
		ConfirmTimeout: crashConfirm, Callback: callback.Config{AllowPrivate: true}, Now: now}
}

// TestFSPIOPCrashChild is the child's side; it does nothing in a normal
// run. It serves until it is killed, or until its standard input ends
// (the parent died), whichever comes first.
func TestFSPIOPCrashChild(t *testing.T) {
	dir := os.Getenv(fspCrashDirEnv)
	if dir == "" {
		t.Skip("only runs as TestFSPIOPCrash's child")
	}
	serveChild(t, fspCrashConfig(dir, os.Getenv(fspCrashStoreEnv), os.Getenv(fspCrashAddrEnv), os.Getenv(fspCrashFSPIOPEnv), nil))
	fmt.Fprintln(os.Stderr, "fspiopcrash child: the parent went away before the kill")
	os.Exit(1)
}

// startFSPIOPChild starts the child on dir and store, listening on addr
// and fsp, and waits until it listens; it is killed when the test ends,
// if not before.
func startFSPIOPChild(t *testing.T, dir, store, addr, fsp string) *crashChild {
	t.Helper()
	return startChild(t, "TestFSPIOPCrashChild", map[string]string{fspCrashDirEnv: dir, fspCrashStoreEnv: store,
		fspCrashAddrEnv: addr, fspCrashFSPIOPEnv: fsp}, 0)
}

// freeAddr returns a loopback address free at the time of the call, so
// that the switch can listen on it before and after the kill.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Kinds of the crash test's payments.
const (
	kindDFSPToDFSP   = "dfsp->dfsp"
	kindDFSPToNative = "dfsp->native"
	kindNativeToDFSP = "native->dfsp"
)

// crashPayment is a payment the load made, and how its payer was
// answered.
type crashPayment struct {
	kind   string
	id     string // the switch's transfer id; "" if the payment stopped before it had one
	fspID  string // its id in FSPIOP (a native payment's is derived from id)
	amount int64  // minor units
	// state is the payer's answer: COMMITTED or ABORTED, or "" when it
	// did not come (the kill cut the exchange).
	state     string
	answer    string // what came, for the log
	condition string // a DFSP payment's condition
	at        time.Time
}

// fspiopCrashSetup is the crash test's world.
type fspiopCrashSetup struct {
	payer, payee       *dfsp.DFSP
	payerKey, payeeKey string
	walletKey          string
}

func fspiopCrash(t *testing.T, store string) {
	seed := uint64(time.Now().UnixNano())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 14))
	started := time.Now()
	dir := t.TempDir()
	addr, fsp := freeAddr(t), freeAddr(t)

	child := startFSPIOPChild(t, dir, store, addr, fsp)
	s := &sw{t: t, url: child.url, hc: &http.Client{Timeout: 10 * time.Second}}
	w := setupFSPIOPCrash(t, s, "http://"+fsp)
	setup := time.Since(started)

	// The load, killed while it flows.
	load := startCrashLoad(t, w, child.url, rng)
	killedAt := load.killAfterFirst(t, child, time.Duration(1000+rng.IntN(500))*time.Millisecond)

	// The restart, on a clock that the test moves forward later; the
	// cut payments still wait for their callbacks meanwhile.
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	var s2 *sw
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if s2, err = openSwitch(t, fspCrashConfig(dir, store, addr, fsp, now)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restart: %v", err)
		}
	}
	t.Cleanup(s2.close)
	restarted := time.Since(killedAt)
	pays := load.wait()
	if err := s2.app.Journal.Check(); err != nil {
		t.Errorf("the ledger's invariants after the restart: %v", err)
	}

	counts := map[string]int{}
	for _, p := range pays {
		counts[p.kind+" "+orUnanswered(p.state)]++
		if p.at.Before(killedAt) && p.state != "COMMITTED" {
			t.Errorf("%s %s (%d) answered %s before the kill: %s", p.kind, p.id, p.amount, p.state, p.answer)
		}
	}
	for _, k := range []string{kindDFSPToDFSP, kindDFSPToNative, kindNativeToDFSP} {
		if counts[k+" COMMITTED"] == 0 {
			t.Fatalf("no %s payment committed before the kill: %v", k, counts)
		}
	}

	// The DFSPs' prepares expire, and the sweep tells both sides.
	time.Sleep(time.Until(killedAt.Add(crashExpiry + crashSweep)))
	ledger := crashLedger(s2)
	cut := map[string]bool{} // the wallet's payments cut during their FSPIOP exchange
	byID := map[string]crashPayment{}
	for _, p := range pays {
		if p.id != "" {
			byID[p.id] = p
		}
	}
	for id, tr := range ledger {
		if tr.State != "RESERVED" {
			continue
		}
		if p := byID[id]; p.kind == kindNativeToDFSP && p.state == "" {
			cut[id] = true
		} else {
			t.Errorf("transfer %s (%s, answered %q) is RESERVED %v after the kill, past its expiry", id, p.kind, p.state, crashExpiry+crashSweep)
		}
	}
	// Past the margin of the cut ones: nothing stays reserved. The
	// journal, idle, sleeps until the next deadline as its clock read it:
	// an empty batch makes it look at the clock that jumped.
	skew.Store(int64(crashConfirm + crashMargin))
	if _, err := s2.app.Journal.Submit(context.Background(), nil); err != nil {
		t.Fatalf("an empty batch: %v", err)
	}
	var books map[string]dfsp.Books
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ledger = crashLedger(s2)
		books = map[string]dfsp.Books{"payerfsp": w.payer.Books(), "payeefsp": w.payee.Books()}
		if settled(s2, w, ledger, books) || time.Now().After(deadline) {
			break
		}
	}

	// Each payment, both sides.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	asked, sweptAborted := 0, 0
	for _, p := range pays {
		if p.id == "" {
			continue
		}
		tr, ok := ledger[p.id]
		committed := ok && tr.State == "COMMITTED"
		switch {
		case p.state == "COMMITTED" && !committed:
			t.Errorf("%s %s (%d) answered COMMITTED is %q at the switch (%s)", p.kind, p.id, p.amount, tr.State, tr.Reason)
		case p.state != "" && p.state != "COMMITTED" && committed:
			t.Errorf("%s %s (%d) answered %s (%s) is COMMITTED at the switch", p.kind, p.id, p.amount, p.state, p.answer)
		}
		if p.kind != kindNativeToDFSP && p.state == "" {
			// Its payer asks, as an SDK whose wait timed out does.
			asked++
			r, err := w.payer.GetTransfer(ctx, p.id)
			switch {
			case errors.Is(err, dfsp.ErrCallback) && r.Error != nil && r.Error.ErrorCode == "3208" && !ok:
				// The kill cut the prepare before the front end stored it.
			case err != nil:
				t.Errorf("GET /transfers/%s after the restart: %v", p.id, err)
			case committed && (r.State != "COMMITTED" || ilp.Check(r.Fulfilment, p.condition) != nil):
				t.Errorf("%s %s (%d) is COMMITTED at the switch; GET /transfers answers %q fulfilment %q (condition %q), error %+v",
					p.kind, p.id, p.amount, r.State, r.Fulfilment, p.condition, r.Error)
			case !committed && r.State == "COMMITTED":
				t.Errorf("%s %s (%d) is %q at the switch; GET /transfers answers COMMITTED", p.kind, p.id, p.amount, tr.State)
			}
		}
		if p.kind == kindDFSPToNative {
			continue
		}
		in, ok := w.payee.Incoming(p.fspID)
		received := ok && in.State == "COMMITTED"
		if received != committed {
			t.Errorf("%s %s (FSPIOP %s, %d): payeefsp has %+v (found %v); the switch %q %s", p.kind, p.id, p.fspID, p.amount,
				in, ok, tr.State, tr.Reason)
		}
		if ok && in.State == "ABORTED" && tr.State == "ABORTED" && tr.Reason == "expired" {
			sweptAborted++ // payeefsp fulfilled it; the switch never committed it, or never heard
		}
	}
	for id, tr := range ledger {
		if _, ok := byID[id]; !ok {
			t.Errorf("transfer %s (%s) that the load did not make: %+v", id, tr.State, tr)
		}
	}
	books = map[string]dfsp.Books{"payerfsp": w.payer.Books(), "payeefsp": w.payee.Books()}
	checkCrashBalances(s2, w, ledger, books)
	for _, d := range []*dfsp.DFSP{w.payer, w.payee} {
		for _, p := range d.Problems() {
			if errors.Is(p, dfsp.ErrFulfilment) || errors.Is(p, dfsp.ErrCheck) {
				t.Errorf("%s: %v", d.ID(), p)
			} else {
				t.Logf("%s (allowed across a crash): %v", d.ID(), p)
			}
		}
	}
	if err := s2.app.Journal.Check(); err != nil {
		t.Errorf("the ledger's invariants after the sweep: %v", err)
	}

	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	sort.Strings(keys)
	t.Logf("seed %d: %s; %d asked with GET /transfers; %d cut native payments reserved until the margin; "+
		"%d taken by payeefsp, then expired at the switch (its fulfilment cut by the kill, or taken and never committed: "+
		"3303 from the sweep); restarted %v after the kill; setup %v, all %v",
		seed, strings.Join(keys, ", "), asked, len(cut), sweptAborted, restarted.Round(time.Millisecond),
		setup.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// orUnanswered names an empty state.
func orUnanswered(state string) string {
	if state == "" {
		return "unanswered"
	}
	return state
}

// setupFSPIOPCrash creates, through the child's API, the two simulated
// DFSPs (FSPIOP participants with their own endpoints, talking to the
// switch at fspURL) and the native wallet, funds them, and registers
// their parties.
func setupFSPIOPCrash(t *testing.T, s *sw, fspURL string) *fspiopCrashSetup {
	t.Helper()
	w := &fspiopCrashSetup{}
	newDFSP := func(id string) (*dfsp.DFSP, string) {
		var d *dfsp.DFSP
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { d.ServeHTTP(rw, r) }))
		t.Cleanup(srv.Close)
		key, _ := s.participant(id, func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: srv.URL} })
		var err error
		d, err = dfsp.New(dfsp.Config{ID: id, SwitchURL: fspURL, APIKey: key, ILPSecret: []byte(id + " ILP secret"),
			Currency: "CNY", Timeout: crashExpiry, Expiry: crashExpiry})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		s.deposit(id, money.FormatDecimal(crashDeposit, 2))
		return d, key
	}
	w.payer, w.payerKey = newDFSP("payerfsp")
	w.payee, w.payeeKey = newDFSP("payeefsp")
	w.walletKey, _ = s.participant("wallet-n", nil)
	s.deposit("wallet-n", money.FormatDecimal(crashDeposit, 2))
	s.party(w.walletKey, "MSISDN", strings.TrimPrefix(crashNativeParty, "86"), "Zhang San", "u-n1")
	w.payer.AddParty("MSISDN", "4412345678", "Alice Alpha")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := -1; i < crashPerKind; i++ {
		w.payee.AddParty("MSISDN", crashDFSPPartyOf(i), "Li Si")
		if err := w.payee.Register(ctx, "MSISDN", crashDFSPPartyOf(i)); err != nil {
			t.Fatalf("register %s: %v", crashDFSPPartyOf(i), err)
		}
	}
	return w
}

// crashPerKind is how many workers make each kind of payment.
const crashPerKind = 3

// crashDFSPPartyOf is the payeefsp party that native worker i pays, -1
// the one payerfsp pays. The native workers all pay one party, as many
// users of a wallet pay one merchant: their concurrent look-ups of it
// must share one answer, not refuse each other.
func crashDFSPPartyOf(i int) string {
	if i < 0 {
		return crashDFSPParty
	}
	return "8613700137100"
}

// crashLoad is the crash test's load: crashPerKind workers per kind of
// payment.
type crashLoad struct {
	mu     sync.Mutex
	all    []crashPayment
	first  chan struct{}
	once   sync.Once
	killed chan struct{}
	wg     sync.WaitGroup
}

// startCrashLoad starts the workers; each pays until the kill.
func startCrashLoad(t *testing.T, w *fspiopCrashSetup, apiURL string, rng *rand.Rand) *crashLoad {
	t.Helper()
	const perKind = crashPerKind
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: perKind}}
	t.Cleanup(hc.CloseIdleConnections)
	l := &crashLoad{first: make(chan struct{}), killed: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	for n, kind := range []string{kindDFSPToDFSP, kindDFSPToNative, kindNativeToDFSP} {
		for i := range perKind {
			r := rand.New(rand.NewPCG(rng.Uint64(), uint64(n*perKind+i)))
			l.wg.Go(func() {
				for j := 0; ; j++ {
					select {
					case <-l.killed:
						return
					default:
					}
					p := crashPayment{kind: kind, amount: 100 + r.Int64N(900)}
					switch kind {
					case kindNativeToDFSP:
						p.id = fmt.Sprintf("n%d-%d", i, j)
						p.fspID = fspiopUUID("transfer", p.id)
						status, body, err := post(hc, apiURL+"/v1/transfers", w.walletKey,
							pay(p.id, "MSISDN", "+"+crashDFSPPartyOf(i), money.FormatDecimal(p.amount, 2)))
						var tr wire.Transfer
						switch {
						case err != nil:
							p.answer = err.Error()
						case status == 201 && json.Unmarshal(body, &tr) == nil:
							p.state, p.answer = tr.State, tr.State+" "+tr.Reason
						default:
							p.state, p.answer = "ABORTED", fmt.Sprintf("%d %s", status, body)
						}
					default:
						to := crashDFSPParty
						if kind == kindDFSPToNative {
							to = crashNativeParty
						}
						res, err := w.payer.Pay(ctx, dfsp.PayRequest{IDType: "MSISDN", ID: to, Amount: msg.FormatAmount(p.amount, 2)})
						p.id, p.fspID, p.state, p.condition = res.TransferID, res.TransferID, res.State, res.Quote.Response.Condition
						p.answer = fmt.Sprintf("%s phase %s: %v", res.State, res.Phase, err)
						if res.Error != nil {
							p.answer += " " + res.Error.ErrorCode
						}
						if res.State == "COMMITTED" && err != nil {
							p.state = "" // not booked: a fulfilment that does not meet the condition
						}
					}
					p.at = time.Now()
					l.mu.Lock()
					l.all = append(l.all, p)
					l.mu.Unlock()
					if p.state == "COMMITTED" {
						l.once.Do(func() { close(l.first) })
					}
				}
			})
		}
	}
	return l
}

// killAfterFirst kills the child after's after the first committed
// payment, stops the workers from starting more, and returns when the
// kill happened.
func (l *crashLoad) killAfterFirst(t *testing.T, child *crashChild, after time.Duration) time.Time {
	t.Helper()
	select {
	case <-l.first:
	case <-time.After(30 * time.Second):
		close(l.killed)
		t.Fatal("no payment committed within 30 s")
	}
	time.Sleep(after)
	at := time.Now()
	child.kill()
	close(l.killed)
	return at
}

// wait waits for the payments under way to end and returns them all.
func (l *crashLoad) wait() []crashPayment {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all
}

// fspiopUUID is the FSPIOP id the switch derives from a native id
// (package fspiop's uuidOf, which README.md promises: "ids are UUIDs
// derived from the native id").
func fspiopUUID(kind, id string) string {
	h := sha256.Sum256([]byte("hulian fspiop " + kind + "\x00" + id))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// crashLedger lists every transfer of the crash test's payers at the
// switch, by id.
func crashLedger(s *sw) map[string]wire.Transfer {
	s.t.Helper()
	out := map[string]wire.Transfer{}
	for _, participant := range []string{"payerfsp", "payeefsp", "wallet-n"} {
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

// settled reports whether the switch and the DFSPs are at rest: nothing
// reserved or RESERVED, and payeefsp's books those of the switch.
func settled(s *sw, w *fspiopCrashSetup, ledger map[string]wire.Transfer, books map[string]dfsp.Books) bool {
	for _, tr := range ledger {
		if tr.State == "RESERVED" {
			return false
		}
	}
	for _, p := range []struct{ id, key string }{{"payerfsp", w.payerKey}, {"payeefsp", w.payeeKey}, {"wallet-n", w.walletKey}} {
		if s.balance(p.key, p.id).Reserved != "0.00" {
			return false
		}
	}
	b := s.balance(w.payeeKey, "payeefsp")
	return b.Balance == wireAmount(crashDeposit-books["payeefsp"].Paid["CNY"]+books["payeefsp"].Received["CNY"])
}

// checkCrashBalances holds the accounts to the committed transfers and
// to the DFSPs' books: each balance is its deposit less what it paid
// (amounts and fees) plus what it was paid, nothing is reserved, the hub
// holds the fees, everything sums to zero, and each DFSP's books agree
// with its balance.
func checkCrashBalances(s *sw, w *fspiopCrashSetup, ledger map[string]wire.Transfer, books map[string]dfsp.Books) {
	s.t.Helper()
	cny := money.MustCurrency("CNY")
	amt := func(what, v string) int64 {
		a, err := money.Parse(v, cny)
		if err != nil {
			s.t.Fatalf("%s %q: %v", what, v, err)
		}
		return int64(a)
	}
	want := map[string]int64{"payerfsp": crashDeposit, "payeefsp": crashDeposit, "wallet-n": crashDeposit}
	var fees int64
	for id, tr := range ledger {
		switch tr.State {
		case "COMMITTED":
			a, fee := amt(id+" amount", tr.Amount), amt(id+" fee", tr.Fee)
			want[tr.Payer] -= a + fee
			want[tr.Payee.Participant] += a
			fees += fee
		case "ABORTED":
		default:
			s.t.Errorf("transfer %s is %s after the sweep: %+v", id, tr.State, tr)
		}
	}
	var sum int64
	for _, p := range []struct{ id, key string }{{"payerfsp", w.payerKey}, {"payeefsp", w.payeeKey}, {"wallet-n", w.walletKey}} {
		b := s.balance(p.key, p.id)
		bal, res := amt(p.id+" balance", b.Balance), amt(p.id+" reserved", b.Reserved)
		if bal != want[p.id] || res != 0 || amt(p.id+" available", b.Available) != bal {
			s.t.Errorf("%s: balance %s reserved %s available %s; the committed transfers make balance %s, nothing reserved",
				p.id, b.Balance, b.Reserved, b.Available, wireAmount(want[p.id]))
		}
		if bk, ok := books[p.id]; ok {
			if got := crashDeposit - bk.Paid["CNY"] + bk.Received["CNY"]; got != bal {
				s.t.Errorf("%s: its books (%+v) make %s, the switch's balance is %s", p.id, bk, wireAmount(got), b.Balance)
			}
		}
		sum += bal
	}
	h := s.hub()
	if rev := amt("fee revenue", h.FeeRevenue); rev != fees {
		s.t.Errorf("fee revenue %s, the committed transfers' fees %s", h.FeeRevenue, wireAmount(fees))
	}
	if sum += amt("fee revenue", h.FeeRevenue) + amt("settlement bank", h.SettlementBank); sum != 0 {
		s.t.Errorf("the accounts sum to %s, not zero (hub %+v)", wireAmount(sum), h)
	}
}
