// Package seal owns the switch's data key and what it protects at rest:
// callback secrets, end users' names and participants' account
// references are stored sealed (AES-256-GCM) in both database engines,
// and looked up, where a lookup needs them, through blind indexes
// (keyed HMAC-SHA256) instead of their plain text.
//
// The data key is 32 random bytes in a file of mode 0600 (DIR/data.key,
// or the operator's own file). Every use derives its own subkey from it,
// so that the key that MACs account references for the audit log, which
// participants are given, says nothing about the key that seals.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/hulian/hulian/internal/atomicfile"
	"github.com/hulian/hulian/internal/fault"
)

// KeySize is the data key's length in bytes.
const KeySize = 32

// prefix marks a sealed value: text without it was stored before
// sealing existed, and Open returns it as it is.
const prefix = "enc1:"

// ErrOpen means a sealed value is damaged, was sealed with another key
// or under another context.
var ErrOpen = fault.New(fault.Internal, "", "seal: cannot open sealed value")

// Key seals and indexes with one data key. It is safe for concurrent use.
type Key struct {
	aead  cipher.AEAD
	index []byte // the blind indexes' HMAC key
	raw   [KeySize]byte
}

// New returns the key of the 32 bytes raw.
func New(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("seal: data key has %d bytes, want %d", len(raw), KeySize)
	}
	k := &Key{}
	copy(k.raw[:], raw)
	block, err := aes.NewCipher(k.Derive("hulian/seal/aes-256-gcm/v1"))
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	k.index = k.Derive("hulian/seal/blind-index/v1")
	return k, nil
}

// Load reads the data key at path, creating it (32 random bytes, mode
// 0600) when create is set and the file does not exist. A key file that
// others may read is refused: it would protect nothing.
func Load(path string, create bool) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		b = make([]byte, KeySize)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("seal: new data key: %w", err)
		}
		if err := atomicfile.Write(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("seal: write data key: %w", err)
		}
		return New(b)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: read data key: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seal: data key %s has mode %v: others may read it (chmod 600)", path, st.Mode().Perm())
	}
	k, err := New(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Derive returns a 32-byte subkey of the data key for label: HMAC-SHA256
// keyed with the data key over the label. Labels name their use and
// version ("hulian/<what>/v1").
func (k *Key) Derive(label string) []byte {
	m := hmac.New(sha256.New, k.raw[:])
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts plain for storage. context binds the value to where it
// is stored ("participants.callback_secret", "parties.name"), so that a
// value copied to another column does not open there. The result is
// printable ASCII, for TEXT columns of both engines.
func (k *Key) Seal(context, plain string) string {
	ns := k.aead.NonceSize()
	buf := make([]byte, ns, ns+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		// crypto/rand does not fail on Linux; if it ever did, sealing
		// with a predictable nonce would be worse than stopping.
		panic("seal: random nonce: " + err.Error())
	}
	out := k.aead.Seal(buf, buf[:ns], []byte(plain), []byte(context))
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts what Seal returned under the same context. Text stored
// before sealing existed (without Seal's prefix) is returned as it is.
func (k *Key) Open(context, stored string) (string, error) {
	if !strings.HasPrefix(stored, prefix) {
		return stored, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(stored[len(prefix):])
	ns := k.aead.NonceSize()
	if err != nil || len(b) < ns+k.aead.Overhead() {
		return "", ErrOpen
	}
	plain, err := k.aead.Open(nil, b[:ns], b[ns:], []byte(context))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}

// IsSealed reports whether stored is a sealed value (rather than text
// stored before sealing existed).
func IsSealed(stored string) bool { return strings.HasPrefix(stored, prefix) }

// Index returns the blind index of value under context: a keyed
// HMAC-SHA256, base64url without padding (43 characters). Equal values
// have equal indexes, so a column of them can be searched and counted
// without holding the values.
func (k *Key) Index(context, value string) string {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(context))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// scratch is a reusable buffer for the plain text handed to the cipher
// and the MAC: a string converted at an interface call escapes, and the
// payment path seals and MACs once per payment.
type scratch struct{ b []byte }

var scratches = sync.Pool{New: func() any { return &scratch{b: make([]byte, 0, 256)} }}

// AppendSealed appends plain sealed under context to dst, in binary: a
// 12-byte nonce, then the AES-256-GCM ciphertext and its 16-byte tag
// (SealedOverhead bytes more than plain). For binary records; Seal is
// the same for text columns.
func (k *Key) AppendSealed(dst []byte, context, plain string) []byte {
	ns := k.aead.NonceSize()
	n := len(dst)
	dst = slices.Grow(dst, ns+len(plain)+k.aead.Overhead())[:n+ns]
	if _, err := rand.Read(dst[n:]); err != nil {
		panic("seal: random nonce: " + err.Error())
	}
	sc := scratches.Get().(*scratch)
	sc.b = append(append(sc.b[:0], plain...), context...)
	dst = k.aead.Seal(dst, dst[n:n+ns], sc.b[:len(plain)], sc.b[len(plain):])
	scratches.Put(sc)
	return dst
}

// SealedOverhead is how many bytes AppendSealed adds to the plain text.
const SealedOverhead = 12 + 16

// OpenSealed opens what AppendSealed made under the same context.
func (k *Key) OpenSealed(context string, sealed []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < ns+k.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := k.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// MAC computes HMAC-SHA256 under one key without allocating: the keyed
// hashes are pooled and reset, which costs two compressions less than
// keying a new one.
type MAC struct{ pool sync.Pool }

type macState struct {
	h hash.Hash
	scratch
}

// NewMAC returns the HMAC-SHA256 of key.
func NewMAC(key []byte) *MAC {
	key = slices.Clone(key)
	m := &MAC{}
	m.pool.New = func() any { return &macState{h: hmac.New(sha256.New, key)} }
	return m
}

// Append appends the MAC of data to dst.
func (m *MAC) Append(dst []byte, data string) []byte {
	s := m.pool.Get().(*macState)
	s.h.Reset()
	s.b = append(s.b[:0], data...)
	s.h.Write(s.b)
	dst = s.h.Sum(dst)
	m.pool.Put(s)
	return dst
}
