package hulian_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	hulian "github.com/hulian/hulian/clients/go"
)

// TestCheck: every answer that is not 2xx becomes a *ProblemError with
// the problem's case, from a problem document or, failing one, from the
// status; the Bearer credential goes with every request.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		wantErr     string // "" for none
		wantCase    string
		wantRule    string
	}{
		{name: "ok", status: 200, contentType: "application/json",
			body: `{"id":"t-1","state":"COMMITTED","payer":"a","payee":{"type":"MSISDN","value":"+8613800138000","participant":"b"},"amount":"1.00","fee":"0.10","currency":"CNY","createdAt":"2026-03-01T08:30:00Z"}`},
		{name: "problem", status: 422, contentType: "application/problem+json",
			body:    `{"type":"https://hulian.dev/problems/insufficient-funds","title":"Insufficient funds","status":422,"detail":"available 1.00 CNY"}`,
			wantErr: "hulian: 422 insufficient-funds: available 1.00 CNY", wantCase: "insufficient-funds"},
		{name: "risk-declined names the rule", status: 422, contentType: "application/problem+json; charset=utf-8",
			body:    `{"type":"https://hulian.dev/problems/risk-declined","title":"Declined","status":422,"rule":"r1","reason":"sca-required"}`,
			wantErr: "hulian: 422 risk-declined: Declined (rule r1, reason sca-required)", wantCase: "risk-declined", wantRule: "r1"},
		{name: "not found", status: 404, contentType: "application/problem+json",
			body:    `{"type":"https://hulian.dev/problems/not-found","title":"Not found","status":404}`,
			wantErr: "hulian: 404 not-found: Not found", wantCase: "not-found"},
		{name: "a proxy's page", status: 502, contentType: "text/html",
			body:    "<html>bad gateway</html>",
			wantErr: "hulian: 502: <html>bad gateway</html>", wantCase: ""},
		{name: "JSON that is not a problem", status: 500, contentType: "application/json",
			body:    `{"error":"boom"}`,
			wantErr: `hulian: 500: {"error":"boom"}`, wantCase: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Authorization"); got != "Bearer wallet-a.s3cret" {
					t.Errorf("Authorization %q", got)
				}
				if r.URL.Path != "/v1/transfers/t-1" {
					t.Errorf("path %q", r.URL.Path)
				}
				w.Header().Set("Content-Type", tc.contentType)
				w.Header().Set("Hulian-Request-Id", "req-42")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := hulian.New(srv.URL, "wallet-a.s3cret")
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.GetTransferWithResponse(context.Background(), "t-1")
			err = hulian.Check(resp, err)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if resp.JSON200 == nil || resp.JSON200.State != hulian.TransferStateCOMMITTED || resp.JSON200.Fee != "0.10" {
					t.Errorf("transfer %+v", resp.JSON200)
				}
				return
			}
			var p *hulian.ProblemError
			if !errors.As(err, &p) {
				t.Fatalf("error %v (%T); want a *ProblemError", err, err)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("error %q; want %q", err.Error(), tc.wantErr)
			}
			if p.Status != tc.status || p.Case() != tc.wantCase || p.Rule != tc.wantRule || p.RequestID != "req-42" {
				t.Errorf("problem %+v, case %q", p, p.Case())
			}
			if tc.wantCase != "" && !hulian.IsProblem(err, tc.wantCase) {
				t.Errorf("IsProblem(err, %q) is false", tc.wantCase)
			}
			if hulian.IsProblem(err, "unknown-party") {
				t.Error("IsProblem matched another case")
			}
		})
	}
}

// TestCheckPassesErrors: a request that failed is returned as it is.
func TestCheckPassesErrors(t *testing.T) {
	c, err := hulian.New("http://127.0.0.1:1", "k")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.GetTransferWithResponse(context.Background(), "t-1")
	err = hulian.Check(resp, err)
	var p *hulian.ProblemError
	if err == nil || errors.As(err, &p) {
		t.Errorf("error %v; want the connection's", err)
	}
}

func TestNewRefusesEmptyToken(t *testing.T) {
	if _, err := hulian.New("http://127.0.0.1:1", ""); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("error %v; want an empty token refused", err)
	}
}
