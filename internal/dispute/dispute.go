// Package dispute owns fraud disputes, as Pix's MED has them: the
// payer's participant disputes a committed payment within DisputeDays
// of it; the switch holds, on the payee participant's account, up to
// what may still be paid back of it — what is available now, the rest as
// it arrives until the dispute period ends (HoldUntil) — and asks the
// payee participant (dispute.opened). The payee accepts, and the held
// money goes back to the payer as a payback; or rejects, and it is
// released; unanswered by RespondBy, the dispute is accepted. A fraud
// dispute accepted is reported to risk control, which marks the payee
// alias.
//
// The money is the transfer package's holds (transfer.HoldPayBack): a
// hold's commit is a payback, so refunds, returns and dispute refunds of
// a payment together never exceed it. Holds are reserved for
// ledger.TimeoutMax and renewed a day before they would expire while the
// dispute is open.
//
// # Order of writes, and crashes
//
// The ledger is the truth about money and decisions; the database
// follows it. Every step can be repeated, and the sweep repeats what a
// crash cut short:
//
//   - Open: the "opened" mark, then the row and the dispute.opened notice
//     in one transaction, then the first hold. A crash after the mark
//     leaves a mark with no dispute: nothing was held or told, and the
//     caller, who got no answer, opens again (a new id). A crash after the
//     row leaves an open dispute holding nothing, whose check_at is now:
//     the sweep holds.
//   - A hold: its ledger hold (id dispute:<id>:<n>, n one more than the
//     holds recorded), then its row. Before the next hold is made, or
//     anything else done, a hold of the next number found on the ledger
//     is adopted, and every hold recorded as reserved takes its ledger
//     state: a crash between the two writes loses nothing.
//   - Accept and reject: the "decided" mark (one per dispute, keyed by
//     its id: a second, other decision is refused by the ledger, and the
//     first one is read back and completed), then the state and the
//     notice in one transaction, then each hold committed or released,
//     then, for fraud, the report. An accepted or rejected dispute with
//     holds still reserved, or a report not filed, is looked at again by
//     the sweep.
package dispute

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/keylock"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// State is where a dispute stands.
type State string

// The states.
const (
	Open     State = "OPEN"
	Accepted State = "ACCEPTED"
	Rejected State = "REJECTED"
)

// ParseState returns the state named s.
func ParseState(s string) (State, bool) {
	switch st := State(s); st {
	case Open, Accepted, Rejected:
		return st, true
	}
	return "", false
}

// The reasons a payer's participant may give.
const (
	// Fraud is a payment the payer was deceived into, or did not make.
	Fraud = "fraud"
	// Error is a payment made by mistake (wrong payee, wrong amount).
	Error = "error"
)

// Who decided a dispute.
const (
	ByPayee  = "payee"
	BySwitch = "switch" // unanswered by the response deadline
)

// Dispute is a payer participant's dispute of a payment.
type Dispute struct {
	ID         string
	TransferID string
	// Payer is the disputing participant (the payment's payer), Payee the
	// payment's payee participant, on which money is held.
	Payer, Payee string
	Reason       string // Fraud or Error
	Detail       string
	// Amount is what was disputed: the payment less what was paid back
	// or held before, when it was opened.
	Amount   money.Amount
	Currency money.Currency
	// Held is what holds reserve now on the payee; Refunded what went
	// back to the payer.
	Held, Refunded money.Amount
	State          State
	// DecidedBy is ByPayee or BySwitch once accepted or rejected.
	DecidedBy    string
	RejectReason string
	// RespondBy is the payee's deadline; HoldUntil ends the dispute
	// period, until which money arriving on the payee is held (and, once
	// accepted, paid back) up to Amount.
	RespondBy, HoldUntil time.Time
	CreatedAt, UpdatedAt time.Time

	holds    int   // holds made, the last one's number
	holdAt   int64 // when a top-up may next be tried
	reported bool
}

// Outstanding is what the dispute may still take from the payee.
func (d *Dispute) Outstanding() money.Amount { return d.Amount - d.Held - d.Refunded }

// Limits.
const (
	// DetailMax bounds a dispute's detail, in characters.
	DetailMax = 500
	// ReasonMax bounds a rejection's reason, in characters.
	ReasonMax = 200
	// ListMax is the largest page List returns.
	ListMax = 1000
	// PerPaymentMax bounds the disputes of one payment, decided or not.
	PerPaymentMax = 3
	// HoldTimeout is every hold's: the ledger's longest. An open
	// dispute's holds are renewed RenewBefore their expiry.
	HoldTimeout = ledger.TimeoutMax
	// RenewBefore is how long before its expiry a hold is renewed: the
	// sweep runs far more often than that, and a switch down for less
	// loses no hold.
	RenewBefore = 24 * time.Hour
	// TopUpsMax bounds a dispute's holds, renewals included, past which
	// it takes no more money as it arrives; renewals go on, up to
	// transfer.HoldsMax.
	TopUpsMax = 40
	// retryAfter is when a dispute whose last step failed is looked at
	// again.
	retryAfter = time.Minute
)

// Errors.
var (
	// ErrInvalid means a malformed request.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid dispute")
	// ErrNotFound means no such dispute, or none the caller may see.
	ErrNotFound = fault.New(fault.NotFound, "", "dispute not found")
	// ErrForbidden means the caller sees the dispute (or the payment) but
	// may not act so: the payee opening one, the payer deciding one.
	ErrForbidden = fault.New(fault.Forbidden, "", "only the payer's participant opens a dispute, only the payee's decides it")
	// ErrClosed means the dispute was decided the other way already.
	ErrClosed = fault.New(fault.Conflict, "dispute-closed", "the dispute is decided already")
	// ErrOpen means the payment has another dispute open: wait for its
	// decision.
	ErrOpen = fault.New(fault.Conflict, "dispute-open", "the payment has a dispute open")
	// ErrWindowPassed means the payment is older than the dispute period.
	ErrWindowPassed = fault.New(fault.Refused, "dispute-window-passed", "the dispute period of the payment has passed")
	// ErrNotDisputable means the payment is not committed, or is a
	// refund, a return or a hold itself.
	ErrNotDisputable = fault.New(fault.Refused, "not-disputable", "only a committed payment can be disputed")
	// ErrTooMany means the payment was disputed PerPaymentMax times.
	ErrTooMany = fault.New(fault.Conflict, "dispute-limit", "the payment was disputed as many times as it may be")
	// ErrPaidBack means all of the payment was paid back already.
	ErrPaidBack = fault.New(fault.Refused, "already-paid-back", "all of the payment was paid back already")
)

// Transfers is what disputes need of the payment flow
// (transfer.Service).
type Transfers interface {
	Get(ctx context.Context, v transfer.Viewer, id string) (transfer.Transfer, error)
	Refundable(ctx context.Context, originalID string) (money.Amount, error)
	Available(ctx context.Context, p participant.Participant, c money.Currency) (money.Amount, error)
	HoldPayBack(ctx context.Context, payee participant.Participant, originalID, holdID string, amount money.Amount,
		timeout time.Duration, note string) (transfer.Transfer, bool, error)
	CommitPayBack(ctx context.Context, holdID string) (transfer.Transfer, bool, error)
	ReleasePayBack(ctx context.Context, holdID, reason string) (transfer.Transfer, bool, error)
	RenewPayBack(ctx context.Context, holdID, newID string, timeout time.Duration) (transfer.Transfer, bool, error)
}

// Ledger records the disputes' marks and reads a decision back (the
// journal).
type Ledger interface {
	mark.Submitter
	Transfer(ctx context.Context, id ledger.ID) (journal.Transfer, error)
}

// Participants is the participant registry.
type Participants interface {
	Get(id string) (participant.Participant, bool)
}

// Outbox takes the callbacks announcing disputes (notice.Outbox).
type Outbox interface {
	Add(ctx context.Context, tx *sql.Tx, participant, event string, body []byte) error
	Raised(participant string)
}

// FraudMarker files a fraud report against the payee alias of a
// payment (risk.Engine).
type FraudMarker interface {
	Report(ctx context.Context, reporter, transferID, reason, detail string) (risk.Report, bool, error)
}

// FraudReason is the risk report reason of a fraud dispute accepted: the
// payer was deceived into paying (or did not pay), and the payee alias
// received it.
const FraudReason = "scam"

// The callback events.
const (
	// EventOpened goes to the payee participant.
	EventOpened = "dispute.opened"
	// EventAccepted goes to the payer participant, and to the payee when
	// the switch accepted for it.
	EventAccepted = "dispute.accepted"
	// EventRejected goes to the payer participant.
	EventRejected = "dispute.rejected"
)

// Config tunes disputes. EnsureDefaults states every default; Validate
// refuses what is out of range.
type Config struct {
	// DisputeDays is how long after a payment it may be disputed (80),
	// and how long after it money arriving on the payee is held.
	DisputeDays int
	// ResponseDays is how long the payee has to answer (7).
	ResponseDays int
	// TopUpInterval is how often a dispute holding less than its amount
	// tries to hold more (24 h).
	TopUpInterval time.Duration
}

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	if c.DisputeDays == 0 {
		c.DisputeDays = 80
	}
	if c.ResponseDays == 0 {
		c.ResponseDays = 7
	}
	if c.TopUpInterval == 0 {
		c.TopUpInterval = 24 * time.Hour
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	switch {
	case c.DisputeDays < 1 || c.DisputeDays > 366:
		return fmt.Errorf("dispute days %d: must be 1 to 366", c.DisputeDays)
	case c.ResponseDays < 1 || c.ResponseDays > 30:
		return fmt.Errorf("dispute response days %d: must be 1 to 30", c.ResponseDays)
	case c.TopUpInterval < time.Minute || c.TopUpInterval > 7*24*time.Hour:
		return fmt.Errorf("dispute top-up interval %v: must be 1m to 168h", c.TopUpInterval)
	}
	return nil
}

// Deps are what disputes are built on; all but Fraud (nil: no report)
// and Now (nil: time.Now) are required.
type Deps struct {
	DB           *sqldb.DB
	Ledger       Ledger
	Transfers    Transfers
	Participants Participants
	Notices      Outbox
	Fraud        FraudMarker
	// Render makes the callback document of an event about d.
	Render func(event string, d *Dispute) ([]byte, error)
	Now    func() time.Time
}

// Service keeps disputes.
type Service struct {
	Deps
	cfg Config
}

// New builds the service from cfg, which must be valid (EnsureDefaults
// first), and its dependencies.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dispute: %w", err)
	}
	if d.DB == nil || d.Ledger == nil || d.Transfers == nil || d.Participants == nil || d.Notices == nil || d.Render == nil {
		return nil, errors.New("dispute: db, ledger, transfers, participants, notices and render are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{Deps: d, cfg: cfg}, nil
}

const day = 24 * time.Hour

// Open disputes payer's committed payment transferID, for reason (Fraud
// or Error) with detail for the payee, and holds what the payee has of
// it now. The same dispute again (same reason and detail) while it is
// open answers it (created false); another is ErrOpen.
func (s *Service) Open(ctx context.Context, payer participant.Participant, transferID, reason, detail string) (Dispute, bool, error) {
	now := s.Now()
	switch {
	case reason != Fraud && reason != Error:
		return Dispute{}, false, fmt.Errorf("%w: reason must be fraud or error", ErrInvalid)
	case !validText(detail, DetailMax):
		return Dispute{}, false, fmt.Errorf("%w: detail must be at most %d characters of printable text", ErrInvalid, DetailMax)
	case payer.Status != participant.Active:
		return Dispute{}, false, fmt.Errorf("participant %s: %w", payer.ID, transfer.ErrSuspended)
	}
	t, err := s.Transfers.Get(ctx, transfer.Viewer{Participant: payer.ID}, transferID)
	switch {
	case err != nil:
		return Dispute{}, false, err
	case t.Payer != payer.ID:
		return Dispute{}, false, fmt.Errorf("transfer %s: %w", transferID, ErrForbidden)
	case t.State != transfer.Committed || t.Payee.Type == transfer.RefundType || t.Payee.Type == transfer.ReturnType ||
		t.Payee.Type == transfer.DisputeType:
		return Dispute{}, false, fmt.Errorf("transfer %s: %w", transferID, ErrNotDisputable)
	case now.After(t.CreatedAt.Add(time.Duration(s.cfg.DisputeDays) * day)):
		return Dispute{}, false, fmt.Errorf("transfer %s of %s, %d days: %w", transferID, t.CreatedAt.Format(time.RFC3339),
			s.cfg.DisputeDays, ErrWindowPassed)
	}
	unlock := lock("transfer/" + transferID)
	defer unlock()
	if d, err := s.scanOne(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM disputes WHERE transfer_id = $1 AND state = $2`,
		transferID, string(Open))); err == nil {
		if d.Payer != payer.ID || d.Reason != reason || d.Detail != detail {
			return Dispute{}, false, fmt.Errorf("transfer %s: dispute %s: %w", transferID, d.ID, ErrOpen)
		}
		return d, false, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Dispute{}, false, fmt.Errorf("dispute of %s: %w", transferID, err)
	}
	var disputed int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM disputes WHERE transfer_id = $1`, transferID).Scan(&disputed); err != nil {
		return Dispute{}, false, fmt.Errorf("dispute of %s: %w", transferID, err)
	}
	if disputed >= PerPaymentMax {
		// Each dispute freezes the payee's money, and one it misses is
		// accepted: a payment is disputed a few times, not without end.
		return Dispute{}, false, fmt.Errorf("transfer %s was disputed %d times: %w", transferID, disputed, ErrTooMany)
	}
	amount, err := s.Transfers.Refundable(ctx, transferID)
	if err != nil {
		return Dispute{}, false, err
	}
	if amount <= 0 {
		return Dispute{}, false, fmt.Errorf("transfer %s: %w", transferID, ErrPaidBack)
	}
	d := Dispute{ID: newID(), TransferID: transferID, Payer: payer.ID, Payee: t.Payee.Participant, Reason: reason, Detail: detail,
		Amount: amount, Currency: t.Currency, State: Open, CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
		RespondBy: now.Add(time.Duration(s.cfg.ResponseDays) * day).UTC(), holdAt: now.UnixNano()}
	d.HoldUntil = t.CreatedAt.Add(time.Duration(s.cfg.DisputeDays) * day).UTC()
	if d.HoldUntil.Before(d.RespondBy) {
		d.HoldUntil = d.RespondBy
	}
	sum := sha256.Sum256([]byte(detail))
	if _, err := mark.Record(ctx, s.Ledger, mark.Mark{Purpose: purpose.Dispute, Currency: d.Currency, Key: []string{"opened", d.ID},
		Fields: []string{"opened", d.ID, d.TransferID, d.Payer, d.Payee, d.Reason, strconv.FormatInt(int64(d.Amount), 10),
			d.Currency.String(), hex.EncodeToString(sum[:]), nanos(d.RespondBy), nanos(d.HoldUntil)},
	}); err != nil {
		return Dispute{}, false, fmt.Errorf("dispute of %s: %w", transferID, err)
	}
	err = s.DB.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO disputes (id, transfer_id, payer, payee, reason, detail, amount, currency,
			held, refunded, state, decided_by, reject_reason, respond_by, hold_until, holds, hold_at, check_at, reported, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9, '', '', $10, $11, 0, $12, $12, 0, $12, $12)`,
			d.ID, d.TransferID, d.Payer, d.Payee, d.Reason, d.Detail, int64(d.Amount), d.Currency.String(), string(d.State),
			d.RespondBy.UnixNano(), d.HoldUntil.UnixNano(), now.UnixNano()); err != nil {
			return err
		}
		return s.notify(ctx, tx, d.Payee, EventOpened, &d)
	})
	if sqldb.IsUniqueViolation(err) {
		unlock()
		return s.Open(ctx, payer, transferID, reason, detail) // another open of the same payment won
	} else if err != nil {
		return Dispute{}, false, fmt.Errorf("dispute of %s: %w", transferID, err)
	}
	s.Notices.Raised(d.Payee)
	defer lock(d.ID)()
	if got, err := s.settle(ctx, d.ID); err == nil {
		d = got
	} // else the sweep holds: the dispute is open and told
	return d, true, nil
}

// Get returns dispute id as viewer (a participant id, or "" for the
// operator and the regulator) may see it: its payer and payee only.
func (s *Service) Get(ctx context.Context, viewer, id string) (Dispute, error) {
	d, err := s.load(ctx, id)
	if err != nil {
		return Dispute{}, err
	}
	if viewer != "" && viewer != d.Payer && viewer != d.Payee {
		return Dispute{}, fmt.Errorf("dispute %s: %w", id, ErrNotFound)
	}
	if d.State == Open && !s.Now().Before(d.RespondBy) {
		defer lock(id)()
		return s.settle(ctx, id)
	}
	return d, nil
}

// Accept accepts dispute id for payee, the payment's payee participant:
// what is held goes back to the payer, and what is still outstanding
// will as it arrives, until HoldUntil. Accepting again answers the
// dispute as it stands; a rejected one is ErrClosed.
func (s *Service) Accept(ctx context.Context, payee participant.Participant, id string) (Dispute, error) {
	defer lock(id)()
	d, err := s.actor(ctx, payee.ID, id)
	if err != nil {
		return Dispute{}, err
	}
	switch d.State {
	case Accepted:
		return d, nil
	case Rejected:
		return d, fmt.Errorf("dispute %s is %s: %w", id, d.State, ErrClosed)
	}
	if d, err = s.decide(ctx, d, Accepted, ByPayee, ""); err != nil {
		return Dispute{}, err
	}
	if d, err = s.settle(ctx, id); err != nil {
		return Dispute{}, err
	}
	if d.State != Accepted {
		return d, fmt.Errorf("dispute %s is %s: %w", id, d.State, ErrClosed)
	}
	return d, nil
}

// Reject rejects dispute id for payee, with a reason the payer is told:
// what is held is released. Rejecting again answers the dispute as it
// stands; an accepted one (by the payee, or unanswered) is ErrClosed.
func (s *Service) Reject(ctx context.Context, payee participant.Participant, id, reason string) (Dispute, error) {
	if strings.TrimSpace(reason) == "" || !validText(reason, ReasonMax) {
		return Dispute{}, fmt.Errorf("%w: reason must be 1 to %d characters of printable text", ErrInvalid, ReasonMax)
	}
	defer lock(id)()
	d, err := s.actor(ctx, payee.ID, id)
	if err != nil {
		return Dispute{}, err
	}
	switch d.State {
	case Rejected:
		return d, nil
	case Accepted:
		return d, fmt.Errorf("dispute %s is %s: %w", id, d.State, ErrClosed)
	}
	if d, err = s.decide(ctx, d, Rejected, ByPayee, reason); err != nil {
		return Dispute{}, err
	}
	if d, err = s.settle(ctx, id); err != nil {
		return Dispute{}, err
	}
	if d.State != Rejected {
		return d, fmt.Errorf("dispute %s is %s: %w", id, d.State, ErrClosed)
	}
	return d, nil
}

// actor loads dispute id, settled, for its payee participant to act on.
func (s *Service) actor(ctx context.Context, payee, id string) (Dispute, error) {
	d, err := s.load(ctx, id)
	switch {
	case err != nil:
		return Dispute{}, err
	case d.Payer == payee:
		return Dispute{}, fmt.Errorf("dispute %s: %w", id, ErrForbidden)
	case d.Payee != payee:
		return Dispute{}, fmt.Errorf("dispute %s: %w", id, ErrNotFound)
	}
	return s.settle(ctx, id)
}

// decide records d's decision: the "decided" mark, then its state and
// the notices in one transaction. If another decision was recorded
// before (a crash cut it short), that one stands and is completed.
func (s *Service) decide(ctx context.Context, d Dispute, st State, by, reason string) (Dispute, error) {
	fields := []string{strings.ToLower(string(st)), d.ID, by}
	if st == Rejected {
		fields = append(fields, reason)
	}
	m := mark.Mark{Purpose: purpose.Dispute, Currency: d.Currency, Key: []string{"decided", d.ID}, Fields: fields}
	_, err := mark.Record(ctx, s.Ledger, m)
	if errors.Is(err, mark.ErrConflict) {
		jt, rerr := s.Ledger.Transfer(ctx, m.ID())
		f, ok := mark.Decode(jt.Meta)
		if rerr != nil || !ok || len(f) < 3 || f[1] != d.ID {
			return Dispute{}, fmt.Errorf("dispute %s: decision mark unreadable: %v", d.ID, rerr)
		}
		st, by, reason = State(strings.ToUpper(f[0])), f[2], ""
		if st == Rejected && len(f) > 3 {
			reason = f[3]
		}
		if _, ok := ParseState(string(st)); !ok || st == Open {
			return Dispute{}, fmt.Errorf("dispute %s: decision mark of %q", d.ID, f[0])
		}
	} else if err != nil {
		return Dispute{}, fmt.Errorf("dispute %s: %w", d.ID, err)
	}
	now := s.Now().UTC()
	d.State, d.DecidedBy, d.RejectReason, d.UpdatedAt = st, by, reason, now
	event, to := EventAccepted, []string{d.Payer}
	if st == Rejected {
		event = EventRejected
	} else if by == BySwitch {
		to = append(to, d.Payee)
	}
	var told bool
	err = s.DB.Transact(ctx, func(tx *sql.Tx) error {
		told = false
		res, err := tx.ExecContext(ctx, `UPDATE disputes SET state = $1, decided_by = $2, reject_reason = $3, check_at = $4,
			updated_at = $4 WHERE id = $5 AND state = $6`, string(st), by, reason, now.UnixNano(), d.ID, string(Open))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // decided meanwhile: no second notice
		}
		for _, p := range to {
			if err := s.notify(ctx, tx, p, event, &d); err != nil {
				return err
			}
		}
		told = true
		return nil
	})
	if err != nil {
		return Dispute{}, fmt.Errorf("dispute %s: %w", d.ID, err)
	}
	if told {
		for _, p := range to {
			s.Notices.Raised(p)
		}
	}
	return s.load(ctx, d.ID)
}

// notify adds the callback of event about d to participant, in tx.
func (s *Service) notify(ctx context.Context, tx *sql.Tx, to, event string, d *Dispute) error {
	body, err := s.Render(event, d)
	if err != nil {
		return err
	}
	return s.Notices.Add(ctx, tx, to, event, body)
}

// newID is a new dispute id: "D" and 20 characters of base32 (100
// random bits).
func newID() string {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return "D" + base32.StdEncoding.EncodeToString(b[:])[:20]
}

func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// validText reports whether s is at most max characters of printable
// UTF-8.
func validText(s string, max int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// never is a check_at that no sweep reaches.
const never = math.MaxInt64

// locks order what is done to one dispute (and the opening of disputes
// of one payment).
var locks keylock.Locks

// lock locks key's lock and returns its unlock, which may be called
// more than once.
func lock(key string) func() { return locks.Lock(key) }
