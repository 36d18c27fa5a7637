package api

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/participant"
)

// keys authenticates one participant key.
type keys struct{}

func (keys) AuthenticateKey(key string) (participant.Participant, bool, error) {
	if key == "wallet-a.k" {
		return participant.Participant{ID: "wallet-a", Status: participant.Active}, false, nil
	}
	return participant.Participant{}, false, participant.ErrUnauthorized
}

// TestBodyBudget: a request whose body would take the caller's bytes in
// flight past its bound is refused 429 rate-limited, past the switch's
// bound 503 unavailable; nothing of it is handled, and what it was
// charged is given back.
func TestBodyBudget(t *testing.T) {
	const op = "operator-token-0123456789abcdef-0123"
	authn, err := auth.NewAuthenticator(sha256.Sum256([]byte(op)), [sha256.Size]byte{}, keys{})
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	cfg.EnsureDefaults()
	s, err := New(cfg, Deps{Auth: authn})
	if err != nil {
		t.Fatal(err)
	}
	post := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/transfers", strings.NewReader(`{"id":"x"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	c := s.client("wallet-a")
	c.inflight.Store(bodyInflightPerCaller)
	if rec := post("wallet-a.k"); rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "rate-limited") {
		t.Fatalf("past the caller's bound: %d %s", rec.Code, rec.Body)
	}
	if got := c.inflight.Load(); got != bodyInflightPerCaller {
		t.Fatalf("the refused body was not given back: %d bytes in flight", got-bodyInflightPerCaller)
	}
	c.inflight.Store(0)
	s.bodyBytes.Store(bodyInflightTotal)
	if rec := post("wallet-a.k"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "unavailable") {
		t.Fatalf("past the switch's bound: %d %s", rec.Code, rec.Body)
	}
	if s.bodyBytes.Load() != bodyInflightTotal || c.inflight.Load() != 0 {
		t.Fatalf("charges not given back: %d total, %d the caller's", s.bodyBytes.Load()-bodyInflightTotal, c.inflight.Load())
	}
}
