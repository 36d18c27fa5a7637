package app_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// skewClock is the real time plus an offset a test moves forward: the
// whole switch runs on it, so that what time decides can be tested.
type skewClock struct{ offset atomic.Int64 }

func (c *skewClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *skewClock) set(t time.Time)         { c.offset.Store(int64(time.Until(t))) }
func (c *skewClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// TestMandates: through real HTTP on both engines, a biller proposes a
// monthly mandate, the payer's wallet approves it, and the biller pulls
// within its terms: once a month, at most its maximum; an adhoc mandate's
// condition holds or refuses; pausing stops pulls, revoking ends them;
// the wrong side and strangers are refused; everyone is told by
// callback.
func TestMandates(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		payerHook, billerHook := newHook(t), newHook(t)
		aKey, aSecret := s.participant("wallet-a", func(n *wire.NewParticipant) { n.CallbackURL = payerHook.url })
		payerHook.secret = aSecret
		bKey, bSecret := s.participant("biller-b", func(n *wire.NewParticipant) { n.CallbackURL = billerHook.url })
		billerHook.secret = bSecret
		cKey, _ := s.participant("wallet-c", nil)
		s.deposit("wallet-a", "1000.00")
		s.party(aKey, "MSISDN", "13900139000", "Li Si", "u-a1")
		now := time.Now()
		nm := wire.NewMandate{ID: "power-1", Payer: wire.PayeeRef{Type: "MSISDN", Value: "13900139000"}, MaxAmount: "100.00",
			Currency: "CNY", Frequency: "monthly", ValidFrom: now.Add(-time.Hour), ValidUntil: now.AddDate(1, 0, 0),
			Description: "State Grid electricity"}
		var m wire.Mandate
		s.ok(201, "POST", "/v1/mandates", bKey, nm, &m)
		if m.State != "PENDING" || m.Biller != "biller-b" || m.Payer.Participant != "wallet-a" || m.MaxAmount != "100.00" {
			t.Fatalf("proposed: %+v", m)
		}
		s.ok(200, "POST", "/v1/mandates", bKey, nm, nil)
		payerHook.waitEvent(t, "mandate.proposed")
		s.problem(403, "forbidden", "POST", "/v1/mandates/power-1/approve", bKey, nil)
		s.problem(404, "not-found", "POST", "/v1/mandates/power-1/approve", cKey, nil)
		s.problem(404, "not-found", "GET", "/v1/mandates/power-1", cKey, nil)
		s.problem(422, "mandate-not-active", "POST", "/v1/mandates/power-1/executions", bKey, wire.NewMandateExecution{ID: "pw-0", Amount: "1.00"})
		s.ok(200, "POST", "/v1/mandates/power-1/approve", aKey, nil, &m)
		if m.State != "ACTIVE" {
			t.Fatalf("approved: %+v", m)
		}
		s.ok(200, "POST", "/v1/mandates/power-1/approve", aKey, nil, nil) // again: the same
		billerHook.waitEvent(t, "mandate.changed")
		// Pulls.
		var e wire.MandateExecution
		s.problem(422, "mandate-limit-exceeded", "POST", "/v1/mandates/power-1/executions", bKey, wire.NewMandateExecution{ID: "pw-1", Amount: "100.01"})
		s.ok(201, "POST", "/v1/mandates/power-1/executions", bKey, wire.NewMandateExecution{ID: "pw-2", Amount: "86.50", Reference: "November"}, &e)
		if e.State != "COMMITTED" || e.Amount != "86.50" || e.Scheduled {
			t.Fatalf("executed: %+v", e)
		}
		s.ok(200, "POST", "/v1/mandates/power-1/executions", bKey, wire.NewMandateExecution{ID: "pw-2", Amount: "86.50", Reference: "November"}, nil)
		s.problem(422, "mandate-limit-exceeded", "POST", "/v1/mandates/power-1/executions", bKey, wire.NewMandateExecution{ID: "pw-3", Amount: "1.00"})
		s.problem(403, "forbidden", "POST", "/v1/mandates/power-1/executions", aKey, wire.NewMandateExecution{ID: "pw-4", Amount: "1.00"})
		s.problem(400, "invalid-request", "POST", "/v1/mandates/power-1/executions", bKey, wire.NewMandateExecution{ID: "mandate:x", Amount: "1.00"})
		var tr wire.Transfer
		s.ok(200, "GET", "/v1/transfers/pw-2", aKey, nil, &tr)
		if tr.State != "COMMITTED" || tr.Payer != "wallet-a" || tr.Payee.Participant != "biller-b" || tr.Payee.Type != "ACCOUNT" ||
			tr.Note != "November" {
			t.Errorf("the pull: %+v", tr)
		}
		payerHook.waitEvent(t, "mandate.executed")
		var es wire.MandateExecutions
		s.ok(200, "GET", "/v1/mandates/power-1/executions", aKey, nil, &es)
		if len(es.Executions) != 1 || es.Executions[0].ID != "pw-2" {
			t.Errorf("executions: %+v", es)
		}
		// An adhoc mandate with a condition; paused, resumed, revoked.
		ad := nm
		ad.ID, ad.Frequency, ad.Condition = "shop-1", "adhoc", "amount <= 1000 && executionsThisPeriod < 5"
		s.ok(201, "POST", "/v1/mandates", bKey, ad, nil)
		bad := ad
		bad.ID, bad.Condition = "shop-2", "amount <="
		s.problem(400, "invalid-condition", "POST", "/v1/mandates", bKey, bad)
		bad.Condition, bad.Frequency = "", "hourly"
		s.problem(400, "invalid-request", "POST", "/v1/mandates", bKey, bad)
		s.ok(200, "POST", "/v1/mandates/shop-1/approve", aKey, nil, nil)
		s.ok(201, "POST", "/v1/mandates/shop-1/executions", bKey, wire.NewMandateExecution{ID: "sh-1", Amount: "5.00"}, nil)
		s.ok(201, "POST", "/v1/mandates/shop-1/executions", bKey, wire.NewMandateExecution{ID: "sh-2", Amount: "6.00"}, nil)
		s.problem(422, "mandate-condition-failed", "POST", "/v1/mandates/shop-1/executions", bKey, wire.NewMandateExecution{ID: "sh-3", Amount: "10.01"})
		s.ok(200, "POST", "/v1/mandates/shop-1/pause", aKey, nil, &m)
		s.problem(422, "mandate-not-active", "POST", "/v1/mandates/shop-1/executions", bKey, wire.NewMandateExecution{ID: "sh-4", Amount: "1.00"})
		s.problem(403, "forbidden", "POST", "/v1/mandates/shop-1/resume", bKey, nil)
		s.ok(200, "POST", "/v1/mandates/shop-1/resume", aKey, nil, nil)
		s.ok(200, "POST", "/v1/mandates/shop-1/revoke", bKey, nil, &m)
		if m.State != "REVOKED" {
			t.Errorf("revoked: %+v", m)
		}
		s.problem(409, "mandate-state", "POST", "/v1/mandates/shop-1/resume", aKey, nil)
		s.problem(422, "mandate-not-active", "POST", "/v1/mandates/shop-1/executions", bKey, wire.NewMandateExecution{ID: "sh-5", Amount: "1.00"})
		// Risk control screens a proposal as a payment of its maximum.
		s.ok(201, "PUT", "/v1/risk/rules/no-big-mandates", opToken, wire.RiskRule{Expression: "amount > 100000", Action: "decline",
			Reason: "too-big", Mode: "enforce"}, nil)
		huge := nm
		huge.ID, huge.MaxAmount = "huge-1", "1000.01"
		s.problem(422, "risk-declined", "POST", "/v1/mandates", bKey, huge)
		s.problem(404, "not-found", "GET", "/v1/mandates/huge-1", bKey, nil)
		s.ok(204, "DELETE", "/v1/risk/rules/no-big-mandates", opToken, nil, nil)
		var page wire.Mandates
		s.ok(200, "GET", "/v1/mandates?role=payer", aKey, nil, &page)
		if len(page.Mandates) != 2 {
			t.Errorf("the payer's mandates: %+v", page)
		}
		s.ok(200, "GET", "/v1/mandates?role=payee&state=ACTIVE", bKey, nil, &page)
		if len(page.Mandates) != 1 || page.Mandates[0].ID != "power-1" {
			t.Errorf("the biller's active mandates: %+v", page)
		}
		if b := s.balance(aKey, "wallet-a"); b.Balance != "902.50" {
			t.Errorf("wallet-a: %+v", b)
		}
	})
}

// TestScheduledMandate: the switch executes a scheduled mandate itself
// on its day, after telling the payer's wallet the day before; one short
// of funds is tried again the next day; a restart on the day neither
// skips nor doubles the execution.
func TestScheduledMandate(t *testing.T) {
	clk := &skewClock{}
	eachEngine(t, func(c *app.Config) { c.Now = clk.Now; c.Timezone = "UTC" }, func(t *testing.T, s *sw) {
		clk.offset.Store(0)
		payerHook := newHook(t)
		payerHook.now = clk.Now
		aKey, aSecret := s.participant("wallet-a", func(n *wire.NewParticipant) { n.CallbackURL = payerHook.url })
		payerHook.secret = aSecret
		bKey, _ := s.participant("biller-b", nil)
		s.party(aKey, "MSISDN", "13900139000", "Li Si", "u-a1")
		// On the 10th at noon (UTC), a mandate due on the 15th of each month.
		now := clk.Now()
		clk.set(time.Date(now.Year(), now.Month(), 10, 12, 0, 0, 0, time.UTC).AddDate(0, 1, 0))
		now = clk.Now()
		nm := wire.NewMandate{ID: "water", Payer: wire.PayeeRef{Type: "MSISDN", Value: "13900139000"}, MaxAmount: "50.00", Currency: "CNY",
			Frequency: "monthly", ValidFrom: now, ValidUntil: now.AddDate(1, 0, 0), Schedule: &wire.MandateSchedule{Day: 15, Amount: "30.00"}}
		s.ok(201, "POST", "/v1/mandates", bKey, nm, nil)
		var m wire.Mandate
		s.ok(200, "POST", "/v1/mandates/water/approve", aKey, nil, &m)
		due := time.Date(now.Year(), now.Month(), 15, 9, 0, 0, 0, time.UTC)
		if !m.NextExecution.Equal(due) {
			t.Fatalf("next execution %v, want %v", m.NextExecution, due)
		}
		sweep := func() {
			t.Helper()
			if _, err := s.app.Mandates.Sweep(context.Background(), 100); err != nil {
				t.Fatal(err)
			}
		}
		// The day before: the notice.
		clk.set(due.Add(-12 * time.Hour))
		sweep()
		payerHook.waitEvent(t, "mandate.execution-due")
		// On the day, without funds: failed, tried again the next day.
		clk.set(due.Add(time.Minute))
		sweep()
		payerHook.waitEvent(t, "mandate.execution-failed")
		s.ok(200, "GET", "/v1/mandates/water", aKey, nil, &m)
		if !m.NextExecution.Equal(due) {
			t.Errorf("after a failure the next execution is %v, want the same due %v", m.NextExecution, due)
		}
		s.deposit("wallet-a", "100.00")
		clk.set(due.Add(24*time.Hour + time.Minute))
		sweep()
		sweep() // again, as a restart would: no double
		var es wire.MandateExecutions
		s.ok(200, "GET", "/v1/mandates/water/executions", bKey, nil, &es)
		if len(es.Executions) != 1 || es.Executions[0].State != "COMMITTED" || !es.Executions[0].Scheduled ||
			!strings.HasPrefix(es.Executions[0].ID, "mandate:water:") {
			t.Fatalf("executions: %+v", es)
		}
		s.ok(200, "GET", "/v1/mandates/water", aKey, nil, &m)
		if next := due.AddDate(0, 1, 0); !m.NextExecution.Equal(next) {
			t.Errorf("next execution %v, want %v", m.NextExecution, next)
		}
		if b := s.balance(aKey, "wallet-a"); b.Balance != "70.00" {
			t.Errorf("wallet-a: %+v", b)
		}
		// Approved on the 20th, due on the 15th: executed at once for
		// this month, then on the 15th of the next.
		nm.ID = "gas"
		s.ok(201, "POST", "/v1/mandates", bKey, nm, nil)
		clk.set(due.AddDate(0, 0, 5))
		s.ok(200, "POST", "/v1/mandates/gas/approve", aKey, nil, &m)
		if !m.NextExecution.Equal(due) {
			t.Errorf("approved after its day: next execution %v, want %v", m.NextExecution, due)
		}
		sweep()
		s.ok(200, "GET", "/v1/mandates/gas/executions", bKey, nil, &es)
		if len(es.Executions) != 1 || es.Executions[0].State != "COMMITTED" {
			t.Errorf("approved after its day: %+v", es)
		}
		s.ok(200, "GET", "/v1/mandates/gas", aKey, nil, &m)
		if next := due.AddDate(0, 1, 0); !m.NextExecution.Equal(next) {
			t.Errorf("then: next execution %v, want %v", m.NextExecution, next)
		}
	})
}
