package api

import (
	"bytes"
	"mime"
	"net/http"
	"strconv"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/iso20022/msg"
)

// isoBodyMax bounds an ISO 20022 message: a pacs.008 of 1,000 credit
// transfers takes about 820 KB.
const isoBodyMax = 4 << 20

// iso20022Message takes a bank's ISO 20022 message: a pacs.008.001.09 of
// credit transfers or a pacs.004.001.10 of returns, answered with its
// pacs.002.001.11. A document that is
// not well-formed, not of a known message or breaks its schema changes
// nothing and is refused invalid-request.
func (s *Server) iso20022Message(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if s.ISO20022 == nil {
		writeProblem(w, probUnavailable, "the ISO 20022 gateway is not configured")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/xml" && mt != "text/xml" {
		writeProblem(w, probMediaType, "Content-Type must be application/xml")
		return
	}
	body, err := readBody(w, r, isoBodyMax, nil)
	if refuseBody(w, err, isoBodyMax, "the body") {
		return
	}
	doc, err := msg.Parse(bytes.NewReader(body), isoBodyMax)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var rep *msg.StatusReport
	switch d := doc.(type) {
	case *msg.CreditTransfer:
		if !s.spend(who, len(d.Transactions)) {
			refuseRate(w, "participant "+who.Participant.ID+" exceeded its request rate")
			return
		}
		rep = s.ISO20022.CreditTransfer(r.Context(), who.Participant, d)
	case *msg.PaymentReturn:
		if !s.spend(who, len(d.Transactions)) {
			refuseRate(w, "participant "+who.Participant.ID+" exceeded its request rate")
			return
		}
		rep = s.ISO20022.PaymentReturn(r.Context(), who.Participant, d)
	default:
		writeProblem(w, probInvalid, "a "+string(doc.Type())+" is not taken here: send a pacs.008.001.09 or a pacs.004.001.10")
		return
	}
	out, err := msg.Marshal(rep)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/xml"}
	h["Cache-Control"] = hdrNoStore
	h["Content-Length"] = []string{strconv.Itoa(len(out))}
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}
