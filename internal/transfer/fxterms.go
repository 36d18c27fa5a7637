package transfer

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
)

// fxTerms is an FX payment's terms, the Meta of its fx leg
// (docs/formats.md, "FX terms"). The leg's event itself says what the
// payee got (amount, currency, the provider's and the payee's accounts);
// the terms say for what: the payer's side, the rate and the quota. They
// are in the leg the payee is paid by, so that the payee's audit proof of
// that leg is self-contained.
type fxTerms struct {
	TransferID, Payer, Provider string
	Rate                        fx.Rate
	// Purpose is the payment's ISO 20022 purpose code (fx.ValidPurpose).
	Purpose string
	// Rounding is fx.Conversion.Rounding(): the exact decimal, in the
	// target currency's major units, that rounding left to the provider.
	Rounding string
	// Mode is fx.Send or fx.Receive: which side the payer fixed.
	Mode                            fx.Mode
	Source, ProviderFee, QuotaValue money.Amount
	// QuotaCurrency 0, QuotaValue 0 and a zero QuotaKey: no quota.
	SourceCurrency, QuotaCurrency money.Currency
	// QuotaKey is QuotaKey(payer, payer account), zero without a quota.
	QuotaKey [16]byte
}

// fxTermsV1 is the FX terms' version, their first byte.
const fxTermsV1 = 1

// The bounds of the FX terms' strings: a participant id, a rounding
// decimal and a purpose code are short; what is longer is not terms the
// switch wrote.
const (
	fxPartyMax    = 64
	fxRoundingMax = 64
	fxPurposeMax  = 4
)

// fxTermsTail is the size of what follows the strings: mode, three
// amounts, two currencies and the quota key.
const fxTermsTail = 1 + 3*8 + 2*2 + 16

// fxQuotaLabel is the domain of QuotaKey's hash.
const fxQuotaLabel = "hulian/fx-quota/v1"

// QuotaKey returns the key of a payer's annual FX quota: the first 16
// bytes of SHA-256("hulian/fx-quota/v1" ‖ uvarint(len(payer)) ‖ payer ‖
// uvarint(len(payerAccount)) ‖ payerAccount). The quota is per account
// of a payer wallet; its key, not the account, is what the FX terms hold,
// so that the payee's proof does not disclose the payer's account and
// the payments of one account can still be summed.
func QuotaKey(payer, payerAccount string) [16]byte {
	b := make([]byte, 0, len(fxQuotaLabel)+2*binary.MaxVarintLen64+len(payer)+len(payerAccount))
	b = append(b, fxQuotaLabel...)
	b = binary.AppendUvarint(b, uint64(len(payer)))
	b = append(b, payer...)
	b = binary.AppendUvarint(b, uint64(len(payerAccount)))
	b = append(b, payerAccount...)
	sum := sha256.Sum256(b)
	return [16]byte(sum[:16])
}

// strings returns the terms' strings in the encoding's order.
func (t *fxTerms) strings() [6]string {
	return [6]string{t.TransferID, t.Payer, t.Provider, t.Rate.String(), t.Purpose, t.Rounding}
}

// encode returns the canonical encoding (docs/formats.md, "FX terms"):
// the version byte, each string as uvarint length and bytes, the mode,
// the amounts as big-endian int64, the currencies as big-endian uint16,
// then the quota key. It encodes what it is given: decodeFXTerms is where
// terms are checked.
func (t *fxTerms) encode() string {
	ss := t.strings()
	n := 1 + fxTermsTail
	for _, s := range ss {
		n += uvarintLen(uint64(len(s))) + len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, fxTermsV1)
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, byte(t.Mode))
	for _, a := range [...]money.Amount{t.Source, t.ProviderFee, t.QuotaValue} {
		b = binary.BigEndian.AppendUint64(b, uint64(a))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(t.SourceCurrency))
	b = binary.BigEndian.AppendUint16(b, uint16(t.QuotaCurrency))
	return string(append(b, t.QuotaKey[:]...))
}

// decodeFXTerms decodes FX terms in their canonical form only, so that
// one set of terms has one encoding: every refusal wraps errRecord.
func decodeFXTerms(meta string) (fxTerms, error) {
	var t fxTerms
	if len(meta) < 1 || meta[0] != fxTermsV1 {
		return t, fmt.Errorf("%w: FX terms: not version %d", errRecord, fxTermsV1)
	}
	rest := []byte(meta[1:])
	var ss [6]string
	for i := range ss {
		n, k := binary.Uvarint(rest)
		// A length in more bytes than it needs is refused, as in records.
		if k <= 0 || uint64(len(rest)-k) < n || k != uvarintLen(n) {
			return t, fmt.Errorf("%w: FX terms: string %d malformed", errRecord, i+1)
		}
		ss[i], rest = string(rest[k:k+int(n)]), rest[k+int(n):]
	}
	if len(rest) != fxTermsTail {
		return t, fmt.Errorf("%w: FX terms: %d bytes after the strings, want %d", errRecord, len(rest), fxTermsTail)
	}
	t.TransferID, t.Payer, t.Provider, t.Purpose, t.Rounding = ss[0], ss[1], ss[2], ss[4], ss[5]
	rate, err := fx.ParseRate(ss[3])
	if err != nil || rate.String() != ss[3] {
		return t, fmt.Errorf("%w: FX terms: rate %q not canonical", errRecord, ss[3])
	}
	t.Rate = rate
	t.Mode = fx.Mode(rest[0])
	b := rest[1:]
	t.Source = money.Amount(binary.BigEndian.Uint64(b))
	t.ProviderFee = money.Amount(binary.BigEndian.Uint64(b[8:]))
	t.QuotaValue = money.Amount(binary.BigEndian.Uint64(b[16:]))
	t.SourceCurrency = money.Currency(binary.BigEndian.Uint16(b[24:]))
	t.QuotaCurrency = money.Currency(binary.BigEndian.Uint16(b[26:]))
	t.QuotaKey = [16]byte(b[28:])
	if err := t.check(); err != nil {
		return fxTerms{}, fmt.Errorf("%w: FX terms: %w", errRecord, err)
	}
	return t, nil
}

// check holds decoded terms to what the switch writes.
func (t *fxTerms) check() error {
	noQuota := t.QuotaCurrency == 0 && t.QuotaValue == 0 && t.QuotaKey == [16]byte{}
	quota := t.QuotaCurrency.Valid() && t.QuotaValue > 0 && t.QuotaKey != [16]byte{}
	switch {
	case !ValidID(t.TransferID):
		return fmt.Errorf("transfer id %q", t.TransferID)
	case t.Payer == "" || len(t.Payer) > fxPartyMax:
		return fmt.Errorf("payer of %d bytes, want 1 to %d", len(t.Payer), fxPartyMax)
	case t.Provider == "" || len(t.Provider) > fxPartyMax:
		return fmt.Errorf("provider of %d bytes, want 1 to %d", len(t.Provider), fxPartyMax)
	case len(t.Purpose) > fxPurposeMax || !fx.ValidPurpose(t.Purpose):
		return fmt.Errorf("purpose %q", t.Purpose)
	case len(t.Rounding) > fxRoundingMax || !plainDecimal(t.Rounding):
		return fmt.Errorf("rounding %q", t.Rounding)
	case t.Mode != fx.Send && t.Mode != fx.Receive:
		return fmt.Errorf("mode %d", uint8(t.Mode))
	case t.Source <= 0 || !t.SourceCurrency.Valid():
		return fmt.Errorf("source %d %s", t.Source, t.SourceCurrency)
	case t.ProviderFee < 0:
		return fmt.Errorf("provider fee %d", t.ProviderFee)
	case !noQuota && !quota:
		return fmt.Errorf("quota %d %s with key %x: neither all set nor all zero", t.QuotaValue, t.QuotaCurrency, t.QuotaKey)
	}
	return nil
}

// plainDecimal reports whether s is a non-negative decimal as
// fx.Conversion.Rounding writes it: digits without a leading zero, then
// optionally a point and digits ("0", "0.0045", "12.50").
func plainDecimal(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' || i+1 == len(s) {
		return false
	}
	for _, c := range []byte(s[i+1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
