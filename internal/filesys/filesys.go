// Package filesys holds the file-system helpers that packages which must
// not import each other share (the audit trail and the client; the token
// and the sandbox), so that each is written once.
package filesys

import (
	"errors"
	"io/fs"
	"os"
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
