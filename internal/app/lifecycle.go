package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// lifecycle holds the switch's parts that must be stopped: resources to
// close (stores, the journal, the directory) and goroutines that run
// until stopped (callback delivery, the liquidity monitor, the
// settlement scheduler, the HTTP server). Parts are stopped in the
// reverse order of their start, each completely — its goroutines
// returned — before the next, so that nothing still running uses what
// is closed after it.
type lifecycle struct {
	mu    sync.Mutex
	parts []part
}

type part struct {
	name string
	stop func(ctx context.Context) error
}

// onStop registers a part whose stop is stop.
func (l *lifecycle) onStop(name string, stop func(ctx context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.parts = append(l.parts, part{name, stop})
}

// closer registers a resource to close.
func (l *lifecycle) closer(name string, close func() error) {
	l.onStop(name, func(context.Context) error { return close() })
}

// goRun runs run on a goroutine of its own until the part is stopped:
// stopping cancels run's context and waits for run to return.
func (l *lifecycle) goRun(name string, run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	l.onStop(name, func(context.Context) error {
		cancel()
		<-done
		return nil
	})
}

// stop stops every part, last started first, and returns their errors.
// Stopping again does nothing.
func (l *lifecycle) stop(ctx context.Context) error {
	l.mu.Lock()
	parts := l.parts
	l.parts = nil
	l.mu.Unlock()
	var errs []error
	for i := len(parts) - 1; i >= 0; i-- {
		if err := parts[i].stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", parts[i].name, err))
		}
	}
	return errors.Join(errs...)
}

// every calls fn every d until ctx ends, first after d: the loop of the
// switch's periodic jobs.
func every(ctx context.Context, d time.Duration, fn func(ctx context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn(ctx)
	}
}
