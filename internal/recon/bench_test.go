package recon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

// workload is a day of n transfers seen from both sides: the switch's
// records in id order, the participant's as a shuffled CSV upload, with
// one transfer in a thousand of each break kind.
type workload struct{ n int }

func (w workload) id(i int) string { return fmt.Sprintf("tx-%010d", i) }

func (w workload) switchRecord(i int) (Record, bool) {
	r := Record{TransferID: w.id(i), Amount: int64(100 + i%997), Direction: Direction(1 + i%2), Status: Committed}
	if i%7 == 0 {
		r.Status = Aborted
	}
	return r, i%1000 != 2 // missing at switch
}

func (w workload) participantRecord(i int) (Record, bool) {
	r, _ := w.switchRecord(i)
	switch i % 1000 {
	case 0:
		return r, false // missing at participant
	case 1:
		r.Amount++
	case 3:
		r.Direction = 3 - r.Direction
	case 4:
		r.Status = 3 - r.Status
	}
	return r, true
}

func (w workload) switchSide() Source {
	i := 0
	return SourceFunc(func() (Record, bool, error) {
		for ; i < w.n; i++ {
			if r, ok := w.switchRecord(i); ok {
				i++
				return r, true, nil
			}
		}
		return Record{}, false, nil
	})
}

// upload returns the participant's CSV, generated as it is read so that
// the benchmark's memory is the engine's, not the input's.
func (w workload) upload(seed uint64) io.Reader {
	perm := make([]int32, w.n)
	for i := range perm {
		perm[i] = int32(i)
	}
	rand.New(rand.NewPCG(seed, 2)).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	pr, pw := io.Pipe()
	go func() {
		rw := NewRecordWriter(pw, cny)
		for _, i := range perm {
			if r, ok := w.participantRecord(int(i)); ok {
				if err := rw.Write(r); err != nil {
					pw.CloseWithError(err)
					return
				}
			}
		}
		pw.CloseWithError(rw.Flush())
	}()
	return bufio.NewReaderSize(pr, 64<<10)
}

// peakHeap samples the live heap until stopped and returns its peak.
func peakHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// vmHWM returns the process's peak resident set, in bytes, or 0.
func vmHWM() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseUint(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkReconcile1M: 1,000,000 transfers per side, the participant's
// shuffled and read through CSV and the external sort (runs of 100,000),
// the breaks written as CSV. Run with -benchtime=1x.
func BenchmarkReconcile1M(b *testing.B) {
	const n = 1_000_000
	w := workload{n: n}
	dir := b.TempDir()
	runtime.GC()
	stop := peakHeap()
	for i := 0; b.Loop(); i++ {
		sorted, err := Sort(NewCSVReader(w.upload(uint64(i)), cny), SortOptions{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		bw := NewBreakWriter(io.Discard, cny)
		sum, err := Reconcile(w.switchSide(), sorted, bw.Write)
		if err != nil {
			b.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		sorted.Close()
		if sum.Breaks != 5*n/1000 || sum.Matched != n-5*n/1000 {
			b.Fatalf("summary %+v", sum)
		}
	}
	b.ReportMetric(float64(stop())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(vmHWM())/(1<<20), "VmHWM-MB")
}

// BenchmarkReconcileSorted1M: the merge join alone, both sides already
// in order (the switch's side from its store against a sorted source).
func BenchmarkReconcileSorted1M(b *testing.B) {
	const n = 1_000_000
	w := workload{n: n}
	for b.Loop() {
		i := 0
		pt := SourceFunc(func() (Record, bool, error) {
			for ; i < n; i++ {
				if r, ok := w.participantRecord(i); ok {
					i++
					return r, true, nil
				}
			}
			return Record{}, false, nil
		})
		sum, err := Reconcile(w.switchSide(), pt, func(Break) error { return nil })
		if err != nil || sum.Breaks != 5*n/1000 {
			b.Fatal(sum, err)
		}
	}
}
