package journal_test

import (
	"context"
	"flag"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

var restartTransfers = flag.Int("restart-transfers", 10_000_000, "transfers stored before BenchmarkRestart reopens")

const benchAccounts = 100

// benchSetup creates benchAccounts prefunded accounts.
func benchSetup(b *testing.B, j *journal.Journal) {
	setup := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 1000, Currency: cny, AccountFlags: ledger.AccountUnbounded}}
	for a := ledger.AccountID(1); a <= benchAccounts; a++ {
		setup = append(setup,
			ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cny},
			ledger.Command{Kind: ledger.KindPost, ID: tid(0xff, uint64(a)), Debit: 1000, Credit: a, Amount: 1 << 50})
	}
	if _, err := j.Submit(context.Background(), setup); err != nil {
		b.Fatal(err)
	}
}

var benchSeq atomic.Uint64

// transfer returns a one-phase transfer with a fresh id.
func transfer() ledger.Command {
	n := benchSeq.Add(1)
	dr := ledger.AccountID(1 + n%benchAccounts)
	cr := ledger.AccountID(1 + (n*7+3)%benchAccounts)
	if dr == cr {
		cr = 1 + cr%benchAccounts
	}
	return ledger.Command{Kind: ledger.KindPost, ID: tid(0x42, n), Debit: dr, Credit: cr, Amount: money.Amount(1 + n%1000)}
}

// BenchmarkDurable measures durable transfers per second through the
// journal on each engine: callers × submissions of size transfers, each
// caller waiting for its answer (so for one caller the figure includes
// the whole durable round trip), and 64 callers submitting one transfer
// each, which the journal batches by itself.
func BenchmarkDurable(b *testing.B) {
	for _, e := range engines {
		for _, c := range []struct {
			name          string
			callers, size int
		}{
			{"batch=1", 1, 1},
			{"batch=100", 1, 100},
			{"batch=8000", 1, 8000},
			{"batch=8000x4callers", 4, 8000},
			{"callers=64", 64, 1},
		} {
			b.Run(e.name+"/"+c.name, func(b *testing.B) {
				s, err := e.open(e.fresh(b))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				j, err := journal.Open(context.Background(), s, journal.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				benchSetup(b, j)
				seq0 := j.Seq()
				var next atomic.Int64
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for k := 0; k < c.callers; k++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						cmds := make([]ledger.Command, c.size)
						for {
							n := int(next.Add(int64(c.size)))
							if n-c.size >= b.N {
								return
							}
							m := min(c.size, b.N-(n-c.size))
							for i := range cmds[:m] {
								cmds[i] = transfer()
							}
							res, err := j.Submit(context.Background(), cmds[:m])
							if err != nil {
								b.Error(err)
								return
							}
							for _, r := range res {
								if r.Status != ledger.StatusOK {
									b.Errorf("transfer: %v", r.Status)
									return
								}
							}
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "transfers/s")
				b.ReportMetric(float64(b.N)/float64(max(j.Seq()-seq0, 1)), "transfers/batch")
			})
		}
	}
}

// BenchmarkRestart stores -restart-transfers transfers (10 million by
// default) and measures how long opening the journal takes: replaying the
// store into a fresh ledger and checking its invariants. Run it with
// -benchtime=1x.
//
// On an engine that keeps snapshots (journal.Snapshotter) it reports two
// restarts: s/restart after the clean close that saved a snapshot (a
// planned restart: the snapshot, no batch after it), and s/restart-full
// replaying every batch, as a start does when it finds no usable
// snapshot (a crash before any clean close; a crash after one replays
// the batches since). s/snapshot-save is how long the clean close took
// to save the snapshot.
func BenchmarkRestart(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			loc := e.fresh(b)
			s, err := e.open(loc)
			if err != nil {
				b.Fatal(err)
			}
			var saved time.Duration
			var saveErr error
			j, err := journal.Open(context.Background(), s, journal.Options{OnSnapshot: func(_ uint64, took time.Duration, err error) {
				saved, saveErr = took, err
			}})
			if err != nil {
				b.Fatal(err)
			}
			benchSetup(b, j)
			cmds := make([]ledger.Command, ledger.BatchMax)
			var wg sync.WaitGroup
			var left atomic.Int64
			left.Store(int64(*restartTransfers))
			for k := 0; k < 4; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmds := make([]ledger.Command, len(cmds))
					for left.Add(-int64(len(cmds))) > -int64(len(cmds)) {
						for i := range cmds {
							cmds[i] = transfer()
						}
						if _, err := j.Submit(context.Background(), cmds); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			var stored int
			j.View(func(s *ledger.State) { stored = s.Transfers() })
			if err := j.Close(); err != nil {
				b.Fatal(err)
			}
			if saveErr != nil {
				b.Fatal(saveErr)
			}
			_, snapshots := s.(journal.Snapshotter)
			s.Close()
			restart := func(full bool) time.Duration {
				start := time.Now()
				s, err := e.open(loc)
				if err != nil {
					b.Fatal(err)
				}
				store := s
				if full {
					store = struct{ journal.Store }{s} // hides the snapshots
				}
				j, err := journal.Open(context.Background(), store, journal.Options{})
				if err != nil {
					b.Fatal(err)
				}
				took := time.Since(start)
				if rec := j.Recovery(); !full && snapshots && rec.Replayed != 0 {
					b.Fatalf("restart after a clean close: %+v", rec)
				}
				j.Close()
				s.Close()
				return took
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.ReportMetric(restart(false).Seconds(), "s/restart")
				if snapshots {
					b.ReportMetric(restart(true).Seconds(), "s/restart-full")
					b.ReportMetric(saved.Seconds(), "s/snapshot-save")
				}
				b.ReportMetric(float64(stored), "transfers")
			}
		})
	}
}
