package transfer

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

// outcomeLog keeps what the Outcomes observer heard, as "STATE amount"
// or "refused code".
type outcomeLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *outcomeLog) Outcome(o *Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if o.Err != nil {
		l.seen = append(l.seen, "refused "+fault.CodeOf(o.Err))
		return
	}
	l.seen = append(l.seen, fmt.Sprintf("%s %d", o.Transfer.State, o.Transfer.Amount))
}

func (l *outcomeLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.seen
	l.seen = nil
	return out
}

// TestOutcomes checks what the Outcomes observer hears of each call:
// every payment created or refused, every reservation decided, and
// nothing of retries or of decisions that failed.
func TestOutcomes(t *testing.T) {
	log := &outcomeLog{}
	f := newFixture(t, func(d *Deps) { d.Outcomes = log })
	expires := f.clk.now().Add(time.Minute)
	for _, c := range []struct {
		name string
		call func()
		want []string
	}{
		{"committed", func() { f.s.Create(f.ctx, f.a, req("o.1", "b:1", 1000)) }, []string{"COMMITTED 1000"}},
		{"retry", func() { f.s.Create(f.ctx, f.a, req("o.1", "b:1", 1000)) }, nil},
		{"conflict", func() { f.s.Create(f.ctx, f.a, req("o.1", "b:1", 2000)) }, []string{"refused duplicate-conflict"}},
		{"insufficient funds", func() { f.s.Create(f.ctx, f.a, req("o.2", "b:1", 10_000_000)) }, []string{"refused insufficient-funds"}},
		{"unknown party", func() { f.s.Create(f.ctx, f.a, req("o.3", "nobody:1", 100)) }, []string{"refused unknown-party"}},
		{"batch", func() {
			f.s.CreateMany(f.ctx, f.a, []Request{req("o.4", "b:1", 300), req("o.5", "a:1", 100), req("o.1", "b:1", 1000)})
		}, []string{"COMMITTED 300", "refused same-participant"}},
		{"prepare", func() { f.s.Prepare(f.ctx, f.a, req("o.6", "b:1", 500), expires) }, []string{"RESERVED 500"}},
		{"prepare again", func() { f.s.Prepare(f.ctx, f.a, req("o.6", "b:1", 500), expires) }, nil},
		{"fulfil", func() { f.s.Fulfil(f.ctx, f.b, "o.6") }, []string{"COMMITTED 500"}},
		{"fulfil again", func() { f.s.Fulfil(f.ctx, f.b, "o.6") }, nil},
		{"reject after fulfil", func() { f.s.Reject(f.ctx, f.b, "o.6", "late") }, nil},
		{"prepare and reject", func() {
			f.s.Prepare(f.ctx, f.a, req("o.7", "b:1", 700), expires)
			f.s.Reject(f.ctx, f.b, "o.7", "no")
		}, []string{"RESERVED 700", "ABORTED 700"}},
		{"confirm-mode payee unreachable", func() { f.s.Create(f.ctx, f.a, req("o.8", "c:1", 800)) }, []string{"ABORTED 800"}},
	} {
		c.call()
		if got := log.take(); !slices.Equal(got, c.want) {
			t.Errorf("%s: observer heard %q, want %q", c.name, got, c.want)
		}
	}
}
