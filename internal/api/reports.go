package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// The cross-border report's pages: limit rows, 1000 unless asked, at
// most crossBorderPageMax. The CSV form streams the whole window.
const (
	crossBorderPage    = 1000
	crossBorderPageMax = 10000
)

// errPageFull stops the report's scan at a full page.
var errPageFull = errors.New("page full")

// crossBorderReport serves GET /v1/reports/cross-border: every FX payment
// committed in [from, to), with both amounts and currencies, the rate,
// the provider, the purpose and the participants — to the operator and
// the regulator, as JSON pages or (Accept: text/csv) one CSV document.
func (s *Server) crossBorderReport(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	from, err1 := time.Parse(time.RFC3339Nano, q.Get("from"))
	to, err2 := time.Parse(time.RFC3339Nano, q.Get("to"))
	if err1 != nil || err2 != nil {
		writeProblem(w, probInvalid, "from and to must be RFC 3339 times")
		return
	}
	var after int64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeProblem(w, probInvalid, "after must be the next of an earlier page")
			return
		}
		after = n
	}
	limit := crossBorderPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > crossBorderPageMax {
			writeProblem(w, probInvalid, "limit must be 1 to "+strconv.Itoa(crossBorderPageMax))
			return
		}
		limit = n
	}
	if wantsCSV(r) {
		s.crossBorderCSV(w, r, from, to)
		return
	}
	out := wire.CrossBorderReport{From: from.UTC(), To: to.UTC(), Transfers: []wire.CrossBorderPayment{}}
	err := s.Transfers.CrossBorders(r.Context(), from, to, after, func(c *transfer.CrossBorder) error {
		if len(out.Transfers) == limit {
			return errPageFull
		}
		out.Transfers = append(out.Transfers, crossBorderOut(c))
		out.Next = strconv.FormatInt(c.Seq(), 10)
		return nil
	})
	switch {
	case errors.Is(err, errPageFull):
	case err != nil:
		s.writeError(w, r, err)
		return
	default:
		out.Next = "" // the last page
	}
	reply(w, http.StatusOK, out)
}

func crossBorderOut(c *transfer.CrossBorder) wire.CrossBorderPayment {
	return wire.CrossBorderPayment{CommittedAt: c.CommittedAt, TransferID: c.TransferID, Payer: c.Payer, Payee: c.Payee,
		PayerAccount: c.PayerAccount, FX: *fxOut(&c.FX), SchemeFee: c.SchemeFee.Format(c.FX.SourceCurrency)}
}

// crossBorderHeader is the CSV report's header row.
var crossBorderHeader = []string{"committedAt", "transferId", "payer", "payee", "payerAccount", "provider",
	"sourceAmount", "sourceCurrency", "targetAmount", "targetCurrency", "rate", "providerFee", "schemeFee",
	"amountType", "purpose", "rounding"}

// crossBorderCSV streams the window's report as CSV. Once rows are
// written the status is sent: a failure after it aborts the response, so
// that the client sees a cut transfer rather than a short report.
func (s *Server) crossBorderCSV(w http.ResponseWriter, r *http.Request, from, to time.Time) {
	var cw *csv.Writer
	err := s.Transfers.CrossBorders(r.Context(), from, to, 0, func(c *transfer.CrossBorder) error {
		if cw == nil {
			cw = startCSV(w)
		}
		o := crossBorderOut(c)
		return cw.Write([]string{o.CommittedAt.Format(time.RFC3339Nano), csvText(o.TransferID), o.Payer, o.Payee,
			csvText(o.PayerAccount), o.FX.Provider, o.FX.SourceAmount, o.FX.SourceCurrency, o.FX.TargetAmount,
			o.FX.TargetCurrency, o.FX.Rate, o.FX.ProviderFee, o.SchemeFee, o.FX.AmountType, o.FX.Purpose, o.FX.Rounding})
	})
	switch {
	case err != nil && cw == nil:
		s.writeError(w, r, err)
	case err != nil:
		cw.Flush()
		panic(http.ErrAbortHandler)
	case cw == nil:
		startCSV(w).Flush()
	default:
		cw.Flush()
	}
}

// startCSV sends the CSV report's status, type and header row.
func startCSV(w http.ResponseWriter) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.Write(crossBorderHeader)
	return cw
}

// csvText keeps a participant's text from being read as a formula by a
// spreadsheet (OWASP's CSV injection): a cell that begins with = + - @
// or a control character is written after a single quote.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
