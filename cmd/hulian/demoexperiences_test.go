package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/wire"
)

// TestDemoExperiences runs the payment experiences against a switch of
// their own and checks each step's outcome through the API, not only in
// the output. It asserts no speed: the one wait, for the switch's sweep
// to execute the scheduled mandate, is bounded polling.
func TestDemoExperiences(t *testing.T) {
	if testing.Short() {
		t.Skip("waits up to a mandate sweep (10 s)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const token = "op-token-0123456789abcdef-0123456789"
	dir := t.TempDir() // runExperiences writes its QR images beside the switch's data, as the demo does
	a := apptest.Start(t, func(c *app.Config) {
		c.DataDir = dir
		c.AdminToken = token
	})
	op := xpClient{a.URL(), token}
	// A scheme fee, as the demo's simulator sets one: the books must
	// count it.
	if err := op.call(ctx, "PUT", "/v1/fees/CNY", wire.Fees{Fixed: "0.10", Rate: "0.10", Min: "0.10", Max: "5.00"}, nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	x, err := runExperiences(ctx, &out, a, dir, 40*time.Second)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"Payment experiences (issue 16)",
		"refused, 409 qr-already-paid",
		"refunded 20.00 of 68.00",
		"PASS  their books agree with the switch",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(s, "FAIL") {
		t.Errorf("a check failed")
	}

	// The images, written to the data directory.
	for _, name := range []string{"qr-static.png", "qr-dynamic.png"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) || !strings.Contains(s, filepath.Join(dir, name)) {
			t.Errorf("%s: %d bytes, %v, or not named in the output", name, len(b), err)
		}
	}

	// Each step's outcome as the switch has it.
	type check struct {
		name      string
		who, path string
		into      any
		ok        func() bool
	}
	var dyn, static wire.QR
	var pr1, pr2 wire.PaymentRequest
	var qrPay, refund wire.Transfer
	var adhoc wire.MandateExecutions
	for _, c := range []check{
		{"dynamic code paid", xpMerchantBank, "/v1/qr/" + x.dyn.ID, &dyn, func() bool { return dyn.Paid && dyn.Dynamic && dyn.Amount == "68.00" }},
		{"static code open", xpMerchantBank, "/v1/qr/" + x.static.ID, &static, func() bool { return !static.Paid && !static.Dynamic }},
		{"QR payment to the merchant", xpWalletX, "/v1/transfers/" + xpWalletX + ".qr-2", &qrPay, func() bool {
			return qrPay.State == "COMMITTED" && qrPay.Payee.Participant == xpMerchantBank && qrPay.Refunded == "20.00"
		}},
		{"refund", xpMerchantBank, "/v1/transfers/" + xpMerchantBank + ".rf-1", &refund, func() bool {
			return refund.State == "COMMITTED" && refund.Payee.Type == "REFUND" && refund.Amount == "20.00"
		}},
		{"bill paid", xpUtility, "/v1/payment-requests/" + xpUtility + ".bill-1", &pr1, func() bool {
			return pr1.State == "PAID" && pr1.TransferID == xpWalletX+".bill-1"
		}},
		{"bill declined", xpUtility, "/v1/payment-requests/" + xpUtility + ".bill-2", &pr2, func() bool { return pr2.State == "DECLINED" }},
		{"adhoc execution", xpWalletX, "/v1/mandates/" + xpUtility + ".md-repairs/executions", &adhoc, func() bool {
			return len(adhoc.Executions) == 1 && adhoc.Executions[0].State == "COMMITTED" && adhoc.Executions[0].Amount == "42.00"
		}},
	} {
		if err := x.keys[c.who].call(ctx, "GET", c.path, nil, c.into); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !c.ok() {
			t.Errorf("%s: %+v", c.name, c.into)
		}
	}

	// The scheduled mandate: executed by the switch when its day is
	// past, which it is on every day but before 09:00 on the 1st.
	due := x.scheduled.NextExecution
	switch {
	case due.After(x.approvedAt):
		if now := time.Now().In(x.loc); now.Day() != 1 || !strings.Contains(s, "after the demo") {
			t.Errorf("the scheduled mandate is due %v, in the future, on %v", due, now)
		}
	case x.executed == nil:
		t.Errorf("the switch did not execute the scheduled mandate within 40 s of its approval")
	case x.executed.State != "COMMITTED" || x.executed.Amount != "186.40" || !x.executed.Scheduled ||
		!strings.HasPrefix(x.executed.ID, "mandate:"+xpUtility+".md-power:"):
		t.Errorf("the scheduled execution: %+v", *x.executed)
	}

	// The dispute, when this build has disputes.
	switch {
	case x.dispute == nil && !strings.Contains(s, "disputes: not available in this build"):
		t.Errorf("no dispute, and no word of it")
	case x.dispute != nil && x.dispute["state"] != "ACCEPTED":
		t.Errorf("dispute: %v", x.dispute)
	}
}

// TestXPScheduleDay checks the day of a monthly mandate already due at
// once: yesterday's in the scheme's zone, day 1 on the 1st.
func TestXPScheduleDay(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  string // UTC
		want int
	}{
		{"2026-03-15T04:00:00Z", 14},
		{"2026-03-02T04:00:00Z", 1},
		{"2026-03-01T04:00:00Z", 1},
		{"2026-03-31T04:00:00Z", 30},
		{"2026-02-28T17:00:00Z", 1},  // 1 March in Shanghai
		{"2026-03-14T16:30:00Z", 14}, // 15 March in Shanghai
	} {
		now, err := time.Parse(time.RFC3339, tc.now)
		if err != nil {
			t.Fatal(err)
		}
		if got := xpScheduleDay(now, sh); got != tc.want {
			t.Errorf("xpScheduleDay(%s) = %d, want %d", tc.now, got, tc.want)
		}
	}
}

// TestDisputesRouted checks the probe for disputes against the answers
// a switch with and without them gives.
func TestDisputesRouted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"no route", 404, `{"type":"https://hulian.dev/problems/not-found","status":404,"detail":"no route for /v1/disputes"}`, false},
		{"other methods only", 405, `{"type":"https://hulian.dev/problems/method-not-allowed","status":405}`, false},
		{"not configured", 503, `{"type":"https://hulian.dev/problems/unavailable","status":503}`, false},
		{"empty body refused", 400, `{"type":"https://hulian.dev/problems/invalid-request","status":400,"detail":"transferId is missing"}`, true},
		{"no such transfer", 404, `{"type":"https://hulian.dev/problems/not-found","status":404,"detail":"transfer  not found"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "POST" || r.URL.Path != "/v1/disputes" {
					t.Errorf("probe %s %s", r.Method, r.URL.Path)
				}
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			got, err := disputesRouted(context.Background(), xpClient{srv.URL, "key"})
			if err != nil || got != tc.want {
				t.Errorf("disputesRouted = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
