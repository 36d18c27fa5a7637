package app_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// xsdValid checks an ISO 20022 document the switch produced against the
// official XSD of its version.
func xsdValid(t *testing.T, typ msg.Type, doc []byte) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		if os.Getenv("HULIAN_REQUIRE_XMLLINT") != "" {
			t.Fatal("xmllint is missing: apt-get install -y libxml2-utils")
		}
		t.Skip("xmllint is missing: apt-get install -y libxml2-utils")
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	xsd := filepath.Join("..", "iso20022", "msg", "testdata", "xsd", string(typ)+".xsd")
	if out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", xsd, f).CombinedOutput(); err != nil {
		t.Fatalf("xmllint --schema %s: %v\n%s\n%.2000s", xsd, err, out, doc)
	}
}

// sendISO posts an ISO 20022 message and returns the pacs.002 answered,
// checked against its XSD.
func (s *sw) sendISO(key string, doc msg.Document) *msg.StatusReport {
	s.t.Helper()
	b, err := msg.Marshal(doc)
	if err != nil {
		s.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", s.url+"/v1/iso20022/messages", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Authorization", "Bearer "+key)
	r, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	out, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/xml" {
		s.t.Fatalf("POST /v1/iso20022/messages: %d %s", r.StatusCode, out)
	}
	xsdValid(s.t, msg.TypeStatusReport, out)
	d, err := msg.Parse(bytes.NewReader(out), 1<<22)
	if err != nil {
		s.t.Fatalf("pacs.002: %v\n%s", err, out)
	}
	return d.(*msg.StatusReport)
}

// TestISO20022CreditTransfer: a bank's pacs.008 is paid as native
// payments and answered with a valid pacs.002, one status per
// transaction with issue 15's reason codes; the same message again gets
// the same statuses, another transaction under a used id is DUPL.
func TestISO20022CreditTransfer(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		bankKey, _ := s.participant("bank-a", func(n *wire.NewParticipant) { n.Kind = "bank" })
		bKey, _ := s.participant("wallet-b", nil)
		s.participant("wallet-usd", func(n *wire.NewParticipant) { n.Currencies = []string{"USD"} })
		s.deposit("bank-a", "1000.00")
		s.party(bKey, "MSISDN", "13800138000", "Zhang San", "u-b1")
		cny := money.MustCurrency("CNY")
		tx := func(id string, amount int64, acct *msg.Account) msg.CreditTransaction {
			return msg.CreditTransaction{EndToEndID: "E2E-" + id, TxID: id, Amount: money.Amount(amount), Currency: cny,
				DebtorAgent: "bank-a", CreditorAgent: "wallet-b", CreditorAccount: acct}
		}
		msisdn := &msg.Account{ID: "+8613800138000", Scheme: "MSISDN"}
		proxy := &msg.Account{ID: "13800138000", ProxyType: "MSISDN", ProxyID: "13800138000"}
		ct := &msg.CreditTransfer{MsgID: "BANK-A-1", Created: time.Now(), Transactions: []msg.CreditTransaction{
			tx("iso-ok", 10000, msisdn),
			tx("iso-proxy", 500, proxy),
			tx("iso-nobody", 100, &msg.Account{ID: "+8613999999999", Scheme: "MSISDN"}),
			tx("iso-broke", 500_000_00, msisdn),
			{EndToEndID: "E2E-x", Amount: 100, Currency: cny, DebtorAgent: "bank-a", CreditorAccount: msisdn},
			{EndToEndID: "E2E-y", TxID: "iso-other-agent", Amount: 100, Currency: cny, DebtorAgent: "bank-z", CreditorAccount: msisdn},
			tx("iso-account", 100, &msg.Account{ID: "1234567"}), // wallet-b's account 1234567
		}}
		want := []struct{ status, reason string }{
			{"ACSC", ""}, {"ACSC", ""}, {"RJCT", "AC01"}, {"RJCT", "AM04"}, {"RJCT", "FF01"}, {"RJCT", "AG01"}, {"ACSC", ""},
		}
		check := func(rep *msg.StatusReport) {
			t.Helper()
			if len(rep.Originals) != 1 || rep.Originals[0].MsgID != "BANK-A-1" || rep.Originals[0].Type != msg.TypeCreditTransfer {
				t.Errorf("original group %+v", rep.Originals)
			}
			if len(rep.Transactions) != len(want) {
				t.Fatalf("%d statuses, want %d", len(rep.Transactions), len(want))
			}
			for i, w := range want {
				got := rep.Transactions[i]
				if got.Status != w.status || got.Reason != w.reason || got.OrigEndToEndID != ct.Transactions[i].EndToEndID {
					t.Errorf("transaction %d (%s): %+v, want %s %s", i, ct.Transactions[i].TxID, got, w.status, w.reason)
				}
			}
		}
		check(s.sendISO(bankKey, ct))
		// The same message again: the same report.
		check(s.sendISO(bankKey, ct))
		// Another transaction under a used id.
		dup := &msg.CreditTransfer{MsgID: "BANK-A-2", Created: time.Now(), Transactions: []msg.CreditTransaction{tx("iso-ok", 20000, msisdn)}}
		if rep := s.sendISO(bankKey, dup); rep.Transactions[0].Status != "RJCT" || rep.Transactions[0].Reason != "DUPL" {
			t.Errorf("another transfer under a used id: %+v", rep.Transactions[0])
		}
		// The payee sees an ordinary payment.
		var got wire.Transfer
		s.ok(200, "GET", "/v1/transfers/iso-ok", bKey, nil, &got)
		if got.State != "COMMITTED" || got.Amount != "100.00" || got.Payer != "bank-a" {
			t.Errorf("iso-ok: %+v", got)
		}
		// Currency not enabled for the payer: AM03.
		usd := &msg.CreditTransfer{MsgID: "BANK-A-3", Created: time.Now(), Transactions: []msg.CreditTransaction{
			{EndToEndID: "E2E-u", TxID: "iso-usd", Amount: 100, Currency: money.MustCurrency("USD"), DebtorAgent: "bank-a", CreditorAccount: msisdn}}}
		if rep := s.sendISO(bankKey, usd); rep.Transactions[0].Reason != "AM03" {
			t.Errorf("a currency not enabled: %+v", rep.Transactions[0])
		}
		// What is not a valid message changes nothing.
		for _, bad := range []string{
			`<Document`,
			`<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09">&b;</Document>`,
			`<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09">&x;</Document>`,
			`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/>`,
			`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09"><FIToFICstmrCdtTrf/></Document>`,
			`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09"><FIToFICstmrCdtTrf>` +
				strings.Repeat("<GrpHdr>", 5000) + strings.Repeat("</GrpHdr>", 5000) + `</FIToFICstmrCdtTrf></Document>`,
			`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>`,
			`<Document><FIToFICstmrCdtTrf/></Document>`,
		} {
			req, _ := http.NewRequest("POST", s.url+"/v1/iso20022/messages", bytes.NewReader([]byte(bad)))
			req.Header.Set("Content-Type", "application/xml")
			req.Header.Set("Authorization", "Bearer "+bankKey)
			r, err := s.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode != 400 || !bytes.Contains(b, []byte("invalid-request")) {
				t.Errorf("%.60s: %d %s", bad, r.StatusCode, b)
			}
		}
		if b := s.balance(bankKey, "bank-a"); b.Balance != "894.00" { // 1,000.00 − 100.00 − 5.00 − 1.00
			t.Errorf("bank-a: %+v", b)
		}
	})
}

// TestStatements: a participant's statement of a day, in JSON and as a
// camt.053.001.08 valid against its XSD: a pacs.008 paid in comes back
// as an entry named by its transfer id, with the deposit and the fees;
// the balances agree with the account and with the entries.
func TestStatements(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.Timezone = "UTC" }, func(t *testing.T, s *sw) {
		bankKey, _ := s.participant("bank-a", func(n *wire.NewParticipant) { n.Kind = "bank" })
		bKey, _ := s.participant("wallet-b", nil)
		s.deposit("bank-a", "1000.00")
		s.party(bKey, "MSISDN", "13800138000", "Zhang San", "u-b1")
		cny := money.MustCurrency("CNY")
		s.sendISO(bankKey, &msg.CreditTransfer{MsgID: "M-1", Created: time.Now(), Transactions: []msg.CreditTransaction{{
			EndToEndID: "E-1", TxID: "stmt-1", Amount: 12345, Currency: cny, DebtorAgent: "bank-a",
			CreditorAccount: &msg.Account{ID: "+8613800138000", Scheme: "MSISDN"}}}})
		date := time.Now().UTC().Format(time.DateOnly)
		var st wire.Statement
		s.ok(200, "GET", "/v1/participants/bank-a/statements?currency=CNY&date="+date, bankKey, nil, &st)
		kinds := map[string]string{}
		for _, e := range st.Entries {
			kinds[e.Kind+":"+e.Direction] = e.Ref + " " + e.Amount
		}
		if st.Opening != "0.00" || st.Closing != "876.55" || kinds["deposit:credit"] == "" || kinds["payment:debit"] != "stmt-1 123.45" ||
			st.Page != 1 || !st.LastPage {
			t.Errorf("statement %+v", st)
		}
		s.problem(404, "not-found", "GET", "/v1/participants/bank-a/statements?currency=CNY&page=2&date="+date, bankKey, nil)
		s.problem(400, "invalid-request", "GET", "/v1/participants/bank-a/statements?currency=CNY&page=0&date="+date, bankKey, nil)
		// As camt.053: valid, and the same.
		req, _ := http.NewRequest("GET", s.url+"/v1/participants/bank-a/statements?currency=CNY&date="+date, nil)
		req.Header.Set("Authorization", "Bearer "+bankKey)
		req.Header.Set("Accept", "application/xml")
		r, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("camt.053: %d %s", r.StatusCode, doc)
		}
		xsdValid(t, msg.TypeBankStatement, doc)
		parsed, err := msg.Parse(bytes.NewReader(doc), 1<<22)
		if err != nil {
			t.Fatal(err)
		}
		bs := parsed.(*msg.BankStatement)
		if len(bs.Statements) != 1 || len(bs.Statements[0].Entries) != len(st.Entries) || bs.Statements[0].Page != 1 || !bs.Statements[0].LastPage {
			t.Fatalf("camt.053 %+v", bs)
		}
		var net money.Amount
		found := false
		for _, e := range bs.Statements[0].Entries {
			net += e.Signed()
			found = found || e.TxID == "stmt-1" && e.Amount == 12345 && e.Indicator == msg.Debit
		}
		var open, closing money.Amount
		for _, b := range bs.Statements[0].Balances {
			switch b.Type {
			case "OPBD":
				open = b.Signed()
			case "CLBD":
				closing = b.Signed()
			}
		}
		if !found || closing != open+net || closing != 87655 {
			t.Errorf("camt.053 balances %d + %d != %d, or no entry of stmt-1", open, net, closing)
		}
		// Another participant may not see it; a day without movements has equal balances.
		s.problem(404, "not-found", "GET", "/v1/participants/bank-a/statements?currency=CNY&date="+date, bKey, nil)
		var empty wire.Statement
		s.ok(200, "GET", "/v1/participants/bank-a/statements?currency=CNY&date=2026-01-01", opToken, nil, &empty)
		if empty.Opening != empty.Closing || len(empty.Entries) != 0 {
			t.Errorf("an empty day %+v", empty)
		}
		s.problem(400, "invalid-request", "GET", "/v1/participants/bank-a/statements?currency=CNY&date=yesterday", bankKey, nil)
	})
}

// isoBank is a bank's callback endpoint that speaks ISO 20022: it checks
// the switch's signature, keeps the pacs.008 it gets (checked against the
// XSD), and answers a confirm request with a signed pacs.002 of status.
type isoBank struct {
	t      *testing.T
	secret string
	status string // ACSC or RJCT
	reason string
	mu     sync.Mutex
	got    []*msg.CreditTransfer
	bodies [][]byte
}

func (b *isoBank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := wire.Verify(r.Header.Get(wire.SignatureHeader), b.secret, body, time.Now(), 5*time.Minute); err != nil ||
		r.Header.Get("Content-Type") != "application/xml" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	doc, err := msg.Parse(bytes.NewReader(body), 1<<22)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ct := doc.(*msg.CreditTransfer)
	b.mu.Lock()
	b.got, b.bodies = append(b.got, ct), append(b.bodies, body)
	b.mu.Unlock()
	if len(ct.Transactions) == 1 && b.status != "" {
		tx := ct.Transactions[0]
		out, _ := msg.Marshal(&msg.StatusReport{MsgID: "BANK-ANS", Created: time.Now(),
			Originals:    []msg.OriginalGroup{{MsgID: ct.MsgID, Type: msg.TypeCreditTransfer}},
			Transactions: []msg.TxStatus{{OrigEndToEndID: tx.EndToEndID, OrigTxID: tx.TxID, Status: b.status, Reason: b.reason}}})
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set(wire.SignatureHeader, wire.Sign(b.secret, time.Now(), out))
		w.Write(out)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestISO20022Payee: a bank whose messageFormat is iso20022 receives its
// incoming payments as signed pacs.008 (valid against the XSD) and, in
// confirm mode, decides them with a pacs.002: ACSC commits, RJCT aborts
// with its reason code.
func TestISO20022Payee(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		s.deposit("wallet-a", "1000.00")
		bank := &isoBank{t: t}
		srv := httptest.NewServer(bank)
		t.Cleanup(srv.Close)
		var secret string
		bankKey, secret := s.participant("bank-c", func(n *wire.NewParticipant) {
			n.Kind, n.CallbackURL, n.Acceptance, n.MessageFormat = "bank", srv.URL, "confirm", "iso20022"
		})
		bank.secret = secret
		s.party(bankKey, "MSISDN", "13700137000", "Wang Wu", "acct-77")
		bank.status = "ACSC"
		var got wire.Transfer
		s.ok(201, "POST", "/v1/transfers", aKey, pay("to-bank-1", "MSISDN", "+8613700137000", "12.00"), &got)
		if got.State != "COMMITTED" {
			t.Fatalf("accepted by pacs.002 ACSC: %+v", got)
		}
		bank.status, bank.reason = "RJCT", "AC04"
		s.ok(201, "POST", "/v1/transfers", aKey, pay("to-bank-2", "MSISDN", "+8613700137000", "3.00"), &got)
		if got.State != "ABORTED" || !strings.Contains(got.Reason, "AC04") {
			t.Fatalf("rejected by pacs.002 RJCT: %+v", got)
		}
		bank.mu.Lock()
		defer bank.mu.Unlock()
		if len(bank.got) < 2 {
			t.Fatalf("%d pacs.008 to the bank", len(bank.got))
		}
		tx := bank.got[0].Transactions[0]
		if tx.TxID != "to-bank-1" || tx.Amount != 1200 || tx.DebtorAgent != "wallet-a" || tx.CreditorAccount.ID != "acct-77" ||
			tx.CreditorAccount.ProxyID != "+8613700137000" {
			t.Errorf("pacs.008 to the bank: %+v, account %+v", tx, tx.CreditorAccount)
		}
		for _, b := range bank.bodies {
			xsdValid(t, msg.TypeCreditTransfer, b)
		}
	})
}

// TestISO20022Return: a payee bank returns part of a payment with a
// pacs.004; the switch pays it back to the original payer as a new
// transfer linked to the original and answers a valid pacs.002; a second
// return, one of too much and one of a payment not the bank's are
// refused with their reason codes.
func TestISO20022Return(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		bankKey, _ := s.participant("bank-c", func(n *wire.NewParticipant) { n.Kind = "bank" })
		s.participant("wallet-d", nil)
		s.deposit("wallet-a", "1000.00")
		s.party(bankKey, "MSISDN", "13700137000", "Wang Wu", "acct-77")
		s.ok(201, "POST", "/v1/transfers", aKey, pay("to-return", "MSISDN", "+8613700137000", "100.00"), nil)
		cny := money.MustCurrency("CNY")
		ret := func(id string, amount int64, rtr string) msg.ReturnTransaction {
			return msg.ReturnTransaction{ReturnID: rtr, OrigEndToEndID: "E-" + id, OrigTxID: id, Amount: money.Amount(amount),
				Currency: cny, Reason: "AC04", Info: "account closed"}
		}
		pr := &msg.PaymentReturn{MsgID: "RET-1", Created: time.Now(), Transactions: []msg.ReturnTransaction{
			ret("to-return", 10001, "R-0"), // more than the payment
			ret("to-return", 4000, "R-1"),  // returned
			ret("no-such", 100, "R-2"),     // not the bank's
		}}
		rep := s.sendISO(bankKey, pr)
		want := [][2]string{{"RJCT", "AM02"}, {"ACSC", ""}, {"RJCT", "AC01"}}
		for i, w := range want {
			if got := rep.Transactions[i]; got.Status != w[0] || got.Reason != w[1] || got.OrigTxID != pr.Transactions[i].ReturnID {
				t.Errorf("return %d: %+v, want %v", i, got, w)
			}
		}
		if rep.Originals[0].Type != msg.TypePaymentReturn {
			t.Errorf("original group %+v", rep.Originals)
		}
		var got wire.Transfer
		s.ok(200, "GET", "/v1/transfers/return:to-return", aKey, nil, &got)
		if got.State != "COMMITTED" || got.Amount != "40.00" || got.Payer != "bank-c" || got.Payee.Value != "to-return" || got.Fee != "0.00" {
			t.Errorf("the return: %+v", got)
		}
		// A second, different return of the same payment: DUPL.
		again := s.sendISO(bankKey, &msg.PaymentReturn{MsgID: "RET-2", Created: time.Now(),
			Transactions: []msg.ReturnTransaction{ret("to-return", 3000, "R-3")}})
		if again.Transactions[0].Reason != "DUPL" {
			t.Errorf("a second return: %+v", again.Transactions[0])
		}
		if b := s.balance(aKey, "wallet-a"); b.Balance != "940.00" {
			t.Errorf("wallet-a after the return: %+v", b)
		}
	})
}

// TestISO20022Reasons: a pacs.008 routes by account at the creditor
// agent as well as by alias, and answers every other status of issue
// 15's table: AC01 for an unknown agent, AG01 for a suspended payee,
// AM02 for a limit rule, RR04 for another decline rule, PDNG for a
// payment held for review, AB05 for a confirm-mode payee that does not
// answer in time.
func TestISO20022Reasons(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		bankKey, _ := s.participant("bank-a", func(n *wire.NewParticipant) { n.Kind = "bank" })
		bKey, _ := s.participant("wallet-b", nil)
		sKey, _ := s.participant("wallet-s", nil)
		silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select { // never answers in time
			case <-r.Context().Done():
			case <-time.After(4 * time.Second):
			}
		}))
		t.Cleanup(silent.Close)
		slowKey, _ := s.participant("wallet-slow", func(n *wire.NewParticipant) { n.CallbackURL, n.Acceptance = silent.URL, "confirm" })
		s.deposit("bank-a", "1000.00")
		s.party(bKey, "MSISDN", "13800138000", "Zhang San", "u-b1")
		s.party(sKey, "MSISDN", "13900139000", "Li Si", "u-s1")
		s.party(slowKey, "MSISDN", "13600136000", "Zhao Liu", "u-x1")
		s.ok(200, "POST", "/v1/participants/wallet-s/suspend", opToken, nil, nil)
		for id, r := range map[string]wire.RiskRule{
			"single": {Expression: "amount == 777", Action: "decline", Reason: "limit-single", Mode: "enforce"},
			"mule":   {Expression: "amount == 666", Action: "decline", Reason: "mule", Mode: "enforce"},
			"look":   {Expression: "amount == 555", Action: "review", Reason: "look", Mode: "enforce"},
		} {
			s.ok(201, "PUT", "/v1/risk/rules/"+id, opToken, r, nil)
		}
		cny := money.MustCurrency("CNY")
		tx := func(id string, amount int64, agent string, acct *msg.Account) msg.CreditTransaction {
			return msg.CreditTransaction{EndToEndID: "E2E-" + id, TxID: id, Amount: money.Amount(amount), Currency: cny,
				DebtorAgent: "bank-a", CreditorAgent: agent, CreditorAccount: acct}
		}
		alias := func(v string) *msg.Account { return &msg.Account{ID: v, Scheme: "MSISDN"} }
		ct := &msg.CreditTransfer{MsgID: "BANK-A-R", Created: time.Now(), Transactions: []msg.CreditTransaction{
			tx("r-account", 1200, "wallet-b", &msg.Account{ID: "6222 0001"}),
			tx("r-noagent", 100, "bank-zz", &msg.Account{ID: "6222 0001"}),
			tx("r-noaccount", 100, "", &msg.Account{ID: "6222 0001"}),
			tx("r-suspended", 100, "wallet-s", alias("+8613900139000")),
			tx("r-limit", 777, "wallet-b", alias("+8613800138000")),
			tx("r-risk", 666, "wallet-b", alias("+8613800138000")),
			tx("r-held", 555, "wallet-b", alias("+8613800138000")),
			tx("r-silent", 100, "wallet-slow", alias("+8613600136000")),
		}}
		want := [][2]string{{"ACSC", ""}, {"RJCT", "AC01"}, {"RJCT", "AC01"}, {"RJCT", "AG01"}, {"RJCT", "AM02"},
			{"RJCT", "RR04"}, {"PDNG", ""}, {"RJCT", "AB05"}}
		rep := s.sendISO(bankKey, ct)
		for i, w := range want {
			if got := rep.Transactions[i]; got.Status != w[0] || got.Reason != w[1] || got.OrigTxID != ct.Transactions[i].TxID {
				t.Errorf("transaction %d (%s): %+v, want %v", i, ct.Transactions[i].TxID, got, w)
			}
		}
		// Paid to the account: the payee sees it, and its account.
		var got wire.Transfer
		s.ok(200, "GET", "/v1/transfers/r-account", bKey, nil, &got)
		if got.State != "COMMITTED" || got.Payee.Type != "ACCOUNT" || got.Payee.Value != "wallet-b/6222 0001" ||
			got.Payee.Account != "6222 0001" || got.Amount != "12.00" {
			t.Errorf("paid to an account: %+v", got)
		}
		s.ok(200, "GET", "/v1/transfers/r-held", bankKey, nil, &got)
		if got.State != "HELD" {
			t.Errorf("held: %+v", got)
		}
	})
}

// TestISO20022Batch: a pacs.008 of 1,000 credit transfers is paid and
// answered in one pacs.002 of 1,000 statuses, in order; 1,001 is refused
// whole; the payee's camt.053 of the day holds each as an entry.
func TestISO20022Batch(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.Timezone = "UTC" }, func(t *testing.T, s *sw) {
		bankKey, _ := s.participant("bank-a", func(n *wire.NewParticipant) { n.Kind = "bank" })
		bKey, _ := s.participant("wallet-b", nil)
		s.deposit("bank-a", "100000.00")
		s.party(bKey, "MSISDN", "13800138000", "Zhang San", "u-b1")
		cny := money.MustCurrency("CNY")
		ct := &msg.CreditTransfer{MsgID: "BANK-A-BATCH", Created: time.Now()}
		for i := range 1000 {
			id := "batch-" + strconv.Itoa(i)
			ct.Transactions = append(ct.Transactions, msg.CreditTransaction{EndToEndID: "E-" + id, TxID: id,
				Amount: money.Amount(100 + i), Currency: cny, DebtorAgent: "bank-a",
				CreditorAccount: &msg.Account{ID: "+8613800138000", Scheme: "MSISDN"}})
		}
		b, err := msg.Marshal(ct)
		if err != nil {
			t.Fatal(err)
		}
		// 1,001 transactions, which Marshal would not write: the last
		// one again under another id.
		last := bytes.LastIndex(b, []byte("<CdtTrfTxInf>"))
		end := bytes.LastIndex(b, []byte("</CdtTrfTxInf>")) + len("</CdtTrfTxInf>")
		extra := bytes.ReplaceAll(b[last:end], []byte("batch-999"), []byte("batch-1000"))
		b = slices.Concat(b[:end], extra, b[end:])
		b = bytes.Replace(b, []byte("<NbOfTxs>1000<"), []byte("<NbOfTxs>1001<"), 1)
		req, _ := http.NewRequest("POST", s.url+"/v1/iso20022/messages", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("Authorization", "Bearer "+bankKey)
		r, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 400 || !bytes.Contains(body, []byte("invalid-request")) || !bytes.Contains(body, []byte("1001")) {
			t.Fatalf("1,001 transactions: %d %s", r.StatusCode, body)
		}
		rep := s.sendISO(bankKey, ct)
		if len(rep.Transactions) != 1000 {
			t.Fatalf("%d statuses", len(rep.Transactions))
		}
		var sum int64
		for i, st := range rep.Transactions {
			if st.Status != "ACSC" || st.OrigTxID != ct.Transactions[i].TxID {
				t.Fatalf("status %d: %+v", i, st)
			}
			sum += int64(ct.Transactions[i].Amount)
		}
		// The payee's statement of the day: one credit entry per payment.
		req, _ = http.NewRequest("GET", s.url+"/v1/participants/wallet-b/statements?currency=CNY&date="+
			time.Now().UTC().Format(time.DateOnly), nil)
		req.Header.Set("Authorization", "Bearer "+bKey)
		req.Header.Set("Accept", "application/xml")
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("statement: %d %.300s", resp.StatusCode, body)
		}
		xsdValid(t, msg.TypeBankStatement, body)
		doc, err := msg.Parse(bytes.NewReader(body), 1<<24)
		if err != nil {
			t.Fatal(err)
		}
		credited := map[string]int64{}
		for _, e := range doc.(*msg.BankStatement).Statements[0].Entries {
			if e.Indicator == msg.Credit {
				credited[e.TxID] = int64(e.Amount)
			}
		}
		for _, tx := range ct.Transactions {
			if credited[tx.TxID] != int64(tx.Amount) {
				t.Fatalf("statement entry of %s: %d, want %d", tx.TxID, credited[tx.TxID], tx.Amount)
			}
		}
		if bal := s.balance(bKey, "wallet-b"); bal.Balance != money.Amount(sum).Format(cny) {
			t.Errorf("wallet-b: %+v, want %d", bal, sum)
		}
	})
}

// TestISO20022FXPayee: an HKD bank speaking ISO 20022 is asked to
// confirm an FX payment from a CNY wallet with a pacs.008 (valid against
// the XSD) that settles what it gets — the target amount in HKD — and
// tells what the payer instructed in CNY, the rate and the purpose.
func TestISO20022FXPayee(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		f := newFXSwitch(t, s)
		bank := &isoBank{t: t, status: "ACSC"}
		srv := httptest.NewServer(bank)
		t.Cleanup(srv.Close)
		bankKey, secret := s.participant("bank-k", func(n *wire.NewParticipant) {
			n.Kind, n.CallbackURL, n.Acceptance, n.MessageFormat, n.Currencies = "bank", srv.URL, "confirm", "iso20022", []string{"HKD"}
		})
		bank.secret = secret
		s.ok(201, "POST", "/v1/parties", bankKey, wire.NewParty{Type: "MSISDN", Value: "+85261234567", Name: "Ho Ka", Account: "hk-77", Currency: "HKD"}, nil)
		var q wire.Quote
		s.ok(201, "POST", "/v1/quotes", f.a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85261234567"}, Amount: "100.00", Currency: "CNY"}, &q)
		var got wire.Transfer
		s.ok(201, "POST", "/v1/transfers", f.a, wire.NewTransfer{ID: "fx-iso-1", Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85261234567"},
			Amount: q.Amount, Currency: "CNY", QuoteID: q.ID, Purpose: "GDDS", PayerAccount: "u-1"}, &got)
		if got.State != "COMMITTED" || got.FX == nil {
			t.Fatalf("accepted: %+v", got)
		}
		bank.mu.Lock()
		defer bank.mu.Unlock()
		if len(bank.got) == 0 {
			t.Fatal("no pacs.008 to the bank")
		}
		// The confirmation, and the notification that may follow it.
		for i, ct := range bank.got {
			tx := ct.Transactions[0]
			if tx.TxID != "fx-iso-1" || tx.Amount != 10850 || tx.Currency.String() != "HKD" || tx.InstructedAmount != 10000 ||
				tx.InstructedCurrency.String() != "CNY" || tx.ExchangeRate != "1.085" || tx.Purpose != "GDDS" || tx.CreditorAccount.ID != "hk-77" {
				t.Errorf("pacs.008 to the bank: %+v", tx)
			}
			xsdValid(t, msg.TypeCreditTransfer, bank.bodies[i])
		}
	})
}
