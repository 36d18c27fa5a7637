package mandate

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestCompileConditionRefusals(t *testing.T) {
	for _, c := range []struct {
		name, expr, msg string
	}{
		{"syntax", "amount <=", "1:10: "},
		{"syntax on line 2", "amount > 0 &&\n  day ==", "2:"},
		{"not bool", "amount + 1", "yields int, want bool"},
		{"string result", `"yes"`, "yields string"},
		{"unknown variable", "amout < 100", "1:1: undeclared reference to 'amout'"},
		{"unknown function", "payerCount(duration('1h')) < 3", "undeclared reference to 'payerCount'"},
		{"wrong type", `amount < "100"`, "no matching overload"},
		{"too long", "amount < 100 " + strings.Repeat("&& true ", 125), "more than 1000"},
		{"too deep", strings.Repeat("(", 40) + "true" + strings.Repeat(")", 40), ""},
		{"too costly", "[" + strings.Repeat("1,", 60) + "1].all(x, [" + strings.Repeat("1,", 60) + "1].all(y, x * y == amount))", "cost"},
		{"bad regex", `string(amount).matches("(")`, ""},
	} {
		cond, err := CompileCondition(c.expr)
		if !errors.Is(err, ErrInvalidCondition) || !strings.Contains(err.Error(), c.msg) || cond != nil {
			t.Errorf("%s: %v, want ErrInvalidCondition with %q", c.name, err, c.msg)
		}
	}
}

func TestCompileConditionAccepts(t *testing.T) {
	for _, expr := range []string{
		"true",
		"amount <= 5000 && day <= 7",
		"month in [1, 4, 7, 10] || executionsThisPeriod == 0",
		"totalThisPeriod + amount <= 100000",
		"size(string(amount)) <= 6",
		"[1, 15].exists(d, d == day)",
		"amount < 100 " + strings.Repeat("&& true ", 123), // 997 bytes
	} {
		c, err := CompileCondition(expr)
		if err != nil || c == nil || c.String() != expr || c.Cost() > MaxConditionCost {
			t.Errorf("%q: %v", expr, err)
		}
	}
	if c, err := CompileCondition(""); c != nil || err != nil {
		t.Errorf(`CompileCondition("") = %v, %v; want nil, nil`, c, err)
	}
}

func TestConditionEval(t *testing.T) {
	base := Vars{Amount: 5000, ExecutionsThisPeriod: 2, TotalThisPeriod: 12000, Day: 5, Month: 3}
	for _, c := range []struct {
		expr string
		want bool
	}{
		{"amount == 5000", true},
		{"amount > 5000", false},
		{"executionsThisPeriod == 2", true},
		{"executionsThisPeriod < 2", false},
		{"totalThisPeriod == 12000", true},
		{"totalThisPeriod + amount <= 15000", false},
		{"day == 5", true},
		{"day > 28", false},
		{"month == 3", true},
		{"month in [1, 2]", false},
		{"[5, 20].exists(d, d == day) && month % 3 == 0", true},
	} {
		cond, err := CompileCondition(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if got, err := cond.Eval(base); err != nil || got != c.want {
			t.Errorf("%q = %v, %v; want %v", c.expr, got, err, c.want)
		}
	}
	var none *Condition
	if ok, err := none.Eval(base); !ok || err != nil || none.String() != "" || none.Cost() != 0 {
		t.Errorf("nil condition: %v, %v", ok, err)
	}
}

// TestConditionEvalErrors: a failure to evaluate is false and ErrCondition,
// never a pass.
func TestConditionEvalErrors(t *testing.T) {
	for _, c := range []struct {
		expr, msg string
		v         Vars
	}{
		{"amount * 2 > 0", "overflow", Vars{Amount: 1 << 62}},
		{"totalThisPeriod + amount > 0", "overflow", Vars{Amount: 1 << 62, TotalThisPeriod: 1 << 62}},
		{"amount / day > 0", "division by zero", Vars{Amount: 1}},
		{"amount % day == 0", "modulus by zero", Vars{Amount: 1}},
	} {
		cond, err := CompileCondition(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		ok, err := cond.Eval(c.v)
		if ok || !errors.Is(err, ErrCondition) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v, %v; want false and ErrCondition with %q", c.expr, ok, err, c.msg)
		}
	}
}

// TestConditionConcurrent: one compiled condition is evaluated by many
// executions at once (run with -race).
func TestConditionConcurrent(t *testing.T) {
	cond, err := CompileCondition("amount % 2 == 0 && day == month")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				v := Vars{Amount: int64(i + g), Day: i % 12, Month: i % 12}
				want := (i+g)%2 == 0
				if got, err := cond.Eval(v); err != nil || got != want {
					errs <- "wrong answer"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func BenchmarkConditionEval(b *testing.B) {
	cond, err := CompileCondition("amount <= 5000 && day <= 7 || totalThisPeriod + amount <= 100000")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		i++
		if _, err := cond.Eval(Vars{Amount: 1000 + i%5000, TotalThisPeriod: i % 90000, Day: int(i%28) + 1, Month: 3}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileCondition(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileCondition("amount <= 5000 && day <= 7 || totalThisPeriod + amount <= 100000"); err != nil {
			b.Fatal(err)
		}
	}
}
