package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
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
	"github.com/go-json-experiment/json/jsontext"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
	"github.com/hulian/hulian/internal/wire"
)

// runCmd runs a hulian command in this process and returns its exit
// code and output.
func runCmd(args ...string) (int, string) {
	var out bytes.Buffer
	code := run(context.Background(), args, &out, &out)
	return code, out.String()
}

// mustRun runs a hulian command that must succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out := runCmd(args...)
	if code != 0 {
		t.Fatalf("hulian %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// acked is a transfer as its payer was answered.
type acked struct {
	id    string
	state string // COMMITTED or HELD
	at    time.Time
}

// loader pays from several goroutines until stopped, noting every
// answer with its time, and, besides, registers aliases (writes to the
// app database) and closes settlement windows (ledger marks the database
// refers to), noting how long each alias took.
type loader struct {
	s    *auditSw
	key  string
	hc   *http.Client
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	acks    []acked
	aliases []timed // alias registrations: when they began, how long they took
	pays    []timed
	closed  int // settlement windows closed
	errs    []string
}

type timed struct {
	at   time.Time
	took time.Duration
}

func startLoad(s *auditSw, key string, payers int) *loader {
	l := &loader{s: s, key: key, stop: make(chan struct{}),
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: payers + 2}}}
	for g := range payers {
		l.wg.Go(func() {
			for i := 0; !l.stopped(); i++ {
				id := fmt.Sprintf("load-%d-%d", g, i)
				// Amounts of 1.00 to 1.99: the even ones are held for
				// review (the test's rule).
				amount := fmt.Sprintf("1.%02d", (g*7+i)%100)
				start := time.Now()
				status, body, err := l.post("/v1/transfers", key, wire.NewTransfer{ID: id,
					Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800000001"}, Amount: amount, Currency: "CNY"})
				var tr wire.Transfer
				if err == nil && status == 201 {
					err = json.Unmarshal(body, &tr)
				}
				l.mu.Lock()
				switch {
				case err != nil || status != 201:
					l.errs = append(l.errs, fmt.Sprintf("transfer %s: %d %s %v", id, status, body, err))
				default:
					l.acks = append(l.acks, acked{id: id, state: tr.State, at: time.Now()})
					l.pays = append(l.pays, timed{start, time.Since(start)})
				}
				l.mu.Unlock()
			}
		})
	}
	l.wg.Go(func() {
		for i := 0; !l.stopped(); i++ {
			start := time.Now()
			status, body, err := l.post("/v1/parties", key, wire.NewParty{Type: "MSISDN", Value: fmt.Sprintf("+86139%08d", i),
				Name: "User " + strconv.Itoa(i), Account: "acct-" + strconv.Itoa(i), Currency: "CNY"})
			l.mu.Lock()
			if err != nil || status != 201 {
				l.errs = append(l.errs, fmt.Sprintf("alias %d: %d %s %v", i, status, body, err))
			} else {
				l.aliases = append(l.aliases, timed{start, time.Since(start)})
			}
			l.mu.Unlock()
		}
	})
	l.wg.Go(func() {
		// populate closed CNY-1.
		for n := 2; !l.stopped(); n++ {
			select {
			case <-l.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			status, body, err := l.post("/v1/settlement-windows/CNY-"+strconv.Itoa(n)+"/close", auditOpToken, nil)
			l.mu.Lock()
			if err != nil || status != 200 {
				l.errs = append(l.errs, fmt.Sprintf("close CNY-%d: %d %s %v", n, status, body, err))
			} else {
				l.closed++
			}
			l.mu.Unlock()
		}
	})
	return l
}

// await waits until at least n payments were answered at or after since,
// and a window was closed and an alias registered, or within has passed
// (the test's count check then says what was missing).
func (l *loader) await(since time.Time, n int, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		got := 0
		for _, a := range l.acks {
			if !a.at.Before(since) {
				got++
			}
		}
		done := got >= n && l.closed > 0 && len(l.aliases) > 0
		l.mu.Unlock()
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *loader) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *loader) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	l.hc.CloseIdleConnections()
	for _, e := range l.errs {
		t.Errorf("load: %s", e)
	}
}

func (l *loader) post(path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest("POST", l.s.app.URL()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// slowest returns the longest of the requests that were in flight at
// some time in [from, to].
func slowest(ts []timed, from, to time.Time) (time.Duration, int) {
	var m time.Duration
	n := 0
	for _, x := range ts {
		if x.at.Before(to) && x.at.Add(x.took).After(from) {
			m = max(m, x.took)
			n++
		}
	}
	return m, n
}

// p99 returns the 99th percentile of the requests' durations.
func p99(ts []timed) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	d := make([]time.Duration, len(ts))
	for i, x := range ts {
		d[i] = x.took
	}
	slices.Sort(d)
	return d[len(d)*99/100]
}

// TestBackupUnderLoad takes a backup of a switch while it pays from four
// goroutines (half the payments held for review: risk control writes the
// alert to the app database before the ledger reserves), registers
// aliases and closes settlement windows; restores it into a new
// directory; and checks that offline verify passes, that every transfer
// answered before the backup began is there in the state it was answered
// in, that every payment held has its open alert, that every window the
// database says closed has its closing mark in the ledger, that the
// books sum to zero, and that the restored switch serves and its audit
// log goes on from the backup's.
func TestBackupUnderLoad(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	s := startAuditSwitch(t, dir, "", nil)
	key := s.populate(4)
	s.call("PUT", "/v1/risk/rules/hold", auditOpToken, wire.RiskRule{Expression: "amount % 2 == 0", Action: "review", Reason: "hold-even", Mode: "enforce"}, nil)
	load := startLoad(s, key, 4)
	// Waits for counts, not for a fixed time: a slow machine (CI's) acked
	// only 15 payments in the 300 ms after a backup.
	load.await(time.Time{}, 20, 30*time.Second)

	file := filepath.Join(tmp, "backup.tar.gz")
	began := time.Now()
	out := mustRun(t, "backup", "--data", dir, "--out", file)
	ended := time.Now()
	load.await(began, 20, 30*time.Second)
	load.finish(t)
	s.stop()
	if t.Failed() {
		return
	}
	t.Logf("backup under load:\n%s", out)

	m, err := readArchive(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	var before, after int
	for _, a := range load.acks {
		if a.at.Before(began) {
			before++
		} else {
			after++
		}
	}
	aliasMax, aliasN := slowest(load.aliases, began, ended)
	payMax, payN := slowest(load.pays, began, ended)
	t.Logf("%d transfers answered before the backup began, %d after; %d aliases, %d windows closed; writers held %d µs; "+
		"during the backup (%v): slowest of %d aliases %v (p99 of all %v), of %d payments %v (p99 of all %v)",
		before, after, len(load.aliases), load.closed, m.HeldMicroseconds, ended.Sub(began).Round(time.Millisecond),
		aliasN, aliasMax, p99(load.aliases), payN, payMax, p99(load.pays))
	if before < 20 || after < 20 || load.closed == 0 || len(load.aliases) == 0 {
		t.Fatalf("too little load around the backup to test: %d before, %d after, %d windows closed, %d aliases", before, after, load.closed, len(load.aliases))
	}

	restored := filepath.Join(tmp, "restored")
	mustRun(t, "restore", "--in", file, "--data", restored)
	if out, err := runVerify(t, "--data", restored); err != nil {
		t.Fatalf("verify of the restored directory: %v\n%s", err, out)
	}

	r := startAuditSwitch(t, restored, "", nil)
	defer func() {
		if r != nil {
			r.stop()
		}
	}()
	checkRestored(t, r, m, key, load.acks, began)

	// The restored switch takes payments and its audit log goes on.
	r.payMore(key, 900_000, 3)
	r.stop()
	r = nil
	if out, err := runVerify(t, "--data", restored); err != nil {
		t.Fatalf("verify after the restored switch ran: %v\n%s", err, out)
	}
}

// checkRestored checks a switch opened on a restored directory against
// the backup's manifest and the answers the load got before began.
func checkRestored(t *testing.T, r *auditSw, m backupManifest, key string, acks []acked, began time.Time) {
	t.Helper()
	ctx := context.Background()
	var events int64
	if err := r.app.Journal.Scan(ctx, -1<<63, 1<<63-1, func(ledger.Event) error { events++; return nil }); err != nil {
		t.Fatal(err)
	}
	// The restored switch may have appended since it opened (an audit
	// mark, expiries): never fewer than the backup's.
	if r.app.Journal.Seq() < m.Ledger.Batches || events < m.Ledger.Events {
		t.Errorf("the restored ledger holds %d batches, %d events; the backup %d, %d", r.app.Journal.Seq(), events, m.Ledger.Batches, m.Ledger.Events)
	}
	if err := r.app.Journal.Check(); err != nil {
		t.Errorf("the restored ledger's invariants (the books sum to zero): %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); r.app.Audit.Size() != events; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restored audit log has %d leaves, the ledger %d events", r.app.Audit.Size(), events)
		}
	}

	// Every transfer answered before the backup began, as answered.
	missing := 0
	for _, a := range acks {
		if !a.at.Before(began) {
			continue
		}
		var tr wire.Transfer
		status, body := r.get("/v1/transfers/"+a.id, key, &tr)
		if status != 200 || tr.State != a.state {
			if missing++; missing <= 5 {
				t.Errorf("transfer %s, answered %s before the backup: now %d %s %s", a.id, a.state, status, tr.State, body)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d transfers answered before the backup are missing or changed", missing)
	}

	// Every held payment has its open held alert.
	open := map[string]bool{}
	for since := "0"; ; {
		var page wire.RiskAlerts
		r.call("GET", "/v1/risk/alerts?limit=1000&status=open&since="+since, auditOpToken, nil, &page)
		for _, a := range page.Alerts {
			if a.Held && a.Rule == "hold" {
				open[a.TransferID] = true
			}
		}
		if page.Next == "" {
			break
		}
		since = page.Next
	}
	held := 0
	for since := ""; ; {
		var page wire.Transfers
		r.call("GET", "/v1/transfers?limit=1000&since="+url.QueryEscape(since), key, nil, &page)
		for _, tr := range page.Transfers {
			if tr.State == "HELD" {
				held++
				if !open[tr.ID] {
					t.Errorf("transfer %s is HELD without its open held alert", tr.ID)
				}
			}
		}
		if page.Next == "" {
			break
		}
		since = page.Next
	}
	if held == 0 {
		t.Error("no held payment in the backup: the test tests nothing of them")
	}

	// Every window the database says closed has its closing mark.
	rows, err := r.app.DB.QueryContext(ctx, `SELECT id, close_ts FROM settlement_windows WHERE close_ts <> 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	closed := 0
	for rows.Next() {
		var id string
		var ts int64
		if err := rows.Scan(&id, &ts); err != nil {
			t.Fatal(err)
		}
		closed++
		found := false
		if err := r.app.Journal.Scan(ctx, ts, ts+1, func(ledger.Event) error { found = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Errorf("window %s is closed by a mark at %d that the ledger does not hold", id, ts)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restored: %d batches, %d events, %d held payments with their alerts, %d closed windows with their marks", m.Ledger.Batches, m.Ledger.Events, held, closed)
}

// get fetches path and decodes a 200 answer into out.
func (s *auditSw) get(path, token string, out any) (int, string) {
	req, _ := http.NewRequest("GET", s.app.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, err.Error()
		}
	}
	return resp.StatusCode, string(b)
}

// archiveEntry is an entry of a backup archive, for tests that rewrite
// one.
type archiveEntry struct {
	hdr  *tar.Header
	body []byte
}

// readEntries reads an uncompressed backup archive's entries.
func readEntries(t *testing.T, file string) []archiveEntry {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var out []archiveEntry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, archiveEntry{hdr, b})
	}
}

// writeEntries writes entries as an archive, gzipped if compress.
func writeEntries(t *testing.T, file string, entries []archiveEntry, compress bool) {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var gz *gzip.Writer
	if compress {
		gz = gzip.NewWriter(&buf)
		w = gz
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := *e.hdr
		h.Size = int64(len(e.body))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// editManifest returns entries with the manifest changed by edit.
func editManifest(t *testing.T, entries []archiveEntry, edit func(*backupManifest)) []archiveEntry {
	t.Helper()
	out := slices.Clone(entries)
	last := &out[len(out)-1]
	if last.hdr.Name != manifestName {
		t.Fatalf("the last entry is %s", last.hdr.Name)
	}
	var m backupManifest
	if err := json.Unmarshal(last.body, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	b, err := json.Marshal(&m, jsontext.WithIndent("  "))
	if err != nil {
		t.Fatal(err)
	}
	last.body = b
	return out
}

// contentOffset returns where the content of the archive's entry name
// begins in the (uncompressed) file.
func contentOffset(t *testing.T, file, name string) int64 {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := &countReader{r: f} // unbuffered: the count is where tar is
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not found: %v", name, err)
		}
		if hdr.Name == name {
			return cr.n
		}
	}
}

// TestRestoreRefuses: an archive that is damaged, cut short, tampered
// with or not a backup, and a target that is not new or empty, are
// refused by name, with exit status 1, and nothing is written. A backup
// of a stopped switch, plain or gzipped, restores and verifies.
func TestRestoreRefuses(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	s := startAuditSwitch(t, dir, "", nil)
	s.populate(6)
	s.stop()
	good := filepath.Join(tmp, "good.tar")
	mustRun(t, "backup", "--data", dir, "--out", good)
	goodGz := filepath.Join(tmp, "good.tgz")
	mustRun(t, "backup", "--data", dir, "--out", goodGz)
	for _, tc := range []struct{ name, data, out, want string }{
		{"over an existing file", dir, good, "exists"},
		{"into the data directory", dir, filepath.Join(dir, "b.tar"), "inside the data directory"},
		{"of no data directory", tmp, filepath.Join(t.TempDir(), "b.tar"), "not a data directory"},
		{"of a missing directory", filepath.Join(tmp, "none"), filepath.Join(t.TempDir(), "b.tar"), "not a data directory"},
	} {
		if code, out := runCmd("backup", "--data", tc.data, "--out", tc.out); code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("a backup %s: exit %d %q; want a refusal naming %q", tc.name, code, out, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b.tar")); err == nil {
		t.Error("a backup was written into the data directory")
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	rawGz, err := os.ReadFile(goodGz)
	if err != nil {
		t.Fatal(err)
	}
	entries := readEntries(t, good)
	dbAt := contentOffset(t, good, "hulian.db")
	segName := ""
	for _, e := range entries {
		if strings.HasPrefix(e.hdr.Name, "ledger/") {
			segName = e.hdr.Name
		}
	}
	segAt := contentOffset(t, good, segName)
	nonEmpty := filepath.Join(tmp, "nonempty")
	if err := os.MkdirAll(nonEmpty, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(nonEmpty, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, at int64) []byte {
		c := slices.Clone(b)
		c[at] ^= 0x20
		return c
	}
	bytesOf := func(b []byte) func(*testing.T, string) {
		return func(t *testing.T, p string) {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	rewrite := func(entries []archiveEntry) func(*testing.T, string) {
		return func(t *testing.T, p string) { writeEntries(t, p, entries, false) }
	}
	withEntry := func(name string) []archiveEntry {
		e := slices.Clone(entries)
		extra := archiveEntry{&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600}, []byte("evil")}
		return append(e[:len(e)-1:len(e)-1], extra, e[len(e)-1])
	}
	for _, tc := range []struct {
		name    string
		archive func(*testing.T, string)
		target  string // default: a new directory
		want    string // in the error
	}{
		{"a byte of the database", bytesOf(flip(raw, dbAt+4096)), "", "hulian.db has SHA-256"},
		{"a byte of a ledger segment", bytesOf(flip(raw, segAt+50)), "", segName + " has SHA-256"},
		{"a byte of a header", bytesOf(flip(raw, 100)), "", "damaged"},
		{"cut in the middle", bytesOf(raw[:len(raw)/2]), "", "cut short"},
		{"cut before the manifest", bytesOf(raw[:contentOffset(t, good, manifestName)-512]), "", "no " + manifestName},
		{"empty file", bytesOf(nil), "", "no " + manifestName},
		{"gzip cut short", bytesOf(rawGz[:len(rawGz)-100]), "", "cut short"},
		{"a byte of the gzip stream", bytesOf(flip(rawGz, int64(len(rawGz))/2)), "", "damaged"},
		{"not an archive", bytesOf([]byte(strings.Repeat("not a backup\n", 100))), "", "damaged"},
		{"the manifest's hash of a file", rewrite(editManifest(t, entries, func(m *backupManifest) {
			m.Files[1].SHA256 = strings.Repeat("0", 64)
		})), "", m1(entries) + " has SHA-256"},
		{"the manifest's size of a file", rewrite(editManifest(t, entries, func(m *backupManifest) { m.Files[1].Size++ })), "", "the manifest says"},
		{"a file not in the manifest", rewrite(withEntry("extra.key")), "", "extra.key is not in the manifest"},
		{"a file of the manifest missing", rewrite(append(slices.Clone(entries[1:len(entries)-1]), entries[len(entries)-1])), "", "hulian.db is missing"},
		{"a path out of the directory", rewrite(withEntry("../escaped")), "", "not a file a backup holds"},
		{"another format", rewrite(editManifest(t, entries, func(m *backupManifest) { m.Format = "hulian-backup/9" })), "", "format"},
		{"a non-empty target", bytesOf(raw), nonEmpty, "not empty"},
		{"a file as target", bytesOf(raw), aFile, "a-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "in.tar")
			tc.archive(t, in)
			target := tc.target
			if target == "" {
				target = filepath.Join(t.TempDir(), "restored")
			}
			parent := filepath.Dir(target)
			before, _ := os.ReadDir(parent)
			code, out := runCmd("restore", "--in", in, "--data", target)
			if code != 1 || !strings.Contains(out, tc.want) || !strings.HasPrefix(out, "hulian: restore: ") {
				t.Errorf("exit %d, %q; want exit 1 and an error naming %q", code, out, tc.want)
			}
			t.Logf("%s", strings.TrimSpace(out))
			after, _ := os.ReadDir(parent)
			if len(after) != len(before) {
				t.Errorf("the restore left %d entries in %s, %d before", len(after), parent, len(before))
			}
			if _, err := os.Stat(filepath.Join(parent, "..", "escaped")); err == nil {
				t.Error("a file was written outside the target")
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(nonEmpty, "keep")); err != nil || string(b) != "x" {
		t.Errorf("the non-empty directory changed: %q %v", b, err)
	}

	// The good ones restore, into a new and into an empty directory, and
	// verify.
	for _, in := range []string{good, goodGz} {
		target := filepath.Join(t.TempDir(), "empty")
		if err := os.Mkdir(target, 0o750); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "restore", "--in", in, "--data", target)
		if out, err := runVerify(t, "--data", target); err != nil {
			t.Fatalf("verify of %s restored: %v\n%s", in, err, out)
		}
	}
}

// m1 is the name of the manifest's second file.
func m1(entries []archiveEntry) string { return entries[1].hdr.Name }

// The crash test's child runs a switch and pays until it is killed,
// writing each answered transfer's id to its standard output.
const backupCrashDirEnv = "HULIAN_BACKUP_CRASH_DIR"

// TestBackupCrash backs up the data directory a kill -9 left, as it is,
// without restarting the switch on it: the restored directory verifies,
// holds every transfer answered before the kill, and as many batches as
// the original holds once recovered.
func TestBackupCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 18))
	cmd := exec.Command(os.Args[0], "-test.run=^TestBackupCrashChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), backupCrashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		acks []string
		key  string
	)
	first, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var once sync.Once
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if k, ok := strings.CutPrefix(line, "key "); ok {
				mu.Lock()
				key = k
				mu.Unlock()
			}
			if id, ok := strings.CutPrefix(line, "ack "); ok {
				mu.Lock()
				acks = append(acks, id)
				mu.Unlock()
				once.Do(func() { close(first) })
			}
		}
	}()
	select {
	case <-first:
	case <-done:
		cmd.Wait()
		t.Fatal("the child ended before paying")
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the child paid nothing in 60 s")
	}
	time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	cmd.Wait()
	mu.Lock()
	answered := slices.Clone(acks)
	mu.Unlock()

	file := filepath.Join(tmp, "crashed.tar")
	t.Logf("seed %d: %d transfers answered before the kill\n%s", seed, len(answered), mustRun(t, "backup", "--data", dir, "--out", file))
	m, err := readArchive(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(tmp, "restored")
	mustRun(t, "restore", "--in", file, "--data", restored)
	if out, err := runVerify(t, "--data", restored); err != nil {
		t.Fatalf("verify of the restored directory: %v\n%s", err, out)
	}

	// The original, recovered, holds what the backup holds: the backup of
	// a stopped directory is all of it.
	o := startAuditSwitch(t, dir, "", nil)
	if seq := o.app.Journal.Seq(); seq < m.Ledger.Batches || seq > m.Ledger.Batches+1 {
		// +1: the recovered switch may append a batch of its own (an
		// audit re-signing needs none, expiries may).
		t.Errorf("the original recovers %d batches, the backup holds %d", seq, m.Ledger.Batches)
	}
	o.stop()

	r := startAuditSwitch(t, restored, "", nil)
	defer r.stop()
	missing := 0
	for _, id := range answered {
		var tr wire.Transfer
		if status, body := r.get("/v1/transfers/"+id, key, &tr); status != 200 || tr.State != "COMMITTED" {
			if missing++; missing <= 5 {
				t.Errorf("transfer %s, answered before the kill: now %d %s", id, status, body)
			}
		}
	}
	if missing > 0 {
		t.Errorf("seed %d: %d of %d answered transfers are missing", seed, missing, len(answered))
	}
	if err := r.app.Journal.Check(); err != nil {
		t.Errorf("the restored ledger's invariants: %v", err)
	}
}

// TestBackupCrashChild is the crash test's child; it does nothing in a
// normal run.
func TestBackupCrashChild(t *testing.T) {
	dir := os.Getenv(backupCrashDirEnv)
	if dir == "" {
		t.Skip("only runs as TestBackupCrash's child")
	}
	s := startAuditSwitch(t, dir, "", nil)
	key := s.populate(2)
	fmt.Fprintf(os.Stdout, "key %s\n", key)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("crash-%d-%d", g, i)
				s.call("POST", "/v1/transfers", key, wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800000001"},
					Amount: "1.01", Currency: "CNY"}, nil)
				fmt.Fprintf(os.Stdout, "ack %s\n", id)
			}
		})
	}
	wg.Wait()
}

// TestBackupPostgres backs up a switch on PostgreSQL while it serves, as
// the README says: the database with pg_dump, then the data directory's
// keys and audit log with hulian backup, while payments go on. The dump
// restored into a new database, and the files restored against it with
// --store, verify with hulian verify --store, and a switch opens on them.
// Files backed up before the dump are refused against it: their audit
// log is older than the database's watermark.
func TestBackupPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	pgDump, err1 := exec.LookPath("pg_dump")
	pgRestore, err2 := exec.LookPath("pg_restore")
	if err1 != nil || err2 != nil {
		t.Skipf("pg_dump or pg_restore not found (%v, %v)", err1, err2)
	}
	dir, tmp := t.TempDir(), t.TempDir()
	s := startAuditSwitch(t, dir, dsn, nil)
	key := s.populate(6)
	early := filepath.Join(tmp, "early.tar")
	mustRun(t, "backup", "--data", dir, "--out", early)
	// A proof signs a checkpoint at once, and the watermark follows it.
	s.payMore(key, 50, 5)
	s.call("GET", "/v1/audit/transfers/t-54/proof", key, nil, nil)
	dump := filepath.Join(tmp, "hulian.dump")
	if out, err := exec.Command(pgDump, "--format=custom", "--file="+dump, dsn).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	s.payMore(key, 100, 5)
	s.call("GET", "/v1/audit/transfers/t-104/proof", key, nil, nil)
	files := filepath.Join(tmp, "files.tar")
	t.Logf("%s", mustRun(t, "backup", "--data", dir, "--out", files))
	s.payMore(key, 200, 5)
	s.stop()

	restoredDB := pgtest.DSN(t)
	if out, err := exec.Command(pgRestore, "--no-owner", "--exit-on-error", "--dbname="+restoredDB, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	restored := filepath.Join(tmp, "restored")
	for _, tc := range []struct {
		name, in, store, want string
	}{
		{"without --store", files, "", "--store"},
		{"files older than the database", early, restoredDB, "older than the database"},
	} {
		args := []string{"restore", "--in", tc.in, "--data", restored}
		if tc.store != "" {
			args = append(args, "--store", tc.store)
		}
		if code, out := runCmd(args...); code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("restore %s: exit %d %s; want a refusal naming %q", tc.name, code, out, tc.want)
		}
		if _, err := os.Stat(restored); !os.IsNotExist(err) {
			t.Fatalf("restore %s left %s: %v", tc.name, restored, err)
		}
	}
	t.Logf("%s", mustRun(t, "restore", "--in", files, "--data", restored, "--store", restoredDB))
	m, err := readArchive(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	cut, err := cutAudit(filepath.Join(restored, "audit"), 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if cut.treeSize >= m.Audit.TreeSize {
		t.Errorf("the audit log was not cut to the dump: newest checkpoint %d, the backup's %d", cut.treeSize, m.Audit.TreeSize)
	}
	if out, err := runVerify(t, "--data", restored, "--store", restoredDB); err != nil {
		t.Fatalf("verify --store of the restored database: %v\n%s", err, out)
	}
	r := startAuditSwitch(t, restored, restoredDB, nil)
	var tr wire.Transfer
	if status, body := r.get("/v1/transfers/t-54", key, &tr); status != 200 || tr.State != "COMMITTED" {
		t.Errorf("transfer t-54, paid before the dump: %d %s", status, body)
	}
	if status, _ := r.get("/v1/transfers/t-100", key, &tr); status != 404 {
		t.Errorf("transfer t-100, paid after the dump: %d, want 404", status)
	}
	r.payMore(key, 100, 2) // ids the restored database never saw
	r.stop()
	if out, err := runVerify(t, "--data", restored, "--store", restoredDB); err != nil {
		t.Fatalf("verify --store after the restored switch ran: %v\n%s", err, out)
	}
	t.Logf("audit log cut from tree size %d to %d", m.Audit.TreeSize, cut.treeSize)
}
