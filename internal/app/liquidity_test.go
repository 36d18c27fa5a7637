package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// TestLiquidityAlerts checks that a participant and the operator hear of
// each crossing of its threshold once, not once per transfer.
func TestLiquidityAlerts(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		hk := newHook(t)
		var alerts []wire.LiquidityAlert
		a, secret := s.participant("wallet-a", func(np *wire.NewParticipant) { np.CallbackURL = hk.url })
		hk.mu.Lock()
		hk.secret = secret
		hk.mu.Unlock()
		b, _ := s.participant("wallet-b", nil)
		s.party(b, "WALLET", "b:1", "B One", "1")
		s.deposit("wallet-a", "100.00")
		var th wire.LiquidityThreshold
		s.ok(200, "PUT", "/v1/participants/wallet-a/liquidity/CNY", a, wire.NewLiquidityThreshold{Threshold: "20.00"}, &th)
		if th.Below || th.Threshold != "20.00" {
			t.Fatalf("threshold %+v", th)
		}
		s.problem(404, "not-found", "PUT", "/v1/participants/wallet-a/liquidity/CNY", b, wire.NewLiquidityThreshold{Threshold: "1.00"})
		s.problem(400, "invalid-request", "PUT", "/v1/participants/wallet-a/liquidity/CNY", a, wire.NewLiquidityThreshold{Threshold: "-1.00"})

		waitAlerts := func(token string, n int) []wire.LiquidityAlert {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for {
				var l wire.LiquidityAlerts
				s.ok(200, "GET", "/v1/liquidity-alerts", token, nil, &l)
				if len(l.Alerts) >= n || time.Now().After(deadline) {
					return l.Alerts
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		// Down to 30: above. Then 25, 20 (at the threshold: not below), 15, 10, 5: below.
		for i, amount := range []string{"70.00", "5.00", "5.00", "5.00", "5.00", "5.00"} {
			s.ok(201, "POST", "/v1/transfers", a, pay(fmt.Sprintf("l-%d", i), "WALLET", "b:1", amount), nil)
		}
		waitAlerts(opToken, 1)
		time.Sleep(200 * time.Millisecond) // room for a wrong second alert
		alerts = waitAlerts(opToken, 0)
		if len(alerts) != 1 || alerts[0].Kind != "low" || alerts[0].Participant != "wallet-a" || alerts[0].Threshold != "20.00" {
			t.Fatalf("alerts after falling: %+v", alerts)
		}
		s.ok(200, "GET", "/v1/participants/wallet-a/liquidity/CNY", a, nil, &th)
		if !th.Below {
			t.Fatalf("threshold %+v", th)
		}
		// Back up: one "restored"; down again: one more "low".
		s.deposit("wallet-a", "50.00")
		waitAlerts(opToken, 2)
		s.ok(201, "POST", "/v1/transfers", a, pay("l-9", "WALLET", "b:1", "50.00"), nil)
		alerts = waitAlerts(opToken, 3)
		if len(alerts) != 3 || alerts[1].Kind != "restored" || alerts[2].Kind != "low" || alerts[2].Available != "5.00" {
			t.Fatalf("alerts: %+v", alerts)
		}
		// The participant sees its own alerts (wallet-b has none) and got
		// them as signed callbacks.
		if mine := waitAlerts(a, 3); len(mine) != 3 {
			t.Fatalf("participant's alerts: %+v", mine)
		}
		if theirs := waitAlerts(b, 0); len(theirs) != 0 {
			t.Fatalf("other participant sees %+v", theirs)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			hk.mu.Lock()
			n := len(hk.alerts)
			hk.mu.Unlock()
			if n == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d alert callbacks", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var page wire.LiquidityAlerts
		s.ok(200, "GET", "/v1/liquidity-alerts?limit=2", opToken, nil, &page)
		if len(page.Alerts) != 2 || page.Next == "" {
			t.Fatalf("page %+v", page)
		}
		s.ok(200, "GET", "/v1/liquidity-alerts?limit=2&after="+page.Next, opToken, nil, &page)
		if len(page.Alerts) != 1 {
			t.Fatalf("second page %+v", page)
		}
	})
}
