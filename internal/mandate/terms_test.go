package mandate

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

var (
	allStates  = []State{"", StatePending, StateActive, StatePaused, StateRejected, StateRevoked, StateExpired, StateCompleted}
	allActions = []Action{ActionPropose, ActionApprove, ActionReject, ActionPause, ActionResume, ActionRevoke, ActionExpire, ActionComplete}
	allSides   = []Side{SidePayer, SidePayee, SideSwitch}
)

// TestApplyAllowed: every transition of the lifecycle, written out
// independently of the package's table.
func TestApplyAllowed(t *testing.T) {
	type key struct {
		from   State
		action Action
		by     Side
	}
	allowed := map[key]State{
		{"", ActionPropose, SidePayee}:            StatePending,
		{StatePending, ActionApprove, SidePayer}:  StateActive,
		{StatePending, ActionReject, SidePayer}:   StateRejected,
		{StatePending, ActionRevoke, SidePayee}:   StateRevoked,
		{StatePending, ActionRevoke, SideSwitch}:  StateRevoked,
		{StatePending, ActionExpire, SideSwitch}:  StateExpired,
		{StateActive, ActionPause, SidePayer}:     StatePaused,
		{StateActive, ActionRevoke, SidePayer}:    StateRevoked,
		{StateActive, ActionRevoke, SidePayee}:    StateRevoked,
		{StateActive, ActionRevoke, SideSwitch}:   StateRevoked,
		{StateActive, ActionExpire, SideSwitch}:   StateExpired,
		{StateActive, ActionComplete, SideSwitch}: StateCompleted,
		{StatePaused, ActionResume, SidePayer}:    StateActive,
		{StatePaused, ActionRevoke, SidePayer}:    StateRevoked,
		{StatePaused, ActionRevoke, SidePayee}:    StateRevoked,
		{StatePaused, ActionRevoke, SideSwitch}:   StateRevoked,
		{StatePaused, ActionExpire, SideSwitch}:   StateExpired,
	}
	for _, from := range allStates {
		for _, a := range allActions {
			for _, by := range allSides {
				got, err := from.Apply(a, by)
				want, ok := allowed[key{from, a, by}]
				switch {
				case ok && (err != nil || got != want):
					t.Errorf("%q.Apply(%s, %s) = %q, %v; want %q", from, a, by, got, err, want)
				case !ok && err == nil:
					t.Errorf("%q.Apply(%s, %s) = %q, want a refusal", from, a, by, got)
				case !ok && got != from:
					t.Errorf("%q.Apply(%s, %s) refused but changed the state to %q", from, a, by, got)
				case !ok && !errors.Is(err, ErrState) && !errors.Is(err, ErrWrongSide):
					t.Errorf("%q.Apply(%s, %s): %v, want ErrState or ErrWrongSide", from, a, by, err)
				}
				if from.Final() && err == nil {
					t.Errorf("final state %s left by %s", from, a)
				}
			}
		}
	}
}

// TestApplyRefusals: which refusal answers which mistake.
func TestApplyRefusals(t *testing.T) {
	for _, c := range []struct {
		from   State
		action Action
		by     Side
		want   error
	}{
		{StatePending, ActionApprove, SidePayee, ErrWrongSide},   // the biller approving its own proposal
		{StateActive, ActionApprove, SidePayee, ErrWrongSide},    // side first: it may never approve
		{StateActive, ActionApprove, SidePayer, ErrState},        // approve twice
		{StatePending, ActionRevoke, SidePayer, ErrWrongSide},    // the payer rejects instead
		{StateActive, ActionPause, SidePayee, ErrWrongSide},      // only the payer pauses
		{StateActive, ActionPause, SideSwitch, ErrWrongSide},     // nor the switch
		{StatePaused, ActionPause, SidePayer, ErrState},          // a repeat is a conflict
		{StateActive, ActionResume, SidePayer, ErrState},         // resume what is not paused
		{StateRevoked, ActionResume, SidePayer, ErrState},        // final
		{StateRevoked, ActionRevoke, SidePayee, ErrState},        // final
		{StateCompleted, ActionRevoke, SideSwitch, ErrState},     // final
		{StateExpired, ActionApprove, SidePayer, ErrState},       // final
		{StatePaused, ActionComplete, SideSwitch, ErrState},      // only an ACTIVE one completes
		{StateActive, ActionExpire, SidePayer, ErrWrongSide},     // only the switch expires
		{StateActive, ActionComplete, SidePayee, ErrWrongSide},   // only the switch completes
		{"", ActionPropose, SidePayer, ErrWrongSide},             // the biller proposes
		{StatePending, ActionPropose, SidePayee, ErrState},       // propose twice
		{"", ActionApprove, SidePayer, ErrState},                 // nothing to approve
		{StateActive, Action("delete"), SidePayer, ErrInvalid},   // unknown action
		{StateActive, ActionPause, Side("operator"), ErrInvalid}, // unknown side
	} {
		got, err := c.from.Apply(c.action, c.by)
		if !errors.Is(err, c.want) || got != c.from {
			t.Errorf("%q.Apply(%s, %s) = %q, %v; want %v", c.from, c.action, c.by, got, err, c.want)
		}
	}
}

// TestErrorKinds: the codes and kinds the API maps to answers.
func TestErrorKinds(t *testing.T) {
	for _, c := range []struct {
		err  error
		kind fault.Kind
		code string
	}{
		{ErrInvalid, fault.Invalid, "invalid-request"},
		{ErrNotActive, fault.Refused, "mandate-not-active"},
		{ErrWrongSide, fault.Forbidden, "forbidden"},
		{ErrState, fault.Conflict, "mandate-state"},
		{ErrLimit, fault.Refused, "mandate-limit-exceeded"},
		{ErrCondition, fault.Refused, "mandate-condition-failed"},
		{ErrInvalidCondition, fault.Invalid, "invalid-condition"},
	} {
		if fault.KindOf(c.err) != c.kind || fault.CodeOf(c.err) != c.code {
			t.Errorf("%v: %v %q, want %v %q", c.err, fault.KindOf(c.err), fault.CodeOf(c.err), c.kind, c.code)
		}
	}
}

func TestExecutable(t *testing.T) {
	for _, s := range allStates {
		err := s.Executable()
		if (err == nil) != (s == StateActive) || (err != nil && !errors.Is(err, ErrNotActive)) {
			t.Errorf("%q.Executable() = %v", s, err)
		}
	}
	if err := StatePaused.Executable(); !strings.Contains(err.Error(), "PAUSED") {
		t.Errorf("message %q does not name the state", err)
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"once", "daily", "weekly", "monthly", "yearly", "adhoc"} {
		if f, err := ParseFrequency(s); err != nil || string(f) != s {
			t.Errorf("ParseFrequency(%q) = %q, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "Monthly", "fortnightly", " daily"} {
		if _, err := ParseFrequency(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseFrequency(%q): %v, want ErrInvalid", s, err)
		}
	}
	for _, s := range allStates[1:] {
		if got, err := ParseState(string(s)); err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "active", "DELETED"} {
		if _, err := ParseState(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseState(%q): %v, want ErrInvalid", s, err)
		}
	}
}

var (
	cny = money.MustCurrency("CNY")
	t0  = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
)

// validTerms are monthly terms valid for a year from t0, scheduled on the 5th.
func validTerms() Terms {
	return Terms{
		MaxAmount:  10000,
		Currency:   cny,
		Frequency:  FrequencyMonthly,
		ValidFrom:  t0,
		ValidUntil: t0.AddDate(1, 0, 0),
		Schedule:   &Schedule{Day: 5, Amount: 5000},
	}
}

func TestValidate(t *testing.T) {
	if err := validTerms().Validate(t0); err != nil {
		t.Fatalf("valid terms: %v", err)
	}
	type mod func(*Terms)
	sched := func(f Frequency, month, day int) mod {
		return func(tm *Terms) { tm.Frequency, tm.Schedule.Month, tm.Schedule.Day = f, month, day }
	}
	for _, c := range []struct {
		name string
		mod  mod
		want error // nil: valid
		msg  string
	}{
		{"no currency", func(tm *Terms) { tm.Currency = 0 }, ErrInvalid, "currency"},
		{"zero max", func(tm *Terms) { tm.MaxAmount = 0 }, ErrInvalid, "maxAmount"},
		{"negative max", func(tm *Terms) { tm.MaxAmount = -1 }, ErrInvalid, "maxAmount"},
		{"frequency", func(tm *Terms) { tm.Frequency = "fortnightly" }, ErrInvalid, "frequency"},
		{"no validFrom", func(tm *Terms) { tm.ValidFrom = time.Time{} }, ErrInvalid, "validFrom"},
		{"validFrom before year 1", func(tm *Terms) { tm.ValidFrom = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrInvalid, "year 1"},
		{"until equals from", func(tm *Terms) { tm.ValidUntil = tm.ValidFrom }, ErrInvalid, "after validFrom"},
		{"until before from", func(tm *Terms) { tm.ValidUntil = tm.ValidFrom.Add(-time.Second) }, ErrInvalid, "after validFrom"},
		{"until in the past", func(tm *Terms) { tm.ValidFrom, tm.ValidUntil = t0.AddDate(-1, 0, 0), t0 }, ErrInvalid, "future"},
		{"until after 2261", func(tm *Terms) { tm.ValidUntil = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrInvalid, "2261"},
		{"from before 1970", func(tm *Terms) { tm.ValidFrom = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) }, ErrInvalid, "1970"},
		{"from in the past is fine", func(tm *Terms) { tm.ValidFrom = t0.AddDate(-1, 0, 0) }, nil, ""},
		{"schedule zero amount", func(tm *Terms) { tm.Schedule.Amount = 0 }, ErrInvalid, "schedule amount"},
		{"schedule above max", func(tm *Terms) { tm.Schedule.Amount = 10001 }, ErrInvalid, "more than maxAmount"},
		{"schedule equal to max", func(tm *Terms) { tm.Schedule.Amount = 10000 }, nil, ""},
		{"adhoc schedule", sched(FrequencyAdhoc, 0, 0), ErrInvalid, "adhoc"},
		{"adhoc without schedule", func(tm *Terms) { tm.Frequency, tm.Schedule = FrequencyAdhoc, nil }, nil, ""},
		{"once day 0", sched(FrequencyOnce, 0, 0), nil, ""},
		{"once with day", sched(FrequencyOnce, 0, 5), ErrInvalid, "no day"},
		{"daily day 0", sched(FrequencyDaily, 0, 0), nil, ""},
		{"daily with day", sched(FrequencyDaily, 0, 1), ErrInvalid, "no day"},
		{"weekly 1", sched(FrequencyWeekly, 0, 1), nil, ""},
		{"weekly 7", sched(FrequencyWeekly, 0, 7), nil, ""},
		{"weekly 0", sched(FrequencyWeekly, 0, 0), ErrInvalid, "ISO weekday"},
		{"weekly 8", sched(FrequencyWeekly, 0, 8), ErrInvalid, "ISO weekday"},
		{"monthly 31", sched(FrequencyMonthly, 0, 31), nil, ""},
		{"monthly 0", sched(FrequencyMonthly, 0, 0), ErrInvalid, "1 to 31"},
		{"monthly 32", sched(FrequencyMonthly, 0, 32), ErrInvalid, "1 to 31"},
		{"monthly with month", sched(FrequencyMonthly, 3, 5), ErrInvalid, "only for a yearly"},
		{"yearly 29 Feb", sched(FrequencyYearly, 2, 29), nil, ""},
		{"yearly 31 Dec", sched(FrequencyYearly, 12, 31), nil, ""},
		{"yearly 30 Feb", sched(FrequencyYearly, 2, 30), ErrInvalid, "1 to 29"},
		{"yearly 31 Apr", sched(FrequencyYearly, 4, 31), ErrInvalid, "1 to 30"},
		{"yearly month 0", sched(FrequencyYearly, 0, 5), ErrInvalid, "month 0"},
		{"yearly month 13", sched(FrequencyYearly, 13, 5), ErrInvalid, "month 13"},
		{"yearly day 0", sched(FrequencyYearly, 1, 0), ErrInvalid, "day 0"},
		{"condition", func(tm *Terms) { tm.Condition = "amount <= 5000 && day <= 7" }, nil, ""},
		{"condition syntax", func(tm *Terms) { tm.Condition = "amount <=" }, ErrInvalidCondition, "1:"},
		{"condition too long", func(tm *Terms) { tm.Condition = strings.Repeat(" ", MaxConditionBytes) + "true" }, ErrInvalidCondition, "bytes"},
	} {
		tm := validTerms()
		c.mod(&tm)
		err := tm.Validate(t0)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.want, c.msg)
		}
	}
}

func TestExpired(t *testing.T) {
	tm := validTerms()
	if tm.Expired(tm.ValidUntil.Add(-time.Nanosecond)) || !tm.Expired(tm.ValidUntil) {
		t.Error("validity is not [ValidFrom, ValidUntil)")
	}
}

func TestClip(t *testing.T) {
	s := strings.Repeat("a", 39) + "é" + "tail"
	if got := clip(s); got != strings.Repeat("a", 39)+"…" {
		t.Errorf("clip cut a rune: %q", got)
	}
	if clip("short") != "short" {
		t.Error("clip changed a short string")
	}
}
