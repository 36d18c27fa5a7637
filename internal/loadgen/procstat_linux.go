package loadgen

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errNoListener means no local process was found listening on the port.
var errNoListener = errors.New("no local process listens on the port")

// newSystemSampler looks for the process that listens on the target's
// port here. It finds none for a remote target, for this process's own
// listener (an in-process switch's CPU is the generator's already), or
// when several processes hold the socket (a pre-forking server, socket
// activation): their CPU could not be told apart. A proxy in front of
// the switch would be found instead of it; the report names the
// process's command so that this shows.
func newSystemSampler(host string, port int) *systemSampler {
	s := &systemSampler{}
	if !IsLoopbackHost(host) {
		return s
	}
	if s.pid = pickListener("/proc", port, os.Getpid()); s.pid != 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", s.pid)); err == nil {
			s.comm = strings.TrimSpace(string(b))
		}
	}
	return s
}

// pickListener returns the one process other than self that listens on
// port, or 0 if there is none or more than one.
func pickListener(root string, port, self int) int {
	pids, err := listenerPIDs(root, port)
	if err != nil {
		return 0
	}
	delete(pids, self)
	if len(pids) != 1 {
		return 0
	}
	for pid := range pids {
		return pid
	}
	return 0
}

// sample reads the switch's and the machine's counters now.
func (s *systemSampler) sample() systemSample {
	var out systemSample
	if s.pid != 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid)); err == nil {
			out.switchTicks, out.switchStart, err = parseProcessCPU(b)
			out.switchOK = err == nil
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		if busy, idle, cpus, err := parseMachineCPU(b); err == nil {
			out.busy, out.idle, out.cpus = busy, idle, cpus
		}
	}
	return out
}

// listenerPIDs returns the processes, under the proc file system at
// root, that hold a TCP socket listening on port at a loopback or
// wildcard address (IPv4 or IPv6): those loopback clients reach.
func listenerPIDs(root string, port int) (map[int]bool, error) {
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
		return nil, errNoListener
	}
	procs, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	pids := map[int]bool{}
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
				pids[pid] = true
				break
			}
		}
	}
	if len(pids) == 0 {
		return nil, errNoListener
	}
	return pids, nil
}

// listeningInodes returns the inodes of the sockets in a /proc/net/tcp
// or tcp6 table that listen on port at a loopback or wildcard address.
func listeningInodes(table []byte, port int) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // the header
	for sc.Scan() {
		// "0: 0100007F:46AA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 327 …"
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" || f[9] == "0" { // 0A: TCP_LISTEN; inode 0: being torn down
			continue
		}
		hexAddr, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		if a, ok := procAddr(hexAddr); ok && (a.IsLoopback() || a.IsUnspecified()) {
			out = append(out, f[9])
		}
	}
	return out
}

// procAddr decodes an address as /proc/net/tcp{,6} prints it: the
// address's 32-bit words, each as the hexadecimal of its in-memory
// value, so in host byte order.
func procAddr(s string) (netip.Addr, bool) {
	raw, err := hex.DecodeString(s)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, false
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap(), true
}

// parseProcessCPU returns the user and system time in a /proc/PID/stat
// line, all of the process's threads together, and the process's start
// time, both in clock ticks.
func parseProcessCPU(stat []byte) (cpu, start uint64, err error) {
	// The command name, in parentheses, may hold spaces and parentheses
	// itself: the fields are counted from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("process stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime, stime and starttime are fields 14,
	// 15 and 22.
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("process stat: %d fields", len(f)+2)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, 0, fmt.Errorf("process stat: %w", err)
	}
	return utime + stime, start, nil
}

// parseMachineCPU returns the busy and the idle time of all CPUs from
// /proc/stat's first line, in clock ticks, and how many CPUs it lists.
// Waiting for I/O counts as idle; guest time is already in user time,
// and steal (time the hypervisor gave another machine) as busy, since
// this machine could not use it.
func parseMachineCPU(stat []byte) (busy, idle uint64, cpus int, err error) {
	line, rest, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0, fmt.Errorf("machine stat: first line %.40q", line)
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if v[i], err = strconv.ParseUint(f[i+1], 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("machine stat: %w", err)
		}
	}
	for l := range bytes.Lines(rest) {
		if len(l) > 3 && bytes.HasPrefix(l, []byte("cpu")) && '0' <= l[3] && l[3] <= '9' {
			cpus++
		}
	}
	if cpus == 0 {
		return 0, 0, 0, fmt.Errorf("machine stat: no cpuN lines")
	}
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[3] + v[4], cpus, nil
}
