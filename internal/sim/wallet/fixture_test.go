package wallet

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
)

// fixture is a switch in-process with the simulators' participants set
// up (no traffic), a person at Peony Pay with its welcome past, and the
// person's wallet served over HTTP on loopback.
type fixture struct {
	app    *app.App
	sc     *sim.Scenario
	person *sim.Person
	wallet *Server
	srv    *httptest.Server
}

// The person of the tests, and what the welcome leaves in its account:
// the opening balance, a salary and a friend's share received, a meal
// and movie tickets paid.
const (
	personPhone = "+8613712345678"
	welcomed    = money.Amount(8_000_00 + 3_800_00 + 120_00 - 36_00 - 86_50)
)

// newFixture starts it all; everything stops when the test ends.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	a := apptest.Start(t, func(c *app.Config) {
		c.Callback.AllowPrivate = true // the simulated wallets listen on loopback
	})
	sc, err := sim.NewScenario(a.URL(), a.AdminToken, sim.ScenarioConfig{Users: 100, Concurrency: 2, NoCrossBorder: true, Seed: 19,
		NoScreen: true}) // a payment to bamboo-wallet must commit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := sc.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	pe, err := sc.OpenPerson(ctx, sim.PersonConfig{Participant: "peony-pay", ID: "p-li", Name: "李晓明", Opening: 8_000_00,
		Phone: personPhone, Email: "xiaoming@peony.example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Welcome(ctx, pe); err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Person: pe})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return &fixture{app: a, sc: sc, person: pe, wallet: w, srv: srv}
}

// browser is an HTTP client that keeps cookies and does not follow
// redirects, as the tests read them.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
	lang string // Accept-Language
}

func (f *fixture) browser(t *testing.T, lang string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: f.srv.URL, lang: lang, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is a page as the tests read it.
type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	all, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(all)}
}

func (b *browser) get(path string) answer { b.t.Helper(); return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values, hdr ...string) answer {
	b.t.Helper()
	return b.do(http.MethodPost, path, form, hdr...)
}

// follow gets where a 303 leads.
func (b *browser) follow(a answer) answer {
	b.t.Helper()
	if a.status != http.StatusSeeOther {
		b.t.Fatalf("status %d, want 303:\n%s", a.status, a.body)
	}
	return b.get(a.header.Get("Location"))
}

var (
	tokenRE   = regexp.MustCompile(`name="csrf" value="([0-9a-f]{32})"`)
	paymentRE = regexp.MustCompile(`name="payment" value="([0-9a-f]{32})"`)
)

// token returns the forms' token of a page.
func token(t *testing.T, a answer) string {
	t.Helper()
	m := tokenRE.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no form token in the page (%d):\n%s", a.status, a.body)
	}
	return m[1]
}

// httptestServer serves h until the test ends, and returns its URL.
func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// newFormRequest is a POST of a form with token tok, from session.
func newFormRequest(session, tok string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/pay", strings.NewReader(url.Values{tokenField: {tok}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	return r
}
