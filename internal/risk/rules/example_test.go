package rules_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/risk/rules"
)

// velocity is a Facts with fixed answers; the switch answers from its
// sliding windows of committed transfers.
type velocity struct{ payerCount int64 }

func (v velocity) PayerCount(time.Duration) int64 { return v.payerCount }
func (v velocity) PayerSum(time.Duration) int64   { return 0 }
func (v velocity) AliasCount(time.Duration) int64 { return 0 }
func (v velocity) AliasSum(time.Duration) int64   { return 0 }
func (v velocity) InList(string, string) bool     { return false }

func ExampleSet_Eval() {
	var compiled []*rules.Compiled
	for _, r := range []rules.Rule{
		{ID: "sca", Expression: `amount > 500000 && size(factors) < 2`,
			Action: rules.ActionDecline, Reason: "sca-required", Mode: rules.ModeEnforce},
		{ID: "burst", Expression: `payerAccount != "" && payerCount(duration("1h")) >= 5`,
			Action: rules.ActionReview, Reason: "payer-burst", Mode: rules.ModeShadow},
	} {
		c, err := rules.Compile(r, rules.Options{})
		if err != nil {
			panic(err)
		}
		compiled = append(compiled, c)
	}
	set := rules.NewSet(compiled)

	in := rules.Input{Amount: 800000, Currency: "CNY", PayerAccount: "u-17", Hour: 2, Factors: []string{"pin"}}
	matches := set.Eval(&in, velocity{payerCount: 6}, nil)
	for _, m := range matches {
		fmt.Println(m.ID, m.Action, m.Reason, m.Mode, m.Err)
	}
	if m, ok := rules.First(matches, rules.ActionDecline); ok {
		fmt.Println("declined by", m.ID)
	}
	// Output:
	// burst review payer-burst shadow <nil>
	// sca decline sca-required enforce <nil>
	// declined by sca
}

func ExampleCompile_invalid() {
	for _, expr := range []string{
		`hour < 6 && amount >`,
		`amount > 100000 && payerCount(duration("48h")) > 3`,
		`amount + 1`,
		`payee_alias == "MSISDN:+8613800000000"`,
	} {
		_, err := rules.Compile(rules.Rule{ID: "r", Expression: expr, Action: rules.ActionDecline,
			Reason: "x", Mode: rules.ModeEnforce}, rules.Options{})
		fmt.Println(errors.Is(err, rules.ErrInvalidRule), err)
	}
	// Output:
	// true invalid rule: expression: 1:21: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}
	// true invalid rule: expression: 1:40: payerCount: window 48h0m0s is longer than the maximum 24h0m0s
	// true invalid rule: expression yields int, want bool
	// true invalid rule: expression: 1:1: undeclared reference to 'payee_alias' (did you mean 'payeeAlias'?)
}
