package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
)

// PaymentRecord is a payment's own record, the Meta of its first ledger
// event, decoded from the layout documented in docs/formats.md ("Payment
// record") without the transfer package's code, as an outside verifier
// would.
type PaymentRecord struct {
	// Version is the record's version: 1 holds PayeeAccount in plain
	// text; 2 holds PayeeAccountMAC and PayeeAccountSealed instead.
	Version                                                          int
	ID, Payer, PayeeType, PayeeValue, PayeeParticipant, PayeeAccount string
	// PayeeAccountMAC is AccountMAC of the payee account (version 2).
	PayeeAccountMAC []byte
	// PayeeAccountSealed is the account sealed with the switch's data
	// key (version 2); empty in an audit leaf, which leaves it out.
	PayeeAccountSealed string
	QuoteID, Note      string
	Fee                money.Amount
	// PayerAccount, Factors (a set of bits: pin, password, biometric,
	// otp, device), Held and FX are the optional extension. FX means the
	// payee is paid by the payment's fx leg (purpose 18), whose Meta is
	// the FX terms (DecodeFXTerms), not by this event: this one pays the
	// FX provider.
	PayerAccount string
	Factors      uint8
	Held         bool
	FX           bool
}

// accountMACSize is the length of a version 2 record's account MAC.
const accountMACSize = sha256.Size

// DecodePaymentRecord decodes a payment record, version 1 or 2, as an
// event's Meta or as a leaf's (where a version 2 record's sealed account
// is empty).
func DecodePaymentRecord(meta string) (PaymentRecord, error) {
	r, rest, err := paymentFields(meta)
	if err != nil {
		return r, err
	}
	if len(rest) < 8 {
		return r, fmt.Errorf("%w: payment record has %d bytes after its strings, want 8 or more", ErrInvalid, len(rest))
	}
	r.Fee = money.Amount(binary.BigEndian.Uint64(rest))
	if ext := rest[8:]; len(ext) > 0 {
		n, k := binary.Uvarint(ext)
		if k <= 0 || uint64(len(ext)-k) < n || len(ext)-k-int(n) != 2 {
			return r, fmt.Errorf("%w: payment record's extension is malformed", ErrInvalid)
		}
		r.PayerAccount = string(ext[k : k+int(n)])
		flags := ext[k+int(n)+1]
		r.Factors, r.Held, r.FX = ext[k+int(n)], flags&1 != 0, flags&2 != 0
		// Flags beyond bit 1 are refused: a newer switch's meaning is
		// not guessed at.
		if r.Factors >= 1<<5 || flags > 3 || r.PayerAccount == "" && r.Factors == 0 && flags == 0 {
			return r, fmt.Errorf("%w: payment record's extension is malformed", ErrInvalid)
		}
	}
	return r, nil
}

// paymentFields decodes the record's strings and returns what follows
// them.
func paymentFields(meta string) (PaymentRecord, []byte, error) {
	var r PaymentRecord
	if len(meta) < 1 || (meta[0] != 1 && meta[0] != 2) {
		return r, nil, fmt.Errorf("%w: not a version 1 or 2 payment record", ErrInvalid)
	}
	r.Version = int(meta[0])
	var mac string
	fields := []*string{&r.ID, &r.Payer, &r.PayeeType, &r.PayeeValue, &r.PayeeParticipant, &r.PayeeAccount, &r.QuoteID, &r.Note}
	if r.Version == 2 {
		fields = []*string{&r.ID, &r.Payer, &r.PayeeType, &r.PayeeValue, &r.PayeeParticipant, &mac, &r.PayeeAccountSealed, &r.QuoteID, &r.Note}
	}
	rest := []byte(meta[1:])
	for _, f := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return r, nil, fmt.Errorf("%w: payment record cut short", ErrInvalid)
		}
		*f = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	if r.Version == 2 {
		if len(mac) != accountMACSize {
			return r, nil, fmt.Errorf("%w: payment record's account MAC has %d bytes, want %d", ErrInvalid, len(mac), accountMACSize)
		}
		r.PayeeAccountMAC = []byte(mac)
	}
	return r, rest, nil
}

// AccountMACKeyLabel is the label under which the switch derives, from
// its data key, its account MAC key K. Each payee's key is
// PayeeMACKey(K, payee id), and MACs that payee's account references in
// payment records version 2. A participant is served its own key, the
// operator and the regulator any: GET /v1/audit/account-mac-key.
const AccountMACKeyLabel = "hulian/audit/account-mac/v1"

// PayeeMACKey returns a payee's account MAC key: HMAC-SHA256 keyed with
// the switch's key over the payee participant's id.
func PayeeMACKey(switchKey []byte, payee string) []byte { return AccountMAC(switchKey, payee) }

// AccountMAC returns the MAC of a payee account reference as a version 2
// payment record holds it: HMAC-SHA256 keyed with the payee's key
// (PayeeMACKey) over the account reference's bytes. A payee compares it
// with the PayeeAccountMAC of the leaf of a payment it received.
func AccountMAC(key []byte, account string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(account))
	return m.Sum(nil)
}

// LeafVersion returns the audit leaf version of the encoded event raw
// (docs/formats.md): 2 for a payment's first event whose record is
// version 2, 1 for every other event.
func LeafVersion(raw []byte) int {
	if isPaymentRaw(raw) && raw[ledger.EventFixedSize] == 2 {
		return 2
	}
	return 1
}

// LeafHash returns the tree hash of the audit leaf of the encoded event
// raw: tlog.RecordHash(AppendLeaf(nil, raw)), without a copy for a leaf
// version 1.
func LeafHash(raw []byte) tlog.Hash {
	if LeafVersion(raw) == 1 {
		return tlog.RecordHash(raw)
	}
	var buf [ledger.EventFixedSize + ledger.MetaMax]byte
	return tlog.RecordHash(AppendLeaf(buf[:0], raw))
}

func isPaymentRaw(raw []byte) bool {
	kind, p := ledger.EventKindPurpose(raw)
	return p == purpose.Payment && (kind == ledger.KindPost || kind == ledger.KindReserve) && len(raw) > ledger.EventFixedSize
}

// AppendLeaf appends to dst the audit leaf of the encoded event raw and
// returns it. A leaf version 1 is the event itself. A leaf version 2 (a
// payment whose record is version 2) is the event with its record's
// sealed payee account emptied (its length 0, the meta length lowered to
// match): the leaf keeps the account's MAC, not the account, and is
// still an event encoding that ledger.DecodeEvent reads. A record that
// does not decode is left as it is: its leaf is the event.
func AppendLeaf(dst, raw []byte) []byte {
	if LeafVersion(raw) != 2 {
		return append(dst, raw...)
	}
	meta := raw[ledger.EventFixedSize:]
	// Skip the version byte and the strings before the sealed account:
	// id, payer, payee type, payee value, payee participant, MAC.
	at := 1
	for range 6 {
		n, k := binary.Uvarint(meta[at:])
		if k <= 0 || uint64(len(meta)-at-k) < n {
			return append(dst, raw...)
		}
		at += k + int(n)
	}
	n, k := binary.Uvarint(meta[at:])
	if k <= 0 || uint64(len(meta)-at-k) < n {
		return append(dst, raw...)
	}
	start := len(dst)
	dst = append(dst, raw[:ledger.EventFixedSize]...)
	dst = append(dst, meta[:at]...)
	dst = append(dst, 0)
	dst = append(dst, meta[at+k+int(n):]...)
	binary.BigEndian.PutUint16(dst[start+ledger.EventFixedSize-2:], uint16(len(dst)-start-ledger.EventFixedSize))
	return dst
}

// IsPayment reports whether e is a payment's first event, the one whose
// Meta is its payment record and whose leaf proves the payment.
func IsPayment(e *ledger.Event) bool {
	return e.Purpose == purpose.Payment && (e.Kind == ledger.KindPost || e.Kind == ledger.KindReserve)
}

// Describe names an event for a person: its time, kind, purpose, money
// and what it concerns — the transfer's client id for a payment and for
// an FX payment's fx leg, the account for account events, the caller's
// record otherwise.
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
	} else if isFXLeg(e) {
		if t, err := DecodeFXTerms(e.Meta); err == nil {
			fmt.Fprintf(&b, ", fx of transfer %q (payer %s, provider %s, rate %s)", t.TransferID, t.Payer, t.Provider, t.Rate)
		} else {
			b.WriteString(", undecodable FX terms")
		}
	} else if e.Meta != "" && utf8Printable(e.Meta) {
		fmt.Fprintf(&b, ", %q", e.Meta)
	}
	if !e.ID.IsZero() {
		b.WriteString(", ledger id " + e.ID.String())
	}
	return b.String()
}

// isFXLeg reports whether e is an FX payment's fx leg as posted or
// reserved, whose Meta is the payment's FX terms.
func isFXLeg(e *ledger.Event) bool {
	return e.Purpose == purpose.FX && (e.Kind == ledger.KindPost || e.Kind == ledger.KindReserve)
}

func utf8Printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0xfffd {
			return false
		}
	}
	return true
}
