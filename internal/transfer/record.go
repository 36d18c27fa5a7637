package transfer

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// record is what a payment's ledger event carries besides the money, in
// its Meta: who asked, to which alias, for which fee, with which note.
// Being in the event, it is stored in the same durable write as the
// money and covered by the audit log.
type record struct {
	ID               string
	Payer            string
	PayeeType        string
	PayeeValue       string
	PayeeParticipant string
	PayeeAccount     string
	QuoteID          string
	Note             string
	Fee              money.Amount
}

// recordVersion is the first byte of an encoded record; the layout is in
// docs/formats.md.
const recordVersion = 1

var errRecord = errors.New("transfer: invalid record")

// encode returns the canonical encoding: the version byte, then each
// string as uvarint length and bytes in field order, then the fee as a
// big-endian int64.
func (r *record) encode() string {
	b := make([]byte, 0, 128)
	b = append(b, recordVersion)
	for _, s := range []string{r.ID, r.Payer, r.PayeeType, r.PayeeValue, r.PayeeParticipant, r.PayeeAccount, r.QuoteID, r.Note} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(r.Fee))
	return string(b)
}

func decodeRecord(s string) (record, error) {
	var r record
	if len(s) < 1 || s[0] != recordVersion {
		return r, errRecord
	}
	rest := []byte(s[1:])
	for _, f := range []*string{&r.ID, &r.Payer, &r.PayeeType, &r.PayeeValue, &r.PayeeParticipant, &r.PayeeAccount, &r.QuoteID, &r.Note} {
		n, k := binary.Uvarint(rest)
		// The encoding is canonical: a length in more bytes than it
		// needs (0x80 0x00 for 0) is refused, so one record has one form.
		if k <= 0 || uint64(len(rest)-k) < n || k != uvarintLen(n) {
			return r, errRecord
		}
		*f = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	if len(rest) != 8 {
		return r, errRecord
	}
	r.Fee = money.Amount(binary.BigEndian.Uint64(rest))
	return r, nil
}

func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

// digest condenses the request that created a payment, so that a retry
// with the same id is recognised as the same request (it becomes the
// ledger transfers' Ref, which their idempotency check compares).
func (r *record) digest(amount money.Amount, c money.Currency) ledger.ID {
	var buf [256]byte // most requests fit: no allocation
	b := append(buf[:0], "hulian/request/v1"...)
	for _, s := range []string{r.ID, r.Payer, r.PayeeType, r.PayeeValue, r.QuoteID, r.Note} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(amount))
	b = binary.BigEndian.AppendUint16(b, uint16(c))
	sum := sha256.Sum256(b)
	return ledger.ID(sum[:len(ledger.ID{})])
}
