package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/atomicfile"
)

// Checkpoint is a tree head: the log's origin (the signing key's name),
// its size in leaves and the root hash of the tree of that size.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Format returns the checkpoint's note body in the format of the Go
// checksum database and transparency-dev logs:
//
//	<origin>
//	<tree size, decimal>
//	<root hash, standard base64>
func (c Checkpoint) Format() []byte {
	return []byte(c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n")
}

// ParseCheckpoint parses a checkpoint body (a note's text, without the
// signatures). Extension lines after the root are refused: Hulian
// writes none.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, fmt.Errorf("%w: a checkpoint body is 3 lines", ErrInvalid)
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	if origin == "" {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint without origin", ErrInvalid)
	}
	size, err := strconv.ParseInt(strings.TrimSuffix(lines[1], "\n"), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != strings.TrimSuffix(lines[1], "\n") {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint tree size %q", ErrInvalid, strings.TrimSuffix(lines[1], "\n"))
	}
	root, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint root hash %q", ErrInvalid, strings.TrimSuffix(lines[2], "\n"))
	}
	c := Checkpoint{Origin: origin, Size: size}
	copy(c.Root[:], root)
	return c, nil
}

// OpenCheckpoint verifies a signed checkpoint note with the switch's
// verifier and parses its body. Signatures by other keys (witnesses')
// are allowed and returned unverified in the note.
func OpenCheckpoint(msg []byte, v note.Verifier) (*note.Note, Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return nil, Checkpoint{}, fmt.Errorf("%w: checkpoint of origin %q, signed by key %q", ErrInvalid, c.Origin, v.Name())
	}
	return n, c, nil
}

// KeyNamePrefix starts the name of every switch key generated: the
// checkpoints' origin is hulian.switch/<8 random hex digits>.
const KeyNamePrefix = "hulian.switch/"

// LoadKey returns the note signer key (PRIVATE+KEY+…) in path. If the
// file does not exist and create is set, it generates an Ed25519 key
// named name (or hulian.switch/<random> if name is empty) and stores it
// with mode 0600.
func LoadKey(path, name string, create bool) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		skey := strings.TrimSpace(string(b))
		if _, err := note.NewSigner(skey); err != nil {
			return "", fmt.Errorf("audit key %s: %w", path, err)
		}
		return skey, nil
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return "", fmt.Errorf("audit key: %w", err)
	}
	if name == "" {
		var r [4]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", fmt.Errorf("audit key: %w", err)
		}
		name = KeyNamePrefix + hex.EncodeToString(r[:])
	}
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", fmt.Errorf("audit key: %w", err)
	}
	if err := atomicfile.Write(path, []byte(skey+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("audit key: %w", err)
	}
	return skey, nil
}

// VerifierKey derives the verifier key (name+hash+key) of a note signer
// key made by note.GenerateKey.
func VerifierKey(skey string) (string, error) {
	// PRIVATE+KEY+<name>+<hash>+<base64(alg ‖ seed)>
	parts := strings.SplitN(skey, "+", 5) // the base64 key may hold "+"
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("%w: not a note signer key", ErrInvalid)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", fmt.Errorf("%w: not an Ed25519 note signer key", ErrInvalid)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(parts[2], pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return vkey, nil
}

// SlotSize is the size of a record in the checkpoints and co-signatures
// files: a 2-byte big-endian length, the record, zeros. Fixed slots let
// the newest record be read from the end and a torn one be recognised
// by the file's size.
const SlotSize = 1024

// slotFile is an append-only file of fixed-size slots.
type slotFile struct {
	f     *os.File
	path  string
	slots int64
}

// openSlots opens (creating) path and cuts a torn last slot.
func openSlots(path string) (*slotFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	slots := st.Size() / SlotSize
	if st.Size()%SlotSize != 0 {
		if err := f.Truncate(slots * SlotSize); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: cut %s: %w", path, err)
		}
	}
	return &slotFile{f: f, path: path, slots: slots}, nil
}

// read returns the record in slot i.
func (s *slotFile) read(i int64) ([]byte, error) {
	return readSlot(s.f, s.path, i)
}

func readSlot(f *os.File, path string, i int64) ([]byte, error) {
	var b [SlotSize]byte
	if _, err := f.ReadAt(b[:], i*SlotSize); err != nil {
		return nil, fmt.Errorf("audit: read %s slot %d: %w", path, i, err)
	}
	n := int(binary.BigEndian.Uint16(b[:2]))
	if n == 0 || n > SlotSize-2 || !allZero(b[2+n:]) {
		return nil, fmt.Errorf("%w: %s slot %d (byte offset %d) is not a record", ErrCorruptFile, path, i, i*SlotSize)
	}
	return bytes.Clone(b[2 : 2+n]), nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// append writes rec in a new slot and waits until it is on disk.
func (s *slotFile) append(rec []byte) error {
	if len(rec) == 0 || len(rec) > SlotSize-2 {
		return fmt.Errorf("audit: %s: record of %d bytes does not fit a slot", s.path, len(rec))
	}
	var b [SlotSize]byte
	binary.BigEndian.PutUint16(b[:2], uint16(len(rec)))
	copy(b[2:], rec)
	if _, err := s.f.WriteAt(b[:], s.slots*SlotSize); err != nil {
		return fmt.Errorf("audit: write %s: %w", s.path, err)
	}
	if err := syscall.Fdatasync(int(s.f.Fd())); err != nil {
		return fmt.Errorf("audit: sync %s: %w", s.path, err)
	}
	s.slots++
	return nil
}

func (s *slotFile) close() error { return s.f.Close() }

// cosignature is a witness's signature line of the checkpoint of a tree
// size, as the co-signatures file keeps it: "<size> <signature line>".
type cosignature struct {
	size int64
	sig  note.Signature
}

func (c cosignature) encode() []byte {
	return []byte(strconv.FormatInt(c.size, 10) + " " + sigLine(c.sig))
}

func decodeCosignature(b []byte) (cosignature, error) {
	size, line, ok := strings.Cut(string(b), " ")
	n, err := strconv.ParseInt(size, 10, 64)
	if !ok || err != nil || n < 0 {
		return cosignature{}, fmt.Errorf("%w: co-signature record %q", ErrCorruptFile, b)
	}
	sig, err := parseSigLine(line)
	if err != nil {
		return cosignature{}, err
	}
	return cosignature{size: n, sig: sig}, nil
}

// sigLine formats a note signature line: "— <name> <base64>\n".
func sigLine(s note.Signature) string { return "— " + s.Name + " " + s.Base64 + "\n" }

func parseSigLine(line string) (note.Signature, error) {
	rest, ok := strings.CutPrefix(line, "— ")
	rest, ok2 := strings.CutSuffix(rest, "\n")
	name, b64, ok3 := strings.Cut(rest, " ")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !ok || !ok2 || !ok3 || err != nil || len(raw) < 5 {
		return note.Signature{}, fmt.Errorf("%w: signature line %q", ErrCorruptFile, line)
	}
	return note.Signature{Name: name, Hash: binary.BigEndian.Uint32(raw), Base64: b64}, nil
}

// withSignatures appends signature lines to a signed note.
func withSignatures(msg []byte, sigs []note.Signature) []byte {
	out := bytes.Clone(msg)
	for _, s := range sigs {
		out = append(out, sigLine(s)...)
	}
	return out
}
