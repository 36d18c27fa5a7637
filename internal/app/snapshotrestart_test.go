package app_test

import (
	"testing"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// TestSnapshotRestart: a switch on PostgreSQL closed cleanly starts again
// from the ledger's snapshot, replaying nothing, with the same balances;
// the embedded engine replays its log, as before.
func TestSnapshotRestart(t *testing.T) {
	for _, store := range []string{"", pgtest.DSN(t)} {
		name := "embedded"
		if store != "" {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			cfg := app.Config{DataDir: t.TempDir(), Store: store, Addr: "127.0.0.1:0", AdminToken: opToken}
			s, err := openSwitch(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s.participant("wallet-a", nil)
			s.deposit("wallet-a", "1234.56")
			seq := s.app.Journal.Seq()
			s.close()

			s, err = openSwitch(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			rec := s.app.Journal.Recovery()
			if store == "" {
				if rec.Snapshot != 0 {
					t.Errorf("the embedded engine loaded a snapshot: %+v", rec)
				}
			} else if rec.Snapshot != seq || rec.Replayed != 0 || rec.SnapshotIgnored != nil {
				t.Errorf("recovery %+v, want the snapshot of batch %d and nothing replayed", rec, seq)
			}
			if got := s.app.Journal.Seq(); got != seq {
				t.Errorf("after the restart at batch %d, want %d", got, seq)
			}
			if b := s.balance(opToken, "wallet-a"); b.Balance != "1234.56" {
				t.Errorf("balance after the restart %+v", b)
			}
		})
	}
}
