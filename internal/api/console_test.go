package api_test

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/telemetry"
)

// consoleUsers exercises the console's users and actions over HTTP in
// the end-to-end walk: created, refused, listed, deleted, and the trail
// of it.
func consoleUsers(t *testing.T, cl *client, op, reg, keyA string) {
	type M = map[string]any
	create := func(tok string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/console/users", body: body}, status, problem)
	}
	pw := "correct horse battery staple"
	u := create(op, M{"username": "li.wei", "password": pw, "role": "participant-admin", "participant": "wallet-a"}, 201, "")
	if uri := str(u.v, "totpUri"); !regexp.MustCompile(`^otpauth://totp/Hulian:li\.wei\?secret=[A-Z2-7]{32}&issuer=Hulian$`).MatchString(uri) {
		t.Errorf("totpUri %q", uri)
	}
	create(op, M{"username": "Ops.Admin", "password": pw, "role": "operator-admin"}, 201, "")
	create(op, M{"username": "ops.admin", "password": pw, "role": "regulator"}, 409, "duplicate-conflict")
	for _, bad := range []M{
		{"username": "x", "password": pw, "role": "regulator"},
		{"username": "short.pw", "password": "elevenchars", "role": "regulator"},
		{"username": "no.role", "password": pw, "role": "root"},
		{"username": "no.participant", "password": pw, "role": "participant-viewer"},
		{"username": "unknown.participant", "password": pw, "role": "participant-viewer", "participant": "nobody"},
		{"username": "extra.participant", "password": pw, "role": "regulator", "participant": "wallet-a"},
		{"username": "extra.member", "password": pw, "role": "regulator", "totp": "123456"},
	} {
		create(op, bad, 400, "invalid-request")
	}
	create(keyA, M{"username": "sneaky", "password": pw, "role": "operator-admin"}, 403, "forbidden")
	create(reg, M{"username": "sneaky", "password": pw, "role": "operator-admin"}, 403, "forbidden")

	list := cl.expect(call{tok: reg, op: "GET /v1/console/users", query: url.Values{"limit": {"1"}}}, 200, "")
	if str(list.v, "users", 0, "username") != "li.wei" || str(list.v, "next") != "li.wei" || str(list.v, "users", 0, "totpUri") != "" ||
		strings.Contains(string(list.raw), "argon2") {
		t.Errorf("first page of users: %s", list.raw)
	}
	if l := cl.expect(call{tok: op, op: "GET /v1/console/users", query: url.Values{"after": {"li.wei"}}}, 200, ""); length(l.v, "users") != 1 ||
		str(l.v, "users", 0, "username") != "Ops.Admin" {
		t.Errorf("second page of users: %s", l.raw)
	}
	cl.expect(call{tok: op, op: "GET /v1/console/users", query: url.Values{"after": {"no such/name"}}}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "GET /v1/console/users"}, 403, "forbidden")

	cl.expect(call{tok: reg, op: "DELETE /v1/console/users/{username}", args: []string{"li.wei"}}, 403, "forbidden")
	cl.expect(call{tok: op, op: "DELETE /v1/console/users/{username}", args: []string{"LI.WEI"}}, 204, "")
	cl.expect(call{tok: op, op: "DELETE /v1/console/users/{username}", args: []string{"li.wei"}}, 404, "not-found")

	acts := cl.expect(call{tok: reg, op: "GET /v1/console/actions", query: url.Values{"limit": {"2"}}}, 200, "")
	if str(acts.v, "actions", 0, "action") != "console-user-delete" || str(acts.v, "actions", 0, "target") != "li.wei" ||
		str(acts.v, "actions", 0, "role") != "operator" || str(acts.v, "actions", 1, "target") != "Ops.Admin" || str(acts.v, "next") == "" {
		t.Errorf("actions: %s", acts.raw)
	}
	if rest := cl.expect(call{tok: op, op: "GET /v1/console/actions", query: url.Values{"before": {str(acts.v, "next")}}}, 200, ""); length(rest.v, "actions") != 1 ||
		str(rest.v, "actions", 0, "target") != "li.wei" {
		t.Errorf("older actions: %s", rest.raw)
	}
	cl.expect(call{tok: op, op: "GET /v1/console/actions", query: url.Values{"before": {"0"}}}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "GET /v1/console/actions"}, 403, "forbidden")
}

// consoleServer is a server with no core behind it (its console routes
// answer 503 once allowed), limited to rate requests a second, that
// logs as JSON to the returned buffer, with a handler mounted at
// /console that names its route and caller.
func consoleServer(t *testing.T, rate float64) (*api.Server, *bytes.Buffer) {
	t.Helper()
	authn, err := auth.NewAuthenticator(sha256.Sum256([]byte(testOpToken)), [sha256.Size]byte{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log, err := telemetry.NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{RateLimit: rate, RateBurst: max(1, int(rate))}
	cfg.EnsureDefaults()
	s, err := api.New(cfg, api.Deps{Auth: authn, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	s.Mount("/console", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.Label(r, "GET /console/", "console:alice")
		w.Write([]byte("console " + r.URL.Path))
	}))
	return s, &buf
}

// TestServeAs: a request answered for a principal is authorized,
// limited and logged as that principal's own would be — whatever
// credentials it carries.
func TestServeAs(t *testing.T) {
	op := auth.Principal{Role: auth.RoleOperator}
	reg := auth.Principal{Role: auth.RoleRegulator}
	wa := auth.Principal{Role: auth.RoleParticipant, Participant: participant.Participant{ID: "wallet-a", Status: participant.Active}}
	suspended := auth.Principal{Role: auth.RoleParticipant, Participant: participant.Participant{ID: "wallet-s", Status: participant.Suspended}}
	s, logs := consoleServer(t, 1000)
	for _, c := range []struct {
		name         string
		p            auth.Principal
		method, path string
		token        string
		status       int
	}{
		// Allowed: the handler answers (503: no console users here).
		{"operator creates", op, "POST", "/v1/console/users", "", 503},
		{"regulator reads", reg, "GET", "/v1/console/users", "", 503},
		{"regulator reads the trail", reg, "GET", "/v1/console/actions", "", 503},
		{"participant reads risk rules", wa, "GET", "/v1/risk/rules", "", 503},
		// Refused by the route's access level.
		{"regulator creates", reg, "POST", "/v1/console/users", "", 403},
		{"regulator deletes", reg, "DELETE", "/v1/console/users/alice", "", 403},
		{"regulator decides an alert", reg, "POST", "/v1/risk/alerts/1/decision", "", 403},
		{"participant creates", wa, "POST", "/v1/console/users", "", 403},
		{"participant reads the trail", wa, "GET", "/v1/console/actions", "", 403},
		{"operator pays", op, "POST", "/v1/transfers", "", 403},
		{"suspended participant", suspended, "GET", "/v1/risk/rules", "", 403},
		// The operator's token in the request does not lift the
		// principal's limits.
		{"regulator with the operator's token", reg, "POST", "/v1/console/users", testOpToken, 403},
		// No principal: as without credentials.
		{"nobody", auth.Principal{}, "GET", "/v1/console/users", "", 401},
	} {
		r := httptest.NewRequest(c.method, c.path, strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		s.ServeAs(rec, r, c.p, "console:alice")
		if rec.Code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, rec.Code, rec.Body, c.status)
		}
		if c.token != "" && r.Header.Get("Authorization") == "" {
			t.Errorf("%s: ServeAs changed its caller's request headers", c.name)
		}
	}
	lines := logLines(t, logs)
	if len(lines) == 0 || lines[0]["caller"] != "console:alice" || lines[0]["route"] != "POST /v1/console/users" {
		t.Errorf("access line %v", lines)
	}

	// A participant's rate limit holds for requests answered for it.
	s, _ = consoleServer(t, 0.001)
	for i, want := range []int{503, 429} {
		rec := httptest.NewRecorder()
		s.ServeAs(rec, httptest.NewRequest("GET", "/v1/risk/rules", nil), wa, "console:wa")
		if rec.Code != want {
			t.Errorf("request %d: %d, want %d", i, rec.Code, want)
		}
	}
}

// TestMount: the mounted handler answers its prefix and every path under
// it, as a request of the API's (with an id and an access line naming
// its route and caller); the API answers the rest.
func TestMount(t *testing.T) {
	s, logs := consoleServer(t, 1000)
	for _, c := range []struct {
		path    string
		mounted bool
	}{
		{"/console", true}, {"/console/", true}, {"/console/login", true}, {"/console/a/../b", true},
		{"/consolex", false}, {"/v1/console/users", false}, {"/", false},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if got := strings.HasPrefix(rec.Body.String(), "console "); got != c.mounted {
			t.Errorf("%s: %d %s", c.path, rec.Code, rec.Body)
		}
		if rec.Header().Get(telemetry.RequestIDHeader) == "" {
			t.Errorf("%s: no request id", c.path)
		}
	}
	lines := logLines(t, logs)
	if len(lines) == 0 || lines[0]["caller"] != "console:alice" || lines[0]["route"] != "GET /console/" {
		t.Errorf("access line %v", lines)
	}
}
