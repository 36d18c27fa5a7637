package model_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/risk/model"
)

const benchKeys = 1 << 20

// benchTxns returns transfers over benchKeys accounts and aliases, and a
// model that has observed each of them once: the cost measured is that of
// a million-key model, cache misses included.
func benchSetup(b *testing.B) (*model.Model, []model.Txn) {
	b.Helper()
	txs := make([]model.Txn, benchKeys)
	for i := range txs {
		txs[i] = model.Txn{At: t0.Add(time.Duration(i) * time.Millisecond), Hour: i % 24, Payer: "sim-a",
			PayerAccount: fmt.Sprintf("u%07d", i), Alias: fmt.Sprintf("MSISDN:+8613%09d", i*7919%1_000_000_000),
			Currency: "CNY", Amount: int64(100 + i%100000), NewPayee: i%3 == 0, Factors: 2}
	}
	m := model.New(model.Options{})
	for i := range txs {
		m.Observe(&txs[i])
	}
	b.ResetTimer()
	return m, txs
}

func spread(i int) int { return (i * 7919) % benchKeys }

func BenchmarkScore(b *testing.B) {
	m, txs := benchSetup(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Score(&txs[spread(i)])
	}
}

func BenchmarkObserve(b *testing.B) {
	m, txs := benchSetup(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tx := &txs[spread(i)]
		tx.At = tx.At.Add(time.Second)
		m.Observe(tx)
	}
}

func BenchmarkScoreParallel(b *testing.B) {
	m, txs := benchSetup(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.Score(&txs[spread(i)])
			i++
		}
	})
}

// BenchmarkScoreWarm scores 1,024 keys that stay in cache: the
// arithmetic without the memory misses of a large model.
func BenchmarkScoreWarm(b *testing.B) {
	m, txs := benchSetup(b)
	txs = txs[:1024]
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Score(&txs[i%1024])
	}
}

// BenchmarkObserveWarm is BenchmarkScoreWarm for Observe.
func BenchmarkObserveWarm(b *testing.B) {
	m, txs := benchSetup(b)
	txs = txs[:1024]
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tx := &txs[i%1024]
		tx.At = tx.At.Add(time.Second)
		m.Observe(tx)
	}
}
