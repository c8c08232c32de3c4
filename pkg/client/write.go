package client

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"signstar/internal/filesys"
)

// WriteAtomic replaces path with data so that a reader, or a crash, sees
// the old file or the new one, never a part: a temporary file in the same
// directory (rename(2) is atomic only within a file system) is written and
// fsynced, renamed over path, and the directory fsynced so the rename
// itself survives a crash. On error the temporary file is removed.
func WriteAtomic(path string, data []byte) (err error) {
	return writeAtomicMode(path, data, 0)
}

// writeAtomicMode is WriteAtomic giving the new file the permission bits
// perm, not subject to the umask: a module or image signed in place keeps
// its mode. Zero means WriteAtomic's 0644 less the umask.
func writeAtomicMode(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %v", show(path), err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %v", show(path), err)
	}
	if perm != 0 {
		if err := f.Chmod(perm); err != nil {
			return fmt.Errorf("write %s: %v", show(path), err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %v", show(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %v", show(path), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %v", show(path), err)
	}
	if err := filesys.SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: sync directory: %v", show(path), err)
	}
	return nil
}

// createTemp is os.CreateTemp with mode 0644 before the umask rather than
// 0600: a signature is public, and the web server of a repository must be
// able to read it. The name starts with a dot so that globs such as
// "*.sig" in release scripts never see it; a long base is cut so the name
// stays under NAME_MAX (255 bytes).
func createTemp(dir, base string) (*os.File, error) {
	if len(base) > 200 {
		base = base[:200]
	}
	for range 100 {
		name := filepath.Join(dir, fmt.Sprintf(".%s.%08x.tmp", base, rand.Uint32()))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("cannot create a temporary file")
}
