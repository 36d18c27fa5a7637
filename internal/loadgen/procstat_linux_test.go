package loadgen

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestListeningInodes(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 327 1 000000008b52fabe 100 0 0 10 0
   1: 0100007F:46AA 0100007F:BAF4 01 00000000:00000000 00:00000000 00000000     0        0 9001 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:46AA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5521 1 0000000000000000 100 0 0 10 0
   3: 0100007F:46AB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 100 0 0 10 0
   4: garbage
`)
	tests := []struct {
		port int
		want []string
	}{
		{0x46AA, []string{"5521"}}, // the established connection on the same port is not a listener
		{0x07E8, []string{"327"}},
		{0x46AB, nil}, // inode 0: a socket being torn down
		{80, nil},
	}
	for _, tc := range tests {
		got := listeningInodes(table, tc.port)
		if len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
			t.Errorf("port %d: inodes %v, want %v", tc.port, got, tc.want)
		}
	}
}

func TestParseProcessCPU(t *testing.T) {
	tests := []struct {
		stat string
		want time.Duration
		ok   bool
	}{
		// utime 1234 and stime 566 ticks of 10 ms.
		{"5460 (hulian) S 1 5460 1 0 -1 4194560 1048 0 0 0 1234 566 0 0 20 0 11 0 123 4096 250", 18 * time.Second, true},
		{"77 (a) b (c)) R 1 77 1 0 -1 0 0 0 0 0 100 50 0 0 20 0 1 0 1 1 1", 1500 * time.Millisecond, true},
		{"77 no command name", 0, false},
		{"77 (x) S 1 2 3", 0, false},
		{"77 (x) S 1 77 1 0 -1 0 0 0 0 0 x 50 0", 0, false},
	}
	for _, tc := range tests {
		got, err := parseProcessCPU([]byte(tc.stat))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseProcessCPU(%q) = %v, %v; want %v, ok %v", tc.stat, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseMachineCPU(t *testing.T) {
	stat := []byte("cpu  100 5 40 800 50 3 2 10 7 0\ncpu0 50 2 20 400 25 1 1 5 3 0\n")
	busy, idle, err := parseMachineCPU(stat)
	// busy: user+nice+system+irq+softirq+steal = 160 ticks; idle+iowait = 850.
	if err != nil || busy != 1600*time.Millisecond || idle != 8500*time.Millisecond {
		t.Errorf("parseMachineCPU = %v, %v, %v; want 1.6s, 8.5s", busy, idle, err)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu 1 2 3 x 5 6 7 8"} {
		if _, _, err := parseMachineCPU([]byte(bad)); err == nil {
			t.Errorf("parseMachineCPU(%q): no error", bad)
		}
	}
}

// TestListenerPID finds this test's own listener through the real /proc.
func TestListenerPID(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp:", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	pid, err := listenerPID("/proc", port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("listenerPID(%d) = %d, %v; want this process, %d", port, pid, err, os.Getpid())
	}
	ln.Close()
	if pid, err := listenerPID("/proc", port); err == nil {
		t.Errorf("after close: listenerPID(%d) = %d, want an error", port, pid)
	}
	// The sampler leaves out the generator's own process: its CPU is
	// reported already.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if s := newSystemSampler("127.0.0.1", ln2.Addr().(*net.TCPAddr).Port); s.pid != 0 {
		t.Errorf("sampler found pid %d for the generator's own listener", s.pid)
	}
	if s := newSystemSampler("192.0.2.1", ln2.Addr().(*net.TCPAddr).Port); s.pid != 0 {
		t.Errorf("sampler looked up a remote target's process: %d", s.pid)
	}
	if s := (&systemSampler{}).sample(); s.busy+s.idle == 0 {
		t.Error("no machine CPU time in /proc/stat")
	}
}

// TestListenerPIDFakeProc checks the walk over a proc tree built by hand,
// where the listening socket belongs to another process.
func TestListenerPIDFakeProc(t *testing.T) {
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
	mk("net/tcp", "header\n 0: 0100007F:46AA 00000000:0000 0A 0:0 0:0 0 0 0 4242 1\n")
	mk("net/tcp6", "header\n")
	for pid, inode := range map[int]string{10: "1111", 20: "4242"} {
		dir := filepath.Join(root, strconv.Itoa(pid), "fd")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("socket:["+inode+"]", filepath.Join(dir, "3")); err != nil {
			t.Fatal(err)
		}
	}
	mk("self/fd/0", "") // not a process number: skipped
	if pid, err := listenerPID(root, 0x46AA); err != nil || pid != 20 {
		t.Errorf("listenerPID = %d, %v; want 20", pid, err)
	}
	if _, err := listenerPID(root, 0x46AB); err == nil {
		t.Error("a port nobody listens on: no error")
	}
}

// TestSystemSamplerOtherProcess starts this test binary again as a
// process that listens and burns CPU, and checks that the sampler finds
// it and reads its CPU time.
func TestSystemSamplerOtherProcess(t *testing.T) {
	if os.Getenv("HULIAN_TEST_LISTENER") != "" {
		return // the helper is TestHelperListener
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperListener$")
	cmd.Env = append(os.Environ(), "HULIAN_TEST_LISTENER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var port int
	if _, err := fmt.Fscanf(out, "port %d\n", &port); err != nil {
		t.Fatal("helper's port:", err)
	}
	s := newSystemSampler("127.0.0.1", port)
	if s.pid != cmd.Process.Pid {
		t.Fatalf("sampler found pid %d, want the helper's %d", s.pid, cmd.Process.Pid)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.sample().switchCPU < 20*time.Millisecond {
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
	x := 0
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); x++ {
	}
	t.Log(x)
}
