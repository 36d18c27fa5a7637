package api_test

import (
	stdjson "encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/wire"
)

// TestNoRoute checks the answers to what no route matches: problems, not
// the mux's plain text or redirects.
func TestNoRoute(t *testing.T) {
	s := routingServer(t, "operator")
	for _, c := range []struct {
		method, target string
		status         int
		allow          string
	}{
		{"GET", "/v1/nothing", http.StatusNotFound, ""},
		{"GET", "/", http.StatusNotFound, ""},
		{"OPTIONS", "*", http.StatusNotFound, ""},
		{"GET", "/v1/../v1/transfers", http.StatusNotFound, ""}, // the mux would redirect
		{"GET", "/v1//transfers", http.StatusNotFound, ""},      // likewise
		{"GET", "/v1/transfers/", http.StatusNotFound, ""},      // no route ends in "/"
		{"DELETE", "/v1/transfers", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"BREW", "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, nil))
		var p wire.Problem
		err := stdjson.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != c.status || err != nil || p.Status != c.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s: %d %q %v; want a %d problem", c.method, c.target, rec.Code, rec.Body, err, c.status)
		}
		if got := rec.Header().Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.target, got, c.allow)
		}
	}
}
