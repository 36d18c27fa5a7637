package connector_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/connector"
	"github.com/hulian/hulian/internal/sim"
)

// childEnv carries the child's configuration (JSON of childConfig).
const childEnv = "HULIAN_CONNECTOR_CHILD"

// childConfig is what the parent tells the child connector.
type childConfig struct {
	Switch, Key, Secret, Backend, Data string
}

// childListening starts the line on which the child tells its API URL.
const childListening = "connector listening "

// TestConnectorChild is the connector process of TestCrash: this test
// binary again, running only this test, which skips unless the parent
// set childEnv. It serves until it is killed, or until its standard
// input closes (the parent is gone).
func TestConnectorChild(t *testing.T) {
	env := os.Getenv(childEnv)
	if env == "" {
		t.Skip("the child side of TestCrash")
	}
	var cc childConfig
	if err := json.Unmarshal([]byte(env), &cc); err != nil {
		t.Fatal(err)
	}
	c, err := connector.Open(context.Background(), connector.Config{SwitchURL: cc.Switch, APIKey: cc.Key,
		CallbackSecrets: []string{cc.Secret}, BackendURL: cc.Backend, Listen: "127.0.0.1:0", DataDir: cc.Data,
		RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond, ResolveEvery: 50 * time.Millisecond, PaymentWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s%s\n", childListening, c.URL())
	bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes it, or kills us
	c.Close(context.Background())
}

// child is a connector process.
type child struct {
	cmd *exec.Cmd
	url string
}

// startChild runs the connector in a child process on data directory
// cc.Data and waits until it serves.
func startChild(t *testing.T, cc childConfig) *child {
	t.Helper()
	env, _ := json.Marshal(cc)
	cmd := exec.Command(os.Args[0], "-test.run=^TestConnectorChild$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), childEnv+"="+string(env))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), childListening); ok {
			c.url = url
			go func() {
				for sc.Scan() {
				}
			}()
			return c
		}
	}
	t.Fatalf("the child connector ended before it served: %v", sc.Err())
	return nil
}

// kill kills the child at once, as kill -9 does.
func (c *child) kill(t *testing.T) {
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// TestCrash kills the connector (kill -9) while the reference simulator
// pays its users and its backend pays the simulator's, then starts it
// again on the same data directory. Nothing it acknowledged is lost, on
// either side: every payment the backend was answered COMMITTED is
// answered the same again and is one transfer at the switch, every
// payment retried after the crash is made once; every transfer the
// switch committed to the wallet reaches the backend, in the switch's
// order, and is counted once (the probe).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs connector processes")
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	})
	s := startSwitch(t)
	w := s.onboard(t, "tea-wallet", "notify")
	pr := s.startPeer(t)
	be := newBackend(t)
	cc := childConfig{Switch: s.url, Key: w.APIKey, Secret: w.CallbackSecret, Backend: be.srv.URL, Data: t.TempDir()}
	ch := startChild(t, cc)
	if a := call(t, "POST", ch.url+"/aliases", map[string]string{"type": "MSISDN", "value": "+8613900139001", "account": "alice",
		"name": "Li Xiaoming"}); a.status != http.StatusCreated {
		t.Fatalf("POST /aliases: %d %s", a.status, a.body)
	}

	const ins, outs, workers = 100, 300, 4
	var (
		mu    sync.Mutex
		url   = ch.url
		acked = map[string]string{} // key → payment id answered COMMITTED
		inIDs []string              // the simulator's committed payments, in order
	)
	base := func() string { mu.Lock(); defer mu.Unlock(); return url }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range ins {
			res := pr.pay(t, "MSISDN", "+8613900139001", moneyOf(int64(100+i)))
			if res.Status != sim.StatusCommitted {
				t.Errorf("the simulator's payment %d: %+v", i, res)
				return
			}
			mu.Lock()
			inIDs = append(inIDs, res.ID)
			mu.Unlock()
			time.Sleep(3 * time.Millisecond)
		}
	})
	// Each worker pays its share of the keys, once each, until the
	// crash; payments are then retried against the new process.
	pay := func(key string) (paymentView, bool) {
		var v paymentView
		a, err := tryCall("POST", base()+"/payments", payBody(key, "1.00", key))
		if err != nil || a.status != http.StatusOK {
			return v, false
		}
		json.Unmarshal(a.body, &v)
		return v, v.State == "COMMITTED"
	}
	for wk := range workers {
		wg.Go(func() {
			for i := wk; i < outs; i += workers {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("o-%d", i)
				if v, ok := pay(key); ok {
					mu.Lock()
					acked[key] = v.ID
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
	ch.kill(t)
	close(stop)
	mu.Lock()
	t.Logf("killed the connector with %d payments acknowledged", len(acked))
	mu.Unlock()

	ch = startChild(t, cc)
	mu.Lock()
	url = ch.url
	mu.Unlock()
	wg.Wait()

	// The backend retries every payment, the acknowledged ones too.
	for i := range outs {
		key := fmt.Sprintf("o-%d", i)
		var v paymentView
		waitFor(t, 20*time.Second, "payment "+key, func() bool { v, _ = pay(key); return v.State == "COMMITTED" })
		if id, ok := acked[key]; ok && id != v.ID {
			t.Errorf("payment %s was %s, answered COMMITTED; after the crash it is %s", key, id, v.ID)
		}
	}
	got := transfersFrom(t, s, "tea-wallet")
	if len(got) != outs {
		t.Errorf("the switch holds %d transfers from tea-wallet for %d payments", len(got), outs)
	}

	waitFor(t, 30*time.Second, "every incoming transfer to reach the backend", func() bool {
		return len(unique(be.committed())) >= ins
	})
	mu.Lock()
	want := fmt.Sprint(inIDs)
	mu.Unlock()
	if got := fmt.Sprint(unique(be.committed())); got != want {
		t.Errorf("the backend was told of\n%s\nwant, in the switch's order\n%s", got, want)
	}
	c2 := &connectorURL{ch.url}
	for _, id := range inIDs {
		var pa struct {
			Credits int `json:"credits"`
		}
		st, body := probeAt(t, c2.callbacks(), w.CallbackSecret, id)
		if json.Unmarshal(body, &pa); st != http.StatusOK || pa.Credits != 1 {
			t.Errorf("probe %s: %d %s", id, st, body)
		}
	}
	t.Logf("the backend was told %d times of %d transfers", len(be.committed()), ins)
}

// connectorURL is a connector known by its URL: its API and callbacks
// share the listener.
type connectorURL struct{ base string }

func (c *connectorURL) callbacks() string { return c.base + connector.CallbackPath }

// tryCall is call that reports a transport error instead of failing.
func tryCall(method, url string, body any) (answer, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, strings.NewReader(string(b)))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, err = bufio.NewReader(resp.Body).WriteTo(&sb)
	return answer{resp.StatusCode, resp.Header, []byte(sb.String())}, err
}
