package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/atomicfile"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/wire"
)

// Errors a witness reports loudly: the switch showed it two checkpoints
// that cannot both be true.
var (
	errRollback = errors.New("ROLLBACK: the switch's tree is smaller than one it signed before")
	errFork     = errors.New("FORK: the switch signed two trees that are not one log")
)

// witness runs a witness of a switch's audit log, or makes its key.
func witness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "keygen" {
		return witnessKeygen(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("switch", "", "the switch's URL")
	switchKey := fs.String("switch-key", "", "the switch's verifier key (name+hash+key) or a file holding it")
	keyFile := fs.String("key", "", "the witness's private key file (hulian witness keygen)")
	state := fs.String("state", "", "file keeping the last checkpoint the witness accepted")
	token := fs.String("token", os.Getenv("HULIAN_TOKEN"), "API key or token to call the switch with (default $HULIAN_TOKEN)")
	interval := fs.Duration("interval", time.Second, "how often to fetch a checkpoint")
	once := fs.Bool("once", false, "check one checkpoint and exit: non-zero on a fork or rollback")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hulian witness --switch URL --switch-key VERIFIER --key FILE --state FILE [--token T] [--interval 1s | --once]\n       hulian witness keygen --name NAME --out FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" || *switchKey == "" || *keyFile == "" || *state == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("witness: --switch, --switch-key, --key and --state are required")
	}
	vkey, err := keyArg(*switchKey)
	if err != nil {
		return fmt.Errorf("witness: --switch-key: %w", err)
	}
	sv, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("witness: --switch-key: %w", err)
	}
	skey, err := audit.LoadKey(*keyFile, "", false)
	if err != nil {
		return fmt.Errorf("witness: --key: %w", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return fmt.Errorf("witness: --key: %w", err)
	}
	w := &witnessRun{c: newAuditClient(*target, *token), sv: sv, signer: signer, state: *state, out: stdout, alerts: stderr}
	if *once {
		return w.round(ctx)
	}
	t := time.NewTicker(*interval)
	defer t.Stop()
	for {
		if err := w.round(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, errRollback) && !errors.Is(err, errFork) {
			fmt.Fprintln(stderr, "hulian witness:", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// witnessKeygen makes a witness key: the private key goes to --out, the
// verifier key (to register with the switch) to stdout.
func witnessKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("witness keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the witness's name, e.g. regulator.example/witness")
	out := fs.String("out", "", "file to write the private key to (mode 0600; must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return errors.New("witness keygen: --name and --out are required")
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, *name)
	if err != nil {
		return fmt.Errorf("witness keygen: %w", err)
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("witness keygen: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("witness keygen: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("witness keygen: %w", err)
	}
	fmt.Fprintln(stdout, vkey)
	return nil
}

// witnessRun is a running witness.
type witnessRun struct {
	c      *auditClient
	sv     note.Verifier
	signer note.Signer
	state  string
	out    io.Writer
	alerts io.Writer
}

// alert reports a fork or rollback loudly, with both signed checkpoints
// as the evidence, and keeps them next to the state file.
func (w *witnessRun) alert(err error, old, cur []byte) error {
	msg := fmt.Sprintf("\n!!!!!!!! hulian witness ALERT !!!!!!!!\n%v\n--- checkpoint accepted before (%s):\n%s--- checkpoint served now:\n%s!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n", err, w.state, old, cur)
	fmt.Fprint(w.alerts, msg)
	if f, ferr := os.OpenFile(w.state+".alerts", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); ferr == nil {
		fmt.Fprintf(f, "%s %s", time.Now().UTC().Format(time.RFC3339), msg)
		f.Close()
	}
	return err
}

// round fetches the switch's checkpoint, checks it against the stored
// view, co-signs it and stores it as the new view.
func (w *witnessRun) round(ctx context.Context) error {
	msg, err := w.c.do(ctx, "GET", "/v1/audit/checkpoint", "", nil)
	if err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	n, cur, err := audit.OpenCheckpoint(msg, w.sv)
	if err != nil {
		return fmt.Errorf("witness: the switch's checkpoint: %w", err)
	}
	oldMsg, err := os.ReadFile(w.state)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("witness: state: %w", err)
	}
	var old audit.Checkpoint
	if oldMsg != nil {
		if _, old, err = audit.OpenCheckpoint(oldMsg, w.sv); err != nil {
			return fmt.Errorf("witness: state %s: %w", w.state, err)
		}
	}
	switch {
	case oldMsg == nil || old.Size == 0:
		// The first view: nothing to be consistent with.
	case cur.Size < old.Size:
		return w.alert(fmt.Errorf("%w: size %d now, %d before", errRollback, cur.Size, old.Size), oldMsg, msg)
	case cur.Size == old.Size && cur.Root != old.Root:
		return w.alert(fmt.Errorf("%w: two roots for tree size %d", errFork, cur.Size), oldMsg, msg)
	case cur.Size > old.Size:
		var p wire.AuditConsistency
		if err := w.c.getJSON(ctx, fmt.Sprintf("/v1/audit/consistency?from=%d&to=%d", old.Size, cur.Size), &p); err != nil {
			return fmt.Errorf("witness: %w", err)
		}
		proof, err := decodeHashes(p.Proof)
		if err != nil {
			return fmt.Errorf("witness: consistency proof: %w", err)
		}
		if err := tlog.CheckTree(proof, cur.Size, cur.Root, old.Size, old.Root); err != nil {
			return w.alert(fmt.Errorf("%w: the tree of size %d does not extend the tree of size %d: %v", errFork, cur.Size, old.Size, err), oldMsg, msg)
		}
	}
	// Co-sign the switch's note (its own signature only) and post it.
	var switchSig []note.Signature
	for _, s := range n.Sigs {
		if s.Name == w.sv.Name() && s.Hash == w.sv.KeyHash() {
			switchSig = append(switchSig, s)
		}
	}
	cosigned, err := note.Sign(&note.Note{Text: n.Text, Sigs: switchSig}, w.signer)
	if err != nil {
		return fmt.Errorf("witness: co-sign: %w", err)
	}
	if _, err := w.c.do(ctx, "POST", "/v1/audit/cosignatures", "text/plain", cosigned); err != nil {
		return fmt.Errorf("witness: post co-signature: %w", err)
	}
	if err := atomicfile.Write(w.state, cosigned, 0o600); err != nil {
		return fmt.Errorf("witness: state: %w", err)
	}
	fmt.Fprintf(w.out, "witnessed %s: tree size %d, root %s (consistent with size %d); co-signed as %s\n", cur.Origin, cur.Size, cur.Root, old.Size, w.signer.Name())
	return nil
}
