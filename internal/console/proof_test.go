package console_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-json-experiment/json"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/wire"
)

// The audit proof verified in the browser (proof.js), held to the Go
// implementation it follows: golang.org/x/mod/sumdb/tlog for the Merkle
// path and sumdb/note for the checkpoint's signature.

// goVerify verifies p as a Go client would, and returns the leaf hash
// and the root it checked.
func goVerify(p wire.AuditProof, v note.Verifier) (leafHash, root tlog.Hash, err error) {
	leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
	if err != nil {
		return leafHash, root, err
	}
	leafHash = tlog.RecordHash(leaf)
	n, err := note.Open([]byte(p.Checkpoint), note.VerifierList(v))
	if err != nil {
		return leafHash, root, err
	}
	cp, err := audit.ParseCheckpoint(n.Text)
	if err != nil {
		return leafHash, root, err
	}
	if cp.Origin != v.Name() || cp.Size != p.TreeSize {
		return leafHash, root, fmt.Errorf("checkpoint %s/%d for a proof of size %d", cp.Origin, cp.Size, p.TreeSize)
	}
	proof := make(tlog.RecordProof, len(p.Proof))
	for i, h := range p.Proof {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != tlog.HashSize {
			return leafHash, root, fmt.Errorf("path hash %d", i)
		}
		copy(proof[i][:], b)
	}
	return leafHash, cp.Root, tlog.CheckRecord(proof, p.TreeSize, cp.Root, p.Index, leafHash)
}

// jsResult is what window.hulianProof.verify resolves to.
type jsResult struct {
	OK       bool   `json:"ok"`
	Reason   string `json:"reason"`
	LeafHash string `json:"leafHash"`
	Root     string `json:"root"`
}

// jsVerify runs proof.js's verify on each proof with vkey in the tab.
func jsVerify(t *testing.T, ctx context.Context, proofs []wire.AuditProof, vkey string) []jsResult {
	t.Helper()
	b, err := json.Marshal(proofs)
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, ctx, chromedp.Evaluate[string](fmt.Sprintf(`(async () => {
		const out = [];
		for (const p of %s) {
			out.push(await window.hulianProof.verify(p, %q));
		}
		return JSON.stringify(out);
	})()`, b, vkey), chromedp.EvalAwaitPromise))
	var rs []jsResult
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

// tampered are ways to spoil a proof, each of which both verifiers
// must refuse.
var tampered = []struct {
	name  string
	spoil func(p *wire.AuditProof)
}{
	{"a leaf byte flipped", func(p *wire.AuditProof) { p.Leaf = flip(p.Leaf, 3) }},
	{"a path hash flipped", func(p *wire.AuditProof) { p.Proof[len(p.Proof)/2] = flip(p.Proof[len(p.Proof)/2], 0) }},
	{"a path hash dropped", func(p *wire.AuditProof) { p.Proof = p.Proof[1:] }},
	{"another index", func(p *wire.AuditProof) { p.Index ^= 1 }},
	{"another tree size", func(p *wire.AuditProof) { p.TreeSize++ }},
	{"the signature spoilt", func(p *wire.AuditProof) {
		text, sig, _ := strings.Cut(p.Checkpoint, "\n\n— ")
		name, b64, _ := strings.Cut(strings.TrimSuffix(sig, "\n"), " ")
		p.Checkpoint = text + "\n\n— " + name + " " + flip(b64, 10) + "\n"
	}},
	{"the root changed, signature kept", func(p *wire.AuditProof) {
		lines := strings.SplitN(p.Checkpoint, "\n", 4)
		lines[2] = flip(lines[2], 0)
		p.Checkpoint = strings.Join(lines, "\n")
	}},
}

// flip flips a bit of the i-th byte of base64 s.
func flip(s string, i int) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return s + "A"
	}
	b[i%len(b)] ^= 0x40
	return base64.StdEncoding.EncodeToString(b)
}

// verifyOnPage clicks the button sel of a transfer's page and returns
// the verification's outcome: "true" or "false".
func verifyOnPage(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	do(t, ctx, chromedp.Click(chromedp.CSS(sel)))
	return run(t, ctx, chromedp.Poll[string](`(() => { const v = document.getElementById("proof-status").dataset.verified; return v === "" ? null : v; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
}

// TestConsoleProof: a payee's user verifies a payment's audit proof in
// the browser: the page says verified, and shows the leaf hash and the
// root Go's tlog computes of the same proof; a tampered proof pasted in
// is shown as not verified, and Go refuses it too, for every way of
// tampering.
func TestConsoleProof(t *testing.T) {
	s := start(t)
	sc := s.scene("wallet-a", "wallet-b")
	for i := range 5 {
		if st := sc.pay(fmt.Sprintf("p-%d", i), "wallet-a", "wallet-b", "1.00"); st != 201 {
			t.Fatalf("pay: %d", st)
		}
	}
	vkey := strings.TrimSpace(s.get("/v1/audit/verifier"))
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	u := s.user("li.wei", "participant-viewer", "wallet-b")
	ctx := tab(t)
	s.signedIn(t, ctx, u)
	var real wire.AuditProof
	for _, id := range []string{"p-0", "p-4"} {
		s.visit(t, ctx, "/console/transfers/"+id)
		if got := verifyOnPage(t, ctx, "#verify"); got != "true" {
			t.Fatalf("%s: not verified in the page: %s", id, text(t, ctx, "#proof-status"))
		}
		if err := json.Unmarshal([]byte(js(t, ctx, `JSON.stringify(window.hulianProof.last)`)), &real); err != nil {
			t.Fatal(err)
		}
		leafHash, root, err := goVerify(real, v)
		if err != nil {
			t.Fatalf("%s: the proof the page verified fails in Go: %v", id, err)
		}
		if got := text(t, ctx, "#leaf-hash"); got != base64.StdEncoding.EncodeToString(leafHash[:]) {
			t.Errorf("%s: leaf hash %s in the page, %x in Go", id, got, leafHash)
		}
		if got := text(t, ctx, "#root-hash"); got != base64.StdEncoding.EncodeToString(root[:]) {
			t.Errorf("%s: root %s in the page, %x in Go", id, got, root)
		}
	}
	// Tampered proofs pasted into the page.
	do(t, ctx, chromedp.Click(chromedp.CSS("#other-proof summary")))
	for _, c := range tampered {
		p := real
		p.Proof = append([]string(nil), real.Proof...)
		c.spoil(&p)
		if _, _, err := goVerify(p, v); err == nil {
			t.Fatalf("%s: Go takes it", c.name)
		}
		b, _ := json.Marshal(p)
		do(t, ctx, chromedp.SetValue(chromedp.CSS("#proof-json"), string(b)), chromedp.Click(chromedp.CSS("#verify-other")),
			chromedp.WaitVisible(chromedp.CSS(`#proof-status[data-verified="false"]`)))
		if msg := text(t, ctx, "#proof-status"); !strings.HasPrefix(msg, "Not verified") && !strings.HasPrefix(msg, "验证未通过") {
			t.Errorf("%s: %q", c.name, msg)
		}
	}
	// The untampered proof pasted in verifies.
	b, _ := json.Marshal(real)
	do(t, ctx, chromedp.SetValue(chromedp.CSS("#proof-json"), string(b)), chromedp.Click(chromedp.CSS("#verify-other")),
		chromedp.WaitVisible(chromedp.CSS(`#proof-status[data-verified="true"]`)))
	// Another participant's payment has no proof for this user.
	if st := sc.pay("p-other", "wallet-b", "wallet-a", "1.00"); st != 201 {
		t.Fatal(st)
	}
	sc2 := s.scene("wallet-c")
	if st := sc2.pay("p-c", "wallet-c", "wallet-a", "1.00"); st != 201 {
		t.Fatal(st)
	}
	s.visit(t, ctx, "/console/transfers/p-0")
	got := js(t, ctx, `(async () => (await fetch("/console/transfers/p-c/proof")).status + "")()`)
	if got != "404" {
		t.Errorf("another's proof: %s", got)
	}
}

// memHashes is a tlog.HashReader over stored hashes in memory.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(index []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(index))
	for i, x := range index {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d of %d", x, len(m))
		}
		out[i] = m[x]
	}
	return out, nil
}

// TestConsoleProofPaths holds proof.js to tlog on every leaf of trees of
// 1 to 17 leaves and on some leaves of larger ones (the path's shape
// changes with the leaf and the size), and on tampered proofs: the
// browser and Go agree on every one, and on its root.
func TestConsoleProofPaths(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := mrand.New(mrand.NewPCG(uint64(seed), 0))
	defer func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	}()
	// A key whose base64 holds a "+", the separator of the key's parts,
	// as about half of them do.
	var skey, vkey string
	for {
		var err error
		if skey, vkey, err = note.GenerateKey(rand.Reader, "hulian.switch/test"); err != nil {
			t.Fatal(err)
		}
		if strings.Count(vkey, "+") > 2 {
			break
		}
	}
	signer, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	const leaves = 1000
	var store memHashes
	var data [][]byte
	for i := range leaves {
		leaf := make([]byte, 20+rng.IntN(200))
		for j := range leaf {
			leaf[j] = byte(rng.Uint32())
		}
		hs, err := tlog.StoredHashes(int64(i), leaf, store)
		if err != nil {
			t.Fatal(err)
		}
		store = append(store, hs...)
		data = append(data, leaf)
	}
	var proofs []wire.AuditProof
	add := func(size, index int64) {
		root, err := tlog.TreeHash(size, store)
		if err != nil {
			t.Fatal(err)
		}
		rp, err := tlog.ProveRecord(size, index, store)
		if err != nil {
			t.Fatal(err)
		}
		cp := audit.Checkpoint{Origin: v.Name(), Size: size, Root: root}
		msg, err := note.Sign(&note.Note{Text: string(cp.Format())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		p := wire.AuditProof{Leaf: base64.StdEncoding.EncodeToString(data[index]), Index: index, TreeSize: size, Checkpoint: string(msg),
			Proof: []string{}}
		for _, h := range rp {
			p.Proof = append(p.Proof, base64.StdEncoding.EncodeToString(h[:]))
		}
		proofs = append(proofs, p)
	}
	for size := int64(1); size <= 17; size++ {
		for i := range size {
			add(size, i)
		}
	}
	for _, size := range []int64{31, 32, 33, 64, 100, 511, leaves} {
		for _, i := range []int64{0, 1, size / 2, size - 2, size - 1, rng.Int64N(size)} {
			add(size, i)
		}
	}
	n := len(proofs)
	for range 60 {
		p := proofs[rng.IntN(n)]
		p.Proof = append([]string(nil), p.Proof...)
		c := tampered[rng.IntN(len(tampered))]
		if len(p.Proof) == 0 && strings.Contains(c.name, "path") {
			continue
		}
		c.spoil(&p)
		proofs = append(proofs, p)
	}

	s := start(t)
	u := s.user("li.wei", "regulator", "")
	ctx := tab(t)
	s.signedIn(t, ctx, u)
	s.visit(t, ctx, "/console/transfers/none") // any page of the console; proof.js is loaded below
	js(t, ctx, `new Promise((ok, fail) => {
		const s = document.createElement("script");
		s.src = "/console/static/proof.js";
		s.onload = () => ok("");
		s.onerror = () => fail("proof.js did not load");
		document.head.appendChild(s);
	})`)
	results := jsVerify(t, ctx, proofs, vkey)
	if len(results) != len(proofs) {
		t.Fatalf("%d results of %d proofs", len(results), len(proofs))
	}
	for i, p := range proofs {
		_, root, err := goVerify(p, v)
		r := results[i]
		if r.OK != (err == nil) {
			t.Errorf("proof %d (leaf %d of %d, tampered %v): browser %v (%s), Go %v", i, p.Index, p.TreeSize, i >= n, r.OK, r.Reason, err)
			continue
		}
		if i < n && r.Root != base64.StdEncoding.EncodeToString(root[:]) {
			t.Errorf("proof %d: root %s in the browser, %x in Go", i, r.Root, root)
		}
	}
	t.Logf("%d proofs (%d tampered) agree in the browser and in Go", len(proofs), len(proofs)-n)
}
