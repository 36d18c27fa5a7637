// Package spec checks FSPIOP messages against the official FSPIOP OpenAPI
// definitions (v1.0 and v1.1) in tests, so that what the switch sends and
// accepts is held to the definition itself rather than to our reading of
// it.
//
// The definitions are the bundled documents that the npm package
// @mojaloop/api-snippets ships; validator/validate.js loads them from the
// package (installed by scripts/test.sh with npm ci, pinned by
// validator/package-lock.json) and checks messages with ajv, the validator
// Mojaloop's own SDK uses. Start runs one node process per test binary and
// every Validator shares it; calls from many goroutines are multiplexed
// over its stdin and stdout by id.
//
// A Validator checks a message's path parameters, headers and body
// (Check), or a synchronous answer's status and body (CheckResponse).
// Transport and Handler wrap an HTTP client and server so that an
// end-to-end test checks everything that passes and asserts at its end
// that Failures is empty. Besides the definition's schemas, a few checks
// are derived from its prose (validate.js lists them; their messages say
// "(derived)"): path values against the body schemas they stand for,
// Content-Type and Accept media types, the Date format, and the
// FSPIOP-URI and FSPIOP-HTTP-Method headers a signature needs.
//
// This package is for tests only: nothing in the switch may import it.
package spec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

// Sentinel errors.
var (
	// ErrNonconforming means a message does not conform to the FSPIOP
	// definition; the error's text names each field and what is wrong.
	ErrNonconforming = fault.New(fault.Invalid, "fspiop-nonconforming", "message does not conform to the FSPIOP definition")
	// ErrNotInstalled means validator/node_modules is missing: run make
	// test or scripts/test.sh, which install it with npm ci.
	ErrNotInstalled = fault.New(fault.Unavailable, "fspiop-validator-not-installed", "FSPIOP validator's npm packages are not installed")
	// ErrValidatorDown means the node process failed to start, died or
	// stopped answering; its stderr is in the error's text.
	ErrValidatorDown = fault.New(fault.Unavailable, "fspiop-validator-down", "FSPIOP validator process is not answering")
)

// DefaultVersion is the definition Transport and Handler check a message
// against when its Content-Type names no version they know.
const DefaultVersion = "1.1"

const (
	callTimeout  = 30 * time.Second
	readyTimeout = 60 * time.Second
	lineMax      = 16 << 20 // an answer line: errors are capped at 20 by validate.js
	stderrMax    = 4 << 10
)

// Validator checks FSPIOP messages and records the failures that its
// Transport and Handler see. Start returns one per test; all share one
// node process.
type Validator struct {
	p *proc

	mu       sync.Mutex
	failures []string
}

var (
	startOnce sync.Once
	shared    *proc
	sharedErr error
)

// Start returns a Validator for t. It skips t if node is not installed,
// and fails t if node is there but the validator's npm packages are not
// (run make test or scripts/test.sh) or the process does not start. The
// first call starts the node process that every later call shares; it ends
// when the test binary does (at its stdin's end of file).
func Start(t testing.TB) *Validator {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("spec: node is not installed, so FSPIOP messages are not checked against the OpenAPI definition (make test / scripts/test.sh install it)")
	}
	startOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatalf("spec: %v", sharedErr)
	}
	return &Validator{p: shared}
}

// Definitions names the package and version the definitions come from,
// e.g. "@mojaloop/api-snippets@18.4.1".
func (v *Validator) Definitions() string { return v.p.pkg }

// Check checks a request or callback: the operation that method and path
// (as sent: percent-encoded, query allowed) name in the given definition
// version ("1.0" or "1.1"), its path parameters, the headers in h (nil
// skips the header checks) and body (empty for none). It returns nil, an
// error wrapping ErrNonconforming that lists every failure, or one
// wrapping ErrValidatorDown.
func (v *Validator) Check(version, method, path string, h http.Header, body []byte) error {
	return v.p.check(version, method, path, nil, h, body)
}

// CheckResponse checks the synchronous answer (status and body; empty for
// none) to the request method and path: the status must be one the
// operation declares, and the body that status's schema, or absent when it
// declares none. Errors are as Check's.
func (v *Validator) CheckResponse(version, method, path string, status int, body []byte) error {
	return v.p.check(version, method, path, &status, nil, body)
}

// Failures returns what Transport and Handler found not to conform, one
// line per message, in the order they saw them.
func (v *Validator) Failures() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.failures...)
}

func (v *Validator) record(err error) {
	if err == nil {
		return
	}
	v.mu.Lock()
	v.failures = append(v.failures, err.Error())
	v.mu.Unlock()
}

// versionOf returns the version a message's Content-Type names, or
// DefaultVersion.
func versionOf(h http.Header) string {
	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err == nil && (params["version"] == "1.0" || params["version"] == "1.1") {
		return params["version"]
	}
	return DefaultVersion
}

// proc is the node process and the calls waiting for its answers.
type proc struct {
	pkg    string
	stderr *tailBuffer

	wmu   sync.Mutex // serializes lines on stdin
	stdin io.WriteCloser

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan answer
	dead    error // set once stdout ends
}

type request struct {
	ID      uint64            `json:"id"`
	Version string            `json:"version"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Status  *int              `json:"status,omitempty"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

type answer struct {
	ID     *uint64  `json:"id"`
	OK     bool     `json:"ok"`
	Op     string   `json:"op"`
	Errors []string `json:"errors"`
}

type ready struct {
	Ready    bool     `json:"ready"`
	Package  string   `json:"package"`
	Versions []string `json:"versions"`
}

func start() (*proc, error) {
	dir, err := validatorDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@mojaloop", "api-snippets", "package.json")); err != nil {
		return nil, fmt.Errorf("%w: %s/node_modules: run make test or scripts/test.sh (or npm ci --prefix %s)", ErrNotInstalled, dir, dir)
	}
	cmd := exec.Command("node", "validate.js")
	cmd.Dir = dir
	p := &proc{stderr: &tailBuffer{max: stderrMax}, pending: make(map[uint64]chan answer)}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrValidatorDown, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrValidatorDown, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start node: %v", ErrValidatorDown, err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), lineMax)
	first := make(chan error, 1)
	go func() {
		var r ready
		if !sc.Scan() {
			first <- fmt.Errorf("exited before it was ready: %v", sc.Err())
			return
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || !r.Ready {
			first <- fmt.Errorf("unexpected first line %q", sc.Text())
			return
		}
		p.pkg = r.Package
		first <- nil
		p.read(sc, cmd)
	}()
	select {
	case err = <-first:
	case <-time.After(readyTimeout):
		err = fmt.Errorf("not ready in %v", readyTimeout)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%w: %v; stderr: %s", ErrValidatorDown, err, p.stderr.String())
	}
	return p, nil
}

// read delivers answers to their callers until stdout ends, then fails
// every waiting and later call.
func (p *proc) read(sc *bufio.Scanner, cmd *exec.Cmd) {
	for sc.Scan() {
		var a answer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil || a.ID == nil {
			continue // validate.js answers a line it cannot parse with id null; ours always parse
		}
		p.mu.Lock()
		ch := p.pending[*a.ID]
		delete(p.pending, *a.ID)
		p.mu.Unlock()
		if ch != nil {
			ch <- a
		}
	}
	scanErr := sc.Err()
	waitErr := cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead = fmt.Errorf("%w: node exited (%v, read: %v); stderr: %s", ErrValidatorDown, waitErr, scanErr, p.stderr.String())
	for id, ch := range p.pending {
		close(ch)
		delete(p.pending, id)
	}
}

func (p *proc) check(version, method, path string, status *int, h http.Header, body []byte) error {
	what := method + " " + path
	if status != nil {
		what = fmt.Sprintf("%s answered %d", what, *status)
	}
	req := request{Version: version, Method: method, Path: path, Status: status, Body: json.RawMessage("null")}
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 {
		if !json.Valid(trimmed) {
			return fmt.Errorf("%w: %s (FSPIOP %s): body: not JSON", ErrNonconforming, what, version)
		}
		req.Body = trimmed
	}
	if h != nil {
		req.Headers = make(map[string]string, len(h))
		for k, vs := range h {
			req.Headers[k] = strings.Join(vs, ", ")
		}
	}
	a, err := p.call(req)
	if err != nil {
		return fmt.Errorf("check %s: %w", what, err)
	}
	if !a.OK {
		// Name the operation the path matched, so that a surprise (a
		// trailing "error" read as a {SubId}) shows.
		as := "FSPIOP " + version
		if a.Op != "" {
			as += " " + a.Op
		}
		return fmt.Errorf("%w: %s (%s): %s", ErrNonconforming, what, as, strings.Join(a.Errors, "; "))
	}
	return nil
}

func (p *proc) call(req request) (answer, error) {
	ch := make(chan answer, 1)
	p.mu.Lock()
	if p.dead != nil {
		p.mu.Unlock()
		return answer{}, p.dead
	}
	req.ID = p.next
	p.next++
	p.pending[req.ID] = ch
	p.mu.Unlock()

	line, err := json.Marshal(req)
	if err != nil {
		p.forget(req.ID)
		return answer{}, err
	}
	p.wmu.Lock()
	_, err = p.stdin.Write(append(line, '\n'))
	p.wmu.Unlock()
	if err != nil {
		p.forget(req.ID)
		return answer{}, fmt.Errorf("%w: write: %v", ErrValidatorDown, err)
	}
	timer := time.NewTimer(callTimeout)
	defer timer.Stop()
	select {
	case a, ok := <-ch:
		if !ok {
			p.mu.Lock()
			defer p.mu.Unlock()
			return answer{}, p.dead
		}
		return a, nil
	case <-timer.C:
		p.forget(req.ID)
		return answer{}, fmt.Errorf("%w: no answer in %v", ErrValidatorDown, callTimeout)
	}
}

func (p *proc) forget(id uint64) {
	p.mu.Lock()
	delete(p.pending, id)
	p.mu.Unlock()
}

// validatorDir finds validator/ next to this file, or, in a binary built
// with -trimpath, under the module root above the working directory.
func validatorDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "validator")
		if _, err := os.Stat(filepath.Join(d, "validate.js")); err == nil {
			return d, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrValidatorDown, err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "internal", "fspiop", "spec", "validator"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no validator/validate.js found from %s", ErrValidatorDown, wd)
		}
	}
}

// tailBuffer keeps the last max bytes written to it: node's stderr, for
// the message when the process dies.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.b) == 0 {
		return "(empty)"
	}
	return strings.TrimSpace(string(t.b))
}
