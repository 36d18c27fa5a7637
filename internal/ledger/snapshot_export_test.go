package ledger

// SameState and CheckIndexOf let the external snapshot tests compare a
// restored ledger with its original, index included.
var SameState = sameState

// CheckIndexOf checks the structure of s's idempotency index.
func CheckIndexOf(s *State) error { return checkIndex(&s.transfers) }
