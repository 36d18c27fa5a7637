// Package qr owns the scheme's merchant QR codes: what a merchant's
// codes print (its MCC, city and country; the merchant itself is a
// MERCHANT alias in the directory), the codes a merchant's participant
// makes — static ones any payer fills in, dynamic ones for one payment
// of a set amount before an expiry — and paying them. A payment by QR
// code is an ordinary payment to the merchant alias through the
// transfer flow, which never learns of codes: this package checks the
// code, claims a dynamic one for the payment, and releases the claim if
// the payment does not commit, so that a dynamic code pays once.
//
// A code's payload is EMVCo merchant-presented mode (package emv): the
// merchant account template 26 holds the scheme's GUID and the merchant
// id; 62/01 the bill number (the merchant's reference), and 62/05, in
// dynamic codes, the code's own id, by which a payment finds it.
package qr

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/keylock"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/qr/emv"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// PayeeType is the payee type by which a payer pays a code: its value is
// the payload.
const PayeeType = "QR"

// DefaultGUID is the scheme's globally unique id in its codes.
const DefaultGUID = "cn.hulian"

// Limits.
const (
	// DynamicTTL is a dynamic code's life when its maker gives none;
	// DynamicTTLMax the longest it may ask for.
	DynamicTTL    = 30 * time.Minute
	DynamicTTLMax = 90 * 24 * time.Hour
	// ReferenceMax bounds a code's reference (its bill number, 62/01).
	ReferenceMax = 25
	// ImagePx is the side of a code's PNG.
	ImagePx = 384
)

// Errors.
var (
	// ErrInvalid means a malformed request.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid QR request")
	// ErrNotFound means no such code or merchant, or none the caller may
	// see.
	ErrNotFound = fault.New(fault.NotFound, "", "QR code not found")
	// ErrAmount means a payment of a dynamic code for another amount.
	ErrAmount = fault.New(fault.Refused, "amount-mismatch", "the amount is not the QR code's")
	// ErrExpired means a payment of a dynamic code past its expiry.
	ErrExpired = fault.New(fault.Refused, "qr-expired", "the QR code has expired")
	// ErrPaid means a second payment of a dynamic code.
	ErrPaid = fault.New(fault.Conflict, "qr-already-paid", "the QR code was paid already")
	// ErrUnknown means a code of this scheme whose merchant or dynamic
	// code the switch does not know.
	ErrUnknown = fault.New(fault.Invalid, "invalid-qr", "the QR code names no merchant or code of this scheme")
)

// Merchant is what a merchant's codes print.
type Merchant struct {
	ID, Participant string
	// Name is the name on the code: at most 25 characters of printable
	// ASCII, as EMV allows.
	Name    string
	MCC     string
	City    string
	Country string
}

// Code is a QR code made by a merchant's participant.
type Code struct {
	ID, Merchant, Participant string
	Dynamic                   bool
	Amount                    money.Amount // 0: a static code without one
	Currency                  money.Currency
	Reference                 string
	ExpiresAt                 time.Time // zero: never
	Payload                   string
	PaidTransfer              string
	CreatedAt                 time.Time
}

// New is a participant's request for a code.
type New struct {
	Merchant  string
	Amount    money.Amount // 0: a static code
	Currency  money.Currency
	Reference string
	ExpiresAt time.Time // dynamic codes; zero: DynamicTTL
}

// Decoded is what a payer's participant learns of a payload.
type Decoded struct {
	Code     emv.Code
	Merchant Merchant
	// Party is the merchant alias as the directory has it.
	Party directory.Party
	// Stored is the switch's record of a dynamic code; nil for a static
	// one.
	Stored *Code
}

// Payments is what paying a code needs of the payment flow.
type Payments interface {
	Create(ctx context.Context, payer participant.Participant, req transfer.Request) (transfer.Transfer, bool, error)
	Get(ctx context.Context, v transfer.Viewer, id string) (transfer.Transfer, error)
}

// Directory finds merchant aliases.
type Directory interface {
	Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error)
}

// Service keeps merchants and their codes.
type Service struct {
	DB        *sqldb.DB
	Directory Directory
	Payments  Payments
	// GUID is the scheme's id in its codes (DefaultGUID when empty).
	GUID string
	Now  func() time.Time

	images imageCache
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) guid() string {
	if s.GUID != "" {
		return s.GUID
	}
	return DefaultGUID
}

// CheckMerchant validates what a MERCHANT alias registration adds:
// name, MCC, city, country, as its codes will print them.
func CheckMerchant(m Merchant) error {
	_, err := emv.Encode(emv.Code{GUID: DefaultGUID, MerchantID: "m", MCC: m.MCC, Currency: money.MustCurrency("CNY"),
		Country: m.Country, Name: m.Name, City: m.City})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// SaveMerchant records what merchant m's codes print, after its alias
// was registered.
func (s *Service) SaveMerchant(ctx context.Context, m Merchant) error {
	if err := CheckMerchant(m); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO merchants (id, participant, name, mcc, city, country, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET participant = excluded.participant, name = excluded.name, mcc = excluded.mcc,
		city = excluded.city, country = excluded.country, updated_at = excluded.updated_at`,
		m.ID, m.Participant, m.Name, m.MCC, m.City, m.Country, s.now().UnixNano())
	if err != nil {
		return fmt.Errorf("merchant %s: %w", m.ID, err)
	}
	return nil
}

// merchant returns merchant id's alias, checked to be owned as the
// directory says, and what its codes print.
func (s *Service) merchant(ctx context.Context, id string) (directory.Party, Merchant, error) {
	party, err := s.Directory.Lookup(ctx, directory.MERCHANT, id)
	if errors.Is(err, directory.ErrNotFound) {
		return party, Merchant{}, fmt.Errorf("merchant %.40q: %w", id, ErrNotFound)
	} else if err != nil {
		return party, Merchant{}, err
	}
	m := Merchant{ID: id}
	err = s.DB.QueryRowContext(ctx, `SELECT participant, name, mcc, city, country FROM merchants WHERE id = $1`, id).
		Scan(&m.Participant, &m.Name, &m.MCC, &m.City, &m.Country)
	if errors.Is(err, sql.ErrNoRows) || err == nil && m.Participant != party.Participant {
		return party, Merchant{}, fmt.Errorf("merchant %s has no QR details of its participant's: register it again with mcc, city and country: %w",
			id, ErrNotFound)
	} else if err != nil {
		return party, Merchant{}, fmt.Errorf("merchant %s: %w", id, err)
	}
	return party, m, nil
}

// Create makes a code of owner's merchant: static without an amount,
// dynamic with one.
func (s *Service) Create(ctx context.Context, owner participant.Participant, n New) (Code, error) {
	now := s.now().UTC()
	switch {
	case n.Amount < 0:
		return Code{}, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case n.Amount == 0 && !n.ExpiresAt.IsZero():
		return Code{}, fmt.Errorf("%w: only a dynamic code (with an amount) expires", ErrInvalid)
	case n.Amount > 0 && !n.ExpiresAt.IsZero() && (!n.ExpiresAt.After(now) || n.ExpiresAt.Sub(now) > DynamicTTLMax):
		return Code{}, fmt.Errorf("%w: expiresAt must be in the next %d days", ErrInvalid, int(DynamicTTLMax/(24*time.Hour)))
	case len(n.Reference) > ReferenceMax:
		return Code{}, fmt.Errorf("%w: reference must be at most %d characters", ErrInvalid, ReferenceMax)
	}
	party, m, err := s.merchant(ctx, n.Merchant)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && party.Participant != owner.ID:
		return Code{}, fmt.Errorf("merchant %.40q of %s: %w", n.Merchant, owner.ID, ErrNotFound)
	case err != nil:
		return Code{}, err
	case party.Currency != n.Currency:
		return Code{}, fmt.Errorf("merchant %s takes %s, not %s: %w", m.ID, party.Currency, n.Currency, transfer.ErrCurrency)
	}
	c := Code{ID: newID(), Merchant: m.ID, Participant: owner.ID, Dynamic: n.Amount > 0, Amount: n.Amount, Currency: n.Currency,
		Reference: n.Reference, CreatedAt: now}
	ec := emv.Code{Dynamic: c.Dynamic, GUID: s.guid(), MerchantID: m.ID, MCC: m.MCC, Currency: n.Currency, Amount: n.Amount,
		Country: m.Country, Name: m.Name, City: m.City, BillNumber: n.Reference}
	if c.Dynamic {
		c.ExpiresAt = n.ExpiresAt.UTC()
		if c.ExpiresAt.IsZero() {
			c.ExpiresAt = now.Add(DynamicTTL)
		}
		ec.Reference = c.ID
	}
	if c.Payload, err = emv.Encode(ec); err != nil {
		return Code{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var exp int64
	if !c.ExpiresAt.IsZero() {
		exp = c.ExpiresAt.UnixNano()
	}
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO qr_codes (id, merchant, participant, dynamic, amount, currency, reference,
		expires_at, payload, paid_transfer, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10)`,
		c.ID, c.Merchant, c.Participant, boolInt(c.Dynamic), int64(c.Amount), c.Currency.String(), c.Reference, exp, c.Payload,
		now.UnixNano()); err != nil {
		return Code{}, fmt.Errorf("QR code of %s: %w", m.ID, err)
	}
	return c, nil
}

// Get returns code id if viewer (a participant id, or "" for the
// operator and the regulator) made it.
func (s *Service) Get(ctx context.Context, viewer, id string) (Code, error) {
	c, err := s.load(ctx, id)
	if err == nil && viewer != "" && viewer != c.Participant {
		err = fmt.Errorf("QR code %s: %w", id, ErrNotFound)
	}
	return c, err
}

// Image returns code id's PNG, as Get may see it. Drawing one costs
// milliseconds of CPU: codes never change, so the last ImagesCached are
// kept, and at most two are drawn at once, whoever asks.
func (s *Service) Image(ctx context.Context, viewer, id string) ([]byte, error) {
	c, err := s.Get(ctx, viewer, id)
	if err != nil {
		return nil, err
	}
	if img, ok := s.images.get(c.ID); ok {
		return img, nil
	}
	select {
	case drawing <- struct{}{}:
		defer func() { <-drawing }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	img, err := emv.PNG(c.Payload, ImagePx)
	if err == nil {
		s.images.put(c.ID, img)
	}
	return img, err
}

// ImagesCached bounds the PNGs kept: a few kilobytes each.
const ImagesCached = 512

// drawing bounds the PNGs drawn at once.
var drawing = make(chan struct{}, 2)

// imageCache keeps the last images drawn, oldest out first.
type imageCache struct {
	mu    sync.Mutex
	byID  map[string][]byte
	order []string
}

func (c *imageCache) get(id string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img, ok := c.byID[id]
	return img, ok
}

func (c *imageCache) put(id string, img []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = map[string][]byte{}
	}
	if _, ok := c.byID[id]; ok {
		return
	}
	if len(c.order) >= ImagesCached {
		delete(c.byID, c.order[0])
		c.order = c.order[1:]
	}
	c.byID[id] = img
	c.order = append(c.order, id)
}

// Decode reads a payload of the scheme: the code, its merchant and, for
// a dynamic code, the switch's record of it.
func (s *Service) Decode(ctx context.Context, payload string) (Decoded, error) {
	ec, err := emv.Decode(payload, s.guid())
	if err != nil {
		return Decoded{}, err
	}
	party, m, err := s.merchant(ctx, ec.MerchantID)
	if errors.Is(err, ErrNotFound) {
		return Decoded{}, fmt.Errorf("%w: merchant %.40q", ErrUnknown, ec.MerchantID)
	} else if err != nil {
		return Decoded{}, err
	}
	d := Decoded{Code: ec, Merchant: m, Party: party}
	if ec.Dynamic {
		c, err := s.load(ctx, ec.Reference)
		if errors.Is(err, ErrNotFound) || err == nil && (c.Merchant != m.ID || c.Payload != payload) {
			return Decoded{}, fmt.Errorf("%w: a dynamic code the switch did not make", ErrUnknown)
		} else if err != nil {
			return Decoded{}, err
		}
		d.Stored = &c
	}
	return d, nil
}

// Pay pays the code in req.PayeeValue from payer: a payment to its
// merchant's alias of the code's amount (a dynamic code's, which
// req.Amount must equal) or req.Amount (a static code's). A dynamic code
// is claimed for req.ID before the payment and released if it does not
// commit: it pays once.
func (s *Service) Pay(ctx context.Context, payer participant.Participant, req transfer.Request) (transfer.Transfer, bool, error) {
	d, err := s.Decode(ctx, req.PayeeValue)
	if err != nil {
		return transfer.Transfer{}, false, err
	}
	ec := d.Code
	switch {
	case req.Currency != ec.Currency:
		return transfer.Transfer{}, false, fmt.Errorf("the code is in %s, not %s: %w", ec.Currency, req.Currency, ErrAmount)
	case ec.Amount != 0 && req.Amount != ec.Amount:
		return transfer.Transfer{}, false, fmt.Errorf("the code is for %s: %w", ec.Amount.Format(ec.Currency), ErrAmount)
	}
	pay := req
	pay.PayeeType, pay.PayeeValue = string(directory.MERCHANT), d.Merchant.ID
	if pay.Note == "" {
		pay.Note = ec.BillNumber
	}
	if d.Stored == nil {
		return s.Payments.Create(ctx, payer, pay)
	}
	c := d.Stored
	// One payment of a code at a time: a claim whose payment is not on
	// the ledger is then one a crash cut short, never one in flight.
	defer codeLocks.Lock(c.ID)()
	if err := s.claim(ctx, c, req.ID); err != nil {
		return transfer.Transfer{}, false, err
	}
	t, created, err := s.Payments.Create(ctx, payer, pay)
	if err != nil || t.State == transfer.Aborted {
		// Not paid by this payment: the code is free again.
		if rerr := s.release(ctx, c.ID, req.ID); rerr != nil {
			return transfer.Transfer{}, false, rerr
		}
	}
	return t, created, err
}

// codeLocks order the payments of each dynamic code.
var codeLocks keylock.Locks

// claim claims dynamic code c for payment id, under c's lock: refused
// past its expiry, or when another payment claimed it and did not fail.
// A claim whose payment never came to be (a crash) or was aborted is
// taken over.
func (s *Service) claim(ctx context.Context, c *Code, id string) error {
	for range 3 {
		res, err := s.DB.ExecContext(ctx, `UPDATE qr_codes SET paid_transfer = $1 WHERE id = $2 AND paid_transfer = ''`, id, c.ID)
		if err != nil {
			return fmt.Errorf("QR code %s: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if !s.now().Before(c.ExpiresAt) {
				if err := s.release(ctx, c.ID, id); err != nil {
					return err
				}
				return fmt.Errorf("QR code %s: %w", c.ID, ErrExpired)
			}
			return nil
		}
		cur, err := s.load(ctx, c.ID)
		if err != nil {
			return err
		}
		switch {
		case cur.PaidTransfer == id:
			return nil // a retry of the same payment
		case cur.PaidTransfer == "":
			continue
		}
		t, err := s.Payments.Get(ctx, transfer.Viewer{}, cur.PaidTransfer)
		if err == nil && t.State != transfer.Aborted || err != nil && !errors.Is(err, transfer.ErrNotFound) {
			return fmt.Errorf("QR code %s: %w", c.ID, ErrPaid)
		}
		if err := s.release(ctx, c.ID, cur.PaidTransfer); err != nil {
			return err
		}
	}
	return fmt.Errorf("QR code %s: %w", c.ID, ErrPaid)
}

// release frees code id from payment's claim.
func (s *Service) release(ctx context.Context, id, payment string) error {
	if _, err := s.DB.ExecContext(ctx, `UPDATE qr_codes SET paid_transfer = '' WHERE id = $1 AND paid_transfer = $2`, id, payment); err != nil {
		return fmt.Errorf("QR code %s: %w", id, err)
	}
	return nil
}

func (s *Service) load(ctx context.Context, id string) (Code, error) {
	var c Code
	var dyn int
	var amount, exp, created int64
	var cur string
	err := s.DB.QueryRowContext(ctx, `SELECT id, merchant, participant, dynamic, amount, currency, reference, expires_at, payload,
		paid_transfer, created_at FROM qr_codes WHERE id = $1`, id).Scan(&c.ID, &c.Merchant, &c.Participant, &dyn, &amount, &cur,
		&c.Reference, &exp, &c.Payload, &c.PaidTransfer, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Code{}, fmt.Errorf("QR code %.40q: %w", id, ErrNotFound)
	} else if err != nil {
		return Code{}, fmt.Errorf("QR code %s: %w", id, err)
	}
	if c.Currency, err = money.ParseCurrency(cur); err != nil {
		return Code{}, fmt.Errorf("QR code %s: %w", id, err)
	}
	c.Dynamic, c.Amount, c.CreatedAt = dyn == 1, money.Amount(amount), time.Unix(0, created).UTC()
	if exp != 0 {
		c.ExpiresAt = time.Unix(0, exp).UTC()
	}
	return c, nil
}

// newID returns a new code id: "Q" and 20 characters of base32, which
// fits EMV's 25-character reference label.
func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return "Q" + strings.ToUpper(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))[:20]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// KeepExpired is how long an expired dynamic code that was never paid is
// kept: long enough to answer a late payer "expired", not for ever.
const KeepExpired = 30 * 24 * time.Hour

// Prune deletes the dynamic codes expired unpaid for longer than
// KeepExpired at now; it returns how many.
func (s *Service) Prune(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM qr_codes WHERE dynamic = 1 AND paid_transfer = '' AND expires_at > 0 AND expires_at < $1`,
		now.Add(-KeepExpired).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("QR codes: prune: %w", err)
	}
	return res.RowsAffected()
}
