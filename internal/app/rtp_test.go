package app_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// TestPaymentRequests: through real HTTP on both engines, a merchant's
// wallet asks a user of another wallet to pay; that wallet is told by
// callback, accepts with a transfer id, and the request is PAID by a
// payment of exactly its amount to the requester; a retry answers the
// same; a second request is declined, a third expires; each side lists
// its own; strangers, the wrong side and bad input are refused and
// change nothing.
func TestPaymentRequests(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		payerHook, payeeHook := newHook(t), newHook(t)
		aKey, aSecret := s.participant("wallet-a", func(n *wire.NewParticipant) { n.CallbackURL = payerHook.url })
		payerHook.secret = aSecret
		bKey, bSecret := s.participant("wallet-b", func(n *wire.NewParticipant) { n.CallbackURL = payeeHook.url })
		payeeHook.secret = bSecret
		cKey, _ := s.participant("wallet-c", nil)
		s.deposit("wallet-a", "1000.00")
		s.party(aKey, "MSISDN", "13900139000", "Li Si", "u-a1")
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		nr := wire.NewPaymentRequest{ID: "bill-1", Payer: wire.PayeeRef{Type: "MSISDN", Value: "139 0013 9000"}, Amount: "42.50",
			Currency: "CNY", Message: "电费 November", ExpiresAt: exp}
		var pr wire.PaymentRequest
		s.ok(201, "POST", "/v1/payment-requests", bKey, nr, &pr)
		if pr.State != "PENDING" || pr.Payee != "wallet-b" || pr.Payer.Participant != "wallet-a" || pr.Payer.Value != "+8613900139000" ||
			pr.Amount != "42.50" || !pr.ExpiresAt.Equal(exp) {
			t.Fatalf("created: %+v", pr)
		}
		s.ok(200, "POST", "/v1/payment-requests", bKey, nr, nil) // a retry
		other := nr
		other.Amount = "1.00"
		s.problem(409, "duplicate-conflict", "POST", "/v1/payment-requests", bKey, other)
		if got := payerHook.waitRequest(t, "payment-request.created", "bill-1"); got.Amount != "42.50" || got.Message != "电费 November" {
			t.Errorf("the payer's callback: %+v", got)
		}
		// Who may see and act.
		s.problem(404, "not-found", "GET", "/v1/payment-requests/bill-1", cKey, nil)
		s.problem(403, "forbidden", "POST", "/v1/payment-requests/bill-1/accept", bKey, wire.AcceptPaymentRequest{TransferID: "t-bill-1"})
		s.problem(404, "not-found", "POST", "/v1/payment-requests/bill-1/accept", cKey, wire.AcceptPaymentRequest{TransferID: "t-bill-1"})
		s.problem(400, "invalid-request", "POST", "/v1/payment-requests/bill-1/accept", aKey, wire.AcceptPaymentRequest{TransferID: "a b"})
		// Accepted and paid.
		s.ok(200, "POST", "/v1/payment-requests/bill-1/accept", aKey, wire.AcceptPaymentRequest{TransferID: "t-bill-1"}, &pr)
		if pr.State != "PAID" || pr.TransferID != "t-bill-1" {
			t.Fatalf("accepted: %+v", pr)
		}
		s.ok(200, "POST", "/v1/payment-requests/bill-1/accept", aKey, wire.AcceptPaymentRequest{TransferID: "t-bill-1"}, &pr)
		s.problem(409, "payment-request-not-pending", "POST", "/v1/payment-requests/bill-1/accept", aKey,
			wire.AcceptPaymentRequest{TransferID: "t-bill-2"})
		s.problem(409, "payment-request-not-pending", "POST", "/v1/payment-requests/bill-1/decline", aKey, wire.DeclinePaymentRequest{})
		var tr wire.Transfer
		s.ok(200, "GET", "/v1/transfers/t-bill-1", bKey, nil, &tr)
		if tr.State != "COMMITTED" || tr.Amount != "42.50" || tr.Payer != "wallet-a" || tr.Payee.Participant != "wallet-b" ||
			tr.Payee.Type != "ACCOUNT" || tr.Payee.Account != "bill-1" {
			t.Errorf("the payment: %+v", tr)
		}
		if got := payeeHook.waitRequest(t, "payment-request.paid", "bill-1"); got.TransferID != "t-bill-1" {
			t.Errorf("the payee's paid callback: %+v", got)
		}
		// Declined.
		nr2 := nr
		nr2.ID, nr2.Amount = "bill-2", "5.00"
		s.ok(201, "POST", "/v1/payment-requests", bKey, nr2, nil)
		s.ok(200, "POST", "/v1/payment-requests/bill-2/decline", aKey, wire.DeclinePaymentRequest{Reason: "not mine"}, &pr)
		if pr.State != "DECLINED" || pr.Reason != "not mine" {
			t.Errorf("declined: %+v", pr)
		}
		payeeHook.waitRequest(t, "payment-request.declined", "bill-2")
		s.problem(409, "payment-request-not-pending", "POST", "/v1/payment-requests/bill-2/accept", aKey,
			wire.AcceptPaymentRequest{TransferID: "t-bill-2"})
		// Too much to pay: refused, the request stays pending.
		nr3 := nr
		nr3.ID, nr3.Amount = "bill-3", "5000.00"
		s.ok(201, "POST", "/v1/payment-requests", bKey, nr3, nil)
		s.problem(422, "insufficient-funds", "POST", "/v1/payment-requests/bill-3/accept", aKey, wire.AcceptPaymentRequest{TransferID: "t-bill-3"})
		s.ok(200, "GET", "/v1/payment-requests/bill-3", aKey, nil, &pr)
		if pr.State != "PENDING" || pr.Reason == "" {
			t.Errorf("after a refused payment: %+v", pr)
		}
		// Bad input.
		for _, bad := range []wire.NewPaymentRequest{
			{ID: "x-1", Payer: nr.Payer, Amount: "1.00", Currency: "CNY", ExpiresAt: time.Now().Add(-time.Minute)},
			{ID: "x-2", Payer: nr.Payer, Amount: "1.00", Currency: "CNY", ExpiresAt: time.Now().Add(40 * 24 * time.Hour)},
			{ID: "x-3", Payer: nr.Payer, Amount: "-1.00", Currency: "CNY", ExpiresAt: exp},
			{ID: "x 4", Payer: nr.Payer, Amount: "1.00", Currency: "CNY", ExpiresAt: exp},
			{ID: "x-5", Payer: wire.PayeeRef{Type: "PHONE", Value: "1"}, Amount: "1.00", Currency: "CNY", ExpiresAt: exp},
		} {
			s.problem(400, "invalid-request", "POST", "/v1/payment-requests", bKey, bad)
		}
		s.problem(422, "unknown-party", "POST", "/v1/payment-requests", bKey, wire.NewPaymentRequest{ID: "x-6",
			Payer: wire.PayeeRef{Type: "MSISDN", Value: "+8613111111111"}, Amount: "1.00", Currency: "CNY", ExpiresAt: exp})
		s.problem(422, "same-participant", "POST", "/v1/payment-requests", aKey, wire.NewPaymentRequest{ID: "x-7",
			Payer: nr.Payer, Amount: "1.00", Currency: "CNY", ExpiresAt: exp})
		// Risk control screens a request as the payment it asks for: a
		// decline refuses it, a review rule holds nothing.
		s.ok(201, "PUT", "/v1/risk/rules/no-big-bills", opToken, wire.RiskRule{Expression: "amount > 900000", Action: "decline",
			Reason: "too-big", Mode: "enforce"}, nil)
		s.ok(201, "PUT", "/v1/risk/rules/look-bills", opToken, wire.RiskRule{Expression: "amount == 700", Action: "review",
			Reason: "look", Mode: "enforce"}, nil)
		big := nr
		big.ID, big.Amount = "x-8", "9000.01"
		s.problem(422, "risk-declined", "POST", "/v1/payment-requests", bKey, big)
		s.problem(404, "not-found", "GET", "/v1/payment-requests/x-8", bKey, nil)
		seven := nr
		seven.ID, seven.Amount = "x-9", "7.00"
		s.ok(201, "POST", "/v1/payment-requests", bKey, seven, &pr)
		if pr.State != "PENDING" {
			t.Errorf("a request a review rule matched: %+v", pr)
		}
		s.ok(200, "POST", "/v1/payment-requests/x-9/decline", aKey, wire.DeclinePaymentRequest{}, nil)
		s.ok(204, "DELETE", "/v1/risk/rules/no-big-bills", opToken, nil, nil)
		s.ok(204, "DELETE", "/v1/risk/rules/look-bills", opToken, nil, nil)
		// Listings: each side its own.
		var page wire.PaymentRequests
		s.ok(200, "GET", "/v1/payment-requests?role=payee", bKey, nil, &page)
		if len(page.PaymentRequests) != 4 {
			t.Errorf("the payee's requests: %d", len(page.PaymentRequests))
		}
		s.ok(200, "GET", "/v1/payment-requests?role=payer&state=PAID", aKey, nil, &page)
		if len(page.PaymentRequests) != 1 || page.PaymentRequests[0].ID != "bill-1" {
			t.Errorf("the payer's paid requests: %+v", page.PaymentRequests)
		}
		s.ok(200, "GET", "/v1/payment-requests?role=payee&limit=2", bKey, nil, &page)
		if len(page.PaymentRequests) != 2 || page.Next == "" {
			t.Fatalf("a first page: %+v", page)
		}
		s.ok(200, "GET", "/v1/payment-requests?role=payee&limit=2&since="+url.QueryEscape(page.Next), bKey, nil, &page)
		if len(page.PaymentRequests) != 2 || page.PaymentRequests[0].ID != "bill-3" {
			t.Errorf("the next page: %+v", page.PaymentRequests)
		}
		s.ok(200, "GET", "/v1/payment-requests?role=payer", cKey, nil, &page)
		if len(page.PaymentRequests) != 0 {
			t.Errorf("a stranger's listing: %+v", page.PaymentRequests)
		}
		s.problem(400, "invalid-request", "GET", "/v1/payment-requests?role=both", aKey, nil)
		s.ok(200, "GET", "/v1/payment-requests", opToken, nil, &page)
		if len(page.PaymentRequests) != 4 {
			t.Errorf("the operator's listing: %d", len(page.PaymentRequests))
		}
	})
}

// TestPaymentRequestExpiry: a request past its expiry is EXPIRED when
// next read, accepted or swept, and its payee is told.
func TestPaymentRequestExpiry(t *testing.T) {
	clk := &skewClock{}
	eachEngine(t, func(c *app.Config) { c.Now = clk.Now }, func(t *testing.T, s *sw) {
		clk.offset.Store(0)
		payeeHook := newHook(t)
		payeeHook.now = clk.Now
		aKey, _ := s.participant("wallet-a", nil)
		bKey, bSecret := s.participant("wallet-b", func(n *wire.NewParticipant) { n.CallbackURL = payeeHook.url })
		payeeHook.secret = bSecret
		s.party(aKey, "MSISDN", "13900139000", "Li Si", "u-a1")
		exp := clk.Now().Add(time.Minute)
		s.ok(201, "POST", "/v1/payment-requests", bKey, wire.NewPaymentRequest{ID: "late", Payer: wire.PayeeRef{Type: "MSISDN",
			Value: "13900139000"}, Amount: "1.00", Currency: "CNY", ExpiresAt: exp}, nil)
		clk.set(exp.Add(time.Second))
		s.problem(422, "payment-request-expired", "POST", "/v1/payment-requests/late/accept", aKey, wire.AcceptPaymentRequest{TransferID: "t-late"})
		var pr wire.PaymentRequest
		s.ok(200, "GET", "/v1/payment-requests/late", bKey, nil, &pr)
		if pr.State != "EXPIRED" {
			t.Errorf("after its expiry: %+v", pr)
		}
		payeeHook.waitRequest(t, "payment-request.expired", "late")
		s.problem(404, "not-found", "GET", "/v1/transfers/t-late", aKey, nil)
	})
}
