// Package model owns the risk engine's anomaly model: an online model that
// learns each payer account's and each payee alias's normal behaviour from
// committed transfers (Observe) and gives every transfer being screened a
// score in [0, 1] with the features that contributed most (Score).
//
// # Features
//
// The score is the logistic function of a weighted sum of eight features,
// each zero for ordinary behaviour and bounded above. The amount enters
// as z, the log-amount's distance in standard deviations from the payer
// account's exponentially weighted mean (an account with few transfers is
// blended with the population of the currency: cold start), and the hour
// as its rarity, −ln(24·p) for the share p of the account's payments
// expected at that hour (a histogram of 24 counters of 4 bits, smoothed
// with its neighbours and with the population's hours).
//
//   - new-payee-large: a first payment to this payee, by how far z is past
//     0.5;
//   - odd-hour-large: as far, scaled by the hour's rarity (at least half
//     at night, 00:00-05:59, even for an account that pays then);
//   - hour-rarity: the rarity alone;
//   - burst: the unusualness of the account's payments of the last minutes
//     (each counts a new payee, a large amount, weak authentication and a
//     rare hour, each up to 1, decayed with a 10-minute half-life): the
//     mark of an account taken over, which pays unusually several times
//     in a row;
//   - fan-in: the payee alias's new payers in the last hour (decayed with a
//     1-hour half-life) beyond its usual, or all of them when the alias is
//     young, when this payer is new to it too, weighed by how large the
//     amount is for the payer: victims of a mule account pay more than
//     they usually do, friends gathering money do not;
//   - unseen-payee: a first payment to an alias the model has never seen
//     paid, valued by how rare such payments are lately (below);
//   - young-payee: a first payment to an alias first paid less than a day
//     ago (a mule account is new), valued likewise;
//   - weak-auth: a single authentication factor, plus up to 1 for fewer
//     than the account usually reports.
//
// A large amount alone, to a known payee in the account's usual hours, is
// not a feature: the fit weighed it negatively once the others were in
// (legitimate big payments go to known payees), and a negative
// contribution would make a poor explanation. Neither is a plain rate of
// payments: bursts of ordinary payments (shopping) are ordinary, and the
// fit preferred the burst of unusual ones.
//
// A payment is new to its payee when the caller says so (Txn.NewPayee,
// from the velocity windows) and the account's own memory of its last four
// payees does not hold the alias: the windows forget an account idle for a
// day, the model's memory does not. Scores and their explanations are
// exact: the logit is Bias plus the sum of every feature's contribution
// (its weight times its value), and Top lists the largest contributions.
//
// # Weights and threshold
//
// The weights are named constants, fitted by logistic regression (with a
// small ridge) on the labelled scenarios of package fraud — seed 1,
// 200 k payments after a warm-up of 200 k, see fit_test.go, run with
// -fit — and rounded. The score is thus about the probability of fraud
// at the simulation's base rate (1 %). DefaultThreshold is the threshold
// that kept the widest margin over the quality target (recall ≥ 0.9 at
// precision ≥ 0.8) on seed 1, and TestQuality checks the target on
// seed 2. The scenarios are simulated: the weights encode what the
// generator makes fraud look like, which is what the features were
// designed for, not a measurement on real fraud. An operator should watch
// the alerts before trusting the score in an enforced rule, and refit the
// weights on labelled alerts when there are some.
//
// The model learns from history. On a switch that has just started (or a
// model rebuilt from a short replay) every alias is unseen or young and
// every account cold; so that the score does not then flag every first
// payment, unseen-payee and young-payee are worth the evidence that such
// a payment is lately (see share): ln(0.5/s)/ln(50) for the share s of
// recent payments that are first payments to an unseen (or young) alias,
// which is 1 at 1 %, 0 at 50 %. The model thus misses more while it
// learns rather than flagging more: on seed 2 with no warm-up, precision
// 0.85 at recall 0.70; after 50 k payments (about a simulated day),
// 0.87 at 0.83; TestQuality measures after 200 k (about four days).
//
// # Memory and cost
//
// A payer account takes 52 bytes (a 44-byte state and its 8-byte key
// hash), an alias 28 (20 + 8), in pointer-free slabs that the garbage
// collector does not scan; each kind is bounded by Options.MaxEntities,
// past which the least recently seen key of a bucket is forgotten (it then
// starts again from the population's priors). Score reads two entries
// under shared locks and allocates nothing; Observe writes them under
// their shards' locks and updates the per-currency population under a
// mutex. Keys are 64-bit hashes under a fixed, optionally configured seed,
// so that the same transfers in the same order give the same scores.
//
// A transfer without a payer account (PayerAccount "") has no account
// state: its amount is compared with the population, its hour with the
// population's hours, and it has no burst or weak-auth history, and
// new-payee comes from the caller alone.
package model

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

// ErrInvalidOptions reports Options that Validate refuses; the caller
// should report it as a configuration error and not start.
var ErrInvalidOptions = fault.New(fault.Invalid, "", "model: invalid options")

// DefaultThreshold is the score at or above which a transfer is flagged
// when Options.Threshold is zero. It was chosen on the simulated scenarios
// of package fraud (seed 1, see fit_test.go) as the threshold with the
// largest smaller margin over recall 0.9 and precision 0.8 (there recall
// 0.934, precision 0.845); at 0.2 precision rises to 0.875 and recall
// falls to 0.922.
const DefaultThreshold = 0.15

// DefaultMaxEntities is the default bound on payer accounts and on
// aliases remembered, each: about 52 MiB of accounts and 28 MiB of
// aliases when full.
const DefaultMaxEntities = 1 << 20

// maxEntitiesLimit keeps a shard's places addressable by an int on any
// platform and the memory within reason.
const maxEntitiesLimit = 1 << 28

// Options configures a Model. The zero value is valid and means the
// defaults.
type Options struct {
	// Threshold is the score at or above which a transfer is flagged;
	// 0 means DefaultThreshold.
	Threshold float64
	// MaxEntities bounds the payer accounts and the aliases remembered,
	// each; 0 means DefaultMaxEntities. Past it the least recently seen
	// are forgotten.
	MaxEntities int
	// Seed is the key hash's seed; 0 means a fixed default. A model
	// rebuilt with the same seed from the same transfers scores alike.
	Seed uint64
}

// Validate reports whether o can configure a Model, with
// ErrInvalidOptions naming the field otherwise.
func (o Options) Validate() error {
	if !(o.Threshold >= 0 && o.Threshold <= 1) {
		return fmt.Errorf("%w: Threshold %v is outside [0, 1]", ErrInvalidOptions, o.Threshold)
	}
	if o.MaxEntities < 0 || o.MaxEntities > maxEntitiesLimit {
		return fmt.Errorf("%w: MaxEntities %d is outside [0, %d]", ErrInvalidOptions, o.MaxEntities, maxEntitiesLimit)
	}
	return nil
}

// Txn is a transfer as the model sees it, screened or committed.
type Txn struct {
	At           time.Time // the transfer's time (simulated time in tests)
	Hour         int       // 0-23, hour of day in the scheme's time zone; others count as unknown
	Payer        string    // payer participant id
	PayerAccount string    // the participant's opaque user reference; "" when absent
	Alias        string    // payee alias "TYPE:value"
	Currency     string    // ISO 4217 code
	Amount       int64     // minor units; values below 1 count as 1
	NewPayee     bool      // first payment from this payer account to this alias, as far as the caller knows
	Factors      int       // authentication factors the payer wallet reported; 0 = unknown
}

// Feature is one feature's part in a score: its contribution to the
// logit and, from Score.Features, a sentence for the operator.
type Feature struct {
	Name         string
	Contribution float64
	Detail       string
}

// Feature names, stable: alerts and dashboards use them.
const (
	FeatureNewPayeeLarge = "new-payee-large"
	FeatureOddHourLarge  = "odd-hour-large"
	FeatureHour          = "hour-rarity"
	FeatureBurst         = "burst"
	FeatureFanIn         = "fan-in"
	FeatureUnseenPayee   = "unseen-payee"
	FeatureYoungPayee    = "young-payee"
	FeatureWeakAuth      = "weak-auth"
)

// Feature indexes, in the order of featureNames and weights.
const (
	fNewPayeeLarge = iota
	fOddHourLarge
	fHour
	fBurst
	fFanIn
	fUnseenPayee
	fYoungPayee
	fWeakAuth
	numFeatures
)

var featureNames = [numFeatures]string{
	FeatureNewPayeeLarge, FeatureOddHourLarge, FeatureHour, FeatureBurst, FeatureFanIn, FeatureUnseenPayee, FeatureYoungPayee, FeatureWeakAuth,
}

// The weights of the logit, fitted on the simulated scenarios (see the
// package doc and fit_test.go) and rounded. Each feature is 0 for the
// ordinary and bounded above.
const (
	Bias                = -9.1
	WeightNewPayeeLarge = 1.15
	WeightOddHourLarge  = 2.5
	WeightHour          = 0.3
	WeightBurst         = 2.4
	WeightFanIn         = 2.5
	WeightUnseenPayee   = 5.8
	WeightYoungPayee    = 5.3
	WeightWeakAuth      = 1.65
)

var weights = [numFeatures]float64{
	WeightNewPayeeLarge, WeightOddHourLarge, WeightHour, WeightBurst, WeightFanIn, WeightUnseenPayee, WeightYoungPayee, WeightWeakAuth,
}

// Decay and learning constants.
const (
	heatHalfLifeSec  = 10 * 60   // the half-life of the account's recent unusualness
	nightEndHour     = 6         // hours before it are the night
	nightOdd         = 0.5       // how odd the night is at least, even for an account that pays then
	fanInHalfLifeSec = 60 * 60   // the alias's new-payer count's half-life
	youngSec         = 24 * 3600 // an alias first paid less long ago is young
	fanNormRate      = 1.0 / 64
	amountMinRate    = 1.0 / 32 // the EWMA's weight of a transfer once the account has 32
	coldCount        = 3.0      // pseudo-transfers of the population blended into an account's amounts
	minSigma         = 0.35     // floor of an account's log-amount deviation: ~±40 % is ordinary
	hourPrior        = 2.0      // pseudo-counts of the population's hours in an account's
	outlierSigmas    = 3.0      // an observed log-amount moves the mean as if at most this far out
	factorScale      = 40       // fixed point of the usual factor count
)

// Score is a transfer's anomaly score and its explanation.
type Score struct {
	// Value is the score in [0, 1].
	Value float64
	// Top holds the N largest positive contributions, largest first,
	// without Detail (see Features).
	Top [3]Feature
	N   int

	logit float64
	x     [numFeatures]float64 // feature values, for Features
	in    inputs
}

// inputs are the raw figures behind the features, for their Details.
type inputs struct {
	ratio      float64 // amount / the account's (or population's) usual
	sigmas     float64 // log-amount distance in deviations
	history    bool    // the account's own history counted
	hour       int
	hourProb   float64
	heat       float64
	rarity     float64
	fanIn      float64
	fanInNorm  float64
	ageSec     float64
	factors    int
	usualFacts float64
}

// Logit returns the score's log-odds: Bias plus every contribution.
func (s Score) Logit() float64 { return s.logit }

// Contributions returns every feature's contribution to the logit, zeros
// included, in a fixed order (Names), for tests and tuning.
func (s Score) Contributions() (names [numFeatures]string, c [numFeatures]float64) {
	for i := range s.x {
		c[i] = weights[i] * s.x[i]
	}
	return featureNames, c
}

// Features returns Top[:N] with their Details. It allocates: call it when
// an alert is made, not on every screening.
func (s Score) Features() []Feature {
	out := make([]Feature, s.N)
	for i := range s.N {
		f := s.Top[i]
		f.Detail = s.detail(f.Name)
		out[i] = f
	}
	return out
}

func (s Score) detail(name string) string {
	in := &s.in
	of := "the account's usual"
	if !in.history {
		of = "the currency's usual"
	}
	switch name {
	case FeatureNewPayeeLarge:
		return fmt.Sprintf("first payment to this payee, amount %.1fx %s (%.1f sd)", in.ratio, of, in.sigmas)
	case FeatureHour:
		return fmt.Sprintf("%02d:00 is rare for this account (%.2g%% of its payments expected)", in.hour, 100*in.hourProb)
	case FeatureOddHourLarge:
		return fmt.Sprintf("amount %.1fx %s (%.1f sd) at %02d:00, a rare hour for it or the night", in.ratio, of, in.sigmas, in.hour)
	case FeatureBurst:
		return fmt.Sprintf("its payments of the last minutes were unusual too (%.1f)", in.heat)
	case FeatureFanIn:
		return fmt.Sprintf("%.1f new payers of this alias in the last hour, usually %.1f", in.fanIn, in.fanInNorm)
	case FeatureUnseenPayee:
		return "the payee alias has not been paid before"
	case FeatureYoungPayee:
		return fmt.Sprintf("the payee alias was first paid %.1f h ago and has %.1f new payers in the last hour", in.ageSec/3600, in.fanIn)
	case FeatureWeakAuth:
		if in.usualFacts > 0 {
			return fmt.Sprintf("%d authentication factor(s), usually %.1f", in.factors, in.usualFacts)
		}
		return fmt.Sprintf("%d authentication factor(s)", in.factors)
	}
	return ""
}

// account is a payer account's state: 44 bytes, no pointers.
type account struct {
	last    uint32   // Unix second of the newest observation
	cur     uint32   // code of the currency of the amount statistics
	mean    float32  // EWMA of ln(amount)
	vari    float32  // EWM variance of ln(amount)
	heat    float32  // unusualness of its payments, decayed with heatHalfLifeSec, as of last
	n       uint16   // observations, saturating
	factors uint8    // EWMA of the factor count × factorScale; 0 unknown
	pnext   uint8    // next place of payees to replace
	hours   [12]byte // 24 counters of 4 bits: payments by hour of day, halved when one would overflow
	payees  [4]uint16
}

// alias is a payee alias's state: 20 bytes, no pointers.
type alias struct {
	last    uint32  // Unix second of the newest observation
	first   uint32  // Unix second of the first
	n       uint32  // observations, saturating
	fan     float32 // new payers, decayed with fanInHalfLifeSec, as of last
	fanNorm float32 // EWMA of fan as each new payer found it
}

func (a *account) hour(h int) int { return int(a.hours[h/2]>>(4*(h%2))) & 15 }

func (a *account) bumpHour(h int) {
	if a.hour(h) == 15 {
		for i := range a.hours {
			b := a.hours[i]
			a.hours[i] = (b&0x0f)>>1 | ((b>>4)>>1)<<4
		}
	}
	a.hours[h/2] += 1 << (4 * (h % 2))
}

func (a *account) knows(fp uint16) bool {
	for _, p := range a.payees {
		if p == fp {
			return true
		}
	}
	return false
}

func (a *account) remember(fp uint16) {
	if a.knows(fp) {
		return
	}
	a.payees[a.pnext%4] = fp
	a.pnext = (a.pnext + 1) % 4
}

// Model is the anomaly model; safe for concurrent use. Build it with New.
type Model struct {
	threshold float64
	seed      uint64
	accounts  *table[account]
	aliases   *table[alias]
	pop       population
}

// New returns an empty Model configured by o. It panics if o does not pass
// Validate: configuration is checked by the caller before it gets here.
func New(o Options) *Model {
	if err := o.Validate(); err != nil {
		panic(err)
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if o.MaxEntities == 0 {
		o.MaxEntities = DefaultMaxEntities
	}
	if o.Seed == 0 {
		o.Seed = defaultSeed
	}
	return &Model{
		threshold: o.Threshold,
		seed:      o.Seed,
		accounts:  newTable[account](o.MaxEntities),
		aliases:   newTable[alias](o.MaxEntities),
	}
}

// Threshold returns the score at or above which a transfer is flagged.
func (m *Model) Threshold() float64 { return m.threshold }

// Stats describes what a Model holds.
type Stats struct {
	Accounts int   // payer accounts remembered
	Aliases  int   // aliases remembered
	Bytes    int64 // memory of the slabs allocated (places in use or not)
}

// Stats returns what the model holds, for metrics; it visits every shard.
func (m *Model) Stats() Stats {
	na, pa := m.accounts.stats()
	nl, pl := m.aliases.stats()
	return Stats{
		Accounts: na, Aliases: nl,
		Bytes: int64(pa)*(8+accountSize) + int64(pl)*(8+aliasSize),
	}
}

// Sizes of the states, checked by a test.
const (
	accountSize = 44
	aliasSize   = 20
)

// keys returns the account's key (0 without a payer account), the alias's
// key and the alias's 16-bit fingerprint for the account's payee memory.
func (m *Model) keys(t *Txn) (acct, al uint64, fp uint16) {
	if t.PayerAccount != "" {
		acct = key(m.seed, kindAccount, t.Payer, t.PayerAccount)
	}
	al = key(m.seed, kindAlias, t.Alias, "")
	fp = uint16(al>>48) | 1
	return acct, al, fp
}

// second returns t as a Unix second that a uint32 holds.
func second(t time.Time) uint32 {
	u := t.Unix()
	switch {
	case u < 1:
		return 1
	case u > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(u)
}

// decay returns v decayed from second from to second to.
func decay(v float32, from, to uint32, halfLifeSec float64) float64 {
	if v == 0 || to <= from {
		return float64(v)
	}
	return float64(v) * math.Exp2(-float64(to-from)/halfLifeSec)
}

// clamp bounds x to [lo, hi], and maps NaN to lo.
func clamp(x, lo, hi float64) float64 {
	if !(x > lo) {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// Score returns the anomaly score of t, which is being screened. It only
// reads the model and allocates nothing.
func (m *Model) Score(t *Txn) Score {
	var s Score
	ka, kl, fp := m.keys(t)
	now := second(t.At)
	var a account
	found := ka != 0 && m.accounts.get(ka, &a)
	var al alias
	seen := m.aliases.get(kl, &al)
	newPayee := t.NewPayee && !(found && a.knows(fp))
	z := m.accountSide(&s, &a, found, t, now, newPayee)

	// The payee's fan-in of new payers, weighed by how large the amount
	// is for the payer: victims of a mule pay more than they usually do,
	// friends gathering money do not.
	if newPayee {
		if seen {
			f := decay(al.fan, al.last, now, fanInHalfLifeSec)
			base := float64(al.fanNorm)
			s.in.fanIn, s.in.fanInNorm = f, base
			fan := clamp((f-1-2*base)/(1+base), 0, 10)
			if age := float64(now) - float64(al.first); age < youngSec {
				s.in.ageSec = max(age, 0)
				s.x[fYoungPayee] = m.pop.young.evidence()
				fan = max(fan, clamp(f, 0, 10)*min(s.x[fYoungPayee], 1))
			}
			s.x[fFanIn] = fan * clamp((z+1)/3, 0.2, 1.5)
		} else {
			s.x[fUnseenPayee] = m.pop.unseen.evidence()
		}
	}
	s.explain()
	return s
}

// accountSide sets the features that depend on the payer account (found,
// with state a) and returns the amount's z-score.
func (m *Model) accountSide(s *Score, a *account, found bool, t *Txn, now uint32, newPayee bool) (z float64) {
	// Amount: the account's log-amount statistics blended with the
	// currency's population by the account's count.
	code := currencyCode(t.Currency)
	la := math.Log(float64(max(t.Amount, 1)))
	pm, pv, pok := m.pop.amounts(code)
	if !pok {
		pm, pv = la, 1 // nothing known of the currency: nothing unusual
	}
	mu, vr := pm, pv
	if found && a.n > 0 && a.cur == code {
		w := float64(a.n) / (float64(a.n) + coldCount)
		mu = w*float64(a.mean) + (1-w)*pm
		vr = w*float64(a.vari) + (1-w)*pv
		s.in.history = true
	}
	sd := math.Sqrt(math.Max(vr, minSigma*minSigma))
	z = (la - mu) / sd
	s.in.ratio, s.in.sigmas = math.Exp(la-mu), z
	large := clamp(z-0.5, 0, 8)
	if newPayee {
		s.x[fNewPayeeLarge] = large
	}

	// Hour of day.
	rarity := 0.0
	if t.Hour >= 0 && t.Hour < 24 {
		p := m.pop.hourProb(t.Hour)
		if found {
			c := func(h int) float64 { return float64(a.hour((h + 24) % 24)) }
			total := 0.0
			for h := range 24 {
				total += c(h)
			}
			sh := c(t.Hour) + 0.5*(c(t.Hour-1)+c(t.Hour+1))
			p = (sh + hourPrior*p) / (2*total + hourPrior)
		}
		rarity = clamp(-math.Log(24*p), 0, 5)
		s.in.hour, s.in.hourProb, s.in.rarity = t.Hour, p, rarity
		s.x[fHour] = rarity
		odd := min(rarity, 4) / 4
		if t.Hour < nightEndHour {
			odd = max(odd, nightOdd)
		}
		s.x[fOddHourLarge] = odd * large
	}

	// Authentication.
	if t.Factors > 0 {
		s.in.factors = t.Factors
		x := 0.0
		if t.Factors == 1 {
			x = 1
		}
		if found && a.factors > 0 {
			u := float64(a.factors) / factorScale
			s.in.usualFacts = u
			x += clamp(u-float64(t.Factors)-0.5, 0, 1)
		}
		s.x[fWeakAuth] = x
	}

	// A burst of unusual payments.
	if found {
		h := decay(a.heat, a.last, now, heatHalfLifeSec)
		s.in.heat = h
		s.x[fBurst] = clamp(h-0.5, 0, 10)
	}
	return z
}

// unusualness sums the signs that a payment is not the account's habit,
// from its features: a new payee, a large amount, weak authentication and
// a rare hour, each up to 1. An account taken over pays unusually several
// times in a row; unusual-burst remembers it.
func unusualness(s *Score, newPayee bool) float64 {
	u := min(s.x[fWeakAuth], 1) + clamp(s.in.sigmas-0.5, 0, 3)/3 + clamp(s.in.rarity, 0, 3)/3
	if newPayee {
		u++
	}
	return u
}

// explain computes the logit, the value and Top from the features.
func (s *Score) explain() {
	logit := Bias
	for i, x := range s.x {
		c := weights[i] * x
		logit += c
		if c <= 0 {
			continue
		}
		// Insert into Top, largest first; ties keep the feature order.
		j := s.N
		if j == len(s.Top) {
			if c <= s.Top[j-1].Contribution {
				continue
			}
			j--
		} else {
			s.N++
		}
		for j > 0 && s.Top[j-1].Contribution < c {
			s.Top[j] = s.Top[j-1]
			j--
		}
		s.Top[j] = Feature{Name: featureNames[i], Contribution: c}
	}
	s.logit = logit
	s.Value = 1 / (1 + math.Exp(-logit))
}

// Flagged reports whether s is at or above the model's threshold.
func (m *Model) Flagged(s Score) bool { return s.Value >= m.threshold }

// Observe learns from t, a committed transfer. Transfers observed out of
// time order count as if at the newest time seen for their keys.
func (m *Model) Observe(t *Txn) {
	ka, kl, fp := m.keys(t)
	now := second(t.At)
	code := currencyCode(t.Currency)
	la := math.Log(float64(max(t.Amount, 1)))
	_, pv, _ := m.pop.amounts(code)
	newPayee := t.NewPayee
	if ka != 0 {
		m.accounts.update(ka, func(a *account, fresh bool) {
			if a.knows(fp) {
				newPayee = false
			}
			var s Score
			m.accountSide(&s, a, !fresh, t, now, newPayee)
			at := max(now, a.last)
			a.heat = float32(decay(a.heat, a.last, at, heatHalfLifeSec) + unusualness(&s, newPayee))
			a.last = at
			a.remember(fp)
			if t.Hour >= 0 && t.Hour < 24 {
				a.bumpHour(t.Hour)
			}
			if t.Factors > 0 {
				f := float64(min(t.Factors, 6) * factorScale)
				if a.factors == 0 {
					a.factors = uint8(f)
				} else {
					a.factors = uint8(math.Round(float64(a.factors) + (f-float64(a.factors))/8))
				}
			}
			switch {
			case a.n == 0 || a.cur != code && a.n < 3:
				// The first transfer, or an early change of currency.
				// Its variance is the population's, which the next
				// transfers dilute; Score blends the mean with the
				// population's while the account is young.
				a.cur = code
				a.mean, a.vari = float32(la), float32(pv)
				a.n = 1
			case a.cur == code:
				r := max(1/float64(a.n+1), amountMinRate)
				mean, vr := float64(a.mean), float64(a.vari)
				d := la - mean
				if lim := outlierSigmas * math.Sqrt(math.Max(vr, minSigma*minSigma)); a.n >= 5 {
					d = clamp(d, -lim, lim)
				}
				mean += r * d
				vr = (1 - r) * (vr + r*d*d)
				a.mean, a.vari = float32(mean), float32(vr)
				if a.n < math.MaxUint16 {
					a.n++
				}
			}
		})
	}
	var unseen, young bool
	m.aliases.update(kl, func(al *alias, fresh bool) {
		at := max(now, al.last)
		if fresh {
			al.first = at
		}
		unseen = newPayee && fresh
		young = newPayee && !fresh && float64(now)-float64(al.first) < youngSec
		if newPayee {
			f := decay(al.fan, al.last, at, fanInHalfLifeSec)
			if !fresh {
				al.fanNorm += float32(fanNormRate * (f - float64(al.fanNorm)))
			}
			al.fan = float32(f + 1)
		} else {
			al.fan = float32(decay(al.fan, al.last, at, fanInHalfLifeSec))
		}
		al.last = at
		if al.n < math.MaxUint32 {
			al.n++
		}
	})
	m.pop.observe(code, la, t.Hour, unseen, young)
}

// population holds what all accounts share: per currency the log-amount
// mean and variance, and the hours of day. Observe writes it under mu;
// Score reads the atomics without a lock.
type population struct {
	mu         sync.Mutex
	currencies [maxCurrencies]popCurrency
	hours      [24]atomic.Uint64
	total      atomic.Uint64
	// unseen and young are the shares of payments that are first
	// payments to an unseen and to a young alias.
	unseen, young share
}

// share is how often something happens among the payments observed
// lately, and how much evidence of fraud its happening is.
//
// A first payment to an unseen or young alias is evidence against the
// share of normal payments that do the same: rare on a switch that has
// seen its aliases for days, common on one that has just started, when
// every alias is unseen. The evidence is ln(0.5/share) / ln(50), the
// log-likelihood ratio for a fraud that does it half the time, in units
// of a share of 1 %; 0 until anything is observed and at most 1.5.
type share struct {
	n    atomic.Uint64
	rate atomic.Uint64 // float64 bits
}

// shareMinRate is the weight of a payment in a share once it has seen
// this many: about a day of a small scheme.
const shareMinRate = 1.0 / 16384

// observe counts a payment; the caller holds the population's mu.
func (s *share) observe(happened bool) {
	x := 0.0
	if happened {
		x = 1
	}
	n := s.n.Add(1)
	r := math.Float64frombits(s.rate.Load())
	r += max(1/float64(n), shareMinRate) * (x - r)
	s.rate.Store(math.Float64bits(r))
}

func (s *share) evidence() float64 {
	r := math.Float64frombits(s.rate.Load())
	if r == 0 && s.n.Load() == 0 {
		return 0
	}
	return clamp(math.Log(0.5/r)/math.Log(50), 0, 1.5)
}

// maxCurrencies bounds the currencies whose population is learned; a
// transfer in another is compared with its account only.
const maxCurrencies = 16

type popCurrency struct {
	code       atomic.Uint32
	n          uint64 // under mu
	mean, vari atomic.Uint64
}

// popMinRate is the weight of a transfer in the population's EWMA once it
// has seen this many: it follows a drift within days.
const popMinRate = 1.0 / 4096

// amounts returns the currency's log-amount mean and variance.
func (p *population) amounts(code uint32) (mean, vari float64, ok bool) {
	if code == 0 {
		return 0, 0, false
	}
	for i := range p.currencies {
		c := &p.currencies[i]
		switch c.code.Load() {
		case code:
			return math.Float64frombits(c.mean.Load()), math.Float64frombits(c.vari.Load()), true
		case 0:
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// hourProb returns the share of transfers at hour h, smoothed with its
// neighbours and a uniform prior.
func (p *population) hourProb(h int) float64 {
	c := func(h int) float64 { return float64(p.hours[(h+24)%24].Load()) }
	total := float64(p.total.Load())
	return (c(h) + 0.5*(c(h-1)+c(h+1)) + 1) / (2*total + 24)
}

func (p *population) observe(code uint32, la float64, hour int, unseen, young bool) {
	if hour >= 0 && hour < 24 {
		p.hours[hour].Add(1)
		p.total.Add(1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unseen.observe(unseen)
	p.young.observe(young)
	if code == 0 {
		return
	}
	for i := range p.currencies {
		c := &p.currencies[i]
		switch c.code.Load() {
		case 0:
			c.n = 1
			c.mean.Store(math.Float64bits(la))
			c.vari.Store(math.Float64bits(1))
			c.code.Store(code) // last: a reader that sees the code sees the figures
			return
		case code:
			c.n++
			r := max(1/float64(c.n), popMinRate)
			mean := math.Float64frombits(c.mean.Load())
			vr := math.Float64frombits(c.vari.Load())
			d := la - mean
			mean += r * d
			vr = (1 - r) * (vr + r*d*d)
			c.mean.Store(math.Float64bits(mean))
			c.vari.Store(math.Float64bits(vr))
			return
		}
	}
}

// currencyCode packs a currency code of 1 to 4 bytes into a distinct
// non-zero uint32, and returns 0 for any other.
func currencyCode(c string) uint32 {
	if len(c) == 0 || len(c) > 4 {
		return 0
	}
	var v uint32
	for i := range len(c) {
		v = v<<8 | uint32(c[i])
	}
	return v<<3 | uint32(len(c))
}
