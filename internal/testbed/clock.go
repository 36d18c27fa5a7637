package testbed

import (
	"sync"
	"time"
)

// Clock is a manual clock for the Now of journals, registries and
// services, safe for concurrent use.
//
// A clock with a step moves on by the step at every reading, before it
// is read, so that every reading is later than the one before, as on a
// real machine that does work between readings: every ledger batch and
// every change then has a time of its own. A clock without one moves
// only when told, so that a time a test was handed can be compared
// exactly with one the test computes.
type Clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

// NewClock returns a clock that reads start (plus step at the first
// reading) and moves on by step at every reading; a zero step makes it
// move only by Advance and Set. A negative step is a programmer error.
func NewClock(start time.Time, step time.Duration) *Clock {
	if step < 0 {
		panic("testbed: a clock's step must not be negative, it was " + step.String())
	}
	return &Clock{t: start, step: step}
}

// Now moves the clock on by its step and returns the time it then
// reads.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// Advance moves the clock on by d (back, if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set puts the clock at t, earlier or later than it was.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
