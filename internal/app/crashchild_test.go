package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
)

// The crash tests (TestRiskCrash, TestExperiencesCrash, TestFSPIOPCrash,
// TestFXCrash) kill -9 a switch that runs in a child process: this test
// binary again, running only the test's child side (a Test…Child that
// skips unless its environment says otherwise). The parent starts it with
// startChild; the child serves with serveChild.

// childListening starts the line on which a child tells its URL.
const childListening = "crashchild listening "

// crashChild is the switch process of a crash test.
type crashChild struct {
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
	done  chan struct{} // closed once its standard output ends
	once  sync.Once
}

// startChild runs the child test name (this binary, -test.run=^name$)
// with env added to this process's environment, and waits until it
// listens. When the child ends first it tries again for retry (a killed
// child's database session may take a moment to end); with retry 0 it
// tries once. The child is killed when the test ends, if not before.
func startChild(t *testing.T, name string, env map[string]string, retry time.Duration) *crashChild {
	t.Helper()
	deadline := time.Now().Add(retry)
	for {
		c, err := tryChild(t, name, env)
		if err == nil {
			return c
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("start the child: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tryChild starts the child once; an error says why it did not listen.
func tryChild(t *testing.T, name string, env map[string]string) (*crashChild, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &crashChild{cmd: cmd, stdin: in, done: make(chan struct{})}
	t.Cleanup(c.kill)
	urls := make(chan string, 1)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), childListening); ok {
				urls <- u
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case c.url = <-urls:
		return c, nil
	case <-c.done:
		c.kill()
		return nil, errors.New("the child ended before it listened")
	case <-time.After(30 * time.Second):
		c.kill()
		return nil, errors.New("the child did not listen within 30 s")
	}
}

// kill sends the child SIGKILL and waits for it to end.
func (c *crashChild) kill() {
	c.once.Do(func() {
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
		c.cmd.Wait()
		c.stdin.Close()
	})
}

// serveChild is a child's side: it opens the switch on cfg, serves it,
// tells the parent its URL on standard output, and returns the switch
// once its standard input ends (the parent closed it, or died); what
// follows is the caller's.
func serveChild(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Serve(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(os.Stdout, childListening+a.URL())
	io.Copy(io.Discard, os.Stdin)
	return a
}
