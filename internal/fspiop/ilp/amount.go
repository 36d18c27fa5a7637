package ilp

import (
	"fmt"
	"math/bits"
	"strings"
)

// scales is SSC's src/lib/ilp/currency.json: the number of decimals by
// which SSC shifts an FSPIOP amount to get the packet's integer amount.
// It agrees with ISO 4217 wherever both list a currency; it lacks the
// codes of recent years (SLE, XCG, ZWG) and keeps retired ones (HRK, SLL,
// ZWL), and SSC refuses to build a packet in a currency it lacks.
var scales = func() map[string]int {
	m := make(map[string]int, 168)
	for scale, codes := range [...]string{
		0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
		2: "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD " +
			"CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL " +
			"GHS GIP GMD GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR " +
			"LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB " +
			"PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLL SOS SRD SSP STN SVC SYP SZL " +
			"THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VES WST XCD YER ZAR ZMW ZWL",
		3: "BHD IQD JOD KWD LYD OMR TND",
		4: "CLF UYW XTS XXX",
	} {
		for _, c := range strings.Fields(codes) {
			m[c] = scale
		}
	}
	return m
}()

// maxExponent bounds the exponents UnitsOf and MinorOf accept: 10^19
// overflows a uint64.
const maxExponent = 18

// Scale returns the number of decimals SSC uses for currency in the ILP
// amount (2 for USD, 0 for UGX, 3 for KWD), or -1 if SSC has no entry for
// it and so cannot build a packet in it.
func Scale(currency string) int {
	if s, ok := scales[currency]; ok {
		return s
	}
	return -1
}

// UnitsOf converts an amount of minor units at exponent (Hulian's ISO
// 4217 exponent of currency) into the packet's amount: the same count at
// SSC's scale, as SSC's _getIlpCurrencyAmount computes it from the FSPIOP
// decimal string. It refuses with ErrAmount a currency SSC lacks, a
// negative amount, a bad exponent, a value that would lose digits (SSC
// would write a fraction) and one that overflows a uint64.
func UnitsOf(minor int64, exponent int, currency string) (uint64, error) {
	scale := Scale(currency)
	switch {
	case scale < 0:
		return 0, fmt.Errorf("ILP amount in %q: SSC has no scale for it: %w", currency, ErrAmount)
	case minor < 0:
		return 0, fmt.Errorf("ILP amount %d %s: negative: %w", minor, currency, ErrAmount)
	case exponent < 0 || exponent > maxExponent:
		return 0, fmt.Errorf("ILP amount %d %s: exponent %d: %w", minor, currency, exponent, ErrAmount)
	}
	v := uint64(minor)
	if scale >= exponent {
		hi, lo := bits.Mul64(v, pow10(scale-exponent))
		if hi != 0 {
			return 0, fmt.Errorf("ILP amount %d %s at exponent %d: overflows at scale %d: %w", minor, currency, exponent, scale, ErrAmount)
		}
		return lo, nil
	}
	d := pow10(exponent - scale)
	if v%d != 0 {
		return 0, fmt.Errorf("ILP amount %d %s at exponent %d: more decimals than SSC's scale %d: %w", minor, currency, exponent, scale, ErrAmount)
	}
	return v / d, nil
}

// MinorOf is the inverse of UnitsOf: the amount of a packet in minor units
// at exponent, so that the switch can compare a packet with the transfer
// it travels in. It refuses with ErrAmount what UnitsOf would and a value
// beyond int64.
func MinorOf(units uint64, exponent int, currency string) (int64, error) {
	scale := Scale(currency)
	switch {
	case scale < 0:
		return 0, fmt.Errorf("ILP amount in %q: SSC has no scale for it: %w", currency, ErrAmount)
	case exponent < 0 || exponent > maxExponent:
		return 0, fmt.Errorf("ILP amount %d %s: exponent %d: %w", units, currency, exponent, ErrAmount)
	}
	v := units
	if exponent >= scale {
		hi, lo := bits.Mul64(v, pow10(exponent-scale))
		if hi != 0 {
			return 0, fmt.Errorf("ILP amount %d %s: overflows at exponent %d: %w", units, currency, exponent, ErrAmount)
		}
		v = lo
	} else {
		d := pow10(scale - exponent)
		if v%d != 0 {
			return 0, fmt.Errorf("ILP amount %d %s: more decimals than exponent %d: %w", units, currency, exponent, ErrAmount)
		}
		v /= d
	}
	if v > 1<<63-1 {
		return 0, fmt.Errorf("ILP amount %d %s: beyond an int64 of minor units: %w", units, currency, ErrAmount)
	}
	return int64(v), nil
}

func pow10(n int) uint64 {
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// Address returns the ILPv1 account SSC writes for a payee:
// g.<fspId>.<idType>.<id>[.<subId>], everything but the FSP id lower-cased,
// the sub-id segment only when there is one. SSC lower-cases with
// JavaScript's toLowerCase; for the ASCII identifiers FSPIOP parties use,
// strings.ToLower agrees with it.
func Address(fspID, idType, id, subID string) string {
	a := "g." + fspID + "." + strings.ToLower(idType) + "." + strings.ToLower(id)
	if subID != "" {
		a += "." + strings.ToLower(subID)
	}
	return a
}
