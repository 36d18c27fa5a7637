package liquidity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
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
)

// countingAccounts counts the monitor's reads of each account. A read is
// the first thing a check does, which lets a test know that a check
// started after a move (see env.settle).
type countingAccounts struct {
	Accounts
	mu    sync.Mutex
	reads map[ledger.AccountID]int
}

func (c *countingAccounts) Account(ctx context.Context, id ledger.AccountID) (ledger.Account, error) {
	a, err := c.Accounts.Account(ctx, id)
	c.mu.Lock()
	c.reads[id]++
	c.mu.Unlock()
	return a, err
}

func (c *countingAccounts) count(id ledger.AccountID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[id]
}

// notifier records the participants it is woken for, in order.
type notifier struct {
	mu    sync.Mutex
	woken []string
}

func (n *notifier) AlertRaised(p string) {
	n.mu.Lock()
	n.woken = append(n.woken, p)
	n.mu.Unlock()
}

func (n *notifier) count(p string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, w := range n.woken {
		if w == p {
			c++
		}
	}
	return c
}

// env is a monitor on real parts (see testbed) whose durable batches
// reach the monitor as in the app, and whose clock moves only when told,
// so that an alert's At can be compared exactly. fence is a participant
// with a zero threshold (which never alerts) whose checks order the
// test's steps.
type env struct {
	*testbed.Bed
	t     *testing.T
	ctx   context.Context
	clk   *testbed.Clock
	acc   *countingAccounts
	note  *notifier
	mon   atomic.Pointer[Monitor]
	stop  func() // stops the running monitor, if any
	fence participant.Participant
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clk: testbed.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), 0),
		note: &notifier{}}
	e.Bed = testbed.Open(t, testbed.Options{Now: e.clk.Now, OnDurable: func(b []*ledger.Committed) {
		if m := e.mon.Load(); m != nil {
			m.Durable(b)
		}
	}})
	// The monitor stops before the bed closes: cleanups run last first.
	t.Cleanup(func() {
		if e.stop != nil {
			e.stop()
		}
	})
	e.acc = &countingAccounts{Accounts: e.Journal, reads: map[ledger.AccountID]int{}}
	e.fence = e.participant("fence")
	return e
}

// load loads a monitor on the env's database and makes it the one that
// hears of durable batches.
func (e *env) load() *Monitor {
	e.t.Helper()
	m, err := Load(e.ctx, Deps{Accounts: e.acc, Participants: e.Registry, DB: e.DB, Notifier: e.note,
		Log: slog.New(slog.DiscardHandler), Now: e.clk.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.mon.Store(m)
	return m
}

// run runs m until the test ends or stop is called; stop returns once
// Run has returned.
func (e *env) run(m *Monitor) {
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	e.stop = func() {
		cancel()
		<-done
		e.stop = nil
	}
	if _, err := m.Set(e.ctx, e.fence, cny, 0); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) participant(id string) participant.Participant {
	e.t.Helper()
	p, _ := e.Create(participant.New{ID: id, Name: id, Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	return p
}

func (e *env) available(p participant.Participant) money.Amount {
	e.t.Helper()
	a := e.Account(p.Account(cny))
	return a.Available()
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settle waits until the running monitor has read acct more than reads
// times and has finished the check that read it. The monitor checks
// accounts one at a time: once the read is seen, a check of the fence
// account marked now can only run after that check returned, alert and
// notification included.
func (e *env) settle(acct ledger.AccountID, reads int) {
	e.t.Helper()
	waitFor(e.t, "the monitor to check the account", func() bool { return e.acc.count(acct) > reads })
	f := e.fence.Account(cny)
	n := e.acc.count(f)
	if _, err := e.mon.Load().Set(e.ctx, e.fence, cny, 0); err != nil {
		e.t.Fatal(err)
	}
	waitFor(e.t, "the monitor to check the fence", func() bool { return e.acc.count(f) > n })
}

// Operations of a crossing scenario.
const (
	deposit  = "deposit"  // the settlement bank credits the participant
	withdraw = "withdraw" // the participant pays out to the settlement bank
	pay      = "pay"      // a payment to another participant
	reserve  = "reserve"  // a reservation on the participant's account
	abort    = "abort"    // the last reservation is released
	floor    = "floor"    // the net debit cap becomes amount
	set      = "set"      // the threshold becomes amount
)

// step is one operation on the participant and what the monitor should
// say after it: available is the participant's available balance then,
// want the alert raised ("" for none).
type step struct {
	op        string
	amount    money.Amount
	available money.Amount
	want      Kind
}

// TestCrossings moves a participant's balance around its threshold and
// checks that the monitor raises exactly one alert per crossing, with
// what the participant had then, and wakes the notifier once for each.
func TestCrossings(t *testing.T) {
	tests := []struct {
		name      string
		start     money.Amount // deposited before the threshold is set
		threshold money.Amount
		atSet     Kind // the alert of Set's own check
		steps     []step
	}{
		{name: "staying above raises nothing", start: 100_00, threshold: 20_00, steps: []step{
			{withdraw, 30_00, 70_00, ""}, {pay, 40_00, 30_00, ""}, {deposit, 5_00, 35_00, ""}}},
		{name: "one low per crossing down, none while staying below", start: 100_00, threshold: 20_00, steps: []step{
			{withdraw, 85_00, 15_00, Low}, {pay, 5_00, 10_00, ""}, {withdraw, 5_00, 5_00, ""}, {deposit, 1_00, 6_00, ""}}},
		{name: "one restored per crossing up, none while staying above", start: 100_00, threshold: 20_00, steps: []step{
			{pay, 90_00, 10_00, Low}, {deposit, 5_00, 15_00, ""}, {deposit, 40_00, 55_00, Restored}, {deposit, 1_00, 56_00, ""}}},
		{name: "at the threshold is not below", start: 100_00, threshold: 20_00, steps: []step{
			{withdraw, 80_00, 20_00, ""}, {withdraw, 1, 19_99, Low}, {deposit, 1, 20_00, Restored}}},
		{name: "every crossing alerts again", start: 100_00, threshold: 20_00, steps: []step{
			{pay, 90_00, 10_00, Low}, {deposit, 40_00, 50_00, Restored}, {pay, 40_00, 10_00, Low}, {deposit, 20_00, 30_00, Restored}}},
		{name: "already below when set", start: 10_00, threshold: 20_00, atSet: Low, steps: []step{
			{deposit, 50_00, 60_00, Restored}}},
		{name: "a reservation counts against available", start: 100_00, threshold: 20_00, steps: []step{
			{reserve, 90_00, 10_00, Low}, {abort, 0, 100_00, Restored}}},
		{name: "a net debit cap counts towards available", start: 10_00, threshold: 20_00, atSet: Low, steps: []step{
			{floor, 50_00, 60_00, Restored}, {floor, 0, 10_00, Low}}},
		{name: "a new threshold is checked at once", start: 50_00, threshold: 20_00, steps: []step{
			{set, 60_00, 50_00, Low}, {set, 70_00, 50_00, ""}, {set, 40_00, 50_00, Restored}}},
		{name: "a zero threshold never alerts", start: 10_00, threshold: 0, steps: []step{
			{withdraw, 10_00, 0, ""}, {deposit, 5_00, 5_00, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.participant("wallet-a")
			other := e.participant("wallet-b")
			m := e.load()
			e.run(m)
			if tt.start > 0 {
				e.Deposit(p, cny, tt.start)
			}
			acct := p.Account(cny)
			threshold := tt.threshold
			var kinds []Kind
			var last int64
			check := func(what string, available money.Amount, want Kind) {
				t.Helper()
				if got := e.available(p); got != available {
					t.Fatalf("%s: available %d, the table says %d", what, got, available)
				}
				as, err := m.Alerts(e.ctx, p.ID, last, 10)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case want == "" && len(as) != 0:
					t.Fatalf("%s: alerts %+v, want none", what, as)
				case want != "" && len(as) != 1:
					t.Fatalf("%s: alerts %+v, want one %q", what, as, want)
				case want != "":
					a := as[0]
					wantA := Alert{Seq: a.Seq, Participant: p.ID, Currency: cny, Kind: want, Available: available,
						Threshold: threshold, At: e.clk.Now()}
					if a != wantA || a.Seq <= last {
						t.Fatalf("%s: alert %+v, want %+v after seq %d", what, a, wantA, last)
					}
					last = a.Seq
					kinds = append(kinds, want)
				}
				if n := e.note.count(p.ID); n != len(kinds) {
					t.Fatalf("%s: notifier woken %d times for %d alerts", what, n, len(kinds))
				}
			}

			n := e.acc.count(acct)
			th, err := m.Set(e.ctx, p, cny, tt.threshold)
			if err != nil {
				t.Fatal(err)
			}
			// Set answers before its check: Below is not asserted here.
			if th.Participant != p.ID || th.Currency != cny || th.Threshold != tt.threshold {
				t.Fatalf("Set = %+v", th)
			}
			e.settle(acct, n)
			check("set", tt.start, tt.atSet)

			var pending ledger.ID
			for i, s := range tt.steps {
				e.clk.Advance(time.Minute)
				n := e.acc.count(acct)
				switch s.op {
				case deposit:
					e.Deposit(p, cny, s.amount)
				case withdraw:
					e.Submit(ledger.Command{Kind: ledger.KindPost, ID: e.ID(), Debit: acct, Credit: participant.ExternalAccount(cny),
						Amount: s.amount, Purpose: purpose.Withdrawal})
				case pay:
					e.Submit(ledger.Command{Kind: ledger.KindPost, ID: e.ID(), Debit: acct, Credit: other.Account(cny),
						Amount: s.amount, Purpose: purpose.Payment})
				case reserve:
					pending = e.ID()
					e.Submit(ledger.Command{Kind: ledger.KindReserve, ID: pending, Debit: acct, Credit: other.Account(cny),
						Amount: s.amount, Purpose: purpose.Payment, Timeout: time.Hour})
				case abort:
					e.Submit(ledger.Command{Kind: ledger.KindAbort, ID: e.ID(), Pending: pending, Purpose: purpose.Payment})
				case floor:
					e.Submit(ledger.Command{Kind: ledger.KindSetFloor, Account: acct, Floor: s.amount})
				case set:
					if _, err := m.Set(e.ctx, p, cny, s.amount); err != nil {
						t.Fatal(err)
					}
					threshold = s.amount
				}
				e.settle(acct, n)
				check(fmt.Sprintf("step %d (%s %d)", i, s.op, s.amount), s.available, s.want)
			}

			// The alerts are rows of liquidity_alerts, numbered in order.
			rows, err := e.DB.QueryContext(e.ctx, `SELECT seq, kind FROM liquidity_alerts WHERE participant = $1 ORDER BY seq`, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var stored []Kind
			prev := int64(0)
			for rows.Next() {
				var seq int64
				var kind string
				if err := rows.Scan(&seq, &kind); err != nil {
					t.Fatal(err)
				}
				if seq <= prev {
					t.Fatalf("alert seq %d after %d", seq, prev)
				}
				prev = seq
				stored = append(stored, Kind(kind))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(stored, kinds) {
				t.Fatalf("stored alerts %q, want %q", stored, kinds)
			}
			// Get reports the side the participant is on now.
			below := len(kinds) > 0 && kinds[len(kinds)-1] == Low
			if got, ok := m.Get(p, cny); !ok || got.Below != below || got.Threshold != threshold {
				t.Fatalf("Get = %+v, %v; want threshold %d, below %v", got, ok, threshold, below)
			}
			// The other participant, moved by the payments, has no
			// threshold and heard nothing.
			if as, err := m.Alerts(e.ctx, other.ID, 0, 10); err != nil || len(as) != 0 || e.note.count(other.ID) != 0 {
				t.Fatalf("other participant: alerts %+v, %v; woken %d times", as, err, e.note.count(other.ID))
			}
		})
	}
}

// TestSet checks Set's refusals and what it stores.
func TestSet(t *testing.T) {
	e := newEnv(t)
	p := e.participant("wallet-a")
	m := e.load()
	tests := []struct {
		name      string
		currency  money.Currency
		threshold money.Amount
		wantErr   error
	}{
		{"negative", cny, -1, ErrInvalid},
		{"currency not enabled", usd, 10_00, ErrCurrency},
		{"negative in a currency not enabled", usd, -1, ErrInvalid},
		{"positive", cny, 10_00, nil},
		{"changed", cny, 25_00, nil},
		{"zero removes the alert", cny, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, hadBefore := m.Get(p, tt.currency)
			th, err := m.Set(e.ctx, p, tt.currency, tt.threshold)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Set(%s, %d) error %v, want %v", tt.currency, tt.threshold, err, tt.wantErr)
			}
			got, ok := m.Get(p, tt.currency)
			if err != nil {
				// A refusal changes nothing.
				if ok != hadBefore || got != before {
					t.Fatalf("after a refusal Get = %+v, %v; was %+v, %v", got, ok, before, hadBefore)
				}
				return
			}
			want := Threshold{Participant: p.ID, Currency: tt.currency, Threshold: tt.threshold}
			if th != want || !ok || got != want {
				t.Fatalf("Set = %+v, Get = %+v, %v; want %+v", th, got, ok, want)
			}
			var stored int64
			if err := e.DB.QueryRowContext(e.ctx, `SELECT threshold FROM liquidity_thresholds WHERE participant = $1 AND currency = $2`,
				p.ID, tt.currency.String()).Scan(&stored); err != nil || stored != int64(tt.threshold) {
				t.Fatalf("stored threshold %d, %v; want %d", stored, err, tt.threshold)
			}
		})
	}
	// With the alert removed, even an empty account raises nothing.
	n := e.acc.count(p.Account(cny))
	e.run(m)
	e.settle(p.Account(cny), n) // the check Set asked for
	n = e.acc.count(p.Account(cny))
	e.Deposit(p, cny, 1)
	e.Submit(ledger.Command{Kind: ledger.KindPost, ID: e.ID(), Debit: p.Account(cny), Credit: participant.ExternalAccount(cny),
		Amount: 1, Purpose: purpose.Withdrawal})
	e.settle(p.Account(cny), n)
	if as, err := m.Alerts(e.ctx, "", 0, 10); err != nil || len(as) != 0 {
		t.Fatalf("alerts with a zero threshold: %+v, %v", as, err)
	}
}

// TestDurable checks that the journal's hook marks for checking exactly
// the watched accounts that an event touches, as debit, credit or
// account, and wakes Run only when there is something to check.
func TestDurable(t *testing.T) {
	e := newEnv(t)
	a, b, c := e.participant("wallet-a"), e.participant("wallet-b"), e.participant("wallet-c")
	m := e.load()
	for _, p := range []participant.Participant{a, b} {
		if _, err := m.Set(e.ctx, p, cny, 10_00); err != nil {
			t.Fatal(err)
		}
	}
	ext := participant.ExternalAccount(cny)
	A, B, C := a.Account(cny), b.Account(cny), c.Account(cny)
	tests := []struct {
		name   string
		events []ledger.Event
		want   []ledger.AccountID
	}{
		{"nothing", nil, nil},
		{"unwatched accounts only", []ledger.Event{{Kind: ledger.KindPost, Debit: ext, Credit: C}}, nil},
		{"watched credit", []ledger.Event{{Kind: ledger.KindPost, Debit: ext, Credit: A}}, []ledger.AccountID{A}},
		{"watched debit", []ledger.Event{{Kind: ledger.KindReserve, Debit: B, Credit: C}}, []ledger.AccountID{B}},
		{"watched account of an account event", []ledger.Event{{Kind: ledger.KindSetFloor, Account: A}}, []ledger.AccountID{A}},
		{"both sides watched", []ledger.Event{{Kind: ledger.KindPost, Debit: A, Credit: B}}, []ledger.AccountID{A, B}},
		{"one of several events", []ledger.Event{{Kind: ledger.KindPost, Debit: ext, Credit: C}, {Kind: ledger.KindCommit, Debit: C, Credit: B}},
			[]ledger.AccountID{B}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.mu.Lock()
			m.dirty = map[ledger.AccountID]bool{}
			m.mu.Unlock()
			select {
			case <-m.wake:
			default:
			}
			// Split the events over two batches: the hook gets several.
			half := len(tt.events) / 2
			m.Durable([]*ledger.Committed{{Seq: 1, Events: tt.events[:half]}, {Seq: 2, Events: tt.events[half:]}})
			m.mu.Lock()
			var got []ledger.AccountID
			for a := range m.dirty {
				got = append(got, a)
			}
			m.mu.Unlock()
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("marked %v, want %v", got, tt.want)
			}
			woken := false
			select {
			case <-m.wake:
				woken = true
			default:
			}
			if woken != (len(tt.want) > 0) {
				t.Fatalf("woken %v with %d accounts marked", woken, len(tt.want))
			}
		})
	}
}

// TestAlerts checks the alert feed's paging and its per-participant
// filter on stored alerts.
func TestAlerts(t *testing.T) {
	e := newEnv(t)
	m := e.load()
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	// Seqs 1 to 5: a, b, a, b, a.
	for i, r := range []struct {
		p    string
		kind Kind
	}{{"wallet-a", Low}, {"wallet-b", Low}, {"wallet-a", Restored}, {"wallet-b", Restored}, {"wallet-a", Low}} {
		if _, err := e.DB.ExecContext(e.ctx, `INSERT INTO liquidity_alerts (participant, currency, kind, available, threshold, at)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.p, "CNY", string(r.kind), int64(i)*100, 10_00, at.Add(time.Duration(i)*time.Second).UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		participant string
		after       int64
		limit       int
		want        []int64
	}{
		{"operator, first page", "", 0, 2, []int64{1, 2}},
		{"operator, second page", "", 2, 2, []int64{3, 4}},
		{"operator, last page", "", 4, 2, []int64{5}},
		{"operator, past the end", "", 5, 2, nil},
		{"operator, all", "", 0, 100, []int64{1, 2, 3, 4, 5}},
		{"participant, all", "wallet-a", 0, 100, []int64{1, 3, 5}},
		{"participant, after one of its own", "wallet-a", 1, 1, []int64{3}},
		{"participant, after another's", "wallet-a", 3, 1, []int64{5}},
		{"other participant", "wallet-b", 0, 100, []int64{2, 4}},
		{"participant without alerts", "wallet-c", 0, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := m.Alerts(e.ctx, tt.participant, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, a := range as {
				got = append(got, a.Seq)
				if tt.participant != "" && a.Participant != tt.participant {
					t.Errorf("alert %d of %s in %s's feed", a.Seq, a.Participant, tt.participant)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("seqs %v, want %v", got, tt.want)
			}
		})
	}
	// The fields come back as stored.
	as, err := m.Alerts(e.ctx, "", 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := Alert{Seq: 3, Participant: "wallet-a", Currency: cny, Kind: Restored, Available: 2_00, Threshold: 10_00, At: at.Add(2 * time.Second)}
	if len(as) != 1 || as[0] != want {
		t.Fatalf("alert %+v, want %+v", as, want)
	}
}

// TestReload checks that thresholds and the side of each survive a
// restart of the monitor: no second "low" for a participant still below,
// and a crossing that happened while no monitor ran is caught by the
// check at load.
func TestReload(t *testing.T) {
	e := newEnv(t)
	a, b := e.participant("wallet-a"), e.participant("wallet-b")
	m := e.load()
	e.run(m)
	e.Deposit(a, cny, 10_00)
	e.Deposit(b, cny, 10_00)
	for _, p := range []participant.Participant{a, b} {
		n := e.acc.count(p.Account(cny))
		if _, err := m.Set(e.ctx, p, cny, 20_00); err != nil {
			t.Fatal(err)
		}
		e.settle(p.Account(cny), n)
	}
	if as, err := m.Alerts(e.ctx, "", 0, 10); err != nil || len(as) != 2 || as[0].Kind != Low || as[1].Kind != Low {
		t.Fatalf("alerts before the restart: %+v, %v", as, err)
	}
	if n := m.Raised(); n != 2 {
		t.Errorf("Raised = %d before the restart, want 2", n)
	}
	e.stop()
	e.mon.Store(nil)

	// While no monitor runs, b recovers; a stays below.
	e.Deposit(b, cny, 50_00)

	m2 := e.load()
	for _, p := range []participant.Participant{a, b} {
		if got, ok := m2.Get(p, cny); !ok || got != (Threshold{Participant: p.ID, Currency: cny, Threshold: 20_00, Below: true}) {
			t.Fatalf("reloaded threshold of %s: %+v, %v", p.ID, got, ok)
		}
	}
	na, nb := e.acc.count(a.Account(cny)), e.acc.count(b.Account(cny))
	e.run(m2)
	e.settle(a.Account(cny), na)
	e.settle(b.Account(cny), nb)
	as, err := m2.Alerts(e.ctx, "", 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Participant != b.ID || as[0].Kind != Restored || as[0].Available != 60_00 {
		t.Fatalf("alerts after the restart: %+v, want only b restored", as)
	}
	if n := m2.Raised(); n != 1 {
		t.Errorf("Raised = %d after the restart, want 1 (counted since Load)", n)
	}
	// And the new side is what the next restart starts from.
	m3 := e.load()
	if got, _ := m3.Get(b, cny); got.Below {
		t.Fatalf("b after a second reload: %+v", got)
	}
	if got, _ := m3.Get(a, cny); !got.Below {
		t.Fatalf("a after a second reload: %+v", got)
	}
}

// TestLoadRequires checks that Load refuses missing dependencies.
func TestLoadRequires(t *testing.T) {
	e := newEnv(t)
	full := Deps{Accounts: e.acc, Participants: e.Registry, DB: e.DB, Log: slog.New(slog.DiscardHandler)}
	for name, d := range map[string]func(*Deps){
		"accounts":     func(d *Deps) { d.Accounts = nil },
		"participants": func(d *Deps) { d.Participants = nil },
		"database":     func(d *Deps) { d.DB = nil },
		"log":          func(d *Deps) { d.Log = nil },
	} {
		deps := full
		d(&deps)
		if _, err := Load(e.ctx, deps); err == nil {
			t.Errorf("Load without %s: no error", name)
		}
	}
	if _, err := Load(e.ctx, full); err != nil {
		t.Fatalf("Load with everything but notifier and clock: %v", err)
	}
}
