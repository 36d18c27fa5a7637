// Package ledgertest holds what the ledger's tests and the storage tests
// share: a deliberately simple reference model of the ledger, and a
// seeded generator of random workloads to run against both.
package ledgertest

import (
	"fmt"
	"slices"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// Model is the ledger written as plainly as possible: maps of accounts and
// transfers, a linked chain applied to a copy, expiry by sorting. It is
// slow on purpose and shares no code with the ledger but the types, so
// that the two agreeing means something.
type Model struct {
	Accounts  map[ledger.AccountID]*Account
	Transfers map[ledger.ID]*Transfer
	LastTS    int64

	// saved holds, while a chain is applied, each transfer as it was
	// before the chain touched it (nil: it did not exist), to put back if
	// the chain fails. Accounts are few and simply copied.
	saved map[ledger.ID]*Transfer
	// touched lists the transfers the last batch changed, for Check.
	touched []ledger.ID
	// pending indexes the transfers in StatePending, to find expiries.
	pending map[ledger.ID]bool
}

// Account is the model's account.
type Account struct {
	ledger.Account
	CreateFloor money.Amount
}

// Transfer is the model's memory of a transfer command that succeeded.
type Transfer struct {
	Cmd      ledger.Command
	State    ledger.TransferState
	TS       int64
	Deadline int64
}

// NewModel returns an empty model.
func NewModel() *Model {
	return &Model{Accounts: map[ledger.AccountID]*Account{}, Transfers: map[ledger.ID]*Transfer{}, pending: map[ledger.ID]bool{}}
}

func (m *Model) copyAccounts() map[ledger.AccountID]*Account {
	c := make(map[ledger.AccountID]*Account, len(m.Accounts))
	for k, v := range m.Accounts {
		a := *v
		c[k] = &a
	}
	return c
}

// touch is called before a transfer is created or changed.
func (m *Model) touch(id ledger.ID) {
	m.touched = append(m.touched, id)
	if m.saved == nil {
		return
	}
	if _, ok := m.saved[id]; ok {
		return
	}
	if t, ok := m.Transfers[id]; ok {
		c := *t
		m.saved[id] = &c
	} else {
		m.saved[id] = nil
	}
}

func (m *Model) stamp(now int64) int64 {
	if now <= m.LastTS {
		now = m.LastTS + 1
	}
	m.LastTS = now
	return now
}

// Apply applies a batch the way the ledger's contract says it should.
func (m *Model) Apply(now int64, cmds []ledger.Command) []ledger.Result {
	var due []*Transfer
	for id := range m.pending {
		if t := m.Transfers[id]; t.Deadline <= now {
			due = append(due, t)
		}
	}
	slices.SortFunc(due, func(a, b *Transfer) int {
		if a.Deadline != b.Deadline {
			return cmp64(a.Deadline, b.Deadline)
		}
		return cmp64(a.TS, b.TS)
	})
	m.touched = m.touched[:0]
	if len(due) > ledger.BatchMax {
		due = due[:ledger.BatchMax]
	}
	for _, t := range due {
		m.touched = append(m.touched, t.Cmd.ID)
		m.Accounts[t.Cmd.Debit].Reserved -= t.Cmd.Amount
		t.State = ledger.StateExpired
		delete(m.pending, t.Cmd.ID)
		m.stamp(now)
	}
	results := make([]ledger.Result, len(cmds))
	for i := 0; i < len(cmds); {
		end := i
		for end < len(cmds) && cmds[end].Linked {
			end++
		}
		if end == len(cmds) {
			for ; i < len(cmds); i++ {
				results[i] = ledger.Result{Status: ledger.StatusLinkedChainOpen}
			}
			break
		}
		accounts, lastTS := m.copyAccounts(), m.LastTS
		m.saved = map[ledger.ID]*Transfer{}
		for k := i; k <= end; k++ {
			results[k] = m.apply(&cmds[k], now)
			if !results[k].Status.Succeeded() {
				if end > i {
					m.Accounts, m.LastTS = accounts, lastTS
					for id, t := range m.saved {
						delete(m.pending, id)
						if t == nil {
							delete(m.Transfers, id)
							continue
						}
						m.Transfers[id] = t
						if t.State == ledger.StatePending {
							m.pending[id] = true
						}
					}
					for j := i; j <= end; j++ {
						if j != k {
							results[j] = ledger.Result{Status: ledger.StatusLinkedEventFailed}
						}
					}
				}
				break
			}
		}
		m.saved = nil
		i = end + 1
	}
	return results
}

// apply applies one command, by its kind.
func (m *Model) apply(c *ledger.Command, now int64) ledger.Result {
	if len(c.Meta) > ledger.MetaMax {
		return fail(ledger.StatusMetaTooLong)
	}
	switch c.Kind {
	case ledger.KindCreateAccount:
		return m.createAccount(c, now)
	case ledger.KindSetFloor:
		return m.setFloor(c, now)
	case ledger.KindPost, ledger.KindReserve:
		return m.transfer(c, now)
	case ledger.KindMark:
		return m.mark(c, now)
	case ledger.KindCommit, ledger.KindAbort:
		return m.resolve(c, now)
	}
	return fail(ledger.StatusInvalidKind)
}

// fail is the result of a refused command.
func fail(s ledger.Status) ledger.Result { return ledger.Result{Status: s} }

// createAccount applies an account creation; the same account again is
// StatusExists, any difference StatusExistsDifferent.
func (m *Model) createAccount(c *ledger.Command, now int64) ledger.Result {
	switch {
	case c.Account == 0:
		return fail(ledger.StatusAccountIDZero)
	case !c.Currency.Valid():
		return fail(ledger.StatusCurrencyInvalid)
	case c.AccountFlags&^ledger.AccountUnbounded != 0:
		return fail(ledger.StatusFlagsInvalid)
	case c.Floor < 0:
		return fail(ledger.StatusFloorNegative)
	}
	if a, ok := m.Accounts[c.Account]; ok {
		if a.Currency == c.Currency && a.CreateFloor == c.Floor && a.Flags == c.AccountFlags {
			return ledger.Result{Status: ledger.StatusExists, Timestamp: a.Created}
		}
		return ledger.Result{Status: ledger.StatusExistsDifferent, Timestamp: a.Created}
	}
	ts := m.stamp(now)
	m.Accounts[c.Account] = &Account{Account: ledger.Account{ID: c.Account, Currency: c.Currency, Flags: c.AccountFlags, Floor: c.Floor, Created: ts}, CreateFloor: c.Floor}
	return ledger.Result{Timestamp: ts}
}

// setFloor applies a floor change; lowering it below what a bounded
// account already uses is refused.
func (m *Model) setFloor(c *ledger.Command, now int64) ledger.Result {
	a, ok := m.Accounts[c.Account]
	switch {
	case c.Account == 0:
		return fail(ledger.StatusAccountIDZero)
	case !ok:
		return fail(ledger.StatusAccountNotFound)
	case c.Floor < 0:
		return fail(ledger.StatusFloorNegative)
	case c.Floor == a.Floor:
		return ledger.Result{}
	case a.Flags&ledger.AccountUnbounded == 0 && c.Floor < a.Floor && a.Balance-a.Reserved+c.Floor < 0:
		return fail(ledger.StatusFloorBelowUsage)
	}
	a.Floor = c.Floor
	return ledger.Result{Timestamp: m.stamp(now)}
}

// transfer applies a post or a reserve.
func (m *Model) transfer(c *ledger.Command, now int64) ledger.Result {
	switch {
	case c.ID.IsZero():
		return fail(ledger.StatusIDZero)
	case c.Amount <= 0:
		return fail(ledger.StatusAmountNotPositive)
	case c.Debit == c.Credit:
		return fail(ledger.StatusSameAccount)
	case c.Kind == ledger.KindReserve && (c.Timeout <= 0 || c.Timeout > ledger.TimeoutMax):
		return fail(ledger.StatusTimeoutInvalid)
	case c.Kind == ledger.KindPost && c.Timeout != 0:
		return fail(ledger.StatusTimeoutInvalid)
	}
	if r, done := m.existing(c); done {
		return r
	}
	dr, ok := m.Accounts[c.Debit]
	if !ok {
		return fail(ledger.StatusDebitNotFound)
	}
	cr, ok := m.Accounts[c.Credit]
	if !ok {
		return fail(ledger.StatusCreditNotFound)
	}
	if dr.Currency != cr.Currency {
		return fail(ledger.StatusCurrencyMismatch)
	}
	if dr.Flags&ledger.AccountUnbounded == 0 && dr.Balance-dr.Reserved-c.Amount < -dr.Floor {
		return fail(ledger.StatusInsufficientFunds)
	}
	m.touch(c.ID)
	ts := m.stamp(now)
	t := &Transfer{Cmd: *c, TS: ts}
	if c.Kind == ledger.KindPost {
		dr.Balance -= c.Amount
		cr.Balance += c.Amount
	} else {
		dr.Reserved += c.Amount
		t.State = ledger.StatePending
		t.Deadline = ts + int64(c.Timeout)
		m.pending[c.ID] = true
	}
	m.Transfers[c.ID] = t
	return ledger.Result{Timestamp: ts}
}

// mark applies a mark: a transfer record that moves no money.
func (m *Model) mark(c *ledger.Command, now int64) ledger.Result {
	switch {
	case c.ID.IsZero():
		return fail(ledger.StatusIDZero)
	case !c.Currency.Valid():
		return fail(ledger.StatusCurrencyInvalid)
	}
	if r, done := m.existing(c); done {
		return r
	}
	m.touch(c.ID)
	ts := m.stamp(now)
	m.Transfers[c.ID] = &Transfer{Cmd: *c, TS: ts}
	return ledger.Result{Timestamp: ts}
}

// resolve applies a commit or an abort of a pending transfer.
func (m *Model) resolve(c *ledger.Command, now int64) ledger.Result {
	switch {
	case c.ID.IsZero():
		return fail(ledger.StatusIDZero)
	case c.Pending.IsZero():
		return fail(ledger.StatusPendingIDZero)
	}
	if r, done := m.existing(c); done {
		return r
	}
	p, ok := m.Transfers[c.Pending]
	if !ok || p.Cmd.Kind != ledger.KindReserve {
		return fail(ledger.StatusPendingNotFound)
	}
	switch p.State {
	case ledger.StateCommitted:
		return fail(ledger.StatusPendingCommitted)
	case ledger.StateAborted:
		return fail(ledger.StatusPendingAborted)
	case ledger.StateExpired:
		return fail(ledger.StatusPendingExpired)
	}
	if (c.Debit != 0 && c.Debit != p.Cmd.Debit) || (c.Credit != 0 && c.Credit != p.Cmd.Credit) ||
		(c.Amount != 0 && c.Amount != p.Cmd.Amount) {
		return fail(ledger.StatusPendingMismatch)
	}
	m.touch(c.Pending)
	m.touch(c.ID)
	p = m.Transfers[c.Pending]
	dr, cr := m.Accounts[p.Cmd.Debit], m.Accounts[p.Cmd.Credit]
	dr.Reserved -= p.Cmd.Amount
	p.State = ledger.StateAborted
	delete(m.pending, c.Pending)
	if c.Kind == ledger.KindCommit {
		dr.Balance -= p.Cmd.Amount
		cr.Balance += p.Cmd.Amount
		p.State = ledger.StateCommitted
	}
	ts := m.stamp(now)
	m.Transfers[c.ID] = &Transfer{Cmd: *c, TS: ts}
	return ledger.Result{Timestamp: ts}
}

// existing answers a transfer command whose id is taken: the same
// content is StatusExists, anything else StatusExistsDifferent.
func (m *Model) existing(c *ledger.Command) (ledger.Result, bool) {
	t, ok := m.Transfers[c.ID]
	if !ok {
		return ledger.Result{}, false
	}
	a, b := t.Cmd, *c
	same := a.Kind == b.Kind && a.Purpose == b.Purpose && a.Ref == b.Ref
	switch b.Kind {
	case ledger.KindCommit, ledger.KindAbort:
		same = same && a.Pending == b.Pending
	case ledger.KindMark:
		same = same && a.Currency == b.Currency
	default:
		same = same && a.Debit == b.Debit && a.Credit == b.Credit && a.Amount == b.Amount && a.Timeout == b.Timeout
	}
	if same {
		return ledger.Result{Status: ledger.StatusExists, Timestamp: t.TS}, true
	}
	return ledger.Result{Status: ledger.StatusExistsDifferent, Timestamp: t.TS}, true
}

// CheckTouched compares the accounts and the transfers the last batch
// changed: cheap enough for every batch.
func (m *Model) CheckTouched(s *ledger.State) error {
	if err := m.checkAccounts(s); err != nil {
		return err
	}
	for _, id := range m.touched {
		if err := m.checkTransfer(s, id); err != nil {
			return err
		}
	}
	if s.Transfers() != len(m.Transfers) {
		return fmt.Errorf("ledger has %d transfers, model %d", s.Transfers(), len(m.Transfers))
	}
	return nil
}

func (m *Model) checkTransfer(s *ledger.State, id ledger.ID) error {
	t, want := m.Transfers[id]
	st, ts, ok := s.Transfer(id)
	if ok != want || (ok && (st != t.State || ts != t.TS)) {
		return fmt.Errorf("transfer %s: ledger %v at %d (found %v), model %+v", id, st, ts, ok, t)
	}
	return nil
}

func (m *Model) checkAccounts(s *ledger.State) error {
	got := s.Accounts()
	if len(got) != len(m.Accounts) {
		return fmt.Errorf("ledger has %d accounts, model %d", len(got), len(m.Accounts))
	}
	for _, a := range got {
		want, ok := m.Accounts[a.ID]
		if !ok || a != want.Account {
			return fmt.Errorf("account %d: ledger %+v, model %+v", a.ID, a, want)
		}
	}
	if s.LastTimestamp() != m.LastTS {
		return fmt.Errorf("last timestamp: ledger %d, model %d", s.LastTimestamp(), m.LastTS)
	}
	return nil
}

// Check compares the ledger's state with the model's: every account,
// every transfer's state and timestamp, and the reservations.
func (m *Model) Check(s *ledger.State) error {
	if err := m.checkAccounts(s); err != nil {
		return err
	}
	if s.Transfers() != len(m.Transfers) {
		return fmt.Errorf("ledger has %d transfers, model %d", s.Transfers(), len(m.Transfers))
	}
	var pending []ledger.Reservation
	for id, t := range m.Transfers {
		if err := m.checkTransfer(s, id); err != nil {
			return err
		}
		if t.State == ledger.StatePending {
			pending = append(pending, ledger.Reservation{ID: id, Debit: t.Cmd.Debit, Credit: t.Cmd.Credit, Amount: t.Cmd.Amount, Reserved: t.TS, Deadline: t.Deadline})
		}
	}
	slices.SortFunc(pending, func(a, b ledger.Reservation) int {
		if a.Deadline != b.Deadline {
			return cmp64(a.Deadline, b.Deadline)
		}
		return cmp64(a.Reserved, b.Reserved)
	})
	if r := s.Reservations(); !slices.Equal(r, pending) {
		return fmt.Errorf("reservations:\nledger %+v\nmodel  %+v", r, pending)
	}
	return nil
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Second is a time.Duration in the nanosecond timestamps the ledger uses.
const Second = int64(time.Second)
