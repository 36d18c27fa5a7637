package app_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// reconcile posts a participant's records and returns the answer.
func (s *sw) reconcile(key, query, ctype string, body []byte) (int, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/v1/reconciliations?"+query, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+key)
	r, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, b
}

// TestReconciliation: a participant reconciles its records of a window
// against the switch's, as CSV or as a camt.053 statement: every kind of
// break is found and named, what agrees matches, the result is kept and
// read back as JSON or CSV, and nobody else may see it; on both engines.
func TestReconciliation(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		bKey, _ := s.participant("wallet-b", nil)
		cKey, _ := s.participant("wallet-c", nil)
		s.deposit("wallet-a", "1000.00")
		s.deposit("wallet-b", "1000.00")
		s.party(bKey, "MSISDN", "13800138000", "Zhang San", "u-b1")
		s.party(aKey, "MSISDN", "13900139000", "Li Si", "u-a1")
		from := time.Now().Add(-time.Minute)
		for i := range 5 {
			s.ok(201, "POST", "/v1/transfers", aKey, pay(fmt.Sprintf("r-%d", i), "MSISDN", "+8613800138000", "10.00"), nil)
		}
		s.ok(201, "POST", "/v1/transfers", bKey, pay("r-in", "MSISDN", "+8613900139000", "2.50"), nil)
		to := time.Now().Add(time.Minute)
		q := url.Values{"currency": {"CNY"}, "from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}

		csv := strings.Join([]string{
			"transferId,amount,direction,status",
			"r-in,2.50,credit,COMMITTED",   // matched
			"r-0,10.00,debit,COMMITTED",    // matched
			"r-1,10.01,debit,COMMITTED",    // amount-mismatch
			"r-2,10.00,credit,COMMITTED",   // direction-mismatch
			"r-3,10.00,debit,ABORTED",      // status-mismatch
			"r-ghost,5.00,debit,COMMITTED", // missing-at-switch
			"",                             // r-4: missing-at-participant
		}, "\n")
		status, body := s.reconcile(aKey, q.Encode(), "text/csv", []byte(csv))
		var rc wire.Reconciliation
		if status != 201 || json.Unmarshal(body, &rc) != nil {
			t.Fatalf("reconcile: %d %s", status, body)
		}
		kinds := map[string]string{}
		for _, b := range rc.Breaks {
			kinds[b.TransferID] = b.Kind
		}
		want := map[string]string{"r-1": "amount-mismatch", "r-2": "direction-mismatch", "r-3": "status-mismatch",
			"r-ghost": "missing-at-switch", "r-4": "missing-at-participant"}
		if rc.Matched != 2 || len(kinds) != 5 || fmt.Sprint(kinds) != fmt.Sprint(want) || rc.BreakCount != 5 {
			t.Errorf("reconciliation %+v, breaks %v", rc, kinds)
		}
		// Kept: read back as JSON and as CSV; not by another participant.
		var again wire.Reconciliation
		s.ok(200, "GET", "/v1/reconciliations/"+rc.ID, aKey, nil, &again)
		if again.Matched != 2 || len(again.Breaks) != 5 {
			t.Errorf("read back %+v", again)
		}
		s.ok(200, "GET", "/v1/reconciliations/"+rc.ID, opToken, nil, nil)
		s.problem(404, "not-found", "GET", "/v1/reconciliations/"+rc.ID, cKey, nil)
		req, _ := http.NewRequest("GET", s.url+"/v1/reconciliations/"+rc.ID, nil)
		req.Header.Set("Authorization", "Bearer "+aKey)
		req.Header.Set("Accept", "text/csv")
		r, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.HasPrefix(string(b), "transferId,kind,") || strings.Count(string(b), "\n") != 6 {
			t.Errorf("breaks as CSV: %d %s", r.StatusCode, b)
		}
		// The same as a camt.053 statement: everything agrees.
		cny := money.MustCurrency("CNY")
		var entries []msg.Entry
		for i := range 5 {
			entries = append(entries, msg.Entry{Amount: 1000, Currency: cny, Indicator: msg.Debit, Status: "BOOK", Code: "payment",
				TxID: fmt.Sprintf("r-%d", i)})
		}
		entries = append(entries, msg.Entry{Amount: 250, Currency: cny, Indicator: msg.Credit, Status: "BOOK", Code: "payment", TxID: "r-in"},
			msg.Entry{Amount: 11, Currency: cny, Indicator: msg.Debit, Status: "BOOK", Code: "fee", TxID: "r-0"})
		doc, err := msg.Marshal(&msg.BankStatement{MsgID: "STMT-1", Created: time.Now(), Statements: []msg.AccountStatement{{
			ID: "S-1", Account: msg.Account{ID: "wallet-a"}, Currency: cny,
			Balances: []msg.Balance{{Type: "OPBD", Amount: 0, Currency: cny, Indicator: msg.Credit, Date: msg.Date(2026, 12, 7)}},
			Entries:  entries}}})
		if err != nil {
			t.Fatal(err)
		}
		status, body = s.reconcile(aKey, q.Encode(), "application/xml", doc)
		if status != 201 || json.Unmarshal(body, &rc) != nil || rc.Matched != 6 || rc.BreakCount != 0 {
			t.Errorf("camt.053: %d %s", status, body)
		}
		// Refusals change nothing.
		for _, c := range []struct {
			key, query, ctype, body string
			status                  int
		}{
			{aKey, q.Encode(), "text/csv", "transferId,amount\nx,1", 400},
			{aKey, q.Encode(), "text/csv", "transferId,amount,direction,status\nx,1.00,debit,COMMITTED\nx,1.00,debit,COMMITTED", 400},
			{aKey, "currency=CNY&from=x&to=y", "text/csv", csv, 400},
			{aKey, q.Encode() + "&participant=wallet-b", "text/csv", csv, 403},
			{opToken, q.Encode(), "text/csv", csv, 400},
			{aKey, q.Encode(), "application/json", "{}", 415},
			{aKey, q.Encode(), "application/xml", `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>` +
				`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&b;</Document>`, 400},
			{aKey, q.Encode(), "application/xml", `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
				`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&x;</Document>`, 400},
			{aKey, q.Encode(), "application/xml", `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">` +
				strings.Repeat("<a>", 5000) + strings.Repeat("</a>", 5000) + `</Document>`, 400},
			{aKey, q.Encode(), "application/xml", `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>`, 400},
			{aKey, q.Encode(), "application/xml", `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09"/>`, 400},
		} {
			if st, b := s.reconcile(c.key, c.query, c.ctype, []byte(c.body)); st != c.status {
				t.Errorf("%s %.40q: %d %s, want %d", c.query, c.body, st, b, c.status)
			}
		}
		// The operator reconciles a participant by name.
		if st, b := s.reconcile(opToken, q.Encode()+"&participant=wallet-a", "text/csv", []byte(csv)); st != 201 {
			t.Errorf("the operator: %d %s", st, b)
		}
	})
}

// TestReconcileSettlementBank: the operator reconciles the settlement
// bank's statement of the scheme's account — money in for deposits, out
// for withdrawals — against the switch's deposits and withdrawals; a
// deposit the bank never received and one the switch never booked are
// named. Participants may not.
func TestReconcileSettlementBank(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		s.participant("wallet-b", nil)
		from := time.Now().Add(-time.Minute)
		funds := func(who, amount, dir string) string {
			var f wire.Funds
			s.ok(201, "POST", "/v1/participants/"+who+"/funds", opToken, wire.Funds{Currency: "CNY", Amount: amount, Direction: dir}, &f)
			return who + ":" + f.ID
		}
		d1 := funds("wallet-a", "1000.00", "deposit")
		d2 := funds("wallet-b", "500.00", "deposit")
		w1 := funds("wallet-a", "100.00", "withdrawal")
		q := url.Values{"currency": {"CNY"}, "participant": {"settlement-bank"}, "from": {from.Format(time.RFC3339Nano)},
			"to": {time.Now().Add(time.Minute).Format(time.RFC3339Nano)}}
		csv := "transferId,amount,direction,status\n" + d1 + ",1000.00,credit,COMMITTED\n" + w1 + ",100.00,debit,COMMITTED\n" +
			"wallet-c:ghost,7.00,credit,COMMITTED\n"
		status, body := s.reconcile(opToken, q.Encode(), "text/csv", []byte(csv))
		var rc wire.Reconciliation
		if status != 201 || json.Unmarshal(body, &rc) != nil {
			t.Fatalf("settlement bank: %d %s", status, body)
		}
		kinds := map[string]string{}
		for _, b := range rc.Breaks {
			kinds[b.TransferID] = b.Kind
		}
		if rc.Matched != 2 || kinds[d2] != "missing-at-participant" || kinds["wallet-c:ghost"] != "missing-at-switch" || len(kinds) != 2 {
			t.Errorf("settlement bank reconciliation %+v, breaks %v", rc, kinds)
		}
		if st, b := s.reconcile(aKey, q.Encode(), "text/csv", []byte(csv)); st != 403 {
			t.Errorf("a participant reconciling the settlement bank: %d %s", st, b)
		}
		s.problem(404, "not-found", "GET", "/v1/reconciliations/"+rc.ID, aKey, nil)
	})
}

// TestReconcileLargeUpload: a CSV upload is streamed, so a day larger
// than what a caller may hold in flight (32 MiB) is reconciled; its
// breaks are counted in full and kept up to the bound; while one runs,
// the same participant's second one is refused.
func TestReconcileLargeUpload(t *testing.T) {
	s := start(t, engines[0].store(t), nil)
	aKey, _ := s.participant("wallet-a", nil)
	q := url.Values{"currency": {"CNY"}, "from": {time.Now().Add(-time.Hour).Format(time.RFC3339Nano)},
		"to": {time.Now().Add(time.Hour).Format(time.RFC3339Nano)}}
	const n = 300_000
	pad := strings.Repeat("x", 110)
	var csv bytes.Buffer
	csv.WriteString("transferId,amount,direction,status\n")
	for i := range n {
		fmt.Fprintf(&csv, "%s-%07d,1.00,debit,COMMITTED\n", pad, i)
	}
	if csv.Len() <= 40<<20 {
		t.Fatalf("the upload is only %d bytes", csv.Len())
	}
	status, body := s.reconcile(aKey, q.Encode(), "text/csv", csv.Bytes())
	if status != 201 {
		t.Fatalf("%d bytes of CSV: %d %.300s", csv.Len(), status, body)
	}
	var rc wire.Reconciliation
	if err := json.Unmarshal(body, &rc); err != nil {
		t.Fatal(err)
	}
	if rc.BreakCount != n || rc.ByKind["missing-at-switch"] != n || len(rc.Breaks) != 10_000 {
		t.Errorf("breaks: %d, by kind %v, %d kept", rc.BreakCount, rc.ByKind, len(rc.Breaks))
	}
	// A second while the first is still reading: refused. The first
	// must hold the slot when the second arrives; on a loaded machine a
	// second may get there before the first's handler does (then both
	// run, or the first is the one refused), and the attempt starts over.
	for attempt := 1; ; attempt++ {
		pr, pw := io.Pipe()
		first := make(chan int)
		go func() {
			req, _ := http.NewRequest("POST", s.url+"/v1/reconciliations?"+q.Encode(), pr)
			req.Header.Set("Content-Type", "text/csv")
			req.Header.Set("Authorization", "Bearer "+aKey)
			r, err := s.hc.Do(req)
			if err != nil {
				first <- 0
				return
			}
			r.Body.Close()
			first <- r.StatusCode
		}()
		pw.Write([]byte("transferId,amount,direction,status\n"))
		for deadline := time.Now().Add(5 * time.Second); s.app.API.InFlight() == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond) // the first has not reached the handler yet
		}
		status, body = s.reconcile(aKey, q.Encode(), "text/csv", []byte("transferId,amount,direction,status\n"))
		pw.Close()
		st := <-first
		if status == 429 {
			if !bytes.Contains(body, []byte("rate-limited")) {
				t.Errorf("a second at once: %d %s", status, body)
			}
			if st != 201 {
				t.Errorf("the first: %d", st)
			}
			break
		}
		if status != 201 || (st != 201 && st != 429) || attempt == 5 {
			t.Fatalf("a second at once, attempt %d: %d %s; the first %d", attempt, status, body, st)
		}
	}
}
