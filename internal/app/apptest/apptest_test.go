package apptest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
)

// TestStart: the switch serves on loopback with the token the test
// expects (Token, or the edit's), and is closed once its test ends.
func TestStart(t *testing.T) {
	const own = "op-own-token-0123456789abcdef-0123456789"
	cases := []struct {
		name  string
		edit  func(*app.Config)
		token string
	}{
		{"defaults", nil, apptest.Token},
		{"edit sets the token", func(c *app.Config) { c.AdminToken = own }, own},
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(url, token string) (int, error) {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, tc := range cases {
		var url string
		t.Run(tc.name, func(t *testing.T) {
			a := apptest.Start(t, tc.edit)
			url = a.URL()
			if !strings.HasPrefix(url, "http://127.0.0.1:") {
				t.Errorf("URL %q: want loopback", url)
			}
			if a.AdminToken != tc.token {
				t.Errorf("operator token %q, want %q", a.AdminToken, tc.token)
			}
			if code, err := get(url+"/v1/participants", tc.token); err != nil || code != http.StatusOK {
				t.Errorf("GET /v1/participants with the operator's token: %d, %v; want 200", code, err)
			}
		})
		if code, err := get(url+"/healthz", tc.token); err == nil {
			t.Errorf("%s: the switch still answers (%d) after its test ended", tc.name, code)
		}
	}
}
