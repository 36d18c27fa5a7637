package app_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// An attacker's review of the payment experiences (refunds, requests to
// pay, merchant QR codes, mandates, disputes, FX rate sheets, statements,
// ACCOUNT payees, reserved ids): who may call what, money that must not
// move, bounds that must hold under concurrency, hostile input and weird
// dates. A test that shows a hole the lead has not fixed yet is kept with
// t.Error("bug: …").

// try sends a request from any goroutine: it never stops the test, and
// answers status 0 with the error as body when the request fails.
func (s *sw) try(method, path, token string, body any) (int, []byte) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return 0, []byte(err.Error())
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := s.hc.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, b
}

// race sends the requests all at once and returns their statuses, in
// order.
func (s *sw) race(n int, req func(i int) (method, path string, body any), token string) []int {
	out := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, p, b := req(i)
			<-start
			out[i], _ = s.try(m, p, token, b)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// expWorld is a switch with one of each payment experience between two
// wallets: wallet-a's user (alias +8613900139000) pays and is asked to
// pay, wallet-b's (alias +8613800138000, merchant M-1) is paid.
type expWorld struct {
	aKey, bKey string
	// pay is a committed payment from a to b; disputed another one,
	// with dispute; request a pending request of b to a; mandate an
	// active monthly mandate of b on a; code a static QR code of b.
	pay, disputed, dispute, request, mandate, code string
}

const (
	aliasA = "+8613900139000"
	aliasB = "+8613800138000"
)

func expSetUpWorld(s *sw) expWorld {
	s.t.Helper()
	w := expWorld{pay: "sec-pay", disputed: "sec-pay-2", request: "sec-bill", mandate: "sec-mandate"}
	w.aKey, _ = s.participant("wallet-a", nil)
	w.bKey, _ = s.participant("wallet-b", nil)
	s.deposit("wallet-a", "1000.00")
	s.party(w.aKey, "MSISDN", aliasA, "Li Si", "u-a1")
	s.party(w.bKey, "MSISDN", aliasB, "Zhang San", "u-b1")
	s.ok(201, "POST", "/v1/parties", w.bKey, wire.NewParty{Type: "MERCHANT", Value: "M-1", Name: "Lao Wang Noodles", Account: "shop-1",
		Currency: "CNY", MCC: "5812", City: "Beijing", Country: "CN"}, nil)
	s.ok(201, "POST", "/v1/transfers", w.aKey, pay(w.pay, "MSISDN", aliasB, "100.00"), nil)
	s.ok(201, "POST", "/v1/transfers", w.aKey, pay(w.disputed, "MSISDN", aliasB, "100.00"), nil)
	var d wire.Dispute
	s.ok(201, "POST", "/v1/disputes", w.aKey, wire.NewDispute{TransferID: w.disputed, Reason: "error"}, &d)
	w.dispute = d.ID
	s.ok(201, "POST", "/v1/payment-requests", w.bKey, wire.NewPaymentRequest{ID: w.request, Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA},
		Amount: "5.00", Currency: "CNY", ExpiresAt: time.Now().Add(time.Hour)}, nil)
	now := time.Now()
	s.ok(201, "POST", "/v1/mandates", w.bKey, wire.NewMandate{ID: w.mandate, Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA},
		MaxAmount: "50.00", Currency: "CNY", Frequency: "monthly", ValidFrom: now.Add(-time.Hour), ValidUntil: now.AddDate(1, 0, 0)}, nil)
	s.ok(200, "POST", "/v1/mandates/"+w.mandate+"/approve", w.aKey, nil, nil)
	var c wire.QR
	s.ok(201, "POST", "/v1/qr", w.bKey, wire.NewQR{Merchant: "M-1", Currency: "CNY"}, &c)
	w.code = c.ID
	return w
}

// call is one request of an access table.
type call struct {
	method, path string
	body         any
}

// TestExperiencesWhoMayCall: the regulator's read-only token is refused
// every write of the payment experiences and reads them all; the
// operator is refused what only a participant does; a stranger learns
// nothing of others' refunds, requests, mandates, disputes and codes
// (404, as for an id that does not exist) and lists none of them; a
// suspended participant and a caller without a token are refused
// everything.
func TestExperiencesWhoMayCall(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.RegulatorToken = lookupRegulator }, func(t *testing.T, s *sw) {
		w := expSetUpWorld(s)
		cKey, _ := s.participant("wallet-c", nil)
		s.party(cKey, "MSISDN", "+8613700137000", "Wang Wu", "u-c1")
		s.participant("fx-one", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
		sKey, _ := s.participant("wallet-s", nil)
		s.ok(200, "POST", "/v1/participants/wallet-s/suspend", opToken, nil, nil)
		until := time.Now().Add(time.Hour)
		writes := []call{
			{"POST", "/v1/transfers/" + w.pay + "/refunds", wire.NewRefund{ID: "w-rf", Amount: "1.00"}},
			{"POST", "/v1/payment-requests", wire.NewPaymentRequest{ID: "w-pr", Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA},
				Amount: "1.00", Currency: "CNY", ExpiresAt: until}},
			{"POST", "/v1/payment-requests/" + w.request + "/accept", wire.AcceptPaymentRequest{TransferID: "w-t"}},
			{"POST", "/v1/payment-requests/" + w.request + "/decline", wire.DeclinePaymentRequest{Reason: "no"}},
			{"POST", "/v1/mandates", wire.NewMandate{ID: "w-m", Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA}, MaxAmount: "1.00",
				Currency: "CNY", Frequency: "adhoc", ValidFrom: time.Now(), ValidUntil: until}},
			{"POST", "/v1/mandates/" + w.mandate + "/pause", nil},
			{"POST", "/v1/mandates/" + w.mandate + "/revoke", nil},
			{"POST", "/v1/mandates/" + w.mandate + "/executions", wire.NewMandateExecution{ID: "w-e", Amount: "1.00"}},
			{"POST", "/v1/disputes", wire.NewDispute{TransferID: w.pay, Reason: "fraud"}},
			{"POST", "/v1/disputes/" + w.dispute + "/accept", nil},
			{"POST", "/v1/disputes/" + w.dispute + "/reject", wire.RejectDispute{Reason: "delivered"}},
			{"POST", "/v1/qr", wire.NewQR{Merchant: "M-1", Currency: "CNY"}},
			{"POST", "/v1/qr:decode", wire.QRDecode{Payload: "000201"}},
			{"PUT", "/v1/fx/rates/CNY/HKD", wire.NewFXRate{Rate: "1.09", ValidUntil: until}},
			{"DELETE", "/v1/fx/rates/CNY/HKD", nil},
		}
		reads := []call{
			{"GET", "/v1/transfers/" + w.pay, nil},
			{"GET", "/v1/payment-requests/" + w.request, nil},
			{"GET", "/v1/mandates/" + w.mandate, nil},
			{"GET", "/v1/mandates/" + w.mandate + "/executions", nil},
			{"GET", "/v1/disputes/" + w.dispute, nil},
			{"GET", "/v1/qr/" + w.code, nil},
			{"GET", "/v1/qr/" + w.code + ".png", nil},
		}
		lists := []string{"/v1/payment-requests", "/v1/mandates", "/v1/disputes", "/v1/fx/rates"}
		for _, c := range writes {
			s.problem(403, "forbidden", c.method, c.path, lookupRegulator, c.body)
			s.problem(403, "participant-suspended", c.method, c.path, sKey, c.body)
			s.problem(401, "unauthorized", c.method, c.path, "", c.body)
			s.problem(403, "forbidden", c.method, c.path, opToken, c.body)
		}
		for _, c := range append(reads, call{"GET", "/v1/payment-requests", nil}) {
			for _, tok := range []string{lookupRegulator, opToken} {
				if r := s.do(c.method, c.path, tok, nil); r.status != 200 {
					t.Errorf("%s %s by the operator or regulator: %d %s", c.method, c.path, r.status, r.body)
				}
			}
			s.problem(401, "unauthorized", c.method, c.path, "", nil)
		}
		for _, p := range lists {
			s.problem(403, "participant-suspended", "GET", p, sKey, nil)
		}
		// A stranger: the ids it did not see are not found, as if they
		// did not exist; acting on them changes nothing.
		for _, c := range append(reads[1:], writes[0], writes[2], writes[3], writes[5], writes[6], writes[7], writes[9], writes[10], writes[11],
			call{"POST", "/v1/disputes", wire.NewDispute{TransferID: w.pay, Reason: "fraud"}}) {
			s.problem(404, "not-found", c.method, c.path, cKey, c.body)
		}
		s.problem(404, "not-found", "GET", "/v1/transfers/"+w.pay, cKey, nil)
		for _, p := range []string{"/v1/payment-requests", "/v1/mandates", "/v1/disputes"} {
			for _, role := range []string{"?role=payer", "?role=payee"} {
				r := s.do("GET", p+role, cKey, nil)
				if r.status != 200 || bytes.Contains(r.body, []byte("sec-")) || bytes.Contains(r.body, []byte(w.dispute)) {
					t.Errorf("GET %s%s by a stranger: %d %s", p, role, r.status, r.body)
				}
			}
		}
		// The wrong side of each is refused and changes nothing.
		s.problem(404, "not-found", "POST", "/v1/transfers/"+w.pay+"/refunds", w.aKey, wire.NewRefund{ID: "w-rf2", Amount: "1.00"})
		s.problem(403, "forbidden", "POST", "/v1/payment-requests/"+w.request+"/decline", w.bKey, wire.DeclinePaymentRequest{})
		s.problem(403, "forbidden", "POST", "/v1/mandates/"+w.mandate+"/executions", w.aKey, wire.NewMandateExecution{ID: "w-e2", Amount: "1.00"})
		s.problem(403, "forbidden", "POST", "/v1/disputes/"+w.dispute+"/accept", w.aKey, nil)
		s.problem(404, "not-found", "GET", "/v1/qr/"+w.code, w.aKey, nil)
		var pr wire.PaymentRequest
		s.ok(200, "GET", "/v1/payment-requests/"+w.request, w.bKey, nil, &pr)
		var m wire.Mandate
		s.ok(200, "GET", "/v1/mandates/"+w.mandate, w.bKey, nil, &m)
		var d wire.Dispute
		s.ok(200, "GET", "/v1/disputes/"+w.dispute, w.aKey, nil, &d)
		if pr.State != "PENDING" || m.State != "ACTIVE" || d.State != "OPEN" {
			t.Errorf("after the refusals: request %s, mandate %s, dispute %s", pr.State, m.State, d.State)
		}
		if b := s.balance(w.aKey, "wallet-a"); b.Balance != "800.00" {
			t.Errorf("wallet-a after the refusals: %+v", b)
		}
		// Suspended after the fact, a party reads none of it.
		s.ok(200, "POST", "/v1/participants/wallet-b/suspend", opToken, nil, nil)
		for _, c := range reads[1:] {
			s.problem(403, "participant-suspended", c.method, c.path, w.bKey, nil)
		}
	})
}

// TestExperiencesReservedIDs: no door lets a client choose an id of the
// switch's own (return:, mandate…, dispute:): the native API, a batch, a
// QR payment, a refund, a request's acceptance, a mandate's execution and
// a pacs.008.
func TestExperiencesReservedIDs(t *testing.T) {
	s := start(t, "", nil)
	w := expSetUpWorld(s)
	for _, id := range []string{"return:sec-pay", "mandate:sec-mandate:1", "mandate", "mandates-1", "dispute:D1:1"} {
		s.problem(400, "invalid-request", "POST", "/v1/transfers", w.aKey, pay(id, "MSISDN", aliasB, "1.00"))
		var batch wire.TransferBatchResult
		s.ok(200, "POST", "/v1/transfers:batch", w.aKey, wire.TransferBatch{Transfers: []wire.NewTransfer{pay(id, "MSISDN", aliasB, "1.00")}}, &batch)
		if len(batch.Results) != 1 || batch.Results[0].Status != 400 {
			t.Errorf("%s in a batch: %+v", id, batch.Results)
		}
		s.problem(400, "invalid-request", "POST", "/v1/transfers", w.aKey, pay(id, "ACCOUNT", "wallet-b/x", "1.00"))
		s.problem(400, "invalid-request", "POST", "/v1/transfers/"+w.pay+"/refunds", w.bKey, wire.NewRefund{ID: id, Amount: "1.00"})
		s.problem(400, "invalid-request", "POST", "/v1/payment-requests/"+w.request+"/accept", w.aKey, wire.AcceptPaymentRequest{TransferID: id})
		s.problem(400, "invalid-request", "POST", "/v1/mandates/"+w.mandate+"/executions", w.bKey, wire.NewMandateExecution{ID: id, Amount: "1.00"})
		s.problem(404, "not-found", "GET", "/v1/transfers/"+url.PathEscape(id), w.aKey, nil)
	}
	bankKey, _ := s.participant("bank-x", func(n *wire.NewParticipant) { n.Kind = "bank" })
	s.deposit("bank-x", "100.00")
	ct := &msg.CreditTransfer{MsgID: "SEC-1", Created: time.Now()}
	for _, id := range []string{"return:sec-pay", "mandate:sec-mandate:1", "dispute:D1:1"} {
		ct.Transactions = append(ct.Transactions, msg.CreditTransaction{EndToEndID: "E-" + id, TxID: id, Amount: 100,
			Currency: money.MustCurrency("CNY"), DebtorAgent: "bank-x", CreditorAccount: &msg.Account{ID: aliasB, Scheme: "MSISDN"}})
	}
	for i, tx := range s.sendISO(bankKey, ct).Transactions {
		if tx.Status != "RJCT" {
			t.Errorf("pacs.008 transaction %s: %+v", ct.Transactions[i].TxID, tx)
		}
	}
	if b := s.balance(bankKey, "bank-x"); b.Balance != "100.00" {
		t.Errorf("bank-x after reserved ids: %+v", b)
	}
}

// TestRefundToInactivePayer: a refund, like any payment, may not credit
// a participant that is suspended or closed (closed: its keys are gone
// and its balances were zero when it closed; money credited to it is
// stranded). Neither may a dispute's payback.
func TestRefundToInactivePayer(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		bKey, _ := s.participant("wallet-b", nil)
		s.participant("wallet-c", nil)
		s.deposit("wallet-a", "300.00")
		s.party(bKey, "MSISDN", aliasB, "Zhang San", "u-b1")
		for _, id := range []string{"ia-1", "ia-2", "ia-3"} {
			s.ok(201, "POST", "/v1/transfers", aKey, pay(id, "MSISDN", aliasB, "100.00"), nil)
		}
		var d wire.Dispute
		s.ok(201, "POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "ia-3", Reason: "error"}, &d)
		// Paying the suspended participant's account is refused, as
		// the control.
		s.ok(200, "POST", "/v1/participants/wallet-c/suspend", opToken, nil, nil)
		s.problem(422, "participant-suspended", "POST", "/v1/transfers", bKey, pay("ia-acct", "ACCOUNT", "wallet-c/x", "1.00"))
		s.ok(200, "POST", "/v1/participants/wallet-a/suspend", opToken, nil, nil)
		s.problem(422, "participant-suspended", "POST", "/v1/transfers", bKey, pay("ia-acct2", "ACCOUNT", "wallet-a/x", "1.00"))
		refundS := s.do("POST", "/v1/transfers/ia-1/refunds", bKey, wire.NewRefund{ID: "ia-rf-1", Amount: "10.00"})
		s.ok(200, "POST", "/v1/participants/wallet-a/resume", opToken, nil, nil)
		// Closed: its balance is zero (it paid all it had, and what a
		// refund above credited it is withdrawn).
		if refundS.status == 201 {
			s.ok(201, "POST", "/v1/participants/wallet-a/funds", opToken, wire.Funds{Currency: "CNY", Amount: "10.00", Direction: "withdrawal"}, nil)
		}
		closeR := s.do("POST", "/v1/participants/wallet-a/close", opToken, nil)
		refundC := s.do("POST", "/v1/transfers/ia-2/refunds", bKey, wire.NewRefund{ID: "ia-rf-2", Amount: "10.00"})
		accept := s.do("POST", "/v1/disputes/"+d.ID+"/accept", bKey, nil)
		if refundS.status == 201 || closeR.status == 200 && (refundC.status == 201 || accept.status == 200) {
			t.Error("bug: transfer.Service.payBack (refund.go) credits the original payer without checking its status: " +
				fmt.Sprintf("a refund to a suspended payer: %d; closed (%d): a refund %d %s, a dispute accepted %d %s",
					refundS.status, closeR.status, refundC.status, refundC.body, accept.status, accept.body))
		}
	})
}

// TestExperienceBoundsUnderConcurrency: the bounds of pending requests
// per payer alias (20) and of mandates per payer alias (50) hold when
// the requests race.
func TestExperienceBoundsUnderConcurrency(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		bKey, _ := s.participant("wallet-b", nil)
		s.party(aKey, "MSISDN", aliasA, "Li Si", "u-a1")
		exp := time.Now().Add(time.Hour)
		newReq := func(i int) (string, string, any) {
			return "POST", "/v1/payment-requests", wire.NewPaymentRequest{ID: fmt.Sprintf("cb-%d", i),
				Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA}, Amount: "1.00", Currency: "CNY", ExpiresAt: exp}
		}
		cKey, _ := s.participant("wallet-c", nil)
		for i := range 16 {
			_, p, b := newReq(i)
			s.ok(201, "POST", p, []string{bKey, cKey}[i%2], b, nil)
		}
		// Racing: both requesters at once, up to the alias's 20.
		s.race(6, func(i int) (string, string, any) { return newReq(100 + i) }, bKey)
		s.race(6, func(i int) (string, string, any) { return newReq(200 + i) }, cKey)
		var page wire.PaymentRequests
		s.ok(200, "GET", "/v1/payment-requests?role=payer&state=PENDING&limit=1000", aKey, nil, &page)
		requests := len(page.PaymentRequests)
		perRequester := map[string]int{}
		for _, r := range page.PaymentRequests {
			perRequester[r.Payee]++
		}

		now := time.Now()
		newMandate := func(i int) (string, string, any) {
			return "POST", "/v1/mandates", wire.NewMandate{ID: fmt.Sprintf("cm-%d", i), Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA},
				MaxAmount: "1.00", Currency: "CNY", Frequency: "adhoc", ValidFrom: now, ValidUntil: now.AddDate(0, 1, 0)}
		}
		for i := range 8 {
			_, p, b := newMandate(i)
			s.ok(201, "POST", p, bKey, b, nil)
		}
		s.race(12, func(i int) (string, string, any) { return newMandate(100 + i) }, bKey)
		var ms wire.Mandates
		s.ok(200, "GET", "/v1/mandates?role=payer&limit=1000", aKey, nil, &ms)
		if requests > 20 || perRequester["wallet-b"] > 10 || perRequester["wallet-c"] > 10 || len(ms.Mandates) > 10 {
			t.Errorf("racing past the bounds: %d requests pending for one alias (at most 20, 10 a requester: %v), %d mandates of one biller (at most 10)",
				requests, perRequester, len(ms.Mandates))
		}
	})
}

// TestRequestBoundOneRequester: the pending requests' bound is per payer
// alias, whoever asks: one hostile requester filling it must not stop
// every other biller from asking that user for 30 days.
func TestRequestBoundOneRequester(t *testing.T) {
	s := start(t, "", nil)
	aKey, _ := s.participant("wallet-a", nil)
	bKey, _ := s.participant("wallet-b", nil)
	cKey, _ := s.participant("wallet-c", nil)
	s.party(aKey, "MSISDN", aliasA, "Li Si", "u-a1")
	exp := time.Now().Add(29 * 24 * time.Hour)
	nr := func(id string) wire.NewPaymentRequest {
		return wire.NewPaymentRequest{ID: id, Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA}, Amount: "0.01", Currency: "CNY", ExpiresAt: exp}
	}
	for i := range 10 {
		s.ok(201, "POST", "/v1/payment-requests", bKey, nr(fmt.Sprintf("spam-%d", i)), nil)
	}
	s.problem(409, "payment-request-limit", "POST", "/v1/payment-requests", bKey, nr("spam-10"))
	if r := s.do("POST", "/v1/payment-requests", cKey, nr("real-bill")); r.status != 201 {
		t.Error("bug: rtp.Service.Create bounds pending requests per payer alias across all requesters (PendingPerPayer): " +
			"one requester's 20 spam requests lock the user out of every other biller's requests: " + fmt.Sprint(r.status) + " " + string(r.body))
	}
}

// TestRequestsAndMandatesAreLookups: a request to pay and a mandate name
// a payer alias and answer with its participant, or unknown-party: each
// is a directory lookup, and must be budgeted as lookups and quotes are,
// or they are a way to scan the directory around the budget.
func TestRequestsAndMandatesAreLookups(t *testing.T) {
	s := start(t, "", func(c *app.Config) { c.LookupRate, c.LookupBurst, c.LookupMissCost = 1, 50, 20 })
	s.participant("wallet-a", nil)
	bKey, _ := s.participant("wallet-b", nil)
	for i := range 3 {
		if st, _ := s.lookup(bKey, unknown(i), ""); st != 404 {
			t.Fatalf("miss %d: %d", i, st)
		}
	}
	if st, _ := s.lookup(bKey, unknown(3), ""); st != 429 {
		t.Fatalf("a lookup in debt: %d, want 429", st)
	}
	now := time.Now()
	var statuses []int
	for i := range 5 {
		r := s.do("POST", "/v1/payment-requests", bKey, wire.NewPaymentRequest{ID: fmt.Sprintf("scan-%d", i),
			Payer: wire.PayeeRef{Type: "MSISDN", Value: unknown(10 + i)}, Amount: "1.00", Currency: "CNY", ExpiresAt: now.Add(time.Hour)})
		statuses = append(statuses, r.status)
		r = s.do("POST", "/v1/mandates", bKey, wire.NewMandate{ID: fmt.Sprintf("scan-%d", i), Payer: wire.PayeeRef{Type: "MSISDN",
			Value: unknown(20 + i)}, MaxAmount: "1.00", Currency: "CNY", Frequency: "adhoc", ValidFrom: now, ValidUntil: now.Add(time.Hour)})
		statuses = append(statuses, r.status)
	}
	for _, st := range statuses {
		if st != 429 {
			t.Error(fmt.Sprintf("bug: with the lookup budget in debt, requests to pay and mandates to unknown aliases answer %v, not 429: "+
				"rtp.Service.Create and mandate.Service.Propose look the payer alias up outside the lookup guard "+
				"(api createPaymentRequest/createMandate should go through beginLookup/guard.Done as createQuote does)", statuses))
		}
	}
}

// TestMandateFarDates: a mandate valid until 9999 (the largest year its
// terms take) keeps its dates: they are stored as they were given, a
// retry of the proposal is the same proposal, and it can be approved and
// executed now.
func TestMandateFarDates(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		bKey, _ := s.participant("wallet-b", nil)
		s.deposit("wallet-a", "100.00")
		s.party(aKey, "MSISDN", aliasA, "Li Si", "u-a1")
		now := time.Now().UTC().Truncate(time.Second)
		var bad []string
		for i, until := range []time.Time{
			time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
			time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
			// Aliases, in int64 nanoseconds, an hour from now.
			time.Unix(now.Unix()+18446744073+3600, 709551616).UTC(),
		} {
			nm := wire.NewMandate{ID: fmt.Sprintf("far-%d", i), Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA}, MaxAmount: "1.00",
				Currency: "CNY", Frequency: "adhoc", ValidFrom: now.Add(-time.Hour), ValidUntil: until}
			r := s.do("POST", "/v1/mandates", bKey, nm)
			if r.status == 400 {
				continue // refused: as good as kept
			}
			var m wire.Mandate
			if r.status != 201 || json.Unmarshal(r.body, &m) != nil {
				t.Fatalf("until %v: %d %s", until, r.status, r.body)
			}
			var got wire.Mandate
			s.ok(200, "GET", "/v1/mandates/"+nm.ID, aKey, nil, &got)
			retry := s.do("POST", "/v1/mandates", bKey, nm)
			s.do("POST", "/v1/mandates/"+nm.ID+"/approve", aKey, nil)
			exec := s.do("POST", "/v1/mandates/"+nm.ID+"/executions", bKey, wire.NewMandateExecution{ID: nm.ID + "-e", Amount: "0.10"})
			if !m.ValidUntil.Equal(until) || !got.ValidUntil.Equal(until) || retry.status != 200 || exec.status != 201 {
				bad = append(bad, fmt.Sprintf("until %v: answered %v, read back %v, retry %d, execution %d %s", until.Format(time.RFC3339),
					m.ValidUntil, got.ValidUntil, retry.status, exec.status, exec.body))
			}
		}
		if len(bad) > 0 {
			t.Error("bug: mandate.Service stores validFrom/validUntil as UnixNano, which wraps after 2262 while Terms.Validate takes " +
				"years up to 9999 (refuse past 2262, or store seconds): " + strings.Join(bad, "; "))
		}
	})
}

// TestStatementFarDates: a statement of a day far in the past or the
// future is refused or empty — never today's movements under another
// date.
func TestStatementFarDates(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.Timezone = "UTC" }, func(t *testing.T, s *sw) {
		aKey, _ := s.participant("wallet-a", nil)
		bKey, _ := s.participant("wallet-b", nil)
		s.deposit("wallet-a", "100.00")
		s.party(bKey, "MSISDN", aliasB, "Zhang San", "u-b1")
		s.ok(201, "POST", "/v1/transfers", aKey, pay("sf-1", "MSISDN", aliasB, "10.00"), nil)
		now := time.Now()
		alias := time.Unix(now.Unix()+18446744073, 709551616).UTC().Format(time.DateOnly)
		var bad []string
		for _, day := range []string{"0001-01-01", "1000-01-01", "9999-12-31", "2300-01-01", alias} {
			r := s.do("GET", "/v1/participants/wallet-a/statements?currency=CNY&date="+day, aKey, nil)
			if r.status == 400 {
				continue
			}
			var st wire.Statement
			if r.status != 200 || json.Unmarshal(r.body, &st) != nil {
				t.Fatalf("%s: %d %s", day, r.status, r.body)
			}
			if len(st.Entries) > 0 || st.Opening != st.Closing {
				bad = append(bad, fmt.Sprintf("%s: %d entries, %s to %s", day, len(st.Entries), st.Opening, st.Closing))
			}
		}
		if len(bad) > 0 {
			t.Error("bug: api.Server.statement takes any YYYY-MM-DD and transfer.statementOf uses its UnixNano, which wraps outside " +
				"1678-2262: " + strings.Join(bad, "; "))
		}
	})
}

// TestExperienceMoneyRaces: racing refunds and a dispute of one payment
// never pay back more than it; racing executions of a monthly mandate
// pay once; racing acceptances of a request with different transfer ids
// pay once.
func TestExperienceMoneyRaces(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		w := expSetUpWorld(s)
		// Refunds and a dispute of one payment of 100.00.
		var opened int
		done := make(chan struct{})
		go func() {
			opened, _ = s.try("POST", "/v1/disputes", w.aKey, wire.NewDispute{TransferID: w.pay, Reason: "fraud"})
			close(done)
		}()
		refunds := s.race(10, func(i int) (string, string, any) {
			return "POST", "/v1/transfers/" + w.pay + "/refunds", wire.NewRefund{ID: fmt.Sprintf("rr-%d", i), Amount: "15.00"}
		}, w.bKey)
		<-done
		n := 0
		for _, st := range refunds {
			if st == 201 {
				n++
			}
		}
		var ds wire.Disputes
		s.ok(200, "GET", "/v1/disputes?role=payer&transferId="+w.pay, w.aKey, nil, &ds)
		held := int64(0)
		for _, d := range ds.Disputes {
			held += amountOf(t, "held", d.Held)
		}
		if n > 6 || int64(n)*1500+held > 10000 {
			t.Errorf("refunds %v (%d committed) and a dispute (%d) holding %d of a payment of 100.00", refunds, n, opened, held)
		}
		for _, d := range ds.Disputes {
			s.ok(200, "POST", "/v1/disputes/"+d.ID+"/accept", w.bKey, nil, nil)
		}
		var tr wire.Transfer
		s.ok(200, "GET", "/v1/transfers/"+w.pay, w.aKey, nil, &tr)
		if amountOf(t, "refunded", tr.Refunded) > 10000 {
			t.Errorf("paid back %s of 100.00", tr.Refunded)
		}
		// A monthly mandate's executions, racing.
		execs := s.race(8, func(i int) (string, string, any) {
			return "POST", "/v1/mandates/" + w.mandate + "/executions", wire.NewMandateExecution{ID: fmt.Sprintf("me-%d", i), Amount: "1.00"}
		}, w.bKey)
		var es wire.MandateExecutions
		s.ok(200, "GET", "/v1/mandates/"+w.mandate+"/executions", w.bKey, nil, &es)
		committed := 0
		for _, e := range es.Executions {
			if e.State == "COMMITTED" || e.State == "PENDING" {
				committed++
			}
		}
		if committed != 1 {
			t.Errorf("racing executions of a monthly mandate: %v, %d paid", execs, committed)
		}
		// A request's acceptances with different transfer ids, racing.
		accepts := s.race(6, func(i int) (string, string, any) {
			return "POST", "/v1/payment-requests/" + w.request + "/accept", wire.AcceptPaymentRequest{TransferID: fmt.Sprintf("ra-%d", i)}
		}, w.aKey)
		paid := 0
		for i := range 6 {
			if st, _ := s.try("GET", fmt.Sprintf("/v1/transfers/ra-%d", i), w.aKey, nil); st == 200 {
				paid++
			}
		}
		if paid != 1 {
			t.Errorf("racing acceptances %v: %d payments", accepts, paid)
		}
	})
}

// TestDisputesPerPayment: a payer's participant may not dispute one
// payment again and again: each dispute freezes the payee's money for up
// to the response days, and one the payee misses is accepted for it.
func TestDisputesPerPayment(t *testing.T) {
	s := start(t, "", nil)
	aKey, _ := s.participant("wallet-a", nil)
	bKey, _ := s.participant("wallet-b", nil)
	s.deposit("wallet-a", "100.00")
	s.party(bKey, "MSISDN", aliasB, "Zhang San", "u-b1")
	s.ok(201, "POST", "/v1/transfers", aKey, pay("dd-1", "MSISDN", aliasB, "100.00"), nil)
	const tries = 10
	for i := range tries {
		var d wire.Dispute
		r := s.do("POST", "/v1/disputes", aKey, wire.NewDispute{TransferID: "dd-1", Reason: "error", Detail: fmt.Sprint("again ", i)})
		if r.status != 201 {
			if i != 3 || r.status != 409 || !strings.Contains(string(r.body), "dispute-limit") {
				t.Errorf("dispute %d: %d %s, want the fourth refused dispute-limit", i+1, r.status, r.body)
			}
			return // bounded
		}
		if err := json.Unmarshal(r.body, &d); err != nil {
			t.Fatal(err)
		}
		s.ok(200, "POST", "/v1/disputes/"+d.ID+"/reject", bKey, wire.RejectDispute{Reason: "delivered"}, nil)
	}
	t.Errorf("one payment disputed and rejected %d times is disputed again", tries)
}

// TestExperiencesHostileText: every text of the payment experiences that
// another participant reads (a request's message, a decline's reason, a
// mandate's description, an execution's reference, a dispute's detail, a
// rejection's reason, a refund's reason, a QR code's reference, a
// merchant's name) refuses control characters, bidirectional overrides,
// invalid UTF-8 and too much text, and a 10 MB body is refused before it
// is read whole.
func TestExperiencesHostileText(t *testing.T) {
	s := start(t, "", nil)
	w := expSetUpWorld(s)
	s.ok(201, "POST", "/v1/transfers", w.aKey, pay("ht-pay", "MSISDN", aliasB, "10.00"), nil)
	var d wire.Dispute
	s.ok(201, "POST", "/v1/disputes", w.aKey, wire.NewDispute{TransferID: "ht-pay", Reason: "error"}, &d)
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	vf, vu := time.Now().UTC().Format(time.RFC3339), time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)
	type field struct {
		name, method, path, key string
		body                    func(text string) string // text is already a JSON string literal
	}
	var refunds int
	fields := []field{
		{"request message", "POST", "/v1/payment-requests", w.bKey, func(x string) string {
			return `{"id":"ht-pr","payer":{"type":"MSISDN","value":"` + aliasA + `"},"amount":"1.00","currency":"CNY","expiresAt":"` + exp +
				`","message":` + x + `}`
		}},
		{"decline reason", "POST", "/v1/payment-requests/" + w.request + "/decline", w.aKey, func(x string) string { return `{"reason":` + x + `}` }},
		{"mandate description", "POST", "/v1/mandates", w.bKey, func(x string) string {
			return `{"id":"ht-m","payer":{"type":"MSISDN","value":"` + aliasA + `"},"maxAmount":"1.00","currency":"CNY","frequency":"adhoc",` +
				`"validFrom":"` + vf + `","validUntil":"` + vu + `","description":` + x + `}`
		}},
		{"execution reference", "POST", "/v1/mandates/" + w.mandate + "/executions", w.bKey, func(x string) string {
			return `{"id":"ht-e","amount":"1.00","reference":` + x + `}`
		}},
		{"dispute detail", "POST", "/v1/disputes", w.aKey, func(x string) string {
			return `{"transferId":"` + w.pay + `","reason":"fraud","detail":` + x + `}`
		}},
		{"rejection reason", "POST", "/v1/disputes/" + d.ID + "/reject", w.bKey, func(x string) string { return `{"reason":` + x + `}` }},
		{"QR reference", "POST", "/v1/qr", w.bKey, func(x string) string {
			return `{"merchant":"M-1","amount":"1.00","currency":"CNY","reference":` + x + `}`
		}},
		{"merchant name", "POST", "/v1/parties", w.bKey, func(x string) string {
			return `{"type":"MERCHANT","value":"M-ht","account":"shop-2","currency":"CNY","mcc":"5812","city":"Beijing","country":"CN","name":` + x + `}`
		}},
		{"refund reason", "POST", "/v1/transfers/" + w.pay + "/refunds", w.bKey, func(x string) string {
			// A new id each time: a retry of a refund answers the first.
			refunds++
			return `{"id":"ht-rf-` + fmt.Sprint(refunds) + `","amount":"1.00","reason":` + x + `}`
		}},
	}
	texts := []struct{ name, lit string }{
		{"a bell", `"ding\u0007"`},
		{"a NUL", `"a\u0000b"`},
		{"a newline", `"line\nbreak"`},
		{"a right-to-left override", `"pay \u202egnp.exe"`},
		{"a zero-width joiner run", `"` + strings.Repeat(`\u200d`, 10) + `"`},
		{"invalid UTF-8", "\"bad \xff\xfe\""},
		{"a lone surrogate", `"\ud800"`},
		{"1,000 characters", `"` + strings.Repeat("长", 1000) + `"`},
	}
	var holes []string
	for _, f := range fields {
		for _, x := range texts {
			st, body := s.try(f.method, f.path, f.key, f.body(x.lit))
			if st != 400 {
				holes = append(holes, fmt.Sprintf("%s with %s: %d %.120s", f.name, x.name, st, body))
			}
		}
	}
	// Refused above, nothing changed: the request is pending, the
	// dispute open, no refund made.
	var pr wire.PaymentRequest
	s.ok(200, "GET", "/v1/payment-requests/"+w.request, w.bKey, nil, &pr)
	var got wire.Dispute
	s.ok(200, "GET", "/v1/disputes/"+d.ID, w.aKey, nil, &got)
	if pr.State != "PENDING" || got.State != "OPEN" {
		t.Errorf("after hostile text: request %s, dispute %s", pr.State, got.State)
	}
	// 10 MB bodies.
	huge := `{"id":"x","reason":"` + strings.Repeat("a", 10<<20) + `"}`
	for _, c := range []call{
		{"POST", "/v1/transfers/" + w.pay + "/refunds", nil}, {"POST", "/v1/payment-requests", nil},
		{"POST", "/v1/payment-requests/" + w.request + "/decline", nil}, {"POST", "/v1/mandates", nil},
		{"POST", "/v1/mandates/" + w.mandate + "/executions", nil}, {"POST", "/v1/mandates/" + w.mandate + "/pause", nil},
		{"POST", "/v1/disputes", nil}, {"POST", "/v1/disputes/" + d.ID + "/reject", nil}, {"POST", "/v1/disputes/" + d.ID + "/accept", nil},
		{"POST", "/v1/qr", nil}, {"POST", "/v1/qr:decode", nil}, {"PUT", "/v1/fx/rates/CNY/HKD", nil},
	} {
		s.problem(413, "payload-too-large", c.method, c.path, w.bKey, huge)
	}
	var onlyRefund bool
	if len(holes) > 0 {
		onlyRefund = true
		for _, h := range holes {
			onlyRefund = onlyRefund && strings.HasPrefix(h, "refund reason")
		}
	}
	switch {
	case onlyRefund:
		t.Error("bug: transfer.Service.payBack (refund.go) checks only the refund reason's length (then ToValidUTF8), while the " +
			"other experiences' texts must be printable: " + strings.Join(holes, "; "))
	case len(holes) > 0:
		t.Errorf("hostile text taken:\n%s", strings.Join(holes, "\n"))
	}
}

// TestExperiencesHostileAmounts: amounts that overflow, are zero or
// negative, or are in a currency a side is not enabled for are refused
// with a problem, never a 500, and move nothing.
func TestExperiencesHostileAmounts(t *testing.T) {
	s := start(t, "", nil)
	w := expSetUpWorld(s)
	exp := time.Now().Add(time.Hour)
	now := time.Now()
	nr := func(id, amount, cur string) wire.NewPaymentRequest {
		return wire.NewPaymentRequest{ID: id, Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA}, Amount: amount, Currency: cur, ExpiresAt: exp}
	}
	nm := func(id, amount, cur string) wire.NewMandate {
		return wire.NewMandate{ID: id, Payer: wire.PayeeRef{Type: "MSISDN", Value: aliasA}, MaxAmount: amount, Currency: cur,
			Frequency: "adhoc", ValidFrom: now, ValidUntil: now.AddDate(0, 1, 0)}
	}
	for _, c := range []struct {
		status            int
		method, path, key string
		body              any
	}{
		{400, "POST", "/v1/transfers/" + w.pay + "/refunds", w.bKey, wire.NewRefund{ID: "ha-1", Amount: "92233720368547758.08"}},
		{400, "POST", "/v1/transfers/" + w.pay + "/refunds", w.bKey, wire.NewRefund{ID: "ha-2", Amount: "0.00"}},
		{400, "POST", "/v1/transfers/" + w.pay + "/refunds", w.bKey, wire.NewRefund{ID: "ha-3", Amount: "-1.00"}},
		{400, "POST", "/v1/transfers/" + w.pay + "/refunds", w.bKey, wire.NewRefund{ID: "ha-4", Amount: "1e2"}},
		{422, "POST", "/v1/transfers/" + w.pay + "/refunds", w.bKey, wire.NewRefund{ID: "ha-5", Amount: "92233720368547758.07"}},
		{400, "POST", "/v1/payment-requests", w.bKey, nr("ha-6", "92233720368547758.08", "CNY")},
		{400, "POST", "/v1/payment-requests", w.bKey, nr("ha-7", "0.00", "CNY")},
		{422, "POST", "/v1/payment-requests", w.bKey, nr("ha-8", "1.00", "USD")},
		{400, "POST", "/v1/payment-requests", w.bKey, nr("ha-9", "1.00", "XYZ")},
		{400, "POST", "/v1/mandates", w.bKey, nm("ha-10", "92233720368547758.08", "CNY")},
		{400, "POST", "/v1/mandates", w.bKey, nm("ha-11", "-5.00", "CNY")},
		{422, "POST", "/v1/mandates", w.bKey, nm("ha-12", "1.00", "USD")},
		{400, "POST", "/v1/mandates/" + w.mandate + "/executions", w.bKey, wire.NewMandateExecution{ID: "ha-13", Amount: "0.00"}},
		{400, "POST", "/v1/mandates/" + w.mandate + "/executions", w.bKey, wire.NewMandateExecution{ID: "ha-14", Amount: "-1.00"}},
		{422, "POST", "/v1/mandates/" + w.mandate + "/executions", w.bKey, wire.NewMandateExecution{ID: "ha-15", Amount: "92233720368547758.07"}},
		{400, "POST", "/v1/qr", w.bKey, wire.NewQR{Merchant: "M-1", Amount: "99999999999999.99", Currency: "CNY"}},
		{400, "POST", "/v1/qr", w.bKey, wire.NewQR{Merchant: "M-1", Amount: "-1.00", Currency: "CNY"}},
		{422, "POST", "/v1/qr", w.bKey, wire.NewQR{Merchant: "M-1", Currency: "USD"}},
	} {
		if st, body := s.try(c.method, c.path, c.key, c.body); st != c.status {
			t.Errorf("%s %s %+v: %d %s, want %d", c.method, c.path, c.body, st, body, c.status)
		}
	}
	// The largest amount a request may ask: accepting it is refused for
	// funds (the fee on top must not overflow), and the request stays.
	s.ok(201, "POST", "/v1/payment-requests", w.bKey, nr("ha-max", "92233720368547758.07", "CNY"), nil)
	if st, body := s.try("POST", "/v1/payment-requests/ha-max/accept", w.aKey, wire.AcceptPaymentRequest{TransferID: "ha-max-t"}); st != 422 {
		t.Errorf("accepting the largest request: %d %s", st, body)
	}
	if b := s.balance(w.aKey, "wallet-a"); b.Balance != "800.00" {
		t.Errorf("wallet-a after hostile amounts: %+v", b)
	}
}

// TestFXSheetsOfInactiveProvider: the rate sheets of a provider that is
// suspended (or closed) are not offered to the market: it cannot trade.
func TestFXSheetsOfInactiveProvider(t *testing.T) {
	s := start(t, "", nil)
	pKey, _ := s.participant("fx-one", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
	wKey, _ := s.participant("wallet-a", nil)
	s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", pKey, wire.NewFXRate{Rate: "1.09", ValidUntil: time.Now().Add(time.Hour)}, nil)
	s.ok(200, "POST", "/v1/participants/fx-one/suspend", opToken, nil, nil)
	s.problem(403, "participant-suspended", "DELETE", "/v1/fx/rates/CNY/HKD", pKey, nil)
	var rates wire.FXRates
	s.ok(200, "GET", "/v1/fx/rates", wKey, nil, &rates)
	if len(rates.Rates) != 0 {
		t.Error(fmt.Sprintf("bug: fx.Book.Live lists the sheets of a suspended provider (%+v), which it cannot withdraw "+
			"while suspended; filter by the provider's status (or drop its sheets on suspend/close)", rates.Rates))
	}
}
