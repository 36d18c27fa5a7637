package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// TestConnectorWallet runs the reference simulator's connector mode: a
// wallet that talks only to its connector, in each acceptance mode,
// pays and is paid by a simulated participant, and its books agree with
// the switch.
func TestConnectorWallet(t *testing.T) {
	for _, mode := range []string{"notify", "confirm"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			s := startSwitch(t)
			w := s.onboard(t, "tea-wallet", "notify") // confirm needs a callback URL: the connector sets both
			pr := s.startPeer(t)
			wl, err := sim.NewConnectorWallet("tea-wallet", cny, "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { wl.Close(ctx) })
			wl.Books().Deposit(1_000_000)
			cfg := fastConfig(s, w, wl.BackendURL(), t.TempDir())
			cfg.Acceptance = mode
			c := startConnector(t, cfg)
			wl.SetConnector(c.URL())
			for _, u := range []struct{ id, phone string }{{"alice", "+8613900139001"}, {"bob", "+8613900139002"}} {
				if err := wl.Books().Open(u.id, u.id, 500_00); err != nil {
					t.Fatal(err)
				}
				if err := wl.Register(ctx, u.id, u.id, wire.PayeeRef{Type: "MSISDN", Value: u.phone}); err != nil {
					t.Fatal(err)
				}
			}
			wl.Books().Close("bob") // a confirm-mode wallet rejects payments to a closed account
			for i := range 5 {
				if res := wl.Pay(ctx, "alice", wire.PayeeRef{Type: "MSISDN", Value: peerAlias}, moneyOf(int64(1000+i)), "out"); res.Status != sim.StatusCommitted {
					t.Errorf("pay out %d: %+v", i, res)
				}
				if res := pr.pay(t, "MSISDN", "+8613900139001", moneyOf(int64(2000+i))); res.Status != sim.StatusCommitted {
					t.Errorf("pay in %d: %+v", i, res)
				}
			}
			res := pr.pay(t, "MSISDN", "+8613900139002", 100)
			if want := map[string]sim.Status{"notify": sim.StatusCommitted, "confirm": sim.StatusAborted}[mode]; res.Status != want {
				t.Errorf("a payment to a closed account: %s, want %s", res.Status, want)
			}
			if res := wl.Pay(ctx, "alice", wire.PayeeRef{Type: "MSISDN", Value: "+8613700000000"}, 100, "nobody"); res.Status != sim.StatusRefused ||
				res.Problem != "unknown-party" {
				t.Errorf("a payment to an unknown alias: %+v", res)
			}
			if r := wl.Check(ctx, s.op, 10*time.Second); !r.Pass {
				t.Error(r)
			} else {
				t.Log(r)
			}
			if st := wl.Stats(); st.Anomalies != 0 || mode == "confirm" && (st.Accepted != 5 || st.Rejected != 1) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
