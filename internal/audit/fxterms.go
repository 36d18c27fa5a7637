package audit

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/hulian/hulian/internal/money"
)

// FXTerms is an FX payment's terms, the Meta of its fx leg (purpose 18,
// the FX provider paying the payee in the payee's currency), decoded from
// the layout documented in docs/formats.md ("FX terms") without the
// transfer or fx packages' code, as an outside verifier would. The leg's
// event holds what the payee got; the terms hold the payer's side.
type FXTerms struct {
	TransferID, Payer, Provider string
	// Rate is the rate the payment was priced at, target currency per
	// source currency, as a canonical decimal ("1.08317").
	Rate string
	// Purpose is the payment's ISO 20022 purpose code ("FAMI").
	Purpose string
	// Rounding is the exact decimal, in the target currency's major
	// units, that rounding in the payer's disfavour left to the provider.
	Rounding string
	// Mode is "SEND" (the payer fixed Source) or "RECEIVE" (the payer
	// fixed what the payee gets).
	Mode string
	// Source is what the payment leg paid the provider, ProviderFee the
	// provider's fee leg, both in SourceCurrency.
	Source, ProviderFee money.Amount
	SourceCurrency      money.Currency
	// QuotaValue is the payment's value in QuotaCurrency, counted against
	// the payer account's annual FX quota, whose key is QuotaKey; all
	// three are zero when no quota applies.
	QuotaValue    money.Amount
	QuotaCurrency money.Currency
	QuotaKey      [16]byte
}

// The bounds of FX terms as the switch writes them.
const (
	fxTransferIDMax = 128 // the switch's transfer id limit
	fxPartyMax      = 64
	fxRoundingMax   = 64
	// fxTail: mode, three int64 amounts, two uint16 currencies, the
	// 16-byte quota key.
	fxTail = 1 + 3*8 + 2*2 + 16
)

// DecodeFXTerms decodes FX terms version 1, in their canonical form only
// (shortest lengths, nothing after the quota key, a rate without trailing
// zeros), so that one set of terms has one encoding and hence one leaf.
// It checks the purpose code's form (four upper-case letters or digits),
// not that ISO 20022 lists it.
func DecodeFXTerms(meta string) (FXTerms, error) {
	var t FXTerms
	if len(meta) < 1 || meta[0] != 1 {
		return t, fmt.Errorf("%w: not version 1 FX terms", ErrInvalid)
	}
	rest := []byte(meta[1:])
	fields := [...]*string{&t.TransferID, &t.Payer, &t.Provider, &t.Rate, &t.Purpose, &t.Rounding}
	for i, f := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n || k != len(binary.AppendUvarint(nil, n)) {
			return t, fmt.Errorf("%w: FX terms' string %d is malformed", ErrInvalid, i+1)
		}
		*f = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	if len(rest) != fxTail {
		return t, fmt.Errorf("%w: FX terms have %d bytes after their strings, want %d", ErrInvalid, len(rest), fxTail)
	}
	switch rest[0] {
	case 1:
		t.Mode = "SEND"
	case 2:
		t.Mode = "RECEIVE"
	default:
		return t, fmt.Errorf("%w: FX terms' mode %d", ErrInvalid, rest[0])
	}
	b := rest[1:]
	t.Source = money.Amount(binary.BigEndian.Uint64(b))
	t.ProviderFee = money.Amount(binary.BigEndian.Uint64(b[8:]))
	t.QuotaValue = money.Amount(binary.BigEndian.Uint64(b[16:]))
	t.SourceCurrency = money.Currency(binary.BigEndian.Uint16(b[24:]))
	t.QuotaCurrency = money.Currency(binary.BigEndian.Uint16(b[26:]))
	copy(t.QuotaKey[:], b[28:])
	if err := t.check(); err != nil {
		return FXTerms{}, fmt.Errorf("%w: FX terms' %s", ErrInvalid, err)
	}
	return t, nil
}

func (t *FXTerms) check() error {
	noQuota := t.QuotaCurrency == 0 && t.QuotaValue == 0 && t.QuotaKey == [16]byte{}
	quota := t.QuotaCurrency.Valid() && t.QuotaValue > 0 && t.QuotaKey != [16]byte{}
	switch {
	case t.TransferID == "" || len(t.TransferID) > fxTransferIDMax:
		return fmt.Errorf("transfer id of %d bytes", len(t.TransferID))
	case t.Payer == "" || len(t.Payer) > fxPartyMax:
		return fmt.Errorf("payer of %d bytes", len(t.Payer))
	case t.Provider == "" || len(t.Provider) > fxPartyMax:
		return fmt.Errorf("provider of %d bytes", len(t.Provider))
	case !canonicalRate(t.Rate):
		return fmt.Errorf("rate %q", t.Rate)
	case !purposeCode(t.Purpose):
		return fmt.Errorf("purpose %q", t.Purpose)
	case len(t.Rounding) > fxRoundingMax || !decimal(t.Rounding):
		return fmt.Errorf("rounding %q", t.Rounding)
	case t.Source <= 0 || !t.SourceCurrency.Valid():
		return fmt.Errorf("source %d %s", t.Source, t.SourceCurrency)
	case t.ProviderFee < 0:
		return fmt.Errorf("provider fee %d", t.ProviderFee)
	case !noQuota && !quota:
		return fmt.Errorf("quota %d %s, key %x: neither all set nor all zero", t.QuotaValue, t.QuotaCurrency, t.QuotaKey)
	}
	return nil
}

// decimal reports whether s is a non-negative plain decimal: digits
// without a leading zero, then optionally a point and digits.
func decimal(s string) bool {
	intPart, frac, point := strings.Cut(s, ".")
	if !digits(intPart) || len(intPart) > 1 && intPart[0] == '0' {
		return false
	}
	return !point || digits(frac)
}

// canonicalRate reports whether s is a rate as the switch prints it: a
// positive plain decimal below 10^9, with at most 12 decimals and none of
// them a trailing zero, and at most 18 significant digits.
func canonicalRate(s string) bool {
	intPart, frac, _ := strings.Cut(s, ".")
	if !decimal(s) || len(intPart) > 9 || len(frac) > 12 || frac != "" && frac[len(frac)-1] == '0' {
		return false
	}
	sig := intPart + frac
	for sig != "" && sig[0] == '0' {
		sig = sig[1:]
	}
	return sig != "" && len(sig) <= 18
}

// purposeCode reports whether s has the form of an ISO 20022 purpose
// code: four upper-case letters or digits.
func purposeCode(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := range len(s) {
		if !(s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
