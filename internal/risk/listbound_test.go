package risk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/purpose"
)

// TestListBounds fills a list to exactly ListItemsMax items through the
// engine's API, in requests of exactly ListRequestMax, and makes ListsMax
// lists in all; then each change of the table is tried at those bounds.
// One refused leaves everything as it was: the full list holds exactly
// its items, in memory and in the database (an engine opened again on
// it loads them), and no ledger mark records it. One taken shows that
// the bound is the bound, not one less.
func TestListBounds(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	full := listItems()
	extra := fmt.Sprintf("%06d", ListItemsMax) // one past the bound
	for i := 0; i < ListItemsMax; i += ListRequestMax {
		if _, err := e.AddItems(ctx, "full", full[i:i+ListRequestMax]); err != nil {
			t.Fatalf("items %d to %d: %v", i, i+ListRequestMax, err)
		}
	}
	for i := 1; i < ListsMax; i++ {
		if _, err := e.PutList(ctx, fmt.Sprintf("l%d", i), []string{"a"}); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	checkFull(t, e, full, "filled")

	long := strings.Repeat("x", ItemMax)
	tooMany := append(slices.Clone(full[:ListRequestMax]), extra)
	for _, tc := range []struct {
		name   string
		change func() error
		want   error // nil: taken
	}{
		{"one item more", func() error { _, err := e.AddItems(ctx, "full", []string{extra}); return err }, ErrLimit},
		{"one item more among items it holds", func() error {
			_, err := e.AddItems(ctx, "full", []string{full[0], extra, full[1]})
			return err
		}, ErrLimit},
		{"items it holds", func() error { _, err := e.AddItems(ctx, "full", full[:ListRequestMax]); return err }, nil},
		{"one out, one in", func() error {
			if _, err := e.RemoveItem(ctx, "full", full[7]); err != nil {
				return err
			}
			_, err := e.AddItems(ctx, "full", []string{full[7]})
			return err
		}, nil},
		{"an item of ItemMax+1 bytes", func() error { _, err := e.AddItems(ctx, "l1", []string{long + "x"}); return err }, ErrInvalid},
		{"an item of ItemMax+1 bytes in a replacement", func() error { _, err := e.PutList(ctx, "l1", []string{"a", long + "x"}); return err }, ErrInvalid},
		{"an item of ItemMax bytes", func() error { _, err := e.PutList(ctx, "l1", []string{long}); return err }, nil},
		{"ListRequestMax+1 items", func() error { _, err := e.AddItems(ctx, "full", tooMany); return err }, ErrInvalid},
		{"ListRequestMax+1 items it holds", func() error {
			_, err := e.AddItems(ctx, "full", append(slices.Clone(full[:ListRequestMax]), full[ListRequestMax]))
			return err
		}, ErrInvalid},
		{"ListRequestMax+1 items replacing a small list", func() error { _, err := e.PutList(ctx, "l2", tooMany); return err }, ErrInvalid},
		{"a list more", func() error { _, err := e.PutList(ctx, "more", []string{"a"}); return err }, ErrLimit},
		{"a list more by adding", func() error { _, err := e.AddItems(ctx, "more", []string{"a"}); return err }, ErrLimit},
		{"a replacement at ListsMax lists", func() error { _, err := e.PutList(ctx, "l2", []string{"b"}); return err }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := listMarks(t, e)
			err := tc.change()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n := listMarks(t, e) - before; tc.want != nil && n != 0 {
				t.Errorf("a refused change left %d ledger marks", n)
			}
			checkFull(t, e, full, tc.name)
		})
	}

	// What the database holds: an engine opened on it loads the same.
	again, err := Open(ctx, e.db, e.ledger, Config{}, e.now)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	checkFull(t, again, full, "opened again")
	if l, err := again.List("l1"); err != nil || !slices.Equal(l.Items, []string{long}) {
		t.Errorf("l1 opened again: %v %v", l.Items, err)
	}
}

// listItems are the full list's items, sorted as List returns them:
// short, so that filling the list costs the database little.
func listItems() []string {
	items := make([]string, ListItemsMax)
	for i := range items {
		items[i] = fmt.Sprintf("%06d", i)
	}
	return items
}

// checkFull checks that e holds ListsMax lists, "full" with exactly the
// items of full.
func checkFull(t *testing.T, e *Engine, full []string, when string) {
	t.Helper()
	if n := len(e.Lists()); n != ListsMax {
		t.Errorf("%s: %d lists, want %d", when, n, ListsMax)
	}
	l, err := e.List("full")
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if len(l.Items) != ListItemsMax {
		t.Fatalf("%s: the full list holds %d items, want %d", when, len(l.Items), ListItemsMax)
	}
	if !slices.Equal(l.Items, full) {
		for i := range full {
			if l.Items[i] != full[i] {
				t.Fatalf("%s: item %d is %q, want %q", when, i, l.Items[i], full[i])
			}
		}
	}
}

// listMarks counts the ledger's marks of list changes.
func listMarks(t *testing.T, e *Engine) int {
	t.Helper()
	n := 0
	err := e.ledger.(*journal.Journal).Scan(context.Background(), 0, 1<<62, func(ev ledger.Event) error {
		if ev.Kind == ledger.KindMark && ev.Purpose == purpose.RiskList {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
