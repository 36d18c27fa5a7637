package seal_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/seal"
)

func key(t *testing.T, b byte) *seal.Key {
	t.Helper()
	k, err := seal.New(bytes.Repeat([]byte{b}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := key(t, 1)
	for _, plain := range []string{"", "6222 0000 1234", "张三丰", strings.Repeat("x", 5000)} {
		s := k.Seal("parties.name", plain)
		if plain != "" && strings.Contains(s, plain) {
			t.Errorf("sealed %q shows the plain text", plain)
		}
		if !seal.IsSealed(s) {
			t.Errorf("Seal(%q) is not marked sealed", plain)
		}
		got, err := k.Open("parties.name", s)
		if err != nil || got != plain {
			t.Errorf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
		if s2 := k.Seal("parties.name", plain); s2 == s {
			t.Errorf("two seals of %q are equal: the nonce is not random", plain)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	k := key(t, 1)
	s := k.Seal("parties.account", "acct-1")
	cases := map[string]struct {
		k       *seal.Key
		context string
		stored  string
	}{
		"other context": {k, "parties.name", s},
		"other key":     {key(t, 2), "parties.account", s},
		"flipped byte":  {k, "parties.account", s[:len(s)-2] + string(s[len(s)-2]^1) + s[len(s)-1:]},
		"cut short":     {k, "parties.account", s[:10]},
		"not base64":    {k, "parties.account", "enc1:!!!!"},
	}
	for name, c := range cases {
		if _, err := c.k.Open(c.context, c.stored); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
	// Text stored before sealing existed reads back as it was.
	if got, err := k.Open("parties.account", "legacy plain"); err != nil || got != "legacy plain" {
		t.Errorf("legacy text: %q, %v", got, err)
	}
}

func TestIndexAndDerive(t *testing.T) {
	k1, k2 := key(t, 1), key(t, 2)
	if k1.Index("acct", "a") != k1.Index("acct", "a") {
		t.Error("blind index is not deterministic")
	}
	if k1.Index("acct", "a") == k1.Index("acct", "b") || k1.Index("acct", "a") == k1.Index("name", "a") ||
		k1.Index("acct", "a") == k2.Index("acct", "a") {
		t.Error("blind indexes collide across values, contexts or keys")
	}
	if bytes.Equal(k1.Derive("x"), k1.Derive("y")) || len(k1.Derive("x")) != 32 {
		t.Error("derived keys are not distinct 32-byte keys")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.key")
	if _, err := seal.Load(path, false); err == nil {
		t.Fatal("Load without create made a key")
	}
	k, err := seal.Load(path, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != seal.KeySize {
		t.Fatalf("key file: %v, %v", st, err)
	}
	again, err := seal.Load(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open("c", k.Seal("c", "v")); err != nil || got != "v" {
		t.Fatalf("reloaded key does not open: %q, %v", got, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.Load(path, true); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, "short"), []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.Load(filepath.Join(dir, "short"), false); err == nil {
		t.Fatal("a short key file was accepted")
	}
}

func TestAppendSealedAndMAC(t *testing.T) {
	k := key(t, 1)
	prefix := []byte("head")
	b := k.AppendSealed(prefix, "ctx", "6222-0000-1234")
	if string(b[:4]) != "head" || len(b) != 4+len("6222-0000-1234")+seal.SealedOverhead {
		t.Fatalf("AppendSealed = %q", b)
	}
	if got, err := k.OpenSealed("ctx", b[4:]); err != nil || string(got) != "6222-0000-1234" {
		t.Fatalf("OpenSealed = %q, %v", got, err)
	}
	for _, c := range []struct {
		ctx    string
		sealed []byte
	}{{"other", b[4:]}, {"ctx", b[4:10]}, {"ctx", append(slices.Clone(b[4:len(b)-1]), b[len(b)-1]^1)}} {
		if _, err := k.OpenSealed(c.ctx, c.sealed); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("OpenSealed(%q, %x) = %v, want ErrOpen", c.ctx, c.sealed, err)
		}
	}
	mk := []byte("mac key")
	m := seal.NewMAC(mk)
	want := hmac.New(sha256.New, mk)
	want.Write([]byte("acct"))
	for range 3 { // pooled hashes are reset between uses
		if got := m.Append(nil, "acct"); !bytes.Equal(got, want.Sum(nil)) {
			t.Fatalf("MAC = %x, want %x", got, want.Sum(nil))
		}
	}
	if n := testing.AllocsPerRun(100, func() { m.Append(make([]byte, 0, 64)[:0], "acct-1") }); n > 1 {
		t.Errorf("MAC.Append allocates %v times", n)
	}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { k.AppendSealed(buf[:0], "ctx", "acct-1") }); n > 0 {
		t.Errorf("AppendSealed allocates %v times", n)
	}
}

// FuzzOpen: whatever is stored, opening never panics, and only what was
// sealed under the key and the context opens.
func FuzzOpen(f *testing.F) {
	k, err := seal.New(bytes.Repeat([]byte{3}, seal.KeySize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.Seal("c", "acct"), []byte{})
	f.Add("enc1:", k.AppendSealed(nil, "c", "acct"))
	f.Add("enc1:AAAA", []byte("0123456789012345678901234567"))
	f.Fuzz(func(t *testing.T, stored string, sealed []byte) {
		if got, err := k.Open("c", stored); err == nil && seal.IsSealed(stored) {
			if again := k.Seal("c", got); again == stored {
				t.Fatal("a seal repeated: nonces are not random")
			}
		}
		if got, err := k.OpenSealed("c", sealed); err == nil {
			if _, err := k.OpenSealed("other", sealed); err == nil {
				t.Fatalf("%x opens under two contexts (%q)", sealed, got)
			}
		}
	})
}
