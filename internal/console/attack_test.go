package console_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// The console attacked from outside, over real HTTP, as a script would
// (what a browser cannot be made to send): the users' API as written,
// sign-in (its lockout, enumeration, fixation, the second factor, idle
// sessions, sign-out), CSRF and origins on every form, every role's
// refused changes and another participant's ids in every form and URL,
// escaping of what outsiders write, redirects, and the live stream.

const regToken = "test-regulator-token-0123456789abcdef"

// startReg is start with a regulator token too.
func startReg(t *testing.T) *sw {
	t.Helper()
	return startWith(t, func(c *app.Config) { c.RegulatorToken = regToken })
}

// agent is a scripted browser: its own cookies, no redirects followed.
type agent struct {
	s    *sw
	t    *testing.T
	c    *http.Client
	csrf string
}

func (s *sw) agent(t *testing.T) *agent { return &agent{s: s, t: t, c: s.client()} }

// answer is a console answer, its body read.
type answer struct {
	status int
	header http.Header
	body   string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// do sends a request to the console; a page's CSRF token is kept.
func (g *agent) do(method, path string, form url.Values, hdr map[string]string) answer {
	g.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, g.s.url+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := g.c.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(b)); m != nil {
		g.csrf = m[1]
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (g *agent) get(path string) answer { g.t.Helper(); return g.do("GET", path, nil, nil) }

// post posts form with the agent's CSRF token (unless form has one).
func (g *agent) post(path string, form url.Values) answer {
	g.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", g.csrf)
	}
	return g.do("POST", path, form, nil)
}

// login posts the sign-in form.
func (g *agent) login(name, password, code string) answer {
	g.t.Helper()
	return g.do("POST", "/console/login", url.Values{"username": {name}, "password": {password}, "totp": {code}}, nil)
}

// signIn signs u in and reads a page for the CSRF token.
func (g *agent) signIn(u user) {
	g.t.Helper()
	if a := g.login(u.name, u.password, g.s.code(u)); a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/" {
		g.t.Fatalf("sign in %s: %d %s", u.name, a.status, a.header.Get("Location"))
	}
	if a := g.get("/console/logout"); a.status != 200 || g.csrf == "" {
		g.t.Fatalf("%s: no CSRF token (%d)", u.name, a.status)
	}
}

// signedIn reports whether the agent's session is alive.
func (g *agent) signedIn() bool {
	g.t.Helper()
	a := g.get("/console/")
	return a.status == 200
}

// sessionSet is the session cookie a sign-in answer set, raw.
func sessionSet(h http.Header) string {
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, "hulian_session=") {
			return c
		}
	}
	return ""
}

// TestAttackUsersAPI: POST /v1/console/users as written, only with the
// operator's token; the list shows no hash or secret; a deletion ends
// the user's sessions at once.
func TestAttackUsersAPI(t *testing.T) {
	s := startReg(t)
	sc := s.scene("wallet-a")
	long := "a long enough password"
	for _, c := range []struct {
		name string
		body map[string]string
		want int
	}{
		{"short password", map[string]string{"username": "user1", "password": "elevenchars", "role": "operator-admin"}, 400},
		{"12 characters", map[string]string{"username": "user2", "password": "twelve chars", "role": "operator-viewer"}, 201},
		{"unknown role", map[string]string{"username": "user3", "password": long, "role": "root"}, 400},
		{"participant role, none", map[string]string{"username": "user4", "password": long, "role": "participant-admin"}, 400},
		{"participant role, no such", map[string]string{"username": "user5", "password": long, "role": "participant-admin", "participant": "ghost"}, 0},
		{"participant role", map[string]string{"username": "user6", "password": long, "role": "participant-viewer", "participant": "wallet-a"}, 201},
		{"duplicate", map[string]string{"username": "user6", "password": long, "role": "regulator"}, 409},
		{"duplicate, other case", map[string]string{"username": "USER6", "password": long, "role": "regulator"}, 409},
		{"bad username", map[string]string{"username": "<script>", "password": long, "role": "regulator"}, 400},
	} {
		var out map[string]any
		st := s.api("POST", "/v1/console/users", c.body, &out)
		if c.want == 0 {
			if st < 400 || st >= 500 {
				t.Errorf("%s: %d", c.name, st)
			}
			continue
		}
		if st != c.want && !(c.want == 400 && st == 422) {
			t.Errorf("%s: %d, want %d", c.name, st, c.want)
			continue
		}
		if st != 201 {
			continue
		}
		uri, _ := out["totpUri"].(string)
		if out["username"] != c.body["username"] || out["role"] != c.body["role"] || (c.body["participant"] != "" && out["participant"] != c.body["participant"]) ||
			!regexp.MustCompile(`^otpauth://totp/[^?]+\?(.*&)?secret=[A-Z2-7]+(&.*)?$`).MatchString(uri) ||
			!regexp.MustCompile(`[?&]issuer=Hulian(&|$)`).MatchString(uri) {
			t.Errorf("%s: answer %v", c.name, out)
		}
	}
	// Other credentials.
	body := map[string]string{"username": "mallory", "password": long, "role": "operator-admin"}
	for name, token := range map[string]string{"participant": sc.keys["wallet-a"], "regulator": regToken, "none": "", "wrong": "x" + opToken} {
		for _, m := range []struct{ method, path string }{{"POST", "/v1/console/users"}, {"GET", "/v1/console/users"}, {"DELETE", "/v1/console/users/user2"}} {
			if name == "regulator" && m.method == "GET" {
				continue // the regulator reads everything, the users' list (no secret in it) too
			}
			st, _ := call(s.url, token, m.method, m.path, body, nil)
			if st != 401 && st != 403 {
				t.Errorf("%s token: %s %s: %d", name, m.method, m.path, st)
			}
		}
	}
	// The list: no hash, no secret, no TOTP URI.
	raw := s.get("/v1/console/users")
	for _, bad := range []string{"argon2", "$", "secret", "totp", "hash", "password"} {
		if strings.Contains(strings.ToLower(raw), bad) {
			t.Errorf("the list shows %q: %s", bad, raw)
		}
	}
	if strings.Contains(raw, "mallory") {
		t.Error("a refused creation made mallory")
	}
	// Deletion ends the sessions at once.
	u := s.user("li.wei", "operator-admin", "")
	g := s.agent(t)
	g.signIn(u)
	if st := s.api("GET", "/v1/console/users", nil, nil); st != 200 || !strings.Contains(s.get("/v1/console/users"), "user2") {
		t.Errorf("a refused deletion deleted user2")
	}
	if st := s.api("DELETE", "/v1/console/users/li.wei", nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if g.signedIn() {
		t.Error("deleted, its session goes on")
	}
	if a := g.post("/console/participants/wallet-a/suspend", nil); a.status != 403 || s.status("wallet-a") != "active" {
		t.Errorf("deleted, its form: %d, wallet-a %s", a.status, s.status("wallet-a"))
	}
	if g.login(u.name, u.password, s.code(u)).status == http.StatusSeeOther {
		t.Error("deleted, it signs in")
	}
}

// TestAttackSignIn: the form's inputs; the lockout after five failures
// of any factor, for 15 minutes; an unknown user answered as a wrong
// password, in about the time; no session before both factors, none
// taken from the client; the idle timeout; sign-out needs its token;
// no redirect elsewhere.
func TestAttackSignIn(t *testing.T) {
	s := start(t)
	u := s.user("li.wei", "operator-admin", "")
	g := s.agent(t)

	page := g.get("/console/login?next=https://evil.example/&return=//evil.example")
	names := regexp.MustCompile(`<input[^>]* name="([^"]+)"`).FindAllStringSubmatch(page.body, -1)
	var got []string
	for _, n := range names {
		got = append(got, n[1])
	}
	if !slices.Equal(got, []string{"username", "password", "totp"}) ||
		!strings.Contains(page.body, `<form method="post" action="/console/login"`) {
		t.Errorf("the form's inputs %v", got)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q", csp)
	}

	// Fixation: a cookie the attacker planted is not the session.
	planted := "planted-session-token-0123456789abcdefghijk"
	base, _ := url.Parse(s.url + "/console/")
	g.c.Jar.SetCookies(base, []*http.Cookie{{Name: "hulian_session", Value: planted, Path: "/console"}})
	// Right password, wrong code: no session.
	a := g.login(u.name, u.password, otherCode(s.code(u)))
	if a.status != 401 || sessionSet(a.header) != "" {
		t.Errorf("one factor: %d, cookie %q", a.status, sessionSet(a.header))
	}
	a = g.do("POST", "/console/login?next=https://evil.example/", url.Values{"username": {u.name}, "password": {u.password}, "totp": {s.code(u)}}, nil)
	ck := sessionSet(a.header)
	if a.status != 303 || a.header.Get("Location") != "/console/" {
		t.Errorf("sign in: %d to %q", a.status, a.header.Get("Location"))
	}
	if !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || !strings.Contains(ck, "Path=/console") ||
		strings.Contains(ck, planted) || strings.Contains(ck, "Domain=") {
		t.Errorf("cookie %q", ck)
	}
	att := s.agent(t)
	att.c.Jar.SetCookies(base, []*http.Cookie{{Name: "hulian_session", Value: planted, Path: "/console"}})
	if att.signedIn() {
		t.Error("the planted cookie is a session")
	}
	if !g.signedIn() {
		t.Fatal("not signed in")
	}
	// Sign-out: a GET asks, a POST without the token is refused.
	g.get("/console/logout")
	for _, form := range []url.Values{{}, {"csrf": {"x" + g.csrf}}} {
		if a := g.do("POST", "/console/logout", form, nil); a.status != 403 || !g.signedIn() {
			t.Errorf("sign-out with %v: %d", form, a.status)
		}
	}
	if a := g.do("POST", "/console/logout", url.Values{"csrf": {g.csrf}}, map[string]string{"Origin": "http://evil.example"}); a.status != 403 || !g.signedIn() {
		t.Errorf("sign-out from elsewhere: %d", a.status)
	}
	// Idle: 29 minutes keep it, 30 end it.
	s.clk.advance(29 * time.Minute)
	if !g.signedIn() {
		t.Error("ended after 29 idle minutes")
	}
	s.clk.advance(30*time.Minute + time.Second)
	if g.signedIn() {
		t.Error("alive after 30 idle minutes")
	}
	g.signIn(u)
	old := g.csrf
	if a := g.post("/console/logout", nil); a.status != 303 || g.signedIn() {
		t.Errorf("sign-out: %d", a.status)
	}
	g.csrf = old
	if a := g.post("/console/participants", url.Values{"id": {"after-logout"}, "name": {"X"}, "kind": {"wallet"}, "currencies": {"CNY"}}); a.status != 403 {
		t.Errorf("after sign-out: %d", a.status)
	}

	// Lockout by wrong codes: the sixth, right, is refused for 15 min.
	fail := func(name string, n int, password func() string, code func() string) []answer {
		var out []answer
		for range n {
			out = append(out, g.login(name, password(), code()))
		}
		return out
	}
	for _, a := range fail(u.name, 5, func() string { return u.password }, func() string { return otherCode(s.code(u)) }) {
		if a.status != 401 {
			t.Errorf("a wrong code: %d", a.status)
		}
	}
	locked := s.clk.now()
	if a := g.login(u.name, u.password, s.code(u)); a.status != 401 {
		t.Errorf("locked, the right factors: %d", a.status)
	}
	s.clk.advance(14*time.Minute - s.clk.now().Sub(locked)) // the next code moves 30 s
	if a := g.login(u.name, u.password, s.code(u)); a.status != 401 {
		t.Errorf("locked 14 min later: %d", a.status)
	}
	s.clk.advance(time.Minute + time.Second)
	if a := g.login(u.name, u.password, s.code(u)); a.status != 303 {
		t.Errorf("15 min later: %d", a.status)
	}
	// Four failures and a success: not locked.
	fail(u.name, 4, func() string { return "wrong password!!" }, func() string { return s.code(u) })
	if a := g.login(u.name, u.password, s.code(u)); a.status != 303 {
		t.Errorf("after 4 failures: %d", a.status)
	}

	// An unknown user: answered as a known one's wrong password, in
	// comparable time.
	norm := func(a answer) string { return regexp.MustCompile(`value="[^"]*"`).ReplaceAllString(a.body, "") }
	known, unknown := g.login(u.name, "wrong password!!", s.code(u)), g.login("nobody.here", "wrong password!!", "123456")
	if known.status != unknown.status || norm(known) != norm(unknown) {
		t.Errorf("unknown user: %d vs %d", unknown.status, known.status)
	}
	timed := func(name string) time.Duration {
		var ds []time.Duration
		for len(ds) < 5 {
			t0 := time.Now()
			a := g.login(name, "wrong password!!", "123456")
			if a.status == http.StatusTooManyRequests {
				// The sign-in rate limit (real time) answers before any
				// hash: wait for it rather than time a refusal.
				time.Sleep(150 * time.Millisecond)
				continue
			}
			if a.status != http.StatusUnauthorized {
				t.Fatalf("timing %s: %d", name, a.status)
			}
			ds = append(ds, time.Since(t0))
			s.clk.advance(16 * time.Minute) // no lockout in the way
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[2]
	}
	tk, tu := timed(u.name), timed("nobody.else")
	if tu*3 < tk {
		t.Errorf("an unknown user takes %v, a known one %v", tu, tk)
	}
}

// forms are the console's state-changing forms, for wallet-b (the
// victim) and window w.
func forms(w string) []struct {
	path string
	form url.Values
} {
	return []struct {
		path string
		form url.Values
	}{
		{"/console/participants", url.Values{"id": {"evil-pay"}, "name": {"Evil"}, "kind": {"wallet"}, "currencies": {"CNY"}}},
		{"/console/participants/wallet-b/suspend", nil},
		{"/console/participants/wallet-c/resume", nil},
		{"/console/participants/wallet-b/limit", url.Values{"currency": {"CNY"}, "netDebitCap": {"1.00"}}},
		{"/console/participants/wallet-b/liquidity", url.Values{"currency": {"CNY"}, "threshold": {"99999.00"}}},
		{"/console/participants/wallet-b/callback", url.Values{"callbackUrl": {"https://evil.example/cb"}}},
		{"/console/fees", url.Values{"currency": {"CNY"}, "fixed": {"9.00"}, "rate": {"1"}, "min": {"9.00"}, "max": {"99.00"}}},
		{"/console/settlement/" + w + "/close", nil},
		{"/console/settlement/" + w + "/confirm", url.Values{"participant": {"wallet-b"}, "amount": {"1.00"}}},
		{"/console/risk/rules", url.Values{"id": {"evil"}, "expression": {"amount > 1"}, "action": {"block"}, "mode": {"enforce"}, "reason": {"evil"}}},
		{"/console/risk/rules/keep/delete", nil},
		{"/console/risk/alerts/1/decision", url.Values{"decision": {"release"}}},
		{"/console/users", url.Values{"username": {"mallory"}, "password": {"a long enough password"}, "role": {"operator-admin"}}},
		{"/console/users/li.wei/delete", nil},
	}
}

// state is what the forms could change, as the operator reads it.
func (s *sw) state() string {
	s.t.Helper()
	var b strings.Builder
	for _, p := range []string{"/v1/participants", "/v1/participants/wallet-b/accounts", "/v1/participants/wallet-b/liquidity/CNY", "/v1/fees",
		"/v1/settlement-windows", "/v1/risk/rules", "/v1/console/users"} {
		var v any
		s.api("GET", p, nil, &v)
		j, _ := json.Marshal(v, json.Deterministic(true))
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// attackScene is a switch with wallets a, b and c (c suspended; t-b
// paid by b to c), a
// window, a risk rule "keep", the operator's admin li.wei, and users of
// every other role.
func attackScene(t *testing.T) (*scene, map[string]user, string) {
	s := start(t)
	sc := s.scene("wallet-a", "wallet-b", "wallet-c")
	if st := sc.pay("t-b", "wallet-b", "wallet-c", "10.00"); st != 201 && st != 202 {
		t.Fatalf("pay: %d", st)
	}
	if st := s.api("POST", "/v1/participants/wallet-c/suspend", nil, nil); st != 200 {
		t.Fatalf("suspend c: %d", st)
	}
	if st := s.api("PUT", "/v1/risk/rules/keep", wire.RiskRule{Expression: "amount > 10000000", Action: "review", Mode: "enforce",
		Reason: "keep"}, nil); st != 200 && st != 201 {
		t.Fatalf("rule: %d", st)
	}
	us := map[string]user{
		"operator-admin":     s.user("li.wei", "operator-admin", ""),
		"operator-viewer":    s.user("zhao.min", "operator-viewer", ""),
		"regulator":          s.user("chen.jun", "regulator", ""),
		"participant-admin":  s.user("a.admin", "participant-admin", "wallet-a"),
		"participant-viewer": s.user("a.viewer", "participant-viewer", "wallet-a"),
	}
	return sc, us, s.openWindow()
}

// TestAttackCSRF: every form refused without its token, with a wrong
// one, with another session's, and from another origin; a GET of a
// form's path changes nothing.
func TestAttackCSRF(t *testing.T) {
	sc, us, w := attackScene(t)
	s := sc.sw
	g, other := s.agent(t), s.agent(t)
	g.signIn(us["operator-admin"])
	other.signIn(us["operator-viewer"])
	before := s.state()
	for _, f := range forms(w) {
		form := func(csrf string) url.Values {
			v := url.Values{}
			for k, x := range f.form {
				v[k] = x
			}
			if csrf != "-" {
				v.Set("csrf", csrf)
			}
			return v
		}
		for _, c := range []struct {
			name string
			form url.Values
			hdr  map[string]string
		}{
			{"no token", form("-"), nil},
			{"empty token", form(""), nil},
			{"wrong token", form(strings.Repeat("A", len(g.csrf))), nil},
			{"another session's token", form(other.csrf), nil},
			{"token in the query", form("-"), nil},
			{"another origin", form(g.csrf), map[string]string{"Origin": "http://evil.example"}},
			{"null origin", form(g.csrf), map[string]string{"Origin": "null"}},
			{"another referer", form(g.csrf), map[string]string{"Referer": "http://evil.example/console/"}},
		} {
			path := f.path
			if c.name == "token in the query" {
				path += "?csrf=" + url.QueryEscape(g.csrf)
			}
			if a := g.do("POST", path, c.form, c.hdr); a.status != 403 {
				t.Errorf("%s %s: %d", c.name, f.path, a.status)
			}
		}
		for _, m := range []string{"GET", "HEAD", "PUT", "DELETE", "PATCH"} {
			if a := g.do(m, f.path, nil, nil); a.status < 300 && m != "GET" && m != "HEAD" {
				t.Errorf("%s %s: %d", m, f.path, a.status)
			}
		}
	}
	if after := s.state(); after != before {
		t.Errorf("changed:\n%s\n%s", before, after)
	}
	if !g.signedIn() {
		t.Error("the session ended")
	}
	// The right token, from the console: done.
	if a := g.post("/console/participants/wallet-b/suspend", nil); a.status != 303 || s.status("wallet-b") != "suspended" {
		t.Errorf("with the token: %d", a.status)
	}
}

// TestAttackRoles: the viewers and the regulator change nothing; a
// participant's admin changes nothing of another participant's, nor the
// operator's; a participant's users read nothing of another's.
func TestAttackRoles(t *testing.T) {
	sc, us, w := attackScene(t)
	s := sc.sw
	if st := sc.pay("t-a", "wallet-a", "wallet-b", "10.00"); st != 201 && st != 202 {
		t.Fatalf("pay: %d", st)
	}
	before := s.state()
	for _, role := range []string{"operator-viewer", "regulator", "participant-admin", "participant-viewer"} {
		g := s.agent(t)
		g.signIn(us[role])
		for _, f := range forms(w) {
			if a := g.post(f.path, f.form); a.status != 403 && a.status != 404 {
				t.Errorf("%s: %s: %d", role, f.path, a.status)
			}
		}
		if a := g.get("/console/users"); a.status != 403 || strings.Contains(a.body, "li.wei") {
			t.Errorf("%s: the users' page: %d", role, a.status)
		}
		if a := g.get("/console/settlement/" + w + "/report.csv"); a.status >= 500 {
			t.Errorf("%s: the CSV: %d", role, a.status)
		}
		if role == "participant-admin" || role == "participant-viewer" {
			for _, p := range []string{"/console/participants/wallet-b", "/console/transfers/t-b", "/console/transfers/t-b/proof",
				"/console/participants/..%2Fwallet-b", "/console/transfers?participant=wallet-b", "/console/risk"} {
				a := g.get(p)
				if strings.Contains(a.body, ">t-b<") || strings.Contains(a.body, ">Wallet B<") {
					t.Errorf("%s: %s shows wallet-b's", role, p)
				}
				if strings.HasPrefix(p, "/console/participants/wallet-b") || strings.HasPrefix(p, "/console/transfers/t-b") {
					if a.status != 403 && a.status != 404 {
						t.Errorf("%s: %s: %d", role, p, a.status)
					}
				}
			}
			if a := g.get("/console/transfers/t-a"); a.status != 200 {
				t.Errorf("%s: its own transfer: %d", role, a.status)
			}
		}
	}
	if after := s.state(); after != before {
		t.Errorf("changed:\n%s\n%s", before, after)
	}
}

// TestAttackXSS: what outsiders write (a participant's name, a payment's
// note, a rule's description and reason, a decision's note, query
// parameters, the API's refusals) is escaped on every page.
func TestAttackXSS(t *testing.T) {
	const x = `<script>alert(1)</script>"onmouseover="alert(2)`
	sc, us, _ := attackScene(t)
	s := sc.sw
	g := s.agent(t)
	g.signIn(us["operator-admin"])
	var p wire.Participant
	name := ""
	if st := s.api("POST", "/v1/participants", wire.NewParticipant{ID: "xss-pay", Name: x, Kind: "wallet", Currencies: []string{"CNY"}}, &p); st == 201 {
		name = x
	}
	s.api("PUT", "/v1/risk/rules/big", wire.RiskRule{Expression: "amount > 100000", Action: "review", Mode: "enforce", Reason: "big",
		Description: x}, nil)
	st, _ := call(s.url, sc.keys["wallet-a"], "POST", "/v1/transfers", wire.NewTransfer{ID: "t-x", Payee: wire.PayeeRef{Type: "EMAIL",
		Value: "wallet-b@example.cn"}, Amount: "2000.00", Currency: "CNY", Note: x}, nil)
	t.Logf("name taken: %v; the transfer: %d", name != "", st)
	var alerts wire.RiskAlerts
	s.api("GET", "/v1/risk/alerts?status=open", nil, &alerts)
	for _, al := range alerts.Alerts {
		g.get("/console/risk")
		g.post("/console/risk/alerts/"+url.PathEscape(al.ID)+"/decision", url.Values{"decision": {"reject"}, "note": {x}})
	}
	// The payloads are shown, escaped: the checks below see them.
	for _, pg := range []string{"/console/participants", "/console/participants/xss-pay", "/console/transfers/t-x", "/console/risk"} {
		if a := g.get(pg); a.status != 200 || !strings.Contains(a.body, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover=&#34;alert(2)") {
			t.Errorf("%s (%d) does not show the payload escaped", pg, a.status)
		}
	}
	q := url.QueryEscape(x)
	pages := []string{"/console/", "/console/participants", "/console/participants/xss-pay", "/console/transfers/t-x", "/console/risk",
		"/console/risk?status=closed", "/console/transfers?id=" + q + "&participant=" + q + "&state=" + q, "/console/participants?q=" + q + "&status=" + q,
		"/console/risk?rule=" + q + "&since=" + q, "/console/settlement?state=" + q, "/console/users?after=" + q, "/console/transfers/" + url.PathEscape(x),
		"/console/participants/" + url.PathEscape(x), "/console/?lang=" + q, "/console/audit"}
	for _, pg := range pages {
		a := g.get(pg)
		if strings.Contains(a.body, "<script>alert") || strings.Contains(a.body, `"onmouseover=`) || strings.Contains(a.body, `" onmouseover`) ||
			regexp.MustCompile(`<script(\s[^>]*)?>[^<]`).MatchString(a.body) {
			t.Errorf("%s (%d) shows the payload raw", pg, a.status)
		}
	}
	// A form the API refuses with the input in its problem.
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/console/participants", url.Values{"id": {x}, "name": {x}, "kind": {x}, "currencies": {x}, "callbackUrl": {x}}},
		{"/console/participants/wallet-b/limit", url.Values{"currency": {"CNY"}, "netDebitCap": {x}}},
		{"/console/risk/rules", url.Values{"id": {"r1"}, "expression": {x}, "action": {x}, "mode": {x}, "reason": {x}, "description": {x}}},
		{"/console/users", url.Values{"username": {x}, "password": {x + x}, "role": {x}}},
	} {
		a := g.post(f.path, f.form)
		if strings.Contains(a.body, "<script>alert") || strings.Contains(a.body, `"onmouseover=`) {
			t.Errorf("%s (%d) shows the payload raw", f.path, a.status)
		}
	}
	// The stream's first tick too.
	if body := firstTick(t, g); strings.Contains(body, "<script>alert") {
		t.Error("the stream shows the payload raw")
	}
}

// firstTick reads the first event of the agent's live stream.
func firstTick(t *testing.T, g *agent) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.s.url+"/console/events", nil)
	resp, err := g.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		if sc.Text() == "" && b.Len() > 0 {
			break
		}
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// TestAttackStream: no stream without a session; a participant's
// stream shows only its participant; one session cannot take every
// stream the switch allows, and others still get theirs.
func TestAttackStream(t *testing.T) {
	sc, us, _ := attackScene(t)
	s := sc.sw
	anon := s.agent(t)
	if a := anon.get("/console/events"); a.status == 200 || strings.Contains(a.header.Get("Content-Type"), "event-stream") {
		t.Errorf("no session: %d %s", a.status, a.header.Get("Content-Type"))
	}
	pa := s.agent(t)
	pa.signIn(us["participant-viewer"])
	tick := firstTick(t, pa)
	if !strings.Contains(tick, "event: tick") {
		t.Fatalf("first event %q", tick)
	}
	for _, other := range []string{"wallet-b", "wallet-c", "Wallet B", "Wallet C"} {
		if strings.Contains(tick, other) {
			t.Errorf("wallet-a's stream shows %s", other)
		}
	}
	// One session opens streams until refused.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opened := 0
	for opened < 250 {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/console/events", nil)
		resp, err := pa.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			break
		}
		defer resp.Body.Close()
		opened++
	}
	if opened > 8 {
		t.Errorf("one user holds %d streams", opened)
	}
	op := s.agent(t)
	op.signIn(us["operator-admin"])
	if !strings.Contains(firstTick(t, op), "event: tick") {
		t.Error("another user gets no stream")
	}
}
