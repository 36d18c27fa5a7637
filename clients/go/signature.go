package hulian

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the signatures of a callback of the switch (and
// of a connector's POST {backend}/incoming, and of a participant's signed
// answer): "t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]", each v1 the
// HMAC under one secret of the ASCII t, a '.', and the exact body bytes.
const SignatureHeader = "Hulian-Signature"

// SignatureTolerance is the switch's own bound on how far a signature's
// time may be from now, either way: it bounds replays of a captured call.
const SignatureTolerance = 5 * time.Minute

// SignaturesMax bounds the v1 entries of a header: Sign writes at most
// this many and VerifySignature refuses a header with more, so that a
// forged header cannot make the receiver compute HMACs without end.
const SignaturesMax = 8

// CallbackBytesMax bounds the body VerifyCallbacks reads: a notification
// of 1,000 transfers is some 500 kB.
const CallbackBytesMax = 4 << 20

// SignatureError is why VerifySignature refused a header. Branch with
// errors.Is on the Err values below; every one of them means: drop the
// request (answer 401) and change nothing.
type SignatureError struct{ reason string }

// Error returns the reason.
func (e *SignatureError) Error() string { return e.reason }

// The refusals of VerifySignature. The error returned wraps one of them,
// with what was wrong (never which secret was tried).
var (
	// ErrSignatureMissing: no header at all, e.g. a caller that is not
	// the switch.
	ErrSignatureMissing = &SignatureError{"hulian: no " + SignatureHeader + " header"}
	// ErrSignatureMalformed: a header that is not t=…,v1=…: no or two
	// timestamps, a timestamp that is not a number, no v1, or more than
	// SignaturesMax of them.
	ErrSignatureMalformed = &SignatureError{"hulian: malformed " + SignatureHeader}
	// ErrSignatureStale: the timestamp is more than the tolerance away
	// from now, before or after: a replay, or a clock to fix on one side.
	ErrSignatureStale = &SignatureError{"hulian: " + SignatureHeader + " too old or from the future"}
	// ErrSignatureMismatch: no v1 is the HMAC of this body under any of
	// the secrets held: another secret, or a body changed on the way.
	ErrSignatureMismatch = &SignatureError{"hulian: " + SignatureHeader + " does not match the body"}
)

// Sign returns the SignatureHeader value for body sent at t, with one v1
// entry per secret in the order given (at most SignaturesMax): during a
// rotation the receiver verifies with whichever secret it holds. It is
// what the switch sends, for tests and for answers a participant signs.
func Sign(secrets []string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets[:min(len(secrets), SignaturesMax)] {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(signatureMAC(s, ts, body)))
	}
	return b.String()
}

func signatureMAC(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a SignatureHeader value against the exact body
// bytes received (verify before parsing; never re-serialise): its time
// must be within tolerance of now, before or after, and one of its v1
// entries must be the HMAC of body under one of secrets (a participant
// holds two during a rotation). Empty secrets are skipped, so that an
// unset secret verifies nothing. It accepts exactly what the switch's
// own verification accepts, and returns nil or an error wrapping one of
// the ErrSignature values. Every entry is compared with every secret's
// HMAC in constant time, so the time taken does not tell which matched.
func VerifySignature(header string, body []byte, now time.Time, tolerance time.Duration, secrets ...string) error {
	if header == "" {
		return ErrSignatureMissing
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: two timestamps", ErrSignatureMalformed)
			}
			ts = v
		case "v1":
			if len(sigs) == SignaturesMax {
				return fmt.Errorf("%w: more than %d v1 entries", ErrSignatureMalformed, SignaturesMax)
			}
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	switch {
	case err != nil:
		return fmt.Errorf("%w: timestamp %q is not a number of seconds", ErrSignatureMalformed, ts)
	case len(sigs) == 0:
		return fmt.Errorf("%w: no v1 entry", ErrSignatureMalformed)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %d, %s from now, beyond %s", ErrSignatureStale, sec, d.Round(time.Second), tolerance)
	}
	got := make([][]byte, len(sigs))
	for i, s := range sigs {
		// Not hex: nil, which matches nothing. (DecodeString returns the
		// bytes before the error: a valid HMAC and one more digit.)
		if b, err := hex.DecodeString(s); err == nil {
			got[i] = b
		}
	}
	ok := false
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		want := signatureMAC(secret, ts, body)
		for _, g := range got {
			if hmac.Equal(g, want) {
				ok = true
			}
		}
	}
	if !ok {
		return ErrSignatureMismatch
	}
	return nil
}

// VerifyCallbacks returns a handler that lets through to next only the
// requests signed under one of secrets() (called on every request, so a
// rotation takes effect at once) within SignatureTolerance of now. It
// reads the body whole (at most CallbackBytesMax bytes, 413 beyond),
// verifies the signature over those exact bytes, and gives next the same
// bytes as r.Body. A GET — the conformance probe, which has no body — is
// verified over its URL path as received instead (escaped or not): behind
// a proxy that rewrites paths, verify the probe yourself. Anything else
// is answered 401 with a problem document and never reaches next.
func VerifyCallbacks(secrets func() []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, CallbackBytesMax))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeSignatureProblem(w, http.StatusRequestEntityTooLarge, "payload-too-large", "The body is too large")
			return
		case err != nil:
			writeSignatureProblem(w, http.StatusBadRequest, "invalid-request", "The body could not be read")
			return
		}
		header, now, held := r.Header.Get(SignatureHeader), time.Now(), secrets()
		signed := [][]byte{body}
		if r.Method == http.MethodGet {
			signed = [][]byte{[]byte(r.URL.EscapedPath()), []byte(r.URL.Path)}
		}
		for _, b := range signed {
			if err = VerifySignature(header, b, now, SignatureTolerance, held...); err == nil {
				break
			}
		}
		if err != nil {
			writeSignatureProblem(w, http.StatusUnauthorized, "unauthorized", "The "+SignatureHeader+" is missing, wrong or too old")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// writeSignatureProblem answers a problem document as the switch's are.
func writeSignatureProblem(w http.ResponseWriter, status int, kind, title string) {
	b, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
	}{ProblemTypeBase + kind, title, status})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
