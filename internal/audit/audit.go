// Package audit is Hulian's tamper-evident audit log: a transparency log
// in the style of Certificate Transparency and the Go checksum database,
// built with golang.org/x/mod/sumdb/tlog (RFC 6962 Merkle tree hashing
// and proofs) and golang.org/x/mod/sumdb/note (signed notes).
//
// The leaves are the ledger's events themselves, in commit order: leaf i
// is the canonical encoding (docs/formats.md) of the i-th event
// the ledger ever committed — transfers posted, reserved, committed,
// aborted and expired, deposits, withdrawals, settlements, settlement
// window closes, accounts opened, limits set, participants suspended or
// resumed. The stores make those events durable in one write per batch,
// so a leaf and its ledger change are never one without the other. A
// payment whose record seals the payee's account is the one exception:
// its leaf (version 2, AppendLeaf) leaves the sealed account out and
// keeps its MAC, so that a proof shows no one the account.
//
// The Merkle tree is derived data: a Log tails the journal's durable
// events (woken by the journal's OnDurable hook), hashes them and keeps
// the tree's stored hashes in an append-only file. Anything it loses in a
// crash it recomputes from the events at the next start. It signs a
// checkpoint (tree size and root hash, as a signed note) at most once a
// second while the tree grows, at every settlement window close, and
// when a proof needs a tree that covers its leaf, and keeps every
// checkpoint it signed. Witnesses co-sign checkpoints; the co-signatures
// are kept and published with the checkpoint.
//
// In a cluster only the leader signs. A follower's log (Options.Follow)
// hashes the same events into its own directory and imports the
// checkpoints the leader signed (Import), so that it proves from them
// and, once it leads, goes on from them as if it had signed them
// itself (follow.go).
//
// Files, in the audit directory:
//
//	hashes        the tree's stored hashes, 32 bytes each, at tlog.StoredHashIndex positions
//	checkpoints   every signed checkpoint note, one per 1024-byte slot
//	cosignatures  every witness co-signature, "<tree size> <signature line>", one per slot
//	witnesses     the registered witnesses' note verifier keys, one per line
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/atomicfile"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
)

// Errors of the audit log.
var (
	// ErrNotFound means there is no such leaf, transfer or tree size.
	ErrNotFound = fault.New(fault.NotFound, "", "audit: not found")
	// ErrInvalid means a malformed request, checkpoint or key.
	ErrInvalid = fault.New(fault.Invalid, "", "audit: invalid")
	// ErrUnknownWitness means a co-signature by a key that is not
	// registered as a witness.
	ErrUnknownWitness = fault.New(fault.Forbidden, "", "audit: unknown witness")
	// ErrWitnessExists means a witness of that name is registered with
	// another key.
	ErrWitnessExists = fault.New(fault.Conflict, "", "audit: witness registered with another key")
	// ErrRollback means the ledger holds fewer events than the audit log
	// has signed for: events were removed, or an older copy restored.
	ErrRollback = fault.New(fault.Conflict, "audit-rollback", "audit: the ledger has fewer events than the audit log signed")
	// ErrFork means the ledger's events do not hash to a checkpoint the
	// switch signed: events were altered or reordered.
	ErrFork = fault.New(fault.Conflict, "audit-fork", "audit: the ledger does not match a signed checkpoint")
	// ErrHistoryLost means the ledger holds events but the audit log has
	// no checkpoint: its signed history was deleted or lost. Restore the
	// audit directory from a backup, or open with Reinit to begin a new
	// history, on the record.
	ErrHistoryLost = fault.New(fault.Conflict, "audit-history-lost", "audit: the ledger holds events but the audit log has no checkpoint")
	// ErrKeyChanged means the newest checkpoint was not signed by the
	// switch's key: the key was replaced. Use the key that signed it, or
	// open with Reinit to begin a new history under the new key, on the
	// record.
	ErrKeyChanged = fault.New(fault.Conflict, "audit-key-changed", "audit: the newest checkpoint was signed by another key")
	// ErrMismatch means offline verification found a discrepancy.
	ErrMismatch = fault.New(fault.Internal, "", "audit: verification failed")
	// ErrCorruptFile means one of the audit log's own files is damaged.
	ErrCorruptFile = fault.New(fault.Internal, "", "audit: damaged file")
	// ErrClosed means the log was closed.
	ErrClosed = fault.New(fault.Unavailable, "", "audit: closed")
)

// Journal is what the log reads: the ledger's durable events, in commit
// order, and a transfer's event by id.
type Journal interface {
	// ScanEncoded calls fn with the events with from <= Timestamp < to
	// in their canonical encoding (the leaves), oldest first.
	ScanEncoded(ctx context.Context, from, to int64, fn func(raw []byte) error) error
	Transfer(ctx context.Context, id ledger.ID) (journal.Transfer, error)
}

// Options configure a Log.
type Options struct {
	// Dir is the audit directory (created if missing).
	Dir string
	// Key is the switch's note signer key (see LoadKey); its name is the
	// checkpoints' origin.
	Key string
	// SignEvery is the least time between two checkpoints signed because
	// the tree grew (default 1 s). Window closes and proofs sign at once.
	SignEvery time.Duration
	// Reinit lets the log begin a new history where Open would refuse
	// to start (ErrHistoryLost, ErrKeyChanged). The re-initialisation is
	// recorded on the ledger, with Submit, as a mark of purpose
	// AuditReinit whose Meta is Reinit.Meta, so that it is a leaf of the
	// new history; the old checkpoints and co-signatures are kept aside
	// (ArchivedSuffix). The ledger's events still have to match the
	// newest checkpoint, if one is left: Reinit excuses a lost history
	// or a new key, not a changed ledger.
	Reinit bool
	// Submit records the re-initialisation mark on the ledger (the
	// journal's Submit). Required with Reinit.
	Submit func(context.Context, []ledger.Command) ([]ledger.Result, error)
	// Watermark, if set, keeps the size of the newest checkpoint signed
	// somewhere else than the audit directory (the app database), so
	// that a checkpoints file cut short, or restored from an older copy,
	// stops start-up like a missing one (ErrHistoryLost) instead of the
	// log re-signing from the older checkpoint.
	Watermark Watermark
	// Follow makes the log a cluster follower's: it hashes the ledger's
	// durable events but never signs (the leader does; Import brings its
	// checkpoints here), never re-initialises, never saves the watermark
	// and opens without a checkpoint. The checkpoints it holds must still
	// match the ledger (ErrFork, ErrRollback). A proof uses the newest
	// checkpoint imported, or fails with ErrNotSigned. To lead, close the
	// log and open one without Follow on the same directory. Not with
	// Reinit.
	Follow bool
	// OnSigned, if set, is called with each checkpoint the log signed
	// (its tree size and signed note, as Import takes it), after it is on
	// disk, in signing order, outside the log's lock: it may call the
	// log. It runs on the goroutine that signed, or on one delivering
	// earlier checkpoints, and a slow hook delays that goroutine's next
	// signing, not reads. A crash between storing and the call loses the
	// call: publish Checkpoint at start too.
	OnSigned func(size int64, note []byte)
	// OnWitness, if set, is called after AddWitness registered a new
	// witness, outside the log's lock, so that the app can register it
	// on the other nodes.
	OnWitness func(name, vkey string)
	// OnCosigned, if set, is called after AddCosignature kept new
	// co-signatures, outside the log's lock, with the checkpoint signed
	// by the switch and by those witnesses: what AddCosignature on
	// another node's log takes.
	OnCosigned func(msg []byte)
	Now        func() time.Time
	Log        *slog.Logger
}

// Watermark stores the tree size of the newest checkpoint signed.
type Watermark interface {
	// Load returns the stored size, and false when none is stored.
	Load(ctx context.Context) (int64, bool, error)
	// Save stores size.
	Save(ctx context.Context, size int64) error
}

// Reinit says how the log began a new history at Open.
type Reinit struct {
	// Reason is "checkpoints-missing" or "key-changed".
	Reason string
	// Previous is the origin of the newest checkpoint before, "" when
	// none was left.
	Previous string
	// Origin is the origin from now on: the switch key's name.
	Origin string
	// Size is the number of ledger events before the mark: the new
	// history's first checkpoint covers them and the mark.
	Size int64
	// Archived names the files the old history was moved to.
	Archived []string
}

// Meta is the re-initialisation mark's Meta (docs/formats.md):
// "reason=<reason> previous=<origin or -> origin=<origin> size=<n>".
// Note key names hold no spaces, so the fields split on spaces.
func (r Reinit) Meta() string {
	prev := r.Previous
	if prev == "" {
		prev = "-"
	}
	return fmt.Sprintf("reason=%s previous=%s origin=%s size=%d", r.Reason, prev, r.Origin, r.Size)
}

// ArchivedSuffix ends the names the checkpoints and cosignatures files
// are moved to when the log is re-initialised:
// "checkpoints.<unix nanoseconds>.old".
const ArchivedSuffix = ".old"

// File names in the audit directory.
const (
	HashesFile       = "hashes"
	CheckpointsFile  = "checkpoints"
	CosignaturesFile = "cosignatures"
	WitnessesFile    = "witnesses"
	// SparseFile keeps the timestamp index on disk, so that a restart
	// need not read the whole ledger to rebuild it. It is derived data:
	// checked against the hashes when loaded, rebuilt when it does not fit.
	SparseFile = "sparse"
)

// WitnessNameMax bounds a witness's name.
const WitnessNameMax = 256

// sparseEvery is the spacing of the timestamp index: the timestamp of
// every sparseEvery-th leaf is kept, so that a leaf's index is found by
// scanning at most that many events.
const sparseEvery = 1024

// stepMax bounds the events hashed before the write buffer is flushed.
const stepMax = 1 << 16

// cosignedKept bounds the tree sizes whose co-signatures are kept in
// memory for publication; all are kept on disk.
const cosignedKept = 64

// Log is the audit log of one ledger.
type Log struct {
	j        Journal
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	origin   string
	every    time.Duration
	reinitOK bool
	follow   bool
	submit   func(context.Context, []ledger.Command) ([]ledger.Result, error)
	// The hooks of Options; onSigned is fed through unsent.
	onSigned   func(size int64, note []byte)
	onWitness  func(name, vkey string)
	onCosigned func(msg []byte)
	water      Watermark
	// marked is the newest signed size as the watermark holds it, -1
	// when it holds none (or there is no watermark).
	marked int64
	reinit *Reinit // what Open re-initialised, if anything
	now    func() time.Time
	log    *slog.Logger
	dir    string

	// mu guards everything below; the tailer holds it while it hashes.
	mu          sync.Mutex
	hashes      *hashStore
	checkpoints *slotFile
	cosigs      *slotFile
	sparseFile  *os.File
	lastTS      int64   // timestamp of the last leaf
	sparse      []int64 // timestamp of leaf k·sparseEvery
	latest      Checkpoint
	latestMsg   []byte // the latest checkpoint's signed note
	haveLatest  bool
	signedAt    time.Time
	cosigned    map[int64][]note.Signature
	witnesses   []string // verifier keys
	witnessVs   []note.Verifier
	failed      error
	// unsent holds the checkpoints signed but not yet given to
	// onSigned, oldest first; announcing is set while a goroutine gives
	// them.
	unsent     []signedNote
	announcing bool

	// witnessed is the largest tree size each witness co-signed, by
	// name, as far as the co-signatures loaded at open and added since
	// tell.
	witnessed map[string]int64

	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

// Open opens the audit log in opts.Dir for the ledger j: it cuts what a
// crash may have left half written, hashes the events the log does not
// have yet, checks the tree against the newest signed checkpoint, signs
// a checkpoint if the tree grew, and starts tailing the journal. Wake it
// whenever events become durable.
func Open(ctx context.Context, j Journal, opts Options) (*Log, error) {
	if opts.SignEvery <= 0 {
		opts.SignEvery = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Follow && opts.Reinit {
		// Beginning a history is signing: the leader's business.
		return nil, fmt.Errorf("%w: a follower never re-initialises (Follow with Reinit)", ErrInvalid)
	}
	signer, err := note.NewSigner(opts.Key)
	if err != nil {
		return nil, fmt.Errorf("audit: signer key: %w", err)
	}
	vkey, err := VerifierKey(opts.Key)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("audit: verifier key: %w", err)
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{
		j: j, signer: signer, verifier: verifier, vkey: vkey, origin: signer.Name(),
		every: opts.SignEvery, now: opts.Now, log: opts.Log, dir: opts.Dir,
		reinitOK: opts.Reinit, follow: opts.Follow, submit: opts.Submit, water: opts.Watermark, marked: -1,
		onSigned: opts.OnSigned, onWitness: opts.OnWitness, onCosigned: opts.OnCosigned,
		lastTS: math.MinInt64, cosigned: map[int64][]note.Signature{}, witnessed: map[string]int64{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := l.open(ctx); err != nil {
		l.closeFiles()
		return nil, err
	}
	l.announce()
	go l.run()
	return l, nil
}

func (l *Log) open(ctx context.Context) error {
	var err error
	if l.checkpoints, err = openSlots(filepath.Join(l.dir, CheckpointsFile)); err != nil {
		return err
	}
	if l.checkpoints.slots > 0 {
		msg, err := l.checkpoints.read(l.checkpoints.slots - 1)
		if err != nil {
			return err
		}
		// The newest checkpoint is the log's promise: the tree must
		// reproduce it. Its signature may be by an earlier key.
		text, _, ok := strings.Cut(string(msg), "\n\n")
		if !ok {
			return fmt.Errorf("%w: newest checkpoint in %s is not a note", ErrCorruptFile, CheckpointsFile)
		}
		if l.latest, err = ParseCheckpoint(text + "\n"); err != nil {
			return fmt.Errorf("%s: newest checkpoint: %w", CheckpointsFile, err)
		}
		l.latestMsg, l.haveLatest = msg, true
	}
	if l.cosigs, err = openSlots(filepath.Join(l.dir, CosignaturesFile)); err != nil {
		return err
	}
	if err := l.loadWitnesses(); err != nil {
		return err
	}
	for i := max(l.cosigs.slots-cosignedKept*4, 0); i < l.cosigs.slots; i++ {
		b, err := l.cosigs.read(i)
		if err != nil {
			return err
		}
		c, err := decodeCosignature(b)
		if err != nil {
			return err
		}
		l.cosigned[c.size] = append(l.cosigned[c.size], c.sig)
		l.witnessed[c.sig.Name] = max(l.witnessed[c.sig.Name], c.size)
	}
	// Hashes past the newest checkpoint may not have reached the disk
	// before a crash: recompute them. With no checkpoint, none is
	// vouched for.
	keep := int64(0)
	if l.haveLatest {
		keep = l.latest.Size
	}
	if l.hashes, err = openHashStore(filepath.Join(l.dir, HashesFile), keep); err != nil {
		return err
	}
	have := l.hashes.n
	count, err := l.catchUpFromSparse(ctx, have)
	if errors.Is(err, errSparseStale) {
		// The index on disk does not fit the hashes: rebuild it from a
		// full read.
		if err := l.resetSparse(); err != nil {
			return err
		}
		count, err = l.catchUpFromSparse(ctx, have)
	}
	if err != nil {
		return fmt.Errorf("audit: read the ledger: %w", err)
	}
	if count < have {
		return fmt.Errorf("%w: the audit log has %d leaves, the ledger only %d events", ErrRollback, have, count)
	}
	if l.haveLatest {
		if l.hashes.n < l.latest.Size {
			return fmt.Errorf("%w: checkpoint of tree size %d was signed, the ledger has only %d events", ErrRollback, l.latest.Size, l.hashes.n)
		}
		root, err := tlog.TreeHash(l.latest.Size, l.hashes)
		if err != nil {
			return err
		}
		if root != l.latest.Root {
			return fmt.Errorf("%w: the ledger's first %d events hash to %s, the newest checkpoint says %s", ErrFork, l.latest.Size, root, l.latest.Root)
		}
	}
	if err := l.hashes.flush(); err != nil {
		return err
	}
	if l.follow {
		// The continuity checks ask whether this log signed what it
		// should have; a follower signs nothing, and the watermark is
		// the leader's. They run when it opens to lead.
		if l.haveLatest {
			l.signedAt = l.now()
		}
		return nil
	}
	if l.water != nil {
		size, ok, err := l.water.Load(ctx)
		if err != nil {
			return fmt.Errorf("audit: watermark: %w", err)
		}
		if ok {
			l.marked = size
		}
	}
	r, err := l.continuity(count)
	if err != nil {
		return err
	}
	if r != nil {
		if err := l.reinitialise(ctx, r); err != nil {
			return fmt.Errorf("audit: re-initialise: %w", err)
		}
	}
	if !l.haveLatest || l.hashes.n > l.latest.Size {
		return l.sign()
	}
	l.signedAt = l.now()
	return nil
}

// continuity checks that the log goes on from its signed history: that
// it has one if the ledger holds events, and that the switch's key
// signed its newest checkpoint. It returns the re-initialisation to make
// when it does not and Reinit allows it.
func (l *Log) continuity(events int64) (*Reinit, error) {
	var r *Reinit
	switch {
	case !l.haveLatest && events > 0:
		if !l.reinitOK {
			return nil, fmt.Errorf("%w: the ledger holds %d events, %s holds no checkpoint: the signed history was deleted or lost",
				ErrHistoryLost, events, filepath.Join(l.dir, CheckpointsFile))
		}
		r = &Reinit{Reason: "checkpoints-missing", Origin: l.origin, Size: events}
	case l.haveLatest && l.latest.Size < l.marked:
		if !l.reinitOK {
			return nil, fmt.Errorf("%w: a checkpoint of tree size %d was signed, and %s ends at tree size %d: it was cut short or restored from an older copy",
				ErrHistoryLost, l.marked, filepath.Join(l.dir, CheckpointsFile), l.latest.Size)
		}
		r = &Reinit{Reason: "checkpoints-missing", Previous: l.latest.Origin, Origin: l.origin, Size: events}
	case l.haveLatest && !l.signedByKey(l.latestMsg):
		if !l.reinitOK {
			return nil, fmt.Errorf("%w: the newest checkpoint (tree size %d, origin %s) is not signed by this switch's key %s",
				ErrKeyChanged, l.latest.Size, l.latest.Origin, l.vkey)
		}
		r = &Reinit{Reason: "key-changed", Previous: l.latest.Origin, Origin: l.origin, Size: events}
	}
	return r, nil
}

// signedByKey reports whether the signed note msg verifies with the
// switch's key.
func (l *Log) signedByKey(msg []byte) bool {
	_, err := note.Open(msg, note.VerifierList(l.verifier))
	return err == nil
}

// reinitialise begins a new history: it records the mark on the ledger
// and hashes it, then moves the old checkpoints and co-signatures aside
// and starts their files anew; open signs the first checkpoint after.
// The mark comes first: a crash before the old files are moved leaves
// them as they were, and the next start refuses again.
func (l *Log) reinitialise(ctx context.Context, r *Reinit) error {
	if r.Size > 0 {
		if l.submit == nil {
			return errors.New("no way to record the mark (Options.Submit)")
		}
		if err := l.mark(ctx, r); err != nil {
			return err
		}
	}
	stamp := fmt.Sprintf(".%d%s", l.now().UnixNano(), ArchivedSuffix)
	for _, f := range []**slotFile{&l.checkpoints, &l.cosigs} {
		path, used := (*f).path, (*f).slots > 0
		if err := (*f).close(); err != nil {
			return err
		}
		*f = nil
		if used {
			if err := os.Rename(path, path+stamp); err != nil {
				return err
			}
			r.Archived = append(r.Archived, path+stamp)
		}
		sf, err := openSlots(path)
		if err != nil {
			return err
		}
		*f = sf
	}
	l.latest, l.latestMsg, l.haveLatest = Checkpoint{}, nil, false
	l.cosigned = map[int64][]note.Signature{}
	l.witnessed = map[string]int64{}
	l.reinit = r
	return nil
}

// mark submits the re-initialisation mark and hashes it as a leaf. A
// mark needs a currency, which for it means nothing: the ledger's first
// event's.
func (l *Log) mark(ctx context.Context, r *Reinit) error {
	var cur money.Currency
	err := l.j.ScanEncoded(ctx, math.MinInt64, math.MaxInt64, func(raw []byte) error {
		cur = money.Currency(binary.BigEndian.Uint16(raw[4:]))
		return errStepFull
	})
	if err != nil && !errors.Is(err, errStepFull) {
		return err
	}
	b := []byte("hulian/audit-reinit/v1")
	b = binary.AppendUvarint(b, uint64(len(r.Origin)))
	b = append(b, r.Origin...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(l.now().UnixNano()))
	sum := sha256.Sum256(b)
	var id ledger.ID
	copy(id[:], sum[:])
	res, err := l.submit(ctx, []ledger.Command{{Kind: ledger.KindMark, ID: id, Currency: cur, Purpose: purpose.AuditReinit, Meta: r.Meta()}})
	if err != nil {
		return fmt.Errorf("record the mark: %w", err)
	}
	if err := res[0].Status.Err(); err != nil {
		return fmt.Errorf("record the mark: %w", err)
	}
	_, err = l.catchUp(ctx)
	return err
}

// Reinitialised returns how Open began a new history, and false if it
// went on from the old one.
func (l *Log) Reinitialised() (Reinit, bool) {
	if l.reinit == nil {
		return Reinit{}, false
	}
	return *l.reinit, true
}

// appendEvent hashes the encoded event raw as the next leaf. The caller
// holds mu.
func (l *Log) appendEvent(raw []byte) error {
	if err := l.hashes.appendLeaf(LeafHash(raw)); err != nil {
		return err
	}
	ts := ledger.EventTimestamp(raw)
	if (l.hashes.n-1)%sparseEvery == 0 {
		if err := l.addSparse(ts); err != nil {
			return err
		}
	}
	l.lastTS = ts
	return nil
}

// catchUpFromSparse reads the ledger from the last point of the
// timestamp index on disk (checked against the leaf hash recorded for
// it; errSparseStale if it does not match), skips the have leaves
// already hashed and hashes the rest. It returns how many events the
// ledger holds.
func (l *Log) catchUpFromSparse(ctx context.Context, have int64) (int64, error) {
	from, count, err := l.loadSparse(have)
	if err != nil {
		return 0, err
	}
	checked := count == 0
	err = l.j.ScanEncoded(ctx, from, math.MaxInt64, func(raw []byte) error {
		if !checked {
			checked = true
			hs, err := l.hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, count)})
			if err != nil {
				return err
			}
			if LeafHash(raw) != hs[0] {
				return errSparseStale
			}
		}
		if count < have {
			ts := ledger.EventTimestamp(raw)
			if count%sparseEvery == 0 && count/sparseEvery >= int64(len(l.sparse)) {
				if err := l.addSparse(ts); err != nil {
					return err
				}
			}
			l.lastTS = ts
			count++
			return nil
		}
		count++
		if err := l.appendEvent(raw); err != nil {
			return err
		}
		if len(l.hashes.buf) > stepMax*tlog.HashSize {
			return l.hashes.flush()
		}
		return nil
	})
	if err == nil && !checked {
		// The indexed leaf is gone from the ledger: let the caller find
		// out how many events there are from a full read.
		err = errSparseStale
	}
	return count, err
}

// errSparseStale means the timestamp index on disk does not match the
// leaves: it is rebuilt.
var errSparseStale = errors.New("audit: timestamp index does not match the leaves")

// loadSparse opens the timestamp index file and keeps the entries that
// the have hashed leaves cover. It returns where reading the ledger must
// resume: the timestamp and index of the last kept entry's leaf (the
// start, with no entries).
func (l *Log) loadSparse(have int64) (int64, int64, error) {
	if l.sparseFile == nil {
		f, err := os.OpenFile(filepath.Join(l.dir, SparseFile), os.O_CREATE|os.O_RDWR, 0o640)
		if err != nil {
			return 0, 0, fmt.Errorf("audit: %w", err)
		}
		l.sparseFile = f
	}
	b, err := io.ReadAll(io.NewSectionReader(l.sparseFile, 0, 1<<40))
	if err != nil {
		return 0, 0, fmt.Errorf("audit: read %s: %w", SparseFile, err)
	}
	want := (have + sparseEvery - 1) / sparseEvery
	n := min(int64(len(b)/8), want)
	l.sparse = l.sparse[:0]
	for i := int64(0); i < n; i++ {
		l.sparse = append(l.sparse, int64(binary.BigEndian.Uint64(b[8*i:])))
	}
	if err := l.sparseFile.Truncate(8 * n); err != nil {
		return 0, 0, fmt.Errorf("audit: cut %s: %w", SparseFile, err)
	}
	if _, err := l.sparseFile.Seek(8*n, io.SeekStart); err != nil {
		return 0, 0, fmt.Errorf("audit: %w", err)
	}
	if n == 0 {
		return math.MinInt64, 0, nil
	}
	k := n - 1
	return l.sparse[k], k * sparseEvery, nil
}

// addSparse records the timestamp of leaf len(sparse)·sparseEvery.
func (l *Log) addSparse(ts int64) error {
	l.sparse = append(l.sparse, ts)
	if l.sparseFile == nil {
		return nil
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ts))
	if _, err := l.sparseFile.Write(b[:]); err != nil {
		return fmt.Errorf("audit: write %s: %w", SparseFile, err)
	}
	return nil
}

// resetSparse empties the timestamp index, in memory and on disk.
func (l *Log) resetSparse() error {
	l.sparse = l.sparse[:0]
	if err := l.sparseFile.Truncate(0); err != nil {
		return fmt.Errorf("audit: cut %s: %w", SparseFile, err)
	}
	_, err := l.sparseFile.Seek(0, io.SeekStart)
	return err
}

// Wake tells the log that events became durable. It never blocks: it is
// called from the journal's OnDurable hook.
func (l *Log) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run is the tailer goroutine.
func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.wake:
		case <-tick.C:
		}
		if err := l.step(context.Background(), false); err != nil {
			l.log.Error("audit log", "err", err)
		}
	}
}

// step hashes the new durable events and signs a checkpoint if one is
// due, or now if force is set (a follower only hashes).
func (l *Log) step(ctx context.Context, force bool) error {
	err := l.stepLocked(ctx, force)
	l.announce()
	return err
}

func (l *Log) stepLocked(ctx context.Context, force bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	closed, err := l.catchUp(ctx)
	if err != nil {
		return err
	}
	if !l.follow && l.hashes.n > l.latest.Size && (force || closed || l.now().Sub(l.signedAt) >= l.every) {
		return l.sign()
	}
	return nil
}

// errStepFull stops a scan to flush and let others take the lock.
var errStepFull = errors.New("step full")

// catchUp hashes every durable event after the last leaf and reports
// whether one of them closed a settlement window. The caller holds mu.
func (l *Log) catchUp(ctx context.Context) (closed bool, err error) {
	if l.failed != nil {
		return false, l.failed
	}
	for {
		n := 0
		var appendErr error
		err := l.j.ScanEncoded(ctx, l.lastTS+1, math.MaxInt64, func(raw []byte) error {
			if err := l.appendEvent(raw); err != nil {
				appendErr = err
				return err
			}
			if kind, p := ledger.EventKindPurpose(raw); kind == ledger.KindMark && p == purpose.WindowClose {
				closed = true
			}
			if n++; n >= stepMax {
				return errStepFull
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStepFull) {
			if appendErr != nil {
				// A leaf half appended cannot be taken back: stop, a
				// restart recomputes from the events.
				l.failed = fmt.Errorf("audit: tail the ledger: %w", err)
				return closed, l.failed
			}
			// Reading failed (the database went away, a failover): the
			// leaves appended so far are whole, and the next step reads
			// on from the last of them.
			if ferr := l.hashes.flush(); ferr != nil {
				l.failed = ferr
				return closed, ferr
			}
			return closed, fmt.Errorf("audit: tail the ledger: %w", err)
		}
		if ferr := l.hashes.flush(); ferr != nil {
			l.failed = ferr
			return closed, ferr
		}
		if err == nil {
			return closed, nil
		}
	}
}

// sign signs a checkpoint of the current tree and keeps it. The caller
// holds mu.
func (l *Log) sign() error {
	if l.follow {
		return errors.New("audit: a follower's log signed a checkpoint")
	}
	root, err := tlog.TreeHash(l.hashes.n, l.hashes)
	if err != nil {
		return fmt.Errorf("audit: tree hash: %w", err)
	}
	c := Checkpoint{Origin: l.origin, Size: l.hashes.n, Root: root}
	msg, err := note.Sign(&note.Note{Text: string(c.Format())}, l.signer)
	if err != nil {
		return fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	// The hashes first: a checkpoint on disk promises that the hashes
	// it covers are too.
	if err := l.hashes.sync(); err != nil {
		return err
	}
	if err := l.checkpoints.append(msg); err != nil {
		return err
	}
	l.latest, l.latestMsg, l.haveLatest, l.signedAt = c, msg, true, l.now()
	if l.onSigned != nil {
		l.unsent = append(l.unsent, signedNote{size: c.Size, msg: msg})
	}
	// After the checkpoint is on disk, so that the watermark never
	// claims one that is not. A failure leaves it behind, which only
	// weakens the check until the next checkpoint.
	if l.water != nil && c.Size != l.marked {
		if err := l.water.Save(context.Background(), c.Size); err != nil {
			l.log.Error("audit: the watermark of the newest checkpoint was not saved", "size", c.Size, "err", err)
		} else {
			l.marked = c.Size
		}
	}
	return nil
}

// Close stops tailing, hashes what became durable last, signs a final
// checkpoint if the tree grew (not a follower) and closes the files.
// Close the journal first and the store after.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	err := l.step(context.Background(), true)
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(err, l.closeFiles())
}

func (l *Log) closeFiles() error {
	var errs []error
	if l.hashes != nil {
		errs = append(errs, l.hashes.close())
	}
	if l.checkpoints != nil {
		errs = append(errs, l.checkpoints.close())
	}
	if l.cosigs != nil {
		errs = append(errs, l.cosigs.close())
	}
	if l.sparseFile != nil {
		errs = append(errs, l.sparseFile.Close())
	}
	return errors.Join(errs...)
}

// Origin is the checkpoints' origin line: the signing key's name.
func (l *Log) Origin() string { return l.origin }

// VerifierKey is the switch's note verifier key, name+hash+key.
func (l *Log) VerifierKey() string { return l.vkey }

// Size returns the number of leaves hashed so far.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hashes.n
}

// Status is the log's progress, for metrics.
type Status struct {
	// Size is the number of leaves hashed.
	Size int64
	// Checkpoint is the newest signed checkpoint, and SignedAt when it
	// was signed, or found current at Open.
	Checkpoint Checkpoint
	SignedAt   time.Time
	// Witnessed is the largest tree size each registered witness
	// co-signed, 0 if none of the co-signatures loaded at Open (the
	// newest few hundred) or added since is its.
	Witnessed []WitnessSize
}

// WitnessSize is the largest tree size a witness co-signed.
type WitnessSize struct {
	Name string
	Size int64
}

// Status returns the log's progress.
func (l *Log) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Status{Size: l.hashes.n, Checkpoint: l.latest, SignedAt: l.signedAt, Witnessed: make([]WitnessSize, len(l.witnessVs))}
	for i, v := range l.witnessVs {
		st.Witnessed[i] = WitnessSize{Name: v.Name(), Size: l.witnessed[v.Name()]}
	}
	return st
}

// Latest returns the newest signed checkpoint.
func (l *Log) Latest() Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest
}

// Checkpoint returns the newest signed checkpoint note with the
// co-signatures collected for it.
func (l *Log) Checkpoint() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.published()
}

func (l *Log) published() []byte {
	return withSignatures(l.latestMsg, l.cosigned[l.latest.Size])
}

// Sync hashes every durable event and signs a checkpoint of the tree if
// it grew (a follower only hashes); it returns the newest checkpoint.
func (l *Log) Sync(ctx context.Context) (Checkpoint, error) {
	if err := l.step(ctx, true); err != nil {
		return Checkpoint{}, err
	}
	return l.Latest(), nil
}

// Proof proves that a leaf is in a signed tree.
type Proof struct {
	Leaf       []byte // the leaf: the event's canonical encoding, as AppendLeaf makes it
	Event      ledger.Event
	Index      int64
	TreeSize   int64
	Proof      tlog.RecordProof // tlog.ProveRecord(TreeSize, Index)
	Checkpoint []byte           // signed note of the tree of TreeSize leaves
}

// ProveTransfer proves the event with ledger id id: for a payment
// (transfer.LedgerID of the client's id), its first event, whose record
// names the transfer. A follower proves in the newest checkpoint it
// imported, and returns ErrNotSigned if that does not cover the leaf.
func (l *Log) ProveTransfer(ctx context.Context, id ledger.ID) (Proof, error) {
	jt, err := l.j.Transfer(ctx, id)
	if errors.Is(err, journal.ErrNotFound) {
		return Proof{}, fmt.Errorf("transfer %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Proof{}, fmt.Errorf("audit: transfer %s: %w", id, err)
	}
	e := jt.Event
	index, err := l.indexOf(ctx, e.Timestamp)
	if err != nil {
		return Proof{}, err
	}
	leaf := AppendLeaf(nil, e.AppendBinary(nil))
	defer l.announce() // after the lock is released
	l.mu.Lock()
	defer l.mu.Unlock()
	if index >= l.latest.Size {
		if l.follow {
			return Proof{}, fmt.Errorf("leaf %d, newest checkpoint imported of tree size %d: %w", index, l.latest.Size, ErrNotSigned)
		}
		// Sign now rather than make the caller wait for the next one.
		if _, err := l.catchUp(ctx); err != nil {
			return Proof{}, err
		}
		if err := l.sign(); err != nil {
			return Proof{}, err
		}
	}
	// The leaf read now must be the leaf hashed then: if not, the stored
	// event changed under the log.
	stored, err := l.hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
	if err != nil {
		return Proof{}, err
	}
	if stored[0] != tlog.RecordHash(leaf) {
		return Proof{}, fmt.Errorf("%w: leaf %d (%s) no longer hashes to what the log recorded", ErrFork, index, Describe(&e))
	}
	p, err := tlog.ProveRecord(l.latest.Size, index, l.hashes)
	if err != nil {
		return Proof{}, fmt.Errorf("audit: prove leaf %d: %w", index, err)
	}
	return Proof{Leaf: leaf, Event: e, Index: index, TreeSize: l.latest.Size, Proof: p, Checkpoint: l.published()}, nil
}

// indexOf returns the leaf index of the durable event with timestamp ts,
// hashing new events first if it is not a leaf yet.
func (l *Log) indexOf(ctx context.Context, ts int64) (int64, error) {
	l.mu.Lock()
	if ts > l.lastTS {
		if _, err := l.catchUp(ctx); err != nil {
			l.mu.Unlock()
			return 0, err
		}
	}
	if ts > l.lastTS || len(l.sparse) == 0 || ts < l.sparse[0] {
		l.mu.Unlock()
		return 0, fmt.Errorf("event %d: %w", ts, ErrNotFound)
	}
	k := sort.Search(len(l.sparse), func(i int) bool { return l.sparse[i] > ts }) - 1
	from := l.sparse[k]
	l.mu.Unlock()
	// The leaves between from and ts are durable and hashed; count them.
	index := int64(k) * sparseEvery
	found := false
	err := l.j.ScanEncoded(ctx, from, ts+1, func(raw []byte) error {
		if ledger.EventTimestamp(raw) == ts {
			found = true
			return nil
		}
		index++
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("audit: find event %d: %w", ts, err)
	}
	if !found {
		return 0, fmt.Errorf("event %d: %w", ts, ErrNotFound)
	}
	return index, nil
}

// LeavesMax bounds the leaves Leaves returns at once.
const LeavesMax = 10000

// Leaves returns leaves [start, end) (at most LeavesMax).
func (l *Log) Leaves(ctx context.Context, start, end int64) ([][]byte, error) {
	l.mu.Lock()
	size := l.hashes.n
	var from int64
	if start >= 0 && start < size {
		from = l.sparse[start/sparseEvery]
	}
	l.mu.Unlock()
	if start < 0 || end <= start || end-start > LeavesMax {
		return nil, fmt.Errorf("%w: want 0 <= start < end <= start+%d", ErrInvalid, LeavesMax)
	}
	if end > size {
		return nil, fmt.Errorf("leaves up to %d of a tree of %d: %w", end, size, ErrNotFound)
	}
	i := start / sparseEvery * sparseEvery
	out := make([][]byte, 0, end-start)
	err := l.j.ScanEncoded(ctx, from, math.MaxInt64, func(raw []byte) error {
		if i >= start {
			out = append(out, AppendLeaf(nil, raw))
		}
		if i++; i >= end {
			return errStepFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStepFull) {
		return nil, fmt.Errorf("audit: leaves: %w", err)
	}
	if int64(len(out)) != end-start {
		return nil, fmt.Errorf("audit: leaves [%d, %d): found %d", start, end, len(out))
	}
	return out, nil
}

// ProveConsistency proves that the tree of size from is a prefix of the
// tree of size to (tlog.ProveTree), for 1 <= from <= to <= Size.
func (l *Log) ProveConsistency(from, to int64) (tlog.TreeProof, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from < 1 || from > to {
		return nil, fmt.Errorf("%w: want 1 <= from <= to", ErrInvalid)
	}
	if to > l.hashes.n {
		return nil, fmt.Errorf("tree size %d, the log has %d leaves: %w", to, l.hashes.n, ErrNotFound)
	}
	p, err := tlog.ProveTree(to, from, l.hashes)
	if err != nil {
		return nil, fmt.Errorf("audit: prove %d..%d: %w", from, to, err)
	}
	return p, nil
}

// TreeHash returns the root hash of the tree of size n <= Size.
func (l *Log) TreeHash(n int64) (tlog.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n > l.hashes.n {
		return tlog.Hash{}, fmt.Errorf("tree size %d of %d: %w", n, l.hashes.n, ErrNotFound)
	}
	return tlog.TreeHash(n, l.hashes)
}

// Witness is a registered witness: its name and note verifier key.
type Witness struct {
	Name string
	Key  string
}

func (l *Log) loadWitnesses() error {
	b, err := os.ReadFile(filepath.Join(l.dir, WitnessesFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		v, err := note.NewVerifier(line)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorruptFile, WitnessesFile, err)
		}
		l.witnesses, l.witnessVs = append(l.witnesses, line), append(l.witnessVs, v)
	}
	return nil
}

// AddWitness registers a witness by its note verifier key; name must be
// the key's name. Registering the same key again does nothing.
func (l *Log) AddWitness(name, vkey string) (Witness, bool, error) {
	w, added, err := l.addWitness(name, vkey)
	if added && l.onWitness != nil {
		l.onWitness(w.Name, w.Key)
	}
	return w, added, err
}

func (l *Log) addWitness(name, vkey string) (Witness, bool, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Witness{}, false, fmt.Errorf("%w: witness key: %v", ErrInvalid, err)
	}
	if v.Name() != name {
		return Witness{}, false, fmt.Errorf("%w: the key is named %q, not %q", ErrInvalid, v.Name(), name)
	}
	if len(name) > WitnessNameMax {
		// A co-signature is kept in a fixed-size slot with the name.
		return Witness{}, false, fmt.Errorf("%w: witness name longer than %d bytes", ErrInvalid, WitnessNameMax)
	}
	if name == l.origin {
		return Witness{}, false, fmt.Errorf("%w: a witness cannot have the switch's name", ErrInvalid)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, w := range l.witnessVs {
		if w.Name() != name {
			continue
		}
		if l.witnesses[i] == vkey {
			return Witness{Name: name, Key: vkey}, false, nil
		}
		return Witness{}, false, fmt.Errorf("witness %s: %w", name, ErrWitnessExists)
	}
	all := append(slices.Clone(l.witnesses), vkey)
	if err := atomicfile.Write(filepath.Join(l.dir, WitnessesFile), []byte(strings.Join(all, "\n")+"\n"), 0o640); err != nil {
		return Witness{}, false, fmt.Errorf("audit: register witness: %w", err)
	}
	l.witnesses, l.witnessVs = all, append(l.witnessVs, v)
	return Witness{Name: name, Key: vkey}, true, nil
}

// Witnesses lists the registered witnesses.
func (l *Log) Witnesses() []Witness {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Witness, len(l.witnesses))
	for i, k := range l.witnesses {
		out[i] = Witness{Name: l.witnessVs[i].Name(), Key: k}
	}
	return out
}

// AddCosignature takes a checkpoint of this switch co-signed by one or
// more registered witnesses: the switch's signature must verify, the
// body must be the switch's tree of that size, and every other signature
// must be a registered witness's and verify. The witnesses' signatures
// are kept and published with the checkpoint. It returns the checkpoint
// and how many new co-signatures were kept. A follower returns
// ErrBehind for a checkpoint newer than the newest it imported.
func (l *Log) AddCosignature(msg []byte) (Checkpoint, int, error) {
	c, added, cosigned, err := l.addCosignature(msg)
	if added > 0 && l.onCosigned != nil {
		l.onCosigned(cosigned)
	}
	return c, added, err
}

// addCosignature does AddCosignature's work under the lock; it also
// returns the checkpoint signed by the switch and by the witnesses whose
// co-signatures are new, for OnCosigned.
func (l *Log) addCosignature(msg []byte) (Checkpoint, int, []byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := note.Open(msg, note.VerifierList(append([]note.Verifier{l.verifier}, l.witnessVs...)...))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return Checkpoint{}, 0, nil, fmt.Errorf("%w: the note has no signature by the switch or a registered witness", ErrUnknownWitness)
	case errors.As(err, &invalid):
		return Checkpoint{}, 0, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	case err != nil:
		return Checkpoint{}, 0, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(n.UnverifiedSigs) > 0 {
		s := n.UnverifiedSigs[0]
		return Checkpoint{}, 0, nil, fmt.Errorf("%w: signature by %s+%08x", ErrUnknownWitness, s.Name, s.Hash)
	}
	var mine *note.Signature
	var theirs []note.Signature
	for i, s := range n.Sigs {
		if s.Name == l.verifier.Name() && s.Hash == l.verifier.KeyHash() {
			mine = &n.Sigs[i]
		} else {
			theirs = append(theirs, s)
		}
	}
	if mine == nil {
		return Checkpoint{}, 0, nil, fmt.Errorf("%w: the note is not a checkpoint signed by this switch", ErrInvalid)
	}
	if len(theirs) == 0 {
		return Checkpoint{}, 0, nil, fmt.Errorf("%w: the note has no witness co-signature", ErrInvalid)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, 0, nil, err
	}
	if l.follow && c.Origin == l.origin && c.Size > l.latest.Size {
		// The leader signed it; the app has not brought it here yet.
		return Checkpoint{}, 0, nil, fmt.Errorf("co-signed checkpoint of tree size %d, newest imported %d: %w", c.Size, l.latest.Size, ErrBehind)
	}
	if c.Origin != l.origin || c.Size > l.hashes.n {
		return Checkpoint{}, 0, nil, fmt.Errorf("%w: not a checkpoint of this log", ErrInvalid)
	}
	if root, err := tlog.TreeHash(c.Size, l.hashes); err != nil || root != c.Root {
		return Checkpoint{}, 0, nil, fmt.Errorf("%w: the checkpoint's root is not this log's tree of size %d", ErrInvalid, c.Size)
	}
	var added []note.Signature
	for _, s := range theirs {
		if slices.Contains(l.cosigned[c.Size], s) {
			continue
		}
		// A witness signs a tree size once; a second, different
		// signature by it replaces nothing but is kept as evidence.
		if err := l.cosigs.append(cosignature{size: c.Size, sig: s}.encode()); err != nil {
			return Checkpoint{}, 0, nil, err
		}
		l.cosigned[c.Size] = append(l.cosigned[c.Size], s)
		l.witnessed[s.Name] = max(l.witnessed[s.Name], c.Size)
		added = append(added, s)
	}
	if len(l.cosigned) > cosignedKept {
		sizes := make([]int64, 0, len(l.cosigned))
		for s := range l.cosigned {
			sizes = append(sizes, s)
		}
		slices.Sort(sizes)
		for _, s := range sizes[:len(sizes)-cosignedKept] {
			delete(l.cosigned, s)
		}
	}
	if len(added) == 0 {
		return c, 0, nil, nil
	}
	return c, len(added), withSignatures([]byte(n.Text+"\n"+sigLine(*mine)), added), nil
}
