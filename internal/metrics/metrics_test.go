package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/transfer"
)

var (
	cny = money.MustCurrency("CNY")
	jpy = money.MustCurrency("JPY")
)

// scrape serves m's handler once and parses the text it answers.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// value returns the value of the family's series with the labels given
// as name=value pairs, and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
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
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestHooks feeds each hook and checks the series it moves.
func TestHooks(t *testing.T) {
	m := New(nil)
	m.Request("POST /v1/transfers", "POST", 201, 3*time.Millisecond, 500)
	m.Request("POST /v1/transfers", "POST", 201, 5*time.Millisecond, 500)
	m.Request("POST /v1/transfers", "POST", 422, time.Millisecond, 200)
	m.Request("GET /v1/parties/{type}/{value}", "GET", 404, time.Millisecond, 200)
	m.Request("", "BREW", 404, time.Millisecond, 0)
	committed := transfer.Outcome{Transfer: transfer.Transfer{State: transfer.Committed, Amount: 12_34, Currency: cny}, Created: true}
	m.Outcome(&committed)
	m.Outcome(&committed)
	m.Outcome(&transfer.Outcome{Transfer: transfer.Transfer{State: transfer.Held, Amount: 5, Currency: cny}, Created: true})
	m.Outcome(&transfer.Outcome{Transfer: transfer.Transfer{State: transfer.Committed, Amount: 700, Currency: jpy}, Created: true})
	m.Outcome(&transfer.Outcome{Err: fmt.Errorf("transfer x: %w", ledger.ErrInsufficientFunds)})
	m.Outcome(&transfer.Outcome{Err: errors.New("unnamed")})
	m.Applied(3)
	m.Applied(100)
	m.Committed(7, time.Millisecond)
	m.Delivery(true, time.Millisecond)
	m.Delivery(false, time.Second)
	m.Delivery(false, time.Second)
	fams := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hulian_http_requests_total", []string{"route=/v1/transfers", "method=POST", "code=201"}, 2},
		{"hulian_http_requests_total", []string{"route=/v1/transfers", "method=POST", "code=422"}, 1},
		{"hulian_http_requests_total", []string{"route=/v1/parties/{type}/{value}", "method=GET", "code=404"}, 1},
		{"hulian_http_requests_total", []string{"route=unmatched", "method=other", "code=404"}, 1},
		{"hulian_http_request_duration_seconds", []string{"route=/v1/transfers", "method=POST"}, 3},
		{"hulian_transfers_total", []string{"currency=CNY", "state=COMMITTED"}, 2},
		{"hulian_transfers_total", []string{"currency=CNY", "state=HELD"}, 1},
		{"hulian_transfers_total", []string{"currency=CNY", "state=ABORTED"}, 0},
		{"hulian_transfers_total", []string{"currency=JPY", "state=COMMITTED"}, 1},
		{"hulian_transfer_amount_total", []string{"currency=CNY"}, 24_68},
		{"hulian_transfer_amount_total", []string{"currency=JPY"}, 700},
		{"hulian_refusals_total", []string{"reason=insufficient-funds"}, 1},
		{"hulian_refusals_total", []string{"reason=internal"}, 1},
		{"hulian_ledger_batch_size", nil, 2},
		{"hulian_ledger_events_total", nil, 7},
		{"hulian_journal_commit_duration_seconds", nil, 1},
		{"hulian_callback_deliveries_total", []string{"result=ok"}, 1},
		{"hulian_callback_deliveries_total", []string{"result=failed"}, 2},
		{"hulian_callback_delivery_duration_seconds", nil, 3},
	} {
		if got, ok := value(fams, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("%s missing: the Go and process collectors are registered", name)
		}
	}
}

// TestHooksAllocateNothing: once a label set was seen, counting it
// allocates nothing.
func TestHooksAllocateNothing(t *testing.T) {
	m := New(nil)
	committed := &transfer.Outcome{Transfer: transfer.Transfer{State: transfer.Committed, Amount: 100, Currency: cny}, Created: true}
	refused := &transfer.Outcome{Err: ledger.ErrInsufficientFunds}
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"Request", func() { m.Request("POST /v1/transfers", "POST", 201, time.Millisecond, 100) }},
		{"Outcome committed", func() { m.Outcome(committed) }},
		{"Applied", func() { m.Applied(64) }},
		{"Committed", func() { m.Committed(64, time.Millisecond) }},
		{"Delivery", func() { m.Delivery(true, time.Millisecond) }},
	} {
		c.fn()
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", c.name, n)
		}
	}
	// A refusal finds its code through errors.As, which may allocate a
	// little: refusals are not the hot path. It must still be bounded.
	m.Outcome(refused)
	if n := testing.AllocsPerRun(100, func() { m.Outcome(refused) }); n > 2 {
		t.Errorf("Outcome refused: %v allocations per call", n)
	}
}

// TestLabelsBounded: label values a client chooses (the method of an
// unmatched request) or that could grow (routes, reasons) stay bounded.
func TestLabelsBounded(t *testing.T) {
	m := New(nil)
	for i := range 3 * routesMax {
		m.Request("", fmt.Sprintf("M%d", i), 400+i%100, time.Millisecond, 0)
		m.Outcome(&transfer.Outcome{Err: fault.New(fault.Refused, fmt.Sprintf("code-%d", i), "refused")})
	}
	if n := len(*m.routes.m.Load()); n > routesMax {
		t.Errorf("%d route label sets kept, want at most %d", n, routesMax)
	}
	if n := len(*m.reasons.m.Load()); n != reasonsMax {
		t.Errorf("%d reasons kept, want %d", n, reasonsMax)
	}
	fams := scrape(t, m)
	if got, _ := value(fams, "hulian_refusals_total", "reason=other"); got != 3*routesMax-reasonsMax {
		t.Errorf("refusals beyond the bound: %v, want %d", got, 3*routesMax-reasonsMax)
	}
	if n := len(fams["hulian_http_requests_total"].Metric); n > 101 {
		t.Errorf("%d request series", n)
	}
}

// fakeSources are the scrape-time sources, as fixed values.
type fakeSources struct {
	accounts []ledger.Account
	parts    []participant.Participant
	windows  []settlement.Window
	status   audit.Status
	aliases  int64
	counts   int
	lookups  directory.LookupCounts
	depths   map[string]int
	failing  error
	raised   int64
}

func (f *fakeSources) Accounts(context.Context) ([]ledger.Account, error) {
	return f.accounts, f.failing
}
func (f *fakeSources) List() []participant.Participant { return f.parts }
func (f *fakeSources) OpenWindows(context.Context) ([]settlement.Window, error) {
	return f.windows, nil
}
func (f *fakeSources) Status() audit.Status            { return f.status }
func (f *fakeSources) Lookups() directory.LookupCounts { return f.lookups }
func (f *fakeSources) Raised() int64                   { return f.raised }
func (f *fakeSources) Aliases(context.Context) (int64, error) {
	f.counts++
	return f.aliases, nil
}
func (f *fakeSources) QueueDepths(_ context.Context, limit int) (map[string]int, error) {
	if limit != queueDepthMax {
		return nil, fmt.Errorf("limit %d", limit)
	}
	return f.depths, nil
}

// TestGauges checks the gauges read at scrape time from their sources,
// money in major units, and that a failing source leaves the others.
func TestGauges(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := now
	a := participant.Participant{ID: "wallet-a", Number: 1, Currencies: []money.Currency{cny, jpy}}
	f := &fakeSources{
		parts: []participant.Participant{a, {ID: "wallet-b", Number: 2, Currencies: []money.Currency{cny}}},
		accounts: []ledger.Account{
			{ID: a.Account(cny), Currency: cny, Balance: -150_25, Floor: 1000_00, Reserved: 20_00},
			{ID: a.Account(jpy), Currency: jpy, Balance: 5000},
		},
		windows: []settlement.Window{{Currency: cny, State: settlement.Open, OpenedAt: now.Add(-90 * time.Minute)}},
		status: audit.Status{Size: 120, Checkpoint: audit.Checkpoint{Size: 110}, SignedAt: now.Add(-3 * time.Second),
			Witnessed: []audit.WitnessSize{{Name: "w1", Size: 100}, {Name: "w2", Size: 0}}},
		aliases: 42, lookups: directory.LookupCounts{Found: 5, NotFound: 2, Failed: 1},
		depths: map[string]int{"wallet-a": 0, "wallet-b": 17}, raised: 3,
	}
	m := New(nil)
	if err := m.Watch(Sources{Ledger: f, Participants: f, Settlement: f, Audit: f, Directory: f, Callbacks: f, Liquidity: f,
		Now: func() time.Time { return clock }}); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hulian_participant_available", []string{"participant=wallet-a", "currency=CNY"}, 829.75},
		{"hulian_participant_position", []string{"participant=wallet-a", "currency=CNY"}, -150.25},
		{"hulian_participant_net_debit_cap", []string{"participant=wallet-a", "currency=CNY"}, 1000},
		{"hulian_participant_reserved", []string{"participant=wallet-a", "currency=CNY"}, 20},
		{"hulian_participant_position", []string{"participant=wallet-a", "currency=JPY"}, 5000},
		{"hulian_settlement_window_open_seconds", []string{"currency=CNY"}, 5400},
		{"hulian_audit_tree_size", nil, 120},
		{"hulian_audit_checkpoint_size", nil, 110},
		{"hulian_audit_checkpoint_age_seconds", nil, 3},
		{"hulian_audit_witness_lag", []string{"witness=w1"}, 10},
		{"hulian_audit_witness_lag", []string{"witness=w2"}, 110},
		{"hulian_directory_aliases", nil, 42},
		{"hulian_directory_lookups_total", []string{"result=found"}, 5},
		{"hulian_directory_lookups_total", []string{"result=not_found"}, 2},
		{"hulian_directory_lookups_total", []string{"result=error"}, 1},
		{"hulian_callback_queue_depth", []string{"participant=wallet-b"}, 17},
		{"hulian_liquidity_alerts_total", nil, 3},
	} {
		if got, ok := value(fams, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := value(fams, "hulian_participant_available", "participant=wallet-b"); ok {
		t.Error("a participant without a ledger account has gauges")
	}

	// The aliases are counted again only after a minute.
	clock = now.Add(30 * time.Second)
	f.aliases = 43
	scrape(t, m)
	if f.counts != 1 {
		t.Errorf("aliases counted %d times in 30 s, want once", f.counts)
	}
	clock = now.Add(61 * time.Second)
	if got, _ := value(scrape(t, m), "hulian_directory_aliases"); got != 43 || f.counts != 2 {
		t.Errorf("aliases after a minute: %v (%d counts), want 43 (2)", got, f.counts)
	}

	// A failing source is left out; the rest are served.
	f.failing = errors.New("journal closed")
	fams = scrape(t, m)
	if _, ok := value(fams, "hulian_participant_available"); ok {
		t.Error("participant gauges served from a failed read")
	}
	if got, _ := value(fams, "hulian_audit_tree_size"); got != 120 {
		t.Errorf("audit tree size %v after another source failed", got)
	}
}

// BenchmarkHooks measures what each hook costs a request or payment.
func BenchmarkHooks(b *testing.B) {
	m := New(nil)
	committed := &transfer.Outcome{Transfer: transfer.Transfer{State: transfer.Committed, Amount: 100, Currency: cny}, Created: true}
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"Request", func() { m.Request("POST /v1/transfers", "POST", 201, time.Millisecond, 100) }},
		{"Outcome", func() { m.Outcome(committed) }},
		{"Applied", func() { m.Applied(64) }},
		{"Committed", func() { m.Committed(64, time.Millisecond) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.fn()
			}
		})
	}
}
