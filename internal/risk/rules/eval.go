package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/hulian/hulian/internal/fault"
)

// Facts answers the functions of a rule for the transfer being screened. Its
// answers must not change during one Eval: Eval asks each window at most once
// per transfer and reuses the answer for every rule. Counts and sums are over
// committed transfers in the window ending now, excluding the screened one; a
// window is in (0, MaxWindow]. A panic in a method fails the rule that
// called it (see Match.Err), it does not crash the caller.
type Facts interface {
	// PayerCount is the number of transfers from the payerAccount in the window.
	PayerCount(d time.Duration) int64
	// PayerSum is their total in minor units.
	PayerSum(d time.Duration) int64
	// AliasCount is the number of transfers to the payee alias in the window.
	AliasCount(d time.Duration) int64
	// AliasSum is their total in minor units.
	AliasSum(d time.Duration) int64
	// InList reports whether the operator list called name holds value.
	InList(name, value string) bool
}

// Input is what a rule sees of one transfer; see the package doc for the
// meaning of each field.
type Input struct {
	Amount       int64
	Currency     string
	Payer        string
	Payee        string
	PayeeAlias   string
	PayerAccount string
	Hour         int
	FraudMarks   int
	Score        float64
	NewPayee     bool
	// Factors beyond MaxFactors are not seen by rules.
	Factors []string
}

// Match is the result of one rule for one transfer: the rule matched, or, when
// Err is not nil, the rule failed to evaluate and did NOT match.
type Match struct {
	// ID is the rule's ID.
	ID string
	// Action is the rule's action.
	Action Action
	// Reason is the rule's reason code.
	Reason string
	// Mode is the rule's mode; a shadow match only records.
	Mode Mode
	// Err, when not nil, says why the rule could not be evaluated (an integer
	// overflow, a window out of range, a panic in Facts, …). Such a rule is
	// treated as not matching, so that one broken rule does not stop payments;
	// the caller should count and log it, and may alert on it.
	Err error
}

// Matched reports whether the rule matched, that is evaluated to true.
func (m Match) Matched() bool { return m.Err == nil }

// Enforced reports whether m is a match whose action applies.
func (m Match) Enforced() bool { return m.Err == nil && m.Mode == ModeEnforce }

// First returns the first enforced match in ms with the given action, if any:
// with ActionDecline it is the rule that refuses a transfer.
func First(ms []Match, a Action) (Match, bool) {
	for _, m := range ms {
		if m.Enforced() && m.Action == a {
			return m, true
		}
	}
	return Match{}, false
}

// ErrEval marks the errors of Match.Err.
var ErrEval = fault.New(fault.Internal, "", "rule evaluation failed")

// Set is an immutable set of compiled rules in ID order; it is safe for
// concurrent use. The zero value and nil are empty sets.
type Set struct {
	rules []*Compiled
}

// NewSet returns a set of the given rules sorted by ID. If two rules share an
// ID, the later one in rules wins, as a replacement would.
func NewSet(rules []*Compiled) *Set {
	byID := make(map[string]*Compiled, len(rules))
	for _, c := range rules {
		if c != nil {
			byID[c.rule.ID] = c
		}
	}
	s := &Set{rules: make([]*Compiled, 0, len(byID))}
	for _, c := range byID {
		s.rules = append(s.rules, c)
	}
	slices.SortFunc(s.rules, func(a, b *Compiled) int { return strings.Compare(a.rule.ID, b.rule.ID) })
	return s
}

// Len returns the number of rules in s.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// Cost returns the sum of the static cost estimates of the rules of s: a bound
// of the work of one Eval that the caller may cap, since each rule is bounded
// only on its own.
func (s *Set) Cost() uint64 {
	var total uint64
	if s != nil {
		for _, c := range s.rules {
			total += c.cost
		}
	}
	return total
}

// Rules returns the compiled rules of s in ID order; the slice is a copy.
func (s *Set) Rules() []*Compiled {
	if s == nil {
		return nil
	}
	return slices.Clone(s.rules)
}

// Eval evaluates every rule of s against one transfer and appends to out, in
// ID order, a Match for each rule that matched (enforced and shadow alike) and
// for each rule that failed (Err set, not a match). It returns the extended
// slice; passing a reused out[:0] keeps Eval free of allocation for its result.
// in must not be nil and must not change during the call. f may be nil when
// no rule calls a velocity or list function; a rule that does then fails.
func (s *Set) Eval(in *Input, f Facts, out []Match) []Match {
	if s == nil || len(s.rules) == 0 {
		return out
	}
	a := activations.Get().(*activation)
	a.reset(in, f)
	frame, err := interpreter.NewExecutionFrame(a)
	if err != nil {
		// Only an input that is not an Activation is refused; a is one.
		panic(fmt.Sprintf("rules: execution frame: %v", err))
	}
	for _, c := range s.rules {
		v, _, err := c.prog.Eval(frame)
		b, isBool := v.(types.Bool)
		switch {
		case err != nil:
			out = append(out, c.match(fmt.Errorf("%w: rule %s: %v", ErrEval, c.rule.ID, err)))
		case !isBool:
			// Compile admits only bool expressions; kept for safety.
			out = append(out, c.match(fmt.Errorf("%w: rule %s: result %v is not a bool", ErrEval, c.rule.ID, v)))
		case bool(b):
			out = append(out, c.match(nil))
		}
	}
	frame.Close()
	a.release()
	return out
}

// match returns c's Match carrying err.
func (c *Compiled) match(err error) Match {
	return Match{ID: c.rule.ID, Action: c.rule.Action, Reason: c.rule.Reason, Mode: c.rule.Mode, Err: err}
}

// activations pools the per-evaluation state, so that an Eval allocates only
// the CEL values of inputs that changed since the activation was last used.
var activations = sync.Pool{New: func() any { return new(activation) }}

// Indexes of the variables in activation.vals and bits of activation.boxed.
const (
	varAmount = iota
	varCurrency
	varPayer
	varPayee
	varPayeeAlias
	varPayerAccount
	varHour
	varFraudMarks
	varScore
	varNewPayee
	varFactors
	numVars
)

// activationName is the name under which an activation resolves to itself, so
// that a function node inside a comprehension, whose frame's scope is the
// comprehension's, still finds it. It cannot be written in CEL.
const activationName = "\x00rules.activation"

// activation resolves the variables of one evaluation with a switch instead of
// a map. It converts each variable to a CEL value on first use and keeps the
// value across evaluations, reusing it when the next transfer has the same
// input (a currency, a payee, a zero count), which saves most conversions.
type activation struct {
	in    *Input
	facts Facts

	boxed uint32 // bit i: vals[i] is converted for the current input
	vals  [numVars]ref.Val
	last  Input // the inputs vals were converted from, for reuse

	windows  [8]windowSlot
	nWindows int
}

// windowSlot caches the answer of Facts for one function and window.
type windowSlot struct {
	kind   factKind
	window time.Duration
	live   bool // answered for the current input
	n      int64
	val    ref.Val
}

// reset prepares a for one evaluation.
func (a *activation) reset(in *Input, f Facts) {
	a.in, a.facts, a.boxed = in, f, 0
	for i := range a.nWindows {
		a.windows[i].live = false
	}
}

// release returns a to the pool without references to the caller's input.
func (a *activation) release() {
	a.in, a.facts = nil, nil
	activations.Put(a)
}

// Parent implements interpreter.Activation; there is none.
func (a *activation) Parent() interpreter.Activation { return nil }

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	var i int
	switch name {
	case "amount":
		i = varAmount
	case "currency":
		i = varCurrency
	case "payer":
		i = varPayer
	case "payee":
		i = varPayee
	case "payeeAlias":
		i = varPayeeAlias
	case "payerAccount":
		i = varPayerAccount
	case "hour":
		i = varHour
	case "fraudMarks":
		i = varFraudMarks
	case "score":
		i = varScore
	case "newPayee":
		i = varNewPayee
	case "factors":
		i = varFactors
	case activationName:
		return a, true
	default:
		return nil, false
	}
	if a.boxed&(1<<i) == 0 {
		a.box(i)
	}
	return a.vals[i], true
}

// box converts variable i of the current input, reusing the previous value
// when the input is the same.
func (a *activation) box(i int) {
	in, last, v := a.in, &a.last, &a.vals[i]
	fresh := *v == nil
	switch i {
	case varAmount:
		if fresh || in.Amount != last.Amount {
			last.Amount, *v = in.Amount, types.Int(in.Amount)
		}
	case varCurrency:
		boxString(v, &last.Currency, in.Currency, fresh)
	case varPayer:
		boxString(v, &last.Payer, in.Payer, fresh)
	case varPayee:
		boxString(v, &last.Payee, in.Payee, fresh)
	case varPayeeAlias:
		boxString(v, &last.PayeeAlias, in.PayeeAlias, fresh)
	case varPayerAccount:
		boxString(v, &last.PayerAccount, in.PayerAccount, fresh)
	case varHour:
		if fresh || in.Hour != last.Hour {
			last.Hour, *v = in.Hour, types.Int(in.Hour)
		}
	case varFraudMarks:
		if fresh || in.FraudMarks != last.FraudMarks {
			last.FraudMarks, *v = in.FraudMarks, types.Int(in.FraudMarks)
		}
	case varScore:
		if fresh || math.Float64bits(in.Score) != math.Float64bits(last.Score) {
			last.Score, *v = in.Score, types.Double(in.Score)
		}
	case varNewPayee:
		*v = types.Bool(in.NewPayee)
	case varFactors:
		factors := in.Factors
		if len(factors) > MaxFactors {
			factors = factors[:MaxFactors]
		}
		if fresh || !slices.Equal(factors, last.Factors) {
			// A copy: the caller may reuse its slice, and the CEL list
			// value must not change under a later evaluation.
			last.Factors = slices.Clone(factors)
			*v = types.NewStringList(types.DefaultTypeAdapter, last.Factors)
		}
	}
	a.boxed |= 1 << i
}

// boxString sets *v to s as a CEL string unless it already holds it.
func boxString(v *ref.Val, last *string, s string, fresh bool) {
	if fresh || s != *last {
		*last, *v = s, types.String(s)
	}
}

// factKind names one of the velocity functions.
type factKind uint8

// The velocity functions.
const (
	factPayerCount factKind = iota
	factPayerSum
	factAliasCount
	factAliasSum
)

// String returns the CEL name of k.
func (k factKind) String() string {
	return [...]string{fnPayerCount, fnPayerSum, fnAliasCount, fnAliasSum}[k]
}

// window answers a velocity function, asking Facts at most once per kind and
// window in an evaluation.
func (a *activation) window(kind factKind, d time.Duration) ref.Val {
	slot := -1
	for i := range a.nWindows {
		w := &a.windows[i]
		if w.kind == kind && w.window == d {
			if w.live {
				return w.val
			}
			slot = i
			break
		}
	}
	if a.facts == nil {
		return types.NewErr("%s: no facts for this evaluation", kind)
	}
	var n int64
	switch kind {
	case factPayerCount:
		n = a.facts.PayerCount(d)
	case factPayerSum:
		n = a.facts.PayerSum(d)
	case factAliasCount:
		n = a.facts.AliasCount(d)
	case factAliasSum:
		n = a.facts.AliasSum(d)
	}
	if slot < 0 {
		slot = a.freeWindow()
		if slot < 0 {
			return types.Int(n) // more distinct windows than slots: do not cache
		}
		a.windows[slot] = windowSlot{kind: kind, window: d}
	}
	w := &a.windows[slot]
	if w.val == nil || w.n != n {
		w.n, w.val = n, types.Int(n)
	}
	w.live = true
	return w.val
}

// freeWindow returns a slot not used by the current evaluation, preferring an
// empty one, or -1. Slots of windows that no rule asks any more (the set
// changed, or a computed window moved) are thus taken over.
func (a *activation) freeWindow() int {
	if a.nWindows < len(a.windows) {
		a.nWindows++
		return a.nWindows - 1
	}
	for i := range a.windows {
		if !a.windows[i].live {
			return i
		}
	}
	return -1
}

// activationOf finds the activation of an evaluation from any frame in it.
func activationOf(frame *interpreter.ExecutionFrame) *activation {
	if a, ok := frame.Scope().(*activation); ok {
		return a
	}
	if v, ok := frame.ResolveName(activationName); ok {
		a, _ := v.(*activation)
		return a
	}
	return nil
}

// windowNode evaluates payerCount, payerSum, aliasCount or aliasSum.
type windowNode struct {
	id        int64
	kind      factKind
	window    time.Duration               // the constant window, when arg is nil
	arg       interpreter.InterpretableV2 // the window computed at evaluation
	maxWindow time.Duration
}

// ID implements interpreter.Interpretable.
func (n *windowNode) ID() int64 { return n.id }

// Eval implements interpreter.Interpretable.
func (n *windowNode) Eval(vars interpreter.Activation) ref.Val {
	return interpreter.EvalActivation(vars, n.Exec)
}

// Exec implements interpreter.InterpretableV2. A computed window outside
// (0, maxWindow] is refused, not clamped: a clamped window would answer a
// question the rule did not ask.
func (n *windowNode) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	d := n.window
	if n.arg != nil {
		v := n.arg.Exec(frame)
		if types.IsUnknownOrError(v) {
			return v
		}
		dv, ok := v.(types.Duration)
		if !ok {
			return types.NewErrWithNodeID(n.id, "%s: window is %s, not a duration", n.kind, v.Type())
		}
		if err := windowInRange(dv.Duration, n.maxWindow); err != nil {
			return types.NewErrWithNodeID(n.id, "%s: %v", n.kind, err)
		}
		d = dv.Duration
	}
	a := activationOf(frame)
	if a == nil {
		return types.NewErrWithNodeID(n.id, "%s: not evaluated by a rule set", n.kind)
	}
	return types.LabelErrNode(n.id, a.window(n.kind, d))
}

// inListNode evaluates inList(name, value).
type inListNode struct {
	id          int64
	name, value interpreter.InterpretableV2
}

// ID implements interpreter.Interpretable.
func (n *inListNode) ID() int64 { return n.id }

// Eval implements interpreter.Interpretable.
func (n *inListNode) Eval(vars interpreter.Activation) ref.Val {
	return interpreter.EvalActivation(vars, n.Exec)
}

// Exec implements interpreter.InterpretableV2.
func (n *inListNode) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	name := n.name.Exec(frame)
	if types.IsUnknownOrError(name) {
		return name
	}
	value := n.value.Exec(frame)
	if types.IsUnknownOrError(value) {
		return value
	}
	ns, ok1 := name.(types.String)
	vs, ok2 := value.(types.String)
	if !ok1 || !ok2 {
		return types.NewErrWithNodeID(n.id, "%s: arguments are %s and %s, not strings", fnInList, name.Type(), value.Type())
	}
	a := activationOf(frame)
	if a == nil {
		return types.NewErrWithNodeID(n.id, "%s: not evaluated by a rule set", fnInList)
	}
	if a.facts == nil {
		return types.NewErrWithNodeID(n.id, "%s: no facts for this evaluation", fnInList)
	}
	return types.Bool(a.facts.InList(string(ns), string(vs)))
}
