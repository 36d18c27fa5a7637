package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

const auditOpToken = "audit-test-operator-0123456789abcdef"

// auditEngines are the storage configurations of the audit tests.
var auditEngines = []struct {
	name  string
	store func(t *testing.T) string
}{
	{"embedded", func(*testing.T) string { return "" }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// auditSw is a switch running in the test, reached over HTTP.
type auditSw struct {
	t   testing.TB
	app *app.App
	hc  *http.Client
}

func startAuditSwitch(t testing.TB, dir, dsn string, mod func(*app.Config)) *auditSw {
	t.Helper()
	cfg := app.Config{DataDir: dir, Store: dsn, Addr: "127.0.0.1:0", AdminToken: auditOpToken}
	if mod != nil {
		mod(&cfg)
	}
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Serve(context.Background()); err != nil {
		a.Close(context.Background())
		t.Fatal(err)
	}
	return &auditSw{t: t, app: a, hc: &http.Client{Timeout: 30 * time.Second}}
}

func (s *auditSw) stop() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.app.Close(ctx); err != nil {
		s.t.Fatal(err)
	}
}

// call sends a request and decodes a 2xx answer into out.
func (s *auditSw) call(method, path, token string, body, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.app.URL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

// populate onboards two wallets, funds one, pays n transfers t-0…,
// suspends and resumes a participant and closes a settlement window. It
// returns the payer's API key.
func (s *auditSw) populate(n int) string {
	s.t.Helper()
	var a, b wire.Participant
	s.call("POST", "/v1/participants", auditOpToken, wire.NewParticipant{ID: "wallet-a", Name: "A", Kind: "wallet", Currencies: []string{"CNY"}}, &a)
	s.call("POST", "/v1/participants", auditOpToken, wire.NewParticipant{ID: "wallet-b", Name: "B", Kind: "wallet", Currencies: []string{"CNY"}}, &b)
	s.call("POST", "/v1/participants/wallet-a/funds", auditOpToken, wire.Funds{Currency: "CNY", Amount: "100000.00", Direction: "deposit"}, nil)
	s.call("PUT", "/v1/fees/CNY", auditOpToken, wire.Fees{Fixed: "0.10", Rate: "0.00", Min: "0.10", Max: "1.00"}, nil)
	s.call("POST", "/v1/parties", b.APIKey, wire.NewParty{Type: "MSISDN", Value: "+8613800000001", Name: "Bo", Account: "b-1", Currency: "CNY"}, nil)
	s.payMore(a.APIKey, 0, n/2)
	// A proof signs a checkpoint on demand: more checkpoints, narrower
	// ranges named when one does not match.
	s.call("GET", "/v1/audit/transfers/t-0/proof", a.APIKey, nil, nil)
	s.payMore(a.APIKey, n/2, n-n/2)
	s.call("POST", "/v1/participants/wallet-b/suspend", auditOpToken, nil, nil)
	s.call("POST", "/v1/participants/wallet-b/resume", auditOpToken, nil, nil)
	s.call("POST", "/v1/settlement-windows/CNY-1/close", auditOpToken, nil, nil)
	return a.APIKey
}

func (s *auditSw) payMore(key string, from, n int) {
	s.t.Helper()
	for i := from; i < from+n; i++ {
		s.call("POST", "/v1/transfers", key, wire.NewTransfer{ID: "t-" + strconv.Itoa(i), Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800000001"},
			Amount: fmt.Sprintf("%d.%02d", 1+i%100, i%100), Currency: "CNY"}, nil)
	}
}

// runVerify runs hulian verify with args and returns its output.
func runVerify(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := verify(context.Background(), args, &out, &out)
	return out.String(), err
}

func verifyArgs(dir, dsn string) []string {
	args := []string{"--data", dir}
	if dsn != "" {
		args = append(args, "--store", dsn)
	}
	return args
}

// frame is a frame of the embedded log, as the tampering tests edit it.
type frame struct {
	seg    string
	off    int64
	header []byte
	events [][]byte
}

// frames reads every frame of the embedded log in dir.
func frames(t *testing.T, dir string) []*frame {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "ledger", "*.seg"))
	slices.Sort(segs)
	var out []*frame
	for _, seg := range segs {
		b, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(b); {
			n := int(binary.BigEndian.Uint32(b[off+4:]))
			f := &frame{seg: seg, off: int64(off), header: slices.Clone(b[off : off+40])}
			body := b[off+40 : off+40+n]
			for len(body) > 0 {
				k := ledger.EventLen(body)
				f.events = append(f.events, slices.Clone(body[:k]))
				body = body[k:]
			}
			out = append(out, f)
			off += 40 + n
		}
	}
	return out
}

// encode rebuilds the frame, fixing its lengths and its CRC unless
// keepCRC.
func (f *frame) encode(keepCRC bool) []byte {
	body := bytes.Join(f.events, nil)
	h := slices.Clone(f.header)
	binary.BigEndian.PutUint32(h[4:], uint32(len(body)))
	binary.BigEndian.PutUint32(h[28:], uint32(len(f.events)))
	if !keepCRC {
		tab := crc32.MakeTable(crc32.Castagnoli)
		binary.BigEndian.PutUint32(h[8:], crc32.Update(crc32.Checksum(h[12:], tab), tab, body))
	}
	return append(h, body...)
}

// replace writes the frame back in place of its old bytes (oldLen long).
func (f *frame) replace(t *testing.T, oldLen int, b []byte) {
	t.Helper()
	seg, err := os.ReadFile(f.seg)
	if err != nil {
		t.Fatal(err)
	}
	out := append(append(slices.Clone(seg[:f.off]), b...), seg[f.off+int64(oldLen):]...)
	if err := os.WriteFile(f.seg, out, 0o640); err != nil {
		t.Fatal(err)
	}
}

func (f *frame) size() int {
	n := 40
	for _, e := range f.events {
		n += len(e)
	}
	return n
}

// paymentFrame finds the frame holding transfer id's payment event.
func paymentFrame(t *testing.T, dir, id string) (*frame, int) {
	t.Helper()
	lid := transfer.LedgerID(id)
	for _, f := range frames(t, dir) {
		for i, raw := range f.events {
			if e, _, err := ledger.DecodeEvent(raw); err == nil && e.ID == lid {
				return f, i
			}
		}
	}
	t.Fatalf("no event of %s", id)
	return nil, 0
}

// pgExec runs SQL on the test database.
func pgExec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tag, err := c.Exec(ctx, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() == 0 {
		t.Fatalf("%s changed nothing", sql)
	}
}

// TestVerifyTampering changes the stored records and the checkpoints of
// a stopped switch in each way an insider might, on both engines, and
// checks that offline verify fails naming the place.
func TestVerifyTampering(t *testing.T) {
	type tamper struct {
		name     string
		embedded func(t *testing.T, dir string)
		postgres func(t *testing.T, dsn string)
		want     []string // in the output
	}
	t5 := transfer.LedgerID("t-5")
	amountAt := func(raw []byte, a int64) { binary.BigEndian.PutUint64(raw[88:], uint64(a)) }
	cases := []tamper{
		{
			name: "change-amount",
			embedded: func(t *testing.T, dir string) {
				f, i := paymentFrame(t, dir, "t-5")
				n := f.size()
				amountAt(f.events[i], 1)
				f.replace(t, n, f.encode(false))
			},
			postgres: func(t *testing.T, dsn string) {
				pgExec(t, dsn, "UPDATE ledger_events SET amount = 1 WHERE id = $1", t5[:])
			},
			want: []string{"first bad record: leaf", `transfer "t-5"`, "the record was altered"},
		},
		{
			name: "change-amount-keep-crc",
			embedded: func(t *testing.T, dir string) {
				f, i := paymentFrame(t, dir, "t-5")
				n := f.size()
				amountAt(f.events[i], 1)
				f.replace(t, n, f.encode(true))
			},
			want: []string{"CRC-32C does not match", ".seg at byte offset", `transfer "t-5"`},
		},
		{
			name: "delete-record",
			embedded: func(t *testing.T, dir string) {
				f, i := paymentFrame(t, dir, "t-5")
				n := f.size()
				f.events = slices.Delete(f.events, i, i+1)
				f.replace(t, n, f.encode(false))
			},
			postgres: func(t *testing.T, dsn string) {
				pgExec(t, dsn, "DELETE FROM ledger_events WHERE id = $1", t5[:])
			},
			want: []string{"first bad record: leaf", "is no longer in the ledger (removed)"},
		},
		{
			name: "swap-records",
			embedded: func(t *testing.T, dir string) {
				f, i := paymentFrame(t, dir, "t-5")
				n := f.size()
				f.events[i], f.events[i+1] = f.events[i+1], f.events[i]
				f.replace(t, n, f.encode(false))
			},
			postgres: func(t *testing.T, dsn string) {
				pgExec(t, dsn, `UPDATE ledger_events e SET kind = o.kind, flags = o.flags, purpose = o.purpose, currency = o.currency,
					id = o.id, pending = o.pending, ref = o.ref, debit = o.debit, credit = o.credit, account = o.account,
					amount = o.amount, timeout_ns = o.timeout_ns, floor = o.floor, meta = o.meta
					FROM (SELECT p.ts AS target, q.* FROM ledger_events p JOIN ledger_events q
						ON p.batch = q.batch AND p.pos <> q.pos
						WHERE p.batch = (SELECT batch FROM ledger_events WHERE id = $1)) o
					WHERE e.ts = o.target`, t5[:])
			},
			want: []string{"first bad record: leaf", `transfer "t-5"`, "swapped"},
		},
		{
			name: "truncate-log",
			embedded: func(t *testing.T, dir string) {
				fs := frames(t, dir)
				last := fs[len(fs)-3]
				if err := os.Truncate(last.seg, last.off); err != nil {
					t.Fatal(err)
				}
			},
			postgres: func(t *testing.T, dsn string) {
				pgExec(t, dsn, "DELETE FROM ledger_events WHERE batch > (SELECT max(seq) - 3 FROM ledger_batches)")
				pgExec(t, dsn, "DELETE FROM ledger_batches WHERE seq > (SELECT max(seq) - 3 FROM ledger_batches)")
			},
			want: []string{"the log was truncated", "records missing"},
		},
		{
			name:     "replace-checkpoint-signature",
			embedded: tamperSignature,
			postgres: func(t *testing.T, dsn string) {},
			want:     []string{"checkpoint #1", "invalid signature", "not signed by"},
		},
	}
	for _, e := range auditEngines {
		t.Run(e.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if e.name == "postgres" && tc.postgres == nil {
						t.Skip("the embedded store's checksums only")
					}
					dir, dsn := t.TempDir(), e.store(t)
					s := startAuditSwitch(t, dir, dsn, nil)
					s.populate(12)
					s.stop()
					if out, err := runVerify(t, verifyArgs(dir, dsn)...); err != nil {
						t.Fatalf("verify before tampering: %v\n%s", err, out)
					}
					if e.name == "embedded" {
						tc.embedded(t, dir)
					} else {
						tc.postgres(t, dsn)
						if tc.name == "replace-checkpoint-signature" {
							tamperSignature(t, dir)
						}
					}
					out, err := runVerify(t, verifyArgs(dir, dsn)...)
					t.Logf("hulian verify after %s on %s:\n%s", tc.name, e.name, out)
					if err == nil {
						t.Fatal("verify passed")
					}
					for _, w := range tc.want {
						if !strings.Contains(out, w) {
							t.Errorf("output does not say %q", w)
						}
					}
					if !strings.Contains(err.Error(), "verification failed") {
						t.Errorf("error %v", err)
					}
				})
			}
		})
	}
}

// tamperSignature replaces the signature of the second checkpoint with
// one by another key of the same name.
func tamperSignature(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "audit", audit.CheckpointsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2*audit.SlotSize {
		t.Fatalf("%d checkpoints", len(b)/audit.SlotSize)
	}
	slot := b[audit.SlotSize : 2*audit.SlotSize]
	i := bytes.LastIndex(slot, []byte(" "))
	// Flip a byte of the signature proper, past the key hash.
	j := i + 1 + 20
	if slot[j] == 'A' {
		slot[j] = 'B'
	} else {
		slot[j] = 'A'
	}
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// The crash test runs this test binary again as a child that runs the
// switch in-process and pays under concurrent load; the parent kills it
// with SIGKILL at a random moment, restarts the switch, and checks that
// the audit log holds exactly the stored events and that offline verify
// passes. Two rounds per engine, on the same data.
const (
	auditCrashDirEnv   = "HULIAN_AUDIT_CRASH_DIR"
	auditCrashStoreEnv = "HULIAN_AUDIT_CRASH_STORE"
	auditCrashRoundEnv = "HULIAN_AUDIT_CRASH_ROUND"
)

func TestAuditCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, e := range auditEngines {
		t.Run(e.name, func(t *testing.T) {
			dir, dsn := t.TempDir(), e.store(t)
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
			for round := 1; round <= 2; round++ {
				cmd := exec.Command(os.Args[0], "-test.run=^TestAuditCrashChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), auditCrashDirEnv+"="+dir, auditCrashStoreEnv+"="+dsn, auditCrashRoundEnv+"="+strconv.Itoa(round))
				cmd.Stderr = os.Stderr
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// Wait for the child's first payments, then kill it.
				line, err := bufio.NewReader(out).ReadString('\n')
				if err != nil || line != "paying\n" {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("round %d: the child paid nothing: %q %v", round, line, err)
				}
				time.Sleep(time.Duration(200+rng.IntN(1000)) * time.Millisecond)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				go io.Copy(io.Discard, out)
				cmd.Wait()
				// Restart: the ledger recovers, the audit log catches up.
				var s *auditSw
				for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
					a, err := app.Open(context.Background(), app.Config{DataDir: dir, Store: dsn, AdminToken: auditOpToken})
					if err == nil {
						s = &auditSw{t: t, app: a}
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("round %d: restart: %v", round, err)
					}
				}
				var stored int64
				if err := s.app.Journal.Scan(context.Background(), -1<<63, 1<<63-1, func(ledger.Event) error { stored++; return nil }); err != nil {
					t.Fatal(err)
				}
				if n := s.app.Audit.Size(); n != stored {
					t.Fatalf("round %d: the audit log has %d leaves, the ledger %d events", round, n, stored)
				}
				s.stop()
				out2, err := runVerify(t, verifyArgs(dir, dsn)...)
				if err != nil {
					t.Fatalf("round %d: verify after the crash: %v\n%s", round, err, out2)
				}
				t.Logf("round %d: %d events, audit log agrees; verify:\n%s", round, stored, out2)
			}
		})
	}
}

// TestAuditCrashChild is the child's side; it does nothing in a normal run.
func TestAuditCrashChild(t *testing.T) {
	dir := os.Getenv(auditCrashDirEnv)
	if dir == "" {
		t.Skip("only runs as the crash test's child")
	}
	round, _ := strconv.Atoi(os.Getenv(auditCrashRoundEnv))
	s := startAuditSwitch(t, dir, os.Getenv(auditCrashStoreEnv), nil)
	key := ""
	if round == 1 {
		key = s.populate(3)
	} else {
		var p wire.Participant
		s.call("POST", "/v1/participants", auditOpToken, wire.NewParticipant{ID: "wallet-c" + strconv.Itoa(round), Name: "C", Kind: "wallet", Currencies: []string{"CNY"}}, &p)
		s.call("POST", "/v1/participants/"+p.ID+"/funds", auditOpToken, wire.Funds{Currency: "CNY", Amount: "100000.00", Direction: "deposit"}, nil)
		key = p.APIKey
	}
	var once sync.Once
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				s.payMore(key, round*1_000_000+g*100_000+i, 1)
				once.Do(func() { os.Stdout.WriteString("paying\n") })
				if i%20 == 0 {
					// Proofs under load sign checkpoints on demand.
					s.call("GET", fmt.Sprintf("/v1/audit/transfers/t-%d/proof", round*1_000_000+g*100_000+i), key, nil, nil)
				}
			}
		}()
	}
	wg.Wait()
}
