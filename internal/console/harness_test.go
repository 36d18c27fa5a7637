package console_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-json-experiment/json"
	"github.com/pquerna/otp/totp"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/console"
	"github.com/hulian/hulian/internal/wire"
)

// The browser-test harness: a switch running in this process on a clock
// the test moves, reached over real HTTP on loopback, and a headless
// Chromium (Debian's chromium package, which scripts/test.sh installs)
// driven by chromedp. Each test gets its own browser context — its own
// cookies — in one browser shared by the package's tests.

const opToken = "test-operator-token-0123456789abcdef"

// clock is the switch's clock: real time plus an offset the test moves,
// so that lockouts end and sessions idle out without waiting.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

// sw is a switch running in this process.
type sw struct {
	t   *testing.T
	app *app.App
	url string
	clk *clock
}

// start starts a switch on the embedded store in a temporary directory.
func start(t *testing.T) *sw {
	t.Helper()
	return startWith(t, nil)
}

// startWith is start with the switch's config edited by edit.
func startWith(t *testing.T, edit func(*app.Config)) *sw {
	t.Helper()
	clk := &clock{}
	a := apptest.Start(t, func(c *app.Config) {
		c.AdminToken, c.Now, c.ConfirmTimeout = opToken, clk.now, 2*time.Second
		if edit != nil {
			edit(c)
		}
	})
	return &sw{t: t, app: a, url: a.URL(), clk: clk}
}

// api calls the switch's API with the operator's token and decodes the
// answer into out; it returns the status.
func (s *sw) api(method, path string, body, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+opToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// participant creates a participant.
func (s *sw) participant(id string) {
	s.t.Helper()
	if st := s.api("POST", "/v1/participants", wire.NewParticipant{ID: id, Name: strings.ToUpper(id), Kind: "wallet",
		Currencies: []string{"CNY"}}, nil); st != 201 {
		s.t.Fatalf("participant %s: %d", id, st)
	}
}

// user is a console user the test created.
type user struct {
	name, password, secret string
}

// user creates a console user of role (for participant, if a
// participant role) through the API, as the operator would.
func (s *sw) user(name, role, participant string) user {
	s.t.Helper()
	u := user{name: name, password: "correct horse battery " + name}
	var created struct {
		TOTPURI string `json:"totpUri"`
	}
	if st := s.api("POST", "/v1/console/users", map[string]string{"username": name, "password": u.password, "role": role,
		"participant": participant}, &created); st != 201 {
		s.t.Fatalf("console user %s: %d", name, st)
	}
	_, q, _ := strings.Cut(created.TOTPURI, "?secret=")
	u.secret, _, _ = strings.Cut(q, "&")
	return u
}

// code is the user's TOTP code now, by the switch's clock, as the
// user's authenticator app would show it. The clock moves to the next
// 30-second step first, so that no two sign-ins of a test share a code
// (the switch takes each code once).
func (s *sw) code(u user) string {
	s.t.Helper()
	s.clk.advance(30 * time.Second)
	c, err := totp.GenerateCode(u.secret, s.clk.now())
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// client is an HTTP client with its own cookies that does not follow
// redirects, for what a browser cannot be made to send.
func (s *sw) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// The shared browser: started at the first test that needs one, ended by
// TestMain.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

// chromiumPath finds Chromium: Debian's chromium, or what
// HULIAN_CHROMIUM names.
func chromiumPath() (string, error) {
	if p := os.Getenv("HULIAN_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH")
}

func startBrowser() {
	path, err := chromiumPath()
	if err != nil {
		browser.err = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	browser.ctx, browser.cancel = ctx, func() { cancelBrowser(); cancelAlloc() }
	// The browser lives as long as the context of its first action.
	browser.err = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
}

// tab returns a tab of the shared browser in a browser context of its
// own (cookies included), closed when the test ends; every action of the
// test must finish within 30 seconds. Without Chromium the test is
// skipped, unless HULIAN_REQUIRE_CHROMIUM is set (scripts/test.sh sets
// it, after installing Chromium), when it fails.
func tab(t *testing.T) context.Context {
	t.Helper()
	browser.once.Do(startBrowser)
	if browser.err != nil {
		if os.Getenv("HULIAN_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("chromium: %v", browser.err)
		}
		t.Skipf("chromium: %v (scripts/test.sh installs it)", browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	ctx, cancelTime := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() { cancelTime(); cancel() })
	return ctx
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// do runs browser actions, failing the test on error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// run runs one browser action that returns a value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// text is the text of the element sel (a CSS selector), once visible.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return run(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

// submit clicks sel, which submits a form, and returns the status of
// the page it leads to.
func submit(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatal(err)
	}
	return int(resp.Status)
}

// signIn fills and submits the sign-in form as u, with password and
// code, and returns the status of the page it leads to.
func (s *sw) signIn(t *testing.T, ctx context.Context, u user, password, code string) int {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(s.url+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#username"), u.name),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#totp"), code),
	)
	return submit(t, ctx, "#submit")
}

// signedIn signs u in with the right factors and checks it reached the
// dashboard.
func (s *sw) signedIn(t *testing.T, ctx context.Context, u user) {
	t.Helper()
	if st := s.signIn(t, ctx, u, u.password, s.code(u)); st != http.StatusOK {
		t.Fatalf("sign in as %s: status %d", u.name, st)
	}
	if got := text(t, ctx, "#user-name"); got != u.name {
		t.Fatalf("signed in as %q, want %q", got, u.name)
	}
}

// location is the tab's URL.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, chromedp.Location())
}

// testPages registers, on s's console, pages that exercise the
// mechanism part B's pages use: GET /console/test/act is a form (with
// the session's CSRF token) that suspends wallet-b; POST
// /console/test/act/{id} suspends the participant through Console.Act
// and shows the API's status; GET /console/test/read/{id} reads a
// participant through Console.Call and shows the status.
func (s *sw) testPages() {
	c := s.app.Console
	c.Handle("GET /console/test/act", func(w http.ResponseWriter, r *http.Request, v *console.Visit) {
		fmt.Fprintf(w, `<!DOCTYPE html><html><body><form id="act" method="post" action="/console/test/act/wallet-b">`+
			`<input type="hidden" name="csrf" value="%s"><button id="go" type="submit">go</button></form></body></html>`, html.EscapeString(v.User.CSRF))
	})
	c.Handle("POST /console/test/act/{id}", func(w http.ResponseWriter, r *http.Request, v *console.Visit) {
		id := r.PathValue("id")
		a, err := c.Act(r, v, "participant-suspend", id, "POST", "/v1/participants/"+url.PathEscape(id)+"/suspend", nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(a.Status)
		fmt.Fprintf(w, `<!DOCTYPE html><html><body><p id="status">%d</p></body></html>`, a.Status)
	})
	c.Handle("GET /console/test/read/{id}", func(w http.ResponseWriter, r *http.Request, v *console.Visit) {
		a := c.Call(r, v, "GET", "/v1/participants/"+url.PathEscape(r.PathValue("id")), nil)
		fmt.Fprintf(w, `<!DOCTYPE html><html><body><p id="status">%d</p></body></html>`, a.Status)
	})
}

// status reads the participant's status through the API.
func (s *sw) status(id string) string {
	s.t.Helper()
	var p wire.Participant
	if st := s.api("GET", "/v1/participants/"+id, nil, &p); st != 200 {
		s.t.Fatalf("participant %s: %d", id, st)
	}
	return p.Status
}
