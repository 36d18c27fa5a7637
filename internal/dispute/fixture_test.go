package dispute

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/notice"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
	"github.com/hulian/hulian/internal/testbed"
	"github.com/hulian/hulian/internal/transfer"
)

var cny = money.MustCurrency("CNY")

// engines are the databases the disputes' tables are tested on: the
// ledger and the registry stay on the testbed's embedded store and
// SQLite; the disputes and the notices move to PostgreSQL when
// HULIAN_TEST_POSTGRES names one (scripts/test.sh), and the PostgreSQL
// runs are skipped otherwise.
var engines = []struct {
	name string
	open func(t *testing.T, bed *testbed.Bed) *sqldb.DB
}{
	{"sqlite", func(_ *testing.T, bed *testbed.Bed) *sqldb.DB { return bed.DB }},
	{"postgres", func(t *testing.T, _ *testbed.Bed) *sqldb.DB {
		db, err := sqldb.OpenPostgres(context.Background(), pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
}

// fixture is disputes on the real payment flow (see internal/testbed),
// with wallets a and b (notify mode) and c, each with 1,000.00 CNY and
// the alias "WALLET <letter>:1", a manual clock, the real notice outbox,
// and a fraud marker that records the reports.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	clk     *testbed.Clock
	bed     *testbed.Bed
	ts      *transfer.Service
	out     *notice.Outbox
	fraud   *fraudMarker
	s       *Service
	a, b, c participant.Participant
	n       int // payments made
}

// eachEngine runs test on a fixture of each engine.
func eachEngine(t *testing.T, cfg func(*Config), test func(t *testing.T, f *fixture)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixture(t, e.open, cfg)
			test(t, f)
			f.bed.ZeroSum()
		})
	}
}

func newFixture(t *testing.T, open func(*testing.T, *testbed.Bed) *sqldb.DB, cfg func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := testbed.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), 0)
	bed := testbed.Open(t, testbed.Options{Now: clk.Now})
	dir := directory.New(bed.DB, directory.Options{})
	t.Cleanup(func() { dir.Close() })
	fees, err := quote.LoadFees(ctx, bed.DB, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := quote.NewSigner(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	key, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	var tc transfer.Config
	tc.EnsureDefaults()
	ts, err := transfer.New(tc, transfer.Deps{Journal: bed.Journal, Participants: bed.Registry, Directory: dir, Fees: fees,
		Signer: signer, Seal: key, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, clk: clk, bed: bed, ts: ts, fraud: &fraudMarker{}}
	for i, pp := range []*participant.Participant{&f.a, &f.b, &f.c} {
		id := "wallet-" + string(rune('a'+i))
		p, _ := bed.Create(participant.New{ID: id, Name: id, Kind: participant.Wallet, Currencies: []money.Currency{cny},
			Acceptance: participant.Notify})
		f.deposit(p, 100000)
		alias := id[len(id)-1:] + ":1"
		if _, _, err := dir.Register(ctx, directory.Party{Type: directory.WALLET, Value: alias, Participant: p.ID,
			Name: "User " + alias, Account: "acct-" + alias, Currency: cny}); err != nil {
			t.Fatal(err)
		}
		*pp = p
	}
	db := open(t, bed)
	f.out = &notice.Outbox{DB: db, Now: clk.Now}
	var c Config
	c.EnsureDefaults()
	if cfg != nil {
		cfg(&c)
	}
	f.s, err = New(c, Deps{DB: db, Ledger: bed.Journal, Transfers: ts, Participants: bed.Registry, Notices: f.out,
		Fraud: f.fraud, Render: render, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// render is the test's callback document: the event, the dispute's id
// and state.
func render(event string, d *Dispute) ([]byte, error) {
	return json.Marshal(map[string]string{"event": event, "id": d.ID, "state": string(d.State)})
}

func (f *fixture) deposit(p participant.Participant, amount money.Amount) {
	f.t.Helper()
	if _, _, err := f.ts.MoveFunds(f.ctx, p, transfer.Funds{Currency: cny, Amount: amount, Direction: transfer.Deposit}); err != nil {
		f.t.Fatal(err)
	}
}

// pay makes a committed payment of amount from payer to the alias of
// payee and returns its id.
func (f *fixture) pay(payer, payee participant.Participant, amount money.Amount) string {
	f.t.Helper()
	f.n++
	id := "t." + string(rune('0'+f.n/10)) + string(rune('0'+f.n%10))
	t, _, err := f.ts.Create(f.ctx, payer, transfer.Request{ID: id, PayeeType: "WALLET", PayeeValue: payee.ID[len(payee.ID)-1:] + ":1",
		Amount: amount, Currency: cny})
	if err != nil || t.State != transfer.Committed {
		f.t.Fatalf("payment %s: %+v %v", id, t, err)
	}
	return id
}

// available is what p could pay now.
func (f *fixture) available(p participant.Participant) money.Amount {
	f.t.Helper()
	a, err := f.ts.Available(f.ctx, p, cny)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// balance is p's balance.
func (f *fixture) balance(p participant.Participant) money.Amount {
	f.t.Helper()
	return f.bed.Account(p.Account(cny)).Balance
}

// events returns the events of p's notices, in order.
func (f *fixture) events(p participant.Participant) []string {
	f.t.Helper()
	ns, err := f.out.Notices(f.ctx, p.ID, 0, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		out = append(out, n.Event)
	}
	return out
}

// sweep runs the sweep and fails the test on an error.
func (f *fixture) sweep() int {
	f.t.Helper()
	n, err := f.s.Sweep(f.ctx, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// fraudMarker records the reports filed.
type fraudMarker struct {
	mu      sync.Mutex
	reports []string // reporter, transfer, reason
}

func (m *fraudMarker) Report(_ context.Context, reporter, transferID, reason, detail string) (risk.Report, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reports = append(m.reports, reporter+" "+transferID+" "+reason)
	return risk.Report{TransferID: transferID, Reporter: reporter, Reason: reason, Detail: detail}, true, nil
}

func (m *fraudMarker) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.reports...)
}
