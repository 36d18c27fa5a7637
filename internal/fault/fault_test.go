package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindsAndCodes(t *testing.T) {
	errQuote := New(Refused, "quote-expired", "quote expired")
	for _, c := range []struct {
		err  error
		kind Kind
		code string
	}{
		{New(Invalid, "", "bad"), Invalid, "invalid-request"},
		{New(NotFound, "", "none"), NotFound, "not-found"},
		{New(Conflict, "", "taken"), Conflict, "duplicate-conflict"},
		{errQuote, Refused, "quote-expired"},
		{fmt.Errorf("transfer x: %w", errQuote), Refused, "quote-expired"},
		{fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", New(Unavailable, "", "closed"))), Unavailable, "unavailable"},
		{errors.New("plain"), Internal, "internal"},
		{nil, Internal, "internal"},
	} {
		if k, code := KindOf(c.err), CodeOf(c.err); k != c.kind || code != c.code {
			t.Errorf("%v: %v %q, want %v %q", c.err, k, code, c.kind, c.code)
		}
	}
	if !errors.Is(fmt.Errorf("x: %w", errQuote), errQuote) {
		t.Error("errors.Is does not see a wrapped fault")
	}
	if errQuote.Error() != "quote expired" {
		t.Errorf("message %q", errQuote.Error())
	}
}

// TestKindNames: every kind has a name and a generic code; Kinds lists
// them all, for front ends' tests that map each.
func TestKindNames(t *testing.T) {
	ks := Kinds()
	if len(ks) != int(kindEnd) || ks[0] != Internal {
		t.Fatalf("Kinds() = %v", ks)
	}
	for _, k := range ks {
		if k.String() == "kind?" || New(k, "", "x").Code() == "" {
			t.Errorf("kind %d has no name or code", k)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New with an unknown kind did not panic")
		}
	}()
	New(kindEnd, "", "x")
}
