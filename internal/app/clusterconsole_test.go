package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestClusterConsoleSession: a console user signed in through a follower
// stays signed in after the leader goes — the session is the
// database's, not the old leader's memory — and a sign-out at the new
// leader ends it.
func TestClusterConsoleSession(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster on PostgreSQL")
	}
	open := inProcessCluster(t, nil)
	n0 := open("node0")
	waitFor(t, "node0 leads", 15*time.Second, hasRole(n0, "leader"))
	n1 := open("node1")
	waitFor(t, "node1 follows", 15*time.Second, hasRole(n1, "follower"))

	op := &sw{t: t, url: n0.URL(), hc: &http.Client{Timeout: 30 * time.Second}}
	password := "correct horse battery staple"
	var created struct {
		TOTPURI string `json:"totpUri"`
	}
	op.ok(201, "POST", "/v1/console/users", opToken, map[string]string{"username": "ops1", "password": password,
		"role": "operator-admin"}, &created)
	_, q, _ := strings.Cut(created.TOTPURI, "?secret=")
	secret, _, _ := strings.Cut(q, "&")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var csrf string
	status := func(n interface{ URL() string }, method, path string, form url.Values) (int, string) {
		t.Helper()
		var r *http.Response
		var err error
		if method == "POST" {
			r, err = browser.PostForm(n.URL()+path, form)
		} else {
			r, err = browser.Get(n.URL() + path)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b); m != nil {
			csrf = string(m[1])
		}
		return r.StatusCode, r.Header.Get("Location")
	}
	if st, loc := status(n1, "POST", "/console/login", url.Values{"username": {"ops1"}, "password": {password}, "totp": {code}}); st != http.StatusSeeOther || loc != "/console/" {
		t.Fatalf("sign in through the follower: %d %q", st, loc)
	}
	if st, _ := status(n1, "GET", "/console/", nil); st != http.StatusOK {
		t.Fatalf("the console through the follower: %d", st)
	}

	if err := n0.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node1 leads", 15*time.Second, hasRole(n1, "leader"))
	if st, loc := status(n1, "GET", "/console/", nil); st != http.StatusOK {
		t.Fatalf("the console at the new leader: %d %q, want the session kept", st, loc)
	}
	// Signing out there ends it.
	if st, _ := status(n1, "GET", "/console/logout", nil); st != http.StatusOK || csrf == "" {
		t.Fatalf("GET /console/logout: %d, CSRF token %q", st, csrf)
	}
	if st, _ := status(n1, "POST", "/console/logout", url.Values{"csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("POST /console/logout: %d", st)
	}
	if st, loc := status(n1, "GET", "/console/", nil); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login") {
		t.Fatalf("the console after signing out: %d %q, want a redirect to the sign-in", st, loc)
	}
}
