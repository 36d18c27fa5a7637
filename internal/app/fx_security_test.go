package app_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
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
