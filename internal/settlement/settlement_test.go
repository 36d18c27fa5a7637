package settlement_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/testbed"
)

var (
	cny = money.MustCurrency("CNY")
	usd = money.MustCurrency("USD")
	eur = money.MustCurrency("EUR")
)

// env is settlement on real parts (see testbed), with participants
// alpha, bravo and charlie in CNY (alpha also in USD), and a clock that
// moves a millisecond at every reading, so that every ledger batch has a
// time of its own, as on a real machine.
//
// Settlement must keep the ledger's books balanced whatever it does, so
// env checks them (testbed's ZeroSum) after each step it takes.
type env struct {
	*testbed.Bed
	t     *testing.T
	ctx   context.Context
	clock *testbed.Clock
	svc   *settlement.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(),
		clock: testbed.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), time.Millisecond)}
	e.Bed = testbed.Open(t, testbed.Options{Now: e.clock.Now})
	e.load()
	for _, n := range []participant.New{
		{ID: "alpha", Name: "Alpha", Kind: participant.Wallet, Currencies: []money.Currency{cny, usd}},
		{ID: "bravo", Name: "Bravo", Kind: participant.Wallet, Currencies: []money.Currency{cny}},
		{ID: "charlie", Name: "Charlie", Kind: participant.Bank, Currencies: []money.Currency{cny}},
	} {
		e.Create(n)
	}
	// The registry was empty when settlement loaded; Sync opens the
	// first window of each currency now in use.
	if err := e.svc.Sync(e.ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// load builds a fresh settlement service on the open ledger and database.
func (e *env) load() {
	e.t.Helper()
	svc, err := settlement.Load(e.ctx, settlement.Deps{Journal: e.Journal, Participants: e.Registry, DB: e.DB, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
	e.ZeroSum()
}

// Restart restarts the bed and loads settlement again on the new parts,
// as a restarted process would.
func (e *env) Restart() {
	e.t.Helper()
	e.Bed.Restart()
	e.load()
}

func (e *env) participant(who string) participant.Participant {
	e.t.Helper()
	p, ok := e.Registry.Get(who)
	if !ok {
		e.t.Fatalf("no participant %s", who)
	}
	return p
}

// accountOf returns the ledger account of participant who in c.
func (e *env) accountOf(who string, c money.Currency) ledger.AccountID {
	e.t.Helper()
	p := e.participant(who)
	return p.Account(c)
}

// submit applies cmds in one batch, requires every one to succeed, and
// returns the first one's timestamp.
func (e *env) submit(cmds ...ledger.Command) int64 {
	e.t.Helper()
	res := e.Submit(cmds...)
	e.ZeroSum()
	return res[0].Timestamp
}

func (e *env) deposit(who string, c money.Currency, amount money.Amount) {
	e.t.Helper()
	e.Deposit(e.participant(who), c, amount)
	e.ZeroSum()
}

// mode is how a payment reaches the ledger.
type mode int

const (
	posted    mode = iota // one phase
	committed             // reserved, then committed
	aborted               // reserved, then aborted: no payment at all
)

// payment is a payment as the switch books it (transfer/leg.go): a
// linked chain of the payment leg, payer → payee, and the fee leg,
// payer → the hub's fee account.
type payment struct {
	from, to string
	amount   money.Amount
	fee      money.Amount
	mode     mode
	currency money.Currency // zero: CNY
}

func (e *env) commands(p payment) []ledger.Command {
	c := p.currency
	if c == 0 {
		c = cny
	}
	legs := []ledger.Command{{Purpose: purpose.Payment, Debit: e.accountOf(p.from, c), Credit: e.accountOf(p.to, c), Amount: p.amount}}
	if p.fee > 0 {
		legs = append(legs, ledger.Command{Purpose: purpose.Fee, Debit: e.accountOf(p.from, c), Credit: participant.FeeAccount(c), Amount: p.fee})
	}
	for i := range legs {
		legs[i].Kind, legs[i].ID, legs[i].Linked = ledger.KindPost, e.ID(), i < len(legs)-1
		if p.mode != posted {
			legs[i].Kind, legs[i].Timeout = ledger.KindReserve, time.Minute
		}
	}
	return legs
}

// pay books p and returns the timestamp of its payment leg (of the
// commit for a two-phase payment).
func (e *env) pay(p payment) int64 {
	e.t.Helper()
	legs := e.commands(p)
	ts := e.submit(legs...)
	if p.mode == posted {
		return ts
	}
	kind := ledger.KindCommit
	if p.mode == aborted {
		kind = ledger.KindAbort
	}
	second := make([]ledger.Command, len(legs))
	for i, l := range legs {
		second[i] = ledger.Command{Kind: kind, ID: e.ID(), Pending: l.ID, Purpose: l.Purpose, Linked: l.Linked}
	}
	return e.submit(second...)
}

func (e *env) close(id string) settlement.Window {
	e.t.Helper()
	w, err := e.svc.Close(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Close(%s): %v", id, err)
	}
	e.ZeroSum()
	return w
}

func (e *env) report(id string) settlement.Report {
	e.t.Helper()
	r, err := e.svc.Report(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Report(%s): %v", id, err)
	}
	return r
}

func (e *env) window(id string) settlement.Window {
	e.t.Helper()
	w, err := e.svc.Window(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Window(%s): %v", id, err)
	}
	return w
}

func (e *env) confirm(id, who string, amount money.Amount) (settlement.Instruction, bool, error) {
	e.t.Helper()
	in, created, err := e.svc.Confirm(e.ctx, id, who, amount)
	e.ZeroSum()
	return in, created, err
}

// instr is an instruction without its confirmation time, to compare.
type instr struct {
	who       string
	dir       settlement.Direction
	amount    money.Amount
	confirmed bool
}

func instrs(ins []settlement.Instruction) []instr {
	var out []instr
	for _, in := range ins {
		out = append(out, instr{in.Participant, in.Direction, in.Amount, in.Confirmed})
	}
	return out
}

func sumNets(ps []settlement.Position) money.Amount {
	var s money.Amount
	for _, p := range ps {
		s += p.Net
	}
	return s
}

func windowIDs(ws []settlement.Window) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

func TestWindowsPerCurrency(t *testing.T) {
	e := newEnv(t)
	fee, err := e.Journal.Account(e.ctx, participant.FeeAccount(cny))
	if err != nil {
		t.Fatal(err)
	}
	// The first window of a currency opened with the currency itself.
	if w := e.window("CNY-1"); w.State != settlement.Open || w.Number != 1 || w.Currency != cny ||
		w.OpenedAt.UnixNano() != fee.Created || !w.ClosedAt.IsZero() || w.Next != "" {
		t.Fatalf("CNY-1 = %+v, want open since %d", w, fee.Created)
	}
	e.deposit("alpha", cny, 1000)
	e.pay(payment{from: "alpha", to: "bravo", amount: 100})
	e.close("CNY-1") // a payment to settle: CLOSED
	e.close("CNY-2") // empty: nothing to settle, SETTLED at once
	all, err := e.svc.CloseAll(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.ZeroSum()
	if got, want := windowIDs(all), []string{"CNY-3", "USD-1"}; !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("CloseAll closed %v, want %v", got, want)
	}

	tests := []struct {
		c     money.Currency
		state settlement.State
		want  []string
	}{
		{0, "", []string{"CNY-4", "CNY-3", "CNY-2", "CNY-1", "USD-2", "USD-1"}},
		{cny, "", []string{"CNY-4", "CNY-3", "CNY-2", "CNY-1"}},
		{usd, "", []string{"USD-2", "USD-1"}},
		{0, settlement.Open, []string{"CNY-4", "USD-2"}},
		{0, settlement.Closed, []string{"CNY-1"}},
		{0, settlement.Settled, []string{"CNY-3", "CNY-2", "USD-1"}},
		{cny, settlement.Settling, nil},
		{eur, "", nil},
	}
	for _, tt := range tests {
		ws, err := e.svc.Windows(e.ctx, tt.c, tt.state)
		if err != nil {
			t.Fatal(err)
		}
		if got := windowIDs(ws); !slices.Equal(got, tt.want) {
			t.Errorf("Windows(%v, %q) = %v, want %v", tt.c, tt.state, got, tt.want)
		}
		for _, w := range ws {
			if w.ID != fmt.Sprintf("%s-%d", w.Currency, w.Number) || (tt.c != 0 && w.Currency != tt.c) || (tt.state != "" && w.State != tt.state) {
				t.Errorf("Windows(%v, %q) holds %+v", tt.c, tt.state, w)
			}
		}
	}

	// Each closed window names the next, which opened where it closed.
	for _, c := range []money.Currency{cny, usd} {
		ws, err := e.svc.Windows(e.ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(ws)
		for i, w := range ws[:len(ws)-1] {
			next := ws[i+1]
			if w.Next != next.ID || !w.ClosedAt.Equal(next.OpenedAt) || w.ClosedAt.Before(w.OpenedAt) {
				t.Errorf("%s (next %q, closed %v) then %s (opened %v)", w.ID, w.Next, w.ClosedAt, next.ID, next.OpenedAt)
			}
		}
		if last := ws[len(ws)-1]; last.State != settlement.Open || last.Next != "" || !last.ClosedAt.IsZero() {
			t.Errorf("last window %+v, want open", last)
		}
	}

	// OpenWindows, for metrics, shows the open ones from memory.
	if ws, err := e.svc.OpenWindows(e.ctx); err != nil || !slices.Equal(windowIDs(ws), []string{"CNY-4", "USD-2"}) {
		t.Errorf("OpenWindows = %v, %v; want [CNY-4 USD-2]", windowIDs(ws), err)
	}

	// A currency new to the switch gets its first window when first seen.
	if _, _, err := e.Registry.Create(e.ctx, participant.New{ID: "delta", Name: "D", Kind: participant.FXP, Currencies: []money.Currency{eur}}); err != nil {
		t.Fatal(err)
	}
	// OpenWindows shows it before Sync records it, as Sync will.
	open, err := e.svc.OpenWindows(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := e.svc.Windows(e.ctx, eur, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := windowIDs(open); !slices.Equal(got, []string{"CNY-4", "EUR-1", "USD-2"}) || open[1] != ws[0] {
		t.Errorf("OpenWindows before the EUR window was recorded: %+v, then %+v", open, ws)
	}
	if got := windowIDs(ws); !slices.Equal(got, []string{"EUR-1"}) || ws[0].State != settlement.Open {
		t.Errorf("EUR windows %v, want EUR-1 open", ws)
	}
}

func TestUnknownWindows(t *testing.T) {
	e := newEnv(t)
	e.deposit("alpha", cny, 1000)
	e.pay(payment{from: "alpha", to: "bravo", amount: 100})
	e.close("CNY-1")
	// Other spellings of an existing window's number ("CNY-01") name no
	// window: a confirmation under one would be a second settlement.
	for _, id := range []string{"CNY-0", "CNY-3", "CNY--1", "cny-1", "CNY1", "CNY-", "-1", "", "CNY-1x", "XYZ-1", "EUR-1", "USD-2", "CNY-1-1",
		"CNY-01", "CNY-+1", "CNY-001"} {
		_, errWindow := e.svc.Window(e.ctx, id)
		_, errClose := e.svc.Close(e.ctx, id)
		_, errReport := e.svc.Report(e.ctx, id)
		_, _, errConfirm := e.confirm(id, "alpha", 0)
		for op, err := range map[string]error{"Window": errWindow, "Close": errClose, "Report": errReport, "Confirm": errConfirm} {
			if !errors.Is(err, settlement.ErrNotFound) || fault.KindOf(err) != fault.NotFound {
				t.Errorf("%s(%q) = %v, want ErrNotFound", op, id, err)
			}
		}
	}
	// None of them opened or closed anything.
	ws, err := e.svc.Windows(e.ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := windowIDs(ws), []string{"CNY-2", "CNY-1", "USD-1"}; !slices.Equal(got, want) {
		t.Errorf("windows %v, want %v", got, want)
	}
}

func TestCloseIsIdempotentAndSplitsPayments(t *testing.T) {
	e := newEnv(t)
	e.deposit("alpha", cny, 10_000)
	e.deposit("bravo", cny, 10_000)
	before := e.pay(payment{from: "alpha", to: "bravo", amount: 100, fee: 1})

	w1 := e.close("CNY-1")
	after := e.pay(payment{from: "bravo", to: "charlie", amount: 40})
	if w1.State != settlement.Closed || w1.Next != "CNY-2" || w1.ClosedAt.UnixNano() <= before || w1.ClosedAt.UnixNano() >= after {
		t.Fatalf("Close(CNY-1) = %+v; payments at %d and %d", w1, before, after)
	}
	// Closing a closed window changes nothing and opens nothing.
	if again := e.close("CNY-1"); again != w1 {
		t.Errorf("second Close(CNY-1) = %+v, want %+v", again, w1)
	}
	if _, err := e.svc.Window(e.ctx, "CNY-3"); !errors.Is(err, settlement.ErrNotFound) {
		t.Errorf("Window(CNY-3) = %v after closing CNY-1 twice, want ErrNotFound", err)
	}
	w2 := e.window("CNY-2")
	if w2.State != settlement.Open || !w2.OpenedAt.Equal(w1.ClosedAt) {
		t.Errorf("CNY-2 = %+v, want open at %v", w2, w1.ClosedAt)
	}
	// The open window has no report yet.
	if _, err := e.svc.Report(e.ctx, "CNY-2"); !errors.Is(err, settlement.ErrOpen) || fault.KindOf(err) != fault.Conflict {
		t.Errorf("Report(CNY-2) = %v, want ErrOpen", err)
	}
	e.close("CNY-2")

	// Each payment lands in the window open when it committed, and only there.
	tests := []struct {
		window string
		want   []settlement.Position
	}{
		{"CNY-1", []settlement.Position{
			{Participant: "alpha", Sent: 100, Fees: 1, Net: -101, Transfers: 1},
			{Participant: "bravo", Received: 100, Net: 100, Transfers: 1},
			{Participant: settlement.Hub, Received: 1, Net: 1},
		}},
		{"CNY-2", []settlement.Position{
			{Participant: "bravo", Sent: 40, Net: -40, Transfers: 1},
			{Participant: "charlie", Received: 40, Net: 40, Transfers: 1},
		}},
	}
	for _, tt := range tests {
		if got := e.report(tt.window).Positions; !slices.Equal(got, tt.want) {
			t.Errorf("%s positions\n%+v\nwant\n%+v", tt.window, got, tt.want)
		}
	}
}

func TestCloseWhilePaying(t *testing.T) {
	// Payments racing a close land in exactly one window: the writer's
	// order puts each before or after the mark.
	e := newEnv(t)
	e.deposit("alpha", cny, 100_000)
	const n = 40
	cmds := make([][]ledger.Command, n)
	for i := range cmds {
		cmds[i] = e.commands(payment{from: "alpha", to: "bravo", amount: money.Amount(i + 1), fee: 1})
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Journal.Submit(e.ctx, cmds[i])
			if err == nil && res[0].Status != ledger.StatusOK {
				err = res[0].Status.Err()
			}
			errs <- err
		}()
		if i == n/2 {
			if _, err := e.svc.Close(e.ctx, "CNY-1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	e.close("CNY-2")
	e.ZeroSum()
	var transfers int64
	var volume, fees money.Amount
	for _, id := range []string{"CNY-1", "CNY-2"} {
		r := e.report(id)
		transfers += r.Transfers
		volume += r.Volume
		fees += r.HubFees
		if s := sumNets(r.Positions); s != 0 {
			t.Errorf("%s nets sum to %d", id, s)
		}
	}
	if want := money.Amount(n * (n + 1) / 2); transfers != n || volume != want || fees != n {
		t.Errorf("the two windows hold %d payments of %d with %d fees, want %d of %d with %d", transfers, volume, fees, n, want, n)
	}
}

func TestPositionsAndReport(t *testing.T) {
	tests := []struct {
		name      string
		payments  []payment
		positions []settlement.Position
		instr     []instr
		hubFees   money.Amount
		transfers int64
		volume    money.Amount
		state     settlement.State
	}{{
		name:  "no payments: nothing to settle",
		state: settlement.Settled,
	}, {
		name:     "one payment without a fee",
		payments: []payment{{from: "alpha", to: "bravo", amount: 100}},
		positions: []settlement.Position{
			{Participant: "alpha", Sent: 100, Net: -100, Transfers: 1},
			{Participant: "bravo", Received: 100, Net: 100, Transfers: 1},
		},
		instr:     []instr{{"alpha", settlement.Pay, 100, false}, {"bravo", settlement.Receive, 100, false}},
		transfers: 1, volume: 100, state: settlement.Closed,
	}, {
		name:     "one payment with a fee: the hub's line",
		payments: []payment{{from: "alpha", to: "bravo", amount: 100, fee: 5}},
		positions: []settlement.Position{
			{Participant: "alpha", Sent: 100, Fees: 5, Net: -105, Transfers: 1},
			{Participant: "bravo", Received: 100, Net: 100, Transfers: 1},
			{Participant: settlement.Hub, Received: 5, Net: 5},
		},
		instr: []instr{
			{"alpha", settlement.Pay, 105, false}, {"bravo", settlement.Receive, 100, false},
			{settlement.Hub, settlement.Receive, 5, false},
		},
		hubFees: 5, transfers: 1, volume: 100, state: settlement.Closed,
	}, {
		name: "payments that cancel out: zero nets get no instruction",
		payments: []payment{
			{from: "alpha", to: "bravo", amount: 70},
			{from: "bravo", to: "alpha", amount: 30},
			{from: "bravo", to: "alpha", amount: 40},
		},
		positions: []settlement.Position{
			{Participant: "alpha", Sent: 70, Received: 70, Net: 0, Transfers: 3},
			{Participant: "bravo", Sent: 70, Received: 70, Net: 0, Transfers: 3},
		},
		transfers: 3, volume: 140, state: settlement.Settled,
	}, {
		name: "a triangle with fees",
		payments: []payment{
			{from: "alpha", to: "bravo", amount: 100, fee: 1},
			{from: "bravo", to: "charlie", amount: 50, fee: 1},
			{from: "charlie", to: "alpha", amount: 30},
		},
		positions: []settlement.Position{
			{Participant: "alpha", Sent: 100, Received: 30, Fees: 1, Net: -71, Transfers: 2},
			{Participant: "bravo", Sent: 50, Received: 100, Fees: 1, Net: 49, Transfers: 2},
			{Participant: "charlie", Sent: 30, Received: 50, Net: 20, Transfers: 2},
			{Participant: settlement.Hub, Received: 2, Net: 2},
		},
		instr: []instr{
			{"alpha", settlement.Pay, 71, false}, {"bravo", settlement.Receive, 49, false},
			{"charlie", settlement.Receive, 20, false}, {settlement.Hub, settlement.Receive, 2, false},
		},
		hubFees: 2, transfers: 3, volume: 180, state: settlement.Closed,
	}, {
		name: "only the hub is owed: every participant nets to its fees",
		payments: []payment{
			{from: "alpha", to: "bravo", amount: 10, fee: 3},
			{from: "bravo", to: "alpha", amount: 13},
		},
		positions: []settlement.Position{
			{Participant: "alpha", Sent: 10, Received: 13, Fees: 3, Net: 0, Transfers: 2},
			{Participant: "bravo", Sent: 13, Received: 10, Net: -3, Transfers: 2},
			{Participant: settlement.Hub, Received: 3, Net: 3},
		},
		instr:   []instr{{"bravo", settlement.Pay, 3, false}, {settlement.Hub, settlement.Receive, 3, false}},
		hubFees: 3, transfers: 2, volume: 23, state: settlement.Closed,
	}, {
		name: "two-phase payments count when committed, not when aborted",
		payments: []payment{
			{from: "alpha", to: "charlie", amount: 200, fee: 2, mode: committed},
			{from: "alpha", to: "bravo", amount: 999, fee: 9, mode: aborted},
			{from: "charlie", to: "bravo", amount: 50, fee: 1, mode: aborted},
		},
		positions: []settlement.Position{
			{Participant: "alpha", Sent: 200, Fees: 2, Net: -202, Transfers: 1},
			{Participant: "charlie", Received: 200, Net: 200, Transfers: 1},
			{Participant: settlement.Hub, Received: 2, Net: 2},
		},
		instr: []instr{
			{"alpha", settlement.Pay, 202, false}, {"charlie", settlement.Receive, 200, false},
			{settlement.Hub, settlement.Receive, 2, false},
		},
		hubFees: 2, transfers: 1, volume: 200, state: settlement.Closed,
	}, {
		name: "payments in another currency stay out",
		payments: []payment{
			{from: "alpha", to: "bravo", amount: 5},
			{from: "alpha", to: "echo", amount: 700, fee: 7, currency: usd},
		},
		positions: []settlement.Position{
			{Participant: "alpha", Sent: 5, Net: -5, Transfers: 1},
			{Participant: "bravo", Received: 5, Net: 5, Transfers: 1},
		},
		instr:     []instr{{"alpha", settlement.Pay, 5, false}, {"bravo", settlement.Receive, 5, false}},
		transfers: 1, volume: 5, state: settlement.Closed,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			// Deposits are not payments: they must not show in positions.
			for _, who := range []string{"alpha", "bravo", "charlie"} {
				e.deposit(who, cny, 10_000)
			}
			e.deposit("alpha", usd, 10_000)
			if _, _, err := e.Registry.Create(e.ctx, participant.New{ID: "echo", Name: "E", Kind: participant.Wallet, Currencies: []money.Currency{usd}}); err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.payments {
				e.pay(p)
			}

			got, err := e.svc.Positions(e.ctx, cny, 0, math.MaxInt64)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.positions) {
				t.Errorf("Positions\n%+v\nwant\n%+v", got, tt.positions)
			}
			if s := sumNets(got); s != 0 {
				t.Errorf("nets sum to %d, want 0", s)
			}

			e.close("CNY-1")
			r := e.report("CNY-1")
			if !slices.Equal(r.Positions, tt.positions) {
				t.Errorf("report positions\n%+v\nwant\n%+v", r.Positions, tt.positions)
			}
			if g := instrs(r.Instructions); !slices.Equal(g, tt.instr) {
				t.Errorf("instructions %+v, want %+v", g, tt.instr)
			}
			if r.HubFees != tt.hubFees || r.Transfers != tt.transfers || r.Volume != tt.volume {
				t.Errorf("hub fees %d, transfers %d, volume %d; want %d, %d, %d",
					r.HubFees, r.Transfers, r.Volume, tt.hubFees, tt.transfers, tt.volume)
			}
			if r.Window.State != tt.state || e.window("CNY-1").State != tt.state {
				t.Errorf("state %s, window %s; want %s", r.Window.State, e.window("CNY-1").State, tt.state)
			}
			// What the instructions move in and out nets to zero: the
			// settlement bank pays out exactly what it takes in.
			var flow money.Amount
			for _, in := range r.Instructions {
				if in.Direction == settlement.Pay {
					flow += in.Amount
				} else {
					flow -= in.Amount
				}
			}
			if flow != 0 {
				t.Errorf("instructions take in %d more than they pay out", flow)
			}
		})
	}
}

func TestConfirm(t *testing.T) {
	e := newEnv(t)
	deposits := map[string]money.Amount{"alpha": 1000, "bravo": 500, "charlie": 0}
	for who, a := range deposits {
		if a > 0 {
			e.deposit(who, cny, a)
		}
	}
	for _, p := range []payment{
		{from: "alpha", to: "bravo", amount: 100, fee: 1},
		{from: "bravo", to: "charlie", amount: 50, fee: 1},
		{from: "charlie", to: "alpha", amount: 30},
	} {
		e.pay(p)
	}
	e.close("CNY-1")
	if got := e.report("CNY-1").Window.State; got != settlement.Closed {
		t.Fatalf("state %s, want CLOSED", got)
	}

	// Each instruction of the triangle in turn, every one twice: the
	// second call finds the first's transfer and moves nothing.
	steps := []struct {
		who    string
		amount money.Amount // 0: whatever the instruction says
		dir    settlement.Direction
		want   money.Amount
		state  settlement.State
	}{
		{"alpha", 71, settlement.Pay, 71, settlement.Settling},
		{"bravo", 0, settlement.Receive, 49, settlement.Settling},
		{"hub", 2, settlement.Receive, 2, settlement.Settling},
		{"charlie", 20, settlement.Receive, 20, settlement.Settled},
	}
	for _, s := range steps {
		in, created, err := e.confirm("CNY-1", s.who, s.amount)
		if err != nil || !created {
			t.Fatalf("Confirm(%s) = %v, created %t", s.who, err, created)
		}
		if in.Participant != s.who || in.Direction != s.dir || in.Amount != s.want || !in.Confirmed || in.ConfirmedAt.IsZero() {
			t.Errorf("Confirm(%s) = %+v", s.who, in)
		}
		again, created, err := e.confirm("CNY-1", s.who, 0)
		if err != nil || created || again != in {
			t.Errorf("second Confirm(%s) = %+v, created %t, %v; want %+v, false", s.who, again, created, err, in)
		}
		r := e.report("CNY-1")
		if r.Window.State != s.state || e.window("CNY-1").State != s.state {
			t.Errorf("after confirming %s: state %s, window %s; want %s", s.who, r.Window.State, e.window("CNY-1").State, s.state)
		}
		i := slices.IndexFunc(r.Instructions, func(x settlement.Instruction) bool { return x.Participant == s.who })
		if i < 0 || !r.Instructions[i].Confirmed || !r.Instructions[i].ConfirmedAt.Equal(in.ConfirmedAt) {
			t.Errorf("after confirming %s the report says %+v", s.who, r.Instructions)
		}
		ws, err := e.svc.Windows(e.ctx, cny, s.state)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(windowIDs(ws), "CNY-1") {
			t.Errorf("Windows(CNY, %s) = %v, want CNY-1 among them", s.state, windowIDs(ws))
		}
	}
	// Settled, every participant holds at the hub what it deposited, and
	// the hub's fee revenue has gone out to it.
	for who, a := range deposits {
		if got := e.Account(e.accountOf(who, cny)).Balance; got != a {
			t.Errorf("%s holds %d after settlement, want its deposit %d", who, got, a)
		}
	}
	if got := e.Account(participant.FeeAccount(cny)).Balance; got != 0 {
		t.Errorf("fee account holds %d after settlement, want 0", got)
	}
	// Positions never count settlement transfers as payments.
	got, err := e.svc.Positions(e.ctx, cny, 0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.report("CNY-1").Positions; !slices.Equal(got, want) {
		t.Errorf("positions over all time %+v, want the window's %+v", got, want)
	}
}

func TestConfirmErrors(t *testing.T) {
	e := newEnv(t)
	e.deposit("alpha", cny, 1000)
	e.deposit("bravo", cny, 1000)
	e.pay(payment{from: "alpha", to: "bravo", amount: 100, fee: 1})
	e.pay(payment{from: "bravo", to: "alpha", amount: 60})
	e.deposit("charlie", cny, 10)
	e.pay(payment{from: "charlie", to: "alpha", amount: 1})
	e.close("CNY-1")
	// alpha: −100 −1 +60 +1 = −40 (pays 40); bravo: +100 −60 = +40
	// (receives 40); charlie: −1 (pays 1); the hub: +1.
	tests := []struct {
		name   string
		window string
		who    string
		amount money.Amount
		want   error
		kind   fault.Kind
	}{
		{"unknown window", "CNY-7", "alpha", 0, settlement.ErrNotFound, fault.NotFound},
		{"open window", "CNY-2", "alpha", 0, settlement.ErrOpen, fault.Conflict},
		{"open window of another currency", "USD-1", "alpha", 0, settlement.ErrOpen, fault.Conflict},
		{"unknown participant", "CNY-1", "zulu", 0, settlement.ErrNotFound, fault.NotFound},
		{"participant without an instruction", "CNY-1", "echo", 0, settlement.ErrNotFound, fault.NotFound},
		{"amount too small", "CNY-1", "alpha", 39, settlement.ErrAmount, fault.Refused},
		{"amount too large", "CNY-1", "alpha", 41, settlement.ErrAmount, fault.Refused},
		{"amount negative", "CNY-1", "bravo", -40, settlement.ErrAmount, fault.Refused},
		{"hub amount wrong", "CNY-1", settlement.Hub, 2, settlement.ErrAmount, fault.Refused},
	}
	if _, _, err := e.Registry.Create(e.ctx, participant.New{ID: "echo", Name: "E", Kind: participant.Wallet, Currencies: []money.Currency{cny}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := e.Journal.Accounts(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			in, created, err := e.confirm(tt.window, tt.who, tt.amount)
			if !errors.Is(err, tt.want) || fault.KindOf(err) != tt.kind {
				t.Fatalf("Confirm(%s, %s, %d) = %+v, %t, %v; want %v (%v)", tt.window, tt.who, tt.amount, in, created, err, tt.want, tt.kind)
			}
			after, err := e.Journal.Accounts(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(before, after) {
				t.Errorf("a refused confirmation moved money")
			}
		})
	}
	r := e.report("CNY-1")
	if want := []instr{{"alpha", settlement.Pay, 40, false}, {"bravo", settlement.Receive, 40, false},
		{"charlie", settlement.Pay, 1, false}, {settlement.Hub, settlement.Receive, 1, false}}; !slices.Equal(instrs(r.Instructions), want) {
		t.Errorf("instructions %+v, want %+v", instrs(r.Instructions), want)
	}
	if r.Window.State != settlement.Closed {
		t.Errorf("state %s after refusals only, want CLOSED", r.Window.State)
	}
}

func TestConfirmInsufficientFunds(t *testing.T) {
	// bravo is owed 100 from window 1, but spends it in window 2 before
	// the settlement bank pays it out: the payout would take its balance
	// below zero, and is refused until it has the funds again.
	e := newEnv(t)
	e.deposit("alpha", cny, 100)
	e.pay(payment{from: "alpha", to: "bravo", amount: 100})
	e.close("CNY-1")
	e.pay(payment{from: "bravo", to: "charlie", amount: 80})

	_, created, err := e.confirm("CNY-1", "bravo", 100)
	if !errors.Is(err, settlement.ErrInsufficientFunds) || fault.KindOf(err) != fault.Refused || created {
		t.Fatalf("Confirm(bravo) = %t, %v; want ErrInsufficientFunds", created, err)
	}
	r := e.report("CNY-1")
	if r.Window.State != settlement.Closed || slices.ContainsFunc(r.Instructions, func(in settlement.Instruction) bool { return in.Confirmed }) {
		t.Errorf("after a refused payout: %s, %+v", r.Window.State, r.Instructions)
	}
	// The payer's side never lacks funds: it is paid in from outside.
	if _, created, err := e.confirm("CNY-1", "alpha", 100); err != nil || !created {
		t.Fatalf("Confirm(alpha) = %t, %v", created, err)
	}
	if got := e.report("CNY-1").Window.State; got != settlement.Settling {
		t.Errorf("state %s, want SETTLING", got)
	}
	e.deposit("bravo", cny, 80)
	if in, created, err := e.confirm("CNY-1", "bravo", 100); err != nil || !created || in.Amount != 100 {
		t.Fatalf("Confirm(bravo) with funds = %+v, %t, %v", in, created, err)
	}
	if got := e.report("CNY-1").Window.State; got != settlement.Settled {
		t.Errorf("state %s, want SETTLED", got)
	}
	if got := e.Account(e.accountOf("bravo", cny)).Balance; got != 0 {
		t.Errorf("bravo holds %d, want 0", got)
	}
}

func TestRecoverInterruptedClose(t *testing.T) {
	// A crash between the close mark reaching the ledger and its result
	// reaching the database: the mark, submitted here directly, decides
	// the window's end, and Sync or a fresh Load records it.
	for _, how := range []string{"sync", "load", "restart"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			e.deposit("alpha", cny, 1000)
			e.pay(payment{from: "alpha", to: "bravo", amount: 100, fee: 1})
			w := e.window("CNY-1")
			mark := e.submit(settlement.CloseCommand(w))
			e.pay(payment{from: "alpha", to: "charlie", amount: 7})

			switch how {
			case "sync":
				if err := e.svc.Sync(e.ctx); err != nil {
					t.Fatal(err)
				}
			case "load":
				e.load()
			case "restart":
				e.Restart()
			}
			w1 := e.window("CNY-1")
			if w1.State != settlement.Closed || w1.ClosedAt.UnixNano() != mark || w1.Next != "CNY-2" {
				t.Fatalf("CNY-1 = %+v, want closed at the mark %d", w1, mark)
			}
			if w2 := e.window("CNY-2"); w2.State != settlement.Open || w2.OpenedAt.UnixNano() != mark {
				t.Fatalf("CNY-2 = %+v, want open at the mark %d", w2, mark)
			}
			if got, want := e.report("CNY-1").Positions, []settlement.Position{
				{Participant: "alpha", Sent: 100, Fees: 1, Net: -101, Transfers: 1},
				{Participant: "bravo", Received: 100, Net: 100, Transfers: 1},
				{Participant: settlement.Hub, Received: 1, Net: 1},
			}; !slices.Equal(got, want) {
				t.Errorf("CNY-1 positions %+v, want %+v", got, want)
			}
			// Recovery is done once: loading again finds nothing to finish.
			e.load()
			e.close("CNY-2")
			if got, want := e.report("CNY-2").Positions, []settlement.Position{
				{Participant: "alpha", Sent: 7, Net: -7, Transfers: 1},
				{Participant: "charlie", Received: 7, Net: 7, Transfers: 1},
			}; !slices.Equal(got, want) {
				t.Errorf("CNY-2 positions %+v, want %+v", got, want)
			}
			ws, err := e.svc.Windows(e.ctx, cny, "")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := windowIDs(ws), []string{"CNY-3", "CNY-2", "CNY-1"}; !slices.Equal(got, want) {
				t.Errorf("windows %v, want %v", got, want)
			}
		})
	}
}

func TestRestartKeepsWindowsAndConfirmations(t *testing.T) {
	e := newEnv(t)
	e.deposit("alpha", cny, 1000)
	e.pay(payment{from: "alpha", to: "bravo", amount: 300, fee: 3})
	e.close("CNY-1")
	if _, _, err := e.confirm("CNY-1", "alpha", 303); err != nil {
		t.Fatal(err)
	}
	e.pay(payment{from: "bravo", to: "charlie", amount: 10})
	before, err := e.svc.Windows(e.ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	report := e.report("CNY-1")

	e.Restart()
	after, err := e.svc.Windows(e.ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("windows %v after the restart, want %v", windowIDs(after), windowIDs(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.ID != b.ID || a.Currency != b.Currency || a.Number != b.Number || a.State != b.State || a.Next != b.Next ||
			!a.OpenedAt.Equal(b.OpenedAt) || !a.ClosedAt.Equal(b.ClosedAt) {
			t.Errorf("after the restart %+v, want %+v", a, b)
		}
	}
	got := e.report("CNY-1")
	if !slices.Equal(got.Positions, report.Positions) || !slices.Equal(instrs(got.Instructions), instrs(report.Instructions)) ||
		got.Window.State != settlement.Settling || !got.Instructions[0].ConfirmedAt.Equal(report.Instructions[0].ConfirmedAt) {
		t.Errorf("report after the restart %+v, want %+v", got, report)
	}
	// The open window goes on where it was: the payment after the close
	// is in CNY-2.
	e.close("CNY-2")
	if got := e.report("CNY-2"); got.Transfers != 1 || got.Volume != 10 {
		t.Errorf("CNY-2 holds %d payments of %d, want 1 of 10", got.Transfers, got.Volume)
	}
}

func TestErrorKinds(t *testing.T) {
	// The API answers by kind: these decide between 404, 409 and 422.
	tests := []struct {
		err  error
		kind fault.Kind
	}{
		{settlement.ErrNotFound, fault.NotFound},
		{settlement.ErrOpen, fault.Conflict},
		{settlement.ErrAmount, fault.Refused},
		{settlement.ErrInsufficientFunds, fault.Refused},
	}
	for _, tt := range tests {
		if got := fault.KindOf(tt.err); got != tt.kind {
			t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.kind)
		}
	}
}

// TestFXPositionsPerCurrency: an FX payment's chain — payment and
// fx-fee to the provider in the payer's currency, the scheme fee, and
// the fx leg from the provider to the payee in the payee's — is settled
// in each currency's own window: the provider receives in one and pays
// in the other, and each window's nets sum to zero.
func TestFXPositionsPerCurrency(t *testing.T) {
	e := newEnv(t)
	for _, n := range []participant.New{
		{ID: "fxp", Name: "FX", Kind: participant.FXP, Currencies: []money.Currency{cny, usd}},
		{ID: "usdw", Name: "USD wallet", Kind: participant.Wallet, Currencies: []money.Currency{usd}},
	} {
		e.Create(n)
	}
	if err := e.svc.Sync(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.deposit("bravo", cny, 10_000)
	e.deposit("fxp", usd, 10_000)
	for _, m := range []mode{posted, committed, aborted} {
		legs := []ledger.Command{
			{Purpose: purpose.Payment, Debit: e.accountOf("bravo", cny), Credit: e.accountOf("fxp", cny), Amount: 1000},
			{Purpose: purpose.Fee, Debit: e.accountOf("bravo", cny), Credit: participant.FeeAccount(cny), Amount: 10},
			{Purpose: purpose.FXFee, Debit: e.accountOf("bravo", cny), Credit: e.accountOf("fxp", cny), Amount: 5},
			{Purpose: purpose.FX, Debit: e.accountOf("fxp", usd), Credit: e.accountOf("usdw", usd), Amount: 140},
		}
		for i := range legs {
			legs[i].Kind, legs[i].ID, legs[i].Linked = ledger.KindPost, e.ID(), i < len(legs)-1
			if m != posted {
				legs[i].Kind, legs[i].Timeout = ledger.KindReserve, time.Minute
			}
		}
		e.submit(legs...)
		if m == posted {
			continue
		}
		kind := ledger.KindCommit
		if m == aborted {
			kind = ledger.KindAbort
		}
		second := make([]ledger.Command, len(legs))
		for i, l := range legs {
			second[i] = ledger.Command{Kind: kind, ID: e.ID(), Pending: l.ID, Purpose: l.Purpose, Linked: l.Linked}
		}
		e.submit(second...)
	}
	e.close("CNY-1")
	e.close("USD-1")
	for _, tt := range []struct {
		window string
		want   []settlement.Position
	}{
		{"CNY-1", []settlement.Position{
			{Participant: "bravo", Sent: 2000, Fees: 30, Net: -2030, Transfers: 2},
			{Participant: "fxp", Received: 2010, Net: 2010, Transfers: 2},
			{Participant: settlement.Hub, Received: 20, Net: 20},
		}},
		{"USD-1", []settlement.Position{
			{Participant: "fxp", Sent: 280, Net: -280, Transfers: 2},
			{Participant: "usdw", Received: 280, Net: 280, Transfers: 2},
		}},
	} {
		r := e.report(tt.window)
		got := slices.Clone(r.Positions)
		slices.SortFunc(got, func(a, b settlement.Position) int { return strings.Compare(a.Participant, b.Participant) })
		want := slices.Clone(tt.want)
		slices.SortFunc(want, func(a, b settlement.Position) int { return strings.Compare(a.Participant, b.Participant) })
		if !slices.Equal(got, want) {
			t.Errorf("%s positions\n got %+v\nwant %+v", tt.window, got, want)
		}
		if s := sumNets(r.Positions); s != 0 {
			t.Errorf("%s nets sum to %d", tt.window, s)
		}
	}
}
