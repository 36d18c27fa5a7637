package callback_test

import (
	"context"
	"errors"
	"strings"
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

// TestRotatedSecret rotates a payee's callback secret: during the grace
// period callbacks carry a signature by each secret, so the payee
// verifies with either, and its answers may be signed with either; once
// the previous secret has expired, only the new one counts.
func TestRotatedSecret(t *testing.T) {
	e := newEnv(t)
	p, h := e.payee("bank-c", participant.Confirm, cny)
	old := h.secret
	fresh, _, err := e.Registry.RotateCallbackSecret(e.ctx, p.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	confirm := func(id string) error {
		p, _ := e.Registry.Get("bank-c")
		tr := transfer.Transfer{ID: id, State: transfer.Reserved, Payer: e.payer.ID, Amount: 1_00, Currency: cny,
			Payee: transfer.Payee{Type: "WALLET", Value: "bank-c:CNY", Participant: p.ID, Account: "acct-bank-c:CNY"}}
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		defer cancel()
		_, _, err := e.client.Confirm(ctx, p, tr)
		return err
	}
	lastSig := func() string {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.requests[len(h.requests)-1].header.Get(wire.SignatureHeader)
	}
	// The hook verifies requests and signs answers with the secret it
	// holds: the old one, then the new one.
	for _, s := range []string{old, fresh} {
		h.setSecret(s)
		if err := confirm("grace-" + s[:4]); err != nil {
			t.Fatalf("during the grace period, with the %s secret: %v", map[bool]string{true: "old", false: "new"}[s == old], err)
		}
	}
	if n := strings.Count(lastSig(), "v1="); n != 2 {
		t.Fatalf("during the grace period: %d signatures, want 2", n)
	}
	// A rotation without grace leaves only the newest secret.
	newest, _, err := e.Registry.RotateCallbackSecret(e.ctx, p.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.sign = func(_ *wire.Callback, _ string, answer []byte) string { return wire.Sign(fresh, time.Now(), answer) }
	h.mu.Unlock()
	h.setSecret(newest)
	if err := confirm("expired"); !errors.Is(err, callback.ErrRefused) {
		t.Fatalf("answer signed with an expired secret: %v, want ErrRefused", err)
	}
	h.mu.Lock()
	h.sign = nil
	h.mu.Unlock()
	if err := confirm("newest"); err != nil {
		t.Fatalf("with the newest secret: %v", err)
	}
	if n := strings.Count(lastSig(), "v1="); n != 1 {
		t.Fatalf("after the grace period: %d signatures, want 1", n)
	}
}
