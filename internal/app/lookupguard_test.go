package app_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

const lookupRegulator = "test-regulator-token-0123456789abcdef"

// lookup looks an MSISDN up, naming endUser in Hulian-End-User when not
// empty, and returns the status and the answer's Retry-After.
func (s *sw) lookup(token, msisdn, endUser string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.url+"/v1/parties/MSISDN/"+msisdn, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if endUser != "" {
		req.Header.Set(wire.EndUserHeader, endUser)
	}
	r, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode == http.StatusTooManyRequests {
		var p wire.Problem
		if err := json.Unmarshal(b, &p); err != nil || p.Type != wire.ProblemBase+"rate-limited" {
			s.t.Fatalf("lookup of %s: 429 %s", msisdn, b)
		}
	}
	return r.StatusCode, r.Header.Get("Retry-After")
}

// unknown is the i-th phone number that no one registered.
func unknown(i int) string { return fmt.Sprintf("+86139%08d", i) }

// retryAfter checks a Retry-After of whole seconds, at least 1, at most
// max.
func retryAfter(t *testing.T, h string, max int) {
	t.Helper()
	if n, err := strconv.Atoi(h); err != nil || n < 1 || n > max {
		t.Fatalf("Retry-After %q, want 1 to %d whole seconds", h, max)
	}
}

// TestLookupBudget: a participant scanning unknown numbers runs out of
// its lookup budget after a few misses; another's found lookups, its own
// other requests, the operator and the regulator are not affected.
func TestLookupBudget(t *testing.T) {
	eachEngine(t, func(c *app.Config) {
		c.LookupRate, c.LookupBurst, c.LookupMissCost = 1, 50, 20
		c.RegulatorToken = lookupRegulator
	}, func(t *testing.T, s *sw) {
		keyA, _ := s.participant("wallet-a", nil)
		keyB, _ := s.participant("wallet-b", nil)
		s.party(keyB, "MSISDN", "+8613800138000", "Zhang San", "acct-1")

		// 50 tokens: three misses (20 each) and the bucket is in debt.
		for i := range 3 {
			if st, _ := s.lookup(keyA, unknown(i), ""); st != 404 {
				t.Fatalf("miss %d: %d, want 404", i, st)
			}
		}
		st, ra := s.lookup(keyA, unknown(3), "")
		if st != 429 {
			t.Fatalf("fourth miss: %d, want 429", st)
		}
		retryAfter(t, ra, 11) // 11 tokens short at 1 per second
		if st, _ := s.lookup(keyA, "+8613800138000", ""); st != 429 {
			t.Fatalf("found lookup in debt: %d, want 429", st)
		}
		// Another participant's found lookups: 1 token each.
		for range 20 {
			if st, _ := s.lookup(keyB, "+8613800138000", ""); st != 200 {
				t.Fatalf("wallet-b's lookup: %d, want 200", st)
			}
		}
		// The scanner's other requests are not limited by its lookups.
		s.ok(200, "GET", "/v1/participants/wallet-a", keyA, nil, nil)
		s.ok(200, "GET", "/v1/parties", keyA, nil, nil)
		// The operator and the regulator look up for investigations:
		// not charged, not counted.
		for _, tok := range []string{opToken, lookupRegulator} {
			for i := range 10 {
				if st, _ := s.lookup(tok, unknown(100+i), ""); st != 404 {
					t.Fatalf("investigation lookup %d: %d, want 404", i, st)
				}
			}
		}
		var stats wire.LookupStats
		s.ok(200, "GET", "/v1/directory/lookup-stats", opToken, nil, &stats)
		want := []wire.LookupStat{{Participant: "wallet-a", Found: 0, NotFound: 3}, {Participant: "wallet-b", Found: 20, NotFound: 0}}
		if fmt.Sprint(stats.Participants) != fmt.Sprint(want) {
			t.Fatalf("lookup stats %+v, want %+v", stats.Participants, want)
		}
		s.ok(200, "GET", "/v1/directory/lookup-stats", lookupRegulator, nil, nil)
		s.problem(403, "forbidden", "GET", "/v1/directory/lookup-stats", keyA, nil)
	})
}

// TestLookupEndUserBudget: an end user named in Hulian-End-User has 10
// misses a minute; the 11th is refused before the lookup, another end
// user of the same participant is not.
func TestLookupEndUserBudget(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		keyA, _ := s.participant("wallet-a", nil)
		keyB, _ := s.participant("wallet-b", nil)
		s.party(keyB, "MSISDN", "+8613800138000", "Zhang San", "acct-1")
		for i := range 10 {
			if st, _ := s.lookup(keyA, unknown(i), "user-1"); st != 404 {
				t.Fatalf("user-1's miss %d: %d, want 404", i, st)
			}
		}
		st, ra := s.lookup(keyA, unknown(10), "user-1")
		if st != 429 {
			t.Fatalf("user-1's 11th miss: %d, want 429", st)
		}
		retryAfter(t, ra, 6) // a miss comes back every 6 seconds
		if st, _ := s.lookup(keyA, unknown(11), "user-2"); st != 404 {
			t.Fatalf("user-2's miss: %d, want 404", st)
		}
		if st, _ := s.lookup(keyA, unknown(12), ""); st != 404 {
			t.Fatalf("a miss for no end user: %d, want 404", st)
		}
		// The refused lookup was not made: 12 misses counted.
		var stats wire.LookupStats
		s.ok(200, "GET", "/v1/directory/lookup-stats", opToken, nil, &stats)
		if len(stats.Participants) != 1 || stats.Participants[0].NotFound != 12 {
			t.Fatalf("lookup stats %+v, want wallet-a's 12 misses", stats.Participants)
		}
		for _, bad := range []string{strings.Repeat("u", 129), "usér"} {
			req, _ := http.NewRequest("GET", s.url+"/v1/parties/MSISDN/+8613800138000", nil)
			req.Header.Set("Authorization", "Bearer "+keyA)
			req.Header.Set(wire.EndUserHeader, bad)
			r, err := s.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode != 400 || !bytes.Contains(b, []byte(wire.ProblemBase+"invalid-request")) {
				t.Fatalf("Hulian-End-User %q: %d %s, want 400 invalid-request", bad, r.StatusCode, b)
			}
		}
	})
}

// syncBuffer is a log sink safe for the switch's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestLookupScrapingAlert: a participant whose lookups keep missing
// raises one operator alert, logged and listed for the operator and the
// regulator; a participant whose lookups find their aliases does not.
func TestLookupScrapingAlert(t *testing.T) {
	var logs *syncBuffer // this engine's
	eachEngine(t, func(c *app.Config) {
		c.LookupBurst = 100_000 // room for a scan: the alert, not the budget, is under test
		c.RegulatorToken = lookupRegulator
		logs = &syncBuffer{}
		c.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}, func(t *testing.T, s *sw) {
		keyA, _ := s.participant("wallet-a", nil)
		keyB, _ := s.participant("wallet-b", nil)
		s.party(keyB, "MSISDN", "+8613800138000", "Zhang San", "acct-1")
		var none wire.OperatorAlerts
		s.ok(200, "GET", "/v1/operator-alerts", opToken, nil, &none)
		if len(none.Alerts) != 0 {
			t.Fatalf("alerts before any lookup: %+v", none)
		}
		// wallet-a scans: 2 windows of 200 lookups, 9 in 10 missing;
		// wallet-b looks up what exists.
		for i := range 400 {
			want, number := 404, unknown(i)
			if i%10 == 0 {
				want, number = 200, "+8613800138000"
			}
			if st, _ := s.lookup(keyA, number, ""); st != want {
				t.Fatalf("wallet-a's lookup %d: %d, want %d", i, st, want)
			}
			if i < 200 {
				if st, _ := s.lookup(keyB, "+8613800138000", ""); st != 200 {
					t.Fatalf("wallet-b's lookup %d: %d", i, st)
				}
			}
		}
		var alerts wire.OperatorAlerts
		s.ok(200, "GET", "/v1/operator-alerts", opToken, nil, &alerts)
		if len(alerts.Alerts) != 1 {
			t.Fatalf("alerts %+v, want one (not repeated within the hour)", alerts)
		}
		a := alerts.Alerts[0]
		if a.Kind != "lookup-scraping" || a.Participant != "wallet-a" || a.ID == "" || a.RaisedAt.IsZero() ||
			a.Detail != (wire.OperatorAlertDetail{Lookups: 200, Found: 20, NotFound: 180, Ratio: 0.9}) {
			t.Fatalf("alert %+v", a)
		}
		var reg wire.OperatorAlerts
		s.ok(200, "GET", "/v1/operator-alerts", lookupRegulator, nil, &reg)
		if len(reg.Alerts) != 1 || reg.Alerts[0].ID != a.ID {
			t.Fatalf("the regulator's alerts %+v", reg)
		}
		s.problem(403, "forbidden", "GET", "/v1/operator-alerts", keyA, nil)
		s.problem(400, "invalid-request", "GET", "/v1/operator-alerts?before=0", opToken, nil)
		if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "participant=wallet-a") {
			t.Fatalf("the alert was not logged at Warn: %s", l)
		}
		var stats wire.LookupStats
		s.ok(200, "GET", "/v1/directory/lookup-stats", opToken, nil, &stats)
		want := []wire.LookupStat{{Participant: "wallet-a", Found: 40, NotFound: 360}, {Participant: "wallet-b", Found: 200, NotFound: 0}}
		if fmt.Sprint(stats.Participants) != fmt.Sprint(want) {
			t.Fatalf("lookup stats %+v, want %+v", stats.Participants, want)
		}
	})
}
