package loadgen

// On a shared machine the generator's CPU and the switch's add up to
// what the machine can give, so a run against a switch on this machine
// also reports the switch's CPU and how long the machine stood idle:
// without them a figure below target cannot say whether the switch, the
// generator or neither used the time. Linux only (procstat_linux.go);
// elsewhere, and when the switch's process cannot be told, those
// figures are left out.

// systemSample is the switch's and the machine's CPU counters at one
// moment, in the kernel's clock ticks.
type systemSample struct {
	switchTicks uint64 // user and system time of the switch's process
	switchStart uint64 // the process's start time: tells a reused pid
	switchOK    bool
	busy, idle  uint64 // the machine's, summed over its CPUs
	cpus        int    // the machine's CPUs; 0: /proc/stat not read
}

// systemSampler samples the process listening on the target's port, if
// exactly one other process on this machine does, and the machine.
type systemSampler struct {
	pid  int    // 0: none, or not told apart
	comm string // its command name, for the report
}

// addSystem fills in the switch's and the machine's figures from the
// samples taken when the measured phase began and ended.
func (c *CPU) addSystem(sys *systemSampler, s0, s1 systemSample, res *Result) {
	if s0.cpus > 0 && s1.cpus > 0 && s1.busy >= s0.busy && s1.idle >= s0.idle {
		if busy, idle := s1.busy-s0.busy, s1.idle-s0.idle; busy+idle > 0 {
			v := round(float64(idle)/float64(busy+idle), 3)
			c.MachineIdle = &v
		}
	}
	// Both samples must be of the same process, the one found at the
	// start: a process restarted meanwhile (or a pid reused) is not it.
	if sys.pid == 0 || !s0.switchOK || !s1.switchOK || s0.switchStart != s1.switchStart || s1.switchTicks < s0.switchTicks {
		return
	}
	c.SwitchPID, c.SwitchCommand = sys.pid, sys.comm
	sec := ticksSeconds(s1.switchTicks - s0.switchTicks)
	c.SwitchSeconds = round(sec, 3)
	if res.ElapsedSeconds > 0 && s1.cpus > 0 {
		c.SwitchUtilisation = round(sec/res.ElapsedSeconds/float64(s1.cpus), 3)
	}
	if res.Requests > 0 {
		c.SwitchMicrosPerRequest = round(sec*1e6/float64(res.Requests), 2)
	}
}

// userHZ is the unit of the times in /proc/*/stat and /proc/stat: the
// kernel's USER_HZ, 100 on every Linux architecture Go supports.
const userHZ = 100

func ticksSeconds(n uint64) float64 { return float64(n) / userHZ }
