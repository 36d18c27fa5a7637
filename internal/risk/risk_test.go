package risk

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/risk/rules"
	"github.com/hulian/hulian/internal/testbed"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

var cny = money.MustCurrency("CNY")

// noon is 12:00 in Shanghai: 04:00 UTC.
var noon = time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)

func newEngine(t testing.TB) (*Engine, *testbed.Clock) {
	t.Helper()
	clk := testbed.NewClock(noon, 0)
	bed := testbed.Open(t, testbed.Options{Now: clk.Now})
	e, err := Open(context.Background(), bed.DB, bed.Journal, Config{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, clk
}

var (
	walletA = participant.Participant{ID: "wallet-a"}
	walletB = participant.Participant{ID: "wallet-b"}
)

// screening is a payment of amount from user u-1 of wallet-a to
// MSISDN:+8613800138000 at wallet-b.
func screeningOf(id string, amount money.Amount, at time.Time) *transfer.Screening {
	return &transfer.Screening{ID: id, Payer: &walletA, Payee: &walletB, PayeeType: "MSISDN", PayeeValue: "+8613800138000",
		Amount: amount, Currency: cny, PayerAccount: "u-1", Factors: mustFactors("pin", "device"), At: at}
}

func mustFactors(names ...string) transfer.FactorSet {
	f, err := transfer.ParseFactors(names)
	if err != nil {
		panic(err)
	}
	return f
}

// committed tells the engine of a committed payment like s.
func committed(e *Engine, s *transfer.Screening) {
	e.Learn(&transfer.Transfer{ID: s.ID, Payer: s.Payer.ID, Payee: transfer.Payee{Type: s.PayeeType, Value: s.PayeeValue,
		Participant: s.Payee.ID}, Amount: s.Amount, Currency: s.Currency, CreatedAt: s.At, PayerAccount: s.PayerAccount, Factors: s.Factors})
}

// TestVariables: each variable and function a rule may use, true and
// false, on one payment after two committed ones from the same user.
func TestVariables(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	committed(e, screeningOf("c-1", 300, noon.Add(-30*time.Minute)))
	committed(e, screeningOf("c-2", 700, noon.Add(-2*time.Hour)))
	if _, err := e.PutList(ctx, "watch", []string{"MSISDN:+8613800138000", "wallet-a/u-1"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		expr  string
		match bool
	}{
		{"amount == 5000", true},
		{"amount > 5000", false},
		{`currency == "CNY"`, true},
		{`payer == "wallet-a" && payee == "wallet-b"`, true},
		{`payeeAlias == "MSISDN:+8613800138000"`, true},
		{`payerAccount == "u-1"`, true},
		{"hour == 12", true}, // Asia/Shanghai by default
		{"fraudMarks == 0", true},
		{"score >= 0.0 && score <= 1.0", true},
		{"newPayee", false}, // u-1 paid this alias before
		{`factors == ["pin", "device"]`, true},
		{`"biometric" in factors`, false},
		{`payerCount(duration("1h")) == 1 && payerSum(duration("1h")) == 300`, true},
		{`payerCount(duration("3h")) == 2 && payerSum(duration("3h")) == 1000`, true},
		{`aliasCount(duration("24h")) == 2 && aliasSum(duration("24h")) == 1000`, true},
		{`inList("watch", payeeAlias) && inList("watch", payer + "/" + payerAccount)`, true},
		{`inList("watch", "nothing") || inList("no-such-list", payeeAlias)`, false},
	} {
		t.Run(c.expr, func(t *testing.T) {
			if _, _, err := e.PutRule(ctx, rules.Rule{ID: "r", Expression: c.expr, Action: rules.ActionDecline, Reason: "x", Mode: rules.ModeEnforce}); err != nil {
				t.Fatal(err)
			}
			_, err := e.Screen(ctx, screeningOf("s", 5000, noon))
			if got := errors.Is(err, ErrDeclined); got != c.match {
				t.Errorf("declined %v (%v), want %v", got, err, c.match)
			}
		})
	}
}

// TestOutcome: decline beats review, review holds, alert and shadow only
// record; a refusal names the first decline rule by id.
func TestOutcome(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	put := func(id, expr string, a rules.Action, m rules.Mode) {
		if _, _, err := e.PutRule(ctx, rules.Rule{ID: id, Expression: expr, Action: a, Reason: id + "-r", Mode: m}); err != nil {
			t.Fatal(err)
		}
	}
	put("a-watch", "amount > 10", rules.ActionAlert, rules.ModeEnforce)
	put("b-hold", "amount > 100", rules.ActionReview, rules.ModeEnforce)
	put("c-no", "amount > 1000", rules.ActionDecline, rules.ModeEnforce)
	put("d-no", "amount > 1000", rules.ActionDecline, rules.ModeEnforce)
	put("e-shadow", "amount > 10000", rules.ActionDecline, rules.ModeShadow)
	for _, c := range []struct {
		amount   money.Amount
		hold     bool
		declined string
	}{
		{5, false, ""}, {50, false, ""}, {500, true, ""}, {5000, false, "c-no"}, {50000, false, "c-no"},
	} {
		v, err := e.Screen(ctx, screeningOf("o", c.amount, noon))
		var d *Declined
		switch {
		case c.declined != "" && (!errors.As(err, &d) || d.Rule != c.declined || d.Reason != c.declined+"-r"):
			t.Errorf("%d: %v, want declined by %s", c.amount, err, c.declined)
		case c.declined == "" && err != nil:
			t.Errorf("%d: %v", c.amount, err)
		case v.Hold != c.hold:
			t.Errorf("%d: hold %v", c.amount, v.Hold)
		}
	}
	e.alerts.close()
	as, err := e.Alerts(ctx, AlertQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]int{}
	held := 0
	for _, a := range as {
		byRule[a.Rule]++
		if a.Held {
			held++
		}
	}
	// 50: a; 500: a, b (held); 5000: a, b, c, d; 50000: a, b, c, d, e.
	if byRule["a-watch"] != 4 || byRule["b-hold"] != 3 || byRule["c-no"] != 2 || byRule["d-no"] != 2 || byRule["e-shadow"] != 1 || held != 1 {
		t.Errorf("alerts by rule %v, held %d", byRule, held)
	}
}

// TestRuleLimits: rules and lists refuse what they cannot hold, and a
// refused change changes nothing.
func TestRuleLimits(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	if _, _, err := e.PutRule(ctx, rules.Rule{ID: "x", Expression: `payerCount(duration("25h")) > 1`, Action: rules.ActionAlert,
		Reason: "x", Mode: rules.ModeEnforce}); !errors.Is(err, rules.ErrInvalidRule) {
		t.Errorf("a window beyond the max: %v", err)
	}
	if len(e.Rules()) != 0 {
		t.Errorf("rules %v", e.Rules())
	}
	for name, items := range map[string][]string{"": {"a"}, "UPPER": {"a"}, "ok": {""}, "ok2": {"a\x00b"}, "ok3": {string(make([]byte, ItemMax+1))}} {
		if _, err := e.PutList(ctx, name, items); !errors.Is(err, ErrInvalid) {
			t.Errorf("list %q %q: %v", name, items, err)
		}
	}
	if _, err := e.RemoveItem(ctx, "none", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove from no list: %v", err)
	}
	if len(e.Lists()) != 0 {
		t.Errorf("lists %v", e.Lists())
	}
}

// benchRules are bench/risk/rules.json: twenty rules, ten of them with
// velocity functions.
func benchRules(t testing.TB) []rules.Rule {
	b, err := os.ReadFile("../../bench/risk/rules.json")
	if err != nil {
		t.Fatal(err)
	}
	var ws []wire.RiskRule
	if err := json.Unmarshal(b, &ws); err != nil {
		t.Fatal(err)
	}
	var out []rules.Rule
	for _, w := range ws {
		out = append(out, rules.Rule{ID: w.ID, Expression: w.Expression, Action: rules.Action(w.Action), Reason: w.Reason, Mode: rules.Mode(w.Mode)})
	}
	return out
}

// BenchmarkScreen is one payment's screening with and without the twenty
// rules, against windows holding 100,000 users' payments, and the
// learning of a commit.
func BenchmarkScreen(b *testing.B) {
	for _, n := range []int{0, 20} {
		b.Run(map[int]string{0: "rules=0", 20: "rules=20"}[n], func(b *testing.B) {
			e, _ := newEngine(b)
			ctx := context.Background()
			for _, r := range benchRules(b)[:n] {
				if _, _, err := e.PutRule(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			users := make([]string, 100_000)
			for i := range users {
				users[i] = "u-" + itoa(i)
				s := screeningOf("w", 100, noon.Add(-time.Duration(i)*time.Second/2))
				s.PayerAccount, s.PayeeValue = users[i], "+86138"+itoa(10_000_000+i%50_000)
				committed(e, s)
			}
			ss := make([]*transfer.Screening, 1024)
			for i := range ss {
				ss[i] = screeningOf("b", 100, noon)
				ss[i].PayerAccount, ss[i].PayeeValue = users[i*97%len(users)], "+86138"+itoa(10_000_000+i*31%50_000)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := e.Screen(ctx, ss[i%len(ss)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("learn", func(b *testing.B) {
		e, _ := newEngine(b)
		s := screeningOf("l", 100, noon)
		b.ReportAllocs()
		for i := range b.N {
			s.PayerAccount = "u-" + itoa(i%100_000)
			committed(e, s)
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestMarks: a rule saved and deleted, a list changed and a decision are
// ledger marks whose Meta is docs/formats.md's.
func TestMarks(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	r := rules.Rule{ID: "big", Expression: "amount > 1", Action: rules.ActionAlert, Reason: "big", Mode: rules.ModeShadow, Description: "d"}
	if _, _, err := e.PutRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteRule(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PutList(ctx, "l", []string{"b", "a"}); err != nil {
		t.Fatal(err)
	}
	var got [][]string
	err := e.ledger.(*journal.Journal).Scan(ctx, 0, 1<<62, func(ev ledger.Event) error {
		if ev.Kind == ledger.KindMark && (ev.Purpose == purpose.RiskRule || ev.Purpose == purpose.RiskList) {
			got = append(got, decodeMeta(t, ev.Meta))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"put", "big", "alert", "big", "shadow", "amount > 1", digest("d"), "operator"},
		{"delete", "big", "operator"},
		{"replace", "l", "2", "", "2", digest("a\nb\n"), "operator"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("marks\n got %q\nwant %q", got, want)
	}
}

// decodeMeta reads a mark's Meta as docs/formats.md lays it out.
func decodeMeta(t *testing.T, meta string) []string {
	t.Helper()
	if len(meta) == 0 || meta[0] != 1 {
		t.Fatalf("meta %q: not version 1", meta)
	}
	b := []byte(meta[1:])
	var out []string
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			t.Fatalf("meta %q: cut short", meta)
		}
		out = append(out, string(b[k:k+int(n)]))
		b = b[k+int(n):]
	}
	return out
}

// heldFlow is the payment flow as Sweep sees it: each transfer's state.
type heldFlow struct{ states map[string]transfer.State }

// Release and Refuse find only the transfers of states, and end them.
func (f heldFlow) Release(ctx context.Context, id string) (transfer.Transfer, bool, error) {
	return f.end(id, transfer.Committed)
}

func (f heldFlow) Refuse(ctx context.Context, id, _ string) (transfer.Transfer, bool, error) {
	return f.end(id, transfer.Aborted)
}

func (f heldFlow) end(id string, st transfer.State) (transfer.Transfer, bool, error) {
	if _, ok := f.states[id]; !ok {
		return transfer.Transfer{}, false, transfer.ErrNotFound
	}
	f.states[id] = st
	return transfer.Transfer{ID: id, State: st}, true, nil
}

func (f heldFlow) Get(_ context.Context, _ transfer.Viewer, id string) (transfer.Transfer, error) {
	st, ok := f.states[id]
	if !ok {
		return transfer.Transfer{}, transfer.ErrNotFound
	}
	return transfer.Transfer{ID: id, State: st}, nil
}

// TestSweep: the alerts of holds that the review timeout aborted close
// as "expired"; those still held, or younger than the timeout, stay open.
func TestSweep(t *testing.T) {
	e, clk := newEngine(t)
	ctx := context.Background()
	if _, _, err := e.PutRule(ctx, rules.Rule{ID: "hold", Expression: "amount > 100", Action: rules.ActionReview, Reason: "x",
		Mode: rules.ModeEnforce}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"h-aborted", "h-held", "h-gone"} {
		if v, err := e.Screen(ctx, screeningOf(id, 500, clk.Now())); err != nil || !v.Hold {
			t.Fatalf("%s: %+v %v", id, v, err)
		}
	}
	e.Bind(heldFlow{states: map[string]transfer.State{"h-aborted": transfer.Aborted, "h-held": transfer.Held}})
	if n, err := e.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep before the timeout: %d %v", n, err)
	}
	clk.Advance(24*time.Hour + time.Second)
	if n, err := e.Sweep(ctx); err != nil || n != 2 {
		t.Fatalf("sweep after the timeout: %d %v", n, err)
	}
	as, err := e.Alerts(ctx, AlertQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		closed := a.Status == StatusClosed && a.Decision == DecisionExpired
		if closed != (a.TransferID != "h-held") {
			t.Errorf("alert of %s: %s %s", a.TransferID, a.Status, a.Decision)
		}
	}
}

// TestDecideNoPayment: the alert of a hold whose payment the ledger then
// refused (so that there is no such transfer) closes on a decision,
// without a transfer; one with its payment commits it; a closed one
// refuses another decision, and a bad decision or note changes nothing.
func TestDecideNoPayment(t *testing.T) {
	e, clk := newEngine(t)
	ctx := context.Background()
	if _, _, err := e.PutRule(ctx, rules.Rule{ID: "hold", Expression: "amount > 100", Action: rules.ActionReview, Reason: "x",
		Mode: rules.ModeEnforce}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"h-gone", "h-held"} {
		if _, err := e.Screen(ctx, screeningOf(id, 500, clk.Now())); err != nil {
			t.Fatal(err)
		}
	}
	e.Bind(heldFlow{states: map[string]transfer.State{"h-held": transfer.Held}})
	as, err := e.Alerts(ctx, AlertQuery{Limit: 10})
	if err != nil || len(as) != 2 {
		t.Fatalf("alerts %+v %v", as, err)
	}
	if _, err := e.Decide(ctx, as[0].ID, "maybe", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("a decision of maybe: %v", err)
	}
	if _, err := e.Decide(ctx, as[0].ID, DecisionReject, string(make([]byte, NoteMax+1))); !errors.Is(err, ErrInvalid) {
		t.Errorf("a note too long: %v", err)
	}
	d, err := e.Decide(ctx, as[0].ID, DecisionReject, "never reserved")
	if err != nil || d.Transfer != nil || d.Alert.Status != StatusClosed || d.Alert.Decision != DecisionReject {
		t.Fatalf("decision without a payment: %+v %v", d, err)
	}
	d, err = e.Decide(ctx, as[1].ID, DecisionRelease, "")
	if err != nil || d.Transfer == nil || d.Transfer.State != transfer.Committed {
		t.Fatalf("release: %+v %v", d, err)
	}
	if _, err := e.Decide(ctx, as[1].ID, DecisionReject, ""); !errors.Is(err, ErrAlertClosed) {
		t.Errorf("a second decision: %v", err)
	}
	if _, err := e.Decide(ctx, 999, DecisionReject, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("no such alert: %v", err)
	}
}

// TestLimits: rules and lists stop at their bounds, and a refused change
// changes nothing.
func TestLimits(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	for i := range RulesMax + 1 {
		_, _, err := e.PutRule(ctx, rules.Rule{ID: "r" + strconv.Itoa(i), Expression: "amount > 1", Action: rules.ActionAlert,
			Reason: "x", Mode: rules.ModeShadow})
		if i < RulesMax && err != nil || i == RulesMax && !errors.Is(err, ErrLimit) {
			t.Fatalf("rule %d: %v", i, err)
		}
	}
	if n := len(e.Rules()); n != RulesMax {
		t.Errorf("%d rules", n)
	}
	if _, _, err := e.PutRule(ctx, rules.Rule{ID: "r0", Expression: "amount > 2", Action: rules.ActionAlert, Reason: "x",
		Mode: rules.ModeShadow}); err != nil {
		t.Errorf("replacing a rule at the bound: %v", err)
	}
	for i := range ListsMax + 1 {
		_, err := e.PutList(ctx, "l"+strconv.Itoa(i), []string{"a"})
		if i < ListsMax && err != nil || i == ListsMax && !errors.Is(err, ErrLimit) {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	if n := len(e.Lists()); n != ListsMax {
		t.Errorf("%d lists", n)
	}
	if _, err := e.AddItems(ctx, "l0", make([]string, ListRequestMax+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many items in a request: %v", err)
	}
}
