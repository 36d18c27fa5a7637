package app_test

import (
	"context"
	"encoding/binary"
	"flag"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

var restartTransfers = flag.Int("restart-transfers", 10_000_000, "transfers stored before BenchmarkAppRestart reopens the switch")

// rssKiB returns the process's resident set size (Linux), 0 elsewhere.
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkAppRestart measures how long the whole switch takes to be
// ready again with -restart-transfers transfers stored: the ledger's
// replay, the registries, and the audit log picking up where it was. The
// transfers go straight to the journal (payments between two
// participants), with the audit log tailing as in production. Run with
// -benchtime=1x.
func BenchmarkAppRestart(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			dir, store := b.TempDir(), e.store(b)
			cfg := app.Config{DataDir: dir, Store: store, Addr: "127.0.0.1:0", AdminToken: opToken}
			a, err := app.Open(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			cny := money.MustCurrency("CNY")
			var accts []ledger.AccountID
			for _, id := range []string{"wallet-a", "wallet-b"} {
				p, _, err := a.Participants.Create(context.Background(), participant.New{ID: id, Name: id, Kind: participant.Wallet, Currencies: []money.Currency{cny}})
				if err != nil {
					b.Fatal(err)
				}
				accts = append(accts, p.Account(cny))
			}
			if _, err := a.Journal.Submit(context.Background(), []ledger.Command{
				{Kind: ledger.KindSetFloor, Account: accts[0], Floor: 1 << 60},
				{Kind: ledger.KindSetFloor, Account: accts[1], Floor: 1 << 60},
			}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Uint64
			var wg sync.WaitGroup
			for k := 0; k < 4; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmds := make([]ledger.Command, ledger.BatchMax)
					for int(next.Load()) < *restartTransfers {
						for i := range cmds {
							n := next.Add(1)
							var id ledger.ID
							binary.BigEndian.PutUint64(id[8:], n)
							cmds[i] = ledger.Command{Kind: ledger.KindPost, ID: id, Debit: accts[n%2], Credit: accts[1-n%2],
								Amount: money.Amount(1 + n%1000), Purpose: purpose.Payment}
						}
						if _, err := a.Journal.Submit(context.Background(), cmds); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			stored := 0
			a.Journal.View(func(s *ledger.State) { stored = s.Transfers() })
			if err := a.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				a, err := app.Open(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := a.Serve(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/restart")
				b.ReportMetric(float64(stored), "transfers")
				b.ReportMetric(float64(a.Audit.Size()), "leaves")
				runtime.GC()
				b.ReportMetric(float64(rssKiB())/1024, "MiB-rss")
				a.Close(context.Background())
			}
		})
	}
}
