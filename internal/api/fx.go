package api

import (
	"fmt"
	"net/http"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// fxBook returns the rate book, or answers 503 without one.
func (s *Server) fxBook(w http.ResponseWriter) (*fx.Book, bool) {
	if s.FX == nil {
		writeProblem(w, probUnavailable, "foreign exchange is not configured")
		return nil, false
	}
	return s.FX, true
}

// pair reads the currency pair of an FX route.
func pair(w http.ResponseWriter, r *http.Request) (money.Currency, money.Currency, bool) {
	src, err1 := money.ParseCurrency(r.PathValue("source"))
	dst, err2 := money.ParseCurrency(r.PathValue("target"))
	if err1 != nil || err2 != nil || src == dst {
		writeProblem(w, probInvalid, "source and target must be two different ISO 4217 codes")
		return 0, 0, false
	}
	return src, dst, true
}

func (s *Server) putFXRate(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	book, ok := s.fxBook(w)
	if !ok {
		return
	}
	src, dst, ok := pair(w, r)
	if !ok {
		return
	}
	var nr wire.NewFXRate
	if !decode(w, r, bodyMax, &nr) {
		return
	}
	sh, err := sheetOf(&nr, src, dst)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sh, created, err := book.Publish(r.Context(), who.Participant, sh)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	reply(w, status, fxRateWire(&sh, true))
}

// sheetOf reads a rate sheet from src to dst in its JSON form: the body
// of PUT /v1/fx/rates/{source}/{target}, and a live offer (the answer to
// the fx.quote callback). The sheet has no Provider and is not validated
// as a whole (fx.Sheet.Validate, by its user); an unreadable member is
// invalid-request, naming it.
func sheetOf(nr *wire.NewFXRate, src, dst money.Currency) (fx.Sheet, error) {
	sh := fx.Sheet{Source: src, Target: dst, ValidUntil: nr.ValidUntil}
	var err error
	if sh.Rate, err = fx.ParseRate(nr.Rate); err != nil {
		return fx.Sheet{}, err
	}
	for _, a := range []struct {
		field, v string
		to       *money.Amount
	}{{"minAmount", nr.MinAmount, &sh.Min}, {"maxAmount", nr.MaxAmount, &sh.Max}} {
		if a.v == "" {
			continue
		}
		if *a.to, err = money.Parse(a.v, src); err != nil {
			return fx.Sheet{}, fmt.Errorf("%w: %s: %v", fx.ErrSheet, a.field, err)
		}
	}
	if f := nr.Fee; f != nil {
		sh.Fee.BPS = f.BPS
		if f.Fixed != "" {
			if sh.Fee.Fixed, err = money.Parse(f.Fixed, src); err != nil {
				return fx.Sheet{}, fmt.Errorf("%w: fee.fixed: %v", fx.ErrSheet, err)
			}
		}
	}
	return sh, nil
}

func (s *Server) deleteFXRate(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	book, ok := s.fxBook(w)
	if !ok {
		return
	}
	src, dst, ok := pair(w, r)
	if !ok {
		return
	}
	if err := book.Withdraw(r.Context(), who.Participant, src, dst); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header()["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listFXRates(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	book, ok := s.fxBook(w)
	if !ok {
		return
	}
	var src, dst money.Currency
	q := r.URL.Query()
	if q.Get("source") != "" || q.Get("target") != "" {
		var err1, err2 error
		src, err1 = money.ParseCurrency(q.Get("source"))
		dst, err2 = money.ParseCurrency(q.Get("target"))
		if err1 != nil || err2 != nil {
			writeProblem(w, probInvalid, "source and target, when given, are both ISO 4217 codes")
			return
		}
	}
	sheets := book.Live(src, dst)
	out := wire.FXRates{Rates: make([]wire.FXRate, len(sheets))}
	for i := range sheets {
		// Participants see the market, not who makes it; a provider sees
		// its own.
		out.Rates[i] = fxRateWire(&sheets[i], who.Role != auth.RoleParticipant || sheets[i].Provider == who.Participant.ID)
	}
	reply(w, http.StatusOK, out)
}

func fxRateWire(sh *fx.Sheet, who bool) wire.FXRate {
	out := wire.FXRate{Source: sh.Source.String(), Target: sh.Target.String(), Rate: sh.Rate.String(), ValidUntil: sh.ValidUntil,
		MinAmount: sh.Min.Format(sh.Source), Fee: wire.FXFee{BPS: sh.Fee.BPS}}
	if sh.Max > 0 {
		out.MaxAmount = sh.Max.Format(sh.Source)
	}
	if sh.Fee.Fixed > 0 {
		out.Fee.Fixed = sh.Fee.Fixed.Format(sh.Source)
	}
	if who {
		out.Provider = sh.Provider
	}
	return out
}
