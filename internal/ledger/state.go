package ledger

import (
	"container/heap"
	"fmt"
	"math/bits"
	"slices"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// State is the ledger's whole state. It is not safe for concurrent use:
// one writer owns it, and readers synchronise with that writer.
type State struct {
	seq       uint64
	lastTS    int64
	accounts  map[AccountID]*account
	transfers idIndex // the idempotency index
	pending   map[ID]*reservation
	expiry    expiryHeap

	// undo is the journal of the linked chain being applied, replayed
	// backwards when a member fails; nil outside chains.
	undo    []undoOp
	inChain bool

	pfHashes [2 * prefetchChunk]uint64 // prefetch's scratch
	sink     uint64                    // keeps prefetch's loads from being optimised away
}

type account struct {
	Account
	// createFloor is the floor given at creation, kept apart from the
	// current floor so that a retried create is recognised as the same
	// command after the floor has been changed.
	createFloor money.Amount
}

// entry is the idempotency index's memory of one transfer: its content's
// fingerprint (with the transfer's state in the low three bits) and its
// timestamp. 32 bytes per transfer with the key, so that ten million
// transfers fit in a few hundred MiB.
type entry struct {
	sum uint64
	ts  int64
}

const stateMask = 7

func (e entry) state() TransferState { return TransferState(e.sum & stateMask) }

func (e entry) with(st TransferState) entry {
	e.sum = e.sum&^stateMask | uint64(st)
	return e
}

func (e entry) sameContent(sum uint64) bool { return e.sum&^stateMask == sum&^stateMask }

type reservation struct {
	id       ID
	debit    *account
	credit   *account
	amount   money.Amount
	ts       int64
	deadline int64
	index    int // position in the expiry heap
}

// New returns an empty ledger.
func New() *State {
	return &State{
		accounts:  make(map[AccountID]*account),
		transfers: newIDIndex(),
		pending:   make(map[ID]*reservation),
	}
}

// Seq returns the sequence number of the last committed batch.
func (s *State) Seq() uint64 { return s.seq }

// LastTimestamp returns the timestamp of the last event.
func (s *State) LastTimestamp() int64 { return s.lastTS }

// Account returns an account's state.
func (s *State) Account(id AccountID) (Account, bool) {
	a, ok := s.accounts[id]
	if !ok {
		return Account{}, false
	}
	return a.Account, true
}

// Accounts returns every account, ordered by id.
func (s *State) Accounts() []Account {
	out := make([]Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, a.Account)
	}
	slices.SortFunc(out, func(a, b Account) int { return cmpID(a.ID, b.ID) })
	return out
}

// Transfer returns what the idempotency index knows of a transfer: its
// state and the timestamp of its event.
func (s *State) Transfer(id ID) (TransferState, int64, bool) {
	e, ok := s.transfers.get(id)
	return e.state(), e.ts, ok
}

// Transfers returns how many transfers the index holds.
func (s *State) Transfers() int { return s.transfers.len() }

// Reservation is a pending transfer.
type Reservation struct {
	ID       ID
	Debit    AccountID
	Credit   AccountID
	Amount   money.Amount
	Reserved int64 // timestamp of the reserve event
	Deadline int64 // it expires in the first batch at or after this time
}

// Reservations returns the pending transfers, in the order they expire.
func (s *State) Reservations() []Reservation {
	out := make([]Reservation, 0, len(s.expiry))
	for _, r := range s.expiry {
		out = append(out, Reservation{r.id, r.debit.ID, r.credit.ID, r.amount, r.ts, r.deadline})
	}
	slices.SortFunc(out, func(a, b Reservation) int {
		if a.Deadline != b.Deadline {
			return cmpID(a.Deadline, b.Deadline)
		}
		return cmpID(a.Reserved, b.Reserved)
	})
	return out
}

// NextDeadline returns the earliest reservation deadline, so that the
// writer can apply an empty batch then and expire it even when idle.
func (s *State) NextDeadline() (int64, bool) {
	if len(s.expiry) == 0 {
		return 0, false
	}
	return s.expiry[0].deadline, true
}

func cmpID[T ~uint64 | ~int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Apply applies cmds as one batch at time now (nanoseconds since the
// Unix epoch). Reservations whose deadline is at or before now expire
// first. It appends one result per command to results[:0] and returns
// them; the events go to c.Events[:0]. When the batch changed anything,
// c.Seq is the batch's sequence number and c.Now is now; otherwise c.Seq
// is zero and nothing needs to be stored.
func (s *State) Apply(now int64, cmds []Command, results []Result, c *Committed) []Result {
	results = results[:0]
	c.Events = c.Events[:0]
	c.Seq, c.Now = 0, now
	// Expire what is due, oldest deadline first, at most BatchMax per
	// batch so that a batch stays bounded; the writer comes back at once
	// for the rest. Until then a reservation past its deadline can still
	// be committed or aborted.
	for n := 0; n < BatchMax && len(s.expiry) > 0 && s.expiry[0].deadline <= now; n++ {
		r := heap.Pop(&s.expiry).(*reservation)
		c.Events = s.release(r, KindExpire, ID{}, 0, nil, ID{}, now, c.Events)
	}
	pf := 0 // commands before pf have been prefetched
	for i := 0; i < len(cmds); {
		if i >= pf {
			pf = min(i+prefetchChunk, len(cmds))
			s.prefetch(cmds[i:pf])
		}
		end := i
		for end < len(cmds) && cmds[end].Linked {
			end++
		}
		if end == len(cmds) {
			for ; i < len(cmds); i++ {
				results = append(results, Result{Status: StatusLinkedChainOpen})
			}
			break
		}
		if end == i {
			var r Result
			r, c.Events = s.apply(&cmds[i], now, c.Events)
			results = append(results, r)
			s.transfers.settle()
			i++
			continue
		}
		results, c.Events = s.applyChain(cmds[i:end+1], now, results, c.Events)
		// The index moves entries between its tiers only here, between
		// commands and never within a chain, so that undoing a chain
		// finds its new entries still live, where deleting is cheap.
		s.transfers.settle()
		i = end + 1
	}
	if len(c.Events) > 0 {
		s.seq++
		c.Seq = s.seq
	}
	return results
}

// prefetchChunk is how many commands prefetch looks at at once: enough
// for the CPU to overlap their cache misses, few enough that what they
// load is still in cache when the commands are applied. 16 and 64 were
// slower than 32.
const prefetchChunk = 32

// prefetch makes the CPU load what applying cmds will touch in the
// idempotency index, all at once, before they are applied. At millions
// of transfers a lookup or insert misses the cache and the TLB on the
// index's tags and slot; applied one command after the other, the misses
// are paid one after the other, while independent loads issued back to
// back overlap. It roughly halves the time per transfer at 10 million.
func (s *State) prefetch(cmds []Command) {
	hs := s.pfHashes[:0]
	for i := range cmds {
		c := &cmds[i]
		switch c.Kind {
		case KindPost, KindReserve, KindMark:
			hs = append(hs, s.transfers.hash(c.ID))
		case KindCommit, KindAbort:
			// The reservation's entry is rewritten too.
			hs = append(hs, s.transfers.hash(c.ID), s.transfers.hash(c.Pending))
		}
	}
	s.sink = s.transfers.warm(hs)
}

// applyChain applies a linked chain atomically: on the first refusal it
// undoes what the chain did, the refused command keeps its own status and
// every other member gets StatusLinkedEventFailed.
func (s *State) applyChain(chain []Command, now int64, results []Result, events []Event) ([]Result, []Event) {
	first, mark, lastTS := len(results), len(events), s.lastTS
	s.inChain, s.undo = true, s.undo[:0]
	failed := -1
	for k := range chain {
		var r Result
		r, events = s.apply(&chain[k], now, events)
		results = append(results, r)
		if !r.Status.Succeeded() {
			failed = k
			break
		}
	}
	s.inChain = false
	if failed < 0 {
		// Linked marks an event as atomic with the next event; members
		// that already existed produced no event, so re-mark the chain.
		for k := mark; k < len(events); k++ {
			if k < len(events)-1 {
				events[k].Flags |= EventLinked
			} else {
				events[k].Flags &^= EventLinked
			}
		}
		return results, events
	}
	for k := len(s.undo) - 1; k >= 0; k-- {
		s.undo[k].revert(s)
	}
	s.undo = s.undo[:0]
	s.lastTS = lastTS
	for k := range chain {
		if k == failed {
			continue
		}
		r := Result{Status: StatusLinkedEventFailed}
		if first+k < len(results) {
			results[first+k] = r
		} else {
			results = append(results, r)
		}
	}
	return results, events[:mark]
}

func (s *State) apply(c *Command, now int64, events []Event) (Result, []Event) {
	if len(c.Meta) > MetaMax {
		return Result{Status: StatusMetaTooLong}, events
	}
	switch c.Kind {
	case KindCreateAccount:
		return s.createAccount(c, now, events)
	case KindSetFloor:
		return s.setFloor(c, now, events)
	case KindPost, KindReserve:
		return s.transfer(c, now, events)
	case KindCommit, KindAbort:
		return s.finish(c, now, events)
	case KindMark:
		return s.mark(c, now, events)
	}
	return Result{Status: StatusInvalidKind}, events
}

// stamp assigns the next event timestamp: the batch time, unless the
// previous event is at or after it (a clock that stepped back, or many
// events in one batch), then one nanosecond after the previous event.
func (s *State) stamp(now int64) int64 {
	if now <= s.lastTS {
		now = s.lastTS + 1
	}
	s.lastTS = now
	return now
}

func (s *State) createAccount(c *Command, now int64, events []Event) (Result, []Event) {
	switch {
	case c.Account == 0:
		return Result{Status: StatusAccountIDZero}, events
	case !c.Currency.Valid():
		return Result{Status: StatusCurrencyInvalid}, events
	case c.AccountFlags&^accountFlagsAll != 0:
		return Result{Status: StatusFlagsInvalid}, events
	case c.Floor < 0:
		return Result{Status: StatusFloorNegative}, events
	}
	if a, ok := s.accounts[c.Account]; ok {
		if a.Currency == c.Currency && a.createFloor == c.Floor && a.Flags == c.AccountFlags {
			return Result{Status: StatusExists, Timestamp: a.Created}, events
		}
		return Result{Status: StatusExistsDifferent, Timestamp: a.Created}, events
	}
	ts := s.stamp(now)
	a := &account{Account: Account{ID: c.Account, Currency: c.Currency, Flags: c.AccountFlags, Floor: c.Floor, Created: ts}, createFloor: c.Floor}
	s.accounts[a.ID] = a
	s.record(undoOp{op: undoCreateAccount, acct: a})
	var fl EventFlags
	if c.AccountFlags&AccountUnbounded != 0 {
		fl = EventUnbounded
	}
	return Result{Timestamp: ts}, append(events, Event{
		Timestamp: ts, Kind: KindCreateAccount, Flags: fl | linked(c),
		Account: a.ID, Currency: a.Currency, Floor: a.Floor, Meta: c.Meta,
	})
}

func (s *State) setFloor(c *Command, now int64, events []Event) (Result, []Event) {
	if c.Account == 0 {
		return Result{Status: StatusAccountIDZero}, events
	}
	a, ok := s.accounts[c.Account]
	switch {
	case !ok:
		return Result{Status: StatusAccountNotFound}, events
	case c.Floor < 0:
		return Result{Status: StatusFloorNegative}, events
	case c.Floor == a.Floor:
		return Result{}, events // nothing to change, nothing to record
	}
	if a.Flags&AccountUnbounded == 0 && c.Floor < a.Floor {
		if avail, err := money.Sub(a.Balance, a.Reserved); err != nil || avail < -c.Floor {
			return Result{Status: StatusFloorBelowUsage}, events
		}
	}
	s.record(undoOp{op: undoFloor, acct: a, a: a.Floor})
	a.Floor = c.Floor
	ts := s.stamp(now)
	return Result{Timestamp: ts}, append(events, Event{
		Timestamp: ts, Kind: KindSetFloor, Flags: linked(c),
		Account: a.ID, Currency: a.Currency, Floor: a.Floor, Meta: c.Meta,
	})
}

func (s *State) transfer(c *Command, now int64, events []Event) (Result, []Event) {
	switch {
	case c.ID.IsZero():
		return Result{Status: StatusIDZero}, events
	case c.Amount <= 0:
		return Result{Status: StatusAmountNotPositive}, events
	case c.Debit == c.Credit:
		return Result{Status: StatusSameAccount}, events
	case c.Kind == KindReserve && (c.Timeout <= 0 || c.Timeout > TimeoutMax):
		return Result{Status: StatusTimeoutInvalid}, events
	case c.Kind == KindPost && c.Timeout != 0:
		return Result{Status: StatusTimeoutInvalid}, events
	}
	sum := fingerprint(c)
	// One probe both looks the id up and, if it is new, finds the slot
	// where index will put it.
	at, ok := s.transfers.find(c.ID)
	if ok {
		return s.existing(at, sum), events
	}
	dr, ok := s.accounts[c.Debit]
	if !ok {
		return Result{Status: StatusDebitNotFound}, events
	}
	cr, ok := s.accounts[c.Credit]
	if !ok {
		return Result{Status: StatusCreditNotFound}, events
	}
	if dr.Currency != cr.Currency {
		return Result{Status: StatusCurrencyMismatch}, events
	}
	if st := s.checkDebit(dr, c.Amount); st != StatusOK {
		return Result{Status: st}, events
	}
	var newDr, newCr, newRes money.Amount
	var err error
	if c.Kind == KindPost {
		newDr, err = money.Sub(dr.Balance, c.Amount)
		if err == nil {
			newCr, err = money.Add(cr.Balance, c.Amount)
		}
	} else {
		newRes, err = money.Add(dr.Reserved, c.Amount)
	}
	if err != nil {
		return Result{Status: StatusOverflow}, events
	}
	ts := s.stamp(now)
	state := StatePosted
	if c.Kind == KindPost {
		s.setBalances(dr, newDr, dr.Reserved)
		s.setBalances(cr, newCr, cr.Reserved)
	} else {
		state = StatePending
		s.setBalances(dr, dr.Balance, newRes)
		r := &reservation{id: c.ID, debit: dr, credit: cr, amount: c.Amount, ts: ts, deadline: ts + int64(c.Timeout)}
		s.pending[r.id] = r
		heap.Push(&s.expiry, r)
		s.record(undoOp{op: undoReservationAdd, r: r})
	}
	s.index(at, c.ID, entry{sum: sum, ts: ts}.with(state))
	return Result{Timestamp: ts}, append(events, Event{
		Timestamp: ts, Kind: c.Kind, Flags: linked(c), Purpose: c.Purpose, Currency: dr.Currency,
		ID: c.ID, Ref: c.Ref, Debit: dr.ID, Credit: cr.ID, Amount: c.Amount, Timeout: c.Timeout, Meta: c.Meta,
	})
}

// mark records a point in the event stream under an idempotent id.
func (s *State) mark(c *Command, now int64, events []Event) (Result, []Event) {
	switch {
	case c.ID.IsZero():
		return Result{Status: StatusIDZero}, events
	case !c.Currency.Valid():
		return Result{Status: StatusCurrencyInvalid}, events
	}
	sum := fingerprint(c)
	at, ok := s.transfers.find(c.ID)
	if ok {
		return s.existing(at, sum), events
	}
	ts := s.stamp(now)
	s.index(at, c.ID, entry{sum: sum, ts: ts}.with(StatePosted))
	return Result{Timestamp: ts}, append(events, Event{
		Timestamp: ts, Kind: KindMark, Flags: linked(c), Purpose: c.Purpose, Currency: c.Currency,
		ID: c.ID, Ref: c.Ref, Meta: c.Meta,
	})
}

// existing answers a command whose id the index holds at slot at: the
// same content is StatusExists, anything else StatusExistsDifferent, with
// the original's timestamp either way.
func (s *State) existing(at ref, sum uint64) Result {
	e := s.transfers.at(at)
	if e.sameContent(sum) {
		return Result{Status: StatusExists, Timestamp: e.ts}
	}
	return Result{Status: StatusExistsDifferent, Timestamp: e.ts}
}

// checkDebit says whether a may be debited amount more: its balance
// minus reservations minus amount must stay at or above −Floor.
func (s *State) checkDebit(a *account, amount money.Amount) Status {
	if a.Flags&AccountUnbounded != 0 {
		return StatusOK
	}
	need, err := money.Add(a.Reserved, amount)
	if err != nil {
		return StatusOverflow
	}
	have, err := money.Add(a.Balance, a.Floor)
	if err != nil {
		return StatusOK // overflowed upwards: more than anything can need
	}
	if have < need {
		return StatusInsufficientFunds
	}
	return StatusOK
}

func (s *State) finish(c *Command, now int64, events []Event) (Result, []Event) {
	switch {
	case c.ID.IsZero():
		return Result{Status: StatusIDZero}, events
	case c.Pending.IsZero():
		return Result{Status: StatusPendingIDZero}, events
	}
	sum := fingerprint(c)
	// One probe both looks the id up and, if it is new, finds the slot
	// where index will put it.
	at, ok := s.transfers.find(c.ID)
	if ok {
		return s.existing(at, sum), events
	}
	r, ok := s.pending[c.Pending]
	if !ok {
		e, found := s.transfers.get(c.Pending)
		switch {
		case !found:
			return Result{Status: StatusPendingNotFound}, events
		case e.state() == StateCommitted:
			return Result{Status: StatusPendingCommitted}, events
		case e.state() == StateAborted:
			return Result{Status: StatusPendingAborted}, events
		case e.state() == StateExpired:
			return Result{Status: StatusPendingExpired}, events
		}
		return Result{Status: StatusPendingNotFound}, events // a one-phase transfer
	}
	if (c.Debit != 0 && c.Debit != r.debit.ID) || (c.Credit != 0 && c.Credit != r.credit.ID) ||
		(c.Amount != 0 && c.Amount != r.amount) {
		return Result{Status: StatusPendingMismatch}, events
	}
	if c.Kind == KindCommit {
		if _, err := money.Add(r.credit.Balance, r.amount); err != nil {
			return Result{Status: StatusOverflow}, events
		}
		if _, err := money.Sub(r.debit.Balance, r.amount); err != nil {
			return Result{Status: StatusOverflow}, events
		}
	}
	heap.Remove(&s.expiry, r.index)
	n := len(events)
	events = s.release(r, c.Kind, c.ID, c.Purpose, c, c.Ref, now, events)
	s.index(at, c.ID, entry{sum: sum, ts: events[n].Timestamp}.with(StatePosted))
	return Result{Timestamp: events[n].Timestamp}, events
}

// release ends reservation r, already out of the expiry heap, by commit,
// abort or expiry, and appends its event.
func (s *State) release(r *reservation, kind Kind, id ID, purpose uint16, c *Command, ref ID, now int64, events []Event) []Event {
	delete(s.pending, r.id)
	s.record(undoOp{op: undoReservationRemove, r: r})
	final := StateExpired
	switch kind {
	case KindCommit:
		final = StateCommitted
		s.setBalances(r.debit, r.debit.Balance-r.amount, r.debit.Reserved-r.amount)
		s.setBalances(r.credit, r.credit.Balance+r.amount, r.credit.Reserved)
	case KindAbort:
		final = StateAborted
		s.setBalances(r.debit, r.debit.Balance, r.debit.Reserved-r.amount)
	default:
		s.setBalances(r.debit, r.debit.Balance, r.debit.Reserved-r.amount)
	}
	e, _ := s.transfers.get(r.id)
	s.record(undoOp{op: undoIndexSet, id: r.id, e: e})
	s.transfers.put(r.id, e.with(final))
	ts := s.stamp(now)
	var fl EventFlags
	var meta string
	if c != nil {
		fl, meta = linked(c), c.Meta
	}
	return append(events, Event{
		Timestamp: ts, Kind: kind, Flags: fl, Purpose: purpose, Currency: r.debit.Currency,
		ID: id, Pending: r.id, Ref: ref, Debit: r.debit.ID, Credit: r.credit.ID, Amount: r.amount, Meta: meta,
	})
}

func (s *State) setBalances(a *account, balance, reserved money.Amount) {
	s.record(undoOp{op: undoBalances, acct: a, a: a.Balance, b: a.Reserved})
	a.Balance, a.Reserved = balance, reserved
}

// index inserts id, which s.transfers.find did not find at at.
func (s *State) index(at ref, id ID, e entry) {
	s.transfers.insert(at, id, e)
	s.record(undoOp{op: undoIndexInsert, id: id})
}

func linked(c *Command) EventFlags {
	if c.Linked {
		return EventLinked
	}
	return 0
}

// fingerprint condenses what makes two transfer commands "the same" into
// 64 bits (of which the index keeps 61). It leaves out Linked, which is
// how a command was sent rather than what it does, and for commit and
// abort the reservation's fields, which the reservation already fixes.
func fingerprint(c *Command) uint64 {
	h := mix(uint64(c.Kind)<<16 | uint64(c.Purpose))
	h = mix(h ^ le64(c.Ref[:8]))
	h = mix(h ^ le64(c.Ref[8:]))
	switch c.Kind {
	case KindCommit, KindAbort:
		h = mix(h ^ le64(c.Pending[:8]))
		return mix(h ^ le64(c.Pending[8:]))
	case KindMark:
		return mix(h ^ uint64(c.Currency))
	}
	h = mix(h ^ uint64(c.Debit))
	h = mix(h ^ uint64(c.Credit))
	h = mix(h ^ uint64(c.Amount))
	return mix(h ^ uint64(c.Timeout))
}

// mix is the SplitMix64 finaliser: a fixed, well-distributed 64-bit mix,
// so fingerprints are the same in every process.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// ErrReplay means stored events do not re-apply to the same result: the
// storage is corrupt or from another ledger. The caller must not serve
// from this state.
var ErrReplay = fault.New(fault.Internal, "", "ledger: stored events do not replay")

// Replay re-applies a committed batch read back from storage. It turns
// the events back into the commands that made them, applies those at the
// batch's time, and checks that they produce exactly the stored events,
// so a restart runs the very same code as the original application.
func (s *State) Replay(c *Committed) error {
	if c.Seq != s.seq+1 {
		return fmt.Errorf("%w: batch %d follows batch %d", ErrReplay, c.Seq, s.seq)
	}
	cmds := make([]Command, 0, len(c.Events))
	for i := range c.Events {
		if e := &c.Events[i]; e.Kind != KindExpire {
			cmds = append(cmds, commandOf(e))
		}
	}
	var out Committed
	results := s.Apply(c.Now, cmds, nil, &out)
	for i, r := range results {
		if r.Status != StatusOK {
			return fmt.Errorf("%w: batch %d command %d (%s): %s", ErrReplay, c.Seq, i, cmds[i].Kind, r.Status)
		}
	}
	if out.Seq != c.Seq || len(out.Events) != len(c.Events) {
		return fmt.Errorf("%w: batch %d gave %d events, stored %d", ErrReplay, c.Seq, len(out.Events), len(c.Events))
	}
	for i := range out.Events {
		if out.Events[i] != c.Events[i] {
			return fmt.Errorf("%w: batch %d event %d: got %+v, stored %+v", ErrReplay, c.Seq, i, out.Events[i], c.Events[i])
		}
	}
	return nil
}

// commandOf returns the command that produced event e.
func commandOf(e *Event) Command {
	c := Command{
		Kind: e.Kind, Linked: e.Flags&EventLinked != 0, ID: e.ID, Pending: e.Pending, Ref: e.Ref,
		Purpose: e.Purpose, Account: e.Account, Floor: e.Floor, Debit: e.Debit, Credit: e.Credit,
		Amount: e.Amount, Timeout: e.Timeout, Meta: e.Meta,
	}
	if e.Kind == KindCreateAccount || e.Kind == KindMark {
		c.Currency = e.Currency
		if e.Flags&EventUnbounded != 0 {
			c.AccountFlags = AccountUnbounded
		}
	}
	return c
}

// CheckInvariants verifies what must hold after every batch: per
// currency the balances sum to zero; each account's Reserved is the sum
// of its pending reservations; no bounded account is below its floor; the
// pending set, the expiry heap and the index agree. It costs a pass over
// accounts and reservations and is meant for tests and start-up.
func (s *State) CheckInvariants() error {
	sums := map[money.Currency]int128{}
	for _, a := range s.accounts {
		sums[a.Currency] = sums[a.Currency].add(int64(a.Balance))
		if a.Reserved < 0 {
			return fmt.Errorf("account %d: reserved %d < 0", a.ID, a.Reserved)
		}
		if a.Flags&AccountUnbounded == 0 && a.Available() < 0 {
			return fmt.Errorf("account %d: below floor: balance %d reserved %d floor %d", a.ID, a.Balance, a.Reserved, a.Floor)
		}
	}
	for cur, v := range sums {
		if v != (int128{}) {
			return fmt.Errorf("%s balances sum to %+v, not 0", cur, v)
		}
	}
	reserved := map[AccountID]money.Amount{}
	if len(s.pending) != len(s.expiry) {
		return fmt.Errorf("%d pending but %d in the expiry heap", len(s.pending), len(s.expiry))
	}
	for i, r := range s.expiry {
		if r.index != i || s.pending[r.id] != r {
			return fmt.Errorf("reservation %s: heap position %d, index %d", r.id, i, r.index)
		}
		if i > 0 && s.expiry.Less(i, (i-1)/2) {
			return fmt.Errorf("expiry heap out of order at %d", i)
		}
		if e, ok := s.transfers.get(r.id); !ok || e.state() != StatePending {
			return fmt.Errorf("reservation %s: index says %v", r.id, e.state())
		}
		reserved[r.debit.ID] += r.amount
	}
	for _, a := range s.accounts {
		if reserved[a.ID] != a.Reserved {
			return fmt.Errorf("account %d: reserved %d, reservations sum to %d", a.ID, a.Reserved, reserved[a.ID])
		}
	}
	return nil
}

// int128 sums balances without overflow: single balances fit in int64,
// their sum over many accounts need not.
type int128 struct {
	hi int64
	lo uint64
}

func (x int128) add(v int64) int128 {
	lo, carry := bits.Add64(x.lo, uint64(v), 0)
	hi := x.hi + int64(carry)
	if v < 0 {
		hi-- // sign extension of v into the high word
	}
	return int128{hi, lo}
}

// expiryHeap orders reservations by deadline, then by reserve time; both
// together are unique, so expiry order does not depend on heap shape.
type expiryHeap []*reservation

func (h expiryHeap) Len() int { return len(h) }
func (h expiryHeap) Less(i, j int) bool {
	if h[i].deadline != h[j].deadline {
		return h[i].deadline < h[j].deadline
	}
	return h[i].ts < h[j].ts
}
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap) Push(x any) {
	r := x.(*reservation)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *expiryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.index = -1
	return r
}

// undoOp is one step of a linked chain's undo journal.
type undoOp struct {
	op   uint8
	acct *account
	a, b money.Amount
	id   ID
	e    entry
	r    *reservation
}

const (
	undoBalances uint8 = iota + 1
	undoFloor
	undoCreateAccount
	undoIndexInsert
	undoIndexSet
	undoReservationAdd
	undoReservationRemove
)

func (s *State) record(u undoOp) {
	if s.inChain {
		s.undo = append(s.undo, u)
	}
}

func (u *undoOp) revert(s *State) {
	switch u.op {
	case undoBalances:
		u.acct.Balance, u.acct.Reserved = u.a, u.b
	case undoFloor:
		u.acct.Floor = u.a
	case undoCreateAccount:
		delete(s.accounts, u.acct.ID)
	case undoIndexInsert:
		s.transfers.del(u.id)
	case undoIndexSet:
		s.transfers.put(u.id, u.e)
	case undoReservationAdd:
		delete(s.pending, u.r.id)
		heap.Remove(&s.expiry, u.r.index)
	case undoReservationRemove:
		s.pending[u.r.id] = u.r
		heap.Push(&s.expiry, u.r)
	default:
		panic(fmt.Sprintf("ledger: unknown undo op %d", u.op))
	}
}
