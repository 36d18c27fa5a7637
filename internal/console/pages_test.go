package console_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hulian/hulian/internal/wire"
)

// The console's pages in a real browser: the dashboard live while
// payments flow, a settlement window closed from the console and its
// trail, each role's reads and changes on the real pages, both
// languages on every page.

// js evaluates expression in the tab and returns its string value.
func js(t *testing.T, ctx context.Context, expression string) string {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[string](expression, chromedp.EvalAwaitPromise))
}

// number reads a number the page writes with grouped thousands.
func number(s string) float64 {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 64)
	if err != nil {
		return -1
	}
	return f
}

// TestConsoleDashboardLive: the dashboard's numbers move while payments
// flow, updated in place by its stream (the page is not reloaded): the
// payments committed since start grow between two reads of the DOM, the
// rate and the answer time are shown, the payers' positions are ranked.
// Closing the switch with the dashboard open ends its stream at once.
func TestConsoleDashboardLive(t *testing.T) {
	s := start(t)
	sc := s.scene("wallet-a", "wallet-b")
	u := s.user("li.wei", "operator-admin", "")
	ctx := tab(t)
	s.signedIn(t, ctx, u)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#committed-total")))
	js(t, ctx, `window.notReloaded = "yes"`)
	before := number(text(t, ctx, "#committed-total"))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var paid, failed int
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			from, to := "wallet-a", "wallet-b"
			if i%2 == 1 {
				from, to = to, from
			}
			st, err := call(s.url, sc.keys[from], "POST", "/v1/transfers", wire.NewTransfer{ID: fmt.Sprintf("live-%d", i),
				Payee: wire.PayeeRef{Type: "EMAIL", Value: to + "@example.cn"}, Amount: "12.34", Currency: "CNY"}, nil)
			if err != nil || st != 201 {
				failed++
				continue
			}
			paid++
		}
	})
	var once sync.Once
	halt := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer halt()

	read := func() float64 { return number(js(t, ctx, `document.getElementById("committed-total").textContent`)) }
	var first float64
	if !eventually(5*time.Second, func() bool { first = read(); return first > before }) {
		t.Fatalf("committed since start stayed %v while payments flowed", first)
	}
	var second float64
	if !eventually(5*time.Second, func() bool { second = read(); return second > first }) {
		t.Fatalf("committed since start stayed %v, then %v", first, second)
	}
	if !eventually(3*time.Second, func() bool { return number(text(t, ctx, "#rate")) > 0 && text(t, ctx, "#p50") != "–" }) {
		t.Errorf("rate %q, p50 %q while payments flow", text(t, ctx, "#rate"), text(t, ctx, "#p50"))
	}
	if got := js(t, ctx, `window.notReloaded`); got != "yes" {
		t.Error("the page was reloaded rather than updated")
	}
	if rows := text(t, ctx, "table.positions"); !strings.Contains(rows, "wallet-a") || !strings.Contains(rows, "wallet-b") {
		t.Errorf("positions %q", rows)
	}
	if state := text(t, ctx, "#live-state"); state != "Live: updated every second." && state != "实时：每秒更新。" {
		t.Errorf("live state %q", state)
	}
	halt()
	t.Logf("committed since start %v → %v → %v (%d paid, %d failed)", before, first, second, paid, failed)

	// The stream ends with the server: the shutdown does not wait for
	// its deadline (the confirm timeout plus 3 s).
	began := time.Now()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.app.Close(cctx); err != nil {
		t.Errorf("close: %v", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("closing with the dashboard open took %v", took)
	}
}

// TestConsoleWindowClose: the operator's administrator closes the open
// settlement window from the console: the window is closed, its report
// shows each participant's net, downloads as CSV, an instruction is
// recorded as carried out; both actions are in the trail, naming the
// user, with their ledger marks.
func TestConsoleWindowClose(t *testing.T) {
	s := start(t)
	sc := s.scene("wallet-a", "wallet-b")
	for i, amount := range []string{"100.00", "250.50"} {
		if st := sc.pay(fmt.Sprintf("t-%d", i), "wallet-a", "wallet-b", amount); st != 201 {
			t.Fatalf("pay: %d", st)
		}
	}
	id := s.openWindow()
	u := s.user("li.wei", "operator-admin", "")
	ctx := tab(t)
	chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "en"}})
	s.signedIn(t, ctx, u)
	s.visit(t, ctx, "/console/settlement")
	if st := submit(t, ctx, "#window-"+id+" form.close-window button"); st != http.StatusOK {
		t.Fatalf("close from the console: %d", st)
	}
	if loc := location(t, ctx); loc != s.url+"/console/settlement/"+id+"?done=done.window-close" {
		t.Errorf("after closing at %s", loc)
	}
	if msg := text(t, ctx, "#message"); !strings.Contains(msg, "window is closed") {
		t.Errorf("message %q", msg)
	}
	var w wire.SettlementWindow
	s.api("GET", "/v1/settlement-windows/"+id, nil, &w)
	if w.State == "OPEN" {
		t.Fatalf("window %s still open", id)
	}
	if net := text(t, ctx, "#position-wallet-b td.net"); net != "CNY 350.50" {
		t.Errorf("wallet-b's net %q", net)
	}
	if net := text(t, ctx, "#position-wallet-a td.net"); net != "-CNY 350.50" {
		t.Errorf("wallet-a's net %q", net)
	}
	csv := js(t, ctx, `(async () => {
		const r = await fetch(document.getElementById("csv").href);
		return r.status + " " + r.headers.get("Content-Type") + "\n" + await r.text();
	})()`)
	if !strings.HasPrefix(csv, "200 text/csv") || !strings.Contains(csv, id+",CNY,wallet-b,") {
		t.Errorf("CSV download:\n%s", csv)
	}
	if st := submit(t, ctx, "#position-wallet-b form.confirm button"); st != http.StatusOK {
		t.Fatalf("confirm: %d", st)
	}
	if got := text(t, ctx, "#position-wallet-b"); !strings.Contains(got, "confirmed") {
		t.Errorf("wallet-b's instruction after confirming: %q", got)
	}
	var acts struct {
		Actions []struct {
			Username string `json:"username"`
			Role     string `json:"role"`
			Action   string `json:"action"`
			Target   string `json:"target"`
			LedgerID string `json:"ledgerId"`
		} `json:"actions"`
	}
	s.api("GET", "/v1/console/actions", nil, &acts)
	want := []string{"settlement-confirm " + id + " wallet-b", "window-close " + id}
	for i, w := range want {
		if i >= len(acts.Actions) {
			t.Fatalf("trail %+v, want %q", acts.Actions, want)
		}
		a := acts.Actions[i]
		if a.Action+" "+a.Target != w || a.Username != "li.wei" || a.Role != "operator-admin" || len(a.LedgerID) != 32 {
			t.Errorf("trail[%d] %+v, want %q by li.wei", i, a, w)
		}
	}
	s.visit(t, ctx, "/console/audit")
	if trail := text(t, ctx, "#trail"); !strings.Contains(trail, "window-close") || !strings.Contains(trail, acts.Actions[1].LedgerID) {
		t.Errorf("the audit page's trail: %q", trail)
	}
}

// TestConsolePageRoles: each role on the real pages — what it reads, and
// the changes it makes or is refused (403 from the gate or the API, 404
// for another participant's), with nothing changed when refused. The
// operator's viewer and the regulator read everything and change
// nothing; a participant's users read only their participant's; its
// administrator changes its own settings only.
func TestConsolePageRoles(t *testing.T) {
	s := start(t)
	sc := s.scene("wallet-a", "wallet-b", "wallet-c")
	if sc.pay("t-ab", "wallet-a", "wallet-b", "10.00") != 201 || sc.pay("t-bc", "wallet-b", "wallet-c", "20.00") != 201 {
		t.Fatal("pay")
	}
	threshold := func(id string) string {
		var th wire.LiquidityThreshold
		if s.api("GET", "/v1/participants/"+id+"/liquidity/CNY", nil, &th) != 200 {
			return ""
		}
		return th.Threshold
	}
	const (
		ok        = 200
		done      = 303
		forbidden = 403
		absent    = 404
	)
	type want struct {
		reads   map[string]int
		suspend int // wallet-c
		ownLiq  int // wallet-a's threshold
		bLiq    int // wallet-b's threshold
		addUser int
	}
	scheme := map[string]int{"/console/": ok, "/console/participants": ok, "/console/participants/wallet-b": ok,
		"/console/transfers?participant=wallet-b": ok, "/console/transfers/t-bc": ok, "/console/transfers/t-bc/proof": ok,
		"/console/settlement": ok, "/console/audit": ok, "/console/risk": ok}
	mine := map[string]int{"/console/": ok, "/console/participants/wallet-a": ok, "/console/participants/wallet-b": absent,
		"/console/transfers/t-ab": ok, "/console/transfers/t-bc": absent, "/console/transfers/t-bc/proof": absent,
		"/console/transfers/t-ab/proof": ok, "/console/settlement": ok, "/console/audit": ok, "/console/risk": ok,
		"/console/users": forbidden}
	with := func(m map[string]int, k string, v int) map[string]int {
		out := map[string]int{k: v}
		for a, b := range m {
			if a != k {
				out[a] = b
			}
		}
		return out
	}
	for _, c := range []struct {
		role, participant string
		want
	}{
		{"operator-admin", "", want{with(scheme, "/console/users", ok), done, done, done, ok}},
		{"operator-viewer", "", want{with(scheme, "/console/users", forbidden), forbidden, forbidden, forbidden, forbidden}},
		{"regulator", "", want{with(scheme, "/console/users", forbidden), forbidden, forbidden, forbidden, forbidden}},
		{"participant-admin", "wallet-a", want{mine, forbidden, done, absent, forbidden}},
		{"participant-viewer", "wallet-a", want{mine, forbidden, forbidden, forbidden, forbidden}},
	} {
		t.Run(c.role, func(t *testing.T) {
			u := s.user(strings.ReplaceAll(c.role, "-", "."), c.role, c.participant)
			ctx := tab(t)
			s.signedIn(t, ctx, u)
			for path, st := range c.reads {
				resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(s.url+path))
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if int(resp.Status) != st {
					t.Errorf("%s: %d, want %d", path, resp.Status, st)
				}
			}
			s.visit(t, ctx, "/console/")
			scheme := run(t, ctx, chromedp.Evaluate[bool](`!!document.getElementById("throughput")`))
			if scheme == (c.participant != "") {
				t.Errorf("the scheme's throughput shown: %v", scheme)
			}
			if c.participant != "" {
				// The participant list is the scheme's: its users land
				// on their own participant's page.
				s.visit(t, ctx, "/console/participants")
				if loc := location(t, ctx); loc != s.url+"/console/participants/"+c.participant {
					t.Errorf("participants at %s", loc)
				}
				s.visit(t, ctx, "/console/transfers?participant=wallet-b")
				if rows := text(t, ctx, "main"); strings.Contains(rows, "t-bc") || !strings.Contains(rows, "t-ab") {
					t.Errorf("a participant's search shows another's transfers: %q", rows)
				}
				s.visit(t, ctx, "/console/audit")
				if run(t, ctx, chromedp.Evaluate[bool](`!!document.getElementById("trail")`)) {
					t.Error("a participant's user sees the console's trail")
				}
			}
			// Forms are shown to the roles that may use them.
			s.visit(t, ctx, "/console/participants/"+map[bool]string{true: "wallet-a", false: "wallet-c"}[c.participant != ""])
			forms := js(t, ctx, `[...document.querySelectorAll("main form")].map(f => f.id).join(" ")`)
			if has := strings.Contains(forms, "status-form"); has != (c.suspend == done) {
				t.Errorf("forms %q", forms)
			}
			if has := strings.Contains(forms, "liquidity-form"); has != (c.ownLiq == done) {
				t.Errorf("forms %q", forms)
			}
			if st := post(t, ctx, "/console/participants/wallet-c/suspend", nil); st != c.suspend {
				t.Errorf("suspend wallet-c: %d, want %d", st, c.suspend)
			}
			if want := map[bool]string{true: "suspended", false: "active"}[c.suspend == done]; s.status("wallet-c") != want {
				t.Errorf("wallet-c is %s, want %s", s.status("wallet-c"), want)
			}
			if c.suspend == done {
				if st := post(t, ctx, "/console/participants/wallet-c/resume", nil); st != done {
					t.Errorf("resume: %d", st)
				}
			}
			before := threshold("wallet-a")
			if st := post(t, ctx, "/console/participants/wallet-a/liquidity", map[string]string{"currency": "CNY", "threshold": "77.00"}); st != c.ownLiq {
				t.Errorf("wallet-a's threshold: %d, want %d", st, c.ownLiq)
			}
			if after := threshold("wallet-a"); (after == "77.00") != (c.ownLiq == done) || c.ownLiq != done && after != before {
				t.Errorf("wallet-a's threshold %q → %q", before, after)
			}
			s.api("PUT", "/v1/participants/wallet-a/liquidity/CNY", wire.NewLiquidityThreshold{Threshold: "0"}, nil)
			if st := post(t, ctx, "/console/participants/wallet-b/liquidity", map[string]string{"currency": "CNY", "threshold": "66.00"}); st != c.bLiq {
				t.Errorf("wallet-b's threshold: %d, want %d", st, c.bLiq)
			}
			if after := threshold("wallet-b"); (after == "66.00") != (c.bLiq == done) {
				t.Errorf("wallet-b's threshold %q", after)
			}
			s.api("PUT", "/v1/participants/wallet-b/liquidity/CNY", wire.NewLiquidityThreshold{Threshold: "0"}, nil)
			name := "made.by." + strings.ReplaceAll(c.role, "-", ".")
			st := post(t, ctx, "/console/users", map[string]string{"username": name, "password": "a long enough password", "role": "regulator"})
			if want := map[bool]int{true: 201, false: forbidden}[c.addUser == ok]; st != want {
				t.Errorf("create a user: %d, want %d", st, want)
			}
		})
	}

	// A real page's form without its CSRF token is refused and changes
	// nothing.
	u := s.user("csrf.admin", "operator-admin", "")
	ctx := tab(t)
	s.signedIn(t, ctx, u)
	s.visit(t, ctx, "/console/participants/wallet-c")
	js(t, ctx, `document.querySelector("#status-form input[name=csrf]").remove(); ""`)
	if st := submit(t, ctx, "#suspend"); st != http.StatusForbidden {
		t.Errorf("suspend without the CSRF token: %d", st)
	}
	if s.status("wallet-c") != "active" {
		t.Error("suspended without the CSRF token")
	}
	// With it: suspended, and the page says so.
	s.visit(t, ctx, "/console/participants/wallet-c")
	if st := submit(t, ctx, "#suspend"); st != http.StatusOK || s.status("wallet-c") != "suspended" {
		t.Errorf("suspend from its page: %d, %s", st, s.status("wallet-c"))
	}
	if got := text(t, ctx, "#participant-status"); got != "suspended" && got != "已暂停" {
		t.Errorf("status shown %q", got)
	}
}

// untranslated matches a message key shown as it is: a catalog lacks
// it.
var untranslated = regexp.MustCompile(`\b(?:app|nav|lang|role|login|logout|dashboard|error|done|unit|proof|transfers?|settlement|participants?|audit|risk|users|fees|field|status|state|window|kind|acceptance|direction|pager)\.[a-z][a-z0-9.-]*\b`)

// TestConsolePagesLanguages: every page in both languages, switched by
// ?lang=: its title in that language, and no message shown as its key.
func TestConsolePagesLanguages(t *testing.T) {
	s := start(t)
	sc := s.scene("wallet-a", "wallet-b")
	sc.pay("t-1", "wallet-a", "wallet-b", "5.00")
	id := s.openWindow()
	s.api("POST", "/v1/settlement-windows/"+id+"/close", nil, nil)
	s.api("PUT", "/v1/risk/rules/big", wire.RiskRule{Expression: "amount > 100000", Action: "review", Reason: "big", Mode: "enforce"}, nil)
	sc.pay("t-2", "wallet-a", "wallet-b", "2000.00") // held for review
	u := s.user("li.wei", "operator-admin", "")
	ctx := tab(t)
	s.signedIn(t, ctx, u)
	for _, p := range []struct{ path, en, zh string }{
		{"/console/", "Dashboard", "总览"},
		{"/console/participants", "Participants", "参与机构"},
		{"/console/participants/wallet-a", "Participant", "参与机构"},
		{"/console/transfers?participant=wallet-a&state=COMMITTED", "Transfers", "交易"},
		{"/console/transfers/t-2", "Transfer", "交易"},
		{"/console/settlement", "Settlement", "清算"},
		{"/console/settlement/" + id, "Settlement window", "清算窗口"},
		{"/console/audit", "Audit", "审计"},
		{"/console/risk", "Risk", "风控"},
		{"/console/risk?status=closed", "Risk", "风控"},
		{"/console/users", "Users", "用户"},
		{"/console/transfers/nonesuch", "Transfers", "交易"},
	} {
		for lang, h1 := range map[string]string{"en": p.en, "zh": p.zh} {
			sep := "?"
			if strings.Contains(p.path, "?") {
				sep = "&"
			}
			s.visit(t, ctx, p.path+sep+"lang="+lang)
			if got := text(t, ctx, "main h1"); got != h1 {
				t.Errorf("%s in %s: heading %q, want %q", p.path, lang, got, h1)
			}
			body := js(t, ctx, `document.body.innerText`)
			if k := untranslated.FindString(body); k != "" {
				t.Errorf("%s in %s shows the key %q", p.path, lang, k)
			}
			if lang == "zh" && strings.Contains(body, "Sign out") {
				t.Errorf("%s in Chinese shows English", p.path)
			}
		}
	}
	// The language stays once chosen: a page without ?lang= is in it.
	s.visit(t, ctx, "/console/settlement?lang=en")
	s.visit(t, ctx, "/console/audit")
	if got := text(t, ctx, "main h1"); got != "Audit" {
		t.Errorf("the chosen language did not stay: %q", got)
	}
}

// fill sets the inputs of form sel by name, then submits it with its
// submit button (or the button named by button) and returns the status
// of the page it leads to.
func fill(t *testing.T, ctx context.Context, sel string, values map[string]string, button string) int {
	t.Helper()
	for name, v := range values {
		do(t, ctx, chromedp.SetValue(chromedp.CSS(sel+` [name="`+name+`"]`), v))
	}
	if button == "" {
		button = sel + ` button[type="submit"]`
	}
	return submit(t, ctx, button)
}

// TestConsoleOperatorForms: the operator's administrator's forms, each
// done through the API and recorded: onboarding (the credentials shown
// once work), fees, a cap, a risk rule and a decision on the alert it
// raised (the held payment released), a console user created (its TOTP
// key shown once signs it in) and deleted (its session ends).
func TestConsoleOperatorForms(t *testing.T) {
	s := start(t)
	sc := s.scene("wallet-a", "wallet-b")
	u := s.user("li.wei", "operator-admin", "")
	ctx := tab(t)
	chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "en"}})
	s.signedIn(t, ctx, u)

	s.visit(t, ctx, "/console/participants")
	if st := fill(t, ctx, "#onboard", map[string]string{"id": "lotus-bank", "name": "Lotus Bank", "kind": "bank", "currencies": "CNY"}, ""); st != http.StatusCreated {
		t.Fatalf("onboard: %d", st)
	}
	key := text(t, ctx, "#api-key")
	var p wire.Participant
	if st, err := call(s.url, key, "GET", "/v1/participants/lotus-bank", nil, &p); err != nil || st != 200 || p.Kind != "bank" || p.Name != "Lotus Bank" {
		t.Errorf("the API key shown: %d %v %+v", st, err, p)
	}
	if st := fill(t, ctx, "#fees-form", map[string]string{"currency": "CNY", "fixed": "0.50", "rate": "0.10", "min": "0.50", "max": "9.00"}, ""); st != 200 {
		t.Errorf("fees: %d", st)
	}
	if got := text(t, ctx, "#fees"); !strings.Contains(got, "CNY 0.50") || !strings.Contains(got, "0.10%") || !strings.Contains(got, "CNY 9.00") {
		t.Errorf("fees shown %q", got)
	}
	s.visit(t, ctx, "/console/participants/lotus-bank")
	if st := fill(t, ctx, "#limit-form", map[string]string{"netDebitCap": "5000.00"}, ""); st != 200 {
		t.Errorf("cap: %d", st)
	}
	var as wire.Accounts
	s.api("GET", "/v1/participants/lotus-bank/accounts", nil, &as)
	if len(as.Accounts) != 1 || as.Accounts[0].NetDebitCap != "5000.00" {
		t.Errorf("accounts %+v", as)
	}
	// A bad value: the API's refusal, with its status.
	s.visit(t, ctx, "/console/participants/lotus-bank")
	if st := fill(t, ctx, "#limit-form", map[string]string{"netDebitCap": "lots"}, ""); st != http.StatusBadRequest {
		t.Errorf("a bad cap: %d", st)
	}
	if got := text(t, ctx, "#problem"); got == "" {
		t.Error("the refusal is not shown")
	}

	s.visit(t, ctx, "/console/risk")
	if st := fill(t, ctx, "#rule-form", map[string]string{"id": "big", "expression": "amount > 100000", "action": "review", "mode": "enforce",
		"reason": "big-amount"}, ""); st != 200 {
		t.Fatalf("rule: %d", st)
	}
	if st := sc.pay("t-big", "wallet-a", "wallet-b", "2000.00"); st != 201 && st != 202 {
		t.Fatalf("pay: %d", st)
	}
	var tr wire.Transfer
	s.api("GET", "/v1/transfers/t-big", nil, &tr)
	if tr.State != "HELD" {
		t.Fatalf("t-big is %s", tr.State)
	}
	s.visit(t, ctx, "/console/risk")
	if st := submit(t, ctx, `#alerts form.decide button[value="release"]`); st != 200 {
		t.Errorf("release: %d", st)
	}
	s.api("GET", "/v1/transfers/t-big", nil, &tr)
	if tr.State != "COMMITTED" {
		t.Errorf("released, t-big is %s", tr.State)
	}

	s.visit(t, ctx, "/console/users")
	if st := fill(t, ctx, "#create-user", map[string]string{"username": "wang.fang", "password": "another long password", "role": "participant-viewer",
		"participant": "wallet-a"}, ""); st != http.StatusCreated {
		t.Fatalf("create a user: %d", st)
	}
	uri := text(t, ctx, "#totp-uri")
	if !strings.HasPrefix(uri, "otpauth://totp/") || !run(t, ctx, chromedp.Evaluate[bool](`document.getElementById("totp-qr").naturalWidth > 0`)) {
		t.Errorf("TOTP key shown as %q, with its QR code?", uri)
	}
	_, q, _ := strings.Cut(uri, "?secret=")
	secret, _, _ := strings.Cut(q, "&")
	wang := user{name: "wang.fang", password: "another long password", secret: secret}
	other := tab(t)
	s.signedIn(t, other, wang)
	s.visit(t, ctx, "/console/users")
	if st := submit(t, ctx, `#user-wang\.fang button`); st != 200 {
		t.Errorf("delete: %d", st)
	}
	s.visit(t, other, "/console/")
	if loc := location(t, other); loc != s.url+"/console/login" {
		t.Errorf("deleted, its session goes on at %s", loc)
	}

	var acts struct {
		Actions []struct {
			Username string `json:"username"`
			Action   string `json:"action"`
		} `json:"actions"`
	}
	s.api("GET", "/v1/console/actions", nil, &acts)
	var got []string
	for _, a := range acts.Actions {
		if a.Username == "li.wei" {
			got = append(got, a.Action)
		}
	}
	if strings.Join(got, " ") != "console-user-delete console-user-create risk-decision risk-rule-put participant-limit fees-set participant-onboard" {
		t.Errorf("li.wei's trail, newest first: %v", got)
	}
}
