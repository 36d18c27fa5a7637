package fraud

import (
	"slices"
	"testing"
	"time"
)

func TestDeterministicAndOrdered(t *testing.T) {
	a, b := New(Config{Seed: 3, Payers: 500, Aliases: 500}), New(Config{Seed: 3, Payers: 500, Aliases: 500})
	var last time.Time
	for i := range 20_000 {
		p, q := a.Next(), b.Next()
		if !p.At.Equal(q.At) || p.PayerAccount != q.PayerAccount || p.Alias != q.Alias || p.Amount != q.Amount || p.Scenario != q.Scenario {
			t.Fatalf("seed 3, payment %d differs: %+v, %+v", i, p, q)
		}
		if p.At.Before(last) {
			t.Fatalf("seed 3, payment %d at %v before %v", i, p.At, last)
		}
		last = p.At
	}
}

func TestMix(t *testing.T) {
	const n = 300_000
	for _, seed := range []uint64{1, 2} {
		g := New(Config{Seed: seed})
		count := map[string]int{}
		night, nightNormal, normal := 0, 0, 0
		var last time.Time
		for range n {
			p := g.Next()
			last = p.At
			count[p.Scenario]++
			if p.Amount < 1 || p.Alias == "" || p.PayerAccount == "" || p.Currency != "CNY" || len(p.Factors) == 0 {
				t.Fatalf("seed %d: malformed %+v", seed, p)
			}
			if p.Fraud != (p.Scenario != "") {
				t.Fatalf("seed %d: label %v with scenario %q", seed, p.Fraud, p.Scenario)
			}
			if p.Scenario == ScenarioNightLarge {
				night++
				if h := p.At.Hour(); h >= 6 {
					t.Errorf("seed %d: night payment at %v", seed, p.At)
				}
			}
			if !p.Fraud {
				normal++
				if p.At.Hour() < 6 {
					nightNormal++
				}
			}
		}
		fraud := n - count[""]
		share := float64(fraud) / n
		t.Logf("seed %d: fraud share %.4f, by scenario %v (%d at night), normal at night %.3f, simulated days %.1f",
			seed, share, count, night, float64(nightNormal)/float64(normal), last.Sub(g.cfg.Start).Hours()/24)
		if share < 0.007 || share > 0.013 {
			t.Errorf("seed %d: fraud share %.4f, want about 0.01", seed, share)
		}
		for _, s := range Scenarios {
			if c := count[s]; c < fraud/8 {
				t.Errorf("seed %d: scenario %s has %d of %d fraud payments", seed, s, c, fraud)
			}
		}
		if r := float64(nightNormal) / float64(normal); r < 0.01 || r > 0.1 {
			t.Errorf("seed %d: %.3f of normal payments at night, want a few percent", seed, r)
		}
	}
}

func TestNoFraud(t *testing.T) {
	g := New(Config{Seed: 1, FraudRate: -1, Payers: 100})
	for range 10_000 {
		if p := g.Next(); p.Fraud {
			t.Fatalf("fraud %+v with FraudRate -1", p)
		}
	}
}

func TestScenarioShapes(t *testing.T) {
	g := New(Config{Seed: 5, FraudRate: 0.05})
	payees := map[string]map[string]bool{} // mule alias → payers
	burst := map[string][]time.Time{}      // takeover account → times
	for range 200_000 {
		p := g.Next()
		switch p.Scenario {
		case ScenarioMuleFanIn:
			if payees[p.Alias] == nil {
				payees[p.Alias] = map[string]bool{}
			}
			payees[p.Alias][p.PayerAccount] = true
		case ScenarioTakeover:
			burst[p.PayerAccount] = append(burst[p.PayerAccount], p.At)
		}
	}
	for a, ps := range payees {
		if len(ps) > 30 {
			t.Errorf("mule %s has %d payers", a, len(ps))
		}
	}
	for acct, ts := range burst {
		if !slices.IsSortedFunc(ts, func(a, b time.Time) int { return a.Compare(b) }) {
			t.Errorf("takeover of %s out of order", acct)
		}
	}
	if len(payees) == 0 || len(burst) == 0 {
		t.Errorf("no mules (%d) or takeovers (%d)", len(payees), len(burst))
	}
}
