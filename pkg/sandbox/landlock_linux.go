//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"

	"signstar/internal/filesys"
)

// Landlock ABI versions signstar relies on.
const (
	// abiFiles (Linux 5.13) confines reading, writing, creating and
	// removing files. Truncation by path (ABI 3) and reparenting (ABI 2)
	// need no more: seccomp forbids truncate(2), and ABI 1 denies every
	// rename or link across directories.
	abiFiles = 1
	// abiTCP (Linux 6.7) confines TCP bind(2) and connect(2) by port.
	abiTCP = 4
)

// landlockABI asks the kernel; tests pretend to be an older one.
var landlockABI = ll.LandlockGetABIVersion

// restrictAccess confines every thread to p's files and TCP ports with
// everything the kernel's Landlock offers, and fails unless it offers what
// p needs. go-landlock goes through psx: landlock_restrict_self(2)
// restricts only the calling thread before ABI 8.
func restrictAccess(p Policy) (warnings []string, err error) {
	abi, err := landlockABI()
	if err != nil {
		abi = 0 // ENOSYS, or EOPNOTSUPP when disabled at boot
	}
	for _, short := range shortfalls(p, abi) {
		if !p.BestEffort {
			return nil, errors.New(short)
		}
		warnings = append(warnings, short)
	}
	rules, err := rules(p)
	if err != nil {
		return warnings, err
	}
	// V11.BestEffort() handles every right this kernel knows of, which
	// includes the ones checked above.
	if err := landlock.V11.BestEffort().Restrict(rules...); err != nil {
		return warnings, err
	}
	return warnings, nil
}

// shortfalls says what p needs that a kernel with Landlock ABI abi lacks.
func shortfalls(p Policy, abi int) []string {
	var s []string
	if abi < abiFiles {
		s = append(s, "the kernel has no Landlock (Linux 5.13, enabled in lsm=): filesystem access is not confined")
	}
	if len(p.ConnectTCP) > 0 && abi < abiTCP {
		s = append(s, fmt.Sprintf("the kernel has Landlock ABI %d, not %d (Linux 6.7): TCP connections are not confined to ports %v", abi, abiTCP, p.ConnectTCP))
	}
	return s
}

// rules grants p's paths and ports. No pathname socket is granted: the
// audit socket is connected before lockdown, and Landlock (from ABI 9)
// confines only connect(2) and sendmsg(2) with an address.
func rules(p Policy) ([]landlock.Rule, error) {
	var rs []landlock.Rule
	for _, path := range p.ReadWrite {
		r, err := pathRule(path, landlock.RWDirs, landlock.RWFiles)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	for _, path := range p.ReadOnly {
		r, err := pathRule(path, landlock.RODirs, landlock.ROFiles)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	for _, port := range p.ConnectTCP {
		rs = append(rs, landlock.ConnectTCP(port))
	}
	return rs, nil
}

// pathRule grants path with the directory or the file variant of a rule.
func pathRule(path string, dirs, files func(...string) landlock.FSRule) (landlock.Rule, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("allow access to %s: %v", path, filesys.WithoutPath(err))
	}
	if fi.IsDir() {
		return dirs(path), nil
	}
	return files(path), nil
}
