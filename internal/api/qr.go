package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/qr"
	"github.com/hulian/hulian/internal/wire"
)

// qrs returns the QR service, or answers 503 without one.
func (s *Server) qrs(w http.ResponseWriter) (*qr.Service, bool) {
	if s.QR == nil {
		writeProblem(w, probUnavailable, "QR codes are not configured")
		return nil, false
	}
	return s.QR, true
}

func (s *Server) createQR(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.qrs(w)
	if !ok {
		return
	}
	var nq wire.NewQR
	if !decode(w, r, bodyMax, &nq) {
		return
	}
	c, err := money.ParseCurrency(nq.Currency)
	if err != nil {
		writeProblem(w, probInvalid, "currency must be an ISO 4217 code")
		return
	}
	var amount money.Amount
	if nq.Amount != "" {
		if amount, err = money.Parse(nq.Amount, c); err != nil || amount <= 0 {
			writeProblem(w, probInvalid, "amount must be a positive decimal in the currency")
			return
		}
	}
	code, err := svc.Create(r.Context(), who.Participant, qr.New{Merchant: nq.Merchant, Amount: amount, Currency: c,
		Reference: nq.Reference, ExpiresAt: nq.ExpiresAt})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/qr/"+code.ID)
	reply(w, http.StatusCreated, qrWire(&code))
}

// getQR answers GET /v1/qr/{id} (the code) and /v1/qr/{id}.png (its
// image).
func (s *Server) getQR(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.qrs(w)
	if !ok {
		return
	}
	name := r.PathValue("id")
	if id, png := strings.CutSuffix(name, ".png"); png {
		img, err := svc.Image(r.Context(), who.ParticipantID(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"image/png"}
		h["Cache-Control"] = hdrNoStore
		h["Content-Length"] = []string{strconv.Itoa(len(img))}
		w.WriteHeader(http.StatusOK)
		w.Write(img)
		return
	}
	code, err := svc.Get(r.Context(), who.ParticipantID(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, qrWire(&code))
}

func (s *Server) decodeQR(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	svc, ok := s.qrs(w)
	if !ok {
		return
	}
	var qd wire.QRDecode
	if !decode(w, r, bodyMax, &qd) {
		return
	}
	d, err := svc.Decode(r.Context(), qd.Payload)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ec := d.Code
	out := wire.QRDecoded{Merchant: wire.QRMerchant{ID: d.Merchant.ID, Participant: d.Party.Participant,
		DisplayName: directory.MaskName(d.Merchant.Name), MCC: d.Merchant.MCC, City: d.Merchant.City, Country: d.Merchant.Country},
		Dynamic: ec.Dynamic, Currency: ec.Currency.String(), Reference: ec.BillNumber}
	if ec.Amount != 0 {
		out.Amount = ec.Amount.Format(ec.Currency)
	}
	if d.Stored != nil {
		out.ExpiresAt, out.Paid = d.Stored.ExpiresAt, d.Stored.PaidTransfer != ""
	}
	reply(w, http.StatusOK, out)
}

func qrWire(c *qr.Code) wire.QR {
	out := wire.QR{ID: c.ID, Payload: c.Payload, Image: "/v1/qr/" + c.ID + ".png", Merchant: c.Merchant, Dynamic: c.Dynamic,
		Currency: c.Currency.String(), Reference: c.Reference, ExpiresAt: c.ExpiresAt, Paid: c.PaidTransfer != "", CreatedAt: c.CreatedAt}
	if c.Amount != 0 {
		out.Amount = c.Amount.Format(c.Currency)
	}
	return out
}

// errQRBatch refuses a QR payee in a batch.
var errQRBatch = errors.New("pay QR codes one at a time (POST /v1/transfers)")
