package mandate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/keylock"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// Mandate is a stored mandate.
type Mandate struct {
	ID string
	// Biller is the payee participant that proposed it and is paid.
	Biller string
	// PayerType and PayerValue are the payer's alias (normalized); Payer
	// its participant, which approves and is debited.
	PayerType, PayerValue, Payer string
	Terms
	Description string
	State       State
	// DueAt is a scheduled mandate's next execution (zero: none).
	DueAt                time.Time
	CreatedAt, UpdatedAt time.Time

	tryAt    time.Time
	attempt  int
	notified int64
	changes  int
}

// Proposal is a biller's proposal.
type Proposal struct {
	ID                    string
	PayerType, PayerValue string
	Terms
	Description string
}

// Execution is one pull of a mandate: a transfer from the payer to the
// biller.
type Execution struct {
	// ID is the transfer's id.
	ID, Mandate string
	Amount      money.Amount
	Currency    money.Currency
	Reference   string
	PeriodStart time.Time
	// Scheduled is true for the switch's own executions.
	Scheduled bool
	// State is PENDING (its payment is being made or held), COMMITTED
	// or FAILED (Reason says why).
	State                string
	Reason               string
	CreatedAt, UpdatedAt time.Time
}

// The execution states.
const (
	ExecPending   = "PENDING"
	ExecCommitted = "COMMITTED"
	ExecFailed    = "FAILED"
)

// Limits and errors of the service.
const (
	// DescriptionMax bounds a mandate's description, in characters.
	DescriptionMax = 140
	// ReferenceMax bounds an execution's reference, in characters.
	ReferenceMax = 140
	// ListMax is the largest page List returns.
	ListMax = 1000
	// PerPayerMax bounds the mandates pending or active for one payer
	// alias: more is a biller farming authorities.
	PerPayerMax = 50
	// PerBillerMax bounds one biller's share of them.
	PerBillerMax = 10
)

var (
	// ErrNotFound means no such mandate or execution, or none the
	// caller may see.
	ErrNotFound = fault.New(fault.NotFound, "", "mandate not found")
	// ErrConflict means the id was used for another mandate or
	// execution.
	ErrConflict = fault.New(fault.Conflict, "duplicate-conflict", "the id was used for another mandate or execution")
	// ErrTooMany means the payer alias has PerPayerMax mandates already.
	ErrTooMany = fault.New(fault.Conflict, "mandate-limit", "too many mandates for this payer")
	// ErrReservedID means a client chose an id of the switch's own
	// scheduled executions.
	ErrReservedID = fault.New(fault.Invalid, "", "ids beginning return:, mandate or dispute: are the switch's")
)

// Payments is what mandates need of the payment flow.
type Payments interface {
	Create(ctx context.Context, payer participant.Participant, req transfer.Request) (transfer.Transfer, bool, error)
	Get(ctx context.Context, v transfer.Viewer, id string) (transfer.Transfer, error)
}

// Directory finds the payer alias's participant.
type Directory interface {
	Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error)
}

// Participants is the participant registry.
type Participants interface {
	Get(id string) (participant.Participant, bool)
}

// Outbox takes the callbacks about mandates (notice.Outbox).
type Outbox interface {
	Add(ctx context.Context, tx *sql.Tx, participant, event string, body []byte) error
	Raised(participant string)
}

// The callback events.
const (
	EventProposed      = "mandate.proposed"
	EventChanged       = "mandate.changed"
	EventExecutionDue  = "mandate.execution-due"
	EventExecuted      = "mandate.executed"
	EventExecutionFail = "mandate.execution-failed"
)

// Config tunes the service.
type Config struct {
	// Location is the scheme's time zone, whose calendar periods count.
	Location *time.Location
	// Notice is how long before a scheduled execution the payer's
	// participant is told (DefaultNotice).
	Notice time.Duration
	// Retries is how many times a scheduled execution short of funds is
	// tried again, a day apart (DefaultRetries; 0 for none).
	Retries int
	// Region is the directory's default region, for phone numbers.
	Region string
}

// Service keeps mandates and executes them.
type Service struct {
	cfg          Config
	DB           *sqldb.DB
	Ledger       mark.Submitter
	Payments     Payments
	Directory    Directory
	Participants Participants
	Notices      Outbox
	// RenderMandate and RenderExecution make the callback documents.
	RenderMandate   func(event string, m *Mandate) ([]byte, error)
	RenderExecution func(event string, m *Mandate, e *Execution) ([]byte, error)
	// Screener, when set, screens each proposal as a payment of its
	// maxAmount from the payer to the biller: a decline refuses it
	// (every execution is screened again as the payment it is).
	Screener transfer.Screener
	Now      func() time.Time

	conds sync.Map // condition text → *Condition
}

// NewService returns the service with cfg (zero fields take defaults).
func NewService(cfg Config) (*Service, error) {
	if cfg.Location == nil {
		loc, err := time.LoadLocation(DefaultZone)
		if err != nil {
			return nil, err
		}
		cfg.Location = loc
	}
	if cfg.Notice == 0 {
		cfg.Notice = DefaultNotice
	}
	switch {
	case cfg.Notice < 0 || cfg.Notice > 30*24*time.Hour:
		return nil, fmt.Errorf("mandate: notice %v: 0 to 30 days", cfg.Notice)
	case cfg.Retries < 0 || cfg.Retries > 27:
		return nil, fmt.Errorf("mandate: retries %d: 0 to 27", cfg.Retries)
	}
	if cfg.Region == "" {
		cfg.Region = directory.DefaultRegion
	}
	return &Service{cfg: cfg}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// condition returns t's condition compiled, once per text.
func (s *Service) condition(expr string) (*Condition, error) {
	if expr == "" {
		return nil, nil
	}
	if c, ok := s.conds.Load(expr); ok {
		return c.(*Condition), nil
	}
	c, err := CompileCondition(expr)
	if err != nil {
		return nil, err
	}
	s.conds.Store(expr, c)
	return c, nil
}

// Propose records biller's proposal, PENDING until the payer's
// participant approves it; that participant is told (mandate.proposed).
// The same proposal again answers the first (created false).
func (s *Service) Propose(ctx context.Context, biller participant.Participant, p Proposal) (Mandate, bool, error) {
	now := s.now()
	switch {
	case !transfer.ValidID(p.ID):
		return Mandate{}, false, fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, transfer.IDMax)
	case !text(p.Description, DescriptionMax):
		return Mandate{}, false, fmt.Errorf("%w: description must be at most %d characters of printable text", ErrInvalid, DescriptionMax)
	case biller.Status != participant.Active:
		return Mandate{}, false, fmt.Errorf("participant %s: %w", biller.ID, transfer.ErrSuspended)
	case !biller.Uses(p.Currency):
		return Mandate{}, false, fmt.Errorf("%s is not enabled for %s: %w", biller.ID, p.Currency, transfer.ErrCurrency)
	}
	p.ValidFrom, p.ValidUntil = p.ValidFrom.UTC().Round(0), p.ValidUntil.UTC().Round(0)
	if err := p.Terms.Validate(now); err != nil {
		return Mandate{}, false, err
	}
	typ, err := directory.ParseType(p.PayerType)
	if err != nil {
		return Mandate{}, false, fmt.Errorf("%w: payer type: %v", ErrInvalid, err)
	}
	value, err := directory.LookupKey(typ, p.PayerValue, s.cfg.Region)
	if err != nil {
		return Mandate{}, false, fmt.Errorf("%w: payer value: %v", ErrInvalid, err)
	}
	if m, err := s.load(ctx, p.ID); err == nil {
		if m.Biller != biller.ID || m.PayerType != string(typ) || m.PayerValue != value || m.Description != p.Description ||
			!sameTerms(m.Terms, p.Terms) {
			return Mandate{}, false, fmt.Errorf("mandate %s: %w", p.ID, ErrConflict)
		}
		return m, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Mandate{}, false, err
	}
	party, err := s.Directory.Lookup(ctx, typ, value)
	if errors.Is(err, directory.ErrNotFound) {
		return Mandate{}, false, fmt.Errorf("payer %s %s: %w", typ, value, transfer.ErrUnknownParty)
	} else if err != nil {
		return Mandate{}, false, fmt.Errorf("payer %s %s: %w", typ, value, err)
	}
	payer, ok := s.Participants.Get(party.Participant)
	switch {
	case !ok:
		return Mandate{}, false, fmt.Errorf("payer %s %s: %w", typ, value, transfer.ErrUnknownParty)
	case payer.ID == biller.ID:
		return Mandate{}, false, fmt.Errorf("payer %s %s: %w", typ, value, transfer.ErrSameParticipant)
	case payer.Status != participant.Active:
		return Mandate{}, false, fmt.Errorf("payer participant %s: %w", payer.ID, transfer.ErrSuspended)
	case !payer.Uses(p.Currency) || party.Currency != p.Currency:
		return Mandate{}, false, fmt.Errorf("payer %s %s does not pay in %s: %w", typ, value, p.Currency, transfer.ErrCurrency)
	}
	// The count and the insert below under one lock per alias, so that
	// racing proposals cannot pass the bounds together.
	defer aliasLocks.Lock(string(typ) + ":" + value)()
	var n, mine int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN biller = $3 THEN 1 ELSE 0 END), 0)
		FROM mandates WHERE payer_type = $1 AND payer_value = $2 AND state IN ('PENDING', 'ACTIVE', 'PAUSED')`,
		string(typ), value, biller.ID).Scan(&n, &mine); err != nil {
		return Mandate{}, false, fmt.Errorf("mandate %s: %w", p.ID, err)
	}
	if n >= PerPayerMax || mine >= PerBillerMax {
		return Mandate{}, false, fmt.Errorf("payer %s %s has %d mandates, %d of them with %s: %w", typ, value, n, mine, biller.ID, ErrTooMany)
	}
	if s.Screener != nil {
		sc := transfer.Screening{ID: "mandate/" + p.ID, Payer: &payer, Payee: &biller, PayeeType: transfer.AccountType,
			PayeeValue: transfer.AccountPayee(biller.ID, p.ID), PayeeAccount: p.ID, Amount: p.MaxAmount, Currency: p.Currency,
			Note: p.Description, At: now, Prospective: true}
		if _, err := s.Screener.Screen(ctx, &sc); err != nil {
			return Mandate{}, false, err
		}
	}
	m := Mandate{ID: p.ID, Biller: biller.ID, PayerType: string(typ), PayerValue: value, Payer: payer.ID, Terms: p.Terms,
		Description: p.Description, State: StatePending, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	condSum, descSum := sha256.Sum256([]byte(m.Condition)), sha256.Sum256([]byte(m.Description))
	var sm, sd int
	var sa money.Amount
	if m.Schedule != nil {
		sm, sd, sa = m.Schedule.Month, m.Schedule.Day, m.Schedule.Amount
	}
	if _, err := mark.Record(ctx, s.Ledger, mark.Mark{Purpose: purpose.Mandate, Currency: m.Currency, Key: []string{"proposed", m.ID},
		Fields: []string{"proposed", m.ID, m.Biller, m.PayerType, m.PayerValue, m.Payer, itoa(int64(m.MaxAmount)), m.Currency.String(),
			string(m.Frequency), itoa(m.ValidFrom.UnixNano()), itoa(m.ValidUntil.UnixNano()), hex.EncodeToString(condSum[:]),
			itoa(int64(sm)), itoa(int64(sd)), itoa(int64(sa)), hex.EncodeToString(descSum[:])},
	}); errors.Is(err, mark.ErrConflict) {
		return Mandate{}, false, fmt.Errorf("mandate %s: %w", m.ID, ErrConflict)
	} else if err != nil {
		return Mandate{}, false, fmt.Errorf("mandate %s: %w", m.ID, err)
	}
	err = s.DB.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mandates (id, biller, payer_type, payer_value, payer, max_amount, currency,
			frequency, valid_from, valid_until, description, condition, sched_month, sched_day, sched_amount, state, due_at, try_at,
			attempt, notified, changes, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, 0, 0, 0, 0, $17, $17)`,
			m.ID, m.Biller, m.PayerType, m.PayerValue, m.Payer, int64(m.MaxAmount), m.Currency.String(), string(m.Frequency),
			m.ValidFrom.UnixNano(), m.ValidUntil.UnixNano(), m.Description, m.Condition, sm, sd, int64(sa), string(m.State),
			m.CreatedAt.UnixNano()); err != nil {
			return err
		}
		return s.notifyMandate(ctx, tx, m.Payer, EventProposed, &m)
	})
	if sqldb.IsUniqueViolation(err) {
		return s.Propose(ctx, biller, p)
	} else if err != nil {
		return Mandate{}, false, fmt.Errorf("mandate %s: %w", m.ID, err)
	}
	s.Notices.Raised(m.Payer)
	return m, true, nil
}

// sameTerms reports whether two terms are the same proposal's.
func sameTerms(a, b Terms) bool {
	sameSched := a.Schedule == nil && b.Schedule == nil ||
		a.Schedule != nil && b.Schedule != nil && *a.Schedule == *b.Schedule
	return a.MaxAmount == b.MaxAmount && a.Currency == b.Currency && a.Frequency == b.Frequency &&
		a.ValidFrom.Equal(b.ValidFrom) && a.ValidUntil.Equal(b.ValidUntil) && a.Condition == b.Condition && sameSched
}

// Get returns mandate id as viewer (a participant id, or "" for the
// operator and the regulator) may see it: its biller and payer only.
func (s *Service) Get(ctx context.Context, viewer, id string) (Mandate, error) {
	m, err := s.load(ctx, id)
	if err == nil && viewer != "" && viewer != m.Biller && viewer != m.Payer {
		err = fmt.Errorf("mandate %s: %w", id, ErrNotFound)
	}
	return m, err
}

// Act applies action to mandate id for the participant who asks:
// approve, reject, pause and resume are the payer's; revoke either
// side's. Repeating the action just taken answers the mandate as it is.
func (s *Service) Act(ctx context.Context, who participant.Participant, id string, action Action) (Mandate, error) {
	defer lock(id)()
	m, err := s.load(ctx, id)
	if err != nil {
		return Mandate{}, err
	}
	var side Side
	switch who.ID {
	case m.Payer:
		side = SidePayer
	case m.Biller:
		side = SidePayee
	default:
		return Mandate{}, fmt.Errorf("mandate %s: %w", id, ErrNotFound)
	}
	if m.Expired(s.now()) && !m.State.Final() {
		if m, err = s.change(ctx, m, ActionExpire, SideSwitch); err != nil {
			return Mandate{}, err
		}
	}
	to, err := m.State.Apply(action, side)
	if errors.Is(err, ErrState) && done(action, m.State) {
		return m, nil // a retry of what was done
	}
	if err != nil {
		return m, fmt.Errorf("mandate %s: %w", id, err)
	}
	_ = to
	return s.change(ctx, m, action, side)
}

// done reports whether state is what action leads to: the action was
// taken already.
func done(a Action, st State) bool {
	switch a {
	case ActionApprove, ActionResume:
		return st == StateActive
	case ActionReject:
		return st == StateRejected
	case ActionPause:
		return st == StatePaused
	case ActionRevoke:
		return st == StateRevoked
	}
	return false
}

// change applies action by side to m and records it — its mark, then
// its row and the other side's callback in one transaction. Approving
// or resuming a scheduled mandate sets its next due execution.
func (s *Service) change(ctx context.Context, m Mandate, action Action, side Side) (Mandate, error) {
	to, err := m.State.Apply(action, side)
	if err != nil {
		return m, fmt.Errorf("mandate %s: %w", m.ID, err)
	}
	if _, err := mark.Record(ctx, s.Ledger, mark.Mark{Purpose: purpose.Mandate, Currency: m.Currency,
		Key: []string{string(action), m.ID, strconv.Itoa(m.changes)}, Fields: []string{string(action), m.ID, string(side), string(to)},
	}); err != nil && !errors.Is(err, mark.ErrConflict) {
		return m, fmt.Errorf("mandate %s: %w", m.ID, err)
	}
	now := s.now().UTC()
	from := m.State
	m.State, m.UpdatedAt = to, now
	if to == StateActive {
		// The first due time of the current period, even past: a mandate
		// approved (or resumed) after its day, before the period ends,
		// is executed for it at once, unless it was already.
		m.DueAt, m.tryAt, m.attempt = time.Time{}, time.Time{}, 0
		start, _ := m.PeriodAt(now, s.cfg.Location)
		if due, ok := Next(m.Terms, start.Add(-time.Nanosecond), s.cfg.Location); ok {
			m.DueAt, m.tryAt = due, due
		}
	}
	err = s.DB.Transact(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mandates SET state = $1, due_at = $2, try_at = $3, attempt = $4, changes = changes + 1,
			updated_at = $5 WHERE id = $6 AND state = $7 AND changes = $8`,
			string(to), unixOr0(m.DueAt), unixOr0(m.tryAt), m.attempt, now.UnixNano(), m.ID, string(from), m.changes)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("mandate %s changed meanwhile: %w", m.ID, ErrState)
		}
		for _, to := range []string{m.Payer, m.Biller} {
			if (side == SidePayer && to == m.Payer) || (side == SidePayee && to == m.Biller) {
				continue // the side that acted knows
			}
			if err := s.notifyMandate(ctx, tx, to, EventChanged, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Mandate{}, fmt.Errorf("mandate %s: %w", m.ID, err)
	}
	s.Notices.Raised(m.Payer)
	s.Notices.Raised(m.Biller)
	return s.load(ctx, m.ID)
}

// Execute pulls amount from the payer to biller under mandate id, as
// transfer execID: within the mandate's terms (Allowed), an ordinary,
// screened payment to the biller's account of the mandate (payee type
// ACCOUNT, value "<biller>/<mandate id>"). The payer's participant is
// told after (mandate.executed, or mandate.execution-failed). The same
// execution again answers it as it stands.
func (s *Service) Execute(ctx context.Context, biller participant.Participant, id, execID string, amount money.Amount,
	reference string) (Execution, bool, error) {
	switch {
	case !transfer.ValidID(execID):
		return Execution{}, false, fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, transfer.IDMax)
	case transfer.ReservedID(execID):
		return Execution{}, false, ErrReservedID
	case !text(reference, ReferenceMax):
		return Execution{}, false, fmt.Errorf("%w: reference must be at most %d characters of printable text", ErrInvalid, ReferenceMax)
	}
	defer lock(id)()
	m, err := s.load(ctx, id)
	if err != nil {
		return Execution{}, false, err
	}
	switch biller.ID {
	case m.Biller:
	case m.Payer:
		return Execution{}, false, fmt.Errorf("mandate %s: only its biller executes it: %w", id, ErrWrongSide)
	default:
		return Execution{}, false, fmt.Errorf("mandate %s: %w", id, ErrNotFound)
	}
	return s.execute(ctx, m, execID, amount, reference, false)
}

// execute makes execution execID of m, under m's lock.
func (s *Service) execute(ctx context.Context, m Mandate, execID string, amount money.Amount, reference string,
	scheduled bool) (Execution, bool, error) {
	now := s.now()
	if e, err := s.execution(ctx, execID); err == nil {
		if e.Mandate != m.ID || e.Amount != amount || e.Reference != reference {
			return Execution{}, false, fmt.Errorf("execution %s: %w", execID, ErrConflict)
		}
		e, err = s.settle(ctx, m, e)
		return e, false, err
	} else if !errors.Is(err, ErrNotFound) {
		return Execution{}, false, err
	}
	if m.Expired(now) && !m.State.Final() {
		var err error
		if m, err = s.change(ctx, m, ActionExpire, SideSwitch); err != nil {
			return Execution{}, false, err
		}
	}
	if err := m.State.Executable(); err != nil {
		return Execution{}, false, fmt.Errorf("mandate %s: %w", m.ID, err)
	}
	cond, err := s.condition(m.Condition)
	if err != nil {
		return Execution{}, false, err
	}
	start, _ := m.PeriodAt(now, s.cfg.Location)
	u, err := s.usage(ctx, m.ID, start)
	if err != nil {
		return Execution{}, false, err
	}
	if err := Allowed(m.Terms, cond, u, amount, now, s.cfg.Location); err != nil {
		return Execution{}, false, fmt.Errorf("mandate %s: %w", m.ID, err)
	}
	payer, ok := s.Participants.Get(m.Payer)
	if !ok {
		return Execution{}, false, fmt.Errorf("payer %s: %w", m.Payer, transfer.ErrUnknownParty)
	}
	how := "biller"
	if scheduled {
		how = "scheduled"
	}
	if _, err := mark.Record(ctx, s.Ledger, mark.Mark{Purpose: purpose.Mandate, Currency: m.Currency, Key: []string{"execution", execID},
		Fields: []string{"execution", m.ID, execID, itoa(int64(amount)), itoa(start.UnixNano()), how}}); errors.Is(err, mark.ErrConflict) {
		return Execution{}, false, fmt.Errorf("execution %s: %w", execID, ErrConflict)
	} else if err != nil {
		return Execution{}, false, fmt.Errorf("execution %s: %w", execID, err)
	}
	e := Execution{ID: execID, Mandate: m.ID, Amount: amount, Currency: m.Currency, Reference: reference, PeriodStart: start,
		Scheduled: scheduled, State: ExecPending, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO mandate_executions (id, mandate, amount, reference, period_start, scheduled,
		state, reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $8)`,
		e.ID, e.Mandate, int64(e.Amount), e.Reference, start.UnixNano(), boolInt(scheduled), e.State, now.UnixNano()); err != nil {
		if sqldb.IsUniqueViolation(err) {
			return Execution{}, false, fmt.Errorf("execution %s: %w", execID, ErrConflict)
		}
		return Execution{}, false, fmt.Errorf("execution %s: %w", execID, err)
	}
	e, err = s.pay(ctx, m, e, payer)
	return e, true, err
}

// pay makes execution e's payment and records its outcome: refused, the
// execution is FAILED and the refusal returned.
func (s *Service) pay(ctx context.Context, m Mandate, e Execution, payer participant.Participant) (Execution, error) {
	t, _, err := s.Payments.Create(ctx, payer, transfer.Request{ID: e.ID, PayeeType: transfer.AccountType,
		PayeeValue: transfer.AccountPayee(m.Biller, m.ID), Amount: e.Amount, Currency: m.Currency, Note: e.Reference})
	if err != nil {
		e, ferr := s.finishExecution(ctx, m, e, ExecFailed, err.Error())
		if ferr != nil {
			return Execution{}, ferr
		}
		return e, err
	}
	return s.outcome(ctx, m, e, &t)
}

// settle brings a PENDING execution up to date with its payment.
func (s *Service) settle(ctx context.Context, m Mandate, e Execution) (Execution, error) {
	if e.State != ExecPending {
		return e, nil
	}
	t, err := s.Payments.Get(ctx, transfer.Viewer{}, e.ID)
	if errors.Is(err, transfer.ErrNotFound) {
		// The switch stopped after the execution was recorded, before its
		// payment was made: make it now (under the mandate's lock, so not
		// twice), as the execution was allowed then.
		payer, ok := s.Participants.Get(m.Payer)
		if !ok {
			return e, fmt.Errorf("payer %s: %w", m.Payer, transfer.ErrUnknownParty)
		}
		return s.pay(ctx, m, e, payer)
	} else if err != nil {
		return e, err
	}
	return s.outcome(ctx, m, e, &t)
}

// outcome records what became of execution e's payment t.
func (s *Service) outcome(ctx context.Context, m Mandate, e Execution, t *transfer.Transfer) (Execution, error) {
	switch t.State {
	case transfer.Committed:
		e, err := s.finishExecution(ctx, m, e, ExecCommitted, "")
		if err == nil && m.Frequency == FrequencyOnce && m.State == StateActive {
			_, err = s.change(ctx, m, ActionComplete, SideSwitch)
		}
		return e, err
	case transfer.Aborted:
		return s.finishExecution(ctx, m, e, ExecFailed, "payment aborted: "+t.Reason)
	}
	return e, nil // held for review, or waiting for a confirm-mode biller
}

// finishExecution records e's end and tells the payer's participant.
func (s *Service) finishExecution(ctx context.Context, m Mandate, e Execution, state, reason string) (Execution, error) {
	if r := []rune(reason); len(r) > ReferenceMax {
		reason = string(r[:ReferenceMax])
	}
	e.State, e.Reason, e.UpdatedAt = state, reason, s.now().UTC()
	event := EventExecuted
	if state == ExecFailed {
		event = EventExecutionFail
	}
	err := s.DB.Transact(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mandate_executions SET state = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state = $5`,
			e.State, e.Reason, e.UpdatedAt.UnixNano(), e.ID, ExecPending)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // ended meanwhile
		}
		for _, to := range []string{m.Payer, m.Biller} {
			body, err := s.RenderExecution(event, &m, &e)
			if err != nil {
				return err
			}
			if err := s.Notices.Add(ctx, tx, to, event, body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Execution{}, fmt.Errorf("execution %s: %w", e.ID, err)
	}
	s.Notices.Raised(m.Payer)
	s.Notices.Raised(m.Biller)
	return e, nil
}

// usage counts the executions of mandate id that count against its
// limits: committed or in flight, in the period from start and in all.
func (s *Service) usage(ctx context.Context, id string, start time.Time) (Usage, error) {
	var u Usage
	var total int64
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM mandate_executions
		WHERE mandate = $1 AND period_start = $2 AND state IN ('PENDING', 'COMMITTED')`, id, start.UnixNano()).
		Scan(&u.ExecutionsThisPeriod, &total)
	if err == nil {
		err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM mandate_executions WHERE mandate = $1 AND state IN ('PENDING', 'COMMITTED')`,
			id).Scan(&u.ExecutionsTotal)
	}
	if err != nil {
		return Usage{}, fmt.Errorf("mandate %s: %w", id, err)
	}
	u.TotalThisPeriod = money.Amount(total)
	return u, nil
}

// Executions returns mandate id's executions, newest first, as Get may
// see it.
func (s *Service) Executions(ctx context.Context, viewer, id string, limit int) ([]Execution, error) {
	m, err := s.Get(ctx, viewer, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+execColumns+` FROM mandate_executions WHERE mandate = $1
		ORDER BY created_at DESC, id LIMIT $2`, m.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("executions of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Execution
	for rows.Next() {
		e, err := scanExecution(rows, m.Currency)
		if err != nil {
			return nil, fmt.Errorf("executions of %s: %w", id, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Sweep does what time asks, at most limit mandates of each kind:
// expires mandates past their validity, sends the notices of scheduled
// executions coming within the notice, and makes the scheduled
// executions due, retrying those short of funds a day later up to
// Retries times. It returns how many mandates it acted on.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	now := s.now()
	n := 0
	// Expiry.
	ids, err := s.ids(ctx, `SELECT id FROM mandates WHERE state IN ('PENDING', 'ACTIVE', 'PAUSED') AND valid_until <= $1 LIMIT $2`,
		now.UnixNano(), limit)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		unlock := lock(id)
		m, err := s.load(ctx, id)
		if err == nil && !m.State.Final() && m.Expired(now) {
			_, err = s.change(ctx, m, ActionExpire, SideSwitch)
		}
		unlock()
		if err != nil {
			return n, err
		}
		n++
	}
	// Notices of executions coming.
	ids, err = s.ids(ctx, `SELECT id FROM mandates WHERE state = 'ACTIVE' AND due_at > 0 AND due_at <= $1 AND notified <> due_at LIMIT $2`,
		now.Add(s.cfg.Notice).UnixNano(), limit)
	if err != nil {
		return n, err
	}
	for _, id := range ids {
		if err := s.notifyDue(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	// Executions a crash left PENDING.
	ids, err = s.ids(ctx, `SELECT DISTINCT mandate FROM mandate_executions WHERE state = 'PENDING' AND updated_at <= $1 LIMIT $2`,
		now.Add(-time.Minute).UnixNano(), limit)
	if err != nil {
		return n, err
	}
	for _, id := range ids {
		if err := s.settlePending(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	// Executions due.
	ids, err = s.ids(ctx, `SELECT id FROM mandates WHERE state = 'ACTIVE' AND try_at > 0 AND try_at <= $1 LIMIT $2`,
		now.UnixNano(), limit)
	if err != nil {
		return n, err
	}
	for _, id := range ids {
		if err := s.runScheduled(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Service) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("mandates: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("mandates: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// settlePending brings mandate id's PENDING executions up to date.
func (s *Service) settlePending(ctx context.Context, id string) error {
	defer lock(id)()
	m, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+execColumns+` FROM mandate_executions WHERE mandate = $1 AND state = 'PENDING'`, id)
	if err != nil {
		return fmt.Errorf("executions of %s: %w", id, err)
	}
	var es []Execution
	for rows.Next() {
		e, err := scanExecution(rows, m.Currency)
		if err != nil {
			rows.Close()
			return fmt.Errorf("executions of %s: %w", id, err)
		}
		es = append(es, e)
	}
	rows.Close()
	for _, e := range es {
		if _, err := s.settle(ctx, m, e); err != nil && fault.KindOf(err) == fault.Internal {
			return err
		}
	}
	return nil
}

// notifyDue tells the payer's participant of mandate id's coming
// execution, once per due time.
func (s *Service) notifyDue(ctx context.Context, id string) error {
	defer lock(id)()
	m, err := s.load(ctx, id)
	if err != nil || m.DueAt.IsZero() || m.notified == m.DueAt.UnixNano() {
		return err
	}
	err = s.DB.Transact(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mandates SET notified = due_at WHERE id = $1 AND due_at = $2 AND notified <> due_at`,
			m.ID, m.DueAt.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.notifyMandate(ctx, tx, m.Payer, EventExecutionDue, &m)
	})
	if err != nil {
		return fmt.Errorf("mandate %s: %w", id, err)
	}
	s.Notices.Raised(m.Payer)
	return nil
}

// runScheduled makes mandate id's scheduled execution that is due, and
// moves its schedule on: to the next period once it committed or was
// refused for good, or a day later while it is short of funds and has
// retries left. Its transfer id is ExecutionKey of the period, so that
// a switch that stops and starts again makes the same execution, once.
func (s *Service) runScheduled(ctx context.Context, id string) error {
	defer lock(id)()
	m, err := s.load(ctx, id)
	if err != nil || m.State != StateActive || m.DueAt.IsZero() || m.tryAt.After(s.now()) || m.Schedule == nil {
		return err
	}
	start, _ := m.PeriodAt(m.DueAt, s.cfg.Location)
	key := ExecutionKey(m.ID, start)
	e, _, err := s.execute(ctx, m, key, m.Schedule.Amount, "scheduled "+m.DueAt.In(s.cfg.Location).Format(time.DateOnly), true)
	retry := false
	switch {
	case err == nil && e.State == ExecPending:
		return nil // held for review: looked at again at the next sweep
	case errors.Is(err, transfer.ErrInsufficientFunds), err == nil && e.State == ExecFailed && strings.Contains(e.Reason, "insufficient funds"):
		retry = true
	case err != nil && fault.KindOf(err) == fault.Internal:
		return err
	}
	// Done for this period, or tried again later.
	next, attempt := time.Time{}, 0
	nextTry := time.Time{}
	if retry && m.attempt < s.cfg.Retries {
		if at, ok := RetryAt(m.Terms, m.DueAt, m.attempt+1, s.cfg.Location); ok {
			next, attempt, nextTry = m.DueAt, m.attempt+1, at
		}
	}
	if next.IsZero() {
		if due, ok := Next(m.Terms, m.DueAt, s.cfg.Location); ok {
			next, nextTry = due, due
		}
	}
	if retry {
		// A failed try's execution row must not hold the period's key:
		// the retry makes the same transfer id.
		if _, err := s.DB.ExecContext(ctx, `DELETE FROM mandate_executions WHERE id = $1 AND state = $2`, key, ExecFailed); err != nil {
			return fmt.Errorf("mandate %s: %w", id, err)
		}
	}
	if _, err := s.DB.ExecContext(ctx, `UPDATE mandates SET due_at = $1, try_at = $2, attempt = $3, updated_at = $4 WHERE id = $5`,
		unixOr0(next), unixOr0(nextTry), attempt, s.now().UnixNano(), m.ID); err != nil {
		return fmt.Errorf("mandate %s: %w", id, err)
	}
	return nil
}

// Filter selects mandates to list.
type Filter struct {
	// Participant, when set, lists its mandates as Role says: as the
	// payer, or as the biller ("payee"). Empty lists all (the operator).
	Participant string
	Role        string
	State       State
	// After continues a listing: the Cursor of the last mandate seen.
	After string
	Limit int
}

// Cursor returns the listing position after m.
func (m *Mandate) Cursor() string { return sqldb.PageCursor(m.CreatedAt, m.ID) }

// List returns mandates as f asks, oldest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Mandate, error) {
	eqs, ok := sqldb.RoleEq(f.Participant, f.Role, "biller")
	switch {
	case f.Limit <= 0 || f.Limit > ListMax:
		return nil, fmt.Errorf("%w: limit must be 1 to %d", ErrInvalid, ListMax)
	case !ok:
		return nil, fmt.Errorf("%w: role must be payer or payee", ErrInvalid)
	case f.State != "":
		eqs = append(eqs, sqldb.Eq{Column: "state", Value: string(f.State)})
	}
	out, err := sqldb.List(ctx, s.DB, `SELECT `+columns+` FROM mandates`, f.After, eqs, f.Limit, scanMandate)
	if err != nil {
		return nil, fmt.Errorf("mandates: %w", err)
	}
	return out, nil
}

func (s *Service) notifyMandate(ctx context.Context, tx *sql.Tx, to, event string, m *Mandate) error {
	body, err := s.RenderMandate(event, m)
	if err != nil {
		return err
	}
	return s.Notices.Add(ctx, tx, to, event, body)
}

const columns = `id, biller, payer_type, payer_value, payer, max_amount, currency, frequency, valid_from, valid_until, description,
	condition, sched_month, sched_day, sched_amount, state, due_at, try_at, attempt, notified, changes, created_at, updated_at`

func (s *Service) load(ctx context.Context, id string) (Mandate, error) {
	m, err := scanMandate(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM mandates WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Mandate{}, fmt.Errorf("mandate %.140q: %w", id, ErrNotFound)
	} else if err != nil {
		return Mandate{}, fmt.Errorf("mandate %s: %w", id, err)
	}
	return m, nil
}

func scanMandate(row sqldb.Row) (Mandate, error) {
	var m Mandate
	var maxAmount, from, until, sm, sd, sa, due, try, created, updated int64
	var cur, freq, st string
	if err := row.Scan(&m.ID, &m.Biller, &m.PayerType, &m.PayerValue, &m.Payer, &maxAmount, &cur, &freq, &from, &until,
		&m.Description, &m.Condition, &sm, &sd, &sa, &st, &due, &try, &m.attempt, &m.notified, &m.changes, &created, &updated); err != nil {
		return Mandate{}, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return Mandate{}, err
	}
	m.MaxAmount, m.Currency, m.Frequency, m.State = money.Amount(maxAmount), c, Frequency(freq), State(st)
	m.ValidFrom, m.ValidUntil = time.Unix(0, from).UTC(), time.Unix(0, until).UTC()
	if sa > 0 {
		m.Schedule = &Schedule{Month: int(sm), Day: int(sd), Amount: money.Amount(sa)}
	}
	if due > 0 {
		m.DueAt = time.Unix(0, due).UTC()
	}
	if try > 0 {
		m.tryAt = time.Unix(0, try).UTC()
	}
	m.CreatedAt, m.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return m, nil
}

const execColumns = `id, mandate, amount, reference, period_start, scheduled, state, reason, created_at, updated_at`

func (s *Service) execution(ctx context.Context, id string) (Execution, error) {
	var cur string
	err := s.DB.QueryRowContext(ctx, `SELECT m.currency FROM mandate_executions e JOIN mandates m ON m.id = e.mandate WHERE e.id = $1`, id).
		Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return Execution{}, fmt.Errorf("execution %.140q: %w", id, ErrNotFound)
	} else if err != nil {
		return Execution{}, fmt.Errorf("execution %s: %w", id, err)
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return Execution{}, err
	}
	return scanExecution(s.DB.QueryRowContext(ctx, `SELECT `+execColumns+` FROM mandate_executions WHERE id = $1`, id), c)
}

func scanExecution(row interface{ Scan(...any) error }, c money.Currency) (Execution, error) {
	e := Execution{Currency: c}
	var amount, start, created, updated int64
	var sched int
	if err := row.Scan(&e.ID, &e.Mandate, &amount, &e.Reference, &start, &sched, &e.State, &e.Reason, &created, &updated); err != nil {
		return Execution{}, err
	}
	e.Amount, e.Scheduled = money.Amount(amount), sched == 1
	e.PeriodStart, e.CreatedAt, e.UpdatedAt = time.Unix(0, start).UTC(), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return e, nil
}

// text reports whether s is at most max characters of printable UTF-8.
func text(s string, max int) bool {
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

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func unixOr0(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// locks order what is done to one mandate: its payment may wait for a
// confirm-mode payee, so they are not shared.
var locks keylock.Locks

// aliasLocks order the proposals to one payer alias.
var aliasLocks keylock.Locks

func lock(id string) func() { return locks.Lock(id) }
