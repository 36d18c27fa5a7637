package model

import (
	"github.com/hulian/hulian/internal/risk/velocity"
	"github.com/hulian/hulian/internal/sim/fraud"
)

// Replay streams warm+n payments of the fraud generator seeded with seed
// through m as the risk engine does — NewPayee from velocity windows,
// Score, then Observe of the model and the windows as if every payment
// committed — and calls f with each of the last n and its score. The
// warm-up stands for the history a running switch has (and a restarted
// one rebuilds); its payments are observed but not measured.
func Replay(seed uint64, warm, n int, m *Model, f func(p *fraud.Payment, t *Txn, s Score)) {
	g := fraud.New(fraud.Config{Seed: seed})
	v := velocity.New(velocity.Options{})
	for i := range warm + n {
		p := g.Next()
		t := Txn{
			At: p.At, Hour: p.At.Hour(), Payer: p.Payer, PayerAccount: p.PayerAccount,
			Alias: p.Alias, Currency: p.Currency, Amount: p.Amount,
			NewPayee: v.NewPayee(p.Payer, p.PayerAccount, p.Alias), Factors: len(p.Factors),
		}
		s := m.Score(&t)
		if i >= warm {
			f(&p, &t, s)
		}
		m.Observe(&t)
		v.Observe(velocity.Txn{At: p.At, Payer: p.Payer, PayerAccount: p.PayerAccount,
			PayeeAlias: p.Alias, Currency: p.Currency, Amount: p.Amount})
	}
}
