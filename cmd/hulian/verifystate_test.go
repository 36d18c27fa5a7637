package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/wire"
)

// doctor is a proxy in front of a switch that can serve another
// checkpoint or verifier key in place of the switch's.
type doctor struct {
	mu         sync.Mutex
	checkpoint []byte
	verifier   []byte
	from, to   string // replaced in the switch's answers
	srv        *httptest.Server
}

func newDoctor(t *testing.T, target string) *doctor {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	d := &doctor{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(r *http.Response) error {
		d.mu.Lock()
		from, to := d.from, d.to
		d.mu.Unlock()
		if from == "" {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(from), []byte(to))
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		cp, vk := d.checkpoint, d.verifier
		d.mu.Unlock()
		switch {
		case r.URL.Path == "/v1/audit/checkpoint" && cp != nil:
			w.Write(cp)
		case r.URL.Path == "/v1/audit/verifier" && vk != nil:
			w.Write(vk)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *doctor) serve(cp, vk []byte) {
	d.mu.Lock()
	d.checkpoint, d.verifier = cp, vk
	d.mu.Unlock()
}

// TestVerifyState runs hulian verify --switch --state: it accepts a log
// that grew, and fails on a rollback (an older signed checkpoint
// served), a fork (another tree of the same size, signed with the
// switch's key; a second switch with the same key and other events) and
// a changed key, keeping the state it accepted last.
func TestVerifyState(t *testing.T) {
	dir := t.TempDir()
	s := startAuditSwitch(t, dir, "", nil)
	defer s.stop()
	keyA := s.populate(6)
	d := newDoctor(t, s.app.URL())
	state := filepath.Join(t.TempDir(), "state")
	run := func(token string) (string, error) {
		return runVerify(t, "--switch", d.srv.URL, "--token", token, "--state", state)
	}
	mustFail := func(token, want string) {
		t.Helper()
		before, _ := os.ReadFile(state)
		out, err := run(token)
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("want a failure naming %q: %v\n%s", want, err, out)
		}
		if after, _ := os.ReadFile(state); string(after) != string(before) {
			t.Fatal("a failed run changed the state")
		}
	}

	// First run: the checkpoint is accepted, the state written 0600.
	out, err := run(auditOpToken)
	if err != nil || !strings.Contains(out, "first run") {
		t.Fatalf("%v\n%s", err, out)
	}
	if st, err := os.Stat(state); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", st, err)
	}
	first, ok, err := readState(state)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	// Growth is accepted, with the consistency proof, by a participant
	// too (who also checks its transfers' proofs).
	s.payMore(keyA, 100, 5)
	if out, err := run(keyA); err != nil || !strings.Contains(out, "extends the tree") || !strings.Contains(out, "transfers: ") {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := run(auditOpToken); err != nil || !strings.Contains(out, "extends the tree") {
		t.Fatalf("%v\n%s", err, out)
	}

	// A rollback: the older checkpoint, validly signed, served again.
	d.serve(first.note, nil)
	mustFail(auditOpToken, "ROLLBACK")

	// A fork of the same size: another root signed with the switch's key.
	cur, _, _ := readState(state)
	skey, err := audit.LoadKey(filepath.Join(dir, "audit.key"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(cur.vkey)
	cp, err := openCheckpoint(cur.note, v)
	if err != nil {
		t.Fatal(err)
	}
	cp.Root[0] ^= 1
	forged, err := note.Sign(&note.Note{Text: string(cp.Format())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	d.serve(forged, nil)
	mustFail(auditOpToken, "FORK")

	// A changed key.
	_, otherKey, _ := note.GenerateKey(nil, "hulian.switch/other")
	d.serve(nil, []byte(otherKey+"\n"))
	mustFail(auditOpToken, "key changed")
	d.serve(nil, nil)

	// A fork by growth: a second switch with the same key and other
	// events, bigger than the tree accepted.
	s2 := startAuditSwitch(t, t.TempDir(), "", func(c *app.Config) { c.AuditKey = filepath.Join(dir, "audit.key") })
	defer s2.stop()
	var p wire.Participant
	s2.call("POST", "/v1/participants", auditOpToken, wire.NewParticipant{ID: "wallet-z", Name: "Z", Kind: "wallet", Currencies: []string{"CNY"}}, &p)
	for i := 0; i < 40; i++ {
		s2.call("POST", "/v1/participants/wallet-z/funds", auditOpToken, wire.Funds{Currency: "CNY", Amount: "1.00", Direction: "deposit"}, nil)
	}
	if _, err := s2.app.Audit.Sync(context.Background()); err != nil { // sign now
		t.Fatal(err)
	}
	out, err = runVerify(t, "--switch", s2.app.URL(), "--token", auditOpToken, "--state", state)
	if err == nil || !strings.Contains(out, "FORK") {
		t.Fatalf("a second switch with the same key and other events: %v\n%s", err, out)
	}

	// Without --state, a payee checks its transfers' proofs and that
	// each leaf holds the MAC of the account it sees.
	var c wire.Participant
	s.call("POST", "/v1/participants", auditOpToken, wire.NewParticipant{ID: "wallet-c", Name: "C", Kind: "wallet", Currencies: []string{"CNY"}}, &c)
	s.call("POST", "/v1/parties", c.APIKey, wire.NewParty{Type: "MSISDN", Value: "+8613800000003", Name: "Cy", Account: "c-account-3", Currency: "CNY"}, nil)
	for _, id := range []string{"to-c-1", "to-c-2"} {
		s.call("POST", "/v1/transfers", keyA, wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800000003"}, Amount: "2.00", Currency: "CNY"}, nil)
	}
	out, err = runVerify(t, "--switch", s.app.URL(), "--token", c.APIKey)
	if err != nil || !strings.Contains(out, "transfers: 2 checked") || !strings.Contains(out, "accounts: 2 leaves hold the MAC") {
		t.Fatalf("verify as the payee: %v\n%s", err, out)
	}

	// A switch that shows the payee another account than its leaf's MAC
	// is caught.
	d.mu.Lock()
	d.from, d.to = "c-account-3", "c-account-4"
	d.mu.Unlock()
	out, err = runVerify(t, "--switch", d.srv.URL, "--token", c.APIKey)
	if err == nil || !strings.Contains(out, "the account MAC is not of the payee account") {
		t.Fatalf("verify of another account: %v\n%s", err, out)
	}
	d.mu.Lock()
	d.from, d.to = "", ""
	d.mu.Unlock()

	// The real switch is still accepted.
	if out, err := run(auditOpToken); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
