package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// TestCloseFinishesPaymentsInFlight: closing the switch while a payment
// waits for a confirm-mode payee lets it finish — the payee's accept is
// committed and the payer gets its answer — before the journal and the
// stores close.
func TestCloseFinishesPaymentsInFlight(t *testing.T) {
	// The payee answers after 3.2 s, within its 4 s: longer than a
	// fixed grace of 3 s would have waited.
	eachEngine(t, func(c *app.Config) { c.ConfirmTimeout = 4 * time.Second }, func(t *testing.T, s *sw) {
		hb := newHook(t)
		hb.delay = 3200 * time.Millisecond
		a, _ := s.participant("wallet-a", nil)
		b, secret := s.participant("bank-b", func(np *wire.NewParticipant) {
			np.Kind, np.CallbackURL, np.Acceptance = "bank", hb.url, "confirm"
		})
		hb.mu.Lock()
		hb.secret = secret
		hb.mu.Unlock()
		s.deposit("wallet-a", "100.00")
		s.party(b, "WALLET", "b:1", "B One", "1")

		answered := make(chan resp, 1)
		go func() {
			body, _ := json.Marshal(pay("f-1", "WALLET", "b:1", "10.00"))
			req, _ := http.NewRequest("POST", s.url+"/v1/transfers", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+a)
			r, err := s.hc.Do(req)
			if err != nil {
				answered <- resp{body: []byte(err.Error())}
				return
			}
			defer r.Body.Close()
			b, _ := io.ReadAll(r.Body)
			answered <- resp{status: r.StatusCode, body: b}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			hb.mu.Lock()
			n := len(hb.confirms)
			hb.mu.Unlock()
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the payee was never asked")
			}
			time.Sleep(5 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.app.Close(ctx); err != nil {
			t.Fatalf("close: %v", err)
		}
		select {
		case r := <-answered:
			var tr wire.Transfer
			if err := json.Unmarshal(r.body, &tr); r.status != 201 || err != nil || tr.State != "COMMITTED" {
				t.Fatalf("the payer got %d %s", r.status, r.body)
			}
		default:
			t.Fatal("Close returned before the payment in flight was answered")
		}
	})
}
