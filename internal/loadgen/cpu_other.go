//go:build !unix

package loadgen

import "time"

// cpuTime is not measured on this system: the CPU figures stay zero.
func cpuTime() time.Duration { return 0 }
