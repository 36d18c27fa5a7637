package sim

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// CheckResult is one check's verdict, with the figures behind it.
type CheckResult struct {
	Name   string
	Pass   bool
	Detail string
}

// String formats the verdict as the demo prints it: "PASS  name: detail".
func (c CheckResult) String() string {
	v := "PASS"
	if !c.Pass {
		v = "FAIL"
	}
	return v + "  " + c.Name + ": " + c.Detail
}

// Ledger is a participant's side of the comparison: its books and the
// switch's records of it.
type Ledger struct {
	ID, Kind, Acceptance string
	Currency             money.Currency
	// Books are the participant's own totals.
	Books Summary
	// Position is its settlement account at the switch.
	Position Position
	// Reserved is what the switch holds for its payments awaiting a
	// payee's answer (zero once traffic stopped).
	Reserved money.Amount
	// What the switch's transfer listing says: committed payments sent
	// (and their fees, and the FX providers' fees of FX payments),
	// committed payments received (and an FX provider's fees earned on
	// them), aborted payments.
	SwitchSent, SwitchFees, SwitchReceived money.Amount
	SwitchFXFees, SwitchFXFeesEarned       money.Amount
	NSwitchSent, NSwitchReceived, NAborted int
	// Callbacks are its callback server's counters.
	Callbacks CallbackStats
}

// ZeroSum is the ledger's balance check of one currency, from API
// answers: Σ participants' balances + fees collected − deposits +
// withdrawals − settled in + settled out must be zero, since every
// movement is a double entry between those accounts (settlement moves
// money between a participant, or the hub's fee revenue, and the
// settlement bank).
//
// The hub's own accounts (GET /v1/hub/accounts) are a second opinion:
// its fee revenue must equal Fees − HubPaidOut, and the settlement bank's
// account Withdrawals − Deposits − SettledIn + SettledOut + HubPaidOut.
type ZeroSum struct {
	Currency    money.Currency
	Balances    money.Amount // Σ participants' balances (GET …/accounts)
	Fees        money.Amount // Σ fees of committed transfers (GET /v1/transfers)
	Deposits    money.Amount // Σ deposits the switch recorded (POST …/funds answers)
	Withdrawals money.Amount
	SettledIn   money.Amount // Σ "pay" settlement instructions carried out
	SettledOut  money.Amount // Σ participants' "receive" instructions carried out
	HubPaidOut  money.Amount // the hub's fee revenue paid out by settlement
	// HubKnown says whether the switch showed its hub accounts;
	// HubFeeRevenue and SettlementBank are their balances.
	HubKnown       bool
	HubFeeRevenue  money.Amount
	SettlementBank money.Amount
}

// OK reports whether the currency balances: the total is zero and the
// hub's accounts, when known, agree with the fees and the funds moved.
func (z ZeroSum) OK() bool {
	return z.Total() == 0 && (!z.HubKnown || z.HubFeeRevenue == z.Fees-z.HubPaidOut &&
		z.SettlementBank == z.Withdrawals-z.Deposits-z.SettledIn+z.SettledOut+z.HubPaidOut)
}

// Total is Balances + Fees − Deposits + Withdrawals − SettledIn +
// SettledOut: zero when the books balance.
func (z ZeroSum) Total() money.Amount {
	return z.Balances + z.Fees - z.Deposits + z.Withdrawals - z.SettledIn + z.SettledOut
}

// Report is the outcome of Check.
type Report struct {
	Checks       []CheckResult
	Participants []Ledger
	ZeroSums     []ZeroSum
	// Drained is how long after Check started (when the traffic had
	// stopped) every committed transfer had been notified to its payee.
	Drained time.Duration
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Failed returns the checks that failed.
func (r *Report) Failed() []CheckResult {
	var out []CheckResult
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

// switchView is what the switch's listing says of one participant in
// one currency.
type switchView struct {
	sent     map[string]Outgoing // committed outgoing: amount, fee, FX fee
	received map[string]inflow   // committed incoming: amount, FX fee earned
	aborted  int
	reserved int
	fees     money.Amount // scheme fees of committed outgoing
	fxFees   money.Amount // FX providers' fees of committed outgoing
}

// side is one participant's books in one of its currencies, and the
// switch's listing of it: what Check compares.
type side struct {
	m     *member
	books *Books
	view  *switchView
	open  int // payments without a final outcome (counted once, on the member's first side)
}

// list reads every transfer of m, as m itself sees them, into a view per
// currency of its books. An FX payment is in the payer's view in the
// payer's currency (amount, fee, provider fee), in the payee's in the
// target currency (fx.targetAmount), and in the provider's twice: the
// source amount and its fee received in the source currency, the target
// amount sent in the target currency.
func list(ctx context.Context, m *member) (map[money.Currency]*switchView, error) {
	views := map[money.Currency]*switchView{}
	for _, c := range m.Currencies() {
		views[c] = &switchView{sent: map[string]Outgoing{}, received: map[string]inflow{}}
	}
	// parse reads amounts of one currency, which m must hold.
	parse := func(id, currency string, amounts ...string) (*switchView, []money.Amount, error) {
		c, err := money.ParseCurrency(currency)
		if err != nil || views[c] == nil {
			return nil, nil, fmt.Errorf("transfer %s in %s", id, currency)
		}
		out := make([]money.Amount, len(amounts))
		for i, a := range amounts {
			if out[i], err = money.Parse(a, c); err != nil {
				return nil, nil, fmt.Errorf("transfer %s: amount %q: %w", id, a, err)
			}
		}
		return views[c], out, nil
	}
	err := m.API().EachTransfer(ctx, "", func(t wire.Transfer) error {
		var v *switchView
		var a []money.Amount
		var err error
		switch {
		case t.Payer == m.ID() && t.FX != nil:
			v, a, err = parse(t.ID, t.Currency, t.Amount, t.Fee, t.FX.ProviderFee)
			if err == nil && t.State == "COMMITTED" {
				v.sent[t.ID] = Outgoing{ID: t.ID, Amount: a[0], Fee: a[1], FXFee: a[2]}
				v.fees += a[1]
				v.fxFees += a[2]
			}
		case t.Payer == m.ID():
			v, a, err = parse(t.ID, t.Currency, t.Amount, t.Fee)
			if err == nil && t.State == "COMMITTED" {
				v.sent[t.ID] = Outgoing{ID: t.ID, Amount: a[0], Fee: a[1]}
				v.fees += a[1]
			}
		case t.FX != nil && t.Payee.Participant == m.ID():
			v, a, err = parse(t.ID, t.FX.TargetCurrency, t.FX.TargetAmount)
			if err == nil && t.State == "COMMITTED" {
				v.received[t.ID] = inflow{amount: a[0]}
			}
		case t.FX != nil && t.FX.Provider == m.ID():
			var out *switchView
			var target []money.Amount
			if out, target, err = parse(t.ID, t.FX.TargetCurrency, t.FX.TargetAmount); err == nil {
				v, a, err = parse(t.ID, t.FX.SourceCurrency, t.FX.SourceAmount, t.FX.ProviderFee)
			}
			if err == nil && t.State == "COMMITTED" {
				v.received[t.ID] = inflow{amount: a[0], fee: a[1]}
				out.sent[t.ID] = Outgoing{ID: t.ID, Amount: target[0]}
			}
		case t.Payee.Participant == m.ID():
			v, a, err = parse(t.ID, t.Currency, t.Amount)
			if err == nil && t.State == "COMMITTED" {
				v.received[t.ID] = inflow{amount: a[0]}
			}
		default:
			// Listed, but none of m's: only its state counts.
			v = views[m.Books().Currency()]
		}
		if err != nil {
			return err
		}
		switch t.State {
		case "COMMITTED":
		case "ABORTED":
			v.aborted++
		default:
			v.reserved++
		}
		return nil
	})
	return views, err
}

// Check compares every simulated participant's books with the switch,
// once the traffic has stopped:
//
//  1. Each participant reconciles payments without a final answer.
//  2. Each lists its transfers at the switch and waits (at most
//     DrainTimeout) until it has been notified of every committed
//     incoming transfer.
//  3. Per participant and currency it holds: the position at the switch
//     equals deposits − withdrawals − sent − fees + received from its own
//     books; the committed payments it sent and received are exactly the
//     switch's, with the same amounts and fees (so none was credited
//     twice, none missed); its users' balances add up.
//  4. Per currency: the ledger sums to zero (see ZeroSum).
//
// A person's payments (OpenPerson) wait while it runs.
//
// The error is for failures to ask (the switch unreachable); a
// disagreement is a failed check in the report.
func (s *Scenario) Check(ctx context.Context) (*Report, error) {
	// A person's payment in flight would be in the books and not yet at
	// the switch, or the other way round: wait for those, hold new ones.
	s.quiet.mu.Lock()
	defer s.quiet.mu.Unlock()
	rep := &Report{}
	start := time.Now()
	open := make([]int, len(s.members))
	var reconcileErrs []error
	for i, m := range s.members {
		n, err := m.Reconcile(ctx)
		open[i] = n
		if err != nil {
			reconcileErrs = append(reconcileErrs, fmt.Errorf("%s: %w", m.ID(), err))
		}
	}
	var sides []side
	for i, m := range s.members {
		views, err := list(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("transfers of %s: %w", m.ID(), err)
		}
		for k, c := range m.Currencies() {
			sd := side{m: m, books: m.BooksIn(c), view: views[c]}
			if k == 0 {
				sd.open = open[i]
			}
			sides = append(sides, sd)
		}
	}

	// Notifications are asynchronous: wait for them, bounded.
	incoming := make([][]string, len(sides))
	for i, sd := range sides {
		for id := range sd.view.received {
			incoming[i] = append(incoming[i], id)
		}
		sort.Strings(incoming[i])
	}
	deadline := time.Now().Add(s.cfg.DrainTimeout)
	for {
		missing := 0
		for i, sd := range sides {
			missing += sd.books.Missing(incoming[i])
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	rep.Drained = time.Since(start)

	for _, sd := range sides {
		l, res, err := s.checkMember(ctx, sd)
		if err != nil {
			return nil, err
		}
		rep.Participants = append(rep.Participants, l)
		rep.Checks = append(rep.Checks, res)
	}
	st := s.stats.Snapshot()
	rep.Checks = append(rep.Checks, CheckResult{Name: "traffic", Pass: st.Errors == 0,
		Detail: fmt.Sprintf("%s transfers answered, %s lookups, %d unexpected errors%s", groupInt(st.Transfers), groupInt(st.Lookups), st.Errors, lastErr(st))})
	if len(reconcileErrs) > 0 {
		rep.Checks = append(rep.Checks, CheckResult{Name: "reconciliation", Detail: errors.Join(reconcileErrs...).Error()})
	}
	zs, err := s.zeroSums(ctx, sides)
	if err != nil {
		return nil, err
	}
	rep.ZeroSums = zs
	var sums []CheckResult
	for _, z := range zs {
		c := z.Currency
		detail := fmt.Sprintf("balances %s + fees %s − deposits %s + withdrawals %s − settled in %s + settled out %s = %s",
			Grouped(z.Balances, c), Grouped(z.Fees, c), Grouped(z.Deposits, c), Grouped(z.Withdrawals, c),
			Grouped(z.SettledIn, c), Grouped(z.SettledOut, c), Grouped(z.Total(), c))
		if z.HubKnown {
			detail += fmt.Sprintf("; hub fee revenue %s, settlement bank %s", Grouped(z.HubFeeRevenue, c), Grouped(z.SettlementBank, c))
		}
		sums = append(sums, CheckResult{Name: "ledger zero-sum " + c.String(), Pass: z.OK(), Detail: detail})
	}
	rep.Checks = append(sums, rep.Checks...)
	return rep, nil
}

func lastErr(st StatsSnapshot) string {
	if st.Errors == 0 {
		return ""
	}
	return " (the last: " + st.LastError + ")"
}

// checkMember compares one participant's books in one currency with the
// switch's view.
func (s *Scenario) checkMember(ctx context.Context, sd side) (Ledger, CheckResult, error) {
	l, err := memberLedger(ctx, sd)
	if err != nil {
		return l, CheckResult{}, err
	}
	c := l.Currency
	var p findings
	p.totals(sd, l)
	p.outgoing(sd.books.committedOutgoing(), sd.view.sent, c)
	p.incoming(sd.books.creditedIDs(), sd.view.received, c)
	if cs := l.Callbacks; cs.Anomalies > 0 && sd.books == sd.m.Books() {
		p.add("%d anomalous callbacks (last: %s)", cs.Anomalies, cs.LastAnomaly)
	}

	name := sd.m.ID() + " books agree with the switch"
	if len(sd.m.Currencies()) > 1 {
		name = sd.m.ID() + " " + c.String() + " books agree with the switch"
	}
	res := CheckResult{Name: name, Pass: len(p) == 0}
	if res.Pass {
		res.Detail = agreement(l)
	} else {
		res.Detail = strings.Join(p, "; ")
	}
	return l, res, nil
}

// memberLedger gathers a participant's side of the comparison in one
// currency: its books, its account at the switch, and the totals of the
// switch's listing.
func memberLedger(ctx context.Context, sd side) (Ledger, error) {
	m, v, c := sd.m, sd.view, sd.books.Currency()
	l := Ledger{ID: m.ID(), Kind: m.plan.kind, Acceptance: m.plan.acceptance, Currency: c, Books: sd.books.Summary(),
		NAborted: v.aborted, SwitchFees: v.fees, SwitchFXFees: v.fxFees, Callbacks: m.CallbackStats()}
	accts, err := m.API().Accounts(ctx, m.ID())
	if err != nil {
		return l, fmt.Errorf("accounts of %s: %w", m.ID(), err)
	}
	for _, a := range accts {
		if a.Currency != c.String() {
			continue
		}
		if l.Position, err = parseAccount(a); err != nil {
			return l, fmt.Errorf("accounts of %s: %w", m.ID(), err)
		}
		l.Position.Participant, l.Position.Kind, l.Position.Acceptance = m.ID(), m.plan.kind, m.plan.acceptance
		if l.Reserved, err = money.Parse(a.Reserved, c); err != nil {
			return l, fmt.Errorf("accounts of %s: %w", m.ID(), err)
		}
	}
	for _, o := range v.sent {
		l.SwitchSent += o.Amount
	}
	for _, a := range v.received {
		l.SwitchReceived += a.amount
		l.SwitchFXFeesEarned += a.fee
	}
	l.NSwitchSent, l.NSwitchReceived = len(v.sent), len(v.received)
	return l, nil
}

// findings are the disagreements one check found, in the order found;
// none means the check passed.
type findings []string

// add records one disagreement.
func (p *findings) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// some records n payments of one kind with one example, if there are any:
// listing every id of a large disagreement would drown the report.
func (p *findings) some(what string, n int, example string) {
	if n > 0 {
		p.add("%d %s (e.g. %s)", n, what, example)
	}
}

// totals compares m's position with its books, and looks for what should
// be settled once traffic stopped: reservations, payments without a
// final outcome (open of them), books that do not add up.
func (p *findings) totals(sd side, l Ledger) {
	c, v, open := l.Currency, sd.view, sd.open
	if got, want := l.Position.Balance, l.Books.Position(); got != want {
		p.add("position at the switch %s, books say %s", Grouped(got, c), Grouped(want, c))
	}
	if l.Reserved != 0 || v.reserved != 0 {
		p.add("%d transfers still reserved (%s)", v.reserved, Grouped(l.Reserved, c))
	}
	if open > 0 {
		p.add("%d payments without a final outcome", open)
	}
	if err := sd.books.Verify(); err != nil {
		p.add("books: %v", err)
	}
	if n := l.Books.Overdrafts; n > 0 {
		// Honest books, but the policy of earmarking a mandate's
		// maximum (mandates.go) should have covered every pull.
		p.add("%d debits made unasked that the users' money did not cover (overdrafts)", n)
	}
}

// outgoing checks that the books (mine) and the switch (sent) hold the
// same committed payments, with the same amounts and fees.
func (p *findings) outgoing(mine, sent map[string]Outgoing, c money.Currency) {
	var n int
	var ex string
	for id, o := range mine {
		if so, ok := sent[id]; !ok {
			n, ex = n+1, id
		} else if so.Amount != o.Amount || so.Fee != o.Fee || so.FXFee != o.FXFee {
			p.add("payment %s: switch %s fee %s FX fee %s, books %s fee %s FX fee %s", id, Grouped(so.Amount, c), Grouped(so.Fee, c),
				Grouped(so.FXFee, c), Grouped(o.Amount, c), Grouped(o.Fee, c), Grouped(o.FXFee, c))
		}
	}
	p.some("payments debited in the books but not committed at the switch", n, ex)
	n = 0
	for id := range sent {
		if _, ok := mine[id]; !ok {
			n, ex = n+1, id
		}
	}
	p.some("payments committed at the switch but not debited in the books", n, ex)
}

// incoming checks that every transfer the switch committed to the
// participant (received) was credited once in its books (credited), with
// its amount (and the FX fee of an FX provider), and nothing else was.
func (p *findings) incoming(credited, received map[string]inflow, c money.Currency) {
	var n int
	var ex string
	for id, in := range received {
		if got, ok := credited[id]; !ok {
			n, ex = n+1, id
		} else if got != in {
			p.add("transfer %s: switch %s (FX fee %s), credited %s (FX fee %s)", id, Grouped(in.amount, c), Grouped(in.fee, c),
				Grouped(got.amount, c), Grouped(got.fee, c))
		}
	}
	p.some("committed transfers never credited (notifications not drained)", n, ex)
	n = 0
	for id := range credited {
		if _, ok := received[id]; !ok {
			n, ex = n+1, id
		}
	}
	p.some("credits of transfers the switch did not commit to this participant", n, ex)
}

// agreement is a passed member check's detail: the position's equation
// and the counts behind it.
func agreement(l Ledger) string {
	b, c := l.Books, l.Currency
	fx := ""
	if b.FXFeesPaid != 0 || b.FXFeesEarned != 0 {
		fx = fmt.Sprintf(" − FX fees paid %s + FX fees earned %s", Grouped(b.FXFeesPaid, c), Grouped(b.FXFeesEarned, c))
	}
	return fmt.Sprintf("position %s = deposits %s − withdrawals %s − sent %s − fees %s + received %s%s + settled in %s − settled out %s; %s sent (%s by the switch unasked), %s received, %s redeliveries ignored; users' balances add up to %s (%s earmarked)",
		Grouped(l.Position.Balance, c), Grouped(b.Deposits, c), Grouped(b.Withdrawals, c), Grouped(b.Sent, c), Grouped(b.FeesPaid, c),
		Grouped(b.Received, c), fx, Grouped(b.SettledIn, c), Grouped(b.SettledOut, c), groupInt(b.NSent), groupInt(b.Unsent), groupInt(b.NReceived),
		groupInt(b.Duplicates), Grouped(b.UsersTotal, c), Grouped(b.Earmarked, c))
}

// zeroSums computes the ledger's balance per currency from the API: the
// operator's view of every participant's accounts, the fees of committed
// transfers, and the funds the operator moved.
func (s *Scenario) zeroSums(ctx context.Context, sides []side) ([]ZeroSum, error) {
	ps, err := s.op.Participants(ctx)
	if err != nil {
		return nil, fmt.Errorf("participants: %w", err)
	}
	sums := zeroSumSet{}
	viewsOf := map[string][]side{}
	for _, sd := range sides {
		viewsOf[sd.m.ID()] = append(viewsOf[sd.m.ID()], sd)
	}
	for _, p := range ps {
		if err := s.addBalances(ctx, sums, p.ID); err != nil {
			return nil, err
		}
		if err := s.addFees(ctx, sums, p.ID, viewsOf[p.ID]); err != nil {
			return nil, err
		}
	}
	s.addFunds(sums)
	if err := s.addHub(ctx, sums); err != nil {
		return nil, err
	}
	return sums.sorted(), nil
}

// zeroSumSet holds the zero-sums being added up, by currency.
type zeroSumSet map[money.Currency]*ZeroSum

// get returns c's zero-sum, starting it if need be.
func (zs zeroSumSet) get(c money.Currency) *ZeroSum {
	if zs[c] == nil {
		zs[c] = &ZeroSum{Currency: c}
	}
	return zs[c]
}

// sorted returns the zero-sums in currency order.
func (zs zeroSumSet) sorted() []ZeroSum {
	out := make([]ZeroSum, 0, len(zs))
	for _, z := range zs {
		out = append(out, *z)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// addBalances adds participant id's account balances, as the operator
// sees them.
func (s *Scenario) addBalances(ctx context.Context, sums zeroSumSet, id string) error {
	accts, err := s.op.Accounts(ctx, id)
	if err != nil {
		return fmt.Errorf("accounts of %s: %w", id, err)
	}
	for _, a := range accts {
		pos, err := parseAccount(a)
		if err != nil {
			return fmt.Errorf("accounts of %s: %w", id, err)
		}
		sums.get(pos.Currency).Balances += pos.Balance
	}
	return nil
}

// addFees adds the scheme fees participant id paid on committed
// transfers: from its own listing, when the scenario simulates it (its
// sides). An FX provider's fee is not one: it stays with the provider,
// in the participants' balances.
func (s *Scenario) addFees(ctx context.Context, sums zeroSumSet, id string, sides []side) error {
	if len(sides) > 0 {
		for _, sd := range sides {
			sums.get(sd.books.Currency()).Fees += sd.view.fees
		}
		return nil
	}
	// A participant the scenario does not simulate: its fees from the
	// operator's listing of its transfers.
	err := s.op.EachTransfer(ctx, id, func(t wire.Transfer) error {
		if t.State != "COMMITTED" || t.Payer != id {
			return nil
		}
		c, err := money.ParseCurrency(t.Currency)
		if err != nil {
			return err
		}
		fee, err := money.Parse(t.Fee, c)
		sums.get(c).Fees += fee
		return err
	})
	if err != nil {
		return fmt.Errorf("transfers of %s: %w", id, err)
	}
	return nil
}

// addFunds adds the funds the operator moved during the scenario, per
// currency.
func (s *Scenario) addFunds(sums zeroSumSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, f := range s.funds {
		z := sums.get(c)
		z.Deposits += f.deposits
		z.Withdrawals += f.withdrawals
		z.SettledIn += f.settledIn
		z.SettledOut += f.settledOut
		z.HubPaidOut += f.hubPaidOut
	}
}

// addHub adds the hub's own accounts, the zero-sum's second opinion, when
// the switch shows them.
func (s *Scenario) addHub(ctx context.Context, sums zeroSumSet) error {
	hub, err := s.op.HubAccounts(ctx)
	switch {
	case IsProblem(err, ProblemNotFound):
		// A switch without the endpoint: the sum alone must do.
		return nil
	case err != nil:
		return fmt.Errorf("hub accounts: %w", err)
	}
	for _, a := range hub {
		c, err := money.ParseCurrency(a.Currency)
		if err != nil {
			return fmt.Errorf("hub accounts: %w", err)
		}
		z := sums.get(c)
		z.HubKnown = true
		if z.HubFeeRevenue, err = money.Parse(a.FeeRevenue, c); err != nil {
			return fmt.Errorf("hub accounts: %w", err)
		}
		if z.SettlementBank, err = money.Parse(a.SettlementBank, c); err != nil {
			return fmt.Errorf("hub accounts: %w", err)
		}
	}
	return nil
}
