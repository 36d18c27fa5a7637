package ledger_test

import (
	"encoding/binary"
	"testing"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// BenchmarkApply measures the core alone, in memory: one-phase transfers
// among 100 prefunded accounts in batches of ledger.BatchMax.
func BenchmarkApply(b *testing.B) {
	cny := money.MustCurrency("CNY")
	l := ledger.New()
	setup := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 1000, Currency: cny, AccountFlags: ledger.AccountUnbounded}}
	for a := ledger.AccountID(1); a <= 100; a++ {
		setup = append(setup,
			ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cny},
			ledger.Command{Kind: ledger.KindPost, ID: ledger.ID{0: 1, 15: byte(a)}, Debit: 1000, Credit: a, Amount: 1 << 50})
	}
	var c ledger.Committed
	l.Apply(1, setup, nil, &c)
	cmds := make([]ledger.Command, ledger.BatchMax)
	var results []ledger.Result
	var n uint64
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(b.N-done, ledger.BatchMax)
		for i := range cmds[:k] {
			n++
			var id ledger.ID
			binary.BigEndian.PutUint64(id[8:], n)
			cmds[i] = ledger.Command{Kind: ledger.KindPost, ID: id, Debit: ledger.AccountID(1 + n%100), Credit: ledger.AccountID(1 + (n*7+3)%100), Amount: 1}
			if cmds[i].Debit == cmds[i].Credit {
				cmds[i].Credit = 1 + cmds[i].Credit%100
			}
		}
		results = l.Apply(int64(n), cmds[:k], results, &c)
		done += k
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
}
