package translog

import (
	"fmt"
	"os"
	"path/filepath"
	"signstar/internal/filesys"

	"golang.org/x/mod/sumdb/tlog"
)

// writer writes files into a log directory so that a crash leaves each
// either as it was or whole: a temporary file in the same directory,
// fsync'd, renamed into place; the directories it touched are fsync'd
// by sync (rename(2) is durable only once its directory is,
// fsync(2) "NOTES").
type writer struct {
	root string
	dirs map[string]bool // directories whose entries changed
}

func newWriter(root string) *writer { return &writer{root: root, dirs: map[string]bool{}} }

// write puts data at rel (a slash path under the root), making its
// directories.
func (w *writer) write(rel string, data []byte) error {
	path := filepath.Join(w.root, filepath.FromSlash(rel))
	if err := w.mkdirs(filepath.Dir(path)); err != nil {
		return err
	}
	// Renamed into place now, synced with its directory in sync: an
	// append's files share their directories' fsyncs.
	tmp, err := filesys.WriteTemp(path, data, 0o644)
	if err == nil {
		if err = os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %v", rel, err)
	}
	w.dirs[filepath.Dir(path)] = true
	return nil
}

// mkdirs makes dir and its missing parents, remembering the parents
// whose entries changed.
func (w *writer) mkdirs(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := w.mkdirs(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("make %s: %v", dir, err)
	}
	w.dirs[filepath.Dir(dir)] = true
	return nil
}

// sync fsyncs every directory written to.
func (w *writer) sync() error {
	for d := range w.dirs {
		if err := filesys.SyncDir(d); err != nil {
			return fmt.Errorf("sync %s: %v", d, err)
		}
	}
	clear(w.dirs)
	return nil
}

// commit writes the file that makes everything before it count (the
// checkpoint) and syncs its directory.
func (w *writer) commit(rel string, data []byte) error {
	if err := w.write(rel, data); err != nil {
		return err
	}
	return w.sync()
}

// removeSuperseded removes the partial tiles of the tree of size old
// that the tree of size n replaced with wider ones. Failing to is
// harmless (they are prefixes of the new ones), so errors are ignored.
func (w *writer) removeSuperseded(old, n int64) {
	for _, t := range tlog.NewTiles(tileHeight, old, n) {
		for _, l := range []int{t.L, -1} {
			if l == -1 && t.L != 0 {
				continue
			}
			ot := t
			ot.L = l
			ow := (old >> (tileHeight * max(t.L, 0))) - t.N*tileWidth
			if ow <= 0 || ow >= tileWidth || int(ow) == t.W {
				continue
			}
			ot.W = int(ow)
			os.Remove(filepath.Join(w.root, filepath.FromSlash(tilePath(ot))))
		}
	}
}
