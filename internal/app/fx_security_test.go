package app_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// An attacker's review of cross-border payments (issue 17): what a
// hostile payer, payee, FX provider, scheme link or outsider can see, send
// and learn, and the limits on what grows. Each test fails if its attack
// works.

// fxBooks returns every balance and reservation of the participants, by
// "participant currency".
func (f *fxSwitch) fxBooks(ids ...string) map[string]wire.Account {
	f.t.Helper()
	out := map[string]wire.Account{}
	for _, id := range ids {
		var as wire.Accounts
		f.ok(200, "GET", "/v1/participants/"+id+"/accounts", opToken, nil, &as)
		for _, a := range as.Accounts {
			out[id+" "+a.Currency] = a
		}
	}
	return out
}

// unmoved fails the test if the books of ids moved since before.
func (f *fxSwitch) unmoved(what string, before map[string]wire.Account, ids ...string) {
	f.t.Helper()
	after := f.fxBooks(ids...)
	if len(after) != len(before) {
		f.t.Errorf("%s: accounts %v → %v", what, before, after)
	}
	for k, a := range before {
		if after[k] != a {
			f.t.Errorf("%s moved %s: %+v → %+v", what, k, a, after[k])
		}
	}
}

// fxParties are the participants of newFXSwitch whose books the tests
// watch.
var fxParties = []string{"wallet-a", "fx-one", "wallet-h"}

// refused sends a request that must be refused with a 4xx status (any
// problem type), and returns the problem.
func (s *sw) refused(method, path, token string, body any) wire.Problem {
	s.t.Helper()
	r := s.do(method, path, token, body)
	var p wire.Problem
	if r.status < 400 || r.status >= 500 || json.Unmarshal(r.body, &p) != nil {
		s.t.Fatalf("%s %s: %d %s, want a refusal", method, path, r.status, r.body)
	}
	return p
}

// TestFXSecurityVisibility: an FX payment is seen by its payer, its payee
// and its provider, each only its part; another provider and an outsider
// learn nothing of it, by GET, by listing, or through its audit proofs;
// the cross-border report and the routes are the operator's and the
// regulator's; participants see the rate market, not who makes it; the
// provider can neither refund nor dispute what it exchanged.
func TestFXSecurityVisibility(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.RegulatorToken = regToken }, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		two, _ := s.participant("fx-two", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
		s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", two, wire.NewFXRate{Rate: "1.08", ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)
		x, _ := s.participant("wallet-x", nil)
		q := f.quote("100.00", "")
		if q.FX == nil || q.FX.Provider != "fx-one" {
			t.Fatalf("quote %+v", q.FX)
		}
		f.ok(201, "POST", "/v1/transfers", f.a, fxPay("fx-1", q, "SUPP"), nil)

		// GET: another provider and an outsider get 404, as if there
		// were no such payment; the provider sees the exchange, not the
		// payee's account nor the payer's reference of its user.
		for _, key := range []string{x, two} {
			f.problem(404, "not-found", "GET", "/v1/transfers/fx-1", key, nil)
		}
		var got wire.Transfer
		f.ok(200, "GET", "/v1/transfers/fx-1", f.p, nil, &got)
		if got.FX == nil || got.Payee.Account != "" || got.PayerAccount != "" || got.Authentication != nil {
			t.Errorf("the provider sees %+v %+v", got, got.FX)
		}
		// Listing: the provider's list holds it once, as GET shows it;
		// another provider's and the outsider's do not.
		for _, c := range []struct {
			key  string
			want int
		}{{f.p, 1}, {two, 0}, {x, 0}, {f.h, 1}, {f.a, 1}} {
			var page wire.Transfers
			f.ok(200, "GET", "/v1/transfers", c.key, nil, &page)
			n := 0
			for _, tr := range page.Transfers {
				if tr.ID != "fx-1" {
					continue
				}
				n++
				if c.key == f.p && (tr.Payee.Account != "" || tr.PayerAccount != "") {
					t.Errorf("the provider's list shows %+v", tr)
				}
			}
			if n != c.want {
				t.Errorf("fx-1 listed %d times for %s, want %d", n, c.key[:6], c.want)
			}
		}
		f.problem(403, "forbidden", "GET", "/v1/transfers?participant=wallet-a", f.p, nil)

		// Proofs of either leg: 404 to those who may not see the payment.
		for _, key := range []string{x, two} {
			for _, leg := range []string{"", "?leg=payment", "?leg=fx"} {
				f.problem(404, "not-found", "GET", "/v1/audit/transfers/fx-1/proof"+leg, key, nil)
			}
		}
		f.problem(404, "not-found", "GET", "/v1/audit/transfers/nope/proof?leg=fx", f.a, nil)
		// The provider proves both its legs: the source currency it was
		// paid, the target currency it paid.
		for _, leg := range []string{"?leg=payment", "?leg=fx"} {
			var p wire.AuditProof
			f.ok(200, "GET", "/v1/audit/transfers/fx-1/proof"+leg, f.p, nil, &p)
			checkLeaf(t, p)
		}

		// The cross-border report and the routes: no participant.
		window := "?from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + "&to=" + time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
		for _, key := range []string{f.a, f.p, f.h, two, x} {
			f.problem(403, "forbidden", "GET", "/v1/reports/cross-border"+window, key, nil)
			f.problem(403, "forbidden", "GET", "/v1/routes", key, nil)
			f.problem(403, "forbidden", "PUT", "/v1/routes/MSISDN/+852", key, wire.NewSchemeRoute{Participant: "wallet-h"})
			f.problem(403, "forbidden", "DELETE", "/v1/routes/MSISDN/+852", key, nil)
		}
		var rep wire.CrossBorderReport
		f.ok(200, "GET", "/v1/reports/cross-border"+window, regToken, nil, &rep)
		if len(rep.Transfers) != 1 {
			t.Errorf("report %+v", rep)
		}

		// The rate market: a participant sees the rates, not who offers
		// them; a provider sees its own name only.
		for _, c := range []struct {
			key  string
			mine string
		}{{f.a, ""}, {x, ""}, {two, "fx-two"}, {f.p, "fx-one"}} {
			var rates wire.FXRates
			f.ok(200, "GET", "/v1/fx/rates", c.key, nil, &rates)
			if len(rates.Rates) != 2 {
				t.Errorf("rates %+v", rates)
			}
			for _, r := range rates.Rates {
				if r.Provider != "" && r.Provider != c.mine {
					t.Errorf("%s sees provider %s", c.mine, r.Provider)
				}
			}
		}
		// Another provider cannot withdraw or replace fx-one's sheet: its
		// own is the one it names.
		if r := f.do("DELETE", "/v1/fx/rates/CNY/HKD", two, nil); r.status != 204 {
			t.Fatalf("fx-two withdraws its own: %d %s", r.status, r.body)
		}
		f.problem(404, "not-found", "DELETE", "/v1/fx/rates/CNY/HKD", two, nil)
		for _, key := range []string{f.a, f.h, x} {
			f.problem(403, "forbidden", "PUT", "/v1/fx/rates/CNY/HKD", key, wire.NewFXRate{Rate: "9", ValidUntil: time.Now().Add(time.Hour).UTC()})
			f.problem(403, "forbidden", "DELETE", "/v1/fx/rates/CNY/HKD", key, nil)
		}
		if q := f.quote("100.00", ""); q.FX.Provider != "fx-one" || q.FX.Rate != "1.085" {
			t.Errorf("fx-one's sheet changed: %+v", q.FX)
		}

		// Paying back: an FX payment is not refunded or disputed by
		// anyone, least of all its provider; nothing moves.
		before := f.fxBooks(fxParties...)
		for _, key := range []string{f.h, f.p} {
			f.refused("POST", "/v1/transfers/fx-1/refunds", key, wire.NewRefund{ID: "rf-" + key[:4], Amount: "1.00"})
		}
		f.problem(404, "not-found", "POST", "/v1/transfers/fx-1/refunds", two, wire.NewRefund{ID: "rf-two", Amount: "1.00"})
		f.refused("POST", "/v1/disputes", f.p, wire.NewDispute{TransferID: "fx-1", Reason: "fraud"})
		f.refused("POST", "/v1/disputes", two, wire.NewDispute{TransferID: "fx-1", Reason: "fraud"})
		f.unmoved("refunds and disputes of an FX payment", before, fxParties...)
	})
}

// tamper returns the quote id with its payload byte at changed by
// flip (the tag is left as it was).
func tamper(t *testing.T, id string, at int, flip byte) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= flip
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestFXSecurityQuoteTokens: a hostile payer cannot forge, alter, lend or
// replay an FX quote; a quote whose provider was suspended since is
// refused, and whose sheet was withdrawn or changed still pays at its
// locked rate until it expires. Nothing moves on a refusal.
func TestFXSecurityQuoteTokens(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		c, _ := s.participant("wallet-c", nil)
		s.deposit("wallet-c", "1000.00")
		h2, _ := s.participant("wallet-h2", func(n *wire.NewParticipant) { n.Currencies = []string{"HKD"} })
		s.ok(201, "POST", "/v1/parties", h2, wire.NewParty{Type: "MSISDN", Value: "+85291234999", Name: "Other", Account: "h2", Currency: "HKD"}, nil)
		s.party(c, "MSISDN", "+8613800138000", "Zhang San", "cn-1") // a CNY payee
		parties := append(slices.Clone(fxParties), "wallet-c", "wallet-h2")
		before := f.fxBooks(parties...)

		q := f.quote("100.00", "")
		good := fxPay("t-1", q, "SUPP")
		for _, c := range []struct {
			name string
			edit func(nt *wire.NewTransfer)
		}{
			{"version 2 read as 1", func(nt *wire.NewTransfer) { nt.QuoteID = tamper(t, nt.QuoteID, 0, 3) }},
			{"a byte of the payer", func(nt *wire.NewTransfer) { nt.QuoteID = tamper(t, nt.QuoteID, 3, 1) }},
			{"a byte of the tag", func(nt *wire.NewTransfer) {
				b, _ := base64.RawURLEncoding.DecodeString(nt.QuoteID)
				nt.QuoteID = tamper(t, nt.QuoteID, len(b)-1, 0x80)
			}},
			{"cut", func(nt *wire.NewTransfer) { nt.QuoteID = nt.QuoteID[:len(nt.QuoteID)-4] }},
			{"longer", func(nt *wire.NewTransfer) { nt.QuoteID += "AAAA" }},
			{"padded", func(nt *wire.NewTransfer) { nt.QuoteID += "==" }},
			{"with a line break", func(nt *wire.NewTransfer) { nt.QuoteID = nt.QuoteID[:10] + "\n" + nt.QuoteID[10:] }},
			{"another amount", func(nt *wire.NewTransfer) { nt.Amount = "99.00" }},
			{"another payee", func(nt *wire.NewTransfer) { nt.Payee.Value = "+85291234999" }},
			{"a CNY payee", func(nt *wire.NewTransfer) { nt.Payee.Value = "+8613800138000" }},
		} {
			nt := good
			c.edit(&nt)
			if p := f.refused("POST", "/v1/transfers", f.a, nt); !strings.HasSuffix(p.Type, "quote-mismatch") &&
				!strings.HasSuffix(p.Type, "invalid-request") {
				t.Errorf("%s: %+v", c.name, p)
			}
		}
		// Another payer's quote, to the same payee for the same amount.
		f.problem(422, "quote-mismatch", "POST", "/v1/transfers", c, good)
		// A domestic quote for the FX payee, and an FX quote for a domestic
		// payee: neither prices the other.
		var dq wire.Quote
		f.ok(201, "POST", "/v1/quotes", f.a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000"}, Amount: "100.00",
			Currency: "CNY"}, &dq)
		if dq.FX != nil {
			t.Fatalf("a domestic quote with fx: %+v", dq.FX)
		}
		mixed := good
		mixed.QuoteID = dq.ID
		f.problem(422, "quote-mismatch", "POST", "/v1/transfers", f.a, mixed)
		dom := pay("t-dom", "MSISDN", "+8613800138000", "100.00")
		dom.QuoteID = q.ID
		f.problem(422, "quote-mismatch", "POST", "/v1/transfers", f.a, dom)
		dom.Purpose = "SUPP"
		f.problem(400, "invalid-request", "POST", "/v1/transfers", f.a, dom)
		f.unmoved("forged and borrowed quotes", before, parties...)

		// Suspended since the quote: the provider delivers nothing; the
		// quote is not used, and pays once the provider is back.
		f.ok(200, "POST", "/v1/participants/fx-one/suspend", opToken, nil, nil)
		f.problem(422, "participant-suspended", "POST", "/v1/transfers", f.a, good)
		f.problem(422, "fx-unavailable", "POST", "/v1/quotes", f.a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"},
			Amount: "100.00", Currency: "CNY"})
		f.unmoved("a quote of a suspended provider", before, parties...)
		f.ok(200, "POST", "/v1/participants/fx-one/resume", opToken, nil, nil)

		// Withdrawn and replaced since the quotes: each still pays at its
		// locked rate.
		q2 := f.quote("100.00", "")
		if r := f.do("DELETE", "/v1/fx/rates/CNY/HKD", f.p, nil); r.status != 204 {
			t.Fatalf("withdraw: %d %s", r.status, r.body)
		}
		var tr wire.Transfer
		f.ok(201, "POST", "/v1/transfers", f.a, good, &tr)
		if tr.FX == nil || tr.FX.Rate != "1.085" || tr.FX.TargetAmount != "108.50" {
			t.Errorf("after the withdrawal: %+v", tr.FX)
		}
		f.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", f.p, wire.NewFXRate{Rate: "0.5", ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)
		f.ok(201, "POST", "/v1/transfers", f.a, fxPay("t-2", q2, "GDDS"), &tr)
		if tr.FX == nil || tr.FX.Rate != "1.085" || tr.FX.TargetAmount != "108.50" {
			t.Errorf("after a worse sheet: %+v", tr.FX)
		}

		// Replays: another id, or the same id with other terms.
		f.problem(422, "quote-used", "POST", "/v1/transfers", f.a, fxPay("t-3", q, "SUPP"))
		f.problem(422, "quote-used", "POST", "/v1/transfers", f.a, fxPay("t-3", q2, "GDDS"))
		f.problem(409, "duplicate-conflict", "POST", "/v1/transfers", f.a, fxPay("t-1", q, "GDDS"))
		f.ok(200, "POST", "/v1/transfers", f.a, good, nil)
		// 1,000.00 − 2 × (100.00 + 0.20 + 0.20)
		if got := f.accounts(opToken, "wallet-a")["CNY"]; got != "799.20" {
			t.Errorf("wallet-a: %s", got)
		}
		if got := f.accounts(opToken, "fx-one")["HKD"]; got != "283.00" {
			t.Errorf("fx-one HKD: %s", got)
		}
	})
}

// fxQuoteTo is a quote request of wallet-a to alias in CNY.
func fxQuoteTo(alias, amount, amountType string) wire.NewQuote {
	return wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: alias}, Amount: amount, Currency: "CNY", AmountType: amountType}
}

// TestFXSecurityAmounts: amounts at the edges of int64 and of the
// currencies' exponents (JPY 0, BHD 3) are refused or priced exactly,
// never a 500 and never money moved by a refusal; fees that would
// overflow make no offer; purpose codes are exact ISO 20022 codes.
func TestFXSecurityAmounts(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		jb, _ := s.participant("fx-jb", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "JPY", "BHD"} })
		s.ok(201, "POST", "/v1/participants/fx-jb/funds", opToken, wire.Funds{Currency: "JPY", Amount: "100000", Direction: "deposit"}, nil)
		s.ok(201, "POST", "/v1/participants/fx-jb/funds", opToken, wire.Funds{Currency: "BHD", Amount: "100.000", Direction: "deposit"}, nil)
		for _, c := range []struct{ cur, rate string }{{"JPY", "20.654"}, {"BHD", "0.052"}} {
			s.ok(201, "PUT", "/v1/fx/rates/CNY/"+c.cur, jb, wire.NewFXRate{Rate: c.rate, ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)
		}
		j, _ := s.participant("wallet-j", func(n *wire.NewParticipant) { n.Currencies = []string{"JPY"} })
		b, _ := s.participant("wallet-b", func(n *wire.NewParticipant) { n.Currencies = []string{"BHD"} })
		s.ok(201, "POST", "/v1/parties", j, wire.NewParty{Type: "MSISDN", Value: "+85291230001", Name: "Jun", Account: "j-1", Currency: "JPY"}, nil)
		s.ok(201, "POST", "/v1/parties", b, wire.NewParty{Type: "MSISDN", Value: "+85291230002", Name: "Badr", Account: "b-1", Currency: "BHD"}, nil)
		parties := append(slices.Clone(fxParties), "fx-jb", "wallet-j", "wallet-b")
		before := f.fxBooks(parties...)

		// Exponents: what each currency's minor units allow, and exact
		// conversions that round in the payer's disfavour.
		for _, c := range []struct {
			alias, amount, amountType string
			status                    int
			source, target            string
		}{
			{"+85291230001", "100.00", "", 201, "100.00", "2065"},
			{"+85291230001", "2065", "RECEIVE", 201, "99.99", "2065"},
			{"+85291230001", "2065.5", "RECEIVE", 400, "", ""},
			{"+85291230001", "0.01", "", 422, "", ""}, // 0.21 JPY: nothing to pay
			{"+85291230002", "100.00", "", 201, "100.00", "5.200"},
			{"+85291230002", "1.000", "RECEIVE", 201, "19.24", "1.000"},
			{"+85291230002", "1.0005", "RECEIVE", 400, "", ""},
			{"+85291230002", "100.001", "", 400, "", ""},
			{"+85291230002", "-1.000", "RECEIVE", 400, "", ""},
			{"+85291230002", "0.000", "RECEIVE", 400, "", ""},
			{"+85291230002", "1e3", "RECEIVE", 400, "", ""},
			// int64's edge: SEND overflows every sheet (no offer); RECEIVE
			// fits, and is a quote the payer cannot pay.
			{"+85291234567", "92233720368547758.07", "", 422, "", ""},
			{"+85291234567", "92233720368547758.08", "RECEIVE", 400, "", ""},
			{"+85291234567", "92233720368547758.07", "RECEIVE", 201, "85008037206034800.07", "92233720368547758.07"},
		} {
			r := f.do("POST", "/v1/quotes", f.a, fxQuoteTo(c.alias, c.amount, c.amountType))
			if r.status != c.status {
				t.Errorf("quote %s %s %s: %d %s, want %d", c.amountType, c.amount, c.alias, r.status, r.body, c.status)
				continue
			}
			if c.status != 201 {
				continue
			}
			var q wire.Quote
			if err := json.Unmarshal(r.body, &q); err != nil || q.FX == nil || q.FX.SourceAmount != c.source || q.FX.TargetAmount != c.target {
				t.Errorf("quote %s %s %s: %s", c.amountType, c.amount, c.alias, r.body)
				continue
			}
			if c.source == "85008037206034800.07" {
				f.problem(422, "insufficient-funds", "POST", "/v1/transfers", f.a, fxPay("huge", q, "SUPP"))
			}
		}
		var q wire.Quote
		f.ok(201, "POST", "/v1/quotes", f.a, fxQuoteTo("+85291230001", "100.00", ""), &q)
		jpy := fxPay("jpy-1", q, "GDDS")
		jpy.Payee.Value = "+85291230001"
		f.unmoved("refused quotes", before, parties...)
		f.ok(201, "POST", "/v1/transfers", f.a, jpy, nil)
		if got := f.accounts(j, "wallet-j")["JPY"]; got != "2065" {
			t.Errorf("wallet-j: %s JPY", got)
		}

		// A provider fee that overflows makes no offer; the others still do.
		big, _ := s.participant("fx-big", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
		s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", big, wire.NewFXRate{Rate: "9", ValidUntil: time.Now().Add(time.Hour).UTC(),
			Fee: &wire.FXFee{Fixed: "92233720368547758.07", BPS: 10000}}, nil)
		if q := f.quote("100.00", ""); q.FX.Provider != "fx-one" {
			t.Errorf("an overflowing fee's offer won: %+v", q.FX)
		}
		// A scheme fee that overflows with the amount: refused, not a 500.
		s.ok(200, "PUT", "/v1/fees/CNY", opToken, wire.Fees{Fixed: "92233720368547758.00", Rate: "0", Min: "0.00", Max: "0.00"}, nil)
		f.problem(400, "invalid-request", "POST", "/v1/quotes", f.a, fxQuoteTo("+85291234567", "100.00", ""))
		s.ok(200, "PUT", "/v1/fees/CNY", opToken, wire.Fees{Fixed: "0.20", Rate: "0", Min: "0.00", Max: "0.00"}, nil)

		// Purpose codes: exactly a listed code, in upper case; none on a
		// domestic payment.
		q = f.quote("10.00", "")
		before = f.fxBooks(parties...)
		for _, p := range []string{"supp", " SUPP", "SUPP ", "SU PP", "SUPPX", "SUP", "ＳＵＰＰ", "SUPP\n", "SUP\x00", "XXXX"} {
			f.problem(400, "invalid-request", "POST", "/v1/transfers", f.a, fxPay("p-1", q, p))
		}
		f.problem(422, "fx-purpose-required", "POST", "/v1/transfers", f.a, fxPay("p-1", q, ""))
		f.unmoved("refused purposes", before, parties...)
		f.ok(201, "POST", "/v1/transfers", f.a, fxPay("p-1", q, "SUPP"), nil)
	})
}

// TestFXSecurityParties: a provider exchanges with no one but others:
// not as the payer, not as the payee, not with itself; a provider may
// be paid by another's exchange.
func TestFXSecurityParties(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		s.deposit("fx-one", "1000.00")
		// fx-one's own HKD user, and its own payment to it.
		s.ok(201, "POST", "/v1/parties", f.p, wire.NewParty{Type: "MSISDN", Value: "+85291230003", Name: "FX Desk", Account: "desk", Currency: "HKD"}, nil)
		f.problem(422, "same-participant", "POST", "/v1/quotes", f.p, fxQuoteTo("+85291230003", "10.00", ""))
		// The payer is the only provider: no offer but its own, which it
		// may not take.
		f.problem(422, "fx-unavailable", "POST", "/v1/quotes", f.p, fxQuoteTo("+85291234567", "10.00", ""))
		// The payee is the only provider: likewise.
		f.problem(422, "fx-unavailable", "POST", "/v1/quotes", f.a, fxQuoteTo("+85291230003", "10.00", ""))

		// With a second provider, each pays and is paid through the other.
		two, _ := s.participant("fx-two", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
		s.ok(201, "POST", "/v1/participants/fx-two/funds", opToken, wire.Funds{Currency: "HKD", Amount: "500.00", Direction: "deposit"}, nil)
		s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", two, wire.NewFXRate{Rate: "1.2", ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)
		var q wire.Quote
		f.ok(201, "POST", "/v1/quotes", f.p, fxQuoteTo("+85291234567", "10.00", ""), &q)
		if q.FX == nil || q.FX.Provider != "fx-two" {
			t.Fatalf("fx-one pays through %+v", q.FX)
		}
		f.ok(201, "POST", "/v1/transfers", f.p, fxPay("fxp-pays", q, "SUPP"), nil)
		f.ok(201, "POST", "/v1/quotes", f.a, fxQuoteTo("+85291230003", "10.00", ""), &q)
		if q.FX == nil || q.FX.Provider != "fx-two" {
			t.Fatalf("fx-one is paid through %+v", q.FX)
		}
		nt := fxPay("fxp-paid", q, "SUPP")
		nt.Payee.Value = "+85291230003"
		f.ok(201, "POST", "/v1/transfers", f.a, nt, nil)
		// fx-one: 500.00 + 12.00 HKD; fx-two: 500.00 − 2 × 12.00.
		if got := f.accounts(f.p, "fx-one")["HKD"]; got != "512.00" {
			t.Errorf("fx-one HKD: %s", got)
		}
		if got := f.accounts(two, "fx-two")["HKD"]; got != "476.00" {
			t.Errorf("fx-two HKD: %s", got)
		}
	})
}

// TestFXSecurityAbsurdRates: a provider that publishes an absurd rate
// it cannot deliver wins the quotes, and the payments are refused
// without moving money and without telling anyone its balance; the
// operator's suspension ends it. A rate near zero never wins, and alone
// makes no offer to send.
func TestFXSecurityAbsurdRates(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		evil, _ := s.participant("fx-evil", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
		s.ok(201, "POST", "/v1/participants/fx-evil/funds", opToken, wire.Funds{Currency: "HKD", Amount: "123.45", Direction: "deposit"}, nil)
		s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", evil, wire.NewFXRate{Rate: "999999999", ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)
		s.problem(400, "invalid-request", "PUT", "/v1/fx/rates/CNY/HKD", evil, wire.NewFXRate{Rate: "1000000000", ValidUntil: time.Now().Add(time.Hour).UTC()})
		s.problem(400, "invalid-request", "PUT", "/v1/fx/rates/CNY/HKD", evil, wire.NewFXRate{Rate: "0.0000000000001", ValidUntil: time.Now().Add(time.Hour).UTC()})
		s.problem(400, "invalid-request", "PUT", "/v1/fx/rates/CNY/HKD", evil, wire.NewFXRate{Rate: "1e12", ValidUntil: time.Now().Add(time.Hour).UTC()})
		parties := append(slices.Clone(fxParties), "fx-evil")
		before := f.fxBooks(parties...)

		q := f.quote("100.00", "")
		if q.FX.Provider != "fx-evil" || q.FX.TargetAmount != "99999999900.00" {
			t.Fatalf("quote %+v", q.FX)
		}
		// Neither the provider's balance nor the shortfall is told.
		for _, c := range []struct{ id, amount string }{{"evil-pay", "100.00"}} {
			p := f.problem(422, "fx-provider-insufficient-funds", "POST", "/v1/transfers", f.a, fxPay(c.id, q, "SUPP"))
			if strings.ContainsAny(p.Detail, "0123456789") || strings.Contains(p.Detail, "fx-evil") {
				t.Errorf("the refusal tells %q", p.Detail)
			}
		}
		f.unmoved("an absurd rate", before, parties...)
		// A RECEIVE at the absurd rate costs the payer one fen: still
		// refused, as the provider cannot deliver either.
		r := f.quote("200.00", "RECEIVE")
		if r.FX.Provider != "fx-evil" || r.FX.SourceAmount != "0.01" {
			t.Fatalf("RECEIVE quote %+v", r.FX)
		}
		p := f.problem(422, "fx-provider-insufficient-funds", "POST", "/v1/transfers", f.a, fxPay("evil-recv", r, "SUPP"))
		if strings.Contains(p.Detail, "123") || strings.Contains(p.Detail, "76.55") {
			t.Errorf("the refusal tells %q", p.Detail)
		}
		f.unmoved("an absurd rate, RECEIVE", before, parties...)

		// The operator suspends it: the honest offer wins again.
		s.ok(200, "POST", "/v1/participants/fx-evil/suspend", opToken, nil, nil)
		if q := f.quote("100.00", ""); q.FX.Provider != "fx-one" {
			t.Errorf("after the suspension: %+v", q.FX)
		}
		var rates wire.FXRates
		s.ok(200, "GET", "/v1/fx/rates", opToken, nil, &rates)
		for _, r := range rates.Rates {
			if r.Provider == "fx-evil" {
				t.Errorf("a suspended provider's sheet is listed: %+v", r)
			}
		}

		// A rate near zero: never the best, and alone no offer to send.
		tiny, _ := s.participant("fx-tiny", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
		s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", tiny, wire.NewFXRate{Rate: "0.000000000001", ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)
		if q := f.quote("100.00", ""); q.FX.Provider != "fx-one" {
			t.Errorf("a rate near zero won: %+v", q.FX)
		}
		if q := f.quote("1.00", "RECEIVE"); q.FX.Provider != "fx-one" {
			t.Errorf("a rate near zero won RECEIVE: %+v", q.FX)
		}
		if r := f.do("DELETE", "/v1/fx/rates/CNY/HKD", f.p, nil); r.status != 204 {
			t.Fatalf("withdraw: %d %s", r.status, r.body)
		}
		f.problem(422, "fx-unavailable", "POST", "/v1/quotes", f.a, fxQuoteTo("+85291234567", "100.00", ""))
		f.problem(422, "fx-unavailable", "POST", "/v1/quotes", f.a, fxQuoteTo("+85291234567", "92233720368547758.07", "RECEIVE"))
	})
}

// TestFXSecurityQuotaAccounts: with an annual FX quota, a payment names
// the payer account the quota counts; one that names nobody — empty, or
// only spaces, each of which would otherwise be a fresh quota — is
// refused, and nothing moves. (Two spellings of one user are the payer
// wallet's to prevent: the switch cannot know them.)
func TestFXSecurityQuotaAccounts(t *testing.T) {
	var cfg app.Config
	eachEngine(t, quotaMod(t, "150.00HKD", &cfg), func(t *testing.T, s *sw) {
		q := newQuotaSwitch(t, s, probeHKD)
		qt := q.quote(q.a, quotaHK, "100.00", "", "")
		before := q.books()
		for _, account := range []string{"", " ", "   ", "\u3000", "\u00a0", "\t", "user-7\n"} {
			q.problem(400, "invalid-request", "POST", "/v1/transfers", q.a, quotaPay("ws-1", quotaHK, qt, account))
		}
		q.sameBooks("payments without a payer account", before)
		q.pay(q.a, "ws-1", quotaHK, qt, "user-7")
		q.remains(q.a, "user-7", 41_50)
	})
}

// TestFXSecurityProviderSuspendedMidFlight: an FX payment to a payee
// that confirms has reserved the provider's target currency when the
// operator suspends the provider. The suspension stops new quotes at
// once; the payment in flight, priced and funded before it, commits if
// the payee accepts — as a domestic payment whose payer is suspended
// meanwhile does — and the books stay whole in each currency. A provider
// with a reservation cannot be closed meanwhile.
func TestFXSecurityProviderSuspendedMidFlight(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.ConfirmTimeout = 10 * time.Second }, func(t *testing.T, s *sw) {
		q := newQuotaSwitch(t, s, probeHKD)
		for _, c := range []struct {
			id, decision, state string
		}{{"mid-1", "accept", "COMMITTED"}, {"mid-2", "reject", "ABORTED"}} {
			qt := q.quote(q.a, quotaConfirm, "100.00", "", "user-1")
			before := q.books()
			q.hook.mu.Lock()
			asked := len(q.hook.confirms)
			q.hook.mu.Unlock()
			answer := q.payAsync(q.a, quotaPay(c.id, quotaConfirm, qt, "user-1"))
			q.waitConfirms(asked + 1)
			if got := q.books()["fx-one HKD"]; got.Reserved != "108.50" {
				t.Fatalf("%s: fx-one HKD %+v", c.id, got)
			}
			q.ok(200, "POST", "/v1/participants/fx-one/suspend", opToken, nil, nil)
			q.problem(422, "fx-unavailable", "POST", "/v1/quotes", q.a, quoteReq(quotaHK, "10.00", "", "user-1"))
			q.refused("POST", "/v1/participants/fx-one/close", opToken, nil)
			q.decisions <- wire.Decision{Decision: c.decision, Reason: "test"}
			tr := <-answer
			if tr.State != c.state {
				t.Fatalf("%s: %+v", c.id, tr)
			}
			after := q.books()
			for _, k := range []string{"wallet-a CNY", "fx-one CNY", "fx-one HKD", "bank-k HKD"} {
				if after[k].Reserved != "0.00" {
					t.Errorf("%s: %s still reserved %+v", c.id, k, after[k])
				}
			}
			want := map[string]string{"wallet-a CNY": "-100.40", "fx-one CNY": "100.20", "fx-one HKD": "-108.50", "bank-k HKD": "108.50"}
			for k, d := range want {
				moved := diff(t, before[k].Balance, after[k].Balance)
				if c.state == "ABORTED" {
					d = "0.00"
				}
				if moved != d {
					t.Errorf("%s: %s moved %s, want %s", c.id, k, moved, d)
				}
			}
			q.ok(200, "POST", "/v1/participants/fx-one/resume", opToken, nil, nil)
		}
	})
}

// diff returns b − a of two amounts of a currency with two decimals.
func diff(t *testing.T, a, b string) string {
	t.Helper()
	x, err1 := money.Parse(strings.TrimPrefix(a, "-"), money.MustCurrency("CNY"))
	y, err2 := money.Parse(strings.TrimPrefix(b, "-"), money.MustCurrency("CNY"))
	if err1 != nil || err2 != nil {
		t.Fatalf("amounts %q %q: %v %v", a, b, err1, err2)
	}
	if strings.HasPrefix(a, "-") {
		x = -x
	}
	if strings.HasPrefix(b, "-") {
		y = -y
	}
	d := y - x
	if d < 0 {
		return "-" + (-d).Format(money.MustCurrency("CNY"))
	}
	return d.Format(money.MustCurrency("CNY"))
}

// hostileQuoter is an FX provider's fx.quote endpoint that answers as
// answer says; it records the requests.
type hostileQuoter struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	bodies [][]byte
	answer func(w http.ResponseWriter, r *http.Request, req wire.FXQuoteRequest, secret string)
}

func newHostileQuoter(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, req wire.FXQuoteRequest, secret string)) *hostileQuoter {
	h := &hostileQuoter{answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req wire.FXQuoteRequest
		json.Unmarshal(body, &req)
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		secret := h.secret
		h.mu.Unlock()
		h.answer(w, r, req, secret)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// signedOffer writes offer, signed with secret (none if empty).
func signedOffer(w http.ResponseWriter, secret string, offer any) {
	b, _ := json.Marshal(offer)
	w.Header().Set("Content-Type", "application/json")
	if secret != "" {
		w.Header().Set(wire.SignatureHeader, wire.Sign(secret, time.Now(), b))
	}
	w.Write(b)
}

// TestFXSecurityLiveQuotes: FX providers that quote live by callback and
// answer with hostile bodies — huge, slow, trickled, unsigned, signed by
// another, for another request, valid too long, a redirect — make no
// offer, and together hold a quote for the confirm timeout and no more;
// an honest live offer among them still wins. The fx.quote request names
// neither party, their alias nor the payer's user.
func TestFXSecurityLiveQuotes(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := start(t, "", func(c *app.Config) { c.ConfirmTimeout = timeout })
	f := newFXSwitch(t, s)
	offer := func(id string, rate string, valid time.Duration) wire.FXOffer {
		return wire.FXOffer{ID: id, Rate: rate, ValidUntil: time.Now().Add(valid).UTC()}
	}
	behaviours := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request, req wire.FXQuoteRequest, secret string)
	}{
		{"huge", func(w http.ResponseWriter, _ *http.Request, req wire.FXQuoteRequest, secret string) {
			signedOffer(w, secret, map[string]any{"id": req.ID, "rate": "2", "validUntil": time.Now().Add(time.Minute).UTC(),
				"pad": strings.Repeat("x", 1<<20)})
		}},
		{"slow", func(w http.ResponseWriter, r *http.Request, req wire.FXQuoteRequest, secret string) {
			select {
			case <-time.After(3 * timeout):
			case <-r.Context().Done():
			}
			signedOffer(w, secret, offer(req.ID, "2", time.Minute))
		}},
		{"trickle", func(w http.ResponseWriter, r *http.Request, req wire.FXQuoteRequest, secret string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			for range 60 {
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-time.After(timeout / 10):
				case <-r.Context().Done():
					return
				}
			}
		}},
		{"unsigned", func(w http.ResponseWriter, _ *http.Request, req wire.FXQuoteRequest, _ string) {
			signedOffer(w, "", offer(req.ID, "2", time.Minute))
		}},
		{"another's key", func(w http.ResponseWriter, _ *http.Request, req wire.FXQuoteRequest, _ string) {
			signedOffer(w, "not-the-providers-secret-0123456789abcdef", offer(req.ID, "2", time.Minute))
		}},
		{"another request", func(w http.ResponseWriter, _ *http.Request, _ wire.FXQuoteRequest, secret string) {
			signedOffer(w, secret, offer("someone-elses", "2", time.Minute))
		}},
		{"valid too long", func(w http.ResponseWriter, _ *http.Request, req wire.FXQuoteRequest, secret string) {
			signedOffer(w, secret, offer(req.ID, "2", time.Hour))
		}},
		{"redirect", func(w http.ResponseWriter, r *http.Request, _ wire.FXQuoteRequest, _ string) {
			http.Redirect(w, r, s.url+"/v1/fx/rates", http.StatusTemporaryRedirect)
		}},
		{"honest", func(w http.ResponseWriter, _ *http.Request, req wire.FXQuoteRequest, secret string) {
			signedOffer(w, secret, offer(req.ID, "1.09", time.Minute))
		}},
	}
	var quoters []*hostileQuoter
	for i, b := range behaviours {
		h := newHostileQuoter(t, b.answer)
		id := "fx-live-" + string(rune('a'+i))
		key, secret := s.participant(id, func(n *wire.NewParticipant) {
			n.Kind, n.Currencies, n.CallbackURL = "fxp", []string{"CNY", "HKD"}, h.srv.URL
		})
		h.mu.Lock()
		h.secret = secret
		h.mu.Unlock()
		s.ok(200, "PATCH", "/v1/participants/"+id, key, map[string]any{"fxLiveQuotes": true}, nil)
		quoters = append(quoters, h)
	}
	honest := "fx-live-" + string(rune('a'+len(behaviours)-1))

	for _, round := range []string{"with an honest offer", "without"} {
		start := time.Now()
		var q wire.Quote
		s.ok(201, "POST", "/v1/quotes", f.a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"}, Amount: "100.00",
			Currency: "CNY", PayerAccount: "user-7"}, &q)
		took := time.Since(start)
		want := honest
		if round == "without" {
			want = "fx-one"
		}
		if q.FX == nil || q.FX.Provider != want {
			t.Errorf("%s: the quote went to %+v", round, q.FX)
		}
		if took > timeout+time.Second {
			t.Errorf("%s: the quote took %v, the confirm timeout is %v", round, took, timeout)
		}
		t.Logf("%s: a quote took %v", round, took)
		// The honest provider stops quoting live for the second round.
		if round == "with an honest offer" {
			quoters[len(quoters)-1].mu.Lock()
			quoters[len(quoters)-1].answer = func(w http.ResponseWriter, _ *http.Request, _ wire.FXQuoteRequest, _ string) {
				w.WriteHeader(http.StatusNoContent)
			}
			quoters[len(quoters)-1].mu.Unlock()
		}
	}
	for i, h := range quoters {
		h.mu.Lock()
		bodies := slices.Clone(h.bodies)
		h.mu.Unlock()
		if len(bodies) == 0 {
			t.Errorf("%s was not asked", behaviours[i].name)
		}
		for _, b := range bodies {
			for _, secret := range []string{"wallet-a", "wallet-h", "85291234567", "Wing", "hk-acct-1", "user-7", "MSISDN"} {
				if strings.Contains(string(b), secret) {
					t.Errorf("the fx.quote request to %s tells %q: %s", behaviours[i].name, secret, b)
				}
			}
		}
	}
}

// TestFXSecurityReports: the cross-border report's window and pages are
// bounded, and reports asked at once — the regulator's tooling retrying,
// say — are all answered, in time, on both engines.
func TestFXSecurityReports(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.RegulatorToken = regToken }, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		s.deposit("wallet-a", "100000.00")
		s.ok(201, "POST", "/v1/participants/fx-one/funds", opToken, wire.Funds{Currency: "HKD", Amount: "100000.00", Direction: "deposit"}, nil)
		const payments = 40
		for i := range payments {
			f.ok(201, "POST", "/v1/transfers", f.a, fxPay(fmt.Sprintf("rep-%d", i), f.quote("1.00", ""), "SUPP"), nil)
		}
		now := time.Now().UTC()
		at := func(d time.Duration) string { return url.QueryEscape(now.Add(d).Format(time.RFC3339Nano)) }
		window := "?from=" + at(-time.Hour) + "&to=" + at(time.Minute)
		for _, bad := range []string{
			"?from=" + at(-32*24*time.Hour) + "&to=" + at(0),
			"?from=" + at(0) + "&to=" + at(-time.Hour),
			"?from=" + at(0) + "&to=" + at(0),
			window + "&limit=10001",
			window + "&limit=-1",
			window + "&after=-5",
			window + "&after=x",
			"?from=" + at(-time.Hour),
		} {
			s.problem(400, "invalid-request", "GET", "/v1/reports/cross-border"+bad, regToken, nil)
		}

		// Eight reports at once, each CSV and JSON: every one whole.
		const readers = 8
		var wg sync.WaitGroup
		errs := make(chan string, 2*readers)
		hc := &http.Client{Timeout: 10 * time.Second}
		for i := range 2 * readers {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", s.url+"/v1/reports/cross-border"+window+"&limit=10000", nil)
				req.Header.Set("Authorization", "Bearer "+regToken)
				if i%2 == 0 {
					req.Header.Set("Accept", "text/csv")
				}
				res, err := hc.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				defer res.Body.Close()
				b, err := io.ReadAll(res.Body)
				if err != nil || res.StatusCode != 200 {
					errs <- fmt.Sprintf("%d %v %s", res.StatusCode, err, b)
					return
				}
				var rows int
				if i%2 == 0 {
					rows = strings.Count(string(b), "\n") - 1 // the header
				} else {
					var rep wire.CrossBorderReport
					json.Unmarshal(b, &rep)
					rows = len(rep.Transfers)
				}
				if rows != payments {
					errs <- fmt.Sprintf("%d rows, want %d", rows, payments)
				}
			})
		}
		wg.Wait()
		close(errs)
		if n := len(errs); n > 0 {
			// PostgreSQL: Store.Scan streams on one pooled connection while
			// the scan's callback reads each row's legs through the pool
			// (Journal.Transfer); with as many scans as the pool has
			// connections (4 by default on 2 cores) every callback waits
			// for a connection that no scan gives back, and every read of
			// the switch waits with them, until the clients hang up.
			t.Errorf("%d of %d reports asked at once were not answered: %s", n, 2*readers, <-errs)
		}
		// The switch still answers.
		s.ok(200, "GET", "/v1/transfers/rep-0", f.a, nil, nil)
	})
}

// TestFXSecurityLookupBudget: an FX quote resolves its payee's alias, so
// it is a lookup, charged to the payer's budget whatever its outcome —
// priced, no offer, or no such alias (a miss, at its higher cost) — so
// that FX quotes are no way to probe the directory for free.
func TestFXSecurityLookupBudget(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.LookupRate, c.LookupBurst, c.LookupMissCost = 0.001, 6, 3 }, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		f.quote("10.00", "") // 1
		if r := f.do("DELETE", "/v1/fx/rates/CNY/HKD", f.p, nil); r.status != 204 {
			t.Fatalf("withdraw: %d %s", r.status, r.body)
		}
		f.problem(422, "fx-unavailable", "POST", "/v1/quotes", f.a, fxQuoteTo("+85291234567", "10.00", "")) // 2
		s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", f.p, wire.NewFXRate{Rate: "1.085", ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)
		f.problem(422, "unknown-party", "POST", "/v1/quotes", f.a, fxQuoteTo("+85291239999", "10.00", "")) // 3, 4, 5
		f.quote("10.00", "")                                                                               // 6
		f.problem(429, "rate-limited", "POST", "/v1/quotes", f.a, fxQuoteTo("+85291234567", "10.00", ""))
		f.problem(429, "rate-limited", "POST", "/v1/quotes", f.a, fxQuoteTo("+85291239998", "10.00", "RECEIVE"))
	})
}

// TestFXSecuritySchemeLink: a scheme link is a participant that stands
// for another scheme; its API key does not make it an FX provider, a
// regulator, or a registrar of this scheme's aliases.
func TestFXSecuritySchemeLink(t *testing.T) {
	l := newLinked(t, engines[0].store)
	a := l.a
	window := "?from=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)) + "&to=" +
		url.QueryEscape(time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
	a.problem(403, "forbidden", "PUT", "/v1/fx/rates/CNY/HKD", l.hk, wire.NewFXRate{Rate: "1.085", ValidUntil: time.Now().Add(time.Hour).UTC()})
	a.problem(403, "forbidden", "GET", "/v1/reports/cross-border"+window, l.hk, nil)
	a.problem(403, "forbidden", "GET", "/v1/routes", l.hk, nil)
	a.problem(403, "forbidden", "PUT", "/v1/routes/MSISDN/+853", l.hk, wire.NewSchemeRoute{Participant: "hk-link"})
	a.problem(403, "forbidden", "GET", "/v1/transfers?participant=a1", l.hk, nil)
	a.problem(403, "forbidden", "POST", "/v1/participants/a1/funds", l.hk, wire.Funds{Currency: "HKD", Amount: "1.00", Direction: "deposit"})
	// Its users are reached by routes: it registers none here, neither
	// over FSPIOP (TestSchemeLink) nor through the native API — a local
	// registration would win over every route.
	for _, value := range []string{"+85291234567", "+8613800138001"} {
		a.problem(403, "forbidden", "POST", "/v1/parties", l.hk, wire.NewParty{Type: "MSISDN", Value: value, Name: "Link User", Account: "x", Currency: "HKD"})
	}
	// Nor does it claim this scheme's users' aliases (a1's user's, which
	// newLinked registers), which would move to it if their owner let the
	// claim's timeout pass.
	a.problem(403, "forbidden", "POST", "/v1/parties/MSISDN/"+url.PathEscape(l.aliceCN)+"/claims", l.hk, wire.NewClaim{Account: "x", Name: "Li Lei"})
}

// TestFXSecurityQuoteRaces: one FX quote pays once, however it is sent —
// twice in one batch, or by requests racing with other ids — while
// retries of the payment that used it are answered as the same payment.
// The provider delivers once.
func TestFXSecurityQuoteRaces(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		q := f.quote("10.00", "")
		var res wire.TransferBatchResult
		f.ok(200, "POST", "/v1/transfers:batch", f.a, wire.TransferBatch{Transfers: []wire.NewTransfer{
			fxPay("b-1", q, "SUPP"), fxPay("b-2", q, "SUPP"), fxPay("b-1", q, "SUPP")}}, &res)
		if len(res.Results) != 3 || res.Results[0].Status != 201 || res.Results[1].Status != 422 || res.Results[1].Error == nil ||
			!strings.HasSuffix(res.Results[1].Error.Type, "quote-used") || res.Results[2].Status != 400 {
			b, _ := json.Marshal(res)
			t.Fatalf("a quote twice in a batch: %s", b)
		}

		const racers = 12
		for _, c := range []struct {
			name    string
			id      func(i int) string
			created int
			again   int // answered 200, the same payment
		}{
			{"other ids", func(i int) string { return fmt.Sprintf("r-%d", i) }, 1, 0},
			{"one id", func(int) string { return "same" }, 1, racers - 1},
		} {
			q := f.quote("10.00", "")
			got := s.race(racers, func(i int) (string, string, any) {
				return "POST", "/v1/transfers", fxPay(c.id(i), q, "SUPP")
			}, f.a)
			created, again, used := 0, 0, 0
			for _, st := range got {
				switch st {
				case 201:
					created++
				case 200:
					again++
				case 422:
					used++
				}
			}
			if created != c.created || again != c.again || created+again+used != racers {
				t.Errorf("%s: statuses %v", c.name, got)
			}
		}
		// Three payments of 10.00 CNY: 10.85 HKD each left the provider.
		if got := f.accounts(f.p, "fx-one")["HKD"]; got != "467.45" {
			t.Errorf("fx-one HKD: %s", got)
		}
	})
}
