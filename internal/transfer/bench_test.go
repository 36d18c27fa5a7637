package transfer

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkCreateMany measures the pipeline's cost per payment: batches
// of 1,000 payments with a fee, durable on the embedded store, the
// payee's alias in the directory's cache.
func BenchmarkCreateMany(b *testing.B) {
	f := newFixture(b, nil)
	f.deposit(f.a, 1<<50)
	reqs := make([]Request, 1000)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range reqs {
			reqs[i] = req(fmt.Sprintf("b.%d", n), "b:1", 1)
			n++
		}
		for _, o := range f.s.CreateMany(f.ctx, f.a, reqs) {
			if o.Err != nil {
				b.Fatal(o.Err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/payment")
}

// BenchmarkCreate measures one payment per call, from many goroutines:
// the API's single-transfer path without HTTP.
func BenchmarkCreate(b *testing.B) {
	f := newFixture(b, nil)
	f.deposit(f.a, 1<<50)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := f.s.Create(f.ctx, f.a, req("s."+strconv.FormatInt(n.Add(1), 10), "b:1", 1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
