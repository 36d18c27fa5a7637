package connector_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/wire"
)

// TestAliases registers, re-registers and deletes the wallet's users'
// aliases through the connector; the switch's refusals reach the backend
// with the switch's problem type and status.
func TestAliases(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	s.startPeer(t)
	be := newBackend(t)
	c := startConnector(t, fastConfig(s, w, be.srv.URL, t.TempDir()))
	alice := map[string]string{"type": "MSISDN", "value": "+8613900139001", "account": "alice", "name": "Li Xiaoming"}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
		kind   string
	}{
		{"register", "POST", "/aliases", alice, http.StatusCreated, ""},
		{"register again", "POST", "/aliases", alice, http.StatusOK, ""},
		{"a random key", "POST", "/aliases", map[string]string{"type": "RANDOM", "account": "alice", "name": "Li Xiaoming"}, http.StatusCreated, ""},
		{"another participant's", "POST", "/aliases", map[string]string{"type": "MSISDN", "value": peerAlias, "account": "bob", "name": "Bob"},
			http.StatusConflict, ""},
		{"not a phone number", "POST", "/aliases", map[string]string{"type": "MSISDN", "value": "hello", "account": "bob", "name": "Bob"},
			http.StatusBadRequest, "invalid-request"},
		{"no type", "POST", "/aliases", map[string]string{"value": "+8613900139002", "account": "bob", "name": "Bob"},
			http.StatusBadRequest, "invalid-request"},
		{"misspelt member", "POST", "/aliases", `{"type":"MSISDN","value":"+8613900139002","acount":"bob","name":"Bob"}`,
			http.StatusBadRequest, "invalid-request"},
		{"delete", "DELETE", "/aliases/MSISDN/+8613900139001", nil, http.StatusNoContent, ""},
		{"delete again", "DELETE", "/aliases/MSISDN/+8613900139001", nil, http.StatusNotFound, "unknown-party"},
		{"delete another's", "DELETE", "/aliases/MSISDN/" + peerAlias, nil, http.StatusForbidden, "forbidden"},
		{"wrong method", "PUT", "/aliases", alice, http.StatusMethodNotAllowed, "method-not-allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, tc.method, c.URL()+tc.path, tc.body)
			if a.status != tc.status {
				t.Fatalf("%d %s", a.status, a.body)
			}
			switch {
			case tc.status >= 400:
				var p wire.Problem
				a.decode(t, &p)
				if !strings.HasPrefix(p.Type, wire.ProblemBase) || p.Status != tc.status || tc.kind != "" && a.problemKind() != tc.kind ||
					a.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s %s", a.header.Get("Content-Type"), a.body)
				}
			case tc.method == "POST":
				var p wire.Party
				if a.decode(t, &p); p.Participant != "tea-wallet" || p.Account != "alice" || p.Value == "" || p.Currency != "CNY" {
					t.Errorf("%s", a.body)
				}
			}
		})
	}
}

// TestAPIToken: with --api-token the backend API wants the token; the
// callbacks, which carry their own signatures, and the health probe do
// not. With --api-listen the API is on a listener of its own, apart
// from the callbacks.
func TestAPIToken(t *testing.T) {
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	be := newBackend(t)
	cfg := fastConfig(s, w, be.srv.URL, t.TempDir())
	cfg.APIToken, cfg.APIListen = "backend-token-0123456789", "127.0.0.1:0"
	c := startConnector(t, cfg)
	if strings.HasPrefix(c.CallbackURL(), c.URL()) {
		t.Fatalf("API %s and callbacks %s share a listener", c.URL(), c.CallbackURL())
	}
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"wrong token", []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized},
		{"not bearer", []string{"Authorization", "Basic backend-token-0123456789"}, http.StatusUnauthorized},
		{"token", []string{"Authorization", "Bearer backend-token-0123456789"}, http.StatusOK},
	} {
		if a := call(t, "GET", c.URL()+"/status", nil, tc.headers...); a.status != tc.status {
			t.Errorf("%s: %d %s", tc.name, a.status, a.body)
		}
	}
	if a := call(t, "GET", c.URL()+"/healthz", nil); a.status != http.StatusOK {
		t.Errorf("healthz: %d", a.status)
	}
	// The callbacks' listener serves no API.
	base := strings.TrimSuffix(c.CallbackURL(), "/hulian/callbacks")
	if a := call(t, "GET", base+"/status", nil, "Authorization", "Bearer backend-token-0123456789"); a.status != http.StatusNotFound {
		t.Errorf("the API on the callbacks' listener: %d", a.status)
	}
}
