// Package filesys holds the file-system helpers that packages which must
// not import each other share (the audit trail and the client; the token
// and the sandbox), so that each is written once.
package filesys

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// SyncDir fsyncs the directory dir, so that an entry just created or
// renamed in it survives a crash: fsync(2) of a file does not make its
// directory entry durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// WithoutPath drops the operation and path that an *fs.PathError repeats,
// for a message that names both already: `open lock file "/x": permission
// denied`, not `... open /x: permission denied`. Any other error is
// returned as it is.
func WithoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// WriteTemp writes data to a new temporary file beside path (rename(2) is
// atomic only within a file system), with mode perm, synced, and returns
// its name; on error nothing is left behind. The name starts with a dot
// and ends in .tmp, so globs and publishers skip it.
func WriteTemp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// WriteAtomic replaces path with data, mode perm: a reader, or a crash,
// sees the old file or the new one, never a part. The temporary file is
// renamed over path and the directory synced, so the rename survives a
// crash too.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := WriteTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}
