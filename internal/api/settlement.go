package api

import (
	"bytes"
	"encoding/csv"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/wire"
)

func windowToWire(w settlement.Window) wire.SettlementWindow {
	return wire.SettlementWindow{ID: w.ID, Currency: w.Currency.String(), State: string(w.State),
		OpenedAt: w.OpenedAt, ClosedAt: w.ClosedAt, Next: w.Next}
}

func (s *Server) listWindows(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	var c money.Currency
	if code := q.Get("currency"); code != "" {
		var err error
		if c, err = money.ParseCurrency(code); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	st := settlement.State(q.Get("state"))
	switch st {
	case "", settlement.Open, settlement.Closed, settlement.Settling, settlement.Settled:
	default:
		writeProblem(w, probInvalid, "state must be OPEN, CLOSED, SETTLING or SETTLED")
		return
	}
	ws, err := s.Settlement.Windows(r.Context(), c, st)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.SettlementWindows{Windows: make([]wire.SettlementWindow, len(ws))}
	for i, x := range ws {
		out.Windows[i] = windowToWire(x)
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) getWindow(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	x, err := s.Settlement.Window(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, windowToWire(x))
}

func (s *Server) closeWindow(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	x, err := s.Settlement.Close(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, windowToWire(x))
}

// report shows a closed window's report: everything to the operator, a
// participant's own position and instruction to that participant. With
// Accept: text/csv it is a CSV table.
func (s *Server) report(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	rep, err := s.Settlement.Report(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := rep.Window.Currency
	out := wire.SettlementReport{Window: windowToWire(rep.Window), Positions: []wire.Position{}, Instructions: []wire.Instruction{}}
	if who.SeesAll() {
		// The totals are the scheme's; a participant sees its own part.
		n := rep.Transfers
		out.HubFees, out.Transfers, out.Volume = rep.HubFees.Format(c), &n, rep.Volume.Format(c)
	}
	for _, p := range rep.Positions {
		if who.Covers(p.Participant) {
			out.Positions = append(out.Positions, wire.Position{Participant: p.Participant, Sent: p.Sent.Format(c),
				Received: p.Received.Format(c), Fees: p.Fees.Format(c), Net: p.Net.Format(c), Transfers: p.Transfers})
		}
	}
	for _, in := range rep.Instructions {
		if who.Covers(in.Participant) {
			out.Instructions = append(out.Instructions, wire.Instruction{Participant: in.Participant, Direction: string(in.Direction),
				Amount: in.Amount.Format(c), Confirmed: in.Confirmed, ConfirmedAt: in.ConfirmedAt})
		}
	}
	if wantsCSV(r) {
		writeCSV(w, out)
		return
	}
	reply(w, http.StatusOK, out)
}

// wantsCSV reports whether the client prefers text/csv to JSON.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json", "*/*":
			return false
		}
	}
	return false
}

// writeCSV writes one row per participant: its position and its
// instruction.
func writeCSV(w http.ResponseWriter, rep wire.SettlementReport) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"window", "currency", "participant", "sent", "received", "fees", "net", "transfers", "direction", "amount", "confirmed"})
	ins := map[string]wire.Instruction{}
	for _, in := range rep.Instructions {
		ins[in.Participant] = in
	}
	for _, p := range rep.Positions {
		in := ins[p.Participant]
		cw.Write([]string{rep.Window.ID, rep.Window.Currency, p.Participant, p.Sent, p.Received, p.Fees, p.Net,
			strconv.FormatInt(p.Transfers, 10), in.Direction, in.Amount, strconv.FormatBool(in.Confirmed)})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rep.Window.ID+`.csv"`)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func (s *Server) confirmSettlement(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	var req wire.Confirmation
	if !decode(w, r, bodyMax, &req) {
		return
	}
	if req.Participant == "" {
		writeProblem(w, probInvalid, "participant is required")
		return
	}
	win, err := s.Settlement.Window(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var amt money.Amount
	if req.Amount != "" {
		if amt, err = money.Parse(req.Amount, win.Currency); err != nil {
			s.writeError(w, r, err)
			return
		}
		if amt <= 0 {
			writeProblem(w, probInvalid, "amount must be positive")
			return
		}
	}
	in, created, err := s.Settlement.Confirm(r.Context(), win.ID, req.Participant, amt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	reply(w, status, wire.Instruction{Participant: in.Participant, Direction: string(in.Direction),
		Amount: in.Amount.Format(win.Currency), Confirmed: in.Confirmed, ConfirmedAt: in.ConfirmedAt})
}
