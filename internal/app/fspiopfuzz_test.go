package app_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/wire"
)

// fspiopRoutes are the FSPIOP front end's routes that take a body.
var fspiopRoutes = []struct{ method, path string }{
	{"POST", "/quotes"},
	{"PUT", "/quotes/7c23e80c-d078-4077-8263-2c047876fcf6"},
	{"PUT", "/quotes/7c23e80c-d078-4077-8263-2c047876fcf6/error"},
	{"POST", "/transfers"},
	{"PUT", "/transfers/85feac2f-39b2-491b-817e-4a03203d4f14"},
	{"PUT", "/transfers/85feac2f-39b2-491b-817e-4a03203d4f14/error"},
	{"PUT", "/parties/MSISDN/8613800138000"},
	{"PUT", "/parties/MSISDN/8613800138000/error"},
	{"POST", "/participants/MSISDN/8613900139000"},
	{"POST", "/participants"},
}

// FuzzFSPIOPBodies sends arbitrary bodies to every FSPIOP route that
// takes one, as an authenticated FSPIOP participant: the answer is 200
// or 202 with an empty body, or an FSPIOP error body with a four-digit
// code and a client status, never a server error; the ledger's
// invariants hold after each.
func FuzzFSPIOPBodies(f *testing.F) {
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: f.TempDir(), Addr: "127.0.0.1:0", FSPIOPAddr: "127.0.0.1:0", AdminToken: opToken,
		ConfirmTimeout: time.Second, Callback: callback.Config{AllowPrivate: true}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close(context.Background()) })
	api := func(method, path, token, body string) []byte {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		a.API.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			f.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	var p wire.Participant
	json.Unmarshal(api("POST", "/v1/participants", opToken, `{"id":"payerfsp","name":"P","kind":"wallet","currencies":["CNY"],"fspiop":{"endpoint":"http://127.0.0.1:9"}}`), &p)
	var b wire.Participant
	json.Unmarshal(api("POST", "/v1/participants", opToken, `{"id":"wallet-b","name":"B","kind":"wallet","currencies":["CNY"]}`), &b)
	api("POST", "/v1/participants/payerfsp/funds", opToken, `{"currency":"CNY","amount":"1000.00","direction":"deposit"}`)
	api("POST", "/v1/parties", b.APIKey, `{"type":"MSISDN","value":"+8613800138000","name":"Zhang San","account":"u-1","currency":"CNY"}`)

	for i, body := range []string{
		`{"quoteId":"7c23e80c-d078-4077-8263-2c047876fcf6","transactionId":"85feac2f-39b2-491b-817e-4a03203d4f14","payee":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"8613800138000"}},"payer":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"44123456789","fspId":"payerfsp"}},"amountType":"SEND","amount":{"currency":"CNY","amount":"1.5"},"transactionType":{"scenario":"TRANSFER","initiator":"PAYER","initiatorType":"CONSUMER"}}`,
		`{"transferAmount":{"currency":"CNY","amount":"1"},"expiration":"2030-01-01T00:00:00.000Z","ilpPacket":"AYIC","condition":"DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgxw"}`,
		`{"errorInformation":{"errorCode":"5104","errorDescription":"Payee rejected transaction"}}`,
		`{"transferId":"85feac2f-39b2-491b-817e-4a03203d4f14","payerFsp":"payerfsp","payeeFsp":"wallet-b","amount":{"currency":"CNY","amount":"1"},"ilpPacket":"AYICxQAAAAAAACdCHWcucGF5ZWVmc3A","condition":"DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgxw","expiration":"2030-01-01T00:00:00.000Z"}`,
		`{"fulfilment":"0jHsbrry53c0QMKTbRWRXaOMwU3zOpb6eX_NtbPuPuc","completedTimestamp":"2026-12-07T01:00:00.000Z","transferState":"COMMITTED"}`,
		`{"party":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"8613800138000","fspId":"wallet-b"},"name":"Z"}}`,
		`{"fspId":"payerfsp","currency":"CNY"}`,
		`{"requestId":"3f0c4e6a-5b2d-4c1e-8f7a-9b8c7d6e5f4a","partyList":[{"partyIdType":"MSISDN","partyIdentifier":"8613900139001"}]}`,
		`[`, `null`, `{}`, ``, `{"amount":{"amount":"1e9"}}`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		rt := fspiopRoutes[int(which)%len(fspiopRoutes)]
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		res := msg.Resource(rt.path)
		req.Header.Set("Content-Type", msg.ContentType(res, "1.1"))
		if rt.method != "PUT" {
			req.Header.Set("Accept", msg.ContentType(res, "1.1"))
		}
		req.Header.Set("Date", msg.FormatDate(time.Now()))
		req.Header.Set("FSPIOP-Source", "payerfsp")
		req.Header.Set("FSPIOP-Destination", "wallet-b")
		req.Header.Set("Authorization", "Bearer "+p.APIKey)
		rec := httptest.NewRecorder()
		a.FSPIOP.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK || rec.Code == http.StatusAccepted:
			if rec.Body.Len() != 0 {
				t.Fatalf("%s %s %q: %d with a body %q", rt.method, rt.path, body, rec.Code, rec.Body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e msg.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e.ErrorInformation.ErrorCode) != 4 ||
				rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%s %s %q: %d %q (%v)", rt.method, rt.path, body, rec.Code, rec.Body, err)
			}
		default:
			t.Fatalf("%s %s %q: status %d: %s", rt.method, rt.path, body, rec.Code, rec.Body)
		}
		if err := a.Journal.Check(); err != nil {
			t.Fatalf("after %s %s %q: ledger invariants: %v", rt.method, rt.path, body, err)
		}
	})
}
