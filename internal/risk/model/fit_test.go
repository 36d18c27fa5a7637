package model

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/hulian/hulian/internal/sim/fraud"
)

var fit = flag.Bool("fit", false, "fit the weights by logistic regression on the simulated scenarios and print them")

// TestFit is how the weights and DefaultThreshold were chosen: it fits a
// logistic regression of the fraud label on the features (Newton's
// method with a little ridge) over seed 1's payments after the warm-up,
// prints the weights, and prints precision and recall by threshold for
// the weights in the code. Run with -fit; the figures it prints are the
// evidence for the constants.
func TestFit(t *testing.T) {
	if !*fit {
		t.Skip("run with -fit")
	}
	const warm, n = 200_000, 200_000
	rows := make([]row, 0, n)
	Replay(1, warm, n, New(Options{}), func(p *fraud.Payment, _ *Txn, s Score) {
		rows = append(rows, row{s.x, p.Fraud, s.Value})
	})
	const d = numFeatures + 1
	const ridge = 1.0
	var w [d]float64
	w[numFeatures] = -5
	loss := func(w [d]float64) float64 {
		l := 0.0
		for _, r := range rows {
			z := w[numFeatures]
			for i, x := range r.x {
				z += w[i] * x
			}
			if r.fraud {
				l += math.Log1p(math.Exp(-z))
			} else {
				l += math.Log1p(math.Exp(z))
			}
		}
		for i := range numFeatures {
			l += ridge / 2 * w[i] * w[i]
		}
		return l
	}
	cur := loss(w)
	for range 40 {
		var g [d]float64
		var h [d][d]float64
		for _, r := range rows {
			var xs [d]float64
			copy(xs[:], r.x[:])
			xs[numFeatures] = 1
			z := 0.0
			for i := range d {
				z += w[i] * xs[i]
			}
			p := 1 / (1 + math.Exp(-z))
			y := 0.0
			if r.fraud {
				y = 1
			}
			for i := range d {
				g[i] += (p - y) * xs[i]
				for j := range d {
					h[i][j] += p * (1 - p) * xs[i] * xs[j]
				}
			}
		}
		for i := range numFeatures {
			h[i][i] += ridge
			g[i] += ridge * w[i]
		}
		h[numFeatures][numFeatures] += 1e-6
		step := solve(h, g)
		// Halve the step until the loss falls.
		for a := 1.0; a > 1e-6; a /= 2 {
			var next [d]float64
			for i := range d {
				next[i] = w[i] - a*step[i]
			}
			if l := loss(next); l < cur {
				w, cur = next, l
				break
			}
		}
	}
	for i := range numFeatures {
		fmt.Printf("%-18s %6.2f\n", featureNames[i], w[i])
	}
	fmt.Printf("%-18s %6.2f (loss %.1f)\n", "bias", w[numFeatures], cur)
	fmt.Println("fitted weights:")
	pr(rows, func(r row) float64 {
		z := w[numFeatures]
		for i, x := range r.x {
			z += w[i] * x
		}
		return 1 / (1 + math.Exp(-z))
	})
	fmt.Println("the code's weights:")
	pr(rows, func(r row) float64 { return r.score })
}

type row struct {
	x     [numFeatures]float64
	fraud bool
	score float64
}

// pr prints precision and recall by threshold of score over rows.
func pr(rows []row, score func(row) float64) {
	rows = slices.Clone(rows)
	for i := range rows {
		rows[i].score = score(rows[i])
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].score > rows[j].score })
	total := 0
	for _, r := range rows {
		if r.fraud {
			total++
		}
	}
	tp, fp := 0, 0
	next := 0.95
	for _, r := range rows {
		for r.score < next && next > 0.04 {
			fmt.Printf("threshold %.2f: precision %.3f recall %.3f\n", next, float64(tp)/float64(max(tp+fp, 1)), float64(tp)/float64(total))
			next -= 0.025
		}
		if r.fraud {
			tp++
		} else {
			fp++
		}
	}
}

// solve returns x with h x = g by Gaussian elimination with partial
// pivoting.
func solve(h [numFeatures + 1][numFeatures + 1]float64, g [numFeatures + 1]float64) [numFeatures + 1]float64 {
	const d = numFeatures + 1
	for c := range d {
		p := c
		for r := c + 1; r < d; r++ {
			if math.Abs(h[r][c]) > math.Abs(h[p][c]) {
				p = r
			}
		}
		h[c], h[p] = h[p], h[c]
		g[c], g[p] = g[p], g[c]
		for r := c + 1; r < d; r++ {
			f := h[r][c] / h[c][c]
			for k := c; k < d; k++ {
				h[r][k] -= f * h[c][k]
			}
			g[r] -= f * g[c]
		}
	}
	var x [d]float64
	for r := d - 1; r >= 0; r-- {
		s := g[r]
		for k := r + 1; k < d; k++ {
			s -= h[r][k] * x[k]
		}
		x[r] = s / h[r][r]
	}
	return x
}
