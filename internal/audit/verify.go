package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/ledger"
)

// VerifyOptions say what to verify offline.
type VerifyOptions struct {
	// Source reads the ledger's stored events (Embedded or Postgres).
	Source Source
	// Dir is the audit directory (the data directory's audit/).
	Dir string
	// VerifierKey is the switch's note verifier key (name+hash+key).
	VerifierKey string
}

// Report is what offline verification checked and found.
type Report struct {
	Source       string
	Records      int64 // ledger events read and hashed
	StoredLeaves int64 // leaves in the audit log's hash file
	Compared     int64 // leaves compared with the hash file
	Checkpoints  int   // checkpoints in the file
	Signatures   int   // checkpoint signatures verified
	Roots        int   // checkpoint roots recomputed and matched
	Witnesses    int   // registered witnesses
	Cosignatures int   // witness co-signatures verified
	// Problems are the discrepancies, the first bad record first.
	Problems []string
	// Notes are remarks that are not discrepancies.
	Notes []string
}

// maxProblems bounds the problems of one kind listed; the rest are counted.
const maxProblems = 5

type storedCheckpoint struct {
	slot int64
	c    Checkpoint
	text string // the body
}

// Verify recomputes every leaf from the stored ledger events, compares
// each with the audit log's stored hashes, recomputes the tree root at
// every signed checkpoint's size and compares it with the checkpoint,
// verifies every checkpoint's signature and every witness co-signature,
// and detects truncation. It changes nothing. It returns an error
// wrapping ErrMismatch, saying the first discrepancy, if there is one;
// the report lists them all.
func Verify(ctx context.Context, opts VerifyOptions) (Report, error) {
	rep := Report{Source: opts.Source.Describe()}
	v, err := note.NewVerifier(opts.VerifierKey)
	if err != nil {
		return rep, fmt.Errorf("%w: switch verifier key: %v", ErrInvalid, err)
	}
	cps, err := readCheckpoints(opts.Dir, v, &rep)
	if err != nil {
		return rep, err
	}
	hf, err := openHashes(opts.Dir, &rep)
	if err != nil {
		return rep, err
	}
	if hf != nil {
		defer hf.Close()
	}
	p := newLeafPass(&rep, cps, hf)
	p.matchRoots(0)
	err = opts.Source.Events(ctx, p.record, p.problem)
	if p.diag != nil {
		p.problem(p.diag.finish(nil, nil))
	}
	rep.Notes = append(rep.Notes, opts.Source.Notes()...)
	if err != nil {
		p.unreadable(err)
		return rep, fmt.Errorf("%w: %s", ErrMismatch, rep.Problems[0])
	}
	p.totals()
	p.truncation()
	if err := verifyCosignatures(opts.Dir, cps, &rep); err != nil {
		return rep, err
	}
	if len(rep.Problems) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrMismatch, rep.Problems[0])
	}
	return rep, nil
}

// openHashes opens the audit log's hash file and counts the leaves it
// holds into rep. It returns nil if there is no file: no leaf is stored.
func openHashes(dir string, rep *Report) (*os.File, error) {
	f, err := os.Open(filepath.Join(dir, HashesFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %w", err)
	}
	rep.StoredLeaves = leavesIn(st.Size() / tlog.HashSize)
	if extra := st.Size() - tlog.StoredHashCount(rep.StoredLeaves)*tlog.HashSize; extra > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %d bytes after the hashes of leaf %d, a write a crash cut short; the switch recomputes them", HashesFile, extra, rep.StoredLeaves-1))
	}
	return f, nil
}

// leafPass is Verify's one pass over the ledger's records: it hashes
// each into the tree, compares the leaf and the nodes it completes with
// the hash file, and recomputes the root wherever a checkpoint was
// signed, writing what it finds into the report.
type leafPass struct {
	rep    *Report
	cps    []storedCheckpoint
	bySize map[int64][]int // indexes into cps by tree size
	hf     *os.File        // the hash file; nil if there is none
	hr     *bufio.Reader   // reads hf's stored hashes in order
	stored []byte          // room for the stored hashes one leaf adds

	fr       frontierReader
	leafBad  int64 // leaves that differ from the hash file
	rootBad  int   // checkpoints whose root differs
	nodeBad  int   // interior hashes of the file that are wrong
	lastGood int64 // size of the last checkpoint that matched
	diag     *leafDiagnosis
	prev     *Record // the last record read
}

func newLeafPass(rep *Report, cps []storedCheckpoint, hf *os.File) *leafPass {
	p := &leafPass{rep: rep, cps: cps, bySize: map[int64][]int{}, hf: hf, stored: make([]byte, 64*tlog.HashSize)}
	for i, c := range cps {
		p.bySize[c.c.Size] = append(p.bySize[c.c.Size], i)
	}
	if hf != nil {
		p.hr = bufio.NewReaderSize(hf, 1<<20)
	}
	return p
}

func (p *leafPass) problem(s string) { p.rep.Problems = append(p.rep.Problems, s) }

// matchRoots compares the root of the tree of the first n leaves with
// every checkpoint signed for that size.
func (p *leafPass) matchRoots(n int64) {
	idx := p.bySize[n]
	if len(idx) == 0 {
		return
	}
	root, err := tlog.TreeHash(n, &p.fr)
	if err != nil {
		p.problem(fmt.Sprintf("internal error hashing the tree of size %d: %v", n, err))
		return
	}
	for _, i := range idx {
		c := p.cps[i]
		if root == c.c.Root {
			p.rep.Roots++
			p.lastGood = n
			continue
		}
		if p.rootBad++; p.rootBad <= maxProblems {
			p.problem(fmt.Sprintf("checkpoint #%d (%s slot %d, tree size %d): the ledger's first %d records hash to %s, the signed checkpoint says %s: records among leaves [%d, %d) were altered, removed or reordered after it was signed",
				c.slot, CheckpointsFile, c.slot, n, n, root, c.c.Root, p.lastGood, n))
		}
	}
}

// record takes the next record of the ledger: the Source's callback.
func (p *leafPass) record(r Record) error {
	var buf [ledger.EventFixedSize + ledger.MetaMax]byte
	h := LeafHash(r.Event.AppendBinary(buf[:0]))
	i := p.fr.n
	hashes, err := p.fr.add(h)
	if err != nil {
		return err
	}
	if p.diag != nil {
		p.problem(p.diag.finish(&r, &h))
		p.diag = nil
	}
	if i < p.rep.StoredLeaves {
		if err := p.compare(i, r, h, hashes); err != nil {
			return err
		}
	}
	p.rep.Records++
	p.matchRoots(p.fr.n)
	rr := r
	p.prev = &rr
	return nil
}

// compare reads from the hash file the stored hashes leaf i added, its
// own (h) and those of the nodes it completed, and compares them with
// the recomputed ones. The first leaf that differs starts a diagnosis;
// the nodes are only judged while every leaf so far matched.
func (p *leafPass) compare(i int64, r Record, h tlog.Hash, hashes []tlog.Hash) error {
	b := p.stored[:len(hashes)*tlog.HashSize]
	if _, err := io.ReadFull(p.hr, b); err != nil {
		return fmt.Errorf("audit: read %s: %w", HashesFile, err)
	}
	p.rep.Compared++
	var got tlog.Hash
	copy(got[:], b)
	if got != h {
		if p.leafBad++; p.leafBad == 1 {
			p.diag = &leafDiagnosis{index: i, rec: r, hash: h, stored: got}
			p.diag.next = readLeafHash(p.hf, i+1, p.rep.StoredLeaves)
		}
		return nil
	}
	if p.leafBad != 0 {
		return nil
	}
	for k := 1; k < len(hashes); k++ {
		copy(got[:], b[k*tlog.HashSize:])
		if got != hashes[k] {
			if p.nodeBad++; p.nodeBad <= maxProblems {
				p.problem(fmt.Sprintf("%s: stored hash %d (level %d, completed by leaf %d) is wrong: the file was altered", HashesFile, tlog.StoredHashIndex(0, i)+int64(k), k, i))
			}
		}
	}
	return nil
}

// unreadable reports that the ledger could not be read on, err saying
// why, after the last record read.
func (p *leafPass) unreadable(err error) {
	place := ""
	if p.prev != nil {
		place = fmt.Sprintf(" (after leaf %d, %s)", p.fr.n-1, p.prev.Place)
	}
	p.problem(fmt.Sprintf("the ledger cannot be read on%s: %v", place, err))
}

// totals counts the bad leaves and checkpoints beyond those listed.
func (p *leafPass) totals() {
	if p.leafBad > 1 {
		p.problem(fmt.Sprintf("%d leaves in all differ from the audit log's hashes", p.leafBad))
	}
	if p.rootBad > maxProblems {
		p.problem(fmt.Sprintf("%d checkpoints in all do not match the ledger", p.rootBad))
	}
}

// truncation reports a signed checkpoint, or the hash file, that covers
// more records than the ledger holds, and notes hashes not stored yet.
func (p *leafPass) truncation() {
	rep := p.rep
	var newest *storedCheckpoint
	for i := range p.cps {
		if newest == nil || p.cps[i].c.Size > newest.c.Size {
			newest = &p.cps[i]
		}
	}
	if newest != nil && newest.c.Size > rep.Records {
		how := "removed"
		if p.leafBad == 0 && p.rootBad == 0 {
			how = "removed from the end: the log was truncated"
		}
		p.problem(fmt.Sprintf("the ledger holds %d records but checkpoint #%d (%s slot %d) was signed for %d: %s %s",
			rep.Records, newest.slot, CheckpointsFile, newest.slot, newest.c.Size, records(newest.c.Size-rep.Records), how))
	}
	if rep.StoredLeaves > rep.Records {
		p.problem(fmt.Sprintf("%s holds the hashes of %d leaves but the ledger only %d records: %s missing", HashesFile, rep.StoredLeaves, rep.Records, records(rep.StoredLeaves-rep.Records)))
	} else if rep.StoredLeaves < rep.Records {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d records are not hashed yet (the switch stopped before it hashed them, or was killed): it hashes them at its next start; they were recomputed and checked here", rep.Records-rep.StoredLeaves))
	}
}

// leafDiagnosis is the first leaf that differs from the hash file; the
// next record tells whether it was altered, removed or swapped.
type leafDiagnosis struct {
	index        int64
	rec          Record
	hash, stored tlog.Hash
	next         *tlog.Hash // the hash file's leaf index+1, if any
}

func (d *leafDiagnosis) finish(next *Record, nextHash *tlog.Hash) string {
	what := "the record was altered (or one was inserted)"
	switch {
	case d.next != nil && *d.next == d.hash && nextHash != nil && *nextHash == d.stored:
		what = fmt.Sprintf("it and the next record, at %s — %s —, were swapped: it is the audit log's leaf %d and the next record is its leaf %d",
			next.Place, Describe(&next.Event), d.index+1, d.index)
	case d.next != nil && *d.next == d.hash:
		what = fmt.Sprintf("the audit log's leaf %d is no longer in the ledger (removed): this record is its leaf %d", d.index, d.index+1)
	case d.next != nil && next != nil && contentSwapped(&d.rec.Event, &next.Event, *d.next, d.stored):
		what = fmt.Sprintf("its contents and the next record's, at %s — %s —, were swapped, their timestamps kept",
			next.Place, Describe(&next.Event))
	case nextHash != nil && *nextHash == d.stored:
		what = "a record was inserted before the audit log's leaf here"
	}
	return fmt.Sprintf("first bad record: leaf %d, stored at %s — %s — hashes to %s, the audit log recorded %s: %s",
		d.index, d.rec.Place, Describe(&d.rec.Event), d.hash, d.stored, what)
}

// records says "1 record" or "n records".
func records(n int64) string {
	if n == 1 {
		return "1 record"
	}
	return fmt.Sprintf("%d records", n)
}

// contentSwapped reports whether a and b hash to each other's stored
// leaves once given each other's timestamps: their contents were
// exchanged in place.
func contentSwapped(a, b *ledger.Event, storedA1, storedA tlog.Hash) bool {
	x, y := *a, *b
	x.Timestamp, y.Timestamp = b.Timestamp, a.Timestamp
	return LeafHash(x.AppendBinary(nil)) == storedA1 && LeafHash(y.AppendBinary(nil)) == storedA
}

func readLeafHash(f *os.File, n, leaves int64) *tlog.Hash {
	if f == nil || n >= leaves {
		return nil
	}
	var h tlog.Hash
	if _, err := f.ReadAt(h[:], tlog.StoredHashIndex(0, n)*tlog.HashSize); err != nil {
		return nil
	}
	return &h
}

// readCheckpoints reads and verifies every stored checkpoint.
func readCheckpoints(dir string, v note.Verifier, rep *Report) ([]storedCheckpoint, error) {
	path := filepath.Join(dir, CheckpointsFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		rep.Notes = append(rep.Notes, "no checkpoints file: the audit log has not signed anything")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	slots := st.Size() / SlotSize
	if st.Size()%SlotSize != 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s: a last slot cut short (%d bytes), what a crash leaves", CheckpointsFile, st.Size()%SlotSize))
	}
	rep.Checkpoints = int(slots)
	var out []storedCheckpoint
	var prev *storedCheckpoint
	bad := 0
	for i := int64(0); i < slots; i++ {
		msg, err := readSlot(f, CheckpointsFile, i)
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint #%d (%s slot %d, byte offset %d): %v", i, CheckpointsFile, i, i*SlotSize, err))
			continue
		}
		n, c, err := OpenCheckpoint(msg, v)
		if err != nil {
			size := "?"
			if text, _, ok := strings.Cut(string(msg), "\n\n"); ok {
				if c, err := ParseCheckpoint(text + "\n"); err == nil {
					size = fmt.Sprint(c.Size)
				}
			}
			if bad++; bad <= maxProblems {
				rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint #%d (%s slot %d, byte offset %d, claims tree size %s): %v: not signed by %s", i, CheckpointsFile, i, i*SlotSize, size, err, v.Name()))
			}
			continue
		}
		rep.Signatures++
		sc := storedCheckpoint{slot: i, c: c, text: n.Text}
		if prev != nil && c.Size < prev.c.Size {
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint #%d has tree size %d, smaller than checkpoint #%d's %d: the log was rolled back", i, c.Size, prev.slot, prev.c.Size))
		}
		out = append(out, sc)
		prev = &out[len(out)-1]
	}
	if bad > maxProblems {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d checkpoint signatures in all do not verify", bad))
	}
	return out, nil
}

// verifyCosignatures checks every kept co-signature against the
// registered witnesses' keys and the checkpoint it co-signs.
func verifyCosignatures(dir string, cps []storedCheckpoint, rep *Report) error {
	var vs []note.Verifier
	if b, err := os.ReadFile(filepath.Join(dir, WitnessesFile)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			v, err := note.NewVerifier(line)
			if err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %q is not a verifier key", WitnessesFile, line))
				continue
			}
			vs = append(vs, v)
		}
	}
	rep.Witnesses = len(vs)
	f, err := os.Open(filepath.Join(dir, CosignaturesFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	text := map[int64]string{}
	for _, c := range cps {
		text[c.c.Size] = c.text
	}
	for i := int64(0); i < st.Size()/SlotSize; i++ {
		place := fmt.Sprintf("co-signature #%d (%s slot %d)", i, CosignaturesFile, i)
		b, err := readSlot(f, CosignaturesFile, i)
		if err != nil {
			rep.Problems = append(rep.Problems, place+": "+err.Error())
			continue
		}
		c, err := decodeCosignature(b)
		if err != nil {
			rep.Problems = append(rep.Problems, place+": "+err.Error())
			continue
		}
		body, ok := text[c.size]
		if !ok {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s by %s: for tree size %d, of which there is no valid checkpoint", place, c.sig.Name, c.size))
			continue
		}
		if _, err := note.Open([]byte(body+"\n"+sigLine(c.sig)), note.VerifierList(vs...)); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s by %s of tree size %d: %v", place, c.sig.Name, c.size, err))
			continue
		}
		rep.Cosignatures++
	}
	return nil
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "ledger: %s\n", r.Source)
	fmt.Fprintf(w, "records: %d read and hashed; %d compared with the audit log's %d stored leaf hashes\n", r.Records, r.Compared, r.StoredLeaves)
	fmt.Fprintf(w, "checkpoints: %d stored, %d signatures verified, %d roots recomputed from the records and matched\n", r.Checkpoints, r.Signatures, r.Roots)
	fmt.Fprintf(w, "witnesses: %d registered, %d co-signatures verified\n", r.Witnesses, r.Cosignatures)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(r.Problems) == 0 {
		fmt.Fprintf(w, "OK: the ledger's %d records are the ones the audit log hashed and signed\n", r.Records)
		return
	}
	for i, p := range r.Problems {
		fmt.Fprintf(w, "FAIL %d: %s\n", i+1, p)
	}
}
