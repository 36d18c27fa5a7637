package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
)

// startSwitch runs a whole switch in-process on a fresh embedded store.
func startSwitch(t *testing.T) *app.App {
	t.Helper()
	return apptest.Start(t, func(c *app.Config) {
		c.Callback.AllowPrivate = true // the simulated wallets listen on loopback
	})
}

func TestScenario(t *testing.T) {
	a := startSwitch(t)
	var log strings.Builder
	s, err := NewScenario(a.URL(), a.AdminToken, ScenarioConfig{
		Users: 300, Concurrency: 8, Duration: 3 * time.Second, MaxPayments: 3000,
		DrainTimeout: 2 * time.Minute, Seed: 42, Log: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := s.Setup(ctx); err != nil {
		t.Fatalf("setup: %v\n%s", err, log.String())
	}
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats().Snapshot()
	t.Logf("%d transfers (%d committed), %d lookups, %d batches; p50 %v p99 %v; reasons %v",
		st.Transfers, st.Committed, st.Lookups, st.Batches, st.Latency.QuantileDuration(0.5), st.Latency.QuantileDuration(0.99), st.Reasons)
	if st.Errors > 0 {
		t.Errorf("%d unexpected errors, the last: %s", st.Errors, st.LastError)
	}
	if st.Committed == 0 {
		t.Errorf("nothing committed")
	}
	// The probes make each deliberate refusal happen at least once.
	for _, reason := range []string{ProblemUnknownParty, ProblemInsufficientFunds, "aborted: rejected", ProblemQuoteUsed, ProblemFXPurposeRequired} {
		if st.Reasons[reason] == 0 {
			t.Errorf("no refusal %q: %v", reason, st.Reasons)
		}
	}

	// The showcase makes each payment experience happen at least once;
	// the books checks below hold them to the switch.
	for _, xp := range []string{XPQRStatic, XPQRDynamic, XPBillSent, XPBillPaid, XPBillDecline, XPRefund,
		XPMandateApproved, XPMandatePulled, XPDisputeAccepted, XPDisputeRejected} {
		if st.Experiences[xp] == 0 {
			t.Errorf("no %s: %v", xp, st.Experiences)
		}
	}
	t.Logf("experiences %v", st.Experiences)

	// Cross-border payments in both modes, through the FX provider.
	xb := st.CrossBorder
	t.Logf("cross-border %+v", xb)
	if xb.Paid == 0 || xb.Send == 0 || xb.Receive == 0 || xb.Source == 0 || xb.Target <= xb.Source || xb.Attempts != xb.Paid+xb.Refused {
		t.Errorf("cross-border payments %+v: want some of each mode, HKD more than CNY", xb)
	}
	if sheet, n, ok := s.Sheet(); !ok || n == 0 || !strings.HasPrefix(sheet.Rate, "1.08") {
		t.Errorf("sheet %+v, %d published", sheet, n)
	}

	// A settlement cycle settles each currency on its own: in HKD, the
	// provider pays in what it paid out, the wallet abroad is paid what
	// its users got. The checks below hold the books to it.
	st2, err := s.Settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st2.Others) != 1 || st2.Others[0].Report.Window.Currency != "HKD" || len(st2.Others[0].Outstanding) > 0 {
		t.Fatalf("settlement %+v", st2.Others)
	}
	nets := map[string]string{}
	for _, p := range st2.Others[0].Report.Positions {
		nets[p.Participant] = p.Net
	}
	if !strings.HasPrefix(nets["jade-fx"], "-") || strings.HasPrefix(nets["harbour-pay"], "-") || nets["harbour-pay"] == "" {
		t.Errorf("HKD nets %v: the provider pays, the wallet abroad receives", nets)
	}

	rep, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		t.Log(c)
	}
	if !rep.OK() {
		t.Fatalf("checks failed: %v", rep.Failed())
	}
	if len(rep.ZeroSums) != 2 || rep.ZeroSums[0].Fees == 0 || !rep.ZeroSums[0].HubKnown || rep.ZeroSums[1].Currency.String() != "HKD" ||
		rep.ZeroSums[1].SettledIn == 0 || !rep.ZeroSums[1].HubKnown {
		t.Errorf("zero sums %+v: want CNY with fee revenue and HKD settled, checked against the hub's accounts", rep.ZeroSums)
	}
	// The provider's books are checked in both currencies.
	var sides []string
	for _, l := range rep.Participants {
		if l.ID == "jade-fx" || l.ID == "harbour-pay" {
			sides = append(sides, l.ID+" "+l.Currency.String())
		}
	}
	if strings.Join(sides, ", ") != "jade-fx CNY, jade-fx HKD, harbour-pay HKD" {
		t.Errorf("cross-border books checked: %v", sides)
	}
	// The pulls and paybacks the switch made unasked are in the payers'
	// books (the checks above compared them with the switch's listing).
	unsent := 0
	for _, l := range rep.Participants {
		unsent += l.Books.Unsent
		if l.Callbacks.BadSignatures > 0 {
			t.Errorf("%s refused %d callbacks of the switch", l.ID, l.Callbacks.BadSignatures)
		}
	}
	if want := st.Experiences[XPMandatePulled] + st.Experiences[XPDisputeAccepted]; int64(unsent) < want {
		t.Errorf("%d transfers made unasked in the books, want at least %d (pulls and accepted disputes)", unsent, want)
	}
	// A notification answered 503 after booking comes again, and is not
	// credited twice (the checks above passed). The redelivery may come
	// after Check: wait for it, bounded.
	for _, p := range s.Participants() {
		deadline := time.Now().Add(time.Minute)
		for p.CallbackStats().LostAnswers > 0 && p.CallbackStats().Duplicates == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if cs := p.CallbackStats(); cs.LostAnswers > 0 && cs.Duplicates == 0 {
			t.Errorf("%s: %d answers lost, no redelivery", p.ID(), cs.LostAnswers)
		}
		if err := p.Books().Verify(); err != nil {
			t.Errorf("%s after redeliveries: %v", p.ID(), err)
		}
	}
}
