// Package rules owns the rule language of the risk engine: operator-written CEL
// expressions over one transfer and its velocity facts, compiled once when a rule
// is saved and evaluated for every transfer on the payment path.
//
// A Rule is the operator's text; Compile checks it (syntax, types, a bool result,
// windows within Options.MaxWindow, a bounded static cost) and returns a Compiled
// program; a Set is an immutable, ID-ordered group of compiled rules that Eval
// runs against one transfer's Input and Facts.
//
// Variables visible to every rule:
//
//	amount       int     transfer amount in minor units
//	currency     string  ISO 4217 code
//	payer        string  payer participant id
//	payee        string  payee participant id
//	payeeAlias   string  "TYPE:value"
//	payerAccount string  the payer participant's opaque reference of its user, "" when absent
//	hour         int     0–23 in the scheme's time zone
//	fraudMarks   int     open fraud reports against the payee alias
//	score        double  anomaly score in [0, 1]
//	newPayee     bool    first payment from payerAccount to payeeAlias
//	factors      list(string)  how the payer's wallet authenticated its user
//
// Functions, answered per transfer by the caller's Facts:
//
//	payerCount(duration) int   payerAccount's committed transfers in the window
//	payerSum(duration) int     their total in minor units
//	aliasCount(duration) int   committed transfers to payeeAlias in the window
//	aliasSum(duration) int     their total in minor units
//	inList(string, string) bool  whether the operator list (first) holds the value (second)
//
// The whole CEL standard library is available otherwise (string functions,
// macros such as exists and all); the static cost bound keeps a rule cheap.
//
// Evaluation is built for the payment path: one pooled activation per Eval
// resolves the variables with a switch and keeps their CEL values for the next
// transfer, and the five functions are planned into nodes that read the
// transfer's Facts directly (no function map, closure or argument slice per
// call), asking each window of each function once per transfer. What still
// allocates is CEL's own arithmetic, double comparison and comprehension state.
package rules

import (
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

// ErrInvalidRule marks every refusal of a rule by Compile or Rule.Validate: bad
// fields, an expression that does not parse or type-check, a non-bool result, a
// window out of bounds or a cost above the limit. Callers answer it with a 400
// problem "invalid-rule" whose detail is the error's message.
var ErrInvalidRule = fault.New(fault.Invalid, "invalid-rule", "invalid rule")

// Action is what an enforced rule does to a transfer it matches.
type Action string

// The actions a rule may take.
const (
	// ActionDecline refuses the transfer.
	ActionDecline Action = "decline"
	// ActionReview holds the transfer until the operator decides.
	ActionReview Action = "review"
	// ActionAlert only records an alert.
	ActionAlert Action = "alert"
)

// Valid reports whether a is one of the defined actions.
func (a Action) Valid() bool {
	return a == ActionDecline || a == ActionReview || a == ActionAlert
}

// Mode says whether a rule's action is applied or only recorded.
type Mode string

// The modes of a rule.
const (
	// ModeEnforce applies the rule's action.
	ModeEnforce Mode = "enforce"
	// ModeShadow only records what the rule would have done.
	ModeShadow Mode = "shadow"
)

// Valid reports whether m is one of the defined modes.
func (m Mode) Valid() bool {
	return m == ModeEnforce || m == ModeShadow
}

// Bounds on the fields of a Rule. They keep stored rules, alerts and problem
// details small, and the expression bound caps parse and check time.
const (
	// MaxIDBytes bounds Rule.ID and Rule.Reason.
	MaxIDBytes = 64
	// MaxDescriptionBytes bounds Rule.Description.
	MaxDescriptionBytes = 500
	// MaxExpressionBytes bounds Rule.Expression: a change of a rule is
	// recorded in a ledger mark whole, expression included.
	MaxExpressionBytes = 1024
)

// Rule is an operator's rule as saved: an expression, what to do when it matches,
// and whether to enforce it or only record it.
type Rule struct {
	// ID names the rule: a slug [a-z0-9][a-z0-9-]{0,63}.
	ID string
	// Expression is the CEL text; it must yield a bool.
	Expression string
	// Action is taken when the expression yields true and Mode is ModeEnforce.
	Action Action
	// Reason is the short code reported with a match, e.g. "sca-required"; same shape as ID.
	Reason string
	// Mode is ModeEnforce or ModeShadow.
	Mode Mode
	// Description is free text for operators, at most MaxDescriptionBytes.
	Description string
}

// Validate checks the fields of r other than the meaning of its expression
// (which Compile checks). Errors wrap ErrInvalidRule.
func (r Rule) Validate() error {
	if !validSlug(r.ID) {
		return fmt.Errorf("%w: id %q is not a slug of 1 to %d bytes [a-z0-9][a-z0-9-]*", ErrInvalidRule, clip(r.ID), MaxIDBytes)
	}
	if !r.Action.Valid() {
		return fmt.Errorf("%w: action %q is not decline, review or alert", ErrInvalidRule, clip(string(r.Action)))
	}
	if !r.Mode.Valid() {
		return fmt.Errorf("%w: mode %q is not enforce or shadow", ErrInvalidRule, clip(string(r.Mode)))
	}
	if !validSlug(r.Reason) {
		return fmt.Errorf("%w: reason %q is not a code of 1 to %d bytes [a-z0-9][a-z0-9-]*", ErrInvalidRule, clip(r.Reason), MaxIDBytes)
	}
	if len(r.Description) > MaxDescriptionBytes {
		return fmt.Errorf("%w: description is %d bytes, more than %d", ErrInvalidRule, len(r.Description), MaxDescriptionBytes)
	}
	if r.Expression == "" {
		return fmt.Errorf("%w: expression is empty", ErrInvalidRule)
	}
	if len(r.Expression) > MaxExpressionBytes {
		return fmt.Errorf("%w: expression is %d bytes, more than %d", ErrInvalidRule, len(r.Expression), MaxExpressionBytes)
	}
	return nil
}

// validSlug reports whether s matches [a-z0-9][a-z0-9-]{0,63}.
func validSlug(s string) bool {
	if len(s) == 0 || len(s) > MaxIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0:
		default:
			return false
		}
	}
	return true
}

// clip shortens s for quoting in an error message, so that a huge bad field
// does not become a huge problem detail.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Defaults of Options.
const (
	// DefaultMaxWindow is the longest velocity window a rule may ask for, the
	// default of the switch's --risk-max-window.
	DefaultMaxWindow = 24 * time.Hour
	// DefaultMaxCost bounds the static CEL cost estimate of one rule. A plain
	// comparison costs 1–3; 1000 admits macros over the factors list and
	// small list literals while keeping the worst rule in the tens of microseconds.
	DefaultMaxCost = 1000
)

// Options bound what Compile accepts. The zero value means the defaults.
type Options struct {
	// MaxWindow is the longest window of payerCount, payerSum, aliasCount and
	// aliasSum; 0 means DefaultMaxWindow. It must match the velocity state the
	// caller keeps, which cannot answer for longer windows.
	MaxWindow time.Duration
	// MaxCost bounds the static cost estimate of an expression; 0 means DefaultMaxCost.
	MaxCost uint64
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.MaxWindow == 0 {
		o.MaxWindow = DefaultMaxWindow
	}
	if o.MaxCost == 0 {
		o.MaxCost = DefaultMaxCost
	}
	return o
}

// Validate reports a negative window; it is a programmer or configuration error,
// not an invalid rule.
func (o Options) Validate() error {
	if o.MaxWindow < 0 {
		return fmt.Errorf("rules options: negative MaxWindow %s", o.MaxWindow)
	}
	return nil
}
