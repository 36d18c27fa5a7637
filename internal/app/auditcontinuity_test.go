package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/wire"
)

// openSwitch starts a switch on cfg (a restart when its data directory
// was used before) and serves it; the caller closes it.
func openSwitch(t *testing.T, cfg app.Config) (*sw, error) {
	t.Helper()
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	if err := a.Serve(context.Background()); err != nil {
		a.Close(context.Background())
		return nil, err
	}
	return &sw{t: t, app: a, url: a.URL(), hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

func (s *sw) close() {
	s.t.Helper()
	if err := s.app.Close(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

// TestAuditContinuity restarts a switch whose audit checkpoints were
// deleted, then with another audit key: refused, naming --audit-reinit;
// with AuditReinit, started, the re-initialisation a leaf, and offline
// verification passes.
func TestAuditContinuity(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			dsn := e.store(t)
			dir := t.TempDir()
			cfg := app.Config{DataDir: dir, Store: dsn, Addr: "127.0.0.1:0", AdminToken: opToken,
				Callback: callback.Config{AllowPrivate: true}}
			s, err := openSwitch(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := s.participant("wallet-a", nil)
			b, _ := s.participant("wallet-b", nil)
			s.deposit("wallet-a", "100.00")
			s.party(b, "MSISDN", "+8613800000012", "Bo", "b-12")
			s.ok(201, "POST", "/v1/transfers", a, pay("c-1", "MSISDN", "+8613800000012", "1.00"), nil)
			s.close()

			// The checkpoints deleted: refused.
			if err := os.Remove(filepath.Join(dir, "audit", audit.CheckpointsFile)); err != nil {
				t.Fatal(err)
			}
			_, err = openSwitch(t, cfg)
			if !errors.Is(err, audit.ErrHistoryLost) || !strings.Contains(err.Error(), "--audit-reinit") {
				t.Fatalf("started without the audit checkpoints: %v", err)
			}

			// With AuditReinit: started, said loudly, recorded as a leaf.
			var out bytes.Buffer
			re := cfg
			re.AuditReinit, re.Out = true, &out
			if s, err = openSwitch(t, re); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "AUDIT LOG RE-INITIALISED (checkpoints-missing)") {
				t.Errorf("printed %q", out.String())
			}
			var cp struct{ size int64 }
			r := s.do("GET", "/v1/audit/checkpoint", opToken, nil)
			lines := strings.Split(string(r.body), "\n")
			if len(lines) < 3 {
				t.Fatalf("checkpoint %q", r.body)
			}
			for _, c := range lines[1] {
				cp.size = cp.size*10 + int64(c-'0')
			}
			var leaves wire.AuditLeaves
			s.ok(200, "GET", "/v1/audit/leaves?start=0&end="+lines[1], opToken, nil, &leaves)
			marks := 0
			for _, l := range leaves.Leaves {
				raw, _ := base64.StdEncoding.DecodeString(l)
				// kind 8 (mark), purpose 8 (audit-reinit).
				if raw[1] == 8 && binary.BigEndian.Uint16(raw[6:]) == 8 {
					marks++
					if meta := string(raw[114:]); !strings.HasPrefix(meta, "reason=checkpoints-missing previous=- origin=") {
						t.Errorf("mark meta %q", meta)
					}
				}
			}
			if marks != 1 || int64(len(leaves.Leaves)) != cp.size {
				t.Fatalf("%d re-initialisation marks among %d leaves", marks, len(leaves.Leaves))
			}
			// The flow goes on, and a restart without the flag is fine.
			s.ok(201, "POST", "/v1/transfers", a, pay("c-2", "MSISDN", "+8613800000012", "1.00"), nil)
			s.close()
			if s, err = openSwitch(t, cfg); err != nil {
				t.Fatal(err)
			}
			s.close()

			// Offline verification passes on the new history.
			var src audit.Source
			if dsn == "" {
				src, err = audit.Embedded(dir)
			} else {
				src, err = audit.Postgres(context.Background(), dsn)
			}
			if err != nil {
				t.Fatal(err)
			}
			skey, err := audit.LoadKey(filepath.Join(dir, "audit.key"), "", false)
			if err != nil {
				t.Fatal(err)
			}
			vkey, _ := audit.VerifierKey(skey)
			rep, err := audit.Verify(context.Background(), audit.VerifyOptions{Source: src, Dir: filepath.Join(dir, "audit"), VerifierKey: vkey})
			src.Close()
			if err != nil {
				var b strings.Builder
				rep.Print(&b)
				t.Fatalf("%v\n%s", err, b.String())
			}

			// Another audit key: refused.
			other := cfg
			other.AuditKey = filepath.Join(t.TempDir(), "other.key")
			if _, err := audit.LoadKey(other.AuditKey, "", true); err != nil {
				t.Fatal(err)
			}
			_, err = openSwitch(t, other)
			if !errors.Is(err, audit.ErrKeyChanged) || !strings.Contains(err.Error(), "--audit-reinit") {
				t.Fatalf("started with another audit key: %v", err)
			}
		})
	}
}

// TestAuditCheckpointsCut: a checkpoints file cut short (or restored from
// an older copy) stops start-up like a missing one, because the app
// database remembers the size of the newest checkpoint signed; the ledger
// alone would still match the older checkpoint left.
func TestAuditCheckpointsCut(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := app.Config{DataDir: dir, Store: e.store(t), Addr: "127.0.0.1:0", AdminToken: opToken,
				Callback: callback.Config{AllowPrivate: true}}
			for round := range 2 {
				s, err := openSwitch(t, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if round == 0 {
					s.participant("wallet-a", nil)
				}
				s.deposit("wallet-a", "1.00")
				s.close() // signs a checkpoint of the grown tree
			}
			path := filepath.Join(dir, "audit", audit.CheckpointsFile)
			st, err := os.Stat(path)
			if err != nil || st.Size() < 2*1024 {
				t.Fatalf("checkpoints file: %v, %v; want at least two checkpoints", st, err)
			}
			if err := os.Truncate(path, 1024); err != nil { // the oldest checkpoint alone
				t.Fatal(err)
			}
			_, err = openSwitch(t, cfg)
			if !errors.Is(err, audit.ErrHistoryLost) || !strings.Contains(err.Error(), "cut short") {
				t.Fatalf("started with the checkpoints cut short: %v", err)
			}
			re := cfg
			re.AuditReinit = true
			s, err := openSwitch(t, re)
			if err != nil {
				t.Fatal(err)
			}
			s.close()
			if s, err = openSwitch(t, cfg); err != nil {
				t.Fatalf("restart after the re-initialisation: %v", err)
			}
			s.close()
		})
	}
}
