package conformance_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hulian/hulian/internal/conformance"
)

var update = flag.Bool("update", false, "rewrite testdata/junit.golden.xml")

// normalise replaces what changes from run to run in a JUnit report:
// times, the timestamp, and the loopback ports of the switch and the
// participant.
func normalise(b []byte) []byte {
	for _, r := range []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(` time="[0-9.]+"`), ` time="0.000"`},
		{regexp.MustCompile(` timestamp="[^"]*"`), ` timestamp="2026-01-01T00:00:00Z"`},
		{regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`), `http://127.0.0.1:PORT`},
	} {
		b = r.re.ReplaceAll(b, []byte(r.with))
	}
	return b
}

// TestJUnitReport: the report of a participant that ignores signatures,
// in notify mode — passes, failures and skips — has the golden shape,
// parses with encoding/xml into counts that match the run, and is valid
// against the JUnit schema (testdata/junit.xsd) when xmllint is there.
func TestJUnitReport(t *testing.T) {
	b := newBed(t)
	f := &fake{id: "fake-golden", credits: map[string]int{}, ignoresSignatures: true}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	key, secret := b.enroll(t, f.id, "notify", srv.URL+"/cb")
	f.secret = secret
	rep, _ := b.run(t, conformance.Config{Participant: f.id, APIKey: key, CallbackSecret: secret, Run: "golden"}, false)

	var out bytes.Buffer
	if err := rep.WriteJUnit(&out); err != nil {
		t.Fatal(err)
	}
	var back conformance.JUnitSuites
	if err := xml.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("the report does not parse: %v", err)
	}
	if len(back.Suites) != 1 {
		t.Fatalf("%d suites", len(back.Suites))
	}
	s := back.Suites[0]
	failed, skipped := 0, 0
	for _, c := range s.Cases {
		if c.Failure != nil {
			failed++
		}
		if c.Skipped != nil {
			skipped++
		}
	}
	if s.Tests != len(conformance.Cases()) || len(s.Cases) != s.Tests || s.Failures != rep.Count(conformance.Fail) ||
		failed != s.Failures || s.Skipped != rep.Count(conformance.Skip) || skipped != s.Skipped || back.Failures != s.Failures {
		t.Errorf("counts: suites %d/%d, suite %d tests %d cases %d/%d failures %d/%d skipped", back.Tests, back.Failures,
			s.Tests, len(s.Cases), s.Failures, failed, s.Skipped, skipped)
	}
	if s.Failures != 6 || s.Skipped != 2 {
		t.Errorf("%d failures and %d skipped, want 6 and 2", s.Failures, s.Skipped)
	}

	dir := t.TempDir()
	report := filepath.Join(dir, "report.xml")
	if err := os.WriteFile(report, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if xmllint, err := exec.LookPath("xmllint"); err != nil {
		t.Log("no xmllint: the report is not checked against the schema")
	} else if msg, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit.xsd", report).CombinedOutput(); err != nil {
		t.Errorf("xmllint: %v\n%s", err, msg)
	}

	got := normalise(out.Bytes())
	golden := filepath.Join("testdata", "junit.golden.xml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the report differs from %s (go test -run TestJUnitReport -update to accept):\n%s", golden, got)
	}
}
