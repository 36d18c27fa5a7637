package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// TestConnectorCommand runs `hulian connector` as the docs' walk-through
// does: onboarding's credentials written to files, the connector started
// on them, an alias registered and a payment made through its API; then
// it stops on the signal (ctx) and starts again on its data directory.
func TestConnectorCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const token = "op-token-0123456789abcdef-0123456789"
	a := apptest.Start(t, func(c *app.Config) {
		c.AdminToken = token
		c.Callback.AllowPrivate = true
	})
	op := sim.NewClient(a.URL(), token, nil)
	var ws [2]wire.Participant
	var err error
	for i, id := range []string{"tea-wallet", "peony-pay"} {
		if ws[i], err = op.CreateParticipant(ctx, wire.NewParticipant{ID: id, Name: id, Kind: "wallet", Currencies: []string{"CNY"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := op.MoveFunds(ctx, id, wire.Funds{Currency: "CNY", Amount: "1000.00", Direction: "deposit"}); err != nil {
			t.Fatal(err)
		}
	}
	// The payee registers its user itself, with its own key.
	if _, err := sim.NewClient(a.URL(), ws[1].APIKey, nil).RegisterParty(ctx, wire.NewParty{Type: "MSISDN", Value: "+8613800138001",
		Name: "Wang Wei", Account: "u-1", Currency: "CNY"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		return f
	}
	key, secret := write("api-key", ws[0].APIKey, 0o600), write("callback-secret", ws[0].CallbackSecret, 0o644)
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	bsrv := &http.Server{Handler: backend}
	bln := listen(t)
	go bsrv.Serve(bln)
	defer bsrv.Close()
	bsecret, btoken := write("backend-secret", "backend-secret-0123456789abcdef", 0o600), write("backend-token", "gateway-token-0123", 0o600)
	args := []string{"connector", "--switch", a.URL(), "--key", key, "--callback-secret", secret, "--backend", "http://" + bln.Addr().String(),
		"--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--log-level", "warn", "--backend-secret", bsecret, "--backend-token", btoken}

	for round := range 2 {
		cctx, stop := context.WithCancel(ctx)
		var out, errOut syncBuffer
		done := make(chan int, 1)
		go func() { done <- run(cctx, args, &out, &errOut) }()
		var api string
		waitUntil(t, done, func() bool {
			m := regexp.MustCompile(`API        (http://\S+)`).FindStringSubmatch(out.String())
			if m != nil {
				api = m[1]
			}
			return m != nil
		})
		if !strings.Contains(errOut.String(), "callback-secret is readable by others") {
			t.Errorf("no warning of a credential file others may read: %s", errOut.String())
		}
		if p, _ := op.Participant(ctx, "tea-wallet"); !strings.HasSuffix(p.CallbackURL, "/hulian/callbacks") {
			t.Errorf("callbackUrl %q", p.CallbackURL)
		}
		body := `{"id":"order-` + string(rune('1'+round)) + `","to":{"type":"MSISDN","value":"+8613800138001"},"amount":"12.50","currency":"CNY","payerAccount":"alice"}`
		resp, err := http.Post(api+"/payments", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"state":"COMMITTED"`) {
			t.Errorf("round %d: POST /payments: %d %s", round, resp.StatusCode, b)
		}
		if !strings.Contains(out.String(), "/incoming (signed, Bearer token)") {
			t.Errorf("the banner does not say how the backend is called:\n%s", out.String())
		}
		if resp, err := http.Get(api + "/metrics"); err != nil {
			t.Error(err)
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `hulian_connector_payments_total{state="committed"} 1`) {
				t.Errorf("round %d: GET /metrics: %d\n%s", round, resp.StatusCode, b)
			}
		}
		stop()
		if code := <-done; code != 0 || !strings.Contains(out.String(), "shutting down") {
			t.Fatalf("round %d: exit %d\n%s\n%s", round, code, out.String(), errOut.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "connector.db")); err != nil {
		t.Errorf("the record: %v", err)
	}
}

// TestConnectorFlags: what is missing or wrong is said before anything
// starts; a key the switch refuses stops the connector at once.
func TestConnectorFlags(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte("tea-wallet.nope\n"), 0o600)
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("0123456789abcdef0123\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("too-short\n"), 0o600)
	ts := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"type":"https://hulian.dev/problems/unauthorized","title":"no","status":401}`)
	})}
	ln := listen(t)
	go ts.Serve(ln)
	defer ts.Close()
	sw := "http://" + ln.Addr().String()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "--backend, --callback-secret, --data, --key, --switch required"},
		{"empty key", []string{"--switch", sw, "--key", empty, "--callback-secret", secret, "--backend", sw, "--data", dir}, "is empty"},
		{"no such file", []string{"--switch", sw, "--key", filepath.Join(dir, "nope"), "--callback-secret", secret, "--backend", sw, "--data", dir}, "no such file"},
		{"bad URL", []string{"--switch", "ftp://x", "--key", key, "--callback-secret", secret, "--backend", sw, "--data", dir}, "want http:// or https://"},
		{"empty backend secret", []string{"--switch", sw, "--key", key, "--callback-secret", secret, "--backend", sw, "--data", dir,
			"--backend-secret", empty}, "--backend-secret: " + empty + " is empty"},
		{"short backend secret", []string{"--switch", sw, "--key", key, "--callback-secret", secret, "--backend", sw, "--data", dir,
			"--backend-secret", short}, "backend secret: shorter than 16 characters"},
		{"no backend token", []string{"--switch", sw, "--key", key, "--callback-secret", secret, "--backend", sw, "--data", dir,
			"--backend-token", filepath.Join(dir, "nope")}, "--backend-token: stat"},
		{"refused key", []string{"--switch", sw, "--key", key, "--callback-secret", secret, "--backend", sw, "--data", dir, "--listen", "127.0.0.1:0"},
			"the switch refuses the API key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut syncBuffer
			if code := run(context.Background(), append([]string{"connector"}, tc.args...), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %s; want %q", code, errOut.String(), tc.want)
			}
		})
	}
}

// waitUntil polls cond until it holds; the test fails if the command
// ends first or a deadline passes.
func waitUntil(t *testing.T, done chan int, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case code := <-done:
			t.Fatalf("the command ended (exit %d) first", code)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// listen listens on a free loopback port until the test ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
