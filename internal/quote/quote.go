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
	"sync"
	"time"

	"github.com/hulian/hulian/internal/fault"
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
// ExpiresAt.
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
}

// Errors of quote verification.
var (
	// ErrUnknown means the quote id is not one this switch issued.
	ErrUnknown = fault.New(fault.Refused, "quote-mismatch", "unknown quote")
	// ErrExpired means the quote's time is up: ask for a new one.
	ErrExpired = fault.New(fault.Refused, "quote-expired", "quote expired")
)

// quoteVersion is the first byte of a quote token's payload.
const quoteVersion = 1

// Signer issues and verifies quotes with an HMAC key kept in the data
// directory.
type Signer struct {
	key []byte
}

// NewSigner returns a signer with key (at least 32 bytes).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("quote key: %d bytes, need 32", len(key))
	}
	return &Signer{key: bytes.Clone(key)}, nil
}

// Issue returns q with its ID set: base64url of a versioned,
// length-prefixed payload followed by the first 16 bytes of its
// HMAC-SHA256.
func (s *Signer) Issue(q Quote) Quote {
	var b []byte
	b = append(b, quoteVersion)
	for _, f := range []string{q.Payer, q.PayeeType, q.PayeeValue, q.PayeeParticipant} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(q.Amount))
	b = binary.BigEndian.AppendUint64(b, uint64(q.Fee))
	b = binary.BigEndian.AppendUint16(b, uint16(q.Currency))
	b = binary.BigEndian.AppendUint64(b, uint64(q.ExpiresAt.UnixNano()))
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	b = m.Sum(b)[:len(b)+16]
	q.ID = base64.RawURLEncoding.EncodeToString(b)
	return q
}

// Verify decodes and authenticates a quote id. It returns ErrUnknown for
// anything this switch did not sign, and ErrExpired (with the quote) once
// now is past its expiry.
func (s *Signer) Verify(id string, now time.Time) (Quote, error) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) < 1+16 || len(id) > 2048 {
		return Quote{}, ErrUnknown
	}
	payload, sum := b[:len(b)-16], b[len(b)-16:]
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	if !hmac.Equal(m.Sum(nil)[:16], sum) {
		return Quote{}, ErrUnknown
	}
	if payload[0] != quoteVersion {
		return Quote{}, ErrUnknown
	}
	q := Quote{ID: id}
	rest := payload[1:]
	for _, f := range []*string{&q.Payer, &q.PayeeType, &q.PayeeValue, &q.PayeeParticipant} {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return Quote{}, ErrUnknown
		}
		*f = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	if len(rest) != 8+8+2+8 {
		return Quote{}, ErrUnknown
	}
	q.Amount = money.Amount(binary.BigEndian.Uint64(rest))
	q.Fee = money.Amount(binary.BigEndian.Uint64(rest[8:]))
	q.Currency = money.Currency(binary.BigEndian.Uint16(rest[16:]))
	q.ExpiresAt = time.Unix(0, int64(binary.BigEndian.Uint64(rest[18:]))).UTC()
	if !now.Before(q.ExpiresAt) {
		return q, ErrExpired
	}
	return q, nil
}
