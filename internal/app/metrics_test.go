package app_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// scrape reads the switch's metrics over HTTP and parses them with the
// Prometheus text parser.
func (s *sw) scrape() scraped {
	s.t.Helper()
	u := s.app.MetricsURL()
	if u == "" {
		s.t.Fatal("the metrics are not served")
	}
	r, err := s.hc.Get(u)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(r.Body)
		s.t.Fatalf("GET %s: %d %s %s", u, r.StatusCode, r.Header.Get("Content-Type"), b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r.Body)
	if err != nil {
		s.t.Fatalf("parse the metrics: %v", err)
	}
	return scraped(fams)
}

// scraped is one scrape's metric families by name.
type scraped map[string]*dto.MetricFamily

// sum adds up the values of the family's series whose labels include
// the name=value pairs given (a histogram's: its sample count).
func (sc scraped) sum(name string, labels ...string) float64 {
	f := sc[name]
	if f == nil {
		return 0
	}
	total := 0.0
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// minorCNY parses an API amount into CNY minor units.
func minorCNY(t *testing.T, s string) float64 {
	t.Helper()
	a, err := money.Parse(s, money.MustCurrency("CNY"))
	if err != nil {
		t.Fatal(err)
	}
	return float64(a)
}

// TestMetrics starts the switch with its metrics served on a listener of
// their own, makes payments — committed, refused, held for review — and
// checks that the scrape parses, that its values moved as the payments
// did and match the ledger as the API shows it (transfers by state,
// amounts, balances, the audit tree), and that the API's listener does
// not serve the metrics.
func TestMetrics(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.MetricsAddr = "127.0.0.1:0" }, func(t *testing.T, s *sw) {
		if u, api := s.app.MetricsURL(), s.app.URL(); u == "" || strings.HasPrefix(u, api+"/") {
			t.Fatalf("metrics at %q, API at %q: want a listener of their own", u, api)
		}
		hb := newHook(t)
		a, _ := s.participant("wallet-a", nil)
		b, bSecret := s.participant("wallet-b", func(np *wire.NewParticipant) { np.CallbackURL = hb.url })
		hb.mu.Lock()
		hb.secret = bSecret
		hb.mu.Unlock()
		s.deposit("wallet-a", "10000.00")
		s.ok(200, "PUT", "/v1/fees/CNY", opToken, wire.Fees{Fixed: "0.10", Rate: "0.10", Min: "0.10", Max: "5.00"}, nil)
		s.party(b, "MSISDN", "13800138000", "Zhang San", "u-1")
		before := s.scrape()

		// Committed payments, one retried; refusals; one held for review.
		amounts := []string{"12.34", "100.00", "0.01", "250.50", "7.00"}
		posts := map[int]int{} // POST /v1/transfers by status
		var sum float64
		for i, amt := range amounts {
			s.ok(201, "POST", "/v1/transfers", a, pay(fmt.Sprintf("m-%d", i), "MSISDN", "13800138000", amt), nil)
			posts[201]++
			sum += minorCNY(t, amt)
		}
		s.ok(200, "POST", "/v1/transfers", a, pay("m-0", "MSISDN", "13800138000", "12.34"), nil) // a retry: nothing new
		posts[200]++
		s.problem(422, "insufficient-funds", "POST", "/v1/transfers", a, pay("m-big", "MSISDN", "13800138000", "99999.00"))
		posts[422]++
		s.problem(422, "unknown-party", "POST", "/v1/transfers", a, pay("m-nobody", "MSISDN", "13900139000", "1.00"))
		posts[422]++
		s.ok(201, "PUT", "/v1/risk/rules/hold", opToken, wire.RiskRule{Expression: "amount >= 500000", Action: "review",
			Reason: "large", Mode: "enforce"}, nil)
		var held wire.Transfer
		s.ok(201, "POST", "/v1/transfers", a, pay("m-held", "MSISDN", "13800138000", "5000.00"), &held)
		posts[201]++
		if held.State != "HELD" {
			t.Fatalf("the large payment is %s, want HELD", held.State)
		}
		hb.waitCommitted(t, len(amounts))
		// The API is not where the metrics are.
		if r := s.do("GET", "/metrics", "", nil); r.status != http.StatusNotFound || strings.Contains(string(r.body), "hulian_") {
			t.Fatalf("GET /metrics on the API: %d %s", r.status, r.body)
		}

		// Request metrics are counted once the answer is written: wait
		// for the last one's.
		var after scraped
		deadline := time.Now().Add(5 * time.Second)
		for {
			after = s.scrape()
			if after.sum("hulian_http_requests_total", "route=unmatched", "method=GET", "code=404")-
				before.sum("hulian_http_requests_total", "route=unmatched", "method=GET", "code=404") >= 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		delta := func(name string, labels ...string) float64 {
			return after.sum(name, labels...) - before.sum(name, labels...)
		}
		for _, c := range []struct {
			what string
			got  float64
			want float64
		}{
			{"transfers committed", delta("hulian_transfers_total", "currency=CNY", "state=COMMITTED"), float64(len(amounts))},
			{"transfers held", delta("hulian_transfers_total", "currency=CNY", "state=HELD"), 1},
			{"transfers aborted", delta("hulian_transfers_total", "currency=CNY", "state=ABORTED"), 0},
			{"amount committed (minor units)", delta("hulian_transfer_amount_total", "currency=CNY"), sum},
			{"refused: insufficient funds", delta("hulian_refusals_total", "reason=insufficient-funds"), 1},
			{"refused: unknown party", delta("hulian_refusals_total", "reason=unknown-party"), 1},
			{"refused in all", delta("hulian_refusals_total"), 2},
			{"POST /v1/transfers 201", delta("hulian_http_requests_total", "route=/v1/transfers", "method=POST", "code=201"), float64(posts[201])},
			{"POST /v1/transfers 200", delta("hulian_http_requests_total", "route=/v1/transfers", "method=POST", "code=200"), float64(posts[200])},
			{"POST /v1/transfers 422", delta("hulian_http_requests_total", "route=/v1/transfers", "method=POST", "code=422"), float64(posts[422])},
			{"POST /v1/transfers latencies", delta("hulian_http_request_duration_seconds", "route=/v1/transfers", "method=POST"),
				float64(posts[201] + posts[200] + posts[422])},
			{"GET /metrics on the API, unmatched", delta("hulian_http_requests_total", "route=unmatched", "method=GET", "code=404"), 1},
			{"directory aliases", after.sum("hulian_directory_aliases"), 1},
		} {
			if c.got != c.want {
				t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
			}
		}
		for _, c := range []struct {
			what string
			got  float64
			min  float64
		}{
			{"ledger events", delta("hulian_ledger_events_total"), float64(2 * len(amounts))}, // a payment and its fee each
			{"ledger batches", delta("hulian_ledger_batch_size"), 1},
			{"group commits", delta("hulian_journal_commit_duration_seconds"), 1},
			{"lookups found", delta("hulian_directory_lookups_total", "result=found"), float64(len(amounts))},
			{"lookups not found", delta("hulian_directory_lookups_total", "result=not_found"), 1},
			{"callbacks delivered", delta("hulian_callback_deliveries_total", "result=ok"), 1},
			{"callback durations", delta("hulian_callback_delivery_duration_seconds"), 1},
			{"CNY window open", after.sum("hulian_settlement_window_open_seconds", "currency=CNY"), 0},
			{"goroutines", after.sum("go_goroutines"), 1},
		} {
			if c.got < c.min {
				t.Errorf("%s: %v, want at least %v", c.what, c.got, c.min)
			}
		}
		if after["hulian_settlement_window_open_seconds"] == nil || after["process_cpu_seconds_total"] == nil {
			t.Error("settlement window or process metrics missing")
		}

		// The participants' gauges are the accounts the API shows, in
		// major units.
		for _, p := range []struct{ id, key string }{{"wallet-a", a}, {"wallet-b", b}} {
			acct := s.balance(p.key, p.id)
			for _, g := range []struct{ metric, api string }{
				{"hulian_participant_available", acct.Available}, {"hulian_participant_position", acct.Balance},
				{"hulian_participant_reserved", acct.Reserved}, {"hulian_participant_net_debit_cap", acct.NetDebitCap},
			} {
				got := after.sum(g.metric, "participant="+p.id, "currency=CNY")
				if math.Round(got*100) != minorCNY(t, g.api) {
					t.Errorf("%s{%s} = %v, the API says %s", g.metric, p.id, got, g.api)
				}
			}
		}
		if got := after.sum("hulian_participant_reserved", "participant=wallet-a", "currency=CNY"); got != 5000+5 {
			t.Errorf("wallet-a's reserved %v, want the held payment and its fee, 5005", got)
		}

		// The audit tree is the audit log's checkpoint once it caught up
		// (it signs within a second of the last event).
		deadline = time.Now().Add(10 * time.Second)
		for {
			m := s.scrape()
			tree, signed := m.sum("hulian_audit_tree_size"), m.sum("hulian_audit_checkpoint_size")
			r := s.do("GET", "/v1/audit/checkpoint", a, nil)
			lines := strings.Split(string(r.body), "\n")
			size, err := strconv.ParseFloat(lines[min(1, len(lines)-1)], 64)
			if r.status == 200 && err == nil && tree == signed && size == tree && tree >= float64(2*len(amounts)) {
				if age := m.sum("hulian_audit_checkpoint_age_seconds"); age < 0 || age > 60 {
					t.Errorf("checkpoint age %v s", age)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("audit tree %v, signed checkpoint %v, the API's checkpoint %q (%v)", tree, signed, r.body, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
