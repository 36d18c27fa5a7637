// Package transfer owns the payment flow, from a payer participant's
// request to a committed or aborted transfer on the ledger; and the
// operator's deposits and withdrawals. It speaks no protocol: the JSON
// API (and the FSPIOP and ISO 20022 front ends) call it.
//
// A payment is an ordered list of legs — payer → payee for the amount,
// payer → hub for the scheme fee, and whatever a payment type adds —
// posted to the ledger as one linked chain: all of them or none. Pricing
// makes the legs; nothing else knows how many there are.
//
// Payments run through a pipeline of named stages (pipeline.go): parse,
// replay (a retry is answered from the ledger), resolve the payee,
// screen (the risk engine's Screener), price (the legs), post or
// reserve, confirm, finish. Each stage may refuse one payment of a batch
// without touching the others.
//
// Two-phase payments are explicit steps keyed by the transfer id
// (twophase.go): Prepare reserves the legs and hands the payee the
// request; Fulfil or Reject, from the payee, commits or aborts them as
// one; the reservation's expiry is the deadline, enforced by the ledger.
// The payee may answer by its own later request (Mojaloop's PUT
// /transfers/{id}, an ISO 20022 pacs.002) or, for the native API's
// confirm mode, by its answer to a synchronous callback — one user of
// the same steps. If the switch dies in between, the reservation expires
// by itself.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/seal"
)

// State is a transfer's state as participants see it.
type State string

// The states.
const (
	Committed State = "COMMITTED"
	Reserved  State = "RESERVED"
	Aborted   State = "ABORTED"
	// Held is a payment that risk control holds for the operator's
	// review: reserved on the payer until released or rejected, or
	// aborted when the review timeout passes.
	Held State = "HELD"
)

// Payee is where a transfer goes.
type Payee struct {
	Type        string
	Value       string
	Participant string
	Account     string // the payee participant's own reference of its user
}

// Transfer is a payment as participants see it.
type Transfer struct {
	ID        string
	State     State
	Payer     string
	Payee     Payee
	Amount    money.Amount
	Fee       money.Amount
	Currency  money.Currency
	QuoteID   string
	Note      string
	CreatedAt time.Time
	// Reason says why an ABORTED transfer was aborted: "rejected: …" (the
	// payee's reason), "timeout", "payee unreachable", "expired" or
	// "risk-rejected: …" (the operator's review).
	Reason string
	// PayerAccount and Factors are the payer wallet's own reference of
	// its user and how it authenticated them, as it sent them.
	PayerAccount string
	Factors      FactorSet
	// FX is set for a payment to a payee in another currency: Amount and
	// Currency are then what the payer sends, FX says what the payee gets
	// (Received).
	FX *FX
	// seq orders transfers in listings: the timestamp of the payment
	// event.
	seq int64
	// held says risk control held the payment for review (its record's
	// flag), whatever became of it since.
	held bool
}

// Errors of the payment flow. Each has a fault kind and code, which the
// front ends map to their own answers.
var (
	// ErrInvalid means the request is malformed; the message says how.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid request")
	// ErrUnknownParty means the payee alias is not registered.
	ErrUnknownParty = fault.New(fault.Refused, "unknown-party", "unknown party")
	// ErrConflict means the id was used before for another request.
	ErrConflict = ledger.ErrExistsDifferent
	// ErrInsufficientFunds means the payer's available balance (with its
	// net debit cap) does not cover amount and fee.
	ErrInsufficientFunds = ledger.ErrInsufficientFunds
	// ErrSuspended means the payer or the payee participant is suspended.
	ErrSuspended = fault.New(fault.Refused, "participant-suspended", "participant suspended")
	// ErrCurrency means a participant is not enabled for the currency, or
	// the payee's alias is held in another currency.
	ErrCurrency = fault.New(fault.Refused, "currency-not-enabled", "currency not enabled")
	// ErrSameParticipant means payer and payee are one participant: an
	// on-us payment, which the participant settles in its own books.
	ErrSameParticipant = fault.New(fault.Refused, "same-participant", "payer and payee are the same participant")
	// ErrQuoteExpired means the quote's validity ended: ask for a new one.
	ErrQuoteExpired = fault.New(fault.Refused, "quote-expired", "quote expired")
	// ErrQuoteMismatch means the quote is for another payer, payee,
	// amount or currency, or is not a quote of this switch.
	ErrQuoteMismatch = fault.New(fault.Refused, "quote-mismatch", "quote does not match the transfer")
	// ErrNotFound means there is no such transfer visible to the caller.
	ErrNotFound = fault.New(fault.NotFound, "", "transfer not found")
	// ErrLimitBelowPosition means a net debit cap lower than what the
	// participant already uses.
	ErrLimitBelowPosition = ledger.ErrFloorBelowUsage
	// ErrNotPayee means a Fulfil or Reject came from a participant that
	// is not the transfer's payee. Front ends answer it as not found, so
	// that others learn nothing of the transfer.
	ErrNotPayee = fault.New(fault.NotFound, "", "transfer not found")
	// ErrExpired means the reservation's deadline passed before the
	// payee's answer: the transfer is aborted.
	ErrExpired = ledger.ErrPendingExpired
	// ErrFinished means the transfer was committed or aborted already,
	// the other way than asked: fault.Conflict.
	ErrFinished = fault.New(fault.Conflict, "transfer-finished", "the transfer is committed or aborted already")
	// ErrNotTwoPhase means Fulfil or Reject of a transfer that was posted
	// at once, with nothing to decide.
	ErrNotTwoPhase = fault.New(fault.Conflict, "transfer-finished", "the transfer was not reserved: there is nothing to fulfil or reject")
)

// Journal is what the flow needs of the ledger.
type Journal interface {
	Submit(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, error)
	Transfer(ctx context.Context, id ledger.ID) (journal.Transfer, error)
	Known(ids []ledger.ID) []bool
	Account(ctx context.Context, id ledger.AccountID) (ledger.Account, error)
	AccountEvents(ctx context.Context, account ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error)
	Scan(ctx context.Context, from, to int64, fn func(ledger.Event) error) error
}

// Participants is what the flow needs of the participant registry.
type Participants interface {
	Get(id string) (participant.Participant, bool)
	List() []participant.Participant
}

// Directory resolves aliases.
type Directory interface {
	Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error)
}

// Fees are the scheme's fee schedules.
type Fees interface {
	Schedule(c money.Currency) quote.Schedule
}

// Confirmer asks a payee participant in confirm mode, synchronously,
// whether it accepts a transfer. An error (including a timeout) counts
// as a refusal. The reason says why it refused; with an acceptance it is
// the payee's proof (an FSPIOP fulfilment), kept with the commit (Proof).
type Confirmer interface {
	Confirm(ctx context.Context, payee participant.Participant, t Transfer) (accept bool, reason string, err error)
}

// Offerer hands a prepared transfer to its payee, which answers later by
// its own request (Fulfil or Reject). Offer returns once the request is
// handed over; an error means the payee could not be reached, and the
// transfer is rejected at once rather than left to expire.
type Offerer interface {
	Offer(ctx context.Context, payee participant.Participant, t Transfer, expires time.Time) error
}

// Notifier is told that a participant has new incoming transfers to be
// notified of, so that delivery does not wait for its next poll.
type Notifier interface {
	Wake(participant string)
}

// Config tunes the flow. EnsureDefaults states every default;
// Validate refuses what is out of range.
type Config struct {
	// Region is the default region for national phone numbers ("CN").
	Region string
	// ConfirmTimeout bounds the wait for a confirm-mode payee (5 s).
	ConfirmTimeout time.Duration
	// QuoteTTL is how long a quote is valid (60 s).
	QuoteTTL time.Duration
	// ReviewTimeout is how long a payment held for review stays reserved
	// before it aborts by itself (24 h).
	ReviewTimeout time.Duration
	// FXQuota is the annual FX quota of each payer account (zero: none):
	// FX payments are valued in its currency and counted by the Quota
	// dependency, and must name their payerAccount.
	FXQuota fx.Quota
}

// reservationMargin is how much longer a confirm-mode reservation lives
// than the wait for the payee's answer, so that only a switch that died
// in between leaves it to expire.
const reservationMargin = 30 * time.Second

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Region == "" {
		c.Region = directory.DefaultRegion
	}
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = 5 * time.Second
	}
	if c.QuoteTTL == 0 {
		c.QuoteTTL = time.Minute
	}
	if c.ReviewTimeout == 0 {
		c.ReviewTimeout = 24 * time.Hour
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	if err := directory.CheckRegion(c.Region); err != nil {
		return err
	}
	switch {
	case c.ConfirmTimeout <= 0 || c.ConfirmTimeout+reservationMargin > ledger.TimeoutMax:
		return fmt.Errorf("confirm timeout %v: must be positive and at most %v", c.ConfirmTimeout, ledger.TimeoutMax-reservationMargin)
	case c.QuoteTTL <= 0 || c.QuoteTTL > 24*time.Hour:
		return fmt.Errorf("quote TTL %v: must be positive and at most 24h", c.QuoteTTL)
	case c.ReviewTimeout < time.Minute || c.ReviewTimeout > ledger.TimeoutMax:
		return fmt.Errorf("review timeout %v: must be at least 1m and at most %v", c.ReviewTimeout, ledger.TimeoutMax)
	}
	if !c.FXQuota.IsZero() {
		if err := c.FXQuota.Validate(); err != nil {
			return fmt.Errorf("FX quota: %w", err)
		}
	}
	return nil
}

// Deps are what the flow is built on. Journal, Participants, Directory,
// Fees and Signer are required; a nil Screener allows every payment, a
// nil Confirmer refuses every confirm-mode payment, a nil Offerer makes
// Prepare leave the handing over to its caller, a nil Now is time.Now.
type Deps struct {
	Journal      Journal
	Participants Participants
	Directory    Directory
	Fees         Fees
	Signer       *quote.Signer
	Screener     Screener
	Confirmer    Confirmer
	Offerer      Offerer
	Notifier     Notifier
	// Learner, if set, is told of every payment committed.
	Learner Learner
	// Outcomes, if set, hears of every payment's outcome (metrics).
	Outcomes Outcomes
	// Rates, if set, prices payments to payees in another currency;
	// without it they are refused (ErrCurrency).
	Rates Rates
	// Quota counts FX payments against Config.FXQuota (*fx.Usage);
	// required with a quota.
	Quota Quota
	// LiveRates, if set, adds the live offers of providers that quote by
	// callback to the published sheets, for each FX quote.
	LiveRates LiveRates
	// Seal is the data key: with it, payments write record version 2,
	// their payee account sealed and MACed; without it, version 1.
	Seal *seal.Key
	Now  func() time.Time
}

// Service runs payments.
type Service struct {
	Deps
	cfg Config
	// sealer seals payee accounts in records version 2; nil without a
	// data key.
	sealer *sealer
}

// New builds the flow from cfg, which must be valid (EnsureDefaults
// first), and its dependencies.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	if d.Journal == nil || d.Participants == nil || d.Directory == nil || d.Fees == nil || d.Signer == nil {
		return nil, errors.New("transfer: journal, participants, directory, fees and signer are required")
	}
	if !cfg.FXQuota.IsZero() && (d.Quota == nil || d.Rates == nil) {
		return nil, errors.New("transfer: an FX quota needs the FX rates and a quota counter")
	}
	if d.Screener == nil {
		d.Screener = AllowAll{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{Deps: d, cfg: cfg, sealer: newSealer(d.Seal)}, nil
}

// Limits on what a request may hold.
const (
	IDMax   = 128
	NoteMax = 256
	// BatchMax is the most transfers one CreateMany takes: with LegsMax
	// legs each, well inside one ledger batch.
	BatchMax = 1000
)

// Request is a payer's request to pay.
type Request struct {
	ID         string
	PayeeType  string
	PayeeValue string
	Amount     money.Amount
	Currency   money.Currency
	QuoteID    string
	Note       string
	// PayerAccount is the payer participant's own opaque reference of
	// the paying user (at most PayerAccountMax bytes of printable text);
	// Factors how it authenticated the user (Factor names, each at most
	// once, at most FactorsMax). Both are optional, and feed risk control.
	PayerAccount string
	Factors      []string
	// Purpose is the payment's ISO 20022 purpose code (SALA, GDDS, …):
	// required for a payment to a payee in another currency, refused on
	// one in the payer's own.
	Purpose string
	// AmountType, for a quote, says which side Amount fixes: "SEND" (or
	// empty: what the payer sends, in Currency) or "RECEIVE" (what the
	// payee gets, in the payee's currency).
	AmountType string
	// AmountText, for a quote, is the amount as decimal text, read in
	// the currency it is in once the payee is known (a RECEIVE amount is
	// in the payee's); Amount is then ignored.
	AmountText string
}

// PayerAccountMax bounds a request's PayerAccount, FactorsMax its
// Factors.
const (
	PayerAccountMax = 128
	FactorsMax      = 5
)

// FactorSet is a set of authentication factors, one bit each in the
// order of factorNames: comparable, and one byte in a record.
type FactorSet uint8

// factorNames are the authentication factors a payer wallet may name,
// in their bits' order. A name, once given a bit, keeps it: records
// store the bits.
var factorNames = [...]string{"pin", "password", "biometric", "otp", "device"}

// factorLists holds each set's names, made once: the risk rules see
// them on every payment.
var factorLists = func() (out [1 << len(factorNames)][]string) {
	for set := range out {
		out[set] = []string{}
		for i, n := range factorNames {
			if set&(1<<i) != 0 {
				out[set] = append(out[set], n)
			}
		}
	}
	return out
}()

// FactorNames returns every factor's name.
func FactorNames() []string { return slices.Clone(factorNames[:]) }

// Names returns the set's factor names in canonical order; shared, not
// to be changed.
func (f FactorSet) Names() []string {
	if int(f) >= len(factorLists) {
		return nil
	}
	return factorLists[f]
}

// Len returns how many factors the set holds.
func (f FactorSet) Len() int { return bits.OnesCount8(uint8(f)) }

// valid reports whether every bit of f is a factor's.
func (f FactorSet) valid() bool { return int(f) < len(factorLists) }

// ParseFactors makes the set of names: each a known factor, at most once.
func ParseFactors(names []string) (FactorSet, error) {
	if len(names) > FactorsMax {
		return 0, fmt.Errorf("%w: at most %d authentication factors", ErrInvalid, FactorsMax)
	}
	var set FactorSet
	for _, n := range names {
		i := slices.Index(factorNames[:], n)
		if i < 0 {
			return 0, fmt.Errorf("%w: authentication factor %q is not one of %s", ErrInvalid, n, strings.Join(factorNames[:], ", "))
		}
		if set&(1<<i) != 0 {
			return 0, fmt.Errorf("%w: authentication factor %q appears twice", ErrInvalid, n)
		}
		set |= 1 << i
	}
	return set, nil
}

// validPayerAccount checks a request's payer account: printable UTF-8,
// so that it can always be read back and shown.
func validPayerAccount(a string) error {
	if len(a) > PayerAccountMax || !utf8.ValidString(a) {
		return fmt.Errorf("%w: payerAccount must be at most %d bytes of UTF-8", ErrInvalid, PayerAccountMax)
	}
	for _, r := range a {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: payerAccount must be printable text", ErrInvalid)
		}
	}
	return nil
}

// ValidID reports whether s can be a transfer id: 1 to IDMax characters
// of letters, digits and . _ : -
func ValidID(s string) bool {
	if s == "" || len(s) > IDMax {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// Outcome is one transfer's answer: the transfer, whether this request
// created it (false: it existed and is returned unchanged), or an error.
type Outcome struct {
	Transfer Transfer
	Created  bool
	Err      error
}

// Create runs one payment.
func (s *Service) Create(ctx context.Context, payer participant.Participant, req Request) (Transfer, bool, error) {
	b := newSingle(payer, nil, modeByPayee)
	*b.items[0].req = req
	s.run(ctx, b)
	s.observe(b.out)
	return b.out[0].Transfer, b.out[0].Created, b.out[0].Err
}

// CreateMany runs up to BatchMax payments of one payer in one ledger
// submission; each gets its own outcome. Payments to notify-mode payees
// are posted at once; those to confirm-mode payees are reserved, put to
// the payee, and committed or aborted by its answer.
func (s *Service) CreateMany(ctx context.Context, payer participant.Participant, reqs []Request) []Outcome {
	b := s.newBatch(payer, reqs, modeByPayee)
	if b == nil {
		return refuseAll(len(reqs), fmt.Errorf("%w: at most %d transfers per batch", ErrInvalid, BatchMax))
	}
	s.run(ctx, b)
	s.observe(b.out)
	return b.out
}

func refuseAll(n int, err error) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i].Err = err
	}
	return out
}

// committed tells the payee's notifier and the Learner of a payment
// committed.
func (s *Service) committed(t *Transfer) {
	s.wake(t.Payee.Participant)
	if s.Learner != nil {
		s.Learner.Learn(t)
	}
}

func (s *Service) wake(p string) {
	if s.Notifier != nil {
		s.Notifier.Wake(p)
	}
}
