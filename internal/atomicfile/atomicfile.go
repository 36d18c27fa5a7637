// Package atomicfile writes small files (keys, tokens, a witness's view)
// so that after a crash they hold either the old content or the new,
// never a mix, and the new content is on disk when Write returns.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with b: a temporary file beside it, written and
// fsynced, renamed over path, and the directory fsynced so that the
// rename itself survives a crash.
func Write(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
