package users

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodes are stores on one database, as a cluster's nodes (or a process
// and its restart) are: they share the clock and the ledger.
type nodes struct {
	a, b  fixture
	again func() fixture // opens one more
}

func eachNodes(t *testing.T, lim SessionLimits, fn func(t *testing.T, n nodes)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			where := e.where(t)
			clk, led := &clock{}, &ledgerLog{}
			again := func() fixture { return openWith(t, e.open(t, where), clk, led, lim) }
			fn(t, nodes{a: again(), b: again(), again: again})
		})
	}
}

const testPassword = "correct horse battery"

// mkUser creates a user and returns its TOTP secret.
func mkUser(t testing.TB, f fixture, n New) string {
	t.Helper()
	n.Password = testPassword
	_, uri, err := f.s.Create(context.Background(), operator, n)
	if err != nil {
		t.Fatal(err)
	}
	return secretOf(t, uri)
}

// signIn signs a user in on f, half a minute later than the last sign-in
// so that its code is a new one.
func signIn(t testing.TB, f fixture, name, secret string) (Session, string) {
	t.Helper()
	f.clk.advance(30 * time.Second)
	s, tok, err := f.s.SignIn(context.Background(), name, testPassword, code(t, secret, f.clk.now()))
	if err != nil {
		t.Fatalf("sign in %s: %v", name, err)
	}
	return s, tok
}

// TestSessionFailover: a session started on one node is the same session
// on another and after a restart (the failover case); signing out, or
// deleting the user, on one node ends it on the other at its next check
// (the bound is zero: every check reads the database).
func TestSessionFailover(t *testing.T) {
	eachNodes(t, SessionLimits{}, func(t *testing.T, n nodes) {
		ctx := context.Background()
		secret := mkUser(t, n.a, New{Username: "Alice", Role: ParticipantAdmin, Participant: "wallet-a"})
		sa, tok := signIn(t, n.a, "alice", secret)
		sb, ok := n.b.s.Session(tok)
		if !ok || sb != sa {
			t.Fatalf("on the other node: %+v %v, want %+v", sb, ok, sa)
		}
		c := n.again()
		if sc, ok := c.s.Session(tok); !ok || sc != sa {
			t.Errorf("after a restart: %+v %v", sc, ok)
		}
		if !sb.CheckCSRF(sa.CSRF) || sa.CSRF == tok {
			t.Errorf("CSRF %q of token %q", sa.CSRF, tok)
		}
		// Signed out on b: ended on a (which served it last) and c.
		if _, ok := n.a.s.Session(tok); !ok {
			t.Fatal("ended early")
		}
		if err := n.b.s.SignOut(tok); err != nil {
			t.Fatal(err)
		}
		for name, f := range map[string]fixture{"a": n.a, "b": n.b, "c": c} {
			if _, ok := f.s.Session(tok); ok || f.s.Alive(tok) {
				t.Errorf("signed out on b, alive on %s", name)
			}
		}
		// Deleted on a: ended on b.
		_, t1 := signIn(t, n.a, "alice", secret)
		_, t2 := signIn(t, n.b, "alice", secret)
		if err := n.a.s.Delete(ctx, operator, "alice"); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{t1, t2} {
			if _, ok := n.b.s.Session(tok); ok || n.a.s.Alive(tok) {
				t.Error("a deleted user's session lives on")
			}
		}
		if c, err := n.a.s.Sessions(ctx); err != nil || c != 0 {
			t.Errorf("%d sessions left, %v", c, err)
		}
		// A user of the same name made anew has none of the old one's.
		mkUser(t, n.b, New{Username: "alice", Role: OperatorAdmin})
		if _, ok := n.a.s.Session(t1); ok {
			t.Error("a new user of the same name took the old one's session")
		}
	})
}

// TestSessionSeen: a use is written at most once a minute; the node that
// served it holds the session to the exact idle timeout, another node
// to within that minute (earlier, never later).
func TestSessionSeen(t *testing.T) {
	eachNodes(t, SessionLimits{Idle: 30 * time.Minute}, func(t *testing.T, n nodes) {
		secret := mkUser(t, n.a, New{Username: "bob", Role: Regulator})
		_, tok := signIn(t, n.a, "bob", secret)
		clk, base, t0 := n.a.clk, n.a.clk.elapsed(), n.a.clk.now()
		at := func(d time.Duration) { clk.set(base + d) }
		stored := func() time.Duration {
			var ns int64
			if err := n.a.s.db.QueryRow(`SELECT seen_at FROM console_sessions`).Scan(&ns); err != nil {
				t.Fatal(err)
			}
			return time.Unix(0, ns).Sub(t0)
		}
		for _, c := range []struct{ used, stored time.Duration }{
			{30 * time.Second, 0},
			{59 * time.Second, 0},
			{60 * time.Second, 60 * time.Second},
			{100 * time.Second, 60 * time.Second},
			{190 * time.Second, 190 * time.Second},
			{220 * time.Second, 190 * time.Second},
		} {
			at(c.used)
			if _, ok := n.a.s.Session(tok); !ok {
				t.Fatalf("ended at %v", c.used)
			}
			if got := stored(); got != c.stored {
				t.Errorf("used at %v: stored %v, want %v", c.used, got, c.stored)
			}
		}
		// Last used at 3:40 on a, stored 3:10.
		at(190*time.Second + 30*time.Minute - time.Nanosecond)
		if !n.a.s.Alive(tok) || !n.b.s.Alive(tok) {
			t.Error("idle less than 30 minutes, ended")
		}
		at(190*time.Second + 30*time.Minute)
		if !n.a.s.Alive(tok) || n.b.s.Alive(tok) {
			t.Error("idle 29:30 since its last use on a, 30:00 since the stored one: a keeps it, b ends it")
		}
	})
}

// TestSessionLimits: the idle timeout, the lifetime, sign-out, and the
// per-user and total bounds, kept in the database.
func TestSessionLimits(t *testing.T) {
	lim := SessionLimits{Idle: 30 * time.Minute, Lifetime: 2 * time.Hour, PerUser: 2, Total: 3}
	eachNodes(t, lim, func(t *testing.T, n nodes) {
		ctx := context.Background()
		for _, u := range []string{"anna", "bert", "cleo", "dora"} {
			mkUser(t, n.a, New{Username: u, Role: OperatorViewer})
		}
		s, clk := n.a.s, n.a.clk
		start := func(k string) (string, error) { return s.sessions.start(ctx, k, clk.now()) }
		at := func(d time.Duration, tok string) bool {
			clk.set(d)
			_, ok := s.Session(tok)
			return ok
		}
		clk.set(0)
		a1, _ := start("anna")
		if !at(29*time.Minute, a1) || !at(58*time.Minute, a1) {
			t.Error("ended before its idle timeout, or use did not extend it")
		}
		// Asking whether it is alive does not count as use.
		clk.set(87 * time.Minute)
		if !s.Alive(a1) || s.Alive("") {
			t.Error("alive: not as used 58 minutes in")
		}
		clk.set(88 * time.Minute)
		if s.Alive(a1) || at(88*time.Minute, a1) {
			t.Error("lived past its idle timeout")
		}
		clk.set(0)
		a2, _ := start("anna")
		for i := 1; i < 5; i++ {
			if !at(time.Duration(i)*25*time.Minute, a2) {
				t.Fatalf("ended at %d minutes", i*25)
			}
		}
		if at(2*time.Hour, a2) || n.b.s.Alive(a2) {
			t.Error("lived past its lifetime")
		}
		a3, _ := start("anna")
		a4, _ := start("anna")
		a5, _ := start("anna")
		if n.b.s.Alive(a3) {
			t.Error("a third session of a user with two kept the oldest")
		}
		for _, tok := range []string{a4, a5} {
			if !n.b.s.Alive(tok) {
				t.Error("the newest sessions ended")
			}
		}
		start("bert")
		if _, err := start("cleo"); !errors.Is(err, ErrSessionsFull) {
			t.Errorf("a fourth session of three: %v", err)
		}
		if err := s.SignOut(a4); err != nil {
			t.Fatal(err)
		}
		if n.b.s.Alive(a4) {
			t.Error("signed out, still there")
		}
		if _, err := start("cleo"); err != nil {
			t.Errorf("after a sign-out: %v", err)
		}
		// Sessions that ended by time make room, and are swept.
		clk.advance(time.Hour)
		if _, err := start("dora"); err != nil {
			t.Errorf("with ended sessions: %v", err)
		}
		if c, err := s.Sessions(ctx); err != nil || c != 1 {
			t.Errorf("%d sessions after the sweep, want 1: %v", c, err)
		}
	})
}

// TestSessionLimitsParallel: sign-ins at once on two nodes keep to the
// per-user and total bounds.
func TestSessionLimitsParallel(t *testing.T) {
	lim := SessionLimits{PerUser: 2, Total: 5}
	eachNodes(t, lim, func(t *testing.T, n nodes) {
		ctx := context.Background()
		names := []string{"user1", "user2", "user3", "user4"}
		for _, u := range names {
			mkUser(t, n.a, New{Username: u, Role: OperatorViewer})
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs := map[string]int{}
		for i := range 24 {
			f := []fixture{n.a, n.b}[i%2]
			wg.Go(func() {
				_, err := f.s.sessions.start(ctx, names[i%len(names)], f.clk.now())
				mu.Lock()
				errs[fmt.Sprint(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		for e := range errs {
			if e != "<nil>" && e != ErrSessionsFull.Error() {
				t.Errorf("error %q", e)
			}
		}
		var total int
		for _, u := range names {
			var c int
			n.a.s.db.QueryRow(`SELECT count(*) FROM console_sessions WHERE username_key = $1`, u).Scan(&c)
			if c > lim.PerUser {
				t.Errorf("%s has %d sessions", u, c)
			}
			total += c
		}
		if total != lim.Total {
			t.Errorf("%d sessions in all (errors %v)", total, errs)
		}
	})
}

// TestSessionStored: the database keeps neither a session's token nor its
// CSRF token, in any encoding: only the token's SHA-256.
func TestSessionStored(t *testing.T) {
	eachEngine(t, func(t *testing.T, f fixture) {
		secret := mkUser(t, f, New{Username: "carol", Role: OperatorAdmin})
		s, tok := signIn(t, f, "carol", secret)
		rows, err := f.s.db.Query(`SELECT * FROM console_sessions`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var dump bytes.Buffer
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					if cols[i] == "token_hash" {
						if h := sha256.Sum256([]byte(tok)); !bytes.Equal(b, h[:]) {
							t.Errorf("token_hash %x, want the token's SHA-256", b)
						}
					}
					dump.Write(b)
				}
				fmt.Fprintf(&dump, "|%v|", v)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rawTok, _ := base64.RawURLEncoding.DecodeString(tok)
		rawCSRF, _ := base64.RawURLEncoding.DecodeString(s.CSRF)
		for name, secret := range map[string][]byte{"token": []byte(tok), "raw token": rawTok, "CSRF": []byte(s.CSRF), "raw CSRF": rawCSRF,
			"hex token": fmt.Appendf(nil, "%x", rawTok), "hex CSRF": fmt.Appendf(nil, "%x", rawCSRF)} {
			if len(secret) < 16 || bytes.Contains(bytes.ToLower(dump.Bytes()), bytes.ToLower(secret)) {
				t.Errorf("the table holds the %s", name)
			}
		}
		if !strings.Contains(dump.String(), "carol") {
			t.Errorf("dump %q", dump.String())
		}
	})
}

// TestSignOutFailed: a sign-out the database could not take still ends
// the session on this node.
func TestSignOutFailed(t *testing.T) {
	eachEngine(t, func(t *testing.T, f fixture) {
		secret := mkUser(t, f, New{Username: "dave", Role: OperatorAdmin})
		_, tok := signIn(t, f, "dave", secret)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := f.s.sessions.end(ctx, tok, f.clk.now()); err == nil {
			t.Fatal("signed out with a cancelled context")
		}
		if _, ok := f.s.Session(tok); ok || f.s.Alive(tok) {
			t.Error("a session whose sign-out failed lives on here")
		}
		if c, _ := f.s.Sessions(context.Background()); c != 1 {
			t.Errorf("%d sessions kept", c)
		}
	})
}

// BenchmarkSession measures a console request's session check: one read
// of the database (a write at most once a minute).
func BenchmarkSession(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			f := open(b, e.open(b, e.where(b)))
			secret := mkUser(b, f, New{Username: "erin", Role: OperatorAdmin})
			_, tok := signIn(b, f, "erin", secret)
			for b.Loop() {
				if _, ok := f.s.Session(tok); !ok {
					b.Fatal("ended")
				}
			}
		})
	}
}
