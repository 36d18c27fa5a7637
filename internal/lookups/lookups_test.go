package lookups

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// clock is a fake clock the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func guard(t *testing.T, cfg Config, alert func(Alert)) (*Guard, *clock) {
	t.Helper()
	cfg.EnsureDefaults()
	c := &clock{t0}
	g, err := New(cfg, c.now, alert)
	if err != nil {
		t.Fatal(err)
	}
	return g, c
}

// step is one lookup of a script: who asks, at what offset from the
// start, whether it would find the alias, and what Begin must answer.
type step struct {
	at          time.Duration
	participant string
	endUser     string
	found       bool
	ok          bool
	retryAfter  time.Duration // when refused
}

func TestBudgets(t *testing.T) {
	small := Config{Rate: 10, Burst: 50, MissCost: 20, UserRate: 2}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"found lookups cost one token", small, []step{
			{0, "a", "", true, true, 0},
			{0, "a", "", true, true, 0},
		}},
		{"misses drain the bucket into debt; others unaffected", small, []step{
			{0, "a", "", false, true, 0},                       // 50 → 30
			{0, "a", "", false, true, 0},                       // 30 → 10
			{0, "a", "", false, true, 0},                       // 10 → -10
			{0, "a", "", true, false, 1100 * time.Millisecond}, // needs 11 tokens at 10/s
			{0, "b", "", true, true, 0},
			{time.Second, "a", "", true, false, 100 * time.Millisecond},
			{1100 * time.Millisecond, "a", "", true, true, 0},
		}},
		{"found lookups at the burst", Config{Rate: 1, Burst: 2, MissCost: 2, UserRate: 10}, []step{
			{0, "a", "", true, true, 0},
			{0, "a", "", true, true, 0},
			{0, "a", "", true, false, time.Second},
			{500 * time.Millisecond, "a", "", true, false, 500 * time.Millisecond},
		}},
		{"an end user's misses are bounded per minute, another's are not", Config{Rate: 1000, Burst: 2000, MissCost: 20, UserRate: 2}, []step{
			{0, "a", "u1", false, true, 0},
			{0, "a", "u1", false, true, 0},
			{0, "a", "u1", false, false, 30 * time.Second},
			{0, "a", "u2", false, true, 0},
			{0, "b", "u1", false, true, 0}, // the same id at another participant is another user
			{0, "a", "", false, true, 0},   // the participant itself is not refused
			{30 * time.Second, "a", "u1", true, true, 0},
			{30 * time.Second, "a", "u1", false, true, 0}, // found lookups cost the user nothing
			{30 * time.Second, "a", "u1", false, false, 30 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, c := guard(t, tt.cfg, nil)
			for i, s := range tt.steps {
				c.t = t0.Add(s.at)
				ok, wait := g.Begin(s.participant, s.endUser)
				if ok != s.ok || !ok && !near(wait, s.retryAfter) {
					t.Fatalf("step %d %+v: Begin = %v, %v", i, s, ok, wait)
				}
				if ok {
					g.Done(s.participant, s.endUser, s.found)
				}
			}
		})
	}
}

func near(a, b time.Duration) bool {
	d := a - b
	return d > -time.Millisecond && d < time.Millisecond
}

func TestStats(t *testing.T) {
	g, _ := guard(t, Config{}, nil)
	for i := range 7 {
		if ok, _ := g.Begin("b", ""); !ok {
			t.Fatal("refused")
		}
		g.Done("b", "", i%2 == 0)
	}
	g.Begin("a", "")
	g.Done("a", "", true)
	want := []Stat{{"a", 1, 0}, {"b", 4, 3}}
	if got := g.Stats(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stats %v, want %v", got, want)
	}
}

func TestScrapingAlert(t *testing.T) {
	tests := []struct {
		name   string
		misses []int           // per window of 10 lookups, how many miss
		gaps   []time.Duration // before each window
		want   []int64         // the alerts' NotFound
	}{
		{"at the threshold: no alert", []int{5, 5}, []time.Duration{0, 0}, nil},
		{"above it: one alert", []int{6}, []time.Duration{0}, []int64{6}},
		{"not twice within the hour", []int{9, 10, 8}, []time.Duration{0, time.Minute, 58 * time.Minute}, []int64{9}},
		{"again after the hour", []int{9, 2, 7}, []time.Duration{0, time.Minute, time.Hour}, []int64{9, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Alert
			g, c := guard(t, Config{MissAlert: 0.5, Window: 10}, func(a Alert) { got = append(got, a) })
			for w, misses := range tt.misses {
				c.advance(tt.gaps[w])
				for i := range 10 {
					g.Done("a", "", i >= misses)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("alerts %+v, want NotFound %v", got, tt.want)
			}
			for i, a := range got {
				if a.NotFound != tt.want[i] || a.Lookups != 10 || a.Kind != KindScraping || a.Participant != "a" {
					t.Errorf("alert %d: %+v", i, a)
				}
			}
		})
	}
}

// TestEndUsersBounded: a participant that names a new end user at
// every miss does not grow the guard's memory beyond UsersMax.
func TestEndUsersBounded(t *testing.T) {
	const usersMax = 1000
	g, c := guard(t, Config{UsersMax: usersMax, Rate: 1e9, Burst: 1 << 30}, nil)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 100 * usersMax {
		u := fmt.Sprintf("user-%d", i)
		if ok, _ := g.Begin("a", u); !ok {
			t.Fatalf("user %d refused", i)
		}
		g.Done("a", u, false)
		if n := g.EndUsers(); n > usersMax {
			t.Fatalf("%d end users held, more than %d", n, usersMax)
		}
	}
	// Full buckets go first: a minute later, when the others are full
	// again, as many end users as a participant's cap (half the total)
	// holds spend all their misses, and each is held, and refused.
	c.advance(time.Minute)
	for i := range usersMax / 2 {
		u := fmt.Sprintf("late-%d", i)
		for range DefaultUserRate {
			g.Begin("a", u)
			g.Done("a", u, false)
		}
	}
	for i := range usersMax / 2 {
		if ok, _ := g.Begin("a", fmt.Sprintf("late-%d", i)); ok {
			t.Fatalf("late-%d was dropped for a full bucket", i)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
		t.Errorf("heap grew by %d bytes", grown)
	}
}

// TestEndUsersFloodIsolated: a participant flooding made-up end user
// ids drops its own buckets, never another participant's.
func TestEndUsersFloodIsolated(t *testing.T) {
	const usersMax = 1000
	g, _ := guard(t, Config{UsersMax: usersMax, Rate: 1e9, Burst: 1 << 30}, nil)
	spend := func(p, u string) {
		for range DefaultUserRate {
			g.Begin(p, u)
			g.Done(p, u, false)
		}
	}
	for i := range 100 {
		spend("honest", fmt.Sprintf("user-%d", i))
	}
	for i := range 50 * usersMax {
		u := fmt.Sprintf("fake-%d", i)
		g.Begin("flooder", u)
		g.Done("flooder", u, false)
		if n := g.EndUsers(); n > usersMax {
			t.Fatalf("%d end users held, more than %d", n, usersMax)
		}
	}
	for i := range 100 {
		if ok, _ := g.Begin("honest", fmt.Sprintf("user-%d", i)); ok {
			t.Fatalf("honest user-%d's bucket was dropped by another participant's flood", i)
		}
	}
}

func TestCheckEndUser(t *testing.T) {
	long := string(make([]byte, EndUserMax+1))
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"u-123", true}, {"a b", true}, {strings.Repeat("x", EndUserMax), true}, {string(make([]byte, 8)), false}, {"", false}, {long, false},
		{"é", false}, {"a\nb", false}, {"\x7f", false},
	} {
		if err := CheckEndUser(tt.id); (err == nil) != tt.ok {
			t.Errorf("CheckEndUser(%q) = %v", tt.id, err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {59500 * time.Millisecond, 60}} {
		if got := RetryAfter(tt.d); got != tt.want {
			t.Errorf("RetryAfter(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"miss cost above the burst", Config{Burst: 10, MissCost: 11}, false},
		{"negative rate", Config{Rate: -1}, false},
		{"ratio above 1", Config{MissAlert: 1.5}, false},
		{"negative users", Config{UsersMax: -1}, false},
	} {
		tt.cfg.EnsureDefaults()
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v", tt.name, err)
		}
	}
}

// TestAlerts records alerts on both databases: at most one per
// participant per hour, listed newest first.
func TestAlerts(t *testing.T) {
	ctx := context.Background()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var db *sqldb.DB
			var err error
			if engine == "sqlite" {
				db, err = sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "app.db"))
			} else {
				db, err = sqldb.OpenPostgres(ctx, pgtest.DSN(t))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			s := &Alerts{DB: db}
			raise := []struct {
				participant string
				at          time.Duration
				recorded    bool
			}{
				{"a", 0, true}, {"b", time.Minute, true}, {"a", 59 * time.Minute, false}, {"a", time.Hour, true},
			}
			for i, r := range raise {
				a, ok, err := s.Raise(ctx, Alert{Kind: KindScraping, Participant: r.participant, At: t0.Add(r.at), Lookups: 200, NotFound: 150})
				if err != nil || ok != r.recorded || ok && a.Seq == 0 {
					t.Fatalf("raise %d: %+v, %v, %v", i, a, ok, err)
				}
			}
			all, err := s.List(ctx, 0, 10)
			if err != nil || len(all) != 3 || all[0].Participant != "a" || !all[0].At.Equal(t0.Add(time.Hour)) || all[1].Participant != "b" ||
				all[2].NotFound != 150 || all[2].Lookups != 200 || all[2].Kind != KindScraping {
				t.Fatalf("list: %+v, %v", all, err)
			}
			page, err := s.List(ctx, all[0].Seq, 1)
			if err != nil || len(page) != 1 || page[0].Seq != all[1].Seq {
				t.Fatalf("page before %d: %+v, %v", all[0].Seq, page, err)
			}
		})
	}
}
