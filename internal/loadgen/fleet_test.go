package loadgen

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A fleet file round-trips, and files that are not what saveFleet wrote
// (another target, another version, cut short, with trailing bytes,
// with an alias out of range) are refused.
func TestFleetFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet")
	f := &fleet{runID: "0011aabb", parties: []*party{{id: "a", auth: "Bearer ka"}, {id: "b", auth: "Bearer kb"}},
		aliases: []alias{{num: 1, owner: 0}, {num: 999_999_999, owner: 1}, {num: 42, owner: 1}}}
	if err := saveFleet(path, "http://127.0.0.1:1", f); err != nil {
		t.Fatal(err)
	}
	got, err := loadFleet(path, "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if got.runID != f.runID || len(got.parties) != 2 || got.parties[1].auth != "Bearer kb" ||
		len(got.aliases) != 3 || got.aliases[1] != f.aliases[1] || len(got.parties[1].aliases) != 2 {
		t.Fatalf("loaded %+v", got)
	}
	if _, err := loadFleet(path, "http://127.0.0.1:2"); !errors.Is(err, errFleetTarget) {
		t.Errorf("another target: %v", err)
	}
	good, _ := os.ReadFile(path)
	head := string(good[:strings.IndexByte(string(good), '\n')+1])
	for name, content := range map[string]string{
		"version":       strings.Replace(head, `"version":1`, `"version":2`, 1) + string(good[len(head):]),
		"cut short":     string(good[:len(good)-2]),
		"trailing":      string(good) + "x",
		"owner":         string(good[:len(good)-1]) + "\x07",
		"number":        string(good[:len(good)-5]) + "\xff\xff\xff\xff\x00",
		"no header":     "",
		"bad header":    "{\n",
		"few parties":   strings.Replace(head, `,{"id":"b","apiKey":"kb"}`, ``, 1) + string(good[len(head):]),
		"empty api key": strings.Replace(head, `"kb"`, `""`, 1) + string(good[len(head):]),
	} {
		bad := filepath.Join(dir, name)
		if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadFleet(bad, "http://127.0.0.1:1"); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

// ExportWrk writes the fleet for bench/wrk's Lua scripts: every
// participant with its key, the aliases (all, or a sample of max) with
// their owners' lines, files readable by their owner only.
func TestExportWrk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet")
	f := &fleet{runID: "0011aabb", parties: []*party{{id: "a", auth: "Bearer ka"}, {id: "b", auth: "Bearer kb"}},
		aliases: []alias{{num: 1, owner: 0}, {num: 999_999_999, owner: 1}, {num: 42, owner: 1}}}
	if err := saveFleet(path, "http://127.0.0.1:1", f); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "wrk")
	if err := ExportWrk(path, "http://127.0.0.1:1", out, 0); err != nil {
		t.Fatal(err)
	}
	parties, _ := os.ReadFile(filepath.Join(out, "parties.txt"))
	aliases, _ := os.ReadFile(filepath.Join(out, "aliases.txt"))
	if string(parties) != "a ka\nb kb\n" || string(aliases) != "+8613000000001 0\n+8613999999999 1\n+8613000000042 1\n" {
		t.Fatalf("parties.txt %q, aliases.txt %q", parties, aliases)
	}
	if st, err := os.Stat(filepath.Join(out, "parties.txt")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("parties.txt: %v, %v", st, err)
	}
	if err := ExportWrk(path, "http://127.0.0.1:1", out, 2); err != nil {
		t.Fatal(err)
	}
	if aliases, _ := os.ReadFile(filepath.Join(out, "aliases.txt")); strings.Count(string(aliases), "\n") != 2 {
		t.Fatalf("a sample of 2: %q", aliases)
	}
	if err := ExportWrk(path, "http://127.0.0.1:2", out, 0); !errors.Is(err, errFleetTarget) {
		t.Fatalf("another target: %v", err)
	}
}
