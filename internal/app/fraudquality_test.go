package app_test

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/sim/fraud"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

var (
	fraudN      = flag.Int("fraud-n", 10_000, "TestFraudOverHTTP: labelled payments counted")
	fraudWarmup = flag.Int("fraud-warmup", 10_000, "TestFraudOverHTTP: payments sent first, as history, not counted")
)

// TestFraudOverHTTP sends the simulation's labelled payments — normal
// users, account takeovers, mule fan-in, first large payments at night —
// as the simulated wallets would, over HTTP to a switch whose clock
// follows the simulation, then reads the anomaly model's alerts from
// GET /v1/risk/alerts and scores them against the labels. The same
// stream screened by an engine in this process, as hulian risk-eval
// does, must flag the same payments: a field lost on the way
// (payerAccount, factors, the time) changes what the model sees. Small
// by default (a cold model; see BENCHMARKS.md for the figures of a warm
// one); -fraud-n and -fraud-warmup run it larger.
func TestFraudOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of traffic")
	}
	var now atomic.Pointer[time.Time]
	gen := fraud.New(fraud.Config{Seed: 11})
	first := gen.Next()
	now.Store(&first.At)
	s := start(t, "", func(c *app.Config) {
		c.Now = func() time.Time { return *now.Load() }
		c.RateLimit, c.RateBurst = 1e9, 1e9
	})
	keys := map[string]string{}
	for _, id := range []string{"sim-a", "sim-b", "sim-c", "sim-d", "payee-x", "payee-y"} {
		keys[id], _ = s.participant(id, nil)
		s.deposit(id, "100000000000.00")
	}
	direct := newDirectEngine(t)
	registered := map[string]bool{}
	labels := map[string]fraud.Payment{}
	directFlagged := map[string]bool{}
	p := first
	for i := range *fraudWarmup + *fraudN {
		if i > 0 {
			p = gen.Next()
		}
		now.Store(&p.At)
		typ, value, _ := strings.Cut(p.Alias, ":")
		if !registered[p.Alias] {
			payee := "payee-x"
			if len(registered)%2 == 1 {
				payee = "payee-y"
			}
			s.ok(201, "POST", "/v1/parties", keys[payee], wire.NewParty{Type: typ, Value: value, Name: "User " + value,
				Account: "acct-" + strconv.Itoa(len(registered)), Currency: p.Currency}, nil)
			registered[p.Alias] = true
		}
		id := fmt.Sprintf("f-%d", i)
		tr := payAs(id, typ, value, money.Amount(p.Amount).Format(cny), p.PayerAccount, p.Factors...)
		if r := s.do("POST", "/v1/transfers", keys[p.Payer], tr); r.status != 201 {
			t.Fatalf("payment %d: %d %s", i, r.status, r.body)
		}
		if direct.screen(t, id, &p) && i >= *fraudWarmup {
			directFlagged[id] = true
		}
		if i >= *fraudWarmup {
			labels[id] = p
		}
	}
	flagged := map[string]bool{}
	for since := "0"; ; {
		var page wire.RiskAlerts
		s.ok(200, "GET", "/v1/risk/alerts?limit=1000&since="+since, opToken, nil, &page)
		for _, a := range page.Alerts {
			if a.Rule == "" && len(a.Features) > 0 {
				flagged[a.TransferID] = true
			}
		}
		if page.Next == "" {
			break
		}
		since = page.Next
	}
	var tp, fp, fn int
	recall := map[string][2]int{}
	for id, p := range labels {
		f := flagged[id]
		switch {
		case f && p.Fraud:
			tp++
		case f:
			fp++
		case p.Fraud:
			fn++
		}
		if p.Fraud {
			r := recall[p.Scenario]
			r[1]++
			if f {
				r[0]++
			}
			recall[p.Scenario] = r
		}
	}
	precision, rec := float64(tp)/float64(max(tp+fp, 1)), float64(tp)/float64(max(tp+fn, 1))
	t.Logf("over HTTP: %d payments after %d, %d fraud: precision %.3f, recall %.3f; by scenario %v",
		*fraudN, *fraudWarmup, tp+fn, precision, rec, recall)
	if tp+fn == 0 || tp == 0 {
		t.Fatalf("no fraud caught: %d true positives of %d", tp, tp+fn)
	}
	// Ledger timestamps of payments at the same simulated instant differ
	// by a nanosecond from the simulation's: a window's edge may fall
	// between them, rarely.
	differ := 0
	for id := range labels {
		if flagged[id] != directFlagged[id] {
			differ++
		}
	}
	if differ > max(2, len(directFlagged)/50) {
		t.Errorf("over HTTP %d payments were flagged, in process %d; %d differ", len(flagged), len(directFlagged), differ)
	}
}

// directEngine is risk control in this process, fed the simulation's
// payments as hulian risk-eval feeds them.
type directEngine struct {
	e     *risk.Engine
	now   time.Time
	payee participant.Participant
	payer map[string]*participant.Participant
}

func newDirectEngine(t *testing.T) *directEngine {
	db, err := sqldb.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "risk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d := &directEngine{payee: participant.Participant{ID: "payee"}, payer: map[string]*participant.Participant{}}
	if d.e, err = risk.Open(context.Background(), db, nil, risk.Config{}, func() time.Time { return d.now }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.e.Close() })
	return d
}

// screen scores p as Screen would, reports whether the model flags it,
// and learns it as committed.
func (d *directEngine) screen(t *testing.T, id string, p *fraud.Payment) bool {
	d.now = p.At
	payer := d.payer[p.Payer]
	if payer == nil {
		payer = &participant.Participant{ID: p.Payer}
		d.payer[p.Payer] = payer
	}
	typ, value, _ := strings.Cut(p.Alias, ":")
	factors, err := transfer.ParseFactors(p.Factors)
	if err != nil {
		t.Fatal(err)
	}
	s := transfer.Screening{ID: id, Payer: payer, Payee: &d.payee, PayeeType: typ, PayeeValue: value, Amount: money.Amount(p.Amount),
		Currency: cny, PayerAccount: p.PayerAccount, Factors: factors, At: p.At}
	flagged := d.e.Score(&s).Value >= d.e.Threshold()
	d.e.Learn(&transfer.Transfer{ID: id, Payer: p.Payer, Payee: transfer.Payee{Type: typ, Value: value, Participant: d.payee.ID},
		Amount: s.Amount, Currency: cny, CreatedAt: p.At, PayerAccount: p.PayerAccount, Factors: factors})
	return flagged
}
