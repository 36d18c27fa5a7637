package api

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/recon"
	"github.com/hulian/hulian/internal/wire"
)

// Bounds of reconciliations. A CSV upload is streamed (sorted in runs
// spilled to disk), so it may be large: a day of a busy participant's
// records, some 4 M lines with 36-character ids. A camt.053 is parsed
// whole, so it is bounded by what a caller may hold in flight.
const (
	reconCSVMax = 256 << 20
	reconXMLMax = bodyInflightPerCaller
	// reconAtOnce is how many reconciliations run at once, one per
	// caller: each holds an upload, its runs on disk and a scan of the
	// switch's side.
	reconAtOnce = 4
)

// slots bounds work that runs at once: at most max in all, one per
// caller.
type slots struct {
	mu  sync.Mutex
	by  map[string]bool
	max int
}

// take takes a slot for who; false if who has one or all are taken.
func (s *slots) take(who string, max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[string]bool{}
	}
	if s.by[who] || len(s.by) >= max {
		return false
	}
	s.by[who] = true
	return true
}

// give gives back who's slot.
func (s *slots) give(who string) {
	s.mu.Lock()
	delete(s.by, who)
	s.mu.Unlock()
}

// createReconciliation reconciles a participant's records of a window
// (text/csv, or a camt.053.001.08 statement) against the switch's.
func (s *Server) createReconciliation(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if s.Recon == nil {
		writeProblem(w, probUnavailable, "reconciliation is not configured")
		return
	}
	q := r.URL.Query()
	bank := q.Get("participant") == recon.SettlementBank
	var p participant.Participant
	if bank {
		if who.Role != auth.RoleOperator {
			writeProblem(w, probForbidden, "only the operator reconciles the settlement bank's statement")
			return
		}
	} else {
		var ok bool
		if p, ok = s.reconSubject(w, who, q.Get("participant")); !ok {
			return
		}
	}
	c, err := money.ParseCurrency(q.Get("currency"))
	if err != nil {
		writeProblem(w, probInvalid, "currency must be an ISO 4217 code")
		return
	}
	from, err1 := time.Parse(time.RFC3339Nano, q.Get("from"))
	to, err2 := time.Parse(time.RFC3339Nano, q.Get("to"))
	if err1 != nil || err2 != nil {
		writeProblem(w, probInvalid, "from and to must be RFC 3339 times")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "text/csv" && mt != "application/xml" {
		writeProblem(w, probMediaType, "Content-Type must be text/csv or application/xml (a camt.053.001.08)")
		return
	}
	caller := who.Role.String()
	if who.Role == auth.RoleParticipant {
		caller = who.Participant.ID
	}
	if !s.recons.take(caller, reconAtOnce) {
		refuseRate(w, "a reconciliation of yours is running, or "+strconv.Itoa(reconAtOnce)+" are: retry when it ends")
		return
	}
	defer s.recons.give(caller)
	var theirs recon.Source
	limit := reconXMLMax
	if mt == "text/csv" {
		limit = reconCSVMax
		streamBody(r)
		theirs = recon.NewCSVReader(http.MaxBytesReader(w, r.Body, reconCSVMax), c)
	} else {
		body, err := readBody(w, r, reconXMLMax, nil)
		if refuseBody(w, err, reconXMLMax, "a camt.053 (send larger days as CSV)") {
			return
		}
		doc, err := msg.Parse(bytes.NewReader(body), reconXMLMax)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		st, ok := doc.(*msg.BankStatement)
		if !ok {
			writeProblem(w, probInvalid, "a "+string(doc.Type())+" is not a statement: send a camt.053.001.08")
			return
		}
		theirs = recon.Camt053(st, c)
	}
	var res recon.Result
	if bank {
		res, err = s.Recon.RunBank(r.Context(), c, from, to, theirs)
	} else {
		res, err = s.Recon.Run(r.Context(), p, c, from, to, theirs)
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		refuseBody(w, err, int64(limit), "the body")
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/reconciliations/"+res.ID)
	s.replyReconciliation(w, r, http.StatusCreated, &res)
}

// reconSubject is the participant a reconciliation is of: the caller, or
// for the operator the one named.
func (s *Server) reconSubject(w http.ResponseWriter, who auth.Principal, named string) (participant.Participant, bool) {
	switch {
	case who.Role == auth.RoleParticipant && named != "" && named != who.Participant.ID:
		writeProblem(w, probForbidden, "a participant reconciles only its own records")
		return participant.Participant{}, false
	case who.Role == auth.RoleParticipant:
		return who.Participant, true
	case named == "":
		writeProblem(w, probInvalid, "the operator names the participant with ?participant=")
		return participant.Participant{}, false
	}
	p, ok := s.Participants.Get(named)
	if !ok {
		writeProblem(w, probNotFound, "no participant "+strconv.Quote(named))
	}
	return p, ok
}

// getReconciliation answers a reconciliation again: JSON, or its breaks
// as CSV for Accept: text/csv.
func (s *Server) getReconciliation(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if s.Recon == nil {
		writeProblem(w, probUnavailable, "reconciliation is not configured")
		return
	}
	res, err := s.Recon.Get(r.Context(), r.PathValue("id"), who.ParticipantID())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.replyReconciliation(w, r, http.StatusOK, &res)
}

// replyReconciliation answers res as JSON, or its breaks as CSV when the
// caller accepts text/csv rather than JSON.
func (s *Server) replyReconciliation(w http.ResponseWriter, r *http.Request, status int, res *recon.Result) {
	if accepts(r, "text/csv") {
		var b bytes.Buffer
		bw := recon.NewBreakWriter(&b, res.Currency)
		for _, br := range res.Breaks {
			if err := bw.Write(br); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := bw.Flush(); err != nil {
			s.writeError(w, r, err)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"text/csv; charset=utf-8"}
		h["Cache-Control"] = hdrNoStore
		w.WriteHeader(status)
		w.Write(b.Bytes())
		return
	}
	out := wire.Reconciliation{ID: res.ID, Participant: res.Participant, Currency: res.Currency.String(), From: res.From, To: res.To,
		SwitchRecords: res.Summary.SwitchRecords, ParticipantRecords: res.Summary.ParticipantRecords, Matched: res.Summary.Matched,
		BreakCount: res.Summary.Breaks, ByKind: map[string]int64{}, Breaks: []wire.ReconciliationBreak{}, CreatedAt: res.CreatedAt}
	for _, k := range recon.Kinds() {
		out.ByKind[k.String()] = res.Summary.ByKind[k]
	}
	for _, b := range res.Breaks {
		out.Breaks = append(out.Breaks, wire.ReconciliationBreak{TransferID: b.TransferID, Kind: b.Kind.String(),
			Switch: reconSide(b.Switch, res.Currency), Participant: reconSide(b.Participant, res.Currency)})
	}
	reply(w, status, out)
}

func reconSide(r *recon.Record, c money.Currency) *wire.ReconciliationRecord {
	if r == nil {
		return nil
	}
	return &wire.ReconciliationRecord{Amount: money.Amount(r.Amount).Format(c), Direction: r.Direction.String(), Status: r.Status.String()}
}

// accepts reports whether the caller's Accept header names mt before
// any JSON type: a caller that lists none gets JSON.
func accepts(r *http.Request, mt string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		t, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		switch {
		case err != nil:
		case t == mt:
			return true
		case t == "application/json" || t == "application/*" || t == "*/*":
			return false
		}
	}
	return false
}
