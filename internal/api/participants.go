package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/dispute"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

func toWire(p participant.Participant) wire.Participant {
	codes := make([]string, len(p.Currencies))
	for i, c := range p.Currencies {
		codes[i] = c.String()
	}
	out := wire.Participant{
		ID: p.ID, Name: p.Name, Kind: string(p.Kind), Currencies: codes, CallbackURL: p.CallbackURL,
		Acceptance: string(p.Acceptance), Status: string(p.Status), ClientCertSHA256: p.ClientCertSHA256, CreatedAt: p.CreatedAt,
		MessageFormat: p.MessageFormat, FXLiveQuotes: p.FXLiveQuotes,
	}
	if p.FSPIOP != nil {
		out.FSPIOP = &wire.FSPIOP{Endpoint: p.FSPIOP.Endpoint, JWSPublicKey: p.FSPIOP.JWSPublicKey, LinkID: p.FSPIOP.LinkID}
	}
	return out
}

// fspiopOf returns the registry's form of an FSPIOP configuration.
func fspiopOf(f *wire.FSPIOP) *participant.FSPIOP {
	if f == nil {
		return nil
	}
	return &participant.FSPIOP{Endpoint: f.Endpoint, JWSPublicKey: f.JWSPublicKey, LinkID: f.LinkID, LinkKey: f.LinkAPIKey}
}

func parseCurrencies(codes []string) ([]money.Currency, error) {
	out := make([]money.Currency, 0, len(codes))
	for _, code := range codes {
		c, err := money.ParseCurrency(code)
		if err != nil {
			return nil, fmt.Errorf("currencies: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Server) createParticipant(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	var req wire.NewParticipant
	if !decode(w, r, bodyMax, &req) {
		return
	}
	curs, err := parseCurrencies(req.Currencies)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, creds, err := s.Participants.Create(r.Context(), participant.New{
		ID: req.ID, Name: req.Name, Kind: participant.Kind(req.Kind), Currencies: curs,
		CallbackURL: req.CallbackURL, Acceptance: participant.Acceptance(req.Acceptance), ClientCertSHA256: req.ClientCertSHA256,
		FSPIOP: fspiopOf(req.FSPIOP), MessageFormat: req.MessageFormat, FXLiveQuotes: req.FXLiveQuotes,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toWire(p)
	out.APIKey, out.CallbackSecret = creds.APIKey, creds.CallbackSecret
	w.Header().Set("Location", "/v1/participants/"+p.ID)
	reply(w, http.StatusCreated, out)
}

func (s *Server) listParticipants(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	ps := s.Participants.List()
	out := wire.Participants{Participants: make([]wire.Participant, len(ps))}
	for i, p := range ps {
		out.Participants[i] = toWire(p)
	}
	reply(w, http.StatusOK, out)
}

// subject returns the participant named in the path, if the caller may
// see it: the operator, or that participant. Others get not-found, as if
// it did not exist.
func (s *Server) subject(w http.ResponseWriter, r *http.Request, who auth.Principal) (participant.Participant, bool) {
	id := r.PathValue("id")
	p, ok := s.Participants.Get(id)
	if !ok || !who.Covers(id) {
		writeProblem(w, probNotFound, "no participant "+strconv.Quote(id))
		return participant.Participant{}, false
	}
	return p, true
}

func (s *Server) getParticipant(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if p, ok := s.subject(w, r, who); ok {
		reply(w, http.StatusOK, toWire(p))
	}
}

func (s *Server) patchParticipant(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	p, ok := s.subject(w, r, who)
	if !ok || !currentKey(w, who) {
		return
	}
	var req wire.ParticipantPatch
	if !decode(w, r, bodyMax, &req) {
		return
	}
	if req.FSPIOP != nil && who.Role != auth.RoleOperator {
		// Where the switch sends a participant's payments and which key
		// proves its requests are the scheme's to register: a stolen API
		// key must not be enough to replace the signing key.
		writeProblem(w, probForbidden, "only the operator changes a participant's fspiop endpoint and key")
		return
	}
	u := participant.Update{CallbackURL: req.CallbackURL, ClientCertSHA256: req.ClientCertSHA256, FSPIOP: fspiopOf(req.FSPIOP),
		MessageFormat: req.MessageFormat, FXLiveQuotes: req.FXLiveQuotes}
	if req.Acceptance != nil {
		a := participant.Acceptance(*req.Acceptance)
		u.Acceptance = &a
	}
	p, err := s.Participants.Apply(r.Context(), p.ID, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, toWire(p))
}

func (s *Server) setStatus(st participant.Status) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, who auth.Principal) {
		p, ok := s.subject(w, r, who)
		if !ok {
			return
		}
		p, err := s.Participants.Apply(r.Context(), p.ID, participant.Update{Status: &st})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		reply(w, http.StatusOK, toWire(p))
	}
}

// currentKey refuses a participant that authenticated with its previous
// key, in a rotation's grace period, what changes credentials or
// settings: else whoever leaked the old key could mint a new one that
// outlives the rotation meant to revoke it.
func currentKey(w http.ResponseWriter, who auth.Principal) bool {
	if who.PreviousKey {
		writeProblem(w, probForbidden, "the previous API key, in its grace period, may not change credentials or settings: use the current key")
		return false
	}
	return true
}

// graceDefault is how long a rotated credential keeps working when the
// request does not say.
const graceDefault = 24 * time.Hour

// rotation reads a rotation's body (optional) and returns its grace
// period.
func rotation(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	if r.ContentLength == 0 {
		return graceDefault, true
	}
	var req wire.Rotation
	if !decode(w, r, bodyMax, &req) {
		return 0, false
	}
	if req.GraceSeconds == nil {
		return graceDefault, true
	}
	g := *req.GraceSeconds
	if g < 0 || g > int64(participant.GraceMax/time.Second) {
		writeProblem(w, probInvalid, "graceSeconds must be 0 to "+strconv.FormatInt(int64(participant.GraceMax/time.Second), 10))
		return 0, false
	}
	return time.Duration(g) * time.Second, true
}

// rotateKey gives a participant a new API key: the operator, or the
// participant itself (a leaked key is rotated with graceSeconds 0).
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	s.rotate(w, r, who, "API key", s.Participants.RotateKey, func(key string, until time.Time) any {
		return wire.RotatedKey{APIKey: key, PreviousKeyExpiresAt: until}
	})
}

// rotateCallbackSecret gives a participant a new callback secret; until
// the previous one expires, callbacks carry a signature by each.
func (s *Server) rotateCallbackSecret(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	s.rotate(w, r, who, "callback secret", s.Participants.RotateCallbackSecret, func(secret string, until time.Time) any {
		return wire.RotatedSecret{CallbackSecret: secret, PreviousSecretExpiresAt: until}
	})
}

// rotate answers a rotation of the path's participant's credential what:
// with rotateFn's new credential and the time the previous one stops,
// as answer shapes them.
func (s *Server) rotate(w http.ResponseWriter, r *http.Request, who auth.Principal, what string,
	rotateFn func(context.Context, string, time.Duration) (string, time.Time, error), answer func(string, time.Time) any) {
	p, ok := s.subject(w, r, who)
	if !ok || !currentKey(w, who) {
		return
	}
	grace, ok := rotation(w, r)
	if !ok {
		return
	}
	fresh, until, err := rotateFn(r.Context(), p.ID, grace)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info(what+" rotated", "participant", p.ID, "by", who.Role.String(), "previous expires", until)
	reply(w, http.StatusCreated, answer(fresh, until))
}

// closeParticipant closes a participant for good once its balances are
// all zero, and removes its aliases.
func (s *Server) closeParticipant(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	p, ok := s.subject(w, r, who)
	if !ok {
		return
	}
	p, err := s.Participants.Close(r.Context(), p.ID, func(ctx context.Context, p participant.Participant) error {
		bs, err := s.Transfers.Balances(ctx, p)
		if err != nil {
			return err
		}
		for _, b := range bs {
			if b.Balance != 0 || b.Reserved != 0 {
				return fmt.Errorf("%w: %s balance %s, reserved %s", participant.ErrBalanceNotZero, b.Currency,
					b.Balance.Format(b.Currency), b.Reserved.Format(b.Currency))
			}
		}
		// A dispute it opened may still pay it back: it waits.
		if s.Disputes != nil {
			open, err := s.Disputes.List(ctx, dispute.Filter{Participant: p.ID, Role: "payer", State: dispute.Open, Limit: 1})
			if err != nil {
				return err
			}
			if len(open) > 0 {
				return fmt.Errorf("%w: dispute %s, which may pay it back, is open", participant.ErrBalanceNotZero, open[0].ID)
			}
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// After the closure, so that no alias can be registered in between;
	// closing again removes what a failure here left.
	n, err := s.Directory.DeleteAll(r.Context(), p.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Warn("participant closed", "participant", p.ID, "aliases removed", n)
	reply(w, http.StatusOK, toWire(p))
}

// parseAmount reads a decimal amount of currency code.
func parseAmount(field, amount, code string) (money.Amount, money.Currency, error) {
	c, err := money.ParseCurrency(code)
	if err != nil {
		return 0, 0, fmt.Errorf("currency: %w", err)
	}
	a, err := money.Parse(amount, c)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", field, err)
	}
	return a, c, nil
}

// pathAmount reads an amount of the path's {currency}; a currency in the
// body, if any, must be the same. It answers the refusal itself.
func (s *Server) pathAmount(w http.ResponseWriter, r *http.Request, field, amount, bodyCurrency string) (money.Amount, money.Currency, bool) {
	code := r.PathValue("currency")
	if bodyCurrency != "" && bodyCurrency != code {
		writeProblem(w, probInvalid, "currency in the body differs from the path")
		return 0, 0, false
	}
	a, c, err := parseAmount(field, amount, code)
	if err != nil {
		s.writeError(w, r, err)
		return 0, 0, false
	}
	return a, c, true
}

func (s *Server) moveFunds(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	p, ok := s.subject(w, r, who)
	if !ok {
		return
	}
	var req wire.Funds
	if !decode(w, r, bodyMax, &req) {
		return
	}
	switch {
	case req.Participant != "" && req.Participant != p.ID:
		writeProblem(w, probInvalid, "participant in the body differs from the path")
		return
	case !req.CreatedAt.IsZero():
		writeProblem(w, probInvalid, "createdAt is set by the switch, not the request")
		return
	}
	amt, c, err := parseAmount("amount", req.Amount, req.Currency)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, created, err := s.Transfers.MoveFunds(r.Context(), p, transfer.Funds{
		ID: req.ID, Currency: c, Amount: amt, Direction: transfer.Direction(req.Direction),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	reply(w, status, wire.Funds{ID: f.ID, Participant: f.Participant, Currency: c.String(),
		Amount: f.Amount.Format(c), Direction: string(f.Direction), CreatedAt: f.CreatedAt})
}

func (s *Server) setLimit(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	p, ok := s.subject(w, r, who)
	if !ok {
		return
	}
	var req wire.Limit
	if !decode(w, r, bodyMax, &req) {
		return
	}
	cap, c, ok := s.pathAmount(w, r, "netDebitCap", req.NetDebitCap, req.Currency)
	if !ok {
		return
	}
	if err := s.Transfers.SetNetDebitCap(r.Context(), p, c, cap); err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, wire.Limit{Currency: c.String(), NetDebitCap: cap.Format(c)})
}

func (s *Server) accounts(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	p, ok := s.subject(w, r, who)
	if !ok {
		return
	}
	bs, err := s.Transfers.Balances(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.Accounts{Accounts: make([]wire.Account, len(bs))}
	for i, b := range bs {
		c := b.Currency
		out.Accounts[i] = wire.Account{Currency: c.String(), Balance: b.Balance.Format(c), Reserved: b.Reserved.Format(c),
			NetDebitCap: b.NetDebitCap.Format(c), Available: b.Available.Format(c)}
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) hubAccounts(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	bs, err := s.Transfers.HubBalances(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.HubAccounts{Accounts: make([]wire.HubAccount, len(bs))}
	for i, b := range bs {
		out.Accounts[i] = wire.HubAccount{Currency: b.Currency.String(), FeeRevenue: b.FeeRevenue.Format(b.Currency),
			SettlementBank: b.SettlementBank.Format(b.Currency)}
	}
	reply(w, http.StatusOK, out)
}

// feesToWire shows a schedule; the rate in basis points becomes a
// percentage with two decimals ("0.50").
func feesToWire(f quote.Schedule) wire.Fees {
	c := f.Currency
	return wire.Fees{Currency: c.String(), Fixed: f.Fixed.Format(c), Min: f.Min.Format(c), Max: f.Max.Format(c),
		Rate: money.FormatDecimal(f.RateBPS, 2)}
}

func (s *Server) listFees(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	fs := s.Fees.Schedules()
	slices.SortFunc(fs, func(a, b quote.Schedule) int { return strings.Compare(a.Currency.String(), b.Currency.String()) })
	out := wire.FeeList{Fees: make([]wire.Fees, len(fs))}
	for i, f := range fs {
		out.Fees[i] = feesToWire(f)
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) setFees(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	var req wire.Fees
	if !decode(w, r, bodyMax, &req) {
		return
	}
	code := r.PathValue("currency")
	if req.Currency != "" && req.Currency != code {
		writeProblem(w, probInvalid, "currency in the body differs from the path")
		return
	}
	sch := quote.Schedule{}
	var err error
	for _, f := range []struct {
		name, val string
		dst       *money.Amount
	}{{"fixed", req.Fixed, &sch.Fixed}, {"min", req.Min, &sch.Min}, {"max", req.Max, &sch.Max}} {
		if *f.dst, sch.Currency, err = parseAmount(f.name, f.val, code); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	// The rate is a percentage with up to two decimals: basis points.
	bps, err := money.ParseDecimal(req.Rate, 2)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("rate (a percentage with up to two decimals): %w", err))
		return
	}
	sch.RateBPS = bps
	if err := s.Fees.Set(r.Context(), sch); err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, feesToWire(sch))
}
