//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"unsafe"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/psx"
)

// dropPrivileges turns off core dumps and ptrace by the same user, sets
// no_new_privs and drops every capability, on every thread.
//
// no_new_privs and capabilities belong to a thread (prctl(2), capset(2)),
// so they go through psx, which runs the system call on every thread of the
// Go and cgo runtimes: syscall.AllThreadsSyscall refuses to run in cgo
// binaries, and signstar is one. Threads started later inherit them.
func dropPrivileges() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("set RLIMIT_CORE to 0: %v", err)
	}
	// Process-wide; also makes /proc/self root-owned, so no process of the
	// same user can ptrace signstar or read its memory (proc(5)).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %v", err)
	}
	if err := ll.AllThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %v", err)
	}
	if err := dropBoundingSet(); err != nil {
		return err
	}
	// Linux 4.3 added the ambient set; before it there is nothing to clear.
	err := ll.AllThreadsPrctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %v", err)
	}
	return clearCapabilities()
}

// dropBoundingSet empties the capability bounding set if this thread holds
// CAP_SETPCAP, which PR_CAPBSET_DROP needs. Without it the bounding set
// cannot be lowered, and need not be: with no permitted capability and
// no_new_privs, execve(2) could not gain any even if seccomp allowed it.
func dropBoundingSet() error {
	eff, err := effectiveCaps()
	if err != nil {
		return err
	}
	if eff&(1<<unix.CAP_SETPCAP) == 0 {
		return nil
	}
	for c := 0; ; c++ {
		// PR_CAPBSET_READ fails with EINVAL past the kernel's last capability.
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err != nil {
			return nil
		}
		if err := ll.AllThreadsPrctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %v", c, err)
		}
	}
}

// clearCapabilities empties the effective, permitted and inheritable sets
// of every thread, then checks this thread's.
func clearCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // version 3 takes two: capabilities 0-31, 32-63
	_, _, errno := psx.Syscall3(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if errno != 0 {
		return fmt.Errorf("capset: drop all capabilities: %v", errno)
	}
	hdr.Pid = 0
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %v", err)
	}
	for _, d := range data {
		if d.Effective|d.Permitted|d.Inheritable != 0 {
			return fmt.Errorf("BUG: capabilities left after capset: %+v", data)
		}
	}
	return nil
}

// effectiveCaps returns this thread's effective capability set.
func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("capget: %v", err)
	}
	return uint64(data[1].Effective)<<32 | uint64(data[0].Effective), nil
}
