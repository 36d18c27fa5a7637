package ledger_test

import (
	"bytes"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/ledger/ledgertest"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "seed of the simulation (0: from the clock)")
	batchFlag = flag.Int("batches", 3000, "batches per simulation")
)

func seed(t *testing.T) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with: go test ./internal/ledger -run '%s' -seed %d", t.Name(), s)
		}
	})
	return s
}

// TestSimulation runs random batches through the ledger and the
// reference model and compares them after every batch: every result,
// every account, every transfer's state, the invariants; and now and then
// a fresh ledger rebuilt by replaying all committed batches.
func TestSimulation(t *testing.T) {
	s := seed(t)
	g := ledgertest.NewGenerator(s)
	l, m := ledger.New(), ledgertest.NewModel()
	var log []ledger.Committed
	counts := map[ledger.Status]int{}
	step := func(now int64, cmds []ledger.Command) {
		var c ledger.Committed
		got := l.Apply(now, cmds, nil, &c)
		want := m.Apply(now, cmds)
		for i := range cmds {
			counts[got[i].Status]++
			if got[i] != want[i] {
				t.Fatalf("batch %d command %d %+v: ledger %v@%d, model %v@%d", l.Seq(), i, cmds[i], got[i].Status, got[i].Timestamp, want[i].Status, want[i].Timestamp)
			}
		}
		if c.Seq != 0 {
			log = append(log, ledger.Committed{Seq: c.Seq, Now: c.Now, Events: append([]ledger.Event(nil), c.Events...)})
		}
		check := m.CheckTouched
		if l.Seq()%100 == 0 {
			check = m.Check
		}
		if err := check(l); err != nil {
			t.Fatalf("after batch at %d: %v", now, err)
		}
		if err := l.CheckInvariants(); err != nil {
			t.Fatalf("after batch at %d: %v", now, err)
		}
	}
	step(g.Setup())
	for i := 0; i < *batchFlag; i++ {
		now, cmds := g.Next()
		step(now, cmds)
		if i%500 == 499 {
			r := ledger.New()
			for j := range log {
				if err := r.Replay(&log[j]); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Check(r); err != nil {
				t.Fatalf("replayed ledger: %v", err)
			}
		}
	}
	// The workload must reach the cases it is there for.
	for _, st := range []ledger.Status{
		ledger.StatusOK, ledger.StatusExists, ledger.StatusExistsDifferent, ledger.StatusInsufficientFunds,
		ledger.StatusLinkedEventFailed, ledger.StatusLinkedChainOpen, ledger.StatusPendingExpired,
		ledger.StatusPendingCommitted, ledger.StatusPendingAborted, ledger.StatusPendingMismatch,
		ledger.StatusFloorBelowUsage, ledger.StatusDebitNotFound, ledger.StatusCurrencyMismatch,
		ledger.StatusTimeoutInvalid, ledger.StatusAmountNotPositive, ledger.StatusMetaTooLong,
	} {
		if counts[st] == 0 {
			t.Errorf("workload never produced %v", st)
		}
	}
	events := map[ledger.Kind]int{}
	for _, c := range log {
		for _, e := range c.Events {
			events[e.Kind]++
		}
	}
	for k := ledger.KindCreateAccount; k <= ledger.KindMark; k++ {
		if events[k] == 0 {
			t.Errorf("workload produced no %v event", k)
		}
	}
}

// TestDeterminism applies the same batches to two ledgers and checks
// that results and encoded events are identical byte for byte.
func TestDeterminism(t *testing.T) {
	s := seed(t)
	g := ledgertest.NewGenerator(s)
	a, b := ledger.New(), ledger.New()
	var ca, cb ledger.Committed
	var ra, rb []ledger.Result
	now, cmds := g.Setup()
	for i := 0; i < 1000; i++ {
		ra = a.Apply(now, cmds, ra, &ca)
		rb = b.Apply(now, cmds, rb, &cb)
		if fmt.Sprint(ra) != fmt.Sprint(rb) || ca.Seq != cb.Seq || !bytes.Equal(encode(ca.Events), encode(cb.Events)) {
			t.Fatalf("batch %d differs", i)
		}
		now, cmds = g.Next()
	}
}

func encode(events []ledger.Event) []byte {
	var b []byte
	for i := range events {
		b = events[i].AppendBinary(b)
	}
	return b
}
