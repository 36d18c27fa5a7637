package velocity

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrent runs committers and screeners together (meant for -race)
// and checks that no transfer is lost: a key's count never goes down
// while transfers are added, and the totals match in the end.
func TestConcurrent(t *testing.T) {
	w := New(Options{MaxWindow: time.Hour, MaxKeys: 1 << 14})
	const committers, screeners, perCommitter, accounts = 2, 4, 5000, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := range committers {
		wg.Go(func() {
			for i := range perCommitter {
				w.Observe(Txn{
					At:    t0.Add(time.Duration(i) * time.Millisecond),
					Payer: fmt.Sprint("bank-", c), PayerAccount: fmt.Sprint("u", i%accounts),
					PayeeAlias: fmt.Sprint("MSISDN:", i%7), Currency: "CNY", Amount: 3,
				})
			}
		})
	}
	var swg sync.WaitGroup
	for s := range screeners {
		swg.Go(func() {
			var prev int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, _ := w.Alias(fmt.Sprint("MSISDN:", s%7), "CNY", t0.Add(time.Hour), time.Hour)
				if c < prev {
					t.Errorf("alias count went down from %d to %d", prev, c)
					return
				}
				prev = c
				w.Payer("bank-0", "u1", "CNY", t0.Add(time.Hour), time.Hour)
				w.NewPayee("bank-1", "u2", "MSISDN:3")
			}
		})
	}
	wg.Wait()
	close(stop)
	swg.Wait()
	now := t0.Add(time.Hour)
	var total int64
	for a := range 7 {
		c, s := w.Alias(fmt.Sprint("MSISDN:", a), "CNY", now, time.Hour)
		if s != 3*c {
			t.Errorf("MSISDN:%d: sum %d for count %d", a, s, c)
		}
		total += c
	}
	if total != committers*perCommitter {
		t.Errorf("aliases counted %d transfers, want %d", total, committers*perCommitter)
	}
	for c := range committers {
		for a := range accounts {
			n, _ := w.Payer(fmt.Sprint("bank-", c), fmt.Sprint("u", a), "CNY", now, time.Hour)
			if n != perCommitter/accounts {
				t.Fatalf("bank-%d u%d: count %d, want %d", c, a, n, perCommitter/accounts)
			}
		}
	}
}
