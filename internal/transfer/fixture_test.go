package transfer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/testbed"
)

var cny = money.MustCurrency("CNY")

// clock is the fixture's testbed.Clock, which moves only when told,
// under the names this package's tests call.
type clock struct{ *testbed.Clock }

func (c clock) now() time.Time          { return c.Now() }
func (c clock) advance(d time.Duration) { c.Advance(d) }

// fixture is a payment flow on real parts (see testbed): an embedded
// ledger, SQLite, the participant registry, the directory and fee
// schedules, with wallets a and b (notify mode) and bank c (confirm
// mode), each with 1,000.00 CNY, and aliases "WALLET a:1", "b:1" and
// "c:1".
type fixture struct {
	t       testing.TB
	bed     *testbed.Bed
	ctx     context.Context
	clk     clock
	reg     *participant.Registry // bed.Registry: the fixture never restarts
	dir     *directory.Directory
	fees    *quote.Fees
	signer  *quote.Signer
	s       *Service
	a, b, c participant.Participant
}

func newFixture(t testing.TB, deps func(*Deps)) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := clock{testbed.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), 0)}
	bed := testbed.Open(t, testbed.Options{Now: clk.now})
	dir := directory.New(bed.DB, directory.Options{})
	t.Cleanup(func() { dir.Close() })
	fees, err := quote.LoadFees(ctx, bed.DB, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := quote.NewSigner(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{bed: bed, t: t, ctx: ctx, clk: clk, reg: bed.Registry, dir: dir, fees: fees, signer: signer}
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
	dp := Deps{Journal: bed.Journal, Participants: bed.Registry, Directory: dir, Fees: fees, Signer: signer, Seal: testKey(t), Now: clk.now}
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
	p, _ := f.bed.Create(n)
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
	return &Service{Deps: Deps{Journal: f.bed.Journal, Participants: f.reg}}
}

// account returns a ledger account's state.
func (f *fixture) account(id ledger.AccountID) ledger.Account {
	f.t.Helper()
	return f.bed.Account(id)
}

// zeroSum checks that the books balance (testbed's ZeroSum): every
// change was a balanced double entry.
func (f *fixture) zeroSum() {
	f.t.Helper()
	f.bed.ZeroSum()
}

// req is a payment request to a WALLET alias.
func req(id, alias string, amount money.Amount) Request {
	return Request{ID: id, PayeeType: "WALLET", PayeeValue: alias, Amount: amount, Currency: cny}
}

// legEvents returns the purposes of the ledger events of a payment's
// chain, found by the first leg's id.
func (f *fixture) legEvents(clientID string) []uint16 {
	f.t.Helper()
	jt, err := f.bed.Journal.Transfer(f.ctx, LedgerID(clientID))
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

// TestNewRefuses: the flow refuses an invalid configuration by name and
// missing parts, rather than replacing them.
func TestNewRefuses(t *testing.T) {
	f := newFixture(t, nil)
	deps := f.s.Deps
	var cfg Config
	cfg.EnsureDefaults()
	for name, c := range map[string]func(*Config, *Deps){
		"region":          func(c *Config, _ *Deps) { c.Region = "ZZ" },
		"confirm timeout": func(c *Config, _ *Deps) { c.ConfirmTimeout = -time.Second },
		"quote TTL":       func(c *Config, _ *Deps) { c.QuoteTTL = 25 * time.Hour },
		"required":        func(_ *Config, d *Deps) { d.Signer = nil },
	} {
		c2, d2 := cfg, deps
		c(&c2, &d2)
		if _, err := New(c2, d2); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
