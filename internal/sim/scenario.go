package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// ScenarioConfig configures a Scenario; a zero field means its default.
type ScenarioConfig struct {
	// Currency is the ISO 4217 code of the scenario (default "CNY").
	Currency string
	// Users is the number of end users over all participants, the wallet
	// abroad's included (default 3,000; at least 100).
	Users int
	// Concurrency is the number of goroutines driving traffic (default
	// 16): each runs one payment at a time, like that many app users
	// pressing "pay" at once.
	Concurrency int
	// Duration is how long the traffic runs; zero means until the
	// context given to Run ends.
	Duration time.Duration
	// MaxPayments stops the traffic after that many payments (default
	// 1,000,000). It bounds the simulators' records, which keep every
	// transfer id as a real participant does (some 200 bytes each).
	MaxPayments int64
	// DrainTimeout bounds how long Check waits for the switch's
	// notifications to arrive (default 60 s; they are asynchronous).
	DrainTimeout time.Duration
	// Seed makes the traffic mix repeatable; zero picks one at random.
	Seed uint64
	// NoCrossBorder leaves out the FX provider, the wallet abroad and
	// their cross-border payments (scenario_crossborder.go). They need
	// Currency CNY: the provider's sheet is CNY → HKD.
	NoCrossBorder bool
	// NoScreen turns the confirm-mode participants' own screens off
	// (they reject a share of incoming transfers at random, as a fraud
	// screen would): for tests in which a given payment must commit.
	NoScreen bool
	// HTTP is the client of the switch; nil makes one.
	HTTP *http.Client
	// Log receives a line per setup step; nil is silent.
	Log io.Writer
}

// plan is one simulated participant of the scenario.
type plan struct {
	id, name, kind, acceptance string
	// share is the participant's part of the users, per mille.
	share int
	// opening is the range of its users' opening balances, in major units.
	opening [2]int64
	// reserve: the participant deposits the sum of its users' opening
	// balances (a wallet's customer funds, 100 % reserved at the hub);
	// otherwise it deposits deposit.
	reserve  bool
	deposit  int64 // major units
	withdraw int64 // major units, withdrawn right after the deposit
	cap      int64 // net debit cap, major units
	// chargeFees: its users pay the scheme fee.
	chargeFees bool
	rejectRate float64
	// loseAnswers: the fraction of notifications it answers 503 after
	// booking them, to show that redeliveries are credited once.
	loseAnswers float64
	// closedPct of its users have closed their accounts (their aliases
	// are still registered): a confirm-mode participant rejects transfers
	// to them.
	closedPct int
	// spender: its users pay others in the ordinary mix.
	spender bool
	// payouts: it has a corporate account that pays wallet users in
	// batches (a platform's payouts).
	payouts bool
	// merchants: it acquires the scenario's merchants (shopMerchants),
	// whose QR codes wallet users pay.
	merchants bool
}

// plans are the participants of the scenario: two ordinary e-wallets
// (one takes transfers in notify mode and now and then fails to answer a
// notification it booked, one in confirm mode), a small wallet that
// prefunded too little, and a bank with a net debit cap that passes fees
// on to its customers.
var plans = []plan{
	{id: "peony-pay", name: "Peony Pay", kind: "wallet", acceptance: "notify", share: 1000 - 300 - 50 - 250 - abroadShare,
		opening: [2]int64{5_000, 50_000}, reserve: true, spender: true, loseAnswers: 0.05},
	{id: "bamboo-wallet", name: "Bamboo Wallet", kind: "wallet", acceptance: "confirm", share: 300,
		opening: [2]int64{5_000, 50_000}, reserve: true, spender: true, rejectRate: 0.02, closedPct: 2},
	{id: "lotus-pay", name: "Lotus Pay", kind: "wallet", acceptance: "notify", share: 50,
		opening: [2]int64{5_000, 10_000}, deposit: 1_000},
	{id: "river-bank", name: "River Bank", kind: "bank", acceptance: "notify", share: 250,
		opening: [2]int64{10_000, 100_000}, deposit: 2_000_000, withdraw: 100_000, cap: 1_000_000,
		chargeFees: true, payouts: true, merchants: true},
}

// shop is a merchant of the scenario, as its QR codes print it: a name
// of at most 25 ASCII characters, a merchant category code (ISO 18245),
// a city of at most 15.
type shop struct{ name, mcc, city string }

// shops are the merchants of the participant that acquires them.
var shops = []shop{
	{"Lanzhou Noodles", "5812", "Shanghai"},
	{"Jasmine Tea House", "5814", "Hangzhou"},
	{"Golden Dragon Hotpot", "5812", "Chengdu"},
	{"Kangning Pharmacy", "5912", "Beijing"},
	{"Harbor Fruit Market", "5411", "Guangzhou"},
	{"Bright Window Books", "5942", "Shenzhen"},
}

// merchant is one of the scenario's merchants: its alias, its account in
// its participant's books, and its static QR code (the sticker by the
// till).
type merchant struct {
	m       *member
	alias   string
	account string
	static  string // the static code's payload
}

// payoutAccount is the bank's corporate account that pays out batches.
const payoutAccount = "corp-payouts"

// member is a simulated participant in the scenario, with what the
// driver needs to pick payers and payees.
type member struct {
	*Participant
	plan    plan
	users   []string        // open users, the payers
	aliases []wire.PayeeRef // its users' aliases, payees of others
	closed  []wire.PayeeRef // aliases of closed users
	shops   []merchant      // the merchants it acquires
}

// target is a payee alias and who holds it.
type target struct {
	m   *member
	ref wire.PayeeRef
}

// Scenario drives a switch with simulated participants: Setup creates
// and funds them and registers their users, Run sends traffic, Check
// compares every participant's books with the switch.
type Scenario struct {
	cfg         ScenarioConfig
	currency    money.Currency
	unit        money.Amount // one major unit in minor units
	op          *Client
	apiURL      string
	members     []*member
	wallets     []target    // aliases of wallet users
	banks       []target    // aliases of bank users
	all         []target    // both
	closed      []target    // aliases of closed accounts
	xb          crossBorder // the FX provider, the wallet abroad and its users' aliases
	shops       []merchant
	recent      recentPayments // committed payments, for refunds and disputes
	mandateBook mandateBook
	tills       atomic.Int64 // numbers the bills of dynamic QR codes
	stats       *Stats
	attempts    atomic.Int64
	quiet       quiet // persons' payments share it, Check holds it alone (person.go)

	mu    sync.Mutex
	funds map[money.Currency]*funds // what the operator moved, per currency
}

// funds is the money the operator moved in one currency, as the switch
// answered it: deposits and withdrawals, and the settlement instructions
// carried out.
type funds struct {
	deposits, withdrawals money.Amount
	settledIn, settledOut money.Amount
	hubPaidOut            money.Amount
}

// fundsIn returns the funds moved in c; call it with s.mu held.
func (s *Scenario) fundsIn(c money.Currency) *funds {
	if s.funds[c] == nil {
		s.funds[c] = &funds{}
	}
	return s.funds[c]
}

// NewScenario prepares a scenario against the switch at apiURL, run by
// the operator's token.
func NewScenario(apiURL, operatorToken string, cfg ScenarioConfig) (*Scenario, error) {
	if cfg.Currency == "" {
		cfg.Currency = "CNY"
	}
	c, err := money.ParseCurrency(cfg.Currency)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	if cfg.Users == 0 {
		cfg.Users = 3000
	}
	cfg.Users = max(cfg.Users, 100)
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.MaxPayments <= 0 {
		cfg.MaxPayments = 1_000_000
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = time.Minute
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	if cfg.HTTP == nil {
		cfg.HTTP = NewHTTPClient(cfg.Concurrency + 4*len(plans))
	}
	unit := money.Amount(1)
	for range c.Exponent() {
		unit *= 10
	}
	if c != xbSource {
		cfg.NoCrossBorder = true
	}
	return &Scenario{cfg: cfg, currency: c, unit: unit, op: NewClient(apiURL, operatorToken, cfg.HTTP), apiURL: apiURL, stats: NewStats(),
		funds: map[money.Currency]*funds{}}, nil
}

// Config returns the scenario's configuration, defaults filled in.
func (s *Scenario) Config() ScenarioConfig { return s.cfg }

// Operator returns the operator's client.
func (s *Scenario) Operator() *Client { return s.op }

// Participants returns the simulated participants, once Setup ran.
func (s *Scenario) Participants() []*Participant {
	out := make([]*Participant, len(s.members))
	for i, m := range s.members {
		out[i] = m.Participant
	}
	return out
}

// Stats returns the traffic's statistics.
func (s *Scenario) Stats() *Stats { return s.stats }

func (s *Scenario) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		fmt.Fprintf(s.cfg.Log, format+"\n", args...)
	}
}

func (s *Scenario) major(n int64) money.Amount { return money.Amount(n) * s.unit }

// The fee schedule of the scenario: 0.10 fixed + 0.10 %, at least 0.10,
// at most 5.00 (in major units of any two-decimal currency).
var scenarioFees = wire.Fees{Fixed: "0.10", Rate: "0.10", Min: "0.10", Max: "5.00"}

// Setup sets the fee schedule, starts and creates the participants,
// opens and registers their users, prefunds them, withdraws from one and
// caps one.
func (s *Scenario) Setup(ctx context.Context) error {
	if len(s.members) > 0 {
		return errors.New("sim: Setup ran already")
	}
	c := s.currency
	fees := scenarioFees
	fees.Currency = c.String()
	if c.Exponent() != 2 {
		fees = wire.Fees{Currency: c.String(), Fixed: "0", Rate: "0.10", Min: "0", Max: "0"}
	}
	set, err := s.op.SetFees(ctx, fees)
	if err != nil {
		return fmt.Errorf("fee schedule: %w", err)
	}
	feeMax, err := money.Parse(set.Max, c)
	if err != nil {
		return fmt.Errorf("fee schedule: max %q: %w", set.Max, err)
	}
	s.logf("fee schedule %s: %s fixed + %s %%, min %s, max %s", c, set.Fixed, set.Rate, set.Min, set.Max)

	rng := rand.New(rand.NewPCG(s.cfg.Seed, 0x5e7))
	g := 0 // global user number: makes aliases unique across participants
	for _, pl := range plans {
		p, err := NewParticipant(Config{ID: pl.id, Name: pl.name, Kind: pl.kind, Currency: c, Acceptance: pl.acceptance,
			ChargeFees: pl.chargeFees, FeeHold: feeMax, RejectRate: s.rejectRate(pl), LoseAnswers: pl.loseAnswers})
		if err != nil {
			return err
		}
		m := &member{Participant: p, plan: pl}
		s.members = append(s.members, m)
		created, err := s.op.CreateParticipant(ctx, wire.NewParticipant{ID: pl.id, Name: pl.name, Kind: pl.kind,
			Currencies: []string{c.String()}, CallbackURL: p.CallbackURL(), Acceptance: pl.acceptance})
		if err != nil {
			return fmt.Errorf("create participant %s: %w", pl.id, err)
		}
		p.Connect(NewClient(s.apiURL, created.APIKey, s.cfg.HTTP), created.CallbackSecret)

		n := max(s.cfg.Users*pl.share/1000, 20)
		opening, err := s.openUsers(ctx, m, n, &g, rng)
		if err != nil {
			return err
		}
		deposit := s.major(pl.deposit)
		if pl.reserve {
			deposit = opening
		}
		if err := s.moveFunds(ctx, m, c, "deposit", deposit); err != nil {
			return err
		}
		if pl.withdraw > 0 {
			if err := s.moveFunds(ctx, m, c, "withdrawal", s.major(pl.withdraw)); err != nil {
				return err
			}
		}
		if pl.cap > 0 {
			if _, err := s.op.SetNetDebitCap(ctx, pl.id, c.String(), s.major(pl.cap).Format(c)); err != nil {
				return fmt.Errorf("net debit cap of %s: %w", pl.id, err)
			}
		}
		for _, a := range m.aliases {
			t := target{m, a}
			if pl.kind == "bank" {
				s.banks = append(s.banks, t)
			} else {
				s.wallets = append(s.wallets, t)
			}
			s.all = append(s.all, t)
		}
		for _, a := range m.closed {
			s.closed = append(s.closed, target{m, a})
		}
		if err := s.printCodes(ctx, m); err != nil {
			return err
		}
		s.shops = append(s.shops, m.shops...)
		s.logf("%-13s %-6s %-7s %5d users, %5d aliases, %d merchants; deposit %s, withdrawal %s, net debit cap %s; callbacks at %s",
			pl.id, pl.kind, pl.acceptance, len(m.users)+len(m.closed), len(m.aliases), len(m.shops), Grouped(deposit, c),
			Grouped(s.major(pl.withdraw), c), Grouped(s.major(pl.cap), c), p.CallbackURL())
	}
	if !s.cfg.NoCrossBorder {
		return s.setupCrossBorder(ctx, &g, rng)
	}
	return nil
}

// Chinese names for the simulated users: a family name and a given name.
var (
	familyNames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高", "罗", "欧阳", "司马"}
	givenNames  = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华"}
	pinyinNames = []string{"Wang Wei", "Li Na", "Zhang Min", "Liu Yang", "Chen Jie", "Yang Lei", "Huang Li", "Zhao Qiang", "Wu Fang", "Zhou Tao"}
)

// openUsers opens n users of m in its books and registers their aliases
// with the switch in batches: every user a mobile number, a third an
// e-mail address, a quarter a random key made by the switch. It returns
// the sum of their opening balances.
func (s *Scenario) openUsers(ctx context.Context, m *member, n int, g *int, rng *rand.Rand) (money.Amount, error) {
	c := s.currency
	books := m.Books()
	var total money.Amount
	var parties []wire.NewParty
	closed := map[string]bool{}
	nClosed := 0
	if m.plan.closedPct > 0 {
		nClosed = max(n*m.plan.closedPct/100, 1)
	}
	for i := range n {
		*g++
		id := fmt.Sprintf("u-%06d", i+1)
		name := familyNames[rng.IntN(len(familyNames))] + givenNames[rng.IntN(len(givenNames))]
		if m.plan.kind == "bank" && rng.IntN(10) < 3 {
			name = pinyinNames[rng.IntN(len(pinyinNames))]
		}
		lo, hi := s.major(m.plan.opening[0]), s.major(m.plan.opening[1])
		opening := lo + money.Amount(rng.Int64N(int64(hi-lo)))
		if err := books.Open(id, name, opening); err != nil {
			return 0, err
		}
		total += opening
		if i < nClosed {
			closed[id] = true
			if err := books.Close(id); err != nil {
				return 0, err
			}
		} else {
			m.users = append(m.users, id)
		}
		// 7,919 is prime to 10⁸: distinct users get distinct numbers,
		// spread over the range. 138 is a China Mobile prefix.
		phone := fmt.Sprintf("+86138%08d", (*g*7919)%100_000_000)
		parties = append(parties, wire.NewParty{Type: "MSISDN", Value: phone, Name: name, Account: id, Currency: c.String()})
		if rng.IntN(3) == 0 {
			parties = append(parties, wire.NewParty{Type: "EMAIL", Value: fmt.Sprintf("user%d@mail.%s.example", *g, m.plan.id),
				Name: name, Account: id, Currency: c.String()})
		}
		if rng.IntN(4) == 0 {
			parties = append(parties, wire.NewParty{Type: "RANDOM", Name: name, Account: id, Currency: c.String()})
		}
	}
	if m.plan.merchants {
		for i, sh := range shops {
			// A merchant is one of the participant's users: its
			// takings are credited to its account like any payment.
			id := fmt.Sprintf("m-%02d", i+1)
			if err := books.Open(id, sh.name, 0); err != nil {
				return 0, err
			}
			parties = append(parties, wire.NewParty{Type: "MERCHANT", Value: fmt.Sprintf("%s.m-%02d", m.plan.id, i+1), Name: sh.name,
				Account: id, Currency: c.String(), MCC: sh.mcc, City: sh.city, Country: "CN"})
		}
	}
	if m.plan.payouts {
		if err := books.Open(payoutAccount, m.plan.name+" payouts", s.major(50_000_000)); err != nil {
			return 0, err
		}
		total += s.major(50_000_000)
	}
	for start := 0; start < len(parties); start += PartyBatchMax {
		batch := parties[start:min(start+PartyBatchMax, len(parties))]
		results, err := m.RegisterParties(ctx, batch)
		if err != nil {
			return 0, fmt.Errorf("register aliases of %s: %w", m.ID(), err)
		}
		for i, r := range results {
			if r.Party == nil || r.Status/100 != 2 {
				detail := "no party in the answer"
				if r.Error != nil {
					detail = r.Error.Type + ": " + r.Error.Detail
				}
				return 0, fmt.Errorf("register alias %s %q of %s: %d %s", batch[i].Type, batch[i].Value, m.ID(), r.Status, detail)
			}
			ref := wire.PayeeRef{Type: r.Party.Type, Value: r.Party.Value}
			if ref.Type == "MERCHANT" {
				m.shops = append(m.shops, merchant{m: m, alias: ref.Value, account: batch[i].Account})
				continue
			}
			if closed[batch[i].Account] {
				m.closed = append(m.closed, ref)
			} else {
				m.aliases = append(m.aliases, ref)
			}
		}
	}
	return total, nil
}

// moveFunds makes the operator record a deposit or withdrawal in c for
// m, with an id so that a retry cannot move the money twice, and books it.
func (s *Scenario) moveFunds(ctx context.Context, m *member, c money.Currency, dir string, amt money.Amount) error {
	id := m.ID() + "-setup-" + dir
	if c != m.Books().Currency() {
		id += "-" + c.String()
	}
	return s.moveFundsID(ctx, m, c, id, dir, amt)
}

// moveFundsID is moveFunds with the movement's id.
func (s *Scenario) moveFundsID(ctx context.Context, m *member, c money.Currency, id, dir string, amt money.Amount) error {
	if amt <= 0 {
		return nil
	}
	f, err := s.op.MoveFunds(ctx, m.ID(), wire.Funds{ID: id, Currency: c.String(), Amount: amt.Format(c), Direction: dir})
	if err != nil {
		return fmt.Errorf("%s for %s: %w", dir, m.ID(), err)
	}
	got, err := money.Parse(f.Amount, c)
	if err != nil || got != amt {
		return fmt.Errorf("%s for %s: the switch recorded %q, not %s", dir, m.ID(), f.Amount, amt.Format(c))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir == "deposit" {
		s.fundsIn(c).deposits += amt
		m.BooksIn(c).Deposit(amt)
	} else {
		s.fundsIn(c).withdrawals += amt
		m.BooksIn(c).Withdraw(amt)
	}
	return nil
}

// Settlement is one settlement cycle the scenario ran: the window it
// closed, its report, and what could not be settled.
type Settlement struct {
	Report      wire.SettlementReport
	Outstanding []string // participants whose instruction failed (e.g. funds spent since)
	// Others are the same cycle's windows of the scenario's other
	// currencies (HKD, with cross-border payments): each currency settles
	// on its own.
	Others []Settlement
}

// Settle runs a deferred-net-settlement cycle as the operator would:
// close the open window of the scenario's currency (traffic goes on into
// the next one), read its report, and confirm every instruction as if the
// settlement bank had carried it out, booking each in the participant's
// books; then the same for each other currency of the scenario (HKD: the
// FX provider pays in what it paid out, the wallet abroad is paid what
// its users received). A "receive" instruction of a participant that has
// spent the money since is refused by the switch and stays outstanding.
func (s *Scenario) Settle(ctx context.Context) (Settlement, error) {
	out, err := s.settle(ctx, s.currency)
	if err != nil {
		return out, err
	}
	for _, c := range s.currencies()[1:] {
		o, err := s.settle(ctx, c)
		if err != nil {
			return out, err
		}
		out.Others = append(out.Others, o)
	}
	return out, nil
}

// currencies returns the scenario's currencies: its own first.
func (s *Scenario) currencies() []money.Currency {
	if s.cfg.NoCrossBorder {
		return []money.Currency{s.currency}
	}
	return []money.Currency{s.currency, xbTarget}
}

// settle runs a settlement cycle of currency c (see Settle).
func (s *Scenario) settle(ctx context.Context, c money.Currency) (Settlement, error) {
	var out Settlement
	ws, err := s.op.Windows(ctx, c.String(), "OPEN")
	if err != nil || len(ws) != 1 {
		return out, fmt.Errorf("open settlement window of %s: %d, %v", c, len(ws), err)
	}
	w, err := s.op.CloseWindow(ctx, ws[0].ID)
	if err != nil {
		return out, fmt.Errorf("close %s: %w", ws[0].ID, err)
	}
	rep, err := s.op.SettlementReport(ctx, w.ID)
	if err != nil {
		return out, fmt.Errorf("report of %s: %w", w.ID, err)
	}
	for _, in := range rep.Instructions {
		amt, err := money.Parse(in.Amount, c)
		if err != nil {
			return out, fmt.Errorf("report of %s: %w", w.ID, err)
		}
		if _, err := s.op.ConfirmSettlement(ctx, w.ID, in.Participant); err != nil {
			if IsProblem(err, ProblemInsufficientFunds) {
				out.Outstanding = append(out.Outstanding, in.Participant)
				continue
			}
			return out, fmt.Errorf("confirm %s in %s: %w", in.Participant, w.ID, err)
		}
		s.mu.Lock()
		f := s.fundsIn(c)
		switch {
		case in.Participant == "hub":
			f.hubPaidOut += amt
		case in.Direction == "pay":
			f.settledIn += amt
		default:
			f.settledOut += amt
		}
		s.mu.Unlock()
		if m := s.member(in.Participant); m != nil {
			if b := m.BooksIn(c); b != nil {
				b.Settle(in.Direction, amt)
			}
		}
	}
	if out.Report, err = s.op.SettlementReport(ctx, w.ID); err != nil {
		return out, fmt.Errorf("report of %s: %w", w.ID, err)
	}
	return out, nil
}

// requestTimeout bounds one payment, lookups and quote included.
const requestTimeout = 30 * time.Second

// Run drives traffic until Duration passed, the context ended or
// MaxPayments were made; it returns once every payment in flight has
// its answer and every dispute opened is decided. Payments in flight when the context ends are finished, not
// abandoned: abandoning one would leave its payer unsure of its outcome.
func (s *Scenario) Run(ctx context.Context) error {
	if len(s.members) == 0 {
		return errors.New("sim: Run before Setup")
	}
	if s.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Duration)
		defer cancel()
	}
	stopProvider := s.runProvider(ctx)
	defer stopProvider()
	s.probe(ctx)
	s.showcase(ctx)
	s.showcaseMandates(ctx)
	var wg sync.WaitGroup
	for i := range s.cfg.Concurrency {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(s.cfg.Seed, uint64(i)+1))
			for ctx.Err() == nil && s.attempts.Add(1) <= s.cfg.MaxPayments {
				s.step(ctx, rng)
			}
		})
	}
	wg.Wait()
	s.finishMandates(ctx)
	return nil
}

func (s *Scenario) member(id string) *member {
	for _, m := range s.members {
		if m.ID() == id {
			return m
		}
	}
	return nil
}

// probe makes one of each refusal the scenario causes on purpose, so
// that even a short run shows them: a payment to an unregistered alias,
// one to a closed account at the confirm-mode wallet, one beyond the
// small wallet's prefunding, and the cross-border ones
// (probeCrossBorder).
func (s *Scenario) probe(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	peony, bamboo, lotus := s.member("peony-pay"), s.member("bamboo-wallet"), s.member("lotus-pay")
	if peony == nil || bamboo == nil || lotus == nil || len(bamboo.closed) == 0 {
		return
	}
	s.record(peony.Pay(rctx, Payment{From: peony.users[0], Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613900000001"},
		Amount: s.major(10), Note: "probe: unknown alias"}), false)
	s.record(peony.Pay(rctx, Payment{From: peony.users[0], Payee: bamboo.closed[0], Amount: s.major(10), Note: "probe: closed account"}), false)
	s.record(lotus.Pay(rctx, Payment{From: lotus.users[0], Payee: peony.aliases[0], Amount: s.major(lotus.plan.deposit) + 1,
		Note: "probe: beyond the prefunding"}), false)
	s.probeCrossBorder(rctx)
}

// record counts a payment's result, and keeps a committed one to a
// simulated participant as a candidate for a refund (refundSome). A
// cross-border payment is none: an FX payment is paid back by a new FX
// payment, not refunded.
func (s *Scenario) record(r Result, batched bool) {
	s.stats.Add(r, batched)
	if r.Status == StatusCommitted && !batched && r.FX == nil {
		if payee := s.member(r.Transfer.Payee.Participant); payee != nil && refundable(r.Transfer.Payee.Type) {
			s.recent.add(paid{id: r.ID, payer: s.member(r.Transfer.Payer), payee: payee, amount: r.Amount})
		}
	}
}

// The traffic mix, per mille of steps.
var mix = []struct {
	weight int
	step   func(*Scenario, context.Context, *rand.Rand)
}{
	{425, (*Scenario).walletToWallet},
	{150, (*Scenario).walletToBank},
	{120, (*Scenario).bankToWallet},
	{100, (*Scenario).lookupOnly},
	{60, (*Scenario).lotusPays},
	{20, (*Scenario).toClosed},
	{25, (*Scenario).toUnknown},
	{5, (*Scenario).payouts},
	// Issue 16's payment experiences, 5 % of steps.
	{20, (*Scenario).payAtMerchant},
	{10, (*Scenario).sendBill},
	{12, (*Scenario).answerBill},
	{8, (*Scenario).refundSome},
	// Mandates and disputes, 1.5 % of steps, a few per run (see
	// mandatesMax and the others).
	{4, (*Scenario).proposeMandate},
	{4, (*Scenario).answerMandate},
	{4, (*Scenario).pullMandate},
	{3, (*Scenario).disputeSome},
	// Cross-border payments, 3 % of steps.
	{30, (*Scenario).crossBorderPay},
}

// step runs one random action of the mix.
func (s *Scenario) step(ctx context.Context, rng *rand.Rand) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	n := rng.IntN(1000)
	for _, a := range mix {
		if n < a.weight {
			a.step(s, rctx, rng)
			return
		}
		n -= a.weight
	}
}

// amount returns a payment amount: mostly small, some large, as
// person-to-person payments are.
func (s *Scenario) amount(rng *rand.Rand) money.Amount {
	switch r := rng.IntN(100); {
	case r < 60:
		return s.between(rng, 1, 100)
	case r < 90:
		return s.between(rng, 100, 1_000)
	default:
		return s.between(rng, 1_000, 5_000)
	}
}

// between returns a random amount in [lo, hi) major units, in minor units.
func (s *Scenario) between(rng *rand.Rand, lo, hi int64) money.Amount {
	return s.major(lo) + money.Amount(rng.Int64N(int64(s.major(hi-lo))))
}

// spender picks a random ordinary paying participant, weighted by users.
func (s *Scenario) spender(rng *rand.Rand, kind string) *member {
	var total int
	for _, m := range s.members {
		if m.plan.spender && m.plan.kind == kind {
			total += len(m.users)
		}
	}
	if total == 0 {
		return nil
	}
	n := rng.IntN(total)
	for _, m := range s.members {
		if m.plan.spender && m.plan.kind == kind {
			if n < len(m.users) {
				return m
			}
			n -= len(m.users)
		}
	}
	return nil
}

// payee picks a random alias of ts held by a participant other than
// payer (a payment within one participant is its own business).
func payee(rng *rand.Rand, ts []target, payer *member) (wire.PayeeRef, bool) {
	for range 8 {
		if len(ts) == 0 {
			break
		}
		t := ts[rng.IntN(len(ts))]
		if t.m != payer {
			return t.ref, true
		}
	}
	return wire.PayeeRef{}, false
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// unknownAlias returns an alias nobody registered: the scenario's users
// have 138 numbers, and e-mails at mail.<participant>.example.
func unknownAlias(rng *rand.Rand) wire.PayeeRef {
	if rng.IntN(2) == 0 {
		return wire.PayeeRef{Type: "MSISDN", Value: fmt.Sprintf("+86139%08d", rng.IntN(100_000_000))}
	}
	return wire.PayeeRef{Type: "EMAIL", Value: fmt.Sprintf("nobody%d@unknown.example", rng.IntN(1_000_000))}
}

// walletToWallet: a wallet user pays a user of another wallet by alias;
// a quarter confirm the payee's masked name first, some take a quote.
func (s *Scenario) walletToWallet(ctx context.Context, rng *rand.Rand) {
	m := s.spender(rng, "wallet")
	if m == nil {
		return
	}
	ref, ok := payee(rng, s.wallets, m)
	if !ok {
		return
	}
	s.record(m.Pay(ctx, Payment{From: pick(rng, m.users), Payee: ref, Amount: s.amount(rng),
		Lookup: rng.IntN(4) == 0, Quote: rng.IntN(5) == 0}), false)
}

// walletToBank: a wallet user sends money to a bank account (by its
// owner's alias), as when cashing out.
func (s *Scenario) walletToBank(ctx context.Context, rng *rand.Rand) {
	m := s.spender(rng, "wallet")
	if m == nil {
		return
	}
	ref, ok := payee(rng, s.banks, m)
	if !ok {
		return
	}
	s.record(m.Pay(ctx, Payment{From: pick(rng, m.users), Payee: ref, Amount: s.amount(rng), Lookup: rng.IntN(10) == 0}), false)
}

// bankToWallet: a bank customer tops up a wallet user; the bank quotes
// every payment, since it charges the fee to its customer.
func (s *Scenario) bankToWallet(ctx context.Context, rng *rand.Rand) {
	m := s.spender(rng, "bank")
	if m == nil {
		return
	}
	ref, ok := payee(rng, s.wallets, m)
	if !ok {
		return
	}
	s.record(m.Pay(ctx, Payment{From: pick(rng, m.users), Payee: ref, Amount: s.amount(rng), Lookup: rng.IntN(5) == 0}), false)
}

// lookupOnly: a user types an alias and looks at the name, then does not
// pay; one in ten aliases typed is nobody's.
func (s *Scenario) lookupOnly(ctx context.Context, rng *rand.Rand) {
	m := s.spender(rng, "wallet")
	if m == nil {
		return
	}
	ref := unknownAlias(rng)
	if rng.IntN(10) != 0 {
		var ok bool
		if ref, ok = payee(rng, s.all, m); !ok {
			return
		}
	}
	_, err := m.API().Lookup(ctx, ref.Type, ref.Value)
	switch {
	case err == nil:
		s.stats.Lookup(false)
	case IsProblem(err, ProblemUnknownParty):
		s.stats.Lookup(true)
	default:
		s.stats.Lookup(false)
		s.stats.Error(err)
	}
}

// lotusPays: a user of the small wallet pays a large amount. Its users
// have the money, but the wallet prefunded too little at the hub, so
// the switch refuses most of these with insufficient-funds.
func (s *Scenario) lotusPays(ctx context.Context, rng *rand.Rand) {
	m := s.member("lotus-pay")
	if m == nil || len(m.users) == 0 {
		return
	}
	ref, ok := payee(rng, s.all, m)
	if !ok {
		return
	}
	s.record(m.Pay(ctx, Payment{From: pick(rng, m.users), Payee: ref, Amount: s.between(rng, 200, 3_000)}), false)
}

// toClosed: a payment to a user who closed their account at the
// confirm-mode wallet, which rejects it: the switch aborts it.
func (s *Scenario) toClosed(ctx context.Context, rng *rand.Rand) {
	m := s.spender(rng, "wallet")
	if m == nil {
		return
	}
	ref, ok := payee(rng, s.closed, m)
	if !ok {
		return
	}
	s.record(m.Pay(ctx, Payment{From: pick(rng, m.users), Payee: ref, Amount: s.amount(rng)}), false)
}

// toUnknown: a payment to an alias nobody registered (a mistyped
// number): the switch refuses it with unknown-party.
func (s *Scenario) toUnknown(ctx context.Context, rng *rand.Rand) {
	m := s.spender(rng, "wallet")
	if m == nil {
		return
	}
	s.record(m.Pay(ctx, Payment{From: pick(rng, m.users), Payee: unknownAlias(rng), Amount: s.amount(rng)}), false)
}

// payouts: the bank pays out a platform's batch to 10 to 40 wallet users
// in one request, from its corporate account.
func (s *Scenario) payouts(ctx context.Context, rng *rand.Rand) {
	var m *member
	for _, x := range s.members {
		if x.plan.payouts {
			m = x
		}
	}
	if m == nil || len(s.wallets) == 0 {
		return
	}
	n := 10 + rng.IntN(31)
	s.attempts.Add(int64(n - 1))
	pms := make([]Payment, n)
	for i := range pms {
		pms[i] = Payment{From: payoutAccount, Payee: pick(rng, s.wallets).ref, Amount: s.between(rng, 50, 1_000), Note: "payout"}
	}
	start := time.Now()
	rs := m.PayMany(ctx, pms)
	s.stats.AddBatch(time.Since(start))
	for _, r := range rs {
		s.record(r, true)
	}
}

// Close stops the participants' callback servers and closes the idle
// connections to the switch, so that the switch, if it shuts down next,
// does not wait for them.
func (s *Scenario) Close(ctx context.Context) error {
	var errs []error
	for _, m := range s.members {
		errs = append(errs, m.Close(ctx))
	}
	s.cfg.HTTP.CloseIdleConnections()
	return errors.Join(errs...)
}

// Position is a participant's position at the switch, as the API shows it.
type Position struct {
	Participant string
	Kind        string
	Acceptance  string
	Currency    money.Currency
	Balance     money.Amount
	Available   money.Amount
	NetDebitCap money.Amount
}

// Positions asks the switch for every simulated participant's position.
func (s *Scenario) Positions(ctx context.Context) ([]Position, error) {
	var out []Position
	for _, m := range s.members {
		accts, err := s.op.Accounts(ctx, m.ID())
		if err != nil {
			return nil, err
		}
		for _, a := range accts {
			pos, err := parseAccount(a)
			if err != nil {
				return nil, fmt.Errorf("accounts of %s: %w", m.ID(), err)
			}
			pos.Participant, pos.Kind, pos.Acceptance = m.ID(), m.plan.kind, m.plan.acceptance
			out = append(out, pos)
		}
	}
	return out, nil
}

// parseAccount reads an account's amounts.
func parseAccount(a wire.Account) (Position, error) {
	c, err := money.ParseCurrency(a.Currency)
	if err != nil {
		return Position{}, err
	}
	p := Position{Currency: c}
	for _, f := range []struct {
		s   string
		dst *money.Amount
	}{{a.Balance, &p.Balance}, {a.Available, &p.Available}, {a.NetDebitCap, &p.NetDebitCap}} {
		if *f.dst, err = money.Parse(f.s, c); err != nil {
			return Position{}, err
		}
	}
	return p, nil
}

// rejectRate is the share of incoming transfers pl's screen rejects.
func (s *Scenario) rejectRate(pl plan) float64 {
	if s.cfg.NoScreen {
		return 0
	}
	return pl.rejectRate
}
