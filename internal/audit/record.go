package audit

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
)

// PaymentRecord is a payment's own record, the Meta of its first ledger
// event, decoded from the layout documented in docs/formats.md ("Payment
// record") without the transfer package's code, as an outside verifier
// would.
type PaymentRecord struct {
	ID, Payer, PayeeType, PayeeValue, PayeeParticipant, PayeeAccount, QuoteID, Note string
	Fee                                                                             money.Amount
}

// DecodePaymentRecord decodes a payment record (version 1).
func DecodePaymentRecord(meta string) (PaymentRecord, error) {
	var r PaymentRecord
	if len(meta) < 1 || meta[0] != 1 {
		return r, fmt.Errorf("%w: not a version 1 payment record", ErrInvalid)
	}
	rest := []byte(meta[1:])
	for _, f := range []*string{&r.ID, &r.Payer, &r.PayeeType, &r.PayeeValue, &r.PayeeParticipant, &r.PayeeAccount, &r.QuoteID, &r.Note} {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return r, fmt.Errorf("%w: payment record cut short", ErrInvalid)
		}
		*f = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	if len(rest) != 8 {
		return r, fmt.Errorf("%w: payment record has %d bytes after its strings, want 8", ErrInvalid, len(rest))
	}
	r.Fee = money.Amount(binary.BigEndian.Uint64(rest))
	return r, nil
}

// IsPayment reports whether e is a payment's first event, the one whose
// Meta is its payment record and whose leaf proves the payment.
func IsPayment(e *ledger.Event) bool {
	return e.Purpose == purpose.Payment && (e.Kind == ledger.KindPost || e.Kind == ledger.KindReserve)
}

// Describe names an event for a person: its time, kind, purpose, money
// and what it concerns — the transfer's client id for a payment, the
// account for account events, the caller's record otherwise.
func Describe(e *ledger.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ts %d (%s), %s", e.Timestamp, time.Unix(0, e.Timestamp).UTC().Format(time.RFC3339Nano), e.Kind)
	if p, ok := purpose.Name(e.Purpose); ok {
		b.WriteString(" " + p)
	} else if e.Purpose != 0 {
		b.WriteString(" purpose " + strconv.Itoa(int(e.Purpose)))
	}
	cur := e.Currency.String()
	switch e.Kind {
	case ledger.KindCreateAccount, ledger.KindSetFloor:
		fmt.Fprintf(&b, ", account %d, %s, floor %s", e.Account, cur, e.Floor.Format(e.Currency))
	case ledger.KindMark:
		fmt.Fprintf(&b, ", %s", cur)
	default:
		fmt.Fprintf(&b, ", %s %s from account %d to %d", cur, e.Amount.Format(e.Currency), e.Debit, e.Credit)
	}
	if IsPayment(e) {
		if r, err := DecodePaymentRecord(e.Meta); err == nil {
			fmt.Fprintf(&b, ", transfer %q (payer %s, payee %s)", r.ID, r.Payer, r.PayeeParticipant)
		} else {
			b.WriteString(", undecodable payment record")
		}
	} else if e.Meta != "" && utf8Printable(e.Meta) {
		fmt.Fprintf(&b, ", %q", e.Meta)
	}
	if !e.ID.IsZero() {
		b.WriteString(", ledger id " + e.ID.String())
	}
	return b.String()
}

func utf8Printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0xfffd {
			return false
		}
	}
	return true
}
