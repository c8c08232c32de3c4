//go:build linux && cgo

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"signstar/pkg/config"
	"signstar/pkg/token"
)

// createLockFile creates the lock file a new config at cfgPath names
// (none: "") and returns its path; relative paths in a config are
// resolved against its directory.
func createLockFile(cfgPath, lock string) (string, error) {
	if lock == "" {
		return "", nil
	}
	if !filepath.IsAbs(lock) {
		lock = filepath.Join(filepath.Dir(cfgPath), lock)
	}
	if dir := filepath.Dir(lock); dir == config.RuntimeDir {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("create lock file %s: %s does not exist; sshd/signstar.tmpfiles makes it for the signing account (or choose another place with --lock-file)", lock, dir)
		}
	}
	return lock, token.CreateLockFile(lock)
}
