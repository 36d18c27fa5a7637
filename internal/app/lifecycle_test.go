package app

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// TestLifecycle: parts stop last first, a running part's goroutine has
// returned before the part started before it stops, errors are all
// reported, and stopping twice does nothing.
func TestLifecycle(t *testing.T) {
	var mu sync.Mutex
	var events []string
	note := func(s string) {
		mu.Lock()
		events = append(events, s)
		mu.Unlock()
	}
	var l lifecycle
	l.closer("store", func() error { note("close store"); return errors.New("store: disk gone") })
	l.goRun("worker", func(ctx context.Context) {
		<-ctx.Done()
		note("worker returned")
	})
	l.onStop("server", func(context.Context) error { note("stop server"); return nil })
	err := l.stop(context.Background())
	if want := []string{"stop server", "worker returned", "close store"}; !slices.Equal(events, want) {
		t.Errorf("order %v, want %v", events, want)
	}
	if err == nil || err.Error() != "stop store: store: disk gone" {
		t.Errorf("error %v", err)
	}
	if err := l.stop(context.Background()); err != nil || len(events) != 3 {
		t.Errorf("second stop: %v, %v", err, events)
	}
}
