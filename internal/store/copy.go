package store

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hulian/hulian/internal/store/frame"
)

// Copying the log while a switch appends to it (hulian backup): another
// process reads the segment files, without the store's lock and without
// writing anything. Appends only ever add whole frames at the end of the
// last file, and a segment is finished (written and synced) before the
// next one is created, so the files' sizes at one instant, the last cut
// back to its last whole frame, are a prefix of the log that Replay
// accepts: what a kill -9 at that instant would have left.

// SegmentFile is a segment file of a log and a length of it in bytes.
type SegmentFile struct {
	Name string // the file's name in the log's directory
	Size int64
}

// MeasureLog returns the segment files of the log in the data directory
// dir, in order, with their sizes at the moment of the call. It is one
// directory read and a stat per file: cheap enough to call while the
// switch's other writers are held back for a consistent copy.
func MeasureLog(dir string) ([]SegmentFile, error) {
	l := &Log{dir: filepath.Join(dir, frame.Dir)}
	segs, err := l.listSegments()
	if err != nil {
		return nil, fmt.Errorf("measure log %s: %w", dir, err)
	}
	out := make([]SegmentFile, len(segs))
	for i, s := range segs {
		fi, err := os.Stat(s.path)
		if err != nil {
			return nil, fmt.Errorf("measure log %s: %w", dir, err)
		}
		out[i] = SegmentFile{Name: filepath.Base(s.path), Size: fi.Size()}
	}
	return out, nil
}

// LogPrefix cuts measured segment files back to whole frames: each file
// but the last is whole, since the next was created only after it was
// finished; the last ends after its last whole, checksummed frame within
// its measured size, which leaves out a frame that was being written
// when it was measured, or the torn tail a crash left. Damage that is
// followed by a whole frame is corruption, as for Replay: ErrCorrupt.
// It reads the last file; CopySegment checks the others.
func LogPrefix(dir string, measured []SegmentFile) ([]SegmentFile, error) {
	out := append([]SegmentFile(nil), measured...)
	if len(out) == 0 {
		return out, nil
	}
	last := &out[len(out)-1]
	path := filepath.Join(dir, frame.Dir, last.Name)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("log prefix: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, last.Size), readBufSize)
	var hdr [frame.HeaderSize]byte
	var body []byte
	var off int64
	for {
		h, err := readFrame(r, hdr[:], &body)
		if err == io.EOF {
			break
		}
		if err != nil {
			if at, ok := validFrameAfter(path, off); ok {
				return nil, fmt.Errorf("log prefix: %w: %s: damaged frame at offset %d (%v) is followed by a whole frame at offset %d",
					ErrCorrupt, last.Name, off, err, at)
			}
			break
		}
		off += frame.HeaderSize + int64(h.BodyLen)
	}
	last.Size = off
	return out, nil
}

// CopyStats counts what CopySegment copied.
type CopyStats struct {
	Batches uint64 // frames
	Events  int64
	Next    uint64 // the batch that follows the last one copied
	LastNow int64  // the last batch's time, ns; 0 if none was copied
}

// CopySegment writes the first s.Size bytes of the segment file s of the
// log in the data directory dir to w, checking every frame on the way:
// its header, its checksum, and that its batch is next (the segment's
// first, and each one the one after). A frame that does not check out,
// or that s.Size cuts, fails it with ErrCorrupt: the copy would not be a
// log that Replay accepts.
func CopySegment(w io.Writer, dir string, s SegmentFile, next uint64) (CopyStats, error) {
	st := CopyStats{Next: next}
	first, ok := frame.ParseSegmentName(s.Name)
	if !ok || first != next {
		return st, fmt.Errorf("copy %s: %w: it should begin with batch %d", s.Name, ErrCorrupt, next)
	}
	f, err := os.Open(filepath.Join(dir, frame.Dir, s.Name))
	if err != nil {
		return st, fmt.Errorf("copy %s: %w", s.Name, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, s.Size), readBufSize)
	var hdr [frame.HeaderSize]byte
	var body []byte
	var off int64
	for {
		h, err := readFrame(r, hdr[:], &body)
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("copy %s: %w: at offset %d: %v", s.Name, ErrCorrupt, off, err)
		}
		if h.Seq != st.Next {
			return st, fmt.Errorf("copy %s: %w: at offset %d: batch %d where %d was expected", s.Name, ErrCorrupt, off, h.Seq, st.Next)
		}
		if _, err := w.Write(hdr[:]); err != nil {
			return st, err
		}
		if _, err := w.Write(body); err != nil {
			return st, err
		}
		off += frame.HeaderSize + int64(h.BodyLen)
		st.Batches++
		st.Events += int64(h.Count)
		st.Next++
		st.LastNow = h.Now
	}
}
