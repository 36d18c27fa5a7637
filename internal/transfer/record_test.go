package transfer

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/seal"
)

// testKey is a data key for the package's tests.
func testKey(t testing.TB) *seal.Key {
	t.Helper()
	k, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []record{
		{version: recordV1},
		{version: recordV1, ID: "wallet-a.1", Payer: "wallet-a", PayeeType: "MSISDN", PayeeValue: "+8613800138000", PayeeParticipant: "wallet-b",
			PayeeAccount: "u-123", QuoteID: "q", Note: "午饭", Fee: 20},
		{version: recordV1, ID: "x", Fee: -1},
		{version: recordV2, ID: "x", PayeeAccountMAC: strings.Repeat("m", macSize), PayeeAccountSealed: "\x00sealed", Fee: 7},
		{version: recordV1, ID: "x", PayerAccount: "u-7", Factors: 0b10001, Held: true},
		{version: recordV1, ID: "x", Factors: 0b11111},
		{version: recordV1, ID: "x", Held: true},
		{version: recordV2, ID: "x", PayeeAccountMAC: strings.Repeat("m", macSize), PayerAccount: "用户"},
		{version: recordV1, ID: "x", FX: true},
		{version: recordV2, ID: "x", PayeeAccountMAC: strings.Repeat("m", macSize), PayerAccount: "u-1", Held: true, FX: true, Fee: 2},
	} {
		got, err := decodeRecord(r.encode())
		if err != nil || got != r {
			t.Errorf("round trip of %+v: %+v, %v", r, got, err)
		}
	}
	v2 := (&record{version: recordV2, PayeeAccountMAC: strings.Repeat("m", macSize)}).encode()
	shortMAC := (&record{version: recordV2, PayeeAccountMAC: "m"}).encode()
	plain := (&record{}).encode()
	for _, bad := range []string{"", "\x03", "\x02", "\x01", "\x01\x05ab", plain + "\x00",
		string(append([]byte(v2), 0)), shortMAC,
		plain + "\x00\x00\x00",     // an extension that says nothing
		plain + "\x00\x00\x04",     // an unknown flag
		plain + "\x00\x00\x83",     // an unknown flag beside known ones
		plain + "\x00\x00\x01\x00", // a byte after the flags
		plain + "\x00\x20\x00",     // an unknown factor
		plain + "\x80\x00\x00\x01", // a length not in its shortest form
	} {
		if _, err := decodeRecord(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

// TestRecordV2 writes a record with a data key: the account is not in
// the encoding, its MAC is, and reading it back under the key gives the
// account again; the digest is the same as without the key, so that a
// retry matches.
func TestRecordV2(t *testing.T) {
	key := testKey(t)
	r := record{ID: "a.1", Payer: "wallet-a", PayeeType: "WALLET", PayeeValue: "b:1", PayeeParticipant: "wallet-b",
		PayeeAccount: "acct-b:1-secret", QuoteID: "q", Note: "n", Fee: 3}
	s := &Service{Deps: Deps{Seal: key}, sealer: newSealer(key)}
	meta := s.meta(&r)
	if meta[0] != recordV2 || strings.Contains(meta, r.PayeeAccount) {
		t.Fatalf("record v2 %q holds the account in plain text", meta)
	}
	if r.version != 0 || r.PayeeAccountSealed != "" {
		t.Fatal("meta changed the payment's own record")
	}
	got, err := decodeRecord(meta)
	if err != nil {
		t.Fatal(err)
	}
	if got.PayeeAccount != "" || !bytes.Equal([]byte(got.PayeeAccountMAC), AccountMAC(s.AccountMACKey("wallet-b"), r.PayeeAccount)) ||
		bytes.Equal([]byte(got.PayeeAccountMAC), AccountMAC(s.AccountMACKey("wallet-c"), r.PayeeAccount)) {
		t.Fatalf("decoded %+v", got)
	}
	if err := s.sealer.openAccount(&got); err != nil || got.PayeeAccount != r.PayeeAccount {
		t.Fatalf("opened %q, %v", got.PayeeAccount, err)
	}
	if got.digest(100, cny) != r.digest(100, cny) {
		t.Error("the digest of a version 2 record differs from the request's")
	}
	// Without a key, version 1, as before.
	if v1 := (&Service{}).meta(&r); v1[0] != recordV1 || !strings.Contains(v1, r.PayeeAccount) {
		t.Fatalf("without a key: %q", v1)
	}
	// A sealed account swapped for another one's does not pass its MAC.
	other := r
	other.PayeeAccount = "acct-other"
	o, _ := decodeRecord(s.meta(&other))
	got.PayeeAccountSealed = o.PayeeAccountSealed
	if err := s.sealer.openAccount(&got); err == nil {
		t.Error("a sealed account that does not match the MAC was opened")
	}
	if err := (*sealer)(nil).openAccount(&o); err == nil {
		t.Error("a version 2 record opened without a key")
	}
	// Another key does not open it.
	k2, _ := seal.New(bytes.Repeat([]byte{8}, seal.KeySize))
	if err := newSealer(k2).openAccount(&o); err == nil {
		t.Error("opened under another key")
	}
	// Sealing and MACing a payment allocates only the record's strings.
	if n := testing.AllocsPerRun(100, func() { s.meta(&r) }); n > 4 && !raceEnabled {
		t.Errorf("meta allocates %v times per payment", n)
	}
}

// TestAccountMACGolden pins the MAC construction of docs/formats.md:
// K = HMAC-SHA256(data key, label), the payee's key HMAC-SHA256(K, payee
// id), the MAC HMAC-SHA256(payee key, account); vectors computed with
// Python's hmac module.
func TestAccountMACGolden(t *testing.T) {
	key := testKey(t)
	pk := PayeeMACKey(key.Derive(AccountMACLabel), "wallet-b")
	if got, want := hex.EncodeToString(pk), "c28d543e53733d114f238f01cd408619ed8ff543880a6ba92d297cc1590cea06"; got != want {
		t.Errorf("PayeeMACKey = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(AccountMAC(pk, "acct-b:1")), "b07fc2e78d9cfe73bf154fc26383e71f5554e29a66675f44c40c1d9ab80ec828"; got != want {
		t.Errorf("AccountMAC = %s, want %s", got, want)
	}
	var buf [macSize]byte
	if got := newSealer(key).payeeMAC("wallet-b").Append(buf[:0], "acct-b:1"); !bytes.Equal(got, AccountMAC(pk, "acct-b:1")) {
		t.Error("the sealer's MAC differs from AccountMAC")
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
	r2.PayeeAccount, r2.Fee, r2.Held, r2.FX = "changes after", 5, true, true // not part of the request
	if r2.digest(100, cny) != base {
		t.Error("digest covers what the client did not send")
	}
	r2 = r
	r2.Purpose = "FAMI"
	fami := r2.digest(100, cny)
	if r2.Purpose = "SALA"; fami == base || r2.digest(100, cny) == fami {
		t.Error("digest ignores the purpose")
	}
}

// TestDigestGolden pins request digests: those of requests without a
// purpose are what they were before FX payments (so that a retry across
// the upgrade still matches), and a purpose counts after the risk fields
// as docs/formats.md says. Vectors computed with Python's hashlib.
func TestDigestGolden(t *testing.T) {
	cny := money.MustCurrency("CNY")
	r := record{ID: "wallet-a.1", Payer: "wallet-a", PayeeType: "MSISDN", PayeeValue: "+8613800138000", QuoteID: "q", Note: "午饭"}
	risk := r
	risk.PayerAccount, risk.Factors = "u-7", 0b10001
	fxr := risk
	fxr.Purpose = "FAMI"
	for _, tt := range []struct {
		name string
		r    record
		want string
	}{
		{"domestic", r, "b154637eae8b9a76726c245eceff1e3b"},
		{"risk fields", risk, "c4899509f2960aa2623e02a4d6a0a0aa"},
		{"purpose", fxr, "7e69bf6b72ac78d5e076d549ad32188d"},
	} {
		d := tt.r.digest(10000, cny)
		if got := hex.EncodeToString(d[:]); got != tt.want {
			t.Errorf("%s: digest %s, want %s", tt.name, got, tt.want)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add((&record{ID: "a", Payer: "b", Fee: 3}).encode())
	f.Add((&record{version: recordV2, ID: "a", PayeeAccountMAC: strings.Repeat("m", macSize), PayeeAccountSealed: "\x01x", Fee: 3}).encode())
	f.Add((&record{ID: "a", PayerAccount: "u-1", Factors: 0b10001, Held: true, Fee: 3}).encode())
	f.Add((&record{ID: "a", FX: true, Fee: 3}).encode())
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := decodeRecord(s)
		if err != nil {
			return
		}
		if r.encode() != s {
			t.Fatalf("accepted %q which re-encodes as %q", s, r.encode())
		}
		// What the switch reads, an outside verifier reads the same.
		a, err := audit.DecodePaymentRecord(s)
		if err != nil || a.ID != r.ID || a.PayerAccount != r.PayerAccount || a.Factors != uint8(r.Factors) || a.Held != r.Held ||
			a.FX != r.FX || a.Fee != r.Fee {
			t.Fatalf("%q: the switch reads %+v, audit %+v, %v", s, r, a, err)
		}
	})
}

// TestRecordExtensionOutside: the audit package, which decodes records
// from docs/formats.md as an outside verifier would, reads the
// extension as the switch wrote it.
func TestRecordExtensionOutside(t *testing.T) {
	for _, r := range []record{
		{version: recordV1, ID: "x", Payer: "p", PayerAccount: "用户-1", Factors: 0b10101, Held: true, Fee: 9},
		{version: recordV2, ID: "y", PayeeAccountMAC: strings.Repeat("m", macSize), Factors: 1},
		{version: recordV1, ID: "z", Held: true},
		{version: recordV1, ID: "f", FX: true},
		{version: recordV2, ID: "g", PayeeAccountMAC: strings.Repeat("m", macSize), PayerAccount: "u", Held: true, FX: true},
	} {
		got, err := audit.DecodePaymentRecord(r.encode())
		if err != nil || got.ID != r.ID || got.PayerAccount != r.PayerAccount || got.Factors != uint8(r.Factors) || got.Held != r.Held ||
			got.FX != r.FX || got.Fee != r.Fee {
			t.Errorf("%+v: audit reads %+v, %v", r, got, err)
		}
	}
	plain := (&record{ID: "x"}).encode()
	for _, bad := range []string{plain + "\x00\x00\x00", plain + "\x00\x20\x00", plain + "\x00\x00\x04", plain + "\x00\x00\x07",
		plain + "\x00\x01\x00\x00"} {
		if _, err := audit.DecodePaymentRecord(bad); err == nil {
			t.Errorf("audit reads %q", bad)
		}
	}
}
