package sim

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// TestPerson: a person opened at a wallet after setup pays, is paid and
// answers bills through the wallet's ordinary paths; the simulator never
// takes the person's bills; and the books agree with the switch, Check
// run while the person keeps paying.
func TestPerson(t *testing.T) {
	a := startSwitch(t)
	s, err := NewScenario(a.URL(), a.AdminToken, ScenarioConfig{Users: 100, Concurrency: 2, NoCrossBorder: true, Seed: 7,
		DrainTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	pe, err := s.OpenPerson(ctx, PersonConfig{Participant: "peony-pay", ID: "p-li", Name: "李晓明", Opening: 8_000_00,
		Phone: "+8613712345678", Email: "xiaoming@peony.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenPerson(ctx, PersonConfig{Participant: "peony-pay", ID: "p-li", Name: "again", Phone: "+8613712345679"}); err == nil {
		t.Errorf("the same account opened twice")
	}
	if err := s.Welcome(ctx, pe); err != nil {
		t.Fatal(err)
	}
	st := pe.Statement()
	var in, out int
	for _, e := range st {
		if e.Incoming {
			in++
		} else {
			out++
		}
		if e.At.IsZero() || e.Amount <= 0 || e.Payee.Type == "" || e.Party == "" {
			t.Errorf("entry %+v", e)
		}
	}
	if in != 2 || out != 2 {
		t.Fatalf("statement: %d in, %d out: %+v", in, out, st)
	}
	bills := pe.Bills(ctx)
	if len(bills) != 2 || bills[0].Message != "electricity bill" || bills[0].State != "PENDING" {
		t.Fatalf("bills %+v", bills)
	}
	if b, ok := pe.Participant().NextBill(); ok {
		t.Errorf("the simulator was handed the person's bill %+v", b)
	}
	if len(pe.Contacts()) != 6 {
		t.Errorf("contacts %+v", pe.Contacts())
	}

	// Refusals, each with its name; nothing moves.
	before := pe.Account()
	friend, fellow := pe.Contacts()[0].Alias, pe.Contacts()[3].Alias
	for _, tc := range []struct {
		name    string
		pm      Payment
		status  Status
		problem string
	}{
		{"unknown alias", Payment{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613900000002"}, Amount: 10_00}, StatusRefused, ProblemUnknownParty},
		{"beyond the balance", Payment{Payee: friend, Amount: before.Available() + 1}, StatusDeclined, "balance"},
		{"a fellow user of the wallet", Payment{Payee: fellow, Amount: 10_00}, StatusRefused, ProblemSameParticipant},
		{"From ignored", Payment{From: "u-000001", Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613900000002"}, Amount: 10_00}, StatusRefused,
			ProblemUnknownParty},
	} {
		r := pe.Pay(ctx, tc.pm, "")
		if r.Status != tc.status || r.Problem != tc.problem {
			t.Errorf("%s: %s %s %v, want %s %s", tc.name, r.Status, r.Problem, r.Err, tc.status, tc.problem)
		}
	}
	if after := pe.Account(); after != before {
		t.Errorf("refusals moved money: %+v → %+v", before, after)
	}

	// Bills: one paid, one declined; then neither waits.
	r, err := pe.PayBill(ctx, bills[0].ID)
	if err != nil || r.Status != StatusCommitted {
		t.Fatalf("pay bill: %+v %v", r, err)
	}
	if err := pe.DeclineBill(ctx, bills[1].ID, "not mine"); err != nil {
		t.Fatal(err)
	}
	if _, err := pe.PayBill(ctx, bills[1].ID); !errors.Is(err, ErrNoBill) {
		t.Errorf("declined bill paid: %v", err)
	}
	if got := pe.Bills(ctx); len(got) != 0 {
		t.Errorf("bills left %+v", got)
	}
	if st := pe.Statement(); len(st) != 5 || st[0].Payee.Type != "ACCOUNT" || st[0].Note != "electricity bill" || st[0].Amount != 158_30 ||
		st[0].Party != "river-bank" {
		t.Errorf("statement after the bill: %+v", st)
	}
	want := money.Amount(8_000_00 + 3_800_00 + 120_00 - 36_00 - 86_50 - 158_30)
	if got := pe.Account(); got.Balance != want || got.Held != 0 {
		t.Errorf("account %+v, want balance %d", got, want)
	}

	// Check while the person pays: it waits for the payment in flight,
	// holds the next ones, and the books agree with the switch.
	stop := make(chan struct{})
	var paid atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r := pe.Pay(ctx, Payment{Payee: friend, Amount: 1_00, Note: "coffee"}, "*明"); r.Status == StatusCommitted {
				paid.Add(1)
			} else {
				t.Errorf("payment during Check: %s %s %v", r.Status, r.Problem, r.Err)
				return
			}
		}
	})
	time.Sleep(200 * time.Millisecond)
	rep, err := s.Check(ctx)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if !c.Pass {
			t.Error(c)
		}
	}
	if paid.Load() == 0 {
		t.Errorf("the person paid nothing meanwhile")
	}
	if err := pe.Participant().Books().Verify(); err != nil {
		t.Error(err)
	}
	t.Logf("%d payments of the person around Check", paid.Load())
}
