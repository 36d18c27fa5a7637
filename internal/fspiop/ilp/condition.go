package ilp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Fulfil returns the ILPv1 fulfilment of packet as SSC's IlpV1 computes
// it: HMAC-SHA256 keyed with the ASCII of the standard base64 (padded) of
// secret, over the ASCII of the packet string exactly as sent. The key is
// the base64 text, not the secret: SSC's default secret "mojaloop-sdk"
// keys with "bW9qYWxvb3Atc2Rr".
func Fulfil(secret []byte, packet string) [32]byte {
	return hmac32(secret, []byte(packet))
}

// FulfilV4 returns the ILPv4 fulfilment as SSC's IlpV4 computes it: the
// same HMAC key as Fulfil, over the ASCII of the standard base64 (padded)
// of txnJSON, which must be the transaction object's canonical JSON
// (CanonicalJSON, or the JSON inside a v4 packet's data).
func FulfilV4(secret []byte, txnJSON []byte) [32]byte {
	return hmac32(secret, []byte(base64.StdEncoding.EncodeToString(txnJSON)))
}

func hmac32(secret, msg []byte) [32]byte {
	m := hmac.New(sha256.New, []byte(base64.StdEncoding.EncodeToString(secret)))
	m.Write(msg)
	var f [32]byte
	m.Sum(f[:0])
	return f
}

// FulfilPacket recomputes, from an ilpPacket alone, the fulfilment that
// Build made for it with secret, as SSC's calculateFulfil does: Fulfil over
// the packet string for version 1, FulfilV4 over the canonical JSON of the
// transaction object in its data for version 4. So the payee's agent need
// not store the fulfilment between the quote and the transfer. It refuses
// with ErrPacket or ErrData what it cannot read.
func FulfilPacket(secret []byte, packet string) ([32]byte, error) {
	p, err := Decode(packet)
	if err != nil {
		return [32]byte{}, fmt.Errorf("fulfil: %w", err)
	}
	if p.Version == 1 {
		return Fulfil(secret, packet), nil
	}
	var txn json.RawMessage
	if err := DecodeData(p.Data, &txn); err != nil {
		return [32]byte{}, fmt.Errorf("fulfil ILPv4 packet: %w", err)
	}
	canon, err := CanonicalJSON(txn)
	if err != nil {
		return [32]byte{}, fmt.Errorf("fulfil ILPv4 packet: %w", err)
	}
	return FulfilV4(secret, canon), nil
}

// ConditionOf returns the condition a fulfilment fulfils: its SHA-256.
func ConditionOf(f [32]byte) [32]byte { return sha256.Sum256(f[:]) }

// FormatB64 writes a condition or fulfilment as FSPIOP carries it: 43
// characters of base64url without padding.
func FormatB64(b [32]byte) string { return base64.RawURLEncoding.EncodeToString(b[:]) }

// Parse32 reads a condition or fulfilment written as FSPIOP requires
// (^[A-Za-z0-9-_]{43}$) and canonically (the two unused bits zero, so that
// the value writes back as the same string). Anything else is ErrCondition.
func Parse32(s string) ([32]byte, error) {
	var b [32]byte
	if len(s) != 43 {
		return b, fmt.Errorf("parse %q: %d characters, not 43: %w", s, len(s), ErrCondition)
	}
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s))
	if err != nil || n != 32 {
		return [32]byte{}, fmt.Errorf("parse %q: not canonical base64url: %w", s, ErrCondition)
	}
	return b, nil
}

// Check reports whether fulfilment fulfils condition exactly as
// Mojaloop's central-ledger and SSC's validateFulfil decide: the
// fulfilment decodes (base64url, leniently) to 32 bytes and the base64url
// of their SHA-256 is the condition string. It returns nil if so and
// ErrFulfilment otherwise; the comparison takes constant time.
func Check(fulfilment, condition string) error {
	pre, err := decodeBase64(fulfilment)
	if err != nil || len(pre) != 32 {
		return fmt.Errorf("check fulfilment %q: not 32 bytes of base64url: %w", fulfilment, ErrFulfilment)
	}
	sum := sha256.Sum256(pre)
	want := FormatB64(sum)
	if subtle.ConstantTimeCompare([]byte(want), []byte(condition)) != 1 {
		return fmt.Errorf("check fulfilment %q against condition %q: %w", fulfilment, condition, ErrFulfilment)
	}
	return nil
}

// Build makes the ilpPacket, condition and fulfilment of a quote answered
// as the payee's agent, as SSC's getResponseIlp does for its version.
//
// Version 1 (SSC's default): a Payment of amount to address (Address of
// the payee) with EncodeData(txn) as data; the fulfilment is Fulfil over
// the packet string, so the packet comes first. Version 4: the fulfilment
// is FulfilV4 over the canonical JSON of txn and the condition goes into a
// Prepare to address (MojaloopAddress as SSC, used if address is empty)
// that expires at expires (SSC: the quote's expiration, also in txn).
// expires is not used by version 1, whose packet has no expiry.
func Build(secret []byte, version int, amount uint64, address string, txn any, expires time.Time) (packet, condition, fulfilment string, err error) {
	if len(secret) == 0 {
		return "", "", "", fmt.Errorf("build ILPv%d packet: %w", version, ErrSecret)
	}
	canon, err := CanonicalJSON(txn)
	if err != nil {
		return "", "", "", fmt.Errorf("build ILPv%d packet: %w", version, err)
	}
	data := make([]byte, base64.RawURLEncoding.EncodedLen(len(canon)))
	base64.RawURLEncoding.Encode(data, canon)
	switch version {
	case 1:
		packet, err = Encode(Packet{Version: 1, Amount: amount, Address: address, Data: data})
		if err != nil {
			return "", "", "", fmt.Errorf("build ILPv1 packet: %w", err)
		}
		f := Fulfil(secret, packet)
		return packet, FormatB64(ConditionOf(f)), FormatB64(f), nil
	case 4:
		if address == "" {
			address = MojaloopAddress
		}
		f := FulfilV4(secret, canon)
		c := ConditionOf(f)
		packet, err = Encode(Packet{Version: 4, Amount: amount, Address: address, Data: data, ExpiresAt: expires, Condition: c})
		if err != nil {
			return "", "", "", fmt.Errorf("build ILPv4 packet: %w", err)
		}
		return packet, FormatB64(c), FormatB64(f), nil
	}
	return "", "", "", fmt.Errorf("build ILP packet: version %d: %w", version, ErrPacket)
}
