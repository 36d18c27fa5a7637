package mandate

import (
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// ErrLimit means the execution exceeds the mandate's terms: an amount
// above maxAmount, or a second execution in a period (a second in all for
// "once"). Answer 422 "mandate-limit-exceeded"; the biller may try again
// with a smaller amount or in the next period.
var ErrLimit = fault.New(fault.Refused, "mandate-limit-exceeded", "mandate limit exceeded")

// Period returns the calendar period of frequency f that contains t, as
// [start, end) in loc: a day, an ISO week from Monday 00:00, a month or a
// year, each starting at local midnight. It reckons with calendar dates,
// not durations, so a period spans 23 or 25 hours across a DST change and
// still starts at midnight. For once and adhoc, whose period is the
// mandate's validity, and for an invalid f, it returns two zero times: use
// Terms.PeriodAt. loc must not be nil.
func Period(f Frequency, t time.Time, loc *time.Location) (start, end time.Time) {
	y, m, d := t.In(loc).Date()
	switch f {
	case FrequencyDaily:
		return midnight(y, m, d, loc), midnight(y, m, d+1, loc)
	case FrequencyWeekly:
		// ISO weekday: Monday = 1 … Sunday = 7.
		wd := int(t.In(loc).Weekday()+6)%7 + 1
		d -= wd - 1
		return midnight(y, m, d, loc), midnight(y, m, d+7, loc)
	case FrequencyMonthly:
		return midnight(y, m, 1, loc), midnight(y, m+1, 1, loc)
	case FrequencyYearly:
		return midnight(y, time.January, 1, loc), midnight(y+1, time.January, 1, loc)
	}
	return time.Time{}, time.Time{}
}

// midnight is the first instant of a local day; time.Date normalises an
// overflowing day or month. Where a DST change skips midnight itself (as
// in Brazil until 2019, or Cuba), time.Date answers with an instant of
// the day before, so the day starts instead where the skipped hour ends:
// the end of the zone period that instant is in.
func midnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if t.Hour() == 0 {
		return t
	}
	if want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC); t.Day() != want.Day() {
		// An instant of the day before: the day begins when its zone
		// period ends, at the end of the skipped hour.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
	}
	return t
}

// PeriodAt returns the period of t's frequency that contains at: the
// calendar period for daily, weekly, monthly and yearly mandates (which
// may begin before ValidFrom or end after ValidUntil), and the whole
// validity [ValidFrom, ValidUntil) for once and adhoc. A service counts
// the executions of [start, end) to fill Usage.
func (t Terms) PeriodAt(at time.Time, loc *time.Location) (start, end time.Time) {
	if t.Frequency.Calendar() {
		return Period(t.Frequency, at, loc)
	}
	return t.ValidFrom, t.ValidUntil
}

// Usage is what a mandate's executions have used before the one being
// checked: the committed executions (and those in flight, whose refusal
// would otherwise allow a double) of the period PeriodAt returns, and of
// the whole mandate.
type Usage struct {
	// ExecutionsThisPeriod counts the executions in the period.
	ExecutionsThisPeriod int
	// TotalThisPeriod is their total, minor units.
	TotalThisPeriod money.Amount
	// ExecutionsTotal counts the executions of the mandate.
	ExecutionsTotal int
}

// Allowed decides whether an execution of amount at at fits t, after
// State.Executable said the mandate is ACTIVE. Checks, in order, the first
// failure being the answer: amount positive (ErrInvalid); at within
// [ValidFrom, ValidUntil) (ErrNotActive); amount ≤ MaxAmount (ErrLimit);
// no execution yet in the period, or for "once" in all (ErrLimit; adhoc
// has no such bound); then the condition (ErrCondition). The cheap,
// explainable refusals come before the biller's own expression.
//
// c is t.Condition compiled once by CompileCondition; nil when there is
// no condition. A nil c with a condition compiles it here, which is
// correct but slow. The condition sees day and month of at in loc.
func Allowed(t Terms, c *Condition, u Usage, amount money.Amount, at time.Time, loc *time.Location) error {
	switch {
	case amount <= 0:
		return fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case at.Before(t.ValidFrom):
		return fmt.Errorf("%w: mandate is valid from %s", ErrNotActive, t.ValidFrom.In(loc).Format(time.RFC3339))
	case !at.Before(t.ValidUntil):
		return fmt.Errorf("%w: mandate was valid until %s", ErrNotActive, t.ValidUntil.In(loc).Format(time.RFC3339))
	case amount > t.MaxAmount:
		return fmt.Errorf("%w: amount %s is more than maxAmount %s", ErrLimit, amount.Format(t.Currency), t.MaxAmount.Format(t.Currency))
	case t.Frequency == FrequencyOnce && u.ExecutionsTotal > 0:
		return fmt.Errorf("%w: a once mandate was executed already", ErrLimit)
	case t.Frequency.Calendar() && u.ExecutionsThisPeriod > 0:
		return fmt.Errorf("%w: a %s mandate was executed already in this period", ErrLimit, t.Frequency)
	}
	if c == nil && t.Condition != "" {
		var err error
		if c, err = CompileCondition(t.Condition); err != nil {
			return err
		}
	}
	if c == nil {
		return nil
	}
	if c.src != t.Condition {
		// A programmer's error: the service evaluates another mandate's
		// condition. Internal, not a refusal the biller could act on.
		return fmt.Errorf("mandate: condition compiled from %q, terms have %q", clip(c.src), clip(t.Condition))
	}
	_, month, day := at.In(loc).Date()
	ok, err := c.Eval(Vars{
		Amount:               int64(amount),
		ExecutionsThisPeriod: int64(u.ExecutionsThisPeriod),
		TotalThisPeriod:      int64(u.TotalThisPeriod),
		Day:                  day,
		Month:                int(month),
	})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrCondition, clip(c.src))
	}
	return nil
}
