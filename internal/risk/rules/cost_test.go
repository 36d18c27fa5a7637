package rules

import (
	"strings"
	"testing"
	"time"
)

// TestCostBoundKeepsRulesFast evaluates rules just under the cost limit on the
// largest inputs the estimate assumes, and checks that the static bound keeps
// each well under a millisecond.
func TestCostBoundKeepsRulesFast(t *testing.T) {
	exprs := []string{
		`factors.all(a, factors.all(b, a + b != payeeAlias))`,
		`factors.exists(a, factors.exists(b, a.contains(b) && b.startsWith(payeeAlias)))`,
		`payeeAlias.matches("^(MSISDN|EMAIL):[a-z0-9+]*x$") && payerAccount.contains(payer)`,
		`factors.map(f, f + f).filter(g, g.size() > 3).size() > 100`,
		`[1,2,3,4,5,6,7,8,9,10].all(x, [1,2,3,4,5,6,7,8,9,10].exists(y, x * y == amount))`,
	}
	long := strings.Repeat("x", assumedStringBytes)
	factors := make([]string, MaxFactors)
	for i := range factors {
		factors[i] = long[:assumedStringBytes-i]
	}
	in := Input{Amount: 1, Currency: long, Payer: long, Payee: long, PayeeAlias: long, PayerAccount: long,
		Factors: factors}
	admitted := 0
	for _, expr := range exprs {
		c, err := Compile(rule("r", expr), Options{})
		if err != nil {
			t.Logf("refused (fine): %s: %v", expr, err)
			continue
		}
		admitted++
		s := NewSet([]*Compiled{c})
		const n = 200
		start := time.Now()
		for range n {
			if ms := s.Eval(&in, &fakeFacts{}, nil); len(ms) > 0 && ms[0].Err != nil {
				t.Fatalf("%s: %v", expr, ms[0].Err)
			}
		}
		per := time.Since(start) / n
		t.Logf("cost %4d: %8v per evaluation: %s", c.Cost(), per, expr)
		if per > time.Millisecond {
			t.Errorf("%s (cost %d) takes %v per evaluation", expr, c.Cost(), per)
		}
	}
	if admitted < 2 {
		t.Fatalf("only %d of the expensive rules compiled; the test measures nothing", admitted)
	}
}
