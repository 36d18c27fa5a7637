package wallet

import (
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
)

// category is what a payment was for, as the wallet can tell from its
// other side. The switch tells a wallet how a payment was addressed, not
// what it bought, so the mapping is small and honest:
//
//	paid, to a MERCHANT alias or a merchant's QR code   → shopping
//	paid, answering a request to pay (payee ACCOUNT)    → bills
//	paid, to a person's alias (phone, e-mail, key, id)  → transfers
//	received: a refund or a dispute's payback           → refunds
//	received: the payment of the person's own request   → requested
//	received: any other                                 → received
type category string

// The categories, spending first, in the order the pages list them.
const (
	catShopping  category = "shopping"
	catBills     category = "bills"
	catTransfers category = "transfers"
	catOther     category = "other"
	catReceived  category = "received"
	catRequested category = "requested"
	catRefunds   category = "refunds"
)

// categories lists every category in page order.
var categories = []category{catShopping, catBills, catTransfers, catOther, catReceived, catRequested, catRefunds}

// spending lists the categories of money paid.
var spending = []category{catShopping, catBills, catTransfers, catOther}

// categoryOf says what entry e was for (see category).
func categoryOf(e sim.Entry) category {
	t := e.Payee.Type
	if e.Incoming {
		switch t {
		case "REFUND", "DISPUTE":
			return catRefunds
		case "ACCOUNT":
			return catRequested
		}
		return catReceived
	}
	switch t {
	case "MERCHANT", "QR":
		return catShopping
	case "ACCOUNT":
		return catBills
	case "MSISDN", "EMAIL", "RANDOM", "NATIONAL_ID", "WALLET":
		return catTransfers
	}
	return catOther
}

// colour is a category's colour in the charts and the lists.
func (c category) colour() string {
	switch c {
	case catShopping:
		return "#d9480f"
	case catBills:
		return "#1971c2"
	case catTransfers:
		return "#2b8a3e"
	case catReceived, catRequested, catRefunds:
		return "#5f3dc4"
	}
	return "#868e96"
}

// month is a calendar month in the wallet's time zone.
type month struct {
	year  int
	month time.Month
}

// monthOf returns the month of t in loc.
func monthOf(t time.Time, loc *time.Location) month {
	t = t.In(loc)
	return month{t.Year(), t.Month()}
}

// key is the month as a query parameter ("2026-12").
func (m month) key() string { return fmt.Sprintf("%04d-%02d", m.year, m.month) }

// Key is key, for templates.
func (m month) Key() string { return m.key() }

// prev returns the month before m.
func (m month) prev() month {
	if m.month == time.January {
		return month{m.year - 1, time.December}
	}
	return month{m.year, m.month - 1}
}

// next returns the month after m.
func (m month) next() month {
	if m.month == time.December {
		return month{m.year + 1, time.January}
	}
	return month{m.year, m.month + 1}
}

// before reports whether m comes before o.
func (m month) before(o month) bool {
	return m.year < o.year || m.year == o.year && m.month < o.month
}

// parseMonth reads a month key ("2026-12").
func parseMonth(s string) (month, bool) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return month{}, false
	}
	return month{t.Year(), t.Month()}, true
}

// monthBills is one month of the statement, by category.
type monthBills struct {
	Month    month
	Spent    money.Amount // paid, fees included
	Received money.Amount
	Groups   []categoryBills
}

// categoryBills is one category's payments within a month, newest first.
type categoryBills struct {
	Category category
	Total    money.Amount // fees included, for money paid
	Entries  []sim.Entry
}

// Name is the category's text key.
func (c categoryBills) Name() string { return "cat_" + string(c.Category) }

// Colour is the category's colour.
func (c categoryBills) Colour() string { return c.Category.colour() }

// Incoming says the category is of money received.
func (c categoryBills) Incoming() bool {
	return c.Category == catReceived || c.Category == catRequested || c.Category == catRefunds
}

// cost is what an entry moved for the person: the amount, plus the fee
// charged besides when the person paid.
func cost(e sim.Entry) money.Amount {
	if e.Incoming {
		return e.Amount
	}
	return e.Amount + e.Fee
}

// byMonth groups a statement (newest first) by month, newest first,
// and within each month by category, in page order.
func byMonth(entries []sim.Entry, loc *time.Location) []monthBills {
	var out []monthBills
	for _, e := range entries {
		m := monthOf(e.At, loc)
		if len(out) == 0 || out[len(out)-1].Month != m {
			out = append(out, monthBills{Month: m})
		}
		mb := &out[len(out)-1]
		c := categoryOf(e)
		if e.Incoming {
			mb.Received += cost(e)
		} else {
			mb.Spent += cost(e)
		}
		i := 0
		for i < len(mb.Groups) && mb.Groups[i].Category != c {
			i++
		}
		if i == len(mb.Groups) {
			mb.Groups = append(mb.Groups, categoryBills{Category: c})
		}
		mb.Groups[i].Total += cost(e)
		mb.Groups[i].Entries = append(mb.Groups[i].Entries, e)
	}
	for k := range out {
		sortGroups(out[k].Groups)
	}
	return out
}

// sortGroups puts a month's categories in page order.
func sortGroups(gs []categoryBills) {
	rank := func(c category) int {
		for i, x := range categories {
			if x == c {
				return i
			}
		}
		return len(categories)
	}
	for i := 1; i < len(gs); i++ {
		for j := i; j > 0 && rank(gs[j].Category) < rank(gs[j-1].Category); j-- {
			gs[j], gs[j-1] = gs[j-1], gs[j]
		}
	}
}

// spendingIn totals the money paid in each spending category, fees
// included, month by month.
func spendingIn(entries []sim.Entry, loc *time.Location) map[month]map[category]money.Amount {
	out := map[month]map[category]money.Amount{}
	for _, e := range entries {
		if e.Incoming {
			continue
		}
		m := monthOf(e.At, loc)
		if out[m] == nil {
			out[m] = map[category]money.Amount{}
		}
		out[m][categoryOf(e)] += cost(e)
	}
	return out
}
