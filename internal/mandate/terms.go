package mandate

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// Errors of the lifecycle and of the terms. Callers branch on them with
// errors.Is; front ends answer them by their kind and code.
var (
	// ErrInvalid means the terms, an action or an execution's amount are
	// malformed; the message names the field. Answer 400.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid mandate")
	// ErrNotActive means the mandate cannot be executed now: it is not
	// ACTIVE, or the time is outside its validity. Answer 422
	// "mandate-not-active"; the payer may resume a paused mandate.
	ErrNotActive = fault.New(fault.Refused, "mandate-not-active", "mandate not active")
	// ErrWrongSide means the caller's side may not take this action (a
	// biller approving its own proposal). Answer 403.
	ErrWrongSide = fault.New(fault.Forbidden, "", "this side may not take the action")
	// ErrState means the action is not possible in the mandate's state
	// (approving an ACTIVE mandate, resuming a REVOKED one). Answer 409
	// with the current state; do not retry.
	ErrState = fault.New(fault.Conflict, "mandate-state", "action not possible in the mandate's state")
)

// DefaultZone is the scheme's time zone, in which periods and schedules
// are reckoned unless the operator configures another.
const DefaultZone = "Asia/Shanghai"

// Frequency is how often a mandate may be executed.
type Frequency string

// The frequencies of the API.
const (
	// FrequencyOnce allows one execution in total.
	FrequencyOnce Frequency = "once"
	// FrequencyDaily allows one execution per calendar day.
	FrequencyDaily Frequency = "daily"
	// FrequencyWeekly allows one execution per ISO week, from Monday.
	FrequencyWeekly Frequency = "weekly"
	// FrequencyMonthly allows one execution per calendar month.
	FrequencyMonthly Frequency = "monthly"
	// FrequencyYearly allows one execution per calendar year.
	FrequencyYearly Frequency = "yearly"
	// FrequencyAdhoc allows any number of executions, each within the
	// limits and the condition.
	FrequencyAdhoc Frequency = "adhoc"
)

// ParseFrequency returns the frequency named s, which is lower case as in
// the API; anything else is ErrInvalid.
func ParseFrequency(s string) (Frequency, error) {
	if f := Frequency(s); f.Valid() {
		return f, nil
	}
	return "", fmt.Errorf("%w: frequency %q is not once, daily, weekly, monthly, yearly or adhoc", ErrInvalid, clip(s))
}

// Valid reports whether f is one of the frequencies.
func (f Frequency) Valid() bool {
	switch f {
	case FrequencyOnce, FrequencyDaily, FrequencyWeekly, FrequencyMonthly, FrequencyYearly, FrequencyAdhoc:
		return true
	}
	return false
}

// Calendar reports whether f's periods are calendar periods (a day, an
// ISO week, a month, a year) rather than the whole validity.
func (f Frequency) Calendar() bool {
	switch f {
	case FrequencyDaily, FrequencyWeekly, FrequencyMonthly, FrequencyYearly:
		return true
	}
	return false
}

// State is where a mandate is in its lifecycle. The zero State is a
// mandate not yet proposed: the only action on it is ActionPropose.
type State string

// The states; see the package doc for the lifecycle.
const (
	// StatePending awaits the payer's approval.
	StatePending State = "PENDING"
	// StateActive may be executed.
	StateActive State = "ACTIVE"
	// StatePaused was paused by the payer and may be resumed.
	StatePaused State = "PAUSED"
	// StateRejected was refused by the payer; final.
	StateRejected State = "REJECTED"
	// StateRevoked was revoked by either side or the switch; final.
	StateRevoked State = "REVOKED"
	// StateExpired reached the end of its validity; final.
	StateExpired State = "EXPIRED"
	// StateCompleted is a "once" mandate whose execution committed; final.
	StateCompleted State = "COMPLETED"
)

// ParseState returns the state named s (upper case, as stored and in the
// API); anything else, the empty string included, is ErrInvalid.
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case StatePending, StateActive, StatePaused, StateRejected, StateRevoked, StateExpired, StateCompleted:
		return st, nil
	}
	return "", fmt.Errorf("%w: state %q", ErrInvalid, clip(s))
}

// Final reports whether no action can change s any more.
func (s State) Final() bool {
	switch s {
	case StateRejected, StateRevoked, StateExpired, StateCompleted:
		return true
	}
	return false
}

// Executable returns nil when a mandate in state s may be executed, and
// otherwise ErrNotActive naming the state. It is the first check of an
// execution, before Allowed.
func (s State) Executable() error {
	if s == StateActive {
		return nil
	}
	return fmt.Errorf("%w: mandate is %s", ErrNotActive, s.display())
}

// display names s in messages, the zero State included.
func (s State) display() string {
	if s == "" {
		return "not proposed"
	}
	return string(s)
}

// Action is a change of a mandate's state requested by one side.
type Action string

// The actions; the API's routes map to them.
const (
	// ActionPropose creates a PENDING mandate (POST /v1/mandates).
	ActionPropose Action = "propose"
	// ActionApprove activates a PENDING mandate.
	ActionApprove Action = "approve"
	// ActionReject refuses a PENDING mandate.
	ActionReject Action = "reject"
	// ActionPause stops executions of an ACTIVE mandate until resumed.
	ActionPause Action = "pause"
	// ActionResume reactivates a PAUSED mandate.
	ActionResume Action = "resume"
	// ActionRevoke ends a mandate for good.
	ActionRevoke Action = "revoke"
	// ActionExpire ends a mandate whose validity is over.
	ActionExpire Action = "expire"
	// ActionComplete ends a "once" mandate whose execution committed.
	ActionComplete Action = "complete"
)

// Side is who asks for an action.
type Side string

// The sides.
const (
	// SidePayer is the payer's participant, which holds the debited account.
	SidePayer Side = "payer"
	// SidePayee is the biller's participant, which proposed the mandate.
	SidePayee Side = "payee"
	// SideSwitch is the switch itself: the scheduler or the operator.
	SideSwitch Side = "switch"
)

// transition is one row of the lifecycle: action from a state, by one of
// the sides, leads to a state.
type transition struct {
	action Action
	from   State
	to     State
	sides  []Side
}

var (
	payerOnly  = []Side{SidePayer}
	payeeOnly  = []Side{SidePayee}
	switchOnly = []Side{SideSwitch}
	anySide    = []Side{SidePayer, SidePayee, SideSwitch}
)

// transitions is the whole lifecycle; a pair (action, from) absent here is
// ErrState.
var transitions = []transition{
	{ActionPropose, "", StatePending, payeeOnly},
	{ActionApprove, StatePending, StateActive, payerOnly},
	{ActionReject, StatePending, StateRejected, payerOnly},
	{ActionPause, StateActive, StatePaused, payerOnly},
	{ActionResume, StatePaused, StateActive, payerOnly},
	// The biller withdraws its proposal; the payer rejects it instead.
	{ActionRevoke, StatePending, StateRevoked, []Side{SidePayee, SideSwitch}},
	{ActionRevoke, StateActive, StateRevoked, anySide},
	{ActionRevoke, StatePaused, StateRevoked, anySide},
	{ActionExpire, StatePending, StateExpired, switchOnly},
	{ActionExpire, StateActive, StateExpired, switchOnly},
	{ActionExpire, StatePaused, StateExpired, switchOnly},
	{ActionComplete, StateActive, StateCompleted, switchOnly},
}

// Apply returns the state that action by side leads s to. The checks, in
// order: an unknown action or side is ErrInvalid; a side that may never
// take the action (the biller approving) is ErrWrongSide; an action not
// possible from s (approving an ACTIVE mandate) is ErrState; an action
// possible from s but not for this side (the payer revoking a PENDING
// mandate, which it rejects instead) is ErrWrongSide.
func (s State) Apply(action Action, by Side) (State, error) {
	if by != SidePayer && by != SidePayee && by != SideSwitch {
		return s, fmt.Errorf("%w: side %q", ErrInvalid, clip(string(by)))
	}
	known, mayEver := false, false
	for i := range transitions {
		tr := &transitions[i]
		if tr.action == action {
			known = true
			mayEver = mayEver || hasSide(tr.sides, by)
		}
	}
	if !known {
		return s, fmt.Errorf("%w: action %q", ErrInvalid, clip(string(action)))
	}
	if !mayEver {
		return s, fmt.Errorf("%w: the %s may not %s a mandate", ErrWrongSide, by, action)
	}
	for i := range transitions {
		tr := &transitions[i]
		if tr.action != action || tr.from != s {
			continue
		}
		if !hasSide(tr.sides, by) {
			return s, fmt.Errorf("%w: the %s may not %s a %s mandate", ErrWrongSide, by, action, s.display())
		}
		return tr.to, nil
	}
	return s, fmt.Errorf("%w: cannot %s a mandate that is %s", ErrState, action, s.display())
}

func hasSide(sides []Side, s Side) bool {
	for _, x := range sides {
		if x == s {
			return true
		}
	}
	return false
}

// Schedule asks the switch to execute the mandate itself once per period,
// on a day of the period (see the package doc for each frequency).
type Schedule struct {
	// Month is 1–12 for a yearly mandate, 0 otherwise.
	Month int
	// Day is the day in the period: 1–7 (Monday–Sunday) weekly, 1–31
	// monthly and yearly, 0 for once and daily.
	Day int
	// Amount is what each scheduled execution transfers, at most MaxAmount.
	Amount money.Amount
}

// Terms are what payer and biller agree on; they do not change after the
// proposal.
type Terms struct {
	// MaxAmount is the most one execution may transfer, in minor units.
	MaxAmount money.Amount
	// Currency is the currency of every amount of the mandate.
	Currency money.Currency
	// Frequency bounds the executions per period.
	Frequency Frequency
	// ValidFrom is the first instant an execution may happen.
	ValidFrom time.Time
	// ValidUntil is the end of the validity, excluded.
	ValidUntil time.Time
	// Condition is an optional CEL expression that must hold for an
	// execution; "" means none.
	Condition string
	// Schedule, when not nil, makes the switch execute the mandate.
	Schedule *Schedule
}

// MinYear and MaxYear bound the validity's years: times are stored as
// nanoseconds since 1970, which hold 1678 to 2262, and every time of a
// mandate has a four-digit year in ids and messages.
const MinYear = 1970

// MaxYear bounds the validity's years, so that every time of a mandate
// has a four-digit year in ids and messages.
const MaxYear = 2261

// Validate reports the first problem of t, proposed at now: ErrInvalid
// naming the field, or ErrInvalidCondition for a condition that does not
// compile. It compiles the condition, so the caller need not trust a
// stored one; to evaluate it, compile it once with CompileCondition.
func (t Terms) Validate(now time.Time) error {
	switch {
	case !t.Currency.Valid():
		return fmt.Errorf("%w: currency is not an ISO 4217 currency", ErrInvalid)
	case t.MaxAmount <= 0:
		return fmt.Errorf("%w: maxAmount must be positive", ErrInvalid)
	case !t.Frequency.Valid():
		return fmt.Errorf("%w: frequency %q is not once, daily, weekly, monthly, yearly or adhoc", ErrInvalid, clip(string(t.Frequency)))
	case t.ValidFrom.IsZero():
		return fmt.Errorf("%w: validFrom is missing", ErrInvalid)
	case t.ValidFrom.UTC().Year() < MinYear:
		return fmt.Errorf("%w: validFrom is before year %d", ErrInvalid, MinYear)
	case !t.ValidUntil.After(t.ValidFrom):
		return fmt.Errorf("%w: validUntil must be after validFrom", ErrInvalid)
	case t.ValidUntil.UTC().Year() > MaxYear:
		return fmt.Errorf("%w: validUntil is after year %d", ErrInvalid, MaxYear)
	case !t.ValidUntil.After(now):
		return fmt.Errorf("%w: validUntil is not in the future", ErrInvalid)
	}
	if len(t.Condition) > MaxConditionBytes {
		return fmt.Errorf("%w: condition is %d bytes, more than %d", ErrInvalidCondition, len(t.Condition), MaxConditionBytes)
	}
	if t.Schedule != nil {
		if err := t.Schedule.validate(t.Frequency, t.MaxAmount); err != nil {
			return err
		}
	}
	if t.Condition != "" {
		if _, err := CompileCondition(t.Condition); err != nil {
			return err
		}
	}
	return nil
}

// maxDays is the longest length of each month, February of a leap year
// included: a yearly schedule's day may be at most that.
var maxDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// validate checks a schedule against the mandate's frequency and limit.
func (s *Schedule) validate(f Frequency, maxAmount money.Amount) error {
	if s.Amount <= 0 {
		return fmt.Errorf("%w: schedule amount must be positive", ErrInvalid)
	}
	if s.Amount > maxAmount {
		return fmt.Errorf("%w: schedule amount is more than maxAmount", ErrInvalid)
	}
	if f != FrequencyYearly && s.Month != 0 {
		return fmt.Errorf("%w: schedule month is only for a yearly mandate", ErrInvalid)
	}
	switch f {
	case FrequencyAdhoc:
		return fmt.Errorf("%w: an adhoc mandate has no schedule (it has no period)", ErrInvalid)
	case FrequencyOnce, FrequencyDaily:
		if s.Day != 0 {
			return fmt.Errorf("%w: a %s mandate's schedule has no day", ErrInvalid, f)
		}
	case FrequencyWeekly:
		if s.Day < 1 || s.Day > 7 {
			return fmt.Errorf("%w: schedule day %d is not an ISO weekday 1 (Monday) to 7 (Sunday)", ErrInvalid, s.Day)
		}
	case FrequencyMonthly:
		if s.Day < 1 || s.Day > 31 {
			return fmt.Errorf("%w: schedule day %d is not 1 to 31", ErrInvalid, s.Day)
		}
	case FrequencyYearly:
		if s.Month < 1 || s.Month > 12 {
			return fmt.Errorf("%w: schedule month %d is not 1 to 12", ErrInvalid, s.Month)
		}
		if s.Day < 1 || s.Day > maxDays[s.Month] {
			return fmt.Errorf("%w: schedule day %d is not 1 to %d for month %d", ErrInvalid, s.Day, maxDays[s.Month], s.Month)
		}
	}
	return nil
}

// Expired reports whether the validity of t is over at at: the switch
// then applies ActionExpire.
func (t Terms) Expired(at time.Time) bool { return !at.Before(t.ValidUntil) }

// clip shortens a caller's text quoted in an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
