//go:build linux

package sandbox

import (
	"fmt"
	"io"
	"os"
)

// Lockdown applies the three steps of the package documentation, in order,
// to every thread of the process, then reads back /proc/self/status to check
// that the kernel enforces them. Call it once, after the token is logged in
// to, the key is found and the audit sink is open, and before the first read
// of standard input; nothing of it can be undone. Warnings say what
// [Policy.BestEffort] let go unenforced. On error the process is partly
// locked down and must not sign.
func Lockdown(p Policy) (warnings []string, err error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if p, err = keepCoverage(p); err != nil { // coverage builds only
		return nil, fmt.Errorf("lock down: coverage: %v", err)
	}
	// Opened now because Landlock will deny it: a seq_file is regenerated
	// when read again from offset 0.
	status, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("lock down: %v", err)
	}
	defer status.Close()
	if err := closeFiles(p, int(status.Fd())); err != nil {
		return nil, fmt.Errorf("lock down: close file descriptors: %v", err)
	}
	if err := dropPrivileges(); err != nil {
		return nil, fmt.Errorf("lock down: %v", err)
	}
	warnings, err = restrictAccess(p)
	if err != nil {
		return warnings, fmt.Errorf("lock down: landlock: %v", err)
	}
	if err := loadFilter(p); err != nil {
		return warnings, fmt.Errorf("lock down: seccomp: %v", err)
	}
	return warnings, check(status)
}

// check rereads the process status and fails unless it is locked down.
func check(status *os.File) error {
	if _, err := status.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("lock down: check process status: %v", err)
	}
	s, err := parseStatus(status)
	if err != nil {
		return fmt.Errorf("lock down: check process status: %v", err)
	}
	if !s.Locked() {
		return fmt.Errorf("BUG: lock down: the kernel reports %v", s)
	}
	return nil
}
