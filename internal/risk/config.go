package risk

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/risk/rules"
)

// Rule is an operator's rule as stored.
type Rule struct {
	rules.Rule
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ruleSet is the rules in force: screening's snapshot.
type ruleSet struct {
	set   *rules.Set
	byID  map[string]Rule
	order []string // ids, sorted
}

// Bounds on what the operator keeps.
const (
	// RulesMax bounds the rules.
	RulesMax = 200
	// ListsMax bounds the lists, ListItemsMax the items of one,
	// ItemMax an item's bytes, ListRequestMax the items of one request.
	ListsMax       = 100
	ListItemsMax   = 100_000
	ItemMax        = 256
	ListRequestMax = 10_000
)

// byOperator is who a mark says made an operator's change: the
// operator's token is one identity today.
const byOperator = "operator"

func (e *Engine) options() rules.Options { return rules.Options{MaxWindow: e.cfg.MaxWindow} }

// loadRules compiles the stored rules. A stored rule that no longer
// compiles (a rule language change) fails the start, loudly, rather
// than leaving a control out unnoticed.
func (e *Engine) loadRules(ctx context.Context) error {
	rows, err := e.db.QueryContext(ctx, `SELECT id, expression, action, reason, mode, description, created_at, updated_at FROM risk_rules`)
	if err != nil {
		return fmt.Errorf("risk: load rules: %w", err)
	}
	defer rows.Close()
	byID := map[string]Rule{}
	for rows.Next() {
		var r Rule
		var action, mode string
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.Expression, &action, &r.Reason, &mode, &r.Description, &created, &updated); err != nil {
			return fmt.Errorf("risk: load rules: %w", err)
		}
		r.Action, r.Mode = rules.Action(action), rules.Mode(mode)
		r.CreatedAt, r.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		byID[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("risk: load rules: %w", err)
	}
	rs, err := e.compile(byID)
	if err != nil {
		return fmt.Errorf("risk: load rules: %w", err)
	}
	e.rules.Store(rs)
	return nil
}

// compile makes the rule set of byID.
func (e *Engine) compile(byID map[string]Rule) (*ruleSet, error) {
	rs := &ruleSet{byID: byID, order: slices.Sorted(maps.Keys(byID))}
	compiled := make([]*rules.Compiled, 0, len(byID))
	for _, id := range rs.order {
		c, err := rules.Compile(byID[id].Rule, e.options())
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", id, err)
		}
		compiled = append(compiled, c)
	}
	rs.set = rules.NewSet(compiled)
	return rs, nil
}

// Rules returns the rules, by id.
func (e *Engine) Rules() []Rule {
	rs := e.rules.Load()
	out := make([]Rule, 0, len(rs.order))
	for _, id := range rs.order {
		out = append(out, rs.byID[id])
	}
	return out
}

// Rule returns one rule.
func (e *Engine) Rule(id string) (Rule, error) {
	r, ok := e.rules.Load().byID[id]
	if !ok {
		return Rule{}, fmt.Errorf("rule %q: %w", id, ErrNotFound)
	}
	return r, nil
}

// PutRule saves a rule, new (created true) or replacing the one of its
// id, once it compiles; it is in force for the next payment screened.
func (e *Engine) PutRule(ctx context.Context, r rules.Rule) (Rule, bool, error) {
	if _, err := rules.Compile(r, e.options()); err != nil {
		return Rule{}, false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.rules.Load()
	old, replaced := cur.byID[r.ID]
	if !replaced && len(cur.byID) >= RulesMax {
		return Rule{}, false, fmt.Errorf("%w: at most %d rules", ErrLimit, RulesMax)
	}
	now := e.now().UTC()
	saved := Rule{Rule: r, CreatedAt: now, UpdatedAt: now}
	if replaced {
		saved.CreatedAt = old.CreatedAt
	}
	byID := maps.Clone(cur.byID)
	byID[r.ID] = saved
	rs, err := e.compile(byID)
	if err != nil {
		return Rule{}, false, err
	}
	if err := e.mark(ctx, purpose.RiskRule, r.ID, encodeMeta("put", r.ID, string(r.Action), r.Reason, string(r.Mode),
		r.Expression, digest(r.Description), byOperator)); err != nil {
		return Rule{}, false, err
	}
	if _, err := e.db.ExecContext(ctx, `INSERT INTO risk_rules (id, expression, action, reason, mode, description, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET expression = $2, action = $3, reason = $4, mode = $5, description = $6, updated_at = $8`,
		r.ID, r.Expression, string(r.Action), r.Reason, string(r.Mode), r.Description,
		saved.CreatedAt.UnixNano(), saved.UpdatedAt.UnixNano()); err != nil {
		return Rule{}, false, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	e.rules.Store(rs)
	return saved, !replaced, nil
}

// DeleteRule removes a rule.
func (e *Engine) DeleteRule(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.rules.Load()
	if _, ok := cur.byID[id]; !ok {
		return fmt.Errorf("rule %q: %w", id, ErrNotFound)
	}
	byID := maps.Clone(cur.byID)
	delete(byID, id)
	rs, err := e.compile(byID)
	if err != nil {
		return err
	}
	if err := e.mark(ctx, purpose.RiskRule, id, encodeMeta("delete", id, byOperator)); err != nil {
		return err
	}
	if _, err := e.db.ExecContext(ctx, `DELETE FROM risk_rules WHERE id = $1`, id); err != nil {
		return fmt.Errorf("rule %s: %w", id, err)
	}
	e.rules.Store(rs)
	return nil
}

// digest is the hex SHA-256 of s: what a mark keeps of text that may be
// long (a description, a list's items).
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// listSet is the operator's lists: screening's snapshot. A change copies
// the one list it changes.
type listSet struct {
	byName map[string]map[string]struct{}
}

func (l *listSet) has(name, value string) bool {
	items, ok := l.byName[name]
	if !ok {
		return false
	}
	_, ok = items[value]
	return ok
}

// List is an operator's list.
type List struct {
	Name  string
	Items []string // sorted
}

func (e *Engine) loadLists(ctx context.Context) error {
	rows, err := e.db.QueryContext(ctx, `SELECT list, item FROM risk_list_items`)
	if err != nil {
		return fmt.Errorf("risk: load lists: %w", err)
	}
	defer rows.Close()
	ls := &listSet{byName: map[string]map[string]struct{}{}}
	for rows.Next() {
		var name, item string
		if err := rows.Scan(&name, &item); err != nil {
			return fmt.Errorf("risk: load lists: %w", err)
		}
		if ls.byName[name] == nil {
			ls.byName[name] = map[string]struct{}{}
		}
		ls.byName[name][item] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("risk: load lists: %w", err)
	}
	e.lists.Store(ls)
	return nil
}

// Lists returns the lists' names, sorted.
func (e *Engine) Lists() []string { return slices.Sorted(maps.Keys(e.lists.Load().byName)) }

// List returns one list.
func (e *Engine) List(name string) (List, error) {
	items, ok := e.lists.Load().byName[name]
	if !ok {
		return List{}, fmt.Errorf("list %q: %w", name, ErrNotFound)
	}
	return List{Name: name, Items: slices.Sorted(maps.Keys(items))}, nil
}

// checkItems refuses a request's items that are not printable text of
// at most ItemMax bytes, or too many.
func checkItems(items []string) error {
	if len(items) > ListRequestMax {
		return fmt.Errorf("%w: at most %d items per request", ErrInvalid, ListRequestMax)
	}
	for _, it := range items {
		if it == "" || !validText(it, ItemMax) {
			return fmt.Errorf("%w: an item must be 1 to %d bytes of printable UTF-8", ErrInvalid, ItemMax)
		}
	}
	return nil
}

// validName reports whether a list name is a slug, as rule ids are.
func validName(s string) bool {
	if s == "" || len(s) > rules.MaxIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// List operations.
const (
	listReplace = "replace"
	listAdd     = "add"
	listRemove  = "remove"
)

// PutList replaces a list's items (an empty list deletes it).
func (e *Engine) PutList(ctx context.Context, name string, items []string) (List, error) {
	return e.changeList(ctx, listReplace, name, items)
}

// AddItems adds items to a list, creating it.
func (e *Engine) AddItems(ctx context.Context, name string, items []string) (List, error) {
	return e.changeList(ctx, listAdd, name, items)
}

// RemoveItem removes one item from a list.
func (e *Engine) RemoveItem(ctx context.Context, name, item string) (List, error) {
	return e.changeList(ctx, listRemove, name, []string{item})
}

func (e *Engine) changeList(ctx context.Context, op, name string, items []string) (List, error) {
	if !validName(name) {
		return List{}, fmt.Errorf("%w: list name must be 1 to %d bytes of [a-z0-9._-]", ErrInvalid, rules.MaxIDBytes)
	}
	if err := checkItems(items); err != nil {
		return List{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.lists.Load()
	old, exists := cur.byName[name]
	next := map[string]struct{}{}
	switch op {
	case listReplace:
	case listAdd:
		next = maps.Clone(old)
		if next == nil {
			next = map[string]struct{}{}
		}
	case listRemove:
		if _, ok := old[items[0]]; !ok {
			return List{}, fmt.Errorf("list %q item %q: %w", name, items[0], ErrNotFound)
		}
		next = maps.Clone(old)
		delete(next, items[0])
	}
	if op != listRemove {
		for _, it := range items {
			next[it] = struct{}{}
		}
	}
	switch {
	case len(next) > ListItemsMax:
		return List{}, fmt.Errorf("%w: at most %d items in a list", ErrLimit, ListItemsMax)
	case !exists && len(next) > 0 && len(cur.byName) >= ListsMax:
		return List{}, fmt.Errorf("%w: at most %d lists", ErrLimit, ListsMax)
	}
	sorted := slices.Sorted(maps.Keys(next))
	// The mark names the change and the digest of the whole list after
	// it (its sorted items, each followed by a newline), so that an
	// auditor holding the list can check it.
	var all []byte
	for _, it := range sorted {
		all = append(all, it...)
		all = append(all, '\n')
	}
	changed := ""
	if op == listRemove {
		changed = items[0]
	}
	if err := e.mark(ctx, purpose.RiskList, name, encodeMeta(op, name, strconv.Itoa(len(items)), changed,
		strconv.Itoa(len(sorted)), digest(string(all)), byOperator)); err != nil {
		return List{}, err
	}
	err := e.db.Transact(ctx, func(tx *sql.Tx) error {
		switch op {
		case listReplace:
			if _, err := tx.ExecContext(ctx, `DELETE FROM risk_list_items WHERE list = $1`, name); err != nil {
				return err
			}
		case listRemove:
			_, err := tx.ExecContext(ctx, `DELETE FROM risk_list_items WHERE list = $1 AND item = $2`, name, items[0])
			return err
		}
		for _, it := range items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO risk_list_items (list, item) VALUES ($1, $2) ON CONFLICT DO NOTHING`, name, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return List{}, fmt.Errorf("list %s: %w", name, err)
	}
	byName := maps.Clone(cur.byName)
	if len(next) == 0 {
		delete(byName, name)
	} else {
		byName[name] = next
	}
	e.lists.Store(&listSet{byName: byName})
	return List{Name: name, Items: sorted}, nil
}
