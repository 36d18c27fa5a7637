package transfer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/participant"
)

// TestConcurrentPrepare: two prepares of one request that both pass the
// replay stage before either is posted reserve with timeouts that differ
// (each counts to the deadline from its own now), which the ledger tells
// apart; the second must still be recognised as the same request, and
// another request under the id must still conflict.
func TestConcurrentPrepare(t *testing.T) {
	f := newFixture(t, nil)
	expires := f.clk.now().Add(time.Minute)
	prepared := func(r Request) *batch {
		b := f.s.newBatch(f.a, []Request{r}, modePrepare)
		b.expires = expires
		f.s.parse(b)
		f.s.replay(f.ctx, b)
		b.each(func(p *payment) error { return f.s.resolve(f.ctx, b, p) })
		b.each(func(p *payment) error { return f.s.price(b, p) })
		b.each(func(p *payment) error { return f.s.reservePrepared(b, p) })
		return b
	}
	first, second := prepared(req("cp.1", "b:1", 1000)), prepared(req("cp.1", "b:1", 1000))
	other := prepared(req("cp.1", "b:1", 999))
	f.clk.advance(time.Second)
	third := prepared(req("cp.1", "b:1", 1000))
	for _, b := range []*batch{first, second, other, third} {
		f.s.post(f.ctx, b)
	}
	if o := first.out[0]; o.Err != nil || !o.Created || o.Transfer.State != Reserved {
		t.Fatalf("first: %+v", o)
	}
	for _, b := range []*batch{second, third} {
		if o := b.out[0]; o.Err != nil || o.Created || o.Transfer != first.out[0].Transfer {
			t.Errorf("the same request again: %+v, want %+v", o, first.out[0])
		}
	}
	if !errors.Is(other.out[0].Err, ErrConflict) {
		t.Errorf("another request under the id: %v", other.out[0].Err)
	}
	f.zeroSum()
}

// answerer is a Confirmer and Offerer that lets the payee answer by its
// own request first (as a payee may, through Fulfil or Reject), and
// then answers the other way, or fails.
type answerer struct {
	s      *Service
	payee  participant.Participant
	first  phase
	reason string
}

func (a *answerer) race(ctx context.Context, id string) {
	if a.first == commit {
		a.s.Fulfil(ctx, a.payee, id)
	} else {
		a.s.Reject(ctx, a.payee, id, a.reason)
	}
}

func (a *answerer) Confirm(ctx context.Context, _ participant.Participant, t Transfer) (bool, string, error) {
	a.race(ctx, t.ID)
	return a.first == abort, "second thoughts", nil
}

func (a *answerer) Offer(ctx context.Context, _ participant.Participant, t Transfer, _ time.Time) error {
	a.race(ctx, t.ID)
	return errors.New("the answer to the offer was lost")
}

// TestAnswerRaces: when the payee's own answer comes first and the
// other step then asks the opposite, the payer is told what the ledger
// holds — never a failure for a payment that committed, nor its own
// reason for one another reason aborted — and Fulfil and Reject say
// they came second.
func TestAnswerRaces(t *testing.T) {
	for _, c := range []struct {
		name   string
		first  phase
		state  State
		reason string
	}{
		{"fulfilled, then rejected", commit, Committed, ""},
		{"rejected, then accepted", abort, Aborted, "rejected: first reason"},
	} {
		a := &answerer{first: c.first, reason: "first reason"}
		f := newFixture(t, func(d *Deps) { d.Confirmer, d.Offerer = a, a })
		a.s = f.s
		a.payee = f.c
		// The synchronous confirm mode: bank-c takes confirmations.
		tr, created, err := f.s.Create(f.ctx, f.a, req("ar.1", "c:1", 1000))
		if err != nil || !created || tr.State != c.state || tr.Reason != c.reason {
			t.Errorf("%s, confirm mode: %+v %v %v", c.name, tr, created, err)
		}
		// A prepared payment whose offer's answer was lost.
		a.payee = f.b
		tr, _, err = f.s.Prepare(f.ctx, f.a, req("ar.2", "b:1", 1000), f.clk.now().Add(time.Minute))
		if err != nil || tr.State != c.state || tr.Reason != c.reason {
			t.Errorf("%s, prepared: %+v %v", c.name, tr, err)
		}
		// The step that came second says so, with the transfer as it is.
		f.s.Offerer = nil
		if _, _, err := f.s.Prepare(f.ctx, f.a, req("ar.4", "b:1", 1000), f.clk.now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		a.race(f.ctx, "ar.4")
		var got Transfer
		if c.first == commit {
			got, _, err = f.s.Reject(f.ctx, f.b, "ar.4", "late")
		} else {
			got, _, err = f.s.Fulfil(f.ctx, f.b, "ar.4")
		}
		if !errors.Is(err, ErrFinished) || got.State != c.state {
			t.Errorf("%s, the second answer: %+v %v", c.name, got, err)
		}
		f.zeroSum()
	}
}

// TestConfirmDeadlines: a batch's confirm-mode payments are reserved for
// as long as asking all of them takes, confirmMax at a time.
func TestConfirmDeadlines(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.Confirmer = confirmer{} })
	reqs := make([]Request, confirmMax+1)
	for i := range reqs {
		reqs[i] = req("cd."+string(rune('A'+i/26))+string(rune('a'+i%26))+".a", "c:1", 1)
	}
	for _, o := range f.s.CreateMany(f.ctx, f.a, reqs) {
		if o.Err != nil || o.Transfer.State != Committed {
			t.Fatalf("%+v", o)
		}
	}
	jt, err := f.bed.Journal.Transfer(f.ctx, LedgerID(reqs[0].ID))
	if want := 2*f.s.cfg.ConfirmTimeout + reservationMargin; err != nil || jt.Timeout != want {
		t.Errorf("reservation timeout %v (%v), want %v", jt.Timeout, err, want)
	}
}

// TestFulfilBySuspendedPayee: a suspended payee cannot take money in.
func TestFulfilBySuspendedPayee(t *testing.T) {
	f := newFixture(t, nil)
	if _, _, err := f.s.Prepare(f.ctx, f.a, req("sp.1", "b:1", 100), f.clk.now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	st := participant.Suspended
	b, err := f.reg.Apply(f.ctx, f.b.ID, participant.Update{Status: &st})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Fulfil(f.ctx, b, "sp.1"); !errors.Is(err, ErrSuspended) {
		t.Errorf("fulfil by a suspended payee: %v", err)
	}
}
