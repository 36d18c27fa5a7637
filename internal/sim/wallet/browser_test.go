package wallet

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshots, when set, is the directory the browser test writes the
// wallet's screenshots to (docs/screenshots for the README):
//
//	go test ./internal/sim/wallet -run TestBrowser -args -screenshots=$PWD/docs/screenshots
var screenshots = flag.String("screenshots", "", "write the wallet's screenshots to this directory")

// chromium returns the path of a Chromium (or Chrome) binary: $CHROMIUM,
// or the first of the usual names on PATH; "" if there is none.
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium for the test, with the flags
// this machine needs (/work/shared/DEPENDENCIES.md), and returns a tab.
// The test is skipped, saying so, only when no Chromium exists, and
// fails instead where one must (HULIAN_REQUIRE_CHROMIUM, which
// scripts/test.sh sets once it installed it).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		const why = "no chromium binary (apt-get install chromium, or set CHROMIUM): the browser test did not run"
		if os.Getenv("HULIAN_REQUIRE_CHROMIUM") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1180, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first Run starts the browser, and it lives as long as ctx: no
	// timeout on it (chromedp.Run's contract).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// step runs actions, bounded, failing the test with what was doing.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text reads the text of the element sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// TestBrowser drives the wallet in headless Chromium as its user would:
// open it, type a friend's number and an amount, see the masked name the
// switch gives, confirm, and find the payment among the bills.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx := newBrowser(t)
	f := newFixture(t)
	friend := f.person.Contacts()[0].Alias
	shown, err := f.person.Lookup(context.Background(), friend)
	if err != nil {
		t.Fatal(err)
	}

	step(t, ctx, "open the wallet", chromedp.Navigate(f.srv.URL+"/?lang=en"), chromedp.WaitVisible(chromedp.ID("balance")))
	if got := text(t, ctx, "#balance"); got != "CN¥11,797.50" {
		t.Errorf("balance %q", got)
	}
	step(t, ctx, "fill the pay form",
		chromedp.SetValue(chromedp.CSS(`#pay-form select[name="type"]`), friend.Type),
		chromedp.SendKeys(chromedp.CSS(`#pay-form input[name="alias"]`), friend.Value),
		chromedp.SendKeys(chromedp.CSS(`#pay-form input[name="amount"]`), "88.80"),
		chromedp.SendKeys(chromedp.CSS(`#pay-form input[name="note"]`), "badminton court"),
		chromedp.Click(chromedp.CSS(`#pay-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("payee-name")),
	)
	if got := text(t, ctx, "#payee-name"); got != shown.DisplayName {
		t.Errorf("masked name %q, want the switch's %q", got, shown.DisplayName)
	}
	if got := text(t, ctx, "#confirm"); got != "Pay CN¥88.80" {
		t.Errorf("confirm button %q", got)
	}
	if f.person.Account().Balance != welcomed {
		t.Fatalf("money moved before the confirmation")
	}
	step(t, ctx, "confirm", chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("receipt-msg")))
	if got := text(t, ctx, "#receipt-msg"); got != "Paid CN¥88.80 to "+shown.DisplayName+"." {
		t.Errorf("receipt %q", got)
	}
	if got := f.person.Account().Balance; got != welcomed-88_80 {
		t.Errorf("balance %d after paying, want %d", got, welcomed-88_80)
	}
	step(t, ctx, "open the bills", chromedp.Click(chromedp.CSS(`nav a[href="/bills"]`)), chromedp.WaitVisible(chromedp.CSS("section.month")))
	bills := text(t, ctx, "section.month")
	for _, w := range []string{"Transfers to people", shown.DisplayName, "badminton court", "−CN¥88.80", "Shopping", "Money received"} {
		if !strings.Contains(bills, w) {
			t.Errorf("the month's bills lack %q:\n%s", w, bills)
		}
	}
	step(t, ctx, "switch to Chinese", chromedp.Click(chromedp.ID("lang")), chromedp.WaitVisible(chromedp.CSS("section.month")))
	if got := text(t, ctx, "h1"); got != "按月份与分类的账单" {
		t.Errorf("heading in Chinese %q", got)
	}

	if *screenshots != "" {
		shoot(t, ctx, f.srv.URL+"/?lang=en", filepath.Join(*screenshots, "demo-wallet.png"))
		shoot(t, ctx, f.srv.URL+"/stats?lang=zh", filepath.Join(*screenshots, "demo-wallet-stats.png"))
	}
}

// shoot writes a PNG of the whole page at url.
func shoot(t *testing.T, ctx context.Context, url, file string) {
	t.Helper()
	step(t, ctx, "open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("footer")))
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", file, len(png))
}
