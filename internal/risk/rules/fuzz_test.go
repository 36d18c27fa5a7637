package rules

import (
	"errors"
	"math"
	"testing"
	"time"
)

// FuzzCompileEval checks that no expression text panics Compile, that every
// refusal is an ErrInvalidRule, and that whatever compiles evaluates on
// arbitrary inputs without panicking, yielding a match, no match or a
// reported failure.
func FuzzCompileEval(f *testing.F) {
	seeds := []string{
		`payerAccount != "" && payerCount(duration("1h")) >= 5`,
		`hour < 6 && amount > 100000`,
		`amount > 500000 && size(factors) < 2`,
		`aliasSum(duration("24h")) > 1000000`,
		`inList("blocked-payees", payeeAlias)`,
		`fraudMarks > 0 || score > 0.9`,
		`newPayee && factors.exists(f, f == "biometric")`,
		`payerCount(duration(string(hour) + "h")) > 1`,
		`amount * amount > 0`,
		`payeeAlias.matches("^MSISDN:")`,
		`factors[3] == "otp"`,
		`[1,2,3].all(x, x < amount)`,
		`amount > `,
		`payerSum(duration("48h")) > 0`,
	}
	for i, s := range seeds {
		f.Add(s, int64(i)*100000, int8(i), 0.5, "MSISDN:+86138", true, int64(i))
	}
	f.Fuzz(func(t *testing.T, expr string, amount int64, hour int8, score float64, text string, newPayee bool, n int64) {
		c, err := Compile(Rule{ID: "fuzz", Expression: expr, Action: ActionDecline, Reason: "fuzz", Mode: ModeEnforce}, Options{})
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("Compile(%q) = %v, not an ErrInvalidRule", expr, err)
			}
			return
		}
		s := NewSet([]*Compiled{c})
		in := Input{Amount: amount, Currency: text, Payer: text, Payee: text, PayeeAlias: text,
			PayerAccount: text, Hour: int(hour), FraudMarks: int(n), Score: score, NewPayee: newPayee,
			Factors: []string{text, "pin"}}
		facts := &fuzzFacts{n: n, text: text}
		ms := s.Eval(&in, facts, nil)
		if len(ms) > 1 || len(ms) == 1 && ms[0].ID != "fuzz" {
			t.Fatalf("Eval(%q) = %+v", expr, ms)
		}
		// The same input again must give the same answer: cached values
		// carry over between evaluations.
		again := s.Eval(&in, facts, nil)
		if len(again) != len(ms) || len(ms) == 1 && (ms[0].Err == nil) != (again[0].Err == nil) {
			if !math.IsNaN(score) { // NaN makes no two evaluations comparable
				t.Fatalf("Eval(%q) = %+v, then %+v", expr, ms, again)
			}
		}
	})
}

// fuzzFacts answers every question with the same fuzzed numbers.
type fuzzFacts struct {
	n    int64
	text string
}

func (f *fuzzFacts) PayerCount(time.Duration) int64 { return f.n }
func (f *fuzzFacts) PayerSum(time.Duration) int64   { return f.n * 3 }
func (f *fuzzFacts) AliasCount(time.Duration) int64 { return -f.n }
func (f *fuzzFacts) AliasSum(time.Duration) int64   { return math.MaxInt64 - f.n }
func (f *fuzzFacts) InList(name, value string) bool { return name == f.text || value == f.text }
