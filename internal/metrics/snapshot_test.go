package metrics

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/transfer"
)

// TestSnapshot: the snapshot holds what the hooks counted — payments by
// state over every currency, refusals by reason, the payment route's
// latency buckets (cumulative, the last one all) and no other route's.
func TestSnapshot(t *testing.T) {
	m := New(nil)
	if s := m.Snapshot(); len(s.Transfers) != 0 || len(s.Refusals) != 0 || s.Latency.Counts[len(s.Latency.Counts)-1] != 0 {
		t.Fatalf("new metrics: %+v", s)
	}
	m.Request("POST /v1/transfers", "POST", 201, 700*time.Microsecond, 500)
	m.Request("POST /v1/transfers", "POST", 422, 3*time.Millisecond, 500)
	m.Request("POST /v1/transfers", "POST", 201, 20*time.Second, 500)
	m.Request("GET /v1/transfers/{id}", "GET", 200, time.Microsecond, 0)
	for _, o := range []transfer.Outcome{
		{Transfer: transfer.Transfer{State: transfer.Committed, Amount: 1, Currency: cny}},
		{Transfer: transfer.Transfer{State: transfer.Committed, Amount: 1, Currency: jpy}},
		{Transfer: transfer.Transfer{State: transfer.Aborted, Amount: 1, Currency: cny}},
		{Err: fmt.Errorf("x: %w", ledger.ErrInsufficientFunds)},
		{Err: fmt.Errorf("y: %w", ledger.ErrInsufficientFunds)},
	} {
		m.Outcome(&o)
	}
	s := m.Snapshot()
	if s.Transfers["COMMITTED"] != 2 || s.Transfers["ABORTED"] != 1 || s.Transfers["HELD"] != 0 {
		t.Errorf("transfers %v", s.Transfers)
	}
	if len(s.Refusals) != 1 {
		t.Errorf("refusals %v", s.Refusals)
	}
	for reason, n := range s.Refusals {
		if n != 2 || reason == "" {
			t.Errorf("refusals %v", s.Refusals)
		}
	}
	h := s.Latency
	if !slices.Equal(h.Bounds, latencyBuckets) || len(h.Counts) != len(h.Bounds)+1 {
		t.Fatalf("latency %+v", h)
	}
	// 0.7 ms is at or below 1 ms, not 0.5 ms; 3 ms at or below 5 ms;
	// 20 s above every bound.
	at := func(bound float64) uint64 { return h.Counts[slices.Index(h.Bounds, bound)] }
	if at(0.0005) != 0 || at(0.001) != 1 || at(0.0025) != 1 || at(0.005) != 2 || at(10) != 2 || h.Counts[len(h.Bounds)] != 3 {
		t.Errorf("latency counts %v", h.Counts)
	}
}

// BenchmarkSnapshot is one read of the dashboard, with every route and
// refusal reason the label bounds allow.
func BenchmarkSnapshot(b *testing.B) {
	m := New(nil)
	for i := range routesMax {
		m.Request(fmt.Sprintf("GET /r%d", i), "GET", 200, time.Millisecond, 0)
	}
	m.Request("POST /v1/transfers", "POST", 201, time.Millisecond, 0)
	for b.Loop() {
		m.Snapshot()
	}
}
