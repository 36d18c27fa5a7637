package loadgen_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/loadgen"
	"github.com/hulian/hulian/internal/wire"
)

const fspToken = "op-token-0123456789abcdef-0123456789"

// tamper is a progress writer that, once the setup is done, deposits
// one yuan to the first bench participant behind the DFSPs' back, so
// that the books check has something to find.
type tamper struct {
	t      *testing.T
	target string
	mu     sync.Mutex
	out    bytes.Buffer
	done   bool
}

func (w *tamper) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(b)
	_, rest, ok := bytes.Cut(b, []byte("(participants "))
	if w.done || !ok {
		return len(b), nil
	}
	w.done = true
	prefix, _, _ := bytes.Cut(rest, []byte("*)"))
	fspCall(w.t, "POST", w.target+"/v1/participants/"+string(prefix)+"a/funds",
		wire.Funds{Currency: "CNY", Amount: "1.00", Direction: "deposit"}, nil)
	return len(b), nil
}

// fspCall makes an operator request of the switch.
func fspCall(t *testing.T, method, url string, in, out any) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Error(err)
			return
		}
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Authorization", "Bearer "+fspToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
		return
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Error(err)
		}
	}
}

// TestRunFSPIOP pays between two simulated DFSPs through a switch with
// its FSPIOP front end: every payment must commit through all three
// phases and the books must match the switch's accounts; a deposit made
// behind the DFSPs' back must show as a difference in the books.
func TestRunFSPIOP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := apptest.Start(t, func(c *app.Config) {
		c.AdminToken = fspToken
		c.RateLimit, c.RateBurst, c.LookupRate, c.LookupBurst = 1e9, 1e9, 1e9, 1e9
		c.FSPIOPAddr = "127.0.0.1:0"
		c.Callback.AllowPrivate = true
	})
	target, err := loadgen.CheckTarget(a.URL(), false)
	if err != nil {
		t.Fatal(err)
	}
	fsp, err := loadgen.CheckTarget(a.FSPIOPURL(), false)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tamper bool
		// wantErr is the start of the one error kind expected; none if
		// empty.
		wantErr string
	}{
		{name: "balanced"},
		{name: "deposit behind the books", tamper: true, wantErr: "books: bench-"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			progress := &tamper{t: t, target: a.URL(), done: !tc.tamper}
			cfg := loadgen.Config{Target: target, Token: fspToken, Concurrency: 4, Requests: 200, Warmup: 100 * time.Millisecond,
				Aliases: 20, Participants: 2, Progress: progress, InProcess: true, Switch: "in-process"}
			res, err := loadgen.RunFSPIOP(ctx, cfg, fsp)
			if err != nil {
				t.Fatalf("%v\n%s", err, &progress.out)
			}
			var text bytes.Buffer
			res.WriteText(&text)
			t.Logf("\n%s%s", &progress.out, &text)
			if res.Mode != loadgen.FSPIOP || res.Requests != 200 || res.Transfers != 200 || res.Committed != 200 ||
				res.TransferStatuses["COMMITTED"] != 200 || res.Aliases != 20 || res.Participants != 2 {
				t.Errorf("payments: %+v", res)
			}
			for _, phase := range []string{"lookup", "quote", "transfer"} {
				o := res.Operations[phase]
				if o.Requests != 200 || o.Statuses["ok"] != 200 || o.Latency.P50 <= 0 || o.Latency.P99 > res.Latency.Max {
					t.Errorf("phase %s: %+v", phase, o)
				}
			}
			if l := res.Latency; l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max || res.TransfersPerSecond <= 0 {
				t.Errorf("latency %+v, %v payments/s", l, res.TransfersPerSecond)
			}
			switch {
			case tc.wantErr == "" && res.ErrorCount != 0:
				t.Errorf("errors: %v", res.Errors)
			case tc.wantErr != "":
				if res.ErrorCount != 1 || len(res.Errors) != 1 {
					t.Errorf("errors: %v; want one, %q…", res.Errors, tc.wantErr)
				}
				for k := range res.Errors {
					if !strings.HasPrefix(k, tc.wantErr) || !strings.Contains(k, "-1.00") {
						t.Errorf("error %q; want %q…, a difference of -1.00", k, tc.wantErr)
					}
				}
			}
		})
	}
}
