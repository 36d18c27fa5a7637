package api

import (
	"net/http"
	"strconv"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

func thresholdToWire(t liquidity.Threshold) wire.LiquidityThreshold {
	return wire.LiquidityThreshold{Currency: t.Currency.String(), Threshold: t.Threshold.Format(t.Currency), Below: t.Below}
}

// alertToWire converts an alert.
func alertToWire(a *liquidity.Alert) wire.LiquidityAlert {
	return wire.LiquidityAlert{Seq: a.Seq, Participant: a.Participant, Currency: a.Currency.String(), Kind: string(a.Kind),
		Available: a.Available.Format(a.Currency), Threshold: a.Threshold.Format(a.Currency), At: a.At}
}

func (s *Server) setLiquidity(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	p, ok := s.subject(w, r, who)
	if !ok {
		return
	}
	var req wire.NewLiquidityThreshold
	if !decode(w, r, bodyMax, &req) {
		return
	}
	amt, c, ok := s.pathAmount(w, r, "threshold", req.Threshold, req.Currency)
	if !ok {
		return
	}
	t, err := s.Liquidity.Set(r.Context(), p, c, amt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, thresholdToWire(t))
}

func (s *Server) getLiquidity(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	p, ok := s.subject(w, r, who)
	if !ok {
		return
	}
	c, err := money.ParseCurrency(r.PathValue("currency"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, found := s.Liquidity.Get(p, c)
	if !found {
		writeProblem(w, probNotFound, "no liquidity threshold for "+p.ID+" in "+c.String())
		return
	}
	reply(w, http.StatusOK, thresholdToWire(t))
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	limit, ok := limitParam(w, r, 100, 1000)
	if !ok {
		return
	}
	var after int64
	if q := r.URL.Query().Get("after"); q != "" {
		var err error
		if after, err = strconv.ParseInt(q, 10, 64); err != nil || after < 0 {
			writeProblem(w, probInvalid, "after must be an alert seq")
			return
		}
	}
	as, err := s.Liquidity.Alerts(r.Context(), who.ParticipantID(), after, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.LiquidityAlerts{Alerts: []wire.LiquidityAlert{}}
	for i, a := range as {
		if i == limit {
			out.Next = strconv.FormatInt(as[i-1].Seq, 10)
			break
		}
		out.Alerts = append(out.Alerts, alertToWire(&a))
	}
	reply(w, http.StatusOK, out)
}
