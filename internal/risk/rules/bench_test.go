package rules

import (
	"testing"
	"time"
)

// benchRules are 20 rules of the kind the issue asks for: comparisons of the
// transfer, authentication, velocity over several windows and lists.
var benchRules = []Rule{
	{ID: "r01-night-large", Expression: `hour < 6 && amount > 100000`, Action: ActionReview, Reason: "night-large"},
	{ID: "r02-sca", Expression: `amount > 500000 && size(factors) < 2`, Action: ActionDecline, Reason: "sca-required"},
	{ID: "r03-payer-burst", Expression: `payerAccount != "" && payerCount(duration("1h")) >= 5`, Action: ActionReview, Reason: "payer-burst"},
	{ID: "r04-alias-fanin", Expression: `aliasSum(duration("24h")) > 1000000`, Action: ActionAlert, Reason: "mule-fan-in"},
	{ID: "r05-blocked", Expression: `inList("blocked-payees", payeeAlias)`, Action: ActionDecline, Reason: "blocked-payee"},
	{ID: "r06-fraud-marks", Expression: `fraudMarks > 0`, Action: ActionReview, Reason: "fraud-marks"},
	{ID: "r07-score", Expression: `score > 0.9`, Action: ActionReview, Reason: "anomaly"},
	{ID: "r08-currency", Expression: `currency != "CNY"`, Action: ActionDecline, Reason: "currency"},
	{ID: "r09-new-payee-large", Expression: `newPayee && amount > 200000`, Action: ActionAlert, Reason: "new-payee-large"},
	{ID: "r10-payer-sum", Expression: `payerSum(duration("24h")) + amount > 5000000`, Action: ActionDecline, Reason: "daily-limit"},
	{ID: "r11-alias-count", Expression: `aliasCount(duration("1h")) > 20`, Action: ActionReview, Reason: "mule-fan-in"},
	{ID: "r12-payer-10m", Expression: `payerCount(duration("10m")) >= 3 && amount > 50000`, Action: ActionReview, Reason: "payer-burst"},
	{ID: "r13-biometric", Expression: `amount > 1000000 && !("biometric" in factors)`, Action: ActionDecline, Reason: "sca-required"},
	{ID: "r14-self", Expression: `payer == payee && amount > 10000000`, Action: ActionAlert, Reason: "self-large"},
	{ID: "r15-mule-list", Expression: `inList("mules", payeeAlias) || inList("watch", payerAccount)`, Action: ActionReview, Reason: "watch-list"},
	{ID: "r16-score-night", Expression: `score > 0.6 && (hour >= 23 || hour < 5)`, Action: ActionReview, Reason: "anomaly-night"},
	{ID: "r17-marks-new", Expression: `fraudMarks >= 1 && newPayee`, Action: ActionDecline, Reason: "fraud-marks"},
	{ID: "r18-alias-prefix", Expression: `payeeAlias.startsWith("MSISDN:") && amount > 300000 && newPayee`, Action: ActionAlert, Reason: "phone-large"},
	{ID: "r19-round", Expression: `amount % 100000 == 0 && amount >= 500000`, Action: ActionAlert, Reason: "round-amount"},
	{ID: "r20-shadow", Expression: `payerCount(duration("24h")) > 50`, Action: ActionDecline, Reason: "daily-count", Mode: ModeShadow},
}

// benchFacts is a Facts that answers from fields, as a velocity store would
// after finding its windows.
type benchFacts struct{ count, sum int64 }

func (f *benchFacts) PayerCount(time.Duration) int64 { return f.count }
func (f *benchFacts) PayerSum(time.Duration) int64   { return f.sum }
func (f *benchFacts) AliasCount(time.Duration) int64 { return f.count }
func (f *benchFacts) AliasSum(time.Duration) int64   { return f.sum }
func (f *benchFacts) InList(string, string) bool     { return false }

func benchSet(tb testing.TB) *Set {
	tb.Helper()
	var cs []*Compiled
	for _, r := range benchRules {
		if r.Mode == "" {
			r.Mode = ModeEnforce
		}
		c, err := Compile(r, Options{})
		if err != nil {
			tb.Fatalf("compile %s: %v", r.ID, err)
		}
		cs = append(cs, c)
	}
	return NewSet(cs)
}

// BenchmarkEval20Rules measures one transfer screened by 20 rules, with the
// inputs varying per transfer as they do on the payment path.
func BenchmarkEval20Rules(b *testing.B) {
	s := benchSet(b)
	in := Input{Amount: 123456, Currency: "CNY", Payer: "wallet-a", Payee: "bank-b",
		PayeeAlias: "MSISDN:+8613800000000", PayerAccount: "acct-42", Hour: 14,
		Score: 0.12, Factors: []string{"pin", "device"}}
	f := &benchFacts{count: 2, sum: 345678}
	out := make([]Match, 0, 20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		in.Amount = 100000 + int64(i%1000)*7
		in.Score = float64(i%100) / 100
		f.sum = 300000 + int64(i%500)
		out = s.Eval(&in, f, out[:0])
	}
}

// BenchmarkCompile measures saving one rule.
func BenchmarkCompile(b *testing.B) {
	r := Rule{ID: "r", Expression: `payerAccount != "" && payerCount(duration("1h")) >= 5`,
		Action: ActionReview, Reason: "payer-burst", Mode: ModeEnforce}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(r, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
