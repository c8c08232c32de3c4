// Package sandbox locks signstar down before it reads untrusted input.
//
// signstar is an SSH account's login shell: the client controls standard
// input. Once the configuration is loaded, the PKCS#11 module is open, the
// token is logged in to and the key is found, [Lockdown] makes sure that
// nothing signstar does afterwards reaches beyond reading stdin, talking to
// the token, writing stdout and stderr and sending the audit record. In this
// order, on every thread:
//
//  1. no core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0), no_new_privs, every
//     capability dropped (effective, permitted, inheritable, ambient; the
//     bounding set is left as it is, which privs_linux.go shows is moot),
//     and every file descriptor closed but 0, 1, 2, the Go runtime's
//     (epoll, eventfd, pidfd, and the cgroup CPU limit files Go 1.25+
//     rereads every second), AF_UNIX sockets (the
//     audit sink), TCP sockets if [Policy.ConnectTCP] lists ports (a network
//     HSM), and files beneath [Policy.ReadWrite], [Policy.ReadOnly] and
//     [Policy.KeepOpen];
//  2. Landlock: no filesystem access but [Policy.ReadWrite] and
//     [Policy.ReadOnly], no TCP bind, TCP connect only to [Policy.ConnectTCP];
//  3. a seccomp filter built from package signstar/seccomp that kills the
//     process on any other system call.
//
// A step that cannot be taken is an error, and signstar must refuse to sign.
// Only Landlock may be weakened, by [Policy.BestEffort], for kernels too old
// for it; [Lockdown] then returns warnings saying what is not enforced.
//
// [Exit] ends a process that may be locked down; in a coverage build it
// writes the counters Lockdown kept a file for.
//
// [CloseInherited] closes the descriptors sshd may leak; call it first thing
// in main.
//
// Errors start with "lock down:" and say which step failed.
//
// Everything here is Linux only; elsewhere every function fails.
package sandbox

import (
	"fmt"
	"path/filepath"
)

// Policy says what signstar still needs once locked down.
type Policy struct {
	// ReadWrite are files and directories the PKCS#11 module reads and
	// writes at sign time, such as SoftHSM2's token directory (package
	// signstar/pkg/modules says which). Everything beneath a directory is
	// included.
	ReadWrite []string
	// ReadOnly are files and directories the module only reads.
	ReadOnly []string
	// KeepOpen are files that stay open across lockdown without being
	// granted any new access: the token lock file, an append-only audit
	// file. Descriptors of files elsewhere are closed, and a library still
	// using one would then read or write whatever file gets its number.
	KeepOpen []string
	// KeepFDs are descriptors that stay open whatever they refer to:
	// signstar's own copy of the client's stderr, after the module's
	// stderr was redirected.
	KeepFDs []int
	// AuditFD is the audit file's descriptor, which alone may be
	// truncated after lockdown (seccomp.AuditFile); -1 or 0 for none.
	AuditFD int
	// ConnectTCP are the TCP ports a network HSM listens on. Enforcing
	// them needs Landlock ABI 4 (Linux 6.7). With none, creating an
	// AF_INET or AF_INET6 socket kills the process.
	ConnectTCP []uint16
	// Streams lets the module keep talking over stream descriptors it
	// opened before lockdown and wait on them with poll(2): tpm2-pkcs11's
	// TCTI (the socket tpm2-abrmd passed over D-Bus, GLib's D-Bus
	// connection; or /dev/tpmrm0, which must then be in KeepOpen).
	// AF_UNIX sockets are kept open anyway; creating or connecting
	// sockets stays forbidden.
	Streams bool
	// Log allows the calls appending to the transparency log takes
	// (seccomp.Log); its directory must be in ReadWrite.
	Log bool
	// BestEffort lets Lockdown go on with weaker or no Landlock on kernels
	// older than it needs, returning warnings instead of an error.
	BestEffort bool
}

// check rejects relative paths: Landlock would resolve them against the
// working directory, and /proc/self/fd shows open files absolute.
func (p Policy) check() error {
	for _, list := range [][]string{p.ReadWrite, p.ReadOnly, p.KeepOpen} {
		for _, path := range list {
			if !filepath.IsAbs(path) {
				return fmt.Errorf("lock down: policy path %q is not absolute", path)
			}
		}
	}
	return nil
}
