package transfer

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

// Movement is one booked change of a participant's settlement account:
// a payment posted or committed, its fee, a deposit, a withdrawal, a
// settlement. Reservations are not booked until committed; aborts and
// expiries move nothing.
type Movement struct {
	At time.Time
	// Kind is payment, fee, deposit, withdrawal, settlement, fx (an FX
	// payment's delivery, provider → payee, in the payee's currency),
	// fx-fee (the FX provider's fee) or other.
	Kind string
	// Ref names what moved the money: the transfer id of a payment and of
	// its fee, the id of a deposit or withdrawal, "window/participant" of
	// a settlement.
	Ref string
	// Participant is the participant of a deposit or withdrawal.
	Participant string
	Amount      money.Amount
	Credit      bool // money in; a debit takes it out
}

// Statement is a page of a participant's settlement account over a
// window: the booked balance before and after the page's movements, and
// the movements, oldest first. Closing = Opening + credits − debits,
// exactly; the first page opens with the window's opening balance and
// the last closes with its closing balance.
type Statement struct {
	Opening, Closing money.Amount
	Movements        []Movement
	// Page is the page's number, from 1; LastPage says no page follows.
	Page     int
	LastPage bool
}

// StatementPage bounds the movements of one statement page: a busy
// day is read in pages, each a document of some tens of megabytes at
// most. A fee follows its payment onto a page, which may so hold one
// more.
const StatementPage = 50_000

// StatementMax bounds the movements of the settlement bank's statement,
// which is read whole.
const StatementMax = 500_000

// Errors of statements.
var (
	// ErrStatementTooLarge means the window holds more than StatementMax
	// movements.
	ErrStatementTooLarge = fault.New(fault.Refused, "statement-too-large", "too many movements for one statement: ask for a shorter window")
	// ErrNoPage means a page past the statement's last.
	ErrNoPage = fault.New(fault.NotFound, "", "no such statement page")
)

// Statement returns page (from 1) of p's settlement account in c over
// [from, to). The balances are worked back from the account's current
// booked balance through the movements since from.
func (s *Service) Statement(ctx context.Context, p participant.Participant, c money.Currency, from, to time.Time, page int) (Statement, error) {
	st, err := s.statementOf(ctx, p.Account(c), from, to, page, StatementPage)
	if err != nil {
		return Statement{}, fmt.Errorf("statement of %s %s: %w", p.ID, c, err)
	}
	return st, nil
}

// BankStatement returns the hub's account of the settlement bank in c
// over [from, to): the money the scheme holds there, as the switch books
// it — deposits and withdrawals of participants and settlements. The
// settlement bank's own statement of the scheme's account reconciles
// with it (its credits are this account's debits).
func (s *Service) BankStatement(ctx context.Context, c money.Currency, from, to time.Time) (Statement, error) {
	st, err := s.statementOf(ctx, participant.ExternalAccount(c), from, to, 1, StatementMax)
	if err == nil && !st.LastPage {
		err = ErrStatementTooLarge
	}
	if err != nil {
		return Statement{}, fmt.Errorf("settlement bank statement %s: %w", c, err)
	}
	return st, nil
}

// statementOf is page (from 1, of at most size movements) of the
// statement of any ledger account. Pages are cut as the movements are
// read, so that the same window always cuts the same pages: after size
// movements, except that a fee stays with the payment before it.
func (s *Service) statementOf(ctx context.Context, acct ledger.AccountID, from, to time.Time, page, size int) (Statement, error) {
	if page < 1 {
		return Statement{}, fmt.Errorf("%w: page must be 1 or more", ErrInvalid)
	}
	a, err := s.Journal.Account(ctx, acct)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{Page: page, LastPage: true}
	// The nets of the movements since to, in the page and after it.
	var after, in, later money.Amount
	var lastPayment string
	var lastAt, paymentAt int64 = 0, -2
	cut, filled := 1, 0 // the page being cut and its movements so far
	start, end := from.UnixNano(), to.UnixNano()
	for cursor := start; ; {
		evs, err := s.Journal.AccountEvents(ctx, acct, cursor, math.MaxInt64, 4096)
		if err != nil {
			return Statement{}, err
		}
		for i := range evs {
			e := &evs[i]
			if e.Kind != ledger.KindPost && e.Kind != ledger.KindCommit {
				continue
			}
			amount := e.Amount
			if e.Debit == acct {
				amount = -amount
			}
			if e.Timestamp >= end {
				after += amount
				continue
			}
			// A payment's chain is one batch, at consecutive timestamps:
			// its fees are at most LegsMax after its payment leg, the
			// last payment of this account before them.
			feeOfPayment := (e.Purpose == purpose.Fee || e.Purpose == purpose.FXFee) && e.Timestamp-paymentAt <= LegsMax
			if e.Purpose == purpose.Payment {
				paymentAt = e.Timestamp
			}
			if filled >= size && !feeOfPayment {
				cut, filled = cut+1, 0
			}
			filled++
			switch {
			case cut < page:
				// Before the page: in its opening balance.
			case cut > page:
				later += amount
				st.LastPage = false
			default:
				m, err := s.movement(ctx, e, acct, &lastPayment, &lastAt)
				if err != nil {
					return Statement{}, err
				}
				st.Movements = append(st.Movements, m)
				in += amount
			}
		}
		if len(evs) < 4096 {
			break
		}
		cursor = evs[len(evs)-1].Timestamp + 1
	}
	if page > cut {
		return Statement{}, ErrNoPage
	}
	closing := a.Balance - after // the window's
	st.Opening = closing - later - in
	st.Closing = st.Opening + in
	return st, nil
}

// movement describes a booked event of acct. A fee leg follows its
// payment's leg in the account's events, at the next timestamp: it is
// named by that payment.
func (s *Service) movement(ctx context.Context, e *ledger.Event, acct ledger.AccountID, lastPayment *string, lastAt *int64) (Movement, error) {
	m := Movement{At: time.Unix(0, e.Timestamp).UTC(), Amount: e.Amount, Credit: e.Credit == acct, Kind: "other"}
	switch e.Purpose {
	case purpose.Payment:
		m.Kind = "payment"
		meta := e.Meta
		if e.Kind == ledger.KindCommit {
			jt, err := s.Journal.Transfer(ctx, e.Pending)
			if err != nil {
				return Movement{}, fmt.Errorf("statement: the reservation of commit %d: %w", e.Timestamp, err)
			}
			meta = jt.Meta
		}
		rec, err := decodeRecord(meta)
		if err != nil {
			return Movement{}, fmt.Errorf("statement: payment event %d: %w", e.Timestamp, err)
		}
		m.Ref, *lastPayment, *lastAt = rec.ID, rec.ID, e.Timestamp
	case purpose.Fee, purpose.FXFee:
		m.Kind = "fee"
		if e.Purpose == purpose.FXFee {
			m.Kind = "fx-fee"
		}
		if e.Timestamp-*lastAt <= LegsMax {
			m.Ref = *lastPayment
		}
	case purpose.FX:
		// The fx leg of an FX payment: the provider pays the payee in
		// the payee's currency.
		m.Kind = "fx"
		meta := e.Meta
		if e.Kind == ledger.KindCommit {
			jt, err := s.Journal.Transfer(ctx, e.Pending)
			if err != nil {
				return Movement{}, fmt.Errorf("statement: the reservation of commit %d: %w", e.Timestamp, err)
			}
			meta = jt.Meta
		}
		terms, err := decodeFXTerms(meta)
		if err != nil {
			return Movement{}, fmt.Errorf("statement: fx event %d: %w", e.Timestamp, err)
		}
		m.Ref = terms.TransferID
	case purpose.Deposit, purpose.Withdrawal:
		m.Kind = map[uint16]string{purpose.Deposit: "deposit", purpose.Withdrawal: "withdrawal"}[e.Purpose]
		m.Participant, m.Ref, _ = strings.Cut(e.Meta, "/")
	case purpose.Settlement:
		m.Kind, m.Ref = "settlement", e.Meta
	}
	return m, nil
}

// Payments calls fn with each of p's payments in c, as payer, payee or
// FX provider (Transfer.Line says its side),
// whose first event falls in [from, to), in the ledger's order, each as
// it stands now. It reads the window's events once (a reconciliation of
// a busy day reads them all): a participant's own listing, List, pages
// by its account and is meant for a page at a time.
func (s *Service) Payments(ctx context.Context, p participant.Participant, c money.Currency, from, to time.Time,
	fn func(*Transfer) error) error {
	acct := p.Account(c)
	return s.Journal.Scan(ctx, from.UnixNano(), to.UnixNano(), func(e ledger.Event) error {
		if e.Debit != acct && e.Credit != acct {
			return nil
		}
		if e.Purpose == purpose.FX && (e.Kind == ledger.KindPost || e.Kind == ledger.KindReserve) {
			// The payee's, or the provider's in the target currency.
			t, err := s.fxPayment(ctx, &e)
			if err != nil {
				return fmt.Errorf("payments of %s: %w", p.ID, err)
			}
			return fn(&t)
		}
		if !isPayment(&e) {
			return nil
		}
		jt := journal.Transfer{Event: e, State: ledger.StatePosted}
		if e.Kind == ledger.KindReserve {
			var err error
			if jt, err = s.Journal.Transfer(ctx, e.ID); err != nil {
				return fmt.Errorf("payments of %s: %w", p.ID, err)
			}
		}
		t, err := s.fromLedger(ctx, jt)
		if err != nil {
			return err
		}
		return fn(&t)
	})
}

// Line returns what the transfer moved for participant in currency c,
// and whether it was taken from it (debit) or paid to it: the payer's
// amount, the payee's Received, and an FX provider's two sides — the
// source amount in, the target amount out. Fees are not in it.
func (t *Transfer) Line(participant string, c money.Currency) (amount money.Amount, debit bool) {
	switch {
	case t.Payer == participant && c == t.Currency:
		return t.Amount, true
	case t.FX != nil && t.FX.Provider == participant && c == t.FX.TargetCurrency:
		return t.FX.TargetAmount, true
	case t.FX != nil && t.FX.Provider == participant:
		return t.Amount, false
	}
	amount, _ = t.Received()
	return amount, false
}
