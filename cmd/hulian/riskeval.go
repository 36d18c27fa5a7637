package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/sim/fraud"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// riskEval measures the anomaly model's quality on labelled simulated
// payments (package sim/fraud): each payment is screened as the switch
// screens it — the same engine, velocity windows and model, on a clock
// that follows the simulation — and then learned as committed. It
// prints precision and recall at the model's threshold: a payment is
// flagged when its score reaches it, which raises an alert.
func riskEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("risk-eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("transfers", 1_000_000, "simulated payments to screen")
	seed := fs.Uint64("seed", 1, "the simulation's seed")
	rate := fs.Float64("fraud-rate", 0, "share of payments that are fraud (0: the simulation's default, 1 %)")
	payers := fs.Int("payers", 0, "payer accounts (0: the simulation's default)")
	warmup := fs.Int("warmup", 200_000, "payments learned first, as history, and not counted (about four simulated days at the defaults)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *warmup < 0 {
		return errors.New("risk-eval: --transfers must be at least 1, --warmup not negative")
	}
	dir, err := os.MkdirTemp("", "hulian-risk-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "hulian.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	gen := fraud.New(fraud.Config{Seed: *seed, FraudRate: *rate, Payers: *payers})
	var now time.Time
	e, err := risk.Open(ctx, db, nil, risk.Config{}, func() time.Time { return now })
	if err != nil {
		return err
	}
	defer e.Close()

	type tally struct{ flagged, total int }
	byScenario := map[string]*tally{}
	var tp, fp, fn, tn int
	payee := participant.Participant{ID: "sim-payee"}
	payers2 := map[string]*participant.Participant{}
	start := time.Now()
	for i := range *warmup + *n {
		p := gen.Next()
		now = p.At
		payer := payers2[p.Payer]
		if payer == nil {
			payer = &participant.Participant{ID: p.Payer}
			payers2[p.Payer] = payer
		}
		typ, value, _ := strings.Cut(p.Alias, ":")
		factors, err := transfer.ParseFactors(p.Factors)
		if err != nil {
			return fmt.Errorf("payment %d: %w", i, err)
		}
		cur, err := money.ParseCurrency(p.Currency)
		if err != nil {
			return fmt.Errorf("payment %d: %w", i, err)
		}
		s := transfer.Screening{ID: fmt.Sprint(i), Payer: payer, Payee: &payee, PayeeType: typ, PayeeValue: value,
			Amount: money.Amount(p.Amount), Currency: cur, PayerAccount: p.PayerAccount, Factors: factors, At: p.At}
		flagged := e.Score(&s).Value >= e.Threshold()
		if i < *warmup {
			flagged, p.Fraud, p.Scenario = false, false, "warm-up"
		}
		switch {
		case flagged && p.Fraud:
			tp++
		case flagged:
			fp++
		case p.Fraud:
			fn++
		default:
			tn++
		}
		name := p.Scenario
		if name == "" {
			name = "normal"
		}
		if name == "warm-up" {
			e.Learn(&transfer.Transfer{ID: s.ID, Payer: p.Payer, Payee: transfer.Payee{Type: typ, Value: value, Participant: payee.ID},
				Amount: s.Amount, Currency: cur, CreatedAt: p.At, PayerAccount: p.PayerAccount, Factors: factors})
			continue
		}
		t := byScenario[name]
		if t == nil {
			t = &tally{}
			byScenario[name] = t
		}
		t.total++
		if flagged {
			t.flagged++
		}
		e.Learn(&transfer.Transfer{ID: s.ID, Payer: p.Payer, Payee: transfer.Payee{Type: typ, Value: value, Participant: payee.ID},
			Amount: s.Amount, Currency: cur, CreatedAt: p.At, PayerAccount: p.PayerAccount, Factors: factors})
	}
	took := time.Since(start)
	precision := float64(tp) / float64(max(tp+fp, 1))
	recall := float64(tp) / float64(max(tp+fn, 1))
	fmt.Fprintf(stdout, "risk-eval: %d payments counted after %d learned (seed %d), %d fraud, threshold %.2f, %.1f s (%.2f µs per payment, screening and learning)\n",
		*n, *warmup, *seed, tp+fn, e.Threshold(), took.Seconds(), float64(took.Microseconds())/float64(*n+*warmup))
	fmt.Fprintf(stdout, "  flagged %d: true positives %d, false positives %d; missed %d\n", tp+fp, tp, fp, fn)
	fmt.Fprintf(stdout, "  precision %.3f  recall %.3f  F1 %.3f\n", precision, recall, 2*precision*recall/max(precision+recall, 1e-9))
	for _, name := range slices.Sorted(maps.Keys(byScenario)) {
		t := byScenario[name]
		what := "recall"
		if name == "normal" {
			what = "flagged (false positive rate)"
		}
		fmt.Fprintf(stdout, "  %-18s %8d payments, %s %.4f\n", name, t.total, what, float64(t.flagged)/float64(t.total))
	}
	return nil
}
