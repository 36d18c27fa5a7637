package console

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/metrics"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
)

var cny = money.MustCurrency("CNY")

// TestQuantile: quantiles of cumulative buckets, interpolated within
// the bucket they fall in, as Prometheus's histogram_quantile.
func TestQuantile(t *testing.T) {
	bounds := []float64{0.001, 0.002, 0.005}
	for _, c := range []struct {
		counts []uint64
		q      float64
		want   float64
	}{
		{[]uint64{0, 0, 0, 0}, 0.5, 0},
		{[]uint64{10, 10, 10, 10}, 0.5, 0.0005},   // half of the first bucket, from 0
		{[]uint64{0, 10, 10, 10}, 0.5, 0.0015},    // half way through the second
		{[]uint64{0, 0, 4, 4}, 0.99, 0.00497},     // 99% through the third
		{[]uint64{5, 5, 5, 10}, 0.99, 0.005},      // past the last bound: the last bound
		{[]uint64{1, 1, 100, 100}, 0.01, 0.001},   // the first observation's bucket
		{[]uint64{50, 100, 100, 100}, 0.5, 0.001}, // exactly at a bucket's top
	} {
		got := quantile(metrics.Histogram{Bounds: bounds, Counts: c.counts}, c.q)
		if math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q%.2f of %v: %v, want %v", c.q, c.counts, got, c.want)
		}
	}
}

// TestThroughput: rates over the samples of the last seconds: payments
// decided (refusals included) and committed a second, the success rate,
// refusals by reason (most first), and the answer time of the payments
// in the span only.
func TestThroughput(t *testing.T) {
	b := newBoard()
	t0 := time.Now()
	bounds := []float64{0.001, 0.01}
	snap := func(committed, aborted uint64, refusals map[string]uint64, lat []uint64) metrics.Snapshot {
		return metrics.Snapshot{Transfers: map[string]uint64{"COMMITTED": committed, "ABORTED": aborted}, Refusals: refusals,
			Latency: metrics.Histogram{Bounds: bounds, Counts: lat}}
	}
	if tp := b.throughput(sample{t0, snap(5, 0, nil, []uint64{5, 5, 5})}); tp.Seconds != 0 || tp.CommittedTotal != 5 {
		t.Fatalf("one sample: %+v", tp)
	}
	// Two seconds later: 100 more committed, 10 aborted, 30 refused
	// (20 insufficient-funds, 10 unknown-party); 110 answered, half
	// within 1 ms, all within 10 ms.
	tp := b.throughput(sample{t0.Add(2 * time.Second), snap(105, 10, map[string]uint64{"insufficient-funds": 20, "unknown-party": 10},
		[]uint64{60, 115, 115})})
	if tp.Seconds != 2 || tp.Decided != 70 || tp.Committed != 50 || math.Abs(tp.Success-100.0/140) > 1e-9 || !tp.HasSuccess {
		t.Errorf("rates %+v", tp)
	}
	if len(tp.Refusals) != 2 || tp.Refusals[0].Reason != "insufficient-funds" || tp.Refusals[0].Rate != 10 ||
		math.Abs(tp.Refusals[0].Share-20.0/140) > 1e-9 || tp.Refusals[1].Total != 10 || tp.RefusedTotal != 30 {
		t.Errorf("refusals %+v", tp.Refusals)
	}
	if !tp.HasLatency || math.Abs(tp.P50-0.001) > 1e-9 || tp.P99 <= 0.001 || tp.P99 > 0.01 {
		t.Errorf("latency p50 %v p99 %v", tp.P50, tp.P99)
	}
	// Samples older than the window are dropped: the rates are of the
	// last five seconds.
	for i := 3; i <= 12; i++ {
		tp = b.throughput(sample{t0.Add(time.Duration(i) * time.Second), snap(105+uint64(i-2)*7, 10, nil, []uint64{60, 115, 115})})
	}
	if math.Abs(tp.Committed-7) > 1e-9 || tp.Seconds > rateWindow.Seconds()+1 || len(b.samples) > 8 {
		t.Errorf("after ten more seconds at 7/s: %+v over %d samples", tp, len(b.samples))
	}
	if tp.HasLatency {
		t.Error("latency without payments answered in the span")
	}
}

// TestPositions: a position's share of its cap used, and the ranking:
// most used first, then the least available.
func TestPositions(t *testing.T) {
	for _, c := range []struct {
		balance, reserved, cap money.Amount
		used                   float64
	}{
		{1000, 0, 5000, 0},
		{0, 0, 0, 0},
		{-2500, 0, 5000, 0.5},
		{-2500, 2500, 5000, 1},
		{500, 1500, 4000, 0.25},
		{-10, 0, 0, 1},
	} {
		p := positionOf("p", "", "CNY", c.balance, c.reserved, c.cap)
		if math.Abs(p.Used-c.used) > 1e-9 {
			t.Errorf("%d/%d/%d: used %v, want %v", c.balance, c.reserved, c.cap, p.Used, c.used)
		}
	}
	l, r := fakeScheme(5)
	ps, n, err := rankPositions(context.Background(), l, r, 3)
	if err != nil || n != 5 || len(ps) != 3 {
		t.Fatalf("%d of %d: %v", len(ps), n, err)
	}
	for i := 1; i < len(ps); i++ {
		if byUse(ps[i-1], ps[i]) > 0 {
			t.Errorf("not ranked: %+v before %+v", ps[i-1], ps[i])
		}
	}
	if ps[0].Participant != "p00004" {
		t.Errorf("most used %+v", ps[0])
	}
}

// fakeLedger and fakeRoster are n participants with one CNY account
// each, participant i drawing i·100 of a cap of 1,000,000.
type fakeLedger struct{ accounts []ledger.Account }

func (l fakeLedger) Accounts(context.Context) ([]ledger.Account, error) {
	return append([]ledger.Account(nil), l.accounts...), nil
}

type fakeRoster []participant.Participant

func (r fakeRoster) List() []participant.Participant {
	return append([]participant.Participant(nil), r...)
}

func fakeScheme(n int) (fakeLedger, fakeRoster) {
	var l fakeLedger
	var r fakeRoster
	for i := range n {
		p := participant.Participant{ID: fmt.Sprintf("p%05d", i), Number: uint32(i + 1), Currencies: []money.Currency{cny}}
		r = append(r, p)
		l.accounts = append(l.accounts, ledger.Account{ID: p.Account(cny), Currency: cny, Balance: money.Amount(-100 * i), Floor: 1_000_000})
	}
	return l, r
}

// BenchmarkTick is one tick of the dashboard's scheme-wide view, with
// the counters and n participants: what the dashboard costs a second,
// however many watch.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, r := fakeScheme(n)
			m := metrics.New(nil)
			m.Request("POST /v1/transfers", "POST", 201, time.Millisecond, 0)
			c := &Console{Deps: Deps{Live: Live{Stats: m, Ledger: l, Participants: r}}, board: newBoard()}
			for b.Loop() {
				c.board.scheme = nil // as a tick later
				c.scheme(context.Background())
			}
		})
	}
}

// TestStream: a stream outlives the server's read and write timeouts,
// sends an event a tick, and ends when its source says so, when done
// closes, or when the client goes.
func TestStream(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := r.URL.Query().Get("last")
		n := 0
		stream(w, r, 20*time.Millisecond, done, func() (string, []byte, bool) {
			n++
			if last != "" && fmt.Sprint(n) == last {
				return "end", nil, false
			}
			return "tick", []byte(fmt.Sprintf("<p>%d</p>\n<p>two lines</p>", n)), true
		})
	}))
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()

	events := func(url string, d time.Duration) (ticks int, last string) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("content type %q", ct)
		}
		sc := bufio.NewScanner(resp.Body)
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				last = strings.TrimPrefix(line, "event: ")
				data = nil
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			case line == "" && last == "tick":
				ticks++
				if len(data) != 2 || data[1] != "<p>two lines</p>" {
					t.Errorf("event data %q", data)
				}
			}
		}
		return ticks, last
	}
	// Past both timeouts, and ended by the client.
	if ticks, _ := events(srv.URL, time.Second); ticks < 20 {
		t.Errorf("%d events in a second, the server's timeouts 200 ms", ticks)
	}
	// Ended by its source, with the last event.
	if ticks, last := events(srv.URL+"?last=5", 5*time.Second); ticks != 4 || last != "end" {
		t.Errorf("ended by its source: %d ticks, then %q", ticks, last)
	}
	// Ended by done.
	go func() { time.Sleep(300 * time.Millisecond); close(done) }()
	began := time.Now()
	events(srv.URL, 5*time.Second)
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("done closed, the stream went on for %v", took)
	}
}
