package pgtest_test

import (
	"context"
	"net/url"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// TestReplicated checks the pair's promise: every commit the primary
// acknowledged is on the standby, even when the primary is killed right
// after it, and MultiHostDSN reaches whichever server accepts writes.
func TestReplicated(t *testing.T) {
	start := time.Now()
	p := pgtest.Replicated(t)
	t.Logf("pair ready in %v", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	primary := connect(t, ctx, p.MultiHostDSN)
	if got, want := serverPort(t, ctx, primary), dsnPort(t, p.PrimaryDSN); got != want {
		t.Fatalf("MultiHostDSN reached port %d, want the primary's %d", got, want)
	}
	if _, err := primary.Exec(ctx, "CREATE TABLE acked (n int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	const rows = 200
	for n := 1; n <= rows; n++ {
		if _, err := primary.Exec(ctx, "INSERT INTO acked VALUES ($1)", n); err != nil {
			t.Fatal(err)
		}
	}

	standby := connect(t, ctx, p.StandbyDSN)
	if _, err := standby.Exec(ctx, "INSERT INTO acked VALUES (0)"); err == nil {
		t.Fatal("the standby accepted a write before promotion")
	}

	// Replication is synchronous: with the standby's WAL receiver paused,
	// a commit on the primary waits; resumed, it returns.
	var receiver int
	if err := standby.QueryRow(ctx, "SELECT pid FROM pg_stat_wal_receiver").Scan(&receiver); err != nil {
		t.Fatalf("the standby's WAL receiver: %v", err)
	}
	if err := syscall.Kill(receiver, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() {
		_, err := primary.Exec(ctx, "INSERT INTO acked VALUES ($1)", rows+1)
		committed <- err
	}()
	select {
	case err := <-committed:
		syscall.Kill(receiver, syscall.SIGCONT)
		t.Fatalf("a commit returned (%v) while the synchronous standby was paused", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := syscall.Kill(receiver, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-committed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a commit still waits 10 s after the standby resumed")
	}

	// Killed right after its last acknowledged commit, the primary has
	// nothing the standby lacks.
	killed := time.Now()
	p.KillPrimary()
	if c, err := pgx.Connect(ctx, p.MultiHostDSN); err == nil {
		c.Close(context.Background())
		t.Fatal("MultiHostDSN connected with the primary dead and the standby read-only")
	}
	p.Promote()
	promoted := time.Since(killed)

	after := connect(t, ctx, p.MultiHostDSN)
	if got, want := serverPort(t, ctx, after), dsnPort(t, p.StandbyDSN); got != want {
		t.Fatalf("after promotion MultiHostDSN reached port %d, want the standby's %d", got, want)
	}
	var n int
	if err := after.QueryRow(ctx, "SELECT count(*) FROM acked").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != rows+1 {
		t.Fatalf("the promoted standby has %d of %d acknowledged rows", n, rows+1)
	}
	if _, err := after.Exec(ctx, "INSERT INTO acked VALUES (0)"); err != nil {
		t.Fatalf("the promoted standby refuses a write: %v", err)
	}
	t.Logf("kill to promoted and writable: %v", promoted.Round(time.Millisecond))
}

func connect(t *testing.T, ctx context.Context, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// serverPort asks the server which port it listens on.
func serverPort(t *testing.T, ctx context.Context, c *pgx.Conn) int {
	t.Helper()
	var s string
	if err := c.QueryRow(ctx, "SELECT current_setting('port')").Scan(&s); err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func dsnPort(t *testing.T, dsn string) int {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
