package loadgen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// ExportWrk writes what the Lua scripts of bench/wrk need to drive a
// third-party generator (wrk) against the switch a fleet file was set
// up on: DIR/parties.txt, one "<id> <API key>" line per participant, and
// DIR/aliases.txt, one "<E.164 alias> <owner's line in parties.txt,
// from 0>" line per alias, at most max of them drawn at random (a Lua
// table of ten million strings would not fit a wrk thread). Both files
// hold what lets anyone pay from those participants: mode 0600.
func ExportWrk(fleetPath, target, dir string, max int) error {
	f, err := loadFleet(fleetPath, target)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	write := func(name string, fill func(w *bufio.Writer)) error {
		file, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(file)
		fill(w)
		if err := w.Flush(); err != nil {
			file.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		return file.Close()
	}
	if err := write("parties.txt", func(w *bufio.Writer) {
		for _, p := range f.parties {
			fmt.Fprintf(w, "%s %s\n", p.id, p.auth[len("Bearer "):])
		}
	}); err != nil {
		return err
	}
	idx := make([]int, len(f.aliases))
	for i := range idx {
		idx[i] = i
	}
	if max > 0 && max < len(idx) {
		rand.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:max]
	}
	return write("aliases.txt", func(w *bufio.Writer) {
		var b []byte
		for _, i := range idx {
			a := &f.aliases[i]
			b = a.appendValue(b[:0])
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(a.owner), 10)
			b = append(b, '\n')
			w.Write(b)
		}
	})
}
