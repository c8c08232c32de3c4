// Package seccomp holds the system calls signstar may make once it has locked
// itself down, and nothing else: package sandbox turns this data into a
// seccomp filter whose default action kills the process.
//
// The lists are what the real sign path needs after lockdown: Ed25519, RSA
// and ECDSA keys on SoftHSM2, the audit record to a connected unixgram
// socket and to an append-only file, new threads, garbage collection, a
// client hanging up. They were found by running that path under strace with
// a filter that fails unlisted calls instead of killing, and package
// sandbox's tests keep them honest by signing under the real filter.
// Everything done before lockdown (config, PKCS#11 module, login, key
// lookup, opening the audit sinks) is not listed: it is over by then.
//
// Deliberately absent: execve, execveat, ptrace, process_vm_readv and
// process_vm_writev, mount, unshare, bpf, keyctl, memfd_create (journald's
// big-entry path is never needed: audit records stay far below a datagram)
// and truncate (Landlock before ABI 3 does not confine it).
//
// [Streams] adds what tpm2-pkcs11 needs at sign time, measured the same
// way with a software TPM behind tpm2-abrmd.
//
// Names are libseccomp's; every one exists on amd64 and arm64 but poll,
// which arm64 does not have (glibc calls ppoll there). The lists were
// measured on amd64 only.
//
// Each list is a function that returns a new slice, so that no caller can
// change the filter another caller builds.
package seccomp

import "syscall"

// Syscall is one system call the filter allows whatever its arguments.
type Syscall struct {
	Name string // libseccomp's name for it
	Who  string // who calls it after lockdown
}

// Allowed returns the system calls allowed whatever their arguments. Those
// marked "seen" were made after lockdown in package sandbox's tests (strace
// on amd64, glibc 2.36, SoftHSM2 2.6.1 with OpenSSL 3); the others are
// rarer paths of the same code, each named.
func Allowed() []Syscall {
	return []Syscall{
		// Standard input and output, the audit file.
		{"read", "seen: stdin; SoftHSM2 reads token files"},
		{"write", "seen: stdout, stderr, the audit file; Go netpoller wakeups"},
		{"close", "seen: SoftHSM2 closes token files"},
		{"lseek", "seen: SoftHSM2 token files; sandbox rereads /proc/self/status"},
		{"ppoll", "the login shell waits for stdin with a timeout (package input: [remote] idle-timeout, max-duration); " +
			"with Streams on arm64, which has no poll, glibc's poll(3) for tcti-tabrmd and GLib"},
		{"fsync", "seen: the audit file is synced before signstar exits"},
		{"sendmsg", "seen: journald audit record on the socket connected before lockdown"},

		// SoftHSM2 at sign time: it rereads the token's generation file and
		// the key's object file under a POSIX record lock.
		{"openat", "seen: SoftHSM2 opens token files (Landlock confines which)"},
		{"newfstatat", "seen: SoftHSM2 sizes token files (glibc 2.33+ fstat)"},
		{"fstat", "SoftHSM2 sizes token files with glibc before 2.33"},
		{"fcntl", "seen: SoftHSM2 F_SETLKW/F_SETLK record locks, F_GETFL"},
		{"flock", "signstar's token lock file: let go while the input streams in, taken back before signing"},
		{"getdents64", "SoftHSM2 rescans the token directory when another process changed the token"},

		// Memory: the Go runtime and glibc malloc (OpenSSL, SoftHSM2).
		{"mmap", "seen: Go heap; glibc malloc arenas and thread stacks"},
		{"munmap", "seen: Go heap; glibc; dlclose at C_Finalize"},
		{"madvise", "seen: Go runtime returns freed memory"},
		{"mprotect", "seen: glibc thread stack guard pages, malloc arena growth"},
		{"brk", "glibc malloc's main arena"},
		{"mremap", "glibc realloc of a chunk above the mmap threshold (128 KiB)"},

		// Threads: cgo binaries start Go's threads with glibc pthread_create.
		{"clone", "seen: pthread_create, after clone3 is refused with ENOSYS"},
		{"set_robust_list", "seen: glibc, start of a thread"},
		{"rseq", "seen: glibc registers restartable sequences in a new thread"},
		{"sigaltstack", "seen: Go runtime, signal stack of a new thread"},
		{"rt_sigprocmask", "seen: Go runtime and glibc, signal masks of new threads"},
		{"sched_getaffinity", "seen: glibc malloc counts CPUs for a new thread's arena (Landlock hides /sys, /proc); Go sysmon"},
		{"gettid", "seen: Go runtime, thread ids for signals"},
		{"exit", "seen: a thread ends (a goroutine ends locked to it)"},
		{"exit_group", "seen: the process ends"},

		// Scheduling, signals, time.
		{"pread64", "seen: Go sysmon rereads the cgroup CPU limit every second to adjust GOMAXPROCS (Go 1.25+)"},
		{"futex", "seen: Go runtime and glibc locks, parking threads"},
		{"nanosleep", "seen: Go runtime usleep"},
		{"sched_yield", "seen: Go runtime spinning"},
		{"epoll_pwait", "seen: Go netpoller"},
		{"epoll_ctl", "seen: Go netpoller registers a network HSM's socket"},
		{"getpid", "seen: Go runtime, target of signals to its own threads"},
		{"rt_sigreturn", "seen: return from Go's signal handler (SIGURG preemption)"},
		{"rt_sigaction", "seen: Go runtime resets SIGPIPE to SIG_DFL to die of it when the SSH client hangs up"},
		{"restart_syscall", "the kernel resumes a nanosleep interrupted by a signal this way"},
		{"clock_gettime", "Go runtime and glibc when the clock source has no vDSO"},
		{"getrandom", "Go crypto/rand; OpenSSL reseeding its DRBG inside SoftHSM2"},
	}
}

// TCP returns the system calls allowed only when the policy lists TCP
// ports: a network HSM's PKCS#11 module, or Go's net.Dial, connecting after
// lockdown. Landlock (ABI 4) confines the ports.
func TCP() []Syscall {
	return []Syscall{
		{"connect", "network HSM: connect(2) to a configured port"},
		{"getsockopt", "network HSM: SO_ERROR after a non-blocking connect"},
		{"setsockopt", "network HSM: TCP_NODELAY, keep-alive (Go net sets both)"},
		{"getsockname", "network HSM: Go net records the local address"},
		{"getpeername", "network HSM: Go net records the remote address"},
	}
}

// Streams returns the system calls allowed only when the policy says the
// module talks over stream descriptors it opened before lockdown:
// tpm2-pkcs11 with TCTI tabrmd (tpm2-abrmd), or device (/dev/tpmrm0: poll,
// read and write; not measured here, no TPM device). Measured with strace
// on Debian 12 (tpm2-pkcs11 1.9.0, tpm2-tss 3.2.1, tpm2-abrmd 3.0.0, GLib
// 2.74): at sign time the TCTI writes each TPM command to the socket tabrmd
// passed (SCM_RIGHTS) at C_Initialize and polls and reads the answer;
// GLib's GDBus worker thread keeps polling the bus connection. No socket is
// created and nothing is connected after lockdown.
func Streams() []Syscall {
	return []Syscall{
		{"sendto", "seen: tcti-tabrmd sends a TPM command (MSG_NOSIGNAL, no address)"},
		{"recvfrom", "seen: tcti-tabrmd reads a TPM response"},
		{"poll", "seen: tcti-tabrmd waits for the response; GLib's GDBus worker thread polls the bus socket and its wakeup eventfd"},
		{"recvmsg", "seen: GLib's GDBus worker reads bus messages (replies while the TCTI is finalized; signals; the bus hanging up)"},
	}
}

// StreamsRefused returns the calls answered with an error when [Streams]
// applies: GLib's log writer probes stderr before printing a tpm2-pkcs11 or
// GLib warning, and would otherwise kill the process that is only reporting
// a failure. An entry [TCP] also lists is left out when the policy lists
// TCP ports, so that each call has one rule.
func StreamsRefused() []Errno {
	return []Errno{
		{"ioctl", syscall.ENOTTY, "GLib: isatty(2) (TCGETS) before a warning"},
		{"getpeername", syscall.ENOTSOCK, "GLib: is stderr journald's socket? (only without TCP ports; with them [TCP] allows it)"},
	}
}

// Self returns the system calls allowed only when their first argument is
// signstar's own process id: signals to itself, never to another process.
func Self() []Syscall {
	return []Syscall{
		{"tgkill", "seen: Go runtime, SIGURG preemption and SIGPIPE to one of its own threads"},
		{"kill", "Go runtime: dying of a fatal signal it could not raise on a thread (raiseproc)"},
	}
}

// AuditFile returns the system calls allowed only when their first argument
// is the audit file's descriptor: on a full disk, the file sink cuts back a
// record the disk took only in part (package audit), never another file.
func AuditFile() []Syscall {
	return []Syscall{
		{"ftruncate", "the audit file sink: cut back a partly written record"},
	}
}

// Errno is a system call answered with an error instead of killing.
type Errno struct {
	Name  string
	Errno syscall.Errno
	Why   string
}

// Refused returns the system calls answered with an error number.
func Refused() []Errno {
	return []Errno{
		{"clone3", syscall.ENOSYS, "glibc pthread_create tries clone3 first and falls back to clone; " +
			"clone3's flags live in memory a seccomp filter cannot read"},
	}
}

// RefusedWithoutTCP returns the calls answered with an error number when
// the policy lists no TCP ports (with ports, [TCP] allows them).
func RefusedWithoutTCP() []Errno {
	return []Errno{
		{"connect", syscall.EACCES, "glibc syslog(3), which SoftHSM2 calls when an operation fails, " +
			"connects to /dev/log: refusing it lets the error reach the audit trail instead of killing"},
	}
}

// Socket allows socket(2) for one family and type; socket is not in
// [Allowed], so every other family is killed.
type Socket struct {
	Family   int  // AF_UNIX, AF_INET, AF_INET6
	Type     int  // compared without SOCK_NONBLOCK and SOCK_CLOEXEC
	Protocol int  // 0, or the one protocol allowed besides 0
	TCP      bool // only when the policy lists TCP ports
	Who      string
}

// Sockets returns the sockets that may be created after lockdown. AF_INET
// and AF_INET6 are limited to plain TCP (protocol 0 or IPPROTO_TCP) because
// Landlock's TCP port rules (ABI 4) do not cover Multipath TCP.
func Sockets() []Socket {
	return []Socket{
		{syscall.AF_UNIX, syscall.SOCK_DGRAM, 0, false, "journald: an audit sink opened after lockdown sends with an address (connect is for TCP only)"},
		{syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_TCP, true, "network HSM over TCP/IPv4"},
		{syscall.AF_INET6, syscall.SOCK_STREAM, syscall.IPPROTO_TCP, true, "network HSM over TCP/IPv6"},
	}
}
