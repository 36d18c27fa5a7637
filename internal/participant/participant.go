// Package participant owns the switch's participants — the wallets,
// banks and FX providers connected to it — with their credentials,
// their status and their ledger accounts.
//
// Every participant has one settlement account per currency it uses. Its
// id is derived, not stored: participant number, currency and account
// kind packed into a ledger.AccountID, so that any ledger event says
// which participant it concerns without a lookup table. Number 0 is the
// hub itself, which holds the fee revenue account and the settlement
// bank's external account of each currency.
package participant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
)

// Kind is what a participant is.
type Kind string

// The kinds of participants.
const (
	Wallet Kind = "wallet"
	Bank   Kind = "bank"
	FXP    Kind = "fxp" // foreign-exchange provider
)

// Acceptance is how a participant takes incoming transfers.
type Acceptance string

// The acceptance modes.
const (
	// Notify: the transfer commits at once and the participant is told.
	Notify Acceptance = "notify"
	// Confirm: the switch reserves, asks the participant, and commits
	// only on its accept.
	Confirm Acceptance = "confirm"
)

// Status says whether a participant may transact.
type Status string

// The statuses.
const (
	Active    Status = "active"
	Suspended Status = "suspended"
)

// Participant is a participant as the switch knows it. Credentials are
// not part of it: the API key is only stored as a hash, and the callback
// secret is read with CallbackSecret.
type Participant struct {
	ID          string
	Number      uint32
	Name        string
	Kind        Kind
	Currencies  []money.Currency
	CallbackURL string
	Acceptance  Acceptance
	Status      Status
	CreatedAt   time.Time
	UpdatedAt   time.Time

	keyHash        [sha256.Size]byte
	callbackSecret string
}

// Uses reports whether the participant is enabled for currency c.
func (p *Participant) Uses(c money.Currency) bool { return slices.Contains(p.Currencies, c) }

// Account returns the participant's settlement account in currency c.
func (p *Participant) Account(c money.Currency) ledger.AccountID {
	return AccountID(p.Number, c, Settlement)
}

// CallbackSecret returns the key that signs callbacks to the participant.
func (p *Participant) CallbackSecret() string { return p.callbackSecret }

// AccountKind is the last byte of an account id.
type AccountKind uint8

// The kinds of accounts.
const (
	Settlement AccountKind = 1 // a participant's balance at the hub
	Fees       AccountKind = 2 // the hub's fee revenue
	External   AccountKind = 3 // the settlement bank's side of deposits and withdrawals
)

// Hub is the participant number of the hub itself.
const Hub = 0

// AccountID packs a participant number, a currency and a kind:
// number<<24 | ISO 4217 numeric code<<8 | kind.
func AccountID(number uint32, c money.Currency, kind AccountKind) ledger.AccountID {
	return ledger.AccountID(uint64(number)<<24 | uint64(c)<<8 | uint64(kind))
}

// SplitAccountID is the inverse of AccountID.
func SplitAccountID(id ledger.AccountID) (number uint32, c money.Currency, kind AccountKind) {
	return uint32(id >> 24), money.Currency(id >> 8), AccountKind(id)
}

// FeeAccount returns the hub's fee revenue account in c.
func FeeAccount(c money.Currency) ledger.AccountID { return AccountID(Hub, c, Fees) }

// ExternalAccount returns the settlement bank's external account in c.
func ExternalAccount(c money.Currency) ledger.AccountID { return AccountID(Hub, c, External) }

// Errors of the registry. The API maps each to a problem type.
var (
	// ErrExists means a participant with that id exists: choose another id.
	ErrExists = fault.New(fault.Conflict, "", "participant exists")
	// ErrNotFound means there is no such participant.
	ErrNotFound = fault.New(fault.NotFound, "", "participant not found")
	// ErrInvalid means the request is malformed; the message says which field.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid participant")
	// ErrUnauthorized means the credentials are missing or wrong.
	ErrUnauthorized = fault.New(fault.Unauthorized, "", "unauthorized")
)

// Ledger is what the registry needs of the ledger: to open accounts.
type Ledger interface {
	Submit(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, error)
}

// Registry holds every participant in memory (there are at most a few
// thousand) and persists them in the app database. Reads are lock-cheap
// and never touch the database; authentication is a map lookup and a
// hash comparison.
type Registry struct {
	db     *sqldb.DB
	ledger Ledger
	now    func() time.Time

	createMu sync.Mutex // serialises creation, which allocates numbers
	mu       sync.RWMutex
	byID     map[string]*Participant
	byNumber map[uint32]*Participant
}

// Load reads all participants from db.
func Load(ctx context.Context, db *sqldb.DB, l Ledger, now func() time.Time) (*Registry, error) {
	r := &Registry{db: db, ledger: l, now: now, byID: map[string]*Participant{}, byNumber: map[uint32]*Participant{}}
	rows, err := db.QueryContext(ctx, `SELECT id, number, name, kind, currencies, callback_url, acceptance, status,
		api_key_hash, callback_secret, created_at, updated_at FROM participants`)
	if err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p := &Participant{}
		var curs string
		var hash []byte
		var created, updated int64
		if err := rows.Scan(&p.ID, &p.Number, &p.Name, &p.Kind, &curs, &p.CallbackURL, &p.Acceptance, &p.Status,
			&hash, &p.callbackSecret, &created, &updated); err != nil {
			return nil, fmt.Errorf("load participants: %w", err)
		}
		for _, code := range strings.Split(curs, ",") {
			c, err := money.ParseCurrency(code)
			if err != nil {
				return nil, fmt.Errorf("load participant %s: %w", p.ID, err)
			}
			p.Currencies = append(p.Currencies, c)
		}
		copy(p.keyHash[:], hash)
		p.CreatedAt, p.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		r.byID[p.ID] = p
		r.byNumber[p.Number] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	return r, nil
}

// New is what the operator gives to create a participant.
type New struct {
	ID          string
	Name        string
	Kind        Kind
	Currencies  []money.Currency
	CallbackURL string
	Acceptance  Acceptance
}

// Credentials are returned once, at creation; the switch keeps only a
// hash of the API key.
type Credentials struct {
	APIKey         string
	CallbackSecret string
}

// IDMax bounds a participant id's length.
const IDMax = 32

// ValidID reports whether id is a participant id: 2 to IDMax characters
// of lower-case letters, digits and '-', starting with a letter or digit.
func ValidID(id string) bool {
	if len(id) < 2 || len(id) > IDMax || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (n *New) validate() error {
	switch {
	case !ValidID(n.ID):
		return fmt.Errorf("%w: id must be 2-%d characters of a-z, 0-9 and '-'", ErrInvalid, IDMax)
	case n.ID == "hub":
		return fmt.Errorf("%w: id %q is reserved", ErrInvalid, n.ID)
	case strings.TrimSpace(n.Name) == "" || len(n.Name) > 200:
		return fmt.Errorf("%w: name must be 1-200 characters", ErrInvalid)
	case n.Kind != Wallet && n.Kind != Bank && n.Kind != FXP:
		return fmt.Errorf("%w: kind must be wallet, bank or fxp", ErrInvalid)
	case len(n.Currencies) == 0 || len(n.Currencies) > 16:
		return fmt.Errorf("%w: currencies must list 1 to 16 ISO 4217 codes", ErrInvalid)
	}
	for i, c := range n.Currencies {
		if !c.Valid() || slices.Contains(n.Currencies[:i], c) {
			return fmt.Errorf("%w: currencies must be distinct ISO 4217 codes", ErrInvalid)
		}
	}
	if n.Acceptance == "" {
		n.Acceptance = Notify
	}
	if n.Acceptance != Notify && n.Acceptance != Confirm {
		return fmt.Errorf("%w: acceptance must be notify or confirm", ErrInvalid)
	}
	if err := ValidCallbackURL(n.CallbackURL); err != nil {
		return err
	}
	if n.Acceptance == Confirm && n.CallbackURL == "" {
		return fmt.Errorf("%w: acceptance confirm needs a callbackUrl", ErrInvalid)
	}
	return nil
}

// ValidCallbackURL checks a callback URL: empty, or absolute http(s).
func ValidCallbackURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2048 || u.User != nil {
		return fmt.Errorf("%w: callbackUrl must be an absolute http or https URL without credentials", ErrInvalid)
	}
	return nil
}

// Create validates n, opens the participant's ledger accounts (and the
// hub's, for a currency new to the switch), stores the participant and
// returns its credentials. The ledger accounts come first: creating them
// is idempotent, so a crash in between leaves nothing a retry cannot fix.
func (r *Registry) Create(ctx context.Context, n New) (Participant, Credentials, error) {
	if err := n.validate(); err != nil {
		return Participant{}, Credentials{}, err
	}
	r.createMu.Lock()
	defer r.createMu.Unlock()
	r.mu.RLock()
	_, exists := r.byID[n.ID]
	number := uint32(len(r.byNumber) + 1)
	for r.byNumber[number] != nil {
		number++
	}
	r.mu.RUnlock()
	if exists {
		return Participant{}, Credentials{}, fmt.Errorf("create %s: %w", n.ID, ErrExists)
	}
	var cmds []ledger.Command
	for _, c := range n.Currencies {
		cmds = append(cmds, OpenHubAccounts(c)...)
		cmds = append(cmds, ledger.Command{Kind: ledger.KindCreateAccount, Account: AccountID(number, c, Settlement), Currency: c, Meta: n.ID})
	}
	res, err := r.ledger.Submit(ctx, cmds)
	if err != nil {
		return Participant{}, Credentials{}, fmt.Errorf("create %s: open accounts: %w", n.ID, err)
	}
	for i, x := range res {
		if err := x.Status.Err(); err != nil {
			return Participant{}, Credentials{}, fmt.Errorf("create %s: open account %d: %w", n.ID, cmds[i].Account, err)
		}
	}
	secret, err := randomToken()
	if err != nil {
		return Participant{}, Credentials{}, err
	}
	cbSecret, err := randomToken()
	if err != nil {
		return Participant{}, Credentials{}, err
	}
	now := r.now().UTC()
	p := &Participant{
		ID: n.ID, Number: number, Name: n.Name, Kind: n.Kind, Currencies: slices.Clone(n.Currencies),
		CallbackURL: n.CallbackURL, Acceptance: n.Acceptance, Status: Active, CreatedAt: now, UpdatedAt: now,
		keyHash: sha256.Sum256([]byte(secret)), callbackSecret: cbSecret,
	}
	codes := make([]string, len(p.Currencies))
	for i, c := range p.Currencies {
		codes[i] = c.String()
	}
	_, err = r.db.ExecContext(ctx, `INSERT INTO participants (id, number, name, kind, currencies, callback_url,
		acceptance, status, api_key_hash, callback_secret, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.ID, p.Number, p.Name, string(p.Kind), strings.Join(codes, ","), p.CallbackURL, string(p.Acceptance),
		string(p.Status), p.keyHash[:], p.callbackSecret, now.UnixNano(), now.UnixNano())
	if sqldb.IsUniqueViolation(err) {
		return Participant{}, Credentials{}, fmt.Errorf("create %s: %w", n.ID, ErrExists)
	}
	if err != nil {
		return Participant{}, Credentials{}, fmt.Errorf("create %s: %w", n.ID, err)
	}
	r.mu.Lock()
	r.byID[p.ID] = p
	r.byNumber[p.Number] = p
	r.mu.Unlock()
	return *p, Credentials{APIKey: p.ID + "." + secret, CallbackSecret: cbSecret}, nil
}

// OpenHubAccounts returns the commands that open the hub's accounts in
// c: fee revenue (prefunded: it only receives) and the settlement bank's
// external account (unbounded: it mirrors money outside the switch).
func OpenHubAccounts(c money.Currency) []ledger.Command {
	return []ledger.Command{
		{Kind: ledger.KindCreateAccount, Account: FeeAccount(c), Currency: c, Meta: "hub"},
		{Kind: ledger.KindCreateAccount, Account: ExternalAccount(c), Currency: c, AccountFlags: ledger.AccountUnbounded, Meta: "settlement-bank"},
	}
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Get returns a participant by id.
func (r *Registry) Get(id string) (Participant, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.byID[id]
	if !ok {
		return Participant{}, false
	}
	return *p, true
}

// ByNumber returns a participant by number.
func (r *Registry) ByNumber(n uint32) (Participant, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.byNumber[n]
	if !ok {
		return Participant{}, false
	}
	return *p, true
}

// List returns all participants ordered by id.
func (r *Registry) List() []Participant {
	r.mu.RLock()
	out := make([]Participant, 0, len(r.byID))
	for _, p := range r.byID {
		out = append(out, *p)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Participant) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Authenticate returns the participant whose API key is key. Keys are
// "<participant id>.<secret>"; only the secret's SHA-256 is stored,
// which suffices for 256-bit random secrets.
func (r *Registry) Authenticate(key string) (Participant, error) {
	id, secret, ok := strings.Cut(key, ".")
	if !ok || secret == "" {
		return Participant{}, ErrUnauthorized
	}
	r.mu.RLock()
	p, found := r.byID[id]
	r.mu.RUnlock()
	if !found {
		return Participant{}, ErrUnauthorized
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], p.keyHash[:]) != 1 {
		return Participant{}, ErrUnauthorized
	}
	return *p, nil
}

// markStatus submits a ledger mark recording p's new status: purpose
// purpose.Status, in p's first currency, with Meta "<id>/<status>" and an
// id derived from the participant, the status and the time of the
// change.
func (r *Registry) markStatus(ctx context.Context, p *Participant) error {
	b := []byte("hulian/participant-status/v1")
	for _, s := range []string{p.ID, string(p.Status)} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(p.UpdatedAt.UnixNano()))
	sum := sha256.Sum256(b)
	var id ledger.ID
	copy(id[:], sum[:])
	cmd := ledger.Command{Kind: ledger.KindMark, ID: id, Currency: p.Currencies[0], Purpose: purpose.Status, Meta: p.ID + "/" + string(p.Status)}
	res, err := r.ledger.Submit(ctx, []ledger.Command{cmd})
	if err != nil {
		return fmt.Errorf("record status: %w", err)
	}
	if err := res[0].Status.Err(); err != nil {
		return fmt.Errorf("record status: %w", err)
	}
	return nil
}

// Update is a change to a participant; nil fields stay as they are.
type Update struct {
	Status      *Status
	CallbackURL *string
	Acceptance  *Acceptance
}

// Apply changes a participant and returns it as it is now.
func (r *Registry) Apply(ctx context.Context, id string, u Update) (Participant, error) {
	r.createMu.Lock()
	defer r.createMu.Unlock()
	r.mu.RLock()
	cur, ok := r.byID[id]
	r.mu.RUnlock()
	if !ok {
		return Participant{}, fmt.Errorf("update %s: %w", id, ErrNotFound)
	}
	next := *cur
	if u.Status != nil {
		if *u.Status != Active && *u.Status != Suspended {
			return Participant{}, fmt.Errorf("%w: status must be active or suspended", ErrInvalid)
		}
		next.Status = *u.Status
	}
	if u.CallbackURL != nil {
		if err := ValidCallbackURL(*u.CallbackURL); err != nil {
			return Participant{}, err
		}
		next.CallbackURL = *u.CallbackURL
	}
	if u.Acceptance != nil {
		if *u.Acceptance != Notify && *u.Acceptance != Confirm {
			return Participant{}, fmt.Errorf("%w: acceptance must be notify or confirm", ErrInvalid)
		}
		next.Acceptance = *u.Acceptance
	}
	if next.Acceptance == Confirm && next.CallbackURL == "" {
		return Participant{}, fmt.Errorf("%w: acceptance confirm needs a callbackUrl", ErrInvalid)
	}
	// Strictly later than the last change, even on a clock that is
	// coarse or steps back: the status mark's ledger id is derived from
	// it, and two changes must not share one.
	next.UpdatedAt = r.now().UTC()
	if !next.UpdatedAt.After(cur.UpdatedAt) {
		next.UpdatedAt = cur.UpdatedAt.Add(time.Nanosecond)
	}
	if next.Status != cur.Status {
		// The change goes on the ledger first, so that the audit log
		// records every suspension that took effect: a failure after it
		// leaves a recorded attempt, never an unrecorded change.
		if err := r.markStatus(ctx, &next); err != nil {
			return Participant{}, fmt.Errorf("update %s: %w", id, err)
		}
	}
	err := r.db.Transact(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE participants SET status = $1, callback_url = $2, acceptance = $3, updated_at = $4 WHERE id = $5`,
			string(next.Status), next.CallbackURL, string(next.Acceptance), next.UpdatedAt.UnixNano(), id)
		return err
	})
	if err != nil {
		return Participant{}, fmt.Errorf("update %s: %w", id, err)
	}
	r.mu.Lock()
	r.byID[id] = &next
	r.byNumber[next.Number] = &next
	r.mu.Unlock()
	return next, nil
}
