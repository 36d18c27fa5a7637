package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/testbed"
	"github.com/hulian/hulian/internal/wire"
)

// riskSwitch is a switch with wallets a, b and c, a with 10,000.00 CNY,
// and aliases MSISDN +8613800138000 (b) and WALLET c:1 (c).
type riskSwitch struct {
	*sw
	a, b, c string
}

func newRiskSwitch(t *testing.T, s *sw) *riskSwitch {
	rs := &riskSwitch{sw: s}
	rs.a, _ = s.participant("wallet-a", nil)
	rs.b, _ = s.participant("wallet-b", nil)
	rs.c, _ = s.participant("wallet-c", nil)
	s.deposit("wallet-a", "10000.00")
	s.party(rs.b, "MSISDN", "13800138000", "Zhang San", "u-b1")
	s.party(rs.c, "WALLET", "c:1", "Li Si", "u-c1")
	return rs
}

func (s *riskSwitch) rule(id, expr, action, mode string) {
	s.t.Helper()
	s.ok(201, "PUT", "/v1/risk/rules/"+id, opToken, wire.RiskRule{Expression: expr, Action: action, Reason: id + "-reason", Mode: mode}, nil)
}

// alerts returns the rules' alerts the token sees: the model's own
// (rule "") depend on what it learned, and are left out.
func (s *riskSwitch) alerts(token, query string) []wire.RiskAlert {
	s.t.Helper()
	var out wire.RiskAlerts
	s.ok(200, "GET", "/v1/risk/alerts?limit=1000"+query, token, nil, &out)
	var rules []wire.RiskAlert
	for _, a := range out.Alerts {
		if a.Rule != "" {
			rules = append(rules, a)
		}
	}
	return rules
}

// waitAlerts waits until the alerts the token sees number n: they are
// written in the background.
func (s *riskSwitch) waitAlerts(token string, n int) []wire.RiskAlert {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		as := s.alerts(token, "")
		if len(as) >= n || time.Now().After(deadline) {
			if len(as) != n {
				s.t.Fatalf("%d alerts, want %d: %+v", len(as), n, as)
			}
			return as
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func payAs(id, typ, value, amount, account string, factors ...string) wire.NewTransfer {
	tr := pay(id, typ, value, amount)
	tr.PayerAccount = account
	if factors != nil {
		tr.Authentication = &wire.Authentication{Factors: factors}
	}
	return tr
}

// TestRiskRules: who may read and change rules, what a bad rule gets,
// and rules in force: decline (nothing moves), shadow (an alert only),
// velocity, authentication factors and lists.
func TestRiskRules(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.RegulatorToken = regToken }, func(t *testing.T, s0 *sw) {
		s := newRiskSwitch(t, s0)
		// Only the operator changes rules; everyone reads them.
		body := wire.RiskRule{Expression: "amount > 100", Action: "decline", Reason: "x", Mode: "enforce"}
		s.problem(403, "forbidden", "PUT", "/v1/risk/rules/r1", s.a, body)
		s.problem(403, "forbidden", "PUT", "/v1/risk/rules/r1", regToken, body)
		s.problem(401, "unauthorized", "PUT", "/v1/risk/rules/r1", "", body)
		p := s.problem(400, "invalid-rule", "PUT", "/v1/risk/rules/r1", opToken,
			wire.RiskRule{Expression: "amount >", Action: "decline", Reason: "x", Mode: "enforce"})
		if !strings.Contains(p.Detail, "1:") {
			t.Errorf("invalid-rule detail names no position: %q", p.Detail)
		}
		s.problem(400, "invalid-rule", "PUT", "/v1/risk/rules/r1", opToken,
			wire.RiskRule{Expression: "amount + 1", Action: "decline", Reason: "x", Mode: "enforce"})
		s.problem(400, "invalid-rule", "PUT", "/v1/risk/rules/r1", opToken,
			wire.RiskRule{Expression: "true", Action: "explode", Reason: "x", Mode: "enforce"})

		s.rule("big", "amount > 500000", "decline", "enforce") // above 5,000.00
		var got wire.RiskRule
		s.ok(200, "PUT", "/v1/risk/rules/big", opToken, wire.RiskRule{Expression: "amount > 400000", Action: "decline",
			Reason: "too-big", Mode: "enforce", Description: "老板说的"}, &got)
		if got.ID != "big" || got.Reason != "too-big" || got.Description != "老板说的" || got.CreatedAt.IsZero() {
			t.Fatalf("replaced rule %+v", got)
		}
		for _, tok := range []string{s.a, regToken, opToken} {
			var rs wire.RiskRules
			s.ok(200, "GET", "/v1/risk/rules", tok, nil, &rs)
			if len(rs.Rules) != 1 || rs.Rules[0].Expression != "amount > 400000" {
				t.Fatalf("rules as seen: %+v", rs)
			}
		}
		s.problem(404, "not-found", "GET", "/v1/risk/rules/nope", s.a, nil)

		// Decline: 422 with the rule and reason, and nothing moves.
		p = s.problem(422, "risk-declined", "POST", "/v1/transfers", s.a, pay("d-1", "MSISDN", "+8613800138000", "4000.01"))
		if p.Rule != "big" || p.Reason != "too-big" {
			t.Errorf("declined problem %+v", p)
		}
		if b := s.balance(s.a, "wallet-a"); b.Balance != "10000.00" {
			t.Errorf("a declined payment moved money: %+v", b)
		}
		s.problem(404, "not-found", "GET", "/v1/transfers/d-1", s.a, nil)
		// In a batch, the declined one alone.
		var br wire.TransferBatchResult
		s.ok(200, "POST", "/v1/transfers:batch", s.a, wire.TransferBatch{Transfers: []wire.NewTransfer{
			pay("d-2", "MSISDN", "+8613800138000", "1.00"), pay("d-3", "MSISDN", "+8613800138000", "4000.01")}}, &br)
		if br.Results[0].Status != 201 || br.Results[1].Status != 422 || br.Results[1].Error.Rule != "big" {
			t.Fatalf("batch %+v", br)
		}

		// Shadow: recorded, not enforced.
		s.rule("night", "amount >= 100", "decline", "shadow")
		var tr wire.Transfer
		s.ok(201, "POST", "/v1/transfers", s.a, pay("s-1", "MSISDN", "+8613800138000", "2.00"), &tr)
		if tr.State != "COMMITTED" {
			t.Fatalf("shadow rule enforced: %+v", tr)
		}
		s.ok(204, "DELETE", "/v1/risk/rules/night", opToken, nil, nil)
		s.problem(404, "not-found", "DELETE", "/v1/risk/rules/night", opToken, nil)

		// Velocity over the payer's account, and authentication factors.
		s.rule("burst", `payerAccount != "" && payerCount(duration("1h")) >= 2`, "decline", "enforce")
		s.rule("sca", `amount > 100000 && size(factors) < 2`, "decline", "enforce")
		for i, want := range []int{201, 201, 422} {
			id := "v-" + string(rune('1'+i))
			if i < 2 {
				s.ok(want, "POST", "/v1/transfers", s.a, payAs(id, "WALLET", "c:1", "1.00", "user-9"), nil)
			} else if p := s.problem(want, "risk-declined", "POST", "/v1/transfers", s.a, payAs(id, "WALLET", "c:1", "1.00", "user-9")); p.Rule != "burst" {
				t.Errorf("third payment of user-9: %+v", p)
			}
		}
		s.ok(201, "POST", "/v1/transfers", s.a, payAs("v-4", "WALLET", "c:1", "1.00", "user-10"), nil) // another account
		if p := s.problem(422, "risk-declined", "POST", "/v1/transfers", s.a, payAs("f-1", "WALLET", "c:1", "1000.01", "user-11", "pin")); p.Rule != "sca" {
			t.Errorf("one factor: %+v", p)
		}
		s.ok(201, "POST", "/v1/transfers", s.a, payAs("f-2", "WALLET", "c:1", "1000.01", "user-11", "pin", "biometric"), &tr)
		if tr.PayerAccount != "user-11" || tr.Authentication == nil || len(tr.Authentication.Factors) != 2 {
			t.Errorf("the payer does not see its own records: %+v", tr)
		}
		var seen wire.Transfer
		s.ok(200, "GET", "/v1/transfers/f-2", s.c, nil, &seen)
		if seen.PayerAccount != "" || seen.Authentication != nil {
			t.Errorf("the payee sees the payer's records of its user: %+v", seen)
		}
		s.problem(400, "invalid-request", "POST", "/v1/transfers", s.a, payAs("f-3", "WALLET", "c:1", "1.00", "u", "retina"))

		// Lists: only the operator; a rule over one.
		items := wire.RiskListItems{Items: []string{"WALLET:c:1"}}
		s.problem(403, "forbidden", "PUT", "/v1/risk/lists/blocked", s.a, items)
		s.ok(200, "PUT", "/v1/risk/lists/blocked", opToken, wire.RiskListItems{Items: []string{"MSISDN:+8613900000000"}}, nil)
		var l wire.RiskList
		s.ok(200, "POST", "/v1/risk/lists/blocked/items", opToken, items, &l)
		if len(l.Items) != 2 {
			t.Fatalf("list %+v", l)
		}
		s.rule("blocked", `inList("blocked", payeeAlias)`, "decline", "enforce")
		s.problem(422, "risk-declined", "POST", "/v1/transfers", s.a, pay("l-1", "WALLET", "c:1", "1.00"))
		s.ok(200, "DELETE", "/v1/risk/lists/blocked/items/"+url.PathEscape("WALLET:c:1"), opToken, nil, &l)
		s.problem(404, "not-found", "DELETE", "/v1/risk/lists/blocked/items/"+url.PathEscape("WALLET:c:1"), opToken, nil)
		s.ok(201, "POST", "/v1/transfers", s.a, pay("l-1", "WALLET", "c:1", "1.00"), nil)
		s.problem(400, "invalid-request", "PUT", "/v1/risk/lists/Bad%20Name", opToken, items)

		// The alerts: every match, shadow included; the regulator sees
		// them, a participant only its own.
		as := s.waitAlerts(opToken, 6) // d-1, d-3, s-1 (the shadow's), v-3, f-1, l-1
		rules := map[string]int{}
		for _, a := range as {
			rules[a.Rule]++
			if a.Status != "open" || a.TransferID == "" || a.CreatedAt.IsZero() {
				t.Errorf("alert %+v", a)
			}
		}
		if rules["big"] != 2 || rules["night"] != 1 || rules["burst"] != 1 || rules["sca"] != 1 || rules["blocked"] != 1 {
			t.Errorf("alerts by rule %v", rules)
		}
		if n := len(s.alerts(regToken, "")); n != 6 {
			t.Errorf("the regulator sees %d alerts", n)
		}
		if n := len(s.alerts(s.b, "")); n != 3 { // d-1, d-3, s-1 were to b
			t.Errorf("wallet-b sees %d alerts", n)
		}
		if n := len(s.alerts(s.c, "&status=closed")); n != 0 {
			t.Errorf("wallet-c sees %d closed alerts", n)
		}
		page := s.alerts(opToken, "&since="+as[4].ID)
		if len(page) != 1 || page[0].ID != as[5].ID {
			t.Errorf("page after %s: %+v", as[4].ID, page)
		}
		s.problem(400, "invalid-request", "GET", "/v1/risk/alerts?status=maybe", opToken, nil)

		// Changes are ledger marks: audit leaves, in order with payments.
		marks := map[uint16]int{}
		if err := s.app.Journal.Scan(context.Background(), 0, 1<<62, func(e ledger.Event) error {
			if e.Kind == ledger.KindMark {
				marks[e.Purpose]++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if marks[purpose.RiskRule] != 7 || marks[purpose.RiskList] != 3 {
			t.Errorf("risk marks %v", marks)
		}
	})
}

// TestRiskReview: a review rule holds the payment (HELD, reserved on the
// payer); the operator releases one, rejects another, and a third
// aborts by itself after the review timeout.
func TestRiskReview(t *testing.T) {
	clk := testbed.NewClock(time.Now(), 0)
	eachEngine(t, func(c *app.Config) { c.Now = clk.Now; c.RegulatorToken = regToken }, func(t *testing.T, s0 *sw) {
		s := newRiskSwitch(t, s0)
		s.rule("check", "amount >= 100000", "review", "enforce")
		ids := []string{"h-1", "h-2", "h-3"}
		for _, id := range ids {
			var tr wire.Transfer
			s.ok(201, "POST", "/v1/transfers", s.a, pay(id, "MSISDN", "+8613800138000", "1000.00"), &tr)
			if tr.State != "HELD" {
				t.Fatalf("%s: %+v", id, tr)
			}
		}
		if b := s.balance(s.a, "wallet-a"); b.Balance != "10000.00" || b.Available != "7000.00" {
			t.Fatalf("payer while held: %+v", b)
		}
		as := s.waitAlerts(opToken, 3)
		for _, a := range as {
			if !a.Held || a.Action != "review" {
				t.Fatalf("alert %+v", a)
			}
		}
		// Only the operator decides.
		s.problem(403, "forbidden", "POST", "/v1/risk/alerts/"+as[0].ID+"/decision", s.b, wire.AlertDecision{Decision: "release"})
		s.problem(403, "forbidden", "POST", "/v1/risk/alerts/"+as[0].ID+"/decision", regToken, wire.AlertDecision{Decision: "release"})
		s.problem(400, "invalid-request", "POST", "/v1/risk/alerts/"+as[0].ID+"/decision", opToken, wire.AlertDecision{Decision: "maybe"})
		s.problem(404, "not-found", "POST", "/v1/risk/alerts/999999/decision", opToken, wire.AlertDecision{Decision: "release"})

		var d wire.AlertDecided
		s.ok(200, "POST", "/v1/risk/alerts/"+as[0].ID+"/decision", opToken, wire.AlertDecision{Decision: "release", Note: "called the user"}, &d)
		if d.Alert.Status != "closed" || d.Alert.Decision != "release" || d.Transfer == nil || d.Transfer.State != "COMMITTED" {
			t.Fatalf("release: %+v %+v", d.Alert, d.Transfer)
		}
		s.problem(409, "alert-closed", "POST", "/v1/risk/alerts/"+as[0].ID+"/decision", opToken, wire.AlertDecision{Decision: "reject"})
		s.ok(200, "POST", "/v1/risk/alerts/"+as[1].ID+"/decision", opToken, wire.AlertDecision{Decision: "reject", Note: "mule"}, &d)
		if d.Transfer == nil || d.Transfer.State != "ABORTED" || d.Transfer.Reason != "risk-rejected: mule" {
			t.Fatalf("reject: %+v", d.Transfer)
		}
		var tr wire.Transfer
		s.ok(200, "GET", "/v1/transfers/h-1", s.a, nil, &tr)
		if tr.State != "COMMITTED" {
			t.Errorf("h-1 after release: %+v", tr)
		}
		s.ok(200, "GET", "/v1/transfers/h-3", s.b, nil, &tr)
		if tr.State != "HELD" {
			t.Errorf("h-3 as its payee sees it: %+v", tr)
		}
		clk.Advance(24*time.Hour + time.Minute)
		s.ok(200, "POST", "/v1/risk/alerts/"+as[2].ID+"/decision", opToken, wire.AlertDecision{Decision: "release"}, &d)
		if d.Transfer == nil || d.Transfer.State != "ABORTED" || d.Transfer.Reason != "review timeout" || d.Alert.Status != "closed" {
			t.Fatalf("release after the timeout: %+v %+v", d.Alert, d.Transfer)
		}
		if b := s.balance(s.a, "wallet-a"); b.Balance != "9000.00" || b.Available != "9000.00" {
			t.Errorf("payer after: %+v", b)
		}
		if n := len(s.alerts(opToken, "&status=open")); n != 0 {
			t.Errorf("%d alerts still open", n)
		}
	})
}

// TestFraudReports: the payer or payee of a committed transfer reports
// it; the payee alias's lookups then show the mark, and rules see it.
func TestFraudReports(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s0 *sw) {
		s := newRiskSwitch(t, s0)
		s.ok(201, "POST", "/v1/transfers", s.a, pay("p-1", "MSISDN", "+8613800138000", "10.00"), nil)
		s.rule("hold", "amount >= 500000", "review", "enforce")
		s.ok(201, "POST", "/v1/transfers", s.a, pay("p-2", "MSISDN", "+8613800138000", "5000.00"), nil)
		var look wire.PartyLookup
		s.ok(200, "GET", "/v1/parties/MSISDN/"+url.PathEscape("+8613800138000"), s.c, nil, &look)
		if look.FraudMarks != 0 {
			t.Fatalf("lookup %+v", look)
		}
		report := wire.NewFraudReport{TransferID: "p-1", Reason: "scam", Detail: "假冒客服"}
		s.problem(404, "not-found", "POST", "/v1/risk/fraud-reports", s.c, report) // not its transfer
		s.problem(403, "forbidden", "POST", "/v1/risk/fraud-reports", opToken, report)
		s.problem(409, "transfer-not-committed", "POST", "/v1/risk/fraud-reports", s.a, wire.NewFraudReport{TransferID: "p-2", Reason: "scam"})
		s.problem(400, "invalid-request", "POST", "/v1/risk/fraud-reports", s.a, wire.NewFraudReport{TransferID: "p-1", Reason: "bored"})
		var rep wire.FraudReport
		s.ok(201, "POST", "/v1/risk/fraud-reports", s.a, report, &rep)
		if rep.Alias.Type != "MSISDN" || rep.Alias.Value != "+8613800138000" || rep.Reporter != "wallet-a" || rep.Detail != "假冒客服" {
			t.Fatalf("report %+v", rep)
		}
		var again wire.FraudReport
		s.ok(200, "POST", "/v1/risk/fraud-reports", s.a, report, &again)
		if again.ID != rep.ID {
			t.Errorf("the same report again: %+v", again)
		}
		s.ok(201, "POST", "/v1/risk/fraud-reports", s.b, wire.NewFraudReport{TransferID: "p-1", Reason: "mule"}, nil)
		s.ok(200, "GET", "/v1/parties/MSISDN/"+url.PathEscape("+8613800138000"), s.c, nil, &look)
		if look.FraudMarks != 2 {
			t.Errorf("lookup after two reports %+v", look)
		}
		s.rule("marked", "fraudMarks >= 2", "decline", "enforce")
		s.problem(422, "risk-declined", "POST", "/v1/transfers", s.a, pay("p-3", "MSISDN", "+8613800138000", "1.00"))
	})
}

// TestRiskRestart: rules, lists and fraud marks survive a restart, and
// the velocity windows are rebuilt from the ledger.
func TestRiskRestart(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			dir, store := t.TempDir(), e.store(t)
			mod := func(c *app.Config) { c.DataDir = dir }
			s := newRiskSwitch(t, start(t, store, mod))
			s.rule("burst", `payerCount(duration("1h")) >= 2 && aliasSum(duration("1h")) >= 200`, "decline", "enforce")
			s.ok(200, "PUT", "/v1/risk/lists/watch", opToken, wire.RiskListItems{Items: []string{"x"}}, nil)
			for _, id := range []string{"r-1", "r-2"} {
				s.ok(201, "POST", "/v1/transfers", s.a, payAs(id, "WALLET", "c:1", "1.00", "user-1"), nil)
			}
			s.ok(201, "POST", "/v1/risk/fraud-reports", s.a, wire.NewFraudReport{TransferID: "r-1", Reason: "other"}, nil)
			if err := s.app.Close(context.Background()); err != nil {
				t.Fatal(err)
			}

			s2 := &riskSwitch{sw: start(t, store, mod), a: s.a, b: s.b, c: s.c}
			select {
			case <-s2.app.Risk.Rebuilt():
			case <-time.After(10 * time.Second):
				t.Fatal("the velocity windows were not rebuilt")
			}
			if p := s2.problem(422, "risk-declined", "POST", "/v1/transfers", s.a, payAs("r-3", "WALLET", "c:1", "1.00", "user-1")); p.Rule != "burst" {
				t.Errorf("after the restart: %+v", p)
			}
			var l wire.RiskList
			s2.ok(200, "GET", "/v1/risk/lists/watch", opToken, nil, &l)
			var look wire.PartyLookup
			s2.ok(200, "GET", "/v1/parties/WALLET/c:1", s.b, nil, &look)
			if len(l.Items) != 1 || look.FraudMarks != 1 {
				t.Errorf("after the restart: list %+v, lookup %+v", l, look)
			}
		})
	}
}
