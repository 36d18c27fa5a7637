package mandate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Times of scheduled executions.
const (
	// DueHour is the local hour, in the scheme's zone, at which a
	// scheduled execution of a calendar frequency is due.
	DueHour = 9
	// DefaultNotice is how long before a scheduled execution the payer's
	// participant is told it is due (mandate.execution-due).
	DefaultNotice = 24 * time.Hour
	// DefaultRetries is how many times a scheduled execution refused for
	// short funds is tried again, a day apart.
	DefaultRetries = 3
)

// Due returns when the scheduled execution of the period containing at is
// due, and false when there is none: t has no schedule, is adhoc, or the
// due time falls outside the validity. A weekly mandate is due on ISO
// weekday Day of the week, a monthly one on Day of the month (its last
// day when shorter), a yearly one on Month and Day, a daily one every
// day, all at DueHour in loc; a "once" mandate at ValidFrom.
func Due(t Terms, at time.Time, loc *time.Location) (time.Time, bool) {
	if t.Schedule == nil || !t.Frequency.Valid() || t.Frequency == FrequencyAdhoc {
		return time.Time{}, false
	}
	if t.Frequency == FrequencyOnce {
		return t.ValidFrom, t.ValidFrom.Before(t.ValidUntil)
	}
	start, _ := Period(t.Frequency, at, loc)
	due := dueIn(t.Frequency, t.Schedule, start, loc)
	if due.Before(t.ValidFrom) || !due.Before(t.ValidUntil) {
		return time.Time{}, false
	}
	return due, true
}

// dueIn returns the due time in the calendar period that starts at start.
func dueIn(f Frequency, s *Schedule, start time.Time, loc *time.Location) time.Time {
	y, m, d := start.In(loc).Date()
	switch f {
	case FrequencyWeekly:
		d += s.Day - 1
	case FrequencyMonthly:
		d = min(s.Day, daysIn(y, m))
	case FrequencyYearly:
		m = time.Month(s.Month)
		d = min(s.Day, daysIn(y, m))
	}
	return time.Date(y, m, d, DueHour, 0, 0, 0, loc)
}

// daysIn returns the number of days of month m of year y.
func daysIn(y int, m time.Month) int {
	// Day 0 of the next month is the last day of this one.
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Next returns the first due time of t strictly after after, within the
// validity, and false when there is none. A scheduler that remembers the
// last due time it handled asks Next for the following one; since there
// is one due time per period, successive answers are in successive
// periods.
func Next(t Terms, after time.Time, loc *time.Location) (time.Time, bool) {
	if t.Schedule == nil || !t.Frequency.Valid() || t.Frequency == FrequencyAdhoc {
		return time.Time{}, false
	}
	if t.Frequency == FrequencyOnce {
		if t.ValidFrom.After(after) && t.ValidFrom.Before(t.ValidUntil) {
			return t.ValidFrom, true
		}
		return time.Time{}, false
	}
	from := after
	if from.Before(t.ValidFrom) {
		from = t.ValidFrom
	}
	start, end := Period(t.Frequency, from, loc)
	// Two periods suffice: the next period starts after from, which is at
	// or after both after and ValidFrom, so its due time is after both.
	for range 2 {
		if !start.Before(t.ValidUntil) {
			break
		}
		due := dueIn(t.Frequency, t.Schedule, start, loc)
		if !due.Before(t.ValidUntil) {
			break
		}
		if due.After(after) && !due.Before(t.ValidFrom) {
			return due, true
		}
		start, end = Period(t.Frequency, end, loc)
	}
	return time.Time{}, false
}

// NoticeAt returns when the payer's participant is told that the
// execution due at due is coming: notice earlier (DefaultNotice unless
// configured). A notice time already past means notify now.
func NoticeAt(due time.Time, notice time.Duration) time.Time {
	return due.Add(-notice)
}

// RetryAt returns when attempt number attempt of the scheduled execution
// due at due happens: attempt 0 is due itself, attempt n is n calendar
// days later at the same local time in loc. It returns false when that
// time leaves the due's period or the validity, so that a retry never
// collides with the next period's execution; the caller stops after its
// configured number of retries (DefaultRetries).
func RetryAt(t Terms, due time.Time, attempt int, loc *time.Location) (time.Time, bool) {
	if attempt < 0 {
		return time.Time{}, false
	}
	r := due.In(loc).AddDate(0, 0, attempt)
	_, end := t.PeriodAt(due, loc)
	if !r.Before(end) || !r.Before(t.ValidUntil) {
		return time.Time{}, false
	}
	return r, true
}

// Bounds of an execution key, which is a transfer id.
const (
	// ExecutionKeyMax is the longest execution key: a transfer id's limit.
	ExecutionKeyMax = 128
	// keyPrefix starts the key of a mandate id used as it is.
	keyPrefix = "mandate:"
	// keyHashedPrefix starts the key of a hashed mandate id. It differs
	// from keyPrefix in its eighth byte, so no id used as it is can give
	// the key of a hashed one.
	keyHashedPrefix = "mandate-h:"
	// keyTimeLayout writes the period's start in UTC, fixed width, so that
	// the key does not depend on the location the time was read in.
	keyTimeLayout = "20060102T150405Z"
	// rawIDMax is the longest mandate id used as it is.
	rawIDMax = ExecutionKeyMax - len(keyPrefix) - 1 - len(keyTimeLayout)
)

// ExecutionKey returns the id of the transfer of a mandate's scheduled
// execution in the period starting at periodStart (as PeriodAt returns
// it): "mandate:<id>:<start in UTC>", e.g.
// "mandate:m-42:20260131T160000Z" for February 2026 in Asia/Shanghai. An
// id too long or with a character outside a transfer id's (letters,
// digits, . _ : -) is replaced by "mandate-h:" and 40 hex digits of the
// SHA-256 of a versioned, length-prefixed encoding of it. Every key has
// at most ExecutionKeyMax characters of that set; the same mandate and
// period always give the same key, so a scheduler that restarts on the
// day re-derives it and the ledger refuses a second transfer.
//
// A client choosing a transfer id that starts with "mandate" could take a
// period's key first; the transfer service should refuse such ids from
// clients.
func ExecutionKey(mandateID string, periodStart time.Time) string {
	ts := periodStart.UTC().Format(keyTimeLayout)
	if mandateID != "" && len(mandateID) <= rawIDMax && idChars(mandateID) {
		return keyPrefix + mandateID + ":" + ts
	}
	b := binary.AppendUvarint([]byte("hulian/mandate/execution/v1"), uint64(len(mandateID)))
	b = append(b, mandateID...)
	sum := sha256.Sum256(b)
	return keyHashedPrefix + hex.EncodeToString(sum[:20]) + ":" + ts
}

// idChars reports whether s holds only the characters of a transfer id.
func idChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}
