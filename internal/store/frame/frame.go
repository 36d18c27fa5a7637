// Package frame is the on-disk format of the embedded store's log,
// version "HLB1" (docs/formats.md, "Log frame"): where segment files
// live and how they are named, the 40-byte frame header and its
// checksum. It holds the format and nothing else, so that the engine
// (package store) and the offline verifier (package audit) read the same
// bytes by the same rules while the verifier shares none of the engine's
// reading code.
//
// A frame is a header and a body:
//
//	0  magic "HLB1"        4  body length (uint32)   8  CRC-32C of bytes 12.. of the header and the body
//	12 seq (uint64)        20 now (int64)            28 event count (uint32)
//	32 records length (uint32, 0: reserved for records of other packages)   36 zero (uint32)
//
// and the body is the batch's events, one after the other in the
// ledger's canonical encoding. All integers are big-endian.
package frame

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/fault"
)

// Magic opens every frame and names the format's version.
const Magic = "HLB1"

// HeaderSize is the length of a frame header in bytes.
const HeaderSize = 40

// Offsets of the header's fields.
const (
	OffMagic    = 0  // Magic, 4 bytes
	OffBodyLen  = 4  // body length, uint32
	OffSum      = 8  // CRC-32C of the header from OffSeq on and of the body, uint32
	OffSeq      = 12 // batch sequence number, uint64; the checksum covers from here
	OffNow      = 20 // batch time in ns, int64
	OffCount    = 28 // event count, uint32
	OffRecords  = 32 // records length, uint32; 0 (reserved for records of other packages)
	OffReserved = 36 // uint32, 0
)

// BodyMax bounds a frame's body in bytes: a batch of ledger.BatchMax
// commands and as many expiries, all with the largest Meta, fits.
// A header that claims more is damaged.
const BodyMax = 64 << 20

// Dir is the directory, inside the data directory, of the segment files.
const Dir = "ledger"

// Ext ends every segment file's name.
const Ext = ".seg"

// SegmentName is the name of the segment file whose first batch is
// first: the number in 20 decimal digits, so that names sort by number.
func SegmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, Ext) }

// ParseSegmentName returns the first batch of the segment file name, and
// false if name is not exactly what SegmentName makes.
func ParseSegmentName(name string) (uint64, bool) {
	first, err := strconv.ParseUint(strings.TrimSuffix(name, Ext), 10, 64)
	if err != nil || SegmentName(first) != name {
		return 0, false
	}
	return first, true
}

// ErrMagic means the bytes do not begin with Magic: no frame starts
// there, so the log is damaged or the reader lost its place.
var ErrMagic = fault.New(fault.Internal, "", "bad magic")

// Header is a frame header's fields; Decode and Append convert it from
// and to its 40 bytes without judging the values, which is the reader's
// business.
type Header struct {
	BodyLen  uint32 // bytes of the body that follows
	Sum      uint32 // Checksum of the header and the body
	Seq      uint64 // the batch's sequence number
	Now      int64  // the batch's time, ns
	Count    uint32 // events in the body
	Records  uint32 // 0: reserved for records of other packages
	Reserved uint32 // 0
}

// Decode decodes the header at the start of b, which must hold at least
// HeaderSize bytes. It fails with ErrMagic only.
func Decode(b []byte) (Header, error) {
	_ = b[HeaderSize-1] // one bounds check; a caller passing less has a bug
	if string(b[OffMagic:OffMagic+len(Magic)]) != Magic {
		return Header{}, ErrMagic
	}
	return Header{
		BodyLen:  binary.BigEndian.Uint32(b[OffBodyLen:]),
		Sum:      binary.BigEndian.Uint32(b[OffSum:]),
		Seq:      binary.BigEndian.Uint64(b[OffSeq:]),
		Now:      int64(binary.BigEndian.Uint64(b[OffNow:])),
		Count:    binary.BigEndian.Uint32(b[OffCount:]),
		Records:  binary.BigEndian.Uint32(b[OffRecords:]),
		Reserved: binary.BigEndian.Uint32(b[OffReserved:]),
	}, nil
}

// Append appends the header's HeaderSize bytes, Magic first, to b.
func (h Header) Append(b []byte) []byte {
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint32(b, h.BodyLen)
	b = binary.BigEndian.AppendUint32(b, h.Sum)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Now))
	b = binary.BigEndian.AppendUint32(b, h.Count)
	b = binary.BigEndian.AppendUint32(b, h.Records)
	return binary.BigEndian.AppendUint32(b, h.Reserved)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C (Castagnoli) a frame stores at OffSum: over
// the header hdr from OffSeq to HeaderSize, then the body. It leaves out
// the magic, the body length and itself: a damaged magic shows as
// ErrMagic, a damaged length as a body whose sum fails.
func Checksum(hdr, body []byte) uint32 {
	return crc32.Update(crc32.Checksum(hdr[OffSeq:HeaderSize], castagnoli), castagnoli, body)
}
