package conformance_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/conformance"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

var cny = money.MustCurrency("CNY")

// bed is a switch running in-process on loopback, with its operator's
// client and another participant ("other-pay", a reference simulator in
// notify mode) that holds an alias the participants under test must not
// touch.
type bed struct {
	url     string
	op      *sim.Client
	other   *sim.Participant
	foreign string            // other-pay's alias, TYPE/VALUE
	secrets map[string]string // the simulators' callback secrets, by id
}

const foreignPhone = "+8613800138000"

func newBed(t *testing.T) *bed {
	t.Helper()
	ctx := context.Background()
	a := apptest.Start(t, func(c *app.Config) {
		c.Callback.AllowPrivate = true // the participants listen on loopback
	})
	b := &bed{url: a.URL(), op: sim.NewClient(a.URL(), a.AdminToken, nil), secrets: map[string]string{}}
	b.other = b.simParticipant(t, "other-pay", "notify")
	if _, err := b.other.API().RegisterParty(ctx, wire.NewParty{Type: "MSISDN", Value: foreignPhone, Name: "Zhang San", Account: "u-zs", Currency: "CNY"}); err != nil {
		t.Fatal(err)
	}
	b.other.Books().Open("u-zs", "Zhang San", 0)
	b.foreign = "MSISDN/" + foreignPhone
	return b
}

// enroll creates participant id at the switch with callbackURL and
// returns its API key and callback secret.
func (b *bed) enroll(t *testing.T, id, acceptance, callbackURL string) (key, secret string) {
	t.Helper()
	p, err := b.op.CreateParticipant(context.Background(), wire.NewParticipant{ID: id, Name: id, Kind: "wallet",
		Currencies: []string{"CNY"}, CallbackURL: callbackURL, Acceptance: acceptance})
	if err != nil {
		t.Fatal(err)
	}
	return p.APIKey, p.CallbackSecret
}

// simParticipant starts a reference simulator and enrolls it.
func (b *bed) simParticipant(t *testing.T, id, acceptance string) *sim.Participant {
	t.Helper()
	p, err := sim.NewParticipant(sim.Config{ID: id, Name: id, Kind: "wallet", Currency: cny, Acceptance: acceptance})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	key, secret := b.enroll(t, id, acceptance, p.CallbackURL())
	p.Connect(sim.NewClient(b.url, key, nil), secret)
	b.secrets[id] = secret
	return p
}

// run runs the suite as cfg says, at the bed's switch, and returns the
// report and the progress it printed. Unless discover, the foreign alias
// is other-pay's.
func (b *bed) run(t *testing.T, cfg conformance.Config, discover bool) (*conformance.Report, string) {
	t.Helper()
	var progress bytes.Buffer
	cfg.Switch, cfg.Progress = b.url, &progress
	if !discover {
		cfg.ForeignAlias = b.foreign
	}
	rep, err := conformance.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep, progress.String()
}

// outcomes returns the cases of rep by status.
func outcomes(rep *conformance.Report) map[conformance.Status][]string {
	out := map[conformance.Status][]string{}
	for _, r := range rep.Results {
		out[r.Status] = append(out[r.Status], r.Case)
	}
	return out
}

func allCases() []string {
	var out []string
	for _, c := range conformance.Cases() {
		out = append(out, c.Name)
	}
	return out
}

// TestReferenceSimulator: the reference participant passes, in both
// modes; in notify mode the confirm cases are skipped, saying why.
func TestReferenceSimulator(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	for _, mode := range []string{"confirm", "notify"} {
		t.Run(mode, func(t *testing.T) {
			id := "sim-" + mode
			p := b.simParticipant(t, id, mode)
			cfg := conformance.Config{Participant: id, APIKey: p.API().Token, CallbackSecret: b.secrets[id]}
			// In confirm mode the foreign alias is found among the
			// payees of the participant's own payments.
			discover := mode == "confirm"
			if discover {
				payOther(t, b, p)
			}
			rep, progress := b.run(t, cfg, discover)
			t.Logf("progress:\n%s", progress)
			o := outcomes(rep)
			if len(o[conformance.Fail]) > 0 {
				t.Errorf("failed: %v", o[conformance.Fail])
			}
			wantSkipped := []string(nil)
			if mode == "notify" {
				wantSkipped = []string{"confirm.answered", "confirm.redelivered"}
			}
			if !slices.Equal(o[conformance.Skip], wantSkipped) {
				t.Errorf("skipped %v, want %v", o[conformance.Skip], wantSkipped)
			}
			if len(rep.Results) != len(conformance.Cases()) {
				t.Errorf("%d results for %d cases", len(rep.Results), len(conformance.Cases()))
			}
			// Every case printed its line, in order.
			lines := strings.Split(strings.TrimSpace(progress), "\n")
			var named []string
			for _, l := range lines {
				if f := strings.Fields(l); len(f) >= 3 && slices.Contains(allCases(), f[0]) {
					named = append(named, f[0])
				}
			}
			if !slices.Equal(named, allCases()) {
				t.Errorf("progress lines name %v", named)
			}
			// The synthetic credits are the suite's, recognisably, and
			// went to suspense: the books still balance.
			if err := p.Books().Verify(); err != nil {
				t.Error(err)
			}
			if s := p.CallbackStats(); s.Anomalies == 0 {
				t.Errorf("the simulator saw no anomaly: the unknown-transfer cases sent nothing odd? %+v", s)
			}
			// The alias cases left nothing registered, and other-pay's
			// alias is still its own.
			l, err := p.API().Lookup(ctx, "MSISDN", foreignPhone)
			if err != nil || l.Participant != "other-pay" {
				t.Errorf("foreign alias after the run: %+v %v", l, err)
			}
		})
	}
}

// payOther makes p pay other-pay's alias once, so that the suite finds a
// foreign alias among p's payments.
func payOther(t *testing.T, b *bed, p *sim.Participant) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.op.MoveFunds(ctx, p.ID(), wire.Funds{ID: p.ID() + "-deposit", Currency: "CNY", Amount: "100.00", Direction: "deposit"}); err != nil {
		t.Fatal(err)
	}
	p.Books().Deposit(100_00)
	if err := p.Books().Open("u-1", "Li Si", 50_00); err != nil {
		t.Fatal(err)
	}
	res := p.Pay(ctx, sim.Payment{From: "u-1", Payee: wire.PayeeRef{Type: "MSISDN", Value: foreignPhone}, Amount: 10_00})
	if res.Status != sim.StatusCommitted {
		t.Fatalf("payment to other-pay: %+v", res)
	}
}

// fake is a participant's callback server written for these tests, with
// one deliberate defect at a time; without any it follows every rule.
type fake struct {
	id     string
	secret string
	// The defects.
	ignoresSignatures bool          // takes any callback, signed or not
	doubleCounts      bool          // credits every delivery
	confirmDelay      time.Duration // sleeps before answering a confirm request
	crashesOnBadJSON  bool          // answers 500 to what it cannot read
	unbounded         bool          // reads a body of any size
	creditsAnything   bool          // credits what is not its to credit
	probeUnsigned     bool          // answers the probe without checking its signature

	mu      sync.Mutex
	credits map[string]int
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/cb/conformance/transfers/") {
		f.probe(w, r)
		return
	}
	if r.URL.Path != "/cb" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	rd := io.Reader(r.Body)
	if !f.unbounded {
		rd = http.MaxBytesReader(w, r.Body, 4<<20)
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		f.bad(w, http.StatusRequestEntityTooLarge)
		return
	}
	if !f.ignoresSignatures && wire.Verify(r.Header.Get(wire.SignatureHeader), f.secret, body, time.Now(), 5*time.Minute) != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var cb wire.Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		f.bad(w, http.StatusBadRequest)
		return
	}
	switch cb.Event {
	case wire.EventTransfersCommitted:
		f.mu.Lock()
		for _, t := range cb.Transfers {
			mine := t.Payee.Participant == f.id && t.State == "COMMITTED" && t.Currency == "CNY"
			if !mine && !f.creditsAnything || f.credits[t.ID] > 0 && !f.doubleCounts {
				continue
			}
			f.credits[t.ID]++
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case wire.EventTransferConfirm:
		time.Sleep(f.confirmDelay)
		b, _ := json.Marshal(wire.Decision{Decision: "accept", TransferID: cb.Transfer.ID})
		w.Header().Set(wire.SignatureHeader, wire.Sign(f.secret, time.Now(), b))
		w.Write(b)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// bad answers a body it cannot read: status, or 500 when it crashes.
func (f *fake) bad(w http.ResponseWriter, status int) {
	if f.crashesOnBadJSON {
		status = http.StatusInternalServerError
	}
	http.Error(w, "unreadable", status)
}

func (f *fake) probe(w http.ResponseWriter, r *http.Request) {
	if !f.probeUnsigned && wire.Verify(r.Header.Get(wire.SignatureHeader), f.secret, []byte(r.URL.Path), time.Now(), 5*time.Minute) != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/cb/conformance/transfers/")
	f.mu.Lock()
	n := f.credits[id]
	f.mu.Unlock()
	if n == 0 {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"type":"https://hulian.dev/problems/not-found","title":"Not Found","status":404}`))
		return
	}
	b, _ := json.Marshal(map[string]any{"transferId": id, "credits": n, "amount": "0.01", "currency": "CNY"})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// TestBrokenParticipants: each deliberate defect fails exactly the cases
// of the rule it breaks, and only those.
func TestBrokenParticipants(t *testing.T) {
	b := newBed(t)
	const deadline = 400 * time.Millisecond
	for _, tc := range []struct {
		name   string
		defect func(f *fake)
		fails  []string
	}{
		{"none", func(*fake) {}, nil},
		{"ignores-signatures", func(f *fake) { f.ignoresSignatures = true },
			[]string{"signature.missing", "signature.wrong-secret", "signature.stale", "signature.other-body", "signature.malformed-header", "signature.confirm"}},
		{"double-counts", func(f *fake) { f.doubleCounts = true },
			[]string{"notification.redelivered", "notification.redelivered-in-batch", "notification.concurrent-redelivery"}},
		{"confirms-late", func(f *fake) { f.confirmDelay = deadline + 200*time.Millisecond },
			[]string{"confirm.answered", "confirm.redelivered"}},
		{"crashes-on-bad-json", func(f *fake) { f.crashesOnBadJSON = true },
			[]string{"malformed.not-json", "malformed.wrong-types", "malformed.huge-body"}},
		{"unbounded", func(f *fake) { f.unbounded = true }, []string{"malformed.huge-body"}},
		{"credits-anything", func(f *fake) { f.creditsAnything = true },
			[]string{"unknown.other-payee", "unknown.not-committed", "unknown.currency"}},
		{"probe-unsigned", func(f *fake) { f.probeUnsigned = true }, []string{"probe.unsigned"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{id: "fake-" + tc.name, credits: map[string]int{}}
			tc.defect(f)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			key, secret := b.enroll(t, f.id, "confirm", srv.URL+"/cb")
			f.secret = secret
			rep, progress := b.run(t, conformance.Config{Participant: f.id, APIKey: key, CallbackSecret: secret, ConfirmDeadline: deadline}, false)
			t.Logf("progress:\n%s", progress)
			o := outcomes(rep)
			if !slices.Equal(o[conformance.Fail], tc.fails) || len(o[conformance.Skip]) > 0 {
				t.Errorf("failed %v, skipped %v; want failed %v\n%s", o[conformance.Fail], o[conformance.Skip], tc.fails, progress)
			}
			for _, r := range rep.Results {
				if r.Status == conformance.Fail && (r.Reason == "" || !strings.Contains(progress, r.Reason)) {
					t.Errorf("%s failed without its reason on its progress line: %q", r.Case, r.Reason)
				}
			}
		})
	}
}

// TestWithoutSecret: without the callback secret the cases that sign or
// probe are skipped, saying why; the alias cases still run.
func TestWithoutSecret(t *testing.T) {
	b := newBed(t)
	p := b.simParticipant(t, "sim-nosecret", "confirm")
	rep, _ := b.run(t, conformance.Config{Participant: p.ID(), APIKey: p.API().Token}, false)
	o := outcomes(rep)
	var ran []string
	for _, c := range allCases() {
		if strings.HasPrefix(c, "alias.") || c == "participant.readable" {
			ran = append(ran, c)
		}
	}
	if len(o[conformance.Fail]) > 0 || !slices.Equal(o[conformance.Pass], ran) {
		t.Errorf("passed %v, failed %v; want passed %v", o[conformance.Pass], o[conformance.Fail], ran)
	}
	for _, r := range rep.Results {
		if r.Status == conformance.Skip && !strings.Contains(r.Reason, "--callback-secret") {
			t.Errorf("%s skipped for %q", r.Case, r.Reason)
		}
	}
}

// TestWrongKey: a key the switch refuses fails the first case and skips
// the rest, naming it.
func TestWrongKey(t *testing.T) {
	b := newBed(t)
	rep, _ := b.run(t, conformance.Config{Participant: "other-pay", APIKey: "other-pay.not-the-key", CallbackSecret: "x"}, false)
	o := outcomes(rep)
	if !slices.Equal(o[conformance.Fail], []string{"participant.readable"}) || len(o[conformance.Skip]) != len(allCases())-1 {
		t.Errorf("outcomes %v", o)
	}
	if r := rep.Results[0]; !strings.Contains(r.Reason, "401") {
		t.Errorf("reason %q", r.Reason)
	}
}

// TestCasesHaveRules: every case names a rule, once, and
// docs/conformance.md describes it.
func TestCasesHaveRules(t *testing.T) {
	doc, err := os.ReadFile("../../docs/conformance.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range conformance.Cases() {
		if c.Rule == "" || seen[c.Name] || !strings.Contains(c.Name, ".") {
			t.Errorf("case %q: rule %q", c.Name, c.Rule)
		}
		seen[c.Name] = true
		if !bytes.Contains(doc, []byte("| `"+c.Name+"` |")) {
			t.Errorf("docs/conformance.md has no row for %s", c.Name)
		}
	}
}
