package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The console in a real browser: sign-in with both factors and its
// refusals, the lockout and its end, sessions that idle out and end at
// sign-out, CSRF, each role's refused changes, both languages.

// sessionCookie is the tab's session cookie for the console, if any.
func sessionCookie(t *testing.T, ctx context.Context, base string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "hulian_session" {
			return c
		}
	}
	return nil
}

// TestConsoleSignIn: the sign-in form has exactly the inputs username,
// password and totp; with both factors it leads to the dashboard
// through a 303, and sets a session cookie for /console only, HttpOnly,
// SameSite=Strict, not Secure over plain HTTP.
func TestConsoleSignIn(t *testing.T) {
	s := start(t)
	u := s.user("li.wei", "operator-admin", "")
	ctx := tab(t)
	// A page before signing in leads to the form.
	do(t, ctx, chromedp.Navigate(s.url+"/console/settlement"), chromedp.WaitVisible(chromedp.CSS("#login")))
	if loc := location(t, ctx); loc != s.url+"/console/login" {
		t.Errorf("signed out, /console/settlement went to %s", loc)
	}
	names := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#login input")].map(e => e.name)`))
	if strings.Join(names, ",") != "username,password,totp" {
		t.Errorf("sign-in inputs %q", names)
	}
	s.signedIn(t, ctx, u)
	if loc := location(t, ctx); loc != s.url+"/console/" {
		t.Errorf("signed in at %s", loc)
	}
	if role := text(t, ctx, "#user-role"); role == "" {
		t.Error("no role shown")
	}
	c := sessionCookie(t, ctx, s.url)
	if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/console" || c.Secure || len(c.Value) < 22 {
		t.Errorf("session cookie %+v", c)
	}
	// Each section answers for the operator-admin.
	for _, p := range []string{"participants", "transfers", "settlement", "audit", "risk", "users"} {
		resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(s.url+"/console/"+p))
		if err != nil || resp.Status != 200 {
			t.Errorf("/console/%s: %v %v", p, resp, err)
		}
	}
	// The redirect is a 303, as a client that does not follow it sees.
	hc := s.client()
	resp, err := hc.PostForm(s.url+"/console/login", url.Values{"username": {u.name}, "password": {u.password}, "totp": {s.code(u)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Errorf("sign-in answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// otherCode is a 6-digit code that is not c.
func otherCode(c string) string {
	b := []byte(c)
	b[5] = '0' + (b[5]-'0'+5)%10
	return string(b)
}

// TestConsoleSignInRefused: a wrong password, a wrong code, an unknown
// user and a code used before are refused alike (401, the same words,
// no session), saying nothing of which factor failed.
func TestConsoleSignInRefused(t *testing.T) {
	s := start(t)
	s.participant("wallet-a")
	u := s.user("li.wei", "participant-viewer", "wallet-a")
	ctx := tab(t)
	var said string
	for _, c := range []struct {
		name, user, password, code string
	}{
		{"wrong password", u.name, u.password + "!", s.code(u)},
		{"wrong code", u.name, u.password, otherCode(s.code(u))},
		{"unknown user", "nobody.here", u.password, s.code(u)},
	} {
		if st := s.signIn(t, ctx, user{name: c.user}, c.password, c.code); st != http.StatusUnauthorized {
			t.Errorf("%s: status %d", c.name, st)
		}
		msg := text(t, ctx, "#message")
		if said == "" {
			said = msg
		} else if msg != said {
			t.Errorf("%s: %q, another failure said %q", c.name, msg, said)
		}
		if c := sessionCookie(t, ctx, s.url); c != nil {
			t.Errorf("%s: a session cookie %+v", c.Name, c)
		}
	}
	// A code is taken once: the same code again, even at once and with
	// the right password, is refused.
	code := s.code(u)
	if st := s.signIn(t, ctx, u, u.password, code); st != http.StatusOK {
		t.Fatalf("sign in: %d", st)
	}
	other := tab(t)
	if st := s.signIn(t, other, u, u.password, code); st != http.StatusUnauthorized || text(t, other, "#message") != said {
		t.Errorf("replayed code: status %d", st)
	}
}

// TestConsoleLockout: five failed sign-ins lock the user for 15
// minutes, during which the right password and code fail like any
// guess; then it signs in.
func TestConsoleLockout(t *testing.T) {
	s := start(t)
	u := s.user("li.wei", "regulator", "")
	ctx := tab(t)
	for i := range 5 {
		code := s.code(u)
		if i%2 == 1 {
			code = otherCode(code) // guessing the code counts too
		}
		pw := u.password
		if i%2 == 0 {
			pw += "?"
		}
		if st := s.signIn(t, ctx, u, pw, code); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, st)
		}
	}
	var list struct {
		Users []struct {
			Username    string     `json:"username"`
			LockedUntil *time.Time `json:"lockedUntil"`
		} `json:"users"`
	}
	s.api("GET", "/v1/console/users", nil, &list)
	if len(list.Users) != 1 || list.Users[0].LockedUntil == nil {
		t.Fatalf("not locked after five failures: %+v", list)
	}
	lockedAt := s.clk.now()
	if st := s.signIn(t, ctx, u, u.password, s.code(u)); st != http.StatusUnauthorized {
		t.Errorf("locked, the right factors: status %d", st)
	}
	s.clk.advance(lockedAt.Add(14*time.Minute + 29*time.Second).Sub(s.clk.now()))
	if st := s.signIn(t, ctx, u, u.password, s.code(u)); st != http.StatusUnauthorized {
		t.Errorf("locked 14.5 minutes, the right factors: status %d", st)
	}
	s.clk.advance(time.Minute)
	s.signedIn(t, ctx, u)
}

// TestConsoleSessionIdle: a session lives while it is used, and ends 30
// minutes after its last use.
func TestConsoleSessionIdle(t *testing.T) {
	s := start(t)
	u := s.user("li.wei", "operator-viewer", "")
	ctx := tab(t)
	s.signedIn(t, ctx, u)
	for range 3 {
		s.clk.advance(29 * time.Minute)
		do(t, ctx, chromedp.Navigate(s.url+"/console/transfers"), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if loc := location(t, ctx); loc != s.url+"/console/transfers" {
			t.Fatalf("used every 29 minutes, ended: at %s", loc)
		}
	}
	s.clk.advance(30 * time.Minute)
	do(t, ctx, chromedp.Navigate(s.url+"/console/transfers"), chromedp.WaitVisible(chromedp.CSS("#login")))
	if loc := location(t, ctx); loc != s.url+"/console/login" {
		t.Errorf("idle 30 minutes, still signed in: at %s", loc)
	}
}

// TestConsoleLogout: signing out ends the session on the switch, not
// only in the browser: its token opens nothing after.
func TestConsoleLogout(t *testing.T) {
	s := start(t)
	u := s.user("li.wei", "operator-viewer", "")
	ctx := tab(t)
	s.signedIn(t, ctx, u)
	token := sessionCookie(t, ctx, s.url).Value
	if st := submit(t, ctx, "#signout"); st != http.StatusOK {
		t.Errorf("sign out: %d", st)
	}
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#login")))
	if loc := location(t, ctx); loc != s.url+"/console/login" {
		t.Errorf("signed out at %s", loc)
	}
	if c := sessionCookie(t, ctx, s.url); c != nil {
		t.Errorf("session cookie kept: %+v", c)
	}
	req, _ := http.NewRequest("GET", s.url+"/console/", nil)
	req.AddCookie(&http.Cookie{Name: "hulian_session", Value: token})
	resp, err := s.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Errorf("the token after sign-out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestConsoleCSRF: a state-changing form without the session's CSRF
// token, with a wrong one, or posted from another origin's page (even
// with the right token) is refused with 403 and changes nothing; with
// it, the change is made and recorded as the user's.
func TestConsoleCSRF(t *testing.T) {
	s := start(t)
	s.participant("wallet-b")
	s.testPages()
	u := s.user("li.wei", "operator-admin", "")
	ctx := tab(t)
	s.signedIn(t, ctx, u)
	for _, c := range []struct{ name, js string }{
		{"no token", `document.querySelector("input[name=csrf]").remove()`},
		{"wrong token", `document.querySelector("input[name=csrf]").value = "A".repeat(43)`},
		{"empty token", `document.querySelector("input[name=csrf]").value = ""`},
	} {
		do(t, ctx, chromedp.Navigate(s.url+"/console/test/act"), chromedp.WaitVisible(chromedp.CSS("#act")))
		run(t, ctx, chromedp.Evaluate[any](c.js))
		if st := submit(t, ctx, "#go"); st != http.StatusForbidden {
			t.Errorf("%s: status %d", c.name, st)
		}
		if st := s.status("wallet-b"); st != "active" {
			t.Fatalf("%s: wallet-b is %s", c.name, st)
		}
	}
	// Another origin's page that knows the token: refused by its
	// Origin (another port of 127.0.0.1 is the same site, so the
	// SameSite cookie alone would not stop it).
	do(t, ctx, chromedp.Navigate(s.url+"/console/test/act"), chromedp.WaitVisible(chromedp.CSS("#act")))
	token := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("input[name=csrf]").value`))
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!DOCTYPE html><form id="act" method="post" action="%s/console/test/act/wallet-b">`+
			`<input type="hidden" name="csrf" value="%s"><button id="go" type="submit">win a prize</button></form>`, s.url, html.EscapeString(token))
	}))
	defer evil.Close()
	do(t, ctx, chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("#act")))
	if st := submit(t, ctx, "#go"); st != http.StatusForbidden {
		t.Errorf("from another origin: status %d", st)
	}
	if st := s.status("wallet-b"); st != "active" {
		t.Fatalf("from another origin: wallet-b is %s", st)
	}
	// With the token, from the console's page: done, and recorded.
	do(t, ctx, chromedp.Navigate(s.url+"/console/test/act"), chromedp.WaitVisible(chromedp.CSS("#act")))
	if st := submit(t, ctx, "#go"); st != http.StatusOK || text(t, ctx, "#status") != "200" {
		t.Errorf("with the token: status %d", st)
	}
	if st := s.status("wallet-b"); st != "suspended" {
		t.Errorf("with the token: wallet-b is %s", st)
	}
	var acts struct {
		Actions []struct {
			Username string `json:"username"`
			Role     string `json:"role"`
			Action   string `json:"action"`
			Target   string `json:"target"`
		} `json:"actions"`
	}
	s.api("GET", "/v1/console/actions", nil, &acts)
	if len(acts.Actions) < 1 || acts.Actions[0].Username != "li.wei" || acts.Actions[0].Role != "operator-admin" ||
		acts.Actions[0].Action != "participant-suspend" || acts.Actions[0].Target != "wallet-b" {
		t.Errorf("trail: %+v", acts)
	}
}

// TestConsoleRoles: what each role may change and read, through the
// mechanism the pages use (the gate, Console.Act and Console.Call): the
// viewers and the regulator change nothing (403 at the gate), a
// participant's admin may not do the operator's work (403 from the
// API), the operator's admin may; a participant's users read only their
// participant (another is 404). Every role may sign out.
func TestConsoleRoles(t *testing.T) {
	s := start(t)
	s.participant("wallet-a")
	s.participant("wallet-b")
	s.testPages()
	for _, c := range []struct {
		role, participant string
		act               int
		readA, readB      int
		users             bool
	}{
		{"operator-viewer", "", 403, 200, 200, false},
		{"regulator", "", 403, 200, 200, false},
		{"participant-viewer", "wallet-a", 403, 200, 404, false},
		{"participant-admin", "wallet-a", 403, 200, 404, false},
		{"operator-admin", "", 200, 200, 200, true},
	} {
		t.Run(c.role, func(t *testing.T) {
			u := s.user(strings.ReplaceAll(c.role, "-", "."), c.role, c.participant)
			ctx := tab(t)
			s.signedIn(t, ctx, u)
			links := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("nav.sections a")].map(a => a.getAttribute("href"))`))
			if has := strings.Contains(strings.Join(links, " "), "/console/users"); has != c.users {
				t.Errorf("navigation %v", links)
			}
			do(t, ctx, chromedp.Navigate(s.url+"/console/test/act"), chromedp.WaitVisible(chromedp.CSS("#act")))
			if st := submit(t, ctx, "#go"); st != c.act || text(t, ctx, "#status") != fmt.Sprint(c.act) {
				t.Errorf("suspend wallet-b: status %d, want %d", st, c.act)
			}
			if want := map[bool]string{true: "suspended", false: "active"}[c.act == 200]; s.status("wallet-b") != want {
				t.Errorf("wallet-b is %s, want %s", s.status("wallet-b"), want)
			}
			for id, want := range map[string]int{"wallet-a": c.readA, "wallet-b": c.readB} {
				do(t, ctx, chromedp.Navigate(s.url+"/console/test/read/"+id), chromedp.WaitVisible(chromedp.CSS("#status")))
				if got := text(t, ctx, "#status"); got != fmt.Sprint(want) {
					t.Errorf("read %s: %s, want %d", id, got, want)
				}
			}
			do(t, ctx, chromedp.Navigate(s.url+"/console/"), chromedp.WaitVisible(chromedp.CSS("#signout")))
			submit(t, ctx, "#signout")
			do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#login")))
		})
	}
}

// TestConsoleLanguages: the language follows Accept-Language (Chinese
// when it names neither), can be switched on every page, and stays.
func TestConsoleLanguages(t *testing.T) {
	s := start(t)
	u := s.user("li.wei", "operator-admin", "")
	page := func(ctx context.Context) (lang, button string) {
		return run(t, ctx, chromedp.Evaluate[string](`document.documentElement.lang`)), text(t, ctx, "#submit")
	}
	for _, c := range []struct{ accept, lang, button string }{
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "登录"},
		{"en-US,en;q=0.9", "en", "Sign in"},
		{"fr-FR,de;q=0.5", "zh-CN", "登录"},
		{"fr-FR,en;q=0.1", "en", "Sign in"},
	} {
		ctx := tab(t)
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": c.accept}}); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.Navigate(s.url+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#login")))
		if lang, button := page(ctx); lang != c.lang || button != c.button {
			t.Errorf("Accept-Language %s: %s %q, want %s %q", c.accept, lang, button, c.lang, c.button)
		}
	}
	// Chinese by the browser's wish, English by a click, which stays.
	ctx := tab(t)
	chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "zh-CN"}})
	do(t, ctx, chromedp.Navigate(s.url+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#lang-en")))
	do(t, ctx, chromedp.Click(chromedp.CSS("#lang-en")), chromedp.WaitVisible(chromedp.CSS("a#lang-zh")))
	if lang, button := page(ctx); lang != "en" || button != "Sign in" {
		t.Errorf("switched to English: %s %q", lang, button)
	}
	s.signedIn(t, ctx, u)
	if nav := text(t, ctx, "nav.sections a[aria-current=page]"); nav != "Dashboard" {
		t.Errorf("signed in, in English: %q", nav)
	}
	do(t, ctx, chromedp.Navigate(s.url+"/console/settlement"), chromedp.WaitVisible(chromedp.CSS("#lang-zh")))
	do(t, ctx, chromedp.Click(chromedp.CSS("#lang-zh")), chromedp.WaitVisible(chromedp.CSS("a#lang-en")))
	if loc, h1 := location(t, ctx), text(t, ctx, "main h1"); !strings.HasPrefix(loc, s.url+"/console/settlement?") || h1 != "清算" {
		t.Errorf("switched to Chinese: at %s, %q", loc, h1)
	}
	do(t, ctx, chromedp.Navigate(s.url+"/console/"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if h1, role := text(t, ctx, "main h1"), text(t, ctx, "#user-role"); h1 != "总览" || role != "运营管理员" {
		t.Errorf("Chinese kept: %q %q", h1, role)
	}
}
