package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/console"
	"github.com/hulian/hulian/internal/telemetry"
)

// TestConsoleServed: the switch serves the console at /console/ on the
// API's listener, on both engines: a user the operator created signs
// in with its password and TOTP code, reads a page, and the page's
// calls of the API as the user are logged as the console's — caller
// console:<name>, the page's request id; sign-in leaves no password in
// the logs.
func TestConsoleServed(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var logs syncBuf
			log, err := telemetry.NewLogger(&logs, "json", "info")
			if err != nil {
				t.Fatal(err)
			}
			var off atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
			s := start(t, e.store(t), func(c *app.Config) { c.Log, c.Now = log, now })
			s.participant("wallet-a", nil)
			s.app.Console.Handle("GET /console/test/read", func(w http.ResponseWriter, r *http.Request, v *console.Visit) {
				a := s.app.Console.Call(r, v, "GET", "/v1/participants/wallet-a", nil)
				fmt.Fprint(w, a.Status)
			})
			const pw = "Kunming-Lake-Secret-41"
			var created struct {
				TOTPURI string `json:"totpUri"`
			}
			s.ok(201, "POST", "/v1/console/users", opToken, map[string]string{"username": "li.wei", "password": pw,
				"role": "participant-admin", "participant": "wallet-a"}, &created)
			_, q, _ := strings.Cut(created.TOTPURI, "?secret=")
			secret, _, _ := strings.Cut(q, "&")

			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			get := func(path string) (int, string) {
				t.Helper()
				resp, err := hc.Get(s.url + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if st, body := get("/console/login"); st != 200 || !strings.Contains(body, `name="totp"`) {
				t.Fatalf("GET /console/login: %d", st)
			}
			code, _ := totp.GenerateCode(secret, now())
			resp, err := hc.PostForm(s.url+"/console/login", url.Values{"username": {"li.wei"}, "password": {pw}, "totp": {code}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Request.URL.Path != "/console/" {
				t.Fatalf("sign in: %d at %s", resp.StatusCode, resp.Request.URL)
			}
			if st, body := get("/console/"); st != 200 || !strings.Contains(body, "li.wei") {
				t.Errorf("GET /console/: %d", st)
			}
			if st, body := get("/console/test/read"); st != 200 || body != "200" {
				t.Errorf("a page's call of the API: %d %s", st, body)
			}
			if st, _ := get("/console/static/console.css"); st != 200 {
				t.Errorf("GET /console/static/console.css: %d", st)
			}
			// The page's line and its call's share the request id.
			var page, call map[string]any
			for l := range strings.SplitSeq(logs.String(), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(l), &m) != nil || m["msg"] != "request" {
					continue
				}
				switch m["route"] {
				case "GET /console/test/read":
					page = m
				case "GET /v1/participants/{id}":
					if m["caller"] == "console:li.wei" {
						call = m
					}
				}
			}
			if page == nil || call == nil || page["caller"] != "console:li.wei" || page["request_id"] != call["request_id"] {
				t.Errorf("access lines: page %v, its call %v", page, call)
			}
			if strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), secret) {
				t.Error("the password or the TOTP secret reached the logs")
			}
		})
	}
}
