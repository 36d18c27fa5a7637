package app_test

import (
	"testing"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// TestFXRates: through real HTTP on both engines, an FX provider
// publishes, replaces and withdraws rate sheets; participants see the
// valid ones without who made them, the operator sees who; others may
// not publish, and malformed or lapsed sheets are refused.
func TestFXRates(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		pKey, _ := s.participant("fx-one", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD", "USD"} })
		qKey, _ := s.participant("fx-two", func(n *wire.NewParticipant) { n.Kind, n.Currencies = "fxp", []string{"CNY", "HKD"} })
		wKey, _ := s.participant("wallet-a", nil)
		until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		var r wire.FXRate
		s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", pKey, wire.NewFXRate{Rate: "1.0913", ValidUntil: until, MinAmount: "1.00",
			MaxAmount: "50000.00", Fee: &wire.FXFee{Fixed: "0.50", BPS: 10}}, &r)
		if r.Provider != "fx-one" || r.Rate != "1.0913" || r.Source != "CNY" || r.Target != "HKD" || r.Fee.Fixed != "0.50" || r.MaxAmount != "50000.00" {
			t.Errorf("published: %+v", r)
		}
		s.ok(200, "PUT", "/v1/fx/rates/CNY/HKD", pKey, wire.NewFXRate{Rate: "1.0920", ValidUntil: until}, &r)
		s.ok(201, "PUT", "/v1/fx/rates/CNY/HKD", qKey, wire.NewFXRate{Rate: "1.0899", ValidUntil: until}, nil)
		s.ok(201, "PUT", "/v1/fx/rates/CNY/USD", pKey, wire.NewFXRate{Rate: "0.1378", ValidUntil: until}, nil)
		// Refused.
		s.problem(403, "forbidden", "PUT", "/v1/fx/rates/CNY/HKD", wKey, wire.NewFXRate{Rate: "1.09", ValidUntil: until})
		s.problem(403, "forbidden", "PUT", "/v1/fx/rates/CNY/USD", qKey, wire.NewFXRate{Rate: "0.13", ValidUntil: until})
		for _, bad := range []wire.NewFXRate{
			{Rate: "0", ValidUntil: until},
			{Rate: "-1.2", ValidUntil: until},
			{Rate: "1e3", ValidUntil: until},
			{Rate: "1.09", ValidUntil: time.Now().Add(-time.Minute)},
			{Rate: "1.09", ValidUntil: time.Now().Add(8 * 24 * time.Hour)},
			{Rate: "1.09", ValidUntil: until, MinAmount: "10.00", MaxAmount: "1.00"},
		} {
			s.problem(400, "invalid-request", "PUT", "/v1/fx/rates/CNY/HKD", pKey, bad)
		}
		s.problem(400, "invalid-request", "PUT", "/v1/fx/rates/CNY/CNY", pKey, wire.NewFXRate{Rate: "1", ValidUntil: until})
		s.problem(403, "forbidden", "PUT", "/v1/fx/rates/CNY/HKD", opToken, wire.NewFXRate{Rate: "1.09", ValidUntil: until})
		// Seen.
		var rates wire.FXRates
		s.ok(200, "GET", "/v1/fx/rates", wKey, nil, &rates)
		if len(rates.Rates) != 3 {
			t.Fatalf("a wallet sees %d rates: %+v", len(rates.Rates), rates)
		}
		for _, x := range rates.Rates {
			if x.Provider != "" {
				t.Errorf("a wallet sees who: %+v", x)
			}
		}
		s.ok(200, "GET", "/v1/fx/rates?source=CNY&target=HKD", opToken, nil, &rates)
		if len(rates.Rates) != 2 || rates.Rates[0].Provider != "fx-one" || rates.Rates[0].Rate != "1.092" || rates.Rates[1].Provider != "fx-two" {
			t.Errorf("the operator sees: %+v", rates)
		}
		s.ok(200, "GET", "/v1/fx/rates", qKey, nil, &rates)
		for _, x := range rates.Rates {
			if (x.Provider == "fx-two") != (x.Rate == "1.0899") {
				t.Errorf("a provider sees its own, not others': %+v", x)
			}
		}
		// Withdrawn.
		r2 := s.do("DELETE", "/v1/fx/rates/CNY/HKD", qKey, nil)
		if r2.status != 204 {
			t.Fatalf("withdraw: %d %s", r2.status, r2.body)
		}
		s.problem(404, "not-found", "DELETE", "/v1/fx/rates/CNY/HKD", qKey, nil)
		s.problem(403, "forbidden", "DELETE", "/v1/fx/rates/CNY/HKD", wKey, nil)
		s.ok(200, "GET", "/v1/fx/rates?source=CNY&target=HKD", wKey, nil, &rates)
		if len(rates.Rates) != 1 {
			t.Errorf("after a withdrawal: %+v", rates)
		}
	})
}
