package audit_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/store"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

var benchSeq atomic.Uint64

// BenchmarkDurable measures durable transfers per second through the
// journal (internal/journal's benchmark, same load) with and without the
// audit log tailing it: the difference is what the audit log costs the
// ledger. With it, the figure counts only once every transfer is also
// hashed.
func BenchmarkDurable(b *testing.B) {
	for _, eng := range []string{"embedded", "postgres"} {
		for _, c := range []struct {
			name          string
			callers, size int
		}{{"batch=8000x4callers", 4, 8000}, {"callers=64", 64, 1}} {
			for _, withAudit := range []bool{false, true} {
				name := eng + "/" + c.name + "/audit=off"
				if withAudit {
					name = eng + "/" + c.name + "/audit=on"
				}
				b.Run(name, func(b *testing.B) {
					var s journal.Store
					var err error
					dir := b.TempDir()
					if eng == "embedded" {
						s, err = store.Open(dir, store.Options{})
					} else {
						s, err = postgres.Open(context.Background(), pgtest.DSN(b))
					}
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					var l atomic.Pointer[audit.Log]
					j, err := journal.Open(context.Background(), s, journal.Options{OnDurable: func([]*ledger.Committed) {
						if x := l.Load(); x != nil {
							x.Wake()
						}
					}})
					if err != nil {
						b.Fatal(err)
					}
					defer j.Close()
					cmds := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 1000, Currency: cny, AccountFlags: ledger.AccountUnbounded}}
					for a := ledger.AccountID(1); a <= 100; a++ {
						cmds = append(cmds, ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cny},
							ledger.Command{Kind: ledger.KindPost, ID: tid(0xff, uint64(a)), Debit: 1000, Credit: a, Amount: 1 << 50})
					}
					if _, err := j.Submit(context.Background(), cmds); err != nil {
						b.Fatal(err)
					}
					if withAudit {
						lg, err := audit.Open(context.Background(), j, audit.Options{Dir: filepath.Join(dir, "audit"), Key: key(b, dir),
							Reinit: true, Submit: j.Submit}) // the ledger was filled first
						if err != nil {
							b.Fatal(err)
						}
						defer lg.Close()
						l.Store(lg)
					}
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
									x := benchSeq.Add(1)
									dr, cr := ledger.AccountID(1+x%100), ledger.AccountID(1+(x*7+3)%100)
									if dr == cr {
										cr = 1 + cr%100
									}
									cmds[i] = ledger.Command{Kind: ledger.KindPost, ID: tid(0x42, x), Debit: dr, Credit: cr, Amount: money.Amount(1 + x%1000)}
								}
								if _, err := j.Submit(context.Background(), cmds[:m]); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
					wg.Wait()
					if lg := l.Load(); lg != nil {
						if _, err := lg.Sync(context.Background()); err != nil {
							b.Fatal(err)
						}
					}
					elapsed := time.Since(start)
					b.StopTimer()
					b.ReportMetric(float64(b.N)/elapsed.Seconds(), "transfers/s")
				})
			}
		}
	}
}
