package dfsp

import (
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
)

// partyKey identifies a party of the book. An MSISDN is kept without its
// '+', so that "+27713803912" and "27713803912" name the same party.
type partyKey struct{ typ, id, sub string }

func keyOf(typ, id, sub string) partyKey {
	if typ == msg.MSISDN {
		id = strings.TrimPrefix(id, "+")
	}
	return partyKey{typ, id, sub}
}

type party struct {
	typ, id, name string
}

// AddParty adds one of the DFSP's own customers to its party book, so that
// it answers look-ups and quotes for them and can pay from them. The first
// party added is the default payer.
func (d *DFSP) AddParty(idType, id, name string) {
	k := keyOf(idType, id, "")
	d.partyMu.Lock()
	defer d.partyMu.Unlock()
	if _, ok := d.parties[k]; !ok {
		d.order = append(d.order, k)
	}
	d.parties[k] = party{typ: idType, id: id, name: name}
}

func (d *DFSP) party(typ, id, sub string) (party, bool) {
	d.partyMu.RLock()
	defer d.partyMu.RUnlock()
	p, ok := d.parties[keyOf(typ, id, sub)]
	return p, ok
}

// payer returns the party a payment is made from: the one whose identifier
// is from, or the first party added.
func (d *DFSP) payer(from string) (party, bool) {
	d.partyMu.RLock()
	defer d.partyMu.RUnlock()
	if from == "" {
		if len(d.order) == 0 {
			return party{}, false
		}
		return d.parties[d.order[0]], true
	}
	for _, k := range d.order {
		if p := d.parties[k]; p.id == from {
			return p, true
		}
	}
	return party{}, false
}

// partyOf returns the party as the SDK's PUT /parties (and a quote's payer)
// carries it: its name, and the name in parts when they fit the pattern.
func (d *DFSP) partyOf(p party, idAsAsked, sub string) msg.Party {
	out := msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: p.typ, PartyIdentifier: idAsAsked,
		PartySubIDOrType: sub, FSPID: d.cfg.ID}, Name: p.name}
	if f := strings.Fields(p.name); len(f) >= 2 {
		cn := &msg.ComplexName{FirstName: f[0], LastName: f[len(f)-1]}
		if len(f) > 2 {
			cn.MiddleName = strings.Join(f[1:len(f)-1], " ")
		}
		if msg.IsName(cn.FirstName) && msg.IsName(cn.LastName) && (cn.MiddleName == "" || msg.IsName(cn.MiddleName)) {
			out.PersonalInfo = &msg.PersonalInfo{ComplexName: cn}
		}
	}
	return out
}

// Books are a DFSP's committed payments, both ways: what it paid as payer
// and was paid as payee, per currency in minor units.
type Books struct {
	// Paid and Received are committed amounts by currency code.
	Paid, Received map[string]int64
	// PaidCount and ReceivedCount count those transfers.
	PaidCount, ReceivedCount int
	// Pending counts transfers sent or taken whose outcome is not known
	// yet (a payer without a final callback, a RESERVED payee without its
	// PATCH).
	Pending int
	// Aborted counts transfers known to have failed, both ways.
	Aborted int
}

// Books returns a copy of the books.
func (d *DFSP) Books() Books {
	d.bookMu.Lock()
	defer d.bookMu.Unlock()
	b := d.books
	b.Paid, b.Received = map[string]int64{}, map[string]int64{}
	for c, v := range d.books.Paid {
		b.Paid[c] = v
	}
	for c, v := range d.books.Received {
		b.Received[c] = v
	}
	return b
}

// transferRec is a transfer in the books. States: RECEIVED (sent or taken,
// no outcome), RESERVED (payee: fulfilled RESERVED, waiting for the
// PATCH), COMMITTED, ABORTED.
type transferRec struct {
	currency  string
	amount    int64
	condition string
	state     string
	patch     *msg.TransfersPatch
	at        time.Time
}

// quoteRec is a quote the payee answered.
type quoteRec struct {
	quoteID    string
	condition  string
	fulfilment string
	amount     msg.Money
	expires    time.Time
}

// minor reads m in minor units of its currency.
func minor(m msg.Money) (int64, error) {
	c, err := money.ParseCurrency(m.Currency)
	if err != nil {
		return 0, err
	}
	return msg.ParseAmount(m, c.Exponent())
}

// setState moves a transfer of the books (out: paid; in: received) to
// state and adjusts the totals; COMMITTED and ABORTED are final, but a
// payee's COMMITTED fulfilment followed by an error callback (the switch
// refused it) is undone.
func (d *DFSP) setState(r *transferRec, out bool, state string) {
	if r == nil {
		return // swept
	}
	if r.state == state || r.state == msg.StateAborted {
		return
	}
	if r.state == msg.StateCommitted && !(state == msg.StateAborted && !out) {
		return
	}
	if r.state == msg.StateReserved && state == msg.StateReceived {
		return
	}
	total, count := &d.books.Received, &d.books.ReceivedCount
	if out {
		total, count = &d.books.Paid, &d.books.PaidCount
	}
	final := func(s string) bool { return s == msg.StateCommitted || s == msg.StateAborted }
	if !final(r.state) {
		d.books.Pending--
	}
	if r.state == msg.StateCommitted {
		(*total)[r.currency] -= r.amount
		*count--
	}
	switch state {
	case msg.StateCommitted:
		(*total)[r.currency] += r.amount
		*count++
	case msg.StateAborted:
		d.books.Aborted++
	default:
		d.books.Pending++
	}
	r.state = state
}

// record adds a transfer to the books (or returns the one there) in state
// RECEIVED. The caller holds bookMu.
func (d *DFSP) record(m map[string]*transferRec, id string, amt msg.Money, condition string) *transferRec {
	if r, ok := m[id]; ok {
		return r
	}
	v, err := minor(amt)
	if err != nil {
		v = 0 // a currency money lacks; the payee refused to quote it, the switch must refuse it
	}
	r := &transferRec{currency: amt.Currency, amount: v, condition: condition, state: msg.StateReceived, at: d.cfg.Now()}
	m[id] = r
	d.books.Pending++
	d.made++
	if d.made%sweepEvery == 0 {
		d.sweep()
	}
	return r
}

// sweep forgets finished transfers and quotes long past their expiry, so
// that a long benchmark runs in bounded memory. A transfer still open
// after the retention is dropped from Pending too. The caller holds bookMu.
func (d *DFSP) sweep() {
	keep := 2 * (d.cfg.Timeout + d.cfg.Expiry)
	cut := d.cfg.Now().Add(-keep)
	for _, m := range []map[string]*transferRec{d.out, d.in} {
		for id, r := range m {
			if r.at.Before(cut) {
				if r.state != msg.StateCommitted && r.state != msg.StateAborted {
					d.books.Pending--
				}
				delete(m, id)
			}
		}
	}
	for id, q := range d.quotes {
		if q.expires.Before(cut) {
			delete(d.quotes, id)
		}
	}
}
