package console

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSessionCookie: the session cookie is the console's path's only,
// HttpOnly, SameSite=Strict, and Secure when the request came over TLS.
func TestSessionCookie(t *testing.T) {
	for _, overTLS := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/console/login", nil)
		if overTLS {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		setSession(w, r, "token", 0)
		cs := w.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies %v", cs)
		}
		c := cs[0]
		if c.Name != sessionCookie || c.Value != "token" || c.Path != "/console" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode ||
			c.Secure != overTLS || c.MaxAge != 0 {
			t.Errorf("over TLS %v: %+v", overTLS, c)
		}
	}
}

// TestSameOrigin: a state-changing request's Origin, or else its
// Referer, must be the console's own origin.
func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		origin, referer string
		tls             bool
		want            bool
	}{
		{"", "", false, true},
		{"http://switch.example:8080", "", false, true},
		{"https://switch.example:8080", "", false, false},
		{"https://switch.example:8080", "", true, true},
		{"http://evil.example", "http://switch.example:8080/console/", false, false},
		{"null", "", false, false},
		{"", "http://switch.example:8080/console/users", false, true},
		{"", "http://switch.example:8080", false, true},
		{"", "http://switch.example:8080.evil.example/console/", false, false},
		{"", "http://evil.example/console/", false, false},
	} {
		r := httptest.NewRequest("POST", "http://switch.example:8080/console/logout", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.referer != "" {
			r.Header.Set("Referer", c.referer)
		}
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := sameOrigin(r); got != c.want {
			t.Errorf("Origin %q Referer %q TLS %v: %v", c.origin, c.referer, c.tls, got)
		}
	}
}
