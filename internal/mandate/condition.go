package mandate

import (
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/hulian/hulian/internal/fault"
)

// Errors of conditions.
var (
	// ErrInvalidCondition means a mandate's condition does not compile:
	// too long, a syntax or type error, an unknown variable, a result that
	// is not bool or a cost above the limit; the message says which and
	// where (line:column). Answer 400 "invalid-condition".
	ErrInvalidCondition = fault.New(fault.Invalid, "invalid-condition", "invalid condition")
	// ErrCondition means the mandate's condition is false for this
	// execution, or failed to evaluate (an overflow, a division by zero).
	// Answer 422 "mandate-condition-failed".
	ErrCondition = fault.New(fault.Refused, "mandate-condition-failed", "mandate condition failed")
)

// Bounds of a condition. They are far above a sensible condition
// ("amount <= 5000 && day <= 7") and keep a hostile one cheap: all
// variables are integers, so only literal lists can be iterated, and the
// static cost bound catches their products.
const (
	// MaxConditionBytes bounds the text of a condition.
	MaxConditionBytes = 1000
	// MaxConditionCost bounds the static CEL cost estimate of a condition.
	MaxConditionCost = 1000
	// maxConditionDepth bounds the parser's recursion.
	maxConditionDepth = 32
	// maxConditionNodes bounds the nodes after macro expansion.
	maxConditionNodes = 500
	// maxNumberText is the longest text of a number: a double's shortest
	// round-trip form, e.g. "-2.2250738585072014e-308".
	maxNumberText = 32
)

// newEnv builds the environment of every condition: the variables of the
// package doc and the CEL standard library.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("amount", cel.IntType),
		cel.Variable("executionsThisPeriod", cel.IntType),
		cel.Variable("totalThisPeriod", cel.IntType),
		cel.Variable("day", cel.IntType),
		cel.Variable("month", cel.IntType),
		cel.ParserExpressionSizeLimit(MaxConditionBytes),
		cel.ParserRecursionLimit(maxConditionDepth),
		cel.ExpressionNodeLimit(maxConditionNodes),
	)
}

// env is built once: immutable, safe for concurrent use, and about a
// millisecond to build.
var env = sync.OnceValues(newEnv)

// Condition is a mandate's condition checked and planned for evaluation;
// immutable and safe for concurrent use. A nil *Condition is the absent
// condition, which always holds.
type Condition struct {
	src  string
	prog cel.Program
	cost uint64
}

// CompileCondition checks expr and plans it. "" is no condition: it
// returns nil, nil. Every refusal wraps ErrInvalidCondition, with the
// problem's line:column (1-based) for errors in the text, e.g.
//
//	invalid condition: 1:1: undeclared reference to 'amout' (did you mean 'amount'?)
//
// An error that does not wrap it is a fault of the environment.
func CompileCondition(expr string) (*Condition, error) {
	if expr == "" {
		return nil, nil
	}
	if len(expr) > MaxConditionBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidCondition, len(expr), MaxConditionBytes)
	}
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("condition environment: %w", err)
	}
	checked, iss := e.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidCondition, describeIssues(iss))
	}
	if t := checked.OutputType(); !t.IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("%w: yields %s, want bool", ErrInvalidCondition, cel.FormatCELType(t))
	}
	est, err := e.EstimateCost(checked, estimator{})
	if err != nil {
		return nil, fmt.Errorf("%w: cost: %v", ErrInvalidCondition, err)
	}
	if est.Max > MaxConditionCost {
		return nil, fmt.Errorf("%w: estimated cost %d exceeds the limit %d (comprehensions over lists multiply)",
			ErrInvalidCondition, est.Max, MaxConditionCost)
	}
	prog, err := e.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		// Planning fails for a constant only the planner evaluates, such
		// as a regular expression that does not compile.
		return nil, fmt.Errorf("%w: %v", ErrInvalidCondition, err)
	}
	return &Condition{src: expr, prog: prog, cost: est.Max}, nil
}

// String returns the condition's text; "" for nil.
func (c *Condition) String() string {
	if c == nil {
		return ""
	}
	return c.src
}

// Cost returns the upper bound of the static cost estimate of c.
func (c *Condition) Cost() uint64 {
	if c == nil {
		return 0
	}
	return c.cost
}

// Vars are the variables a condition sees; see the package doc. Amounts
// are minor units of the mandate's currency.
type Vars struct {
	// Amount is the execution's amount.
	Amount int64
	// ExecutionsThisPeriod counts the executions before this one in its period.
	ExecutionsThisPeriod int64
	// TotalThisPeriod is their total.
	TotalThisPeriod int64
	// Day is the day of the month, 1–31, in the scheme's zone.
	Day int
	// Month is the month, 1–12, in the scheme's zone.
	Month int
}

// Eval reports whether c holds for v; a nil c always holds. A condition
// that fails to evaluate is false with an error wrapping ErrCondition
// that says why: a failure is never taken for a pass.
func (c *Condition) Eval(v Vars) (bool, error) {
	if c == nil {
		return true, nil
	}
	a := activations.Get().(*activation)
	a.vars = v
	frame, err := interpreter.NewExecutionFrame(a)
	if err != nil {
		// Only an input that is not an Activation is refused; a is one.
		panic(fmt.Sprintf("mandate: execution frame: %v", err))
	}
	out, _, err := c.prog.Eval(frame)
	frame.Close()
	activations.Put(a)
	if err != nil {
		return false, fmt.Errorf("%w: %s: %v", ErrCondition, clip(c.src), err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		// CompileCondition admits only bool expressions; kept for safety.
		return false, fmt.Errorf("%w: %s: result %v is not a bool", ErrCondition, clip(c.src), out)
	}
	return bool(b), nil
}

// activations pools the activation of Eval, which would otherwise escape
// to the heap at every call.
var activations = sync.Pool{New: func() any { return new(activation) }}

// activation resolves the five variables with a switch instead of a map.
type activation struct{ vars Vars }

// Parent implements interpreter.Activation; there is none.
func (a *activation) Parent() interpreter.Activation { return nil }

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	var v ref.Val
	switch name {
	case "amount":
		v = types.Int(a.vars.Amount)
	case "executionsThisPeriod":
		v = types.Int(a.vars.ExecutionsThisPeriod)
	case "totalThisPeriod":
		v = types.Int(a.vars.TotalThisPeriod)
	case "day":
		v = types.Int(a.vars.Day)
	case "month":
		v = types.Int(a.vars.Month)
	default:
		return nil, false
	}
	return v, true
}

// describeIssues renders up to three CEL issues as "line:column: message",
// without the source snippet, which does not belong in a one-line detail.
func describeIssues(iss *cel.Issues) string {
	const show = 3
	errs := iss.Errors()
	var b strings.Builder
	for i, e := range errs {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(errs)-show)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(position(e.Location))
		b.WriteString(e.Message)
	}
	return b.String()
}

// position renders a CEL location as "line:column: " with a 1-based
// column, or "" when the location is unknown.
func position(l common.Location) string {
	if l == nil || l.Line() <= 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d: ", l.Line(), l.Column()+1)
}

// estimator bounds the text of numbers, whose size the CEL estimator
// otherwise takes as unknown, which would refuse string(amount).size().
type estimator struct{}

// EstimateSize knows no more than the estimator: every variable is an int.
func (estimator) EstimateSize(cost.AstNode) *cost.SizeEstimate { return nil }

// EstimateCallCost bounds conversions of numbers to strings.
func (estimator) EstimateCallCost(_, overloadID string, _ *cost.AstNode, _ []cost.AstNode) *cost.CallEstimate {
	switch overloadID {
	case overloads.IntToString, overloads.UintToString, overloads.DoubleToString, overloads.BoolToString:
		size := cost.RangedSizeEstimate(1, maxNumberText)
		return &cost.CallEstimate{CostEstimate: cost.FixedCostEstimate(1), ResultSize: &size}
	}
	return nil
}
