package audit

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// appendLeaf's own stored-hash computation must match tlog's, leaf for
// leaf, across flushes and a reopen of the file, and it must not need
// tlog's fallback once the frontier is filled.
func TestStoredHashesMatchTlog(t *testing.T) {
	path := filepath.Join(t.TempDir(), HashesFile)
	s, err := openHashStore(path, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(i int64) tlog.Hash { return tlog.RecordHash(binary.BigEndian.AppendUint64(nil, uint64(i))) }
	fallbacks := 0
	for i := range int64(3000) {
		if i == 1500 { // reopen: the frontier starts empty
			if err := s.sync(); err != nil {
				t.Fatal(err)
			}
			s.close()
			if s, err = openHashStore(path, 1<<62); err != nil {
				t.Fatal(err)
			}
		}
		want, err := tlog.StoredHashesForRecordHash(s.n, leaf(i), s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := s.storedHashes(leaf(i), nil)
		if ok {
			if len(got) != len(want) {
				t.Fatalf("leaf %d: %d hashes, want %d", i, len(got), len(want))
			}
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("leaf %d: hash %d differs", i, k)
				}
			}
		} else {
			fallbacks++
		}
		if err := s.appendLeaf(leaf(i)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			if err := s.flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer s.close()
	if fallbacks > 64 {
		t.Errorf("%d of 3000 leaves fell back to tlog", fallbacks)
	}
	// The file holds the same tree as one built in memory by tlog alone.
	var mem []tlog.Hash
	memReader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = mem[x]
		}
		return out, nil
	})
	for i := range int64(3000) {
		hs, err := tlog.StoredHashesForRecordHash(i, leaf(i), memReader)
		if err != nil {
			t.Fatal(err)
		}
		mem = append(mem, hs...)
	}
	got, err := tlog.TreeHash(3000, s)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := tlog.TreeHash(3000, memReader); got != want {
		t.Fatal("tree hash differs from tlog's")
	}
}
