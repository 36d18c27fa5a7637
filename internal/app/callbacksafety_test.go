package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// notPublic are callback URLs a switch without --callback-allow-private
// refuses at registration: internal addresses, and plain http.
var notPublic = []string{
	"http://127.0.0.1:8080/hulian",
	"https://127.0.0.1/hulian",
	"https://169.254.169.254/",
	"https://10.0.0.7/hulian",
	"https://192.168.1.20/hulian",
	"https://100.64.0.1/hulian",
	"https://0.0.0.0/hulian",
	"https://[::1]/hulian",
	"https://[fd00::1]/hulian",
	"https://[::ffff:127.0.0.1]/hulian",
	"https://localhost/hulian",
	"https://2130706433/hulian",
	"http://wallet.example.com/hulian",
}

// TestCallbackURLPolicy registers and patches callback URLs on a switch
// that does not allow private callbacks: every internal address, and
// plain http, is refused with 400 invalid-request; a public https URL is
// taken.
func TestCallbackURLPolicy(t *testing.T) {
	eachEngine(t, func(c *app.Config) { c.Callback.AllowPrivate = false }, func(t *testing.T, s *sw) {
		for i, u := range notPublic {
			s.problem(400, "invalid-request", "POST", "/v1/participants", opToken, wire.NewParticipant{
				ID: "wallet-x", Name: "X", Kind: "wallet", Currencies: []string{"CNY"}, CallbackURL: u})
			if i == 0 {
				// Not even in confirm mode, which needs a callback.
				s.problem(400, "invalid-request", "POST", "/v1/participants", opToken, wire.NewParticipant{
					ID: "bank-x", Name: "X", Kind: "bank", Currencies: []string{"CNY"}, CallbackURL: u, Acceptance: "confirm"})
			}
		}
		key, _ := s.participant("wallet-a", func(np *wire.NewParticipant) { np.CallbackURL = "https://wallet-a.example.com/hulian" })
		for _, u := range notPublic {
			s.problem(400, "invalid-request", "PATCH", "/v1/participants/wallet-a", key, wire.ParticipantPatch{CallbackURL: &u})
			s.problem(400, "invalid-request", "PATCH", "/v1/participants/wallet-a", opToken, wire.ParticipantPatch{CallbackURL: &u})
		}
		var p wire.Participant
		s.ok(200, "GET", "/v1/participants/wallet-a", key, nil, &p)
		if p.CallbackURL != "https://wallet-a.example.com/hulian" {
			t.Fatalf("callback URL after refused patches: %q", p.CallbackURL)
		}
		public := "https://[2606:4700:4700::1111]:8443/hulian"
		s.ok(200, "PATCH", "/v1/participants/wallet-a", key, wire.ParticipantPatch{CallbackURL: &public}, nil)
	})
}

// TestCallbackURLAllowPrivate checks that --callback-allow-private (on
// in the harness) lets tests, the demo and development use loopback and
// plain http.
func TestCallbackURLAllowPrivate(t *testing.T) {
	s := start(t, "", nil)
	for i, u := range notPublic {
		s.ok(201, "POST", "/v1/participants", opToken, wire.NewParticipant{
			ID: "wallet-" + string(rune('a'+i)), Name: "X", Kind: "wallet", Currencies: []string{"CNY"}, CallbackURL: u}, nil)
	}
}

// signingPayee is a confirm-mode payee that answers every confirm with
// accept, signed as the transfer's note says: "unsigned", "wrong secret"
// (signed with another key), "stale" (an hour old), "other body" (a
// signature of another answer), or properly.
type signingPayee struct {
	mu     sync.Mutex
	secret string
	url    string
}

func newSigningPayee(t *testing.T) *signingPayee {
	p := &signingPayee{}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p.url = "http://" + ln.Addr().String() + "/hulian"
	return p
}

func (p *signingPayee) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	secret := p.secret
	p.mu.Unlock()
	var cb wire.Callback
	if wire.Verify(r.Header.Get(wire.SignatureHeader), secret, body, time.Now(), 5*time.Minute) != nil || json.Unmarshal(body, &cb) != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if cb.Event != wire.EventTransferConfirm {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, _ := json.Marshal(wire.Decision{Decision: "accept"})
	sig := wire.Sign(secret, time.Now(), b)
	switch cb.Transfer.Note {
	case "unsigned":
		sig = ""
	case "wrong secret":
		sig = wire.Sign("not the callback secret", time.Now(), b)
	case "stale":
		sig = wire.Sign(secret, time.Now().Add(-time.Hour), b)
	case "other body":
		sig = wire.Sign(secret, time.Now(), []byte(`{"decision":"reject"}`))
	}
	if sig != "" {
		w.Header().Set(wire.SignatureHeader, sig)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// TestConfirmAnswerSigned pays a confirm-mode payee that accepts every
// transfer: only the answers signed with its callback secret commit; an
// unsigned or wrongly signed accept counts as no answer, and the
// transfer aborts with the money back with the payer.
func TestConfirmAnswerSigned(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		payee := newSigningPayee(t)
		a, _ := s.participant("wallet-a", nil)
		b, secret := s.participant("bank-b", func(np *wire.NewParticipant) {
			np.Kind, np.CallbackURL, np.Acceptance = "bank", payee.url, "confirm"
		})
		payee.mu.Lock()
		payee.secret = secret
		payee.mu.Unlock()
		s.deposit("wallet-a", "500.00")
		s.party(b, "EMAIL", "li.si@example.cn", "李四", "acct-9")
		for i, note := range []string{"unsigned", "wrong secret", "stale", "other body", "signed"} {
			tr := pay("sig-"+strings.ReplaceAll(note, " ", "-"), "EMAIL", "li.si@example.cn", "10.00")
			tr.Note = note
			var got wire.Transfer
			s.ok(201, "POST", "/v1/transfers", a, tr, &got)
			want := "ABORTED"
			if note == "signed" {
				want = "COMMITTED"
			}
			if got.State != want {
				t.Fatalf("%d: answer %s: transfer %+v, want %s", i, note, got, want)
			}
		}
		if ab := s.balance(a, "wallet-a"); ab.Balance != "490.00" || ab.Reserved != "0.00" {
			t.Fatalf("payer %+v", ab)
		}
		if bb := s.balance(b, "bank-b"); bb.Balance != "10.00" {
			t.Fatalf("payee %+v", bb)
		}
	})
}
