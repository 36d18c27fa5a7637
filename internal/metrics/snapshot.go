package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Snapshot is what the payment counters and the payments' latency
// histogram hold at one moment, cumulative since the switch started: a
// read-only view for the console's dashboard, which takes rates and
// quantiles from the difference of two. Reading one costs a few
// microseconds: it reads the counters, never the ledger.
type Snapshot struct {
	// Transfers counts payments by the state a call left them in
	// (COMMITTED, RESERVED, HELD, ABORTED), all currencies together.
	Transfers map[string]uint64
	// Refusals counts refused payments by reason (the fault code).
	Refusals map[string]uint64
	// Latency is the time POST /v1/transfers took to answer.
	Latency Histogram
}

// Histogram is a latency histogram's buckets: Bounds are their upper
// bounds in seconds, ascending; Counts the observations at or below
// each, and one more, the count of all (the +Inf bucket).
type Histogram struct {
	Bounds []float64
	Counts []uint64
}

// paymentRoute is the route whose latency the snapshot reads, as the
// API names it to Request.
const paymentRoute, paymentMethod = "POST /v1/transfers", "POST"

// Snapshot reads the counters and the histogram now.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{Transfers: map[string]uint64{}, Refusals: map[string]uint64{}}
	for _, d := range collect(m.transfers) {
		s.Transfers[label(d, "state")] += uint64(d.GetCounter().GetValue())
	}
	for _, d := range collect(m.refusals) {
		s.Refusals[label(d, "reason")] += uint64(d.GetCounter().GetValue())
	}
	s.Latency.Bounds = latencyBuckets
	s.Latency.Counts = make([]uint64, len(latencyBuckets)+1)
	// The child exists once a payment was answered (the routes' cache
	// holds it then); resolving it before would add an empty series.
	for k, r := range *m.routes.m.Load() {
		if k.route != paymentRoute || k.method != paymentMethod {
			continue
		}
		d := &dto.Metric{}
		if mt, ok := r.duration.(prometheus.Metric); ok && mt.Write(d) == nil {
			h := d.GetHistogram()
			for i, b := range h.GetBucket() {
				if i < len(latencyBuckets) {
					s.Latency.Counts[i] = b.GetCumulativeCount()
				}
			}
			s.Latency.Counts[len(latencyBuckets)] = h.GetSampleCount()
		}
		break
	}
	return s
}

// collect reads every child of c.
func collect(c prometheus.Collector) []*dto.Metric {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var out []*dto.Metric
	for m := range ch {
		d := &dto.Metric{}
		if m.Write(d) == nil {
			out = append(out, d)
		}
	}
	return out
}

// label is the value of d's label name.
func label(d *dto.Metric, name string) string {
	for _, l := range d.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
