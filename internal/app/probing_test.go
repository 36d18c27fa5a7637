package app_test

import (
	"fmt"
	"testing"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// TestProbingThroughPayments: quotes and payments resolve aliases too, so
// payees that are not registered count as lookups that find nothing and
// empty the lookup budget; then the participant's payments and quotes
// wait like its lookups, and other participants are not affected.
func TestProbingThroughPayments(t *testing.T) {
	s := start(t, "", func(c *app.Config) { c.LookupRate, c.LookupBurst, c.LookupMissCost = 1, 50, 20 })
	ka, _ := s.participant("wallet-a", nil)
	kb, _ := s.participant("wallet-b", nil)
	s.deposit("wallet-a", "100.00")
	s.deposit("wallet-b", "100.00")
	s.party(kb, "MSISDN", "+8613800000001", "Li Lei", "acct-1")
	s.party(ka, "MSISDN", "+8613800000002", "Han Meimei", "acct-2")

	// A batch probing three unknown numbers: answered, and charged.
	var b wire.TransferBatch
	for i := range 3 {
		b.Transfers = append(b.Transfers, pay(fmt.Sprintf("p-%d", i), "MSISDN", unknown(i), "1.00"))
	}
	var res wire.TransferBatchResult
	s.ok(200, "POST", "/v1/transfers:batch", ka, b, &res)
	for _, r := range res.Results {
		if r.Error == nil || r.Error.Type != wire.ProblemBase+"unknown-party" {
			t.Fatalf("probe answered %+v", r)
		}
	}
	// The budget is in debt: payments and quotes wait, even to a payee
	// that exists, and answer when to come back.
	r := s.do("POST", "/v1/transfers", ka, pay("p-9", "MSISDN", "+8613800000001", "1.00"))
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("payment after probing: %d %s", r.status, r.body)
	}
	s.problem(429, "rate-limited", "POST", "/v1/quotes", ka, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: unknown(7)}, Amount: "1.00", Currency: "CNY"})
	s.problem(429, "rate-limited", "GET", "/v1/parties/MSISDN/+8613800000001", ka, nil)
	// Another participant pays and quotes as before.
	s.ok(201, "POST", "/v1/quotes", kb, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800000002"}, Amount: "1.00", Currency: "CNY"}, nil)
	s.ok(201, "POST", "/v1/transfers", kb, pay("q-1", "MSISDN", "+8613800000002", "1.00"), nil)

	var stats wire.LookupStats
	s.ok(200, "GET", "/v1/directory/lookup-stats", opToken, nil, &stats)
	got := map[string]wire.LookupStat{}
	for _, st := range stats.Participants {
		got[st.Participant] = st
	}
	if got["wallet-a"].NotFound != 3 || got["wallet-b"].Found != 1 {
		t.Fatalf("lookup stats %+v: want wallet-a's 3 probes as misses and wallet-b's quote as found", stats.Participants)
	}
}
