package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// On a shared machine the generator's CPU and the switch's add up to
// what the machine can give, so a run against a switch on this machine
// also reports the switch's CPU and how long the machine stood idle:
// without them a figure below target cannot say whether the switch, the
// generator or neither used the time. Linux only; elsewhere, and when
// the switch's process cannot be read, those figures stay zero.

// userHZ is the unit of the times in /proc/*/stat and /proc/stat: the
// kernel's USER_HZ, 100 on every Linux architecture Go supports.
const userHZ = 100

// errNoListener means no local process was found listening on the port.
var errNoListener = errors.New("no local process listens on the port")

// systemSample is the switch's and the machine's CPU counters at one
// moment.
type systemSample struct {
	switchCPU  time.Duration // 0: the switch's process is not known
	busy, idle time.Duration // the machine's, summed over its CPUs
}

// systemSampler reads the counters of the process listening on port (if
// one does, here) and of the machine.
type systemSampler struct {
	pid int // 0: none found
}

// newSystemSampler looks for the local process that listens on the
// target's port; a remote or unreadable target leaves pid zero.
func newSystemSampler(host string, port int) *systemSampler {
	s := &systemSampler{}
	if !IsLoopbackHost(host) {
		return s
	}
	if pid, err := listenerPID("/proc", port); err == nil && pid != os.Getpid() {
		s.pid = pid
	}
	return s
}

func (s *systemSampler) sample() systemSample {
	var out systemSample
	if s.pid != 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid)); err == nil {
			out.switchCPU, _ = parseProcessCPU(b)
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		out.busy, out.idle, _ = parseMachineCPU(b)
	}
	return out
}

// listenerPID returns the process, under the proc file system at root,
// that owns a TCP socket listening on port (IPv4 or IPv6).
func listenerPID(root string, port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		for _, ino := range listeningInodes(b, port) {
			inodes["socket:["+ino+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return 0, errNoListener
	}
	procs, err := os.ReadDir(root)
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid <= 0 {
			continue
		}
		fdDir := filepath.Join(root, p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // another user's process, or gone
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && inodes[link] {
				return pid, nil
			}
		}
	}
	return 0, errNoListener
}

// listeningInodes returns the inodes of the sockets in a /proc/net/tcp
// or tcp6 table that listen on port.
func listeningInodes(table []byte, port int) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // the header
	for sc.Scan() {
		// "0: 0100007F:46AA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 327 …"
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" { // 0A: TCP_LISTEN
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port && f[9] != "0" {
			out = append(out, f[9])
		}
	}
	return out
}

// parseProcessCPU returns the user and system time in a /proc/PID/stat
// line, all of the process's threads together.
func parseProcessCPU(stat []byte) (time.Duration, error) {
	// The command name, in parentheses, may hold spaces and parentheses
	// itself: the fields are counted from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("process stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("process stat: %d fields", len(f)+2)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("process stat: %w", err)
	}
	return ticks(utime + stime), nil
}

// parseMachineCPU returns the busy and the idle time of all CPUs from
// /proc/stat's first line. Waiting for I/O counts as idle; guest time
// is already in user time, and steal (time the hypervisor gave another
// machine) as busy, since this machine could not use it.
func parseMachineCPU(stat []byte) (busy, idle time.Duration, err error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("machine stat: first line %q", line)
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if v[i], err = strconv.ParseUint(f[i+1], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("machine stat: %w", err)
		}
	}
	idleTicks := v[3] + v[4]
	busyTicks := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return ticks(busyTicks), ticks(idleTicks), nil
}

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / userHZ }
