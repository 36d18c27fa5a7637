package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store"
	logframe "github.com/hulian/hulian/internal/store/frame"
)

// A backup is one tar archive, gzipped when its name ends in .gz or
// .tgz, of the data directory's files as restore writes them back, and
// last a manifest (manifestName) that names each file with its size and
// SHA-256 (docs/operations.md, "Backups").
//
// An embedded switch's backup is what a kill -9 at one instant would have
// left, which the switch recovers from as from any crash: at that instant,
// with the app database's writers held back (sqldb.BackupSQLite), the
// database's read snapshot is taken and the ledger's segment files are
// measured (store.MeasureLog). The database is copied from the snapshot,
// the log up to the measured sizes cut back to whole frames. The audit
// directory, read after, is cut to what the copied ledger holds: the
// checkpoints of at most its events (at least the one the database's
// watermark names, signed before it) and the hashes they vouch for.
// Keys and tokens are copied whole.
const (
	backupFormat = "hulian-backup/1"
	manifestName = "hulian-backup.json"
	// backupEmbedded is a backup of an embedded switch's directory;
	// backupFiles one of a PostgreSQL switch's (keys and audit log),
	// whose database is backed up with PostgreSQL's tools.
	backupEmbedded = "embedded"
	backupFiles    = "files"
	// manifestMax bounds the manifest restore reads.
	manifestMax = 64 << 20
)

// backupManifest is the archive's last entry.
type backupManifest struct {
	Format  string    `json:"format"`
	Kind    string    `json:"kind"`
	Created time.Time `json:"created"`
	Source  string    `json:"source"`
	// Ledger is what the copied log holds (embedded only).
	Ledger *backupLedger `json:"ledger,omitempty"`
	// Audit is the newest checkpoint kept (-1: none), and the
	// database's watermark (-1: none; 0 in a PostgreSQL switch's, whose
	// database is not read).
	Audit backupAudit `json:"audit"`
	// HeldMicroseconds is how long the app database's writers were held
	// back at the backup's instant (embedded only).
	HeldMicroseconds int64        `json:"heldMicroseconds,omitzero"`
	Files            []backupFile `json:"files"`
}

type backupLedger struct {
	Segments int    `json:"segments"`
	Batches  uint64 `json:"batches"`
	Events   int64  `json:"events"`
	// LastBatchTime is the last batch's time, ns since the Unix epoch.
	LastBatchTime int64 `json:"lastBatchTime"`
}

type backupAudit struct {
	TreeSize  int64 `json:"treeSize"`
	Watermark int64 `json:"watermark"`
}

type backupFile struct {
	Path   string `json:"path"` // slash-separated, relative to the data directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// backup makes a backup of a data directory, which a switch may be using.
func backup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the switch's data directory (the switch may be running)")
	out := fs.String("out", "", "the backup file to write (a tar archive; gzipped if it ends in .gz or .tgz); must not exist")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hulian backup --data DIR --out FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected arguments %v", fs.Args())
	}
	if *data == "" || *out == "" {
		fs.Usage()
		return errors.New("backup: --data and --out are required")
	}
	start := time.Now()
	m, err := backupDir(ctx, *data, *out)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup %s: %d files, %s (%s written) in %v\n", *out, len(m.Files), mib(total), mib(fi.Size()), time.Since(start).Round(time.Millisecond))
	if l := m.Ledger; l != nil {
		last := ""
		if l.Batches > 0 {
			last = ", the last of " + time.Unix(0, l.LastBatchTime).UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(stdout, "  ledger: %d batches, %d events%s; app database writers held %v\n",
			l.Batches, l.Events, last, time.Duration(m.HeldMicroseconds)*time.Microsecond)
	} else {
		fmt.Fprintf(stdout, "  the keys and audit log of a switch on PostgreSQL: back its database up with PostgreSQL's tools, before this, and restore with --store\n")
	}
	if m.Kind == backupEmbedded {
		fmt.Fprintf(stdout, "  audit log: newest checkpoint kept of tree size %d (the database's watermark: %d)\n", m.Audit.TreeSize, m.Audit.Watermark)
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// backupDir writes the backup of dir to out and returns its manifest.
func backupDir(ctx context.Context, dir, out string) (m backupManifest, err error) {
	if dir, err = filepath.Abs(dir); err != nil {
		return m, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return m, fmt.Errorf("%s is not a data directory (%v)", dir, err)
	}
	kind, err := dirKind(dir)
	if err != nil {
		return m, err
	}
	if o, err := filepath.Abs(out); err != nil || strings.HasPrefix(o, dir+string(filepath.Separator)) {
		return m, fmt.Errorf("%s is inside the data directory: write the backup elsewhere", out)
	}
	m = backupManifest{Format: backupFormat, Kind: kind, Created: time.Now().UTC(), Source: dir}
	// The archive is written beside its final name and renamed when
	// whole, so that a backup file is never half written.
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return m, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("%s exists: a backup never replaces a file", out)
	}
	aw := newArchiveWriter(&syncWriter{f: f}, strings.HasSuffix(out, ".gz") || strings.HasSuffix(out, ".tgz"))
	// The database's copy is staged beside the archive: the backup API
	// writes a file.
	stage, err := os.MkdirTemp(filepath.Dir(out), ".hulian-backup-")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(stage)

	events := int64(math.MaxInt64) // a PostgreSQL switch's: cut at restore
	if kind == backupEmbedded {
		if events, err = backupStores(ctx, dir, stage, aw, &m); err != nil {
			return m, err
		}
	}
	cut, err := cutAudit(filepath.Join(dir, "audit"), events)
	if err != nil {
		return m, err
	}
	m.Audit.TreeSize = cut.treeSize
	if kind == backupEmbedded && m.Audit.Watermark >= 0 && cut.treeSize < m.Audit.Watermark {
		return m, fmt.Errorf("the audit log holds no checkpoint between the database's watermark (tree size %d) and the ledger's %d events: back up again", m.Audit.Watermark, events)
	}
	if err := backupFilesOf(dir, aw, cut); err != nil {
		return m, err
	}
	if err := aw.finish(&m); err != nil {
		return m, err
	}
	if err := f.Sync(); err != nil {
		return m, err
	}
	if err := f.Close(); err != nil {
		return m, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return m, err
	}
	return m, syncDir(filepath.Dir(out))
}

// dirKind tells an embedded switch's data directory (a ledger and an app
// database) from a PostgreSQL switch's (keys and the audit log).
func dirKind(dir string) (string, error) {
	_, lerr := os.Stat(filepath.Join(dir, logframe.Dir))
	_, derr := os.Stat(filepath.Join(dir, "hulian.db"))
	switch {
	case lerr == nil && derr == nil:
		return backupEmbedded, nil
	case lerr == nil || derr == nil:
		return "", fmt.Errorf("%s holds only half an embedded store (ledger/: %v; hulian.db: %v)", dir, lerr, derr)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit")); err != nil {
		return "", fmt.Errorf("%s holds neither an embedded store nor an audit log: not a data directory", dir)
	}
	return backupFiles, nil
}

// backupStores copies the app database and the ledger's log of an
// embedded switch as they stood at one instant into aw, and returns the
// events of the log copied.
func backupStores(ctx context.Context, dir, stage string, aw *archiveWriter, m *backupManifest) (int64, error) {
	db := filepath.Join(stage, "hulian.db")
	var measured []store.SegmentFile
	held, err := sqldb.BackupSQLite(ctx, filepath.Join(dir, "hulian.db"), db, func() (err error) {
		measured, err = store.MeasureLog(dir)
		return err
	})
	m.HeldMicroseconds = held.Microseconds()
	if err != nil {
		return 0, err
	}
	var marked bool
	if m.Audit.Watermark, marked, err = sqliteWatermark(ctx, db); err != nil {
		return 0, err
	}
	if !marked {
		m.Audit.Watermark = -1
	}
	if err := aw.addFile("hulian.db", db, 0o600, -1); err != nil {
		return 0, err
	}
	segs, err := store.LogPrefix(dir, measured)
	if err != nil {
		return 0, err
	}
	l := &backupLedger{Segments: len(segs)}
	next := uint64(1)
	for _, s := range segs {
		fi, err := os.Stat(filepath.Join(dir, logframe.Dir, s.Name))
		if err != nil {
			return 0, err
		}
		err = aw.add(logframe.Dir+"/"+s.Name, s.Size, fi.Mode().Perm(), func(w io.Writer) error {
			st, err := store.CopySegment(w, dir, s, next)
			l.Batches += st.Batches
			l.Events += st.Events
			if st.Batches > 0 {
				l.LastBatchTime = st.LastNow
			}
			next = st.Next
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	m.Ledger = l
	return l.Events, nil
}

// sqliteWatermark reads the audit watermark of a copy of the app
// database: the tree size of the newest checkpoint signed when it was
// copied, and false when none is stored.
func sqliteWatermark(ctx context.Context, file string) (int64, bool, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return 0, false, err
	}
	defer db.Close()
	return readWatermark(ctx, db)
}

func readWatermark(ctx context.Context, db *sql.DB) (int64, bool, error) {
	var size int64
	err := db.QueryRowContext(ctx, `SELECT size FROM audit_watermark WHERE id = 1`).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("audit watermark: %w", err)
	}
	return size, true, nil
}

// backupFilesOf adds the data directory's other files: keys, tokens and
// the audit directory, whose growing files are cut as cut says. Left
// out: the stores copied apart, the store's lock, SQLite's write-ahead
// log, files half written (*.tmp) and the audit log's sparse index,
// which it rebuilds.
func backupFilesOf(dir string, aw *archiveWriter, cut auditCut) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch {
		case d.IsDir() && name == logframe.Dir:
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case name == "LOCK" || name == "hulian.db" || strings.HasPrefix(name, "hulian.db-") ||
			strings.HasSuffix(name, ".tmp") || name == "audit/"+audit.SparseFile:
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file", p)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		limit := int64(-1)
		switch name {
		case "audit/" + audit.CheckpointsFile:
			limit = cut.checkpoints
		case "audit/" + audit.CosignaturesFile:
			limit = cut.cosignatures
		case "audit/" + audit.HashesFile:
			limit = cut.hashes
		}
		return aw.addFile(name, p, fi.Mode().Perm(), limit)
	})
}

// auditCut is how much of the audit log's growing files a copy keeps so
// that it goes with a ledger of a number of events: the checkpoints of at
// most that many (their sizes only grow), the co-signatures of those, the
// stored hashes of the newest one's leaves.
type auditCut struct {
	checkpoints, cosignatures, hashes int64 // bytes
	treeSize                          int64 // the newest checkpoint kept; -1 if none
}

// cutAudit reads the audit directory's checkpoints and co-signatures and
// works out the cut for a ledger of events events. Only whole slots
// count: the last may be being written.
func cutAudit(dir string, events int64) (auditCut, error) {
	c := auditCut{treeSize: -1}
	n, err := eachSlot(filepath.Join(dir, audit.CheckpointsFile), func(rec []byte) (bool, error) {
		text, _, ok := strings.Cut(string(rec), "\n\n")
		if !ok {
			return false, errors.New("not a signed note")
		}
		cp, err := audit.ParseCheckpoint(text + "\n")
		if err != nil {
			return false, err
		}
		if cp.Size > events {
			return false, nil
		}
		c.treeSize = cp.Size
		return true, nil
	})
	if err != nil {
		return c, err
	}
	c.checkpoints = n * audit.SlotSize
	n, err = eachSlot(filepath.Join(dir, audit.CosignaturesFile), func(rec []byte) (bool, error) {
		size, _, _ := strings.Cut(string(rec), " ")
		s, err := strconv.ParseInt(size, 10, 64)
		if err != nil {
			return false, fmt.Errorf("co-signature %q", rec)
		}
		return s <= c.treeSize, nil
	})
	if err != nil {
		return c, err
	}
	c.cosignatures = n * audit.SlotSize
	if c.treeSize > 0 {
		fi, err := os.Stat(filepath.Join(dir, audit.HashesFile))
		if err != nil {
			return c, err
		}
		// The hashes a checkpoint covers were synced before it was
		// written; fewer on disk is a file cut short, which the switch
		// recomputes from the ledger.
		leaves := min(c.treeSize, leavesIn(fi.Size()/tlog.HashSize))
		c.hashes = tlog.StoredHashCount(leaves) * tlog.HashSize
	}
	return c, nil
}

// leavesIn is the most leaves whose stored hashes fit in count hashes.
func leavesIn(count int64) int64 {
	return int64(sort.Search(int(count)+1, func(n int) bool { return tlog.StoredHashCount(int64(n)) > count })) - 1
}

// eachSlot calls keep with the records of the whole slots of an audit
// slot file (audit.SlotSize bytes: a 2-byte length, the record, zeros)
// until it returns false, and returns how many it kept. A missing file
// has none.
func eachSlot(path string, keep func(rec []byte) (bool, error)) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	slots := fi.Size() / audit.SlotSize
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, slots*audit.SlotSize), 1<<20)
	var b [audit.SlotSize]byte
	for i := int64(0); i < slots; i++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		n := int(binary.BigEndian.Uint16(b[:2]))
		if n == 0 || n > audit.SlotSize-2 || !bytes.Equal(b[2+n:], make([]byte, audit.SlotSize-2-n)) {
			return 0, fmt.Errorf("%s: slot %d is not a record", path, i)
		}
		ok, err := keep(b[2 : 2+n])
		if err != nil {
			return 0, fmt.Errorf("%s: slot %d: %w", path, i, err)
		}
		if !ok {
			return i, nil
		}
	}
	return slots, nil
}

// archiveWriter writes a backup archive and notes each file for the
// manifest.
type archiveWriter struct {
	gz    *gzip.Writer
	tw    *tar.Writer
	now   time.Time
	files []backupFile
}

func newArchiveWriter(w io.Writer, compress bool) *archiveWriter {
	// Whole seconds: a header needs no PAX records for its time.
	a := &archiveWriter{now: time.Now().Truncate(time.Second)}
	if compress {
		a.gz, _ = gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
		w = a.gz
	}
	a.tw = tar.NewWriter(w)
	return a
}

// add writes the file name of size bytes, which write writes.
func (a *archiveWriter) add(name string, size int64, mode fs.FileMode, write func(io.Writer) error) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: int64(mode.Perm()), ModTime: a.now}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(a.tw, h)}
	if err := write(cw); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cw.n != size {
		return fmt.Errorf("%s: wrote %d bytes of %d", name, cw.n, size)
	}
	a.files = append(a.files, backupFile{Path: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// addFile adds the first limit bytes of the file at path (all of it if
// limit < 0, as much as there is if it is shorter) as name.
func (a *archiveWriter) addFile(name, path string, mode fs.FileMode, limit int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if limit >= 0 {
		size = min(size, limit)
	}
	return a.add(name, size, mode, func(w io.Writer) error {
		_, err := io.CopyN(w, f, size)
		return err
	})
}

// finish writes the manifest, the archive's last entry, and closes the
// archive (not the file under it).
func (a *archiveWriter) finish(m *backupManifest) error {
	m.Files = a.files
	b, err := json.Marshal(m, json.Deterministic(true), jsontext.WithIndent("  "))
	if err != nil {
		return err
	}
	if err := a.add(manifestName, int64(len(b)), 0o600, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return err
	}
	if err := a.tw.Close(); err != nil {
		return err
	}
	if a.gz != nil {
		return a.gz.Close()
	}
	return nil
}

// syncEvery is how many bytes of the archive are written between two
// fdatasyncs.
const syncEvery = 8 << 20

// syncWriter writes the archive to its file and syncs it every
// syncEvery bytes. Left to the kernel, a gigabyte of dirty pages is
// written back at once, at the final sync or when memory runs short, and
// the switch's group commits on the same disk wait behind it: on the
// development machine, single payments' worst latency went from 130 ms
// to 580 ms while a 1 GiB backup was written, and to 150 ms when it went
// to memory.
type syncWriter struct {
	f     *os.File
	dirty int64
}

func (w *syncWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	if w.dirty += int64(n); err == nil && w.dirty >= syncEvery {
		w.dirty = 0
		err = syscall.Fdatasync(int(w.f.Fd()))
	}
	return n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// restore writes a backup back into a new data directory.
func restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the backup file (made by hulian backup)")
	data := fs.String("data", "", "the data directory to restore into: new, or empty")
	dsn := fs.String("store", "", "for the backup of a switch on PostgreSQL: the DSN (postgres://…) of its restored database, to which the audit log is cut")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hulian restore --in FILE --data NEWDIR [--store postgres://…]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("restore: unexpected arguments %v", fs.Args())
	}
	if *in == "" || *data == "" {
		fs.Usage()
		return errors.New("restore: --in and --data are required")
	}
	start := time.Now()
	r, err := restoreDir(ctx, *in, *data, *dsn)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	m := r.manifest
	fmt.Fprintf(stdout, "restored %s into %s: %d files in %v\n", *in, *data, len(m.Files), time.Since(start).Round(time.Millisecond))
	if l := m.Ledger; l != nil {
		fmt.Fprintf(stdout, "  ledger: %d batches, %d events; audit log: newest checkpoint of tree size %d\n", l.Batches, l.Events, m.Audit.TreeSize)
		fmt.Fprintf(stdout, "  check it with: hulian verify --data %s\n", *data)
		return nil
	}
	fmt.Fprintf(stdout, "  audit log cut to the database's %d events: newest checkpoint of tree size %d (the database's watermark: %d)\n",
		r.events, r.cut.treeSize, r.watermark)
	fmt.Fprintf(stdout, "  check it with: hulian verify --data %s --store DSN\n", *data)
	return nil
}

// restored is what restoreDir did.
type restored struct {
	manifest backupManifest
	// For a PostgreSQL switch's: the database's events and watermark,
	// and the audit log's cut.
	events, watermark int64
	cut               auditCut
}

// restoreDir checks the archive in, then writes it into dir, which must
// be new or empty. For the backup of a PostgreSQL switch, it cuts the
// audit log to the database dsn.
func restoreDir(ctx context.Context, in, dir, dsn string) (r restored, err error) {
	// Everything is checked before anything is written.
	r.manifest, err = readArchive(in, nil)
	if err != nil {
		return r, fmt.Errorf("%s: %w", in, err)
	}
	m := r.manifest
	switch {
	case m.Kind == backupFiles && dsn == "":
		return r, fmt.Errorf("%s holds the keys and audit log of a switch on PostgreSQL: give --store with the DSN of its restored database", in)
	case m.Kind == backupEmbedded && dsn != "":
		return r, fmt.Errorf("%s holds an embedded switch's whole directory: --store has no use", in)
	}
	if err := checkTarget(dir); err != nil {
		return r, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return r, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(abs), ".hulian-restore-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(stage)
	// Read again, written as read, checked again: the file could have
	// changed since.
	if _, err := readArchive(in, func(name string, mode fs.FileMode, rd io.Reader) error {
		return writeRestored(stage, name, mode, rd)
	}); err != nil {
		return r, fmt.Errorf("%s: %w", in, err)
	}
	if m.Kind == backupFiles {
		if err := cutRestoredAudit(ctx, stage, dsn, &r); err != nil {
			return r, err
		}
	} else if err := os.MkdirAll(filepath.Join(stage, logframe.Dir), 0o750); err != nil {
		// A ledger without a batch has no segment file.
		return r, err
	}
	if err := syncTree(stage); err != nil {
		return r, err
	}
	// The directory appears whole or not at all: an empty target is
	// replaced by the staged one.
	if err := os.Remove(abs); err != nil && !errors.Is(err, os.ErrNotExist) {
		return r, err
	}
	if err := os.Rename(stage, abs); err != nil {
		return r, err
	}
	return r, syncDir(filepath.Dir(abs))
}

// checkTarget refuses a data directory that exists and is not empty.
func checkTarget(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%s exists and is not a directory", dir)
	case err != nil:
		return fmt.Errorf("%s: %w", dir, err)
	case len(ents) > 0:
		return fmt.Errorf("%s is not empty: restore only into a new or empty directory", dir)
	}
	return nil
}

// readArchive reads the backup archive at path through, checks every
// file against the manifest and returns the manifest. With extract set,
// it passes each file to it as it reads it; the caller then must not use
// what extract wrote unless readArchive succeeds.
func readArchive(path string, extract func(name string, mode fs.FileMode, r io.Reader) error) (backupManifest, error) {
	var m backupManifest
	f, err := os.Open(path)
	if err != nil {
		return m, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	var gz *gzip.Reader
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		if gz, err = gzip.NewReader(br); err != nil {
			return m, fmt.Errorf("damaged: %w", err)
		}
		r = gz
	}
	tr := tar.NewReader(r)
	type seen struct {
		size int64
		sum  string
	}
	files := map[string]seen{}
	var manifest []byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) { // an insecure name is refused below
			return m, fmt.Errorf("damaged or cut short: %w", err)
		}
		name := hdr.Name
		if hdr.Typeflag != tar.TypeReg || !validPath(name) {
			return m, fmt.Errorf("damaged: entry %q (type %q) is not a file a backup holds", name, hdr.Typeflag)
		}
		if _, dup := files[name]; dup || name == manifestName && manifest != nil {
			return m, fmt.Errorf("damaged: %q appears twice", name)
		}
		if name == manifestName {
			if manifest, err = io.ReadAll(io.LimitReader(tr, manifestMax+1)); err != nil {
				return m, fmt.Errorf("damaged or cut short: %s: %w", name, err)
			}
			if len(manifest) > manifestMax {
				return m, fmt.Errorf("damaged: a manifest of more than %d bytes", manifestMax)
			}
			continue
		}
		h := sha256.New()
		cr := &countReader{r: io.TeeReader(tr, h)}
		if extract != nil {
			err = extract(name, fs.FileMode(hdr.Mode).Perm(), cr)
		}
		if err == nil {
			_, err = io.Copy(io.Discard, cr)
		}
		if err != nil {
			return m, fmt.Errorf("damaged, cut short or not written: %s: %w", name, err)
		}
		files[name] = seen{cr.n, hex.EncodeToString(h.Sum(nil))}
	}
	if gz != nil {
		// The gzip trailer's checksum is checked at its end.
		if _, err := io.Copy(io.Discard, gz); err != nil {
			return m, fmt.Errorf("damaged or cut short: %w", err)
		}
	}
	if manifest == nil {
		return m, fmt.Errorf("no %s: not a Hulian backup, or cut short", manifestName)
	}
	if err := json.Unmarshal(manifest, &m, json.RejectUnknownMembers(true)); err != nil {
		return m, fmt.Errorf("damaged: %s: %w", manifestName, err)
	}
	if m.Format != backupFormat {
		return m, fmt.Errorf("format %q: this hulian reads %q", m.Format, backupFormat)
	}
	if m.Kind != backupEmbedded && m.Kind != backupFiles || m.Kind == backupEmbedded && m.Ledger == nil {
		return m, fmt.Errorf("damaged: %s: kind %q", manifestName, m.Kind)
	}
	listed := map[string]bool{}
	for _, mf := range m.Files {
		got, ok := files[mf.Path]
		switch {
		case !ok:
			return m, fmt.Errorf("damaged or cut short: %s is missing", mf.Path)
		case got.size != mf.Size:
			return m, fmt.Errorf("damaged: %s holds %d bytes, the manifest says %d", mf.Path, got.size, mf.Size)
		case got.sum != mf.SHA256:
			return m, fmt.Errorf("damaged: %s has SHA-256 %s, the manifest says %s", mf.Path, got.sum, mf.SHA256)
		}
		listed[mf.Path] = true
	}
	for name := range files {
		if !listed[name] {
			return m, fmt.Errorf("damaged: %s is not in the manifest", name)
		}
	}
	return m, nil
}

// validPath reports whether name is a clean relative slash path that
// stays inside the directory.
func validPath(name string) bool {
	return name != "" && name != "." && path.Clean(name) == name && !path.IsAbs(name) &&
		name != ".." && !strings.HasPrefix(name, "../") && !strings.Contains(name, "\\")
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// writeRestored writes the file name under dir from r and syncs it.
func writeRestored(dir, name string, mode fs.FileMode, r io.Reader) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncTree syncs every directory under dir, so that the files' names
// survive a crash.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(p)
	})
}

// cutRestoredAudit cuts the restored audit log of a PostgreSQL switch to
// its restored database: the checkpoints of at most the events the
// database holds, and it refuses if that leaves none at or above the
// database's watermark, which the switch would refuse at start.
func cutRestoredAudit(ctx context.Context, dir, dsn string, r *restored) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM ledger_events`).Scan(&r.events); err != nil {
		return fmt.Errorf("the restored database: %w", err)
	}
	marked := false
	if r.watermark, marked, err = readWatermark(ctx, db); err != nil {
		return fmt.Errorf("the restored database: %w", err)
	}
	ad := filepath.Join(dir, "audit")
	cut, err := cutAudit(ad, r.events)
	if err != nil {
		return err
	}
	if marked && cut.treeSize < r.watermark {
		return fmt.Errorf("the backup's audit log holds no checkpoint between the database's watermark (tree size %d) and its %d events: it is older than the database; use a backup of the files made after the database's recovery point", r.watermark, r.events)
	}
	for _, t := range []struct {
		name string
		size int64
	}{{audit.CheckpointsFile, cut.checkpoints}, {audit.CosignaturesFile, cut.cosignatures}, {audit.HashesFile, cut.hashes}} {
		if err := os.Truncate(filepath.Join(ad, t.name), t.size); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	r.cut = cut
	return nil
}
