package model_test

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"testing"

	"github.com/hulian/hulian/internal/risk/model"
	"github.com/hulian/hulian/internal/sim/fraud"
)

var (
	qualityN    = flag.Int("quality-n", 200_000, "payments TestQuality measures, after the warm-up")
	qualitySeed = flag.Uint64("quality-seed", 2, "the fraud generator's seed for TestQuality (the weights were fitted on seed 1)")
	// The warm-up stands for the history a running switch has: 200 k
	// payments are about four simulated days of the default population.
	qualityWarm = flag.Int("quality-warm", 200_000, "payments TestQuality observes before it measures")
	// Another threshold than the default, to see the trade-off.
	qualityThreshold = flag.Float64("quality-threshold", 0, "the threshold TestQuality measures at; 0 means the default")
)

// Quality is the model's quality on simulated, labelled payments at its
// threshold.
type Quality struct {
	N, Fraud, Flagged, TruePositives int
	Precision, Recall, F1            float64
	// Caught and Total count the fraud payments flagged and all of them,
	// by scenario.
	Caught, Total map[string]int
	// FalseByTop counts the false positives by their top feature.
	FalseByTop map[string]int
}

// Evaluate streams warm+n payments of the generator seeded with seed
// through a new model (see model.Replay) and measures the last n at
// threshold (0 for the default).
func Evaluate(seed uint64, warm, n int, threshold float64) Quality {
	m := model.New(model.Options{Threshold: threshold})
	q := Quality{Caught: map[string]int{}, Total: map[string]int{}, FalseByTop: map[string]int{}}
	model.Replay(seed, warm, n, m, func(p *fraud.Payment, _ *model.Txn, s model.Score) {
		q.N++
		flagged := s.Value >= m.Threshold()
		if flagged {
			q.Flagged++
		}
		if p.Fraud {
			q.Fraud++
			q.Total[p.Scenario]++
			if flagged {
				q.TruePositives++
				q.Caught[p.Scenario]++
			}
		} else if flagged {
			q.FalseByTop[s.Top[0].Name]++
		}
	})
	q.Precision = float64(q.TruePositives) / float64(max(q.Flagged, 1))
	q.Recall = float64(q.TruePositives) / float64(max(q.Fraud, 1))
	if q.Precision+q.Recall > 0 {
		q.F1 = 2 * q.Precision * q.Recall / (q.Precision + q.Recall)
	}
	return q
}

// Print writes the figures.
func (q Quality) Print(w io.Writer) {
	fmt.Fprintf(w, "payments %d, fraud %d (%.2f%%), flagged %d\n", q.N, q.Fraud, 100*float64(q.Fraud)/float64(max(q.N, 1)), q.Flagged)
	fmt.Fprintf(w, "precision %.3f recall %.3f F1 %.3f\n", q.Precision, q.Recall, q.F1)
	for _, s := range fraud.Scenarios {
		fmt.Fprintf(w, "  %-18s recall %.3f (%d of %d)\n", s, float64(q.Caught[s])/float64(max(q.Total[s], 1)), q.Caught[s], q.Total[s])
	}
	var tops []string
	for k := range q.FalseByTop {
		tops = append(tops, k)
	}
	sort.Strings(tops)
	for _, k := range tops {
		fmt.Fprintf(w, "  false positives led by %-18s %d\n", k, q.FalseByTop[k])
	}
}

// TestQuality checks the quality target at the default threshold:
// recall ≥ 0.9 at precision ≥ 0.8 over the simulated fraud. Run with -v
// to see the figures, and -quality-n=1000000 for a longer measure.
func TestQuality(t *testing.T) {
	n := *qualityN
	if testing.Short() {
		n = 50_000
	}
	q := Evaluate(*qualitySeed, *qualityWarm, n, *qualityThreshold)
	if testing.Verbose() {
		q.Print(os.Stdout)
	}
	if q.Recall < 0.9 || q.Precision < 0.8 {
		q.Print(os.Stderr)
		t.Errorf("seed %d, n %d: precision %.3f recall %.3f, want recall ≥ 0.9 at precision ≥ 0.8", *qualitySeed, n, q.Precision, q.Recall)
	}
	for _, s := range fraud.Scenarios {
		if q.Total[s] == 0 {
			t.Errorf("seed %d: no fraud of scenario %s: the generator's mix is off", *qualitySeed, s)
		}
	}
}
