package mark

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// fakeLedger answers as the ledger's idempotency does: the same id with
// the same Ref exists, with another Ref exists-different.
type fakeLedger map[ledger.ID]ledger.ID

func (f fakeLedger) Submit(_ context.Context, cmds []ledger.Command) ([]ledger.Result, error) {
	c := cmds[0]
	ref, ok := f[c.ID]
	switch {
	case !ok:
		f[c.ID] = c.Ref
		return []ledger.Result{{Status: ledger.StatusOK}}, nil
	case ref == c.Ref:
		return []ledger.Result{{Status: ledger.StatusExists}}, nil
	}
	return []ledger.Result{{Status: ledger.StatusExistsDifferent}}, nil
}

// TestRecord: a mark is recorded once, again is not created, other
// content under its key is a conflict; Meta decodes to its fields.
func TestRecord(t *testing.T) {
	l := fakeLedger{}
	cny := money.MustCurrency("CNY")
	m := Mark{Purpose: 14, Currency: cny, Key: []string{"created", "r-1"}, Fields: []string{"created", "r-1", "", "100"}}
	for i, want := range []bool{true, false} {
		if created, err := Record(context.Background(), l, m); err != nil || created != want {
			t.Fatalf("record %d: %v %v", i, created, err)
		}
	}
	other := m
	other.Fields = []string{"created", "r-1", "", "101"}
	if _, err := Record(context.Background(), l, other); !errors.Is(err, ErrConflict) {
		t.Errorf("other content: %v", err)
	}
	if f, ok := Decode(m.Meta()); !ok || !slices.Equal(f, m.Fields) {
		t.Errorf("decode: %q %v", f, ok)
	}
	for _, bad := range []string{"", "\x02", "\x01\x05ab"} {
		if _, ok := Decode(bad); ok {
			t.Errorf("decoded %q", bad)
		}
	}
	// Keys are not ambiguous: ("ab","c") and ("a","bc") differ.
	a := Mark{Purpose: 14, Key: []string{"ab", "c"}}
	b := Mark{Purpose: 14, Key: []string{"a", "bc"}}
	if a.ID() == b.ID() {
		t.Error("keys collide")
	}
}
