package api

import (
	"net/http"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// schemeRoutes returns the routes to other schemes, or answers 503
// without them.
func (s *Server) schemeRoutes(w http.ResponseWriter) (*directory.SchemeRoutes, bool) {
	if s.SchemeRoutes == nil {
		writeProblem(w, probUnavailable, "links between schemes are not configured")
		return nil, false
	}
	return s.SchemeRoutes, true
}

// routeKey reads a route's alias type and prefix from its path.
func routeKey(w http.ResponseWriter, r *http.Request) (directory.Type, string, bool) {
	t, err := directory.ParseType(r.PathValue("aliasType"))
	if err != nil {
		writeProblem(w, probInvalid, "aliasType must be one of MSISDN, EMAIL, NATIONAL_ID, RANDOM, WALLET, MERCHANT")
		return "", "", false
	}
	return t, r.PathValue("prefix"), true
}

// putSchemeRoute routes the aliases of a type that start with a prefix,
// and are not registered here, to a scheme link: the operator's
// decision, marked on the ledger.
func (s *Server) putSchemeRoute(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	routes, ok := s.schemeRoutes(w)
	if !ok {
		return
	}
	t, prefix, ok := routeKey(w, r)
	if !ok {
		return
	}
	var req wire.NewSchemeRoute
	if !decode(w, r, bodyMax, &req) {
		return
	}
	rt := directory.SchemeRoute{Type: t, Prefix: prefix, Participant: req.Participant}
	if req.Currency != "" {
		c, err := money.ParseCurrency(req.Currency)
		if err != nil {
			writeProblem(w, probInvalid, "currency must be an ISO 4217 code")
			return
		}
		rt.Currency = c
	}
	rt, created, err := routes.Put(r.Context(), rt, "operator")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	reply(w, status, schemeRouteWire(&rt))
}

func (s *Server) deleteSchemeRoute(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	routes, ok := s.schemeRoutes(w)
	if !ok {
		return
	}
	t, prefix, ok := routeKey(w, r)
	if !ok {
		return
	}
	if err := routes.Delete(r.Context(), t, prefix, "operator"); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header()["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listSchemeRoutes(w http.ResponseWriter, _ *http.Request, _ auth.Principal) {
	routes, ok := s.schemeRoutes(w)
	if !ok {
		return
	}
	list := routes.List()
	out := wire.SchemeRoutes{Routes: make([]wire.SchemeRoute, len(list))}
	for i := range list {
		out.Routes[i] = schemeRouteWire(&list[i])
	}
	reply(w, http.StatusOK, out)
}

func schemeRouteWire(rt *directory.SchemeRoute) wire.SchemeRoute {
	return wire.SchemeRoute{AliasType: string(rt.Type), Prefix: rt.Prefix, Participant: rt.Participant,
		Currency: rt.Currency.String(), CreatedAt: rt.CreatedAt, UpdatedAt: rt.UpdatedAt}
}
