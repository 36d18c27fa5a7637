package velocity

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// event is one observed transfer in the model.
type event struct {
	at     time.Time
	amount int64
}

// modelKey is the exact history of one key, with what the model needs to
// know whether the design promises an exact answer for it.
type modelKey struct {
	events []event
	newest int64 // newest Unix second observed
	dense  bool  // once more than exact distinct seconds were kept at once
}

func (m *modelKey) observe(e event, window int64, exact int) {
	m.events = append(m.events, e)
	m.newest = max(m.newest, e.at.Unix())
	secs := map[int64]bool{}
	for _, x := range m.events {
		if s := x.at.Unix(); s+window >= m.newest {
			secs[s] = true
		}
	}
	if len(secs) > exact {
		m.dense = true
	}
}

// count returns the count and sum of the events at or after from.
func (m *modelKey) since(from time.Time) (count, sum int64) {
	for _, e := range m.events {
		if !e.at.Before(from) {
			count++
			sum += e.amount
		}
	}
	return count, sum
}

// TestModel checks random workloads against an exact model: every event
// kept in a slice. An answer is never below the exact count of the window
// (after now−d) and, for a key never holding more than exact distinct
// seconds, equals the exact count from the start of now−d's second: with
// room in the pools for every key, exact is wideMax; with 4 wide records
// for the 30 payer keys, which then take them from each other, inlineMax.
func TestModel(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rounds := 40
	if testing.Short() {
		rounds = 8
	}
	for round := range rounds {
		s := seed + uint64(round)
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) {
			runModel(t, s, 10000, wideMax)
		})
		t.Run(fmt.Sprint("small pool/seed=", s), func(t *testing.T) {
			runModel(t, s, 64, inlineMax)
		})
	}
}

func runModel(t *testing.T, seed uint64, maxKeys, exact int) {
	r := rand.New(rand.NewPCG(seed, 0))
	window := time.Duration(60+r.IntN(3*3600)) * time.Second
	w := New(Options{MaxWindow: window, MaxKeys: maxKeys})
	win := int64(window/time.Second) + lagSec // how long Windows keeps a transfer

	payers := []string{"bank-a", "bank-b", "wallet-c"}
	accounts := []string{"", "u1", "u2", "u3", "u4"}
	aliases := []string{"MSISDN:1", "MSISDN:2", "EMAIL:x@y", "MSISDN:3"}
	currencies := []string{"CNY", "USD"}
	payerModel := map[string]*modelKey{}
	aliasModel := map[string]*modelKey{}
	get := func(m map[string]*modelKey, k string) *modelKey {
		if m[k] == nil {
			m[k] = &modelKey{}
		}
		return m[k]
	}

	// The model of NewPayee: per payer account, the distinct aliases paid
	// in first-paid order (the last payeesMax are remembered) and the
	// newest second of its transfers.
	type payeeModel struct {
		paid   []string
		newest int64
		// unsure: Windows may have forgotten the account's payees. It
		// forgets an entry idle for longer than it keeps a transfer
		// by its shard's newest second, which concurrent committers may
		// have moved up to 3 s past this transfer's own time; the model
		// forgets by the transfer's time.
		unsure bool
	}
	var seen int64 // the newest second observed: no shard's is newer
	payeeMemo := map[string]*payeeModel{}

	clock := t0.Add(time.Duration(r.Int64N(int64(time.Hour))))
	// Step sizes from a burst to a lull, so that keys go from sparse to
	// dense and back.
	steps := []time.Duration{time.Millisecond, 300 * time.Millisecond, 5 * time.Second, time.Minute, window / 7}
	for i := range 3000 {
		clock = clock.Add(time.Duration(r.Int64N(int64(steps[r.IntN(len(steps))]) + 1)))
		if r.IntN(3) > 0 {
			// Concurrent committers: up to 3 s behind the newest.
			at := clock.Add(-time.Duration(r.Int64N(int64(3 * time.Second))))
			txn := Txn{
				At: at, Payer: payers[r.IntN(len(payers))], PayerAccount: accounts[r.IntN(len(accounts))],
				PayeeAlias: aliases[r.IntN(len(aliases))], Currency: currencies[r.IntN(len(currencies))],
				Amount: 1 + r.Int64N(1_000_000),
			}
			w.Observe(txn)
			e := event{at, txn.Amount}
			get(payerModel, txn.Payer+"|"+txn.PayerAccount+"|"+txn.Currency).observe(e, win, exact)
			get(aliasModel, txn.PayeeAlias+"|"+txn.Currency).observe(e, win, exact)
			pm := payeeMemo[txn.Payer+"|"+txn.PayerAccount]
			if pm == nil {
				pm = &payeeModel{}
				payeeMemo[txn.Payer+"|"+txn.PayerAccount] = pm
			}
			if pm.newest+win < at.Unix() {
				pm.paid, pm.unsure = nil, false // forgotten (the model forgets eagerly; Windows may forget later)
			} else if pm.newest != 0 && pm.newest+win < seen {
				pm.unsure = true
			}
			seen = max(seen, at.Unix())
			pm.newest = max(pm.newest, at.Unix())
			if !slices.Contains(pm.paid[max(0, len(pm.paid)-payeesMax):], txn.PayeeAlias) {
				pm.paid = append(pm.paid, txn.PayeeAlias)
			}
			continue
		}
		if r.IntN(4) == 0 {
			p, a, al := payers[r.IntN(len(payers))], accounts[r.IntN(len(accounts))], aliases[r.IntN(len(aliases))]
			got := w.NewPayee(p, a, al)
			pm := payeeMemo[p+"|"+a]
			known := pm != nil && slices.Contains(pm.paid[max(0, len(pm.paid)-payeesMax):], al)
			fresh := pm != nil && pm.newest+win >= clock.Unix()
			switch {
			case known && fresh && got && !pm.unsure:
				t.Fatalf("seed %d step %d: NewPayee(%q, %q, %q) = true for a remembered payee", seed, i, p, a, al)
			case !known && !got:
				t.Fatalf("seed %d step %d: NewPayee(%q, %q, %q) = false for a payee never paid or pushed out", seed, i, p, a, al)
			}
			continue
		}
		d := time.Duration(1 + r.Int64N(int64(window)+int64(window)/10)) // sometimes past MaxWindow
		var got [2]int64
		var m *modelKey
		var what string
		if r.IntN(2) == 0 {
			p, a, c := payers[r.IntN(len(payers))], accounts[r.IntN(len(accounts))], currencies[r.IntN(len(currencies))]
			got[0], got[1] = w.Payer(p, a, c, clock, d)
			m, what = get(payerModel, p+"|"+a+"|"+c), fmt.Sprintf("Payer(%q, %q, %q)", p, a, c)
		} else {
			a, c := aliases[r.IntN(len(aliases))], currencies[r.IntN(len(currencies))]
			got[0], got[1] = w.Alias(a, c, clock, d)
			m, what = get(aliasModel, a+"|"+c), fmt.Sprintf("Alias(%q, %q)", a, c)
		}
		from := clock.Add(-min(d, window))
		lowC, lowS := m.since(from.Add(time.Nanosecond)) // strictly after now−d
		highC, highS := m.since(from.Truncate(time.Second))
		if got[0] < lowC || got[1] < lowS {
			t.Fatalf("seed %d step %d: %s at %v, d %v = (%d, %d), below the exact (%d, %d)", seed, i, what, clock, d, got[0], got[1], lowC, lowS)
		}
		if !m.dense && (got[0] != highC || got[1] != highS) {
			t.Fatalf("seed %d step %d: %s at %v, d %v = (%d, %d) for a sparse key, want (%d, %d)", seed, i, what, clock, d, got[0], got[1], highC, highS)
		}
	}
}

// TestSteadyStream measures and bounds the over-count of a key busier than
// its slots: a transfer every 5 s for two days, asked about every window
// at 50 moments of the second day, through Windows (the key holds a wide
// record) and on inline slots alone (a key that could not borrow one).
func TestSteadyStream(t *testing.T) {
	windows := []time.Duration{10 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}
	w := New(Options{MaxWindow: 24 * time.Hour})
	keep := uint32(24*3600) + lagSec
	var inline small
	tests := []struct {
		name    string
		observe func(at time.Time)
		count   func(now time.Time, d time.Duration) int64
		bound   float64
	}{
		{"wide", func(at time.Time) {
			w.Observe(Txn{At: at, Payer: "bank-a", PayerAccount: "merchant", Currency: "CNY", Amount: 1})
		}, func(now time.Time, d time.Duration) int64 {
			c, _ := w.Payer("bank-a", "merchant", "CNY", now, d)
			return c
		}, 4.5},
		{"inline", func(at time.Time) {
			sec := uint32(at.Unix())
			inline.view().add(sec, sec, keep, 1)
		}, func(now time.Time, d time.Duration) int64 {
			c, _ := inline.view().since(uint32(now.Add(-d).Unix()))
			return c
		}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m modelKey
			worst := make([]float64, len(windows))
			at := t0
			for q := range 50 {
				until := t0.Add(24*time.Hour + time.Duration(q)*29*time.Minute + time.Duration(q)*time.Second)
				for ; at.Before(until); at = at.Add(5 * time.Second) {
					tt.observe(at)
					m.events = append(m.events, event{at, 1})
				}
				now := at
				for k, d := range windows {
					got := tt.count(now, d)
					want, _ := m.since(now.Add(-d).Truncate(time.Second))
					if got < want {
						t.Fatalf("at %v, d %v: counted %d, exact %d", now, d, got, want)
					}
					worst[k] = max(worst[k], float64(got)/float64(want))
				}
			}
			for k, d := range windows {
				t.Logf("d %v: counted at most %.2f × the exact count", d, worst[k])
				if worst[k] > tt.bound {
					t.Errorf("d %v: counted %.2f × the exact count, more than %.0f", d, worst[k], tt.bound)
				}
			}
		})
	}
}

// TestReplay rebuilds the state as after a restart: the last 30 h of
// transfers observed in time order into empty Windows answer every window
// as the model does.
func TestReplay(t *testing.T) {
	w := New(Options{MaxWindow: 24 * time.Hour})
	now := t0.Add(30 * time.Hour)
	var m modelKey
	for i := range wideMax {
		at := t0.Add(time.Duration(i) * 2 * time.Hour).Add(time.Duration(i) * 1234567 * time.Microsecond)
		w.Observe(Txn{At: at, Payer: "bank-a", PayerAccount: "u1", PayeeAlias: "MSISDN:1", Currency: "CNY", Amount: int64(i + 1)})
		m.events = append(m.events, event{at, int64(i + 1)})
	}
	for _, d := range []time.Duration{time.Minute, time.Hour, 3 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		c, s := w.Payer("bank-a", "u1", "CNY", now, d)
		wc, ws := m.since(now.Add(-d).Truncate(time.Second))
		if c != wc || s != ws {
			t.Errorf("d %v: Payer = (%d, %d), want (%d, %d)", d, c, s, wc, ws)
		}
		c, s = w.Alias("MSISDN:1", "CNY", now, d)
		if c != wc || s != ws {
			t.Errorf("d %v: Alias = (%d, %d), want (%d, %d)", d, c, s, wc, ws)
		}
	}
}
