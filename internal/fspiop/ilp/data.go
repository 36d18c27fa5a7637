package ilp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/hulian/hulian/internal/fspiop/jws"
)

// EncodeData returns what SSC puts in a packet's data for a transaction
// object: the ASCII of base64url (no padding) of its canonical JSON (see
// CanonicalJSON).
//
// txn is anything encoding/json marshals to the object SSC's
// transactionObjectDto builds: quoteId, transactionId, transactionType,
// payee, payer, expiration (of the quote response), amount (the quote's
// transferAmount, not the requested amount) and note if any. Fields absent
// in JavaScript must be absent here (omitempty), not null.
func EncodeData(txn any) ([]byte, error) {
	j, err := CanonicalJSON(txn)
	if err != nil {
		return nil, err
	}
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(j)))
	base64.RawURLEncoding.Encode(out, j)
	return out, nil
}

// DecodeData reads a packet's data into v as SSC's getTransactionObject
// does: base64url (standard base64 and padding tolerated) of JSON. It
// refuses with ErrData what is not.
func DecodeData(data []byte, v any) error {
	j, err := decodeBase64(string(data))
	if err != nil {
		return fmt.Errorf("decode ILP data: %w: %w", err, ErrData)
	}
	if err := json.Unmarshal(j, v); err != nil {
		return fmt.Errorf("decode ILP data: %w: %w", err, ErrData)
	}
	return nil
}

// CanonicalJSON returns v as safe-stable-stringify 2.5 (what SSC uses)
// writes the same value once parsed by JavaScript: v marshalled with
// encoding/json, then jws.Canonical — the same canonical form that
// FSPIOP-Signature is computed over. Errors wrap ErrData.
//
// It is the text that an ILPv4 fulfilment is computed over (FulfilV4).
func CanonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w: %w", err, ErrData)
	}
	c, err := jws.Canonical(raw)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w: %w", err, ErrData)
	}
	return c, nil
}
