package callback_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/testbed"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

var (
	cny     = money.MustCurrency("CNY")
	usd     = money.MustCurrency("USD")
	discard = slog.New(slog.DiscardHandler)
)

// request is one request a hook received.
type request struct {
	at     time.Time
	header http.Header
	body   []byte
	cb     wire.Callback
	sigErr error
	status int
}

// hook is a participant's callback endpoint on loopback. It checks every
// request's signature with the participant's callback secret, answers
// as respond says (200 and an accept decision when respond is nil), and
// records what it received and what it accepted.
type hook struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	secret  string
	respond func(r *http.Request, cb *wire.Callback, n int) (status int, body string)
	// sign returns the SignatureHeader of an answer; nil signs it with
	// the secret, as a payee must.
	sign     func(cb *wire.Callback, secret string, answer []byte) string
	requests []request
	accepted []wire.Callback // answered 2xx, in arrival order
}

func newHook(t *testing.T) *hook {
	h := &hook{t: t}
	h.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		h.srv.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, r := range h.requests {
			if r.sigErr != nil {
				t.Errorf("request %d: signature: %v", i, r.sigErr)
			}
		}
	})
	return h
}

func (h *hook) setSecret(s string) {
	h.mu.Lock()
	h.secret = s
	h.mu.Unlock()
}

func (h *hook) setRespond(f func(r *http.Request, cb *wire.Callback, n int) (int, string)) {
	h.mu.Lock()
	h.respond = f
	h.mu.Unlock()
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	secret, respond, sign, n := h.secret, h.respond, h.sign, len(h.requests)
	h.mu.Unlock()
	req := request{at: time.Now(), header: r.Header.Clone(), body: body}
	req.sigErr = wire.Verify(r.Header.Get(wire.SignatureHeader), secret, body, time.Now(), time.Minute)
	switch {
	case req.sigErr != nil:
		req.status = http.StatusUnauthorized
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		req.sigErr = errors.New("not a POST of JSON: " + r.Method + " " + r.Header.Get("Content-Type"))
		req.status = http.StatusBadRequest
	case json.Unmarshal(body, &req.cb) != nil:
		req.sigErr = errors.New("body is not a callback: " + string(body))
		req.status = http.StatusBadRequest
	}
	answer := ""
	if req.status == 0 {
		req.status = http.StatusOK
		if req.cb.Event == wire.EventTransferConfirm {
			answer = `{"decision":"accept"}`
		}
		if respond != nil {
			req.status, answer = respond(r, &req.cb, n)
		}
	}
	h.mu.Lock()
	h.requests = append(h.requests, req)
	if req.status/100 == 2 && req.cb.Event != wire.EventTransferConfirm {
		h.accepted = append(h.accepted, req.cb)
	}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if sign == nil {
		sign = func(_ *wire.Callback, secret string, answer []byte) string {
			return wire.Sign(secret, time.Now(), answer)
		}
	}
	if sig := sign(&req.cb, secret, []byte(answer)); sig != "" {
		w.Header().Set(wire.SignatureHeader, sig)
	}
	w.WriteHeader(req.status)
	io.WriteString(w, answer)
}

// batches returns the ids of the committed transfers the hook accepted,
// one slice per callback.
func (h *hook) batches() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]string
	for _, cb := range h.accepted {
		if cb.Event != wire.EventTransfersCommitted {
			continue
		}
		ids := make([]string, len(cb.Transfers))
		for i, t := range cb.Transfers {
			ids[i] = t.ID
		}
		out = append(out, ids)
	}
	return out
}

// transfers returns the ids of the committed transfers the hook
// accepted, in order.
func (h *hook) transfers() []string {
	var out []string
	for _, b := range h.batches() {
		out = append(out, b...)
	}
	return out
}

// alerts returns the liquidity alerts the hook accepted, in order.
func (h *hook) alerts() []wire.LiquidityAlert {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []wire.LiquidityAlert
	for _, cb := range h.accepted {
		if cb.Alert != nil {
			if cb.Event != "liquidity."+cb.Alert.Kind {
				h.t.Errorf("event %q carries a %q alert", cb.Event, cb.Alert.Kind)
			}
			out = append(out, *cb.Alert)
		}
	}
	return out
}

func (h *hook) waitTransfers(t *testing.T, n int) []string {
	t.Helper()
	waitFor(t, "transfers to be delivered", func() bool { return len(h.transfers()) >= n })
	return h.transfers()
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// env is the switch's parts that callbacks are made of, real and in
// process: the test bed's ledger, SQLite and participant registry (on
// the system clock), the directory, and the payment flow, with payer
// wallet-a funded in CNY and USD and reachable at alias a:1.
type env struct {
	*testbed.Bed
	t       *testing.T
	ctx     context.Context
	dir     *directory.Directory
	fees    *quote.Fees
	signer  *quote.Signer
	client  *callback.Client
	svc     *transfer.Service
	payer   participant.Participant
	durable atomic.Pointer[func([]*ledger.Committed)]
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background()}
	e.Bed = testbed.Open(t, testbed.Options{OnDurable: func(b []*ledger.Committed) {
		if f := e.durable.Load(); f != nil {
			(*f)(b)
		}
	}})
	e.dir = directory.New(e.DB, directory.Options{CacheEntries: -1})
	t.Cleanup(func() { e.dir.Close() })
	var err error
	if e.fees, err = quote.LoadFees(e.ctx, e.DB, time.Now); err != nil {
		t.Fatal(err)
	}
	if e.signer, err = quote.NewSigner(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	e.client = callback.NewClient(api.Callbacks{}, time.Now, true)
	e.svc = e.service(nil)
	e.payer, _ = e.participant("wallet-a", "", participant.Notify, cny, usd)
	e.alias(e.payer, "a:1", cny)
	e.Deposit(e.payer, cny, 1_000_000_00)
	e.Deposit(e.payer, usd, 1_000_000_00)
	return e
}

// service returns a payment flow that confirms with the env's client
// and tells n of incoming transfers.
func (e *env) service(n transfer.Notifier) *transfer.Service {
	e.t.Helper()
	var cfg transfer.Config
	cfg.EnsureDefaults()
	cfg.ConfirmTimeout = 5 * time.Second
	s, err := transfer.New(cfg, transfer.Deps{Journal: e.Journal, Participants: e.Registry, Directory: e.dir, Fees: e.fees,
		Signer: e.signer, Confirmer: e.client, Notifier: n})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// participant creates a participant and returns it with its callback
// secret.
func (e *env) participant(id, url string, acc participant.Acceptance, cs ...money.Currency) (participant.Participant, string) {
	e.t.Helper()
	p, cred := e.Create(participant.New{ID: id, Name: id, Kind: participant.Wallet, Currencies: cs,
		CallbackURL: url, Acceptance: acc})
	if cred.CallbackSecret == "" || cred.CallbackSecret != p.CallbackSecret() {
		e.t.Fatalf("callback secret %q, participant's %q", cred.CallbackSecret, p.CallbackSecret())
	}
	return p, cred.CallbackSecret
}

// payee creates a participant whose callbacks go to a new hook, with
// alias "<id>:<currency>" in each currency.
func (e *env) payee(id string, acc participant.Acceptance, cs ...money.Currency) (participant.Participant, *hook) {
	e.t.Helper()
	h := newHook(e.t)
	p, secret := e.participant(id, h.srv.URL, acc, cs...)
	h.setSecret(secret)
	for _, c := range cs {
		e.alias(p, id+":"+c.String(), c)
	}
	return p, h
}

func (e *env) alias(p participant.Participant, value string, c money.Currency) {
	e.t.Helper()
	if _, _, err := e.dir.Register(e.ctx, directory.Party{Type: directory.WALLET, Value: value, Participant: p.ID,
		Name: "User " + value, Account: "acct-" + value, Currency: c}); err != nil {
		e.t.Fatal(err)
	}
}

// withdraw debits p for money the settlement bank pays out.
func (e *env) withdraw(p participant.Participant, c money.Currency, amount money.Amount) {
	e.t.Helper()
	e.Submit(ledger.Command{Kind: ledger.KindPost, ID: e.ID(), Debit: p.Account(c), Credit: participant.ExternalAccount(c),
		Amount: amount, Purpose: purpose.Withdrawal})
}

// pay pays alias with svc, from payer.
func (e *env) pay(svc *transfer.Service, payer participant.Participant, id, alias string, c money.Currency, amount money.Amount) transfer.Transfer {
	e.t.Helper()
	t, created, err := svc.Create(e.ctx, payer, transfer.Request{ID: id, PayeeType: string(directory.WALLET), PayeeValue: alias,
		Amount: amount, Currency: c})
	if err != nil || !created {
		e.t.Fatalf("pay %s: created %v, %v", id, created, err)
	}
	return t
}

// lastEvent returns the timestamp of an account's last ledger event:
// where its credit cursor stands once everything is delivered.
func (e *env) lastEvent(acct ledger.AccountID) int64 {
	e.t.Helper()
	evs, err := e.Journal.AccountEvents(e.ctx, acct, 0, 1<<63-1, 1<<20)
	if err != nil || len(evs) == 0 {
		e.t.Fatalf("events of %d: %d, %v", acct, len(evs), err)
	}
	return evs[len(evs)-1].Timestamp
}

// cursor returns a participant's saved delivery cursor of a stream.
func (e *env) cursor(p, stream string) (int64, bool) {
	e.t.Helper()
	var pos int64
	err := e.DB.QueryRowContext(e.ctx, `SELECT position FROM delivery_cursors WHERE participant = $1 AND stream = $2`, p, stream).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return pos, true
}

// TestConfigValidate checks the defaults and the range of each field.
func TestConfigValidate(t *testing.T) {
	var def callback.Config
	def.EnsureDefaults()
	want := callback.Config{BatchMax: 100, Poll: time.Second, BackoffMin: 100 * time.Millisecond, BackoffMax: 30 * time.Second,
		SaveEvery: 200 * time.Millisecond, Timeout: 10 * time.Second}
	if def != want {
		t.Fatalf("defaults %+v, want %+v", def, want)
	}
	kept := callback.Config{BatchMax: 7, Poll: 3 * time.Second}
	kept.EnsureDefaults()
	if kept.BatchMax != 7 || kept.Poll != 3*time.Second || kept.Timeout != 10*time.Second {
		t.Fatalf("EnsureDefaults replaced a set field: %+v", kept)
	}
	tests := []struct {
		name   string
		change func(*callback.Config)
		ok     bool
	}{
		{"defaults", func(*callback.Config) {}, true},
		{"batch of one", func(c *callback.Config) { c.BatchMax = 1 }, true},
		{"batch of 1000", func(c *callback.Config) { c.BatchMax = 1000 }, true},
		{"batch of 1001", func(c *callback.Config) { c.BatchMax = 1001 }, false},
		{"batch zero", func(c *callback.Config) { c.BatchMax = 0 }, false},
		{"batch negative", func(c *callback.Config) { c.BatchMax = -1 }, false},
		{"poll zero", func(c *callback.Config) { c.Poll = 0 }, false},
		{"poll negative", func(c *callback.Config) { c.Poll = -time.Second }, false},
		{"first backoff zero", func(c *callback.Config) { c.BackoffMin = 0 }, false},
		{"save interval zero", func(c *callback.Config) { c.SaveEvery = 0 }, false},
		{"timeout zero", func(c *callback.Config) { c.Timeout = 0 }, false},
		{"timeout negative", func(c *callback.Config) { c.Timeout = -1 }, false},
		{"longest backoff below the first", func(c *callback.Config) { c.BackoffMin, c.BackoffMax = time.Second, time.Second-1 }, false},
		{"longest backoff equal to the first", func(c *callback.Config) { c.BackoffMin, c.BackoffMax = time.Second, time.Second }, true},
		{"an hour's poll", func(c *callback.Config) { c.Poll = time.Hour }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := def
			tt.change(&c)
			err := c.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok %v", c, err, tt.ok)
			}
			// NewDeliverer refuses what Validate refuses.
			_, err = callback.NewDeliverer(c, callback.Deps{Source: source{}, Participants: &participant.Registry{},
				DB: &sqldb.DB{}, Client: &callback.Client{}})
			if (err == nil) != tt.ok {
				t.Fatalf("NewDeliverer(%+v) = %v, want ok %v", c, err, tt.ok)
			}
		})
	}
}

// TestNewDelivererRequires checks that NewDeliverer refuses missing
// dependencies; Alerts alone may be nil.
func TestNewDelivererRequires(t *testing.T) {
	full := callback.Deps{Source: source{}, Participants: &participant.Registry{}, DB: &sqldb.DB{}, Client: &callback.Client{}}
	for name, change := range map[string]func(*callback.Deps){
		"source":       func(d *callback.Deps) { d.Source = nil },
		"participants": func(d *callback.Deps) { d.Participants = nil },
		"database":     func(d *callback.Deps) { d.DB = nil },
		"client":       func(d *callback.Deps) { d.Client = nil },
	} {
		d := full
		change(&d)
		if _, err := callback.NewDeliverer(fast(), d); err == nil {
			t.Errorf("NewDeliverer without %s: no error", name)
		}
	}
	if _, err := callback.NewDeliverer(fast(), full); err != nil {
		t.Fatalf("NewDeliverer without alerts: %v", err)
	}
}

// TestConfirm asks a confirm-mode payee about transfers and checks what
// each of its answers becomes. The hook answers by transfer id.
func TestConfirm(t *testing.T) {
	e := newEnv(t)
	p, h := e.payee("bank-c", participant.Confirm, cny)
	release := make(chan struct{})
	defer close(release)
	h.setRespond(func(r *http.Request, cb *wire.Callback, _ int) (int, string) {
		if cb.Event != wire.EventTransferConfirm || cb.Transfer == nil {
			return http.StatusBadRequest, ""
		}
		switch cb.Transfer.ID {
		case "accept":
			return 200, `{"decision":"accept"}`
		case "accept-bound":
			return 200, `{"decision":"accept","transferId":"accept-bound"}`
		case "replayed":
			// A signed answer to another request, replayed.
			return 200, `{"decision":"accept","transferId":"accept-bound"}`
		case "reject":
			return 200, `{"decision":"reject","reason":"account closed"}`
		case "garbage":
			return 200, `<html>Service Unavailable</html>`
		case "unknown-decision":
			return 200, `{"decision":"maybe"}`
		case "empty":
			return 200, ``
		case "error-status":
			return 500, `{"decision":"accept"}`
		case "not-found": // whatever the body says
			return 404, `{"decision":"accept"}`
		case "slow":
			select { // past the caller's deadline
			case <-r.Context().Done():
			case <-release:
			}
			return 200, `{"decision":"accept"}`
		}
		return http.StatusBadRequest, ""
	})
	tests := []struct {
		id         string
		timeout    time.Duration
		wantAccept bool
		wantReason string
		wantErr    error
	}{
		{"accept", 5 * time.Second, true, "", nil},
		{"accept-bound", 5 * time.Second, true, "", nil},
		{"replayed", 5 * time.Second, false, "", callback.ErrRefused},
		{"reject", 5 * time.Second, false, "account closed", nil},
		{"garbage", 5 * time.Second, false, "", callback.ErrRefused},
		{"unknown-decision", 5 * time.Second, false, "", callback.ErrRefused},
		{"empty", 5 * time.Second, false, "", callback.ErrRefused},
		{"error-status", 5 * time.Second, false, "", callback.ErrRefused},
		{"not-found", 5 * time.Second, false, "", callback.ErrRefused},
		{"slow", 100 * time.Millisecond, false, "", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			tr := transfer.Transfer{ID: tt.id, State: transfer.Reserved, Payer: e.payer.ID, Amount: 12_34, Currency: cny,
				Payee: transfer.Payee{Type: "WALLET", Value: "bank-c:CNY", Participant: p.ID, Account: "acct-bank-c:CNY"}}
			ctx, cancel := context.WithTimeout(e.ctx, tt.timeout)
			defer cancel()
			start := time.Now()
			accept, reason, err := e.client.Confirm(ctx, p, tr)
			if accept != tt.wantAccept || reason != tt.wantReason || !errors.Is(err, tt.wantErr) || (tt.wantErr != nil) != (err != nil) {
				t.Fatalf("Confirm = %v, %q, %v; want %v, %q, %v", accept, reason, err, tt.wantAccept, tt.wantReason, tt.wantErr)
			}
			if tt.wantErr == context.DeadlineExceeded && time.Since(start) > 5*time.Second {
				t.Fatalf("Confirm returned %v after its deadline", time.Since(start))
			}
		})
	}
	// Every request was signed with the participant's secret (the hook
	// checked), carried the transfer as the payee sees it, and would not
	// pass with another secret.
	_, other := e.participant("bank-d", "", participant.Notify, cny)
	h.mu.Lock()
	defer h.mu.Unlock()
	// The last, "slow", may end at its 100 ms deadline before the hook
	// took it in (a loaded machine): it is the only one that may be
	// missing.
	if n := len(h.requests); n != len(tests) && (n != len(tests)-1 || tests[n].id != "slow") {
		t.Fatalf("%d requests, want %d", len(h.requests), len(tests))
	}
	for i, r := range h.requests {
		if r.cb.Transfer == nil || r.cb.Transfer.ID != tests[i].id || r.cb.Transfer.Amount != "12.34" ||
			r.cb.Transfer.Payee.Account != "acct-bank-c:CNY" {
			t.Errorf("request %d: %s", i, r.body)
		}
		if err := wire.Verify(r.header.Get(wire.SignatureHeader), other, r.body, time.Now(), time.Minute); err == nil {
			t.Errorf("request %d: the signature verifies with another participant's secret", i)
		}
	}
}

// TestConfirmWithoutURL checks that asking a participant without a
// callback URL fails rather than sending anything anywhere.
func TestConfirmWithoutURL(t *testing.T) {
	e := newEnv(t)
	p, _ := e.participant("wallet-b", "", participant.Notify, cny)
	accept, _, err := e.client.Confirm(e.ctx, p, transfer.Transfer{ID: "x", Currency: cny})
	if err == nil || accept {
		t.Fatalf("Confirm = %v, %v; want an error", accept, err)
	}
	if !strings.Contains(err.Error(), p.ID) {
		t.Fatalf("error %q does not name the participant", err)
	}
}
