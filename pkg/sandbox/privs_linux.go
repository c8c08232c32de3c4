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
//
// The capability bounding set is left as it is, root's full one too.
// Emptying it cost root 41 PR_CAPBSET_DROP calls, each a signal to every
// thread through psx: about 3 ms of a 60 ms signature (issue 17). It is
// moot here: the bounding set only limits what a thread can gain, and once
// this function and the seccomp filter are done there is no way left to
// gain anything:
//
//   - execve(2) is where the bounding set bites: capabilities(7) gives
//     P'(permitted) = (P(inheritable) & F(inheritable)) |
//     (F(permitted) & P(bounding)) | P'(ambient), and for root F(...) is
//     all ones, so root's exec gets its bounding set back. But execve and
//     execveat are not in the seccomp allowlist (package signstar/seccomp:
//     the filter kills the process), and even if they were, no_new_privs
//     caps the new permitted set at the old one, which is empty: prctl(2),
//     PR_SET_NO_NEW_PRIVS ("execve(2) promises not to grant privileges to
//     do anything that could not have been done without the execve(2)
//     call"), the kernel's Documentation/userspace-api/no_new_privs.rst,
//     and security/commoncap.c cap_bprm_creds_from_file, which intersects
//     the new permitted set with the old one under LSM_UNSAFE_NO_NEW_PRIVS.
//     The filter and no_new_privs are inherited by every thread and child
//     and cannot be undone.
//   - capset(2) may only lower the permitted set, and raises the
//     inheritable set only within the permitted one unless CAP_SETPCAP is
//     effective: all three are empty.
//   - PR_CAP_AMBIENT_RAISE needs the capability both permitted and
//     inheritable: neither is.
//   - setuid(2) to uid 0 copies the permitted set into the effective one
//     (capabilities(7), "Effect of user ID changes on capabilities"):
//     empty. Root stays uid 0 without a capability; Landlock limits its
//     files.
//   - a new user namespace gets a full bounding set of its own whatever
//     the parent's (kernel/user_namespace.c, set_cred_user_ns), so an
//     empty one here would not limit it; those capabilities count only
//     inside it, and the filter has no mount, unshare or setns.
//
// So [state.Locked] does not look at the bounding set. Should execve join
// the allowlist or no_new_privs go, the bounding set must be emptied again
// (PR_CAPBSET_DROP for each capability, with CAP_SETPCAP).
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
	// Linux 4.3 added the ambient set; before it there is nothing to clear.
	// (capset below would lower it anyway: capabilities(7), "a capability
	// lowered from the permitted or inheritable set is lowered from the
	// ambient set".)
	err := ll.AllThreadsPrctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %v", err)
	}
	return clearCapabilities()
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
