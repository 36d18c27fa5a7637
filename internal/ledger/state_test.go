package ledger

import (
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
)

var (
	cny = money.MustCurrency("CNY")
	usd = money.MustCurrency("USD")
)

// The accounts of the table tests: a prefunded wallet, a wallet with a
// net debit cap of 1000, the settlement bank's external account, the
// hub's fee account and a USD account.
const (
	walletA AccountID = 1
	walletB AccountID = 2
	bank    AccountID = 3
	fees    AccountID = 4
	dollars AccountID = 5
	missing AccountID = 99
)

func id(n byte) ID { return ID{15: n} }

func post(n byte, dr, cr AccountID, amt money.Amount) Command {
	return Command{Kind: KindPost, ID: id(n), Debit: dr, Credit: cr, Amount: amt}
}

func reserve(n byte, dr, cr AccountID, amt money.Amount, timeout time.Duration) Command {
	return Command{Kind: KindReserve, ID: id(n), Debit: dr, Credit: cr, Amount: amt, Timeout: timeout}
}

func commit(n, p byte) Command { return Command{Kind: KindCommit, ID: id(n), Pending: id(p)} }
func abort(n, p byte) Command  { return Command{Kind: KindAbort, ID: id(n), Pending: id(p)} }

func linkedTo(c Command) Command { c.Linked = true; return c }

const t0 = int64(1_700_000_000_000_000_000)

// recorder applies batches to a ledger and keeps what they committed,
// so that a test can replay them into a fresh ledger.
type recorder struct {
	*State
	log []Committed
}

func (r *recorder) Apply(now int64, cmds []Command, results []Result, c *Committed) []Result {
	results = r.State.Apply(now, cmds, results, c)
	if c.Seq != 0 {
		r.log = append(r.log, Committed{Seq: c.Seq, Now: c.Now, Events: append([]Event(nil), c.Events...)})
	}
	return results
}

// fixture returns a ledger with the table tests' accounts and 10000
// deposited into walletA.
func fixture(t *testing.T) *recorder {
	t.Helper()
	s := &recorder{State: New()}
	mustApply(t, s, t0, []Command{
		{Kind: KindCreateAccount, Account: walletA, Currency: cny},
		{Kind: KindCreateAccount, Account: walletB, Currency: cny, Floor: 1000},
		{Kind: KindCreateAccount, Account: bank, Currency: cny, AccountFlags: AccountUnbounded},
		{Kind: KindCreateAccount, Account: fees, Currency: cny},
		{Kind: KindCreateAccount, Account: dollars, Currency: usd},
		post(200, bank, walletA, 10000),
	})
	return s
}

func mustApply(t *testing.T, s *recorder, now int64, cmds []Command) []Result {
	t.Helper()
	var c Committed
	res := s.Apply(now, cmds, nil, &c)
	for i, r := range res {
		if !r.Status.Succeeded() {
			t.Fatalf("setup command %d (%v): %v", i, cmds[i].Kind, r.Status)
		}
	}
	return res
}

func TestCommands(t *testing.T) {
	type bal struct{ balance, reserved money.Amount }
	tests := []struct {
		name  string
		setup []Command
		cmds  []Command
		want  []Status
		after map[AccountID]bal
	}{
		{
			name:  "post moves money",
			cmds:  []Command{post(1, walletA, walletB, 2500)},
			want:  []Status{StatusOK},
			after: map[AccountID]bal{walletA: {7500, 0}, walletB: {2500, 0}},
		},
		{
			name:  "post up to the whole balance",
			cmds:  []Command{post(1, walletA, walletB, 10000)},
			want:  []Status{StatusOK},
			after: map[AccountID]bal{walletA: {0, 0}},
		},
		{
			name:  "post beyond a prefunded balance is refused",
			cmds:  []Command{post(1, walletA, walletB, 10001)},
			want:  []Status{StatusInsufficientFunds},
			after: map[AccountID]bal{walletA: {10000, 0}, walletB: {0, 0}},
		},
		{
			name:  "a net debit cap lets the balance go below zero to the floor",
			cmds:  []Command{post(1, walletB, walletA, 1000), post(2, walletB, walletA, 1)},
			want:  []Status{StatusOK, StatusInsufficientFunds},
			after: map[AccountID]bal{walletB: {-1000, 0}, walletA: {11000, 0}},
		},
		{
			name:  "the unbounded account has no floor",
			cmds:  []Command{post(1, bank, walletB, 1<<60)},
			want:  []Status{StatusOK},
			after: map[AccountID]bal{bank: {-10000 - 1<<60, 0}},
		},
		{
			name:  "same id and content again: exists, nothing charged twice",
			cmds:  []Command{post(1, walletA, walletB, 100), post(1, walletA, walletB, 100)},
			want:  []Status{StatusOK, StatusExists},
			after: map[AccountID]bal{walletA: {9900, 0}, walletB: {100, 0}},
		},
		{
			name:  "same id, other amount: conflict",
			setup: []Command{post(1, walletA, walletB, 100)},
			cmds:  []Command{post(1, walletA, walletB, 101)},
			want:  []Status{StatusExistsDifferent},
			after: map[AccountID]bal{walletA: {9900, 0}},
		},
		{
			name:  "same id, other kind: conflict",
			setup: []Command{post(1, walletA, walletB, 100)},
			cmds:  []Command{reserve(1, walletA, walletB, 100, time.Second)},
			want:  []Status{StatusExistsDifferent},
		},
		{
			name: "a refused command leaves its id free",
			cmds: []Command{post(1, walletA, walletB, 20000), post(1, walletA, walletB, 200)},
			want: []Status{StatusInsufficientFunds, StatusOK},
		},
		{
			name: "field refusals",
			cmds: []Command{
				{Kind: KindPost, Debit: walletA, Credit: walletB, Amount: 1},
				post(1, walletA, walletB, 0),
				post(2, walletA, walletB, -5),
				post(3, walletA, walletA, 5),
				post(4, missing, walletB, 5),
				post(5, walletA, missing, 5),
				post(6, walletA, dollars, 5),
				{Kind: KindPost, ID: id(7), Debit: walletA, Credit: walletB, Amount: 5, Timeout: time.Second},
				{Kind: 0, ID: id(8)},
				{Kind: KindExpire, ID: id(9), Pending: id(200)},
				{Kind: 200, ID: id(10)},
			},
			want: []Status{
				StatusIDZero, StatusAmountNotPositive, StatusAmountNotPositive, StatusSameAccount,
				StatusDebitNotFound, StatusCreditNotFound, StatusCurrencyMismatch, StatusTimeoutInvalid,
				StatusInvalidKind, StatusInvalidKind, StatusInvalidKind,
			},
			after: map[AccountID]bal{walletA: {10000, 0}, walletB: {0, 0}},
		},
		{
			name: "overflow of a credit or of an unbounded debit is refused",
			setup: []Command{
				{Kind: KindCreateAccount, Account: 6, Currency: cny, AccountFlags: AccountUnbounded},
				post(1, bank, walletB, 1<<62),
				post(2, 6, walletB, 1<<62-1),
			},
			cmds:  []Command{post(3, 6, walletB, 10), post(4, bank, walletA, 1<<62)},
			want:  []Status{StatusOverflow, StatusOverflow},
			after: map[AccountID]bal{walletB: {1<<63 - 1, 0}, bank: {-10000 - 1<<62, 0}},
		},
		{
			name:  "reserve counts against available at once",
			cmds:  []Command{reserve(1, walletA, walletB, 6000, time.Minute), post(2, walletA, walletB, 5000), post(3, walletA, walletB, 4000)},
			want:  []Status{StatusOK, StatusInsufficientFunds, StatusOK},
			after: map[AccountID]bal{walletA: {6000, 6000}, walletB: {4000, 0}},
		},
		{
			name:  "reserve then commit",
			cmds:  []Command{reserve(1, walletA, walletB, 6000, time.Minute), commit(2, 1)},
			want:  []Status{StatusOK, StatusOK},
			after: map[AccountID]bal{walletA: {4000, 0}, walletB: {6000, 0}},
		},
		{
			name:  "reserve then abort",
			cmds:  []Command{reserve(1, walletA, walletB, 6000, time.Minute), abort(2, 1)},
			want:  []Status{StatusOK, StatusOK},
			after: map[AccountID]bal{walletA: {10000, 0}, walletB: {0, 0}},
		},
		{
			name:  "commit twice with the same id: exists",
			setup: []Command{reserve(1, walletA, walletB, 6000, time.Minute)},
			cmds:  []Command{commit(2, 1), commit(2, 1)},
			want:  []Status{StatusOK, StatusExists},
			after: map[AccountID]bal{walletA: {4000, 0}, walletB: {6000, 0}},
		},
		{
			name:  "second phase of a finished reservation is refused by state",
			setup: []Command{reserve(1, walletA, walletB, 10, time.Minute), commit(2, 1), reserve(3, walletA, walletB, 10, time.Minute), abort(4, 3)},
			cmds:  []Command{commit(5, 1), abort(6, 1), commit(7, 3), abort(8, 3)},
			want:  []Status{StatusPendingCommitted, StatusPendingCommitted, StatusPendingAborted, StatusPendingAborted},
			after: map[AccountID]bal{walletA: {9990, 0}, walletB: {10, 0}},
		},
		{
			name:  "second phase refusals",
			setup: []Command{reserve(1, walletA, walletB, 10, time.Minute), post(2, walletA, walletB, 5)},
			cmds: []Command{
				{Kind: KindCommit, Pending: id(1)},
				{Kind: KindCommit, ID: id(3)},
				commit(4, 77),
				commit(5, 2),
				{Kind: KindCommit, ID: id(6), Pending: id(1), Amount: 9},
				{Kind: KindCommit, ID: id(7), Pending: id(1), Debit: walletB},
				{Kind: KindAbort, ID: id(8), Pending: id(1), Credit: walletA},
				{Kind: KindCommit, ID: id(9), Pending: id(1), Debit: walletA, Credit: walletB, Amount: 10},
				abort(2, 1),
			},
			want: []Status{
				StatusIDZero, StatusPendingIDZero, StatusPendingNotFound, StatusPendingNotFound,
				StatusPendingMismatch, StatusPendingMismatch, StatusPendingMismatch, StatusOK,
				StatusExistsDifferent,
			},
			after: map[AccountID]bal{walletA: {9985, 0}, walletB: {15, 0}},
		},
		{
			name: "reserve timeouts are bounded",
			cmds: []Command{
				reserve(1, walletA, walletB, 10, 0),
				reserve(2, walletA, walletB, 10, -time.Second),
				reserve(3, walletA, walletB, 10, TimeoutMax+1),
				reserve(4, walletA, walletB, 10, TimeoutMax),
			},
			want:  []Status{StatusTimeoutInvalid, StatusTimeoutInvalid, StatusTimeoutInvalid, StatusOK},
			after: map[AccountID]bal{walletA: {10000, 10}},
		},
		{
			name:  "linked chain applies atomically",
			cmds:  []Command{linkedTo(post(1, walletA, walletB, 100)), post(2, walletA, fees, 1)},
			want:  []Status{StatusOK, StatusOK},
			after: map[AccountID]bal{walletA: {9899, 0}, walletB: {100, 0}, fees: {1, 0}},
		},
		{
			name: "a failing member undoes the whole chain",
			cmds: []Command{
				linkedTo(reserve(1, walletA, walletB, 5000, time.Minute)),
				linkedTo(post(2, walletA, fees, 10)),
				linkedTo(commit(3, 1)),
				post(4, walletA, walletB, 5000),
				post(5, walletA, walletB, 1),
			},
			want:  []Status{StatusLinkedEventFailed, StatusLinkedEventFailed, StatusLinkedEventFailed, StatusInsufficientFunds, StatusOK},
			after: map[AccountID]bal{walletA: {9999, 0}, walletB: {1, 0}, fees: {0, 0}},
		},
		{
			name:  "a failed chain undoes second phases and account creation",
			setup: []Command{reserve(1, walletA, walletB, 100, time.Minute)},
			cmds: []Command{
				linkedTo(Command{Kind: KindCreateAccount, Account: 50, Currency: cny}),
				linkedTo(commit(2, 1)),
				linkedTo(Command{Kind: KindSetFloor, Account: walletA, Floor: 300}),
				post(3, walletA, walletB, 1<<40),
				commit(2, 1),
			},
			want:  []Status{StatusLinkedEventFailed, StatusLinkedEventFailed, StatusLinkedEventFailed, StatusInsufficientFunds, StatusOK},
			after: map[AccountID]bal{walletA: {9900, 0}, walletB: {100, 0}},
		},
		{
			name:  "a chain left open at the end of the batch is refused",
			cmds:  []Command{post(1, walletA, walletB, 1), linkedTo(post(2, walletA, walletB, 1)), linkedTo(post(3, walletA, walletB, 1))},
			want:  []Status{StatusOK, StatusLinkedChainOpen, StatusLinkedChainOpen},
			after: map[AccountID]bal{walletA: {9999, 0}},
		},
		{
			name:  "an existing member does not fail its chain",
			setup: []Command{post(1, walletA, walletB, 1)},
			cmds:  []Command{linkedTo(post(1, walletA, walletB, 1)), post(2, walletA, walletB, 1)},
			want:  []Status{StatusExists, StatusOK},
			after: map[AccountID]bal{walletA: {9998, 0}},
		},
		{
			name: "create account refusals and idempotency",
			cmds: []Command{
				{Kind: KindCreateAccount, Currency: cny},
				{Kind: KindCreateAccount, Account: 60, Currency: 1},
				{Kind: KindCreateAccount, Account: 60, Currency: cny, AccountFlags: 0x80},
				{Kind: KindCreateAccount, Account: 60, Currency: cny, Floor: -1},
				{Kind: KindCreateAccount, Account: walletB, Currency: cny, Floor: 1000},
				{Kind: KindCreateAccount, Account: walletB, Currency: cny, Floor: 999},
				{Kind: KindCreateAccount, Account: walletB, Currency: usd, Floor: 1000},
				{Kind: KindCreateAccount, Account: 60, Currency: usd},
			},
			want: []Status{
				StatusAccountIDZero, StatusCurrencyInvalid, StatusFlagsInvalid, StatusFloorNegative,
				StatusExists, StatusExistsDifferent, StatusExistsDifferent, StatusOK,
			},
		},
		{
			name:  "set floor and its refusals",
			setup: []Command{post(1, walletB, walletA, 800)},
			cmds: []Command{
				{Kind: KindSetFloor, Floor: 5},
				{Kind: KindSetFloor, Account: missing, Floor: 5},
				{Kind: KindSetFloor, Account: walletB, Floor: -1},
				{Kind: KindSetFloor, Account: walletB, Floor: 799},
				{Kind: KindSetFloor, Account: walletB, Floor: 800},
				{Kind: KindSetFloor, Account: walletB, Floor: 800},
				post(2, walletB, walletA, 1),
				{Kind: KindSetFloor, Account: walletB, Floor: 5000},
				post(3, walletB, walletA, 4000),
			},
			want: []Status{
				StatusAccountIDZero, StatusAccountNotFound, StatusFloorNegative, StatusFloorBelowUsage,
				StatusOK, StatusOK, StatusInsufficientFunds, StatusOK, StatusOK,
			},
			after: map[AccountID]bal{walletB: {-4800, 0}},
		},
		{
			name:  "a retried create keeps matching after its floor changed",
			setup: []Command{{Kind: KindSetFloor, Account: walletB, Floor: 3}},
			cmds:  []Command{{Kind: KindCreateAccount, Account: walletB, Currency: cny, Floor: 1000}},
			want:  []Status{StatusExists},
		},
		{
			name: "marks record a point, idempotently",
			cmds: []Command{
				{Kind: KindMark, ID: id(1), Currency: cny, Purpose: 9},
				{Kind: KindMark, ID: id(1), Currency: cny, Purpose: 9},
				{Kind: KindMark, ID: id(1), Currency: usd, Purpose: 9},
				{Kind: KindMark, Currency: cny},
				{Kind: KindMark, ID: id(2)},
				{Kind: KindMark, ID: id(3), Currency: cny, Meta: string(make([]byte, MetaMax+1))},
			},
			want:  []Status{StatusOK, StatusExists, StatusExistsDifferent, StatusIDZero, StatusCurrencyInvalid, StatusMetaTooLong},
			after: map[AccountID]bal{walletA: {10000, 0}},
		},
		{
			name:  "reserved funds count when lowering a floor",
			setup: []Command{reserve(1, walletB, walletA, 600, time.Minute)},
			cmds:  []Command{{Kind: KindSetFloor, Account: walletB, Floor: 599}, {Kind: KindSetFloor, Account: walletB, Floor: 600}},
			want:  []Status{StatusFloorBelowUsage, StatusOK},
			after: map[AccountID]bal{walletB: {0, 600}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture(t)
			if tt.setup != nil {
				mustApply(t, s, t0+1e9, tt.setup)
			}
			var c Committed
			res := s.Apply(t0+2e9, tt.cmds, nil, &c)
			if len(res) != len(tt.cmds) {
				t.Fatalf("%d results for %d commands", len(res), len(tt.cmds))
			}
			for i, r := range res {
				if r.Status != tt.want[i] {
					t.Errorf("command %d (%v): %v, want %v", i, tt.cmds[i].Kind, r.Status, tt.want[i])
				}
			}
			for acct, want := range tt.after {
				a, _ := s.Account(acct)
				if a.Balance != want.balance || a.Reserved != want.reserved {
					t.Errorf("account %d: balance %d reserved %d, want %d %d", acct, a.Balance, a.Reserved, want.balance, want.reserved)
				}
			}
			if err := s.CheckInvariants(); err != nil {
				t.Error(err)
			}
			checkReplays(t, s)
		})
	}
}

// checkReplays rebuilds a fresh ledger from every batch s committed and
// checks that it arrives at the same state.
func checkReplays(t *testing.T, s *recorder) {
	t.Helper()
	r := New()
	for i := range s.log {
		if err := r.Replay(&s.log[i]); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	if err := sameState(r, s.State); err != nil {
		t.Fatalf("replayed state differs: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	s := fixture(t)
	mustApply(t, s, t0+1e9, []Command{
		reserve(1, walletA, walletB, 100, 10*time.Second),
		reserve(2, walletA, walletB, 200, 5*time.Second),
		reserve(3, walletA, walletB, 300, 20*time.Second),
	})
	if d, ok := s.NextDeadline(); !ok || d != t0+1e9+1+5e9 {
		t.Fatalf("next deadline %d %v", d, ok)
	}
	var c Committed
	// Just before the first deadline nothing expires.
	s.Apply(t0+6e9, nil, nil, &c)
	if c.Seq != 0 || len(c.Events) != 0 {
		t.Fatalf("expired early: %+v", c)
	}
	// At 12 s the 5 s and 10 s reservations expire, in deadline order,
	// before the batch's commands run.
	res := s.Apply(t0+12e9, []Command{commit(4, 1), commit(5, 3)}, nil, &c)
	if res[0].Status != StatusPendingExpired || res[1].Status != StatusOK {
		t.Fatalf("results %v", res)
	}
	if len(c.Events) != 3 || c.Events[0].Kind != KindExpire || c.Events[0].Pending != id(2) ||
		c.Events[1].Kind != KindExpire || c.Events[1].Pending != id(1) || c.Events[2].Kind != KindCommit {
		t.Fatalf("events %+v", c.Events)
	}
	a, _ := s.Account(walletA)
	if a.Balance != 9700 || a.Reserved != 0 {
		t.Fatalf("walletA %+v", a)
	}
	if st, _, _ := s.Transfer(id(2)); st != StateExpired {
		t.Fatalf("state of 2: %v", st)
	}
	if _, ok := s.NextDeadline(); ok {
		t.Fatal("deadline left")
	}
	if err := s.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestExpiryBounded checks that one batch expires at most BatchMax
// reservations, oldest deadline first, and the next batch the rest.
func TestExpiryBounded(t *testing.T) {
	s := fixture(t)
	cmds := make([]Command, BatchMax+5)
	for i := range cmds {
		cmds[i] = Command{Kind: KindReserve, ID: ID{0: 3, 14: byte(i >> 8), 15: byte(i)}, Debit: bank, Credit: walletA, Amount: 1, Timeout: time.Second}
	}
	mustApply(t, s, t0+1e9, cmds)
	var c Committed
	s.Apply(t0+10e9, nil, nil, &c)
	if len(c.Events) != BatchMax {
		t.Fatalf("first batch expired %d", len(c.Events))
	}
	s.Apply(t0+10e9, nil, nil, &c)
	if len(c.Events) != 5 || c.Events[4].Pending != cmds[len(cmds)-1].ID {
		t.Fatalf("second batch expired %d", len(c.Events))
	}
	if err := s.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	checkReplays(t, s)
}

func TestTimestampsIncrease(t *testing.T) {
	s := fixture(t)
	last := s.LastTimestamp()
	// A clock that steps back still gives strictly increasing timestamps.
	res := mustApply(t, s, t0-5e9, []Command{post(1, walletA, walletB, 1), post(2, walletA, walletB, 1)})
	if res[0].Timestamp != last+1 || res[1].Timestamp != last+2 {
		t.Fatalf("timestamps %v after %d", res, last)
	}
	res = mustApply(t, s, t0+5e9, []Command{post(3, walletA, walletB, 1), post(1, walletA, walletB, 1)})
	if res[0].Timestamp != t0+5e9 || res[1].Timestamp != last+1 || res[1].Status != StatusExists {
		t.Fatalf("timestamps %v", res)
	}
}
