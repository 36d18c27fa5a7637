package users

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// ledgerLog is a ledger that keeps the marks it is given.
type ledgerLog struct {
	mu   sync.Mutex
	cmds []ledger.Command
	fail bool
	seen map[ledger.ID]bool
}

func (l *ledgerLog) Submit(_ context.Context, cmds []ledger.Command) ([]ledger.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return nil, errors.New("ledger down")
	}
	if l.seen == nil {
		l.seen = map[ledger.ID]bool{}
	}
	st := ledger.StatusOK
	if l.seen[cmds[0].ID] {
		st = ledger.StatusExists
	}
	l.seen[cmds[0].ID] = true
	l.cmds = append(l.cmds, cmds...)
	return []ledger.Result{{Status: st}}, nil
}

type parts map[string]participant.Participant

func (p parts) Get(id string) (participant.Participant, bool) {
	v, ok := p[id]
	return v, ok
}

// clock is a clock the test moves.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time {
	return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(c.off.Load()))
}
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

// set puts the clock d after its start.
func (c *clock) set(d time.Duration) { c.off.Store(int64(d)) }

// elapsed is how far the clock is past its start.
func (c *clock) elapsed() time.Duration { return time.Duration(c.off.Load()) }

// fastHash keeps the tests quick: the parameters are stored with each
// hash, so that verifying takes what hashing took.
var fastHash = Hash{MemoryKiB: 64, Time: 1, Threads: 1}

type fixture struct {
	s   *Store
	led *ledgerLog
	clk *clock
}

// engines make a database on each engine (where) and open it, as often
// as a test asks: every DB opened on one where is the same database, as
// the nodes of a cluster, or a process and its restart, see it.
var engines = []struct {
	name  string
	where func(t testing.TB) string
	open  func(t testing.TB, where string) *sqldb.DB
}{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "hulian.db") }, func(t testing.TB, file string) *sqldb.DB {
		db, err := sqldb.OpenSQLite(context.Background(), file)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}},
	{"postgres", pgtest.DSN, func(t testing.TB, dsn string) *sqldb.DB {
		db, err := sqldb.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}},
}

func open(t testing.TB, db *sqldb.DB) fixture {
	t.Helper()
	return openWith(t, db, &clock{}, &ledgerLog{}, SessionLimits{})
}

// openWith opens a store on db with the clock, the ledger and the
// session limits given, so that two stores may share them.
func openWith(t testing.TB, db *sqldb.DB, clk *clock, led *ledgerLog, lim SessionLimits) fixture {
	t.Helper()
	t.Cleanup(func() { db.Close() })
	key, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{led: led, clk: clk}
	f.s, err = Open(Options{DB: db, Seal: key, Ledger: f.led, Hash: fastHash, Now: f.clk.now, Sessions: lim,
		Participants: parts{"wallet-a": {ID: "wallet-a", Status: participant.Active}, "gone": {ID: "gone", Status: participant.Closed}}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func eachEngine(t *testing.T, fn func(t *testing.T, f fixture)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, open(t, e.open(t, e.where(t)))) })
	}
}

var operator = Actor{Role: "operator"}

// secretOf reads the TOTP secret out of a key URI.
func secretOf(t testing.TB, uri string) string {
	t.Helper()
	_, q, _ := strings.Cut(uri, "?secret=")
	secret, _, ok := strings.Cut(q, "&")
	if !ok || secret == "" {
		t.Fatalf("no secret in %q", uri)
	}
	return secret
}

func code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCreate: what a user may be and is refused; the key's URI; the
// listing shows no secret; names are unique whatever their case.
func TestCreate(t *testing.T) {
	eachEngine(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		pw := "correct horse battery"
		for _, c := range []struct {
			n    New
			want error
		}{
			{New{"alice", pw, OperatorAdmin, ""}, nil},
			{New{"Bob.Ops-1", pw, OperatorViewer, ""}, nil},
			{New{"reg@pboc", pw, Regulator, ""}, nil},
			{New{"wa-admin", pw, ParticipantAdmin, "wallet-a"}, nil},
			{New{"wa-view", pw, ParticipantViewer, "wallet-a"}, nil},
			{New{"ALICE", pw, OperatorAdmin, ""}, ErrExists},
			{New{"al", pw, OperatorAdmin, ""}, ErrInvalid},
			{New{strings.Repeat("a", 65), pw, OperatorAdmin, ""}, ErrInvalid},
			{New{"-alice", pw, OperatorAdmin, ""}, ErrInvalid},
			{New{"ali ce", pw, OperatorAdmin, ""}, ErrInvalid},
			{New{"ålice", pw, OperatorAdmin, ""}, ErrInvalid},
			{New{"carol", "short-pw-11", OperatorAdmin, ""}, ErrInvalid},
			{New{"carol", strings.Repeat("密", 129), OperatorAdmin, ""}, ErrInvalid},
			{New{"carol", "\xff" + pw, OperatorAdmin, ""}, ErrInvalid},
			{New{"carol", pw, "root", ""}, ErrInvalid},
			{New{"carol", pw, ParticipantAdmin, ""}, ErrInvalid},
			{New{"carol", pw, ParticipantAdmin, "nobody"}, ErrInvalid},
			{New{"carol", pw, ParticipantViewer, "gone"}, ErrInvalid},
			{New{"carol", pw, OperatorAdmin, "wallet-a"}, ErrInvalid},
		} {
			u, uri, err := f.s.Create(ctx, operator, c.n)
			if !errors.Is(err, c.want) || c.want == nil && err != nil {
				t.Errorf("%+v: %v, want %v", c.n, err, c.want)
				continue
			}
			if err != nil {
				if k := fault.KindOf(err); k != fault.Invalid && k != fault.Conflict {
					t.Errorf("%+v: kind %v", c.n, k)
				}
				continue
			}
			if u.Username != c.n.Username || u.Role != c.n.Role || u.Participant != c.n.Participant {
				t.Errorf("created %+v", u)
			}
			if !strings.HasPrefix(uri, "otpauth://totp/Hulian:"+c.n.Username+"?secret=") || !strings.HasSuffix(uri, "&issuer=Hulian") ||
				len(secretOf(t, uri)) != 32 {
				t.Errorf("key URI %q", uri)
			}
		}
		us, err := f.s.List(ctx, "", 100)
		if err != nil || len(us) != 5 {
			t.Fatalf("list: %v %+v", err, us)
		}
		if us[0].Username != "alice" || us[1].Username != "Bob.Ops-1" {
			t.Errorf("order: %+v", us)
		}
		page, _ := f.s.List(ctx, "bob.ops-1", 2)
		if len(page) != 2 || page[0].Username != "reg@pboc" {
			t.Errorf("page after bob: %+v", page)
		}
		// The database holds neither the password nor the secret in
		// the clear.
		var hash, secret string
		f.s.db.QueryRow(`SELECT password_hash, totp_secret FROM console_users WHERE username_key = 'alice'`).Scan(&hash, &secret)
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(hash, pw) || !seal.IsSealed(secret) {
			t.Errorf("stored %q %q", hash, secret)
		}
		if got := len(f.led.cmds); got != 5 {
			t.Errorf("%d marks for 5 users created", got)
		}
		// Without the ledger, no user is created or deleted: none
		// goes without its trail.
		f.led.fail = true
		if _, _, err := f.s.Create(ctx, operator, New{"carol", pw, Regulator, ""}); err == nil {
			t.Error("created without its mark")
		}
		if err := f.s.Delete(ctx, operator, "alice"); err == nil {
			t.Error("deleted without its mark")
		}
		f.led.fail = false
		if us, _ := f.s.List(ctx, "", 100); len(us) != 5 {
			t.Errorf("after the ledger failed: %+v", us)
		}
		if _, _, err := f.s.Create(ctx, operator, New{"carol", pw, Regulator, ""}); err != nil {
			t.Errorf("carol, once the ledger is back: %v", err)
		}
	})
}

// TestSignIn: both factors, every failure alike, replayed codes, the
// lockout and its end, a user deleted.
func TestSignIn(t *testing.T) {
	eachEngine(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		pw := "correct horse battery"
		_, uri, err := f.s.Create(ctx, operator, New{"Alice", pw, ParticipantAdmin, "wallet-a"})
		if err != nil {
			t.Fatal(err)
		}
		secret := secretOf(t, uri)
		now := f.clk.now
		// Failures: none says which factor.
		for _, c := range []struct{ name, user, pw, code string }{
			{"wrong password", "alice", pw + "x", code(t, secret, now())},
			{"wrong code", "alice", pw, "000000"},
			{"short code", "alice", pw, "12345"},
			{"no code", "alice", pw, ""},
			{"unknown user", "mallory", pw, code(t, secret, now())},
		} {
			if _, _, err := f.s.SignIn(ctx, c.user, c.pw, c.code); !errors.Is(err, ErrSignIn) || err.Error() != ErrSignIn.Error() {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		// Four failures so far: a success clears them.
		sess, tok, err := f.s.SignIn(ctx, "ALICE", pw, code(t, secret, now()))
		if err != nil || sess.Username != "Alice" || sess.Role != ParticipantAdmin || sess.Participant != "wallet-a" || len(tok) < 22 || len(sess.CSRF) < 22 {
			t.Fatalf("sign in: %+v %q %v", sess, tok, err)
		}
		if got, ok := f.s.Session(tok); !ok || got.Username != "Alice" {
			t.Errorf("session: %+v %v", got, ok)
		}
		// The same code again, and the previous step's: replays.
		f.clk.advance(10 * time.Second)
		if _, _, err := f.s.SignIn(ctx, "alice", pw, code(t, secret, now().Add(-10*time.Second))); !errors.Is(err, ErrSignIn) {
			t.Errorf("replayed code: %v", err)
		}
		// One step later, a step early (clock skew): accepted once.
		f.clk.advance(30 * time.Second)
		if _, _, err := f.s.SignIn(ctx, "alice", pw, code(t, secret, now().Add(30*time.Second))); err != nil {
			t.Errorf("next step's code: %v", err)
		}
		if _, _, err := f.s.SignIn(ctx, "alice", pw, code(t, secret, now())); !errors.Is(err, ErrSignIn) {
			t.Errorf("an older step's code after a newer one: %v", err)
		}
		// Five failures lock; then even the right factors fail.
		f.clk.advance(2 * time.Minute)
		for range 3 {
			f.s.SignIn(ctx, "alice", "wrong password!", "000000")
		}
		if u, _ := f.s.Get(ctx, "alice"); !u.LockedUntil.IsZero() {
			t.Errorf("locked after 4 failures (the older code's, then 3): %+v", u)
		}
		f.s.SignIn(ctx, "alice", "wrong password!", "000000")
		u, _ := f.s.Get(ctx, "alice")
		if want := now().Add(15 * time.Minute); !u.LockedUntil.Equal(want) {
			t.Errorf("locked until %v, want %v", u.LockedUntil, want)
		}
		if _, _, err := f.s.SignIn(ctx, "alice", pw, code(t, secret, now())); !errors.Is(err, ErrSignIn) {
			t.Errorf("locked user signed in: %v", err)
		}
		f.clk.advance(15*time.Minute - time.Second)
		if _, _, err := f.s.SignIn(ctx, "alice", pw, code(t, secret, now())); !errors.Is(err, ErrSignIn) {
			t.Errorf("signed in a second before the lockout's end: %v", err)
		}
		f.clk.advance(time.Second)
		if _, _, err := f.s.SignIn(ctx, "alice", pw, code(t, secret, now())); err != nil {
			t.Errorf("after the lockout: %v", err)
		}
		// Deleting the user ends its sessions.
		if err := f.s.Delete(ctx, operator, "ALICE"); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.s.Session(tok); ok {
			t.Error("a deleted user's session lives on")
		}
		if err := f.s.Delete(ctx, operator, "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted twice: %v", err)
		}
		f.clk.advance(time.Minute)
		if _, _, err := f.s.SignIn(ctx, "alice", pw, code(t, secret, now())); !errors.Is(err, ErrSignIn) {
			t.Errorf("a deleted user signed in: %v", err)
		}
	})
}

// TestSignInParallel: attempts at once cannot outrun the lockout: of 20
// wrong guesses sent together at most 5 are checked, and the user ends
// locked.
func TestSignInParallel(t *testing.T) {
	eachEngine(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		if _, _, err := f.s.Create(ctx, operator, New{"alice", "correct horse battery", OperatorAdmin, ""}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { f.s.SignIn(ctx, "alice", "wrong password!", "123456") })
		}
		wg.Wait()
		if u, _ := f.s.Get(ctx, "alice"); u.LockedUntil.IsZero() {
			t.Error("not locked after 20 parallel failures")
		}
	})
}

// TestRecord: an action is a console-action mark whose fields are who,
// what and when, and is listed newest first; an action whose mark fails
// is not listed.
func TestRecord(t *testing.T) {
	eachEngine(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		who := Actor{Username: "alice", Role: string(OperatorAdmin)}
		for _, target := range []string{"CNY-1", "wallet-a", "CNY-2"} {
			if err := f.s.Record(ctx, who, "window-close", target); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct{ action, target string }{{"Window Close", "x"}, {"x", strings.Repeat("t", 257)}, {"x", "a\nb"}} {
			if err := f.s.Record(ctx, who, c.action, c.target); err == nil {
				t.Errorf("recorded %q %q", c.action, c.target)
			}
		}
		cmd := f.led.cmds[0]
		fields, ok := mark.Decode(cmd.Meta)
		if cmd.Kind != ledger.KindMark || cmd.Purpose != purpose.ConsoleAction || !ok || len(fields) != 6 ||
			fields[0] != "alice" || fields[1] != "operator-admin" || fields[2] != "" || fields[3] != "window-close" || fields[4] != "CNY-1" ||
			fields[5] != strconv.FormatInt(f.clk.now().UnixNano(), 10) {
			t.Errorf("mark %+v fields %q", cmd, fields)
		}
		as, err := f.s.Actions(ctx, 0, 2)
		if err != nil || len(as) != 2 || as[0].Target != "CNY-2" || as[1].Target != "wallet-a" || as[0].Username != "alice" ||
			as[0].Mark != f.led.cmds[2].ID {
			t.Fatalf("actions: %v %+v", err, as)
		}
		rest, _ := f.s.Actions(ctx, as[1].Seq, 10)
		if len(rest) != 1 || rest[0].Target != "CNY-1" {
			t.Errorf("second page: %+v", rest)
		}
		f.led.fail = true
		if err := f.s.Record(ctx, who, "window-close", "CNY-3"); err == nil {
			t.Error("recorded without the ledger")
		}
		if as, _ := f.s.Actions(ctx, 0, 10); len(as) != 3 {
			t.Errorf("an action whose mark failed is listed: %+v", as)
		}
	})
}

// TestHash: the PHC string round-trips; parameters out of bounds in a
// stored hash are refused rather than run.
func TestHash(t *testing.T) {
	h, err := fastHash.hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stored, pw string
		ok         bool
		err        bool
	}{
		{h, "pw", true, false},
		{h, "pW", false, false},
		{strings.Replace(h, "m=64", "m=1048576", 1), "pw", false, true},
		{strings.Replace(h, "t=1", "t=99", 1), "pw", false, true},
		{strings.Replace(h, "argon2id", "argon2i", 1), "pw", false, true},
		{"$2a$10$abc", "pw", false, true},
	} {
		ok, err := verifyHash(c.stored, c.pw)
		if ok != c.ok || (err != nil) != c.err {
			t.Errorf("%q %q: %v %v", c.stored, c.pw, ok, err)
		}
	}
	if err := (Hash{MemoryKiB: 1, Time: 1, Threads: 1}).Validate(); err == nil {
		t.Error("1 KiB accepted")
	}
}

// BenchmarkDefaultHash measures a sign-in's password check with the
// default parameters.
func BenchmarkDefaultHash(b *testing.B) {
	h, err := DefaultHash.hash("correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		verifyHash(h, "correct horse battery")
	}
}
