package api

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/qr"
	"github.com/hulian/hulian/internal/wire"
)

// Limits on what a party holds.
const (
	partyNameMax    = 140 // characters, as the directory stores them
	partyAccountMax = 128
	partyBatchMax   = 1000
)

func partyToWire(p directory.Party, owner bool) wire.Party {
	w := wire.Party{Type: string(p.Type), Value: p.Value, Participant: p.Participant,
		DisplayName: directory.MaskName(p.Name), Currency: p.Currency.String(), CreatedAt: p.CreatedAt}
	if owner {
		w.Name, w.Account = p.Name, p.Account
	}
	return w
}

// party validates a registration by participant owner.
func (s *Server) party(owner participant.Participant, req wire.NewParty) (directory.Party, error) {
	if err := linkOwnsNoAliases(owner); err != nil {
		return directory.Party{}, err
	}
	t, err := directory.ParseType(req.Type)
	if err != nil {
		return directory.Party{}, fmt.Errorf("%w: type: %v", directory.ErrInvalidValue, err)
	}
	value := req.Value
	if t == directory.RANDOM && value == "" {
		if value, err = directory.NewRandomKey(rand.Reader); err != nil {
			return directory.Party{}, err
		}
	}
	if value, err = directory.Normalize(t, value, s.cfg.Region); err != nil {
		return directory.Party{}, err
	}
	c, err := money.ParseCurrency(req.Currency)
	if err != nil {
		return directory.Party{}, fmt.Errorf("currency: %w", err)
	}
	switch {
	case !owner.Uses(c):
		return directory.Party{}, fmt.Errorf("%w: participant %s is not enabled for %s", directory.ErrInvalidValue, owner.ID, c)
	case req.Name == "" || utf8.RuneCountInString(req.Name) > partyNameMax:
		return directory.Party{}, fmt.Errorf("%w: name must be 1-%d characters", directory.ErrInvalidValue, partyNameMax)
	case req.Account == "" || len(req.Account) > partyAccountMax:
		return directory.Party{}, fmt.Errorf("%w: account must be 1-%d bytes", directory.ErrInvalidValue, partyAccountMax)
	case t != directory.MERCHANT && (req.MCC != "" || req.City != "" || req.Country != ""):
		return directory.Party{}, fmt.Errorf("%w: mcc, city and country are a MERCHANT's", directory.ErrInvalidValue)
	case t == directory.MERCHANT:
		if err := qr.CheckMerchant(merchantOf(owner.ID, value, req)); err != nil {
			return directory.Party{}, fmt.Errorf("%w: a merchant's name (at most 25 characters), mcc, city (at most 15) and country, "+
				"as its QR codes print them: %v", directory.ErrInvalidValue, err)
		}
	}
	return directory.Party{Type: t, Value: value, Participant: owner.ID, Name: req.Name, Account: req.Account, Currency: c, CreatedAt: s.Now().UTC()}, nil
}

// merchantOf is what a MERCHANT registration's QR codes print.
func merchantOf(owner, value string, req wire.NewParty) qr.Merchant {
	return qr.Merchant{ID: value, Participant: owner, Name: req.Name, MCC: req.MCC, City: req.City, Country: req.Country}
}

// saveMerchant records a registered MERCHANT's QR details.
func (s *Server) saveMerchant(r *http.Request, p directory.Party, req wire.NewParty) error {
	if p.Type != directory.MERCHANT {
		return nil
	}
	if s.QR == nil {
		return fmt.Errorf("%w: merchants need QR codes, which are not configured", directory.ErrInvalidValue)
	}
	return s.QR.SaveMerchant(r.Context(), merchantOf(p.Participant, p.Value, req))
}

func (s *Server) createParty(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	var req wire.NewParty
	if !decode(w, r, bodyMax, &req) {
		return
	}
	p, err := s.party(who.Participant, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, created, err := s.Directory.Register(r.Context(), p)
	if err == nil {
		err = s.saveMerchant(r, p, req)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	reply(w, status, partyToWire(p, true))
}

func (s *Server) createParties(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	var req wire.PartyBatch
	if !decode(w, r, batchBodyMax, &req) {
		return
	}
	if len(req.Parties) == 0 || len(req.Parties) > partyBatchMax {
		writeProblem(w, probInvalid, "parties must hold 1 to "+strconv.Itoa(partyBatchMax)+" entries")
		return
	}
	if !s.spend(who, len(req.Parties)-1) {
		refuseRate(w, "a batch of "+strconv.Itoa(len(req.Parties))+" parties costs as many requests of the rate limit")
		return
	}
	out := wire.PartyBatchResult{Results: make([]wire.PartyResult, len(req.Parties))}
	var valid []directory.Party
	var at []int
	for i, np := range req.Parties {
		p, err := s.party(who.Participant, np)
		if err != nil {
			prob := problemOf(kindOf(err), err.Error())
			out.Results[i] = wire.PartyResult{Status: prob.Status, Error: &prob}
			continue
		}
		valid = append(valid, p)
		at = append(at, i)
	}
	if len(valid) > 0 {
		created, errs, err := s.Directory.RegisterBatch(r.Context(), valid)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for k, i := range at {
			if errs[k] == nil {
				errs[k] = s.saveMerchant(r, valid[k], req.Parties[i])
			}
			if errs[k] != nil {
				prob := problemOf(kindOf(errs[k]), errs[k].Error())
				out.Results[i] = wire.PartyResult{Status: prob.Status, Error: &prob}
				continue
			}
			wp := partyToWire(valid[k], true)
			status := http.StatusOK
			if created[k] {
				status = http.StatusCreated
			}
			out.Results[i] = wire.PartyResult{Status: status, Party: &wp}
		}
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) listParties(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	limit, ok := limitParam(w, r, 100, 1000)
	if !ok {
		return
	}
	ps, err := s.Directory.List(r.Context(), who.Participant.ID, r.URL.Query().Get("after"), limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.Parties{Parties: []wire.Party{}}
	for i, p := range ps {
		if i == limit {
			break
		}
		out.Parties = append(out.Parties, partyToWire(p, true))
	}
	if len(ps) > limit {
		last := ps[limit-1]
		out.Next = last.Cursor()
	}
	reply(w, http.StatusOK, out)
}

// aliasOf reads and normalises the alias in the path.
func (s *Server) aliasOf(r *http.Request) (directory.Type, string, error) {
	t, err := directory.ParseType(r.PathValue("type"))
	if err != nil {
		return "", "", fmt.Errorf("%w: type: %v", directory.ErrInvalidValue, err)
	}
	v, err := directory.LookupKey(t, r.PathValue("value"), s.cfg.Region)
	return t, v, err
}

// lookupParty answers a lookup. A participant's lookups are budgeted
// by the lookup guard (beginLookup, endLookup); a malformed alias is
// refused before, and costs only the request.
func (s *Server) lookupParty(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	endUser, ok := endUserOf(w, r)
	if !ok {
		return
	}
	t, v, err := s.aliasOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	goOn, budgeted := s.beginLookup(w, &who, endUser)
	if !goOn {
		return
	}
	p, err := s.Directory.Route(r.Context(), t, v)
	if budgeted {
		s.endLookup(&who, endUser, err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	b, err := wire.AppendPartyLookup((*bp)[:0], &wire.PartyLookup{Type: string(p.Type), Value: p.Value,
		Participant: p.Participant, DisplayName: p.DisplayName, Currency: p.Currency.String(),
		FraudMarks: s.fraudMarks(string(p.Type), p.Value)})
	*bp = b
	s.replyAppended(w, r, http.StatusOK, b, err)
}

// deleteParty deletes an alias: a participant's own, or, for the
// operator, anyone's, with a reason that is recorded (the log names the
// removal, not its reason). The regulator only reads (auth refuses it).
func (s *Server) deleteParty(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	t, v, err := s.aliasOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch who.Role {
	case auth.RoleParticipant:
		err = s.Directory.Delete(r.Context(), who.Participant.ID, t, v)
	case auth.RoleOperator:
		var req wire.PartyRemoval
		if !decode(w, r, bodyMax, &req) {
			return
		}
		if n := utf8.RuneCountInString(req.Reason); n == 0 || n > directory.MaxReasonRunes || strings.TrimSpace(req.Reason) == "" {
			writeProblem(w, probInvalid, "reason must be 1-"+strconv.Itoa(directory.MaxReasonRunes)+" characters")
			return
		}
		var rm directory.Removal
		if rm, err = s.Directory.Remove(r.Context(), t, v, req.Reason, s.Now()); err == nil {
			// The alias itself is personal data: the log names the
			// removal's record instead, without the operator's reason,
			// free text that may name the alias or its holder.
			s.log.WarnContext(r.Context(), "alias removed by the operator", "removal", rm.Seq, "type", rm.Type, "owner", rm.Participant)
		}
	default:
		writeProblem(w, probForbidden, "only the owner or the operator removes an alias")
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// limitParam reads ?limit=, default def, at most max.
func limitParam(w http.ResponseWriter, r *http.Request, def, max int) (int, bool) {
	q := r.URL.Query().Get("limit")
	if q == "" {
		return def, true
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 || n > max {
		writeProblem(w, probInvalid, "limit must be 1 to "+strconv.Itoa(max))
		return 0, false
	}
	return n, true
}
