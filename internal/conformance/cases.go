package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// caseParticipant is the first case: the others need what it reads.
const caseParticipant = "participant.readable"

// cases are the rules, in the order they run; docs/conformance.md
// describes each (a test holds the two together).
var cases = []testCase{
	{caseParticipant, "The participant reads itself at the switch with its API key: active, with a currency, a callbackUrl and an acceptance mode.", 0, participantReadable},

	{"probe.unsigned", "The conformance probe refuses a request without a valid signature (401): it tells who was paid what.", needCallbacks, probeUnsigned},
	{"probe.unknown", "The probe of a transfer never delivered answers 404 with a problem document.", needCallbacks, probeUnknown},

	{"signature.missing", "A callback without Hulian-Signature is refused (401) and changes nothing.", needCallbacks, signatureMissing},
	{"signature.wrong-secret", "A callback signed with another secret is refused (401) and changes nothing.", needCallbacks, signatureWrongSecret},
	{"signature.stale", "A callback signed 10 minutes ago, or 10 minutes ahead, is refused (401) and changes nothing: replays of captured callbacks are bounded.", needCallbacks, signatureStale},
	{"signature.other-body", "A valid signature of another body is refused (401): the signature covers the exact bytes received.", needCallbacks, signatureOtherBody},
	{"signature.malformed-header", "A malformed Hulian-Signature (no timestamp, no v1, not hex) is refused (401), never a crash.", needCallbacks, signatureMalformed},
	{"signature.confirm", "A confirm request without a valid signature is refused (401) and gets no signed decision.", needCallbacks, signatureConfirm},

	{"notification.accepted", "A well-signed transfers.committed is answered 2xx and credits the transfer once, with its amount and currency.", needCallbacks, notificationAccepted},
	{"notification.redelivered", "The same notification delivered again (re-signed, as the switch retries) is answered 2xx and credits nothing more.", needCallbacks, notificationRedelivered},
	{"notification.redelivered-in-batch", "A redelivery that carries a transfer already credited and a new one credits the new one once and the old one not again.", needCallbacks, notificationRedeliveredInBatch},
	{"notification.concurrent-redelivery", "Four deliveries of one notification at once (a retry while the first is still being handled) credit it once.", needCallbacks, notificationConcurrent},
	{"notification.batch", "A notification of 100 transfers (the switch's default batch) is answered 2xx and credits every one once.", needCallbacks, notificationBatch},

	{"confirm.answered", "A confirm request is answered 2xx within the switch's confirm deadline with a decision (accept or reject) signed with the callback secret, for this transfer; accepting credits nothing yet.", needCallbacks | needConfirm, confirmAnswered},
	{"confirm.redelivered", "The same confirm request again is answered the same way, within the deadline.", needCallbacks | needConfirm, confirmRedelivered},

	{"malformed.not-json", "A signed body that is not JSON (garbage, truncated, empty) gets a 4xx and changes nothing: never a 2xx, never a 5xx.", needCallbacks, malformedNotJSON},
	{"malformed.wrong-types", "A signed notification with members of the wrong type gets a 4xx and changes nothing.", needCallbacks, malformedWrongTypes},
	{"malformed.huge-body", "A signed body of 16 MiB, far beyond any callback, is refused (4xx, or the connection closed) and changes nothing.", needCallbacks, malformedHuge},
	{"malformed.unknown-event", "A signed callback of an unknown event is acknowledged (2xx) or refused (4xx), never a 5xx, and credits nothing.", needCallbacks, malformedUnknownEvent},

	{"unknown.other-payee", "A notification of a transfer to another participant credits nothing, and is not a 5xx.", needCallbacks, unknownOtherPayee},
	{"unknown.not-committed", "A notification of a transfer that is not COMMITTED credits nothing, and is not a 5xx.", needCallbacks, unknownNotCommitted},
	{"unknown.currency", "A notification of a transfer in a currency the participant does not hold (XTS) credits nothing, and is not a 5xx.", needCallbacks, unknownCurrency},

	{"alias.register-valid", "Registering a valid E.164 phone number of one of its users succeeds (201), and a lookup names the participant.", 0, aliasRegisterValid},
	{"alias.register-malformed", "Registering a malformed alias (letters in a phone number, no country code, an unknown type, a bad e-mail) is refused with invalid-request (400).", 0, aliasRegisterMalformed},
	{"alias.register-foreign", "Registering an alias another participant holds is refused with duplicate-conflict (409), and it stays the other's.", 0, aliasRegisterForeign},
	{"alias.delete-foreign", "Deleting another participant's alias is refused (403 or 404), and it stays the other's.", 0, aliasDeleteForeign},
	{"alias.delete-own", "Deleting its own alias succeeds (204); a lookup then finds nothing (unknown-party), and deleting again is unknown-party (404).", 0, aliasDeleteOwn},
}

// Participant.

func participantReadable(ctx context.Context, s *session) error {
	fail := func(err error) error { s.meErr = err; return err }
	p, a, err := s.api.participant(ctx, s.cfg.Participant)
	switch {
	case err != nil:
		return fail(err)
	case a.status != http.StatusOK:
		return fail(failf("GET /v1/participants/%s with the API key: %s", s.cfg.Participant, a))
	case p.ID != s.cfg.Participant:
		return fail(failf("GET /v1/participants/%s answered participant %q", s.cfg.Participant, p.ID))
	case len(p.Currencies) == 0:
		return fail(failf("the participant holds no currency"))
	}
	c, err := money.ParseCurrency(p.Currencies[0])
	if err != nil {
		return fail(failf("currency %q: %v", p.Currencies[0], err))
	}
	s.me, s.currency, s.amount = p, c, money.Amount(1).Format(c)
	var problems []string
	if p.Status != "active" {
		problems = append(problems, "status "+p.Status+", want active")
	}
	if p.Acceptance != "notify" && p.Acceptance != "confirm" {
		problems = append(problems, fmt.Sprintf("acceptance %q", p.Acceptance))
	}
	if p.CallbackURL == "" {
		problems = append(problems, "no callbackUrl: the switch cannot tell it of payments")
	} else if u, err := url.Parse(p.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("callbackUrl %q is not an http(s) URL", p.CallbackURL))
	} else {
		s.callback = u
	}
	if len(problems) > 0 {
		return failf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// Probe.

func probeUnsigned(ctx context.Context, s *session) error {
	r, err := s.probe(ctx, s.id(), false)
	if err != nil {
		return err
	}
	switch r.status {
	case http.StatusUnauthorized:
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return failf("an unsigned probe answered %d, want 401: is the conformance probe served, and signed? (docs/conformance.md)", r.status)
	default:
		return failf("an unsigned probe answered %d, want 401", r.status)
	}
	return nil
}

func probeUnknown(ctx context.Context, s *session) error {
	id := s.id()
	r, err := s.probe(ctx, id, true)
	switch {
	case err != nil:
		return err
	case r.status != http.StatusNotFound:
		return failf("the probe of %s, never delivered, answered %d, want 404", id, r.status)
	case r.contentType != "application/problem+json":
		return failf("the probe's 404 is %q, want application/problem+json", r.contentType)
	}
	return nil
}

// Signatures.

// refused fails unless the callback was answered 401.
func refused(a answer, err error, what string) error {
	switch {
	case err != nil:
		return failf("%s: %v", what, err)
	case a.status != http.StatusUnauthorized:
		return failf("%s: answered %d, want 401", what, a.status)
	}
	return nil
}

// refusedUncredited delivers a notification of a fresh transfer with the
// signature sig makes of its body, and fails unless it is refused with
// 401 and credits nothing.
func refusedUncredited(ctx context.Context, s *session, what string, sig func(body []byte) string) error {
	id := s.id()
	body := notification(s.transfer(id))
	a, err := s.deliver(ctx, body, sig(body), s.cfg.Timeout)
	if err := refused(a, err, what); err != nil {
		return err
	}
	return s.uncredited(ctx, id, what)
}

func signatureMissing(ctx context.Context, s *session) error {
	return refusedUncredited(ctx, s, "unsigned notification", func([]byte) string { return "" })
}

func signatureWrongSecret(ctx context.Context, s *session) error {
	return refusedUncredited(ctx, s, "notification signed with another secret", func(b []byte) string {
		return wire.Sign("conformance-not-the-secret-"+s.run, s.cfg.Now(), b)
	})
}

func signatureStale(ctx context.Context, s *session) error {
	for _, d := range []time.Duration{-10 * time.Minute, 10 * time.Minute} {
		what := fmt.Sprintf("notification signed %v ago", -d)
		if d > 0 {
			what = fmt.Sprintf("notification signed %v ahead", d)
		}
		if err := refusedUncredited(ctx, s, what, func(b []byte) string { return s.sign(b, s.cfg.Now().Add(d)) }); err != nil {
			return err
		}
	}
	return nil
}

func signatureOtherBody(ctx context.Context, s *session) error {
	id := s.id()
	t := s.transfer(id)
	signed := notification(t)
	t.Amount = money.Amount(1000).Format(s.currency)
	a, err := s.deliver(ctx, notification(t), s.sign(signed, s.cfg.Now()), s.cfg.Timeout)
	if err := refused(a, err, "notification whose amount was changed after signing"); err != nil {
		return err
	}
	return s.uncredited(ctx, id, "the changed notification")
}

func signatureMalformed(ctx context.Context, s *session) error {
	for _, h := range []struct {
		what string
		sig  func(body []byte) string
	}{
		{"no timestamp", func(b []byte) string { _, v1, _ := strings.Cut(s.sign(b, s.cfg.Now()), ","); return v1 }},
		{"no v1", func([]byte) string { return fmt.Sprintf("t=%d", s.cfg.Now().Unix()) }},
		{"v1 not hex", func([]byte) string { return fmt.Sprintf("t=%d,v1=zz-not-hex", s.cfg.Now().Unix()) }},
		{"timestamp not a number", func(b []byte) string { _, v1, _ := strings.Cut(s.sign(b, s.cfg.Now()), ","); return "t=soon," + v1 }},
		{"garbage", func([]byte) string { return "t=,=,,v1=;" + strings.Repeat(",v1=00", 100) }},
	} {
		if err := refusedUncredited(ctx, s, "Hulian-Signature with "+h.what, h.sig); err != nil {
			return err
		}
	}
	return nil
}

func signatureConfirm(ctx context.Context, s *session) error {
	for _, h := range []struct {
		what string
		sig  func(body []byte) string
	}{
		{"unsigned confirm request", func([]byte) string { return "" }},
		{"confirm request signed with another secret", func(b []byte) string {
			return wire.Sign("conformance-not-the-secret-"+s.run, s.cfg.Now(), b)
		}},
	} {
		t := s.transfer(s.id())
		t.State = "RESERVED"
		body := confirmRequest(t)
		a, err := s.deliver(ctx, body, h.sig(body), max(s.cfg.Timeout, s.cfg.ConfirmDeadline))
		if err := refused(a, err, h.what); err != nil {
			if a.ok() && s.signedAnswer(a) == nil {
				return failf("%s: answered %d with a decision signed with the callback secret, want 401", h.what, a.status)
			}
			return err
		}
	}
	return nil
}

// Notifications.

// accepted fails unless a callback was answered 2xx.
func accepted(a answer, err error, what string) error {
	switch {
	case err != nil:
		return failf("%s: %v", what, err)
	case !a.ok():
		return failf("%s: answered %d, want 2xx", what, a.status)
	}
	return nil
}

func notificationAccepted(ctx context.Context, s *session) error {
	id := s.id()
	a, err := s.send(ctx, notification(s.transfer(id)))
	if err := accepted(a, err, "signed notification"); err != nil {
		return err
	}
	return s.creditedOnce(ctx, id, "after one delivery")
}

func notificationRedelivered(ctx context.Context, s *session) error {
	id := s.id()
	body := notification(s.transfer(id))
	for i, what := range []string{"first delivery", "redelivery", "second redelivery"} {
		a, err := s.send(ctx, body)
		if err := accepted(a, err, what); err != nil {
			return err
		}
		if err := s.creditedOnce(ctx, id, fmt.Sprintf("after %d deliveries", i+1)); err != nil {
			return err
		}
	}
	return nil
}

func notificationRedeliveredInBatch(ctx context.Context, s *session) error {
	old, fresh := s.transfer(s.id()), s.transfer(s.id())
	a, err := s.send(ctx, notification(old))
	if err := accepted(a, err, "first delivery"); err != nil {
		return err
	}
	a, err = s.send(ctx, notification(old, fresh))
	if err := accepted(a, err, "redelivery with a new transfer"); err != nil {
		return err
	}
	for _, id := range []string{old.ID, fresh.ID} {
		if err := s.creditedOnce(ctx, id, "after the batch"); err != nil {
			return err
		}
	}
	return nil
}

// busy are the answers that ask the switch to try later: a participant
// may give them to a delivery that overlaps another of the same
// callback.
var busy = []int{http.StatusConflict, http.StatusLocked, http.StatusTooManyRequests, http.StatusServiceUnavailable}

func notificationConcurrent(ctx context.Context, s *session) error {
	const n = 4
	id := s.id()
	body := notification(s.transfer(id))
	var wg sync.WaitGroup
	answers, errs := make([]answer, n), make([]error, n)
	sig := s.sign(body, s.cfg.Now())
	for i := range n {
		wg.Go(func() { answers[i], errs[i] = s.deliver(ctx, body, sig, s.cfg.Timeout) })
	}
	wg.Wait()
	oks := 0
	for i := range n {
		switch a := answers[i]; {
		case errs[i] != nil:
			return failf("concurrent delivery %d: %v", i+1, errs[i])
		case a.ok():
			oks++
		case !slices.Contains(busy, a.status):
			return failf("concurrent delivery %d: answered %d, want 2xx (or 409, 423, 429, 503 to be retried)", i+1, a.status)
		}
	}
	if oks == 0 {
		return failf("none of %d concurrent deliveries was answered 2xx", n)
	}
	if err := s.creditedOnce(ctx, id, fmt.Sprintf("after %d concurrent deliveries", n)); err != nil {
		return err
	}
	a, err := s.send(ctx, body)
	if err := accepted(a, err, "redelivery after the concurrent ones"); err != nil {
		return err
	}
	return s.creditedOnce(ctx, id, "after the redelivery")
}

// batchSize is the switch's default number of transfers per callback.
const batchSize = 100

func notificationBatch(ctx context.Context, s *session) error {
	ts := make([]wire.Transfer, batchSize)
	for i := range ts {
		ts[i] = s.transfer(s.id())
	}
	a, err := s.send(ctx, notification(ts...))
	if err := accepted(a, err, fmt.Sprintf("notification of %d transfers", batchSize)); err != nil {
		return err
	}
	// Every one is probed: a participant that books only the first
	// transfer of a callback, or skips one, shows here.
	for _, t := range ts {
		if err := s.creditedOnce(ctx, t.ID, fmt.Sprintf("after a notification of %d transfers", batchSize)); err != nil {
			return err
		}
	}
	return nil
}

// Confirm.

// signedAnswer checks an answer's signature as the switch does
// (callback.AnswerTolerance: 5 minutes).
func (s *session) signedAnswer(a answer) error {
	return wire.Verify(a.header.Get(wire.SignatureHeader), s.cfg.CallbackSecret, a.body, s.cfg.Now(), 5*time.Minute)
}

// decide asks the participant to confirm synthetic transfer t and
// returns its decision, failing unless the answer is one the switch
// takes in time.
func (s *session) decide(ctx context.Context, t wire.Transfer, what string) (wire.Decision, error) {
	// Waited for beyond the deadline, so that a late answer is reported
	// as late rather than as none.
	a, err := s.send0(ctx, confirmRequest(t), max(s.cfg.Timeout, s.cfg.ConfirmDeadline+5*time.Second))
	var d wire.Decision
	switch {
	case err != nil:
		return d, failf("%s: %v", what, err)
	case a.took > s.cfg.ConfirmDeadline:
		return d, failf("%s: answered in %v, after the switch's confirm deadline %v: the switch aborts the transfer",
			what, a.took.Round(time.Millisecond), s.cfg.ConfirmDeadline)
	case !a.ok():
		return d, failf("%s: answered %d, want 2xx", what, a.status)
	}
	if err := s.signedAnswer(a); err != nil {
		return d, failf("%s: the answer's Hulian-Signature is missing or wrong (%v): the switch takes it as no answer", what, err)
	}
	if err := json.Unmarshal(a.body, &d); err != nil {
		return d, failf("%s: the answer %.100q is not a decision: %v", what, a.body, err)
	}
	switch {
	case d.Decision != "accept" && d.Decision != "reject":
		return d, failf("%s: decision %q, want accept or reject", what, d.Decision)
	case d.TransferID != "" && d.TransferID != t.ID:
		return d, failf("%s: the decision names transfer %q, want %q", what, d.TransferID, t.ID)
	}
	return d, nil
}

// send0 is send with its own wait.
func (s *session) send0(ctx context.Context, body []byte, wait time.Duration) (answer, error) {
	return s.deliver(ctx, body, s.sign(body, s.cfg.Now()), wait)
}

// reserved returns a synthetic transfer waiting for the participant's
// decision.
func (s *session) reserved() wire.Transfer {
	t := s.transfer(s.id())
	t.State = "RESERVED"
	return t
}

func confirmAnswered(ctx context.Context, s *session) error {
	t := s.reserved()
	if _, err := s.decide(ctx, t, "confirm request"); err != nil {
		return err
	}
	return s.uncredited(ctx, t.ID, "a decision (only transfers.committed credits)")
}

func confirmRedelivered(ctx context.Context, s *session) error {
	t := s.reserved()
	first, err := s.decide(ctx, t, "confirm request")
	if err != nil {
		return err
	}
	again, err := s.decide(ctx, t, "the same confirm request again")
	if err != nil {
		return err
	}
	if again.Decision != first.Decision {
		return failf("decided %q, then %q on the same request", first.Decision, again.Decision)
	}
	return s.uncredited(ctx, t.ID, "two decisions")
}

// Malformed bodies.

// rejected fails unless a signed malformed callback got a 4xx.
func rejected(a answer, err error, what string) error {
	switch {
	case err != nil:
		return failf("%s: %v", what, err)
	case a.ok():
		return failf("%s: answered %d, want 4xx: a 2xx tells the switch it was taken", what, a.status)
	case a.status/100 != 4:
		return failf("%s: answered %d, want 4xx", what, a.status)
	}
	return nil
}

// notCrashed fails on a 5xx or no answer: the participant may take or
// refuse the callback, but must handle it.
func notCrashed(a answer, err error, what string) error {
	switch {
	case err != nil:
		return failf("%s: %v", what, err)
	case a.status/100 != 2 && a.status/100 != 4:
		return failf("%s: answered %d, want 2xx or 4xx", what, a.status)
	}
	return nil
}

func malformedNotJSON(ctx context.Context, s *session) error {
	id := s.id()
	whole := notification(s.transfer(id))
	for _, b := range []struct{ what, body string }{
		{"a body that is not JSON", "this is not JSON: " + id},
		{"a truncated notification", string(whole[:len(whole)-12])},
		{"an empty body", ""},
		{"a JSON string", `"transfers.committed"`},
	} {
		a, err := s.send(ctx, []byte(b.body))
		if err := rejected(a, err, b.what+", signed"); err != nil {
			return err
		}
	}
	return s.uncredited(ctx, id, "a truncated notification")
}

// mangled returns a notification of one fresh transfer as generic JSON,
// for change to make it wrong.
func (s *session) mangled(change func(cb map[string]any, t map[string]any)) (id string, body []byte) {
	id = s.id()
	var cb map[string]any
	if err := json.Unmarshal(notification(s.transfer(id)), &cb); err != nil {
		panic(err)
	}
	change(cb, cb["transfers"].([]any)[0].(map[string]any))
	b, err := json.Marshal(cb, json.Deterministic(true))
	if err != nil {
		panic(err)
	}
	return id, b
}

func malformedWrongTypes(ctx context.Context, s *session) error {
	for _, m := range []struct {
		what   string
		change func(cb, t map[string]any)
	}{
		{"amount a number", func(_, t map[string]any) { t["amount"] = 1 }},
		{"transfers an object", func(cb, t map[string]any) { cb["transfers"] = t }},
		{"event a number", func(cb, _ map[string]any) { cb["event"] = 1 }},
		{"payee a string", func(_, t map[string]any) { t["payee"] = "conformance-payee" }},
		{"createdAt not a time", func(_, t map[string]any) { t["createdAt"] = "yesterday" }},
	} {
		id, body := s.mangled(m.change)
		a, err := s.send(ctx, body)
		what := "signed notification with " + m.what
		if err := rejected(a, err, what); err != nil {
			return err
		}
		if err := s.uncredited(ctx, id, what); err != nil {
			return err
		}
	}
	return nil
}

// hugeSize is the huge body's size: four times the most the switch's
// largest callback (1,000 transfers) could need.
const hugeSize = 16 << 20

func malformedHuge(ctx context.Context, s *session) error {
	t := s.transfer(s.id())
	t.Note = strings.Repeat("x", hugeSize)
	a, err := s.send(ctx, notification(t))
	switch {
	case err != nil:
		// A participant may close the connection once past its bound,
		// before it answers: the switch would take that as a refusal.
	case a.ok():
		return failf("a signed notification of %d MiB: answered %d, want 4xx: bound the body", hugeSize>>20, a.status)
	case a.status/100 != 4:
		return failf("a signed notification of %d MiB: answered %d, want 4xx (413)", hugeSize>>20, a.status)
	}
	return s.uncredited(ctx, t.ID, "a huge notification")
}

func malformedUnknownEvent(ctx context.Context, s *session) error {
	id := s.id()
	body, err := json.Marshal(wire.Callback{Event: "conformance.unknown-event", Transfers: []wire.Transfer{s.transfer(id)}})
	if err != nil {
		return err
	}
	a, err := s.send(ctx, body)
	if err := notCrashed(a, err, "signed callback of an unknown event"); err != nil {
		return err
	}
	return s.uncredited(ctx, id, "an unknown event")
}

// Unknown transfers.

// notCredits delivers a notification of t, which is no credit of the
// participant's, and fails if it credits it or crashes.
func notCredits(ctx context.Context, s *session, t wire.Transfer, what string) error {
	a, err := s.send(ctx, notification(t))
	if err := notCrashed(a, err, what); err != nil {
		return err
	}
	return s.uncredited(ctx, t.ID, what)
}

func unknownOtherPayee(ctx context.Context, s *session) error {
	t := s.transfer(s.id())
	t.Payee.Participant = "conformance-other-" + s.run
	return notCredits(ctx, s, t, "notification of a transfer to another participant")
}

func unknownNotCommitted(ctx context.Context, s *session) error {
	for _, state := range []string{"ABORTED", "RESERVED"} {
		t := s.transfer(s.id())
		t.State = state
		if err := notCredits(ctx, s, t, "notification of a transfer in state "+state); err != nil {
			return err
		}
	}
	return nil
}

// testCurrency is ISO 4217's code for testing, which no participant
// holds.
const testCurrency = "XTS"

func unknownCurrency(ctx context.Context, s *session) error {
	if s.currency.String() == testCurrency || slices.Contains(s.me.Currencies, testCurrency) {
		return skip("the participant holds XTS, the currency code for testing")
	}
	t := s.transfer(s.id())
	t.Currency, t.Fee = testCurrency, "0"
	return notCredits(ctx, s, t, "notification of a transfer in "+testCurrency)
}

// Aliases.

// phone returns the number to register: the configured one, or one
// drawn from +61 491 57x xxx.
func (s *session) phone() string {
	if s.cfg.Phone != "" {
		return s.cfg.Phone
	}
	return fmt.Sprintf("+6149157%04d", rand.IntN(10000))
}

// newParty is a registration of the suite's test user.
func (s *session) newParty(typ, value string) wire.NewParty {
	return wire.NewParty{Type: typ, Value: value, Name: "Conformance Suite", Account: "conformance-" + s.run, Currency: s.currency.String()}
}

func aliasRegisterValid(ctx context.Context, s *session) error {
	var p wire.Party
	var a apiAnswer
	var err error
	for range 5 {
		phone := s.phone()
		p, a, err = s.api.registerParty(ctx, s.newParty("MSISDN", phone))
		if err != nil {
			return err
		}
		if a.status/100 == 2 {
			s.ownAlias = &wire.Party{Type: "MSISDN", Value: phone}
		}
		if a.status != http.StatusConflict || s.cfg.Phone != "" {
			break // a random number another participant holds is drawn again
		}
	}
	switch {
	case a.status != http.StatusCreated && a.status != http.StatusOK:
		return failf("POST /v1/parties of a valid phone number: %s, want 201", a)
	case p.Participant != s.me.ID || p.Type != "MSISDN" || p.Value != s.ownAlias.Value:
		return failf("POST /v1/parties answered %s/%s of %q, want MSISDN/%s of %q", p.Type, p.Value, p.Participant, s.ownAlias.Value, s.me.ID)
	}
	l, a, err := s.api.lookup(ctx, "MSISDN", p.Value)
	switch {
	case err != nil:
		return err
	case a.status != http.StatusOK:
		return failf("lookup of the alias just registered: %s", a)
	case l.Participant != s.me.ID:
		return failf("lookup of the alias just registered names %q", l.Participant)
	}
	return nil
}

func aliasRegisterMalformed(ctx context.Context, s *session) error {
	for _, m := range []struct{ typ, value, what string }{
		{"MSISDN", "+61 491 57A 000", "letters in a phone number"},
		{"MSISDN", "+0491570000", "no country code"},
		{"MSISDN", "", "an empty phone number"},
		{"PHONE", "+61491570000", "an unknown alias type"},
		{"EMAIL", "conformance.example.com", "an e-mail address without @"},
	} {
		_, a, err := s.api.registerParty(ctx, s.newParty(m.typ, m.value))
		switch {
		case err != nil:
			return err
		case a.status != http.StatusBadRequest || a.kind() != "invalid-request":
			return failf("registering %s (%s %q): %s, want 400 invalid-request", m.what, m.typ, m.value, a)
		}
	}
	return nil
}

// foreignAlias returns an alias held by another participant: the
// configured one, else a payee of one of the participant's own payments
// that another participant still holds; nil if there is none.
func (s *session) foreignAlias(ctx context.Context) (*wire.PartyLookup, error) {
	if s.foreignDone {
		return s.foreign, nil
	}
	s.foreignDone = true
	var candidates [][2]string
	if s.cfg.ForeignAlias != "" {
		t, v, _ := strings.Cut(s.cfg.ForeignAlias, "/")
		candidates = append(candidates, [2]string{t, v})
	} else {
		ts, a, err := s.api.transfers(ctx, 200)
		if err != nil {
			return nil, err
		}
		if a.status == http.StatusOK {
			for _, t := range ts.Transfers {
				ref := [2]string{t.Payee.Type, t.Payee.Value}
				switch t.Payee.Type {
				case "MSISDN", "EMAIL", "NATIONAL_ID", "RANDOM", "WALLET", "MERCHANT":
					if t.Payer == s.me.ID && t.Payee.Participant != s.me.ID && !slices.Contains(candidates, ref) {
						candidates = append(candidates, ref)
					}
				}
			}
		}
	}
	for _, c := range candidates[:min(len(candidates), 3)] {
		l, a, err := s.api.lookup(ctx, c[0], c[1])
		if err != nil {
			return nil, err
		}
		if a.status == http.StatusOK && l.Participant != s.me.ID {
			s.foreign = &l
			return s.foreign, nil
		}
		if s.cfg.ForeignAlias != "" {
			return nil, failf("the foreign alias %s: lookup %s, want another participant's", s.cfg.ForeignAlias, a)
		}
	}
	return nil, nil
}

// errNoForeign skips the cases that need another participant's alias.
var errNoForeign = skip("no alias of another participant to try: give one with --foreign-alias TYPE/VALUE (none among the payees of the participant's payments)")

// stillTheirs fails unless the foreign alias is still its owner's.
func (s *session) stillTheirs(ctx context.Context, f *wire.PartyLookup, after string) error {
	l, a, err := s.api.lookup(ctx, f.Type, f.Value)
	switch {
	case err != nil:
		return err
	case a.status != http.StatusOK || l.Participant != f.Participant:
		return failf("%s: the lookup of %s/%s answers %s participant %q, want %q's still", after, f.Type, f.Value, a, l.Participant, f.Participant)
	}
	return nil
}

func aliasRegisterForeign(ctx context.Context, s *session) error {
	f, err := s.foreignAlias(ctx)
	if err != nil {
		return err
	}
	if f == nil {
		return errNoForeign
	}
	_, a, err := s.api.registerParty(ctx, s.newParty(f.Type, f.Value))
	switch {
	case err != nil:
		return err
	case a.status != http.StatusConflict || a.kind() != "duplicate-conflict":
		return failf("registering %s/%s, held by %s: %s, want 409 duplicate-conflict", f.Type, f.Value, f.Participant, a)
	}
	return s.stillTheirs(ctx, f, "after the refused registration")
}

func aliasDeleteForeign(ctx context.Context, s *session) error {
	f, err := s.foreignAlias(ctx)
	if err != nil {
		return err
	}
	if f == nil {
		return errNoForeign
	}
	a, err := s.api.deleteParty(ctx, f.Type, f.Value)
	switch {
	case err != nil:
		return err
	case a.status != http.StatusForbidden && a.status != http.StatusNotFound:
		return failf("deleting %s/%s, held by %s: %s, want 403 or 404", f.Type, f.Value, f.Participant, a)
	}
	return s.stillTheirs(ctx, f, "after the refused deletion")
}

func aliasDeleteOwn(ctx context.Context, s *session) error {
	if s.ownAlias == nil {
		return errors.New("no alias of its own to delete: alias.register-valid registered none")
	}
	own := *s.ownAlias
	a, err := s.api.deleteParty(ctx, own.Type, own.Value)
	switch {
	case err != nil:
		return err
	case a.status != http.StatusNoContent:
		return failf("deleting its own alias %s/%s: %s, want 204", own.Type, own.Value, a)
	}
	s.ownAlias = nil
	_, a, err = s.api.lookup(ctx, own.Type, own.Value)
	switch {
	case err != nil:
		return err
	case a.status != http.StatusNotFound || a.kind() != "unknown-party":
		return failf("lookup of the deleted alias: %s, want 404 unknown-party", a)
	}
	a, err = s.api.deleteParty(ctx, own.Type, own.Value)
	switch {
	case err != nil:
		return err
	case a.status != http.StatusNotFound || a.kind() != "unknown-party":
		return failf("deleting the deleted alias again: %s, want 404 unknown-party", a)
	}
	return nil
}
