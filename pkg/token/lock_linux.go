//go:build linux

package token

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"signstar/internal/filesys"
)

// lockFile opens path (see openLockFile) and blocks until it holds an
// exclusive flock(2) on it. The lock belongs to the open file description,
// so it lasts until the returned file is closed and is not inherited past
// exec (O_CLOEXEC).
func lockFile(path string) (*os.File, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	if err := relockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CreateLockFile creates the lock file at path as [Open] would, without
// taking the lock, so that a config can name a lock file that exists. An
// existing lock file is left as it is.
func CreateLockFile(path string) error {
	f, err := openLockFile(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// openLockFile opens path read-only, as flock(2) needs no write access,
// creating it mode 0600 if it is missing.
//
// A new lock file belongs to the owner of its directory. Root (init, the
// CLI) and the signing account (the login shell) share the lock, so
// whichever creates it first must not lock the other out; and the file is
// not opened up to others instead, since anyone who can open it can hold
// the lock for ever and so stop all signing. O_NOFOLLOW because that
// directory may be the account's (/run/signstar): a symbolic link planted
// there must not make root create or lock a file elsewhere.
func openLockFile(path string) (*os.File, error) {
	const flags = os.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	f, err := os.OpenFile(path, flags|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err = ownLikeDir(f); err != nil {
			f.Close()
			os.Remove(path)
		}
	case errors.Is(err, fs.ErrExist):
		f, err = os.OpenFile(path, flags, 0)
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("open lock file %q: a symbolic link; name the file itself", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open lock file %q: %v", path, filesys.WithoutPath(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open lock file %q: not a regular file", path)
	}
	return f, nil
}

// ownLikeDir gives a new lock file mode 0600 whatever the umask, and, when
// root made it, the owner and group of its directory.
func ownLikeDir(f *os.File) error {
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	var dir syscall.Stat_t
	if err := syscall.Stat(filepath.Dir(f.Name()), &dir); err != nil {
		return err
	}
	return f.Chown(int(dir.Uid), int(dir.Gid))
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
