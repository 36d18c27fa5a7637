package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestListeningInodes(t *testing.T) {
	v4 := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 327 1 000000008b52fabe 100 0 0 10 0
   1: 0100007F:46AA 0100007F:BAF4 01 00000000:00000000 00:00000000 00000000     0        0 9001 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:46AA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5521 1 0000000000000000 100 0 0 10 0
   3: 0100007F:46AB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 100 0 0 10 0
   4: 0500000A:46AC 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6001 1 0000000000000000 100 0 0 10 0
   5: 0301007F:46AC 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6002 1 0000000000000000 100 0 0 10 0
   6: garbage
`)
	v6 := []byte(`  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:46AD 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:46AE 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7002 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:46AF 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7003 1 0000000000000000 100 0 0 10 0
   3: 000080FE00000000FF00A8C0FE8E9A65:46B0 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7004 1 0000000000000000 100 0 0 10 0
`)
	tests := []struct {
		table []byte
		port  int
		want  []string
	}{
		{v4, 0x46AA, []string{"5521"}}, // the established connection on the same port is not a listener
		{v4, 0x07E8, []string{"327"}},  // 0.0.0.0
		{v4, 0x46AB, nil},              // inode 0: a socket being torn down
		{v4, 0x46AC, []string{"6002"}}, // 127.0.1.3, not 10.0.0.5: loopback clients cannot reach that one
		{v4, 80, nil},
		{v6, 0x46AD, []string{"7001"}}, // ::1
		{v6, 0x46AE, []string{"7002"}}, // ::
		{v6, 0x46AF, []string{"7003"}}, // ::ffff:127.0.0.1
		{v6, 0x46B0, nil},              // fe80::…, link-local
	}
	for _, tc := range tests {
		if got := listeningInodes(tc.table, tc.port); !slices.Equal(got, tc.want) {
			t.Errorf("port %#x: inodes %v, want %v", tc.port, got, tc.want)
		}
	}
}

func TestProcAddr(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"0100007F", "127.0.0.1"},
		{"00000000", "0.0.0.0"},
		{"0500000A", "10.0.0.5"},
		{"00000000000000000000000001000000", "::1"},
		{"0000000000000000FFFF00000100007F", "127.0.0.1"},
		{"xyz", ""},
		{"0100", ""},
	}
	for _, tc := range tests {
		a, ok := procAddr(tc.in)
		if got := ""; ok {
			got = a.String()
			if got != tc.want {
				t.Errorf("procAddr(%q) = %s, want %s", tc.in, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("procAddr(%q) failed, want %s", tc.in, tc.want)
		}
	}
}

func TestParseProcessCPU(t *testing.T) {
	const rest = " 0 20 0 11 0 4242 4096 250" // cstime priority nice threads itrealvalue starttime …
	tests := []struct {
		stat       string
		cpu, start uint64
		ok         bool
	}{
		{"5460 (hulian) S 1 5460 1 0 -1 4194560 1048 0 0 0 1234 566 0" + rest, 1800, 4242, true},
		{"77 (a) b (c)) R 1 77 1 0 -1 0 0 0 0 0 100 50 0" + rest, 150, 4242, true},
		{"77 no command name", 0, 0, false},
		{"77 (x) S 1 2 3", 0, 0, false},
		{"77 (x) S 1 77 1 0 -1 0 0 0 0 0 x 50 0" + rest, 0, 0, false},
		{"77 (x) S 1 77 1 0 -1 0 0 0 0 0 1 50 0 0 20 0 11 0 y 1 1", 0, 0, false},
	}
	for _, tc := range tests {
		cpu, start, err := parseProcessCPU([]byte(tc.stat))
		if (err == nil) != tc.ok || cpu != tc.cpu || start != tc.start {
			t.Errorf("parseProcessCPU(%q) = %d, %d, %v; want %d, %d, ok %v", tc.stat, cpu, start, err, tc.cpu, tc.start, tc.ok)
		}
	}
}

func TestParseMachineCPU(t *testing.T) {
	stat := []byte("cpu  100 5 40 800 50 3 2 10 7 0\ncpu0 50 2 20 400 25 1 1 5 3 0\ncpu1 50 3 20 400 25 2 1 5 4 0\nintr 1 2\n")
	busy, idle, cpus, err := parseMachineCPU(stat)
	// busy: user+nice+system+irq+softirq+steal = 160 ticks; idle+iowait = 850.
	if err != nil || busy != 160 || idle != 850 || cpus != 2 {
		t.Errorf("parseMachineCPU = %d, %d, %d, %v; want 160, 850, 2", busy, idle, cpus, err)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu 1 2 3 x 5 6 7 8", "cpu 1 2 3 4 5 6 7 8\nintr 1\n"} {
		if _, _, _, err := parseMachineCPU([]byte(bad)); err == nil {
			t.Errorf("parseMachineCPU(%q): no error", bad)
		}
	}
}

func TestAddSystem(t *testing.T) {
	res := &Result{ElapsedSeconds: 10, Requests: 500_000}
	sys := &systemSampler{pid: 42, comm: "hulian"}
	s0 := systemSample{switchTicks: 1000, switchStart: 7, switchOK: true, busy: 5000, idle: 1000, cpus: 2}
	s1 := systemSample{switchTicks: 2000, switchStart: 7, switchOK: true, busy: 6700, idle: 1300, cpus: 2}
	var c CPU
	c.addSystem(sys, s0, s1, res)
	// 1,000 ticks: 10 s of the switch's CPU over 500,000 requests, half of
	// two CPUs for 10 s; the machine idle 300 of 2,000 ticks.
	if c.SwitchPID != 42 || c.SwitchCommand != "hulian" || c.SwitchSeconds != 10 || c.SwitchMicrosPerRequest != 20 ||
		c.SwitchUtilisation != 0.5 || c.MachineIdle == nil || *c.MachineIdle != 0.15 {
		t.Errorf("addSystem: %+v (idle %v)", c, c.MachineIdle)
	}

	saturated := s1
	saturated.idle = s0.idle
	c = CPU{}
	c.addSystem(&systemSampler{}, s0, saturated, res)
	if c.MachineIdle == nil || *c.MachineIdle != 0 || c.SwitchPID != 0 {
		t.Errorf("no idle time, no switch: %+v", c)
	}

	for name, s := range map[string]func(a, b *systemSample){
		"first sample failed":    func(a, b *systemSample) { a.switchOK = false },
		"second sample failed":   func(a, b *systemSample) { b.switchOK = false },
		"process restarted":      func(a, b *systemSample) { b.switchStart = 8 },
		"counter went backwards": func(a, b *systemSample) { b.switchTicks = 999 },
	} {
		a, b := s0, s1
		s(&a, &b)
		c = CPU{}
		c.addSystem(sys, a, b, res)
		if c.SwitchPID != 0 || c.SwitchSeconds != 0 {
			t.Errorf("%s: switch figures %+v", name, c)
		}
	}
	c = CPU{}
	c.addSystem(sys, systemSample{}, systemSample{}, res)
	if c.MachineIdle != nil {
		t.Errorf("/proc/stat not read: idle %v", *c.MachineIdle)
	}
}

func TestSystemReport(t *testing.T) {
	idle := 0.124
	r := &Result{Mode: Lookup, Duration: "10s", Warmup: "1s", Requests: 1, ElapsedSeconds: 1,
		CPU: CPU{ProcessSeconds: 1, MicrosPerRequest: 14.6, SwitchPID: 8516, SwitchCommand: "hulian",
			SwitchMicrosPerRequest: 20.6, SwitchUtilisation: 0.5, MachineIdle: &idle}}
	var b bytes.Buffer
	r.WriteText(&b)
	for _, want := range []string{
		`switch CPU  20.6 µs/request (process 8516, "hulian"; 50% of the machine)`,
		"idle        12% of this machine's CPU time went unused",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestTargetPort(t *testing.T) {
	for raw, want := range map[string]int{
		"http://127.0.0.1:18090": 18090, "http://localhost": 80, "https://[::1]": 443, "https://[::1]:8443": 8443,
	} {
		u, err := CheckTarget(raw, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := targetPort(u); got != want {
			t.Errorf("targetPort(%s) = %d, want %d", raw, got, want)
		}
	}
}

// TestListenerPIDs finds this test's own listener through the real /proc.
func TestListenerPIDs(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp:", err)
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Log("skipped:", err) // no IPv6 here
			continue
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pids, err := listenerPIDs("/proc", port)
		if err != nil || !pids[os.Getpid()] {
			t.Errorf("%s: listenerPIDs(%d) = %v, %v; want this process, %d", addr, port, pids, err, os.Getpid())
		}
		if pid := pickListener("/proc", port, os.Getpid()); pid != 0 {
			t.Errorf("%s: picked %d, the generator's own listener", addr, pid)
		}
		ln.Close()
		if pids, err := listenerPIDs("/proc", port); err == nil {
			t.Errorf("%s: after close: listenerPIDs(%d) = %v, want an error", addr, port, pids)
		}
	}
	if s := (&systemSampler{}).sample(); s.cpus == 0 || s.busy+s.idle == 0 {
		t.Errorf("no machine CPU time in /proc/stat: %+v", s)
	}
}

// TestPickListener walks a proc tree built by hand.
func TestPickListener(t *testing.T) {
	root := t.TempDir()
	mk := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("net/tcp", "header\n"+
		" 0: 0100007F:46AA 00000000:0000 0A 0:0 0:0 0 0 0 4242 1\n"+ // pid 20 alone
		" 1: 0100007F:46AB 00000000:0000 0A 0:0 0:0 0 0 0 5353 1\n") // pids 10 and 30: pre-forked
	mk("net/tcp6", "header\n"+
		" 0: 00000000000000000000000000000000:46AC 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 6464 1\n") // pids 10 and 40 (self)
	for pid, inodes := range map[int][]string{10: {"1111", "5353", "6464"}, 20: {"4242"}, 30: {"5353"}, 40: {"6464"}} {
		dir := filepath.Join(root, strconv.Itoa(pid), "fd")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, ino := range inodes {
			if err := os.Symlink("socket:["+ino+"]", filepath.Join(dir, strconv.Itoa(3+i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("self/fd/0", "") // not a process number: skipped
	for _, tc := range []struct{ port, want int }{
		{0x46AA, 20},
		{0x46AB, 0},  // two processes hold it: their CPU cannot be told apart
		{0x46AC, 10}, // the generator (40) holds it too: the other one
		{0x46AD, 0},  // nobody listens
	} {
		if got := pickListener(root, tc.port, 40); got != tc.want {
			t.Errorf("port %#x: picked %d, want %d", tc.port, got, tc.want)
		}
	}
}

// TestSystemSamplerOtherProcess starts this test binary again as a
// process that listens and burns CPU, and checks that the sampler finds
// it by its port, and only for a loopback target, and reads its CPU time.
func TestSystemSamplerOtherProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperListener$")
	cmd.Env = append(os.Environ(), "HULIAN_TEST_LISTENER=1")
	stdin, err := cmd.StdinPipe() // the helper exits when it closes
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() }()
	var port int
	if _, err := fmt.Fscanf(out, "port %d\n", &port); err != nil {
		t.Fatal("helper's port:", err)
	}
	if s := newSystemSampler("192.0.2.1", port); s.pid != 0 {
		t.Errorf("sampler looked up a remote target's process: %d", s.pid)
	}
	s := newSystemSampler("127.0.0.1", port)
	if s.pid != cmd.Process.Pid || s.comm == "" {
		t.Fatalf("sampler found pid %d (%q), want the helper's %d", s.pid, s.comm, cmd.Process.Pid)
	}
	first := s.sample()
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := s.sample()
		if !first.switchOK || !now.switchOK || now.switchStart != first.switchStart {
			t.Fatalf("samples %+v, %+v", first, now)
		}
		if now.switchTicks >= first.switchTicks+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper's CPU time did not grow")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHelperListener is the process TestSystemSamplerOtherProcess
// starts; on its own it does nothing.
func TestHelperListener(t *testing.T) {
	if os.Getenv("HULIAN_TEST_LISTENER") == "" {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0) // the test that started it has ended
	}()
	x := 0
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); x++ {
	}
	t.Log(x)
}
