package users

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/hulian/hulian/internal/fault"
)

// Hash are Argon2id's parameters: memory in KiB, passes over it, and
// lanes. They are stored with each hash, so that changing them applies
// to new passwords and old hashes still verify.
type Hash struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultHash are OWASP's recommended Argon2id parameters for a server
// that hashes on request: 19 MiB, two passes, one lane (about 25 ms on
// one core here). Fewer megabytes than RFC 9106's 64 MiB on purpose:
// sign-in is open to anyone, and hashingMax of them run at once.
var DefaultHash = Hash{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Bounds of the parameters a stored hash may name: a hash written into
// the database by someone else must not make a sign-in hash for minutes
// or take gigabytes.
const (
	hashMemoryMax = 256 * 1024
	hashTimeMax   = 16
	saltSize      = 16
	keySize       = 32
)

// hashingMax bounds the hashes computed at once: each holds MemoryKiB
// of memory and a core, and anyone may ask for one by signing in.
const hashingMax = 4

// ErrBusy means too many sign-ins are being checked at once: retry in a
// moment.
var ErrBusy = fault.New(fault.Unavailable, "", "too many sign-ins at once; retry in a moment")

// Validate refuses parameters out of bounds.
func (h Hash) Validate() error {
	if h.MemoryKiB < 8*uint32(h.Threads) || h.MemoryKiB > hashMemoryMax || h.Time < 1 || h.Time > hashTimeMax || h.Threads < 1 {
		return fmt.Errorf("users: Argon2id parameters m=%d t=%d p=%d out of bounds", h.MemoryKiB, h.Time, h.Threads)
	}
	return nil
}

// hash returns the PHC string of pw under h, with a fresh salt:
// $argon2id$v=19$m=…,t=…,p=…$<salt>$<key>, base64 without padding.
func (h Hash) hash(pw string) (string, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	k := argon2.IDKey([]byte(pw), salt, h.Time, h.MemoryKiB, h.Threads, keySize)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.MemoryKiB, h.Time, h.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(k)), nil
}

var errHashFormat = errors.New("users: a stored password hash is not an Argon2id PHC string")

// verifyHash reports whether pw matches the PHC string stored, in time
// that does not depend on where they differ.
func verifyHash(stored, pw string) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, errHashFormat
	}
	var h Hash
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.MemoryKiB, &h.Time, &threads); n != 3 || err != nil || threads > 255 {
		return false, errHashFormat
	}
	h.Threads = uint8(threads)
	if err := h.Validate(); err != nil {
		return false, err
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false, errHashFormat
	}
	got := argon2.IDKey([]byte(pw), salt, h.Time, h.MemoryKiB, h.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// acquire takes one of the hashing slots, waiting while ctx lasts.
func (s *Store) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrBusy
	}
}

func (s *Store) release() { <-s.hashing }

// hashPassword hashes a new password in one of the hashing slots.
func (s *Store) hashPassword(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return s.hash.hash(pw)
}

// verifyPassword checks pw against stored in one of the hashing slots.
func (s *Store) verifyPassword(ctx context.Context, stored, pw string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	return verifyHash(stored, pw)
}

// randomText is 32 random bytes as text: a password nobody knows.
func randomText() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}
