package ledger

import (
	"fmt"
	"slices"
)

// sameState compares everything two ledgers hold, including the
// idempotency index's fingerprints.
func sameState(a, b *State) error {
	if a.seq != b.seq || a.lastTS != b.lastTS {
		return fmt.Errorf("seq/ts %d/%d vs %d/%d", a.seq, a.lastTS, b.seq, b.lastTS)
	}
	if !slices.Equal(a.Accounts(), b.Accounts()) {
		return fmt.Errorf("accounts\n%+v\n%+v", a.Accounts(), b.Accounts())
	}
	if err := sameIndex(&a.transfers, &b.transfers); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if !slices.Equal(a.Reservations(), b.Reservations()) {
		return fmt.Errorf("reservations\n%+v\n%+v", a.Reservations(), b.Reservations())
	}
	return nil
}

// sameIndex compares two indexes' contents exactly. Their layouts differ
// (each has its own hash seed), so it looks every entry of one up in the
// other.
func sameIndex(a, b *idIndex) error {
	if a.len() != b.len() {
		return fmt.Errorf("%d vs %d transfers", a.len(), b.len())
	}
	for id, e := range a.all() {
		if f, ok := b.get(id); !ok || f != e {
			return fmt.Errorf("transfer %s: %+v vs %+v (found %v)", id, e, f, ok)
		}
	}
	return nil
}
