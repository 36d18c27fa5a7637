package app_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/wire"
)

// net is a scheme of three participants with aliases, funds and a cap.
type scheme struct {
	*sw
	keys    map[string]string
	aliases map[string]string // participant → its user's alias (WALLET type)
}

func newScheme(t *testing.T, s *sw) *scheme {
	sc := &scheme{sw: s, keys: map[string]string{}, aliases: map[string]string{}}
	for _, id := range []string{"wallet-a", "wallet-b", "bank-c"} {
		k, _ := s.participant(id, func(np *wire.NewParticipant) {
			if strings.HasPrefix(id, "bank") {
				np.Kind = "bank"
			}
		})
		sc.keys[id] = k
		sc.aliases[id] = "u:" + id
		s.party(k, "WALLET", "u:"+id, "User "+id, "acct-"+id)
	}
	s.deposit("wallet-a", "500.00")
	s.deposit("wallet-b", "300.00")
	s.ok(200, "PUT", "/v1/participants/bank-c/limits/CNY", opToken, wire.Limit{NetDebitCap: "400.00"}, nil)
	s.ok(200, "PUT", "/v1/fees/CNY", opToken, wire.Fees{Fixed: "0.05", Rate: "0.10", Min: "0.05", Max: "1.00"}, nil)
	return sc
}

var ids = []string{"wallet-a", "wallet-b", "bank-c"}

// payRandom makes n random payments between the three, some refused.
func (sc *scheme) payRandom(rng *rand.Rand, prefix string, n int) int {
	committed := 0
	for i := 0; i < n; i++ {
		from, to := ids[rng.IntN(3)], ids[rng.IntN(3)]
		if from == to {
			continue
		}
		amount := money.Amount(1 + rng.IntN(9000)).Format(cny)
		r := sc.do("POST", "/v1/transfers", sc.keys[from], pay(fmt.Sprintf("%s-%d", prefix, i), "WALLET", sc.aliases[to], amount))
		switch r.status {
		case 201:
			committed++
		case 422: // insufficient funds: expected now and then
		default:
			sc.t.Fatalf("payment: %d %s", r.status, r.body)
		}
	}
	return committed
}

func (sc *scheme) openWindow() wire.SettlementWindow {
	sc.t.Helper()
	var ws wire.SettlementWindows
	sc.ok(200, "GET", "/v1/settlement-windows?currency=CNY&state=OPEN", opToken, nil, &ws)
	if len(ws.Windows) != 1 {
		sc.t.Fatalf("open windows: %+v", ws)
	}
	return ws.Windows[0]
}

func (sc *scheme) close(id string) wire.SettlementWindow {
	sc.t.Helper()
	var w wire.SettlementWindow
	sc.ok(200, "POST", "/v1/settlement-windows/"+id+"/close", opToken, nil, &w)
	if w.ID != id || w.State == "OPEN" || w.Next == "" || w.ClosedAt.IsZero() {
		sc.t.Fatalf("closed window %+v", w)
	}
	return w
}

func (sc *scheme) report(id string) wire.SettlementReport {
	sc.t.Helper()
	var r wire.SettlementReport
	sc.ok(200, "GET", "/v1/settlement-windows/"+id+"/report", opToken, nil, &r)
	return r
}

// recompute works out each participant's position in [from, to) from
// the raw ledger events, with code that shares nothing with the
// settlement package but the account id layout.
func recompute(t *testing.T, a *app.App, from, to int64) map[string][4]money.Amount {
	t.Helper()
	out := map[string][4]money.Amount{} // sent, received, fees, net
	name := func(acct ledger.AccountID) string {
		num, _, kind := participant.SplitAccountID(acct)
		if kind != participant.Settlement {
			return "hub"
		}
		p, _ := a.Participants.ByNumber(num)
		return p.ID
	}
	err := a.Journal.Scan(context.Background(), from, to, func(e ledger.Event) error {
		if e.Kind != ledger.KindPost && e.Kind != ledger.KindCommit {
			return nil
		}
		switch e.Purpose {
		case purpose.Payment:
			d, c := out[name(e.Debit)], out[name(e.Credit)]
			d[0] += e.Amount
			d[3] -= e.Amount
			c[1] += e.Amount
			c[3] += e.Amount
			out[name(e.Debit)], out[name(e.Credit)] = d, c
		case purpose.Fee:
			d, c := out[name(e.Debit)], out[name(e.Credit)]
			d[2] += e.Amount
			d[3] -= e.Amount
			c[1] += e.Amount
			c[3] += e.Amount
			out[name(e.Debit)], out[name(e.Credit)] = d, c
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkReport compares a report with the raw events and its own sums.
func checkReport(t *testing.T, a *app.App, r wire.SettlementReport) {
	t.Helper()
	want := recompute(t, a, r.Window.OpenedAt.UnixNano(), r.Window.ClosedAt.UnixNano())
	if r.Window.ID == "CNY-1" {
		want = recompute(t, a, 0, r.Window.ClosedAt.UnixNano())
	}
	var sum money.Amount
	seen := 0
	for _, p := range r.Positions {
		w := want[p.Participant]
		got := [4]money.Amount{amt(t, p.Sent), amt(t, p.Received), amt(t, p.Fees), amt(t, p.Net)}
		if got != w {
			t.Errorf("%s %s: report %v, raw events %v", r.Window.ID, p.Participant, got, w)
		}
		sum += got[3]
		seen++
	}
	if seen != len(want) {
		t.Errorf("%s: %d positions, raw events have %d", r.Window.ID, seen, len(want))
	}
	if sum != 0 {
		t.Errorf("%s: nets sum to %s", r.Window.ID, sum.Format(cny))
	}
	var pay, receive money.Amount
	for _, in := range r.Instructions {
		if in.Direction == "pay" {
			pay += amt(t, in.Amount)
		} else {
			receive += amt(t, in.Amount)
		}
	}
	if pay != receive {
		t.Errorf("%s: instructions pay %s, receive %s", r.Window.ID, pay.Format(cny), receive.Format(cny))
	}
}

// TestSettlementReport closes windows over random traffic and checks each
// report against the raw ledger events, on both engines; and the CSV and
// participant views.
func TestSettlementReport(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		sc := newScheme(t, s)
		rng := rand.New(rand.NewPCG(1, 2))
		for round := 0; round < 3; round++ {
			w := sc.openWindow()
			n := sc.payRandom(rng, fmt.Sprintf("r%d", round), 40)
			closed := sc.close(w.ID)
			r := sc.report(closed.ID)
			checkReport(t, s.app, r)
			if *r.Transfers != int64(n) {
				t.Errorf("%s: %d transfers, %d committed", w.ID, *r.Transfers, n)
			}
			if next := sc.openWindow(); next.ID != closed.Next || !next.OpenedAt.Equal(closed.ClosedAt) {
				t.Errorf("next window %+v after %+v", next, closed)
			}
		}
		// Closing a closed window changes nothing; an open one has no report.
		var again wire.SettlementWindow
		s.ok(200, "POST", "/v1/settlement-windows/CNY-1/close", opToken, nil, &again)
		if again.Next != "CNY-2" {
			t.Fatalf("closing twice: %+v", again)
		}
		s.problem(409, "window-open", "GET", "/v1/settlement-windows/"+sc.openWindow().ID+"/report", opToken, nil)
		s.problem(404, "not-found", "GET", "/v1/settlement-windows/CNY-99/report", opToken, nil)
		s.problem(404, "not-found", "GET", "/v1/settlement-windows/nonsense/report", opToken, nil)
		s.problem(400, "invalid-request", "GET", "/v1/settlement-windows?state=HALF", opToken, nil)

		// CSV: one row per position.
		req, _ := http.NewRequest("GET", s.url+"/v1/settlement-windows/CNY-2/report", nil)
		req.Header.Set("Authorization", "Bearer "+opToken)
		req.Header.Set("Accept", "text/csv")
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		rep := sc.report("CNY-2")
		if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 1+len(rep.Positions) || rows[0][2] != "participant" {
			t.Fatalf("csv: %v %v %v", resp.Header, rows, err)
		}
		// A participant sees only its own part.
		var own wire.SettlementReport
		s.ok(200, "GET", "/v1/settlement-windows/CNY-2/report", sc.keys["wallet-b"], nil, &own)
		if len(own.Positions) != 1 || own.Positions[0].Participant != "wallet-b" || own.HubFees != "" || own.Transfers != nil || len(own.Instructions) > 1 {
			t.Fatalf("participant's view %+v", own)
		}
		var ws wire.SettlementWindows
		s.ok(200, "GET", "/v1/settlement-windows", sc.keys["wallet-b"], nil, &ws)
		if len(ws.Windows) != 4 {
			t.Fatalf("windows %+v", ws)
		}
	})
}

// TestSettlementConcurrentClose closes windows while payments commit
// from many goroutines: every payment lands in exactly one window.
func TestSettlementConcurrentClose(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		sc := newScheme(t, s)
		s.deposit("wallet-a", "100000.00")
		s.deposit("wallet-b", "100000.00")
		var committed atomic.Int64
		var volume atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					from, to := ids[g%2], ids[(g+1)%3]
					if from == to {
						to = "bank-c"
					}
					a := money.Amount(100 + g)
					r := s.do("POST", "/v1/transfers", sc.keys[from], pay(fmt.Sprintf("cc-%d-%d", g, i), "WALLET", sc.aliases[to], a.Format(cny)))
					if r.status == 201 {
						committed.Add(1)
						volume.Add(int64(a))
					}
				}
			}()
		}
		var closed []string
		for k := 0; k < 5; k++ {
			time.Sleep(60 * time.Millisecond)
			closed = append(closed, sc.close(sc.openWindow().ID).ID)
		}
		close(stop)
		wg.Wait()
		closed = append(closed, sc.close(sc.openWindow().ID).ID)
		var n, vol int64
		var prev wire.SettlementWindow
		for i, id := range closed {
			r := sc.report(id)
			checkReport(t, s.app, r)
			n += *r.Transfers
			vol += int64(amt(t, r.Volume))
			if i > 0 && !r.Window.OpenedAt.Equal(prev.ClosedAt) {
				t.Errorf("%s opened at %v, %s closed at %v", id, r.Window.OpenedAt, prev.ID, prev.ClosedAt)
			}
			prev = r.Window
		}
		if n != committed.Load() || vol != volume.Load() {
			t.Fatalf("windows hold %d payments of %d, committed %d of %d", n, vol, committed.Load(), volume.Load())
		}
		if committed.Load() == 0 {
			t.Fatal("no payment committed")
		}
	})
}

// TestSettlementConfirmations settles windows participant by participant:
// confirmations are idempotent, settling more than owed is refused, the
// window goes CLOSED → SETTLING → SETTLED, and after settling every
// participant's balance is its balance when the window opened plus
// deposits and withdrawals plus the nets of unsettled windows.
func TestSettlementConfirmations(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		sc := newScheme(t, s)
		rng := rand.New(rand.NewPCG(3, 4))
		// Balances when the first window opened: nothing yet but deposits,
		// which are not part of any window.
		opened := map[string]money.Amount{"wallet-a": 50000, "wallet-b": 30000, "bank-c": 0}
		var windows []string
		for round := 0; round < 3; round++ {
			sc.payRandom(rng, fmt.Sprintf("s%d", round), 30)
			windows = append(windows, sc.close(sc.openWindow().ID).ID)
		}
		sc.payRandom(rng, "open", 10) // the open window's traffic

		first := sc.report(windows[0])
		s.problem(409, "window-open", "POST", "/v1/settlement-windows/"+sc.openWindow().ID+"/confirmations", opToken, wire.Confirmation{Participant: "wallet-a"})
		s.problem(404, "not-found", "POST", "/v1/settlement-windows/"+windows[0]+"/confirmations", opToken, wire.Confirmation{Participant: "nobody"})
		s.problem(400, "invalid-request", "POST", "/v1/settlement-windows/"+windows[0]+"/confirmations", opToken, wire.Confirmation{})
		if len(first.Instructions) < 2 {
			t.Fatalf("instructions %+v", first.Instructions)
		}
		in := first.Instructions[0]
		over := (amt(t, in.Amount) + 1).Format(cny)
		s.problem(422, "settlement-amount-mismatch", "POST", "/v1/settlement-windows/"+windows[0]+"/confirmations", opToken, wire.Confirmation{Participant: in.Participant, Amount: over})
		balance := func(id string) money.Amount { return amt(t, s.balance(opToken, id).Balance) }
		var done wire.Instruction
		s.ok(201, "POST", "/v1/settlement-windows/"+windows[0]+"/confirmations", opToken, wire.Confirmation{Participant: in.Participant, Amount: in.Amount}, &done)
		if !done.Confirmed {
			t.Fatalf("confirmation %+v", done)
		}
		b := balance(in.Participant)
		s.ok(200, "POST", "/v1/settlement-windows/"+windows[0]+"/confirmations", opToken, wire.Confirmation{Participant: in.Participant}, nil)
		if balance(in.Participant) != b {
			t.Fatal("a second confirmation moved money")
		}
		var w wire.SettlementWindow
		s.ok(200, "GET", "/v1/settlement-windows/"+windows[0], opToken, nil, &w)
		if w.State != "SETTLING" {
			t.Fatalf("state %s", w.State)
		}
		for _, in := range first.Instructions[1:] {
			s.ok(201, "POST", "/v1/settlement-windows/"+windows[0]+"/confirmations", opToken, wire.Confirmation{Participant: in.Participant}, nil)
		}
		s.ok(200, "GET", "/v1/settlement-windows/"+windows[0], opToken, nil, &w)
		if w.State != "SETTLED" {
			t.Fatalf("state %s", w.State)
		}
		// Settle the third window too, leaving the second unsettled.
		for _, in := range sc.report(windows[2]).Instructions {
			s.ok(201, "POST", "/v1/settlement-windows/"+windows[2]+"/confirmations", opToken, wire.Confirmation{Participant: in.Participant}, nil)
		}
		// The property, per participant.
		open := sc.openWindow()
		openNets := recompute(t, s.app, open.OpenedAt.UnixNano(), 1<<62)
		second := sc.report(windows[1])
		for _, id := range ids {
			want := opened[id] + openNets[id][3]
			for _, p := range second.Positions {
				if p.Participant == id {
					want += amt(t, p.Net)
				}
			}
			if got := balance(id); got != want {
				t.Errorf("%s: balance %s, want %s", id, got.Format(cny), want.Format(cny))
			}
		}
		// The hub's fee revenue was paid out for the settled windows.
		h := s.hub()
		fees := amt(t, second.HubFees) + openNets["hub"][3]
		if got := amt(t, h.FeeRevenue); got != fees {
			t.Errorf("hub fee account %s, want %s (unsettled fees)", got.Format(cny), fees.Format(cny))
		}
	})
}

// TestSettlementCloseRecovery reproduces a crash between the closing mark
// and the record of the close: at the next start the close is finished.
func TestSettlementCloseRecovery(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			dir, store := t.TempDir(), e.store(t)
			cfg := app.Config{DataDir: dir, Store: store, Addr: "127.0.0.1:0", AdminToken: opToken}
			a, err := app.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			a.Serve(context.Background())
			s := &sw{t: t, app: a, url: a.URL(), hc: http.DefaultClient}
			sc := newScheme(t, s)
			sc.payRandom(rand.New(rand.NewPCG(5, 6)), "x", 20)
			ws, _ := a.Settlement.Windows(context.Background(), cny, settlement.Open)
			res, err := a.Journal.Submit(context.Background(), []ledger.Command{settlement.CloseCommand(ws[0])})
			if err != nil || res[0].Status != ledger.StatusOK {
				t.Fatalf("mark: %v %v", res, err)
			}
			sc.payRandom(rand.New(rand.NewPCG(7, 8)), "y", 10) // after the mark: the next window
			a.Close(context.Background())

			a, err = app.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close(context.Background())
			a.Serve(context.Background())
			s = &sw{t: t, app: a, url: a.URL(), hc: http.DefaultClient}
			sc.sw = s
			r := sc.report("CNY-1")
			if r.Window.ClosedAt.UnixNano() != res[0].Timestamp || r.Window.Next != "CNY-2" {
				t.Fatalf("recovered window %+v, mark at %d", r.Window, res[0].Timestamp)
			}
			checkReport(t, a, r)
			if sc.openWindow().ID != "CNY-2" {
				t.Fatal("no open window after recovery")
			}
			r2 := sc.report(sc.close("CNY-2").ID)
			checkReport(t, a, r2)
			if *r.Transfers == 0 || *r2.Transfers == 0 {
				t.Fatalf("transfers %d, %d", *r.Transfers, *r2.Transfers)
			}
		})
	}
}
