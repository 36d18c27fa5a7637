// Package conformance checks a participant's own implementation of the
// participant side of Hulian against the scheme's rules, from outside,
// the way the switch exercises it: `hulian conformance`. Pix and UPI call
// this homologation; every participant passes it before it goes live.
//
// With the participant's API key the suite reads the participant at the
// switch (its callbackUrl and acceptance mode) and checks the alias rules
// through the switch's API. With its callback secret it sends the
// participant callbacks exactly as the switch does (package callback: the
// same JSON, the same Hulian-Signature) and asks the participant's
// conformance probe what it booked, since a black box cannot otherwise
// show whether a redelivered callback was counted twice:
//
//	GET {callbackUrl}/conformance/transfers/{transferId}
//	Hulian-Signature: wire.Sign(callbackSecret, now, <the request's URL path>)
//	→ 200 {"transferId", "credits", "amount", "currency"}, 404 never credited, 401 unsigned
//
// The callbacks carry synthetic transfers that the switch never made:
// ids "conformance-<run>-<n>", one minor unit each, payer
// "conformance-payer", and a note that says so, so that a participant's
// books can tell them apart. Run the suite against a homologation
// participant, not one whose books settle real money: a participant
// cannot tell a well-signed synthetic notification from the switch's,
// and credits it.
//
// Every case, the rule it checks and the report are described in
// docs/conformance.md; Cases lists them.
package conformance

import (
	"context"
	crand "crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// Config says which participant to check, at which switch, with which
// credentials. EnsureDefaults states the defaults; Validate refuses what
// cannot run.
type Config struct {
	// Switch is the switch's URL ("https://switch.example").
	Switch string
	// Participant is the participant's id at the switch.
	Participant string
	// APIKey is the participant's API key: the suite reads the
	// participant and registers aliases with it.
	APIKey string
	// CallbackSecret is the participant's callback secret. Without it
	// the suite can neither sign callbacks nor probe, and the cases that
	// need it are skipped.
	CallbackSecret string
	// ConfirmDeadline is the switch's confirm timeout (its
	// --confirm-timeout, 5 s by default), which the switch does not
	// publish: a confirm request answered later counts as no answer.
	ConfirmDeadline time.Duration
	// Timeout bounds every other request (10 s, the switch's bound on a
	// callback).
	Timeout time.Duration
	// PayeeAccount is the payee account the synthetic transfers name
	// ("conformance-account"): a participant may point it at a test user
	// of its own, which a confirm-mode participant then accepts.
	PayeeAccount string
	// ForeignAlias is an alias held by another participant, as
	// "TYPE/VALUE", for the cases that must not touch it; empty means
	// one found among the payees of the participant's own payments, and
	// the cases are skipped if there is none.
	ForeignAlias string
	// Phone is the E.164 number the alias cases register and delete;
	// empty means one drawn at random from +61 491 57x xxx (and drawn
	// again if another participant holds it).
	Phone string
	// Run tags this run's synthetic transfer ids and alias account;
	// empty means a fresh random one.
	Run string
	// HTTP calls the switch; nil means a client with default transport.
	HTTP *http.Client
	// Progress, if set, gets one line per case as it runs.
	Progress io.Writer
	// Now is the clock that signs callbacks; nil means time.Now.
	Now func() time.Time
}

// The defaults of Config.
const (
	DefaultConfirmDeadline = 5 * time.Second
	DefaultTimeout         = 10 * time.Second
	DefaultPayeeAccount    = "conformance-account"
)

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	if c.ConfirmDeadline == 0 {
		c.ConfirmDeadline = DefaultConfirmDeadline
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PayeeAccount == "" {
		c.PayeeAccount = DefaultPayeeAccount
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{}
	}
	c.Switch = strings.TrimRight(c.Switch, "/")
}

// Validate reports the first field that cannot run.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Switch)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("switch URL %q: want http(s)://host[:port]", c.Switch)
	case c.Participant == "":
		return errors.New("participant id missing")
	case c.APIKey == "":
		return errors.New("API key missing")
	case c.ConfirmDeadline <= 0 || c.Timeout <= 0:
		return errors.New("confirm deadline and timeout must be positive")
	case c.Run != "" && !idSafe(c.Run):
		return fmt.Errorf("run tag %q: letters, digits and '-' only", c.Run)
	}
	if c.ForeignAlias != "" {
		if t, v, ok := strings.Cut(c.ForeignAlias, "/"); !ok || t == "" || v == "" {
			return fmt.Errorf("foreign alias %q: want TYPE/VALUE", c.ForeignAlias)
		}
	}
	return nil
}

// idSafe says whether s needs no escaping in a URL path or a transfer id.
func idSafe(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return s != ""
}

// Status is a case's outcome.
type Status string

// The outcomes of a case.
const (
	// Pass: the participant follows the rule.
	Pass Status = "PASS"
	// Fail: it broke the rule; Result.Reason says how.
	Fail Status = "FAIL"
	// Skip: the case could not be built (no callback secret, notify
	// mode for the confirm cases, no foreign alias); Reason says why.
	Skip Status = "SKIP"
)

// Result is one case's outcome.
type Result struct {
	Case   string
	Rule   string
	Status Status
	Took   time.Duration
	// Reason says why a case failed or was skipped.
	Reason string
}

// Report is a run's outcome.
type Report struct {
	Switch      string
	Participant string
	// CallbackURL and Acceptance are the participant's, as the switch
	// holds them ("" if they could not be read).
	CallbackURL string
	Acceptance  string
	// Run is the tag in this run's synthetic transfer ids.
	Run     string
	Started time.Time
	Took    time.Duration
	Results []Result
}

// Count returns how many cases ended with status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == s {
			n++
		}
	}
	return n
}

// CaseInfo names a case and the rule it checks.
type CaseInfo struct {
	Name string
	Rule string
}

// Cases lists the cases in the order they run.
func Cases() []CaseInfo {
	out := make([]CaseInfo, len(cases))
	for i, c := range cases {
		out[i] = CaseInfo{c.name, c.rule}
	}
	return out
}

// need says what a case needs besides the participant read at the switch.
type need uint8

const (
	needCallbacks need = 1 << iota // the callback secret and a callback URL
	needConfirm                    // confirm mode
)

// testCase is one rule checked. run returns nil when the participant
// follows it, a skip when the case cannot be built, and any other error
// to say how the participant broke it.
type testCase struct {
	name  string
	rule  string
	needs need
	run   func(ctx context.Context, s *session) error
}

// skip is a case that could not be built; its text says why.
type skip string

func (s skip) Error() string { return string(s) }

// failf is a broken rule, stated for the participant's developer.
func failf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// session is one run's state, shared by its cases, which run one after
// the other.
type session struct {
	cfg      Config
	api      *switchClient
	cb       *http.Client // calls the participant, as the switch does
	me       wire.Participant
	meErr    error // why the participant could not be read
	currency money.Currency
	amount   string // one minor unit: every synthetic transfer's
	callback *url.URL
	seq      int
	run      string

	ownAlias    *wire.Party // registered by alias.register-valid, until deleted
	foreign     *wire.PartyLookup
	foreignDone bool // looked for it already
}

// Run runs every case against the participant, in order, and returns
// the report. Its error is about the configuration only: how each case
// went, setup included, is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	s := &session{cfg: cfg, api: &switchClient{base: cfg.Switch, token: cfg.APIKey, hc: cfg.HTTP}, cb: callbackClient(), run: cfg.Run}
	if s.run == "" {
		var b [5]byte
		crand.Read(b[:])
		s.run = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	}
	rep := &Report{Switch: cfg.Switch, Participant: cfg.Participant, Run: s.run, Started: time.Now()}
	defer s.cleanup(context.WithoutCancel(ctx))
	for _, c := range cases {
		start := time.Now()
		var err error
		if reason := s.cannot(c.needs, c.name); reason != "" {
			err = skip(reason)
		} else {
			cctx, cancel := context.WithTimeout(ctx, caseTimeout(&cfg))
			err = c.run(cctx, s)
			cancel()
		}
		res := Result{Case: c.name, Rule: c.rule, Status: Pass, Took: time.Since(start)}
		var sk skip
		switch {
		case errors.As(err, &sk):
			res.Status, res.Reason = Skip, string(sk)
		case err != nil:
			res.Status, res.Reason = Fail, err.Error()
		}
		rep.Results = append(rep.Results, res)
		if cfg.Progress != nil {
			fmt.Fprintln(cfg.Progress, progressLine(res))
		}
		if c.name == caseParticipant && s.meErr == nil {
			rep.CallbackURL, rep.Acceptance = s.me.CallbackURL, s.me.Acceptance
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "    callbackUrl %s, %s mode; synthetic transfers conformance-%s-*\n",
					orNone(s.me.CallbackURL), s.me.Acceptance, s.run)
			}
		}
	}
	rep.Took = time.Since(rep.Started)
	return rep, nil
}

// caseTimeout bounds one case: a few requests, each bounded on its own.
func caseTimeout(cfg *Config) time.Duration {
	return 4*max(cfg.Timeout, cfg.ConfirmDeadline) + 30*time.Second
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// progressLine is a case's line as it ends: its name, status, time and
// why it failed or was skipped.
func progressLine(r Result) string {
	line := fmt.Sprintf("%-38s %s %8s", r.Case, r.Status, r.Took.Round(time.Millisecond))
	if r.Reason != "" {
		line += "  " + r.Reason
	}
	return line
}

// cannot says why a case that needs n cannot run, or "".
func (s *session) cannot(n need, name string) string {
	if name == caseParticipant {
		return ""
	}
	switch {
	case s.meErr != nil:
		return "the participant could not be read at the switch (" + caseParticipant + ")"
	case n&needCallbacks != 0 && s.cfg.CallbackSecret == "":
		return "no callback secret (--callback-secret): the suite can neither sign callbacks as the switch does nor probe"
	case n&needCallbacks != 0 && s.callback == nil:
		return "the participant has no usable callbackUrl at the switch"
	case n&needConfirm != 0 && s.me.Acceptance != "confirm":
		return "the participant takes transfers in " + s.me.Acceptance + " mode: the switch never asks it to confirm (PATCH acceptance to confirm to check)"
	}
	return ""
}

// id returns a fresh synthetic transfer id of this run.
func (s *session) id() string {
	s.seq++
	return fmt.Sprintf("conformance-%s-%d", s.run, s.seq)
}

// cleanup deletes what the alias cases registered and did not delete.
func (s *session) cleanup(ctx context.Context) {
	if s.ownAlias == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.api.deleteParty(ctx, s.ownAlias.Type, s.ownAlias.Value)
}
