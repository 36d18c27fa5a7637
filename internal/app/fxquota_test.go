package app_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The aliases of the quota tests' payees: an HKD wallet that takes
// every payment, an HKD bank that confirms each, and a CNY wallet.
const (
	quotaHK      = "+85291234567"
	quotaConfirm = "+85291234568"
	quotaCN      = "+8613800138000"
)

// quotaSwitch is a switch with an annual FX quota: two CNY payers
// (wallet-a, wallet-b: 10,000.00 CNY each), an FX provider (fx-one, CNY,
// HKD and USD; 10,000.00 HKD) publishing CNY → HKD at 1.085 with a fee
// of 0.10 + 10 bp, an HKD wallet (wallet-h), an HKD bank whose callback
// decides each payment (bank-k, answering what decisions gives), and
// wallet-b's CNY alias; the scheme fee on CNY is 0.20.
type quotaSwitch struct {
	*sw
	a, b, p, h, k string // API keys
	decisions     chan wire.Decision
	hook          *hook
	// probe is how the test asks for exactly a remainder of the quota.
	probe quotaProbe
}

// quotaProbe turns what remains of a payer account's quota (minor units
// of the quota's currency) into the largest quote amount that fits it:
// one minor unit more does not.
type quotaProbe struct {
	mode string // the quotes' amountType
	max  func(remaining int64) int64
}

// probeHKD fits a quota in the payee's currency: a RECEIVE quote counts
// its target amount.
var probeHKD = quotaProbe{mode: "RECEIVE", max: func(r int64) int64 { return r }}

// probeUSDDirect fits a quota in USD valued at CNY → USD 0.14: a SEND
// quote of s CNY counts ceil(0.14 s).
var probeUSDDirect = quotaProbe{mode: "SEND", max: func(r int64) int64 { return r * 100 / 14 }}

// probeUSDInverse fits a quota in USD valued at USD → CNY 7.20: a SEND
// quote of s CNY counts ceil(s / 7.2).
var probeUSDInverse = quotaProbe{mode: "SEND", max: func(r int64) int64 { return r * 720 / 100 }}

func newQuotaSwitch(t *testing.T, s *sw, probe quotaProbe) *quotaSwitch {
	t.Helper()
	q := &quotaSwitch{sw: s, decisions: make(chan wire.Decision, 4), hook: newHook(t), probe: probe}
	q.a, _ = s.participant("wallet-a", nil)
	q.b, _ = s.participant("wallet-b", nil)
	q.p, _ = s.participant("fx-one", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD", "USD"} })
	q.h, _ = s.participant("wallet-h", func(n *wire.NewParticipant) { n.Currencies = []string{"HKD"} })
	var secret string
	q.k, secret = s.participant("bank-k", func(n *wire.NewParticipant) {
		n.Kind, n.Currencies, n.CallbackURL, n.Acceptance = "bank", []string{"HKD"}, q.hook.url, "confirm"
	})
	q.hook.mu.Lock()
	q.hook.secret = secret
	q.hook.decide = func(wire.Transfer) wire.Decision { return <-q.decisions }
	q.hook.mu.Unlock()
	s.deposit("wallet-a", "10000.00")
	s.deposit("wallet-b", "10000.00")
	s.ok(201, "POST", "/v1/participants/fx-one/funds", opToken, wire.Funds{Currency: "HKD", Amount: "10000.00", Direction: "deposit"}, nil)
	s.ok(201, "POST", "/v1/parties", q.h, wire.NewParty{Type: "MSISDN", Value: quotaHK, Name: "Wing Chan", Account: "hk-1", Currency: "HKD"}, nil)
	s.ok(201, "POST", "/v1/parties", q.k, wire.NewParty{Type: "MSISDN", Value: quotaConfirm, Name: "Ka Ho", Account: "hk-2", Currency: "HKD"}, nil)
	s.party(q.b, "MSISDN", quotaCN, "Zhang San", "cn-1")
	s.ok(200, "PUT", "/v1/fees/CNY", opToken, wire.Fees{Fixed: "0.20", Rate: "0", Min: "0.00", Max: "0.00"}, nil)
	q.sheet("CNY", "HKD", "1.085", &wire.FXFee{Fixed: "0.10", BPS: 10})
	return q
}

// sheet publishes fx-one's rate from source to target for an hour.
func (q *quotaSwitch) sheet(source, target, rate string, fee *wire.FXFee) {
	q.t.Helper()
	q.ok(201, "PUT", "/v1/fx/rates/"+source+"/"+target, q.p, wire.NewFXRate{Rate: rate, ValidUntil: time.Now().Add(time.Hour).UTC(), Fee: fee}, nil)
}

// withdraw withdraws fx-one's rate from source to target.
func (q *quotaSwitch) withdraw(source, target string) {
	q.t.Helper()
	if r := q.do("DELETE", "/v1/fx/rates/"+source+"/"+target, q.p, nil); r.status != 204 {
		q.t.Fatalf("withdraw %s/%s: %d %s", source, target, r.status, r.body)
	}
}

// quoteReq asks for a quote to alias, in CNY; amountType "" is SEND.
func quoteReq(alias, amount, amountType, account string) wire.NewQuote {
	return wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: alias}, Amount: amount, Currency: "CNY",
		AmountType: amountType, PayerAccount: account}
}

// quote asks for an FX quote that must be given.
func (q *quotaSwitch) quote(key, alias, amount, amountType, account string) wire.Quote {
	q.t.Helper()
	var qt wire.Quote
	q.ok(201, "POST", "/v1/quotes", key, quoteReq(alias, amount, amountType, account), &qt)
	if qt.FX == nil {
		q.t.Fatalf("quote of %s %s to %s without fx: %+v", amountType, amount, alias, qt)
	}
	return qt
}

// quotaPay is the transfer of FX quote qt to alias by payer account.
func quotaPay(id, alias string, qt wire.Quote, account string) wire.NewTransfer {
	return wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: "MSISDN", Value: alias}, Amount: qt.Amount, Currency: qt.Currency,
		QuoteID: qt.ID, Purpose: "FAMI", PayerAccount: account}
}

// pay pays qt to alias and wants it COMMITTED.
func (q *quotaSwitch) pay(key, id, alias string, qt wire.Quote, account string) wire.Transfer {
	q.t.Helper()
	var tr wire.Transfer
	q.ok(201, "POST", "/v1/transfers", key, quotaPay(id, alias, qt, account), &tr)
	if tr.State != "COMMITTED" || tr.FX == nil || tr.FX.TargetAmount != qt.FX.TargetAmount {
		q.t.Fatalf("transfer %s: %+v %+v", id, tr, tr.FX)
	}
	return tr
}

// remains checks that payer account account of the payer whose key is
// key has exactly remaining (minor units of the quota's currency) left:
// a quote naming it for the most that fits is given, one for a minor
// unit more is refused.
func (q *quotaSwitch) remains(key, account string, remaining int64) {
	q.t.Helper()
	most := q.probe.max(remaining)
	if most > 0 {
		if r := q.do("POST", "/v1/quotes", key, quoteReq(quotaHK, money.FormatDecimal(most, 2), q.probe.mode, account)); r.status != 201 {
			q.t.Fatalf("%s has %s left: a quote for %s %s refused: %d %s", account, money.FormatDecimal(remaining, 2),
				q.probe.mode, money.FormatDecimal(most, 2), r.status, r.body)
		}
	}
	q.problem(422, "fx-quota-exceeded", "POST", "/v1/quotes", key, quoteReq(quotaHK, money.FormatDecimal(most+1, 2), q.probe.mode, account))
}

// books returns the balances and reservations of every participant by
// "participant currency".
func (q *quotaSwitch) books() map[string]wire.Account {
	q.t.Helper()
	out := map[string]wire.Account{}
	for _, id := range []string{"wallet-a", "wallet-b", "fx-one", "wallet-h", "bank-k"} {
		var as wire.Accounts
		q.ok(200, "GET", "/v1/participants/"+id+"/accounts", opToken, nil, &as)
		for _, a := range as.Accounts {
			out[id+" "+a.Currency] = a
		}
	}
	return out
}

// sameBooks fails the test if the books moved.
func (q *quotaSwitch) sameBooks(what string, before map[string]wire.Account) {
	q.t.Helper()
	after := q.books()
	for k, a := range before {
		if after[k] != a {
			q.t.Errorf("%s moved %s: %+v → %+v", what, k, a, after[k])
		}
	}
}

// waitConfirms waits until bank-k has been asked to confirm n payments.
func (q *quotaSwitch) waitConfirms(n int) {
	q.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		q.hook.mu.Lock()
		got := len(q.hook.confirms)
		q.hook.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			q.t.Fatalf("bank-k asked to confirm %d payments, want %d", got, n)
		}
	}
}

// payAsync sends a transfer in the background; its answer comes on the
// channel.
func (q *quotaSwitch) payAsync(key string, nt wire.NewTransfer) <-chan wire.Transfer {
	out := make(chan wire.Transfer, 1)
	go func() {
		status, body := q.try("POST", "/v1/transfers", key, nt)
		var tr wire.Transfer
		if status != 201 || json.Unmarshal(body, &tr) != nil {
			tr = wire.Transfer{ID: nt.ID, State: "answered " + string(body)}
		}
		out <- tr
	}()
	return out
}

// quotaMod sets the annual FX quota and a confirm timeout long enough for
// the test to look at a reserved payment; it keeps the configuration for
// a restart.
func quotaMod(t *testing.T, quota string, keep *app.Config) func(*app.Config) {
	q, err := fx.ParseQuota(quota)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *app.Config) {
		c.FXAnnualQuota, c.ConfirmTimeout = q, 10*time.Second
		*keep = *c
	}
}

// TestFXQuota holds FX payments to each payer account's annual quota,
// end to end on both engines: with the quota in the payee's currency
// (HKD), and in a third one (USD) valued at the providers' rates.
func TestFXQuota(t *testing.T) {
	t.Run("HKD", func(t *testing.T) {
		var cfg app.Config
		eachEngine(t, quotaMod(t, "150.00HKD", &cfg), func(t *testing.T, s *sw) { quotaInHKD(t, newQuotaSwitch(t, s, probeHKD), cfg) })
	})
	t.Run("USD", func(t *testing.T) {
		var cfg app.Config
		eachEngine(t, quotaMod(t, "25.00USD", &cfg), func(t *testing.T, s *sw) { quotaInUSD(t, newQuotaSwitch(t, s, probeUSDDirect)) })
	})
}

// quotaInHKD runs the quota's rules with a quota of 150.00 HKD, then
// restarts the switch on the same data (cfg) and checks that the count
// held.
func quotaInHKD(t *testing.T, q *quotaSwitch, cfg app.Config) {
	// 100.00 CNY buys 108.50 HKD, which counts.
	q1 := q.quote(q.a, quotaHK, "100.00", "", "user-7")
	if q1.FX.TargetAmount != "108.50" {
		t.Fatalf("quote %+v", q1.FX)
	}
	noAccount := quotaPay("h-1", quotaHK, q1, "")
	q.problem(400, "invalid-request", "POST", "/v1/transfers", q.a, noAccount)
	q.pay(q.a, "h-1", quotaHK, q1, "user-7")
	q.remains(q.a, "user-7", 41_50)

	// RECEIVE counts what the payee gets: 41.50 HKD is the rest.
	q.problem(422, "fx-quota-exceeded", "POST", "/v1/quotes", q.a, quoteReq(quotaHK, "41.51", "RECEIVE", "user-7"))
	q.pay(q.a, "h-2", quotaHK, q.quote(q.a, quotaHK, "41.50", "RECEIVE", "user-7"), "user-7")
	q.remains(q.a, "user-7", 0)

	// A quote without payerAccount passes; its transfer binds, and moves
	// nothing; the quote is still unused, for another account.
	q.problem(422, "fx-quota-exceeded", "POST", "/v1/quotes", q.a, quoteReq(quotaHK, "40.00", "", "user-7"))
	q2 := q.quote(q.a, quotaHK, "40.00", "", "")
	if q2.FX.TargetAmount != "43.40" {
		t.Fatalf("quote %+v", q2.FX)
	}
	before := q.books()
	q.problem(422, "fx-quota-exceeded", "POST", "/v1/transfers", q.a, quotaPay("h-3", quotaHK, q2, "user-7"))
	q.sameBooks("a payment over the quota", before)
	q.problem(404, "not-found", "GET", "/v1/transfers/h-3", q.a, nil)
	q.pay(q.a, "h-4", quotaHK, q2, "user-8")
	q.remains(q.a, "user-8", 106_60)
	// The same reference at another payer is another account.
	q.remains(q.b, "user-7", 150_00)
	q.pay(q.b, "h-5", quotaHK, q.quote(q.b, quotaHK, "100.00", "", "user-7"), "user-7")
	q.remains(q.b, "user-7", 41_50)

	// A domestic payment does not count.
	dom := pay("d-1", "MSISDN", quotaCN, "50.00")
	dom.PayerAccount = "user-8"
	q.ok(201, "POST", "/v1/transfers", q.a, dom, nil)
	q.remains(q.a, "user-8", 106_60)

	// A reserved payment counts while the payee decides; rejected, it
	// gives its count back; accepted, it keeps it.
	for _, c := range []struct {
		id, account, decision, state string
		after                        int64
	}{
		{"h-6", "user-9", "reject", "ABORTED", 150_00},
		{"h-7", "user-10", "accept", "COMMITTED", 41_50},
	} {
		q.hook.mu.Lock()
		asked := len(q.hook.confirms)
		q.hook.mu.Unlock()
		before := q.books()
		answer := q.payAsync(q.a, quotaPay(c.id, quotaConfirm, q.quote(q.a, quotaConfirm, "100.00", "", c.account), c.account))
		q.waitConfirms(asked + 1)
		q.remains(q.a, c.account, 41_50)
		over := q.quote(q.a, quotaHK, "41.51", "RECEIVE", "")
		q.problem(422, "fx-quota-exceeded", "POST", "/v1/transfers", q.a, quotaPay(c.id+"-over", quotaHK, over, c.account))
		if got := q.books()["fx-one HKD"]; got.Reserved != "108.50" {
			t.Errorf("%s reserved: fx-one HKD %+v", c.id, got)
		}
		q.decisions <- wire.Decision{Decision: c.decision, Reason: "test"}
		if tr := <-answer; tr.State != c.state {
			t.Fatalf("%s decided %s: %+v", c.id, c.decision, tr)
		}
		q.remains(q.a, c.account, c.after)
		if c.state == "ABORTED" {
			q.sameBooks("a rejected payment", before)
		}
	}

	// Racing payments: in each round, each of three accounts sends 10
	// payments of 30.00 at once, all 30 together; the quota admits
	// exactly 5 of each. Rounds, since a wrong count may need a given
	// interleaving to show.
	used := map[string]int64{}
	for round := range raceRounds {
		var accounts []string
		for i := range 3 {
			accounts = append(accounts, fmt.Sprintf("race-%d-%d", round, i))
		}
		hkBefore := amountOf(t, "wallet-h", q.books()["wallet-h HKD"].Balance)
		paid := q.race(accounts)
		var sum int64
		for _, account := range accounts {
			used[account] = int64(paid[account]) * 30_00
			sum += used[account]
			q.remains(q.a, account, 150_00-used[account])
		}
		if got := amountOf(t, "wallet-h", q.books()["wallet-h HKD"].Balance) - hkBefore; got != sum {
			t.Errorf("round %d: the racers paid wallet-h %s HKD, their transfers %s", round, money.FormatDecimal(got, 2), money.FormatDecimal(sum, 2))
		}
	}

	// A restart on the same data keeps the count.
	q.close()
	var s2 *sw
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if s2, err = openSwitch(t, cfg); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("restart: %v", err)
		}
	}
	t.Cleanup(s2.close)
	q.sw = s2
	for _, c := range []struct {
		key, account string
		remaining    int64
	}{
		{q.a, "user-7", 0}, {q.a, "user-8", 106_60}, {q.b, "user-7", 41_50}, {q.a, "user-9", 150_00},
		{q.a, "user-10", 41_50}, {q.a, "user-new", 150_00},
	} {
		q.remains(c.key, c.account, c.remaining)
	}
	for account, u := range used {
		q.remains(q.a, account, 150_00-u)
	}
	over := q.quote(q.a, quotaHK, "106.61", "RECEIVE", "")
	q.problem(422, "fx-quota-exceeded", "POST", "/v1/transfers", q.a, quotaPay("h-8", quotaHK, over, "user-8"))
	q.pay(q.a, "h-9", quotaHK, q.quote(q.a, quotaHK, "106.60", "RECEIVE", "user-8"), "user-8")
	q.remains(q.a, "user-8", 0)
}

// quotaInUSD runs the quota's valuation with a quota of 25.00 USD: no
// sheet between CNY and USD refuses the quote; a CNY → USD sheet values
// what the payer sends (SEND or RECEIVE), rounded up; a USD → CNY sheet
// does too when it is the only one; and a quote keeps the value it was
// given when the sheet is gone.
func quotaInUSD(t *testing.T, q *quotaSwitch) {
	q.problem(422, "fx-no-rate", "POST", "/v1/quotes", q.a, quoteReq(quotaHK, "100.00", "", "user-7"))
	q.problem(422, "fx-no-rate", "POST", "/v1/quotes", q.a, quoteReq(quotaHK, "100.00", "", ""))

	q.sheet("CNY", "USD", "0.14", nil)
	q.pay(q.a, "u-1", quotaHK, q.quote(q.a, quotaHK, "100.00", "", "user-7"), "user-7") // 14.00 USD
	q.remains(q.a, "user-7", 11_00)
	// RECEIVE 100.00 HKD costs 92.17 CNY, worth 12.91 USD.
	q.problem(422, "fx-quota-exceeded", "POST", "/v1/quotes", q.a, quoteReq(quotaHK, "100.00", "RECEIVE", "user-7"))
	recv := q.quote(q.a, quotaHK, "50.00", "RECEIVE", "user-7")
	if recv.Amount != "46.09" {
		t.Fatalf("RECEIVE 50.00 HKD costs %s CNY", recv.Amount)
	}
	q.pay(q.a, "u-2", quotaHK, recv, "user-7") // 6.46 USD
	q.remains(q.a, "user-7", 4_54)
	q.remains(q.a, "user-8", 25_00)

	// A quote keeps its value: the sheet withdrawn, it still pays, and
	// counts what it said.
	kept := q.quote(q.a, quotaHK, "10.00", "", "user-7") // 1.40 USD
	q.withdraw("CNY", "USD")
	q.problem(422, "fx-no-rate", "POST", "/v1/quotes", q.a, quoteReq(quotaHK, "10.00", "", "user-7"))
	q.pay(q.a, "u-3", quotaHK, kept, "user-7")

	// A USD → CNY sheet alone values it too.
	q.sheet("USD", "CNY", "7.20", nil)
	q.probe = probeUSDInverse
	q.remains(q.a, "user-7", 3_14)
	q.remains(q.a, "user-8", 25_00)
	q.withdraw("USD", "CNY")
	q.problem(422, "fx-no-rate", "POST", "/v1/quotes", q.a, quoteReq(quotaHK, "1.00", "RECEIVE", ""))
}

// The racing rounds, the payments each account sends at once in a round,
// and how many of them the quota admits.
const raceRounds, racersEach, racersFit = 4, 10, 5

// race sends racersEach payments of 30.00 HKD (RECEIVE) from each of
// accounts, all at once, and checks that each account had exactly
// racersFit paid, and the rest refused fx-quota-exceeded and not made.
// It returns how many each had paid.
func (q *quotaSwitch) race(accounts []string) map[string]int {
	q.t.Helper()
	type racer struct {
		id, account string
		quote       wire.Quote
		status      int
		body        []byte
	}
	var all []*racer
	for _, account := range accounts {
		for i := range racersEach {
			all = append(all, &racer{id: fmt.Sprintf("%s-%d", account, i), account: account,
				quote: q.quote(q.a, quotaHK, "30.00", "RECEIVE", "")})
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, r := range all {
		wg.Go(func() {
			<-start
			r.status, r.body = q.try("POST", "/v1/transfers", q.a, quotaPay(r.id, quotaHK, r.quote, r.account))
		})
	}
	close(start)
	wg.Wait()
	paid := map[string]int{}
	for _, r := range all {
		var pr wire.Problem
		status, tr := getTransfer(q.sw, r.id, q.a)
		switch {
		case r.status == 201 && status == 200 && tr.State == "COMMITTED":
			paid[r.account]++
		case r.status == 422 && json.Unmarshal(r.body, &pr) == nil && pr.Type == wire.ProblemBase+"fx-quota-exceeded" && status == 404:
		default:
			q.t.Errorf("racer %s answered %d %s, now %d %+v", r.id, r.status, r.body, status, tr)
		}
	}
	for _, account := range accounts {
		if paid[account] != racersFit {
			// Fewer: a payment within the quota was refused, which is what
			// counting a payment both as used (its durable event) and in
			// flight (until its submission returns) does to a racer.
			q.t.Errorf("%s: %d of %d racing payments of 30.00 paid, the quota of 150.00 fits exactly %d",
				account, paid[account], racersEach, racersFit)
		}
	}
	return paid
}
