package app_test

import (
	"testing"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// TestListClaims: an owner finds the claims on its aliases (say, after
// missing their callbacks), a claimant its own, pages follow one
// another, a third participant sees none, the operator and the regulator
// all.
func TestListClaims(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.RegulatorToken = regToken }, func(t *testing.T, s *sw) {
		a, _ := s.participant("wallet-a", nil)
		b, _ := s.participant("wallet-b", nil)
		c, _ := s.participant("wallet-c", nil)
		aliases := []string{"+8613800138101", "+8613800138102", "+8613800138103"}
		for _, v := range aliases {
			s.party(a, "MSISDN", v, "Zhang San", "a-"+v)
			s.ok(202, "POST", aliasPath("MSISDN", v)+"/claims", b, wire.NewClaim{Account: "b-acct", Name: "Zhang San"}, nil)
		}
		var cancelled wire.Claims
		s.ok(200, "GET", "/v1/claims?status=pending&limit=1", a, nil, &cancelled)
		s.ok(200, "POST", "/v1/claims/"+cancelled.Claims[0].ID+"/cancel", a, nil, nil)

		seen := map[string]bool{}
		next := ""
		for range 4 {
			var page wire.Claims
			path := "/v1/claims?limit=2"
			if next != "" {
				path += "&after=" + next
			}
			s.ok(200, "GET", path, a, nil, &page)
			for _, cl := range page.Claims {
				if seen[cl.ID] || cl.Owner != "wallet-a" {
					t.Fatalf("page %+v", page)
				}
				seen[cl.ID] = true
			}
			if next = page.Next; next == "" {
				break
			}
		}
		if len(seen) != 3 {
			t.Fatalf("the owner listed %d claims, want 3", len(seen))
		}
		var pending wire.Claims
		s.ok(200, "GET", "/v1/claims?status=pending", b, nil, &pending)
		if len(pending.Claims) != 2 {
			t.Fatalf("the claimant's pending claims: %+v", pending)
		}
		var none, all wire.Claims
		s.ok(200, "GET", "/v1/claims", c, nil, &none)
		s.ok(200, "GET", "/v1/claims", regToken, nil, &all)
		if len(none.Claims) != 0 || len(all.Claims) != 3 {
			t.Fatalf("a third participant listed %d, the regulator %d", len(none.Claims), len(all.Claims))
		}
		s.problem(400, "invalid-request", "GET", "/v1/claims?status=lost", a, nil)
		s.problem(400, "invalid-request", "GET", "/v1/claims?after=zz", a, nil)
	})
}
