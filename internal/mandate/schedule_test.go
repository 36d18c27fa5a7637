package mandate

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	be := zone(t, "Europe/Berlin")
	nine := func(loc *time.Location, y int, m time.Month, d int) time.Time {
		return time.Date(y, m, d, 9, 0, 0, 0, loc)
	}
	long := func(f Frequency, month, day int) Terms {
		return Terms{MaxAmount: 100, Currency: cny, Frequency: f,
			ValidFrom:  time.Date(2020, 1, 1, 0, 0, 0, 0, sh),
			ValidUntil: time.Date(2030, 1, 1, 0, 0, 0, 0, sh),
			Schedule:   &Schedule{Month: month, Day: day, Amount: 100}}
	}
	for _, c := range []struct {
		name  string
		terms Terms
		at    time.Time
		loc   *time.Location
		want  time.Time // zero: none
	}{
		{"monthly 5", long(FrequencyMonthly, 0, 5), nine(sh, 2026, 3, 20), sh, nine(sh, 2026, 3, 5)},
		{"monthly 31 in February", long(FrequencyMonthly, 0, 31), nine(sh, 2026, 2, 1), sh, nine(sh, 2026, 2, 28)},
		{"monthly 31 in leap February", long(FrequencyMonthly, 0, 31), nine(sh, 2024, 2, 1), sh, nine(sh, 2024, 2, 29)},
		{"monthly 31 in April", long(FrequencyMonthly, 0, 31), nine(sh, 2026, 4, 1), sh, nine(sh, 2026, 4, 30)},
		{"monthly 29 in February", long(FrequencyMonthly, 0, 29), nine(sh, 2026, 2, 1), sh, nine(sh, 2026, 2, 28)},
		{"monthly 31 in January", long(FrequencyMonthly, 0, 31), nine(sh, 2026, 1, 1), sh, nine(sh, 2026, 1, 31)},
		{"weekly Monday", long(FrequencyWeekly, 0, 1), nine(sh, 2026, 1, 8), sh, nine(sh, 2026, 1, 5)},
		{"weekly Sunday", long(FrequencyWeekly, 0, 7), nine(sh, 2026, 1, 5), sh, nine(sh, 2026, 1, 11)},
		{"weekly Friday across the year", long(FrequencyWeekly, 0, 5), nine(sh, 2020, 12, 28), sh, nine(sh, 2021, 1, 1)},
		{"daily", long(FrequencyDaily, 0, 0), time.Date(2026, 5, 5, 23, 0, 0, 0, sh), sh, nine(sh, 2026, 5, 5)},
		{"daily spring forward", long(FrequencyDaily, 0, 0), time.Date(2024, 3, 31, 1, 0, 0, 0, be), be, nine(be, 2024, 3, 31)},
		{"yearly 29 Feb, leap", long(FrequencyYearly, 2, 29), nine(sh, 2024, 7, 1), sh, nine(sh, 2024, 2, 29)},
		{"yearly 29 Feb, common", long(FrequencyYearly, 2, 29), nine(sh, 2026, 7, 1), sh, nine(sh, 2026, 2, 28)},
		{"yearly 15 Mar", long(FrequencyYearly, 3, 15), nine(sh, 2026, 1, 1), sh, nine(sh, 2026, 3, 15)},
		{"before validity", long(FrequencyMonthly, 0, 5), nine(sh, 2019, 12, 20), sh, time.Time{}},
		{"at validity's end", long(FrequencyMonthly, 0, 5), nine(sh, 2030, 1, 20), sh, time.Time{}},
		{"adhoc", Terms{Frequency: FrequencyAdhoc, Schedule: &Schedule{}, ValidUntil: nine(sh, 2030, 1, 1)}, nine(sh, 2026, 1, 1), sh, time.Time{}},
		{"no schedule", Terms{Frequency: FrequencyMonthly, ValidUntil: nine(sh, 2030, 1, 1)}, nine(sh, 2026, 1, 1), sh, time.Time{}},
	} {
		got, ok := Due(c.terms, c.at, c.loc)
		if ok != !c.want.IsZero() || !got.Equal(c.want) {
			t.Errorf("%s: Due = %s, %v; want %s", c.name, got, ok, c.want)
		}
	}
	// The first period starts before validFrom: its due time is skipped.
	tm := long(FrequencyMonthly, 0, 5)
	tm.ValidFrom = time.Date(2026, 3, 10, 0, 0, 0, 0, sh)
	if got, ok := Due(tm, nine(sh, 2026, 3, 20), sh); ok {
		t.Errorf("due %s before validFrom", got)
	}
	if got, ok := Next(tm, tm.ValidFrom, sh); !ok || !got.Equal(nine(sh, 2026, 4, 5)) {
		t.Errorf("Next after a late validFrom = %s, %v", got, ok)
	}
	once := long(FrequencyOnce, 0, 0)
	if got, ok := Due(once, nine(sh, 2026, 3, 20), sh); !ok || !got.Equal(once.ValidFrom) {
		t.Errorf("once: Due = %s, %v; want validFrom", got, ok)
	}
	if got, ok := Next(once, once.ValidFrom.Add(-1), sh); !ok || !got.Equal(once.ValidFrom) {
		t.Errorf("once: Next = %s, %v; want validFrom", got, ok)
	}
	if got, ok := Next(once, once.ValidFrom, sh); ok {
		t.Errorf("once: a second due time %s", got)
	}
}

// isDueDay is the schedule's rule, written independently of dueIn: the
// local date of a due time.
func isDueDay(s *Schedule, f Frequency, d time.Time) bool {
	last := time.Date(d.Year(), d.Month()+1, 0, 12, 0, 0, 0, time.UTC).Day()
	switch f {
	case FrequencyDaily:
		return true
	case FrequencyWeekly:
		return (int(d.Weekday())+6)%7+1 == s.Day
	case FrequencyMonthly:
		return d.Day() == s.Day || (s.Day > last && d.Day() == last)
	case FrequencyYearly:
		return int(d.Month()) == s.Month && (d.Day() == s.Day || (s.Day > last && d.Day() == last))
	}
	return false
}

// TestNextProperties: for random scheduled terms in several zones, the
// chain of Next from before validFrom is exactly the due times a day-by-day
// walk finds: strictly increasing, within the validity, on the right day
// at DueHour, one per period; Due agrees with each; and successive
// ExecutionKeys differ.
func TestNextProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 11))
	freqs := []Frequency{FrequencyDaily, FrequencyWeekly, FrequencyMonthly, FrequencyYearly}
	for i := 0; i < 400; i++ {
		loc := zone(t, testZones[r.IntN(len(testZones))])
		f := freqs[r.IntN(len(freqs))]
		s := &Schedule{Amount: 1}
		switch f {
		case FrequencyWeekly:
			s.Day = 1 + r.IntN(7)
		case FrequencyMonthly:
			s.Day = 1 + r.IntN(31)
			if r.IntN(3) == 0 {
				s.Day = 28 + r.IntN(4) // the month-end cases, often
			}
		case FrequencyYearly:
			s.Month = 1 + r.IntN(12)
			s.Day = 1 + r.IntN(maxDays[s.Month])
		}
		from := time.Date(2015+r.IntN(15), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), 0, 0, loc)
		span := time.Duration(1+r.IntN(3*366*24)) * time.Hour
		if f == FrequencyYearly {
			span *= 4 // a few years: a 29 February
		}
		tm := Terms{MaxAmount: 1, Currency: cny, Frequency: f, ValidFrom: from, ValidUntil: from.Add(span), Schedule: s}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d, case %d: %s %+v in %s from %s until %s: %s", seed, i, f, *s, loc, from, tm.ValidUntil, fmt.Sprintf(format, args...))
		}
		if err := tm.Validate(from); err != nil {
			fail("%v", err)
		}
		// The walk: every local day from validFrom's to validUntil's.
		var want []time.Time
		for d := time.Date(from.In(loc).Year(), from.In(loc).Month(), from.In(loc).Day(), 12, 0, 0, 0, time.UTC); ; d = d.AddDate(0, 0, 1) {
			due := time.Date(d.Year(), d.Month(), d.Day(), DueHour, 0, 0, 0, loc)
			if !due.Before(tm.ValidUntil) {
				break
			}
			if !due.Before(from) && isDueDay(s, f, d) {
				want = append(want, due)
			}
		}
		var got []time.Time
		var prevKey string
		for at := from.Add(-time.Nanosecond); ; {
			due, ok := Next(tm, at, loc)
			if !ok {
				break
			}
			if !due.After(at) || due.Before(from) || !due.Before(tm.ValidUntil) {
				fail("Next(%s) = %s", at, due)
			}
			if d, ok := Due(tm, due, loc); !ok || !d.Equal(due) {
				fail("Due(%s) = %s, %v", due, d, ok)
			}
			start, _ := tm.PeriodAt(due, loc)
			key := ExecutionKey("m-1", start)
			if key == prevKey {
				fail("two due times in the period of %s", due)
			}
			prevKey = key
			got = append(got, due)
			if len(got) > len(want)+1 {
				break
			}
			at = due
		}
		if len(got) != len(want) {
			fail("Next gave %d due times, the walk %d:\n%v\n%v", len(got), len(want), got, want)
		}
		for j := range want {
			if !got[j].Equal(want[j]) {
				fail("due %d is %s, want %s", j, got[j].In(loc), want[j])
			}
		}
		// Next from inside the chain: any instant between two due times
		// gives the second.
		if len(want) >= 2 {
			mid := want[0].Add(want[1].Sub(want[0]) / 2)
			if d, ok := Next(tm, mid, loc); !ok || !d.Equal(want[1]) {
				fail("Next(%s) = %s, want %s", mid, d, want[1])
			}
		}
	}
}

func TestNoticeAt(t *testing.T) {
	due := time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)
	if got := NoticeAt(due, DefaultNotice); !got.Equal(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("NoticeAt = %s", got)
	}
}

func TestRetryAt(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	be := zone(t, "Europe/Berlin")
	terms := func(f Frequency, loc *time.Location) Terms {
		return Terms{Frequency: f, ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, loc), ValidUntil: time.Date(2027, 1, 1, 0, 0, 0, 0, loc)}
	}
	nine := func(loc *time.Location, y int, m time.Month, d int) time.Time {
		return time.Date(y, m, d, 9, 0, 0, 0, loc)
	}
	short := terms(FrequencyMonthly, sh)
	short.ValidUntil = nine(sh, 2026, 3, 7)
	for _, c := range []struct {
		name    string
		terms   Terms
		due     time.Time
		attempt int
		loc     *time.Location
		want    time.Time // zero: none
	}{
		{"attempt 0 is the due time", terms(FrequencyMonthly, sh), nine(sh, 2026, 3, 5), 0, sh, nine(sh, 2026, 3, 5)},
		{"first retry", terms(FrequencyMonthly, sh), nine(sh, 2026, 3, 5), 1, sh, nine(sh, 2026, 3, 6)},
		{"third retry", terms(FrequencyMonthly, sh), nine(sh, 2026, 3, 5), 3, sh, nine(sh, 2026, 3, 8)},
		{"retry across the month's end", terms(FrequencyMonthly, sh), nine(sh, 2026, 2, 28), 1, sh, time.Time{}},
		{"retry on the month's last day", terms(FrequencyMonthly, sh), nine(sh, 2026, 1, 29), 2, sh, nine(sh, 2026, 1, 31)},
		{"retry leap day", terms(FrequencyMonthly, sh), nine(sh, 2024, 2, 28), 1, sh, nine(sh, 2024, 2, 29)},
		{"weekly Saturday", terms(FrequencyWeekly, sh), nine(sh, 2026, 1, 10), 1, sh, nine(sh, 2026, 1, 11)},
		{"weekly Sunday", terms(FrequencyWeekly, sh), nine(sh, 2026, 1, 11), 1, sh, time.Time{}},
		{"daily never", terms(FrequencyDaily, sh), nine(sh, 2026, 1, 11), 1, sh, time.Time{}},
		{"yearly", terms(FrequencyYearly, sh), nine(sh, 2026, 12, 29), 2, sh, nine(sh, 2026, 12, 31)},
		{"yearly across the year", terms(FrequencyYearly, sh), nine(sh, 2025, 12, 31), 1, sh, time.Time{}},
		{"validity ends", short, nine(sh, 2026, 3, 5), 2, sh, time.Time{}},
		{"validity ends after", short, nine(sh, 2026, 3, 5), 1, sh, nine(sh, 2026, 3, 6)},
		{"once within validity", terms(FrequencyOnce, sh), nine(sh, 2026, 3, 5), 3, sh, nine(sh, 2026, 3, 8)},
		{"DST keeps the local hour", terms(FrequencyMonthly, be), nine(be, 2024, 3, 30), 1, be, nine(be, 2024, 3, 31)},
		{"negative attempt", terms(FrequencyMonthly, sh), nine(sh, 2026, 3, 5), -1, sh, time.Time{}},
	} {
		got, ok := RetryAt(c.terms, c.due, c.attempt, c.loc)
		if ok != !c.want.IsZero() || !got.Equal(c.want) {
			t.Errorf("%s: RetryAt = %s, %v; want %s", c.name, got, ok, c.want)
		}
	}
	// Across DST the retry is 23 hours later, not 24.
	got, _ := RetryAt(terms(FrequencyMonthly, be), nine(be, 2024, 3, 30), 1, be)
	if h := got.Sub(nine(be, 2024, 3, 30)).Hours(); h != 23 {
		t.Errorf("retry across spring forward after %v hours", h)
	}
}

func TestExecutionKey(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, sh)
	for _, c := range []struct {
		id, want string
	}{
		{"m-42", "mandate:m-42:20260131T160000Z"},
		{"a:b.c_d", "mandate:a:b.c_d:20260131T160000Z"},
		{strings.Repeat("x", 103), "mandate:" + strings.Repeat("x", 103) + ":20260131T160000Z"},
		// Golden: the hash input is versioned and length-prefixed; a change
		// would give a second transfer to a period executed before it.
		{strings.Repeat("x", 104), "mandate-h:5082ccfad985792223644d0fddd00b27b0f11be6:20260131T160000Z"},
		{"", ""},
		{"m 42", ""},
		{"mandate/é", ""},
	} {
		got := ExecutionKey(c.id, feb)
		if c.want != "" && got != c.want {
			t.Errorf("ExecutionKey(%q) = %q, want %q", c.id, got, c.want)
		}
		if len(got) > ExecutionKeyMax || !idChars(got) {
			t.Errorf("ExecutionKey(%q) = %q: not a transfer id", c.id, got)
		}
		if c.want == "" && !strings.HasPrefix(got, "mandate-h:") {
			t.Errorf("ExecutionKey(%q) = %q, want it hashed", c.id, got)
		}
	}
	// The key is of the instant, whatever location it was read in.
	if ExecutionKey("m", feb) != ExecutionKey("m", feb.UTC()) {
		t.Error("the key depends on the time's location")
	}
	if ExecutionKey("m", feb) == ExecutionKey("m", feb.AddDate(0, 1, 0)) {
		t.Error("two periods share a key")
	}
	long1, long2 := strings.Repeat("y", 200)+"1", strings.Repeat("y", 200)+"2"
	if ExecutionKey(long1, feb) == ExecutionKey(long2, feb) || ExecutionKey("m 1", feb) == ExecutionKey("m 2", feb) {
		t.Error("hashed ids collide")
	}
}
