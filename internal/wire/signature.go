package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignaturesMax bounds the v1 entries of a SignatureHeader: SignAll
// writes at most this many and Verify refuses a header with more, so a
// forged header cannot make a receiver compute HMACs without end. A
// participant has at most two valid callback secrets at a time.
const SignaturesMax = 8

// Sign returns the SignatureHeader value for body sent at t, signed with
// one secret.
func Sign(secret string, t time.Time, body []byte) string {
	return SignAll([]string{secret}, t, body)
}

// SignAll returns the SignatureHeader value for body sent at t with one
// v1 entry per secret, in the order given: during a callback secret's
// rotation the receiver verifies with whichever secret it holds. Secrets
// beyond SignaturesMax are left out.
func SignAll(secrets []string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets[:min(len(secrets), SignaturesMax)] {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature means a callback's signature is missing, malformed, wrong
// or too old: drop the request.
var ErrSignature = errors.New("invalid callback signature")

// Verify checks a SignatureHeader value against body: one of its v1
// HMACs (at most SignaturesMax) must match under secret, and the single
// timestamp must be within tolerance of now, which bounds replays.
func Verify(header, secret string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			if ts != "" {
				return ErrSignature // two timestamps: which one was signed?
			}
			ts = v
		case "v1":
			if len(sigs) == SignaturesMax {
				return ErrSignature
			}
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		// Every entry is compared, so the time taken does not tell which
		// one matched.
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return ErrSignature
	}
	return nil
}
