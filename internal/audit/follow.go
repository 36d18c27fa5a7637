package audit

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/fault"
)

// A cluster's nodes share the ledger (the database) and the switch's
// audit key, and each keeps its own audit directory. The leader's log
// signs; a follower's (Options.Follow) hashes the same events and
// imports what the leader signed. Signing is deterministic (Ed25519 over
// Checkpoint.Format), so a checkpoint imported is, byte for byte, the
// one the follower would have signed: when it becomes leader and opens
// its directory without Follow, the checks of Open (the newest
// checkpoint against the ledger, the watermark, the key) hold as if it
// had signed all along.

// Errors of a follower's log.
var (
	// ErrBehind means the log has not hashed the events that a
	// checkpoint covers, or has not imported the checkpoint a
	// co-signature is for: this node's copy of the ledger is behind the
	// leader's. Retry once more events are durable here.
	ErrBehind = fault.New(fault.Unavailable, "audit-behind", "audit: the log is behind the checkpoint")
	// ErrNotSigned means no checkpoint the log holds covers the leaf yet:
	// a follower proves only in checkpoints the leader signed and it
	// imported. Retry after the next import, or ask the leader.
	ErrNotSigned = fault.New(fault.Unavailable, "audit-not-signed", "audit: no checkpoint covers the leaf yet")
)

// signedNote is a checkpoint signed and stored, waiting for OnSigned.
type signedNote struct {
	size int64
	msg  []byte
}

// Import takes a checkpoint note that the switch's key signed on another
// node (the leader) and makes it the log's newest: Latest, Checkpoint and
// proofs use it, and it is kept in the checkpoints file as the log would
// have kept it had it signed it (witnesses' signatures on the note are
// dropped: AddCosignature brings those). A note that the switch's key did
// not sign is ErrInvalid. A checkpoint no newer than the newest held is
// nothing to do, unless its root is not the tree's (ErrFork). Import
// hashes the durable events first; ErrBehind if they are still fewer
// than the checkpoint's size (retry later), ErrFork if they do not hash
// to its root: the ledger here is not the one the leader signed.
// Leader or follower, Import never signs nor saves the watermark.
func (l *Log) Import(ctx context.Context, msg []byte) error {
	n, c, err := OpenCheckpoint(msg, l.verifier)
	if err != nil {
		return fmt.Errorf("audit: import: %w: %v", ErrInvalid, err)
	}
	var mine note.Signature
	for _, s := range n.Sigs {
		if s.Name == l.verifier.Name() && s.Hash == l.verifier.KeyHash() {
			mine = s
		}
	}
	// What note.Sign returns for the body and the switch's key alone.
	stored := []byte(n.Text + "\n" + sigLine(mine))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.haveLatest && c.Size <= l.latest.Size {
		// Held already or older. Both are signed: if the tree of that
		// size differs, the switch signed two histories.
		if c.Size <= l.hashes.n {
			if err := l.checkRoot(c); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := l.catchUp(ctx); err != nil {
		return fmt.Errorf("audit: import checkpoint of tree size %d: %w", c.Size, err)
	}
	if l.hashes.n < c.Size {
		return fmt.Errorf("checkpoint of tree size %d, %d events hashed: %w", c.Size, l.hashes.n, ErrBehind)
	}
	if err := l.checkRoot(c); err != nil {
		return err
	}
	// The hashes first, as sign does: a checkpoint on disk promises the
	// hashes it covers are too.
	if err := l.hashes.sync(); err != nil {
		return err
	}
	if err := l.checkpoints.append(stored); err != nil {
		return err
	}
	l.latest, l.latestMsg, l.haveLatest, l.signedAt = c, stored, true, l.now()
	return nil
}

// checkRoot returns ErrFork, and says so in the log, if the tree of c's
// size, which the log has hashed, does not have c's root. The caller
// holds mu.
func (l *Log) checkRoot(c Checkpoint) error {
	root, err := tlog.TreeHash(c.Size, l.hashes)
	if err != nil {
		return fmt.Errorf("audit: tree hash of size %d: %w", c.Size, err)
	}
	if root == c.Root {
		return nil
	}
	l.log.Error("audit: FORK: the ledger's events here do not hash to a checkpoint the switch signed on another node",
		"size", c.Size, "signed_root", c.Root.String(), "ledger_root", root.String())
	return fmt.Errorf("%w: the ledger's first %d events hash to %s, the imported checkpoint says %s", ErrFork, c.Size, root, c.Root)
}

// announce gives OnSigned the checkpoints signed since, oldest first.
// The caller must not hold mu. A call while another goroutine gives them
// returns at once: that one gives the new ones too, so the order holds
// and a hook that calls the log does not deadlock.
func (l *Log) announce() {
	if l.onSigned == nil {
		return
	}
	l.mu.Lock()
	if l.announcing {
		l.mu.Unlock()
		return
	}
	l.announcing = true
	for len(l.unsent) > 0 {
		q := l.unsent
		l.unsent = nil
		l.mu.Unlock()
		for _, s := range q {
			l.onSigned(s.size, s.msg)
		}
		l.mu.Lock()
	}
	l.announcing = false
	l.mu.Unlock()
}
