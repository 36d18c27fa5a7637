package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/loadgen"
	"github.com/hulian/hulian/internal/wire"
)

// TestBench runs each mode against a switch bench starts in this
// process, bounded by a number of requests, and checks the JSON result.
// It asserts counts and correctness, never speed.
func TestBench(t *testing.T) {
	for _, mode := range loadgen.Modes {
		t.Run(string(mode), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "result.json")
			args := []string{"bench", "--mode", string(mode), "--requests", "300", "--concurrency", "8",
				"--aliases", "200", "--out", out, "--warmup", "100ms"}
			batch := 0
			if mode == loadgen.Batch {
				// 300 requests of the default 1000 would take several
				// seconds of a small machine; 20 exercise the same code.
				batch = 20
				args = append(args, "--batch-size", "20")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			if code := run(ctx, args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var res loadgen.Result
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatalf("result: %v\n%s", err, b)
			}
			if res.Mode != mode || res.Concurrency != 8 || res.Requests != 300 || res.RequestLimit != 300 ||
				res.Machine.NumCPU == 0 || res.Machine.GoVersion == "" || res.Start.IsZero() || len(res.Command) < 3 {
				t.Errorf("result header: %+v", res)
			}
			if res.ErrorCount != 0 || len(res.Errors) != 0 {
				t.Errorf("errors: %d %v", res.ErrorCount, res.Errors)
			}
			if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
				t.Errorf("latency: %+v", res.Latency)
			}
			var sum int64
			for _, o := range res.Operations {
				sum += o.Requests
			}
			if sum != res.Requests {
				t.Errorf("operations add up to %d requests, want %d: %+v", sum, res.Requests, res.Operations)
			}
			var wantTransfers int64
			switch mode {
			case loadgen.Single:
				wantTransfers = 300
				if res.Operations["transfer"].Statuses["201"] != 300 {
					t.Errorf("transfer statuses: %v", res.Operations["transfer"].Statuses)
				}
			case loadgen.Batch:
				wantTransfers = 300 * int64(batch)
				if res.BatchSize != batch || res.Operations["batch"].Statuses["200"] != 300 {
					t.Errorf("batch size %d, statuses %v", res.BatchSize, res.Operations["batch"].Statuses)
				}
			case loadgen.Lookup:
				if res.Operations["lookup"].Statuses["200"] != 300 {
					t.Errorf("lookup statuses: %v", res.Operations["lookup"].Statuses)
				}
			case loadgen.Mix:
				// Each quote is followed by its transfer, unless the
				// request bound fell between the two.
				wantTransfers = res.Operations["transfer"].Requests
				q := res.Operations["quote"].Requests
				if wantTransfers < 150 || res.Operations["lookup"].Requests < 20 || q < 1 {
					t.Errorf("mix proportions: %+v", res.Operations)
				}
			case loadgen.Quoted, loadgen.CrossBorder:
				// Every payment is a quote then its transfer; the start
				// of the measured phase and its bound may each fall
				// between the two of a worker's payment.
				wantTransfers = res.Operations["transfer"].Requests
				q := res.Operations["quote"].Requests
				if len(res.Operations) != 2 || q+wantTransfers != 300 || q-wantTransfers < -8 || q-wantTransfers > 8 ||
					res.Operations["quote"].Statuses["201"] != q {
					t.Errorf("quote and transfer requests: %+v", res.Operations)
				}
				booked := "books: the accounts of 4 participants moved as"
				if mode == loadgen.CrossBorder {
					// The CNY participants, the FX provider and the HKD
					// wallet, with a quarter as many +852 aliases.
					booked = "books: the accounts of 6 participants moved as"
					if res.Participants != 4 || res.Aliases != 250 {
						t.Errorf("crossborder: %d participants, %d aliases", res.Participants, res.Aliases)
					}
				}
				if !strings.Contains(stderr.String(), booked) {
					t.Errorf("no books check passed; stderr:\n%s", &stderr)
				}
				if !strings.Contains(stdout.String(), "transfers/s are payments/s") {
					t.Errorf("stdout:\n%s", &stdout)
				}
			}
			if res.Transfers != wantTransfers || res.Committed != wantTransfers || res.TransferStatuses["201"] != wantTransfers {
				t.Errorf("transfers %d, committed %d, statuses %v; want %d", res.Transfers, res.Committed, res.TransferStatuses, wantTransfers)
			}
			if !strings.Contains(stdout.String(), "errors      none") {
				t.Errorf("stdout:\n%s", &stdout)
			}
		})
	}
}

// TestBenchFSPIOP runs --mode fspiop against the switch bench starts,
// with its FSPIOP front end: every payment commits, in all three phases,
// and the books balance (an error would fail the command).
func TestBenchFSPIOP(t *testing.T) {
	out := filepath.Join(t.TempDir(), "result.json")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--mode", "fspiop", "--requests", "100", "--concurrency", "4", "--participants", "3",
		"--aliases", "30", "--warmup", "100ms", "--out", out}
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res loadgen.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("result: %v\n%s", err, b)
	}
	if res.Mode != loadgen.FSPIOP || res.Requests != 100 || res.Committed != 100 || res.Participants != 3 || res.ErrorCount != 0 {
		t.Errorf("result: %s", b)
	}
	for _, phase := range []string{"lookup", "quote", "transfer"} {
		if o := res.Operations[phase]; o.Requests != 100 || o.Statuses["ok"] != 100 {
			t.Errorf("phase %s: %+v", phase, o)
		}
	}
	if !strings.Contains(stderr.String(), "books: the 3 DFSPs' books match") {
		t.Errorf("stderr:\n%s", &stderr)
	}
}

// TestBenchRefuses checks the guards that keep a load test from running
// unbounded or at another machine by mistake; none of them connects.
func TestBenchRefuses(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--duration", "0"}, "bounded"},
		{[]string{"bench", "--target", "http://10.0.0.1:1", "--token", "x"}, "--allow-remote"},
		{[]string{"bench", "--target", "http://example.com", "--token", "x"}, "--allow-remote"},
		{[]string{"bench", "--target", "http://127.0.0.1:1", "--store", "postgres://x@127.0.0.1/db"}, "--store"},
		{[]string{"bench", "--mode", "nope", "--target", "http://127.0.0.1:1", "--token", "x"}, "--mode"},
		{[]string{"bench", "--mode", "batch", "--batch-size", "1001", "--target", "http://127.0.0.1:1", "--token", "x"}, "--batch-size"},
		{[]string{"bench", "--fleet", "f"}, "--target"},
		{[]string{"bench", "--mode", "fspiop", "--target", "http://127.0.0.1:1", "--token", "x"}, "--fspiop-target"},
		{[]string{"bench", "--fspiop-target", "http://127.0.0.1:2"}, "--fspiop-target goes with"},
		{[]string{"bench", "--mode", "fspiop", "--target", "http://127.0.0.1:1", "--token", "x", "--fspiop-target", "http://10.0.0.1:2"}, "--allow-remote"},
		{[]string{"bench", "--mode", "fspiop", "--target", "http://127.0.0.1:1", "--token", "x", "--fspiop-target", "http://127.0.0.1:2", "--fleet", "f"}, "--fleet"},
		{[]string{"bench", "--mode", "fspiop", "--aliases", "1000001"}, "--aliases"},
		{[]string{"bench", "--mode", "quoted", "--batch-size", "10"}, "--batch-size is for --mode batch"},
		{[]string{"bench", "--mode", "crossborder", "--batch-size", "1000"}, "--batch-size is for --mode batch"},
		{[]string{"bench", "--mode", "crossborder", "--target", "http://127.0.0.1:1", "--token", "x", "--fleet", "f"},
			"--fleet is not for --mode crossborder"},
		{[]string{"bench", "--mode", "crossborder", "--target", "http://127.0.0.1:1", "--token", "x", "--fleet", "f", "--wrk-export", "d"},
			"not for --mode crossborder"},
		{[]string{"bench", "--mode", "crossborder", "--target", "http://127.0.0.1:1", "--token", "x", "--payer-accounts", "0"},
			"--payer-accounts"},
	}
	t.Setenv("HULIAN_ADMIN_TOKEN", "")
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a refusal mentioning %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestBenchFleet sets up a fleet on a running switch, saves it, and
// reuses it in a second run without registering anything; a fleet file
// of another switch is refused.
func TestBenchFleet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const token = "op-token-0123456789abcdef-0123456789"
	a := apptest.Start(t, func(c *app.Config) {
		c.AdminToken = token
		c.RateLimit, c.RateBurst = 1e9, 1e9
	})
	fleet := filepath.Join(t.TempDir(), "fleet")
	// Each run pays as well as looks up: a rerun with the same fleet must
	// not reuse the transfer ids of the run before.
	bench := func(target string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"bench", "--target", target, "--token", token, "--fleet", fleet,
			"--mode", "mix", "--requests", "300", "--aliases", "300", "--warmup", "0", "--concurrency", "4"}, &stdout, &stderr)
		return code, stderr.String() + stdout.String()
	}
	participants := func() int {
		req, _ := http.NewRequestWithContext(ctx, "GET", a.URL()+"/v1/participants", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/participants: %s", resp.Status)
		}
		var ps wire.Participants
		if err := json.UnmarshalRead(resp.Body, &ps); err != nil {
			t.Fatal(err)
		}
		return len(ps.Participants)
	}
	if code, out := bench(a.URL()); code != 0 || !strings.Contains(out, "saved the participants") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	st, err := os.Stat(fleet)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("fleet file: %v, %v", st, err)
	}
	n := participants()
	code, out := bench(a.URL())
	if code != 0 || !strings.Contains(out, "using the 4 participants and 300 aliases") || !strings.Contains(out, "errors      none") {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	if participants() != n {
		t.Errorf("the second run created participants: %d, then %d", n, participants())
	}
	other := strings.Replace(a.URL(), "127.0.0.1", "localhost", 1)
	if code, out := bench(other); code == 0 || !strings.Contains(out, "another target") {
		t.Fatalf("fleet of another target: exit %d\n%s", code, out)
	}
}

// TestBenchPaymentModesTarget runs crossborder and quoted against a
// running switch: crossborder withdraws its rate sheet at the end, and
// quoted keeps its books right when a reused fleet has paid before (the
// books start from the balances after the setup).
func TestBenchPaymentModesTarget(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const token = "op-token-0123456789abcdef-0123456789"
	a := apptest.Start(t, func(c *app.Config) {
		c.AdminToken = token
		c.RateLimit, c.RateBurst = 1e9, 1e9
	})
	bench := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"bench", "--target", a.URL(), "--token", token, "--requests", "200", "--aliases", "100",
			"--warmup", "0", "--concurrency", "4"}, args...)
		if code := run(ctx, args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, &stderr, &stdout)
		}
		return stderr.String()
	}
	if out := bench("--mode", "crossborder"); !strings.Contains(out, "books: the accounts of 6 participants") {
		t.Errorf("crossborder:\n%s", out)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", a.URL()+"/v1/fx/rates?source=CNY&target=HKD", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rates wire.FXRates
	if err := json.UnmarshalRead(resp.Body, &rates); err != nil || resp.StatusCode != 200 {
		t.Fatalf("rates: %d %v", resp.StatusCode, err)
	}
	if len(rates.Rates) != 0 {
		t.Errorf("the bench's sheet outlived its run: %+v", rates.Rates)
	}
	fleet := filepath.Join(t.TempDir(), "fleet")
	for i := range 2 {
		if out := bench("--mode", "quoted", "--fleet", fleet); !strings.Contains(out, "books: the accounts of 4 participants") {
			t.Errorf("quoted, run %d:\n%s", i+1, out)
		}
	}
}
