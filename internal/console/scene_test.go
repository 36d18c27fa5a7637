package console_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-json-experiment/json"
	"golang.org/x/mod/sumdb/note"

	"github.com/hulian/hulian/internal/wire"
)

// A scene for the pages' tests: wallets on a switch in process that pay
// each other through the API, as participants do, while the console
// watches.

// scene is a switch with wallets, each with its API key, funds and an
// alias "<id>@example.cn".
type scene struct {
	*sw
	keys map[string]string
}

// scene creates wallets ids, each with CNY 100,000.00 deposited and its
// alias registered.
func (s *sw) scene(ids ...string) *scene {
	s.t.Helper()
	return s.sceneWith("100000.00", ids...)
}

// sceneWith is scene with deposit (CNY) deposited in each wallet.
func (s *sw) sceneWith(deposit string, ids ...string) *scene {
	s.t.Helper()
	sc := &scene{sw: s, keys: map[string]string{}}
	for _, id := range ids {
		var p wire.Participant
		if st := s.api("POST", "/v1/participants", wire.NewParticipant{ID: id, Name: nameOf(id), Kind: "wallet",
			Currencies: []string{"CNY"}}, &p); st != 201 {
			s.t.Fatalf("participant %s: %d", id, st)
		}
		sc.keys[id] = p.APIKey
		if st := s.api("POST", "/v1/participants/"+id+"/funds", wire.Funds{Currency: "CNY", Amount: deposit, Direction: "deposit"}, nil); st != 201 {
			s.t.Fatalf("funds %s: %d", id, st)
		}
		if st := sc.as(id, "POST", "/v1/parties", wire.NewParty{Type: "EMAIL", Value: id + "@example.cn", Name: "User of " + id,
			Account: "acct-" + id, Currency: "CNY"}, nil); st != 201 {
			s.t.Fatalf("alias of %s: %d", id, st)
		}
	}
	return sc
}

// nameOf is a participant's name from its id: "peony-pay" is "Peony
// Pay".
func nameOf(id string) string {
	words := strings.Split(id, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// as calls the API with participant id's key; it returns the status.
func (sc *scene) as(id, method, path string, body, out any) int {
	sc.t.Helper()
	st, err := call(sc.url, sc.keys[id], method, path, body, out)
	if err != nil {
		sc.t.Fatal(err)
	}
	return st
}

// pay pays amount (CNY) from wallet from to wallet to's alias, as
// transfer id; it returns the status.
func (sc *scene) pay(id, from, to, amount string) int {
	sc.t.Helper()
	return sc.as(from, "POST", "/v1/transfers", wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: "EMAIL", Value: to + "@example.cn"},
		Amount: amount, Currency: "CNY"}, nil)
}

// call makes an API request with a bearer token, from any goroutine.
func call(base, token, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// openWindow is the id of the open CNY settlement window.
func (s *sw) openWindow() string {
	s.t.Helper()
	var ws wire.SettlementWindows
	if st := s.api("GET", "/v1/settlement-windows?state=OPEN&currency=CNY", nil, &ws); st != 200 || len(ws.Windows) != 1 {
		s.t.Fatalf("open window: %d %+v", st, ws)
	}
	return ws.Windows[0].ID
}

// visit navigates to path of the console and waits for its heading; it
// returns the status of the page.
func (s *sw) visit(t *testing.T, ctx context.Context, path string) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(s.url+path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	do(t, ctx, chromedp.WaitReady(chromedp.CSS("main h1")))
	return int(resp.Status)
}

// post sends a state-changing request from the tab's page, as the
// page's own script would (same origin, the session's CSRF token in
// X-CSRF-Token, a form body), and returns the status.
func post(t *testing.T, ctx context.Context, path string, form map[string]string) int {
	t.Helper()
	b, _ := json.Marshal(form)
	js := fmt.Sprintf(`(async () => {
		const token = document.querySelector("input[name=csrf]").value;
		const r = await fetch(%q, {method: "POST", headers: {"X-CSRF-Token": token}, body: new URLSearchParams(%s), redirect: "manual"});
		return r.type === "opaqueredirect" ? 303 : r.status;
	})()`, path, b)
	return run(t, ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
}

// eventually polls cond every 100 ms for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// witness registers a witness of the audit log and returns a function
// that co-signs the switch's newest checkpoint as it.
func (s *sw) witness(name string) (cosign func()) {
	s.t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		s.t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		s.t.Fatal(err)
	}
	if st := s.api("POST", "/v1/audit/witnesses", wire.Witness{Name: name, Key: vkey}, nil); st != 201 {
		s.t.Fatalf("witness %s: %d", name, st)
	}
	switchKey := strings.TrimSpace(s.get("/v1/audit/verifier"))
	v, err := note.NewVerifier(switchKey)
	if err != nil {
		s.t.Fatal(err)
	}
	return func() {
		s.t.Helper()
		n, err := note.Open([]byte(s.get("/v1/audit/checkpoint")), note.VerifierList(v))
		if err != nil {
			s.t.Fatal(err)
		}
		msg, err := note.Sign(n, signer)
		if err != nil {
			s.t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", s.url+"/v1/audit/cosignatures", bytes.NewReader(msg))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Authorization", "Bearer "+opToken) // any principal may co-sign
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			s.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			s.t.Fatalf("co-sign as %s: %d", name, resp.StatusCode)
		}
	}
}

// get reads a text answer of the API as the operator.
func (s *sw) get(path string) string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+opToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}
