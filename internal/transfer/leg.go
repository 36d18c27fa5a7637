package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

// Leg is one ledger transfer of a payment: an amount from one account to
// another of the same currency, for a purpose. A payment's legs are
// posted as one linked chain — reserved, committed or aborted as one —
// and its first leg is always the payer → payee leg of purpose.Payment,
// whose event carries the payment's record.
type Leg struct {
	Purpose uint16
	Debit   ledger.AccountID
	Credit  ledger.AccountID
	Amount  money.Amount
}

// LegsMax bounds a payment's legs: BatchMax payments of LegsMax legs fit
// in one ledger batch.
const LegsMax = 8

// schemeLegs prices a payment under the scheme's fee schedule: the amount
// to the payee, and the fee, if any, to the hub's fee revenue. It appends
// to legs.
func schemeLegs(legs []Leg, payer, payee *participant.Participant, c money.Currency, amount, fee money.Amount) []Leg {
	legs = append(legs, Leg{Purpose: purpose.Payment, Debit: payer.Account(c), Credit: payee.Account(c), Amount: amount})
	if fee > 0 {
		legs = append(legs, Leg{Purpose: purpose.Fee, Debit: payer.Account(c), Credit: participant.FeeAccount(c), Amount: fee})
	}
	return legs
}

// legName names leg i of a payment whose legs have the given purposes:
// its purpose's name, with an ordinal for a purpose met before
// ("fee", "fee-2"). Ledger ids are derived from it.
func legName(purposes func(int) uint16, i int) string {
	p := purposes(i)
	if i == 0 && p == purpose.Payment {
		return paymentLeg // every payment's first leg
	}
	name, ok := purpose.Name(p)
	if !ok {
		name = "purpose-" + strconv.Itoa(int(p))
	}
	n := 1
	for k := 0; k < i; k++ {
		if purposes(k) == p {
			n++
		}
	}
	if n > 1 {
		name += "-" + strconv.Itoa(n)
	}
	return name
}

// phase is the second step of a reserved leg.
type phase bool

const (
	commit phase = true
	abort  phase = false
)

// phaseName names the commit or abort of a leg: "commit" and "abort" for
// the payment leg, "<leg>-commit" and "<leg>-abort" for the others (as
// they were named when a payment had two fixed legs, so that ids stored
// then still match).
func phaseName(leg string, ph phase) string {
	s := "abort"
	if ph == commit {
		s = "commit"
	}
	if leg == "payment" {
		return s
	}
	return leg + "-" + s
}

// ledgerID derives a ledger id from the client's transfer id and a name
// (a leg, a leg's phase, a deposit): the first 16 bytes of SHA-256 over a
// versioned, length-prefixed input. Transfer ids are global: two
// participants cannot use the same one.
func ledgerID(name, clientID string) ledger.ID {
	var buf [192]byte // room for the prefix, a name and the longest id: no allocation
	b := append(buf[:0], "hulian/transfer/v1"...)
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(len(clientID)))
	b = append(b, clientID...)
	sum := sha256.Sum256(b)
	return ledger.ID(sum[:len(ledger.ID{})])
}

// paymentLeg is the name of every payment's first leg.
const paymentLeg = "payment"

// LedgerID returns the ledger id of a payment's first transfer (its
// payment leg) for the client's transfer id: how the audit log finds the
// event that proves a transfer.
func LedgerID(clientID string) ledger.ID { return ledgerID(paymentLeg, clientID) }

// firstPhase appends the linked chain that posts (timeout zero) or
// reserves legs. The first leg carries the record as Meta; every leg
// carries the request's digest as Ref, which the ledger's idempotency
// check compares.
func firstPhase(cmds []ledger.Command, legs []Leg, clientID string, digest ledger.ID, meta string, timeout time.Duration) []ledger.Command {
	kind := ledger.KindPost
	if timeout > 0 {
		kind = ledger.KindReserve
	}
	for i, l := range legs {
		c := ledger.Command{
			Kind: kind, ID: ledgerID(legName(func(k int) uint16 { return legs[k].Purpose }, i), clientID),
			Debit: l.Debit, Credit: l.Credit, Amount: l.Amount, Timeout: timeout, Purpose: l.Purpose, Ref: digest,
			Linked: i < len(legs)-1,
		}
		if i == 0 {
			c.Meta = meta
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// secondPhase appends the linked chain that commits or aborts reserved
// legs (of which only the purposes matter). The payment leg's commit or
// abort carries reason as Meta.
func secondPhase(cmds []ledger.Command, legs []Leg, clientID string, ph phase, reason string) []ledger.Command {
	kind := ledger.KindAbort
	if ph == commit {
		kind = ledger.KindCommit
	}
	for i, l := range legs {
		leg := legName(func(k int) uint16 { return legs[k].Purpose }, i)
		c := ledger.Command{Kind: kind, ID: ledgerID(phaseName(leg, ph), clientID), Pending: ledgerID(leg, clientID),
			Purpose: l.Purpose, Linked: i < len(legs)-1}
		if i == 0 {
			c.Meta = reason
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// errChainEnd stops the scan of a chain at its last member.
var errChainEnd = errors.New("end of chain")

// storedLegs returns a stored payment's legs: its first leg's event and
// the events linked after it. A chain is applied in one batch, whose
// events have consecutive timestamps after the first, so LegsMax
// nanoseconds after the first leg hold all of it.
func (s *Service) storedLegs(ctx context.Context, first *ledger.Event) ([]Leg, error) {
	leg := func(e *ledger.Event) Leg {
		return Leg{Purpose: e.Purpose, Debit: e.Debit, Credit: e.Credit, Amount: e.Amount}
	}
	legs := []Leg{leg(first)}
	if first.Flags&ledger.EventLinked == 0 {
		return legs, nil
	}
	err := s.Journal.Scan(ctx, first.Timestamp+1, first.Timestamp+LegsMax, func(e ledger.Event) error {
		legs = append(legs, leg(&e))
		if e.Flags&ledger.EventLinked == 0 {
			return errChainEnd
		}
		return nil
	})
	if !errors.Is(err, errChainEnd) {
		if err == nil {
			err = errors.New("chain cut short")
		}
		return nil, fmt.Errorf("legs of %s: %w", first.ID, err)
	}
	return legs, nil
}
