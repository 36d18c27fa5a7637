// Package quote owns the scheme's fees and the quotes that fix them.
//
// A fee schedule per currency (fixed part + a rate in basis points,
// clamped to a minimum and a maximum) is set by the operator and charged
// to the payer participant. A quote is a signed, self-contained token:
// the switch stores nothing per quote, yet a transfer that names one gets
// exactly the fee it promised, until it expires, and a forged or altered
// quote is refused.
package quote

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sqldb"
)

// Schedule is a currency's fee rule: fee = clamp(Fixed + Amount×RateBPS/10000, Min, Max),
// rounded half away from zero; Max zero means no maximum.
type Schedule struct {
	Currency money.Currency
	Fixed    money.Amount
	RateBPS  int64
	Min      money.Amount
	Max      money.Amount
}

// RateBPSMax bounds the rate: 10000 basis points is 100 %.
const RateBPSMax = 10000

// ErrInvalid means a schedule or quote request is malformed.
var ErrInvalid = fault.New(fault.Invalid, "", "invalid fee schedule")

// Validate checks the schedule's fields.
func (s Schedule) Validate() error {
	switch {
	case !s.Currency.Valid():
		return fmt.Errorf("%w: unknown currency", ErrInvalid)
	case s.Fixed < 0 || s.Min < 0 || s.Max < 0:
		return fmt.Errorf("%w: fixed, min and max must not be negative", ErrInvalid)
	case s.RateBPS < 0 || s.RateBPS > RateBPSMax:
		return fmt.Errorf("%w: rate must be 0 to %d basis points", ErrInvalid, RateBPSMax)
	case s.Max != 0 && s.Max < s.Min:
		return fmt.Errorf("%w: max below min", ErrInvalid)
	}
	return nil
}

// Fee returns the fee for amount.
func (s Schedule) Fee(amount money.Amount) (money.Amount, error) {
	pct, err := money.MulDiv(amount, s.RateBPS, RateBPSMax)
	if err != nil {
		return 0, fmt.Errorf("fee of %d: %w", amount, err)
	}
	fee, err := money.Add(s.Fixed, pct)
	if err != nil {
		return 0, fmt.Errorf("fee of %d: %w", amount, err)
	}
	fee = max(fee, s.Min)
	if s.Max != 0 {
		fee = min(fee, s.Max)
	}
	return fee, nil
}

// Fees holds the schedules, in memory and in the app database. A
// currency without a schedule has no fee.
type Fees struct {
	db  *sqldb.DB
	now func() time.Time
	mu  sync.RWMutex
	by  map[money.Currency]Schedule
}

// LoadFees reads the schedules from db.
func LoadFees(ctx context.Context, db *sqldb.DB, now func() time.Time) (*Fees, error) {
	f := &Fees{db: db, now: now, by: map[money.Currency]Schedule{}}
	rows, err := db.QueryContext(ctx, `SELECT currency, fixed, rate_bps, min_fee, max_fee FROM fee_schedules`)
	if err != nil {
		return nil, fmt.Errorf("load fees: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var s Schedule
		if err := rows.Scan(&code, &s.Fixed, &s.RateBPS, &s.Min, &s.Max); err != nil {
			return nil, fmt.Errorf("load fees: %w", err)
		}
		if s.Currency, err = money.ParseCurrency(code); err != nil {
			return nil, fmt.Errorf("load fees: %w", err)
		}
		f.by[s.Currency] = s
	}
	return f, rows.Err()
}

// Schedule returns the schedule of c (zero fees if none was set).
func (f *Fees) Schedule(c money.Currency) Schedule {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if s, ok := f.by[c]; ok {
		return s
	}
	return Schedule{Currency: c}
}

// Schedules returns every schedule that was set.
func (f *Fees) Schedules() []Schedule {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Schedule, 0, len(f.by))
	for _, s := range f.by {
		out = append(out, s)
	}
	return out
}

// Set stores a schedule.
func (f *Fees) Set(ctx context.Context, s Schedule) error {
	if err := s.Validate(); err != nil {
		return err
	}
	err := f.db.Transact(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO fee_schedules (currency, fixed, rate_bps, min_fee, max_fee, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (currency) DO UPDATE SET fixed = excluded.fixed, rate_bps = excluded.rate_bps,
				min_fee = excluded.min_fee, max_fee = excluded.max_fee, updated_at = excluded.updated_at`,
			s.Currency.String(), int64(s.Fixed), s.RateBPS, int64(s.Min), int64(s.Max), f.now().UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("set fees %s: %w", s.Currency, err)
	}
	f.mu.Lock()
	f.by[s.Currency] = s
	f.mu.Unlock()
	return nil
}

// Quote is an offer to a payer: this payee, this amount, this fee, until
// ExpiresAt. A cross-currency offer also fixes its exchange terms, FX.
type Quote struct {
	ID               string
	Payer            string
	PayeeType        string
	PayeeValue       string
	PayeeParticipant string
	Amount           money.Amount
	Fee              money.Amount
	Currency         money.Currency
	ExpiresAt        time.Time
	// FX is nil for a domestic quote.
	FX *FX
}

// FX is an FX quote's exchange terms, signed with the quote: Amount and
// Currency are then the source amount and currency the payer sends; the
// payee gets TargetAmount in TargetCurrency from Provider at Rate.
type FX struct {
	Provider       string
	Mode           fx.Mode
	TargetAmount   money.Amount
	TargetCurrency money.Currency
	Rate           fx.Rate
	ProviderFee    money.Amount
	// Rounding is fx.Conversion.Rounding, exact decimal text of at most
	// RoundingLenMax bytes.
	Rounding string
	// QuotaValue is the payment's value in QuotaCurrency, computed when
	// the quote was made so that the transfer depends on no rate sheet;
	// both are zero when the payer has no quota.
	QuotaValue    money.Amount
	QuotaCurrency money.Currency
	// Nonce makes each FX quote one of its own: an FX quote pays once,
	// so two quotes alike in every term (the same payer, amount and
	// expiry, which a sheet's end fixes) must still be two. Issue draws
	// it when it is zero.
	Nonce uint64
}

// RoundingLenMax bounds FX.Rounding, in bytes: fx writes at most a few
// dozen digits, and a token must stay well within IDLenMax.
const RoundingLenMax = 64

// IDLenMax bounds a quote id, in characters. An FX quote with the longest
// alias, participant ids, provider id, rate and rounding takes 742
// (TestQuoteIDLenMax keeps it under 1000).
const IDLenMax = 2048

// Errors of quote verification.
var (
	// ErrUnknown means the quote id is not one this switch issued.
	ErrUnknown = fault.New(fault.Refused, "quote-mismatch", "unknown quote")
	// ErrExpired means the quote's time is up: ask for a new one.
	ErrExpired = fault.New(fault.Refused, "quote-expired", "quote expired")
)

// The versions of a quote token, its payload's first byte. A domestic
// quote is written as version 1 so that its token is the same as before
// FX quotes existed.
const (
	versionDomestic = 1
	versionFX       = 2
)

// idEncoding reads ids strictly (the unused bits of the last character
// must be zero), so that one quote has one id: Issue of what Verify
// returns gives back the id.
var idEncoding = base64.RawURLEncoding.Strict()

// tagLen is how much of the HMAC-SHA256 a token keeps: 128 bits.
const tagLen = 16

// Signer issues and verifies quotes with an HMAC key kept in the data
// directory. It is safe for concurrent use.
type Signer struct {
	key []byte
	// macs holds *mac: a keyed HMAC costs five allocations to set up,
	// and every quote and every transfer that names one needs it.
	macs sync.Pool
}

// mac is a reusable HMAC-SHA256 with room for its sum.
type mac struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewSigner returns a signer with key (at least 32 bytes).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("quote key: %d bytes, need 32", len(key))
	}
	return &Signer{key: bytes.Clone(key)}, nil
}

// tag returns the first tagLen bytes of payload's HMAC-SHA256.
func (s *Signer) tag(payload []byte) (t [tagLen]byte) {
	m, _ := s.macs.Get().(*mac)
	if m == nil {
		m = &mac{h: hmac.New(sha256.New, s.key)}
	}
	m.h.Reset()
	m.h.Write(payload)
	copy(t[:], m.h.Sum(m.sum[:0]))
	s.macs.Put(m)
	return t
}

// Issue returns q with its ID set: base64url (no padding) of a payload
// followed by the first 16 bytes of the payload's HMAC-SHA256. The
// payload, strings each a uvarint length then the bytes, integers big
// endian:
//
//	version 1 byte: 1 domestic (q.FX nil), 2 FX
//	strings: payer, payee type, payee value, payee participant
//	int64: amount, fee; uint16: currency; int64: expiry (Unix ns)
//	version 2 only:
//	strings: provider, rate (fx.Rate.String), rounding
//	mode 1 byte (1 SEND, 2 RECEIVE)
//	int64: target amount, provider fee, quota value
//	uint16: target currency, quota currency
//
// Issue panics if q.FX is set but not terms Verify accepts (see Verify):
// the caller built them from an fx offer, so that is a bug, and a token
// the switch would refuse must not reach a payer.
func (s *Signer) Issue(q Quote) Quote {
	strs := [...]string{q.Payer, q.PayeeType, q.PayeeValue, q.PayeeParticipant}
	n := 1 + 8 + 8 + 2 + 8 + tagLen
	for _, f := range strs {
		n += binary.MaxVarintLen64 + len(f)
	}
	var rate string
	if q.FX != nil {
		if why := q.FX.problem(q.Amount, q.Currency); why != "" {
			panic("quote: issue: invalid FX terms: " + why)
		}
		rate = q.FX.Rate.String()
		n += 3*binary.MaxVarintLen64 + len(q.FX.Provider) + len(rate) + len(q.FX.Rounding) + 1 + 8 + 8 + 8 + 2 + 2 + 8
		if q.FX.Nonce == 0 {
			f := *q.FX
			f.Nonce = rand.Uint64() | 1 // never zero: zero asks for one
			q.FX = &f
		}
	}
	// One buffer holds the payload, the HMAC (its whole sum is appended
	// before being cut) and the encoding, which is then copied to the id.
	enc := idEncoding
	b := make([]byte, 0, n+sha256.Size+enc.EncodedLen(n))
	b = append(b, versionDomestic)
	if q.FX != nil {
		b[0] = versionFX
	}
	for _, f := range strs {
		b = appendString(b, f)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(q.Amount))
	b = binary.BigEndian.AppendUint64(b, uint64(q.Fee))
	b = binary.BigEndian.AppendUint16(b, uint16(q.Currency))
	b = binary.BigEndian.AppendUint64(b, uint64(q.ExpiresAt.UnixNano()))
	if f := q.FX; f != nil {
		b = appendString(b, f.Provider)
		b = appendString(b, rate)
		b = appendString(b, f.Rounding)
		b = append(b, byte(f.Mode))
		b = binary.BigEndian.AppendUint64(b, uint64(f.TargetAmount))
		b = binary.BigEndian.AppendUint64(b, uint64(f.ProviderFee))
		b = binary.BigEndian.AppendUint64(b, uint64(f.QuotaValue))
		b = binary.BigEndian.AppendUint16(b, uint16(f.TargetCurrency))
		b = binary.BigEndian.AppendUint16(b, uint16(f.QuotaCurrency))
		b = binary.BigEndian.AppendUint64(b, f.Nonce)
	}
	t := s.tag(b)
	b = append(b, t[:]...)
	out := enc.AppendEncode(b, b)
	q.ID = string(out[len(b):])
	return q
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Verify decodes and authenticates a quote id. It returns ErrUnknown for
// anything this switch did not sign, and ErrExpired (with the quote) once
// now is past its expiry.
//
// It reads both versions and refuses, as ErrUnknown, any id that is not
// exactly one Issue writes: non-canonical base64, an unknown version, a
// length past the end, a non-minimal uvarint, trailing bytes. Version 2 must also carry
// sensible terms: a positive amount in a known currency; a provider id of
// 1 to fx.ProviderLenMax bytes; SEND or RECEIVE; a rate in its canonical
// text; a positive target amount in a known currency other than the
// source's; a non-negative provider fee; a rounding that is a plain
// non-negative decimal of at most RoundingLenMax bytes; and either no
// quota (value and currency 0) or a positive value in a known currency.
func (s *Signer) Verify(id string, now time.Time) (Quote, error) {
	if len(id) > IDLenMax {
		return Quote{}, ErrUnknown
	}
	// No line breaks (which the decoder skips): see idEncoding.
	b, err := idEncoding.DecodeString(id)
	if err != nil || len(b) < 1+tagLen || idEncoding.EncodedLen(len(b)) != len(id) {
		return Quote{}, ErrUnknown
	}
	payload, sum := b[:len(b)-tagLen], b[len(b)-tagLen:]
	if t := s.tag(payload); !hmac.Equal(t[:], sum) {
		return Quote{}, ErrUnknown
	}
	q, ok := decode(payload)
	if !ok {
		return Quote{}, ErrUnknown
	}
	q.ID = id
	if !now.Before(q.ExpiresAt) {
		return q, ErrExpired
	}
	return q, nil
}

// decode reads an authenticated payload as Issue writes it.
func decode(payload []byte) (Quote, bool) {
	version := payload[0]
	if version != versionDomestic && version != versionFX {
		return Quote{}, false
	}
	// One string holds every string field: one allocation, not seven.
	d := decoder{b: payload, s: string(payload), off: 1}
	var q Quote
	q.Payer = d.str()
	q.PayeeType = d.str()
	q.PayeeValue = d.str()
	q.PayeeParticipant = d.str()
	q.Amount = money.Amount(d.uint64())
	q.Fee = money.Amount(d.uint64())
	q.Currency = money.Currency(d.uint16())
	q.ExpiresAt = time.Unix(0, int64(d.uint64())).UTC()
	if version == versionDomestic {
		return q, d.end()
	}
	f := &FX{Provider: d.str()}
	rate := d.str()
	f.Rounding = d.str()
	f.Mode = fx.Mode(d.byte())
	f.TargetAmount = money.Amount(d.uint64())
	f.ProviderFee = money.Amount(d.uint64())
	f.QuotaValue = money.Amount(d.uint64())
	f.TargetCurrency = money.Currency(d.uint16())
	f.QuotaCurrency = money.Currency(d.uint16())
	f.Nonce = d.uint64()
	if !d.end() {
		return Quote{}, false
	}
	r, err := fx.ParseRate(rate)
	if err != nil || r.String() != rate {
		return Quote{}, false
	}
	f.Rate = r
	if f.problem(q.Amount, q.Currency) != "" {
		return Quote{}, false
	}
	q.FX = f
	return q, true
}

// decoder reads a payload; b and s hold the same bytes, so that strings
// are cut from s without copying. A read past the end or a non-minimal
// length sets bad, and later reads return zeros.
type decoder struct {
	b   []byte
	s   string
	off int
	bad bool
}

func (d *decoder) next(n int) int {
	if d.bad || n > len(d.b)-d.off {
		d.bad = true
		return -1
	}
	d.off += n
	return d.off - n
}

func (d *decoder) str() string {
	if d.bad {
		return ""
	}
	n, k := binary.Uvarint(d.b[d.off:])
	// A last byte of zero after others means a longer encoding than
	// needed: Issue would write another token for the same quote.
	if k <= 0 || (k > 1 && d.b[d.off+k-1] == 0) || n > uint64(len(d.b)-d.off-k) {
		d.bad = true
		return ""
	}
	d.off += k
	i := d.next(int(n))
	return d.s[i : i+int(n)]
}

func (d *decoder) byte() byte {
	if i := d.next(1); i >= 0 {
		return d.b[i]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if i := d.next(2); i >= 0 {
		return binary.BigEndian.Uint16(d.b[i:])
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if i := d.next(8); i >= 0 {
		return binary.BigEndian.Uint64(d.b[i:])
	}
	return 0
}

// end reports whether every byte was read, and nothing was wrong.
func (d *decoder) end() bool { return !d.bad && d.off == len(d.b) }

// problem says what makes f no terms for a quote of amount in cur, or ""
// if they are sound. It returns a constant, not an error: Verify calls it
// on every FX token and needs no more than yes or no.
func (f *FX) problem(amount money.Amount, cur money.Currency) string {
	switch {
	case amount <= 0 || !cur.Valid():
		return "the source amount must be positive, in a known currency"
	case f.Provider == "" || len(f.Provider) > fx.ProviderLenMax:
		return "the provider id must be 1 to 64 bytes"
	case f.Mode != fx.Send && f.Mode != fx.Receive:
		return "the mode must be SEND or RECEIVE"
	case !f.Rate.Valid():
		return "no rate"
	case f.TargetAmount <= 0 || !f.TargetCurrency.Valid() || f.TargetCurrency == cur:
		return "the target amount must be positive, in a known currency other than the source's"
	case f.ProviderFee < 0:
		return "negative provider fee"
	case len(f.Rounding) > RoundingLenMax || !plainDecimal(f.Rounding):
		return "the rounding must be a plain decimal of at most 64 bytes"
	case f.QuotaValue < 0 || (f.QuotaValue == 0) != (f.QuotaCurrency == 0) ||
		(f.QuotaCurrency != 0 && !f.QuotaCurrency.Valid()):
		return "the quota value must be positive, in a known currency, or both must be zero"
	}
	return ""
}

// plainDecimal reports whether s is digits, optionally followed by a
// point and more digits ("0", "0.0045"), as fx writes a rounding.
func plainDecimal(s string) bool {
	intPart, frac, point := strings.Cut(s, ".")
	return allDigits(intPart) && (!point || allDigits(frac))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
