package app_test

import (
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/wire"
)

// fxSwitch is a switch with a CNY wallet (1,000.00 CNY), an FX provider
// (CNY and HKD, 500.00 HKD) publishing CNY → HKD at 1.085 with a fee of
// 0.10 + 10 bp, and an HKD wallet whose user is +85291234567; the scheme
// fee on CNY is 0.20.
type fxSwitch struct {
	*sw
	a, p, h string // API keys
}

func newFXSwitch(t *testing.T, s *sw) *fxSwitch {
	t.Helper()
	f := &fxSwitch{sw: s}
	f.a, _ = s.participant("wallet-a", nil)
	f.p, _ = s.participant("fx-one", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
	f.h, _ = s.participant("wallet-h", func(n *wire.NewParticipant) { n.Currencies = []string{"HKD"} })
	s.deposit("wallet-a", "1000.00")
	s.ok(201, "POST", "/v1/participants/fx-one/funds", opToken, wire.Funds{Currency: "HKD", Amount: "500.00", Direction: "deposit"}, nil)
	s.ok(201, "POST", "/v1/parties", f.h, wire.NewParty{Type: "MSISDN", Value: "+85291234567", Name: "Wing Chan", Account: "hk-acct-1", Currency: "HKD"}, nil)
	s.ok(200, "PUT", "/v1/fees/CNY", opToken, wire.Fees{Fixed: "0.20", Rate: "0", Min: "0.00", Max: "0.00"}, nil)
	s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", f.p, wire.NewFXRate{Rate: "1.085", ValidUntil: time.Now().Add(time.Hour).UTC(),
		Fee: &wire.FXFee{Fixed: "0.10", BPS: 10}}, nil)
	return f
}

// quote asks wallet-a for a quote to the HKD user.
func (f *fxSwitch) quote(amount, amountType string) wire.Quote {
	f.t.Helper()
	var q wire.Quote
	f.ok(201, "POST", "/v1/quotes", f.a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"},
		Amount: amount, Currency: "CNY", AmountType: amountType}, &q)
	return q
}

func fxPay(id string, q wire.Quote, purpose string) wire.NewTransfer {
	return wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"}, Amount: q.Amount,
		Currency: q.Currency, QuoteID: q.ID, Purpose: purpose, PayerAccount: "user-7"}
}

// accounts returns a participant's balances by currency.
func (f *fxSwitch) accounts(key, id string) map[string]string {
	f.t.Helper()
	var as wire.Accounts
	f.ok(200, "GET", "/v1/participants/"+id+"/accounts", key, nil, &as)
	out := map[string]string{}
	for _, a := range as.Accounts {
		out[a.Currency] = a.Balance
	}
	return out
}

// TestFXPayments: through real HTTP on both engines, a CNY wallet pays
// an HKD wallet in one atomic step, priced up front by an FX quote (SEND
// and RECEIVE); what is refused moves nothing; the transfer shows both
// sides; payer and payee prove each leg in the audit log; and each
// currency's settlement window settles its own legs.
func TestFXPayments(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.RegulatorToken = regToken }, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		// SEND: 100.00 CNY buys 108.50 HKD; RECEIVE: 100.00 HKD costs 92.17 CNY.
		send := f.quote("100.00", "")
		if send.FX == nil || *send.FX != (wire.FX{Provider: "fx-one", SourceAmount: "100.00", SourceCurrency: "CNY", TargetAmount: "108.50",
			TargetCurrency: "HKD", Rate: "1.085", ProviderFee: "0.20", AmountType: "SEND", Rounding: "0.00"}) ||
			send.Amount != "100.00" || send.Fee != "0.20" || send.Payee.Participant != "wallet-h" {
			t.Fatalf("SEND quote %+v %+v", send, send.FX)
		}
		recv := f.quote("100.00", "RECEIVE")
		if recv.FX == nil || recv.FX.TargetAmount != "100.00" || recv.FX.SourceAmount != "92.17" || recv.Amount != "92.17" ||
			recv.FX.AmountType != "RECEIVE" || recv.FX.Rounding != "0.00445" {
			t.Fatalf("RECEIVE quote %+v %+v", recv, recv.FX)
		}
		f.problem(400, "invalid-request", "POST", "/v1/quotes", f.a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"},
			Amount: "1.00", Currency: "CNY", AmountType: "BOTH"})
		f.problem(400, "invalid-request", "POST", "/v1/quotes", f.a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"},
			Amount: "1.001", Currency: "CNY", AmountType: "RECEIVE"})

		// Refused, each moving nothing.
		before := f.accounts(opToken, "wallet-a")
		noQuote := fxPay("fx-0", send, "SUPP")
		noQuote.QuoteID = ""
		f.problem(422, "fx-quote-required", "POST", "/v1/transfers", f.a, noQuote)
		f.problem(422, "fx-purpose-required", "POST", "/v1/transfers", f.a, fxPay("fx-0", send, ""))
		f.problem(400, "invalid-request", "POST", "/v1/transfers", f.a, fxPay("fx-0", send, "NOPE"))
		big := f.quote("900.00", "") // 976.50 HKD: the provider holds 500.00
		f.problem(422, "fx-provider-insufficient-funds", "POST", "/v1/transfers", f.a, fxPay("fx-0", big, "SUPP"))
		if got := f.accounts(opToken, "wallet-a"); got["CNY"] != before["CNY"] {
			t.Fatalf("refusals moved money: %v → %v", before, got)
		}

		// Paid.
		var tr wire.Transfer
		f.ok(201, "POST", "/v1/transfers", f.a, fxPay("fx-1", send, "SUPP"), &tr)
		wantFX := *send.FX
		wantFX.Purpose = "SUPP"
		if tr.State != "COMMITTED" || tr.FX == nil || *tr.FX != wantFX || tr.Amount != "100.00" || tr.Currency != "CNY" || tr.Fee != "0.20" {
			t.Fatalf("transfer %+v %+v", tr, tr.FX)
		}
		f.ok(201, "POST", "/v1/transfers", f.a, fxPay("fx-2", recv, "FAMI"), nil)
		f.problem(422, "quote-used", "POST", "/v1/transfers", f.a, fxPay("fx-3", send, "SUPP"))
		var again wire.Transfer
		f.ok(200, "POST", "/v1/transfers", f.a, fxPay("fx-1", send, "SUPP"), &again) // a retry
		if again.FX == nil || *again.FX != wantFX {
			t.Errorf("retry %+v", again.FX)
		}
		// 1,000.00 − (100.00 + 0.20 + 0.20) − (92.17 + 0.20 + 0.20) = 807.03
		for _, c := range []struct{ key, id, cur, want string }{
			{f.a, "wallet-a", "CNY", "807.03"},
			{f.p, "fx-one", "CNY", "192.57"},
			{f.p, "fx-one", "HKD", "291.50"},
			{f.h, "wallet-h", "HKD", "208.50"},
		} {
			if got := f.accounts(c.key, c.id)[c.cur]; got != c.want {
				t.Errorf("%s %s: %s, want %s", c.id, c.cur, got, c.want)
			}
		}

		// Who sees what: payer, payee and provider see the exchange; only
		// the payee its account, only the payer its user's reference.
		for _, c := range []struct {
			key          string
			account, ref bool
		}{{f.a, false, true}, {f.h, true, false}, {f.p, false, false}, {regToken, true, true}} {
			var got wire.Transfer
			f.ok(200, "GET", "/v1/transfers/fx-1", c.key, nil, &got)
			if got.FX == nil || *got.FX != wantFX || (got.Payee.Account != "") != c.account || (got.PayerAccount != "") != c.ref {
				t.Errorf("GET as %s: %+v %+v", c.key[:8], got, got.FX)
			}
		}
		other, _ := s.participant("wallet-x", nil)
		f.problem(404, "not-found", "GET", "/v1/transfers/fx-1", other, nil)

		// Each leg proves itself in the audit log, to the payer and the
		// payee: the payment leg holds the record, the fx leg the terms.
		for _, key := range []string{f.a, f.h} {
			for _, leg := range []string{"", "?leg=payment", "?leg=fx"} {
				var p wire.AuditProof
				f.ok(200, "GET", "/v1/audit/transfers/fx-1/proof"+leg, key, nil, &p)
				leaf := checkLeaf(t, p)
				e, _, err := ledger.DecodeEvent(leaf)
				if err != nil {
					t.Fatal(err)
				}
				if leg == "?leg=fx" {
					terms, err := audit.DecodeFXTerms(e.Meta)
					if err != nil || terms.TransferID != "fx-1" || terms.Rate != "1.085" || terms.Purpose != "SUPP" || e.Amount != 10850 {
						t.Errorf("fx leaf: %v %+v %d", err, terms, e.Amount)
					}
				} else if rec, err := audit.DecodePaymentRecord(e.Meta); err != nil || rec.ID != "fx-1" || !rec.FX || e.Amount != 10000 {
					t.Errorf("payment leaf: %v %+v", err, rec)
				}
			}
		}
		f.problem(400, "invalid-request", "GET", "/v1/audit/transfers/fx-1/proof?leg=fee", f.a, nil)
		f.problem(404, "not-found", "GET", "/v1/audit/transfers/fx-1/proof", other, nil)

		// The cross-border report: the operator's and the regulator's,
		// as JSON pages or CSV; a participant may not read it.
		window := "?from=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(time.Now().Add(time.Minute).Format(time.RFC3339))
		var rep wire.CrossBorderReport
		f.ok(200, "GET", "/v1/reports/cross-border"+window, regToken, nil, &rep)
		if len(rep.Transfers) != 2 || rep.Next != "" {
			t.Fatalf("report %+v", rep)
		}
		if r := rep.Transfers[0]; r.TransferID != "fx-1" || r.Payer != "wallet-a" || r.Payee != "wallet-h" || r.FX != wantFX ||
			r.SchemeFee != "0.20" || r.PayerAccount != "user-7" {
			t.Errorf("row %+v", r)
		}
		f.ok(200, "GET", "/v1/reports/cross-border"+window+"&limit=1", opToken, nil, &rep)
		if len(rep.Transfers) != 1 || rep.Next == "" || rep.Transfers[0].TransferID != "fx-1" {
			t.Fatalf("page 1 %+v", rep)
		}
		f.ok(200, "GET", "/v1/reports/cross-border"+window+"&limit=1&after="+rep.Next, opToken, nil, &rep)
		if len(rep.Transfers) != 1 || rep.Transfers[0].TransferID != "fx-2" || rep.Transfers[0].FX.Purpose != "FAMI" {
			t.Fatalf("page 2 %+v", rep)
		}
		csvReq, _ := http.NewRequest("GET", s.url+"/v1/reports/cross-border"+window, nil)
		csvReq.Header.Set("Authorization", "Bearer "+opToken)
		csvReq.Header.Set("Accept", "text/csv")
		res, err := s.hc.Do(csvReq)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(res.Body).ReadAll()
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || len(rows) != 3 ||
			rows[0][1] != "transferId" || rows[1][1] != "fx-1" || rows[1][6] != "100.00" || rows[1][8] != "108.50" || rows[2][14] != "FAMI" {
			t.Errorf("CSV: %v %d %q", err, res.StatusCode, rows)
		}
		f.problem(403, "forbidden", "GET", "/v1/reports/cross-border"+window, f.a, nil)
		f.problem(403, "forbidden", "GET", "/v1/reports/cross-border"+window, f.p, nil)
		f.problem(400, "invalid-request", "GET", "/v1/reports/cross-border?from=yesterday&to=today", opToken, nil)
		f.problem(400, "invalid-request", "GET", "/v1/reports/cross-border?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", opToken, nil)
		f.problem(400, "invalid-request", "GET", "/v1/reports/cross-border"+window+"&limit=0", opToken, nil)
		f.problem(400, "invalid-request", "GET", "/v1/reports/cross-border"+window+"&after=-1", opToken, nil)
		f.problem(400, "invalid-request", "GET", "/v1/reports/cross-border?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", opToken, nil)

		// No sheet, no offer.
		if r := f.do("DELETE", "/v1/fx/rates/CNY/HKD", f.p, nil); r.status != 204 {
			t.Fatalf("withdraw: %d %s", r.status, r.body)
		}
		f.problem(422, "fx-unavailable", "POST", "/v1/quotes", f.a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"},
			Amount: "100.00", Currency: "CNY"})

		// Settlement: each currency's window has its own legs; the
		// provider receives in CNY and pays in HKD.
		for _, c := range []struct {
			window string
			want   map[string]string
		}{
			{"CNY-1", map[string]string{"wallet-a": "-192.97", "fx-one": "192.57", "hub": "0.40"}},
			{"HKD-1", map[string]string{"fx-one": "-208.50", "wallet-h": "208.50"}},
		} {
			f.ok(200, "POST", "/v1/settlement-windows/"+c.window+"/close", opToken, nil, nil)
			var r wire.SettlementReport
			f.ok(200, "GET", "/v1/settlement-windows/"+c.window+"/report", opToken, nil, &r)
			got := map[string]string{}
			for _, p := range r.Positions {
				got[p.Participant] = p.Net
			}
			if len(got) != len(c.want) {
				t.Errorf("%s positions %v, want %v", c.window, got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s net of %s: %s, want %s", c.window, k, got[k], v)
				}
			}
		}
	})
}

// checkLeaf checks an audit proof against its checkpoint's root and
// returns the leaf.
func checkLeaf(t *testing.T, p wire.AuditProof) []byte {
	t.Helper()
	leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	var proof []tlog.Hash
	for _, h := range p.Proof {
		b, _ := base64.StdEncoding.DecodeString(h)
		proof = append(proof, tlog.Hash(b))
	}
	lines := strings.Split(p.Checkpoint, "\n")
	root, _ := base64.StdEncoding.DecodeString(lines[2])
	if err := tlog.CheckRecord(proof, p.TreeSize, tlog.Hash(root), p.Index, tlog.RecordHash(leaf)); err != nil {
		t.Fatal(err)
	}
	return leaf
}

// TestFXQuoteExpired: an FX quote past its time is refused quote-expired
// on both engines, and nothing moves; a new quote pays.
func TestFXQuoteExpired(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.QuoteTTL = 300 * time.Millisecond }, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		q := f.quote("10.00", "")
		time.Sleep(400 * time.Millisecond)
		before := f.accounts(opToken, "wallet-a")
		f.problem(422, "quote-expired", "POST", "/v1/transfers", f.a, fxPay("fx-late", q, "SUPP"))
		if got := f.accounts(opToken, "wallet-a"); got["CNY"] != before["CNY"] {
			t.Errorf("an expired quote moved money: %v → %v", before, got)
		}
		f.ok(201, "POST", "/v1/transfers", f.a, fxPay("fx-late", f.quote("10.00", ""), "SUPP"), nil)
	})
}
