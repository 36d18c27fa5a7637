package postgres_test

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// BenchmarkAppend measures durable appends of one committed batch at a
// time, of 1, 100 and ledger.BatchMax one-phase transfers among a few
// accounts, each into a fresh database. The ledger's work is not timed.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1, 100, ledger.BatchMax} {
		dsn := pgtest.DSN(b)
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			benchmarkAppend(b, dsn, size, func() *postgres.Store { return open(b, dsn) })
		})
	}
}

// BenchmarkAppendNode is BenchmarkAppend for a node's store (OpenNode),
// whose appends also check the lease and notify the followers.
func BenchmarkAppendNode(b *testing.B) {
	for _, size := range []int{1, 100, ledger.BatchMax} {
		dsn := pgtest.DSN(b)
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			benchmarkAppend(b, dsn, size, func() *postgres.Store {
				s, err := postgres.OpenNode(context.Background(), dsn, "bench")
				if err != nil {
					b.Fatal(err)
				}
				setLease(b, sqlConn(b, dsn), "bench", 1)
				s.SetEpoch(1)
				return s
			})
		})
	}
}

func benchmarkAppend(b *testing.B, dsn string, size int, open func() *postgres.Store) {
	ctx := context.Background()
	// Each call of this function with a larger b.N starts afresh.
	s := open()
	defer s.Close()
	c := sqlConn(b, dsn)
	if _, err := c.Exec(ctx, "TRUNCATE ledger_events, ledger_batches"); err != nil {
		b.Fatal(err)
	}
	if err := s.Replay(ctx, func(*ledger.Committed) error { return nil }); err != nil {
		b.Fatal(err)
	}
	cny := money.MustCurrency("CNY")
	const accounts = 8
	l := ledger.New()
	setup := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 1000, Currency: cny, AccountFlags: ledger.AccountUnbounded}}
	for a := ledger.AccountID(1); a <= accounts; a++ {
		setup = append(setup,
			ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cny},
			ledger.Command{Kind: ledger.KindPost, ID: ledger.ID{0: 1, 15: byte(a)}, Debit: 1000, Credit: a, Amount: 1 << 50})
	}
	var batch ledger.Committed
	now := int64(1e18)
	l.Apply(now, setup, nil, &batch)
	if err := s.Append(ctx, []*ledger.Committed{&batch}); err != nil {
		b.Fatal(err)
	}
	cmds := make([]ledger.Command, size)
	var results []ledger.Result
	var n uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for k := range cmds {
			n++
			var id ledger.ID
			binary.BigEndian.PutUint64(id[8:], n)
			dr := ledger.AccountID(1 + n%accounts)
			cr := ledger.AccountID(1 + (n+1+n/accounts%(accounts-1))%accounts)
			cmds[k] = ledger.Command{Kind: ledger.KindPost, ID: id, Debit: dr, Credit: cr, Amount: 1, Purpose: 1}
		}
		now += 1e6
		results = l.Apply(now, cmds, results, &batch)
		if len(batch.Events) != size {
			b.Fatalf("batch of %d commands made %d events (%v)", size, len(batch.Events), results[0].Status)
		}
		b.StartTimer()
		if err := s.Append(ctx, []*ledger.Committed{&batch}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
}
