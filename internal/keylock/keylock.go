// Package keylock owns mutual exclusion by key: what is done to one
// payment request, mandate or dispute at a time, while work on others
// goes on. A key's lock lives only while someone holds or waits for it,
// so that the set does not grow with every key ever locked.
package keylock

import "sync"

// Locks is a set of locks by key; the zero value is ready.
type Locks struct {
	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	sync.Mutex
	users int
}

// Lock locks key's lock, waiting for it, and returns its unlock, which
// may be called more than once (the first call unlocks).
func (l *Locks) Lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*entry{}
	}
	e := l.m[key]
	if e == nil {
		e = &entry{}
		l.m[key] = e
	}
	e.users++
	l.mu.Unlock()
	e.Lock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.Unlock()
			l.mu.Lock()
			if e.users--; e.users == 0 {
				delete(l.m, key)
			}
			l.mu.Unlock()
		})
	}
}

// held returns how many keys have a lock: a test's view.
func (l *Locks) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
