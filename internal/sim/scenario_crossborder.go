package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The scenario's cross-border part (issue 17). An FX provider, Jade
// Exchange, holds CNY and HKD at the switch, funded in both, and
// publishes a CNY → HKD rate sheet, which it renews before it ends. A
// wallet abroad, Harbour Pay, keeps its users' money in HKD and
// registers their +852 numbers in HKD; it takes transfers in confirm
// mode. Users of the CNY wallets and the bank's customers pay some of
// them: an FX quote (SEND or RECEIVE), then the transfer with a purpose
// code. The switch's refusals of such payments — a quote used already,
// expired, the provider short of HKD — are counted, not errors. Each
// settlement cycle settles HKD on its own (Settle), and Check holds the
// provider's books in both currencies, and the wallet abroad's in HKD,
// to the switch.

// The currencies of the cross-border part.
var (
	xbSource = money.MustCurrency("CNY")
	xbTarget = money.MustCurrency("HKD")
)

// abroadShare is the wallet abroad's part of the users, per mille.
const abroadShare = 40

// The FX provider and the wallet abroad.
var (
	xbProviderPlan = plan{id: "jade-fx", name: "Jade Exchange", kind: "fxp", acceptance: "notify"}
	xbAbroadPlan   = plan{id: "harbour-pay", name: "Harbour Pay", kind: "wallet", acceptance: "confirm", share: abroadShare,
		opening: [2]int64{500, 5_000}, reserve: true, rejectRate: 0.01}
)

// The FX provider's money, in major units of either currency: its
// treasury (its own money, outside the switch: the opening balance of
// its books' FXTreasury account) and what it prefunds at the switch. The
// HKD it prefunds is about what a settlement window of the demo's traffic
// takes at full speed on two cores (750,000 to 800,000 HKD in 15 s); each
// settlement cycle restores it (the provider pays in what it paid out),
// and between two it may run short: fx-provider-insufficient-funds.
const (
	xbTreasury   = 100_000_000
	xbPrefundCNY = 100_000
	xbPrefundHKD = 800_000
)

// The provider's rate sheet: about 1.085 HKD per CNY, moving a few pips
// at each renewal, with a small fee; valid for xbSheetTTL and renewed
// every xbRenewEvery, so that a valid sheet is always there.
const (
	xbRatePips   = 10_850 // 1.0850, in units of 0.0001
	xbRateJitter = 5      // ± pips at each renewal
	xbSheetTTL   = 30 * time.Second
	xbRenewEvery = 10 * time.Second
)

// xbFee is the provider's fee: 0.30 CNY plus 5 basis points.
var xbFee = wire.FXFee{Fixed: "0.30", BPS: 5}

// xbPurposes are the purpose codes of the traffic's cross-border
// payments: family support, a supplier, goods, school fees.
var xbPurposes = []string{"FAMI", "SUPP", "GDDS", "EDUC"}

// Cantonese names for the users abroad.
var hkNames = []string{"Chan Tai Man", "Wong Ka Yan", "Lee Siu Ming", "Cheung Wing Sze", "Lau Chi Keung", "Ho Mei Ling",
	"Ng Kwok Wai", "Leung Hoi Yan", "Yeung Ka Ho", "Tsang Wai Lun", "Chow Yuk Ling", "Kwok Chun Kit"}

// crossBorder is the scenario's cross-border part, once Setup made it.
type crossBorder struct {
	provider *member
	abroad   *member
	payees   []target // aliases of the open users abroad

	mu     sync.Mutex
	rng    *rand.Rand // the sheet's moves
	sheet  wire.FXRate
	sheets int // sheets published
}

// majorIn returns n major units of c in minor units.
func majorIn(c money.Currency, n int64) money.Amount {
	a := money.Amount(n)
	for range c.Exponent() {
		a *= 10
	}
	return a
}

// setupCrossBorder starts, creates and funds the FX provider and the
// wallet abroad, registers the users abroad, and publishes the first
// rate sheet. g numbers the users over all participants.
func (s *Scenario) setupCrossBorder(ctx context.Context, g *int, rng *rand.Rand) error {
	pl := xbProviderPlan
	prov, err := s.addMember(ctx, pl, Config{ID: pl.id, Name: pl.name, Kind: pl.kind, Currency: xbSource, Others: []money.Currency{xbTarget},
		Acceptance: pl.acceptance}, []string{xbSource.String(), xbTarget.String()})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		c       money.Currency
		prefund int64
	}{{xbSource, xbPrefundCNY}, {xbTarget, xbPrefundHKD}} {
		if err := prov.BooksIn(f.c).Open(FXTreasury, pl.name+" treasury", majorIn(f.c, xbTreasury)); err != nil {
			return err
		}
		if err := s.moveFunds(ctx, prov, f.c, "deposit", majorIn(f.c, f.prefund)); err != nil {
			return err
		}
	}
	s.xb.provider, s.xb.rng = prov, rand.New(rand.NewPCG(s.cfg.Seed, 0xf8))
	if err := s.renewSheet(ctx); err != nil {
		return err
	}

	pl = xbAbroadPlan
	abroad, err := s.addMember(ctx, pl, Config{ID: pl.id, Name: pl.name, Kind: pl.kind, Currency: xbTarget, Acceptance: pl.acceptance,
		RejectRate: s.rejectRate(pl)}, []string{xbTarget.String()})
	if err != nil {
		return err
	}
	opening, err := s.openAbroad(ctx, abroad, max(s.cfg.Users*pl.share/1000, 20), g, rng)
	if err != nil {
		return err
	}
	if err := s.moveFunds(ctx, abroad, xbTarget, "deposit", opening); err != nil {
		return err
	}
	s.xb.abroad = abroad
	for _, a := range abroad.aliases {
		s.xb.payees = append(s.xb.payees, target{abroad, a})
	}
	s.logf("%-13s %-6s %-7s %s; deposits %s, %s %s; sheet %s→%s at %s, fee %s + %d bp, renewed every %s",
		prov.ID(), "fxp", prov.plan.acceptance, "FX provider", Grouped(majorIn(xbSource, xbPrefundCNY), xbSource),
		Grouped(majorIn(xbTarget, xbPrefundHKD), xbTarget), xbTarget, xbSource, xbTarget, s.xb.sheet.Rate, xbFee.Fixed, xbFee.BPS, xbRenewEvery)
	s.logf("%-13s %-6s %-7s %5d users, %5d aliases (+852, in %s); deposit %s %s; callbacks at %s",
		abroad.ID(), pl.kind, pl.acceptance, len(abroad.users), len(abroad.aliases), xbTarget, Grouped(opening, xbTarget), xbTarget,
		abroad.CallbackURL())
	return nil
}

// addMember starts a simulated participant of plan pl with cfg, has the
// operator create it with currencies, connects it and adds it to the
// scenario's members.
func (s *Scenario) addMember(ctx context.Context, pl plan, cfg Config, currencies []string) (*member, error) {
	p, err := NewParticipant(cfg)
	if err != nil {
		return nil, err
	}
	m := &member{Participant: p, plan: pl}
	s.members = append(s.members, m)
	created, err := s.op.CreateParticipant(ctx, wire.NewParticipant{ID: pl.id, Name: pl.name, Kind: pl.kind,
		Currencies: currencies, CallbackURL: p.CallbackURL(), Acceptance: pl.acceptance})
	if err != nil {
		return nil, fmt.Errorf("create participant %s: %w", pl.id, err)
	}
	p.Connect(NewClient(s.apiURL, created.APIKey, s.cfg.HTTP), created.CallbackSecret)
	return m, nil
}

// openAbroad opens n users of the wallet abroad m and registers their
// Hong Kong mobile numbers in HKD; it returns the sum of their opening
// balances.
func (s *Scenario) openAbroad(ctx context.Context, m *member, n int, g *int, rng *rand.Rand) (money.Amount, error) {
	var total money.Amount
	var parties []wire.NewParty
	for i := range n {
		*g++
		id := fmt.Sprintf("hk-%05d", i+1)
		name := hkNames[rng.IntN(len(hkNames))]
		lo, hi := majorIn(xbTarget, m.plan.opening[0]), majorIn(xbTarget, m.plan.opening[1])
		opening := lo + money.Amount(rng.Int64N(int64(hi-lo)))
		if err := m.Books().Open(id, name, opening); err != nil {
			return 0, err
		}
		total += opening
		m.users = append(m.users, id)
		// Hong Kong mobile numbers have eight digits; these begin with 96,
		// a mobile range whatever follows. 7,919 is prime to 10⁶:
		// distinct users get distinct numbers.
		phone := fmt.Sprintf("+85296%06d", (*g*7919)%1_000_000)
		parties = append(parties, wire.NewParty{Type: "MSISDN", Value: phone, Name: name, Account: id, Currency: xbTarget.String()})
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
			m.aliases = append(m.aliases, wire.PayeeRef{Type: r.Party.Type, Value: r.Party.Value})
		}
	}
	return total, nil
}

// renewSheet publishes the provider's CNY → HKD sheet anew: the rate
// moved a few pips, valid for xbSheetTTL from now.
func (s *Scenario) renewSheet(ctx context.Context) error {
	x := &s.xb
	x.mu.Lock()
	defer x.mu.Unlock()
	pips := xbRatePips
	if x.sheets > 0 {
		pips += x.rng.IntN(2*xbRateJitter+1) - xbRateJitter
	}
	r := wire.NewFXRate{Rate: fmt.Sprintf("%d.%04d", pips/10_000, pips%10_000), ValidUntil: time.Now().Add(xbSheetTTL).UTC(),
		MinAmount: "1.00", MaxAmount: "50000.00", Fee: &xbFee}
	sheet, err := x.provider.API().PublishFXRate(ctx, xbSource.String(), xbTarget.String(), r)
	if err != nil {
		return fmt.Errorf("rate sheet of %s: %w", x.provider.ID(), err)
	}
	x.sheet = sheet
	x.sheets++
	return nil
}

// runProvider is the FX provider's work while the traffic runs: renew
// its sheet every xbRenewEvery, well before it ends, and follow its
// listing into its books. The returned function stops it and withdraws
// the sheet, so that no quote after the run chooses this provider
// (quotes made already keep their terms until they expire).
func (s *Scenario) runProvider(ctx context.Context) (stop func()) {
	if s.xb.provider == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(xbRenewEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// A renewal is finished, not abandoned, when the run ends:
			// the provider does not hang up on the switch mid-request.
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
			if err := s.renewSheet(rctx); err != nil {
				s.stats.Error(err)
			}
			if _, err := s.xb.provider.BookExchanges(rctx); err != nil {
				s.stats.Error(fmt.Errorf("exchanges of %s: %w", s.xb.provider.ID(), err))
			}
			rcancel()
		}
	}()
	return func() {
		cancel()
		<-done
		rctx, rcancel := context.WithTimeout(context.Background(), requestTimeout)
		defer rcancel()
		err := s.xb.provider.API().WithdrawFXRate(rctx, xbSource.String(), xbTarget.String())
		if err != nil && !IsProblem(err, ProblemNotFound) {
			s.stats.Error(fmt.Errorf("withdraw the sheet of %s: %w", s.xb.provider.ID(), err))
		}
	}
}

// Sheet returns the FX provider's rate sheet as last published, and how
// many it published; false without a cross-border part.
func (s *Scenario) Sheet() (wire.FXRate, int, bool) {
	s.xb.mu.Lock()
	defer s.xb.mu.Unlock()
	return s.xb.sheet, s.xb.sheets, s.xb.provider != nil
}

// crossBorderPay: a wallet user or a bank customer pays a user abroad:
// family support, a supplier, goods, school fees. Half fix what they
// send in CNY (SEND), half what the payee gets in HKD (RECEIVE); both
// currencies have two decimals, so s.amount serves either.
func (s *Scenario) crossBorderPay(ctx context.Context, rng *rand.Rand) {
	if len(s.xb.payees) == 0 {
		return
	}
	kind := "wallet"
	if rng.IntN(4) == 0 {
		kind = "bank"
	}
	m := s.spender(rng, kind)
	if m == nil {
		return
	}
	s.payAbroad(ctx, m, FXPayment{From: pick(rng, m.users), Payee: pick(rng, s.xb.payees).ref, Amount: s.amount(rng),
		Receive: rng.IntN(2) == 0, Target: xbTarget, Purpose: pick(rng, xbPurposes)})
}

// payAbroad makes cross-border payment pm of m, and counts it.
func (s *Scenario) payAbroad(ctx context.Context, m *member, pm FXPayment) Result {
	r := m.PayFX(ctx, pm)
	s.record(r, false)
	s.stats.CrossBorder(r)
	return r
}

// probeTries bounds the probe's tries of a payment the payee may reject.
const probeTries = 5

// probeCrossBorder makes each cross-border refusal that can be made on
// purpose happen once: a quote used for a second payment (quote-used),
// and a payment without a purpose code (fx-purpose-required); neither
// moves money. The first payment, SEND, and one in RECEIVE mode are paid.
func (s *Scenario) probeCrossBorder(ctx context.Context) {
	peony := s.member("peony-pay")
	if peony == nil || len(s.xb.payees) < 2 || len(peony.users) < 2 {
		return
	}
	user, to := peony.users[1], s.xb.payees[0].ref
	// The HKD wallet's own screen rejects a share of payments at random:
	// the quote to use again is that of a payment it took.
	for try := 0; try < probeTries; try++ {
		q, err := peony.API().Quote(ctx, wire.NewQuote{Payee: to, Amount: s.major(200).Format(s.currency), Currency: s.currency.String(),
			PayerAccount: user})
		if err != nil {
			s.stats.Error(fmt.Errorf("probe: FX quote: %w", err))
			return
		}
		pm := FXPayment{From: user, Payee: to, Purpose: "FAMI", Note: "probe: FX, SEND", Quote: &q}
		if r := s.payAbroad(ctx, peony, pm); r.Status == StatusCommitted {
			pm.Note = "probe: the same FX quote again"
			s.payAbroad(ctx, peony, pm)
			break
		} else if r.Status != StatusAborted {
			break
		}
	}
	var pm FXPayment
	pm = FXPayment{From: user, Payee: to, Amount: s.major(100), Target: xbTarget, Note: "probe: FX without a purpose"}
	s.payAbroad(ctx, peony, pm)
	pm.Purpose, pm.Receive, pm.Note, pm.Payee = "GDDS", true, "probe: FX, RECEIVE", s.xb.payees[1].ref
	s.payAbroad(ctx, peony, pm)
}
