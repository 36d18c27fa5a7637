//go:build !linux

package loadgen

// newSystemSampler finds nothing off Linux: the switch's CPU and the
// machine's idle time are not reported there.
func newSystemSampler(host string, port int) *systemSampler { return &systemSampler{} }

// sample returns nothing off Linux.
func (s *systemSampler) sample() systemSample { return systemSample{} }
