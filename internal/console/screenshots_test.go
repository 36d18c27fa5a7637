package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hulian/hulian/internal/wire"
)

// TestScreenshots writes PNGs of the console's main pages to
// docs/screenshots (console-*.png), for the README, from a scheme of five
// wallets paying each other while the pages are open. It runs only when
// asked:
//
//	HULIAN_SCREENSHOTS=1 go test -run TestScreenshots ./internal/console/
func TestScreenshots(t *testing.T) {
	if os.Getenv("HULIAN_SCREENSHOTS") == "" {
		t.Skip("set HULIAN_SCREENSHOTS=1 to write docs/screenshots/console-*.png")
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	s := start(t)
	ids := []string{"peony-pay", "lotus-bank", "jade-wallet", "bamboo-bank", "orchid-pay"}
	sc := s.sceneWith("20000.00", ids...)
	for i, id := range ids {
		if st := s.api("PUT", "/v1/participants/"+id+"/limits/CNY", wire.Limit{NetDebitCap: fmt.Sprintf("%d0000.00", 3+i)}, nil); st != 200 {
			t.Fatalf("limit %s: %d", id, st)
		}
	}
	s.api("PUT", "/v1/fees/CNY", wire.Fees{Fixed: "0.10", Rate: "0.05", Min: "0.10", Max: "20.00"}, nil)
	s.api("PUT", "/v1/participants/orchid-pay/liquidity/CNY", wire.NewLiquidityThreshold{Threshold: "15000.00"}, nil)
	s.api("PUT", "/v1/risk/rules/large-amount", wire.RiskRule{Expression: "amount > 3000000", Action: "review", Reason: "large-amount",
		Mode: "enforce", Description: "Hold payments above CNY 30,000 for review"}, nil)
	cosign := s.witness("witness.example.org/hulian")
	n := 0
	// Each payer pays its own amounts, so that the nets differ.
	payAll := func(base, rounds int) {
		for range rounds {
			for i, from := range ids {
				n++
				sc.pay(fmt.Sprintf("shot-%d", n), from, ids[(i+1+n%3)%len(ids)], fmt.Sprintf("%d.%02d", base+731*i, (17*n)%100))
			}
		}
	}
	payAll(7500, 3)
	sc.pay("shot-large", "peony-pay", "lotus-bank", "32000.00")
	first := s.openWindow()
	payAll(2100, 2)
	if st := s.api("POST", "/v1/settlement-windows/"+first+"/close", nil, nil); st != 200 {
		t.Fatalf("close: %d", st)
	}
	var rep wire.SettlementReport
	s.api("GET", "/v1/settlement-windows/"+first+"/report", nil, &rep)
	for _, in := range rep.Instructions[:2] {
		s.api("POST", "/v1/settlement-windows/"+first+"/confirmations", wire.Confirmation{Participant: in.Participant}, nil)
	}
	payAll(2600, 2)
	cosign()
	payAll(1200, 1)

	u := s.user("li.wei", "operator-admin", "")
	ctx := tab(t)
	chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "en"}})
	do(t, ctx, chromedp.EmulateViewport(1280, 900))
	s.signedIn(t, ctx, u)
	// Do some work as li.wei, for the trail.
	s.visit(t, ctx, "/console/participants/jade-wallet")
	submit(t, ctx, "#suspend")
	submit(t, ctx, "#resume")

	// Traffic while the dashboard is open, refusals included.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			from, to := ids[k%len(ids)], ids[(k+2)%len(ids)]+"@example.cn"
			amount := fmt.Sprintf("%d.%02d", 20+k%300, k%100)
			switch {
			case k%17 == 0:
				to = "nobody@example.cn" // no such alias
			case k%29 == 0:
				amount = "29000.00" // more than some have
			}
			call(s.url, sc.keys[from], "POST", "/v1/transfers", wire.NewTransfer{ID: fmt.Sprintf("live-%d", k),
				Payee: wire.PayeeRef{Type: "EMAIL", Value: to}, Amount: amount, Currency: "CNY"}, nil)
		}
	})
	defer func() { close(stop); wg.Wait() }()

	// shot writes the page at path, whole or (for long lists) as much as
	// the window shows.
	shot := func(path, file string, wait chromedp.Action[chromedp.Void], whole bool) {
		t.Helper()
		s.visit(t, ctx, path)
		if wait != nil {
			do(t, ctx, wait)
		}
		capture := chromedp.CaptureScreenshot()
		if whole {
			capture = chromedp.FullScreenshot(100)
		}
		png, err := chromedp.Run(ctx, capture)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, file)
		if err := os.WriteFile(f, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", f, len(png))
	}
	sleep := chromedp.Func(func(context.Context, *chromedp.Target) error { time.Sleep(3500 * time.Millisecond); return nil })
	shot("/console/", "console-dashboard.png", sleep, true)
	shot("/console/?lang=zh", "console-dashboard-zh.png", sleep, true)
	shot("/console/participants?lang=en", "console-participants.png", nil, true)
	shot("/console/transfers?participant=peony-pay", "console-transfers.png", nil, false)
	shot("/console/transfers/shot-large", "console-transfer-proof.png", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		return chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS(`#proof-status[data-verified="true"]`)))
	}), true)
	shot("/console/settlement/"+first, "console-settlement.png", nil, true)
	shot("/console/audit", "console-audit.png", nil, true)
	shot("/console/risk", "console-risk.png", nil, false)
}
