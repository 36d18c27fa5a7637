package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// TestDemoCrossBorder runs the cross-border section against a switch of
// its own, with the demo's CNY fee schedule, and checks its figures: both
// amounts, the rate and the fees of each payment, the refusal that moved
// nothing, the report's rows, and each currency's window.
func TestDemoCrossBorder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const token = "op-token-0123456789abcdef-0123456789"
	a := apptest.Start(t, func(c *app.Config) { c.AdminToken = token })
	// The simulator's fee schedule: 0.10 + 0.10 %.
	if _, err := sim.NewClient(a.URL(), token, nil).SetFees(ctx, wire.Fees{Currency: "CNY", Fixed: "0.10", Rate: "0.10", Min: "0.10",
		Max: "5.00"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	x, err := runCrossBorder(ctx, &out, a.URL(), token, time.Now())
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"Cross-border payments (issue 17)",
		"SEND    500.00 CNY sent: 500.00 CNY → 542.60 HKD at 1.0852; provider fee 1.00 CNY, scheme fee 0.60 CNY",
		"RECEIVE 300.00 HKD received: 276.45 CNY → 300.00 HKD at 1.0852",
		"422 fx-provider-insufficient-funds (the provider holds 157.40 HKD)",
		"PASS  nothing moved",
		"PASS  their books agree with the switch, per currency",
		"2 payments committed in the demo, 776.45 CNY → 842.60 HKD",
		"by purpose EDUC 1 · FAMI 1; by amount type RECEIVE 1 · SEND 1",
		"PASS  each currency settles on its own: demo-fx receives 778.23 CNY and pays 842.60 HKD",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(s, "FAIL") {
		t.Errorf("a check failed")
	}

	// The figures as the switch has them.
	if len(x.paid) != 2 || x.paid[0].FX.AmountType != "SEND" || x.paid[1].FX.AmountType != "RECEIVE" || x.refusal != sim.ProblemFXLiquidity {
		t.Fatalf("paid %+v, refusal %q", x.paid, x.refusal)
	}
	for i, want := range []wire.FX{
		{Provider: xbProvider, SourceAmount: "500.00", SourceCurrency: "CNY", TargetAmount: "542.60", TargetCurrency: "HKD", Rate: "1.0852",
			ProviderFee: "1.00", AmountType: "SEND", Purpose: "FAMI", Rounding: "0.00"},
		{Provider: xbProvider, SourceAmount: "276.45", SourceCurrency: "CNY", TargetAmount: "300.00", TargetCurrency: "HKD", Rate: "1.0852",
			ProviderFee: "0.78", AmountType: "RECEIVE", Purpose: "EDUC"},
	} {
		got := *x.paid[i].FX
		got.Rounding = want.Rounding // RECEIVE's rounding is checked by the switch's own tests
		if got != want {
			t.Errorf("payment %d: %+v, want %+v", i, got, want)
		}
	}
	if len(x.report) != 2 || x.report[0].TransferID != x.paid[0].ID || x.report[1].SchemeFee != x.paid[1].Fee {
		t.Errorf("report %+v", x.report)
	}
	// Each window: the payer and the hub in CNY, the payee in HKD, the
	// provider in both.
	for i, want := range []map[string]string{
		{xbPayer: "-779.21", xbProvider: "778.23", "hub": "0.98"},
		{xbProvider: "-842.60", xbPayee: "842.60"},
	} {
		got := map[string]string{}
		for _, p := range x.windows[i].Positions {
			got[p.Participant] = p.Net
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("window %s: net of %s %s, want %s (%v)", x.windows[i].Window.ID, k, got[k], v, got)
			}
		}
	}
}
