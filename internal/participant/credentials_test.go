package participant_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/testbed"
)

// credEnv is a registry with a data key on a clock the test moves.
type credEnv struct {
	*testbed.Bed
	clk *testbed.Clock
	key *seal.Key
	reg *participant.Registry
}

func newCredEnv(t *testing.T) *credEnv {
	t.Helper()
	clk := testbed.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), 0)
	b := testbed.Open(t, testbed.Options{Now: clk.Now})
	key, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := participant.Load(context.Background(), b.DB, b.Journal, clk.Now, participant.Options{Seal: key})
	if err != nil {
		t.Fatal(err)
	}
	return &credEnv{Bed: b, clk: clk, key: key, reg: reg}
}

func (e *credEnv) authenticates(key string) bool {
	_, err := e.reg.Authenticate(key)
	return err == nil
}

func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	e := newCredEnv(t)
	_, c0, err := e.reg.Create(ctx, participant.New{ID: "alpha", Name: "A", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	if err != nil {
		t.Fatal(err)
	}
	k1, until, err := e.reg.RotateKey(ctx, "alpha", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !until.Equal(e.clk.Now().Add(time.Hour)) || !strings.HasPrefix(k1, "alpha.") || k1 == c0.APIKey {
		t.Fatalf("RotateKey = %q, %v", k1, until)
	}
	if !e.authenticates(c0.APIKey) || !e.authenticates(k1) {
		t.Fatal("during the grace period both keys must work")
	}
	// A second rotation within the grace period: the oldest key stops at
	// once, so that at most two keys are valid.
	k2, _, err := e.reg.RotateKey(ctx, "alpha", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if e.authenticates(c0.APIKey) || !e.authenticates(k1) || !e.authenticates(k2) {
		t.Fatal("after two rotations: want the two newest keys valid, the first not")
	}
	e.clk.Advance(time.Hour)
	if e.authenticates(k1) || !e.authenticates(k2) {
		t.Fatal("the previous key must stop when its grace period ends")
	}
	// Grace 0 revokes the old key at once.
	k3, until, err := e.reg.RotateKey(ctx, "alpha", 0)
	if err != nil || !until.Equal(e.clk.Now()) {
		t.Fatalf("RotateKey(0) = %v, %v", until, err)
	}
	if e.authenticates(k2) || !e.authenticates(k3) {
		t.Fatal("grace 0 must revoke the previous key at once")
	}
	// It all survives a restart.
	reg, err := participant.Load(ctx, e.DB, e.Journal, e.clk.Now, participant.Options{Seal: e.key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Authenticate(k3); err != nil {
		t.Fatal("the rotated key does not survive a restart")
	}
	if _, err := reg.Authenticate(k2); err == nil {
		t.Fatal("a revoked key works again after a restart")
	}
	for _, g := range []time.Duration{-time.Second, participant.GraceMax + time.Second} {
		if _, _, err := e.reg.RotateKey(ctx, "alpha", g); !errors.Is(err, participant.ErrInvalid) {
			t.Errorf("RotateKey(grace %v) = %v, want ErrInvalid", g, err)
		}
	}
	if _, _, err := e.reg.RotateKey(ctx, "nobody", 0); !errors.Is(err, participant.ErrNotFound) {
		t.Errorf("RotateKey(nobody) = %v", err)
	}
}

func TestRotateCallbackSecretAndSealing(t *testing.T) {
	ctx := context.Background()
	e := newCredEnv(t)
	_, c0, err := e.reg.Create(ctx, participant.New{ID: "alpha", Name: "A", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	if err != nil {
		t.Fatal(err)
	}
	s1, until, err := e.reg.RotateCallbackSecret(ctx, "alpha", 10*time.Minute)
	if err != nil || !until.Equal(e.clk.Now().Add(10*time.Minute)) {
		t.Fatal(until, err)
	}
	p, _ := e.reg.Get("alpha")
	if got := p.CallbackSecrets(e.clk.Now()); !slices.Equal(got, []string{s1, c0.CallbackSecret}) {
		t.Fatalf("during the grace period CallbackSecrets = %q, want the new then the old", got)
	}
	if got := p.CallbackSecrets(until); !slices.Equal(got, []string{s1}) {
		t.Fatalf("after the grace period CallbackSecrets = %q, want the new alone", got)
	}
	// At rest the secrets are sealed: neither appears in the database.
	var cur, prev string
	if err := e.DB.QueryRowContext(ctx, `SELECT callback_secret, prev_callback_secret FROM participants WHERE id = 'alpha'`).Scan(&cur, &prev); err != nil {
		t.Fatal(err)
	}
	if !seal.IsSealed(cur) || !seal.IsSealed(prev) || strings.Contains(cur+prev, s1) || strings.Contains(cur+prev, c0.CallbackSecret) {
		t.Fatalf("stored secrets are not sealed: %q %q", cur, prev)
	}
	// A secret stored plain by an earlier release reads back, and is
	// sealed at the next start.
	if _, err := e.DB.ExecContext(ctx, `UPDATE participants SET callback_secret = 'legacy-plain-secret' WHERE id = 'alpha'`); err != nil {
		t.Fatal(err)
	}
	reg, err := participant.Load(ctx, e.DB, e.Journal, e.clk.Now, participant.Options{Seal: e.key})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := reg.Get("alpha"); p.CallbackSecret() != "legacy-plain-secret" {
		t.Fatalf("legacy secret reads back as %q", p.CallbackSecret())
	}
	if err := e.DB.QueryRowContext(ctx, `SELECT callback_secret FROM participants WHERE id = 'alpha'`).Scan(&cur); err != nil {
		t.Fatal(err)
	}
	if !seal.IsSealed(cur) {
		t.Fatalf("the legacy secret was not sealed at start: %q", cur)
	}
	// Without the key the switch refuses rather than using ciphertext.
	if _, err := participant.Load(ctx, e.DB, e.Journal, e.clk.Now, participant.Options{}); err == nil {
		t.Fatal("loading sealed secrets without the data key succeeded")
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	e := newCredEnv(t)
	_, c, err := e.reg.Create(ctx, participant.New{ID: "alpha", Name: "A", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.reg.RotateKey(ctx, "alpha", time.Hour); err != nil {
		t.Fatal(err)
	}
	notEmpty := func(context.Context, participant.Participant) error { return participant.ErrBalanceNotZero }
	if _, err := e.reg.Close(ctx, "alpha", notEmpty); !errors.Is(err, participant.ErrBalanceNotZero) {
		t.Fatalf("Close with money = %v, want ErrBalanceNotZero", err)
	}
	if p, _ := e.reg.Get("alpha"); p.Status != participant.Active || !e.authenticates(c.APIKey) {
		t.Fatal("a refused close changed the participant")
	}
	empty := func(context.Context, participant.Participant) error { return nil }
	p, err := e.reg.Close(ctx, "alpha", empty)
	if err != nil || p.Status != participant.Closed {
		t.Fatalf("Close = %v, %v", p.Status, err)
	}
	if e.authenticates(c.APIKey) {
		t.Fatal("a closed participant's key still works")
	}
	if p, err := e.reg.Close(ctx, "alpha", notEmpty); err != nil || p.Status != participant.Closed {
		t.Fatalf("closing again = %v, %v; want the closed participant", p.Status, err)
	}
	active := participant.Active
	if _, err := e.reg.Apply(ctx, "alpha", participant.Update{Status: &active}); !errors.Is(err, participant.ErrClosed) {
		t.Fatalf("resuming a closed participant = %v, want ErrClosed", err)
	}
	if _, _, err := e.reg.RotateKey(ctx, "alpha", 0); !errors.Is(err, participant.ErrClosed) {
		t.Fatalf("rotating a closed participant's key = %v, want ErrClosed", err)
	}
	reg, err := participant.Load(ctx, e.DB, e.Journal, e.clk.Now, participant.Options{Seal: e.key})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := reg.Get("alpha"); p.Status != participant.Closed {
		t.Fatal("closure does not survive a restart")
	}
}

func TestClientCertHash(t *testing.T) {
	ctx := context.Background()
	e := newCredEnv(t)
	good := strings.Repeat("AB", 32)
	p, _, err := e.reg.Create(ctx, participant.New{ID: "alpha", Name: "A", Kind: participant.Wallet, Currencies: []money.Currency{cny}, ClientCertSHA256: good})
	if err != nil || p.ClientCertSHA256 != strings.ToLower(good) {
		t.Fatalf("Create = %q, %v", p.ClientCertSHA256, err)
	}
	for _, bad := range []string{"abc", strings.Repeat("g", 64), strings.Repeat("a", 62)} {
		if _, err := e.reg.Apply(ctx, "alpha", participant.Update{ClientCertSHA256: &bad}); !errors.Is(err, participant.ErrInvalid) {
			t.Errorf("clientCertSha256 %q = %v, want ErrInvalid", bad, err)
		}
	}
	none := ""
	if p, err := e.reg.Apply(ctx, "alpha", participant.Update{ClientCertSHA256: &none}); err != nil || p.ClientCertSHA256 != "" {
		t.Fatalf("unbinding = %q, %v", p.ClientCertSHA256, err)
	}
}

// TestLinkKeySealed: a scheme link's key for the far scheme is sealed at
// rest and opened at start.
func TestLinkKeySealed(t *testing.T) {
	ctx := context.Background()
	e := newCredEnv(t)
	const key = "cn-link.far-secret-0123456789"
	if _, _, err := e.reg.Create(ctx, participant.New{ID: "hk-link", Name: "HK", Kind: participant.Scheme, Currencies: []money.Currency{cny},
		FSPIOP: &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b", LinkID: "cn-link", LinkKey: key}}); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := e.DB.QueryRowContext(ctx, `SELECT fspiop_link_key FROM participants WHERE id = 'hk-link'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !seal.IsSealed(stored) || strings.Contains(stored, key) {
		t.Fatalf("the link key is stored as %q", stored)
	}
	reg, err := participant.Load(ctx, e.DB, e.Journal, e.clk.Now, participant.Options{Seal: e.key})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := reg.Get("hk-link"); p.FSPIOP == nil || p.FSPIOP.LinkKey != key {
		t.Fatalf("after a restart: %+v", p.FSPIOP)
	}
}
