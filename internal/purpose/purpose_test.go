package purpose

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestRegistry: numbers and names are unique, and names are what ledger
// ids may be derived from (lower case, digits and '-').
func TestRegistry(t *testing.T) {
	seen := map[string]uint16{}
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	all := All()
	if len(all) == 0 {
		t.Fatal("All lists no purposes")
	}
	for i, p := range all {
		if i > 0 && p <= all[i-1] {
			t.Errorf("All is not in numeric order at %d", p)
		}
		n, ok := Name(p)
		if !ok || !valid.MatchString(n) {
			t.Errorf("purpose %d: name %q", p, n)
		}
		if q, dup := seen[n]; dup {
			t.Errorf("purposes %d and %d share the name %q", q, p, n)
		}
		seen[n] = p
	}
	if _, ok := Name(0); ok {
		t.Error("purpose 0 has a name: zero means no purpose")
	}
}

// TestDocumented holds the registry and docs/formats.md's event table to
// each other: every purpose is documented with its number.
func TestDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/formats.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`\| purpose \| set by the switch: ([^|]*)\|`).FindSubmatch(b)
	if row == nil {
		t.Fatal("docs/formats.md: no purpose row in the event table")
	}
	documented := map[uint16]bool{}
	for _, m := range regexp.MustCompile(`(\d+) [a-z]`).FindAllSubmatch(row[1], -1) {
		n, _ := strconv.Atoi(string(m[1]))
		documented[uint16(n)] = true
	}
	for _, p := range All() {
		if !documented[p] {
			n, _ := Name(p)
			t.Errorf("purpose %d (%s) is not in docs/formats.md", p, n)
		}
	}
	if len(documented) != len(All()) {
		t.Errorf("docs/formats.md documents %d purposes, the registry has %d", len(documented), len(All()))
	}
}
