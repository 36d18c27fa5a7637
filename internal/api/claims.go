package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/portability"
	"github.com/hulian/hulian/internal/wire"
)

// claimToWire shows a claim: to both participants and the operator
// alike, so without the claimant's name and account for its end user.
func claimToWire(c *portability.Claim) wire.Claim {
	return wire.Claim{ID: c.ID, Type: string(c.Type), Value: c.Value, Claimant: c.Claimant, Owner: c.Owner,
		Status: string(c.Status), Reason: c.Reason, Moved: c.Moved, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, EndedAt: c.EndedAt}
}

// PartyClaim renders the party.claim callback that tells an alias's
// owner of a portability claim on it.
func (Callbacks) PartyClaim(c *portability.Claim) ([]byte, error) {
	w := claimToWire(c)
	return json.Marshal(wire.Callback{Event: wire.EventPartyClaim, Claim: &w})
}

// claimsReady answers 503 when the switch was built without claims.
func (s *Server) claimsReady(w http.ResponseWriter) bool {
	if s.Claims == nil {
		writeProblem(w, probUnavailable, "portability claims are not enabled")
		return false
	}
	return true
}

// createClaim files the caller's claim on the alias in the path.
func (s *Server) createClaim(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if !s.claimsReady(w) {
		return
	}
	if err := linkOwnsNoAliases(who.Participant); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, v, err := s.aliasOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req wire.NewClaim
	if !decode(w, r, bodyMax, &req) {
		return
	}
	pr := portability.Request{Name: req.Name, Account: req.Account}
	if req.Currency != "" {
		if pr.Currency, err = money.ParseCurrency(req.Currency); err != nil {
			writeProblem(w, probInvalid, "currency: "+err.Error())
			return
		}
	}
	// Filing tells whether an alias is registered, as a lookup does: it
	// draws on the same budget, so that claims are no way around it.
	goOn, budgeted := s.beginLookup(w, &who, "")
	if !goOn {
		return
	}
	c, err := s.Claims.File(r.Context(), who.Participant, t, v, pr)
	if budgeted {
		if errors.Is(err, directory.ErrNotFound) {
			s.endLookup(&who, "", err)
		} else {
			s.endLookup(&who, "", nil)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/claims/"+c.ID)
	reply(w, http.StatusAccepted, claimToWire(&c))
}

// getClaim shows a claim to its claimant, its owner, the operator and
// the regulator; to other participants it does not exist.
func (s *Server) getClaim(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if !s.claimsReady(w) {
		return
	}
	c, err := s.Claims.Get(r.Context(), r.PathValue("id"))
	if err == nil && !who.SeesAll() && who.Participant.ID != c.Claimant && who.Participant.ID != c.Owner {
		err = portability.ErrNotFound
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	reply(w, http.StatusOK, claimToWire(&c))
}

// claimStatuses are the statuses GET /v1/claims filters on.
var claimStatuses = map[string]bool{"pending": true, "confirmed": true, "cancelled": true, "expired": true, "failed": true}

// listClaims lists the caller's claims, as claimant or owner, newest
// first; the operator and the regulator list all of them.
func (s *Server) listClaims(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if !s.claimsReady(w) {
		return
	}
	limit, ok := limitParam(w, r, 100, portability.ListMax)
	if !ok {
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !claimStatuses[status] {
		writeProblem(w, probInvalid, "status must be pending, confirmed, cancelled, expired or failed")
		return
	}
	var after portability.Cursor
	if c := q.Get("after"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		ns, id, found := strings.Cut(string(b), ".")
		n, perr := strconv.ParseInt(ns, 10, 64)
		if err != nil || !found || perr != nil || n <= 0 || id == "" {
			writeProblem(w, probInvalid, "after: not a cursor of this list")
			return
		}
		after = portability.Cursor{CreatedAt: n, ID: id}
	}
	cs, err := s.Claims.List(r.Context(), who.ParticipantID(), portability.Status(status), after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.Claims{Claims: make([]wire.Claim, len(cs))}
	for i := range cs {
		out.Claims[i] = claimToWire(&cs[i])
	}
	if len(cs) == limit {
		last := cs[len(cs)-1]
		out.Next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.CreatedAt.UnixNano(), 10) + "." + last.ID))
	}
	reply(w, http.StatusOK, out)
}

// answerClaim is the owner's confirmation (confirm) or cancellation of a
// claim.
func (s *Server) answerClaim(confirm bool) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, who auth.Principal) {
		if !s.claimsReady(w) {
			return
		}
		answer := s.Claims.Cancel
		if confirm {
			answer = s.Claims.Confirm
		}
		c, err := answer(r.Context(), who.Participant.ID, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		reply(w, http.StatusOK, claimToWire(&c))
	}
}
