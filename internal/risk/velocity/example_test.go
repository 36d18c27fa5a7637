package velocity_test

import (
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/risk/velocity"
)

func Example() {
	w := velocity.New(velocity.Options{MaxWindow: 24 * time.Hour})
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	// The committer records every committed transfer (and a restart
	// replays the last MaxWindow of them from the ledger).
	for i := range 3 {
		w.Observe(velocity.Txn{
			At: start.Add(time.Duration(i) * 10 * time.Minute), Payer: "wallet-a", PayerAccount: "u-17",
			PayeeAlias: "MSISDN:8613800000000", Currency: "CNY", Amount: 50_000,
		})
	}
	// A screening at 09:45 asks for the variables of its rules.
	now := start.Add(45 * time.Minute)
	count, sum := w.Payer("wallet-a", "u-17", "CNY", now, time.Hour)
	fmt.Println("payerCount(1h):", count, "payerSum(1h):", sum)
	count, _ = w.Alias("MSISDN:8613800000000", "CNY", now, 40*time.Minute)
	fmt.Println("aliasCount(40m):", count)
	fmt.Println("newPayee:", w.NewPayee("wallet-a", "u-17", "MSISDN:8613900000000"))
	// Output:
	// payerCount(1h): 3 payerSum(1h): 150000
	// aliasCount(40m): 2
	// newPayee: true
}
