package connector

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// Config says where the connector's ends are and how it behaves.
// EnsureDefaults states every default; Validate refuses what is missing
// or out of range.
type Config struct {
	// SwitchURL is the switch's API base URL ("https://switch.example").
	SwitchURL string
	// APIKey is the participant's API key, as the switch issued it at
	// onboarding ("<participant id>.<secret>").
	APIKey string
	// Participant is the participant's id; empty means the one the API
	// key names. The switch confirms it at start.
	Participant string
	// CallbackSecrets verify the switch's callbacks: any of them may
	// match (two during a rotation). The first signs confirm answers.
	CallbackSecrets []string
	// BackendURL is the participant's core system, where the connector
	// POSTs /incoming.
	BackendURL string
	// BackendSecrets, if set, sign every POST /incoming: a
	// Hulian-Signature header over the exact body, in the format of the
	// switch's callback signatures (wire.SignAll: one v1= per secret,
	// two during a rotation), so that the backend can refuse a forged
	// credit. Optional.
	BackendSecrets []string
	// BackendToken, if set, is sent with every POST /incoming as a
	// Bearer token, for a backend behind an API gateway. Optional.
	BackendToken string
	// Listen is the address of the connector's listener: the callbacks,
	// and the backend API unless APIListen is set. Port 0 picks one.
	Listen string
	// APIListen, if set, serves the backend API on a listener of its
	// own, so that Listen can be exposed to the switch (through a proxy)
	// while the API stays on a private interface.
	APIListen string
	// CallbackURL is where the switch must send callbacks, when the
	// connector sits behind a proxy; empty means
	// http://<Listen>/hulian/callbacks.
	CallbackURL string
	// DataDir holds the connector's record, connector.db.
	DataDir string
	// APIToken, if set, must be presented by the backend as a Bearer
	// token on every call of the backend API.
	APIToken string
	// Acceptance, if set ("notify" or "confirm"), is the acceptance mode
	// the connector sets at start; empty leaves it as it is.
	Acceptance string

	// ConfirmTimeout bounds how long a confirm request waits for the
	// backend's decision before the connector rejects the transfer. It
	// must stay below the switch's confirm timeout (5 s by default),
	// which counts the network both ways too (3 s).
	ConfirmTimeout time.Duration
	// PaymentWait bounds how long POST /payments waits for the payment's
	// final state before it answers PENDING (30 s).
	PaymentWait time.Duration
	// SwitchTimeout bounds one request to the switch (20 s).
	SwitchTimeout time.Duration
	// BackendTimeout bounds one delivery to the backend (10 s).
	BackendTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts, towards
	// the switch and the backend (200 ms, 30 s).
	RetryMin, RetryMax time.Duration
	// ResolveEvery is how often the background loop looks for payments
	// left PENDING (2 s).
	ResolveEvery time.Duration
	// OutboxMax bounds the incoming transfers not yet delivered to the
	// backend (100,000): once it is reached, notifications are answered
	// 503 and the switch keeps them until the backend catches up. (One
	// notification is taken whole, so the outbox may pass the bound by
	// its transfers, at most 1,000.)
	OutboxMax int
	// PaymentsMax bounds the payments driven at once (64); ConfirmsMax
	// the confirm requests asking the backend at once (64); RequestsMax
	// the backend API requests served at once (256).
	PaymentsMax, ConfirmsMax, RequestsMax int
	// SignatureTolerance is how old a callback's signature may be (5 min):
	// it bounds replays of a captured callback.
	SignatureTolerance time.Duration

	// Log receives the connector's log; nil discards it.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// HTTP sends the requests to the switch and to the backend; nil is
	// a client of the connector's own.
	HTTP *http.Client
}

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	for _, f := range []struct {
		p *time.Duration
		d time.Duration
	}{{&c.ConfirmTimeout, 3 * time.Second}, {&c.PaymentWait, 30 * time.Second}, {&c.SwitchTimeout, 20 * time.Second},
		{&c.BackendTimeout, 10 * time.Second}, {&c.RetryMin, 200 * time.Millisecond}, {&c.RetryMax, 30 * time.Second},
		{&c.ResolveEvery, 2 * time.Second}, {&c.SignatureTolerance, 5 * time.Minute}} {
		if *f.p == 0 {
			*f.p = f.d
		}
	}
	for _, f := range []struct {
		p *int
		d int
	}{{&c.OutboxMax, 100_000}, {&c.PaymentsMax, 64}, {&c.ConfirmsMax, 64}, {&c.RequestsMax, 256}} {
		if *f.p == 0 {
			*f.p = f.d
		}
	}
	if c.Participant == "" {
		c.Participant = participantOfKey(c.APIKey)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HTTP == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		c.HTTP = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
}

// participantOfKey returns the participant id an API key names: the
// switch issues keys as "<participant id>.<secret>", and the secret has
// no dot.
func participantOfKey(key string) string {
	i := strings.LastIndexByte(key, '.')
	if i <= 0 {
		return ""
	}
	return key[:i]
}

// Validate reports what is missing or out of range, all of it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := checkBase(c.SwitchURL); err != nil {
		bad("switch URL: %v", err)
	}
	if err := checkBase(c.BackendURL); err != nil {
		bad("backend URL: %v", err)
	}
	if c.CallbackURL != "" {
		if err := checkBase(c.CallbackURL); err != nil {
			bad("callback URL: %v", err)
		}
	}
	if c.APIKey == "" || strings.ContainsAny(c.APIKey, " \t\r\n") {
		bad("API key: empty or with spaces")
	}
	if c.Participant == "" {
		bad("participant: none given, and the API key names none")
	}
	if len(c.CallbackSecrets) == 0 {
		bad("callback secret: none")
	}
	for _, s := range c.CallbackSecrets {
		if len(s) < 16 || strings.ContainsAny(s, " \t\r\n") {
			bad("callback secret: shorter than 16 characters or with spaces")
			break
		}
	}
	if len(c.BackendSecrets) > wire.SignaturesMax {
		bad("backend secret: %d of them, at most %d", len(c.BackendSecrets), wire.SignaturesMax)
	}
	for _, s := range c.BackendSecrets {
		if len(s) < 16 || strings.ContainsAny(s, " \t\r\n") {
			bad("backend secret: shorter than 16 characters or with spaces")
			break
		}
	}
	if strings.ContainsFunc(c.BackendToken, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		bad("backend token: with spaces or control characters")
	}
	for name, addr := range map[string]string{"listen": c.Listen, "API listen": c.APIListen} {
		if addr == "" && name == "API listen" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s address %q: %v", name, addr, err)
		}
	}
	if c.DataDir == "" {
		bad("data directory: none")
	}
	if c.Acceptance != "" && c.Acceptance != "notify" && c.Acceptance != "confirm" {
		bad("acceptance %q: want notify or confirm", c.Acceptance)
	}
	for name, d := range map[string]time.Duration{"confirm timeout": c.ConfirmTimeout, "payment wait": c.PaymentWait,
		"switch timeout": c.SwitchTimeout, "backend timeout": c.BackendTimeout, "retry min": c.RetryMin, "resolve every": c.ResolveEvery,
		"signature tolerance": c.SignatureTolerance} {
		if d <= 0 {
			bad("%s %v: must be positive", name, d)
		}
	}
	if c.RetryMax < c.RetryMin {
		bad("retry max %v below retry min %v", c.RetryMax, c.RetryMin)
	}
	for name, n := range map[string]int{"outbox max": c.OutboxMax, "payments max": c.PaymentsMax, "confirms max": c.ConfirmsMax,
		"requests max": c.RequestsMax} {
		if n < 1 || n > 10_000_000 {
			bad("%s %d: must be 1 to 10,000,000", name, n)
		}
	}
	return errors.Join(errs...)
}

// checkBase checks an http(s) base URL without query or fragment.
func checkBase(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want http:// or https://", s)
	case u.Host == "":
		return fmt.Errorf("%q: no host", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q: no query, fragment or user info", s)
	}
	return nil
}
