package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The books of a Quoted or CrossBorder run: each worker adds up what its
// committed payments moved, as the switch answered them (amount, fee,
// and for an FX payment the target and the provider's fee), warm-up
// included; at the end the switch's balances must have moved by exactly
// that since the setup, and nothing may stay reserved:
//
//   - a CNY participant by what it received minus what it paid (amount,
//     scheme fee and, for an FX payment, the provider's fee);
//   - the FX provider's HKD by minus the targets it delivered, its CNY by
//     the source amounts and provider fees it was paid;
//   - the HKD wallet's HKD by the targets.
//
// The scheme's fees go to the operator's accounts, which other traffic
// shares, and are held to the payers' side only. A transfer whose answer
// was lost (a transport error, a 5xx) is asked for (GET
// /v1/transfers/{id}) before the books are compared.

// minorDigits is the exponent of CNY and HKD, in which the generator
// reads amounts without the money package's string conversions (a test
// holds it to money's).
const minorDigits = 2

// payeeHK is the payee index of a payment to the HKD wallet.
const payeeHK = -1

// tally is one worker's account of what its payments moved, in minor
// units.
type tally struct {
	paid, received []int64 // by index in fleet.parties, CNY
	hkd            int64   // credited to the HKD wallet
	// viaHKD and viaCNY are what the run's provider delivered and was
	// paid (payments through another provider's offer are not its).
	viaHKD, viaCNY int64
	payments       int64 // committed
	unknown        []pending
}

// pending is a payment whose outcome its worker did not learn.
type pending struct {
	payer, payee int
	id           string
}

// moved is what one committed payment moved.
type moved struct {
	amount, fee         int64
	fx                  bool
	target, providerFee int64
	ours                bool // through the run's provider
}

func newTally(parties int) *tally {
	return &tally{paid: make([]int64, parties), received: make([]int64, parties)}
}

// add books a committed payment from payer to payee (an index in
// fleet.parties, or payeeHK).
func (t *tally) add(payer, payee int, m moved) {
	t.payments++
	t.paid[payer] += m.amount + m.fee + m.providerFee
	switch {
	case payee >= 0:
		t.received[payee] += m.amount
	case m.fx:
		t.hkd += m.target
		if m.ours {
			t.viaHKD += m.target
			t.viaCNY += m.amount + m.providerFee
		}
	}
}

// tally books a payment's answer, before its figures are recorded (the
// books count the warm-up too): a committed payment's amounts, or its
// id when its outcome is unknown. It returns what the answer says; ok is
// false for a 2xx answer it cannot read.
func (w *worker) tally(payee, status int, err error, id []byte) (a payAnswer, ok bool) {
	if err != nil || status >= 500 {
		w.books.unknown = append(w.books.unknown, pending{payer: w.payer, payee: payee, id: string(id)})
		return a, false
	}
	if status/100 != 2 {
		return a, true
	}
	if a, ok = scanPayment(w.resp); !ok {
		return a, false
	}
	if string(a.state) != "COMMITTED" {
		return a, true
	}
	m, ok := a.moved()
	if !ok {
		return a, false
	}
	if a.fx && w.r.f.fx != nil {
		m.ours = string(a.provider) == w.r.f.fx.provider.id
	}
	w.books.add(w.payer, payee, m)
	return a, true
}

// moved reads a committed payment's amounts.
func (a *payAnswer) moved() (moved, bool) {
	m := moved{fx: a.fx}
	var ok1, ok2, ok3, ok4 bool
	m.amount, ok1 = parseMinor(a.amount)
	m.fee, ok2 = parseMinor(a.fee)
	ok3, ok4 = true, true
	if a.fx {
		m.target, ok3 = parseMinor(a.target)
		m.providerFee, ok4 = parseMinor(a.providerFee)
	}
	return m, ok1 && ok2 && ok3 && ok4
}

// parseMinor reads a non-negative decimal with at most minorDigits
// decimals ("12.30") as minor units.
func parseMinor(b []byte) (int64, bool) {
	var n int64
	digits, frac, point := 0, 0, false
	for _, c := range b {
		switch {
		case c == '.' && !point:
			point = true
		case c >= '0' && c <= '9':
			if point {
				frac++
			}
			digits++
			n = n*10 + int64(c-'0')
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 17 || frac > minorDigits || (point && frac == 0) {
		return 0, false
	}
	for ; frac < minorDigits; frac++ {
		n *= 10
	}
	return n, true
}

// idOf returns the id of a transfer body that appendTransfer wrote.
func idOf(body []byte) []byte {
	const head = `{"id":"`
	if !bytes.HasPrefix(body, []byte(head)) {
		return nil
	}
	rest := body[len(head):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return rest[:i]
	}
	return nil
}

// appendInt appends n in decimal.
func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// acctKey names an account: a participant's, in one currency.
type acctKey struct{ participant, currency string }

// balance is an account's balance and reserved amount, in minor units.
type balance struct{ balance, reserved int64 }

// booked lists the participants whose accounts the books hold.
func (f *fleet) booked() []string {
	var ids []string
	for _, p := range f.parties {
		ids = append(ids, p.id)
	}
	if f.fx != nil {
		ids = append(ids, f.fx.provider.id, f.fx.wallet.id)
	}
	return ids
}

// balances reads the accounts of the participants ids.
func (g *gen) balances(ctx context.Context, ids []string) (map[acctKey]balance, error) {
	out := map[acctKey]balance{}
	for _, id := range ids {
		var as wire.Accounts
		if err := g.call(ctx, "GET", "/v1/participants/"+id+"/accounts", "Bearer "+g.cfg.Token, nil, &as); err != nil {
			return nil, fmt.Errorf("accounts of %s: %w", id, err)
		}
		for _, a := range as.Accounts {
			c, err := money.ParseCurrency(a.Currency)
			if err != nil {
				return nil, fmt.Errorf("accounts of %s: %w", id, err)
			}
			bal, err1 := money.ParseDecimal(a.Balance, c.Exponent())
			res, err2 := money.ParseDecimal(a.Reserved, c.Exponent())
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("accounts of %s: %s: %w", id, a.Currency, err)
			}
			out[acctKey{id, a.Currency}] = balance{bal, res}
		}
	}
	return out, nil
}

// expected returns how much each account should have moved by the
// workers' tallies, all added up.
func (r *runner) expected() (want map[acctKey]int64, payments int64) {
	want = map[acctKey]int64{}
	f := r.f
	for _, w := range r.workers {
		t := w.books
		for i, p := range f.parties {
			want[acctKey{p.id, currency}] += t.received[i] - t.paid[i]
		}
		if f.fx != nil {
			want[acctKey{f.fx.provider.id, fxCurrency}] -= t.viaHKD
			want[acctKey{f.fx.provider.id, currency}] += t.viaCNY
			want[acctKey{f.fx.wallet.id, fxCurrency}] += t.hkd
		}
		payments += t.payments
	}
	return want, payments
}

// compareBooks returns what does not match: an account that moved by
// other than want from before to after, or whose reserved amount
// changed; in the order of the accounts' names.
func compareBooks(before, after map[acctKey]balance, want map[acctKey]int64) []string {
	keys := make([]acctKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].participant != keys[j].participant {
			return keys[i].participant < keys[j].participant
		}
		return keys[i].currency < keys[j].currency
	})
	var bad []string
	for _, k := range keys {
		b, ok1 := before[k]
		a, ok2 := after[k]
		if !ok1 || !ok2 {
			bad = append(bad, fmt.Sprintf("%s has no %s account", k.participant, k.currency))
			continue
		}
		if got := a.balance - b.balance; got != want[k] {
			bad = append(bad, fmt.Sprintf("%s's %s moved by %s, its payments say %s", k.participant, k.currency,
				money.FormatDecimal(got, minorDigits), money.FormatDecimal(want[k], minorDigits)))
		}
		if a.reserved != b.reserved {
			bad = append(bad, fmt.Sprintf("%s has %s %s reserved at the end, %s at the start", k.participant,
				money.FormatDecimal(a.reserved, minorDigits), k.currency, money.FormatDecimal(b.reserved, minorDigits)))
		}
	}
	return bad
}

// checkBooks asks for the payments of unknown outcome, then holds the
// switch's accounts to the workers' tallies (see the top of this file),
// counting what does not match in res.Errors. An interrupted run is not
// checked.
func (r *runner) checkBooks(ctx context.Context, res *Result, before map[acctKey]balance, p *progress) {
	if ctx.Err() != nil {
		p.say("interrupted: the books were not checked")
		return
	}
	bad := func(kind string) {
		res.Errors["books: "+kind]++
		res.ErrorCount++
	}
	for _, w := range r.workers {
		for _, u := range w.books.unknown {
			if err := r.settle(ctx, w.books, u); err != nil {
				bad(err.Error())
			}
		}
	}
	after, err := r.g.balances(ctx, r.f.booked())
	if err != nil {
		bad(err.Error())
		return
	}
	want, payments := r.expected()
	found := compareBooks(before, after, want)
	for _, s := range found {
		bad(s)
	}
	if payments < res.Committed {
		bad(fmt.Sprintf("%d payments counted committed, %d booked", res.Committed, payments))
		return
	}
	if len(found) == 0 {
		p.say("books: the accounts of %d participants moved as the %d payments committed say (warm-up included)",
			len(r.f.booked()), payments)
	}
}

// settle asks the switch for a payment whose answer was lost and books
// it if it committed.
func (r *runner) settle(ctx context.Context, t *tally, u pending) error {
	var tr wire.Transfer
	err := r.g.call(ctx, "GET", "/v1/transfers/"+url.PathEscape(u.id), r.f.parties[u.payer].auth, nil, &tr)
	var se *statusError
	switch {
	case errors.As(err, &se) && se.status == http.StatusNotFound:
		return nil // it never happened
	case err != nil:
		return fmt.Errorf("transfer %s of unknown outcome: %w", u.id, err)
	case tr.State == "ABORTED":
		return nil
	case tr.State != "COMMITTED":
		return fmt.Errorf("transfer %s is %s at the end", u.id, tr.State)
	}
	a := payAnswer{amount: []byte(tr.Amount), fee: []byte(tr.Fee), fx: tr.FX != nil}
	if tr.FX != nil {
		a.target, a.providerFee = []byte(tr.FX.TargetAmount), []byte(tr.FX.ProviderFee)
	}
	m, ok := a.moved()
	if !ok {
		return fmt.Errorf("transfer %s: unreadable amounts", u.id)
	}
	m.ours = tr.FX != nil && r.f.fx != nil && tr.FX.Provider == r.f.fx.provider.id
	t.add(u.payer, u.payee, m)
	return nil
}
