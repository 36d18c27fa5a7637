package recon

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"testing"
	"time"
)

func TestSortAgainstSortSlice(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, c := range []struct {
		n, runMax, fanIn int
	}{
		{0, 3, 2},
		{1, 3, 2},
		{5, 10, 2},           // fits in memory: no file
		{10, 10, 2},          // exactly one run
		{11, 10, 2},          // two runs
		{2000, 3, 4},         // 667 runs, merged in passes of 4
		{2000, 7, 2},         // binary merges
		{5000, 13, 0},        // default fan-in: two passes
		{1000, 1, 3},         // one record per run
		{3000, 100_000, 0},   // defaults
		{4096, 64, 64},       // exactly fan-in runs
		{4097, 64, 64},       // one run more than the fan-in
		{1500, 10, 1 << 10},  // a wide merge
		{2500, 2, 1<<10 + 1}, // wider than runs
	} {
		t.Run(fmt.Sprintf("%d/%d/%d", c.n, c.runMax, c.fanIn), func(t *testing.T) {
			records := make([]Record, c.n)
			for i := range records {
				// duplicates are kept: Sort does not judge them
				records[i] = Record{TransferID: fmt.Sprintf("%x", rng.IntN(max(1, c.n*2))), Amount: 1 + rng.Int64N(1<<40), Direction: Direction(1 + rng.IntN(2)), Status: Status(1 + rng.IntN(2))}
			}
			want := append([]Record(nil), records...)
			sort.SliceStable(want, func(i, j int) bool { return want[i].TransferID < want[j].TransferID })
			dir := t.TempDir()
			s, err := Sort(SliceSource(records), SortOptions{RunMax: c.runMax, FanInMax: c.fanIn, Dir: dir})
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			got, err := readAll(s)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if len(got) != len(want) {
				t.Fatalf("seed %d: %d records, want %d", seed, len(got), len(want))
			}
			// equal ids may come in any order: compare ids, then the multiset
			count := map[Record]int{}
			for i := range got {
				if got[i].TransferID != want[i].TransferID {
					t.Fatalf("seed %d: record %d is %s, want %s", seed, i, got[i].TransferID, want[i].TransferID)
				}
				count[got[i]]++
				count[want[i]]--
			}
			for r, n := range count {
				if n != 0 {
					t.Fatalf("seed %d: %+v appears %+d times too often", seed, r, n)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("Close left %d entries in the temporary directory", len(left))
			}
		})
	}
}

func TestSortRefusals(t *testing.T) {
	boom := errors.New("boom")
	bad := []Record{rec("a", 1, Debit, Committed), rec("b", 1, Debit, Committed), rec("c", -1, Debit, Committed)}
	for _, c := range []struct {
		name string
		src  Source
		opts SortOptions
		want error
	}{
		{"source error after a spill", func() Source {
			n := 0
			return SourceFunc(func() (Record, bool, error) {
				if n++; n > 5 {
					return Record{}, false, boom
				}
				return rec(fmt.Sprint(n), 1, Debit, Committed), true, nil
			})
		}(), SortOptions{RunMax: 2}, boom},
		{"invalid record", SliceSource(bad), SortOptions{RunMax: 1}, ErrAmount},
		{"negative run size", SliceSource(nil), SortOptions{RunMax: -1}, nil},
		{"fan-in of one", SliceSource(nil), SortOptions{FanInMax: 1}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.opts.Dir = dir
			s, err := Sort(c.src, c.opts)
			if err == nil || c.want != nil && !errors.Is(err, c.want) || s != nil {
				t.Fatalf("%v %v, want %v", s, err, c.want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("a failed sort left %d entries", len(left))
			}
		})
	}
}

func TestSortCorruptRun(t *testing.T) {
	good := appendRecord(nil, rec("a", 1, Debit, Committed))
	next := appendRecord(nil, rec("b", 1, Debit, Committed))
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"cut in the id", slices.Concat(good, next[:1])},
		{"cut in the amount", slices.Concat(good, next[:2])},
		{"cut before the status", slices.Concat(good, next[:len(next)-1])},
		{"id length zero", slices.Concat(good, []byte{0})},
		{"id too long", slices.Concat(good, []byte{200, 1})},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := t.TempDir() + "/run"
			if err := os.WriteFile(name, c.file, 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := (&Sorted{}).open([]string{name})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			// the merge reads one record ahead: the error comes with the first
			if _, err := readAll(m); !errors.Is(err, ErrRunCorrupt) {
				t.Fatalf("error %v, want ErrRunCorrupt", err)
			}
		})
	}
}
