//go:build !linux

package loadgen

import "time"

// systemSample is empty off Linux: the switch's CPU and the machine's
// idle time are not reported there.
type systemSample struct {
	switchCPU  time.Duration
	busy, idle time.Duration
}

type systemSampler struct{ pid int }

func newSystemSampler(host string, port int) *systemSampler { return &systemSampler{} }

func (s *systemSampler) sample() systemSample { return systemSample{} }
