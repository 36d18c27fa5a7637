package app_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/wire"
)

const regToken = "test-regulator-token-0123456789abcdef"

func aliasPath(typ, value string) string {
	return "/v1/parties/" + typ + "/" + url.PathEscape(value)
}

// TestDirectoryAliasQuota checks --max-aliases-per-account: one alias
// more for an account is refused and changes nothing, one at a time and
// in a batch.
func TestDirectoryAliasQuota(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.MaxAliasesPerAccount = 2 }, func(t *testing.T, s *sw) {
		a, _ := s.participant("wallet-a", nil)
		b, _ := s.participant("wallet-b", nil)
		s.party(a, "WALLET", "a1", "Zhang San", "acct-1")
		s.party(a, "WALLET", "a2", "Zhang San", "acct-1")
		s.problem(409, "alias-quota-exceeded", "POST", "/v1/parties", a,
			wire.NewParty{Type: "WALLET", Value: "a3", Name: "Zhang San", Account: "acct-1", Currency: "CNY"})
		s.problem(404, "unknown-party", "GET", aliasPath("WALLET", "a3"), b, nil)
		// Re-registering counts once; another account has its own quota.
		s.ok(200, "POST", "/v1/parties", a, wire.NewParty{Type: "WALLET", Value: "a2", Name: "Zhang San", Account: "acct-1", Currency: "CNY"}, nil)
		s.party(a, "WALLET", "a3", "Li Si", "acct-2")
		// And another participant's account of the same reference.
		s.party(b, "WALLET", "b1", "Wang Wu", "acct-1")

		var res wire.PartyBatchResult
		s.ok(200, "POST", "/v1/parties:batch", a, wire.PartyBatch{Parties: []wire.NewParty{
			{Type: "WALLET", Value: "a4", Name: "Zhang San", Account: "acct-1", Currency: "CNY"},
			{Type: "WALLET", Value: "a5", Name: "Zhao Liu", Account: "acct-3", Currency: "CNY"},
			{Type: "WALLET", Value: "a6", Name: "Zhao Liu", Account: "acct-3", Currency: "CNY"},
			{Type: "WALLET", Value: "a7", Name: "Zhao Liu", Account: "acct-3", Currency: "CNY"},
		}}, &res)
		for i, want := range []int{409, 201, 201, 409} {
			r := res.Results[i]
			if r.Status != want || (want == 409 && (r.Error == nil || r.Error.Type != wire.ProblemBase+"alias-quota-exceeded")) {
				t.Errorf("batch item %d: %+v, want %d", i, r, want)
			}
		}
		s.problem(404, "unknown-party", "GET", aliasPath("WALLET", "a7"), b, nil)
	})
}

// TestDirectoryOperatorRemoval checks DELETE /v1/parties/{type}/{value}
// by the operator with a reason, recorded; the regulator is refused.
func TestDirectoryOperatorRemoval(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.RegulatorToken = regToken }, func(t *testing.T, s *sw) {
		a, _ := s.participant("wallet-a", nil)
		b, _ := s.participant("wallet-b", nil)
		s.party(a, "MSISDN", "+8613800138000", "Zhang San", "acct-1")
		s.party(a, "WALLET", "a1", "Zhang San", "acct-1")
		path := aliasPath("MSISDN", "+8613800138000")
		s.ok(200, "GET", path, b, nil, nil)

		s.problem(403, "forbidden", "DELETE", path, regToken, wire.PartyRemoval{Reason: "curious"})
		s.problem(403, "forbidden", "DELETE", path, b, nil)
		s.problem(400, "invalid-request", "DELETE", path, opToken, nil)
		s.problem(400, "invalid-request", "DELETE", path, opToken, wire.PartyRemoval{Reason: "   "})
		s.problem(400, "invalid-request", "DELETE", path, opToken, wire.PartyRemoval{Reason: strings.Repeat("诈", 201)})
		s.ok(200, "GET", path, b, nil, nil) // nothing refused changed anything

		reason := strings.Repeat("诈", 199) + "骗"
		s.ok(204, "DELETE", path, opToken, wire.PartyRemoval{Reason: reason}, nil)
		s.problem(404, "unknown-party", "GET", path, b, nil)
		s.problem(404, "unknown-party", "DELETE", path, opToken, wire.PartyRemoval{Reason: "again"})

		var owner, got string
		if err := s.app.DB.QueryRow(`SELECT participant, reason FROM party_removals WHERE type = 'MSISDN' AND value = '+8613800138000'`).
			Scan(&owner, &got); err != nil {
			t.Fatal(err)
		}
		if owner != "wallet-a" || got != reason {
			t.Errorf("removal recorded as %s %q", owner, got)
		}
		// A participant still deletes its own alias, without a body.
		s.ok(204, "DELETE", aliasPath("WALLET", "a1"), a, nil, nil)
	})
}

// TestDirectorySealedAtRest checks in the database itself that end
// users' names and account references, of parties and of claims, are not
// stored in plain text.
func TestDirectorySealedAtRest(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		a, _ := s.participant("wallet-a", nil)
		b, _ := s.participant("wallet-b", nil)
		p := s.party(a, "MSISDN", "+8613800138000", "张三丰", "6222021234567890")
		if p.Name != "张三丰" || p.Account != "6222021234567890" {
			t.Errorf("registered %+v", p)
		}
		s.ok(202, "POST", aliasPath("MSISDN", "+8613800138000")+"/claims", b,
			wire.NewClaim{Account: "9558801234567890", Name: "张三丰"}, nil)
		var l wire.Parties
		s.ok(200, "GET", "/v1/parties", a, nil, &l)
		if len(l.Parties) != 1 || l.Parties[0].Name != "张三丰" || l.Parties[0].Account != "6222021234567890" {
			t.Errorf("listed %+v", l)
		}
		for _, q := range []string{`SELECT name, account FROM parties`, `SELECT name, account FROM party_claims`} {
			rows, err := s.app.DB.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var name, account string
				if err := rows.Scan(&name, &account); err != nil {
					t.Fatal(err)
				}
				n++
				if !strings.HasPrefix(name, "enc1:") || !strings.HasPrefix(account, "enc1:") ||
					strings.Contains(name+account, "张三") || strings.Contains(name+account, "1234567890") {
					t.Errorf("%s: stored in plain text: %q %q", q, name, account)
				}
			}
			rows.Close()
			if n != 1 {
				t.Errorf("%s: %d rows", q, n)
			}
		}
	})
}

// TestDirectoryResealsOldRows checks that a data directory of the
// release before sealing serves its aliases at once and ends up sealed.
func TestDirectoryResealsOldRows(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			dir, store := t.TempDir(), e.store(t)
			mod := func(c *app.Config) { c.DataDir = dir }
			s1 := start(t, store, mod)
			ka, _ := s1.participant("wallet-a", nil)
			b, _ := s1.participant("wallet-b", nil)
			// Rows as the release before wrote them: plain text, no
			// account index.
			for i := range 30 {
				_, err := s1.app.DB.Exec(`INSERT INTO parties (type, value, participant, name, account, currency, created_at)
					VALUES ('WALLET', $1, 'wallet-a', $2, $3, 'CNY', 1)`, fmt.Sprintf("old-%02d", i), fmt.Sprint("Zhang San ", i), fmt.Sprint("acct-", i))
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := s1.app.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			s2 := start(t, store, mod)
			var lk wire.PartyLookup
			s2.ok(200, "GET", aliasPath("WALLET", "old-07"), b, nil, &lk)
			if lk.Participant != "wallet-a" || lk.DisplayName != directory.MaskName("Zhang San 7") {
				t.Errorf("lookup of an old row: %+v", lk)
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				var plain int
				if err := s2.app.DB.QueryRow(`SELECT count(*) FROM parties WHERE account_index = '' OR name NOT LIKE 'enc1:%' OR account NOT LIKE 'enc1:%'`).
					Scan(&plain); err != nil {
					t.Fatal(err)
				}
				if plain == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d rows still in plain text", plain)
				}
				time.Sleep(50 * time.Millisecond)
			}
			// The owner reads them back as they were.
			var l wire.Parties
			s2.ok(200, "GET", "/v1/parties?limit=100", ka, nil, &l)
			if len(l.Parties) != 30 {
				t.Fatalf("listed %d parties", len(l.Parties))
			}
			for i, p := range l.Parties {
				if p.Name != fmt.Sprint("Zhang San ", i) || p.Account != fmt.Sprint("acct-", i) {
					t.Errorf("listed after sealing: %+v", p)
				}
			}
		})
	}
}

// TestDirectoryClaims checks portability through real HTTP: a claim, the
// owner's party.claim callback, who may read it, and its three endings.
func TestDirectoryClaims(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := start(t, e.store(t), func(c *app.Config) { c.RegulatorToken = regToken })
			hk := newHook(t)
			a, secret := s.participant("wallet-a", func(np *wire.NewParticipant) { np.CallbackURL = hk.url })
			hk.mu.Lock()
			hk.secret = secret
			hk.mu.Unlock()
			b, _ := s.participant("wallet-b", nil)
			c, _ := s.participant("wallet-c", nil)
			claim := func(t *testing.T, alias string) wire.Claim {
				t.Helper()
				var cl wire.Claim
				s.ok(202, "POST", aliasPath("MSISDN", alias)+"/claims", b, wire.NewClaim{Account: "b-acct", Name: "Zhang Sanfeng"}, &cl)
				if cl.Status != "pending" || cl.Owner != "wallet-a" || cl.Claimant != "wallet-b" || cl.ID == "" ||
					!cl.ExpiresAt.After(cl.CreatedAt.Add(6*24*time.Hour)) {
					t.Fatalf("claim %+v", cl)
				}
				if got := hk.waitClaim(t, cl.ID); got.Owner != "wallet-a" || got.Value != alias || got.Status != "pending" {
					t.Errorf("party.claim callback %+v", got)
				}
				return cl
			}
			owner := func(t *testing.T, alias string) string {
				t.Helper()
				var lk wire.PartyLookup
				s.ok(200, "GET", aliasPath("MSISDN", alias), c, nil, &lk)
				return lk.Participant
			}

			t.Run("confirm", func(t *testing.T) {
				s.t = t
				const alias = "+8613800138001"
				s.party(a, "MSISDN", alias, "Zhang San", "a-acct")
				cl := claim(t, alias)
				path := "/v1/claims/" + cl.ID
				s.problem(409, "duplicate-conflict", "POST", aliasPath("MSISDN", alias)+"/claims", c, wire.NewClaim{Account: "x", Name: "x"})
				s.problem(409, "duplicate-conflict", "POST", aliasPath("MSISDN", alias)+"/claims", a, wire.NewClaim{Account: "x", Name: "x"})
				for _, tok := range []string{a, b, opToken, regToken} {
					var got wire.Claim
					s.ok(200, "GET", path, tok, nil, &got)
					if got.ID != cl.ID || got.Status != "pending" {
						t.Errorf("claim read: %+v", got)
					}
				}
				s.problem(404, "not-found", "GET", path, c, nil)
				s.problem(403, "forbidden", "POST", path+"/confirm", b, nil)
				s.problem(404, "not-found", "POST", path+"/confirm", c, nil)
				s.problem(403, "forbidden", "POST", path+"/confirm", opToken, nil)
				var got wire.Claim
				s.ok(200, "POST", path+"/confirm", a, nil, &got)
				if got.Status != "confirmed" || !got.Moved || got.EndedAt.IsZero() {
					t.Errorf("confirmed claim %+v", got)
				}
				if o := owner(t, alias); o != "wallet-b" {
					t.Errorf("alias owned by %s after confirmation", o)
				}
				var l wire.Parties
				s.ok(200, "GET", "/v1/parties", b, nil, &l)
				if len(l.Parties) != 1 || l.Parties[0].Value != alias || l.Parties[0].Name != "Zhang Sanfeng" || l.Parties[0].Account != "b-acct" {
					t.Errorf("the claimant's aliases: %+v", l)
				}
				s.problem(409, "duplicate-conflict", "POST", path+"/cancel", a, nil)
			})
			t.Run("cancel", func(t *testing.T) {
				s.t = t
				const alias = "+8613800138002"
				s.party(a, "MSISDN", alias, "Li Si", "a-acct-2")
				cl := claim(t, alias)
				var got wire.Claim
				s.ok(200, "POST", "/v1/claims/"+cl.ID+"/cancel", a, nil, &got)
				if got.Status != "cancelled" || got.Moved {
					t.Errorf("cancelled claim %+v", got)
				}
				if o := owner(t, alias); o != "wallet-a" {
					t.Errorf("alias owned by %s after cancellation", o)
				}
				s.problem(409, "duplicate-conflict", "POST", "/v1/claims/"+cl.ID+"/confirm", a, nil)
			})
			t.Run("refusals", func(t *testing.T) {
				s.t = t
				s.problem(404, "unknown-party", "POST", aliasPath("MSISDN", "+8613800138099")+"/claims", b, wire.NewClaim{Account: "x", Name: "x"})
				s.problem(400, "invalid-request", "POST", aliasPath("MSISDN", "+8613800138001")+"/claims", c, wire.NewClaim{Account: "x"})
				s.problem(403, "forbidden", "POST", aliasPath("MSISDN", "+8613800138001")+"/claims", opToken, wire.NewClaim{Account: "x", Name: "x"})
				s.problem(404, "not-found", "GET", "/v1/claims/no-such-claim", opToken, nil)
			})
		})
	}
}

// TestDirectoryClaimTimeout checks that an unanswered claim moves the
// alias at --claim-timeout.
func TestDirectoryClaimTimeout(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.ClaimTimeout = time.Second }, func(t *testing.T, s *sw) {
		hk := newHook(t)
		a, secret := s.participant("wallet-a", func(np *wire.NewParticipant) { np.CallbackURL = hk.url })
		hk.mu.Lock()
		hk.secret = secret
		hk.mu.Unlock()
		b, _ := s.participant("wallet-b", nil)
		const alias = "+8613800138003"
		s.party(a, "MSISDN", alias, "Wang Wu", "a-acct")
		var cl wire.Claim
		s.ok(202, "POST", aliasPath("MSISDN", alias)+"/claims", b, wire.NewClaim{Account: "b-acct", Name: "Wang Wu"}, &cl)
		hk.waitClaim(t, cl.ID)
		deadline := time.Now().Add(15 * time.Second)
		for {
			var got wire.Claim
			s.ok(200, "GET", "/v1/claims/"+cl.ID, b, nil, &got)
			if got.Status == "expired" && got.Moved {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("claim not expired and moved: %+v", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var lk wire.PartyLookup
		s.ok(200, "GET", aliasPath("MSISDN", alias), a, nil, &lk)
		if lk.Participant != "wallet-b" {
			t.Errorf("alias owned by %s after the timeout", lk.Participant)
		}
		s.problem(409, "duplicate-conflict", "POST", "/v1/claims/"+cl.ID+"/confirm", a, nil)
	})
}

// TestDirectoryClaimsBudgeted checks that filing claims draws on the
// lookup budget: claims on aliases that do not exist are no way to scan
// the directory.
func TestDirectoryClaimsBudgeted(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.LookupRate, c.LookupBurst, c.LookupMissCost = 0.001, 40, 20 }, func(t *testing.T, s *sw) {
		b, _ := s.participant("wallet-b", nil)
		for i := range 5 {
			r := s.do("POST", aliasPath("MSISDN", fmt.Sprintf("+86138001380%02d", i))+"/claims", b, wire.NewClaim{Account: "x", Name: "x"})
			switch r.status {
			case 404:
				continue
			case 429:
				if r.header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
				if i < 2 {
					t.Errorf("refused after %d misses", i)
				}
				return
			default:
				t.Fatalf("claim %d: %d %s", i, r.status, r.body)
			}
		}
		t.Errorf("5 claims on unknown aliases, none refused")
	})
}
