package sim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/hulian/hulian/internal/money"
)

// Books is a participant's own ledger: its end users' balances, and what
// it knows of its position at the switch. A real wallet or bank keeps
// these in its core banking system; the switch never sees its users'
// balances, only the participant's settlement account. Keeping both sides
// in one structure, under one lock, is what lets the participant prove at
// any time that
//
//	position at the switch = deposits − withdrawals − sent − fees paid − FX fees paid
//	                         + received + FX fees earned + settled in − settled out
//	Σ users' balances      = opening balances + received + FX fees earned − sent
//	                         − fees charged to users − FX fees paid
//
// Amounts are int64 minor units of the participant's one currency: exact,
// never float.
//
// A payment to a payee in another currency (an FX payment, see
// crossborder.go) is an outgoing payment like any other, in the payer's
// currency, plus the FX provider's fee, which the user always pays
// (HoldFX); the payee's participant credits what it got in its own
// currency. An FX provider keeps one Books per currency: the source side
// is a credit of the amount plus its fee (CreditFX), the target side a
// debit it did not send (Debit).
//
// Money leaves a user in two steps, as with a card: Hold before the
// payment is sent (so that two concurrent payments cannot both spend the
// same balance), then Settle when the switch's answer is final — the
// hold becomes a debit on COMMITTED and is released on a refusal or
// ABORTED. Money arrives with Credit, once per transfer id, however many
// times the switch notifies it.
//
// Every way of paying goes through these same steps: a QR payment, a
// bill accepted and a refund are outgoing payments of the participant
// that asks the switch (a refund of the user the refunded payment
// credited, see CreditedTo), and incoming ones of the other side. So the
// two equations above hold whatever the mix.
//
// Two kinds of outgoing transfer are made by the switch without the
// participant's request: a biller's pull under a mandate its user
// approved, and a dispute's payback of a payment its user received.
// The participant reserves the money beforehand with Earmark (a hold
// with no payment yet: the mandate's maxAmount, the disputed amount)
// and books the transfer, once it learns of it, with Debit: from the
// earmark first, then from the user's available balance. A debit
// neither covers is booked all the same — the money has left — and is
// an overdraft the participant must recover from its user (Summary.
// Overdrafts); the equations above still hold.
type Books struct {
	currency money.Currency

	mu       sync.Mutex
	users    map[string]*User
	suspense money.Amount // credits for accounts the participant cannot credit: returned to the payer by other means

	opening      money.Amount // users' balances when they were opened (their money before the simulation)
	deposits     money.Amount
	withdrawals  money.Amount
	sent         money.Amount // committed outgoing payments, without fees
	feesPaid     money.Amount // scheme fees the switch charged the participant
	feesCharged  money.Amount // the part of those the participant passed on to its users
	received     money.Amount // committed incoming payments credited
	fxFeesPaid   money.Amount // FX providers' fees of committed outgoing FX payments, charged to the users
	fxFeesEarned money.Amount // an FX provider's fees of the FX payments it credited
	held         money.Amount // sum of open holds
	settledIn    money.Amount // net settlement it paid in at the settlement bank (restores its position)
	settledOut   money.Amount // net settlement the settlement bank paid out to it

	outgoing map[string]*Outgoing // every outgoing payment, by transfer id
	credited map[string]credit    // every credited incoming transfer, by id
	// released are incoming transfers the switch aborted that the
	// participant knows of — a dispute's holds released — by id: no
	// money, but the switch lists them, so reconciliation must too.
	released map[string]money.Amount
	earmarks map[string]*earmark // money reserved for debits to come, by key
	nSent    int
	nRecv    int
	dupes    int // notifications of transfers already credited (redeliveries)
	// overdrafts counts debits the users' money did not cover.
	overdrafts int
}

// earmark is money of a user reserved for debits the switch may make
// without asking (see Earmark).
type earmark struct {
	user   string
	amount money.Amount // reserved now: part of the user's Held
	size   money.Amount // what it reserves when full (Replenish)
}

// User is an end user's account in the participant's books.
type User struct {
	ID      string
	Name    string
	Balance money.Amount // booked balance
	Held    money.Amount // part of Balance promised to payments in flight
	// Closed accounts take no incoming payment: a confirm-mode
	// participant rejects transfers to them.
	Closed bool
	// Overdraft is what debits the participant did not send took beyond
	// the user's money (see Debit): the balance may be below zero by
	// up to that, to be recovered from the user.
	Overdraft money.Amount
}

// credit is the books' record of one incoming transfer: whom it
// credited ("" for suspense), how much, and the fee an FX provider earned
// on it besides. The user is what a refund of the transfer debits.
type credit struct {
	user   string
	amount money.Amount
	fee    money.Amount
}

// Available is what the user may still spend.
func (u *User) Available() money.Amount { return u.Balance - u.Held }

// Outgoing is the participant's record of one outgoing payment.
type Outgoing struct {
	ID string
	// Aborted says the switch answered the payment ABORTED (a payee's
	// refusal, a timeout), rather than refusing it before recording it.
	Aborted bool
	User    string
	Amount  money.Amount
	Hold    money.Amount // amount, plus the FX fee, plus the scheme fee the user may be charged
	Fee     money.Amount // the fee the switch charged (known once committed)
	// FXFee is an FX payment's provider fee, fixed by its quote and
	// always charged to the user.
	FXFee money.Amount
	State OutState
	// Unsent says the switch made it without the participant's request:
	// a mandate's pull, a dispute's payback (see Debit).
	Unsent bool
}

// OutState is where an outgoing payment stands in the participant's books.
type OutState int

// The states of an outgoing payment.
const (
	OutHeld      OutState = iota // sent or about to be; money held
	OutCommitted                 // the switch committed it: the user was debited
	OutReleased                  // refused or aborted: the hold was released
)

// Errors of the books.
var (
	// ErrBalance means the user's available balance does not cover the
	// payment: the participant declines it without asking the switch.
	ErrBalance = errors.New("balance too low")
	// ErrNoUser means there is no such user, or the account is closed.
	ErrNoUser = errors.New("no such open account")
	// ErrDuplicate means the transfer id is already in the books.
	ErrDuplicate = errors.New("transfer id already used")
)

// NewBooks returns empty books in currency c.
func NewBooks(c money.Currency) *Books {
	return &Books{currency: c, users: map[string]*User{}, outgoing: map[string]*Outgoing{}, credited: map[string]credit{}, released: map[string]money.Amount{},
		earmarks: map[string]*earmark{}}
}

// Currency is the books' currency.
func (b *Books) Currency() money.Currency { return b.currency }

// Open opens a user account with an opening balance: money the user
// brought to the participant outside the switch (a top-up, a salary).
func (b *Books) Open(id, name string, opening money.Amount) error {
	if opening < 0 {
		return fmt.Errorf("open %s: negative opening balance", id)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.users[id]; ok {
		return fmt.Errorf("open %s: account exists", id)
	}
	b.users[id] = &User{ID: id, Name: name, Balance: opening}
	b.opening += opening
	return nil
}

// Close closes a user account: it keeps its balance, takes no more
// incoming payments.
func (b *Books) Close(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[id]
	if !ok {
		return fmt.Errorf("close %s: %w", id, ErrNoUser)
	}
	u.Closed = true
	return nil
}

// User returns a copy of a user's account.
func (b *Books) User(id string) (User, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// CanReceive reports whether the user exists and is open: what a
// confirm-mode participant checks before it accepts a transfer.
func (b *Books) CanReceive(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[id]
	return ok && !u.Closed
}

// Deposit records money the participant moved to its settlement account
// at the switch (the operator confirmed it).
func (b *Books) Deposit(a money.Amount) {
	b.mu.Lock()
	b.deposits += a
	b.mu.Unlock()
}

// Withdraw records money the participant took out of its settlement
// account.
func (b *Books) Withdraw(a money.Amount) {
	b.mu.Lock()
	b.withdrawals += a
	b.mu.Unlock()
}

// Settle records a settlement instruction the settlement bank carried
// out: "pay" (the participant paid in its net debit, which the switch
// credits to its position) or "receive" (it was paid its net credit,
// which the switch debits).
func (b *Books) Settle(direction string, a money.Amount) {
	b.mu.Lock()
	if direction == "pay" {
		b.settledIn += a
	} else {
		b.settledOut += a
	}
	b.mu.Unlock()
}

// Hold reserves amount+fee of user for outgoing payment id, or declines
// with ErrBalance or ErrNoUser. fee is what the user may be charged: zero
// when the participant absorbs the scheme fee.
func (b *Books) Hold(id, user string, amount, fee money.Amount) error {
	return b.HoldFX(id, user, amount, 0, fee)
}

// HoldFX reserves amount+fxFee+fee of user for outgoing FX payment id:
// amount is what its quote converts (the source amount), fxFee the FX
// provider's fee, which the user pays, and fee the scheme fee the user
// may be charged. It declines like Hold.
func (b *Books) HoldFX(id, user string, amount, fxFee, fee money.Amount) error {
	if amount <= 0 || fee < 0 || fxFee < 0 {
		return fmt.Errorf("hold %s: amount must be positive, fees not negative", id)
	}
	fee += fxFee
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.outgoing[id]; ok {
		return fmt.Errorf("hold %s: %w", id, ErrDuplicate)
	}
	u, ok := b.users[user]
	switch {
	case !ok || u.Closed:
		return fmt.Errorf("hold %s for %s: %w", id, user, ErrNoUser)
	case u.Available() < amount+fee:
		return fmt.Errorf("hold %s for %s: %w", id, user, ErrBalance)
	}
	u.Held += amount + fee
	b.held += amount + fee
	b.outgoing[id] = &Outgoing{ID: id, User: user, Amount: amount, Hold: amount + fee, FXFee: fxFee, State: OutHeld}
	return nil
}

// Commit turns payment id's hold into a debit: the switch answered
// COMMITTED with scheme fee fee. The user is debited the amount and an FX
// payment's provider fee, plus the scheme fee when chargeUser (never more
// than was held). Committing twice is
// a no-op; committing a released payment is an error (the books and the
// switch disagree: investigate).
func (b *Books) Commit(id string, fee money.Amount, chargeUser bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.outgoing[id]
	switch {
	case !ok:
		return fmt.Errorf("commit %s: no such payment", id)
	case o.State == OutCommitted:
		return nil
	case o.State == OutReleased:
		return fmt.Errorf("commit %s: the payment was released", id)
	}
	u := b.users[o.User]
	charged := money.Amount(0)
	if chargeUser {
		charged = min(fee, o.Hold-o.Amount-o.FXFee)
	}
	u.Held -= o.Hold
	b.held -= o.Hold
	u.Balance -= o.Amount + o.FXFee + charged
	o.Fee, o.State = fee, OutCommitted
	b.sent += o.Amount
	b.feesPaid += fee
	b.feesCharged += charged
	b.fxFeesPaid += o.FXFee
	b.nSent++
	return nil
}

// Release releases payment id's hold: the switch refused or aborted it.
// Releasing twice is a no-op; releasing a committed payment is an error.
func (b *Books) Release(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.outgoing[id]
	switch {
	case !ok:
		return fmt.Errorf("release %s: no such payment", id)
	case o.State == OutReleased:
		return nil
	case o.State == OutCommitted:
		return fmt.Errorf("release %s: the payment was committed", id)
	}
	u := b.users[o.User]
	u.Held -= o.Hold
	b.held -= o.Hold
	o.State = OutReleased
	return nil
}

// Credit books incoming transfer id of amount to user, once: it returns
// false, changing nothing, if id was credited before (a redelivered
// notification). A transfer to an unknown or closed account goes to
// suspense, from where a real participant returns it; it is still
// received.
func (b *Books) Credit(id, user string, amount money.Amount) (bool, error) {
	return b.CreditFX(id, user, amount, 0)
}

// CreditFX books, like Credit, incoming transfer id of amount to user,
// and fee besides: an FX provider's side of an FX payment in the payer's
// currency, the source amount it converts and the fee it earns on it.
func (b *Books) CreditFX(id, user string, amount, fee money.Amount) (bool, error) {
	if amount <= 0 || fee < 0 {
		return false, fmt.Errorf("credit %s: amount must be positive, fee not negative", id)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.credited[id]; ok {
		b.dupes++
		return false, nil
	}
	if u, ok := b.users[user]; ok && !u.Closed {
		u.Balance += amount + fee
	} else {
		b.suspense += amount + fee
		user = ""
	}
	b.credited[id] = credit{user: user, amount: amount, fee: fee}
	b.received += amount
	b.fxFeesEarned += fee
	b.nRecv++
	return true, nil
}

// Earmark reserves amount of user under key for debits the switch may
// make without asking: a mandate's pulls (key "mandate/<id>"), a
// dispute's paybacks ("dispute/<id>"). Like a hold it leaves the user
// less to spend, but no payment is in flight: Debit draws on it when
// the debit is known, and Unmark releases the rest. It declines with
// ErrBalance, ErrNoUser or ErrDuplicate (the key is earmarked already).
func (b *Books) Earmark(key, user string, amount money.Amount) error {
	if amount <= 0 {
		return fmt.Errorf("earmark %s: amount must be positive", key)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.earmarks[key]; ok {
		return fmt.Errorf("earmark %s: %w", key, ErrDuplicate)
	}
	u, ok := b.users[user]
	switch {
	case !ok || u.Closed:
		return fmt.Errorf("earmark %s for %s: %w", key, user, ErrNoUser)
	case u.Available() < amount:
		return fmt.Errorf("earmark %s for %s: %w", key, user, ErrBalance)
	}
	u.Held += amount
	b.held += amount
	b.earmarks[key] = &earmark{user: user, amount: amount, size: amount}
	return nil
}

// Earmarked returns what key reserves now, and of whom.
func (b *Books) Earmarked(key string) (user string, amount money.Amount, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.earmarks[key]
	if !ok {
		return "", 0, false
	}
	return e.user, e.amount, true
}

// Replenish tops key's earmark up to its full size from its user's
// available balance, as far as that goes, and reports whether it is
// full: after a pull, the next one of the mandate is covered again.
// An unknown key is not full.
func (b *Books) Replenish(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.earmarks[key]
	if !ok {
		return false
	}
	u := b.users[e.user]
	add := max(min(e.size-e.amount, u.Available()), 0)
	e.amount += add
	u.Held += add
	b.held += add
	return e.amount == e.size
}

// Unmark releases what key's earmark still reserves, and forgets it;
// it returns the amount released (0 for an unknown key).
func (b *Books) Unmark(key string) money.Amount {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.earmarks[key]
	if !ok {
		return 0
	}
	b.users[e.user].Held -= e.amount
	b.held -= e.amount
	delete(b.earmarks, key)
	return e.amount
}

// Debit books outgoing transfer id, which the switch committed from the
// participant's account without its request (a mandate's pull, a
// dispute's payback), once: it returns false, changing nothing, if id
// is booked already with that amount. user is debited amount, plus the
// fee when chargeUser: first from key's earmark (if it is the user's),
// then from the user's available balance. What neither covers is still
// debited — the switch moved the money — and becomes the user's
// overdraft (User.Overdraft, Summary.Overdrafts). The participant pays
// the fee to the switch as for any payment it sends.
func (b *Books) Debit(id, user, key string, amount, fee money.Amount, chargeUser bool) (bool, error) {
	if amount <= 0 || fee < 0 {
		return false, fmt.Errorf("debit %s: amount must be positive, fee not negative", id)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if o, ok := b.outgoing[id]; ok {
		if o.Unsent && o.State == OutCommitted && o.Amount == amount && o.Fee == fee {
			return false, nil
		}
		return false, fmt.Errorf("debit %s: %w", id, ErrDuplicate)
	}
	u, ok := b.users[user]
	if !ok {
		return false, fmt.Errorf("debit %s for %s: %w", id, user, ErrNoUser)
	}
	charged := money.Amount(0)
	if chargeUser {
		charged = fee
	}
	total := amount + charged
	if e, ok := b.earmarks[key]; ok && e.user == user {
		take := min(total, e.amount)
		e.amount -= take
		u.Held -= take
		b.held -= take
		if short := total - take - max(u.Available(), 0); short > 0 {
			u.Overdraft += short
			b.overdrafts++
		}
	} else if short := total - max(u.Available(), 0); short > 0 {
		u.Overdraft += short
		b.overdrafts++
	}
	u.Balance -= total
	b.outgoing[id] = &Outgoing{ID: id, User: user, Amount: amount, Fee: fee, State: OutCommitted, Unsent: true}
	b.sent += amount
	b.feesPaid += fee
	b.feesCharged += charged
	b.nSent++
	return true, nil
}

// RecordAborted records outgoing transfer id, which the switch made
// from the participant unasked and aborted — a dispute's hold released,
// a mandate's pull its biller refused — once: nothing moved and nothing
// is debited, but the switch lists the transfer, so the books name it
// in a reconciliation upload (Records).
func (b *Books) RecordAborted(id, user string, amount money.Amount) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.outgoing[id]; ok {
		return
	}
	b.outgoing[id] = &Outgoing{ID: id, User: user, Amount: amount, State: OutReleased, Aborted: true, Unsent: true}
}

// RecordReleased records incoming transfer id that the switch aborted
// (a hold of the participant's dispute, released): it moved nothing.
func (b *Books) RecordReleased(id string, amount money.Amount) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.released[id] = amount
}

// Credited returns the amount credited for incoming transfer id.
func (b *Books) Credited(id string) (money.Amount, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.credited[id]
	return c.amount, ok
}

// CreditedTo returns the user credited with incoming transfer id, and
// the amount: whom a refund of it debits. ok is false if id was not
// credited, or went to suspense (no user has the money).
func (b *Books) CreditedTo(id string) (user string, amount money.Amount, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, found := b.credited[id]
	return c.user, c.amount, found && c.user != ""
}

// Missing returns how many of ids are not credited yet.
func (b *Books) Missing(ids []string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := b.credited[id]; !ok {
			n++
		}
	}
	return n
}

// Outgoing returns a copy of the record of outgoing payment id.
func (b *Books) Outgoing(id string) (Outgoing, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.outgoing[id]
	if !ok {
		return Outgoing{}, false
	}
	return *o, true
}

// Summary is the books' totals at one moment.
type Summary struct {
	Currency    money.Currency
	Users       int
	Opening     money.Amount
	Deposits    money.Amount
	Withdrawals money.Amount
	Sent        money.Amount
	FeesPaid    money.Amount
	FeesCharged money.Amount
	Received    money.Amount
	// FXFeesPaid are the FX providers' fees of the committed outgoing FX
	// payments (always charged to the users); FXFeesEarned an FX
	// provider's fees of the FX payments it converted.
	FXFeesPaid   money.Amount
	FXFeesEarned money.Amount
	SettledIn    money.Amount
	SettledOut   money.Amount
	Held         money.Amount
	Suspense     money.Amount
	UsersTotal   money.Amount // Σ users' booked balances, plus suspense
	NSent        int          // committed outgoing payments
	NReceived    int          // credited incoming transfers
	Duplicates   int          // redelivered notifications ignored
	Open         int          // outgoing payments still held
	Earmarked    money.Amount // part of Held reserved for debits to come (Earmark)
	Unsent       int          // outgoing transfers the switch made unasked (Debit, RecordAborted)
	Overdrafts   int          // debits the users' money did not cover
}

// Position is where the participant believes its settlement account at
// the switch stands: deposits − withdrawals − sent − fees paid − FX fees
// paid + received + FX fees earned + settled in − settled out.
func (s Summary) Position() money.Amount {
	return s.Deposits - s.Withdrawals - s.Sent - s.FeesPaid - s.FXFeesPaid + s.Received + s.FXFeesEarned + s.SettledIn - s.SettledOut
}

// ExpectedUsersTotal is what the users' balances must add up to:
// opening balances + received + FX fees earned − sent − fees charged to
// users − FX fees paid.
func (s Summary) ExpectedUsersTotal() money.Amount {
	return s.Opening + s.Received + s.FXFeesEarned - s.Sent - s.FeesCharged - s.FXFeesPaid
}

// Summary totals the books.
func (b *Books) Summary() Summary {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Summary{Currency: b.currency, Users: len(b.users), Opening: b.opening, Deposits: b.deposits,
		Withdrawals: b.withdrawals, Sent: b.sent, FeesPaid: b.feesPaid, FeesCharged: b.feesCharged,
		Received: b.received, FXFeesPaid: b.fxFeesPaid, FXFeesEarned: b.fxFeesEarned, SettledIn: b.settledIn, SettledOut: b.settledOut, Held: b.held, Suspense: b.suspense, NSent: b.nSent, NReceived: b.nRecv, Duplicates: b.dupes}
	s.UsersTotal = b.suspense
	for _, u := range b.users {
		s.UsersTotal += u.Balance
	}
	for _, o := range b.outgoing {
		if o.State == OutHeld {
			s.Open++
		}
		if o.Unsent {
			s.Unsent++
		}
	}
	for _, e := range b.earmarks {
		s.Earmarked += e.amount
	}
	s.Overdrafts = b.overdrafts
	return s
}

// Verify checks the books' own invariants: the users' balances add up to
// what the journal of payments says, no balance is negative or
// over-held, the holds add up, and the credited transfers add up to what
// was received. It is what a participant runs at the end of every day,
// before it compares with the switch.
func (b *Books) Verify() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	var total, held money.Amount
	for _, u := range b.users {
		total += u.Balance
		held += u.Held
		if u.Held < 0 || u.Overdraft == 0 && (u.Balance < 0 || u.Held > u.Balance) {
			errs = append(errs, fmt.Errorf("user %s: balance %s, held %s", u.ID, u.Balance.Format(b.currency), u.Held.Format(b.currency)))
		}
	}
	total += b.suspense
	if want := b.opening + b.received + b.fxFeesEarned - b.sent - b.feesCharged - b.fxFeesPaid; total != want {
		errs = append(errs, fmt.Errorf("users' balances add up to %s, the payments to %s", total.Format(b.currency), want.Format(b.currency)))
	}
	var open money.Amount
	var nSent int
	var sent, fees, fxFees money.Amount
	for _, o := range b.outgoing {
		switch o.State {
		case OutHeld:
			open += o.Hold
		case OutCommitted:
			nSent++
			sent += o.Amount
			fees += o.Fee
			fxFees += o.FXFee
		}
	}
	for _, e := range b.earmarks {
		open += e.amount
		if e.amount < 0 || e.amount > e.size {
			errs = append(errs, fmt.Errorf("earmark of %s: %s of %s", e.user, e.amount.Format(b.currency), e.size.Format(b.currency)))
		}
	}
	if held != b.held || open != b.held {
		errs = append(errs, fmt.Errorf("holds: users %s, total %s, open payments and earmarks %s", held.Format(b.currency), b.held.Format(b.currency), open.Format(b.currency)))
	}
	if nSent != b.nSent || sent != b.sent || fees != b.feesPaid || fxFees != b.fxFeesPaid {
		errs = append(errs, fmt.Errorf("committed payments: %d for %s with fees %s and FX fees %s, totals say %d for %s with fees %s and FX fees %s",
			nSent, sent.Format(b.currency), fees.Format(b.currency), fxFees.Format(b.currency), b.nSent, b.sent.Format(b.currency),
			b.feesPaid.Format(b.currency), b.fxFeesPaid.Format(b.currency)))
	}
	var recv, earned money.Amount
	for _, c := range b.credited {
		recv += c.amount
		earned += c.fee
	}
	if recv != b.received || earned != b.fxFeesEarned || len(b.credited) != b.nRecv {
		errs = append(errs, fmt.Errorf("credits: %d for %s with FX fees %s, totals say %d for %s with FX fees %s", len(b.credited),
			recv.Format(b.currency), earned.Format(b.currency), b.nRecv, b.received.Format(b.currency), b.fxFeesEarned.Format(b.currency)))
	}
	return errors.Join(errs...)
}

// openPayments returns the ids of outgoing payments still held, sorted.
func (b *Books) openPayments() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for id, o := range b.outgoing {
		if o.State == OutHeld {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// committedOutgoing returns the committed outgoing payments: id → amount
// and fee.
func (b *Books) committedOutgoing() map[string]Outgoing {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]Outgoing, b.nSent)
	for id, o := range b.outgoing {
		if o.State == OutCommitted {
			out[id] = *o
		}
	}
	return out
}

// inflow is an incoming transfer's amount, and the FX fee its FX
// provider earned on it (zero for any other).
type inflow struct{ amount, fee money.Amount }

// creditedIDs returns a copy of the credited incoming transfers.
func (b *Books) creditedIDs() map[string]inflow {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]inflow, len(b.credited))
	for id, c := range b.credited {
		out[id] = inflow{c.amount, c.fee}
	}
	return out
}

// userIDs returns the users' ids, sorted.
func (b *Books) userIDs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := make([]string, 0, len(b.users))
	for id := range b.users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Aborted marks outgoing payment id as one the switch recorded and
// aborted, before its hold is released: reconciliation counts it.
func (b *Books) Aborted(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o, ok := b.outgoing[id]; ok {
		o.Aborted = true
	}
}

// Records writes the books' account of every transfer the switch
// recorded, as a reconciliation upload (POST /v1/reconciliations): a
// header "transferId,amount,direction,status", then each committed or
// aborted outgoing payment (debit) and each credited incoming one
// (credit), amounts in the currency's major unit, sorted by id.
func (b *Books) Records(w io.Writer) error {
	b.mu.Lock()
	lines := make([]string, 0, len(b.outgoing)+len(b.credited))
	for id, o := range b.outgoing {
		switch {
		case o.State == OutCommitted:
			lines = append(lines, id+","+o.Amount.Format(b.currency)+",debit,COMMITTED")
		case o.Aborted:
			lines = append(lines, id+","+o.Amount.Format(b.currency)+",debit,ABORTED")
		}
	}
	for id, c := range b.credited {
		lines = append(lines, id+","+c.amount.Format(b.currency)+",credit,COMMITTED")
	}
	for id, a := range b.released {
		lines = append(lines, id+","+a.Format(b.currency)+",credit,ABORTED")
	}
	b.mu.Unlock()
	sort.Strings(lines)
	bw := bufio.NewWriter(w)
	bw.WriteString("transferId,amount,direction,status\n")
	for _, l := range lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
