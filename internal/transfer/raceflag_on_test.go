//go:build race

package transfer

// raceEnabled says the race detector is on: it allocates, so tests that
// count allocations skip their counts.
const raceEnabled = true
