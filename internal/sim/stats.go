package sim

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/histogram"
	"github.com/hulian/hulian/internal/money"
)

// Stats collects what the traffic driver saw, from many goroutines. Its
// memory is fixed: counters, one map keyed by the few outcome reasons,
// and a histogram.
type Stats struct {
	start time.Time

	transfers atomic.Int64 // payments the switch answered: committed, aborted or refused at the transfer step
	committed atomic.Int64
	volume    atomic.Int64 // minor units committed
	declined  atomic.Int64 // declined by the payer participant itself
	unknown   atomic.Int64 // no final answer
	lookups   atomic.Int64
	misses    atomic.Int64 // lookups of unknown aliases
	quotes    atomic.Int64
	batches   atomic.Int64
	errors    atomic.Int64 // unexpected errors

	fxMu sync.Mutex
	fx   CrossBorderStats

	mu       sync.Mutex
	reasons  map[string]int64 // refusals and aborts by reason
	xp       map[string]int64 // payment experiences by kind (XPQRStatic, …)
	lastErr  string
	latency  histogram.Histogram // transfer requests (single ones; a batch is one request for many)
	batchLat histogram.Histogram
}

// NewStats starts collecting now.
func NewStats() *Stats {
	return &Stats{start: time.Now(), reasons: map[string]int64{}, xp: map[string]int64{}}
}

// reasonOf condenses a result's reason to a stable key: the problem kind
// of a refusal ("insufficient-funds"), "aborted: rejected" for a payee's
// rejection (whatever its own words), "declined: balance".
func reasonOf(r Result) string {
	switch r.Status {
	case StatusAborted:
		reason, _, _ := strings.Cut(r.Problem, ":")
		if reason == "" {
			reason = "unknown"
		}
		return "aborted: " + reason
	case StatusDeclined:
		return "declined: " + r.Problem
	case StatusUnknown:
		return "unknown: " + r.Problem
	}
	return r.Problem
}

// Add records a payment's result; batched says it came from a batch
// (whose latency is recorded once, with AddBatch).
func (s *Stats) Add(r Result, batched bool) {
	if r.Looked {
		s.lookups.Add(1)
		if r.Status == StatusRefused && !r.Sent && r.Problem == ProblemUnknownParty {
			s.misses.Add(1)
		}
	}
	if r.Quoted {
		s.quotes.Add(1)
	}
	if r.Sent && r.Status != StatusUnknown {
		s.transfers.Add(1)
		if !batched {
			s.latency.RecordDuration(r.Latency)
		}
	}
	switch r.Status {
	case StatusCommitted:
		s.committed.Add(1)
		s.volume.Add(int64(r.Amount))
	case StatusDeclined:
		s.declined.Add(1)
	case StatusUnknown:
		s.unknown.Add(1)
	}
	if r.Status != StatusCommitted {
		s.mu.Lock()
		s.reasons[reasonOf(r)]++
		s.mu.Unlock()
	}
	if r.Err != nil {
		s.Error(r.Err)
	}
}

// AddBatch records one batch request's round trip.
func (s *Stats) AddBatch(lat time.Duration) {
	s.batches.Add(1)
	s.batchLat.RecordDuration(lat)
}

// Lookup records an alias lookup made on its own; miss says the alias
// was unknown.
func (s *Stats) Lookup(miss bool) {
	s.lookups.Add(1)
	if miss {
		s.misses.Add(1)
	}
}

// Experience counts one payment experience of kind (XPQRStatic, …)
// that succeeded.
func (s *Stats) Experience(kind string) {
	s.mu.Lock()
	s.xp[kind]++
	s.mu.Unlock()
}

// CrossBorderStats counts the cross-border payments.
type CrossBorderStats struct {
	// Attempts are the payments tried (quoted, or paid with a quote);
	// Paid were committed, Send and Receive of them in each mode.
	Attempts, Paid, Send, Receive int64
	// Source is what the paid ones converted, in minor units of the
	// payers' currency; Target what their payees got, in theirs.
	Source, Target int64
	// Refused are the rest: refused by the switch (at the quote or the
	// transfer), aborted by the payee, declined by the payer's wallet.
	// Their reasons are in StatsSnapshot.Reasons with the others'.
	Refused int64
}

// CrossBorder counts a cross-border payment's result, besides Add.
func (s *Stats) CrossBorder(r Result) {
	s.fxMu.Lock()
	defer s.fxMu.Unlock()
	s.fx.Attempts++
	if r.Status != StatusCommitted || r.FX == nil {
		s.fx.Refused++
		return
	}
	s.fx.Paid++
	if r.FX.AmountType == "RECEIVE" {
		s.fx.Receive++
	} else {
		s.fx.Send++
	}
	s.fx.Source += int64(r.Amount)
	if c, err := money.ParseCurrency(r.FX.TargetCurrency); err == nil {
		if t, err := money.Parse(r.FX.TargetAmount, c); err == nil {
			s.fx.Target += int64(t)
		}
	}
}

// Error records an unexpected error.
func (s *Stats) Error(err error) {
	s.errors.Add(1)
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
}

// StatsSnapshot is the stats at one moment.
type StatsSnapshot struct {
	Elapsed time.Duration
	// Transfers the switch answered, of which Committed; Refused is the
	// rest (refused or aborted by the switch).
	Transfers, Committed, Refused int64
	// Volume is the committed amount in minor units.
	Volume int64
	// Declined by the payer participant itself; Unknown: no final answer.
	Declined, Unknown int64
	// Lookups of aliases, Misses of which were unknown.
	Lookups, Misses int64
	Quotes, Batches int64
	// Errors are unexpected errors; LastError the last of them.
	Errors    int64
	LastError string
	// Reasons counts refusals, aborts, declines and unknowns by reason.
	Reasons map[string]int64
	// Experiences counts the payment experiences that succeeded, by
	// kind (XPQRStatic, XPQRDynamic, XPBillSent, XPBillPaid,
	// XPBillDecline, XPRefund).
	Experiences map[string]int64
	// CrossBorder counts the cross-border payments (also counted above).
	CrossBorder CrossBorderStats
	// Latency of single transfer requests; BatchLatency of batches. They
	// are copies, for reading and for Sub with an earlier snapshot's.
	Latency, BatchLatency *histogram.Histogram
}

// Snapshot copies the stats.
func (s *Stats) Snapshot() StatsSnapshot {
	out := StatsSnapshot{Elapsed: time.Since(s.start), Transfers: s.transfers.Load(), Committed: s.committed.Load(),
		Volume: s.volume.Load(), Declined: s.declined.Load(), Unknown: s.unknown.Load(), Lookups: s.lookups.Load(),
		Misses: s.misses.Load(), Quotes: s.quotes.Load(), Batches: s.batches.Load(), Errors: s.errors.Load(),
		Latency: s.latency.Snapshot(), BatchLatency: s.batchLat.Snapshot()}
	out.Refused = out.Transfers - out.Committed
	s.fxMu.Lock()
	out.CrossBorder = s.fx
	s.fxMu.Unlock()
	s.mu.Lock()
	out.Reasons = maps.Clone(s.reasons)
	out.Experiences = maps.Clone(s.xp)
	out.LastError = s.lastErr
	s.mu.Unlock()
	return out
}
