package main

// Coverage of the binary the end-to-end tests run. Under go test -cover
// (just test), TestMain builds it with -cover too (scripts/build with
// SIGNSTAR_COVER=1), and every process of it, whoever starts it, writes
// its counters into one directory: $SIGNSTAR_E2E_COVERDIR, which just test
// merges with the in-process profile (scripts/coverage); else go test's
// GOCOVERDIR for this package, which go test passes over (the data of
// another binary) and deletes. A binary built with -cover needs a
// GOCOVERDIR: without one it says so on stderr, which the tests read.

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// coverE2E readies build and this process's environment, inherited by
// every process the tests start (internal/sshdtest passes it through
// sshd), for a coverage run; cleanup removes what it made.
func coverE2E(build *exec.Cmd) (cleanup func(), err error) {
	cleanup = func() {}
	if testing.CoverMode() == "" {
		return cleanup, nil
	}
	build.Env = append(os.Environ(), "SIGNSTAR_COVER=1")
	dir := os.Getenv("SIGNSTAR_E2E_COVERDIR")
	if dir == "" {
		dir = os.Getenv("GOCOVERDIR")
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "signstar-cover-"); err != nil {
			return cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return cleanup, err
	}
	return cleanup, os.Setenv("GOCOVERDIR", dir)
}
