package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDemo runs the demo end to end, as a user would, and checks that it
// passes its own checks. It asserts correctness, never speed: on a loaded
// machine the demo makes fewer payments, and must still balance.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 10 s")
	}
	// The demo's default data directory is a new one in the temp dir:
	// point the temp dir at the test's, so that it is removed afterwards.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("HULIAN_ADMIN_TOKEN", "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo", "--duration", "10s"}, &out, &errOut) }()
	// The demo wallet's page answers while the demo runs.
	wallet := awaitWallet(t, &out, done)
	code := <-done
	t.Logf("stdout:\n%s", out.String())
	if errOut.Len() > 0 {
		t.Logf("stderr:\n%s", errOut.String())
	}
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	s := out.String()
	for _, want := range []string{
		"/openapi.json",
		"operator token  op.",
		"/metrics (Prometheus)",
		"transfers/s",
		"PASS  ledger zero-sum CNY",
		"PASS  peony-pay books agree with the switch",
		"PASS  bamboo-wallet books agree with the switch",
		"PASS  lotus-pay books agree with the switch",
		"PASS  river-bank books agree with the switch",
		"All checks passed",
		"PASS  the injected break, and only it, was found and named",
		"Mojaloop FSPIOP",
		"20 payments mojaloop-a → mojaloop-b committed",
		"PASS  mojaloop-a books agree with the switch",
		"PASS  mojaloop-b books agree with the switch",
		"Payment experiences",
		"experiences",
		"QR static",
		"mandates approved",
		"QR again   the dynamic code paid a second time: refused, 409 qr-already-paid",
		"PASS  their books agree with the switch",
		// Cross-border: the simulators' FX provider and wallet abroad,
		// checked per currency, HKD settled on its own; then the section.
		"PASS  ledger zero-sum HKD",
		"PASS  jade-fx CNY books agree with the switch",
		"PASS  jade-fx HKD books agree with the switch",
		"PASS  harbour-pay books agree with the switch",
		"settlement window HKD-",
		"Cross-border payments (issue 17)",
		"SEND    500.00 CNY sent: 500.00 CNY → 542.60 HKD at 1.0852; provider fee 1.00 CNY, scheme fee 0.60 CNY",
		"RECEIVE 300.00 HKD received: 276.45 CNY → 300.00 HKD at 1.0852; provider fee 0.78 CNY, scheme fee 0.38 CNY",
		"422 fx-provider-insufficient-funds (the provider holds 157.40 HKD)",
		"PASS  nothing moved",
		"PASS  their books agree with the switch, per currency",
		"PASS  each currency settles on its own: demo-fx receives 778.23 CNY and pays 842.60 HKD; each window's nets sum to zero",
		// A wallet that joined through its connector (issue 23).
		"Joining through the connector (issue 23)",
		"10 payments demo-tea-wallet → demo-plum-pay committed",
		"a payment to an alias nobody holds: REFUSED unknown-party, nothing moved",
		"PASS  demo-tea-wallet books agree with the switch",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(s, "FAIL") {
		t.Errorf("a check failed")
	}
	// The summary counts the simulators' cross-border payments; the
	// regulator's report has those and the section's two.
	var paid, send, receive, reported int
	if m := regexp.MustCompile(`cross-border\s+(\d+) paid CNY → HKD \(SEND (\d+) · RECEIVE (\d+)\)`).FindStringSubmatch(s); m != nil {
		paid, _ = strconv.Atoi(m[1])
		send, _ = strconv.Atoi(m[2])
		receive, _ = strconv.Atoi(m[3])
	}
	if m := regexp.MustCompile(`cross-border \(operator, regulator\): (\d+) payments committed`).FindStringSubmatch(s); m != nil {
		reported, _ = strconv.Atoi(m[1])
	}
	if paid == 0 || send == 0 || receive == 0 || send+receive != paid || reported != paid+2 {
		t.Errorf("cross-border: %d paid (SEND %d, RECEIVE %d), %d reported: want some of each, and the report to have them and the section's 2",
			paid, send, receive, reported)
	}
	if !strings.Contains(wallet, "李晓明") || !strings.Contains(wallet, "Peony Pay") || !strings.Contains(wallet, "electricity bill") {
		t.Errorf("the demo wallet's page lacks its user, its wallet or its bills:\n%s", wallet)
	}
	dirs, _ := filepath.Glob(filepath.Join(tmp, "hulian-demo-*"))
	if len(dirs) != 1 || !strings.Contains(s, dirs[0]) {
		t.Errorf("data directories %v, not named in the output", dirs)
	}
}

// TestDemoInterrupted stops the demo with the context, as Ctrl-C does:
// it must finish the payments in flight and still balance.
func TestDemoInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(4*time.Second, cancel)
	var out, errOut bytes.Buffer
	dir := filepath.Join(t.TempDir(), "data")
	code := run(ctx, []string{"demo", "--duration", "0", "--users", "200", "--concurrency", "4", "--data", dir}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"interrupted", "PASS  ledger zero-sum CNY", "All checks passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "hulian.db")); err != nil {
		t.Errorf("the switch did not use --data: %v", err)
	}
	// A second run refuses the used directory rather than mixing runs.
	if code := run(context.Background(), []string{"demo", "--data", dir}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "not empty") {
		t.Errorf("reused data directory: exit %d, %s", code, errOut.String())
	}
}

// syncBuffer is a bytes.Buffer the demo writes to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// walletURL finds the demo wallet's URL in the demo's output.
var walletURL = regexp.MustCompile(`Demo wallet: (http://127\.0\.0\.1:\d+/)\n`)

// awaitWallet waits for the demo to print its wallet's URL, reads the
// wallet's front page (in English), and pays the first of its contacts
// through the page, as its user would, while the simulators' traffic
// runs: the demo's checks that follow hold Peony Pay's books, the
// payment in them, to the switch. It returns the front page; the test
// fails if the demo ends first or the page does not answer.
func awaitWallet(t *testing.T, out *syncBuffer, done chan int) string {
	t.Helper()
	var base string
	for base == "" {
		if m := walletURL.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			done <- code
			t.Errorf("the demo ended without printing its wallet's URL")
			return ""
		case <-time.After(50 * time.Millisecond):
		}
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	page := func(method, path string, form url.Values) string {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, strings.TrimSuffix(base, "/")+path, body)
		req.Header.Set("Accept-Language", "en")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Errorf("demo wallet %s %s: %v", method, path, err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			// What the guard saw, for a refused form: the session cookie
			// sent and the token (a refusal once seen under load).
			t.Errorf("demo wallet %s %s: %d (cookies %v, form %v)", method, path, resp.StatusCode, jar.Cookies(req.URL), form)
		}
		return string(b)
	}
	field := func(page, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			return ""
		}
		return m[1]
	}
	front := page(http.MethodGet, "/", nil)
	contact := regexp.MustCompile(`href="/\?type=MSISDN&amp;alias=([^#"]+)#pay"`).FindStringSubmatch(front)
	if contact == nil {
		t.Errorf("the demo wallet shows no contact to pay:\n%s", front)
		return front
	}
	alias, _ := url.QueryUnescape(contact[1])
	var receipt string
	for try := 0; try < 3; try++ {
		if try > 0 {
			// Each form's token is used up by its POST: a person paying
			// again starts from a fresh page.
			front = page(http.MethodGet, "/", nil)
		}
		confirm := page(http.MethodPost, "/pay", url.Values{"csrf": {field(front, "csrf")}, "type": {"MSISDN"}, "alias": {alias},
			"amount": {"12.34"}, "note": {"from TestDemo"}})
		receipt = page(http.MethodPost, "/pay/confirm", url.Values{"csrf": {field(confirm, "csrf")}, "payment": {field(confirm, "payment")}})
		// The payee's simulated provider screens 2 % of its incoming
		// transfers out at random ("rejected: risk check"): a person
		// would pay again.
		if !strings.Contains(receipt, "(rejected: ") {
			break
		}
	}
	if !strings.Contains(receipt, "Paid CN¥12.34 to ") {
		t.Errorf("paying through the demo wallet:\n%s", receipt)
	}
	return front
}
