package users

import (
	"crypto/rand"
	"encoding/base32"
	"net/url"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The second factor is RFC 6238 TOTP as every authenticator app speaks
// it: HMAC-SHA-1, 30-second steps, 6 digits, a code accepted one step
// early or late (a clock a little off, a code typed as it turns).
const (
	totpPeriod   = 30
	totpDigits   = 6
	totpSecretSz = 20 // bytes: 160 bits, RFC 4226's recommendation
	// Issuer names the switch in authenticator apps.
	Issuer = "Hulian"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// newTOTPSecret returns a fresh secret, base32 without padding as
// otpauth URIs carry it.
func newTOTPSecret() (string, error) {
	b := make([]byte, totpSecretSz)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

// totpURI is the key's otpauth URI, secret and issuer first:
// otpauth://totp/Hulian:<name>?secret=…&issuer=Hulian. Algorithm, digits
// and period are the defaults every app assumes, so they are left out.
func totpURI(name, secret string) string {
	return "otpauth://totp/" + url.PathEscape(Issuer+":"+name) + "?secret=" + secret + "&issuer=" + Issuer
}

// step is the 30-second step of t.
func step(t time.Time) int64 { return t.Unix() / totpPeriod }

// checkCode returns the step whose code code is, if it is the code of
// the step of now or of the one before or after (totp.ValidateCustom,
// one step at a time, so that the step matched is known and a code used
// once is refused after), and false otherwise.
func checkCode(secret, code string, now time.Time) (int64, bool) {
	if len(code) != totpDigits {
		return 0, false
	}
	for _, d := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		if ok, err := totp.ValidateCustom(code, secret, t, totpOpts); err == nil && ok {
			return step(t), true
		}
	}
	return 0, false
}
