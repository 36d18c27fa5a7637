package loadgen

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress shows a run as it goes: on a terminal one line redrawn in
// place (with \r) a few times a second; otherwise, for logs and CI, a
// line every few seconds.
type progress struct {
	w        io.Writer
	terminal bool

	mu       sync.Mutex
	name     string
	from     time.Time
	duration time.Duration
	requests int64
}

// Redraw intervals.
const (
	terminalEvery = 250 * time.Millisecond
	logEvery      = 2 * time.Second
	barWidth      = 24
)

func newProgress(cfg *Config) *progress {
	return &progress{w: cfg.Progress, terminal: cfg.Terminal}
}

// say prints a line (not while the bar is running).
func (p *progress) say(format string, args ...any) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "bench: "+format+"\n", args...)
}

// phase names what the bar measures: a phase starting at from, bounded
// by duration and/or a number of requests.
func (p *progress) phase(name string, from time.Time, duration time.Duration, requests int64) {
	p.mu.Lock()
	p.name, p.from, p.duration, p.requests = name, from, duration, requests
	p.mu.Unlock()
	if p.w != nil && name == "warmup" {
		p.say("warming up for %s", duration)
	}
}

// start draws until the returned function is called, which draws a last
// time and ends the line.
func (p *progress) start(r *runner) (stop func()) {
	if p.w == nil {
		return func() {}
	}
	every := logEvery
	if p.terminal {
		every = terminalEvery
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		var lastN int64
		last := time.Now()
		for {
			select {
			case <-quit:
				if p.terminal {
					p.draw(r, &lastN, &last, true)
					fmt.Fprintln(p.w)
				}
				return
			case <-t.C:
				p.draw(r, &lastN, &last, false)
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// draw shows the totals and the request rate since the last draw.
func (p *progress) draw(r *runner, lastN *int64, last *time.Time, final bool) {
	var n, committed, failed int64
	for _, w := range r.workers {
		n += w.requests.Load()
		committed += w.committed.Load()
		failed += w.failures.Load()
	}
	now := time.Now()
	rate := float64(n-*lastN) / now.Sub(*last).Seconds()
	*lastN, *last = n, now
	p.mu.Lock()
	elapsed := now.Sub(p.from)
	frac := 0.0
	if p.duration > 0 {
		frac = elapsed.Seconds() / p.duration.Seconds()
	}
	if p.requests > 0 {
		frac = max(frac, float64(n)/float64(p.requests))
	}
	if final {
		frac = 1
	}
	frac = min(frac, 1)
	bound := ""
	if p.duration > 0 {
		bound = "/" + p.duration.String()
	}
	p.mu.Unlock()
	line := fmt.Sprintf("%5.1fs%s  %s requests  %s req/s", elapsed.Seconds(), bound, thousands(n), thousands(int64(rate)))
	if r.cfg.Mode != Lookup {
		line += "  " + thousands(committed) + " committed"
	}
	line += "  " + thousands(failed) + " errors"
	if p.terminal {
		full := int(frac * barWidth)
		bar := strings.Repeat("█", full) + strings.Repeat("░", barWidth-full)
		fmt.Fprintf(p.w, "\r%s %3.0f%%  %s\x1b[K", bar, frac*100, line)
		return
	}
	fmt.Fprintf(p.w, "bench: %3.0f%%  %s\n", frac*100, line)
}

// thousands formats n with thousands separators: 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
