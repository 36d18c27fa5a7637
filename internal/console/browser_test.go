package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
