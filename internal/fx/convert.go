package fx

import (
	"fmt"
	"math/big"
	"math/bits"
	"strings"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// Mode says which side of a conversion the payer fixed: the amount sent
// or the amount received. It is a quote's "amountType".
type Mode uint8

// The modes. The zero Mode is not a mode; ParseMode reads an absent
// amountType as Send.
const (
	// Send: the amount is what the payer sends, in the source currency;
	// the payee gets what it converts to, rounded down.
	Send Mode = iota + 1
	// Receive: the amount is what the payee gets, in the target currency;
	// the payer sends what it takes, rounded up.
	Receive
)

// Errors of conversions.
var (
	// ErrMode means an amountType other than SEND or RECEIVE: the caller
	// refuses the request as malformed.
	ErrMode = fault.New(fault.Invalid, "", "fx: amountType must be SEND or RECEIVE")
	// ErrAmount means an amount that is not positive, or a currency that
	// is not one: the caller refuses the request as malformed.
	ErrAmount = fault.New(fault.Invalid, "", "fx: amount must be positive, in a known currency")
	// ErrTooSmall means the amount sent converts to less than one minor
	// unit of the target currency: there is nothing to pay the payee.
	ErrTooSmall = fault.New(fault.Refused, "fx-amount-too-small", "fx: the amount converts to less than one minor unit")
)

// ParseMode reads an amountType: "SEND", "RECEIVE", or "" for the
// default, Send.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "SEND":
		return Send, nil
	case "RECEIVE":
		return Receive, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrMode, s)
}

// String returns "SEND" or "RECEIVE".
func (m Mode) String() string {
	switch m {
	case Send:
		return "SEND"
	case Receive:
		return "RECEIVE"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// MarshalText encodes the mode as String does.
func (m Mode) MarshalText() ([]byte, error) {
	if m != Send && m != Receive {
		return nil, fmt.Errorf("marshal %d: %w", uint8(m), ErrMode)
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes a mode as ParseMode does.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Conversion is an exact conversion between two currencies at a rate.
// Source is what the payer sends (in SourceCurrency minor units), Target
// what the payee gets (in TargetCurrency minor units). Whichever side the
// mode did not fix is rounded in the payer's disfavour by less than one
// of its minor units: Target down in Send, Source up in Receive. The
// fraction the payer pays beyond what the payee gets is the FX
// provider's, who delivers Target for Source; Rounding states it.
type Conversion struct {
	Mode           Mode
	Source         money.Amount
	SourceCurrency money.Currency
	Target         money.Amount
	TargetCurrency money.Currency
	Rate           Rate
}

// Convert converts amount at r from one currency to the other. In Send,
// amount is the source amount S and the payee gets
// T = floor(S × r × 10^(expT−expS)); in Receive, amount is the target
// amount T and the payer sends S = ceil(T / r × 10^(expS−expT)), the
// least S whose Send conversion gives at least T. Exponents are the
// currencies' ISO 4217 minor units (JPY 0, CNY 2, BHD 3).
//
// It returns ErrAmount for an amount that is not positive or a currency
// that is not one, ErrRate for an invalid rate, ErrTooSmall if a Send
// amount converts to nothing, and money.ErrOverflow if the result does not
// fit in an Amount. Intermediate products are exact (math/big): there is
// no other way to fail.
func Convert(amount money.Amount, from, to money.Currency, r Rate, mode Mode) (Conversion, error) {
	c := Conversion{Mode: mode, SourceCurrency: from, TargetCurrency: to, Rate: r}
	switch {
	case amount <= 0 || !from.Valid() || !to.Valid():
		return Conversion{}, fmt.Errorf("convert %d %s to %s: %w", amount, from, to, ErrAmount)
	case !r.Valid():
		return Conversion{}, fmt.Errorf("convert %s to %s: %w", from, to, ErrRate)
	}
	var x big.Int
	switch mode {
	case Send:
		c.Source = amount
		num, d := sendRatio(amount, from, to, r)
		x.Quo(num, bigPow10(d)) // both positive: truncation is the floor
		if x.Sign() == 0 {
			return Conversion{}, fmt.Errorf("convert %s %s to %s at %s: %w", amount.Format(from), from, to, r, ErrTooSmall)
		}
		if !x.IsInt64() {
			return Conversion{}, fmt.Errorf("convert %s %s to %s at %s: %w", amount.Format(from), from, to, r, money.ErrOverflow)
		}
		c.Target = money.Amount(x.Int64())
	case Receive:
		c.Target = amount
		// S = ceil(T × 10^(k+b) / (m × 10^a)), the inverse of sendRatio.
		k, a, b := int(r.scale), expGap(to, from), expGap(from, to)
		num := new(big.Int).SetInt64(int64(amount))
		num.Mul(num, bigPow10(k+b))
		den := new(big.Int).SetUint64(r.m)
		den.Mul(den, bigPow10(a))
		num.Add(num, den)
		num.Sub(num, bigOne)
		x.Quo(num, den)
		if !x.IsInt64() {
			return Conversion{}, fmt.Errorf("convert %s %s from %s at %s: %w", amount.Format(to), to, from, r, money.ErrOverflow)
		}
		c.Source = money.Amount(x.Int64())
	default:
		return Conversion{}, fmt.Errorf("convert: %w", ErrMode)
	}
	return c, nil
}

var bigOne = big.NewInt(1)

// sendRatio returns num/10^d, the exact value in to's minor units of
// amount of from's minor units at r: amount × m × 10^a / 10^(k+b), where
// r = m × 10^-k and a, b are the exponent gaps. Each factor is bounded
// (amount < 2^63, m < 10^18, a, b ≤ 4, k ≤ 12), but their product is not
// a uint64's nor a 128-bit word's: math/big holds it.
func sendRatio(amount money.Amount, from, to money.Currency, r Rate) (num *big.Int, d int) {
	num = new(big.Int).SetInt64(int64(amount))
	num.Mul(num, new(big.Int).SetUint64(r.m))
	num.Mul(num, bigPow10(expGap(to, from)))
	return num, int(r.scale) + expGap(from, to)
}

// expGap returns max(0, x's exponent − y's exponent).
func expGap(x, y money.Currency) int {
	return max(0, x.Exponent()-y.Exponent())
}

// bigPows holds 10^0 … 10^31 (k ≤ 12 plus exponent gaps); never written.
var bigPows = func() (p [32]*big.Int) {
	for i := range p {
		p[i] = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(i)), nil)
	}
	return p
}()

func bigPow10(n int) *big.Int { return bigPows[n] }

// Exact returns S × rate in the target currency's major units, exactly:
// the value the payer's source amount has at the rate before the payee's
// amount is rounded ("133.758075" HKD, "2065.43" JPY). It is a finite decimal
// because the rate is one. It has at least the target's exponent of
// decimals and no trailing zero beyond them.
func (c Conversion) Exact() string {
	num, d := sendRatio(c.Source, c.SourceCurrency, c.TargetCurrency, c.Rate)
	// num × 10^-d target minor units is num × 10^-(d+expT) major units.
	return formatBig(num, d+c.TargetCurrency.Exponent(), c.TargetCurrency.Exponent())
}

// Rounding returns, exactly and in the target currency's major units, the
// value the payer pays beyond what the payee gets: S × rate − T, never
// negative. The FX provider keeps it. In Send it is below one minor unit
// of the target currency (T was rounded down); in Receive below the value
// of one minor unit of the source currency (S was rounded up). A quote
// states it as is ("0.0045" CNY).
func (c Conversion) Rounding() string {
	num, d := sendRatio(c.Source, c.SourceCurrency, c.TargetCurrency, c.Rate)
	t := new(big.Int).SetInt64(int64(c.Target))
	num.Sub(num, t.Mul(t, bigPow10(d)))
	return formatBig(num, d+c.TargetCurrency.Exponent(), c.TargetCurrency.Exponent())
}

// formatBig writes n × 10^-exp as a decimal with at least minDec decimals
// and no trailing zero beyond them.
func formatBig(n *big.Int, exp, minDec int) string {
	s := n.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	intPart, frac := s[:len(s)-exp], s[len(s)-exp:]
	for len(frac) > minDec && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// FeeBPSMax bounds a fee's proportional part: 10000 basis points is 100 %.
const FeeBPSMax = 10000

// Fee is an FX provider's charge for a conversion, in the source
// currency: Fixed minor units plus BPS basis points of the source amount,
// the proportional part rounded up (no part of an FX payment is rounded
// in the payer's favour). The payer pays it on top of the source amount,
// as the scheme's own fee: the source amount is what is converted, so
// that source, target and rate always agree, and the fee is shown apart
// ("providerFee").
type Fee struct {
	Fixed money.Amount
	BPS   int64
}

// Validate checks that the fee's parts are not negative and its
// proportional part at most 100 %.
func (f Fee) Validate() error {
	if f.Fixed < 0 || f.BPS < 0 || f.BPS > FeeBPSMax {
		return fmt.Errorf("%w: fee fixed %d, %d basis points", ErrSheet, f.Fixed, f.BPS)
	}
	return nil
}

// Of returns the fee for a source amount: Fixed + ceil(source × BPS /
// 10000), or money.ErrOverflow.
func (f Fee) Of(source money.Amount) (money.Amount, error) {
	if source < 0 || f.BPS < 0 || f.BPS > FeeBPSMax {
		return 0, fmt.Errorf("fee of %d: %w", source, ErrAmount)
	}
	// source < 2^63, BPS ≤ 10^4: the product fits 128 bits and hi < 10^4.
	hi, lo := bits.Mul64(uint64(source), uint64(f.BPS))
	q, rem := bits.Div64(hi, lo, FeeBPSMax)
	if rem != 0 {
		q++
	}
	// q ≤ source since BPS ≤ 10^4, so it fits an Amount.
	fee, err := money.Add(f.Fixed, money.Amount(q))
	if err != nil {
		return 0, fmt.Errorf("fee of %d: %w", source, err)
	}
	return fee, nil
}
