package api_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/transfer"
)

// TestFXQuoteCallback checks the fx.quote callback against the document:
// the request the switch sends matches its schema in both modes, and
// the answers the document shows, and no others, read as offers for the
// request.
func TestFXQuoteCallback(t *testing.T) {
	s := loadSpec(t)
	const hook = "/webhooks/fx.quote/post"
	cny, hkd, jpy := money.MustCurrency("CNY"), money.MustCurrency("HKD"), money.MustCurrency("JPY")
	expires := time.Date(2026, 3, 1, 8, 30, 5, 0, time.UTC)
	for _, tt := range []struct {
		q    transfer.LiveQuote
		want string
	}{
		{transfer.LiveQuote{Source: cny, Target: hkd, Amount: 100_00, Mode: fx.Send, Exclude: []string{"wallet-a", "wallet-h"}},
			`{"event":"fx.quote","id":"T5GQZK2XB7MJ3NWQYH4RDLCVEA","source":"CNY","target":"HKD","amount":"100.00","amountType":"SEND","expiresAt":"2026-03-01T08:30:05Z"}`},
		{transfer.LiveQuote{Source: cny, Target: jpy, Amount: 10_000, Mode: fx.Receive, Exclude: []string{"wallet-a", "wallet-j"}},
			`{"event":"fx.quote","id":"T5GQZK2XB7MJ3NWQYH4RDLCVEA","source":"CNY","target":"JPY","amount":"10000","amountType":"RECEIVE","expiresAt":"2026-03-01T08:30:05Z"}`},
	} {
		b, err := api.Callbacks{}.FXQuote("T5GQZK2XB7MJ3NWQYH4RDLCVEA", &tt.q, expires)
		if err != nil || string(b) != tt.want {
			t.Errorf("FXQuote(%+v) = %s, %v; want %s", tt.q, b, err, tt.want)
		}
		if err := s.validate(hook+"/requestBody/content/application~1json/schema", b); err != nil {
			t.Errorf("the document refuses %s: %v", b, err)
		}
	}

	q := transfer.LiveQuote{Source: cny, Target: hkd, Amount: 100_00, Mode: fx.Send}
	for _, tt := range []struct {
		name, answer string
		ok           bool
	}{
		{"the document's example", `{"id":"T5GQZK2XB7MJ3NWQYH4RDLCVEA","rate":"1.0901","validUntil":"2026-03-01T08:31:00Z","fee":{"fixed":"0.10","bps":10}}`, true},
		{"without id, with limits", `{"rate":"1.0901","validUntil":"2026-03-01T08:31:00Z","minAmount":"10","maxAmount":"50000.00"}`, true},
		{"unknown members are ignored", `{"rate":"1.0901","validUntil":"2026-03-01T08:31:00Z","comment":"best price"}`, true},
		{"another request's", `{"id":"ANOTHER","rate":"1.0901","validUntil":"2026-03-01T08:31:00Z"}`, false},
		{"rate as a number", `{"rate":1.0901,"validUntil":"2026-03-01T08:31:00Z"}`, false},
		{"no rate", `{"validUntil":"2026-03-01T08:31:00Z"}`, false},
		{"fixed fee in mills", `{"rate":"1.0901","validUntil":"2026-03-01T08:31:00Z","fee":{"fixed":"0.105"}}`, false},
		{"duplicate rate", `{"rate":"1.0901","rate":"9","validUntil":"2026-03-01T08:31:00Z"}`, false},
		{"not an object", `"1.0901"`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := api.Callbacks{}.FXOffer("T5GQZK2XB7MJ3NWQYH4RDLCVEA", &q, []byte(tt.answer))
			if !tt.ok {
				if err == nil {
					t.Fatalf("FXOffer(%s) = %+v, want an error", tt.answer, sh)
				}
				return
			}
			if err != nil || sh.Source != cny || sh.Target != hkd || sh.Rate.String() != "1.0901" || sh.Provider != "" ||
				!sh.ValidUntil.Equal(time.Date(2026, 3, 1, 8, 31, 0, 0, time.UTC)) {
				t.Fatalf("FXOffer(%s) = %+v, %v", tt.answer, sh, err)
			}
			sh.Provider = "fx-one" // the LiveQuoter's part
			if err := sh.Validate(sh.ValidUntil.Add(-time.Minute)); err != nil {
				t.Errorf("the offer does not validate: %v", err)
			}
			if strings.Contains(tt.answer, `"id"`) || strings.Contains(tt.answer, "comment") {
				return // the document's example is checked by TestOpenAPIDocument
			}
			if err := s.validate(hook+"/responses/200/content/application~1json/schema", []byte(tt.answer)); err != nil {
				t.Errorf("the document refuses %s: %v", tt.answer, err)
			}
		})
	}
	// A malformed sheet is the API's invalid-request, like PUT /v1/fx/rates.
	if _, err := (api.Callbacks{}).FXOffer("x", &q, []byte(`{"rate":"1.09","validUntil":"2026-03-01T08:31:00Z","minAmount":"0.001"}`)); !errors.Is(err, fx.ErrSheet) {
		t.Errorf("minAmount finer than the currency: %v, want fx.ErrSheet", err)
	}
}
