package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/wire"
)

// TestWitness runs a witness against a switch: two checkpoints,
// consistent, co-signed and published; then a rollback (a state that
// remembers a bigger tree) and two forks (a fake switch serving another
// root for the same size, and a bigger tree that does not extend the
// one seen) are detected and reported.
func TestWitness(t *testing.T) {
	ctx := context.Background()
	dir, wdir := t.TempDir(), t.TempDir()
	const regulator = "regulator-token-0123456789abcdef-0123"
	s := startAuditSwitch(t, dir, "", func(c *app.Config) { c.RegulatorToken = regulator })
	key := s.populate(4)

	var out, errs bytes.Buffer
	wkey := filepath.Join(wdir, "witness.key")
	if err := witness(ctx, []string{"keygen", "--name", "regulator.example/w1", "--out", wkey}, &out, &errs); err != nil {
		t.Fatal(err, errs.String())
	}
	wvkey := strings.TrimSpace(out.String())
	s.call("POST", "/v1/audit/witnesses", auditOpToken, wire.Witness{Name: "regulator.example/w1", Key: wvkey}, nil)

	switchKey := s.app.Audit.VerifierKey()
	state := filepath.Join(wdir, "state")
	run := func(url string) (string, string, error) {
		var out, errs bytes.Buffer
		err := witness(ctx, []string{"--switch", url, "--switch-key", switchKey, "--key", wkey, "--state", state, "--token", regulator, "--once"}, &out, &errs)
		return out.String(), errs.String(), err
	}
	if o, e, err := run(s.app.URL()); err != nil || !strings.Contains(o, "witnessed") {
		t.Fatalf("first round: %v\n%s%s", err, o, e)
	}
	s.payMore(key, 100, 3)
	cp, err := s.app.Audit.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o, e, err := run(s.app.URL())
	if err != nil || !strings.Contains(o, "consistent with size") {
		t.Fatalf("second round: %v\n%s%s", err, o, e)
	}
	t.Logf("witness: %s", o)
	// The switch publishes the co-signed checkpoint.
	req, _ := http.NewRequest("GET", s.app.URL()+"/v1/audit/checkpoint", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	pub.ReadFrom(resp.Body)
	resp.Body.Close()
	sv, _ := note.NewVerifier(switchKey)
	wv, _ := note.NewVerifier(wvkey)
	n, err := note.Open(pub.Bytes(), note.VerifierList(sv, wv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("published checkpoint %q: %v", pub.String(), err)
	}
	if c, _ := audit.ParseCheckpoint(n.Text); c.Size != cp.Size {
		t.Fatalf("published size %d, want %d", c.Size, cp.Size)
	}
	good, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}

	// Forgeries signed with the switch's key: what a switch that forks
	// or rolls back its log would show.
	skey, err := audit.LoadKey(filepath.Join(dir, "audit.key"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	forge := func(size int64, rootByte byte) []byte {
		c := audit.Checkpoint{Origin: signer.Name(), Size: size}
		c.Root[0] = rootByte
		msg, err := note.Sign(&note.Note{Text: string(c.Format())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}

	// Rollback: the witness remembers a bigger tree than the switch shows.
	if err := os.WriteFile(state, forge(cp.Size+1000, 7), 0o600); err != nil {
		t.Fatal(err)
	}
	_, e, err = run(s.app.URL())
	if !errors.Is(err, errRollback) || !strings.Contains(e, "ALERT") || !strings.Contains(e, "ROLLBACK") {
		t.Fatalf("rollback not reported: %v\n%s", err, e)
	}
	t.Logf("rollback reported:\n%s", e)

	// Fork: the same size with another root, from a fake switch.
	os.WriteFile(state, good, 0o600)
	var bigger atomic.Bool
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/audit/checkpoint":
			size := cp.Size
			if bigger.Load() {
				size += 5
			}
			w.Write(forge(size, 9))
		case "/v1/audit/consistency":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"from":1,"to":2,"proof":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer fake.Close()
	_, e, err = run(fake.URL)
	if !errors.Is(err, errFork) || !strings.Contains(e, "FORK") {
		t.Fatalf("fork not reported: %v\n%s", err, e)
	}
	// Fork: a bigger tree that does not extend the one seen.
	bigger.Store(true)
	_, e, err = run(fake.URL)
	if !errors.Is(err, errFork) || !strings.Contains(e, "does not extend") {
		t.Fatalf("inconsistent bigger tree not reported: %v\n%s", err, e)
	}
	if st, _ := os.ReadFile(state); !bytes.Equal(st, good) {
		t.Fatal("the witness changed its view after an alert")
	}
	if _, err := os.Stat(state + ".alerts"); err != nil {
		t.Fatal("no alerts file:", err)
	}

	// Offline, the co-signatures verify too.
	s.stop()
	vout, err := runVerify(t, "--data", dir, "--key", switchKey)
	if err != nil || !strings.Contains(vout, "1 registered, 2 co-signatures verified") {
		t.Fatalf("verify: %v\n%s", err, vout)
	}
}
