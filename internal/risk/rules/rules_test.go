package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cel.dev/cel-go/common/types"
)

// fakeFacts answers from fixed numbers and records every question, so that a
// test can check which windows a rule asked for.
type fakeFacts struct {
	payerCount, payerSum, aliasCount, aliasSum int64
	lists                                      map[string][]string
	panics                                     bool

	mu    sync.Mutex
	calls []string // "payerCount 1h0m0s", "inList blocked x"
}

func (f *fakeFacts) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	if f.panics {
		panic("facts store is down")
	}
}

func (f *fakeFacts) PayerCount(d time.Duration) int64 {
	f.record("payerCount %s", d)
	return f.payerCount
}

func (f *fakeFacts) PayerSum(d time.Duration) int64 {
	f.record("payerSum %s", d)
	return f.payerSum
}

func (f *fakeFacts) AliasCount(d time.Duration) int64 {
	f.record("aliasCount %s", d)
	return f.aliasCount
}

func (f *fakeFacts) AliasSum(d time.Duration) int64 {
	f.record("aliasSum %s", d)
	return f.aliasSum
}

func (f *fakeFacts) InList(name, value string) bool {
	f.record("inList %s %s", name, value)
	return slices.Contains(f.lists[name], value)
}

// rule returns a valid rule with the given expression.
func rule(id, expr string) Rule {
	return Rule{ID: id, Expression: expr, Action: ActionDecline, Reason: "test", Mode: ModeEnforce}
}

// mustSet compiles the rules into a set or fails the test.
func mustSet(t testing.TB, rs ...Rule) *Set {
	t.Helper()
	var cs []*Compiled
	for _, r := range rs {
		c, err := Compile(r, Options{})
		if err != nil {
			t.Fatalf("Compile(%q): %v", r.Expression, err)
		}
		cs = append(cs, c)
	}
	return NewSet(cs)
}

// baseInput is a daytime transfer that matches none of the usual rules.
func baseInput() Input {
	return Input{
		Amount: 150000, Currency: "CNY", Payer: "wallet-a", Payee: "bank-b",
		PayeeAlias: "MSISDN:+8613800000000", PayerAccount: "acct-1", Hour: 14,
		FraudMarks: 0, Score: 0.25, NewPayee: false, Factors: []string{"pin", "device"},
	}
}

// evalOne evaluates one expression and reports whether it matched; it fails
// the test if the rule errored.
func evalOne(t *testing.T, expr string, in Input, f Facts) bool {
	t.Helper()
	ms := mustSet(t, rule("r", expr)).Eval(&in, f, nil)
	if len(ms) == 0 {
		return false
	}
	if ms[0].Err != nil {
		t.Fatalf("%s: %v", expr, ms[0].Err)
	}
	return true
}

func TestRuleValidate(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		name string
		edit func(*Rule)
		want string // substring of the error; "" for valid
	}{
		{"valid", func(*Rule) {}, ""},
		{"valid shadow alert", func(r *Rule) { r.Mode, r.Action = ModeShadow, ActionAlert }, ""},
		{"id 64 bytes", func(r *Rule) { r.ID = long[:64] }, ""},
		{"empty id", func(r *Rule) { r.ID = "" }, "id"},
		{"id 65 bytes", func(r *Rule) { r.ID = long }, "id"},
		{"id upper case", func(r *Rule) { r.ID = "Night" }, "id"},
		{"id leading dash", func(r *Rule) { r.ID = "-night" }, "id"},
		{"id slash", func(r *Rule) { r.ID = "a/b" }, "id"},
		{"bad action", func(r *Rule) { r.Action = "block" }, "action"},
		{"empty action", func(r *Rule) { r.Action = "" }, "action"},
		{"bad mode", func(r *Rule) { r.Mode = "dry-run" }, "mode"},
		{"empty reason", func(r *Rule) { r.Reason = "" }, "reason"},
		{"reason with space", func(r *Rule) { r.Reason = "sca required" }, "reason"},
		{"description 500 bytes", func(r *Rule) { r.Description = strings.Repeat("x", 500) }, ""},
		{"description 501 bytes", func(r *Rule) { r.Description = strings.Repeat("x", 501) }, "description"},
		{"empty expression", func(r *Rule) { r.Expression = "" }, "expression is empty"},
		{"expression too long", func(r *Rule) { r.Expression = "true" + strings.Repeat(" ", MaxExpressionBytes) }, "expression is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rule("night-large", "amount > 1")
			tt.edit(&r)
			err := r.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want ErrInvalidRule mentioning %q", err, tt.want)
			}
			if _, cerr := Compile(r, Options{}); !errors.Is(cerr, ErrInvalidRule) {
				t.Fatalf("Compile = %v, want ErrInvalidRule", cerr)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		expr string
		opts Options
		want []string // substrings of the error message
	}{
		{"syntax", `amount > `, Options{}, []string{"1:10:", "Syntax error"}},
		{"syntax second line", "amount > 1 &&\n  hour <", Options{}, []string{"2:9:"}},
		{"unknown variable", `amont > 100`, Options{}, []string{"1:1:", "undeclared reference to 'amont'"}},
		{"unknown function", `hour < 6 && payerAverage(duration("1h")) > 1`, Options{}, []string{"1:25:", "payerAverage"}},
		{"type mismatch", `amount > "100"`, Options{}, []string{"1:8:", "no matching overload"}},
		{"money is not a double", `amount > 1.5`, Options{}, []string{"no matching overload"}},
		{"int result", `amount + 1`, Options{}, []string{"yields int, want bool"}},
		{"string result", `currency`, Options{}, []string{"yields string, want bool"}},
		{"list result", `factors`, Options{}, []string{"yields list(string), want bool"}},
		{"window above default max", `payerCount(duration("25h")) > 1`, Options{}, []string{"1:21:", "payerCount", "longer than the maximum 24h0m0s"}},
		{"window above option max", `amount > 1 && aliasSum(duration("2h")) > 1`, Options{MaxWindow: time.Hour}, []string{"1:33:", "aliasSum", "longer than the maximum 1h0m0s"}},
		{"window zero", `aliasCount(duration("0s")) > 1`, Options{}, []string{"aliasCount", "not positive"}},
		{"window negative", `payerSum(duration("-1h")) > 1`, Options{}, []string{"payerSum", "not positive"}},
		{"window not a duration", `payerSum(duration("an hour")) > 1`, Options{}, []string{"1:19:", "not a duration"}},
		{"window wrong type", `payerCount(3600) > 1`, Options{}, []string{"no matching overload"}},
		{"inList wrong arity", `inList("blocked")`, Options{}, []string{"inList"}},
		{"nested comprehension over literals", `[1,2,3,4,5,6,7,8,9,10].all(x, [1,2,3,4,5,6,7,8,9,10].all(y, [1,2,3,4,5,6,7,8,9,10].all(z, x+y+z > amount)))`,
			Options{}, []string{"estimated cost", "exceeds the limit 1000"}},
		{"cost over a low limit", `payerCount(duration("1h")) > 1 && aliasCount(duration("1h")) > 1`, Options{MaxCost: 10}, []string{"estimated cost"}},
		{"bad regex", `payeeAlias.matches("(")`, Options{}, []string{"missing closing )"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(rule("r", tt.expr), tt.opts)
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("Compile(%q) = %v, want ErrInvalidRule", tt.expr, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Compile(%q) = %q, want it to contain %q", tt.expr, err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message %q has a newline; it must fit a problem detail", err)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []string{
		`payerAccount != "" && payerCount(duration("1h")) >= 5`,
		`hour < 6 && amount > 100000`,
		`amount > 500000 && size(factors) < 2`,
		`payerSum(duration("24h")) > 1000000`, // exactly the maximum window
		`aliasCount(duration("1ms")) > 0`,
		`factors.exists(f, f == "biometric")`,
		`factors.all(f, f in ["pin", "biometric", "otp", "device"])`,
		`payeeAlias.matches("^MSISDN:\\+86")`,
		`payerCount(duration(string(hour) + "h")) > 1`, // window computed at evaluation
		`true`,
	}
	for _, expr := range tests {
		c, err := Compile(rule("r", expr), Options{})
		if err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
			continue
		}
		if c.Rule().Expression != expr || c.Cost() == 0 && expr != "true" {
			t.Errorf("Compile(%q) = rule %+v cost %d", expr, c.Rule(), c.Cost())
		}
	}
}

func TestCompileOptionsInvalid(t *testing.T) {
	_, err := Compile(rule("r", "true"), Options{MaxWindow: -time.Hour})
	if err == nil || errors.Is(err, ErrInvalidRule) {
		t.Fatalf("Compile with a negative MaxWindow = %v, want an error that is not ErrInvalidRule", err)
	}
}

func TestVariables(t *testing.T) {
	tests := []struct {
		expr string
		edit func(*Input)
		want bool
	}{
		{`amount == 150000`, nil, true},
		{`amount > 150000`, nil, false},
		{`amount == 9223372036854775807`, func(in *Input) { in.Amount = 1<<63 - 1 }, true},
		{`currency == "CNY"`, nil, true},
		{`currency == "HKD"`, func(in *Input) { in.Currency = "HKD" }, true},
		{`payer == "wallet-a"`, nil, true},
		{`payee == "bank-b"`, nil, true},
		{`payeeAlias == "MSISDN:+8613800000000"`, nil, true},
		{`payeeAlias.startsWith("EMAIL:")`, nil, false},
		{`payerAccount == "acct-1"`, nil, true},
		{`payerAccount == ""`, func(in *Input) { in.PayerAccount = "" }, true},
		{`hour == 14`, nil, true},
		{`hour < 6`, func(in *Input) { in.Hour = 3 }, true},
		{`hour == 0`, func(in *Input) { in.Hour = 0 }, true},
		{`fraudMarks == 0`, nil, true},
		{`fraudMarks >= 3`, func(in *Input) { in.FraudMarks = 3 }, true},
		{`score == 0.25`, nil, true},
		{`score > 0.9`, func(in *Input) { in.Score = 0.95 }, true},
		{`newPayee`, nil, false},
		{`newPayee`, func(in *Input) { in.NewPayee = true }, true},
		{`size(factors) == 2`, nil, true},
		{`"pin" in factors && !("otp" in factors)`, nil, true},
		{`size(factors) < 2`, func(in *Input) { in.Factors = nil }, true},
		{`size(factors) == 8`, func(in *Input) { in.Factors = slices.Repeat([]string{"pin"}, 20) }, true},
		{`factors.exists(f, f == "biometric")`, func(in *Input) { in.Factors = []string{"biometric"} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			in := baseInput()
			if tt.edit != nil {
				tt.edit(&in)
			}
			if got := evalOne(t, tt.expr, in, &fakeFacts{}); got != tt.want {
				t.Fatalf("%s on %+v = %v, want %v", tt.expr, in, got, tt.want)
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	facts := func() *fakeFacts {
		return &fakeFacts{payerCount: 5, payerSum: 700000, aliasCount: 21, aliasSum: 1000001,
			lists: map[string][]string{"blocked-payees": {"MSISDN:+8613800000000"}}}
	}
	tests := []struct {
		expr  string
		want  bool
		calls []string
	}{
		{`payerCount(duration("1h")) >= 5`, true, []string{"payerCount 1h0m0s"}},
		{`payerCount(duration("10m")) > 5`, false, []string{"payerCount 10m0s"}},
		{`payerSum(duration("24h")) == 700000`, true, []string{"payerSum 24h0m0s"}},
		{`aliasCount(duration("30m")) > 20`, true, []string{"aliasCount 30m0s"}},
		{`aliasSum(duration("24h")) > 1000000`, true, []string{"aliasSum 24h0m0s"}},
		{`aliasSum(duration("86400s")) > 1000000`, true, []string{"aliasSum 24h0m0s"}},
		{`payerCount(duration(string(hour) + "h")) == 5`, true, []string{"payerCount 14h0m0s"}},
		{`inList("blocked-payees", payeeAlias)`, true, []string{"inList blocked-payees MSISDN:+8613800000000"}},
		{`inList("blocked-payees", payerAccount)`, false, []string{"inList blocked-payees acct-1"}},
		{`inList("mules", "x" + payee)`, false, []string{"inList mules xbank-b"}},
		{`inList("blocked-payees", "MSISDN:+8613800000000")`, true, []string{"inList blocked-payees MSISDN:+8613800000000"}},
		// CEL's || absorbs an error when the other side is true.
		{`1 / 0 == 1 || payerSum(duration("1h")) > 0`, true, []string{"payerSum 1h0m0s"}},
		// Short-circuit: the facts are not asked when they cannot matter.
		{`payerAccount == "" && payerCount(duration("1h")) >= 5`, false, nil},
		// Inside a comprehension the function still finds the transfer's facts.
		{`factors.exists(f, f == "pin" && payerCount(duration("1h")) == 5)`, true, []string{"payerCount 1h0m0s"}},
		// The same window is asked once; different windows separately.
		{`payerCount(duration("1h")) + payerCount(duration("60m")) == 10 && payerCount(duration("2h")) == 5`, true,
			[]string{"payerCount 1h0m0s", "payerCount 2h0m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f := facts()
			if got := evalOne(t, tt.expr, baseInput(), f); got != tt.want {
				t.Errorf("%s = %v, want %v", tt.expr, got, tt.want)
			}
			if !slices.Equal(f.calls, tt.calls) {
				t.Errorf("%s asked %q, want %q", tt.expr, f.calls, tt.calls)
			}
		})
	}
}

func TestFactsAskedOncePerTransfer(t *testing.T) {
	s := mustSet(t,
		rule("a", `payerCount(duration("1h")) > 3`),
		rule("b", `payerCount(duration("1h")) > 4 && aliasSum(duration("24h")) > 0`),
		rule("c", `aliasSum(duration("24h")) > 5 || payerSum(duration("1h")) > 0`),
	)
	f := &fakeFacts{payerCount: 5, aliasSum: 7}
	in := baseInput()
	ms := s.Eval(&in, f, nil)
	if got := ids(ms); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("matches %v", got)
	}
	want := []string{"payerCount 1h0m0s", "aliasSum 24h0m0s"}
	if !slices.Equal(f.calls, want) {
		t.Fatalf("asked %q, want %q", f.calls, want)
	}
	// The next transfer asks again.
	f.calls, f.payerCount = nil, 1
	ms = s.Eval(&in, f, nil)
	if got := ids(ms); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("second transfer matches %v", got)
	}
	if !slices.Equal(f.calls, want) {
		t.Fatalf("second transfer asked %q, want %q", f.calls, want)
	}
}

func TestManyWindows(t *testing.T) {
	// More distinct windows than the activation caches: answers stay right.
	var terms []string
	for m := 1; m <= 12; m++ {
		terms = append(terms, fmt.Sprintf(`payerCount(duration("%dm")) == 5`, m))
	}
	f := &fakeFacts{payerCount: 5}
	if !evalOne(t, strings.Join(terms, " && "), baseInput(), f) {
		t.Fatal("12 windows did not match")
	}
	if len(f.calls) != 12 {
		t.Fatalf("asked %d times, want 12", len(f.calls))
	}
}

func ids(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestEvalFailures(t *testing.T) {
	tests := []struct {
		name  string
		expr  string
		facts Facts
		in    func(*Input)
		want  string
	}{
		{"overflow", `amount * 100000000000000 > 0`, &fakeFacts{}, nil, "overflow"},
		{"sum overflow", `payerSum(duration("1h")) + amount > 0`, &fakeFacts{payerSum: 1<<63 - 1}, nil, "overflow"},
		{"division by zero", `amount / fraudMarks > 0`, &fakeFacts{}, nil, "division by zero"},
		{"index out of range", `factors[5] == "pin"`, &fakeFacts{}, nil, "index"},
		{"computed window of 23h is fine", `payerCount(duration(string(hour) + "h")) > 0`, &fakeFacts{}, func(in *Input) { in.Hour = 23 }, ""},
		{"computed window above max", `payerCount(duration(string(hour * 10) + "h")) > 0`, &fakeFacts{}, nil, "longer than the maximum"},
		{"computed window zero", `payerCount(duration(string(hour) + "h")) > 0`, &fakeFacts{}, func(in *Input) { in.Hour = 0 }, "not positive"},
		{"no facts", `payerCount(duration("1h")) > 0`, nil, nil, "no facts"},
		{"no facts for lists", `inList("x", payee)`, nil, nil, "no facts"},
		{"facts panic", `aliasCount(duration("1h")) > 0`, &fakeFacts{panics: true}, nil, "facts store is down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSet(t, rule("a-before", `amount > 0`), rule("b-broken", tt.expr), rule("c-after", `amount > 0`))
			in := baseInput()
			if tt.in != nil {
				tt.in(&in)
			}
			ms := s.Eval(&in, tt.facts, nil)
			if tt.want == "" { // the case is valid: no failure expected
				for _, m := range ms {
					if m.Err != nil {
						t.Fatalf("%s: %v", m.ID, m.Err)
					}
				}
				return
			}
			if got := ids(ms); !slices.Equal(got, []string{"a-before", "b-broken", "c-after"}) {
				t.Fatalf("matches %v", got)
			}
			m := ms[1]
			if m.Err == nil || !errors.Is(m.Err, ErrEval) || !strings.Contains(m.Err.Error(), tt.want) {
				t.Fatalf("broken rule: %+v, want an ErrEval mentioning %q", m, tt.want)
			}
			if m.Matched() || m.Enforced() {
				t.Fatalf("a failed rule counts as matched: %+v", m)
			}
			if _, ok := First(ms, ActionDecline); !ok || !ms[0].Matched() || !ms[2].Matched() {
				t.Fatalf("the rules around the broken one did not match: %+v", ms)
			}
		})
	}
}

func TestSetOrderModesAndFirst(t *testing.T) {
	mk := func(id, expr string, a Action, m Mode) *Compiled {
		c, err := Compile(Rule{ID: id, Expression: expr, Action: a, Reason: "r-" + id, Mode: m}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	s := NewSet([]*Compiled{
		mk("z-alert", `true`, ActionAlert, ModeEnforce),
		mk("m-decline-shadow", `true`, ActionDecline, ModeShadow),
		mk("b-review", `true`, ActionReview, ModeEnforce),
		mk("k-decline", `false`, ActionDecline, ModeEnforce), // replaced below
		mk("x-no", `amount < 0`, ActionDecline, ModeEnforce),
		nil,
		mk("k-decline", `amount > 0`, ActionDecline, ModeEnforce),
		mk("p-broken", `amount / 0 > 1`, ActionDecline, ModeEnforce),
	})
	if s.Len() != 6 {
		t.Fatalf("Len = %d, want 6", s.Len())
	}
	in := baseInput()
	out := make([]Match, 0, 8)
	ms := s.Eval(&in, nil, out)
	want := []Match{
		{ID: "b-review", Action: ActionReview, Reason: "r-b-review", Mode: ModeEnforce},
		{ID: "k-decline", Action: ActionDecline, Reason: "r-k-decline", Mode: ModeEnforce},
		{ID: "m-decline-shadow", Action: ActionDecline, Reason: "r-m-decline-shadow", Mode: ModeShadow},
		{ID: "p-broken", Action: ActionDecline, Reason: "r-p-broken", Mode: ModeEnforce},
		{ID: "z-alert", Action: ActionAlert, Reason: "r-z-alert", Mode: ModeEnforce},
	}
	if len(ms) != len(want) {
		t.Fatalf("matches %v, want %d", ids(ms), len(want))
	}
	for i := range want {
		got := ms[i]
		if (got.Err != nil) != (want[i].ID == "p-broken") {
			t.Errorf("match %d error %v", i, got.Err)
		}
		got.Err = nil
		if got != want[i] {
			t.Errorf("match %d = %+v, want %+v", i, got, want[i])
		}
	}
	if &ms[0] != &out[:1][0] {
		t.Error("Eval did not append to the given slice")
	}
	if m, ok := First(ms, ActionDecline); !ok || m.ID != "k-decline" {
		t.Errorf("First(decline) = %+v, %v; want k-decline (not the shadow, not the broken)", m, ok)
	}
	if m, ok := First(ms, ActionReview); !ok || m.ID != "b-review" {
		t.Errorf("First(review) = %+v, %v", m, ok)
	}
	if _, ok := First(ms[2:], ActionDecline); ok {
		t.Error("First found a decline among a shadow and a failure")
	}
	var empty *Set
	if got := empty.Eval(&in, nil, nil); got != nil || empty.Len() != 0 || empty.Rules() != nil {
		t.Errorf("nil set: %v", got)
	}
	if got := NewSet(nil).Eval(&in, nil, nil); got != nil {
		t.Errorf("empty set: %v", got)
	}
	if s.Cost() == 0 || empty.Cost() != 0 {
		t.Errorf("Cost() = %d, nil set %d", s.Cost(), empty.Cost())
	}
	if rs := s.Rules(); len(rs) != 6 || rs[0].Rule().ID != "b-review" {
		t.Errorf("Rules() = %v", rs)
	}
}

// TestInputsChangeBetweenTransfers checks that the values kept by pooled
// activations never leak from one transfer into the next.
func TestInputsChangeBetweenTransfers(t *testing.T) {
	s := mustSet(t,
		rule("amount", `amount == 150000`),
		rule("currency", `currency == "CNY"`),
		rule("payer", `payer == "wallet-a"`),
		rule("payee", `payee == "bank-b"`),
		rule("alias", `payeeAlias == "MSISDN:+8613800000000"`),
		rule("account", `payerAccount == "acct-1"`),
		rule("hour", `hour == 14`),
		rule("marks", `fraudMarks == 0`),
		rule("score", `score == 0.25`),
		rule("new", `!newPayee`),
		rule("factors", `factors == ["pin", "device"]`),
		rule("sum", `payerSum(duration("1h")) == 1000`),
	)
	a := baseInput()
	b := Input{Amount: 1, Currency: "HKD", Payer: "p", Payee: "q", PayeeAlias: "EMAIL:x@y", PayerAccount: "",
		Hour: 3, FraudMarks: 2, Score: 0.5, NewPayee: true, Factors: []string{"otp"}}
	fa, fb := &fakeFacts{payerSum: 1000}, &fakeFacts{payerSum: 2000}
	for i := range 50 {
		if got := s.Eval(&a, fa, nil); len(got) != 12 {
			t.Fatalf("round %d: input a matched %v, want all 12", i, ids(got))
		}
		if got := s.Eval(&b, fb, nil); len(got) != 0 {
			t.Fatalf("round %d: input b matched %v, want none", i, ids(got))
		}
	}
	// The caller reuses its factors slice: the rule must see the new content.
	f := []string{"pin", "device"}
	c := baseInput()
	c.Factors = f
	if got := s.Eval(&c, fa, nil); len(got) != 12 {
		t.Fatalf("matched %v", ids(got))
	}
	f[1] = "otp"
	if got := s.Eval(&c, fa, nil); slices.Contains(ids(got), "factors") {
		t.Fatal("a change in the caller's factors slice was not seen")
	}
}

func TestConcurrentEval(t *testing.T) {
	s := mustSet(t, rule("big", `amount > 1000 && payerCount(duration("1h")) == 2`), rule("night", `hour < 6`))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out []Match
			for i := range 2000 {
				in := baseInput()
				in.Amount = int64(g*10000 + i)
				in.Hour = i % 24
				out = s.Eval(&in, &fakeFacts{payerCount: 2}, out[:0])
				want := 0
				if in.Amount > 1000 {
					want++
				}
				if in.Hour < 6 {
					want++
				}
				if len(out) != want {
					t.Errorf("amount %d hour %d: matches %v, want %d", in.Amount, in.Hour, ids(out), want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestEvalAllocations keeps the hot path honest: for a transfer like the
// previous one, the activation reuses every converted input and fact, so rules
// that compare inputs and ask facts allocate nothing. (CEL itself allocates
// the results of integer arithmetic, of double comparisons and the state of
// comprehensions, which is why the benchmark's rules do allocate.)
func TestEvalAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	s := mustSet(t,
		rule("a", `hour < 6 && amount > 100000`),
		rule("b", `amount > 500000 && size(factors) < 2`),
		rule("c", `payerAccount != "" && payerCount(duration("1h")) >= 5`),
		rule("d", `aliasSum(duration("24h")) > 1000000 || aliasCount(duration("1h")) > 20`),
		rule("e", `inList("blocked-payees", payeeAlias) || fraudMarks > 0`),
		rule("f", `currency != "CNY" || payer == payee || newPayee`),
		rule("g", `score == 0.5`),
	)
	in := baseInput()
	f := &benchFacts{count: 2, sum: 345678}
	out := make([]Match, 0, 20)
	s.Eval(&in, f, out)
	allocs := testing.AllocsPerRun(100, func() { out = s.Eval(&in, f, out[:0]) })
	if allocs != 0 {
		t.Fatalf("Eval allocates %.1f times per transfer, want 0", allocs)
	}
}

// TestWindowSlotsAreReused checks that windows cached for rules that are gone
// do not stop the activation from caching the windows of the current rules.
func TestWindowSlotsAreReused(t *testing.T) {
	a := new(activation)
	in := baseInput()
	f := &benchFacts{sum: 1000} // records nothing, allocates nothing
	a.reset(&in, f)
	for m := 1; m <= 12; m++ {
		a.window(factPayerSum, time.Duration(m)*time.Minute)
	}
	a.reset(&in, f)
	a.window(factPayerSum, time.Hour)
	allocs := testing.AllocsPerRun(10, func() {
		a.reset(&in, f)
		if n, ok := a.window(factPayerSum, time.Hour).(types.Int); !ok || n != 1000 {
			t.Fatalf("window = %v", n)
		}
	})
	if allocs != 0 {
		t.Fatalf("a window asked by every transfer is not cached: %.1f allocations", allocs)
	}
}
