package fspiop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
)

// partyPath is the path of a party resource: "/parties/MSISDN/123" or
// with a sub-id, exactly as the request named it (a PUT /parties must
// echo the identifier as the GET path had it).
func partyPath(resource string, r *http.Request) string {
	p := "/" + resource + "/" + url.PathEscape(r.PathValue("type")) + "/" + url.PathEscape(r.PathValue("id"))
	if sub := r.PathValue("sub"); sub != "" {
		p += "/" + url.PathEscape(sub)
	}
	return p
}

// alias maps the party in the path to a directory alias.
func (s *Server) alias(r *http.Request) (directory.Type, string, error) {
	return s.aliasOf(r.PathValue("type"), r.PathValue("id"), r.PathValue("sub"))
}

// aliasOf maps an FSPIOP party to the directory alias that routes it. A
// sub-identifier names one of the party's accounts at its FSP, which the
// directory does not know: the party's alias routes it, and the owning FSP
// tells its accounts apart (a native participant has none: see
// getParties). A PERSONAL_ID's sub-type is the kind of document, part of
// the alias.
func (s *Server) aliasOf(typ, id, sub string) (directory.Type, string, error) {
	if typ != msg.PersonalID {
		sub = ""
	}
	typ, value, err := msg.AliasOf(typ, id, sub)
	if err != nil {
		return "", "", err
	}
	t, err := directory.ParseType(typ)
	if err != nil {
		return "", "", msg.NewError(msg.ValidationError, "unsupported party id type")
	}
	v, err := directory.LookupKey(t, value, s.cfg.Region)
	if err != nil {
		return "", "", msg.NewError(msg.ValidationError, "party identifier: "+err.Error())
	}
	return t, v, nil
}

// getParties looks a party up for an FSPIOP payer: the switch answers
// for a native owner, and relays the request to an FSPIOP one, whose PUT
// /parties comes back through putParties.
func (s *Server) getParties(in *inbound) error {
	t, v, err := s.alias(in.r)
	if err != nil {
		return err
	}
	if err := s.beginLookup(in); err != nil {
		return err
	}
	path := partyPath("parties", in.r)
	s.async(in, func(ctx context.Context) {
		party, err := s.Directory.LookupLocal(ctx, t, v)
		s.endLookup(in, err)
		if err != nil {
			s.sendError(ctx, in.from, path, "parties", in.version, s.cfg.HubID, lookupError(err))
			return
		}
		owner, ok := s.Participants.Get(party.Participant)
		switch {
		case !ok || owner.Status != participant.Active:
			s.sendError(ctx, in.from, path, "parties", in.version, s.cfg.HubID, msg.NewError(msg.PartyNotFound, ""))
		case owner.FSPIOP == nil && in.r.PathValue("sub") != "" && in.r.PathValue("type") != msg.PersonalID:
			// A native participant's parties have no sub-accounts.
			s.sendError(ctx, in.from, path, "parties", in.version, s.cfg.HubID, msg.NewError(msg.PartyNotFound, ""))
		case owner.FSPIOP != nil:
			h := relayHeader(in, owner.ID)
			s.out.send(ctx, &message{to: owner.FSPIOP, toID: owner.ID, method: http.MethodGet, path: path, resource: "parties",
				version: in.version, relay: h})
		default:
			body := msg.PartiesPut{Party: msg.Party{
				PartyIDInfo: msg.PartyIDInfo{PartyIDType: in.r.PathValue("type"), PartyIdentifier: in.r.PathValue("id"),
					PartySubIDOrType: in.r.PathValue("sub"), FSPID: owner.ID},
				Name: directory.MaskName(party.Name), PersonalInfo: initials(party.Name),
			}}
			s.sendJSON(ctx, in.from, http.MethodPut, path, "parties", in.version, owner.ID, body)
		}
	})
	return nil
}

// initials is a native party's name as FSPIOP's complexName can show it
// without giving it away: the first letter of its first and last parts,
// each with a full stop ("Zhang San Feng": "Z." and "F."). The masked
// name goes in party.name, but complexName may not hold a '*', and
// Mojaloop's SDK shows the payer only complexName. Nil when the letters
// are not what complexName allows.
func initials(name string) *msg.PersonalInfo {
	parts := strings.Fields(name)
	if len(parts) == 0 {
		return nil
	}
	letter := func(s string) string {
		r, _ := utf8.DecodeRuneInString(s)
		return string(r) + "."
	}
	n := &msg.ComplexName{FirstName: letter(parts[0])}
	if len(parts) > 1 {
		n.LastName = letter(parts[len(parts)-1])
	}
	if !msg.IsName(n.FirstName) || n.LastName != "" && !msg.IsName(n.LastName) {
		return nil
	}
	return &msg.PersonalInfo{ComplexName: n}
}

// beginLookup spends one of the caller's lookup budget, or refuses the
// look-up: 503 with 2003, as FSPIOP has no status of its own for a rate.
func (s *Server) beginLookup(in *inbound) error {
	if s.Lookups == nil {
		return nil
	}
	if ok, wait := s.Lookups.Begin(in.from.ID, ""); !ok {
		return &msg.Error{Code: msg.ServiceUnavailable, Status: http.StatusServiceUnavailable,
			Detail: fmt.Sprintf("lookup budget exceeded, retry in %d ms", max(wait.Milliseconds(), 1))}
	}
	return nil
}

// endLookup ends a look-up begun: a miss costs its full price.
func (s *Server) endLookup(in *inbound, err error) {
	switch {
	case s.Lookups == nil:
	case err == nil:
		s.Lookups.Done(in.from.ID, "", true)
	case errors.Is(err, directory.ErrNotFound):
		s.Lookups.Done(in.from.ID, "", false)
	}
}

// lookupError maps a directory look-up's failure.
func lookupError(err error) *msg.Error {
	if errors.Is(err, directory.ErrNotFound) {
		return msg.NewError(msg.PartyNotFound, "")
	}
	return errorOf(err)
}

// putParties takes a payee FSP's answer to a look-up: for a native
// payer waiting on it, or relayed to the FSPIOP payer it names.
func (s *Server) putParties(in *inbound) error {
	var body msg.PartiesPut
	if err := msg.Decode(in.body, &body); err != nil {
		return err
	}
	return s.relayCallback(in, "parties", partyPath("parties", in.r))
}

// putPartiesError takes a payee FSP's error answer to a look-up.
func (s *Server) putPartiesError(in *inbound) error {
	var body msg.ErrorBody
	if err := msg.Decode(in.body, &body); err != nil {
		return err
	}
	return s.relayCallback(in, "parties", partyPath("parties", in.r)+"/error")
}

// relayHeader returns the headers that go on with a request relayed to
// the FSP dest: the request's own, with FSPIOP-Destination naming dest
// when the sender left it out (a look-up before the payee FSP is known)
// and did not sign (a signature covers the destination's absence).
func relayHeader(in *inbound, dest string) http.Header {
	h := in.r.Header.Clone()
	if h.Get(msg.HeaderDestination) == "" && h.Get(msg.HeaderSignature) == "" {
		h.Set(msg.HeaderDestination, dest)
	}
	return h
}

// relayCallback hands a callback to the native payment waiting for it
// (key), or relays it to the FSPIOP participant it names.
func (s *Server) relayCallback(in *inbound, resource, path string) error {
	if s.deliverWait(waitKey(resource, in.from.ID, in.dest, strings.TrimSuffix(path, "/error")), in) {
		return nil
	}
	if in.dest == "" {
		return msg.NewError(msg.MissingElement, "FSPIOP-Destination is required")
	}
	to, ok := s.Participants.Get(in.dest)
	if !ok || to.FSPIOP == nil {
		return msg.NewError(msg.DestinationFSPError, "unknown FSPIOP-Destination")
	}
	s.out.send(in.r.Context(), &message{to: to.FSPIOP, toID: to.ID, method: in.r.Method, path: path, resource: resource,
		version: in.version, body: in.body, relay: in.r.Header})
	return nil
}

// postParticipant registers a party of the caller in the directory:
// the switch is the account-lookup oracle.
func (s *Server) postParticipant(in *inbound) error {
	if isLink(in.from) {
		return errLinkRegisters
	}
	var body msg.ParticipantsPost
	if err := msg.Decode(in.body, &body); err != nil {
		return err
	}
	if body.FSPID != in.from.ID {
		return msg.NewError(msg.ValidationError, "fspId must be the caller's own")
	}
	t, v, err := s.alias(in.r)
	if err != nil {
		return err
	}
	c, err := s.currencyOf(in.from, body.Currency)
	if err != nil {
		return err
	}
	path := partyPath("participants", in.r)
	s.async(in, func(ctx context.Context) {
		if err := s.register(ctx, in, t, v, c); err != nil {
			s.sendError(ctx, in.from, path, "participants", in.version, s.cfg.HubID, err)
			return
		}
		s.sendJSON(ctx, in.from, http.MethodPut, path, "participants", in.version, s.cfg.HubID, msg.ParticipantsPut{FSPID: in.from.ID})
	})
	return nil
}

// currencyOf is the currency a party is registered in: the one named,
// or the participant's first.
func (s *Server) currencyOf(p participant.Participant, code string) (money.Currency, error) {
	if code == "" {
		return p.Currencies[0], nil
	}
	c, err := money.ParseCurrency(code)
	if err != nil || !p.Uses(c) {
		return 0, msg.NewError(msg.ValidationError, "currency not enabled for the participant")
	}
	return c, nil
}

// register writes one party of in's caller. FSPIOP registrations carry
// no name: the party's identifier stands for it (native payers see it
// masked), and its own reference is the identifier with its sub-id.
func (s *Server) register(ctx context.Context, in *inbound, t directory.Type, v string, c money.Currency) *msg.Error {
	ref := in.r.PathValue("id")
	if sub := in.r.PathValue("sub"); sub != "" {
		ref += "/" + sub
	}
	_, _, err := s.Directory.Register(ctx, directory.Party{Type: t, Value: v, Participant: in.from.ID, Name: ref,
		Account: ref, Currency: c})
	if err != nil {
		return msg.NewError(msg.AddPartyInfoError, registerDetail(err))
	}
	return nil
}

// registerDetail says why a registration failed, without naming the
// participant that owns the alias.
func registerDetail(err error) string {
	switch {
	case errors.Is(err, directory.ErrOwnedByOther):
		return "registered to another participant"
	case errors.Is(err, directory.ErrQuotaExceeded):
		return "too many aliases for this account"
	}
	return "could not register"
}

// getParticipant answers which FSP holds a party.
func (s *Server) getParticipant(in *inbound) error {
	t, v, err := s.alias(in.r)
	if err != nil {
		return err
	}
	if err := s.beginLookup(in); err != nil {
		return err
	}
	path := partyPath("participants", in.r)
	s.async(in, func(ctx context.Context) {
		party, err := s.Directory.LookupLocal(ctx, t, v)
		s.endLookup(in, err)
		if err != nil {
			s.sendError(ctx, in.from, path, "participants", in.version, s.cfg.HubID, lookupError(err))
			return
		}
		s.sendJSON(ctx, in.from, http.MethodPut, path, "participants", in.version, s.cfg.HubID, msg.ParticipantsPut{FSPID: party.Participant})
	})
	return nil
}

// deleteParticipant removes a party of the caller's.
func (s *Server) deleteParticipant(in *inbound) error {
	if isLink(in.from) {
		return errLinkRegisters
	}
	t, v, err := s.alias(in.r)
	if err != nil {
		return err
	}
	path := partyPath("participants", in.r)
	s.async(in, func(ctx context.Context) {
		if err := s.Directory.Delete(ctx, in.from.ID, t, v); err != nil {
			e := msg.NewError(msg.DeletePartyInfoError, "")
			if errors.Is(err, directory.ErrNotFound) {
				e = msg.NewError(msg.PartyNotFound, "")
			}
			s.sendError(ctx, in.from, path, "participants", in.version, s.cfg.HubID, e)
			return
		}
		s.sendJSON(ctx, in.from, http.MethodPut, path, "participants", in.version, s.cfg.HubID, msg.ParticipantsPut{})
	})
	return nil
}

// postParticipants registers up to 10,000 parties of the caller, each
// on its own, and answers one result per party.
func (s *Server) postParticipants(in *inbound) error {
	if isLink(in.from) {
		return errLinkRegisters
	}
	var body msg.ParticipantsBulkPost
	if err := msg.Decode(in.body, &body); err != nil {
		return err
	}
	c, err := s.currencyOf(in.from, body.Currency)
	if err != nil {
		return err
	}
	path := "/participants/" + url.PathEscape(body.RequestID)
	s.async(in, func(ctx context.Context) {
		out := msg.ParticipantsBulkPut{PartyList: make([]msg.PartyResult, len(body.PartyList)), Currency: body.Currency}
		for i, p := range body.PartyList {
			out.PartyList[i].PartyID = p
			var e *msg.Error
			if p.FSPID != "" && p.FSPID != in.from.ID {
				e = msg.NewError(msg.ValidationError, "fspId must be the caller's own")
			} else if t, v, err := s.aliasOf(p.PartyIDType, p.PartyIdentifier, p.PartySubIDOrType); err != nil {
				e = errorOf(err)
			} else {
				ref := p.PartyIdentifier
				if p.PartySubIDOrType != "" {
					ref += "/" + p.PartySubIDOrType
				}
				if _, _, rerr := s.Directory.Register(ctx, directory.Party{Type: t, Value: v, Participant: in.from.ID,
					Name: ref, Account: ref, Currency: c}); rerr != nil {
					e = msg.NewError(msg.AddPartyInfoError, registerDetail(rerr))
				}
			}
			if e != nil {
				info := e.Info()
				out.PartyList[i].ErrorInformation = &info
			}
		}
		s.sendJSON(ctx, in.from, http.MethodPut, path, "participants", in.version, s.cfg.HubID, out)
	})
	return nil
}

// sendJSON sends the switch's own request or callback, from source (the
// hub, or the native participant the switch answers for), to p.
func (s *Server) sendJSON(ctx context.Context, p participant.Participant, method, path, resource, version, source string, body any) {
	if p.FSPIOP == nil {
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		s.Log.ErrorContext(ctx, "fspiop: encode a message", "resource", resource, "err", err)
		return
	}
	s.out.send(ctx, &message{to: p.FSPIOP, toID: p.ID, method: method, path: path, resource: resource, version: version,
		source: source, dest: p.ID, body: b})
}

// sendError sends p the error callback of path (".../error" appended).
func (s *Server) sendError(ctx context.Context, p participant.Participant, path, resource, version, source string, err error) {
	s.sendJSON(ctx, p, http.MethodPut, path+"/error", resource, version, source, errorOf(err).Body())
}
