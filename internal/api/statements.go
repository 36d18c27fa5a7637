package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// statement answers a participant's statement of its settlement account
// for a day of the scheme's time zone: camt.053.001.08 for Accept:
// application/xml, the same in JSON otherwise.
func (s *Server) statement(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	p, ok := s.subject(w, r, who)
	if !ok {
		return
	}
	q := r.URL.Query()
	c, err := money.ParseCurrency(q.Get("currency"))
	if err != nil || !p.Uses(c) {
		writeProblem(w, probInvalid, "currency must be an ISO 4217 code the participant is enabled for")
		return
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	day, err := time.ParseInLocation(time.DateOnly, q.Get("date"), loc)
	if err != nil || day.Year() < 1970 || day.After(s.Now().AddDate(1, 0, 0)) {
		writeProblem(w, probInvalid, "date must be YYYY-MM-DD, from 1970 to a year from now")
		return
	}
	page := 1
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 || page > 99999 {
			writeProblem(w, probInvalid, "page must be 1 to 99999")
			return
		}
	}
	next := day.AddDate(0, 0, 1)
	st, err := s.Transfers.Statement(r.Context(), p, c, day, next, page)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !accepts(r, "application/xml") {
		out := wire.Statement{Participant: p.ID, Currency: c.String(), Date: day.Format(time.DateOnly), Page: st.Page, LastPage: st.LastPage,
			Opening: st.Opening.Format(c), Closing: st.Closing.Format(c), Entries: make([]wire.StatementEntry, len(st.Movements))}
		for i, m := range st.Movements {
			out.Entries[i] = wire.StatementEntry{At: m.At, Kind: m.Kind, Ref: m.Ref, Amount: m.Amount.Format(c), Direction: direction(m.Credit)}
		}
		reply(w, http.StatusOK, out)
		return
	}
	doc, err := msg.Marshal(camt053(p.ID, c, day, time.Now(), &st))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/xml"}
	h["Cache-Control"] = hdrNoStore
	h["Content-Length"] = []string{strconv.Itoa(len(doc))}
	w.WriteHeader(http.StatusOK)
	w.Write(doc)
}

func direction(credit bool) string {
	if credit {
		return "credit"
	}
	return "debit"
}

// camt053 renders a statement page as a camt.053.001.08, numbered in
// StmtPgntn. The first page opens with the day's opening balance (OPBD),
// the last closes with its closing balance (CLBD); the balances between
// pages are interim (ITBD). A reference longer than the 35 characters
// TxId allows goes in AddtlNtryInf.
func camt053(account string, c money.Currency, day, now time.Time, st *transfer.Statement) *msg.BankStatement {
	date := msg.Date(day.Year(), day.Month(), day.Day())
	bal := func(typ string, a money.Amount) msg.Balance {
		b := msg.Balance{Type: typ, Amount: a, Currency: c, Indicator: msg.Credit, Date: date}
		if a < 0 {
			b.Amount, b.Indicator = -a, msg.Debit
		}
		return b
	}
	opening, closing := "OPBD", "CLBD"
	if st.Page > 1 {
		opening = "ITBD"
	}
	if !st.LastPage {
		closing = "ITBD"
	}
	as := msg.AccountStatement{ID: account + "-" + day.Format("20060102") + "-" + c.String(), Created: now.UTC(),
		Page: st.Page, LastPage: st.LastPage, Account: msg.Account{ID: account}, Currency: c,
		Balances: []msg.Balance{bal(opening, st.Opening), bal(closing, st.Closing)}}
	for _, m := range st.Movements {
		e := msg.Entry{Amount: m.Amount, Currency: c, Indicator: msg.Debit, Status: "BOOK",
			Booked: msg.DateOrTime{Time: m.At}, Value: date, Code: m.Kind}
		if m.Credit {
			e.Indicator = msg.Credit
		}
		if len(m.Ref) <= 35 {
			e.TxID = m.Ref
		} else {
			e.Info = "ref " + m.Ref
		}
		as.Entries = append(as.Entries, e)
	}
	var b [6]byte
	rand.Read(b[:])
	return &msg.BankStatement{MsgID: "HULIAN-STMT-" + hex.EncodeToString(b[:]), Created: now.UTC(), Statements: []msg.AccountStatement{as}}
}
