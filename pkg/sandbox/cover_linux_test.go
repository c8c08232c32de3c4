//go:build linux

package sandbox

// Coverage of the re-executed children under go test -covermode=atomic
// (just test): a child is this test binary, so what it runs counts for
// the package, and its counters join the parent's (go test's
// -test.gocoverdir, where the parent's own coverage report collects every
// counter file of this binary).
//
// A child cannot leave that to the Go runtime. At exit, the runtime
// writes the counters into a new file and renames it into place: after
// lockdown, Landlock refuses the file, and rename(2) would meet the
// seccomp filter's kill. The production filter stays as it is; instead,
// a child creates its counter file before lockdown, keeps the descriptor
// across it (Policy.KeepFDs) and writes the counters into it with
// runtime/coverage.WriteCounters, which needs write(2) alone.
//
// Two more hurdles, both of test binaries: runtime/coverage refuses to
// write anything until the meta-data hash is computed, which a test
// binary does only at the end of m.Run; and its exit hook would still
// try (and fail) to write the counters again. So a child first runs m.Run
// with no test (-test.run=^$), quietly: its coverage teardown computes
// the hash, writes the meta-data and the counters so far into the
// child's own -test.gocoverdir, and marks the profile written, which
// silences the exit hook. The parent moves the counter files into its
// own -test.gocoverdir when the test ends, leaving out the empty one of
// a child killed before it could write it (the SIGSYS cases).

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/coverage"
	"strings"
	"testing"
	"time"
)

// childCounters is a child's counter file, written at exit; nil without -cover.
var childCounters *os.File

// coverageArgs are a child's extra arguments under -cover: a directory of
// its own for coverage data, which the parent moves into its own when t
// ends.
func coverageArgs(t *testing.T) []string {
	t.Helper()
	if testing.CoverMode() != "atomic" {
		return nil
	}
	dir := t.TempDir()
	t.Cleanup(func() {
		if err := collectCoverage(dir, flag.Lookup("test.gocoverdir").Value.String()); err != nil {
			t.Errorf("collect a child's coverage: %v", err)
		}
	})
	return []string{"-test.gocoverdir=" + dir}
}

// collectCoverage moves the non-empty counter files from a child's
// directory to dest (the parent writes the meta-data file itself).
func collectCoverage(dir, dest string) error {
	if dest == "" {
		return nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "covcounters.*"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			continue
		}
		if err := moveFile(f, filepath.Join(dest, filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}

// moveFile renames from to to, or copies it where they are on different
// file systems.
func moveFile(from, to string) error {
	if os.Rename(from, to) == nil {
		return nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// startCoverage, in a child under -cover, runs m quietly to compute the
// meta-data hash and silence the exit hook, then creates the counter
// file that exitChild writes. runtime/coverage.WriteCounters needs
// -covermode=atomic, just test's; in the other modes a child is left to
// the runtime, whose exit hook counts only the children that never locked
// down (and complains on the others' stderr).
func startCoverage(m *testing.M) error {
	if testing.CoverMode() != "atomic" {
		return nil
	}
	if code := quietly(m.Run); code != 0 {
		return fmt.Errorf("coverage: m.Run without tests: exit %d", code)
	}
	dir := flag.Lookup("test.gocoverdir").Value.String()
	metas, err := filepath.Glob(filepath.Join(dir, "covmeta.*"))
	if err != nil || len(metas) != 1 {
		return fmt.Errorf("coverage: want one covmeta file in %s, have %q (%v)", dir, metas, err)
	}
	// covdata's name for a counter file (internal/coverage's
	// CounterFileTempl): covcounters.HASH.PID.NANOTIME.
	hash := strings.TrimPrefix(filepath.Base(metas[0]), "covmeta.")
	name := fmt.Sprintf("covcounters.%s.%d.%d", hash, os.Getpid(), time.Now().UnixNano())
	childCounters, err = os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	return err
}

// quietly runs f with os.Stdout and os.Stderr on /dev/null: the parent
// reads the child's own lines there, not m.Run's "PASS" and coverage.
func quietly(f func() int) int {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 1
	}
	defer null.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = null, null
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	return f()
}

// coverFDs are the descriptors lockdown must keep for coverage.
func coverFDs() []int {
	if childCounters == nil {
		return nil
	}
	return []int{int(childCounters.Fd())}
}

// exitChild writes the counters, under -cover, and exits with code.
func exitChild(code int) {
	if childCounters != nil {
		err := coverage.WriteCounters(childCounters)
		if err = errors.Join(err, childCounters.Close()); err != nil {
			fmt.Fprintf(os.Stderr, "coverage: write counters: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
