package dispute

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// TestAccept: a fraud dispute holds the payment on the payee and tells
// it; the same dispute again answers the first, another is refused while
// it is open; the payee accepts and the payer gets the money back, once,
// and learns it; the payee alias is reported; refunds then find nothing
// left; a rejection after is refused.
func TestAccept(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, f *fixture) {
		id := f.pay(f.a, f.b, 10000)
		bAvail, aBal := f.available(f.b), f.balance(f.a)
		d, created, err := f.s.Open(f.ctx, f.a, id, Fraud, "phishing call")
		if err != nil || !created || d.State != Open || d.Amount != 10000 || d.Held != 10000 || d.Payer != "wallet-a" ||
			d.Payee != "wallet-b" || !strings.HasPrefix(d.ID, "D") || d.Currency != cny {
			t.Fatalf("open: %+v %v %v", d, created, err)
		}
		if want := f.clk.Now().Add(7 * day); !d.RespondBy.Equal(want) {
			t.Errorf("respond by %v, want %v", d.RespondBy, want)
		}
		if got := bAvail - f.available(f.b); got != 10000 {
			t.Errorf("the payee's available fell by %d", got)
		}
		if got := f.events(f.b); !slices.Equal(got, []string{EventOpened}) {
			t.Errorf("payee notices %v", got)
		}
		if again, created, err := f.s.Open(f.ctx, f.a, id, Fraud, "phishing call"); err != nil || created || again.ID != d.ID {
			t.Errorf("the same dispute again: %+v %v %v", again, created, err)
		}
		if _, _, err := f.s.Open(f.ctx, f.a, id, Error, "typo"); !errors.Is(err, ErrOpen) {
			t.Errorf("another dispute while one is open: %v", err)
		}
		got, err := f.s.Accept(f.ctx, f.b, d.ID)
		if err != nil || got.State != Accepted || got.DecidedBy != ByPayee || got.Refunded != 10000 || got.Held != 0 {
			t.Fatalf("accept: %+v %v", got, err)
		}
		if again, err := f.s.Accept(f.ctx, f.b, d.ID); err != nil || again.State != Accepted || again.Refunded != 10000 {
			t.Errorf("accept again: %+v %v", again, err)
		}
		if _, err := f.s.Reject(f.ctx, f.b, d.ID, "too late"); !errors.Is(err, ErrClosed) {
			t.Errorf("reject after accept: %v", err)
		}
		if got := f.balance(f.a) - aBal; got != 10000 {
			t.Errorf("the payer got back %d", got)
		}
		if got := bAvail - f.available(f.b); got != 10000 {
			t.Errorf("the payee paid %d", got)
		}
		if got := f.events(f.a); !slices.Equal(got, []string{EventAccepted}) {
			t.Errorf("payer notices %v", got)
		}
		if got := f.fraud.got(); !slices.Equal(got, []string{"wallet-a " + id + " scam"}) {
			t.Errorf("fraud reports %v", got)
		}
		if paid, err := f.ts.Refunded(f.ctx, id); err != nil || paid != 10000 {
			t.Errorf("refunded %d, %v", paid, err)
		}
		if _, _, err := f.ts.Refund(f.ctx, f.b, id, "r.1", 1, ""); !errors.Is(err, transfer.ErrRefundExceeds) {
			t.Errorf("a refund after the dispute paid all back: %v", err)
		}
		if _, _, err := f.s.Open(f.ctx, f.a, id, Error, "again"); !errors.Is(err, ErrPaidBack) {
			t.Errorf("a dispute of a payment paid back: %v", err)
		}
		if n := f.sweep(); n != 0 {
			t.Errorf("the sweep found %d disputes to look at", n)
		}
	})
}

// TestReject: the payee rejects with a reason; the holds are released,
// the payer is told; accepting after is refused, rejecting again answers
// the same; an error dispute accepted reports nothing; a new dispute may
// be opened once the first is decided.
func TestReject(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, f *fixture) {
		id := f.pay(f.a, f.b, 5000)
		bAvail := f.available(f.b)
		d, _, err := f.s.Open(f.ctx, f.a, id, Fraud, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.s.Reject(f.ctx, f.b, d.ID, "goods delivered")
		if err != nil || got.State != Rejected || got.RejectReason != "goods delivered" || got.Held != 0 || got.Refunded != 0 {
			t.Fatalf("reject: %+v %v", got, err)
		}
		if f.available(f.b) != bAvail {
			t.Errorf("available %d after the rejection, want %d", f.available(f.b), bAvail)
		}
		if again, err := f.s.Reject(f.ctx, f.b, d.ID, "other words"); err != nil || again.RejectReason != "goods delivered" {
			t.Errorf("reject again: %+v %v", again, err)
		}
		if _, err := f.s.Accept(f.ctx, f.b, d.ID); !errors.Is(err, ErrClosed) {
			t.Errorf("accept after reject: %v", err)
		}
		if got := f.events(f.a); !slices.Equal(got, []string{EventRejected}) {
			t.Errorf("payer notices %v", got)
		}
		hs, err := f.s.Holds(f.ctx, "wallet-a", d.ID)
		if err != nil || len(hs) != 1 || hs[0].State != HoldReleased || hs[0].ID != HoldID(d.ID, 1) {
			t.Errorf("holds %+v %v", hs, err)
		}
		d2, created, err := f.s.Open(f.ctx, f.a, id, Error, "wrong payee")
		if err != nil || !created || d2.ID == d.ID || d2.Held != 5000 {
			t.Fatalf("a second dispute: %+v %v %v", d2, created, err)
		}
		if _, err := f.s.Accept(f.ctx, f.b, d2.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.fraud.got(); len(got) != 0 {
			t.Errorf("an error dispute reported %v", got)
		}
	})
}

// TestRefusals: each malformed or misdirected request is refused by
// name and changes nothing.
func TestRefusals(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, f *fixture) {
		id := f.pay(f.a, f.b, 5000)
		old := f.pay(f.a, f.b, 100)
		refund, _, err := f.ts.Refund(f.ctx, f.b, id, "r.1", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := f.s.Open(f.ctx, f.a, id, Fraud, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.Amount != 4900 {
			t.Errorf("disputed %d, want the payment less its refund", d.Amount)
		}
		f.clk.Advance(81 * day)
		for _, c := range []struct {
			name string
			do   func() error
			want error
		}{
			{"the payee opens", func() error { _, _, err := f.s.Open(f.ctx, f.b, id, Fraud, ""); return err }, ErrForbidden},
			{"a stranger opens", func() error { _, _, err := f.s.Open(f.ctx, f.c, id, Fraud, ""); return err }, transfer.ErrNotFound},
			{"no such payment", func() error { _, _, err := f.s.Open(f.ctx, f.a, "nope", Fraud, ""); return err }, transfer.ErrNotFound},
			{"a bad reason", func() error { _, _, err := f.s.Open(f.ctx, f.a, id, "regret", ""); return err }, ErrInvalid},
			{"a long detail", func() error { _, _, err := f.s.Open(f.ctx, f.a, id, Fraud, strings.Repeat("x", 501)); return err }, ErrInvalid},
			{"an unprintable detail", func() error { _, _, err := f.s.Open(f.ctx, f.a, id, Fraud, "a\x00b"); return err }, ErrInvalid},
			{"a refund", func() error { _, _, err := f.s.Open(f.ctx, f.b, refund.ID, Fraud, ""); return err }, ErrNotDisputable},
			{"a hold", func() error { _, _, err := f.s.Open(f.ctx, f.b, HoldID(d.ID, 1), Fraud, ""); return err }, ErrNotDisputable},
			{"past the dispute period", func() error { _, _, err := f.s.Open(f.ctx, f.a, old, Fraud, ""); return err }, ErrWindowPassed},
			{"the payer accepts", func() error { _, err := f.s.Accept(f.ctx, f.a, d.ID); return err }, ErrForbidden},
			{"a stranger accepts", func() error { _, err := f.s.Accept(f.ctx, f.c, d.ID); return err }, ErrNotFound},
			{"a stranger rejects", func() error { _, err := f.s.Reject(f.ctx, f.c, d.ID, "no"); return err }, ErrNotFound},
			{"no reason", func() error { _, err := f.s.Reject(f.ctx, f.b, d.ID, " "); return err }, ErrInvalid},
			{"no such dispute", func() error { _, err := f.s.Accept(f.ctx, f.b, "Dnope"); return err }, ErrNotFound},
			{"a stranger looks", func() error { _, err := f.s.Get(f.ctx, "wallet-c", d.ID); return err }, ErrNotFound},
			{"a bad state", func() error { _, err := f.s.List(f.ctx, Filter{State: "LOST", Limit: 10}); return err }, ErrInvalid},
			{"a bad cursor", func() error { _, err := f.s.List(f.ctx, Filter{After: "x", Limit: 10}); return err }, sqldb.ErrCursor},
			{"a bad limit", func() error { _, err := f.s.List(f.ctx, Filter{Limit: ListMax + 1}); return err }, ErrInvalid},
		} {
			if err := c.do(); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			} else if fault.KindOf(err) == fault.Internal {
				t.Errorf("%s: %v has no kind", c.name, err)
			}
		}
		all, err := f.s.List(f.ctx, Filter{Limit: 10})
		if err != nil || len(all) != 1 || all[0].ID != d.ID || all[0].State != Open {
			t.Errorf("disputes after the refusals: %+v %v", all, err)
		}
	})
}

// TestTopUpAndUnanswered: a payee short of money has what it has held,
// and the rest as it arrives, at most every TopUpInterval; unanswered
// by the deadline, the dispute is accepted by the switch, both sides are
// told, and money arriving later is paid back until the dispute period
// ends.
func TestTopUpAndUnanswered(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, f *fixture) {
		id := f.pay(f.a, f.b, 50000)
		f.pay(f.b, f.c, 140000) // b keeps 10,000 (no fee schedule)
		d, _, err := f.s.Open(f.ctx, f.a, id, Error, "wrong number")
		if err != nil {
			t.Fatal(err)
		}
		if d.Held != 10000 || f.available(f.b) != 0 {
			t.Fatalf("held %d, available %d", d.Held, f.available(f.b))
		}
		f.deposit(f.b, 20000)
		f.sweep()
		if d, _ = f.s.Get(f.ctx, "", d.ID); d.Held != 10000 {
			t.Errorf("held %d before the interval", d.Held)
		}
		f.clk.Advance(24 * time.Hour)
		f.sweep()
		if d, _ = f.s.Get(f.ctx, "", d.ID); d.Held != 30000 || f.available(f.b) != 0 {
			t.Errorf("held %d after the interval, available %d", d.Held, f.available(f.b))
		}
		aBal := f.balance(f.a)
		f.clk.Set(d.RespondBy)
		f.sweep()
		d, _ = f.s.Get(f.ctx, "", d.ID)
		if d.State != Accepted || d.DecidedBy != BySwitch || d.Refunded != 30000 || d.Held != 0 {
			t.Fatalf("unanswered: %+v", d)
		}
		if got := f.balance(f.a) - aBal; got != 30000 {
			t.Errorf("the payer got %d", got)
		}
		if got := f.events(f.b); !slices.Equal(got, []string{EventOpened, EventAccepted}) {
			t.Errorf("payee notices %v", got)
		}
		f.deposit(f.b, 30000)
		f.clk.Advance(24 * time.Hour)
		f.sweep()
		if d, _ = f.s.Get(f.ctx, "", d.ID); d.Refunded != 50000 || d.Outstanding() != 0 {
			t.Errorf("after more money arrived: %+v", d)
		}
		if got := f.available(f.b); got != 10000 {
			t.Errorf("the payee has %d left, want 10000", got)
		}
		if paid, err := f.ts.Refunded(f.ctx, id); err != nil || paid != 50000 {
			t.Errorf("refunded %d, %v", paid, err)
		}
		f.clk.Advance(100 * day)
		if n := f.sweep(); n != 0 {
			t.Errorf("the sweep looked at %d disputes with nothing left to do", n)
		}
	})
}

// TestRenewal: a response period longer than the ledger's longest
// reservation keeps the money held by renewing each hold a day before it
// would expire; the accepted dispute pays all of it.
func TestRenewal(t *testing.T) {
	eachEngine(t, func(c *Config) { c.ResponseDays = 20 }, func(t *testing.T, f *fixture) {
		id := f.pay(f.a, f.b, 8000)
		bAvail := f.available(f.b)
		d, _, err := f.s.Open(f.ctx, f.a, id, Fraud, "")
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 20; step++ {
			f.clk.Advance(day)
			f.sweep()
			if got := bAvail - f.available(f.b); got != 8000 {
				t.Fatalf("day %d: %d held on the payee, want 8000", step+1, got)
			}
		}
		d, _ = f.s.Get(f.ctx, "", d.ID)
		if d.State != Accepted || d.Refunded != 8000 {
			t.Fatalf("after 20 days: %+v", d)
		}
		hs, _ := f.s.Holds(f.ctx, "", d.ID)
		if len(hs) != 3 || hs[0].State != HoldReleased || hs[1].State != HoldReleased || hs[2].State != HoldCommitted {
			t.Errorf("holds %+v", hs)
		}
	})
}

// TestCrash: a crash between any two writes is made good by the next
// step or the sweep: a hold made but not recorded is adopted; a decision
// recorded on the ledger only stands against a later, other one; an
// accepted dispute whose holds were not committed has them committed;
// a commit not recorded is found.
func TestCrash(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, f *fixture) {
		id := f.pay(f.a, f.b, 30000)
		f.pay(f.b, f.c, 125000) // b keeps 5,000
		d, _, err := f.s.Open(f.ctx, f.a, id, Fraud, "")
		if err != nil || d.Held != 5000 {
			t.Fatalf("open: %+v %v", d, err)
		}
		// A top-up made on the ledger, then the crash.
		f.deposit(f.b, 1000)
		payee, _ := f.bed.Registry.Get("wallet-b")
		if _, _, err := f.ts.HoldPayBack(f.ctx, payee, id, HoldID(d.ID, 2), 1000, HoldTimeout, ""); err != nil {
			t.Fatal(err)
		}
		if d, err = f.s.Get(f.ctx, "wallet-a", d.ID); err != nil || d.Held != 5000 {
			t.Fatalf("before the sweep: %+v %v", d, err)
		}
		f.clk.Advance(24 * time.Hour) // due for a top-up: it adopts first
		f.sweep()
		if d, _ = f.s.Get(f.ctx, "", d.ID); d.Held != 6000 {
			t.Errorf("held %d after the adoption, want 6000", d.Held)
		}
		// A rejection on the ledger, then the crash; the payee, restarted,
		// accepts: the rejection stands.
		m := mark.Mark{Purpose: purpose.Dispute, Currency: cny, Key: []string{"decided", d.ID},
			Fields: []string{"rejected", d.ID, ByPayee, "it was a sale"}}
		if _, err := mark.Record(f.ctx, f.bed.Journal, m); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Accept(f.ctx, f.b, d.ID); !errors.Is(err, ErrClosed) {
			t.Errorf("accept after a rejection recorded on the ledger: %v", err)
		}
		if d, _ = f.s.Get(f.ctx, "", d.ID); d.State != Rejected || d.RejectReason != "it was a sale" || d.Held != 0 {
			t.Errorf("the rejection completed: %+v", d)
		}

		// An acceptance recorded, then the crash before the commits.
		id2 := f.pay(f.a, f.b, 2000)
		d2, _, err := f.s.Open(f.ctx, f.a, id2, Fraud, "")
		if err != nil || d2.Held != 2000 {
			t.Fatalf("open: %+v %v", d2, err)
		}
		unlock := lock(d2.ID)
		d2, err = f.s.decide(f.ctx, d2, Accepted, ByPayee, "")
		unlock()
		if err != nil || d2.State != Accepted || d2.Held != 2000 {
			t.Fatalf("decided: %+v %v", d2, err)
		}
		// One commit reaches the ledger, and the crash.
		if _, _, err := f.ts.CommitPayBack(f.ctx, HoldID(d2.ID, 1)); err != nil {
			t.Fatal(err)
		}
		f.sweep()
		if d2, _ = f.s.Get(f.ctx, "", d2.ID); d2.Refunded != 2000 || d2.Held != 0 {
			t.Errorf("after the sweep: %+v", d2)
		}
		if paid, err := f.ts.Refunded(f.ctx, id2); err != nil || paid != 2000 {
			t.Errorf("refunded %d, %v: paid once", paid, err)
		}
		if got := f.fraud.got(); !slices.Equal(got, []string{"wallet-a " + id2 + " scam"}) {
			t.Errorf("fraud reports %v", got)
		}
	})
}

// TestList: listings by side and state, in pages.
func TestList(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, f *fixture) {
		var ids []string
		for i := 0; i < 5; i++ {
			d, _, err := f.s.Open(f.ctx, f.a, f.pay(f.a, f.b, 100), Fraud, "")
			if err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(time.Second)
			ids = append(ids, d.ID)
		}
		d, _, err := f.s.Open(f.ctx, f.b, f.pay(f.b, f.a, 100), Error, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Reject(f.ctx, f.b, ids[1], "no"); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for after := ""; ; {
			page, err := f.s.List(f.ctx, Filter{Participant: "wallet-a", Role: "payer", After: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, d := range page {
				seen = append(seen, d.ID)
			}
			after = page[len(page)-1].Cursor()
		}
		if !slices.Equal(seen, ids) {
			t.Errorf("a's disputes %v, want %v", seen, ids)
		}
		for _, c := range []struct {
			f    Filter
			want int
		}{
			{Filter{Participant: "wallet-b", Role: "payee", Limit: 10}, 5},
			{Filter{Participant: "wallet-b", Role: "payer", Limit: 10}, 1},
			{Filter{Participant: "wallet-a", Role: "payer", State: Rejected, Limit: 10}, 1},
			{Filter{State: Open, Limit: 10}, 5},
			{Filter{TransferID: d.TransferID, Limit: 10}, 1},
			{Filter{Participant: "wallet-c", Role: "payee", Limit: 10}, 0},
		} {
			if got, err := f.s.List(f.ctx, c.f); err != nil || len(got) != c.want {
				t.Errorf("%+v: %d, %v; want %d", c.f, len(got), err, c.want)
			}
		}
	})
}

// TestConfig: defaults are valid; each field out of range is refused by
// name.
func TestConfig(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"dispute days", func(c *Config) { c.DisputeDays = 400 }, "dispute days"},
		{"negative dispute days", func(c *Config) { c.DisputeDays = -1 }, "dispute days"},
		{"response days", func(c *Config) { c.ResponseDays = 31 }, "response days"},
		{"top-up interval", func(c *Config) { c.TopUpInterval = time.Second }, "top-up interval"},
	} {
		var cfg Config
		cfg.EnsureDefaults()
		c.change(&cfg)
		err := cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	var cfg Config
	cfg.EnsureDefaults()
	if cfg.DisputeDays != 80 || cfg.ResponseDays != 7 {
		t.Errorf("defaults %+v", cfg)
	}
	if _, err := New(cfg, Deps{}); err == nil {
		t.Error("New without its parts")
	}
}

// TestRace: accepts, rejects and sweeps of one dispute at once end in
// one decision, whose money moved once.
func TestRace(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, f *fixture) {
		for round := 0; round < 5; round++ {
			id := f.pay(f.a, f.b, 1000)
			aBal, bAvail := f.balance(f.a), f.available(f.b)
			d, _, err := f.s.Open(f.ctx, f.a, id, Error, "")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := 0; i < 6; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch i % 3 {
					case 0:
						f.s.Accept(f.ctx, f.b, d.ID)
					case 1:
						f.s.Reject(f.ctx, f.b, d.ID, "no")
					default:
						f.s.Sweep(f.ctx, 10)
					}
				}()
			}
			wg.Wait()
			d, _ = f.s.Get(f.ctx, "", d.ID)
			switch {
			case d.State == Accepted && d.Refunded == 1000 && f.balance(f.a)-aBal == 1000 && bAvail-f.available(f.b) == 1000:
			case d.State == Rejected && d.Refunded == 0 && f.balance(f.a) == aBal && f.available(f.b) == bAvail:
			default:
				t.Fatalf("round %d: %+v; payer got %d, payee paid %d", round, d, f.balance(f.a)-aBal, bAvail-f.available(f.b))
			}
		}
	})
}
