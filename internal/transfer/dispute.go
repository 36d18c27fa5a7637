package transfer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

// Holds of a disputed payment (internal/dispute): the money a payee
// participant may have to pay back, reserved on its account towards the
// payer until the dispute is decided. A hold is a reserved payment of
// its own (payee type DisputeType, value the disputed payment's id, to
// the original payer) whose commit is a payback: the commit is linked
// with a payback mark (purpose 13) as a refund's payment is, so that
// refunds, returns and committed holds share one cap, the payment.
//
// Holds still reserved count against the cap too: each is linked, when
// reserved, with a hold mark (purpose 16) numbered from 1 per payment,
// which names it; the marks read from 1 until one is missing, with the
// ledger's state of each hold, are the payment's open holds. Holds,
// their commits and refunds of one payment are ordered by the payment's
// payback lock.

// DisputeType is the payee type of a hold: its payee value is the
// disputed payment's id.
const DisputeType = "DISPUTE"

// HoldsMax bounds the holds of one payment: each costs two lookups
// whenever the payment is held again.
const HoldsMax = 100

// HoldPayBack reserves amount on payee's account towards the payer of
// its committed payment originalID, as hold holdID, for timeout (at most
// ledger.TimeoutMax; the ledger releases it then). Paybacks and the
// payment's holds still reserved, with this one, never exceed the
// payment (ErrRefundExceeds); a payee that cannot fund it is
// ErrInsufficientFunds, and nothing is written. Risk control screens it
// (payee type DisputeType): a decline refuses it. The same hold again
// answers the first (created false), in whatever state it is now;
// holdID used for anything else is ErrConflict.
func (s *Service) HoldPayBack(ctx context.Context, payee participant.Participant, originalID, holdID string, amount money.Amount,
	timeout time.Duration, note string) (Transfer, bool, error) {
	switch {
	case !ValidID(holdID):
		return Transfer{}, false, fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, IDMax)
	case strings.HasPrefix(holdID, ReturnPrefix):
		return Transfer{}, false, fmt.Errorf("%w: ids beginning %q name returns", ErrInvalid, ReturnPrefix)
	case amount <= 0:
		return Transfer{}, false, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case timeout <= 0 || timeout > ledger.TimeoutMax:
		return Transfer{}, false, fmt.Errorf("%w: a hold's timeout must be positive and at most %v", ErrInvalid, ledger.TimeoutMax)
	case len(note) > NoteMax:
		return Transfer{}, false, fmt.Errorf("%w: the note must be at most %d bytes", ErrInvalid, NoteMax)
	}
	orig, err := s.Get(ctx, Viewer{Participant: payee.ID}, originalID)
	switch {
	case err != nil:
		return Transfer{}, false, err
	case orig.Payee.Participant != payee.ID:
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", originalID, ErrNotPayee)
	case orig.State != Committed || orig.Payee.Type == ReturnType || orig.Payee.Type == RefundType || orig.Payee.Type == DisputeType:
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", originalID, ErrNotReturnable)
	case orig.FX != nil:
		// The payee holds another currency than the payer paid: paying
		// back needs its own exchange, a new FX payment with its quote.
		return Transfer{}, false, fmt.Errorf("transfer %s is an FX payment, paid back by a new FX payment: %w", originalID, ErrNotReturnable)
	}
	c := orig.Currency
	mu := payBackLock(orig.ID)
	mu.Lock()
	defer mu.Unlock()
	hs, err := s.holds(ctx, orig.ID)
	if err != nil {
		return Transfer{}, false, err
	}
	var open money.Amount
	for _, h := range hs {
		if h.id == holdID {
			t, err := s.Get(ctx, Viewer{}, holdID)
			if err == nil && t.Amount != amount {
				err = fmt.Errorf("hold %s: %w", holdID, ErrConflict)
			}
			return t, false, err
		}
		if h.state == ledger.StatePending {
			open += h.amount
		}
	}
	if len(hs) >= HoldsMax {
		return Transfer{}, false, fmt.Errorf("transfer %s was held %d times: %w", orig.ID, len(hs), ErrRefundExceeds)
	}
	paid, err := s.paidBack(ctx, orig.ID)
	if err != nil {
		return Transfer{}, false, err
	}
	if left := orig.Amount - paid - open; amount > left {
		return Transfer{}, false, fmt.Errorf("hold of %s on %s: %s paid back and %s held of %s: %w", amount.Format(c), orig.ID,
			paid.Format(c), open.Format(c), orig.Amount.Format(c), ErrRefundExceeds)
	}
	if s.Journal.Known([]ledger.ID{LedgerID(holdID)})[0] {
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", holdID, ErrConflict)
	}
	payer, ok := s.Participants.Get(orig.Payer)
	if !ok {
		return Transfer{}, false, fmt.Errorf("payer %s: %w", orig.Payer, ErrUnknownParty)
	}
	if payer.Status != participant.Active {
		return Transfer{}, false, fmt.Errorf("payer participant %s: %w", payer.ID, ErrSuspended)
	}
	rec := record{ID: holdID, Payer: payee.ID, PayeeType: DisputeType, PayeeValue: orig.ID, PayeeParticipant: payer.ID,
		PayeeAccount: orig.PayerAccount, Note: strings.ToValidUTF8(note, "\uFFFD")}
	if rec.PayeeAccount == "" {
		rec.PayeeAccount = "-"
	}
	sc := Screening{ID: holdID, Payer: &payee, Payee: &payer, PayeeType: DisputeType, PayeeValue: orig.ID,
		PayeeAccount: rec.PayeeAccount, Amount: amount, Currency: c, Note: rec.Note, At: s.Now()}
	if _, err := s.Screener.Screen(ctx, &sc); err != nil {
		return Transfer{}, false, err
	}
	n := len(hs) + 1
	m := holdMark(orig.ID, n, holdID, amount, c)
	cmd := m.Command()
	cmd.Linked = true
	legs := []Leg{{Purpose: purpose.Payment, Debit: payee.Account(c), Credit: payer.Account(c), Amount: amount}}
	res, err := s.Journal.Submit(ctx, firstPhase([]ledger.Command{cmd}, legs, holdID, rec.digest(amount, c), s.meta(&rec), timeout))
	if err != nil {
		return Transfer{}, false, fmt.Errorf("hold of %s: %w", orig.ID, err)
	}
	if st := ledger.ChainStatus(res); st != ledger.StatusOK {
		return Transfer{}, false, fmt.Errorf("hold of %s: %w", orig.ID, st.Err())
	}
	t := Transfer{ID: holdID, State: Reserved, Payer: payee.ID, Amount: amount, Currency: c, Note: rec.Note,
		Payee:     Payee{Type: DisputeType, Value: orig.ID, Participant: payer.ID, Account: rec.PayeeAccount},
		CreatedAt: time.Unix(0, res[1].Timestamp).UTC()}
	return t, true, nil
}

// CommitPayBack pays hold holdID to the original payer: the reservation
// is committed, linked with the payback mark that counts it against the
// payment. Committing a committed hold again returns it (created false),
// so that a retry after a crash finds it done; a released hold is
// ErrFinished, an expired one ErrExpired. If refunds took what the hold
// was to pay back meanwhile, the hold is released and the answer is
// ErrRefundExceeds.
func (s *Service) CommitPayBack(ctx context.Context, holdID string) (Transfer, bool, error) {
	ctx = context.WithoutCancel(ctx) // a commit must not be lost to a caller who hung up
	return s.endHold(ctx, holdID, commit, "")
}

// ReleasePayBack releases hold holdID, with reason (at most ReasonMax
// bytes are kept): nothing is paid back. Releasing a released or expired
// hold again returns it (created false); a committed one is ErrFinished.
func (s *Service) ReleasePayBack(ctx context.Context, holdID, reason string) (Transfer, bool, error) {
	ctx = context.WithoutCancel(ctx)
	return s.endHold(ctx, holdID, abort, bounded(reason))
}

// endHold commits or releases a hold, under its payment's payback lock.
func (s *Service) endHold(ctx context.Context, holdID string, ph phase, reason string) (Transfer, bool, error) {
	jt, t, err := s.hold(ctx, holdID)
	if err != nil {
		return Transfer{}, false, err
	}
	mu := payBackLock(t.Payee.Value)
	mu.Lock()
	defer mu.Unlock()
	if jt, t, err = s.hold(ctx, holdID); err != nil { // as it is now that the lock is held
		return Transfer{}, false, err
	}
	switch {
	case jt.State == ledger.StatePending:
	case ph == commit && jt.State == ledger.StateCommitted, ph == abort && (jt.State == ledger.StateAborted || jt.State == ledger.StateExpired):
		return t, false, nil
	case jt.State == ledger.StateExpired:
		return t, false, fmt.Errorf("hold %s: %w", holdID, ErrExpired)
	default:
		return t, false, fmt.Errorf("hold %s: %w", holdID, ErrFinished)
	}
	legs := []Leg{{Purpose: purpose.Payment, Debit: jt.Debit, Credit: jt.Credit, Amount: jt.Amount}}
	var cmds []ledger.Command
	if ph == commit {
		orig, err := s.Get(ctx, Viewer{}, t.Payee.Value)
		if err != nil {
			return Transfer{}, false, fmt.Errorf("hold %s: %w", holdID, err)
		}
		pbs, err := s.payBacks(ctx, orig.ID)
		if err != nil {
			return Transfer{}, false, err
		}
		var sum money.Amount
		for _, p := range pbs {
			sum += p.amount
		}
		if len(pbs) >= PayBacksMax || t.Amount > orig.Amount-sum {
			if _, _, err := s.endHeldWith(ctx, &t, nil, legs, abort, "paid back meanwhile"); err != nil {
				return Transfer{}, false, err
			}
			return Transfer{}, false, fmt.Errorf("hold %s of %s: %s paid back of %s: %w", holdID, orig.ID,
				sum.Format(t.Currency), orig.Amount.Format(t.Currency), ErrRefundExceeds)
		}
		n := len(pbs) + 1
		cmds = append(cmds, ledger.Command{Kind: ledger.KindMark, Linked: true, ID: payBackID(orig.ID, n), Currency: t.Currency,
			Purpose: purpose.PayBack, Meta: orig.ID + " " + strconv.Itoa(n) + " " + holdID + " " + strconv.FormatInt(int64(t.Amount), 10)})
	}
	return s.endHeldWith(ctx, &t, cmds, legs, ph, reason)
}

// endHeldWith submits the second phase ph of hold t, after cmds, linked
// with them. A hold that ended meanwhile (it expired) is answered as it
// stands.
func (s *Service) endHeldWith(ctx context.Context, t *Transfer, cmds []ledger.Command, legs []Leg, ph phase, reason string) (Transfer, bool, error) {
	res, err := s.Journal.Submit(ctx, secondPhase(cmds, legs, t.ID, ph, reason))
	if err != nil {
		return Transfer{}, false, fmt.Errorf("hold %s: %w", t.ID, err)
	}
	switch st := ledger.ChainStatus(res); st {
	case ledger.StatusOK:
	case ledger.StatusPendingExpired:
		_, now, err := s.hold(ctx, t.ID)
		if err == nil && ph == commit {
			err = fmt.Errorf("hold %s: %w", t.ID, ErrExpired)
		}
		return now, false, err
	default:
		return Transfer{}, false, fmt.Errorf("hold %s: %w", t.ID, st.Err())
	}
	out := *t
	if ph == commit {
		out.State, out.Reason = Committed, ""
		s.committed(&out)
	} else {
		out.State, out.Reason = Aborted, reason
	}
	return out, true, nil
}

// hold looks hold id up: a transfer of payee type DisputeType.
func (s *Service) hold(ctx context.Context, id string) (journal.Transfer, Transfer, error) {
	jt, t, err := s.lookup(ctx, id)
	if err != nil {
		return jt, t, err
	}
	if t.Payee.Type != DisputeType {
		return journal.Transfer{}, Transfer{}, fmt.Errorf("transfer %s is not a hold: %w", id, ErrNotFound)
	}
	return jt, t, nil
}

// RenewPayBack replaces hold holdID, still reserved, by hold newID of
// the same amount for timeout, in one linked chain (the old one's
// release, the new one's mark and reservation): a hold that must outlive
// ledger.TimeoutMax is renewed before it expires, and its money is never
// free in between. Renewing again into newID returns the new hold
// (created false); a hold no longer reserved is ErrFinished or
// ErrExpired.
func (s *Service) RenewPayBack(ctx context.Context, holdID, newID string, timeout time.Duration) (Transfer, bool, error) {
	ctx = context.WithoutCancel(ctx)
	switch {
	case !ValidID(newID) || strings.HasPrefix(newID, ReturnPrefix):
		return Transfer{}, false, fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, IDMax)
	case timeout <= 0 || timeout > ledger.TimeoutMax:
		return Transfer{}, false, fmt.Errorf("%w: a hold's timeout must be positive and at most %v", ErrInvalid, ledger.TimeoutMax)
	}
	_, t, err := s.hold(ctx, holdID)
	if err != nil {
		return Transfer{}, false, err
	}
	originalID := t.Payee.Value
	mu := payBackLock(originalID)
	mu.Lock()
	defer mu.Unlock()
	if _, nt, err := s.hold(ctx, newID); err == nil {
		if nt.Payee.Value != originalID || nt.Amount != t.Amount {
			return Transfer{}, false, fmt.Errorf("hold %s: %w", newID, ErrConflict)
		}
		return nt, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Transfer{}, false, err
	}
	if s.Journal.Known([]ledger.ID{LedgerID(newID)})[0] {
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", newID, ErrConflict)
	}
	jt, t, err := s.hold(ctx, holdID)
	switch {
	case err != nil:
		return Transfer{}, false, err
	case jt.State == ledger.StateExpired:
		return t, false, fmt.Errorf("hold %s: %w", holdID, ErrExpired)
	case jt.State != ledger.StatePending:
		return t, false, fmt.Errorf("hold %s: %w", holdID, ErrFinished)
	}
	hs, err := s.holds(ctx, originalID)
	if err != nil {
		return Transfer{}, false, err
	}
	if len(hs) >= HoldsMax {
		return Transfer{}, false, fmt.Errorf("transfer %s was held %d times: %w", originalID, len(hs), ErrRefundExceeds)
	}
	rec, err := decodeRecord(jt.Meta)
	if err == nil {
		err = s.sealer.openAccount(&rec)
	}
	if err != nil {
		return Transfer{}, false, fmt.Errorf("hold %s: %w", holdID, err)
	}
	rec.ID = newID
	legs := []Leg{{Purpose: purpose.Payment, Debit: jt.Debit, Credit: jt.Credit, Amount: jt.Amount}}
	cmds := secondPhase(nil, legs, holdID, abort, "renewed: "+newID)
	cmds[len(cmds)-1].Linked = true
	m := holdMark(originalID, len(hs)+1, newID, t.Amount, t.Currency)
	cmd := m.Command()
	cmd.Linked = true
	cmds = append(cmds, cmd)
	cmds = firstPhase(cmds, legs, newID, rec.digest(t.Amount, t.Currency), s.meta(&rec), timeout)
	res, err := s.Journal.Submit(ctx, cmds)
	if err != nil {
		return Transfer{}, false, fmt.Errorf("renew hold %s: %w", holdID, err)
	}
	if st := ledger.ChainStatus(res); st != ledger.StatusOK {
		return Transfer{}, false, fmt.Errorf("renew hold %s: %w", holdID, st.Err())
	}
	nt := t
	nt.ID, nt.State, nt.CreatedAt = newID, Reserved, time.Unix(0, res[len(res)-1].Timestamp).UTC()
	return nt, true, nil
}

// Refundable returns what may still be paid back of payment originalID:
// the payment less its paybacks and its holds still reserved.
func (s *Service) Refundable(ctx context.Context, originalID string) (money.Amount, error) {
	orig, err := s.Get(ctx, Viewer{}, originalID)
	if err != nil {
		return 0, err
	}
	mu := payBackLock(orig.ID)
	mu.Lock()
	defer mu.Unlock()
	paid, err := s.paidBack(ctx, orig.ID)
	if err != nil {
		return 0, err
	}
	held, err := s.Held(ctx, orig.ID)
	return orig.Amount - paid - held, err
}

// Held returns the sum of payment originalID's holds still reserved.
func (s *Service) Held(ctx context.Context, originalID string) (money.Amount, error) {
	hs, err := s.holds(ctx, originalID)
	var sum money.Amount
	for _, h := range hs {
		if h.state == ledger.StatePending {
			sum += h.amount
		}
	}
	return sum, err
}

// Available returns what p's account in c could pay now: its balance
// less its reservations plus its net debit cap.
func (s *Service) Available(ctx context.Context, p participant.Participant, c money.Currency) (money.Amount, error) {
	a, err := s.Journal.Account(ctx, p.Account(c))
	if errors.Is(err, journal.ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("balance of %s: %w", p.ID, err)
	}
	return a.Available(), nil
}

// paidBack sums a payment's paybacks.
func (s *Service) paidBack(ctx context.Context, originalID string) (money.Amount, error) {
	pbs, err := s.payBacks(ctx, originalID)
	var sum money.Amount
	for _, p := range pbs {
		sum += p.amount
	}
	return sum, err
}

// heldBack is one hold of a payment, as its hold mark names it, and the
// ledger's state of its reservation.
type heldBack struct {
	id     string
	amount money.Amount
	state  ledger.TransferState
}

// holds reads a payment's hold marks, from 1 to the first missing, and
// the state of each hold.
func (s *Service) holds(ctx context.Context, originalID string) ([]heldBack, error) {
	var out []heldBack
	for n := 1; n <= HoldsMax; n++ {
		m := mark.Mark{Purpose: purpose.Dispute, Key: holdKey(originalID, n)}
		jt, err := s.Journal.Transfer(ctx, m.ID())
		if errors.Is(err, journal.ErrNotFound) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("holds of %s: %w", originalID, err)
		}
		f, ok := mark.Decode(jt.Event.Meta)
		var amount int64
		if ok && len(f) == 5 {
			amount, err = strconv.ParseInt(f[4], 10, 64)
		}
		if !ok || len(f) != 5 || err != nil || f[0] != "hold" || f[1] != originalID {
			return nil, fmt.Errorf("holds of %s: mark %d: malformed %q", originalID, n, jt.Event.Meta)
		}
		h := heldBack{id: f[3], amount: money.Amount(amount)}
		ht, err := s.Journal.Transfer(ctx, LedgerID(h.id))
		if err != nil {
			return nil, fmt.Errorf("holds of %s: hold %s: %w", originalID, h.id, err)
		}
		h.state = ht.State
		out = append(out, h)
	}
	return out, nil
}

// holdKey is the key of a payment's n-th hold mark.
func holdKey(originalID string, n int) []string { return []string{"hold", originalID, strconv.Itoa(n)} }

// holdMark is the mark that names the n-th hold of a payment.
func holdMark(originalID string, n int, holdID string, amount money.Amount, c money.Currency) mark.Mark {
	return mark.Mark{Purpose: purpose.Dispute, Currency: c, Key: holdKey(originalID, n),
		Fields: []string{"hold", originalID, strconv.Itoa(n), holdID, strconv.FormatInt(int64(amount), 10)}}
}
