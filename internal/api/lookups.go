package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/lookups"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// lookupConfig is the lookup guard's part of the configuration; the
// window of the alert and the bound on end users are not settings.
func (c *Config) lookupConfig() lookups.Config {
	return lookups.Config{Rate: c.LookupRate, Burst: c.LookupBurst, MissCost: c.LookupMissCost,
		UserRate: c.LookupUserRate, MissAlert: c.LookupMissAlert, Window: lookups.DefaultWindow, UsersMax: lookups.DefaultUsersMax}
}

// ensureLookupDefaults fills the lookup settings left zero with the
// lookup guard's defaults.
func (c *Config) ensureLookupDefaults() {
	lc := c.lookupConfig()
	lc.EnsureDefaults()
	c.LookupRate, c.LookupBurst, c.LookupMissCost, c.LookupUserRate, c.LookupMissAlert =
		lc.Rate, lc.Burst, lc.MissCost, lc.UserRate, lc.MissAlert
}

// buildGuard makes the lookup guard, whose alerts go to raiseAlert.
func (s *Server) buildGuard() error {
	g, err := lookups.New(s.cfg.lookupConfig(), s.Now, s.raiseAlert)
	if err != nil {
		return err
	}
	s.guard = g
	return nil
}

// alertTimeout bounds the recording of an alert, which the lookup that
// ended the window waits for (once an hour at most per participant).
const alertTimeout = 5 * time.Second

// raiseAlert logs a scraping alert and records it for the operator.
func (s *Server) raiseAlert(a lookups.Alert) {
	s.log.Warn("lookups look like a scan of the directory", "participant", a.Participant, "lookups", a.Lookups,
		"notFound", a.NotFound, "ratio", a.Ratio())
	if s.OperatorAlerts == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), alertTimeout)
	defer cancel()
	if _, _, err := s.OperatorAlerts.Raise(ctx, a); err != nil {
		s.log.Error("operator alert not recorded", "participant", a.Participant, "err", err)
	}
}

// beginLookup asks the guard for a participant's lookup; for the
// operator and the regulator, who look up for investigations, it always
// agrees. It answers the refusal itself and reports whether to go on,
// and whether the lookup is budgeted (to be ended by Done).
func (s *Server) beginLookup(w http.ResponseWriter, who *auth.Principal, endUser string) (goOn, budgeted bool) {
	if who.Role != auth.RoleParticipant {
		return true, false
	}
	ok, wait := s.guard.Begin(who.Participant.ID, endUser)
	if ok {
		return true, true
	}
	w.Header().Set("Retry-After", strconv.FormatInt(lookups.RetryAfter(wait), 10))
	if endUser != "" {
		writeProblem(w, probRateLimited, "participant "+who.Participant.ID+" exceeded its lookup budget, or its end user its lookups that find nothing")
	} else {
		writeProblem(w, probRateLimited, "participant "+who.Participant.ID+" exceeded its lookup budget")
	}
	return false, false
}

func (s *Server) lookupStats(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	out := wire.LookupStats{Participants: []wire.LookupStat{}}
	for _, st := range s.guard.Stats() {
		out.Participants = append(out.Participants, wire.LookupStat{Participant: st.Participant, Found: st.Found, NotFound: st.NotFound})
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) operatorAlerts(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	limit, ok := limitParam(w, r, 100, 1000)
	if !ok {
		return
	}
	var before int64
	if q := r.URL.Query().Get("before"); q != "" {
		var err error
		if before, err = strconv.ParseInt(q, 10, 64); err != nil || before < 1 {
			writeProblem(w, probInvalid, "before must be an alert id")
			return
		}
	}
	out := wire.OperatorAlerts{Alerts: []wire.OperatorAlert{}}
	if s.OperatorAlerts == nil {
		reply(w, http.StatusOK, out)
		return
	}
	as, err := s.OperatorAlerts.List(r.Context(), before, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for i, a := range as {
		if i == limit {
			out.Next = strconv.FormatInt(as[i-1].Seq, 10)
			break
		}
		out.Alerts = append(out.Alerts, wire.OperatorAlert{ID: strconv.FormatInt(a.Seq, 10), Kind: a.Kind, Participant: a.Participant,
			RaisedAt: a.At, Detail: wire.OperatorAlertDetail{Lookups: a.Lookups, Found: a.Found(), NotFound: a.NotFound, Ratio: a.Ratio()}})
	}
	reply(w, http.StatusOK, out)
}

// endUserOf reads the optional Hulian-End-User header; a malformed one
// is answered 400.
func endUserOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.Header.Get(wire.EndUserHeader)
	if id == "" {
		return "", true
	}
	if err := lookups.CheckEndUser(id); err != nil {
		writeProblem(w, probInvalid, wire.EndUserHeader+": "+err.Error())
		return "", false
	}
	return id, true
}

// endLookup ends a budgeted lookup that found the alias (err nil) or
// found none; a lookup that failed otherwise is counted neither way.
func (s *Server) endLookup(who *auth.Principal, endUser string, err error) {
	if err == nil || errors.Is(err, directory.ErrNotFound) {
		s.guard.Done(who.Participant.ID, endUser, err == nil)
	}
}

// endAliasLookup ends a budgeted lookup made by asking an alias for
// something (a request to pay, a mandate): a miss when the alias is not
// registered, a hit when it was found, whatever came after.
func (s *Server) endAliasLookup(who *auth.Principal, err error) {
	switch {
	case errors.Is(err, transfer.ErrUnknownParty):
		s.endLookup(who, "", directory.ErrNotFound)
	case err == nil || fault.KindOf(err) != fault.Invalid && fault.KindOf(err) != fault.Internal:
		s.endLookup(who, "", nil)
	}
}

// Lookups returns the participants' lookup budgets, for the other front
// ends to share: a participant's budget is one, whichever API it looks
// aliases up through.
func (s *Server) Lookups() *lookups.Guard { return s.guard }
