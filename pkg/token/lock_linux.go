//go:build linux

package token

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile opens path (creating it 0600) and blocks until it holds an
// exclusive flock(2) on it. The lock belongs to the open file description,
// so it lasts until the returned file is closed and is not inherited past
// exec (O_CLOEXEC).
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %q: %v", path, pathErr(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open lock file %q: not a regular file", path)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %q: %v", path, err)
	}
	return f, nil
}
