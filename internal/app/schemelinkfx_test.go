package app_test

import (
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// TestSchemeLinkFX: a CNY wallet of switch A (a CNY scheme) pays a user
// of switch B (an HKD scheme) in one atomic step, through A's FX provider
// and the scheme link: A's chain is payer → provider in CNY and provider
// → hk-link in HKD, B pays its user the target amount, each switch's
// books sum to zero per currency, and A settles the provider's CNY and
// HKD sides in their own windows. If B refuses, nothing moves at A and
// the quote is used.
func TestSchemeLinkFX(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			l := newLinked(t, e.store)
			a, b := l.a, l.b
			w, _ := a.participant("cn-wallet", nil) // CNY only
			a.deposit("cn-wallet", "1000.00")
			p, _ := a.participant("fx-p", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
			a.ok(201, "POST", "/v1/participants/fx-p/funds", opToken, wire.Funds{Currency: "HKD", Amount: "500.00", Direction: "deposit"}, nil)
			a.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", p, wire.NewFXRate{Rate: "1.085", ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)

			var q wire.Quote
			a.ok(201, "POST", "/v1/quotes", w, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: l.aliceHK}, Amount: "100.00",
				Currency: "CNY"}, &q)
			if q.FX == nil || q.FX.TargetAmount != "108.50" || q.FX.TargetCurrency != "HKD" || q.Payee.Participant != "hk-link" {
				t.Fatalf("quote through the link: %+v %+v", q, q.FX)
			}
			pay := func(id string, q wire.Quote) wire.NewTransfer {
				return wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: "MSISDN", Value: l.aliceHK}, Amount: q.Amount, Currency: "CNY",
					QuoteID: q.ID, Purpose: "FAMI"}
			}
			var tr wire.Transfer
			a.ok(201, "POST", "/v1/transfers", w, pay("fx-link-1", q), &tr)
			if tr.State != "COMMITTED" || tr.FX == nil || tr.FX.TargetAmount != "108.50" || tr.Payee.Participant != "hk-link" {
				t.Fatalf("FX payment through the link: %+v %+v", tr, tr.FX)
			}
			// A: the provider paid the link 108.50 HKD; B: the link paid b1.
			a.books(map[string]string{"fx-p": "391.50", "hk-link": "1108.50"})
			b.books(map[string]string{"cn-link": "891.50", "b1": "1108.50"})
			if got := a.accounts("cn-wallet")["CNY"]; got != "900.00" {
				t.Errorf("the payer's CNY: %s", got)
			}
			if got := a.accounts("fx-p")["CNY"]; got != "100.00" {
				t.Errorf("the provider's CNY: %s", got)
			}

			// B refuses (its user's alias is gone since the quote): nothing
			// moves at A.
			a.ok(201, "POST", "/v1/quotes", w, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: l.aliceHK}, Amount: "10.00",
				Currency: "CNY"}, &q)
			b.ok(204, "DELETE", "/v1/parties/MSISDN/"+l.aliceHK, l.b1, nil, nil)
			r := a.do("POST", "/v1/transfers", w, pay("fx-link-2", q))
			if r.status == 201 {
				var got wire.Transfer
				if err := json.Unmarshal(r.body, &got); err != nil || got.State != "ABORTED" {
					t.Fatalf("refused at B: %s", r.body)
				}
			} else if r.status != 422 {
				t.Fatalf("refused at B: %d %s", r.status, r.body)
			}
			a.books(map[string]string{"fx-p": "391.50", "hk-link": "1108.50"})
			if got := a.accounts("cn-wallet")["CNY"]; got != "900.00" {
				t.Errorf("the payer's CNY after a refusal: %s", got)
			}

			// A's settlement: the provider receives CNY in one window and
			// pays HKD in the other; the link is a participant like any.
			for _, c := range []struct {
				window string
				want   map[string]string
			}{
				{"CNY-1", map[string]string{"cn-wallet": "-100.00", "fx-p": "100.00"}},
				{"HKD-1", map[string]string{"fx-p": "-108.50", "hk-link": "108.50"}},
			} {
				a.ok(200, "POST", "/v1/settlement-windows/"+c.window+"/close", opToken, nil, nil)
				var rep wire.SettlementReport
				a.ok(200, "GET", "/v1/settlement-windows/"+c.window+"/report", opToken, nil, &rep)
				got := map[string]string{}
				for _, p := range rep.Positions {
					got[p.Participant] = p.Net
				}
				for k, v := range c.want {
					if got[k] != v {
						t.Errorf("%s net of %s: %s, want %s (%v)", c.window, k, got[k], v, got)
					}
				}
			}
		})
	}
}

// accounts returns a participant's balances by currency, as the operator
// sees them.
func (s *sw) accounts(id string) map[string]string {
	s.t.Helper()
	var as wire.Accounts
	s.ok(200, "GET", "/v1/participants/"+id+"/accounts", opToken, nil, &as)
	out := map[string]string{}
	for _, a := range as.Accounts {
		out[a.Currency] = a.Balance
	}
	return out
}
