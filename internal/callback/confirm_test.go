package callback_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// TestConfirmSignature checks that only an answer signed over its body
// with the payee's callback secret, recently, is the payee's decision:
// any other counts as no answer (ErrRefused).
func TestConfirmSignature(t *testing.T) {
	e := newEnv(t)
	p, h := e.payee("bank-c", participant.Confirm, cny)
	tests := []struct {
		name string
		sign func(secret string, answer []byte) string
		ok   bool
	}{
		{"signed", func(s string, a []byte) string { return wire.Sign(s, time.Now(), a) }, true},
		{"signed among others", func(s string, a []byte) string { return wire.SignAll([]string{"old", s}, time.Now(), a) }, true},
		{"unsigned", func(string, []byte) string { return "" }, false},
		{"other secret", func(_ string, a []byte) string { return wire.Sign("not the secret", time.Now(), a) }, false},
		{"other body", func(s string, _ []byte) string { return wire.Sign(s, time.Now(), []byte(`{"decision":"reject"}`)) }, false},
		{"stale", func(s string, a []byte) string { return wire.Sign(s, time.Now().Add(-time.Hour), a) }, false},
		{"garbage", func(string, []byte) string { return "t=1,v1=zz" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.mu.Lock()
			h.sign = func(_ *wire.Callback, secret string, answer []byte) string { return tt.sign(secret, answer) }
			h.mu.Unlock()
			tr := transfer.Transfer{ID: "t-" + tt.name, State: transfer.Reserved, Payer: e.payer.ID, Amount: 12_34, Currency: cny,
				Payee: transfer.Payee{Type: "WALLET", Value: "bank-c:CNY", Participant: p.ID, Account: "acct-bank-c:CNY"}}
			ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
			defer cancel()
			accept, _, err := e.client.Confirm(ctx, p, tr)
			if tt.ok && (err != nil || !accept) {
				t.Fatalf("Confirm = %v, %v; want accepted", accept, err)
			}
			if !tt.ok && (accept || !errors.Is(err, callback.ErrRefused)) {
				t.Fatalf("Confirm = %v, %v; want ErrRefused", accept, err)
			}
		})
	}
	h.mu.Lock()
	h.sign = nil
	h.mu.Unlock()
}
