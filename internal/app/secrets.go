package app

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hulian/hulian/internal/atomicfile"
)

// secretFile returns the 32-byte secret in path, creating it if missing.
func secretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s: %d bytes, want 32", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, atomicfile.Write(path, b, 0o600)
}

// adminToken works out the operator token's hash: from the configured
// token, or the hash stored in the data directory, or a new token,
// printed once.
func (a *App) adminToken() ([sha256.Size]byte, error) {
	var hash [sha256.Size]byte
	if a.cfg.AdminToken != "" {
		a.AdminToken = a.cfg.AdminToken
		return sha256.Sum256([]byte(a.AdminToken)), nil
	}
	path := filepath.Join(a.cfg.DataDir, "admin-token.sha256")
	b, err := os.ReadFile(path)
	if err == nil {
		h, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(h) != sha256.Size {
			return hash, fmt.Errorf("%s: not a SHA-256 in hex", path)
		}
		copy(hash[:], h)
		return hash, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return hash, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return hash, err
	}
	a.AdminToken = "op." + base64.RawURLEncoding.EncodeToString(raw[:])
	hash = sha256.Sum256([]byte(a.AdminToken))
	// The token goes to a file only its owner may read, not to the
	// terminal, whose output ends up in logs and scrollback. The token
	// file first: a crash in between leaves a token and no hash, and the
	// next start makes a new pair.
	tokenPath := filepath.Join(a.cfg.DataDir, "operator-token")
	if err := atomicfile.Write(tokenPath, []byte(a.AdminToken+"\n"), 0o600); err != nil {
		return hash, err
	}
	if err := atomicfile.Write(path, []byte(hex.EncodeToString(hash[:])+"\n"), 0o600); err != nil {
		return hash, err
	}
	fmt.Fprintf(a.cfg.Out, "Operator token generated: it is in %s (mode 0600; only its hash is kept in %s).\n", tokenPath, path)
	return hash, nil
}
