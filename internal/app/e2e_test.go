package app_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

var cny = money.MustCurrency("CNY")

func amt(t *testing.T, s string) money.Amount {
	t.Helper()
	a, err := money.Parse(s, cny)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPaymentNotify is the whole notify-mode flow on each engine: onboard,
// prefund, fees, aliases, lookup, quote, transfer, retry, conflict,
// accounting, listing, notification, restart.
func TestPaymentNotify(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		hb := newHook(t)
		a, _ := s.participant("wallet-a", nil)
		b, bSecret := s.participant("wallet-b", func(np *wire.NewParticipant) { np.CallbackURL = hb.url })
		hb.mu.Lock()
		hb.secret = bSecret
		hb.mu.Unlock()
		s.deposit("wallet-a", "1000.00")
		s.ok(200, "PUT", "/v1/fees/CNY", opToken, wire.Fees{Fixed: "0.10", Rate: "0.10", Min: "0.10", Max: "5.00"}, nil)

		p := s.party(b, "MSISDN", "13800138000", "Zhang San", "u-123")
		if p.Value != "+8613800138000" || p.DisplayName != "Z**** S**" || p.Account != "u-123" {
			t.Fatalf("registered party %+v", p)
		}
		var look wire.PartyLookup
		s.ok(200, "GET", "/v1/parties/MSISDN/"+url.PathEscape("+8613800138000"), a, nil, &look)
		if look.Participant != "wallet-b" || look.DisplayName != "Z**** S**" || look.Currency != "CNY" {
			t.Fatalf("lookup %+v", look)
		}
		// National form normalises to the same alias.
		s.ok(200, "GET", "/v1/parties/MSISDN/13800138000", a, nil, &look)

		var q wire.Quote
		s.ok(201, "POST", "/v1/quotes", a, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000"}, Amount: "100.00", Currency: "CNY"}, &q)
		if q.Fee != "0.20" || q.Payee.Participant != "wallet-b" || !q.ExpiresAt.After(time.Now()) {
			t.Fatalf("quote %+v", q)
		}
		tr := pay("a-1", "MSISDN", "+8613800138000", "100.00")
		tr.QuoteID, tr.Note = q.ID, "lunch"
		var got wire.Transfer
		s.ok(201, "POST", "/v1/transfers", a, tr, &got)
		if got.State != "COMMITTED" || got.Fee != "0.20" || got.Payer != "wallet-a" || got.Payee.Participant != "wallet-b" || got.Payee.Account != "" {
			t.Fatalf("transfer %+v", got)
		}
		// The same request again: the same transfer, nothing charged twice.
		var again wire.Transfer
		s.ok(200, "POST", "/v1/transfers", a, tr, &again)
		if again != got {
			t.Fatalf("retry gave %+v, first %+v", again, got)
		}
		// The same id with another body is a conflict.
		other := tr
		other.Amount = "100.01"
		s.problem(409, "duplicate-conflict", "POST", "/v1/transfers", a, other)

		// Accounting: payer −(amount+fee), payee +amount, hub +fee, and
		// everything sums to zero with the settlement bank's side.
		if ab := s.balance(a, "wallet-a"); ab.Balance != "899.80" || ab.Available != "899.80" {
			t.Fatalf("payer %+v", ab)
		}
		if bb := s.balance(b, "wallet-b"); bb.Balance != "100.00" {
			t.Fatalf("payee %+v", bb)
		}
		h := s.hub()
		if h.FeeRevenue != "0.20" || h.SettlementBank != "-1000.00" {
			t.Fatalf("hub %+v", h)
		}

		// Both sides see it; the payee also sees its user's account.
		var seen wire.Transfer
		s.ok(200, "GET", "/v1/transfers/a-1", b, nil, &seen)
		if seen.Payee.Account != "u-123" || seen.Note != "lunch" || seen.QuoteID != q.ID {
			t.Fatalf("payee's view %+v", seen)
		}
		s.ok(200, "GET", "/v1/transfers/a-1", opToken, nil, &seen)

		// The payee is notified, signed, once per transfer.
		n := hb.waitCommitted(t, 1)
		if n[0].ID != "a-1" || n[0].Payee.Account != "u-123" || n[0].State != "COMMITTED" {
			t.Fatalf("notification %+v", n[0])
		}

		// Listing pages through oldest first.
		for i := 2; i <= 5; i++ {
			s.ok(201, "POST", "/v1/transfers", a, pay(fmt.Sprintf("a-%d", i), "MSISDN", "+8613800138000", "1.00"), nil)
		}
		var ids []string
		since := ""
		for page := 0; page < 10; page++ {
			var l wire.Transfers
			s.ok(200, "GET", "/v1/transfers?limit=2&since="+url.QueryEscape(since), b, nil, &l)
			for _, x := range l.Transfers {
				ids = append(ids, x.ID)
			}
			if l.Next == "" {
				break
			}
			since = l.Next
		}
		if !slices.Equal(ids, []string{"a-1", "a-2", "a-3", "a-4", "a-5"}) {
			t.Fatalf("listed %v", ids)
		}
		hb.waitCommitted(t, 5)
		var byOp wire.Transfers
		s.ok(200, "GET", "/v1/transfers?participant=wallet-a", opToken, nil, &byOp)
		if len(byOp.Transfers) != 5 {
			t.Fatalf("operator's listing: %d", len(byOp.Transfers))
		}
	})
}

// TestPaymentConfirm covers a confirm-mode payee: accept commits, reject
// and silence abort, and the payer's answer says so.
func TestPaymentConfirm(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.ConfirmTimeout = 300 * time.Millisecond }, func(t *testing.T, s *sw) {
		hb := newHook(t)
		a, _ := s.participant("wallet-a", nil)
		b, secret := s.participant("bank-b", func(np *wire.NewParticipant) {
			np.Kind, np.CallbackURL, np.Acceptance = "bank", hb.url, "confirm"
		})
		hb.mu.Lock()
		hb.secret = secret
		hb.decide = func(tr wire.Transfer) wire.Decision {
			if tr.Note == "reject me" {
				return wire.Decision{Decision: "reject", Reason: "account closed"}
			}
			return wire.Decision{Decision: "accept"}
		}
		hb.mu.Unlock()
		s.deposit("wallet-a", "500.00")
		s.party(b, "EMAIL", "Li.Si@Example.cn", "李四", "acct-9")

		var ok wire.Transfer
		s.ok(201, "POST", "/v1/transfers", a, pay("c-1", "EMAIL", "li.si@example.cn", "50.00"), &ok)
		if ok.State != "COMMITTED" {
			t.Fatalf("accepted transfer %+v", ok)
		}
		rej := pay("c-2", "EMAIL", "li.si@example.cn", "60.00")
		rej.Note = "reject me"
		var no wire.Transfer
		s.ok(201, "POST", "/v1/transfers", a, rej, &no)
		if no.State != "ABORTED" || !strings.Contains(no.Reason, "account closed") {
			t.Fatalf("rejected transfer %+v", no)
		}
		hb.mu.Lock()
		hb.delay = time.Second // longer than the confirm timeout
		hb.mu.Unlock()
		var late wire.Transfer
		s.ok(201, "POST", "/v1/transfers", a, pay("c-3", "EMAIL", "li.si@example.cn", "70.00"), &late)
		if late.State != "ABORTED" || late.Reason != "timeout" {
			t.Fatalf("timed-out transfer %+v", late)
		}
		hb.mu.Lock()
		hb.delay = 0
		hb.mu.Unlock()
		// Only the accepted payment moved money; reservations were released.
		if ab := s.balance(a, "wallet-a"); ab.Balance != "450.00" || ab.Reserved != "0.00" || ab.Available != "450.00" {
			t.Fatalf("payer %+v", ab)
		}
		if bb := s.balance(b, "bank-b"); bb.Balance != "50.00" {
			t.Fatalf("payee %+v", bb)
		}
		var st wire.Transfer
		s.ok(200, "GET", "/v1/transfers/c-2", a, nil, &st)
		if st.State != "ABORTED" || !strings.Contains(st.Reason, "account closed") {
			t.Fatalf("stored rejected transfer %+v", st)
		}
		// A retry of an aborted transfer returns it, aborted; nothing moves.
		s.ok(200, "POST", "/v1/transfers", a, rej, &st)
		if st.State != "ABORTED" {
			t.Fatalf("retried rejected transfer %+v", st)
		}
		// The committed one is notified too.
		if n := hb.waitCommitted(t, 1); n[0].ID != "c-1" {
			t.Fatalf("notified %+v", n)
		}
	})
}

// TestBatchTransfers sends a batch with good and bad entries; each gets
// its own result, and only the good ones move money.
func TestBatchTransfers(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		a, _ := s.participant("wallet-a", nil)
		b, _ := s.participant("wallet-b", nil)
		s.deposit("wallet-a", "100.00")
		s.party(b, "WALLET", "wb:alice", "Alice", "alice")
		batch := wire.TransferBatch{Transfers: []wire.NewTransfer{
			pay("b-1", "WALLET", "wb:alice", "10.00"),
			pay("b-2", "WALLET", "wb:nobody", "10.00"),
			pay("b-3", "WALLET", "wb:alice", "1000.00"),
			pay("b-4", "WALLET", "wb:alice", "1.234"),
			pay("b-1", "WALLET", "wb:alice", "10.00"),
			pay("b-5", "WALLET", "wb:alice", "20.00"),
		}}
		var res wire.TransferBatchResult
		s.ok(200, "POST", "/v1/transfers:batch", a, batch, &res)
		want := []struct {
			status int
			prob   string
		}{{201, ""}, {422, "unknown-party"}, {422, "insufficient-funds"}, {400, "invalid-request"}, {400, "invalid-request"}, {201, ""}}
		for i, w := range want {
			r := res.Results[i]
			if r.Status != w.status || (w.prob != "" && (r.Error == nil || r.Error.Type != wire.ProblemBase+w.prob)) {
				t.Errorf("result %d: %+v %+v, want %d %s", i, r, r.Error, w.status, w.prob)
			}
		}
		if ab := s.balance(a, "wallet-a"); ab.Balance != "70.00" {
			t.Fatalf("payer %+v", ab)
		}
		// The whole batch again: the committed ones come back unchanged.
		s.ok(200, "POST", "/v1/transfers:batch", a, batch, &res)
		if res.Results[0].Status != 200 || res.Results[5].Status != 200 {
			t.Fatalf("retried batch %+v", res.Results)
		}
		if ab := s.balance(a, "wallet-a"); ab.Balance != "70.00" {
			t.Fatalf("payer after retry %+v", ab)
		}
		s.problem(400, "invalid-request", "POST", "/v1/transfers:batch", a, wire.TransferBatch{})
	})
}

// TestParties covers the directory through the API: registration of
// every alias type, ownership, deletion, listing and batches.
func TestParties(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		a, _ := s.participant("wallet-a", nil)
		b, _ := s.participant("wallet-b", nil)
		for _, c := range []struct{ typ, value, want string }{
			{"MSISDN", "+8613912345678", "+8613912345678"},
			{"EMAIL", "Wang.Wu@Example.COM", "wang.wu@example.com"},
			{"NATIONAL_ID", "11010519491231002x", "11010519491231002X"},
			{"WALLET", "wa:Wang", "wa:Wang"},
		} {
			if p := s.party(a, c.typ, c.value, "王五", "w5"); p.Value != c.want || p.DisplayName != "*五" {
				t.Errorf("%s %s registered as %+v", c.typ, c.value, p)
			}
		}
		// RANDOM may omit the value and gets a generated key.
		var rnd wire.Party
		s.ok(201, "POST", "/v1/parties", a, wire.NewParty{Type: "RANDOM", Name: "Anon", Account: "r1", Currency: "CNY"}, &rnd)
		if len(rnd.Value) != 36 {
			t.Fatalf("random key %q", rnd.Value)
		}
		// Re-registering by the owner updates; by another participant conflicts.
		s.ok(200, "POST", "/v1/parties", a, wire.NewParty{Type: "WALLET", Value: "wa:Wang", Name: "Wang Wu", Account: "w5b", Currency: "CNY"}, nil)
		s.problem(409, "duplicate-conflict", "POST", "/v1/parties", b, wire.NewParty{Type: "WALLET", Value: "wa:Wang", Name: "X", Account: "x", Currency: "CNY"})
		// Others see only the masked name; the owner lists its own.
		var look wire.PartyLookup
		s.ok(200, "GET", "/v1/parties/WALLET/wa:Wang", b, nil, &look)
		if look.DisplayName != "W*** W*" {
			t.Fatalf("lookup %+v", look)
		}
		var l wire.Parties
		s.ok(200, "GET", "/v1/parties?limit=3", a, nil, &l)
		if len(l.Parties) != 3 || l.Next == "" || l.Parties[0].Account == "" {
			t.Fatalf("list %+v", l)
		}
		var rest wire.Parties
		s.ok(200, "GET", "/v1/parties?limit=3&after="+url.QueryEscape(l.Next), a, nil, &rest)
		if len(rest.Parties) != 2 || rest.Next != "" {
			t.Fatalf("second page %+v", rest)
		}
		var none wire.Parties
		s.ok(200, "GET", "/v1/parties", b, nil, &none)
		if len(none.Parties) != 0 {
			t.Fatalf("b lists a's parties: %+v", none)
		}
		// Only the owner deletes.
		s.problem(403, "forbidden", "DELETE", "/v1/parties/WALLET/wa:Wang", b, nil)
		s.ok(204, "DELETE", "/v1/parties/WALLET/wa:Wang", a, nil, nil)
		s.problem(404, "unknown-party", "GET", "/v1/parties/WALLET/wa:Wang", b, nil)
		s.problem(404, "unknown-party", "DELETE", "/v1/parties/WALLET/wa:Wang", a, nil)
		// Aliases with "/" and "." in them are escaped in the path, and
		// routed as any other.
		for _, c := range []struct{ typ, value string }{{"EMAIL", "a//b@example.com"}, {"EMAIL", "a/./b@example.com"}, {"WALLET", ".."}} {
			s.party(a, c.typ, c.value, "Zhao Liu", "z6")
			// PathEscape leaves dots alone; a client escapes them too,
			// or ".." is a step up, not an alias.
			p := "/v1/parties/" + c.typ + "/" + strings.ReplaceAll(url.PathEscape(c.value), ".", "%2E")
			s.ok(200, "GET", p, b, nil, &look)
			if look.Value != c.value || look.DisplayName != "Z*** L**" {
				t.Fatalf("lookup of %s %q: %+v", c.typ, c.value, look)
			}
			s.ok(204, "DELETE", p, a, nil, nil)
		}
		s.problem(404, "not-found", "GET", "/v1/parties/WALLET/a/../b", b, nil)

		// A batch: each party its own result.
		var br wire.PartyBatchResult
		s.ok(200, "POST", "/v1/parties:batch", b, wire.PartyBatch{Parties: []wire.NewParty{
			{Type: "MSISDN", Value: "+8613700000001", Name: "One", Account: "1", Currency: "CNY"},
			{Type: "MSISDN", Value: "12", Name: "Bad", Account: "2", Currency: "CNY"},
			{Type: "EMAIL", Value: "wang.wu@example.com", Name: "Taken", Account: "3", Currency: "CNY"},
			{Type: "MSISDN", Value: "+8613700000002", Name: "Two", Account: "4", Currency: "USD"},
		}}, &br)
		for i, w := range []int{201, 400, 409, 400} {
			if br.Results[i].Status != w {
				t.Errorf("batch result %d: %+v, want %d", i, br.Results[i], w)
			}
		}
		// Registering again by the owner is an update: 200, not 201.
		s.ok(200, "POST", "/v1/parties:batch", b, wire.PartyBatch{Parties: []wire.NewParty{
			{Type: "MSISDN", Value: "+8613700000001", Name: "One again", Account: "1", Currency: "CNY"},
		}}, &br)
		if br.Results[0].Status != 200 || br.Results[0].Party.Name != "One again" {
			t.Errorf("re-registration in a batch: %+v", br.Results[0])
		}
	})
}
