package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// This file is the participant's side of mandates and disputes: the two
// experiences in which the switch moves a participant's money without
// its request. A biller's pull under a mandate is a transfer from the
// payer's participant that it never sent; a dispute's payback is one
// from the payee's participant. Each side therefore reserves the money
// before it agrees (Books.Earmark), learns of the transfer afterwards —
// from a callback, and, as a safety net, from Reconcile's listing of
// its outgoing transfers — and books it once, by id (Books.Debit).
//
// The policy of the payer's participant of a mandate (a real wallet
// chooses its own): it approves a mandate only if its user's available
// balance covers the maxAmount (and the fee it would charge), and
// earmarks that much until the mandate ends. Each pull is paid from the
// earmark, which is then topped up again from the user's balance as far
// as it goes; a pull the earmark no longer covers (the user spent the
// rest before the top-up) is booked all the same, as an overdraft to
// recover from the user — a production wallet would also pause the
// mandate then. The payee's participant of a dispute accepts it only if
// the user the payment credited still has the disputed amount, which it
// earmarks before accepting; otherwise it rejects it, and settles with
// its user outside the scheme.

// Events of mandates and disputes the participant acts on.
const (
	eventMandateProposed = "mandate.proposed"
	eventMandateChanged  = "mandate.changed"
	eventMandateExecuted = "mandate.executed"
	eventDisputeOpened   = "dispute.opened"
)

// Earmark keys of mandates and disputes in the books.
func mandateKey(id string) string { return "mandate/" + id }
func disputeKey(id string) string { return "dispute/" + id }

// payerMandate is what the payer's participant remembers of a mandate
// it approved: whose money it pulls, and whether it pulls only once.
type payerMandate struct {
	user string
	once bool
}

// inboxMax bounds the mandates and disputes waiting for a decision;
// beyond it new ones wait at the switch (a mandate stays PENDING, a
// dispute is listed by OpenDisputes).
const inboxMax = 1000

// bookTimeout bounds the reading of a transfer a callback announces.
const bookTimeout = 10 * time.Second

// onMandate takes the news of a mandate. A proposal to one of the
// participant's users waits for the user's answer (NextMandate). An
// execution of a mandate it pays is booked now — the transfer read and
// the user debited — and answered 2xx only once booked, so that the
// switch delivers it again if booking failed. A mandate that ended
// releases its earmark. The rest changes nothing in the books.
func (p *Participant) onMandate(w http.ResponseWriter, r *http.Request, event string, cb *wire.Callback) {
	p.notices.Add(1)
	m := cb.Mandate
	if m == nil {
		p.anomaly(event + " without a mandate")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	payer := m.Payer.Participant == p.cfg.ID
	switch {
	case event == eventMandateProposed && payer:
		p.mu.Lock()
		if !p.mandateSeen[m.ID] && len(p.mandateInbox) < inboxMax {
			p.mandateSeen[m.ID] = true
			p.mandateInbox = append(p.mandateInbox, *m)
		}
		p.mu.Unlock()
	case event == eventMandateChanged && payer && mandateEnded(m.State):
		p.mu.Lock()
		delete(p.mandates, m.ID)
		p.mu.Unlock()
		p.books.Unmark(mandateKey(m.ID))
	case event == eventMandateExecuted && payer:
		if cb.Execution == nil {
			p.anomaly(event + " without an execution")
			break
		}
		ctx, cancel := context.WithTimeout(r.Context(), bookTimeout)
		defer cancel()
		t, err := p.api.Transfer(ctx, cb.Execution.ID)
		if err == nil && (t.Payee.Type != "ACCOUNT" || payeeAccount(t.Payee) != m.ID || t.Amount != cb.Execution.Amount) {
			err = fmt.Errorf("execution %s of mandate %s for %s: the transfer pays %s/%s %s", cb.Execution.ID, m.ID,
				cb.Execution.Amount, t.Payee.Type, t.Payee.Value, t.Amount)
		}
		if err == nil {
			err = p.bookUnsent(t)
		}
		if err != nil {
			p.anomaly(err.Error())
			http.Error(w, "not booked", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// mandateEnded says whether a mandate in state st can pull no more.
func mandateEnded(st string) bool {
	switch st {
	case "REJECTED", "REVOKED", "EXPIRED", "COMPLETED":
		return true
	}
	return false
}

// payeeAccount is the account an ACCOUNT payee names: the mandate's (or
// request's) id, also the part of its value after the biller's id.
func payeeAccount(ref wire.PayeeRef) string {
	if ref.Account != "" {
		return ref.Account
	}
	_, id, _ := strings.Cut(ref.Value, "/")
	return id
}

// onDispute takes the news of a dispute. One opened against a payment
// the participant received waits for its decision (NextDispute). The
// payer's news changes no balance in its books — a payback arrives as a
// transfer — but once a dispute of its own is decided, its released
// holds are recorded: the switch lists them as aborted payments to it,
// and reconciliation must find them in the books too.
func (p *Participant) onDispute(w http.ResponseWriter, event string, d *wire.Dispute) {
	p.notices.Add(1)
	if d != nil && event != eventDisputeOpened && d.Payer == p.cfg.ID {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := p.RecordReleasedHolds(ctx, d.ID)
		cancel()
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable) // told again later
			return
		}
	}
	if d == nil {
		p.anomaly(event + " without a dispute")
	} else if event == eventDisputeOpened && d.Payee == p.cfg.ID {
		p.mu.Lock()
		if !p.disputeSeen[d.ID] && len(p.disputeInbox) < inboxMax {
			p.disputeSeen[d.ID] = true
			p.disputeInbox = append(p.disputeInbox, *d)
		}
		p.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// RecordReleasedHolds records the released holds of dispute id, one of
// the participant's own, once it is decided (see Books.RecordReleased).
func (p *Participant) RecordReleasedHolds(ctx context.Context, id string) error {
	d, err := p.api.Dispute(ctx, id)
	if err != nil {
		return err
	}
	for _, h := range d.Holds {
		if h.State == "RELEASED" || h.State == "EXPIRED" {
			a, err := money.Parse(h.Amount, p.books.Currency())
			if err != nil {
				return err
			}
			p.books.RecordReleased(h.ID, a)
		}
	}
	return nil
}

// bookUnsent books t, a committed transfer from the participant that it
// did not send: a pull under a mandate it approved (payee type ACCOUNT,
// account the mandate's id), debited to the mandate's user from its
// earmark, which is then topped up (or released, for a "once" mandate);
// or a dispute's payback (payee type DISPUTE, value the disputed
// payment), debited to the user that payment credited. Booking it again
// changes nothing. One the switch aborted (a hold released) moved
// nothing, and is only recorded (Books.RecordAborted). Anything else is
// an error: the switch moved money the participant cannot account for.
func (p *Participant) bookUnsent(t wire.Transfer) error {
	c := p.books.Currency()
	if t.Payer != p.cfg.ID || (t.State != "COMMITTED" && t.State != "ABORTED") || t.Currency != c.String() {
		return fmt.Errorf("transfer %s from %s, %s in %s: not a debit of this participant", t.ID, t.Payer, t.State, t.Currency)
	}
	amt, err := money.Parse(t.Amount, c)
	if err != nil {
		return fmt.Errorf("transfer %s: amount: %w", t.ID, err)
	}
	fee := money.Amount(0)
	if t.Fee != "" {
		if fee, err = money.Parse(t.Fee, c); err != nil {
			return fmt.Errorf("transfer %s: fee: %w", t.ID, err)
		}
	}
	aborted := t.State == "ABORTED"
	switch t.Payee.Type {
	case "ACCOUNT":
		id := payeeAccount(t.Payee)
		p.mu.Lock()
		pm, ok := p.mandates[id]
		p.mu.Unlock()
		if !ok {
			return fmt.Errorf("transfer %s to %s: no mandate of this participant", t.ID, t.Payee.Value)
		}
		key := mandateKey(id)
		if aborted {
			p.books.RecordAborted(t.ID, pm.user, amt)
			return nil
		}
		booked, err := p.books.Debit(t.ID, pm.user, key, amt, fee, p.cfg.ChargeFees)
		switch {
		case err != nil:
			return err
		case booked && pm.once:
			p.books.Unmark(key)
		case booked:
			p.books.Replenish(key)
		}
		return nil
	case "DISPUTE":
		user, _, ok := p.books.CreditedTo(t.Payee.Value)
		if !ok {
			return fmt.Errorf("payback %s of %s: the payment credited no user", t.ID, t.Payee.Value)
		}
		if aborted {
			p.books.RecordAborted(t.ID, user, amt)
			return nil
		}
		key := ""
		if parts := strings.Split(t.ID, ":"); len(parts) == 3 {
			key = disputeKey(parts[1]) // dispute:<id>:<n>
		}
		_, err := p.books.Debit(t.ID, user, key, amt, fee, false)
		return err
	}
	return fmt.Errorf("transfer %s to %s %s: sent in this participant's name, not by it", t.ID, t.Payee.Type, t.Payee.Value)
}

// markUnsent notes that the switch may from now on make transfers from
// the participant unasked: Reconcile lists its transfers from then.
func (p *Participant) markUnsent() {
	p.mu.Lock()
	if p.unsentSince.IsZero() {
		p.unsentSince = time.Now()
	}
	p.mu.Unlock()
}

// unsentSlack is how far before the first mandate approved or dispute
// accepted Reconcile lists: the switch's clock may be behind.
const unsentSlack = time.Minute

// reconcileUnsent books every committed (or aborted) transfer from the
// participant that it neither sent nor booked yet (a callback lost, or
// not yet delivered): the safety net of bookUnsent. It lists the participant's
// transfers since it first approved a mandate or accepted a dispute,
// and does nothing if it never did.
func (p *Participant) reconcileUnsent(ctx context.Context) error {
	p.mu.Lock()
	since := p.unsentSince
	p.mu.Unlock()
	if since.IsZero() {
		return nil
	}
	o := ListOptions{Since: since.Add(-unsentSlack).UTC().Format(time.RFC3339), Limit: 1000}
	var errs []error
	for {
		page, err := p.api.Transfers(ctx, o)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, t := range page.Transfers {
			if t.Payer != p.cfg.ID || (t.State != "COMMITTED" && t.State != "ABORTED") {
				continue
			}
			if _, ok := p.books.Outgoing(t.ID); ok {
				continue
			}
			if err := p.bookUnsent(t); err != nil {
				errs = append(errs, err)
			}
		}
		if page.Next == "" || len(page.Transfers) == 0 {
			return errors.Join(errs...)
		}
		o.Since = page.Next
	}
}

// Mandates, the biller's side.

// ProposeMandate proposes mandate nm, for its user, to the participant
// of nm.Payer (an alias); an empty nm.ID gets a fresh id. Like a request
// to pay, it remembers the user first: each pull will name the mandate
// (payee type ACCOUNT, account the mandate's id), not a user, and is
// credited by the ordinary transfers.committed callback. The proposal is
// retried with its id when the answer is lost.
func (p *Participant) ProposeMandate(ctx context.Context, user string, nm wire.NewMandate) (wire.Mandate, error) {
	if !p.books.CanReceive(user) {
		return wire.Mandate{}, fmt.Errorf("propose a mandate for %s: %w", user, ErrNoUser)
	}
	if nm.ID == "" {
		nm.ID = p.NewTransferID()
	}
	nm.Currency = p.books.Currency().String()
	p.mu.Lock()
	p.requested[nm.ID] = user
	p.mu.Unlock()
	m, _, err := retry(ctx, func() (wire.Mandate, error) { return p.api.ProposeMandate(ctx, nm) })
	return m, err
}

// ExecuteMandate pulls amount under mandate id, as its biller, with an
// execution (and transfer) id of the participant's own, retried with it
// when the answer is lost. Nothing is booked here: the money arrives,
// if the payment commits, as a transfer like any other.
func (p *Participant) ExecuteMandate(ctx context.Context, id string, amount money.Amount, reference string) (wire.MandateExecution, error) {
	ne := wire.NewMandateExecution{ID: p.NewTransferID(), Amount: amount.Format(p.books.Currency()), Reference: reference}
	e, _, err := retry(ctx, func() (wire.MandateExecution, error) { return p.api.ExecuteMandate(ctx, id, ne) })
	return e, err
}

// Mandates, the payer's side.

// NextMandate takes the oldest mandate proposed to one of the
// participant's users that waits for an answer; false if none does.
func (p *Participant) NextMandate() (wire.Mandate, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.mandateInbox) == 0 {
		return wire.Mandate{}, false
	}
	m := p.mandateInbox[0]
	p.mandateInbox = p.mandateInbox[1:]
	return m, true
}

// takeMandate takes proposal id from the inbox, if it is there.
func (p *Participant) takeMandate(id string) (wire.Mandate, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, m := range p.mandateInbox {
		if m.ID == id {
			p.mandateInbox = append(p.mandateInbox[:i], p.mandateInbox[i+1:]...)
			return m, true
		}
	}
	return wire.Mandate{}, false
}

// ApproveMandate approves proposal m for the user its payer alias names
// (after asking the user, in a real app). It earmarks the mandate's
// maxAmount — plus Config.FeeHold when the participant charges its
// users the fee — first, and remembers the mandate, so that a pull that
// comes before the approval's answer is covered and booked; a user
// whose balance does not cover it is refused here (ErrBalance) and the
// proposal left for RejectMandate. The approval is retried when its
// answer is lost; refused, the earmark is released.
func (p *Participant) ApproveMandate(ctx context.Context, m wire.Mandate) (wire.Mandate, error) {
	c := p.books.Currency()
	user, ok := p.aliasUser(m.Payer)
	if !ok {
		return m, fmt.Errorf("mandate %s: payer %s %s: %w", m.ID, m.Payer.Type, m.Payer.Value, ErrNoUser)
	}
	maxAmount, err := money.Parse(m.MaxAmount, c)
	if err != nil || m.Currency != c.String() {
		return m, fmt.Errorf("mandate %s: maxAmount %q %s", m.ID, m.MaxAmount, m.Currency)
	}
	size := maxAmount
	if p.cfg.ChargeFees {
		size += p.cfg.FeeHold
	}
	key := mandateKey(m.ID)
	if err := p.books.Earmark(key, user, size); err != nil {
		return m, fmt.Errorf("mandate %s: %w", m.ID, err)
	}
	p.mu.Lock()
	p.mandates[m.ID] = payerMandate{user: user, once: m.Frequency == "once"}
	p.mu.Unlock()
	p.markUnsent()
	got, _, err := retry(ctx, func() (wire.Mandate, error) { return p.api.ActOnMandate(ctx, m.ID, "approve") })
	var e *Error
	if err != nil && errors.As(err, &e) && !e.Temporary() {
		// Refused (revoked or expired meanwhile): it will pull nothing.
		p.mu.Lock()
		delete(p.mandates, m.ID)
		p.mu.Unlock()
		p.books.Unmark(key)
	}
	return got, err
}

// RejectMandate rejects proposal id; nothing was earmarked.
func (p *Participant) RejectMandate(ctx context.Context, id string) error {
	_, _, err := retry(ctx, func() (wire.Mandate, error) { return p.api.ActOnMandate(ctx, id, "reject") })
	return err
}

// Disputes.

// OpenDispute disputes payment transferID, which one of the
// participant's users made, for reason ("fraud" or "error"), retried
// when the answer is lost (the same dispute again answers the open
// one). Nothing is booked: if the payee accepts, the payback arrives as
// a transfer (payee type DISPUTE, account the paying user), credited by
// the ordinary callback.
func (p *Participant) OpenDispute(ctx context.Context, transferID, reason, detail string) (wire.Dispute, error) {
	nd := wire.NewDispute{TransferID: transferID, Reason: reason, Detail: detail}
	d, _, err := retry(ctx, func() (wire.Dispute, error) { return p.api.OpenDispute(ctx, nd) })
	return d, err
}

// NextDispute takes the oldest dispute of a payment the participant
// received that waits for its decision; false if none does.
func (p *Participant) NextDispute() (wire.Dispute, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.disputeInbox) == 0 {
		return wire.Dispute{}, false
	}
	d := p.disputeInbox[0]
	p.disputeInbox = p.disputeInbox[1:]
	return d, true
}

// takeDispute takes dispute id from the inbox, if it is there.
func (p *Participant) takeDispute(id string) (wire.Dispute, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, d := range p.disputeInbox {
		if d.ID == id {
			p.disputeInbox = append(p.disputeInbox[:i], p.disputeInbox[i+1:]...)
			return d, true
		}
	}
	return wire.Dispute{}, false
}

// OpenDisputes lists the disputes of payments the participant received
// that are still open: those whose dispute.opened it has not decided,
// wherever their callback is.
func (p *Participant) OpenDisputes(ctx context.Context) ([]wire.Dispute, error) {
	return p.api.Disputes(ctx, "payee", "OPEN")
}

// DecideDispute decides dispute d of a payment the participant
// received. Rejecting releases what the switch holds. Accepting pays it
// back to the payer, from the user the payment credited: the
// participant earmarks the disputed amount on that user first, and
// rejects instead (with that reason) if the user no longer has it or
// the payment credited no user. Once accepted it reads the dispute's
// holds and books each one committed — a payback it did not send — as
// a debit of the user, then releases the rest of the earmark. A
// dispute decided the other way meanwhile (the switch accepts one left
// unanswered) is answered as it stands; a payback booked here or later
// by Reconcile is booked once. It returns the dispute as decided.
func (p *Participant) DecideDispute(ctx context.Context, d wire.Dispute, accept bool, reason string) (wire.Dispute, error) {
	c := p.books.Currency()
	if !accept {
		return p.rejectDispute(ctx, d.ID, reason)
	}
	user, _, ok := p.books.CreditedTo(d.TransferID)
	if !ok {
		return p.rejectDispute(ctx, d.ID, "the payment was credited to no account")
	}
	amount, err := money.Parse(d.Amount, c)
	if err != nil || d.Currency != c.String() {
		return d, fmt.Errorf("dispute %s: amount %q %s", d.ID, d.Amount, d.Currency)
	}
	key := disputeKey(d.ID)
	if err := p.books.Earmark(key, user, amount); errors.Is(err, ErrBalance) || errors.Is(err, ErrNoUser) {
		return p.rejectDispute(ctx, d.ID, "the funds have left the account")
	} else if err != nil {
		return d, fmt.Errorf("dispute %s: %w", d.ID, err)
	}
	defer p.books.Unmark(key)
	p.markUnsent()
	got, _, err := retry(ctx, func() (wire.Dispute, error) { return p.api.AcceptDispute(ctx, d.ID) })
	if err != nil && !IsProblem(err, ProblemDisputeClosed) {
		return got, err
	}
	// Read the holds, and book those paid back.
	return p.bookHolds(ctx, d.ID)
}

// rejectDispute rejects dispute id with reason, retried when the answer
// is lost, and records its released holds. One the switch accepted
// meanwhile is answered as it stands, its paybacks booked.
func (p *Participant) rejectDispute(ctx context.Context, id, reason string) (wire.Dispute, error) {
	p.markUnsent()
	d, _, err := retry(ctx, func() (wire.Dispute, error) { return p.api.RejectDispute(ctx, id, reason) })
	if err != nil && !IsProblem(err, ProblemDisputeClosed) {
		return d, err
	}
	return p.bookHolds(ctx, id)
}

// bookHolds reads decided dispute id with its holds, and books each one
// that ended: a committed hold is a payback, debited; a released one is
// recorded (see bookUnsent). A hold already booked is skipped.
func (p *Participant) bookHolds(ctx context.Context, id string) (wire.Dispute, error) {
	d, err := p.api.Dispute(ctx, id)
	if err != nil {
		return d, err
	}
	var errs []error
	for _, h := range d.Holds {
		if h.State == "RESERVED" {
			continue
		}
		if _, ok := p.books.Outgoing(h.ID); ok {
			continue
		}
		t, err := p.api.Transfer(ctx, h.ID)
		if err == nil {
			err = p.bookUnsent(t)
		}
		errs = append(errs, err)
	}
	return d, errors.Join(errs...)
}
