package transfer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/seal"
)

// record is what a payment's ledger event carries besides the money, in
// its Meta: who asked, to which alias, for which fee, with which note.
// Being in the event, it is stored in the same durable write as the
// money and covered by the audit log.
//
// Version 1 holds the payee's account reference in plain text. Version 2
// holds instead its MAC (which the audit log's leaf keeps, so that the
// payee and the operator can check it) and the account sealed with the
// data key (which the leaf leaves out, so that the payee still gets it
// back). docs/formats.md, "Payment record", has both layouts.
type record struct {
	ID               string
	Payer            string
	PayeeType        string
	PayeeValue       string
	PayeeParticipant string
	// PayeeAccount is the account in plain text: written in version 1,
	// opened from PayeeAccountSealed when a version 2 record is read.
	PayeeAccount string
	QuoteID      string
	Note         string
	Fee          money.Amount
	// PayerAccount, Factors, Held and FX are the extension, written
	// after the fee when any of them is set (docs/formats.md): the payer
	// wallet's reference of its user, how it authenticated the user,
	// whether risk control held the payment for review, and whether the
	// payee is paid by the payment's fx leg (purpose 18), whose Meta holds
	// the FX terms, rather than by this one.
	PayerAccount string
	Factors      FactorSet
	Held         bool
	FX           bool
	// Purpose is an FX payment's ISO 20022 purpose code. The record does
	// not hold it (the FX terms do), but the request digest covers it
	// when it was sent.
	Purpose string

	// version is the encoding: recordV1 (or zero) or recordV2.
	version byte
	// PayeeAccountMAC is AccountMAC of the account (version 2):
	// macSize bytes.
	PayeeAccountMAC string
	// PayeeAccountSealed is the account sealed under the context
	// sealContext (version 2).
	PayeeAccountSealed string
}

// The record versions: the first byte of an encoded record.
const (
	recordV1 = 1
	recordV2 = 2
)

// AccountMACLabel is the label under which the data key derives the
// switch's account MAC key K (seal.Key.Derive). Each payee's account
// references are MACed under its own key, HMAC-SHA256(K, payee id)
// (PayeeMACKey), so that the key a payee is given
// (GET /v1/audit/account-mac-key) checks its own accounts in the audit
// leaves and no other participant's: a payer holding the leaf of its
// payment cannot try account numbers against it.
const AccountMACLabel = "hulian/audit/account-mac/v1"

// sealContext binds a sealed payee account to where it is stored.
const sealContext = "transfer.payee_account"

// macSize is the length of PayeeAccountMAC: an HMAC-SHA256.
const macSize = sha256.Size

var errRecord = errors.New("transfer: invalid record")

// AccountMAC returns the MAC of a payee account reference in a version 2
// record: HMAC-SHA256 keyed with the payee's key (PayeeMACKey) over the
// account's bytes.
func AccountMAC(payeeKey []byte, account string) []byte {
	m := hmac.New(sha256.New, payeeKey)
	m.Write([]byte(account))
	return m.Sum(nil)
}

// PayeeMACKey returns payee's account MAC key: HMAC-SHA256 keyed with the
// switch's key K over the payee participant's id.
func PayeeMACKey(switchKey []byte, payee string) []byte { return AccountMAC(switchKey, payee) }

// sealer makes and opens version 2 records: the data key, and the MACs
// of the switch's key and of each payee's, kept so that a payment keys
// no hash afresh.
type sealer struct {
	key    *seal.Key
	master []byte
	mac    *seal.MAC
	payees sync.Map // payee id → *seal.MAC
}

func newSealer(key *seal.Key) *sealer {
	if key == nil {
		return nil
	}
	master := key.Derive(AccountMACLabel)
	return &sealer{key: key, master: master, mac: seal.NewMAC(master)}
}

// payeeMAC returns the MAC of payee's key.
func (sl *sealer) payeeMAC(payee string) *seal.MAC {
	if m, ok := sl.payees.Load(payee); ok {
		return m.(*seal.MAC)
	}
	var buf [macSize]byte
	m, _ := sl.payees.LoadOrStore(payee, seal.NewMAC(sl.mac.Append(buf[:0], payee)))
	return m.(*seal.MAC)
}

// sealAccount turns r into a version 2 record: the account's MAC and its
// sealed bytes replace the plain account in the encoding.
func (sl *sealer) sealAccount(r *record) {
	var buf [macSize + 128 + seal.SealedOverhead]byte
	r.version = recordV2
	r.PayeeAccountMAC = string(sl.payeeMAC(r.PayeeParticipant).Append(buf[:0], r.PayeeAccount))
	r.PayeeAccountSealed = string(sl.key.AppendSealed(buf[:0], sealContext, r.PayeeAccount))
}

// openAccount sets PayeeAccount of a version 2 record from its sealed
// bytes, and checks it against the MAC: a sealed account that opens to
// another account than the MAC says is refused.
func (sl *sealer) openAccount(r *record) error {
	if r.version != recordV2 {
		return nil
	}
	if sl == nil {
		return fmt.Errorf("%w: a version 2 record and no data key to open it", errRecord)
	}
	acct, err := sl.key.OpenSealed(sealContext, []byte(r.PayeeAccountSealed))
	if err != nil {
		return fmt.Errorf("transfer %s: payee account: %w", r.ID, err)
	}
	var buf [macSize]byte
	if !hmac.Equal([]byte(r.PayeeAccountMAC), sl.payeeMAC(r.PayeeParticipant).Append(buf[:0], string(acct))) {
		return fmt.Errorf("%w: transfer %s: the payee account does not match its MAC", errRecord, r.ID)
	}
	r.PayeeAccount = string(acct)
	return nil
}

// fields returns the record's strings in the encoding's order.
func (r *record) fields() []*string {
	if r.version == recordV2 {
		return []*string{&r.ID, &r.Payer, &r.PayeeType, &r.PayeeValue, &r.PayeeParticipant,
			&r.PayeeAccountMAC, &r.PayeeAccountSealed, &r.QuoteID, &r.Note}
	}
	return []*string{&r.ID, &r.Payer, &r.PayeeType, &r.PayeeValue, &r.PayeeParticipant, &r.PayeeAccount, &r.QuoteID, &r.Note}
}

// encode returns the canonical encoding: the version byte, then each
// string as uvarint length and bytes in field order, then the fee as a
// big-endian int64. A record whose version is not set is version 1.
func (r *record) encode() string {
	b := make([]byte, 0, 192)
	b = append(b, max(r.version, recordV1))
	for _, s := range r.fields() {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(r.Fee))
	if r.hasExtension() {
		b = binary.AppendUvarint(b, uint64(len(r.PayerAccount)))
		b = append(b, r.PayerAccount...)
		b = append(b, byte(r.Factors))
		var flags byte
		if r.Held {
			flags |= extHeld
		}
		if r.FX {
			flags |= extFX
		}
		b = append(b, flags)
	}
	return string(b)
}

// The extension's flags.
const (
	// extHeld: risk control held the payment for review.
	extHeld = 1
	// extFX: the payee is paid by the payment's fx leg, not this one.
	extFX = 2
)

// hasExtension reports whether the record has an extension to write:
// records without one keep the layout that older switches wrote.
func (r *record) hasExtension() bool {
	return r.PayerAccount != "" || r.Factors != 0 || r.Held || r.FX
}

// decodeExtension decodes the extension in b, which must be all of it,
// and canonical: an extension that says nothing is refused, and so is
// an unknown flag, which a newer switch may have given a meaning this
// one does not know.
func (r *record) decodeExtension(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n || k != uvarintLen(n) {
		return errRecord
	}
	r.PayerAccount = string(b[k : k+int(n)])
	b = b[k+int(n):]
	if len(b) != 2 || !FactorSet(b[0]).valid() || b[1]&^(extHeld|extFX) != 0 {
		return errRecord
	}
	r.Factors, r.Held, r.FX = FactorSet(b[0]), b[1]&extHeld != 0, b[1]&extFX != 0
	if !r.hasExtension() {
		return errRecord
	}
	return nil
}

// decodeRecord decodes either version. A version 2 record's account is
// still sealed: openAccount opens it.
func decodeRecord(s string) (record, error) {
	var r record
	if len(s) < 1 || (s[0] != recordV1 && s[0] != recordV2) {
		return r, errRecord
	}
	r.version = s[0]
	rest := []byte(s[1:])
	for _, f := range r.fields() {
		n, k := binary.Uvarint(rest)
		// The encoding is canonical: a length in more bytes than it
		// needs (0x80 0x00 for 0) is refused, so one record has one form.
		if k <= 0 || uint64(len(rest)-k) < n || k != uvarintLen(n) {
			return r, errRecord
		}
		*f = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	if len(rest) < 8 || (r.version == recordV2 && len(r.PayeeAccountMAC) != macSize) {
		return r, errRecord
	}
	r.Fee = money.Amount(binary.BigEndian.Uint64(rest))
	if len(rest) > 8 {
		if err := r.decodeExtension(rest[8:]); err != nil {
			return r, err
		}
	}
	return r, nil
}

func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

// digest condenses the request that created a payment, so that a retry
// with the same id is recognised as the same request (it becomes the
// ledger transfers' Ref, which their idempotency check compares). It is
// over the plain values the client sent, in both record versions: a
// retry seals nothing to compare.
func (r *record) digest(amount money.Amount, c money.Currency) ledger.ID {
	var buf [256]byte // most requests fit: no allocation
	b := append(buf[:0], "hulian/request/v1"...)
	for _, s := range []string{r.ID, r.Payer, r.PayeeType, r.PayeeValue, r.QuoteID, r.Note} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(amount))
	b = binary.BigEndian.AppendUint16(b, uint16(c))
	// The risk fields count only when sent, so that the digest of a
	// request without them is what it was before they existed.
	if r.PayerAccount != "" || r.Factors != 0 {
		b = append(b, "/risk"...)
		b = binary.AppendUvarint(b, uint64(len(r.PayerAccount)))
		b = append(b, r.PayerAccount...)
		b = append(b, byte(r.Factors))
	}
	// So does an FX payment's purpose code; the FX flag is the switch's
	// finding (the payee's currency), not the request's.
	if r.Purpose != "" {
		b = append(b, "/fx"...)
		b = binary.AppendUvarint(b, uint64(len(r.Purpose)))
		b = append(b, r.Purpose...)
	}
	sum := sha256.Sum256(b)
	return ledger.ID(sum[:len(ledger.ID{})])
}

// meta is the Meta of a payment's first event: record version 2 when
// the service has a data key, version 1 without (the packages' tests
// that build a flow without one).
func (s *Service) meta(r *record) string {
	v := *r
	if s.sealer == nil {
		v.version = recordV1
	} else {
		s.sealer.sealAccount(&v)
	}
	return v.encode()
}

// AccountMACKey returns the key of payee's account MACs in the audit
// log's leaves, or, for payee "", the switch's key that they derive from;
// nil when the service has no data key (and writes version 1 records,
// with the account in plain text).
func (s *Service) AccountMACKey(payee string) []byte {
	if s.sealer == nil {
		return nil
	}
	if payee == "" {
		return s.sealer.master
	}
	return PayeeMACKey(s.sealer.master, payee)
}
