package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// This file is the simulators' side of the demo wallet (package
// sim/wallet): one user of a simulated participant who uses the
// participant's app in person instead of being driven by the
// simulator's dice.
//
// The simulator leaves the person alone: its traffic never pays from the
// person's account (the person is not one of the scenario's payers),
// never pays the person's aliases (they are not among its payees), and
// never answers the person's requests to pay: the participant's callback
// keeps those apart (Person.Bills), and NextBill never hands them out.
// Whatever the person does goes through the participant's ordinary
// paths — Pay, PayBill, DeclineBill — so that it is held, sent and
// booked in the participant's books exactly like any simulated user's
// payment, and Check holds it to the switch like the rest. Check waits
// for the person's payments in flight and holds new ones until it is
// done (see quiet).

// Person is one user of a simulated participant who pays through an app:
// the demo wallet's user. It is safe for concurrent use.
type Person struct {
	p     *Participant
	user  string
	quiet *quiet // the scenario's; nil for a person outside one

	mu       sync.Mutex
	aliases  []wire.PayeeRef
	contacts []Contact
	bills    []wire.PaymentRequest // waiting for the person's answer, oldest first
	billSeen map[string]bool
	busy     map[string]bool // bills being answered now
	entries  []Entry         // booked payments, in the order booked
	pending  []Entry         // sent payments whose outcome the books do not know yet
}

// Entry is one payment in a person's statement, as the app shows it.
type Entry struct {
	// ID is the transfer id.
	ID string
	// At is when the switch made the transfer.
	At time.Time
	// Incoming says the person was paid; otherwise the person paid.
	Incoming bool
	// Amount is what moved, in the participant's currency.
	Amount money.Amount
	// Fee is what the person was charged besides (zero when the
	// participant absorbs the scheme fee).
	Fee money.Amount
	// Payee is how the payment was addressed: the alias the person paid
	// (type ACCOUNT with the request's id for a request to pay), or, for
	// an incoming payment, how the payer addressed the person (one of its
	// aliases; REFUND for a refund; ACCOUNT for the payment of the
	// person's own request).
	Payee wire.PayeeRef
	// Party is the other side as the app knows it: the payee's name as
	// confirmation of payee showed it, the requesting participant of a
	// bill, or the paying participant of an incoming payment (the switch
	// does not tell a payee who paid, only through which participant).
	Party string
	// Note is the payment's note, or the bill's message.
	Note string
}

// Contact is someone in the person's phone book: the app offers them as
// payees. The name is the person's own; the switch shows a masked one.
type Contact struct {
	Name  string
	Alias wire.PayeeRef
}

// billsMaxPerson bounds a person's waiting requests to pay; beyond it
// new ones are left to expire at the switch.
const billsMaxPerson = 100

// NewPerson makes user, an open account in p's books, a person: p's
// callback keeps the requests to pay to the user's aliases for the
// person, and records the payments credited to the user in the person's
// statement. Register the user's aliases with p.RegisterParties (which
// tells p whose they are) and give them to SetAliases.
func NewPerson(p *Participant, user string) (*Person, error) {
	if _, ok := p.books.User(user); !ok {
		return nil, fmt.Errorf("sim: person %s at %s: %w", user, p.ID(), ErrNoUser)
	}
	pe := &Person{p: p, user: user, billSeen: map[string]bool{}, busy: map[string]bool{}}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.persons == nil {
		p.persons = map[string]*Person{}
	}
	if p.persons[user] != nil {
		return nil, fmt.Errorf("sim: %s at %s is a person already", user, p.ID())
	}
	p.persons[user] = pe
	return pe, nil
}

// Participant is the person's participant: its wallet.
func (pe *Person) Participant() *Participant { return pe.p }

// User is the person's account id in the participant's books.
func (pe *Person) User() string { return pe.user }

// Account returns the person's account as the participant's books keep
// it: the balance, and the part of it held for payments in flight.
func (pe *Person) Account() User {
	u, _ := pe.p.books.User(pe.user)
	return u
}

// Currency is the currency of the person's account.
func (pe *Person) Currency() money.Currency { return pe.p.books.Currency() }

// SetAliases records the person's own aliases, as the switch registered
// them, for the app to show.
func (pe *Person) SetAliases(refs []wire.PayeeRef) {
	pe.mu.Lock()
	pe.aliases = slices.Clone(refs)
	pe.mu.Unlock()
}

// Aliases returns the person's own aliases.
func (pe *Person) Aliases() []wire.PayeeRef {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	return slices.Clone(pe.aliases)
}

// SetContacts sets the person's phone book.
func (pe *Person) SetContacts(cs []Contact) {
	pe.mu.Lock()
	pe.contacts = slices.Clone(cs)
	pe.mu.Unlock()
}

// Contacts returns the person's phone book.
func (pe *Person) Contacts() []Contact {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	return slices.Clone(pe.contacts)
}

// Lookup resolves an alias at the switch (GET /v1/parties/{type}/{value})
// with the participant's API key: which participant holds it, and the
// masked name the app shows before the person confirms.
func (pe *Person) Lookup(ctx context.Context, ref wire.PayeeRef) (wire.PartyLookup, error) {
	return pe.p.api.Lookup(ctx, ref.Type, ref.Value)
}

// ProblemBusy is the Problem of a person's payment that waited too long
// for Check to finish (see quiet): nothing was held or sent.
const ProblemBusy = "busy"

// Pay pays as the person, through Participant.Pay: pm.From is the
// person's account whatever it says. shown is the payee's name as the
// app showed it (the masked name of confirmation of payee), kept in the
// statement with the payment once it is committed.
func (pe *Person) Pay(ctx context.Context, pm Payment, shown string) Result {
	pm.From = pe.user
	if pm.ID == "" {
		pm.ID = pe.p.NewTransferID()
	}
	leave, ok := pe.quiet.enter(ctx)
	if !ok {
		return Result{ID: pm.ID, Amount: pm.Amount, Status: StatusDeclined, Problem: ProblemBusy}
	}
	defer leave()
	res := pe.p.Pay(ctx, pm)
	payee := res.Transfer.Payee
	if payee.Type == "" {
		payee = wire.PayeeRef{Type: pm.Payee.Type, Value: pm.Payee.Value}
	}
	pe.booked(res, Entry{ID: res.ID, Amount: pm.Amount, Payee: payee, Party: shown, Note: pm.Note})
	return res
}

// booked adds an outgoing payment to the statement once committed, or
// keeps it as pending while its outcome is unknown (the money stays held
// until Reconcile learns it; Statement looks again).
func (pe *Person) booked(res Result, e Entry) {
	e.At = res.Transfer.CreatedAt
	switch res.Status {
	case StatusCommitted:
		if o, ok := pe.p.books.Outgoing(res.ID); ok {
			e.Fee = pe.charged(o)
		}
		pe.mu.Lock()
		pe.entries = append(pe.entries, e)
		pe.mu.Unlock()
	case StatusUnknown:
		if e.At.IsZero() {
			e.At = time.Now()
		}
		pe.mu.Lock()
		pe.pending = append(pe.pending, e)
		pe.mu.Unlock()
	}
}

// charged is what the books charged the person for committed payment o
// besides its amount, as Books.Commit does: the scheme fee when the
// participant passes it on (never more than was held for it), and an
// FX provider's fee.
func (pe *Person) charged(o Outgoing) money.Amount {
	if o.State != OutCommitted {
		return 0
	}
	fee := o.FXFee
	if pe.p.cfg.ChargeFees {
		fee += min(o.Fee, o.Hold-o.Amount-o.FXFee)
	}
	return fee
}

// Bills returns the requests to pay waiting for the person's answer,
// oldest first. Each is read again from the switch (GET
// /v1/payment-requests/{id}) and one no longer pending — expired, or
// answered — leaves the list; one the switch could not be asked about
// stays, as it was.
func (pe *Person) Bills(ctx context.Context) []wire.PaymentRequest {
	pe.mu.Lock()
	bills := slices.Clone(pe.bills)
	pe.mu.Unlock()
	var gone []string
	for i, b := range bills {
		r, err := pe.p.api.PaymentRequest(ctx, b.ID)
		switch {
		case err == nil && r.State != "PENDING":
			gone = append(gone, b.ID)
		case err == nil:
			bills[i] = r
		case IsProblem(err, ProblemNotFound):
			gone = append(gone, b.ID)
		}
	}
	if len(gone) == 0 {
		return bills
	}
	pe.mu.Lock()
	pe.bills = slices.DeleteFunc(pe.bills, func(r wire.PaymentRequest) bool { return slices.Contains(gone, r.ID) })
	pe.mu.Unlock()
	return slices.DeleteFunc(bills, func(r wire.PaymentRequest) bool { return slices.Contains(gone, r.ID) })
}

// Bill returns request to pay id if it waits for the person's answer.
func (pe *Person) Bill(id string) (wire.PaymentRequest, bool) {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, r := range pe.bills {
		if r.ID == id {
			return r, true
		}
	}
	return wire.PaymentRequest{}, false
}

// addBill takes the news of a request to pay to one of the person's
// aliases, once.
func (pe *Person) addBill(r wire.PaymentRequest) {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if !pe.billSeen[r.ID] && len(pe.bills) < billsMaxPerson {
		pe.billSeen[r.ID] = true
		pe.bills = append(pe.bills, r)
	}
}

// ErrNoBill means the request to pay is not waiting for the person's
// answer: answered already (perhaps from another page), expired, or
// never the person's.
var ErrNoBill = errors.New("no such request to pay waiting")

// takeBill marks request to pay id as being answered, and returns it.
func (pe *Person) takeBill(id string) (wire.PaymentRequest, bool) {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if pe.busy[id] {
		return wire.PaymentRequest{}, false
	}
	for _, r := range pe.bills {
		if r.ID == id {
			pe.busy[id] = true
			return r, true
		}
	}
	return wire.PaymentRequest{}, false
}

// settleBill ends the answer to request id: it leaves the inbox if done,
// and stays (pending again at the switch) otherwise.
func (pe *Person) settleBill(id string, done bool) {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	delete(pe.busy, id)
	if done {
		pe.bills = slices.DeleteFunc(pe.bills, func(r wire.PaymentRequest) bool { return r.ID == id })
	}
}

// PayBill pays request to pay id, waiting for the person's answer,
// through Participant.PayBill. A payment that did not commit (refused,
// aborted: the request is pending again; declined by the books: the
// person may decline it) leaves the request waiting.
func (pe *Person) PayBill(ctx context.Context, id string) (Result, error) {
	r, ok := pe.takeBill(id)
	if !ok {
		return Result{}, fmt.Errorf("pay request %s: %w", id, ErrNoBill)
	}
	leave, ok := pe.quiet.enter(ctx)
	if !ok {
		pe.settleBill(id, false)
		return Result{Status: StatusDeclined, Problem: ProblemBusy}, nil
	}
	defer leave()
	res := pe.p.PayBill(ctx, r)
	pe.settleBill(id, res.Status == StatusCommitted || res.Problem == ProblemRequestNotPending || res.Problem == "payment-request-expired")
	pe.booked(res, Entry{ID: res.ID, Amount: res.Amount, Payee: wire.PayeeRef{Type: "ACCOUNT", Value: r.ID, Participant: r.Payee, Account: r.ID},
		Party: r.Payee, Note: r.Message})
	return res, nil
}

// DeclineBill declines request to pay id, waiting for the person's
// answer, with a reason the requester is told.
func (pe *Person) DeclineBill(ctx context.Context, id, reason string) error {
	r, ok := pe.takeBill(id)
	if !ok {
		return fmt.Errorf("decline request %s: %w", id, ErrNoBill)
	}
	err := pe.p.DeclineBill(ctx, r, reason)
	pe.settleBill(id, err == nil || IsProblem(err, ProblemRequestNotPending))
	return err
}

// received records an incoming transfer credited to the person.
func (pe *Person) received(t *wire.Transfer, amount money.Amount) {
	pe.mu.Lock()
	pe.entries = append(pe.entries, Entry{ID: t.ID, At: t.CreatedAt, Incoming: true, Amount: amount, Payee: t.Payee, Party: t.Payer, Note: t.Note})
	pe.mu.Unlock()
}

// Statement returns the person's booked payments, newest first. A
// payment whose outcome was unknown when it was sent joins it once the
// books learned it committed (Reconcile), and is forgotten if released.
func (pe *Person) Statement() []Entry {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	keep := pe.pending[:0]
	for _, e := range pe.pending {
		o, ok := pe.p.books.Outgoing(e.ID)
		switch {
		case ok && o.State == OutCommitted:
			e.Fee = pe.charged(o)
			pe.entries = append(pe.entries, e)
		case ok && o.State == OutHeld:
			keep = append(keep, e)
		}
	}
	pe.pending = keep
	out := slices.Clone(pe.entries)
	slices.SortStableFunc(out, func(a, b Entry) int { return b.At.Compare(a.At) })
	return out
}

// personOf returns the person holding user's account, if any.
func (p *Participant) personOf(user string) *Person {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.persons[user]
}

// quiet lets Check compare the books with the switch while no person's
// payment is in flight: persons' payments share it, Check holds it alone.
// The simulator's own traffic does not need it: Check runs once the
// traffic stopped.
type quiet struct{ mu sync.RWMutex }

// quietWait bounds how long a person's payment waits for Check.
const quietWait = 20 * time.Second

// enter waits, bounded by quietWait and ctx, until no Check runs, and
// returns the function that leaves. A nil quiet (a person outside a
// scenario) never waits.
func (q *quiet) enter(ctx context.Context) (leave func(), ok bool) {
	if q == nil {
		return func() {}, true
	}
	deadline := time.Now().Add(quietWait)
	for !q.mu.TryRLock() {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, false
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return q.mu.RUnlock, true
}
