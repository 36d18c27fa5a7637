package transfer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/participant"
)

// offerer records what Prepare hands over; ids ending in "x" cannot be
// delivered.
type offerer struct {
	mu      sync.Mutex
	offered []string
}

func (o *offerer) Offer(_ context.Context, payee participant.Participant, t Transfer, expires time.Time) error {
	if strings.HasSuffix(t.ID, "x") {
		return errors.New("no route to the payee's host")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.offered = append(o.offered, payee.ID+"/"+t.ID+"/"+string(t.State))
	return nil
}

// TestPrepareFulfil: a prepared payment is reserved and handed to its
// payee, which commits it later by its own request; the answer is
// idempotent, and a contrary one is refused.
func TestPrepareFulfil(t *testing.T) {
	off := &offerer{}
	f := newFixture(t, func(d *Deps) { d.Offerer = off })
	expires := f.clk.now().Add(time.Minute)
	tr, created, err := f.s.Prepare(f.ctx, f.a, req("p.1", "b:1", 1000), expires)
	if err != nil || !created || tr.State != Reserved || tr.Fee != 11 {
		t.Fatalf("prepare: %+v %v %v", tr, created, err)
	}
	if !slices.Equal(off.offered, []string{"wallet-b/p.1/RESERVED"}) {
		t.Errorf("offered %v", off.offered)
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 1011 || a.Balance != 100000 {
		t.Errorf("wallet-a while reserved: %+v", a)
	}
	// A retry of the prepare is answered from the ledger.
	if again, created, err := f.s.Prepare(f.ctx, f.a, req("p.1", "b:1", 1000), expires); err != nil || created || again != tr {
		t.Errorf("prepare again: %+v %v %v", again, created, err)
	}
	// Only the payee may answer; anyone else learns nothing.
	if _, _, err := f.s.Fulfil(f.ctx, f.a, "p.1"); !errors.Is(err, ErrNotPayee) || fault.KindOf(err) != fault.NotFound {
		t.Errorf("fulfil by the payer: %v", err)
	}
	done, created, err := f.s.Fulfil(f.ctx, f.b, "p.1")
	if err != nil || !created || done.State != Committed || done.ID != "p.1" {
		t.Fatalf("fulfil: %+v %v %v", done, created, err)
	}
	if again, created, err := f.s.Fulfil(f.ctx, f.b, "p.1"); err != nil || created || again.State != Committed {
		t.Errorf("fulfil again: %+v %v %v", again, created, err)
	}
	if _, _, err := f.s.Reject(f.ctx, f.b, "p.1", "too late"); !errors.Is(err, ErrFinished) || fault.KindOf(err) != fault.Conflict {
		t.Errorf("reject after fulfil: %v", err)
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 0 || a.Balance != 100000-1011 {
		t.Errorf("wallet-a after: %+v", a)
	}
	if got, err := f.s.Get(f.ctx, Viewer{}, "p.1"); err != nil || got.State != Committed {
		t.Errorf("stored: %+v %v", got, err)
	}
	if _, _, err := f.s.Fulfil(f.ctx, f.b, "nothing.here"); !errors.Is(err, ErrNotFound) {
		t.Errorf("fulfil of no transfer: %v", err)
	}
	f.zeroSum()
}

// TestPrepareReject: a payee's rejection aborts every leg, keeps its
// reason (made valid UTF-8 and bounded), and a repeat is idempotent.
func TestPrepareReject(t *testing.T) {
	f := newFixture(t, nil)
	expires := f.clk.now().Add(time.Minute)
	if _, _, err := f.s.Prepare(f.ctx, f.a, req("p.2", "b:1", 1000), expires); err != nil {
		t.Fatal(err)
	}
	reason := "account closed \xff" + strings.Repeat("很", 100)
	tr, created, err := f.s.Reject(f.ctx, f.b, "p.2", reason)
	if err != nil || !created || tr.State != Aborted || !strings.HasPrefix(tr.Reason, "rejected: account closed \uFFFD") {
		t.Fatalf("reject: %+v %v %v", tr, created, err)
	}
	if got, _ := f.s.Get(f.ctx, Viewer{}, "p.2"); got.Reason != tr.Reason {
		t.Errorf("stored reason %q, answered %q", got.Reason, tr.Reason)
	}
	if again, created, err := f.s.Reject(f.ctx, f.b, "p.2", "again"); err != nil || created || again.Reason != tr.Reason {
		t.Errorf("reject again: %+v %v %v", again, created, err)
	}
	if _, _, err := f.s.Fulfil(f.ctx, f.b, "p.2"); !errors.Is(err, ErrFinished) {
		t.Errorf("fulfil after reject: %v", err)
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 0 || a.Balance != 100000 {
		t.Errorf("wallet-a: %+v", a)
	}
	f.zeroSum()
}

// TestPrepareDeadline: the reservation's expiry is the deadline: an
// answer after it finds the payment aborted, and a prepare already past
// it is refused.
func TestPrepareDeadline(t *testing.T) {
	f := newFixture(t, nil)
	if _, _, err := f.s.Prepare(f.ctx, f.a, req("p.3", "b:1", 1000), f.clk.now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	f.clk.advance(11 * time.Second)
	tr, _, err := f.s.Fulfil(f.ctx, f.b, "p.3")
	if !errors.Is(err, ErrExpired) || tr.State != Aborted || tr.Reason != "expired" {
		t.Fatalf("fulfil after the deadline: %+v %v", tr, err)
	}
	if _, _, err := f.s.Fulfil(f.ctx, f.b, "p.3"); !errors.Is(err, ErrExpired) {
		t.Errorf("fulfil of an expired transfer: %v", err)
	}
	if _, _, err := f.s.Prepare(f.ctx, f.a, req("p.4", "b:1", 1000), f.clk.now()); !errors.Is(err, ErrExpired) {
		t.Errorf("prepare with a past deadline: %v", err)
	}
	if _, _, err := f.s.Prepare(f.ctx, f.a, req("p.5", "b:1", 1000), f.clk.now().Add(8*24*time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Errorf("prepare with a deadline beyond the ledger's longest: %v", err)
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 0 || a.Balance != 100000 {
		t.Errorf("wallet-a: %+v", a)
	}
	f.zeroSum()
}

// TestPrepareUnreachable: a payee the offer cannot reach has rejected
// the payment, at once.
func TestPrepareUnreachable(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.Offerer = &offerer{} })
	out := f.s.PrepareMany(f.ctx, f.a, []Request{req("u.1", "b:1", 100), req("u.x", "b:1", 100)}, f.clk.now().Add(time.Minute))
	if out[0].Err != nil || out[0].Transfer.State != Reserved {
		t.Errorf("u.1: %+v", out[0])
	}
	if out[1].Err != nil || out[1].Transfer.State != Aborted || out[1].Transfer.Reason != "payee unreachable" {
		t.Errorf("u.x: %+v", out[1])
	}
	if a := f.account(f.a.Account(cny)); a.Reserved != 100+10 {
		t.Errorf("wallet-a reserves %d, want only u.1's", a.Reserved)
	}
}

// TestFulfilPosted: a payment posted at once has nothing to fulfil.
func TestFulfilPosted(t *testing.T) {
	f := newFixture(t, nil)
	if _, _, err := f.s.Create(f.ctx, f.a, req("n.1", "b:1", 100)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Fulfil(f.ctx, f.b, "n.1"); !errors.Is(err, ErrNotTwoPhase) {
		t.Errorf("fulfil of a posted payment: %v", err)
	}
}

// TestRejection: a payee's reason is kept readable: valid UTF-8, at most
// ReasonMax bytes, cut at a character boundary.
func TestRejection(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "rejected: "},
		{"no", "rejected: no"},
		{"a\xffb", "rejected: a\uFFFDb"},
		{strings.Repeat("é", 150), "rejected: " + strings.Repeat("é", 100)},
		{strings.Repeat("x", 199) + "é", "rejected: " + strings.Repeat("x", 199)},
	} {
		if got := rejection(c.in); got != c.want {
			t.Errorf("rejection(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFulfilWithProof: the payee's proof of a commit is durable with it
// and read back, bounded as a reason is; a commit without one, and a
// payment posted at once, have none.
func TestFulfilWithProof(t *testing.T) {
	f := newFixture(t, nil)
	expires := f.clk.now().Add(time.Minute)
	for _, id := range []string{"w.1", "w.2", "w.3"} {
		if _, _, err := f.s.Prepare(f.ctx, f.a, req(id, "b:1", 100), expires); err != nil {
			t.Fatal(err)
		}
	}
	proof := "0jHsbrry53c0QMKTbRWRXaOMwU3zOpb6eX_NtbPuPuc"
	if _, _, err := f.s.FulfilWith(f.ctx, f.b, "w.1", proof); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Fulfil(f.ctx, f.b, "w.2"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("证", 100) + "\xff"
	if _, _, err := f.s.FulfilWith(f.ctx, f.b, "w.3", long); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Create(f.ctx, f.a, req("w.4", "b:1", 100)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"w.1": proof, "w.2": "", "w.3": strings.Repeat("证", ReasonMax/3), "w.4": ""} {
		got, err := f.s.Proof(f.ctx, id)
		if id == "w.4" && errors.Is(err, ErrNotFound) {
			continue // posted at once: no commit of its own
		}
		if err != nil || got != want {
			t.Errorf("Proof(%s) = %q, %v; want %q", id, got, err, want)
		}
	}
	if _, err := f.s.Proof(f.ctx, "nothing.here"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Proof of no transfer: %v", err)
	}
	f.zeroSum()
}
