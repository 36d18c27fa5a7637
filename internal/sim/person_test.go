package sim

import (
	"context"
	"errors"
	"net/http"
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
	s, err := NewScenario(a.URL(), a.AdminToken, ScenarioConfig{Users: 100, Concurrency: 2, NoCrossBorder: true, Seed: 7, NoScreen: true,
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

// TestPersonUnknownOutcome: a payment without a final answer stays out of
// the statement, its money held, until the books learn it committed
// (Reconcile); a released one never enters it. Bills to the person's
// aliases wait for the person, not for NextBill.
func TestPersonUnknownOutcome(t *testing.T) {
	ctx := context.Background()
	api, _ := fakeSwitch(t, problem(http.StatusServiceUnavailable, ProblemUnavailable, ""))
	p := newTestParticipant(t, Config{ID: "peony-pay", Name: "Peony Pay", Kind: "wallet", Currency: cny, Acceptance: "notify"})
	p.Connect(api, secret)
	if err := p.Books().Open("p-li", "李晓明", 100_00); err != nil {
		t.Fatal(err)
	}
	pe, err := NewPerson(p, "p-li")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPerson(p, "p-li"); err == nil {
		t.Error("a person made twice")
	}
	if _, err := NewPerson(p, "nobody"); !errors.Is(err, ErrNoUser) {
		t.Errorf("a person without an account: %v", err)
	}
	payee := wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000"}
	var ids []string
	for range 2 {
		r := pe.Pay(ctx, Payment{Payee: payee, Amount: 30_00, Note: "tea"}, "*伟")
		if r.Status != StatusUnknown {
			t.Fatalf("payment: %s %s", r.Status, r.Problem)
		}
		ids = append(ids, r.ID)
	}
	if st := pe.Statement(); len(st) != 0 {
		t.Errorf("statement before the outcome: %+v", st)
	}
	if a := pe.Account(); a.Held != 60_00 {
		t.Errorf("held %d, want 60.00", a.Held)
	}
	// Reconcile learns: the first committed, the second never happened.
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	p.book(Result{ID: ids[0]}, wire.Transfer{ID: ids[0], State: "COMMITTED", Amount: "30.00", Fee: "0.13", Currency: "CNY", Payee: payee, CreatedAt: at})
	if err := p.Books().Release(ids[1]); err != nil {
		t.Fatal(err)
	}
	st := pe.Statement()
	if len(st) != 1 || st[0].ID != ids[0] || st[0].Payee != payee || st[0].Party != "*伟" || st[0].Amount != 30_00 || st[0].Fee != 0 {
		t.Errorf("statement %+v", st)
	}
	if st := pe.Statement(); len(st) != 1 {
		t.Errorf("statement read again: %+v", st)
	}
	if a := pe.Account(); a.Balance != 70_00 || a.Held != 0 {
		t.Errorf("account %+v", a)
	}

	// A bill to the person's alias, and one to another user's.
	p.mu.Lock()
	p.aliases[aliasKey("MSISDN", "+8613712345678")] = "p-li"
	p.aliases[aliasKey("MSISDN", "+8613800000001")] = "u-000001"
	p.mu.Unlock()
	for _, to := range []string{"+8613712345678", "+8613800000001", "+8613712345678"} {
		bill := &wire.PaymentRequest{ID: "river-bank.r-" + to, Payee: "river-bank", Payer: wire.PayeeRef{Type: "MSISDN", Value: to,
			Participant: "peony-pay"}, Amount: "58.20", Currency: "CNY", State: "PENDING"}
		if st, body := callback(t, p, wire.Callback{Event: "payment-request.created", PaymentRequest: bill}, secret, time.Now()); st != http.StatusNoContent {
			t.Fatalf("bill callback: %d %s", st, body)
		}
	}
	if r, ok := p.NextBill(); !ok || r.Payer.Value != "+8613800000001" {
		t.Errorf("the simulator's bill: %+v %v", r, ok)
	}
	if r, ok := p.NextBill(); ok {
		t.Errorf("the simulator was handed the person's bill %+v", r)
	}
	if b, ok := pe.Bill("river-bank.r-+8613712345678"); !ok || b.Amount != "58.20" {
		t.Errorf("the person's bill: %+v %v", b, ok)
	}
}
