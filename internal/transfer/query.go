package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

// fromLedger rebuilds a transfer from its payment event.
func (s *Service) fromLedger(ctx context.Context, jt journal.Transfer) (Transfer, error) {
	rec, err := decodeRecord(jt.Meta)
	if err == nil {
		err = s.sealer.openAccount(&rec)
	}
	if err != nil {
		return Transfer{}, fmt.Errorf("transfer event %d: %w", jt.Timestamp, err)
	}
	t := Transfer{
		ID: rec.ID, Payer: rec.Payer,
		Payee:  Payee{Type: rec.PayeeType, Value: rec.PayeeValue, Participant: rec.PayeeParticipant, Account: rec.PayeeAccount},
		Amount: jt.Amount, Fee: rec.Fee, Currency: jt.Currency, QuoteID: rec.QuoteID, Note: rec.Note,
		CreatedAt: time.Unix(0, jt.Timestamp).UTC(), seq: jt.Timestamp,
		PayerAccount: rec.PayerAccount, Factors: rec.Factors, held: rec.Held,
	}
	if rec.FX {
		if t.FX, err = s.fxOf(ctx, rec.ID); err != nil {
			return Transfer{}, err
		}
	}
	switch jt.State {
	case ledger.StatePosted, ledger.StateCommitted:
		t.State = Committed
	case ledger.StatePending:
		t.State = Reserved
		if rec.Held {
			t.State = Held
		}
	case ledger.StateExpired:
		t.State, t.Reason = Aborted, "expired"
		if rec.Held {
			t.Reason = "review timeout"
		}
	case ledger.StateAborted:
		t.State = Aborted
		if ab, err := s.Journal.Transfer(ctx, ledgerID(phaseName(paymentLeg, abort), rec.ID)); err == nil {
			t.Reason = ab.Meta
		}
	}
	return t, nil
}

// Viewer is who asks to see transfers: a participant, or the operator
// or regulator (Participant empty).
type Viewer struct {
	Participant string
}

func (v Viewer) sees(t *Transfer) bool {
	return v.Participant == "" || v.Participant == t.Payer || v.Participant == t.Payee.Participant ||
		t.FX != nil && v.Participant == t.FX.Provider
}

// Get returns a transfer if the viewer may see it: its payer, its payee
// participant, the FX provider of an FX payment, or the operator. Anyone else gets ErrNotFound, as if it did
// not exist.
func (s *Service) Get(ctx context.Context, v Viewer, id string) (Transfer, error) {
	_, t, err := s.lookup(ctx, id)
	if err != nil {
		return Transfer{}, err
	}
	if !v.sees(&t) {
		return Transfer{}, fmt.Errorf("transfer %s: %w", id, ErrNotFound)
	}
	return t, nil
}

// lookup returns the transfer with client id id as the ledger holds its
// first leg and as participants see it, or ErrNotFound.
func (s *Service) lookup(ctx context.Context, id string) (journal.Transfer, Transfer, error) {
	if !ValidID(id) {
		return journal.Transfer{}, Transfer{}, fmt.Errorf("transfer %q: %w", id, ErrNotFound)
	}
	jt, err := s.Journal.Transfer(ctx, ledgerID(paymentLeg, id))
	if errors.Is(err, journal.ErrNotFound) {
		return journal.Transfer{}, Transfer{}, fmt.Errorf("transfer %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return journal.Transfer{}, Transfer{}, fmt.Errorf("transfer %s: %w", id, err)
	}
	t, err := s.fromLedger(ctx, jt)
	return jt, t, err
}

// ListMax bounds a page of List.
const ListMax = 1000

// List returns up to limit of the participant's transfers, as payer or
// payee, created at or after since (nanoseconds), oldest first, and the
// position to continue from (0 when there is no more).
func (s *Service) List(ctx context.Context, p participant.Participant, since int64, limit int) ([]Transfer, int64, error) {
	limit = min(max(limit, 1), ListMax)
	var all []ledger.Event
	for _, c := range p.Currencies {
		got, err := s.paymentEvents(ctx, p.Account(c), since, limit+1)
		if err != nil {
			return nil, 0, fmt.Errorf("list transfers of %s: %w", p.ID, err)
		}
		all = append(all, got...)
	}
	sortEvents(all)
	next := int64(0)
	if len(all) > limit {
		all = all[:limit]
		next = all[limit-1].Timestamp + 1
	}
	out := make([]Transfer, 0, len(all))
	for _, e := range all {
		if e.Purpose == purpose.FX {
			t, err := s.fxPayment(ctx, &e)
			if err != nil {
				return nil, 0, fmt.Errorf("list transfers of %s: %w", p.ID, err)
			}
			out = append(out, t)
			continue
		}
		// A payment posted at once is all in its event; only a
		// reservation's state is read from the ledger.
		jt := journal.Transfer{Event: e, State: ledger.StatePosted}
		if e.Kind == ledger.KindReserve {
			var err error
			if jt, err = s.Journal.Transfer(ctx, e.ID); err != nil {
				return nil, 0, fmt.Errorf("list transfers of %s: %w", p.ID, err)
			}
		}
		t, err := s.fromLedger(ctx, jt)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, next, nil
}

// paymentEvents returns at least n (if there are) of an account's
// payments' first events from since on, oldest first: and, for a payee
// paid in another currency, the fx legs that paid it.
func (s *Service) paymentEvents(ctx context.Context, acct ledger.AccountID, since int64, n int) ([]ledger.Event, error) {
	var got []ledger.Event
	from := since
	for len(got) < n {
		evs, err := s.Journal.AccountEvents(ctx, acct, from, 1<<63-1, 4*n)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if isPayment(&e) || isFXCredit(&e, acct) {
				got = append(got, e)
			}
		}
		if len(evs) < 4*n {
			break
		}
		from = evs[len(evs)-1].Timestamp + 1
	}
	return got, nil
}

// isPayment reports whether e is a payment's first event, which holds
// its record.
func isPayment(e *ledger.Event) bool {
	return e.Purpose == purpose.Payment && (e.Kind == ledger.KindPost || e.Kind == ledger.KindReserve)
}

// isFXCredit reports whether e is the fx leg of an FX payment to the
// payee whose account acct is: the payee's event of the payment.
func isFXCredit(e *ledger.Event, acct ledger.AccountID) bool {
	return e.Purpose == purpose.FX && e.Credit == acct && (e.Kind == ledger.KindPost || e.Kind == ledger.KindReserve)
}

// fxPayment returns the FX payment whose fx leg (or its commit) e is.
func (s *Service) fxPayment(ctx context.Context, e *ledger.Event) (Transfer, error) {
	meta := e.Meta
	if e.Kind == ledger.KindCommit || e.Kind == ledger.KindAbort {
		leg, err := s.Journal.Transfer(ctx, e.Pending)
		if err != nil {
			return Transfer{}, fmt.Errorf("fx event %d: %w", e.Timestamp, err)
		}
		meta = leg.Meta
	}
	terms, err := decodeFXTerms(meta)
	if err != nil {
		return Transfer{}, fmt.Errorf("fx event %d: %w", e.Timestamp, err)
	}
	_, t, err := s.lookup(ctx, terms.TransferID)
	return t, err
}

func sortEvents(evs []ledger.Event) {
	// Few currencies: an insertion sort of already sorted runs is enough.
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Timestamp < evs[j-1].Timestamp; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

// Credit returns the payment that event e commits to the credit of
// account, if it does: a one-phase payment to it, or the commit of a
// reserved one. Delivery of notifications uses it.
//
// An FX payment is delivered to its payee by its fx leg: the payment leg
// credits the FX provider, who is not the payment's payee.
func (s *Service) Credit(ctx context.Context, account ledger.AccountID, e ledger.Event) (Transfer, bool, error) {
	if e.Credit != account {
		return Transfer{}, false, nil
	}
	if e.Purpose == purpose.FX && (e.Kind == ledger.KindPost || e.Kind == ledger.KindCommit) {
		t, err := s.fxPayment(ctx, &e)
		return t, err == nil, err
	}
	t, ok, err := s.committedBy(ctx, &e)
	if ok && t.FX != nil {
		return Transfer{}, false, nil
	}
	return t, ok, err
}

// committedBy returns the payment that event e commits, if it does: a
// payment posted at once, or the commit of a reserved one.
func (s *Service) committedBy(ctx context.Context, e *ledger.Event) (Transfer, bool, error) {
	if e.Purpose != purpose.Payment {
		return Transfer{}, false, nil
	}
	var jt journal.Transfer
	switch e.Kind {
	case ledger.KindPost:
		jt = journal.Transfer{Event: *e, State: ledger.StatePosted}
	case ledger.KindCommit:
		var err error
		if jt, err = s.Journal.Transfer(ctx, e.Pending); err != nil {
			return Transfer{}, false, fmt.Errorf("commit event %d: %w", e.Timestamp, err)
		}
		jt.State = ledger.StateCommitted
	default:
		return Transfer{}, false, nil
	}
	t, err := s.fromLedger(ctx, jt)
	return t, err == nil, err
}

// Committed calls fn with every payment committed in [from, to), in the
// ledger's order: those posted at once when posted, the reserved ones
// when committed, each as it stands (with its first event's time). Risk
// control rebuilds its windows from them after a restart.
func (s *Service) Committed(ctx context.Context, from, to time.Time, fn func(*Transfer) error) error {
	return s.Journal.Scan(ctx, from.UnixNano(), to.UnixNano(), func(ev ledger.Event) error {
		t, ok, err := s.committedBy(ctx, &ev)
		if !ok || err != nil {
			return err
		}
		return fn(&t)
	})
}
