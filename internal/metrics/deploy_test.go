package metrics

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	dto "github.com/prometheus/client_model/go"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/transfer"
)

// The files operators deploy with the switch.
var (
	alertsFile     = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
	alertTestsFile = filepath.Join("..", "..", "deploy", "prometheus", "alerts_test.yml")
	dashboardFile  = filepath.Join("..", "..", "deploy", "grafana", "hulian.json")
)

// promtool returns the path of Prometheus's promtool (Debian's
// prometheus package), or skips — or fails, under scripts/test.sh, which
// installs it and sets HULIAN_REQUIRE_PROMTOOL.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("HULIAN_REQUIRE_PROMTOOL") != "" {
			t.Fatal("promtool is missing: apt-get install -y prometheus")
		}
		t.Skip("promtool is missing: apt-get install -y prometheus")
	}
	return p
}

// TestAlertRules loads the alert rules with Prometheus's own rule parser
// (promtool check rules) and runs their unit tests (promtool test rules):
// each alert fires on the series it is for, and not on the others.
func TestAlertRules(t *testing.T) {
	tool := promtool(t)
	for _, args := range [][]string{{"check", "rules", alertsFile}, {"test", "rules", alertTestsFile}} {
		out, err := exec.Command(tool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestScrapeLints runs promtool's lint of metric names, types and help
// over a scrape of every metric.
func TestScrapeLints(t *testing.T) {
	tool := promtool(t)
	m := everyMetric(t)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(rec.Body.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// everyMetric returns metrics in which every family has a series: each
// hook fed once and every scrape-time source holding something.
func everyMetric(t *testing.T) *Metrics {
	t.Helper()
	m := New(nil)
	m.Request("POST /v1/transfers", "POST", 500, time.Millisecond, 0)
	m.Outcome(&transfer.Outcome{Transfer: transfer.Transfer{State: transfer.Committed, Amount: 1, Currency: cny}, Created: true})
	m.Outcome(&transfer.Outcome{Err: ledger.ErrInsufficientFunds})
	m.Applied(1)
	m.Committed(1, time.Millisecond)
	m.Delivery(true, time.Millisecond)
	p := participant.Participant{ID: "wallet-a", Number: 1, Currencies: []money.Currency{cny}}
	f := &fakeSources{parts: []participant.Participant{p}, accounts: []ledger.Account{{ID: p.Account(cny), Currency: cny, Floor: 100}},
		windows: []settlement.Window{{Currency: cny, State: settlement.Open, OpenedAt: time.Now()}},
		status:  audit.Status{Size: 2, Checkpoint: audit.Checkpoint{Size: 1}, SignedAt: time.Now(), Witnessed: []audit.WitnessSize{{Name: "w"}}},
		aliases: 1, depths: map[string]int{"wallet-a": 1}, raised: 1}
	if err := m.Watch(Sources{Ledger: f, Participants: f, Settlement: f, Audit: f, Directory: f, Callbacks: f, Liquidity: f}); err != nil {
		t.Fatal(err)
	}
	return m
}

// metricName finds the metric names of the switch and its collectors in
// PromQL and in text about it.
var metricName = regexp.MustCompile(`\b(?:hulian|go|process)_[A-Za-z0-9_]+`)

// checkNames checks that every metric name in text is one the switch
// serves: a family, or a histogram's or summary's _bucket, _sum or
// _count series. It returns how many it found.
func checkNames(t *testing.T, what, text string, fams map[string]*dto.MetricFamily) int {
	t.Helper()
	names := metricName.FindAllString(text, -1)
	for _, n := range names {
		if fams[n] != nil {
			continue
		}
		base := n
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if f := fams[base]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM && f.GetType() != dto.MetricType_SUMMARY || base == n {
			t.Errorf("%s names %s, which the switch does not serve", what, n)
		}
	}
	return len(names)
}

// TestDeployNamesExist checks that the alert rules, their tests and the
// dashboard name only metrics the switch serves, and that the dashboard
// is valid JSON whose every panel queries some.
func TestDeployNamesExist(t *testing.T) {
	fams, err := everyMetric(t).Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	for _, file := range []string{alertsFile, alertTestsFile} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if n := checkNames(t, file, string(b), byName); n < 10 {
			t.Errorf("%s names %d metrics: the pattern finds nothing", file, n)
		}
	}
	// Every metric the issue names is in an alert or on the dashboard.
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
			GridPos struct {
				H int `json:"h"`
				W int `json:"w"`
				X int `json:"x"`
				Y int `json:"y"`
			} `json:"gridPos"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash, json.RejectUnknownMembers(false)); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) < 10 {
		t.Fatalf("%s: title %q, uid %q, %d panels", dashboardFile, dash.Title, dash.UID, len(dash.Panels))
	}
	ids := map[int]bool{}
	var queried strings.Builder
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: grid position %+v", p.Title, p.GridPos)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, q := range p.Targets {
			if checkNames(t, "panel "+p.Title, q.Expr, byName) == 0 {
				t.Errorf("panel %q: %q names no metric", p.Title, q.Expr)
			}
			queried.WriteString(q.Expr + "\n")
		}
	}
	for _, v := range dash.Templating.List {
		checkNames(t, "dashboard variable", v.Definition, byName)
	}
	alerts, _ := os.ReadFile(alertsFile)
	shown := queried.String() + string(alerts)
	for _, f := range fams {
		if n := f.GetName(); strings.HasPrefix(n, "hulian_") && !slices.Contains(metricName.FindAllString(shown, -1), n) &&
			!strings.Contains(shown, n+"_bucket") && !strings.Contains(shown, n+"_sum") {
			t.Errorf("%s is neither on the dashboard nor in an alert", n)
		}
	}
}
