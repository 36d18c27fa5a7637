// Package participant owns the switch's participants — the wallets,
// banks and FX providers connected to it, and the links to other
// payment schemes — with their credentials, their status and their
// ledger accounts.
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
	"encoding/hex"
	"errors"
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
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/sqldb"
)

// Kind is what a participant is.
type Kind string

// The kinds of participants.
const (
	Wallet Kind = "wallet"
	Bank   Kind = "bank"
	FXP    Kind = "fxp" // foreign-exchange provider
	// Scheme is another payment scheme reached through a gateway that
	// speaks FSPIOP (another Hulian switch, or a Mojaloop hub): aliases
	// the operator routes to it are paid through it, and the switch
	// sees it as one participant with positions like any other.
	Scheme Kind = "scheme"
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
	// Closed is for good: the participant's keys stop working and its
	// aliases are removed; it cannot be resumed.
	Closed Status = "closed"
)

// Participant is a participant as the switch knows it. Credentials are
// not part of it: the API keys are only stored as hashes, and the
// callback secrets are read with CallbackSecrets.
type Participant struct {
	ID          string
	Number      uint32
	Name        string
	Kind        Kind
	Currencies  []money.Currency
	CallbackURL string
	Acceptance  Acceptance
	Status      Status
	// ClientCertSHA256 binds the participant to a TLS client
	// certificate (lower-case hex SHA-256 of its DER form): when set, a
	// request with its key must also present that certificate. "" when
	// not bound.
	ClientCertSHA256 string
	// FSPIOP is set for a participant that speaks Mojaloop's FSPIOP API:
	// the switch reaches it there, and its id is its FSP id.
	FSPIOP *FSPIOP
	// MessageFormat is how its callbacks are written: FormatJSON, or
	// FormatISO20022 (pacs.008 notices and confirm requests, answered by
	// pacs.002).
	MessageFormat string
	// FXLiveQuotes, for an FX provider with a callback URL, says that it
	// answers live FX quote requests (the fx.quote callback): its offers
	// compete with the published rate sheets for each FX quote.
	FXLiveQuotes bool
	CreatedAt    time.Time
	UpdatedAt    time.Time

	keyHash, prevKeyHash [sha256.Size]byte
	prevKeyExpires       time.Time // zero: no previous key
	callbackSecret       string
	prevCallbackSecret   string
	prevSecretExpires    time.Time // zero: no previous secret
}

// Confirms reports whether a payment to the participant waits for its
// answer before it commits: it asked for confirm mode, or it speaks
// FSPIOP, whose payees fulfil every payment.
func (p *Participant) Confirms() bool { return p.Acceptance == Confirm || p.FSPIOP != nil }

// The message formats of callbacks.
const (
	FormatJSON     = "json"
	FormatISO20022 = "iso20022"
)

func validFormat(f string) bool { return f == FormatJSON || f == FormatISO20022 }

// FSPIOP is where and how an FSPIOP participant is reached.
type FSPIOP struct {
	// Endpoint is the base URL of its FSPIOP API (parties, quotes and
	// transfers alike).
	Endpoint string
	// JWSPublicKey is the PEM public key that verifies the
	// FSPIOP-Signature of its requests; "" when it does not sign.
	JWSPublicKey string
	// LinkID, for a scheme link only, is the FSP id the far scheme
	// knows this switch by: the FSPIOP-Source of everything the switch
	// sends it, and the FSPIOP-Destination of the far scheme's callbacks.
	LinkID string
	// LinkKey, for a scheme link only, is the API key the far scheme
	// issued for LinkID, sent as the bearer token of everything the
	// switch sends it ("" when the far scheme authenticates otherwise,
	// e.g. by client certificate). It is stored sealed and never shown.
	LinkKey string
}

// Link limits: an FSPIOP FspId is at most 32 characters; an API key of
// another scheme is opaque, and bounded.
const (
	LinkIDMax  = 32
	LinkKeyMax = 512
)

// JWSKeyMax bounds a registered JWS public key's PEM text: an RSA key
// of 8192 bits takes about 1.4 KB.
const JWSKeyMax = 8 << 10

// Uses reports whether the participant is enabled for currency c.
func (p *Participant) Uses(c money.Currency) bool { return slices.Contains(p.Currencies, c) }

// Account returns the participant's settlement account in currency c.
func (p *Participant) Account(c money.Currency) ledger.AccountID {
	return AccountID(p.Number, c, Settlement)
}

// CallbackSecret returns the current key that signs callbacks to the
// participant.
func (p *Participant) CallbackSecret() string { return p.callbackSecret }

// CallbackSecrets returns the callback secrets valid at now, newest
// first: the current one and, during a rotation's grace period, the
// previous one. Callbacks carry a signature by each, so that the
// participant can switch secrets without dropping one.
func (p *Participant) CallbackSecrets(now time.Time) []string {
	if p.prevCallbackSecret != "" && now.Before(p.prevSecretExpires) {
		return []string{p.callbackSecret, p.prevCallbackSecret}
	}
	return []string{p.callbackSecret}
}

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
	// ErrClosed means the participant is closed: nothing about it
	// changes any more.
	ErrClosed = fault.New(fault.Conflict, "participant-closed", "participant is closed")
	// ErrBalanceNotZero means a participant to be closed still holds
	// money, or money is reserved on its accounts: settle first.
	ErrBalanceNotZero = fault.New(fault.Conflict, "balance-not-zero", "participant's balances are not all zero")
)

// GraceMax bounds a rotation's grace period, during which the previous
// key or secret keeps working.
const GraceMax = 30 * 24 * time.Hour

// Sealing contexts of the secrets stored sealed.
const (
	sealCallbackSecret     = "participants.callback_secret"
	sealPrevCallbackSecret = "participants.prev_callback_secret"
	sealLinkKey            = "participants.fspiop_link_key"
)

// Options are the registry's optional parts.
type Options struct {
	// Seal seals callback secrets at rest; nil stores them plain (tests).
	Seal *seal.Key
	// CheckCallbackURL, if set, vets a callback URL at registration
	// beyond its form (e.g. that it is not a private address); it also
	// vets FSPIOP endpoints.
	CheckCallbackURL func(string) error
	// CheckJWSKey, if set, vets an FSPIOP participant's JWS public key
	// (the FSPIOP front end knows which keys it can verify with).
	CheckJWSKey func(pem string) error
}

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
	opts   Options

	createMu sync.Mutex // serialises creation, which allocates numbers
	mu       sync.RWMutex
	byID     map[string]*Participant
	byNumber map[uint32]*Participant
}

// Load reads all participants from db. Callback secrets stored plain by
// an earlier release are sealed as they are read, when opts.Seal is set.
func Load(ctx context.Context, db *sqldb.DB, l Ledger, now func() time.Time, opts Options) (*Registry, error) {
	r := &Registry{db: db, ledger: l, now: now, opts: opts}
	byID, byNumber, plain, err := r.read(ctx)
	if err != nil {
		return nil, err
	}
	r.byID, r.byNumber = byID, byNumber
	for _, id := range plain {
		if err := r.store(ctx, r.byID[id]); err != nil {
			return nil, fmt.Errorf("seal the secrets of %s: %w", id, err)
		}
	}
	return r, nil
}

// Reload reads all participants from the database again, for a process
// that does not write them (a cluster's follower, whose leader does): it
// sees participants created, changed and closed since. It seals nothing.
func (r *Registry) Reload(ctx context.Context) error {
	byID, byNumber, _, err := r.read(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.byID, r.byNumber = byID, byNumber
	r.mu.Unlock()
	return nil
}

// read reads all participants from the database, and says whose secrets
// are stored plain.
func (r *Registry) read(ctx context.Context) (byID map[string]*Participant, byNumber map[uint32]*Participant, plain []string, err error) {
	byID, byNumber = map[string]*Participant{}, map[uint32]*Participant{}
	opts, db := r.opts, r.db
	rows, err := db.QueryContext(ctx, `SELECT id, number, name, kind, currencies, callback_url, acceptance, status,
		api_key_hash, callback_secret, created_at, updated_at, prev_api_key_hash, prev_api_key_expires,
		prev_callback_secret, prev_callback_secret_expires, client_cert_sha256, fspiop_endpoint, fspiop_jws_key,
		message_format, fspiop_link_id, fspiop_link_key, fx_live_quotes FROM participants`)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load participants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p := &Participant{}
		var curs, secret, prevSecret, fspEndpoint, fspKey, linkID, linkKey string
		var hash, prevHash []byte
		var created, updated, prevKeyExp, prevSecretExp, liveQuotes int64
		if err := rows.Scan(&p.ID, &p.Number, &p.Name, &p.Kind, &curs, &p.CallbackURL, &p.Acceptance, &p.Status,
			&hash, &secret, &created, &updated, &prevHash, &prevKeyExp, &prevSecret, &prevSecretExp, &p.ClientCertSHA256, &fspEndpoint, &fspKey, &p.MessageFormat,
			&linkID, &linkKey, &liveQuotes); err != nil {
			return nil, nil, nil, fmt.Errorf("load participants: %w", err)
		}
		if fspEndpoint != "" {
			p.FSPIOP = &FSPIOP{Endpoint: fspEndpoint, JWSPublicKey: fspKey, LinkID: linkID}
			if p.FSPIOP.LinkKey, err = r.open(sealLinkKey, linkKey); err != nil {
				return nil, nil, nil, fmt.Errorf("load participant %s: link key: %w", p.ID, err)
			}
		}
		if p.callbackSecret, err = r.open(sealCallbackSecret, secret); err != nil {
			return nil, nil, nil, fmt.Errorf("load participant %s: callback secret: %w", p.ID, err)
		}
		if p.prevCallbackSecret, err = r.open(sealPrevCallbackSecret, prevSecret); err != nil {
			return nil, nil, nil, fmt.Errorf("load participant %s: previous callback secret: %w", p.ID, err)
		}
		if opts.Seal != nil && (!seal.IsSealed(secret) || prevSecret != "" && !seal.IsSealed(prevSecret) || linkKey != "" && !seal.IsSealed(linkKey)) {
			plain = append(plain, p.ID)
		}
		p.FXLiveQuotes = liveQuotes != 0
		copy(p.prevKeyHash[:], prevHash)
		if prevKeyExp != 0 {
			p.prevKeyExpires = time.Unix(0, prevKeyExp).UTC()
		}
		if prevSecretExp != 0 {
			p.prevSecretExpires = time.Unix(0, prevSecretExp).UTC()
		}
		for _, code := range strings.Split(curs, ",") {
			c, err := money.ParseCurrency(code)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("load participant %s: %w", p.ID, err)
			}
			p.Currencies = append(p.Currencies, c)
		}
		copy(p.keyHash[:], hash)
		p.CreatedAt, p.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		byID[p.ID] = p
		byNumber[p.Number] = p
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("load participants: %w", err)
	}
	rows.Close()
	return byID, byNumber, plain, nil
}

// open reads a stored secret: sealed, or plain when stored before sealing
// existed or without a key.
func (r *Registry) open(context, stored string) (string, error) {
	if r.opts.Seal == nil {
		if seal.IsSealed(stored) {
			return "", errors.New("sealed, and no data key given")
		}
		return stored, nil
	}
	return r.opts.Seal.Open(context, stored)
}

// sealed returns what is stored of a secret.
func (r *Registry) sealed(context, secret string) string {
	if r.opts.Seal == nil || secret == "" {
		return secret
	}
	return r.opts.Seal.Seal(context, secret)
}

// store writes everything of p that may change after its creation.
func (r *Registry) store(ctx context.Context, p *Participant) error {
	var prevKeyExp, prevSecretExp int64
	if !p.prevKeyExpires.IsZero() {
		prevKeyExp = p.prevKeyExpires.UnixNano()
	}
	if !p.prevSecretExpires.IsZero() {
		prevSecretExp = p.prevSecretExpires.UnixNano()
	}
	endpoint, jwsKey, linkID, linkKey := p.FSPIOP.columns()
	return r.db.Transact(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE participants SET status = $1, callback_url = $2, acceptance = $3,
			updated_at = $4, api_key_hash = $5, callback_secret = $6, prev_api_key_hash = $7, prev_api_key_expires = $8,
			prev_callback_secret = $9, prev_callback_secret_expires = $10, client_cert_sha256 = $11,
			fspiop_endpoint = $12, fspiop_jws_key = $13, message_format = $14, fspiop_link_id = $15,
			fspiop_link_key = $16, fx_live_quotes = $17 WHERE id = $18`,
			string(p.Status), p.CallbackURL, string(p.Acceptance), p.UpdatedAt.UnixNano(), p.keyHash[:],
			r.sealed(sealCallbackSecret, p.callbackSecret), p.prevKeyHash[:], prevKeyExp,
			r.sealed(sealPrevCallbackSecret, p.prevCallbackSecret), prevSecretExp, p.ClientCertSHA256,
			endpoint, jwsKey, p.MessageFormat, linkID, r.sealed(sealLinkKey, linkKey), flag(p.FXLiveQuotes), p.ID)
		return err
	})
}

// New is what the operator gives to create a participant.
type New struct {
	ID          string
	Name        string
	Kind        Kind
	Currencies  []money.Currency
	CallbackURL string
	Acceptance  Acceptance
	// ClientCertSHA256, if set, binds the participant to a client
	// certificate (hex SHA-256 of its DER form).
	ClientCertSHA256 string
	// FSPIOP, if set, makes it an FSPIOP participant.
	FSPIOP *FSPIOP
	// MessageFormat is FormatJSON (the default) or FormatISO20022.
	MessageFormat string
	// FXLiveQuotes makes an FX provider with a callback URL answer live
	// FX quote requests.
	FXLiveQuotes bool
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
	case n.Kind != Wallet && n.Kind != Bank && n.Kind != FXP && n.Kind != Scheme:
		return fmt.Errorf("%w: kind must be wallet, bank, fxp or scheme", ErrInvalid)
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
	if n.Acceptance == Confirm && n.CallbackURL == "" {
		return fmt.Errorf("%w: acceptance confirm needs a callbackUrl", ErrInvalid)
	}
	if n.MessageFormat == "" {
		n.MessageFormat = FormatJSON
	}
	if !validFormat(n.MessageFormat) {
		return fmt.Errorf("%w: messageFormat must be json or iso20022", ErrInvalid)
	}
	if err := checkLiveQuotes(n.FXLiveQuotes, n.Kind, n.CallbackURL); err != nil {
		return err
	}
	var err error
	n.ClientCertSHA256, err = certHash(n.ClientCertSHA256)
	return err
}

// checkLiveQuotes checks that only an FX provider that has a callback URL
// answers live FX quote requests: they are asked by callback.
func checkLiveQuotes(on bool, k Kind, callbackURL string) error {
	switch {
	case on && k != FXP:
		return fmt.Errorf("%w: fxLiveQuotes is for participants of kind fxp", ErrInvalid)
	case on && callbackURL == "":
		return fmt.Errorf("%w: fxLiveQuotes needs a callbackUrl: live FX quotes are asked by callback", ErrInvalid)
	}
	return nil
}

// flag is a boolean column's value: 1 or 0, the same on both engines.
func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// certHash checks a client certificate's SHA-256 in hex ("" for none)
// and returns it in lower case.
func certHash(h string) (string, error) {
	h = strings.ToLower(h)
	if b, err := hex.DecodeString(h); h != "" && (err != nil || len(b) != sha256.Size) {
		return "", fmt.Errorf("%w: clientCertSha256 must be the SHA-256 of the DER certificate, 64 hex digits", ErrInvalid)
	}
	return h, nil
}

// checkCallbackURL checks a callback URL's form and, with the registry's
// policy, where it points.
func (r *Registry) checkCallbackURL(s string) error {
	if err := ValidCallbackURL(s); err != nil {
		return err
	}
	if s != "" && r.opts.CheckCallbackURL != nil {
		if err := r.opts.CheckCallbackURL(s); err != nil {
			return fmt.Errorf("%w: callbackUrl: %w", ErrInvalid, err)
		}
	}
	return nil
}

// checkFSPIOP checks the FSPIOP configuration of a participant of kind
// k and returns the copy to keep: nil for none or an empty endpoint. A
// scheme link must have one, with the id the far scheme knows the switch
// by; no other participant may carry link credentials.
func (r *Registry) checkFSPIOP(k Kind, f *FSPIOP) (*FSPIOP, error) {
	if f == nil || f.Endpoint == "" {
		switch {
		case k == Scheme:
			return nil, fmt.Errorf("%w: a scheme link needs fspiop.endpoint and fspiop.linkId: it is reached over FSPIOP", ErrInvalid)
		case f != nil && (f.JWSPublicKey != "" || f.LinkID != "" || f.LinkKey != ""):
			return nil, fmt.Errorf("%w: fspiop.jwsPublicKey, linkId and linkApiKey need an fspiop.endpoint", ErrInvalid)
		}
		return nil, nil
	}
	switch {
	case k != Scheme && (f.LinkID != "" || f.LinkKey != ""):
		return nil, fmt.Errorf("%w: fspiop.linkId and linkApiKey are for participants of kind scheme", ErrInvalid)
	case k == Scheme && !validLinkText(f.LinkID, LinkIDMax):
		return nil, fmt.Errorf("%w: fspiop.linkId must be 1-%d printable ASCII characters without spaces", ErrInvalid, LinkIDMax)
	case f.LinkKey != "" && !validLinkText(f.LinkKey, LinkKeyMax):
		return nil, fmt.Errorf("%w: fspiop.linkApiKey must be 1-%d printable ASCII characters without spaces", ErrInvalid, LinkKeyMax)
	}
	if err := ValidCallbackURL(f.Endpoint); err != nil {
		return nil, fmt.Errorf("%w: fspiop.endpoint must be an absolute http or https URL without credentials", ErrInvalid)
	}
	if r.opts.CheckCallbackURL != nil {
		if err := r.opts.CheckCallbackURL(f.Endpoint); err != nil {
			return nil, fmt.Errorf("%w: fspiop.endpoint: %w", ErrInvalid, err)
		}
	}
	if len(f.JWSPublicKey) > JWSKeyMax {
		return nil, fmt.Errorf("%w: fspiop.jwsPublicKey must be at most %d bytes", ErrInvalid, JWSKeyMax)
	}
	if f.JWSPublicKey != "" && r.opts.CheckJWSKey != nil {
		if err := r.opts.CheckJWSKey(f.JWSPublicKey); err != nil {
			return nil, fmt.Errorf("%w: fspiop.jwsPublicKey: %w", ErrInvalid, err)
		}
	}
	return &FSPIOP{Endpoint: strings.TrimSuffix(f.Endpoint, "/"), JWSPublicKey: f.JWSPublicKey, LinkID: f.LinkID,
		LinkKey: f.LinkKey}, nil
}

// validLinkText reports whether s is 1 to max printable ASCII characters
// other than space: it goes into HTTP headers as it is.
func validLinkText(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// columns returns what is stored of f (the link key unsealed): "" for a
// native participant.
func (f *FSPIOP) columns() (endpoint, jwsKey, linkID, linkKey string) {
	if f == nil {
		return "", "", "", ""
	}
	return f.Endpoint, f.JWSPublicKey, f.LinkID, f.LinkKey
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
	if err := r.checkCallbackURL(n.CallbackURL); err != nil {
		return Participant{}, Credentials{}, err
	}
	fsp, err := r.checkFSPIOP(n.Kind, n.FSPIOP)
	if err != nil {
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
		CallbackURL: n.CallbackURL, Acceptance: n.Acceptance, Status: Active, ClientCertSHA256: n.ClientCertSHA256,
		FSPIOP: fsp, MessageFormat: n.MessageFormat, FXLiveQuotes: n.FXLiveQuotes, CreatedAt: now, UpdatedAt: now, keyHash: sha256.Sum256([]byte(secret)), callbackSecret: cbSecret,
	}
	codes := make([]string, len(p.Currencies))
	for i, c := range p.Currencies {
		codes[i] = c.String()
	}
	endpoint, jwsKey, linkID, linkKey := p.FSPIOP.columns()
	_, err = r.db.ExecContext(ctx, `INSERT INTO participants (id, number, name, kind, currencies, callback_url,
		acceptance, status, api_key_hash, callback_secret, created_at, updated_at, client_cert_sha256,
		fspiop_endpoint, fspiop_jws_key, message_format, fspiop_link_id, fspiop_link_key, fx_live_quotes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		p.ID, p.Number, p.Name, string(p.Kind), strings.Join(codes, ","), p.CallbackURL, string(p.Acceptance),
		string(p.Status), p.keyHash[:], r.sealed(sealCallbackSecret, p.callbackSecret), now.UnixNano(), now.UnixNano(),
		p.ClientCertSHA256, endpoint, jwsKey, p.MessageFormat, linkID, r.sealed(sealLinkKey, linkKey), flag(p.FXLiveQuotes))
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

// SchemeLink returns the currencies of participant id if it is an
// active participant of kind scheme (what a route to another scheme may
// name), and false otherwise.
func (r *Registry) SchemeLink(id string) ([]money.Currency, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.byID[id]
	if !ok || p.Kind != Scheme || p.Status != Active || p.FSPIOP == nil {
		return nil, false
	}
	return slices.Clone(p.Currencies), true
}

// LiveQuoters returns the participants to ask for live FX offers from
// source to target: the active FX providers enabled for both that answer
// live FX quote requests (FXLiveQuotes) at a callback URL, in no
// particular order. It scans the registry, which is held in memory.
func (r *Registry) LiveQuoters(source, target money.Currency) []Participant {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Participant
	for _, p := range r.byID {
		if p.FXLiveQuotes && p.Kind == FXP && p.Status == Active && p.CallbackURL != "" && p.Uses(source) && p.Uses(target) {
			out = append(out, *p)
		}
	}
	return out
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
// which suffices for 256-bit random secrets. A participant's previous key
// works until its grace period ends; a closed participant's keys never.
func (r *Registry) Authenticate(key string) (Participant, error) {
	p, _, err := r.AuthenticateKey(key)
	return p, err
}

// AuthenticateKey is Authenticate that also says whether key is the
// participant's previous key, in its grace period: such a key may still
// transact, but not mint credentials, or a leaked key would outlive the
// rotation meant to revoke it.
func (r *Registry) AuthenticateKey(key string) (Participant, bool, error) {
	id, secret, ok := strings.Cut(key, ".")
	if !ok || secret == "" {
		return Participant{}, false, ErrUnauthorized
	}
	r.mu.RLock()
	p, found := r.byID[id]
	r.mu.RUnlock()
	if !found {
		return Participant{}, false, ErrUnauthorized
	}
	var buf [128]byte // the secret's bytes without a heap copy: every request
	sum := sha256.Sum256(append(buf[:0], secret...))
	current := subtle.ConstantTimeCompare(sum[:], p.keyHash[:]) == 1
	previous := subtle.ConstantTimeCompare(sum[:], p.prevKeyHash[:]) == 1 && r.now().Before(p.prevKeyExpires)
	if !current && !previous || p.Status == Closed {
		return Participant{}, false, ErrUnauthorized
	}
	return *p, !current, nil
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
	// ClientCertSHA256 binds the participant to a client certificate;
	// "" unbinds it.
	ClientCertSHA256 *string
	// FSPIOP makes it an FSPIOP participant, or changes how it is
	// reached (all of it: a scheme link's key too); one with an empty
	// Endpoint makes it a native one again, except a scheme link, which
	// keeps one.
	FSPIOP *FSPIOP
	// MessageFormat changes how its callbacks are written.
	MessageFormat *string
	// FXLiveQuotes turns live FX quote requests on or off.
	FXLiveQuotes *bool
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
	if cur.Status == Closed {
		return Participant{}, fmt.Errorf("update %s: %w", id, ErrClosed)
	}
	next := *cur
	if u.Status != nil {
		if *u.Status != Active && *u.Status != Suspended {
			return Participant{}, fmt.Errorf("%w: status must be active or suspended", ErrInvalid)
		}
		next.Status = *u.Status
	}
	if u.CallbackURL != nil {
		if err := r.checkCallbackURL(*u.CallbackURL); err != nil {
			return Participant{}, err
		}
		next.CallbackURL = *u.CallbackURL
	}
	if u.ClientCertSHA256 != nil {
		h, err := certHash(*u.ClientCertSHA256)
		if err != nil {
			return Participant{}, err
		}
		next.ClientCertSHA256 = h
	}
	if u.MessageFormat != nil {
		if !validFormat(*u.MessageFormat) {
			return Participant{}, fmt.Errorf("%w: messageFormat must be json or iso20022", ErrInvalid)
		}
		next.MessageFormat = *u.MessageFormat
	}
	if u.FSPIOP != nil {
		fsp, err := r.checkFSPIOP(cur.Kind, u.FSPIOP)
		if err != nil {
			return Participant{}, err
		}
		next.FSPIOP = fsp
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
	if u.FXLiveQuotes != nil {
		next.FXLiveQuotes = *u.FXLiveQuotes
	}
	if err := checkLiveQuotes(next.FXLiveQuotes, next.Kind, next.CallbackURL); err != nil {
		return Participant{}, err
	}
	return r.commit(ctx, cur, next)
}

// commit stores next, the changed cur, and puts it in place. Callers hold
// createMu.
func (r *Registry) commit(ctx context.Context, cur *Participant, next Participant) (Participant, error) {
	id := cur.ID
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
	if err := r.store(ctx, &next); err != nil {
		return Participant{}, fmt.Errorf("update %s: %w", id, err)
	}
	r.mu.Lock()
	r.byID[id] = &next
	r.byNumber[next.Number] = &next
	r.mu.Unlock()
	return next, nil
}

// RotateKey gives participant id a new API key and returns it, with the
// time its previous key stops working: now plus grace (0: at once; at
// most GraceMax). A key older than the previous one stops at once, so
// that a participant never holds more than two valid keys.
func (r *Registry) RotateKey(ctx context.Context, id string, grace time.Duration) (string, time.Time, error) {
	var key string
	p, err := r.rotate(ctx, id, grace, func(next *Participant, secret string, until time.Time) {
		next.prevKeyHash, next.prevKeyExpires = next.keyHash, until
		next.keyHash = sha256.Sum256([]byte(secret))
		key = id + "." + secret
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("rotate the API key of %s: %w", id, err)
	}
	return key, p.prevKeyExpires, nil
}

// RotateCallbackSecret gives participant id a new callback secret and
// returns it, with the time its previous secret stops signing callbacks,
// as RotateKey does for keys.
func (r *Registry) RotateCallbackSecret(ctx context.Context, id string, grace time.Duration) (string, time.Time, error) {
	var secret string
	p, err := r.rotate(ctx, id, grace, func(next *Participant, s string, until time.Time) {
		next.prevCallbackSecret, next.prevSecretExpires = next.callbackSecret, until
		next.callbackSecret, secret = s, s
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("rotate the callback secret of %s: %w", id, err)
	}
	return secret, p.prevSecretExpires, nil
}

// rotate applies a rotation with a fresh secret, the previous one valid
// until now plus grace.
func (r *Registry) rotate(ctx context.Context, id string, grace time.Duration, apply func(next *Participant, secret string, until time.Time)) (Participant, error) {
	if grace < 0 || grace > GraceMax {
		return Participant{}, fmt.Errorf("%w: graceSeconds must be 0 to %d", ErrInvalid, int(GraceMax/time.Second))
	}
	secret, err := randomToken()
	if err != nil {
		return Participant{}, err
	}
	r.createMu.Lock()
	defer r.createMu.Unlock()
	r.mu.RLock()
	cur, ok := r.byID[id]
	r.mu.RUnlock()
	switch {
	case !ok:
		return Participant{}, ErrNotFound
	case cur.Status == Closed:
		return Participant{}, ErrClosed
	}
	next := *cur
	apply(&next, secret, r.now().UTC().Add(grace))
	return r.commit(ctx, cur, next)
}

// Close closes participant id for good, once empty says its accounts
// hold nothing (else it returns ErrBalanceNotZero, or its own error):
// the closure is recorded on the ledger, and from then on the
// participant's keys do not authenticate and nothing about it changes.
// Closing a closed participant returns it as it is. Removing its aliases
// is the caller's part.
func (r *Registry) Close(ctx context.Context, id string, empty func(context.Context, Participant) error) (Participant, error) {
	r.createMu.Lock()
	defer r.createMu.Unlock()
	r.mu.RLock()
	cur, ok := r.byID[id]
	r.mu.RUnlock()
	if !ok {
		return Participant{}, fmt.Errorf("close %s: %w", id, ErrNotFound)
	}
	if cur.Status == Closed {
		return *cur, nil
	}
	if err := empty(ctx, *cur); err != nil {
		return Participant{}, fmt.Errorf("close %s: %w", id, err)
	}
	next := *cur
	next.Status = Closed
	next.prevKeyExpires, next.prevSecretExpires = time.Time{}, time.Time{}
	p, err := r.commit(ctx, cur, next)
	if err != nil {
		return Participant{}, fmt.Errorf("close %s: %w", id, err)
	}
	return p, nil
}
