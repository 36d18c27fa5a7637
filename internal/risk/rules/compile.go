package rules

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// Names of the functions a rule may call besides the CEL standard library.
const (
	fnPayerCount = "payerCount"
	fnPayerSum   = "payerSum"
	fnAliasCount = "aliasCount"
	fnAliasSum   = "aliasSum"
	fnInList     = "inList"
)

// Sizes the static cost estimate assumes for the inputs. Eval truncates
// factors to MaxFactors, so that a comprehension over them stays within the
// estimate; strings are not truncated (that would change what inList and ==
// see), so the caller should keep them within assumedStringBytes, as aliases
// and ids are. A longer string only makes string functions proportionally
// slower, it cannot multiply.
const (
	// MaxFactors is the most authentication factors a rule sees.
	MaxFactors = 8
	// assumedStringBytes is the size assumed for every string variable and factor.
	assumedStringBytes = 256
	// factsCallCost is the cost charged for one call to a Facts method.
	factsCallCost = 10
	// maxNestingDepth bounds the parser's recursion, far above any sane rule.
	maxNestingDepth = 64
	// maxNumberText is the longest text of a number: a double's shortest
	// round-trip form, e.g. "-2.2250738585072014e-308".
	maxNumberText = 32
	// maxNodes bounds the nodes of an expression after macro expansion.
	maxNodes = 2000
)

// newEnv builds the CEL environment of every rule: the variables and functions
// of the package doc with the standard library.
func newEnv() (*cel.Env, error) {
	window := []*cel.Type{cel.DurationType}
	return cel.NewEnv(
		cel.Variable("amount", cel.IntType),
		cel.Variable("currency", cel.StringType),
		cel.Variable("payer", cel.StringType),
		cel.Variable("payee", cel.StringType),
		cel.Variable("payeeAlias", cel.StringType),
		cel.Variable("payerAccount", cel.StringType),
		cel.Variable("hour", cel.IntType),
		cel.Variable("fraudMarks", cel.IntType),
		cel.Variable("score", cel.DoubleType),
		cel.Variable("newPayee", cel.BoolType),
		cel.Variable("factors", cel.ListType(cel.StringType)),
		// Late binding: the implementations depend on the transfer being
		// screened; the decorator below replaces every call with a node that
		// reads the Facts from the evaluation's activation.
		cel.Function(fnPayerCount, cel.Overload("payerCount_duration", window, cel.IntType, cel.LateFunctionBinding())),
		cel.Function(fnPayerSum, cel.Overload("payerSum_duration", window, cel.IntType, cel.LateFunctionBinding())),
		cel.Function(fnAliasCount, cel.Overload("aliasCount_duration", window, cel.IntType, cel.LateFunctionBinding())),
		cel.Function(fnAliasSum, cel.Overload("aliasSum_duration", window, cel.IntType, cel.LateFunctionBinding())),
		cel.Function(fnInList, cel.Overload("inList_string_string",
			[]*cel.Type{cel.StringType, cel.StringType}, cel.BoolType, cel.LateFunctionBinding())),
		cel.ParserExpressionSizeLimit(MaxExpressionBytes),
		cel.ParserRecursionLimit(maxNestingDepth),
		cel.ExpressionNodeLimit(maxNodes),
	)
}

// env is built once: a CEL environment is immutable and safe for concurrent
// use, and building it costs about a millisecond.
var env = sync.OnceValues(newEnv)

// Compiled is a rule whose expression has been checked and planned; it is
// immutable and safe for concurrent use.
type Compiled struct {
	rule Rule
	prog cel.Program
	cost uint64
}

// Rule returns the rule c was compiled from.
func (c *Compiled) Rule() Rule { return c.rule }

// Cost returns the upper bound of the static cost estimate of c's expression.
func (c *Compiled) Cost() uint64 { return c.cost }

// Compile checks r and plans its expression for evaluation. Every refusal wraps
// ErrInvalidRule; the message names the problem and, for errors in the
// expression, its line:column (1-based), e.g.
//
//	invalid rule: expression: 1:1: undeclared reference to 'payee_alias' (did you mean 'payeeAlias'?)
//
// Constant windows of the velocity functions must lie in (0, opts.MaxWindow];
// a window computed at evaluation time outside it fails that evaluation (see
// Set.Eval). An error that does not wrap ErrInvalidRule is a fault of opts or
// of the environment.
func Compile(r Rule, opts Options) (*Compiled, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("rules environment: %w", err)
	}
	checked, iss := e.Compile(r.Expression)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("%w: expression: %s", ErrInvalidRule, describeIssues(iss))
	}
	if t := checked.OutputType(); !t.IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("%w: expression yields %s, want bool", ErrInvalidRule, cel.FormatCELType(t))
	}
	native := checked.NativeRep()
	if msg := checkWindows(native, opts.MaxWindow); msg != "" {
		return nil, fmt.Errorf("%w: expression: %s", ErrInvalidRule, msg)
	}
	est, err := e.EstimateCost(checked, estimator{})
	if err != nil {
		return nil, fmt.Errorf("%w: expression: cost: %v", ErrInvalidRule, err)
	}
	if est.Max > opts.MaxCost {
		return nil, fmt.Errorf("%w: expression: estimated cost %d exceeds the limit %d (comprehensions over lists multiply)",
			ErrInvalidRule, est.Max, opts.MaxCost)
	}
	prog, err := e.Program(checked,
		cel.EvalOptions(cel.OptOptimize),
		cel.CustomDecoratorV2(decorator(opts.MaxWindow)))
	if err != nil {
		// Planning fails for a constant that only the planner evaluates,
		// e.g. a regular expression that does not compile.
		return nil, fmt.Errorf("%w: expression: %v", ErrInvalidRule, err)
	}
	return &Compiled{rule: r, prog: prog, cost: est.Max}, nil
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

// position renders a CEL location as "line:column: " with a 1-based column,
// or "" when the location is unknown.
func position(l common.Location) string {
	if l == nil || l.Line() <= 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d: ", l.Line(), l.Column()+1)
}

// checkWindows reports the first velocity call whose window is a constant
// outside (0, maxWindow] or not a valid duration, or "" when there is none.
func checkWindows(a *ast.AST, maxWindow time.Duration) string {
	var msg string
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if msg != "" || e.Kind() != ast.CallKind {
			return
		}
		call := e.AsCall()
		if !isWindowFunction(call.FunctionName()) || len(call.Args()) != 1 {
			return
		}
		arg := call.Args()[0]
		if arg.Kind() != ast.CallKind {
			return
		}
		conv := arg.AsCall()
		if conv.FunctionName() != "duration" || len(conv.Args()) != 1 || conv.Args()[0].Kind() != ast.LiteralKind {
			return
		}
		s, ok := conv.Args()[0].AsLiteral().(types.String)
		if !ok {
			return
		}
		pos := position(a.SourceInfo().GetStartLocation(conv.Args()[0].ID()))
		d, err := parseWindow(s)
		if err != nil {
			msg = fmt.Sprintf("%s%s: %v", pos, call.FunctionName(), err)
			return
		}
		if err := windowInRange(d, maxWindow); err != nil {
			msg = fmt.Sprintf("%s%s: %v", pos, call.FunctionName(), err)
		}
	}))
	return msg
}

// isWindowFunction reports whether name is one of the velocity functions.
func isWindowFunction(name string) bool {
	switch name {
	case fnPayerCount, fnPayerSum, fnAliasCount, fnAliasSum:
		return true
	}
	return false
}

// parseWindow converts a duration literal the way CEL's duration() does, so
// that the compile-time check and the evaluation agree.
func parseWindow(s types.String) (time.Duration, error) {
	v := s.ConvertToType(types.DurationType)
	d, ok := v.(types.Duration)
	if !ok {
		return 0, fmt.Errorf("window %q is not a duration", clip(string(s)))
	}
	return d.Duration, nil
}

// windowInRange refuses a window that is not positive or longer than the
// velocity state the caller keeps.
func windowInRange(d, maxWindow time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("window %s is not positive", d)
	}
	if d > maxWindow {
		return fmt.Errorf("window %s is longer than the maximum %s", d, maxWindow)
	}
	return nil
}

// estimator gives the CEL cost estimator the sizes of the inputs and the cost
// of the functions it does not know.
type estimator struct{}

// EstimateSize bounds the string variables and the factors list; without it
// the estimator assumes unbounded sizes and refuses every string function.
func (estimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	str := cost.RangedSizeEstimate(0, assumedStringBytes)
	switch path[0] {
	case "currency", "payer", "payee", "payeeAlias", "payerAccount":
		if len(path) == 1 {
			return &str
		}
	case "factors":
		if len(path) == 1 {
			return &cost.SizeEstimate{Min: 0, Max: MaxFactors, Elem: &str}
		}
		if len(path) == 2 && path[1] == "@items" {
			return &str
		}
	}
	return nil
}

// EstimateCallCost charges a fixed cost for the functions answered by Facts,
// and bounds the text of numbers, whose size the estimator otherwise takes as
// unknown, which would refuse a computed window such as
// duration(string(hour) + "h").
func (estimator) EstimateCallCost(function, overloadID string, _ *cost.AstNode, _ []cost.AstNode) *cost.CallEstimate {
	switch function {
	case fnPayerCount, fnPayerSum, fnAliasCount, fnAliasSum, fnInList:
		return &cost.CallEstimate{CostEstimate: cost.FixedCostEstimate(factsCallCost)}
	}
	switch overloadID {
	case overloads.IntToString, overloads.UintToString, overloads.DoubleToString, overloads.BoolToString:
		size := cost.RangedSizeEstimate(1, maxNumberText)
		return &cost.CallEstimate{CostEstimate: cost.FixedCostEstimate(1), ResultSize: &size}
	}
	return nil
}

// decorator replaces the late-bound calls of the rule functions with nodes
// that read the Facts from the evaluation's activation directly: no map of
// functions, no closure and no argument slice per call, and a constant window
// converted once here instead of parsed at every evaluation.
func decorator(maxWindow time.Duration) interpreter.InterpretableDecoratorV2 {
	return func(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
		call, ok := i.(interpreter.InterpretableCall)
		if !ok {
			return i, nil
		}
		var kind factKind
		switch call.Function() {
		case fnPayerCount:
			kind = factPayerCount
		case fnPayerSum:
			kind = factPayerSum
		case fnAliasCount:
			kind = factAliasCount
		case fnAliasSum:
			kind = factAliasSum
		case fnInList:
			args := call.Args()
			if len(args) != 2 {
				return nil, fmt.Errorf("%s takes 2 arguments, got %d", fnInList, len(args))
			}
			return &inListNode{id: call.ID(), name: args[0], value: args[1]}, nil
		default:
			return i, nil
		}
		args := call.Args()
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes 1 argument, got %d", call.Function(), len(args))
		}
		n := &windowNode{id: call.ID(), kind: kind, maxWindow: maxWindow, arg: args[0]}
		if d, ok := constantWindow(args[0]); ok {
			if err := windowInRange(d, maxWindow); err != nil {
				return nil, fmt.Errorf("%s: %w", call.Function(), err)
			}
			n.window, n.arg = d, nil
		}
		return n, nil
	}
}

// constantWindow returns the value of a planned window argument when it is a
// constant: a duration the optimizer precomputed, or duration("literal").
func constantWindow(arg interpreter.InterpretableV2) (time.Duration, bool) {
	if c, ok := arg.(interpreter.InterpretableConst); ok {
		if d, ok := c.Value().(types.Duration); ok {
			return d.Duration, true
		}
		return 0, false
	}
	conv, ok := arg.(interpreter.InterpretableCall)
	if !ok || conv.Function() != "duration" || len(conv.Args()) != 1 {
		return 0, false
	}
	lit, ok := conv.Args()[0].(interpreter.InterpretableConst)
	if !ok {
		return 0, false
	}
	s, ok := lit.Value().(types.String)
	if !ok {
		return 0, false
	}
	d, err := parseWindow(s)
	return d, err == nil
}
