package msg

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/hulian/hulian/internal/money"
)

func batch(n int) *CreditTransfer {
	c := &CreditTransfer{MsgID: "BATCH", Created: t0, SettlementMethod: "CLRG"}
	for i := range n {
		c.Transactions = append(c.Transactions, CreditTransaction{
			EndToEndID: "NOTPROVIDED", TxID: fmt.Sprintf("tx-%06d", i), Amount: money.Amount(i + 1), Currency: cny,
			ChargeBearer: "SLEV", DebtorAgent: "bank-a", CreditorAgent: "wallet-b",
			CreditorAccount: &Account{ID: fmt.Sprintf("+86138%08d", i), Scheme: "MSISDN"}, Note: "rent",
		})
	}
	return c
}

func statement(n int) *BankStatement {
	s := AccountStatement{ID: "S", Account: Account{ID: "a"}, Currency: cny, Balances: []Balance{
		{Type: "OPBD", Currency: cny, Indicator: Credit, Date: Date(2026, 12, 7)},
	}}
	for i := range n {
		s.Entries = append(s.Entries, Entry{Amount: money.Amount(i + 1), Currency: cny, Indicator: Credit,
			Status: "BOOK", Booked: Date(2026, 12, 7), Code: "PAYMENT", TxID: fmt.Sprintf("tx-%06d", i)})
	}
	return &BankStatement{MsgID: "S", Created: t0, Statements: []AccountStatement{s}}
}

// BenchmarkParse measures a full pacs.008 batch and a 10,000-entry
// statement, per message.
func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct {
		name string
		doc  Document
	}{{"pacs.008x1000", batch(MaxTransactions)}, {"camt.053x10000", statement(10000)}} {
		data, err := Marshal(tc.doc)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bytes.NewReader(data), 1<<30); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarshal measures rendering a pacs.002 answer to a full batch.
func BenchmarkMarshal(b *testing.B) {
	r := &StatusReport{MsgID: "R", Created: t0, Originals: []OriginalGroup{{MsgID: "BATCH", Type: TypeCreditTransfer}}}
	for i := range MaxTransactions {
		r.Transactions = append(r.Transactions, TxStatus{OrigEndToEndID: "NOTPROVIDED", OrigTxID: fmt.Sprintf("tx-%06d", i), Status: "ACSC"})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(r); err != nil {
			b.Fatal(err)
		}
	}
}
