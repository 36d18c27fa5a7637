package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvBinDir names the directory of the PostgreSQL server's programs
// (initdb, pg_ctl, pg_basebackup) that Replicated runs; scripts/pg.sh
// sets it. Without it Replicated takes the newest
// /usr/lib/postgresql/*/bin.
const EnvBinDir = "HULIAN_TEST_PG_BINDIR"

// StandbyName is the standby's application_name, the one name the
// primary's synchronous_standby_names lists: a commit on the primary
// returns only once this standby has flushed it.
const StandbyName = "hulian_standby"

// PairDatabase is the database that Pair's DSNs name, created on the
// primary (and so replicated to the standby) before Replicated returns.
const PairDatabase = "hulian"

// Pair is two throwaway PostgreSQL clusters on loopback ports: a primary
// and a standby that streams its WAL synchronously, as a production
// pair with a synchronous standby does. Its methods must be called from
// the test's goroutine, as they fail the test on error.
type Pair struct {
	// PrimaryDSN reaches the primary's PairDatabase.
	PrimaryDSN string
	// StandbyDSN reaches the standby's PairDatabase: read-only until
	// Promote.
	StandbyDSN string
	// MultiHostDSN lists both servers with
	// target_session_attrs=read-write, so that a client connects to
	// whichever of them accepts writes: the primary, and after Promote
	// the standby.
	MultiHostDSN string

	t       testing.TB
	bindir  string
	dir     string              // holds both clusters' directories and logs
	cred    *syscall.Credential // the postgres system user's, when we run as root
	primary cluster
	standby cluster
}

// cluster is one PostgreSQL server of a Pair.
type cluster struct {
	name string // "primary" or "standby"
	data string // the data directory
	log  string // the server's log file
	port int
}

// Replicated starts a primary and a synchronous standby made from it with
// pg_basebackup, waits until the primary reports the standby in 'sync'
// state, and creates PairDatabase. Both are stopped (immediately, as no
// data is kept) and removed when the test finishes; if it failed, their
// logs are printed first. Without a PostgreSQL server the test is skipped,
// unless HULIAN_REQUIRE_POSTGRES=1, where it fails instead, as with DSN.
func Replicated(t testing.TB) *Pair {
	t.Helper()
	bindir := binDir()
	if bindir == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("pgtest: no PostgreSQL server: neither %s nor /usr/lib/postgresql/*/bin names initdb, and %s=1: run the tests with scripts/test.sh", EnvBinDir, EnvRequire)
		}
		t.Skipf("pgtest: no PostgreSQL server (%s or /usr/lib/postgresql/*/bin): skipping a test that needs two (scripts/test.sh installs one)", EnvBinDir)
	}
	start := time.Now()
	p := &Pair{t: t, bindir: bindir}
	if err := p.prepare(); err != nil {
		t.Fatalf("pgtest: replicated pair: %v", err)
	}
	t.Cleanup(p.cleanup)
	if err := p.start(); err != nil {
		t.Fatalf("pgtest: replicated pair: %v", err)
	}
	t.Logf("pgtest: primary on 127.0.0.1:%d, synchronous standby on 127.0.0.1:%d, started in %v",
		p.primary.port, p.standby.port, time.Since(start).Round(time.Millisecond))
	return p
}

// binDir returns EnvBinDir, or the newest /usr/lib/postgresql/*/bin that
// has initdb, or "" if there is none.
func binDir() string {
	if d := os.Getenv(EnvBinDir); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest first by major version: "9.6" < "15" needs a numeric sort.
	major := func(d string) int {
		whole, _, _ := strings.Cut(filepath.Base(filepath.Dir(d)), ".")
		v, _ := strconv.Atoi(whole)
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int {
		switch ma, mb := major(a), major(b); {
		case ma > mb:
			return -1
		case ma < mb:
			return 1
		}
		return 0
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// prepare makes the pair's directory and, when we run as root, which
// PostgreSQL refuses, arranges for its programs to run as the postgres
// system user (created as scripts/pg.sh does if missing) and gives that
// user the directory. t.TempDir is not used: its parents are root's
// alone.
func (p *Pair) prepare() error {
	dir, err := os.MkdirTemp("", "hulian-pgpair-")
	if err != nil {
		return err
	}
	p.dir = dir
	p.primary = cluster{name: "primary", data: filepath.Join(dir, "primary"), log: filepath.Join(dir, "primary.log")}
	p.standby = cluster{name: "standby", data: filepath.Join(dir, "standby"), log: filepath.Join(dir, "standby.log")}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		out, uerr := osexec.Command("useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "postgres").CombinedOutput()
		if uerr != nil {
			return fmt.Errorf("useradd postgres: %v: %s", uerr, out)
		}
		if u, err = user.Lookup("postgres"); err != nil {
			return err
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return err
	}
	p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return os.Chown(dir, int(uid), int(gid))
}

// start initialises and starts the primary, clones the standby from it,
// starts the standby, waits for synchronous replication and creates
// PairDatabase.
func (p *Pair) start() error {
	if _, err := p.run("initdb", "-D", p.primary.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return err
	}
	// The primary: every commit waits until StandbyName has flushed it.
	// No Unix socket: everything goes over loopback TCP.
	primaryConf := `
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = on
synchronous_commit = on
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
wal_keep_size = '64MB'
synchronous_standby_names = '` + StandbyName + `'
shared_buffers = '16MB'
max_connections = 50
log_min_messages = warning
`
	if err := appendFile(p.primary.data, "postgresql.conf", primaryConf); err != nil {
		return err
	}
	if err := p.listen(&p.primary); err != nil {
		return err
	}
	// The standby: a copy of the primary (-c fast: don't wait for a spread
	// checkpoint), whose primary_conninfo (-R) carries application_name,
	// the name synchronous_standby_names waits for.
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=%s", p.primary.port, StandbyName)
	if _, err := p.run("pg_basebackup", "-D", p.standby.data, "-d", conninfo,
		"-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
		return err
	}
	auto, err := os.ReadFile(filepath.Join(p.standby.data, "postgresql.auto.conf"))
	if err != nil {
		return err
	}
	if !strings.Contains(string(auto), "application_name="+StandbyName) {
		return fmt.Errorf("pg_basebackup -R wrote no application_name=%s into primary_conninfo:\n%s", StandbyName, auto)
	}
	// Once promoted the standby runs alone: with the primary's
	// synchronous_standby_names it would wait for a standby that never
	// comes and no commit would return. (In production Patroni's
	// synchronous_mode, not strict, makes the same choice.)
	if err := appendFile(p.standby.data, "postgresql.conf", "\nsynchronous_standby_names = ''\nhot_standby = on\n"); err != nil {
		return err
	}
	if err := p.listen(&p.standby); err != nil {
		return err
	}

	p.PrimaryDSN = dsn(p.primary.port, PairDatabase)
	p.StandbyDSN = dsn(p.standby.port, PairDatabase)
	p.MultiHostDSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write",
		p.primary.port, p.standby.port, PairDatabase)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn(p.primary.port, "postgres"))
	if err != nil {
		return fmt.Errorf("connect to the primary: %w", err)
	}
	defer conn.Close(context.Background())
	for {
		var state string
		err := conn.QueryRow(ctx, "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", StandbyName).Scan(&state)
		if err == nil && state == "sync" {
			break
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("pg_stat_replication: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the standby is not a synchronous standby after 30 s (state %q)", state)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// A commit, which returns only because the standby flushed it.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+PairDatabase); err != nil {
		return fmt.Errorf("create database %s: %w", PairDatabase, err)
	}
	// Flushed is not yet replayed: wait until the standby serves the
	// database too (a loaded run connected before it had).
	for {
		sc, err := pgx.Connect(ctx, p.StandbyDSN)
		if err == nil {
			sc.Close(context.Background())
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the standby does not serve database %s after 30 s: %w", PairDatabase, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// dsn is the URL of a database on one loopback port.
func dsn(port int, database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, database)
}

// listen picks a free loopback port for c and starts it there. Another
// process may take the port between the pick and the start, so it tries
// a few; the last port setting in postgresql.conf wins.
func (p *Pair) listen(c *cluster) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		if err = appendFile(c.data, "postgresql.conf", fmt.Sprintf("port = %d\n", port)); err != nil {
			return err
		}
		if _, err = p.run("pg_ctl", "start", "-D", c.data, "-l", c.log, "-w", "-t", "60"); err == nil {
			c.port = port
			return nil
		}
	}
	return fmt.Errorf("start the %s: %w\n%s", c.name, err, tail(c.log))
}

// freePort returns a loopback port that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// appendFile appends text to the file name in dir, which the server's
// user owns already.
func appendFile(dir, name, text string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// run runs one of the server's programs, as the postgres user when we
// are root, in the pair's directory (which that user can enter).
func (p *Pair) run(prog string, args ...string) ([]byte, error) {
	cmd := osexec.Command(filepath.Join(p.bindir, prog), args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "HOME="+p.dir, "PGPASSFILE="+filepath.Join(p.dir, "nopass"))
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	// pg_ctl start sends the server's output to its -l log, but should a
	// child keep our pipe, don't wait for it forever.
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", prog, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// KillPrimary stops the primary at once, as a crash would: pg_ctl stop
// -m immediate ends every backend without a checkpoint, so that clients
// see their connections break mid-transaction.
func (p *Pair) KillPrimary() {
	p.t.Helper()
	if _, err := p.run("pg_ctl", "stop", "-D", p.primary.data, "-m", "immediate", "-w", "-t", "30"); err != nil {
		p.t.Fatalf("pgtest: kill the primary: %v", err)
	}
}

// Promote makes the standby a primary (pg_ctl promote -w) and waits until
// it accepts writes, which is when a client of MultiHostDSN can connect to
// it.
func (p *Pair) Promote() {
	p.t.Helper()
	if _, err := p.run("pg_ctl", "promote", "-D", p.standby.data, "-w", "-t", "60"); err != nil {
		p.t.Fatalf("pgtest: promote the standby: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for {
		if err = writable(ctx, p.StandbyDSN); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("pgtest: the promoted standby does not accept writes after 30 s: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// writable reports, by committing a transaction that takes a transaction
// id, whether the server at dsn accepts writes.
func writable(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "SELECT pg_current_xact_id()")
	return err
}

// cleanup stops both servers, prints their logs if the test failed, and
// removes their directories.
func (p *Pair) cleanup() {
	for _, c := range []cluster{p.primary, p.standby} {
		if _, err := os.Stat(filepath.Join(c.data, "postmaster.pid")); err == nil {
			if _, err := p.run("pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w", "-t", "30"); err != nil {
				p.t.Errorf("pgtest: stop the %s: %v", c.name, err)
			}
		}
	}
	if p.t.Failed() {
		for _, c := range []cluster{p.primary, p.standby} {
			p.t.Logf("pgtest: the %s's log (%s):\n%s", c.name, c.log, tail(c.log))
		}
	}
	if err := os.RemoveAll(p.dir); err != nil {
		p.t.Errorf("pgtest: remove %s: %v", p.dir, err)
	}
}

// tail returns the end of a log file, enough to see why a server stopped.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const limit = 16 << 10
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(b)
}
