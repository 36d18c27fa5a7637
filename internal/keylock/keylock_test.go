package keylock

import (
	"sync"
	"testing"
)

// TestLocks: one holder per key at a time, others keys free, and no lock
// kept once nobody holds or waits for it.
func TestLocks(t *testing.T) {
	var l Locks
	var inside [2]int
	var max [2]int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := i % 2
			unlock := l.Lock([]string{"a", "b"}[k])
			mu.Lock()
			inside[k]++
			max[k] = maxInt(max[k], inside[k])
			mu.Unlock()
			mu.Lock()
			inside[k]--
			mu.Unlock()
			unlock()
		}()
	}
	wg.Wait()
	if max != [2]int{1, 1} {
		t.Errorf("holders at once: %v", max)
	}
	if n := l.held(); n != 0 {
		t.Errorf("%d locks kept", n)
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
