package app_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/wire"
)

// leafRecord reads, by docs/formats.md alone, a payment leaf's record
// version 2: its transfer id, account MAC and sealed account.
func leafRecord(t *testing.T, leaf []byte) (id string, mac []byte, sealed string) {
	t.Helper()
	if len(leaf) < 115 || leaf[0] != 1 || binary.BigEndian.Uint16(leaf[6:]) != 1 {
		t.Fatalf("not a payment leaf: %x", leaf)
	}
	meta := leaf[114:]
	if meta[0] != 2 {
		t.Fatalf("leaf record version %d, want 2", meta[0])
	}
	rest := meta[1:]
	var fields []string
	for range 7 { // id, payer, payee type, value, participant, MAC, sealed
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			t.Fatalf("leaf record cut short: %x", meta)
		}
		fields = append(fields, string(rest[k:k+int(n)]))
		rest = rest[k+int(n):]
	}
	return fields[0], []byte(fields[5]), fields[6]
}

// TestAuditPayeeAccountMAC: a payment's audit leaf holds the MAC of the
// payee's account reference, not the account; the payee gets the MAC key
// and recomputes the MAC from its own account, and still sees its
// account in the transfer.
func TestAuditPayeeAccountMAC(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		a, _ := s.participant("wallet-a", nil)
		b, _ := s.participant("wallet-b", nil)
		c, _ := s.participant("wallet-c", nil)
		s.deposit("wallet-a", "100.00")
		const account = "acct-b-secret-777"
		s.party(b, "MSISDN", "+8613800000011", "Bo", account)
		s.ok(201, "POST", "/v1/transfers", a, pay("m-1", "MSISDN", "+8613800000011", "1.00"), nil)

		var tr wire.Transfer
		s.ok(200, "GET", "/v1/transfers/m-1", b, nil, &tr)
		if tr.Payee.Account != account {
			t.Fatalf("the payee sees account %q, want %q", tr.Payee.Account, account)
		}
		var p wire.AuditProof
		s.ok(200, "GET", "/v1/audit/transfers/m-1/proof", b, nil, &p)
		leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(leaf, []byte(account)) || bytes.Contains(leaf, []byte("enc1:")) {
			t.Fatalf("the leaf holds the account, plain or sealed: %q", leaf)
		}
		id, mac, sealed := leafRecord(t, leaf)
		if id != "m-1" || sealed != "" {
			t.Fatalf("leaf record: id %q, sealed %q", id, sealed)
		}
		// The leaf is in the signed tree (the proof's own check).
		var proof []tlog.Hash
		for _, h := range p.Proof {
			b, _ := base64.StdEncoding.DecodeString(h)
			proof = append(proof, tlog.Hash(b))
		}
		lines := strings.Split(p.Checkpoint, "\n")
		root, _ := base64.StdEncoding.DecodeString(lines[2])
		if err := tlog.CheckRecord(proof, p.TreeSize, tlog.Hash(root), p.Index, tlog.RecordHash(leaf)); err != nil {
			t.Fatal(err)
		}
		// The payee gets its own key and checks the leaf with it; the
		// payer (or any other participant) gets its own key, which does
		// not fit the payee's MAC, and is refused the payee's; the
		// operator gets the payee's, or the switch's that it derives from.
		type macKey struct {
			Key         string `json:"key"`
			Algorithm   string `json:"algorithm"`
			Participant string `json:"participant"`
		}
		check := func(k macKey) bool {
			t.Helper()
			key, err := base64.StdEncoding.DecodeString(k.Key)
			if err != nil || k.Algorithm != "HMAC-SHA256" || len(key) != 32 {
				t.Fatalf("account MAC key %+v", k)
			}
			m := hmac.New(sha256.New, key)
			m.Write([]byte(account))
			return hmac.Equal(m.Sum(nil), mac)
		}
		var kb, ka, kop, kswitch macKey
		s.ok(200, "GET", "/v1/audit/account-mac-key", b, nil, &kb)
		if kb.Participant != "wallet-b" || !check(kb) {
			t.Fatal("the payee cannot recompute the MAC of its account in the leaf")
		}
		s.ok(200, "GET", "/v1/audit/account-mac-key", a, nil, &ka)
		if ka.Participant != "wallet-a" || check(ka) {
			t.Fatal("the payer's key checks the payee's account MAC: it could try account numbers")
		}
		s.problem(404, "not-found", "GET", "/v1/audit/account-mac-key?participant=wallet-b", a, nil)
		s.ok(200, "GET", "/v1/audit/account-mac-key?participant=wallet-b", opToken, nil, &kop)
		if kop != kb {
			t.Fatalf("the operator got %+v for the payee, the payee %+v", kop, kb)
		}
		s.ok(200, "GET", "/v1/audit/account-mac-key", opToken, nil, &kswitch)
		sk, _ := base64.StdEncoding.DecodeString(kswitch.Key)
		if kswitch.Participant != "" || base64.StdEncoding.EncodeToString(audit.PayeeMACKey(sk, "wallet-b")) != kb.Key {
			t.Fatal("the payee's key is not derived from the switch's as documented")
		}
		s.problem(404, "not-found", "GET", "/v1/audit/account-mac-key?participant=nobody", opToken, nil)
		s.ok(200, "GET", "/v1/audit/account-mac-key", c, nil, nil)
		s.problem(401, "unauthorized", "GET", "/v1/audit/account-mac-key", "", nil)
	})
}
