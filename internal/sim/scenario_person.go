package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// PersonConfig describes a person (see Person) to open at one of the
// scenario's participants.
type PersonConfig struct {
	// Participant is the person's participant ("peony-pay").
	Participant string
	// ID is the person's account id in its books; it must not be one of
	// the scenario's (they are u-000001 and on, m-01 and on).
	ID string
	// Name is registered with the aliases; the switch shows it masked.
	Name string
	// Opening is the person's opening balance, in minor units. A
	// participant that reserves its users' money at the hub deposits it,
	// as it did its other users'.
	Opening money.Amount
	// Phone is the person's mobile number, E.164, outside the scenario's
	// (+86138…, and +86139… for the unregistered ones it pays).
	Phone string
	// Email, if not empty, is registered too.
	Email string
}

// OpenPerson opens a person's account at one of the scenario's
// participants, after Setup: in its books with an opening balance, which
// a participant reserving its users' money deposits at the hub (the
// operator records it, and the zero-sum checks count it), and at the
// switch under its aliases. The scenario's traffic leaves the person
// alone (see Person), and Check waits for the person's payments in
// flight.
func (s *Scenario) OpenPerson(ctx context.Context, pc PersonConfig) (*Person, error) {
	m := s.member(pc.Participant)
	switch {
	case m == nil:
		return nil, fmt.Errorf("sim: person %s: no participant %q", pc.ID, pc.Participant)
	case pc.ID == "" || pc.Name == "" || pc.Phone == "" || pc.Opening < 0:
		return nil, fmt.Errorf("sim: person %q needs an id, a name, a phone number and an opening balance", pc.ID)
	}
	c := m.Books().Currency()
	if err := m.Books().Open(pc.ID, pc.Name, pc.Opening); err != nil {
		return nil, fmt.Errorf("sim: person %s: %w", pc.ID, err)
	}
	if m.plan.reserve {
		if err := s.moveFundsID(ctx, m, c, m.ID()+"-person-"+pc.ID+"-deposit", "deposit", pc.Opening); err != nil {
			return nil, err
		}
	}
	parties := []wire.NewParty{{Type: "MSISDN", Value: pc.Phone, Name: pc.Name, Account: pc.ID, Currency: c.String()}}
	if pc.Email != "" {
		parties = append(parties, wire.NewParty{Type: "EMAIL", Value: pc.Email, Name: pc.Name, Account: pc.ID, Currency: c.String()})
	}
	pe, err := NewPerson(m.Participant, pc.ID)
	if err != nil {
		return nil, err
	}
	pe.quiet = &s.quiet
	results, err := m.RegisterParties(ctx, parties)
	if err != nil {
		return nil, fmt.Errorf("sim: aliases of person %s: %w", pc.ID, err)
	}
	var refs []wire.PayeeRef
	var shown []string
	for i, r := range results {
		if r.Party == nil || r.Status/100 != 2 {
			return nil, fmt.Errorf("sim: alias %s %q of person %s: status %d", parties[i].Type, parties[i].Value, pc.ID, r.Status)
		}
		refs = append(refs, wire.PayeeRef{Type: r.Party.Type, Value: r.Party.Value})
		shown = append(shown, r.Party.Type+" "+r.Party.Value)
	}
	pe.SetAliases(refs)
	s.logf("%-13s person %s (%s), opening balance %s, aliases %s; the traffic leaves the person alone", m.ID(), pc.ID, pc.Name,
		Grouped(pc.Opening, c), strings.Join(shown, ", "))
	return pe, nil
}

// welcomeWait bounds Welcome's waits for the callbacks that credit the
// person and bring its bills.
const welcomeWait = 15 * time.Second

// welcomeTries bounds the tries of each payment of a person's past.
const welcomeTries = 5

// Welcome gives a person of the scenario's CNY participants a short past,
// as if it had used its app before: a phone book of users of the other
// participants and two of the bank's merchants; two payments received (a
// salary from the bank's payouts account, a friend's share of a lunch)
// and two made by the person (a meal at a merchant and a friend, each
// after a lookup, as the app pays); and two requests to pay waiting for
// the person's answer (an electricity bill from a bank customer, a
// dinner's share from a friend). Every payment goes through the
// participants' ordinary paths and books. It returns once the credits
// and the bills arrived, or welcomeWait passed.
func (s *Scenario) Welcome(ctx context.Context, pe *Person) error {
	home := s.member(pe.Participant().ID())
	bamboo, bank, lotus := s.member("bamboo-wallet"), s.member("river-bank"), s.member("lotus-pay")
	aliases := pe.Aliases()
	switch {
	case home == nil || bamboo == nil || bank == nil || lotus == nil:
		return fmt.Errorf("sim: welcome %s: the scenario's participants are not set up", pe.User())
	case home == bamboo || home == bank || len(aliases) == 0:
		return fmt.Errorf("sim: welcome %s: a person of a wallet other than %s, with an alias", pe.User(), bamboo.ID())
	case len(bamboo.aliases) == 0 || len(bank.aliases) == 0 || len(lotus.aliases) == 0 || len(home.aliases) == 0 ||
		len(bamboo.users) == 0 || len(bank.users) < 2 || len(s.shops) < 2:
		return fmt.Errorf("sim: welcome %s: too few users", pe.User())
	}
	// The phone book: whoever holds an alias, by the name its books
	// know; a user of the person's own wallet too (paying them is the
	// wallet's own business, which the switch refuses).
	var contacts []Contact
	for _, m := range []*member{bamboo, bank, lotus, home} {
		user, _ := m.aliasUser(m.aliases[0])
		u, _ := m.Books().User(user)
		contacts = append(contacts, Contact{Name: u.Name, Alias: m.aliases[0]})
	}
	for _, sh := range s.shops[:2] {
		u, _ := sh.m.Books().User(sh.account)
		contacts = append(contacts, Contact{Name: u.Name, Alias: wire.PayeeRef{Type: "MERCHANT", Value: sh.alias}})
	}
	pe.SetContacts(contacts)

	me := aliases[0]
	var credits []string
	for _, in := range []struct {
		m      *member
		from   string
		amount money.Amount
		note   string
	}{
		{bank, payoutAccount, s.major(3_800), "salary"},
		{bamboo, bamboo.users[0], s.major(120), "lunch, thanks"},
	} {
		if in.m == bank && !bank.plan.payouts {
			in.from = bank.users[1]
		}
		r := in.m.Pay(ctx, Payment{From: in.from, Payee: me, Amount: in.amount, Note: in.note, Lookup: true})
		if r.Status != StatusCommitted {
			return fmt.Errorf("sim: welcome %s: %s paying %s: %s %s %v", pe.User(), in.m.ID(), in.amount.Format(s.currency), r.Status, r.Problem, r.Err)
		}
		credits = append(credits, r.ID)
	}
	for _, out := range []struct {
		to     wire.PayeeRef
		amount money.Amount
		note   string
	}{
		{contacts[4].Alias, s.major(36), "lunch"},
		{contacts[0].Alias, s.major(86) + s.unit/2, "movie tickets"},
	} {
		l, err := pe.Lookup(ctx, out.to)
		if err != nil {
			return fmt.Errorf("sim: welcome %s: lookup %s: %w", pe.User(), out.to.Value, err)
		}
		// A confirm-mode payee's own screen rejects a share of payments
		// by their ids at random: the past is made of payments that went
		// through, so a rejected one is tried again with a new id.
		r := pe.Pay(ctx, Payment{Payee: out.to, Amount: out.amount, Note: out.note}, l.DisplayName)
		for try := 1; r.Status == StatusAborted && try < welcomeTries; try++ {
			r = pe.Pay(ctx, Payment{Payee: out.to, Amount: out.amount, Note: out.note}, l.DisplayName)
		}
		if r.Status != StatusCommitted {
			return fmt.Errorf("sim: welcome %s: paying %s: %s %s %v", pe.User(), out.to.Value, r.Status, r.Problem, r.Err)
		}
	}
	var bills []string
	for _, b := range []struct {
		m      *member
		user   string
		amount money.Amount
		msg    string
	}{
		{bank, bank.users[1], s.major(158) + s.unit*3/10, "electricity bill"},
		{bamboo, bamboo.users[0], s.major(43), "dinner, your share"},
	} {
		r, err := b.m.RequestPayment(ctx, b.user, me, b.amount, b.msg)
		if err != nil {
			return fmt.Errorf("sim: welcome %s: request to pay from %s: %w", pe.User(), b.m.ID(), err)
		}
		bills = append(bills, r.ID)
	}
	deadline := time.Now().Add(welcomeWait)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if home.Books().Missing(credits) == 0 && pe.hasBills(bills) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sim: welcome %s: the credits or the bills did not arrive within %v", pe.User(), welcomeWait)
}

// hasBills reports whether every request to pay of ids reached the
// person.
func (pe *Person) hasBills(ids []string) bool {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, id := range ids {
		if !pe.billSeen[id] {
			return false
		}
	}
	return true
}
