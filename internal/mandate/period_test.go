package mandate

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has

	"github.com/hulian/hulian/internal/money"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// testZones: the scheme's default, one with DST at 02:00, ones whose DST
// skipped or repeated midnight, a half-hour DST and a quarter-hour offset.
var testZones = []string{"Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York",
	"America/Sao_Paulo", "America/Havana", "Asia/Beirut", "Australia/Lord_Howe", "Asia/Kathmandu"}

func TestPeriod(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	be := zone(t, "Europe/Berlin")
	sp := zone(t, "America/Sao_Paulo")
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	for _, c := range []struct {
		name       string
		f          Frequency
		t          time.Time
		loc        *time.Location
		start, end time.Time
		hours      float64 // the period's length, to see DST
	}{
		{"daily", FrequencyDaily, at(sh, 2026, 3, 5, 13, 0), sh, at(sh, 2026, 3, 5, 0, 0), at(sh, 2026, 3, 6, 0, 0), 24},
		{"daily at midnight", FrequencyDaily, at(sh, 2026, 3, 5, 0, 0), sh, at(sh, 2026, 3, 5, 0, 0), at(sh, 2026, 3, 6, 0, 0), 24},
		{"daily just before midnight", FrequencyDaily, at(sh, 2026, 3, 5, 23, 59), sh, at(sh, 2026, 3, 5, 0, 0), at(sh, 2026, 3, 6, 0, 0), 24},
		// 16:30 UTC on 31 December is already 1 January in Shanghai.
		{"daily in the scheme's zone", FrequencyDaily, time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC), sh, at(sh, 2026, 1, 1, 0, 0), at(sh, 2026, 1, 2, 0, 0), 24},
		{"daily spring forward", FrequencyDaily, at(be, 2024, 3, 31, 12, 0), be, at(be, 2024, 3, 31, 0, 0), at(be, 2024, 4, 1, 0, 0), 23},
		{"daily fall back", FrequencyDaily, at(be, 2024, 10, 27, 12, 0), be, at(be, 2024, 10, 27, 0, 0), at(be, 2024, 10, 28, 0, 0), 25},
		// In São Paulo on 4 November 2018 the clock went from 00:00 to 01:00.
		{"daily midnight skipped", FrequencyDaily, at(sp, 2018, 11, 4, 12, 0), sp, at(sp, 2018, 11, 4, 1, 0), at(sp, 2018, 11, 5, 0, 0), 23},
		{"daily before skipped midnight", FrequencyDaily, time.Date(2018, 11, 4, 2, 30, 0, 0, time.UTC), sp, at(sp, 2018, 11, 3, 0, 0), at(sp, 2018, 11, 4, 1, 0), 24},
		{"weekly Thursday", FrequencyWeekly, at(sh, 2026, 1, 8, 10, 0), sh, at(sh, 2026, 1, 5, 0, 0), at(sh, 2026, 1, 12, 0, 0), 168},
		{"weekly Monday", FrequencyWeekly, at(sh, 2026, 1, 5, 0, 0), sh, at(sh, 2026, 1, 5, 0, 0), at(sh, 2026, 1, 12, 0, 0), 168},
		{"weekly Sunday", FrequencyWeekly, at(sh, 2026, 1, 11, 23, 0), sh, at(sh, 2026, 1, 5, 0, 0), at(sh, 2026, 1, 12, 0, 0), 168},
		// ISO week 53 of 2020 runs from Monday 28 December to Sunday 3 January.
		{"weekly across the year", FrequencyWeekly, at(sh, 2021, 1, 3, 12, 0), sh, at(sh, 2020, 12, 28, 0, 0), at(sh, 2021, 1, 4, 0, 0), 168},
		{"weekly across the year, before", FrequencyWeekly, at(sh, 2020, 12, 31, 12, 0), sh, at(sh, 2020, 12, 28, 0, 0), at(sh, 2021, 1, 4, 0, 0), 168},
		{"weekly spring forward", FrequencyWeekly, at(be, 2024, 3, 30, 12, 0), be, at(be, 2024, 3, 25, 0, 0), at(be, 2024, 4, 1, 0, 0), 167},
		{"monthly", FrequencyMonthly, at(sh, 2026, 1, 31, 23, 59), sh, at(sh, 2026, 1, 1, 0, 0), at(sh, 2026, 2, 1, 0, 0), 744},
		{"monthly February", FrequencyMonthly, at(sh, 2026, 2, 14, 0, 0), sh, at(sh, 2026, 2, 1, 0, 0), at(sh, 2026, 3, 1, 0, 0), 672},
		{"monthly leap February", FrequencyMonthly, at(sh, 2024, 2, 29, 12, 0), sh, at(sh, 2024, 2, 1, 0, 0), at(sh, 2024, 3, 1, 0, 0), 696},
		{"monthly December", FrequencyMonthly, at(sh, 2025, 12, 31, 12, 0), sh, at(sh, 2025, 12, 1, 0, 0), at(sh, 2026, 1, 1, 0, 0), 744},
		{"monthly spring forward", FrequencyMonthly, at(be, 2024, 3, 31, 12, 0), be, at(be, 2024, 3, 1, 0, 0), at(be, 2024, 4, 1, 0, 0), 743},
		{"yearly", FrequencyYearly, at(sh, 2026, 7, 1, 0, 0), sh, at(sh, 2026, 1, 1, 0, 0), at(sh, 2027, 1, 1, 0, 0), 8760},
		{"yearly leap", FrequencyYearly, at(sh, 2024, 12, 31, 23, 59), sh, at(sh, 2024, 1, 1, 0, 0), at(sh, 2025, 1, 1, 0, 0), 8784},
		{"yearly Berlin", FrequencyYearly, at(be, 2024, 6, 1, 0, 0), be, at(be, 2024, 1, 1, 0, 0), at(be, 2025, 1, 1, 0, 0), 8784},
		{"once has no calendar period", FrequencyOnce, at(sh, 2026, 1, 1, 0, 0), sh, time.Time{}, time.Time{}, 0},
		{"adhoc has no calendar period", FrequencyAdhoc, at(sh, 2026, 1, 1, 0, 0), sh, time.Time{}, time.Time{}, 0},
	} {
		start, end := Period(c.f, c.t, c.loc)
		if !start.Equal(c.start) || !end.Equal(c.end) {
			t.Errorf("%s: Period(%s, %s) = [%s, %s), want [%s, %s)", c.name, c.f, c.t, start, end, c.start, c.end)
		}
		if h := end.Sub(start).Hours(); h != c.hours {
			t.Errorf("%s: %v hours, want %v", c.name, h, c.hours)
		}
	}
}

// TestPeriodProperties: for random instants in every test zone and every
// calendar frequency, the period contains the instant, starts at the first
// instant of a local day (the right weekday, day of month, day of year),
// and periods tile time: the period of end is the next one, the period of
// start is the same.
func TestPeriodProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 7))
	lo := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, name := range testZones {
		loc := zone(t, name)
		for i := 0; i < 3000; i++ {
			tt := time.Unix(lo+r.Int64N(hi-lo), 0)
			f := []Frequency{FrequencyDaily, FrequencyWeekly, FrequencyMonthly, FrequencyYearly}[i%4]
			start, end := Period(f, tt, loc)
			fail := func(msg string) {
				t.Fatalf("seed %d: %s %s at %s: [%s, %s): %s", seed, name, f, tt.In(loc), start.In(loc), end.In(loc), msg)
			}
			if tt.Before(start) || !tt.Before(end) {
				fail("does not contain the instant")
			}
			ls := start.In(loc)
			if before := start.Add(-time.Nanosecond).In(loc); before.Day() == ls.Day() {
				fail("start is not the first instant of its day")
			}
			switch f {
			case FrequencyWeekly:
				if ls.Weekday() != time.Monday {
					fail("week does not start on Monday")
				}
			case FrequencyMonthly:
				if ls.Day() != 1 {
					fail("month does not start on the 1st")
				}
			case FrequencyYearly:
				if ls.YearDay() != 1 {
					fail("year does not start on 1 January")
				}
			}
			if s2, e2 := Period(f, start, loc); !s2.Equal(start) || !e2.Equal(end) {
				fail("the period of start differs")
			}
			if s3, _ := Period(f, end, loc); !s3.Equal(end) {
				fail("the next period does not start at end")
			}
			if s4, _ := Period(f, end.Add(-time.Nanosecond), loc); !s4.Equal(start) {
				fail("the last instant is in another period")
			}
		}
	}
}

func TestPeriodAt(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	tm := validTerms()
	at := t0.AddDate(0, 1, 0)
	if s, e := tm.PeriodAt(at, sh); !s.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, sh)) || !e.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, sh)) {
		t.Errorf("monthly PeriodAt = [%s, %s)", s, e)
	}
	for _, f := range []Frequency{FrequencyOnce, FrequencyAdhoc} {
		tm.Frequency = f
		if s, e := tm.PeriodAt(at, sh); !s.Equal(tm.ValidFrom) || !e.Equal(tm.ValidUntil) {
			t.Errorf("%s PeriodAt = [%s, %s), want the validity", f, s, e)
		}
	}
}

func TestAllowed(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	in := t0.AddDate(0, 1, 0) // 10 February 2026, 20:00 in Shanghai
	type mod func(*Terms)
	freq := func(f Frequency) mod { return func(tm *Terms) { tm.Frequency, tm.Schedule = f, nil } }
	cond := func(c string) mod { return func(tm *Terms) { tm.Condition = c } }
	for _, c := range []struct {
		name   string
		mod    mod
		u      Usage
		amount money.Amount
		at     time.Time
		want   error // nil: allowed
		msg    string
	}{
		{"allowed", nil, Usage{}, 5000, in, nil, ""},
		{"exactly max", nil, Usage{}, 10000, in, nil, ""},
		{"at validFrom", nil, Usage{}, 1, t0, nil, ""},
		{"zero amount", nil, Usage{}, 0, in, ErrInvalid, "positive"},
		{"negative amount", nil, Usage{}, -5, in, ErrInvalid, "positive"},
		{"before validity", nil, Usage{}, 5000, t0.Add(-time.Second), ErrNotActive, "valid from"},
		{"at validUntil", nil, Usage{}, 5000, t0.AddDate(1, 0, 0), ErrNotActive, "valid until"},
		{"above max", nil, Usage{}, 10001, in, ErrLimit, "100.01"},
		{"second this month", nil, Usage{ExecutionsThisPeriod: 1, TotalThisPeriod: 5000, ExecutionsTotal: 3}, 5000, in, ErrLimit, "this period"},
		{"third month", nil, Usage{ExecutionsTotal: 2}, 5000, in, nil, ""},
		{"daily second", freq(FrequencyDaily), Usage{ExecutionsThisPeriod: 1}, 5000, in, ErrLimit, "this period"},
		{"weekly second", freq(FrequencyWeekly), Usage{ExecutionsThisPeriod: 1}, 5000, in, ErrLimit, "this period"},
		{"yearly second", freq(FrequencyYearly), Usage{ExecutionsThisPeriod: 1}, 5000, in, ErrLimit, "this period"},
		{"once first", freq(FrequencyOnce), Usage{}, 5000, in, nil, ""},
		{"once second", freq(FrequencyOnce), Usage{ExecutionsThisPeriod: 1, ExecutionsTotal: 1}, 5000, in, ErrLimit, "once"},
		{"adhoc many", freq(FrequencyAdhoc), Usage{ExecutionsThisPeriod: 99, TotalThisPeriod: 990000, ExecutionsTotal: 99}, 5000, in, nil, ""},
		{"adhoc above max", freq(FrequencyAdhoc), Usage{}, 10001, in, ErrLimit, "maxAmount"},
		{"condition holds", cond("amount <= 5000 && day == 10 && month == 2"), Usage{}, 5000, in, nil, ""},
		{"condition fails", cond("amount <= 4000"), Usage{}, 5000, in, ErrCondition, "amount <= 4000"},
		{"condition day in Shanghai", cond("day == 10"), Usage{}, 5000, time.Date(2026, 2, 9, 16, 0, 0, 0, time.UTC), nil, ""},
		{"condition sees the period", func(tm *Terms) {
			tm.Frequency, tm.Schedule, tm.Condition = FrequencyAdhoc, nil, "totalThisPeriod + amount <= 20000 && executionsThisPeriod < 3"
		},
			Usage{ExecutionsThisPeriod: 2, TotalThisPeriod: 15000}, 5000, in, nil, ""},
		{"condition total exceeded", func(tm *Terms) {
			tm.Frequency, tm.Schedule, tm.Condition = FrequencyAdhoc, nil, "totalThisPeriod + amount <= 20000"
		},
			Usage{ExecutionsThisPeriod: 2, TotalThisPeriod: 15001}, 5000, in, ErrCondition, ""},
		{"condition runtime error", cond("amount / (month - 2) > 0"), Usage{}, 5000, in, ErrCondition, "division by zero"},
		// Order: validity before limits before the condition.
		{"validity before limit", nil, Usage{ExecutionsThisPeriod: 1}, 99999, t0.Add(-time.Second), ErrNotActive, ""},
		{"limit before condition", cond("false"), Usage{}, 10001, in, ErrLimit, ""},
		{"count before condition", cond("false"), Usage{ExecutionsThisPeriod: 1}, 1, in, ErrLimit, ""},
		{"amount before validity", nil, Usage{}, 0, t0.Add(-time.Second), ErrInvalid, ""},
	} {
		tm := validTerms()
		if c.mod != nil {
			c.mod(&tm)
		}
		cc, err := CompileCondition(tm.Condition)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, compiled := range []*Condition{cc, nil} { // nil: compiled on the fly
			err := Allowed(tm, compiled, c.u, c.amount, c.at, sh)
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
}

// TestAllowedConditionMismatch: a condition compiled from other terms is
// the service's bug, answered as internal, never as a pass.
func TestAllowedConditionMismatch(t *testing.T) {
	tm := validTerms()
	tm.Condition = "amount < 100"
	other, err := CompileCondition("true")
	if err != nil {
		t.Fatal(err)
	}
	err = Allowed(tm, other, Usage{}, 5000, t0, time.UTC)
	if err == nil || errors.Is(err, ErrCondition) {
		t.Errorf("mismatched condition: %v", err)
	}
	tm.Condition = ""
	if err := Allowed(tm, other, Usage{}, 5000, t0, time.UTC); err == nil {
		t.Error("a condition for terms without one was evaluated")
	}
}
