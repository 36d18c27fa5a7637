package main

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	suite "github.com/hulian/hulian/internal/conformance"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// conformanceBed is a switch in the test with another participant that
// holds an alias (other-pay, notify mode), for the alias cases.
type conformanceBed struct {
	sw      *auditSw
	op      *sim.Client
	foreign string
}

func newConformanceBed(t *testing.T) *conformanceBed {
	t.Helper()
	sw := startAuditSwitch(t, t.TempDir(), "", func(c *app.Config) { c.Callback.AllowPrivate = true })
	t.Cleanup(sw.stop)
	b := &conformanceBed{sw: sw, op: sim.NewClient(sw.app.URL(), auditOpToken, nil), foreign: "MSISDN/+8613800138000"}
	other, _, _ := b.simParticipant(t, "other-pay", "notify")
	if _, err := other.API().RegisterParty(context.Background(), wire.NewParty{Type: "MSISDN", Value: "+8613800138000",
		Name: "Zhang San", Account: "u-zs", Currency: "CNY"}); err != nil {
		t.Fatal(err)
	}
	return b
}

// enroll creates participant id at the switch and writes its API key and
// callback secret to files, as an operator hands them over.
func (b *conformanceBed) enroll(t *testing.T, id, acceptance, callbackURL string) (p wire.Participant, keyFile, secretFile string) {
	t.Helper()
	p, err := b.op.CreateParticipant(context.Background(), wire.NewParticipant{ID: id, Name: id, Kind: "wallet",
		Currencies: []string{"CNY"}, CallbackURL: callbackURL, Acceptance: acceptance})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, secretFile = filepath.Join(dir, "api.key"), filepath.Join(dir, "callback.secret")
	for f, s := range map[string]string{keyFile: p.APIKey + "\n", secretFile: p.CallbackSecret + "\n"} {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p, keyFile, secretFile
}

// simParticipant starts a reference simulator and enrolls it.
func (b *conformanceBed) simParticipant(t *testing.T, id, acceptance string) (*sim.Participant, string, string) {
	t.Helper()
	p, err := sim.NewParticipant(sim.Config{ID: id, Name: id, Kind: "wallet", Currency: money.MustCurrency("CNY"), Acceptance: acceptance})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	created, keyFile, secretFile := b.enroll(t, id, acceptance, p.CallbackURL())
	p.Connect(sim.NewClient(b.sw.app.URL(), created.APIKey, nil), created.CallbackSecret)
	return p, keyFile, secretFile
}

// conform runs `hulian conformance` with args and returns its exit code,
// stdout and stderr.
func conform(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut syncBuffer
	code := run(ctx, append([]string{"conformance"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// readJUnit parses a JUnit report.
func readJUnit(t *testing.T, file string) suite.JUnitSuites {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s suite.JUnitSuites
	if err := xml.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(s.Suites) != 1 {
		t.Fatalf("%s: %d suites", file, len(s.Suites))
	}
	return s
}

// TestConformance: the reference simulator passes, with a progress line
// per case and a JUnit report; a participant that takes every callback
// unchecked fails, with a non-zero exit and the failures in the report.
func TestConformance(t *testing.T) {
	b := newConformanceBed(t)
	url := b.sw.app.URL()
	junit := filepath.Join(t.TempDir(), "report.xml")

	_, keyFile, secretFile := b.simParticipant(t, "peony-pay", "confirm")
	code, out, errOut := conform(t, "--switch", url, "--participant", "peony-pay", "--key", keyFile,
		"--callback-secret", secretFile, "--foreign-alias", b.foreign, "--junit", junit)
	t.Logf("stdout:\n%s", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, c := range suite.Cases() {
		if !strings.Contains(out, c.Name+" ") {
			t.Errorf("no progress line for %s", c.Name)
		}
	}
	if n := len(suite.Cases()); !strings.Contains(out, "passed, 0 failed, 0 skipped") || strings.Count(out, " PASS ") != n {
		t.Errorf("want %d cases passed", n)
	}
	if s := readJUnit(t, junit); s.Suites[0].Tests != len(suite.Cases()) || s.Suites[0].Failures != 0 {
		t.Errorf("report: %d tests, %d failures", s.Suites[0].Tests, s.Suites[0].Failures)
	}

	// A participant that answers 204 to anything, and has no probe.
	lax := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(lax.Close)
	_, keyFile, secretFile = b.enroll(t, "lax-pay", "notify", lax.URL+"/hook")
	code, out, _ = conform(t, "--switch", url, "--participant", "lax-pay", "--key", keyFile,
		"--callback-secret", secretFile, "--foreign-alias", b.foreign, "--junit", junit)
	if code == 0 {
		t.Fatalf("a participant that takes anything passed:\n%s", out)
	}
	for _, want := range []string{"signature.missing                      FAIL", "probe.unsigned                         FAIL  ",
		"answered 204, want 401", "alias.delete-own                       PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if s := readJUnit(t, junit); s.Suites[0].Failures == 0 || s.Failures != s.Suites[0].Failures {
		t.Errorf("report: %d failures (%d in testsuites)", s.Suites[0].Failures, s.Failures)
	}

	// Without the callback secret, the callback cases are skipped and
	// the rest passes.
	_, keyFile, _ = b.simParticipant(t, "lotus-pay", "notify")
	code, out, _ = conform(t, "--switch", url, "--participant", "lotus-pay", "--key", keyFile, "--foreign-alias", b.foreign)
	if code != 0 || !strings.Contains(out, "SKIP") || !strings.Contains(out, "no callback secret (--callback-secret)") {
		t.Errorf("without a secret: exit %d\n%s", code, out)
	}
}

// TestConformanceFlags: the cases are listed; missing flags and files are
// refused before anything is sent.
func TestConformanceFlags(t *testing.T) {
	code, out, _ := conform(t, "--list")
	if code != 0 || !strings.Contains(out, "notification.redelivered") || !strings.Contains(out, "credits nothing more") {
		t.Errorf("--list: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--switch", "http://127.0.0.1:1"}, "--switch, --participant and --key are required"},
		{[]string{"--switch", "http://127.0.0.1:1", "--participant", "p", "--key", "/nonexistent/key"}, "--key"},
		{[]string{"--switch", "ftp://x", "--participant", "p", "--key", os.Args[0]}, "switch URL"},
	} {
		code, _, errOut := conform(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestConformanceConnector: a wallet that runs `hulian connector` in
// front of its core system (here an httptest backend that accepts every
// incoming transfer) passes the suite, in confirm mode, with nothing
// skipped.
func TestConformanceConnector(t *testing.T) {
	b := newConformanceBed(t)
	url := b.sw.app.URL()
	var incoming atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/incoming" {
			http.NotFound(w, r)
			return
		}
		incoming.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"accept": true}`))
	}))
	t.Cleanup(backend.Close)
	// The connector points the participant's callbackUrl at itself.
	_, keyFile, secretFile := b.enroll(t, "kapok-pay", "notify", "http://127.0.0.1:9/not-yet")

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"connector", "--switch", url, "--key", keyFile, "--callback-secret", secretFile,
			"--backend", backend.URL, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--acceptance", "confirm"}, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("connector exit %d: %s", code, errOut.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "Hulian connector of"); {
		if time.Now().After(deadline) {
			t.Fatalf("the connector did not start:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	junit := filepath.Join(t.TempDir(), "report.xml")
	code, report, _ := conform(t, "--switch", url, "--participant", "kapok-pay", "--key", keyFile,
		"--callback-secret", secretFile, "--foreign-alias", b.foreign, "--junit", junit)
	t.Logf("conformance:\n%s", report)
	if code != 0 {
		t.Fatalf("the connector does not conform (exit %d); its log:\n%s", code, errOut.String())
	}
	if s := readJUnit(t, junit).Suites[0]; s.Failures != 0 || s.Skipped != 0 || s.Tests != len(suite.Cases()) {
		t.Errorf("report: %d tests, %d failures, %d skipped", s.Tests, s.Failures, s.Skipped)
	}
	if incoming.Load() == 0 {
		t.Error("the backend was never told of an incoming transfer")
	}
}
