package model

import (
	"fmt"
	"testing"

	"github.com/hulian/hulian/internal/sim/fraud"
)

func TestDiag(t *testing.T) {
	if !*fit {
		t.Skip("run with -fit")
	}
	m := New(Options{})
	shown := map[string]int{}
	sums := map[string]*[numFeatures + 1]float64{}
	Replay(1, 200_000, 200_000, m, func(p *fraud.Payment, tx *Txn, s Score) {
		k := p.Scenario
		if k == "" {
			k = "normal"
		}
		if sums[k] == nil {
			sums[k] = new([numFeatures + 1]float64)
		}
		for i, x := range s.x {
			sums[k][i] += x
		}
		sums[k][numFeatures]++
		if p.Fraud && s.Value < m.threshold && shown[k] < 8 {
			shown[k]++
			fmt.Printf("MISS %s %s h%d new%v amt %d f%d score %.3f x %.2f\n", k, p.PayerAccount, tx.Hour, tx.NewPayee, p.Amount, tx.Factors, s.Value, s.x)
		}
		if !p.Fraud && s.Value >= m.threshold && shown["fp"] < 15 {
			shown["fp"]++
			fmt.Printf("FP %s h%d new%v amt %d f%d score %.3f x %.2f\n", p.PayerAccount, tx.Hour, tx.NewPayee, p.Amount, tx.Factors, s.Value, s.x)
		}
	})
	for k, v := range sums {
		fmt.Printf("%-18s n %6.0f", k, v[numFeatures])
		for i := range numFeatures {
			fmt.Printf(" %s %.2f", featureNames[i], v[i]/v[numFeatures])
		}
		fmt.Println()
	}
}
