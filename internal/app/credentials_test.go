package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/testbed"
	"github.com/hulian/hulian/internal/wire"
)

// TestRotateKeys: a participant or the operator rotates its API key; the
// old key works until the grace period ends and never after, at most two
// keys are valid, and nobody else may rotate it.
func TestRotateKeys(t *testing.T) {
	clk := testbed.NewClock(time.Now().UTC(), 0)
	eachEngine(t, func(c *app.Config) { c.Now = clk.Now }, func(t *testing.T, s *sw) {
		k0, _ := s.participant("wallet-a", nil)
		kb, _ := s.participant("wallet-b", nil)

		var r1 wire.RotatedKey
		s.ok(201, "POST", "/v1/participants/wallet-a/keys", k0, map[string]any{"graceSeconds": 3600}, &r1)
		if !strings.HasPrefix(r1.APIKey, "wallet-a.") || r1.APIKey == k0 || !r1.PreviousKeyExpiresAt.Equal(clk.Now().Add(time.Hour).Truncate(time.Nanosecond)) {
			t.Fatalf("rotation answer %+v", r1)
		}
		s.ok(200, "GET", "/v1/participants/wallet-a", k0, nil, nil)
		s.ok(200, "GET", "/v1/participants/wallet-a", r1.APIKey, nil, nil)
		// The old key, in its grace period, still transacts but mints
		// nothing: a leaked key cannot outlive the rotation that revokes it.
		s.problem(403, "forbidden", "POST", "/v1/participants/wallet-a/keys", k0, map[string]any{"graceSeconds": 0})
		s.problem(403, "forbidden", "POST", "/v1/participants/wallet-a/callback-secrets", k0, nil)
		s.problem(403, "forbidden", "PATCH", "/v1/participants/wallet-a", k0, map[string]any{"acceptance": "notify"})
		s.ok(200, "GET", "/v1/participants/wallet-a", r1.APIKey, nil, nil)

		// A second rotation in the grace period (by the operator, default
		// grace): the first key stops at once, the two newest work.
		var r2 wire.RotatedKey
		s.ok(201, "POST", "/v1/participants/wallet-a/keys", opToken, nil, &r2)
		if !r2.PreviousKeyExpiresAt.Equal(clk.Now().Add(24 * time.Hour)) {
			t.Fatalf("default grace: previous key expires %v, want in 24 h", r2.PreviousKeyExpiresAt)
		}
		s.problem(401, "unauthorized", "GET", "/v1/participants/wallet-a", k0, nil)
		s.ok(200, "GET", "/v1/participants/wallet-a", r1.APIKey, nil, nil)
		s.ok(200, "GET", "/v1/participants/wallet-a", r2.APIKey, nil, nil)

		// The grace period ends: the previous key never works again.
		clk.Advance(24*time.Hour + time.Second)
		s.problem(401, "unauthorized", "GET", "/v1/participants/wallet-a", r1.APIKey, nil)
		s.ok(200, "GET", "/v1/participants/wallet-a", r2.APIKey, nil, nil)

		// graceSeconds 0 revokes the old key at once (a leaked key).
		var r3 wire.RotatedKey
		s.ok(201, "POST", "/v1/participants/wallet-a/keys", r2.APIKey, map[string]any{"graceSeconds": 0}, &r3)
		s.problem(401, "unauthorized", "GET", "/v1/participants/wallet-a", r2.APIKey, nil)
		s.ok(200, "GET", "/v1/participants/wallet-a", r3.APIKey, nil, nil)

		// Nobody else rotates it; bad bodies change nothing.
		s.problem(404, "not-found", "POST", "/v1/participants/wallet-a/keys", kb, nil)
		s.problem(401, "unauthorized", "POST", "/v1/participants/wallet-a/keys", "", nil)
		for _, body := range []any{map[string]any{"graceSeconds": -1}, map[string]any{"graceSeconds": 99999999999}, `{"grace": 1}`, `[]`} {
			s.problem(400, "invalid-request", "POST", "/v1/participants/wallet-a/keys", r3.APIKey, body)
		}
		s.ok(200, "GET", "/v1/participants/wallet-a", r3.APIKey, nil, nil)
	})
}

// TestRotateCallbackSecrets: during the grace period every callback
// carries one v1 signature per valid secret, so that the participant
// verifies with either; after it, only the new secret signs.
func TestRotateCallbackSecrets(t *testing.T) {
	clk := testbed.NewClock(time.Now().UTC(), 0)
	eachEngine(t, func(c *app.Config) { c.Now = clk.Now }, func(t *testing.T, s *sw) {
		h := newHook(t)
		ka, _ := s.participant("wallet-a", nil)
		kb, oldSecret := s.participant("wallet-b", func(np *wire.NewParticipant) { np.CallbackURL = h.url })
		s.deposit("wallet-a", "100.00")
		s.party(kb, "MSISDN", "+8613800000001", "Li Lei", "acct-1")

		var rs wire.RotatedSecret
		s.ok(201, "POST", "/v1/participants/wallet-b/callback-secrets", kb, map[string]any{"graceSeconds": 600}, &rs)
		h.mu.Lock()
		h.secret = rs.CallbackSecret // valid in and after the grace period
		h.mu.Unlock()
		if rs.CallbackSecret == "" || rs.CallbackSecret == oldSecret || !rs.PreviousSecretExpiresAt.Equal(clk.Now().Add(10*time.Minute)) {
			t.Fatalf("rotation answer %+v", rs)
		}
		s.ok(201, "POST", "/v1/transfers", ka, pay("t-1", "MSISDN", "+8613800000001", "1.00"), nil)
		sig, body := h.waitReceived(t, 0)
		if strings.Count(sig, "v1=") != 2 {
			t.Fatalf("during the grace period: signature header %q, want two v1 signatures", sig)
		}
		for _, secret := range []string{oldSecret, rs.CallbackSecret} {
			if err := wire.Verify(sig, secret, body, clk.Now(), 5*time.Minute); err != nil {
				t.Errorf("a callback in the grace period does not verify with a valid secret: %v", err)
			}
		}

		clk.Advance(11 * time.Minute)
		s.ok(201, "POST", "/v1/transfers", ka, pay("t-2", "MSISDN", "+8613800000001", "1.00"), nil)
		sig, body = h.waitReceived(t, 1)
		if strings.Count(sig, "v1=") != 1 || wire.Verify(sig, rs.CallbackSecret, body, clk.Now(), 5*time.Minute) != nil ||
			wire.Verify(sig, oldSecret, body, clk.Now(), 5*time.Minute) == nil {
			t.Fatalf("after the grace period: %q must be signed by the new secret alone", sig)
		}
		s.problem(404, "not-found", "POST", "/v1/participants/wallet-b/callback-secrets", ka, nil)
	})
}

// TestSuspensionCutsAccess: a suspended participant reads its own
// transfers, accounts, liquidity alerts and settlement reports, and
// nothing else.
func TestSuspensionCutsAccess(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		ka, _ := s.participant("wallet-a", nil)
		kb, _ := s.participant("wallet-b", nil)
		s.deposit("wallet-a", "100.00")
		s.party(kb, "MSISDN", "+8613800000001", "Li Lei", "acct-1")
		s.party(ka, "MSISDN", "+8613800000002", "Han Meimei", "acct-2")
		s.ok(201, "POST", "/v1/transfers", ka, pay("t-1", "MSISDN", "+8613800000001", "1.00"), nil)
		var win wire.SettlementWindow
		s.ok(200, "POST", "/v1/settlement-windows/CNY-1/close", opToken, nil, &win)
		s.ok(200, "POST", "/v1/participants/wallet-a/suspend", opToken, nil, nil)

		refused := []struct {
			method, path string
			body         any
		}{
			{"GET", "/v1/parties/MSISDN/+8613800000001", nil},
			{"POST", "/v1/parties", wire.NewParty{Type: "MSISDN", Value: "+8613800000003", Name: "X", Account: "a", Currency: "CNY"}},
			{"POST", "/v1/parties:batch", wire.PartyBatch{Parties: []wire.NewParty{{Type: "MSISDN", Value: "+8613800000003", Name: "X", Account: "a", Currency: "CNY"}}}},
			{"GET", "/v1/parties", nil},
			{"DELETE", "/v1/parties/MSISDN/+8613800000002", nil},
			{"POST", "/v1/quotes", map[string]any{"payee": map[string]any{"type": "MSISDN", "value": "+8613800000001"}, "amount": "1.00", "currency": "CNY"}},
			{"POST", "/v1/transfers", pay("t-2", "MSISDN", "+8613800000001", "1.00")},
			{"POST", "/v1/transfers:batch", wire.TransferBatch{Transfers: []wire.NewTransfer{pay("t-3", "MSISDN", "+8613800000001", "1.00")}}},
			{"PATCH", "/v1/participants/wallet-a", map[string]any{"acceptance": "notify"}},
			{"PUT", "/v1/participants/wallet-a/liquidity/CNY", map[string]any{"threshold": "1.00"}},
			{"POST", "/v1/participants/wallet-a/keys", nil},
			{"POST", "/v1/participants/wallet-a/callback-secrets", nil},
			{"GET", "/v1/participants/wallet-a", nil},
			{"GET", "/v1/fees", nil},
		}
		for _, c := range refused {
			s.problem(403, "participant-suspended", c.method, c.path, ka, c.body)
		}
		allowed := []string{
			"/v1/transfers", "/v1/transfers/t-1", "/v1/participants/wallet-a/accounts", "/v1/liquidity-alerts",
			"/v1/settlement-windows", "/v1/settlement-windows/" + win.ID, "/v1/settlement-windows/" + win.ID + "/report",
		}
		for _, p := range allowed {
			s.ok(200, "GET", p, ka, nil, nil)
		}
		// Nothing the refusals asked for happened.
		s.problem(404, "unknown-party", "GET", "/v1/parties/MSISDN/+8613800000003", kb, nil)
		s.ok(200, "GET", "/v1/parties/MSISDN/+8613800000002", kb, nil, nil)
		s.problem(404, "not-found", "GET", "/v1/transfers/t-2", ka, nil)
		// Resumed, it may act again.
		s.ok(200, "POST", "/v1/participants/wallet-a/resume", opToken, nil, nil)
		s.ok(200, "GET", "/v1/parties/MSISDN/+8613800000001", ka, nil, nil)
	})
}

// TestCloseParticipant: closing needs every balance zero; then the
// participant's keys stop for good and its aliases are gone.
func TestCloseParticipant(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		ka, _ := s.participant("wallet-a", nil)
		kb, _ := s.participant("wallet-b", nil)
		s.deposit("wallet-a", "10.00")
		s.party(ka, "MSISDN", "+8613800000002", "Han Meimei", "acct-2")
		s.problem(403, "forbidden", "POST", "/v1/participants/wallet-a/close", ka, nil)
		s.problem(409, "balance-not-zero", "POST", "/v1/participants/wallet-a/close", opToken, nil)
		s.ok(200, "GET", "/v1/parties/MSISDN/+8613800000002", kb, nil, nil)
		s.ok(201, "POST", "/v1/participants/wallet-a/funds", opToken, wire.Funds{Currency: "CNY", Amount: "10.00", Direction: "withdrawal"}, nil)
		var p wire.Participant
		s.ok(200, "POST", "/v1/participants/wallet-a/close", opToken, nil, &p)
		if p.Status != "closed" {
			t.Fatalf("closed participant has status %q", p.Status)
		}
		s.problem(401, "unauthorized", "GET", "/v1/transfers", ka, nil)
		s.problem(404, "unknown-party", "GET", "/v1/parties/MSISDN/+8613800000002", kb, nil)
		s.problem(409, "participant-closed", "POST", "/v1/participants/wallet-a/resume", opToken, nil)
		s.problem(409, "participant-closed", "POST", "/v1/participants/wallet-a/keys", opToken, nil)
		s.ok(200, "POST", "/v1/participants/wallet-a/close", opToken, nil, nil) // again: nothing changes
		s.ok(200, "GET", "/v1/participants/wallet-a", opToken, nil, &p)
		if p.Status != "closed" {
			t.Fatalf("status %q after closing again", p.Status)
		}
	})
}

// TestTokens: short operator or regulator tokens are refused at start;
// a generated operator token goes to DIR/operator-token (0600), and only
// its path is printed.
func TestTokens(t *testing.T) {
	for _, cfg := range []app.Config{
		{AdminToken: "short-token"},
		{AdminToken: strings.Repeat("o", 32), RegulatorToken: strings.Repeat("r", 31)},
	} {
		cfg.DataDir, cfg.Addr = t.TempDir(), "127.0.0.1:0"
		if a, err := app.Open(context.Background(), cfg); err == nil {
			a.Close(context.Background())
			t.Errorf("started with tokens of %d and %d characters", len(cfg.AdminToken), len(cfg.RegulatorToken))
		} else if !strings.Contains(err.Error(), "at least 32") {
			t.Errorf("refusal %q does not say why", err)
		}
	}
	dir := t.TempDir()
	var out strings.Builder
	a, err := app.Open(context.Background(), app.Config{DataDir: dir, Addr: "127.0.0.1:0", Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	path := filepath.Join(dir, "operator-token")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("operator token file: %v, %v", st, err)
	}
	b, _ := os.ReadFile(path)
	token := strings.TrimSpace(string(b))
	if len(token) < 32 || strings.Contains(out.String(), token) || !strings.Contains(out.String(), path) {
		t.Fatalf("printed %q: want the path %s and not the token", out.String(), path)
	}
	if err := a.Serve(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &sw{t: t, app: a, url: a.URL(), hc: &http.Client{Timeout: 10 * time.Second}}
	s.ok(200, "GET", "/v1/participants", token, nil, nil)
	for _, name := range []string{"hulian.db", "data.key"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", name, st, err)
		}
	}
}

// TestDataKeyMissing: a data directory whose data key is lost does not
// start with a fresh one (which could not open what the old one sealed),
// and starts again once the key is back.
func TestDataKeyMissing(t *testing.T) {
	dir := t.TempDir()
	cfg := app.Config{DataDir: dir, Addr: "127.0.0.1:0", AdminToken: opToken}
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Serve(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &sw{t: t, app: a, url: a.URL(), hc: &http.Client{Timeout: 10 * time.Second}}
	s.participant("wallet-a", nil)
	a.Close(context.Background())
	keyFile := filepath.Join(dir, "data.key")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(keyFile)
	if a, err := app.Open(context.Background(), cfg); err == nil {
		a.Close(context.Background())
		t.Fatal("started without its data key")
	} else if !strings.Contains(err.Error(), "--data-key") {
		t.Fatalf("refusal %q does not say what to do", err)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("a fresh data key was written over the lost one's place")
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err = app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Close(context.Background())
}
