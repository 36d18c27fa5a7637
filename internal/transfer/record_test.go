package transfer

import (
	"testing"

	"github.com/hulian/hulian/internal/money"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []record{
		{},
		{ID: "wallet-a.1", Payer: "wallet-a", PayeeType: "MSISDN", PayeeValue: "+8613800138000", PayeeParticipant: "wallet-b",
			PayeeAccount: "u-123", QuoteID: "q", Note: "午饭", Fee: 20},
		{ID: "x", Fee: -1},
	} {
		got, err := decodeRecord(r.encode())
		if err != nil || got != r {
			t.Errorf("round trip of %+v: %+v, %v", r, got, err)
		}
	}
	for _, bad := range []string{"", "\x02", "\x01", "\x01\x05ab", string(append([]byte((&record{}).encode()), 0))} {
		if _, err := decodeRecord(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

// TestLedgerIDs pins the derivation of ledger ids from client ids: legs
// differ, clients differ, and the documented construction holds.
func TestLedgerIDs(t *testing.T) {
	a, b := ledgerID("payment", "x"), ledgerID("fee", "x")
	if a == b || a == ledgerID("payment", "y") || a != LedgerID("x") {
		t.Fatal("ledger ids collide or differ from LedgerID")
	}
	// Length prefixes keep ("ab","c") and ("a","bc") apart.
	if ledgerID("ab", "c") == ledgerID("a", "bc") {
		t.Fatal("ambiguous ledger id input")
	}
}

func TestDigestCoversTheRequest(t *testing.T) {
	r := record{ID: "1", Payer: "a", PayeeType: "EMAIL", PayeeValue: "x@y.cn", Note: "n"}
	cny, usd := money.MustCurrency("CNY"), money.MustCurrency("USD")
	base := r.digest(100, cny)
	for name, d := range map[string][16]byte{
		"amount":   r.digest(101, cny),
		"currency": r.digest(100, usd),
	} {
		if d == base {
			t.Errorf("digest ignores the %s", name)
		}
	}
	r2 := r
	r2.Note = "m"
	if r2.digest(100, cny) == base {
		t.Error("digest ignores the note")
	}
	r2 = r
	r2.PayeeAccount, r2.Fee = "changes after", 5 // not part of the request
	if r2.digest(100, cny) != base {
		t.Error("digest covers what the client did not send")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add((&record{ID: "a", Payer: "b", Fee: 3}).encode())
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := decodeRecord(s)
		if err == nil && r.encode() != s {
			t.Fatalf("accepted %q which re-encodes as %q", s, r.encode())
		}
	})
}
