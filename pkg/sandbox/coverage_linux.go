//go:build signstarcover

package sandbox

// Coverage of a locked-down process, compiled into coverage builds only
// (scripts/build with SIGNSTAR_COVER=1 adds the build tag signstarcover).
//
// A binary built with -cover writes its counters at exit into a new file
// in $GOCOVERDIR, created under a temporary name and renamed into place.
// After Lockdown, Landlock refuses the new file and the seccomp filter
// would kill the process at rename(2), so the runtime's exit hook fails
// and says so on stderr, which the SSH client reads. Widening the sandbox
// for coverage would measure a signstar other than the one shipped.
// Instead, Lockdown creates the counter file beforehand and keeps its
// descriptor, and Exit writes the counters into it with
// runtime/coverage.WriteCounters (write(2) on that descriptor only, which
// the filter allows) and ends the process without the runtime's hook.
//
// A process killed after Lockdown (SIGSYS, SIGPIPE) leaves the file empty;
// scripts/coverage drops empty counter files.

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/coverage"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// coverDir is read at start: the login shell clears the environment
// before it locks down (the runtime read it at start too).
var coverDir = os.Getenv("GOCOVERDIR")

var (
	coverFile *os.File
	// coverExit is held by the first Exit to the end: a second Exit
	// waits for the process to end instead of writing the file again.
	coverExit sync.Mutex
)

// keepCoverage creates the counter file this process will write at Exit
// and adds its descriptor to p.KeepFDs.
func keepCoverage(p Policy) (Policy, error) {
	if coverDir == "" || coverFile != nil {
		return p, nil
	}
	name, err := counterFileName()
	if err != nil {
		return p, err
	}
	f, err := os.OpenFile(filepath.Join(coverDir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return p, err
	}
	coverFile = f
	p.KeepFDs = append(slices.Clip(p.KeepFDs), int(f.Fd()))
	return p, nil
}

// counterFileName is the name go tool covdata expects of a counter file
// (internal/coverage's CounterFileTempl): covcounters.HASH.PID.NANOTIME,
// HASH being that of the meta-data file the runtime wrote at start,
// covmeta.HASH. runtime/coverage does not tell the hash, so the meta-data
// is written once more into a directory of its own to read the name.
func counterFileName() (string, error) {
	tmp, err := os.MkdirTemp(coverDir, "meta-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := coverage.WriteMetaDir(tmp); err != nil {
		return "", err
	}
	metas, err := filepath.Glob(filepath.Join(tmp, "covmeta.*"))
	if err != nil || len(metas) != 1 {
		return "", fmt.Errorf("want one covmeta file in %s, have %q (%v)", tmp, metas, err)
	}
	hash := strings.TrimPrefix(filepath.Base(metas[0]), "covmeta.")
	return fmt.Sprintf("covcounters.%s.%d.%d", hash, os.Getpid(), time.Now().UnixNano()), nil
}

// exitCoverage writes the counters into the file keepCoverage created and
// ends the process, if Lockdown ran; otherwise the runtime's exit hook
// can still write them, and it returns.
func exitCoverage(code int) {
	coverExit.Lock()
	if coverFile == nil {
		coverExit.Unlock()
		return
	}
	if err := coverage.WriteCounters(coverFile); err != nil {
		fmt.Fprintf(os.Stderr, "signstar: coverage: write counters: %v\n", err)
	}
	coverFile.Close()
	// Not os.Exit: its hook would try to create a counter file of its own.
	syscall.Exit(code)
}
