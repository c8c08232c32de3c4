//go:build !linux

package token

import (
	"fmt"
	"os"
)

// lockFile fails closed where signstar has not been ported: a lock that
// silently does nothing would let processes corrupt the token store.
func lockFile(path string) (*os.File, error) {
	return nil, fmt.Errorf("lock %q: lock files are supported on Linux only", path)
}

// CreateLockFile fails closed off Linux, as lockFile does.
func CreateLockFile(path string) error {
	return fmt.Errorf("create lock file %q: lock files are supported on Linux only", path)
}

func unlockFile(f *os.File) error { return fmt.Errorf("BUG: no lock file off Linux") }
func relockFile(f *os.File) error { return fmt.Errorf("BUG: no lock file off Linux") }
