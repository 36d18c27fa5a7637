package transfer

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store"
)

var cny = money.MustCurrency("CNY")

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a payment flow on real parts: an embedded ledger, SQLite,
// the participant registry, the directory and fee schedules, with
// wallets a and b (notify mode) and bank c (confirm mode), each with
// 1,000.00 CNY, and aliases "WALLET a:1", "b:1" and "c:1".
type fixture struct {
	t       testing.TB
	ctx     context.Context
	clk     *clock
	j       *journal.Journal
	reg     *participant.Registry
	dir     *directory.Directory
	fees    *quote.Fees
	signer  *quote.Signer
	s       *Service
	a, b, c participant.Participant
}

func newFixture(t testing.TB, deps func(*Deps)) *fixture {
	t.Helper()
	ctx := context.Background()
	d := t.TempDir()
	clk := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	st, err := store.Open(d, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(ctx, st, journal.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(d, "hulian.db"))
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(db, directory.Options{})
	t.Cleanup(func() {
		j.Close()
		dir.Close()
		st.Close()
		db.Close()
	})
	reg, err := participant.Load(ctx, db, j, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	fees, err := quote.LoadFees(ctx, db, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := quote.NewSigner(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, clk: clk, j: j, reg: reg, dir: dir, fees: fees, signer: signer}
	f.a = f.participant("wallet-a", participant.Notify)
	f.b = f.participant("wallet-b", participant.Notify)
	f.c = f.participant("bank-c", participant.Confirm)
	for _, p := range []participant.Participant{f.a, f.b, f.c} {
		f.deposit(p, 100000)
		alias := p.ID[len(p.ID)-1:] + ":1"
		if _, _, err := dir.Register(ctx, directory.Party{Type: directory.WALLET, Value: alias, Participant: p.ID,
			Name: "User " + alias, Account: "acct-" + alias, Currency: cny}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fees.Set(ctx, quote.Schedule{Currency: cny, Fixed: 10, RateBPS: 10, Min: 10, Max: 500}); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	cfg.EnsureDefaults()
	cfg.ConfirmTimeout = 300 * time.Millisecond
	dp := Deps{Journal: j, Participants: reg, Directory: dir, Fees: fees, Signer: signer, Now: clk.now}
	if deps != nil {
		deps(&dp)
	}
	if f.s, err = New(cfg, dp); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) participant(id string, acc participant.Acceptance) participant.Participant {
	f.t.Helper()
	n := participant.New{ID: id, Name: id, Kind: participant.Wallet, Currencies: []money.Currency{cny}, Acceptance: acc}
	if acc == participant.Confirm {
		n.CallbackURL = "http://127.0.0.1:9/unused"
	}
	p, _, err := f.reg.Create(f.ctx, n)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) deposit(p participant.Participant, amount money.Amount) {
	f.t.Helper()
	if _, _, err := f.s0().MoveFunds(f.ctx, p, Funds{Currency: cny, Amount: amount, Direction: Deposit}); err != nil {
		f.t.Fatal(err)
	}
}

// s0 is a service for set-up before f.s exists.
func (f *fixture) s0() *Service {
	if f.s != nil {
		return f.s
	}
	return &Service{Deps: Deps{Journal: f.j, Participants: f.reg}}
}

// account returns a ledger account's state.
func (f *fixture) account(id ledger.AccountID) ledger.Account {
	f.t.Helper()
	a, err := f.j.Account(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// zeroSum checks that the balances of CNY sum to zero: every change was
// a balanced double entry.
func (f *fixture) zeroSum() {
	f.t.Helper()
	accts, err := f.j.Accounts(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	var sum money.Amount
	for _, a := range accts {
		if a.Currency == cny {
			sum += a.Balance
		}
	}
	if sum != 0 {
		f.t.Fatalf("CNY balances sum to %d, not zero", sum)
	}
}

// req is a payment request to a WALLET alias.
func req(id, alias string, amount money.Amount) Request {
	return Request{ID: id, PayeeType: "WALLET", PayeeValue: alias, Amount: amount, Currency: cny}
}

// legEvents returns the purposes of the ledger events of a payment's
// chain, found by the first leg's id.
func (f *fixture) legEvents(clientID string) []uint16 {
	f.t.Helper()
	jt, err := f.j.Transfer(f.ctx, LedgerID(clientID))
	if err != nil {
		f.t.Fatal(err)
	}
	legs, err := f.s.storedLegs(f.ctx, &jt.Event)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]uint16, len(legs))
	for i, l := range legs {
		out[i] = l.Purpose
	}
	return out
}

var paymentAndFee = []uint16{purpose.Payment, purpose.Fee}
