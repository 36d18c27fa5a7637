package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

// RefundType is the payee type of a refund: its payee value is the
// refunded transfer's id.
const RefundType = "REFUND"

// PayBacksMax bounds the refunds and returns of one payment: each costs
// a lookup whenever the payment is paid back again.
const PayBacksMax = 100

// ErrRefundExceeds means refunds and returns of a payment would pay back
// more than it, or more times than PayBacksMax.
var ErrRefundExceeds = fault.New(fault.Refused, "refund-exceeds-original", "refunds would exceed the original amount")

// Refund pays back, from payee, amount of a committed payment to it, as
// a new payment id to the original payer (payee type RefundType, value
// the original's id), without a fee. A payment may be refunded in parts;
// refunds and returns together never exceed it (ErrRefundExceeds). The
// same refund again answers the first (created false); id used for
// anything else is ErrConflict. reason is kept as the refund's note. Risk
// control screens it: a decline refuses it (a hold verdict raises its
// alerts but cannot hold a refund).
func (s *Service) Refund(ctx context.Context, payee participant.Participant, originalID, id string, amount money.Amount,
	reason string) (Transfer, bool, error) {
	switch {
	case !ValidID(id):
		return Transfer{}, false, fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, IDMax)
	case ReservedID(id):
		return Transfer{}, false, fmt.Errorf("%w: ids beginning %q are the switch's", ErrInvalid, SwitchPrefixes)
	case amount <= 0:
		return Transfer{}, false, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	}
	orig, err := s.payable(ctx, payee, originalID)
	if err != nil {
		return Transfer{}, false, err
	}
	return s.payBack(ctx, payee, &orig, id, RefundType, amount, reason)
}

// Refunded returns what was paid back of a payment, by refunds and
// returns; zero, at the cost of one lookup, when nothing was.
func (s *Service) Refunded(ctx context.Context, originalID string) (money.Amount, error) {
	if !s.Journal.Known([]ledger.ID{payBackID(originalID, 1)})[0] {
		return 0, nil
	}
	pbs, err := s.payBacks(ctx, originalID)
	var sum money.Amount
	for _, p := range pbs {
		sum += p.amount
	}
	return sum, err
}

// payable returns payee's committed payment originalID, which it may
// pay back: not itself a payback.
func (s *Service) payable(ctx context.Context, payee participant.Participant, originalID string) (Transfer, error) {
	orig, err := s.Get(ctx, Viewer{Participant: payee.ID}, originalID)
	switch {
	case err != nil:
		return Transfer{}, err
	case orig.Payee.Participant != payee.ID:
		return Transfer{}, fmt.Errorf("transfer %s: %w", originalID, ErrNotPayee)
	case orig.State != Committed || orig.Payee.Type == ReturnType || orig.Payee.Type == RefundType || orig.Payee.Type == DisputeType:
		return Transfer{}, fmt.Errorf("transfer %s: %w", originalID, ErrNotReturnable)
	case orig.FX != nil:
		// The payee holds another currency than the payer paid: paying
		// back needs its own exchange, a new FX payment with its quote.
		return Transfer{}, fmt.Errorf("transfer %s is an FX payment, paid back by a new FX payment: %w", originalID, ErrNotReturnable)
	case payee.Status != participant.Active:
		return Transfer{}, fmt.Errorf("participant %s: %w", payee.ID, ErrSuspended)
	}
	return orig, nil
}

// payBack is a payment id of amount from payee back to the payer of orig,
// its payee typ (ReturnType or RefundType) and value orig's id, linked
// in one chain with the mark that counts it against orig. The marks of a
// payment are numbered from 1; a lock per payment orders its paybacks,
// and the mark's id makes two that raced for a number fail the second.
func (s *Service) payBack(ctx context.Context, payee participant.Participant, orig *Transfer, id, typ string,
	amount money.Amount, note string) (Transfer, bool, error) {
	c := orig.Currency
	if len(note) > NoteMax || !printable(note) {
		return Transfer{}, false, fmt.Errorf("%w: the reason must be at most %d bytes of printable text", ErrInvalid, NoteMax)
	}
	mu := payBackLock(orig.ID)
	mu.Lock()
	defer mu.Unlock()
	pbs, err := s.payBacks(ctx, orig.ID)
	if err != nil {
		return Transfer{}, false, err
	}
	// What disputes hold of it counts as paid back: it will be, unless
	// the dispute is rejected.
	sum, err := s.Held(ctx, orig.ID)
	if err != nil {
		return Transfer{}, false, err
	}
	for _, p := range pbs {
		if p.id == id {
			t, err := s.Get(ctx, Viewer{}, id)
			if err == nil && (t.Amount != amount || t.Payee.Type != typ) {
				err = fmt.Errorf("%s %s: %w", strings.ToLower(typ), id, ErrConflict)
			}
			return t, false, err
		}
		sum += p.amount
	}
	if len(pbs) >= PayBacksMax {
		return Transfer{}, false, fmt.Errorf("transfer %s was paid back %d times: %w", orig.ID, len(pbs), ErrRefundExceeds)
	}
	if amount > orig.Amount-sum {
		return Transfer{}, false, fmt.Errorf("%s of %s: %s paid back of %s: %w", amount.Format(c), orig.ID, sum.Format(c),
			orig.Amount.Format(c), ErrRefundExceeds)
	}
	if s.Journal.Known([]ledger.ID{LedgerID(id)})[0] {
		return Transfer{}, false, fmt.Errorf("transfer %s: %w", id, ErrConflict)
	}
	payer, ok := s.Participants.Get(orig.Payer)
	if !ok {
		return Transfer{}, false, fmt.Errorf("payer %s: %w", orig.Payer, ErrUnknownParty)
	}
	if payer.Status != participant.Active {
		// A suspended or closed participant takes no money in.
		return Transfer{}, false, fmt.Errorf("payer participant %s: %w", payer.ID, ErrSuspended)
	}
	rec := record{ID: id, Payer: payee.ID, PayeeType: typ, PayeeValue: orig.ID, PayeeParticipant: payer.ID,
		PayeeAccount: orig.PayerAccount, Note: strings.ToValidUTF8(note, "\uFFFD")}
	if rec.PayeeAccount == "" {
		rec.PayeeAccount = "-"
	}
	if typ == RefundType {
		sc := Screening{ID: id, Payer: &payee, Payee: &payer, PayeeType: typ, PayeeValue: orig.ID, PayeeAccount: rec.PayeeAccount,
			Amount: amount, Currency: c, Note: rec.Note, At: s.Now()}
		if _, err := s.Screener.Screen(ctx, &sc); err != nil {
			return Transfer{}, false, err
		}
	}
	n := len(pbs) + 1
	meta := orig.ID + " " + strconv.Itoa(n) + " " + id + " " + strconv.FormatInt(int64(amount), 10)
	// The Ref is the mark's content: two paybacks that raced for one
	// number are told apart by the ledger itself, not only by the lock.
	ref := sha256.Sum256([]byte(meta))
	cmds := []ledger.Command{{Kind: ledger.KindMark, Linked: true, ID: payBackID(orig.ID, n), Ref: ledger.ID(ref[:len(ledger.ID{})]),
		Currency: c, Purpose: purpose.PayBack, Meta: meta}}
	legs := []Leg{{Purpose: purpose.Payment, Debit: payee.Account(c), Credit: payer.Account(c), Amount: amount}}
	res, err := s.Journal.Submit(ctx, firstPhase(cmds, legs, id, rec.digest(amount, c), s.meta(&rec), 0))
	if err != nil {
		return Transfer{}, false, fmt.Errorf("%s of %s: %w", strings.ToLower(typ), orig.ID, err)
	}
	if st := ledger.ChainStatus(res); st != ledger.StatusOK {
		return Transfer{}, false, fmt.Errorf("%s of %s: %w", strings.ToLower(typ), orig.ID, st.Err())
	}
	t := Transfer{ID: id, State: Committed, Payer: payee.ID, Amount: amount, Currency: c, Note: rec.Note,
		Payee:     Payee{Type: typ, Value: orig.ID, Participant: payer.ID, Account: rec.PayeeAccount},
		CreatedAt: time.Unix(0, res[1].Timestamp).UTC()}
	s.committed(&t)
	return t, true, nil
}

// payBack is one mark of a payment's paybacks.
type payBack struct {
	id     string
	amount money.Amount
}

// payBacks reads a payment's payback marks, from 1 to the first missing.
func (s *Service) payBacks(ctx context.Context, originalID string) ([]payBack, error) {
	var out []payBack
	for n := 1; n <= PayBacksMax; n++ {
		jt, err := s.Journal.Transfer(ctx, payBackID(originalID, n))
		if errors.Is(err, journal.ErrNotFound) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("paybacks of %s: %w", originalID, err)
		}
		f := strings.Fields(jt.Event.Meta)
		var amount int64
		if len(f) == 4 {
			amount, err = strconv.ParseInt(f[3], 10, 64)
		}
		if len(f) != 4 || err != nil || f[0] != originalID {
			return nil, fmt.Errorf("paybacks of %s: mark %d: malformed %q", originalID, n, jt.Event.Meta)
		}
		out = append(out, payBack{id: f[2], amount: money.Amount(amount)})
	}
	return out, nil
}

// payBackID is the ledger id of the n-th payback mark of a payment.
func payBackID(originalID string, n int) ledger.ID {
	b := append([]byte("hulian/payback/v1"), binary.AppendUvarint(nil, uint64(len(originalID)))...)
	b = append(b, originalID...)
	b = binary.AppendUvarint(b, uint64(n))
	sum := sha256.Sum256(b)
	return ledger.ID(sum[:len(ledger.ID{})])
}

// payBackLocks order the paybacks of a payment; payments share them by
// hash, which only orders some unrelated paybacks too.
var (
	payBackLocks [64]sync.Mutex
	payBackSeed  = maphash.MakeSeed()
)

func payBackLock(originalID string) *sync.Mutex {
	return &payBackLocks[maphash.String(payBackSeed, originalID)%uint64(len(payBackLocks))]
}

// printable reports whether s is valid UTF-8 of printable characters
// (empty included): text that others' systems and the regulator read.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
