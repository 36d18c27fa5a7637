package app_test

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// TestAuditProofsOverHTTP checks the audit log's proofs with nothing of
// the switch's code: only HTTP, encoding/json and tlog's and note's own
// functions. The leaf is decoded by its documented byte layout.
func TestAuditProofsOverHTTP(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		a, _ := s.participant("wallet-a", nil)
		b, _ := s.participant("wallet-b", nil)
		c, _ := s.participant("wallet-c", nil)
		s.deposit("wallet-a", "1000.00")
		s.party(b, "MSISDN", "+8613800000009", "Bo", "b-9")
		for i := 0; i < 10; i++ {
			s.ok(201, "POST", "/v1/transfers", a, pay("p-"+strconv.Itoa(i), "MSISDN", "+8613800000009", fmt.Sprintf("%d.25", i+1)), nil)
		}

		// The verifier key is public.
		r := s.do("GET", "/v1/audit/verifier", "", nil)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("verifier: %d %s", r.status, r.body)
		}
		v, err := note.NewVerifier(strings.TrimSpace(string(r.body)))
		if err != nil {
			t.Fatal(err)
		}
		type proofJSON struct {
			Leaf       string   `json:"leaf"`
			Index      int64    `json:"index"`
			TreeSize   int64    `json:"treeSize"`
			Proof      []string `json:"proof"`
			Checkpoint string   `json:"checkpoint"`
		}
		openCheckpoint := func(text string) (int64, tlog.Hash) {
			n, err := note.Open([]byte(text), note.VerifierList(v))
			if err != nil {
				t.Fatalf("checkpoint %q: %v", text, err)
			}
			lines := strings.Split(n.Text, "\n")
			if len(lines) != 4 || lines[0] != v.Name() {
				t.Fatalf("checkpoint body %q", n.Text)
			}
			size, err := strconv.ParseInt(lines[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			var root tlog.Hash
			rb, err := base64.StdEncoding.DecodeString(lines[2])
			if err != nil || copy(root[:], rb) != tlog.HashSize {
				t.Fatalf("root %q", lines[2])
			}
			return size, root
		}
		hashes := func(ss []string) []tlog.Hash {
			out := make([]tlog.Hash, len(ss))
			for i, x := range ss {
				hb, err := base64.StdEncoding.DecodeString(x)
				if err != nil || copy(out[i][:], hb) != tlog.HashSize {
					t.Fatalf("hash %q", x)
				}
			}
			return out
		}
		var sizes []int64
		var roots []tlog.Hash
		for i := 0; i < 10; i++ {
			id := "p-" + strconv.Itoa(i)
			// Payer, payee and operator may see the proof; others not.
			for _, who := range []string{a, b, opToken} {
				s.ok(200, "GET", "/v1/audit/transfers/"+id+"/proof", who, nil, nil)
			}
			s.problem(404, "not-found", "GET", "/v1/audit/transfers/"+id+"/proof", c, nil)
			r := s.do("GET", "/v1/audit/transfers/"+id+"/proof", a, nil)
			var p proofJSON
			if err := stdjson.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			size, root := openCheckpoint(p.Checkpoint)
			if size != p.TreeSize || p.Index >= size {
				t.Fatalf("proof of %s: index %d, tree %d, checkpoint %d", id, p.Index, p.TreeSize, size)
			}
			leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(hashes(p.Proof), p.TreeSize, root, p.Index, tlog.RecordHash(leaf)); err != nil {
				t.Fatalf("proof of %s: %v", id, err)
			}
			// docs/formats.md: version 1, kind post (3), purpose payment
			// (1), amount at 88, meta length at 112, meta (the payment
			// record: version 2 with a data key, uvarint length, the
			// transfer's id, …).
			amount := int64(uint64(leaf[88])<<56 | uint64(leaf[89])<<48 | uint64(leaf[90])<<40 | uint64(leaf[91])<<32 |
				uint64(leaf[92])<<24 | uint64(leaf[93])<<16 | uint64(leaf[94])<<8 | uint64(leaf[95]))
			meta := leaf[114:]
			if leaf[0] != 1 || leaf[1] != 3 || leaf[7] != 1 || amount != int64(i+1)*100+25 ||
				meta[0] != 2 || int(meta[1]) != len(id) || string(meta[2:2+len(id)]) != id {
				t.Fatalf("leaf of %s: %x", id, leaf)
			}
			sizes, roots = append(sizes, size), append(roots, root)
		}
		// Every pair of checkpoints seen is one log.
		r = s.do("GET", "/v1/audit/checkpoint", b, nil)
		last, lastRoot := openCheckpoint(string(r.body))
		for k := range sizes {
			if sizes[k] == last {
				continue
			}
			var cp struct {
				Proof []string `json:"proof"`
			}
			rr := s.do("GET", fmt.Sprintf("/v1/audit/consistency?from=%d&to=%d", sizes[k], last), a, nil)
			if err := stdjson.Unmarshal(rr.body, &cp); err != nil {
				t.Fatal(err, string(rr.body))
			}
			if err := tlog.CheckTree(hashes(cp.Proof), last, lastRoot, sizes[k], roots[k]); err != nil {
				t.Fatalf("tree %d is not a prefix of %d: %v", sizes[k], last, err)
			}
		}
		s.problem(400, "invalid-request", "GET", "/v1/audit/consistency?from=5&to=2", a, nil)
		s.problem(404, "not-found", "GET", fmt.Sprintf("/v1/audit/consistency?from=1&to=%d", last+1000), a, nil)
	})
}

// TestRegulator checks the regulator's read-only token: it reads what
// the operator reads, the audit log's leaves included, changes nothing,
// and posts co-signatures.
func TestRegulator(t *testing.T) {
	const reg = "test-regulator-token-0123456789abcdef"
	s := start(t, "", func(c *app.Config) { c.RegulatorToken = reg })
	a, _ := s.participant("wallet-a", nil)
	b, _ := s.participant("wallet-b", nil)
	s.deposit("wallet-a", "100.00")
	s.party(b, "MSISDN", "+8613800000001", "Bo", "b-1")
	s.ok(201, "POST", "/v1/transfers", a, pay("t-1", "MSISDN", "+8613800000001", "1.00"), nil)

	for _, path := range []string{"/v1/participants", "/v1/participants/wallet-a", "/v1/participants/wallet-a/accounts",
		"/v1/hub/accounts", "/v1/transfers/t-1", "/v1/transfers?participant=wallet-a", "/v1/settlement-windows",
		"/v1/audit/checkpoint", "/v1/audit/transfers/t-1/proof", "/v1/audit/leaves?start=0&end=3", "/v1/audit/consistency?from=1&to=2"} {
		if r := s.do("GET", path, reg, nil); r.status != 200 {
			t.Errorf("GET %s as the regulator: %d %s", path, r.status, r.body)
		}
	}
	s.problem(403, "forbidden", "POST", "/v1/participants", reg, wire.NewParticipant{ID: "x-1", Name: "x", Kind: "wallet", Currencies: []string{"CNY"}})
	s.problem(403, "forbidden", "POST", "/v1/participants/wallet-a/suspend", reg, nil)
	s.problem(403, "forbidden", "POST", "/v1/participants/wallet-a/funds", reg, wire.Funds{Currency: "CNY", Amount: "1.00", Direction: "deposit"})
	s.problem(403, "forbidden", "PUT", "/v1/fees/CNY", reg, wire.Fees{Fixed: "0.00", Rate: "0.00", Min: "0.00", Max: "0.00"})
	s.problem(403, "forbidden", "POST", "/v1/transfers", reg, pay("t-2", "MSISDN", "+8613800000001", "1.00"))
	s.problem(403, "forbidden", "GET", "/v1/parties", reg, nil)
	s.problem(403, "forbidden", "POST", "/v1/audit/witnesses", reg, wire.Witness{Name: "w", Key: "w+00000000+AAAA"})
	// Leaves: the operator and the regulator only.
	s.problem(403, "forbidden", "GET", "/v1/audit/leaves?start=0&end=3", a, nil)
	s.ok(200, "GET", "/v1/audit/leaves?start=0&end=3", opToken, nil, nil)
	s.problem(401, "unauthorized", "GET", "/v1/audit/checkpoint", "", nil)
	// A co-signature by an unknown key is refused, whoever posts it.
	r := s.do("GET", "/v1/audit/checkpoint", reg, nil)
	skey, _, _ := note.GenerateKey(nil, "stranger.example/w")
	signer, _ := note.NewSigner(skey)
	n, err := note.Open(r.body, note.VerifierList(verifierOf(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, _ := note.Sign(n, signer)
	rr := s.do("POST", "/v1/audit/cosignatures", reg, string(cosigned))
	if rr.status != 400 && rr.status != 403 && rr.status != 415 {
		t.Fatalf("unknown witness: %d %s", rr.status, rr.body)
	}
	if !bytes.Contains(rr.body, []byte("problem")) && !bytes.Contains(rr.body, []byte("type")) {
		t.Fatalf("not a problem: %s", rr.body)
	}
}

func verifierOf(t *testing.T, s *sw) note.Verifier {
	t.Helper()
	r := s.do("GET", "/v1/audit/verifier", "", nil)
	v, err := note.NewVerifier(strings.TrimSpace(string(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
