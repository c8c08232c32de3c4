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

// unlockFile and relockFile let the lock go while signstar waits for its
// input, which a slow client may take long to send, and take it back
// before the token is used again: the lock serializes token work, not
// uploads.
func unlockFile(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		return fmt.Errorf("release lock %q: %v", f.Name(), err)
	}
	return nil
}

func relockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("lock %q: %v", f.Name(), err)
		}
	}
}
