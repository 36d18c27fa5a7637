// Package fraud generates simulated, labelled payments — a population of
// payer accounts with habits, and fraud among them — to train and measure
// the risk engine's anomaly model (package risk/model) and, later, to
// drive the simulated wallets. It is pure: no I/O, no clock; the same
// Config gives the same payments.
//
// # Normal traffic
//
// Each payer account has habits drawn once: a typical amount (log-normal
// across accounts around 80 CNY, one in twenty ten times bigger; each
// payment log-normal around the account's own median with its own
// spread), two to six regular payees (family and friends from the alias
// pool, shops from its first twentieth with a Zipf-like popularity),
// a daily rhythm (one of six shapes — office, evening, morning, all day,
// late, and night owl for one account in twenty — shifted by up to an
// hour), a rate of 0.5 to 8 payments a day, and usual authentication
// factors (mostly pin and device, sometimes biometric and device, a few
// pin only). Payment times follow the rhythm as a Poisson process.
//
// To keep the evaluation honest the normal traffic also holds what looks
// like fraud: about one payment in twenty to a new payee (one in six of
// those to an alias never paid before: a new user), a big payment now
// and then (0.4 %, 5 to 40 times the usual, to a new payee four times in
// ten), shopping bursts (3 % of payments are followed by one to three
// more within minutes), collections (a friend gathering money: 5 to 12
// accounts pay one alias within two hours, about 0.4 % of payments), payments at night by anyone
// (the rhythms are never zero) and by night owls, and other or fewer
// authentication factors (one payment in ten).
//
// # Fraud
//
// FraudRate of the payments are fraud, in three scenarios: about two
// fifths of the fraud payments each for the first two, a fifth for the
// third:
//
//   - account-takeover: a normal account suddenly sends 3 to 10 payments
//     20 s to 3 min apart, mostly to new payees (some repeat one), 2 to 20
//     times its usual amount; six times in ten at night; with weaker or
//     different factors seven times in ten (the thief has the device
//     three times in ten);
//   - mule-fan-in: 10 to 30 accounts pay one brand-new alias within one
//     to two hours, each for the first time; most are otherwise normal
//     victims paying about three times their usual with their usual
//     factors, some are fresh accounts without history;
//   - night-first-large: one payment between 00:00 and 05:59 to a new
//     payee, 10 to 60 times the account's usual.
//
// # What is not realistic
//
// Accounts never change their habits, have no balance (a thief is never
// stopped by funds), and never see a declined or held payment; fraud
// never adapts to the model; every payee is one of a fixed pool or a new
// alias; victims of mule fraud are chosen uniformly; scenario parameters
// are guesses, not measurements. A model tuned on this generator learns
// what these scenarios look like, which is a check of its features, not
// a measurement of its quality on real fraud.
package fraud

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Scenario labels of Payment.Scenario.
const (
	ScenarioNone       = ""
	ScenarioTakeover   = "account-takeover"
	ScenarioMuleFanIn  = "mule-fan-in"
	ScenarioNightLarge = "night-first-large"
)

// Scenarios lists the fraud scenarios.
var Scenarios = []string{ScenarioTakeover, ScenarioMuleFanIn, ScenarioNightLarge}

// Config configures a Generator; zero fields take their defaults.
type Config struct {
	Seed         uint64
	Payers       int            // payer accounts; default 20,000
	Participants []string       // payer participant ids; default sim-a … sim-d
	Aliases      int            // the pool of payee aliases; default 20,000
	Currency     string         // default CNY
	Start        time.Time      // the first payment's earliest time; default 2026-01-05 00:00 in Location
	FraudRate    float64        // share of payments that are fraud; default 0.01; negative means none
	Location     *time.Location // the scheme's time zone, for daily rhythms; default UTC+8 (Asia/Shanghai, without reading tzdata)
}

// Payment is one simulated payment, labelled.
type Payment struct {
	At           time.Time
	Payer        string // payer participant id
	PayerAccount string
	Alias        string // payee alias "TYPE:value"
	Currency     string
	Amount       int64    // minor units
	Factors      []string // shared between payments: do not modify
	Fraud        bool
	Scenario     string // "" for normal payments, else one of Scenarios
}

// Factor sets; shared by the payments that carry them.
var (
	factorsPinDevice = []string{"pin", "device"}
	factorsBioDevice = []string{"biometric", "device"}
	factorsPin       = []string{"pin"}
	factorsPassword  = []string{"password"}
	factorsOTP       = []string{"otp"}
	factorsPinOTP    = []string{"pin", "otp"}
	factorsBio       = []string{"biometric"}
	// otherFactors are what a normal payment presents when not its usual.
	otherFactors = [][]string{factorsPinDevice, factorsBioDevice, factorsPinOTP, factorsPin, factorsBio}
)

// rhythms are the daily shapes of activity: relative weights by hour.
var rhythms = [...][24]float64{
	// office: lunch and after work
	{.2, .1, .05, .05, .05, .1, .3, 1, 2, 2, 2.5, 3, 4, 3, 2.5, 2.5, 3, 3.5, 4, 4, 3, 2, 1, .5},
	// evening
	{.3, .1, .05, .05, .05, .05, .2, .5, 1, 1, 1, 1.5, 2, 1.5, 1, 1, 1.5, 2, 4, 5, 5, 4, 2.5, 1},
	// morning
	{.1, .05, .05, .05, .1, .5, 2, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1.5, 1, .5, .3, .2},
	// all day
	{.2, .1, .05, .05, .05, .1, .5, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, .5},
	// late
	{1, .5, .2, .1, .05, .05, .1, .2, .5, 1, 1.5, 2, 2, 2, 2, 2, 2, 2, 2.5, 3, 3.5, 3.5, 3, 2},
	// night owl
	{3, 3, 2.5, 2, 1, .5, .2, .1, .1, .2, .5, 1, 1, 1, 1, 1, 1, 1, 1.5, 2, 2.5, 3, 3, 3},
}

const nightOwl = uint8(len(rhythms) - 1)

// account is a payer account's habits.
type account struct {
	payer, ref string
	median     float64 // typical amount, minor units
	sigma      float64 // spread of ln(amount)
	perDay     float64
	pNew       float64 // chance of a payment to a new payee
	rhythm     uint8
	shift      int8
	factors    []string
	payees     []int32 // indexes into the alias pool
}

// Event kinds.
const (
	evRegular = iota // an account's next payment by its rhythm
	evReady          // a payment made in advance (bursts, collections, fraud)
)

type event struct {
	at   int64 // Unix nanoseconds
	seq  uint64
	kind uint8
	acct int32
	pay  Payment
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	return e[i].at < e[j].at || e[i].at == e[j].at && e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// Generator produces payments in time order. It is not safe for
// concurrent use.
type Generator struct {
	cfg      Config
	rng      *rand.Rand
	accounts []account
	pool     []string // alias pool; the first shops of them are shops
	shops    int
	fresh    int // aliases made after the pool
	freshAcc int // accounts made for mule fraud
	queue    events
	seq      uint64
	// pFraud is the chance that a regular payment starts a fraud episode.
	pFraud float64
}

// Mean payments of an episode, and the share of episodes by scenario:
// chosen so that each scenario has about its share of the fraud payments
// (takeover 0.4, mule 0.4, night 0.2).
const (
	meanTakeover = 6.5
	meanMule     = 20
	shareTO      = 0.4 / meanTakeover
	shareMule    = 0.4 / meanMule
	shareNight   = 0.2
	// normalPerRegular is how many normal payments a regular event makes
	// on average, bursts and collections included.
	normalPerRegular = 1.064
)

// New returns a generator configured by c.
func New(c Config) *Generator {
	if c.Payers <= 0 {
		c.Payers = 20_000
	}
	if len(c.Participants) == 0 {
		c.Participants = []string{"sim-a", "sim-b", "sim-c", "sim-d"}
	}
	if c.Aliases <= 0 {
		c.Aliases = 20_000
	}
	if c.Currency == "" {
		c.Currency = "CNY"
	}
	if c.Location == nil {
		c.Location = time.FixedZone("CST", 8*3600)
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 5, 0, 0, 0, 0, c.Location)
	}
	if c.FraudRate == 0 {
		c.FraudRate = 0.01
	}
	g := &Generator{cfg: c, rng: rand.New(rand.NewPCG(c.Seed, c.Seed^0x5851f42d4c957f2d))}
	g.shops = max(c.Aliases/20, 1)
	g.pool = make([]string, c.Aliases)
	for i := range g.pool {
		g.pool[i] = aliasName(i)
	}
	if f := c.FraudRate; f > 0 && f < 1 {
		perEpisode := 1 / (shareTO + shareMule + shareNight)
		g.pFraud = f / (1 - f) * normalPerRegular / perEpisode
	}
	g.accounts = make([]account, c.Payers)
	for i := range g.accounts {
		g.accounts[i] = g.newAccount(i)
		start := c.Start.UnixNano() + int64(g.rng.Float64()*float64(24*time.Hour))
		g.push(event{at: g.advance(start, i), kind: evRegular, acct: int32(i)})
	}
	return g
}

// aliasName is the i-th alias: phone numbers mostly, e-mails for one in
// ten; the multiplier scatters them over the numbering range.
func aliasName(i int) string {
	if i%10 == 3 {
		return fmt.Sprintf("EMAIL:user%d@example.cn", i)
	}
	return fmt.Sprintf("MSISDN:+8613%09d", (int64(i)*7919+12345)%1_000_000_000)
}

func (g *Generator) newAccount(i int) account {
	r := g.rng
	a := account{
		payer:  g.cfg.Participants[i%len(g.cfg.Participants)],
		ref:    fmt.Sprintf("u%06d", i),
		median: 8000 * math.Exp(r.NormFloat64()),
		sigma:  0.3 + 0.6*r.Float64(),
		perDay: 0.5 * math.Pow(16, r.Float64()),
		pNew:   0.02 + 0.08*r.Float64(),
		shift:  int8(r.IntN(3) - 1),
	}
	if r.Float64() < 0.05 {
		a.median *= 10
	}
	a.median = max(a.median, 100)
	if r.Float64() < 0.05 {
		a.rhythm = nightOwl
	} else {
		a.rhythm = uint8(r.IntN(int(nightOwl)))
	}
	switch x := r.Float64(); {
	case x < 0.8:
		a.factors = factorsPinDevice
	case x < 0.95:
		a.factors = factorsBioDevice
	default:
		a.factors = factorsPin
	}
	n := 2 + r.IntN(5)
	for range n {
		a.payees = append(a.payees, g.payeeFromPool())
	}
	return a
}

// payeeFromPool picks an alias of the pool: a shop half the time, by
// popularity, else anyone.
func (g *Generator) payeeFromPool() int32 {
	if g.rng.Float64() < 0.5 {
		// Zipf-like: popularity 1/(rank+1), sampled by inverting its
		// continuous approximation.
		return int32(math.Exp(g.rng.Float64()*math.Log(float64(g.shops+1)))) - 1
	}
	return int32(g.rng.IntN(len(g.pool)))
}

func (g *Generator) freshAlias() string {
	g.fresh++
	return aliasName(len(g.pool) + g.fresh)
}

func (g *Generator) push(e event) {
	g.seq++
	e.seq = g.seq
	heap.Push(&g.queue, e)
}

// weight returns account i's activity at local hour h.
func (g *Generator) weight(i, h int) float64 {
	a := &g.accounts[i]
	return rhythms[a.rhythm][(h-int(a.shift)+24)%24]
}

// advance returns the time of account i's next payment after at (Unix
// nanoseconds): an exponential wait in units of its activity, spent hour
// by hour at its rhythm's pace. Hours are counted from at's local hour,
// so a change of the zone's offset on the way shifts the rhythm by an
// hour until the next payment.
func (g *Generator) advance(at int64, i int) int64 {
	a := &g.accounts[i]
	// u is the activity to spend, in the rhythm's weight-hours.
	u := g.rng.ExpFloat64() / a.perDay * rhythmSums[a.rhythm]
	lt := time.Unix(0, at).In(g.cfg.Location)
	h := lt.Hour()
	left := float64(time.Hour - time.Duration(lt.Minute())*time.Minute - time.Duration(lt.Second())*time.Second - time.Duration(lt.Nanosecond()))
	for {
		w := g.weight(i, h)
		room := w * left / float64(time.Hour)
		if u <= room {
			return at + int64(u/w*float64(time.Hour))
		}
		u -= room
		at += int64(left)
		h, left = (h+1)%24, float64(time.Hour)
	}
}

// rhythmSums are the rhythms' daily totals.
var rhythmSums = func() (s [len(rhythms)]float64) {
	for i, r := range rhythms {
		for _, w := range r {
			s[i] += w
		}
	}
	return s
}()

// nextNight returns a random moment in the next 00:00–05:59 local window
// that ends after at.
func (g *Generator) nextNight(at int64) int64 {
	lt := time.Unix(0, at).In(g.cfg.Location)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, g.cfg.Location)
	from := day
	if lt.Hour() >= 6 {
		from = day.AddDate(0, 0, 1)
	} else {
		from = lt
	}
	to := time.Date(from.Year(), from.Month(), from.Day(), 6, 0, 0, 0, g.cfg.Location)
	return from.UnixNano() + int64(g.rng.Float64()*float64(to.Sub(from)))
}

// amount draws a payment of account a scaled by ratio.
func (g *Generator) amount(a *account, ratio float64) int64 {
	v := a.median * math.Exp(a.sigma*g.rng.NormFloat64()) * ratio
	return max(int64(math.Round(v)), 1)
}

// Next returns the next payment in time order.
func (g *Generator) Next() Payment {
	e := heap.Pop(&g.queue).(event)
	if e.kind == evReady {
		return e.pay
	}
	i := int(e.acct)
	g.push(event{at: g.advance(e.at, i), kind: evRegular, acct: e.acct})
	if g.pFraud > 0 && g.rng.Float64() < g.pFraud {
		g.startFraud(e.at)
	}
	return g.regular(e.at, i)
}

// payment returns a normal payment of account i to alias.
func (g *Generator) payment(at int64, i int, alias string, amount int64, factors []string) Payment {
	a := &g.accounts[i]
	return Payment{
		At: time.Unix(0, at).In(g.cfg.Location), Payer: a.payer, PayerAccount: a.ref,
		Alias: alias, Currency: g.cfg.Currency, Amount: amount, Factors: factors,
	}
}

// regular makes account i's payment by its habits, and schedules the
// shopping bursts and collections that some start.
func (g *Generator) regular(at int64, i int) Payment {
	r := g.rng
	a := &g.accounts[i]
	var alias string
	switch x := r.Float64(); {
	case x < a.pNew*0.15:
		alias = g.freshAlias()
	case x < a.pNew:
		p := g.payeeFromPool()
		alias = g.pool[p]
		if r.Float64() < 0.3 {
			a.payees[r.IntN(len(a.payees))] = p
		}
	default:
		// Regular payees by Zipf-like preference: the first most.
		k := int(math.Exp(r.Float64()*math.Log(float64(len(a.payees)+1)))) - 1
		alias = g.pool[a.payees[k]]
	}
	ratio := 1.0
	if r.Float64() < 0.004 {
		ratio = math.Exp(math.Log(5) + r.Float64()*math.Log(8))
		if r.Float64() < 0.4 {
			alias = g.pool[g.payeeFromPool()]
		}
	}
	factors := a.factors
	if r.Float64() < 0.1 {
		factors = otherFactors[r.IntN(len(otherFactors))]
	}
	p := g.payment(at, i, alias, g.amount(a, ratio), factors)
	switch x := r.Float64(); {
	case x < 0.03:
		// Shopping: one to three more payments within minutes, to the
		// favourite payee or a shop.
		t := at
		for range 1 + r.IntN(3) {
			t += int64(time.Minute) + r.Int64N(int64(9*time.Minute))
			shop := a.payees[0]
			if r.Float64() < 0.5 {
				shop = int32(r.IntN(g.shops))
			}
			g.push(event{at: t, kind: evReady, pay: g.payment(t, i, g.pool[shop], g.amount(a, 0.5), a.factors)})
		}
	case x < 0.0305:
		g.collection(at)
	}
	return p
}

// collection schedules 5 to 12 accounts paying one alias of the pool
// within two hours: a legitimate fan-in.
func (g *Generator) collection(at int64) {
	r := g.rng
	alias := g.pool[r.IntN(len(g.pool))]
	for range 5 + r.IntN(8) {
		i := r.IntN(len(g.accounts))
		t := at + r.Int64N(int64(2*time.Hour))
		a := &g.accounts[i]
		g.push(event{at: t, kind: evReady, pay: g.payment(t, i, alias, g.amount(a, 0.5+r.Float64()), a.factors)})
	}
}

// startFraud schedules a fraud episode found at time at.
func (g *Generator) startFraud(at int64) {
	x := g.rng.Float64() * (shareTO + shareMule + shareNight)
	switch {
	case x < shareTO:
		g.takeover(at)
	case x < shareTO+shareMule:
		g.mule(at)
	default:
		g.nightLarge(at)
	}
}

func (g *Generator) fraud(at int64, i int, alias string, amount int64, factors []string, scenario string) {
	p := g.payment(at, i, alias, amount, factors)
	p.Fraud, p.Scenario = true, scenario
	g.push(event{at: at, kind: evReady, pay: p})
}

// weakFactors returns the factors a thief presents: fewer or other than
// the account's, or the account's own when the thief holds the device.
func (g *Generator) weakFactors(a *account, own float64) []string {
	switch x := g.rng.Float64(); {
	case x < own:
		return a.factors
	case x < own+(1-own)*0.6:
		return factorsPin
	case x < own+(1-own)*0.8:
		return factorsPassword
	default:
		return factorsOTP
	}
}

func (g *Generator) takeover(at int64) {
	r := g.rng
	i := r.IntN(len(g.accounts))
	a := &g.accounts[i]
	t := at + r.Int64N(int64(2*time.Hour))
	if r.Float64() < 0.6 {
		t = g.nextNight(at)
	}
	var used []string
	for range 3 + r.IntN(8) {
		var alias string
		switch {
		case len(used) > 0 && r.Float64() < 0.3:
			alias = used[r.IntN(len(used))]
		case r.Float64() < 0.8:
			alias = g.freshAlias()
		default:
			alias = g.pool[r.IntN(len(g.pool))]
		}
		used = append(used, alias)
		ratio := math.Exp(math.Log(6) + 0.6*r.NormFloat64())
		g.fraud(t, i, alias, g.amount(a, ratio), g.weakFactors(a, 0.3), ScenarioTakeover)
		t += int64(20*time.Second) + r.Int64N(int64(160*time.Second))
	}
}

func (g *Generator) mule(at int64) {
	r := g.rng
	alias := g.freshAlias()
	start := at + r.Int64N(int64(10*time.Minute))
	span := int64(time.Hour) + r.Int64N(int64(time.Hour))
	for range 10 + r.IntN(21) {
		t := start + r.Int64N(span)
		if r.Float64() < 0.15 {
			// A fresh account without history: a money mule's own
			// feeder or a newly opened victim account.
			g.freshAcc++
			p := Payment{
				At: time.Unix(0, t).In(g.cfg.Location), Payer: g.cfg.Participants[r.IntN(len(g.cfg.Participants))],
				PayerAccount: fmt.Sprintf("n%07d", g.freshAcc), Alias: alias, Currency: g.cfg.Currency,
				Amount:  int64(math.Round(8000 * math.Exp(math.Log(5)+0.8*r.NormFloat64()))),
				Factors: factorsPinDevice, Fraud: true, Scenario: ScenarioMuleFanIn,
			}
			g.push(event{at: t, kind: evReady, pay: p})
			continue
		}
		i := r.IntN(len(g.accounts))
		a := &g.accounts[i]
		ratio := math.Exp(math.Log(3) + 0.7*r.NormFloat64())
		g.fraud(t, i, alias, g.amount(a, ratio), a.factors, ScenarioMuleFanIn)
	}
}

func (g *Generator) nightLarge(at int64) {
	r := g.rng
	i := r.IntN(len(g.accounts))
	a := &g.accounts[i]
	alias := g.pool[r.IntN(len(g.pool))]
	if r.Float64() < 0.6 {
		alias = g.freshAlias()
	}
	ratio := math.Exp(math.Log(25) + 0.5*r.NormFloat64())
	g.fraud(g.nextNight(at), i, alias, g.amount(a, ratio), g.weakFactors(a, 0.6), ScenarioNightLarge)
}
