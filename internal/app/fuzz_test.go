package app_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// fuzzEndpoints are the API's routes that take a body, each with who
// calls it in FuzzAPIBodies ("op" for the operator, "alpha" for the
// funded participant).
var fuzzEndpoints = []struct{ method, path, who string }{
	{"POST", "/v1/transfers", "alpha"},
	{"POST", "/v1/transfers:batch", "alpha"},
	{"POST", "/v1/quotes", "alpha"},
	{"POST", "/v1/parties", "alpha"},
	{"POST", "/v1/parties:batch", "alpha"},
	{"PATCH", "/v1/participants/alpha", "alpha"},
	{"PUT", "/v1/participants/alpha/liquidity/CNY", "alpha"},
	{"POST", "/v1/participants", "op"},
	{"POST", "/v1/participants/alpha/funds", "op"},
	{"PUT", "/v1/participants/alpha/limits/CNY", "op"},
	{"PUT", "/v1/fees/CNY", "op"},
	{"POST", "/v1/audit/witnesses", "op"},
	{"POST", "/v1/participants/beta/keys", "op"},
	{"POST", "/v1/participants/beta/callback-secrets", "op"},
	{"DELETE", "/v1/parties/MSISDN/+8613800138000", "op"},
	{"POST", "/v1/parties/MSISDN/+8613800138000/claims", "alpha"},
	{"PUT", "/v1/risk/rules/fz", "op"},
	{"PUT", "/v1/risk/lists/fz", "op"},
	{"POST", "/v1/risk/lists/fz/items", "op"},
	{"POST", "/v1/risk/alerts/1/decision", "op"},
	{"POST", "/v1/risk/fraud-reports", "alpha"},
}

// problemType is the shape of a problem's type: the project's base and
// a lower-case slug.
var problemType = regexp.MustCompile(`^` + regexp.QuoteMeta(wire.ProblemBase) + `[a-z]+(-[a-z]+)*$`)

// FuzzAPIBodies sends arbitrary bodies to every route that takes one,
// through the whole API handler of one switch: whatever comes in, the
// answer is a success or an RFC 9457 problem with a stable type and the
// status it names, never a server error, and the ledger's invariants
// (every currency sums to zero) hold after each request.
func FuzzAPIBodies(f *testing.F) {
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: f.TempDir(), Addr: "127.0.0.1:0", AdminToken: opToken,
		RateLimit: 1e9, RateBurst: 1 << 30, ConfirmTimeout: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close(context.Background()) })

	call := func(method, path, token string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		a.API.ServeHTTP(rec, req)
		return rec
	}
	keys := map[string]string{"op": opToken}
	for _, id := range []string{"alpha", "beta"} {
		rec := call("POST", "/v1/participants", opToken, []byte(`{"id":"`+id+`","name":"`+id+`","kind":"wallet","currencies":["CNY"]}`))
		var p wire.Participant
		if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &p) != nil {
			f.Fatalf("create %s: %d %s", id, rec.Code, rec.Body)
		}
		keys[id] = p.APIKey
	}
	for _, c := range []struct{ method, path, token, body string }{
		{"POST", "/v1/participants/alpha/funds", opToken, `{"currency":"CNY","amount":"1000000.00","direction":"deposit"}`},
		{"PUT", "/v1/fees/CNY", opToken, `{"fixed":"0.10","rate":"0.10","min":"0.10","max":"5.00"}`},
		{"POST", "/v1/parties", keys["beta"], `{"type":"MSISDN","value":"+8613800138000","name":"Zhang San","account":"u-1","currency":"CNY"}`},
	} {
		if rec := call(c.method, c.path, c.token, []byte(c.body)); rec.Code >= 300 {
			f.Fatalf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}

	for i, body := range []string{
		`{"id":"f1","payee":{"type":"MSISDN","value":"+8613800138000"},"amount":"100.00","currency":"CNY","note":"x"}`,
		`{"transfers":[{"id":"f2","payee":{"type":"MSISDN","value":"13800138000"},"amount":"0.01","currency":"CNY"},{"id":"f2"}]}`,
		`{"payee":{"type":"MSISDN","value":"+8613800138000"},"amount":"5","currency":"CNY"}`,
		`{"type":"EMAIL","value":"A@Example.com","name":"A","account":"a","currency":"CNY"}`,
		`{"parties":[{"type":"RANDOM","name":"R","account":"r","currency":"CNY"}]}`,
		`{"name":"Alpha Pay"}`,
		`{"low":"10.00","high":"900000.00"}`,
		`{"id":"gamma","name":"G","kind":"bank","currencies":["CNY","USD"],"acceptance":"notify"}`,
		`{"currency":"CNY","amount":"999999999.99","direction":"withdrawal"}`,
		`{"netDebitCap":"50000.00"}`,
		`{"fixed":"0","rate":"0.5","min":"0","max":"0"}`,
		`{"name":"w","key":"x"}`,
		`{"id":"f3","payee":{"type":"MSISDN","value":"+8613800138000"},"amount":"1e3","currency":"CNY"}`,
		`{"id":"f4","payee":{"type":"MSISDN","value":"+8613800138000"},"amount":"-1.00","currency":"XXX"}`,
		`{"transfers":[]}`,
		`{"graceSeconds":0}`,
		`{"graceSeconds":86400}`,
		`{"reason":"fraud report 张三"}`,
		`{"account":"u-9","name":"李四"}`,
		`{"expression":"payerCount(duration(\"1h\")) > 2 && amount > 100","action":"review","reason":"r","mode":"enforce"}`,
		`{"expression":"size(factors) < 2","action":"decline","reason":"sca","mode":"shadow","description":"说明"}`,
		`{"items":["MSISDN:+8613800138000","x"]}`,
		`{"decision":"release","note":"ok"}`,
		`{"transferId":"f1","reason":"scam","detail":"假冒"}`,
		`[`, `null`, `{}`, ``,
	} {
		f.Add(uint8(i), []byte(body))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ep := fuzzEndpoints[int(which)%len(fuzzEndpoints)]
		rec := call(ep.method, ep.path, keys[ep.who], body)
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("%s %s %q: status %d: %s", ep.method, ep.path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%s %s %q: %d with Content-Type %q", ep.method, ep.path, body, rec.Code, ct)
			}
			var p wire.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || !problemType.MatchString(p.Type) || p.Status != rec.Code {
				t.Fatalf("%s %s %q: %d, problem %s (%v)", ep.method, ep.path, body, rec.Code, rec.Body, err)
			}
		} else if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && rec.Code != http.StatusNoContent {
			t.Fatalf("%s %s %q: %d with Content-Type %q", ep.method, ep.path, body, rec.Code, rec.Header().Get("Content-Type"))
		}
		if err := a.Journal.Check(); err != nil {
			t.Fatalf("after %s %s %q: ledger invariants: %v", ep.method, ep.path, body, err)
		}
	})
}
