package main

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/atomicfile"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/wire"
)

// errVerify means verification found a discrepancy; the details are
// already printed.
var errVerify = errors.New("verification failed")

// verify checks the audit log: offline against the stored ledger, or
// online, a participant's own transfers' proofs.
func verify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "offline: the switch's data directory (stop the switch first)")
	dsn := fs.String("store", "", "offline: PostgreSQL DSN (postgres://…) of the ledger, with --data for the audit log")
	key := fs.String("key", "", "offline: the switch's verifier key (name+hash+key) or a file holding it; default: derived from DIR/audit.key")
	target := fs.String("switch", "", "online: the switch's URL; checks the proofs of the --token participant's transfers")
	token := fs.String("token", os.Getenv("HULIAN_TOKEN"), "online: the participant's API key (default $HULIAN_TOKEN)")
	switchKey := fs.String("switch-key", "", "online: the switch's verifier key or a file holding it; default: fetched from the switch")
	state := fs.String("state", "", "online: a file keeping the last checkpoint accepted and the switch's key; fails on a rollback, a fork or a changed key (--token may then be the operator's or regulator's)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hulian verify --data DIR [--store postgres://…] [--key VERIFIER]\n       hulian verify --switch URL --token KEY [--switch-key VERIFIER] [--state FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("verify: unexpected arguments %v", fs.Args())
	}
	if *target != "" && *state != "" {
		return verifyWithState(ctx, *target, *token, *switchKey, *state, stdout)
	}
	if *target != "" {
		return verifyOnline(ctx, *target, *token, *switchKey, stdout)
	}
	if *data == "" {
		fs.Usage()
		return errors.New("verify: --data (offline) or --switch (online) is required")
	}
	vkey, err := keyArg(*key)
	if err != nil {
		return fmt.Errorf("verify: --key: %w", err)
	}
	if vkey == "" {
		skey, err := audit.LoadKey(filepath.Join(*data, "audit.key"), "", false)
		if err != nil {
			return fmt.Errorf("verify: no --key and %w", err)
		}
		if vkey, err = audit.VerifierKey(skey); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		fmt.Fprintf(stdout, "note: verifying with the key in %s; pass the switch's published verifier key with --key to rule out a replaced key\n", filepath.Join(*data, "audit.key"))
	}
	var src audit.Source
	if *dsn != "" {
		src, err = audit.Postgres(ctx, *dsn)
	} else {
		src, err = audit.Embedded(*data)
	}
	if errors.Is(err, audit.ErrRunning) {
		return fmt.Errorf("verify: %w: offline verification reads the stored ledger as it is, which a running switch changes", err)
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer src.Close()
	rep, err := audit.Verify(ctx, audit.VerifyOptions{Source: src, Dir: filepath.Join(*data, "audit"), VerifierKey: vkey})
	rep.Print(stdout)
	if errors.Is(err, audit.ErrMismatch) {
		return fmt.Errorf("%w: %s", errVerify, rep.Problems[0])
	}
	return err
}

// keyArg returns a verifier key given as itself or as a file holding it.
func keyArg(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := os.Stat(s); err != nil {
		return s, nil // not a file: the key itself
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// auditClient is a small API client for the commands that talk to a switch.
type auditClient struct {
	base  string
	token string
	hc    *http.Client
}

func newAuditClient(base, token string) *auditClient {
	return &auditClient{base: strings.TrimSuffix(base, "/"), token: token, hc: &http.Client{Timeout: 30 * time.Second}}
}

// do sends a request and returns the body of a 2xx answer.
func (c *auditClient) do(ctx context.Context, method, path, ctype string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

// status returns the HTTP status of a GET of path.
func (c *auditClient) status(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (c *auditClient) getJSON(ctx context.Context, path string, out any) error {
	b, err := c.do(ctx, "GET", path, "", nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// switchVerifier returns the switch's verifier: the one given, or the
// one the switch publishes (trusted on first use, and said so).
func switchVerifier(ctx context.Context, c *auditClient, given string, out io.Writer) (note.Verifier, error) {
	vkey, err := keyArg(given)
	if err != nil {
		return nil, err
	}
	if vkey == "" {
		b, err := c.do(ctx, "GET", "/v1/audit/verifier", "", nil)
		if err != nil {
			return nil, err
		}
		vkey = strings.TrimSpace(string(b))
		fmt.Fprintf(out, "note: using the verifier key the switch serves, %s; pass the one published out of band with --switch-key\n", vkey)
	}
	return note.NewVerifier(vkey)
}

func decodeHashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("hash %d: not a base64 SHA-256", i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// verifyOnline checks every transfer of the participant: its proof,
// against a checkpoint signed by the switch, and its leaf, against the
// transfer's id and amount; and that the checkpoints seen are one log.
func verifyOnline(ctx context.Context, base, token, switchKey string, out io.Writer) error {
	if token == "" {
		return errors.New("verify: --switch needs --token (a participant's API key)")
	}
	c := newAuditClient(base, token)
	v, err := switchVerifier(ctx, c, switchKey, out)
	if err != nil {
		return fmt.Errorf("verify: switch key: %w", err)
	}
	var newest audit.Checkpoint
	macKeys := map[string][]byte{} // by payee
	checked, bad, macs, fxLegs := 0, 0, 0, 0
	fail := func(format string, a ...any) {
		bad++
		fmt.Fprintf(out, "FAIL: "+format+"\n", a...)
	}
	since := ""
	for {
		var page wire.Transfers
		if err := c.getJSON(ctx, "/v1/transfers?limit=1000&since="+url.QueryEscape(since), &page); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		for _, t := range page.Transfers {
			leaf, cp, err := proveLeg(ctx, c, v, t.ID, "")
			if err != nil {
				fail("transfer %q: %v", t.ID, err)
				continue
			}
			r, err := checkLeaf(leaf, t)
			if err != nil {
				fail("transfer %q: %v", t.ID, err)
				continue
			}
			// An FX payment's payee is paid by its fx leg, a leaf of its
			// own with the FX terms.
			if t.FX != nil {
				fxLeaf, fxCP, err := proveLeg(ctx, c, v, t.ID, "fx")
				if err == nil {
					err = checkFXLeaf(fxLeaf, t)
				}
				if err == nil {
					err = consistent(ctx, c, &newest, fxCP)
				}
				if err != nil {
					fail("transfer %q: fx leg: %v", t.ID, err)
					continue
				}
				fxLegs++
			}
			// The payee (and the operator) see the account: the leaf's
			// MAC must be of it.
			if r.Version == 2 && t.Payee.Account != "" {
				macKey, ok := macKeys[t.Payee.Participant]
				if !ok {
					if macKey, err = accountMACKey(ctx, c, t.Payee.Participant); err != nil {
						fail("transfer %q: %v", t.ID, err)
						continue
					}
					macKeys[t.Payee.Participant] = macKey
				}
				if !hmac.Equal(audit.AccountMAC(macKey, t.Payee.Account), r.PayeeAccountMAC) {
					fail("transfer %q: the account MAC is not of the payee account %q", t.ID, t.Payee.Account)
					continue
				}
				macs++
			}
			// Every checkpoint seen must extend the newest one before.
			if err := consistent(ctx, c, &newest, cp); err != nil {
				fail("checkpoints of sizes %d and %d: %v", newest.Size, cp.Size, err)
				continue
			}
			checked++
		}
		if page.Next == "" {
			break
		}
		since = page.Next
	}
	fmt.Fprintf(out, "transfers: %d checked: each leaf is the transfer (id and amount) and is in a tree signed by %s\n", checked, v.Name())
	if macs > 0 {
		fmt.Fprintf(out, "accounts: %d leaves hold the MAC of the payee account the switch shows\n", macs)
	}
	if fxLegs > 0 {
		fmt.Fprintf(out, "fx legs: %d leaves pay the payee what the switch shows, at its rate, from its provider\n", fxLegs)
	}
	fmt.Fprintf(out, "checkpoints: all consistent with the newest seen, tree size %d, root %s\n", newest.Size, newest.Root)
	if bad > 0 {
		return fmt.Errorf("%w: %d discrepancies", errVerify, bad)
	}
	fmt.Fprintln(out, "OK")
	return nil
}

// proveLeg fetches the audit proof of a transfer's leg ("" or "fx"),
// checks its checkpoint's signature with v and the leaf's inclusion in
// the signed tree, and returns the leaf and the checkpoint.
func proveLeg(ctx context.Context, c *auditClient, v note.Verifier, id, leg string) ([]byte, audit.Checkpoint, error) {
	path := "/v1/audit/transfers/" + url.PathEscape(id) + "/proof"
	if leg != "" {
		path += "?leg=" + url.QueryEscape(leg)
	}
	var p wire.AuditProof
	if err := c.getJSON(ctx, path, &p); err != nil {
		return nil, audit.Checkpoint{}, fmt.Errorf("no proof: %w", err)
	}
	n, err := note.Open([]byte(p.Checkpoint), note.VerifierList(v))
	if err != nil {
		return nil, audit.Checkpoint{}, fmt.Errorf("checkpoint not signed by %s: %w", v.Name(), err)
	}
	cp, err := audit.ParseCheckpoint(n.Text)
	if err != nil || cp.Origin != v.Name() || cp.Size != p.TreeSize {
		return nil, cp, fmt.Errorf("the checkpoint is not the switch's tree of size %d (%v)", p.TreeSize, err)
	}
	leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
	if err != nil {
		return nil, cp, errors.New("leaf is not base64")
	}
	proof, err := decodeHashes(p.Proof)
	if err != nil {
		return nil, cp, fmt.Errorf("proof: %w", err)
	}
	if err := tlog.CheckRecord(proof, p.TreeSize, cp.Root, p.Index, tlog.RecordHash(leaf)); err != nil {
		return nil, cp, fmt.Errorf("leaf %d is not in the signed tree of size %d: %w", p.Index, p.TreeSize, err)
	}
	return leaf, cp, nil
}

// checkFXLeaf decodes an FX payment's fx leg (docs/formats.md, "FX
// terms") and checks it against what the switch shows: the payee paid
// the target amount in its currency by the provider, at the rate, for
// the purpose, for this transfer.
func checkFXLeaf(leaf []byte, t wire.Transfer) error {
	e, n, err := ledger.DecodeEvent(leaf)
	if err != nil || n != len(leaf) {
		return fmt.Errorf("not one ledger event (%v)", err)
	}
	if e.Purpose != purpose.FX || (e.Kind != ledger.KindPost && e.Kind != ledger.KindReserve) {
		return fmt.Errorf("a %s event of purpose %d, not an fx leg", e.Kind, e.Purpose)
	}
	terms, err := audit.DecodeFXTerms(e.Meta)
	if err != nil {
		return err
	}
	f := t.FX
	switch {
	case terms.TransferID != t.ID:
		return fmt.Errorf("names transfer %q", terms.TransferID)
	case terms.Provider != f.Provider || terms.Rate != f.Rate || terms.Purpose != f.Purpose || terms.Mode != f.AmountType:
		return fmt.Errorf("records %s at %s (%s, %s), the switch shows %s at %s (%s, %s)",
			terms.Provider, terms.Rate, terms.Purpose, terms.Mode, f.Provider, f.Rate, f.Purpose, f.AmountType)
	case e.Currency.String() != f.TargetCurrency || e.Amount.Format(e.Currency) != f.TargetAmount:
		return fmt.Errorf("pays %s %s, the switch shows %s %s", e.Amount.Format(e.Currency), e.Currency, f.TargetAmount, f.TargetCurrency)
	}
	return nil
}

// checkLeaf decodes a leaf (docs/formats.md: ledger event v1, payment
// record v1 or v2, leaf v1 or v2) and checks that it is the transfer's
// first event. It returns the leaf's payment record.
func checkLeaf(leaf []byte, t wire.Transfer) (audit.PaymentRecord, error) {
	var r audit.PaymentRecord
	e, n, err := ledger.DecodeEvent(leaf)
	if err != nil || n != len(leaf) {
		return r, fmt.Errorf("not one ledger event (%v)", err)
	}
	if !audit.IsPayment(&e) {
		return r, fmt.Errorf("a %s event, not a payment", e.Kind)
	}
	if r, err = audit.DecodePaymentRecord(e.Meta); err != nil {
		return r, err
	}
	if r.ID != t.ID {
		return r, fmt.Errorf("names transfer %q", r.ID)
	}
	if r.PayeeAccountSealed != "" {
		return r, errors.New("a version 2 leaf holds the sealed account it must leave out")
	}
	cur, err := money.ParseCurrency(t.Currency)
	if err != nil {
		return r, err
	}
	amt, err := money.Parse(t.Amount, cur)
	if err != nil {
		return r, err
	}
	if e.Currency != cur || e.Amount != amt {
		return r, fmt.Errorf("records %s %s, the switch shows %s %s", e.Currency, e.Amount.Format(e.Currency), t.Currency, t.Amount)
	}
	return r, nil
}

// accountMACKey fetches the key of payee's account MACs in leaves.
func accountMACKey(ctx context.Context, c *auditClient, payee string) ([]byte, error) {
	var k struct {
		Key         string `json:"key"`
		Algorithm   string `json:"algorithm"`
		Participant string `json:"participant"`
	}
	if err := c.getJSON(ctx, "/v1/audit/account-mac-key?participant="+url.QueryEscape(payee), &k); err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(k.Key)
	if err != nil || k.Algorithm != "HMAC-SHA256" || k.Participant != payee {
		return nil, fmt.Errorf("account MAC key: %q, %q", k.Key, k.Algorithm)
	}
	return key, nil
}

// consistent checks that cp and *newest are one log, and keeps the
// larger in *newest.
func consistent(ctx context.Context, c *auditClient, newest *audit.Checkpoint, cp audit.Checkpoint) error {
	old, cur := *newest, cp
	if cur.Size < old.Size {
		old, cur = cur, old
	}
	switch {
	case old.Size == 0:
	case old.Size == cur.Size:
		if old.Root != cur.Root {
			return errors.New("same size, different roots: the log forked")
		}
	default:
		var p wire.AuditConsistency
		if err := c.getJSON(ctx, fmt.Sprintf("/v1/audit/consistency?from=%d&to=%d", old.Size, cur.Size), &p); err != nil {
			return err
		}
		proof, err := decodeHashes(p.Proof)
		if err != nil {
			return err
		}
		if err := tlog.CheckTree(proof, cur.Size, cur.Root, old.Size, old.Root); err != nil {
			return fmt.Errorf("not consistent: %w", err)
		}
	}
	*newest = cur
	return nil
}

// stateHeader is the first line of a --state file, which then holds the
// switch's verifier key on the second line and the last checkpoint
// accepted (its signed note, as the switch served it) after it.
const stateHeader = "hulian verify state v1"

// verifyState is what a --state file keeps.
type verifyState struct {
	vkey string // the switch's verifier key, pinned at the first run
	note []byte // the last checkpoint accepted
}

// readState reads a --state file; a file that does not exist is the
// first run (ok false).
func readState(path string) (st verifyState, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	head, rest, ok1 := strings.Cut(string(b), "\n")
	vkey, note, ok2 := strings.Cut(rest, "\n")
	if !ok1 || !ok2 || head != stateHeader || vkey == "" || note == "" {
		return st, false, fmt.Errorf("%s is not a verify state file (%q)", path, stateHeader)
	}
	return verifyState{vkey: vkey, note: []byte(note)}, true, nil
}

func (st verifyState) encode() []byte {
	return []byte(stateHeader + "\n" + st.vkey + "\n" + string(st.note))
}

// verifyWithState checks that the switch's newest checkpoint extends the
// one accepted at the last run, kept in the file path: signed by the
// same key, not smaller (a rollback), not another tree of the same size
// and provably a prefix of it (a fork otherwise). On success it keeps
// the new checkpoint. Then, for a participant's token, it checks the
// participant's transfers' proofs as without --state.
func verifyWithState(ctx context.Context, base, token, switchKey, path string, out io.Writer) error {
	if token == "" {
		return errors.New("verify: --switch needs --token (the operator's, the regulator's or a participant's)")
	}
	c := newAuditClient(base, token)
	old, have, err := readState(path)
	if err != nil {
		return fmt.Errorf("verify: --state: %w", err)
	}
	given, err := keyArg(switchKey)
	if err != nil {
		return fmt.Errorf("verify: --switch-key: %w", err)
	}
	served, err := c.do(ctx, "GET", "/v1/audit/verifier", "", nil)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	vkey := strings.TrimSpace(string(served))
	fail := func(format string, a ...any) error {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintln(out, "FAIL: "+msg)
		return fmt.Errorf("%w: %s", errVerify, msg)
	}
	switch {
	case have && old.vkey != vkey:
		return fail("the switch's key changed: %s serves %s, %s holds %s accepted before (a new audit history: check it out of band, then remove the state file)", base, vkey, path, old.vkey)
	case given != "" && given != vkey:
		return fail("the switch serves the verifier key %s, not the one given with --switch-key, %s", vkey, given)
	case !have && given == "":
		fmt.Fprintf(out, "note: first run: pinning the verifier key the switch serves, %s; pass the one published out of band with --switch-key\n", vkey)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("verify: switch key: %w", err)
	}
	msg, err := c.do(ctx, "GET", "/v1/audit/checkpoint", "", nil)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	cur, err := openCheckpoint(msg, v)
	if err != nil {
		return fail("the switch's newest checkpoint: %v", err)
	}
	if have {
		prev, err := openCheckpoint(old.note, v)
		if err != nil {
			return fail("the checkpoint in %s: %v", path, err)
		}
		switch {
		case cur.Size < prev.Size:
			return fail("ROLLBACK: the switch's newest checkpoint has tree size %d, smaller than the %d accepted before: the log was rolled back", cur.Size, prev.Size)
		case cur.Size == prev.Size && cur.Root != prev.Root:
			return fail("FORK: the switch's newest checkpoint of tree size %d has root %s, the one accepted before %s: two different logs", cur.Size, cur.Root, prev.Root)
		case cur.Size > prev.Size && prev.Size > 0:
			var p wire.AuditConsistency
			if err := c.getJSON(ctx, fmt.Sprintf("/v1/audit/consistency?from=%d&to=%d", prev.Size, cur.Size), &p); err != nil {
				return fail("FORK?: no consistency proof from tree size %d to %d: %v", prev.Size, cur.Size, err)
			}
			proof, err := decodeHashes(p.Proof)
			if err != nil {
				return fail("consistency proof: %v", err)
			}
			if err := tlog.CheckTree(proof, cur.Size, cur.Root, prev.Size, prev.Root); err != nil {
				return fail("FORK: the tree of size %d is not an extension of the one of size %d accepted before: %v", cur.Size, prev.Size, err)
			}
		}
		fmt.Fprintf(out, "checkpoint: tree size %d, root %s, extends the tree of size %d accepted before\n", cur.Size, cur.Root, prev.Size)
	} else {
		fmt.Fprintf(out, "checkpoint: tree size %d, root %s, accepted (first run)\n", cur.Size, cur.Root)
	}
	// A participant's token also checks its transfers' proofs, before
	// the state moves on: a failed run leaves the last good checkpoint.
	// The operator and the regulator read the hub's accounts, which a
	// participant is refused; any other answer is not a role.
	switch code, err := c.status(ctx, "/v1/hub/accounts"); {
	case err != nil:
		return fmt.Errorf("verify: %w", err)
	case code == http.StatusForbidden:
		if err := verifyOnline(ctx, base, token, vkey, out); err != nil {
			return err
		}
	case code != http.StatusOK:
		return fail("cannot tell whose token this is: GET /v1/hub/accounts answered %d", code)
	default:
		fmt.Fprintln(out, "OK")
	}
	if err := atomicfile.Write(path, verifyState{vkey: vkey, note: msg}.encode(), 0o600); err != nil {
		return fmt.Errorf("verify: --state: %w", err)
	}
	return nil
}

// openCheckpoint verifies a checkpoint note with the switch's key and
// parses it; its origin must be the key's name.
func openCheckpoint(msg []byte, v note.Verifier) (audit.Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("not signed by %s: %w", v.Name(), err)
	}
	cp, err := audit.ParseCheckpoint(n.Text)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	if cp.Origin != v.Name() {
		return audit.Checkpoint{}, fmt.Errorf("origin %q, not %q", cp.Origin, v.Name())
	}
	return cp, nil
}
