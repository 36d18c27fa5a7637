package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// TestVerifyFX: hulian verify checks both legs of an FX payment — the
// payment leg (the payer's record) and the fx leg (what the payee was
// paid, at which rate, by whom) — for the payee and the payer; a switch that shows the payee another target amount, or
// another rate, than its fx leaf is caught.
func TestVerifyFX(t *testing.T) {
	s := startAuditSwitch(t, t.TempDir(), "", nil)
	defer s.stop()
	var a, p, h wire.Participant
	s.call("POST", "/v1/participants", auditOpToken, wire.NewParticipant{ID: "wallet-a", Name: "A", Kind: "wallet", Currencies: []string{"CNY"}}, &a)
	s.call("POST", "/v1/participants", auditOpToken, wire.NewParticipant{ID: "fx-one", Name: "FX", Kind: "fxp", Currencies: []string{"CNY", "HKD"}}, &p)
	s.call("POST", "/v1/participants", auditOpToken, wire.NewParticipant{ID: "wallet-h", Name: "H", Kind: "wallet", Currencies: []string{"HKD"}}, &h)
	s.call("POST", "/v1/participants/wallet-a/funds", auditOpToken, wire.Funds{Currency: "CNY", Amount: "1000.00", Direction: "deposit"}, nil)
	s.call("POST", "/v1/participants/fx-one/funds", auditOpToken, wire.Funds{Currency: "HKD", Amount: "1000.00", Direction: "deposit"}, nil)
	s.call("POST", "/v1/parties", h.APIKey, wire.NewParty{Type: "MSISDN", Value: "+85291234567", Name: "Wing", Account: "hk-1", Currency: "HKD"}, nil)
	s.call("PUT", "/v1/fx/rates/CNY/HKD", p.APIKey, wire.NewFXRate{Rate: "1.085", ValidUntil: time.Now().Add(time.Hour).UTC()}, nil)
	for i := range 2 {
		var q wire.Quote
		s.call("POST", "/v1/quotes", a.APIKey, wire.NewQuote{Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"}, Amount: "100.00", Currency: "CNY"}, &q)
		s.call("POST", "/v1/transfers", a.APIKey, wire.NewTransfer{ID: "fx-" + strconv.Itoa(i), Payee: wire.PayeeRef{Type: "MSISDN", Value: "+85291234567"},
			Amount: q.Amount, Currency: "CNY", QuoteID: q.ID, Purpose: "FAMI"}, nil)
	}
	for _, key := range []string{h.APIKey, a.APIKey} {
		out, err := runVerify(t, "--switch", s.app.URL(), "--token", key)
		if err != nil || !strings.Contains(out, "transfers: 2 checked") || !strings.Contains(out, "fx legs: 2 leaves") {
			t.Fatalf("verify: %v\n%s", err, out)
		}
	}
	// A switch that lies about the exchange in its answers, not its log.
	for _, lie := range []struct{ from, to, want string }{
		{`"targetAmount":"108.50"`, `"targetAmount":"109.50"`, "pays 108.50 HKD, the switch shows 109.50 HKD"},
		{`"rate":"1.085"`, `"rate":"1.095"`, "the switch shows fx-one at 1.095"},
	} {
		target, _ := url.Parse(s.app.URL())
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ModifyResponse = func(r *http.Response) error {
			if !strings.HasPrefix(r.Request.URL.Path, "/v1/transfers") {
				return nil
			}
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return err
			}
			b = bytes.ReplaceAll(b, []byte(lie.from), []byte(lie.to))
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			r.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		}
		srv := httptest.NewServer(proxy)
		out, err := runVerify(t, "--switch", srv.URL, "--token", h.APIKey)
		srv.Close()
		if err == nil || !strings.Contains(out, lie.want) {
			t.Errorf("a switch that shows %s: %v\n%s", lie.to, err, out)
		}
	}
}
