//go:build linux && cgo

package seccomp

import (
	"slices"
	"syscall"
	"testing"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// all are every named system call of the package, by list.
func all() map[string][]string {
	m := map[string][]string{}
	for list, calls := range map[string][]Syscall{"Allowed": Allowed(), "TCP": TCP(), "Streams": Streams(), "Self": Self(), "AuditFile": AuditFile()} {
		for _, c := range calls {
			m[c.Name] = append(m[c.Name], list)
		}
	}
	for list, errnos := range errnoLists() {
		for _, e := range errnos {
			m[e.Name] = append(m[e.Name], list)
		}
	}
	for _, lists := range m {
		slices.Sort(lists)
	}
	return m
}

// errnoLists returns the lists of system calls answered with an error.
func errnoLists() map[string][]Errno {
	return map[string][]Errno{"Refused": Refused(), "RefusedWithoutTCP": RefusedWithoutTCP(), "StreamsRefused": StreamsRefused()}
}

// yieldToTCP are the lists of refused system calls that the filter leaves
// out when the policy lists TCP ports, so that [TCP] may allow the same
// call without a second, conflicting rule.
var yieldToTCP = []string{"RefusedWithoutTCP", "StreamsRefused"}

// TestNames checks every name against libseccomp's table for the
// architectures signstar ships for: a typo would otherwise fail only at
// lockdown.
func TestNames(t *testing.T) {
	for _, arch := range []libseccomp.ScmpArch{libseccomp.ArchAMD64, libseccomp.ArchARM64} {
		for name := range all() {
			call, err := libseccomp.GetSyscallFromNameByArch(name, arch)
			if err != nil {
				t.Errorf("%s on %v: %v", name, arch, err)
			} else if call < 0 {
				t.Logf("%s does not exist on %v (ignored there)", name, arch)
			}
		}
	}
}

func TestNoDuplicates(t *testing.T) {
	for name, lists := range all() {
		if len(lists) == 2 && lists[1] == "TCP" && slices.Contains(yieldToTCP, lists[0]) {
			continue
		}
		if len(lists) > 1 {
			t.Errorf("%s is in %v: one list each", name, lists)
		}
	}
}

// TestForbidden keeps out what no locked-down signstar may do, whoever
// adds a line.
func TestForbidden(t *testing.T) {
	forbidden := []string{
		"execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
		"mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf", "keyctl",
		"add_key", "request_key", "socket", "socketpair", "bind", "listen", "accept", "accept4",
		"memfd_create", "truncate", "ftruncate", "unlink", "unlinkat", "rename", "renameat2",
		"open_by_handle_at", "name_to_handle_at", "init_module", "finit_module", "kexec_load",
		"perf_event_open", "userfaultfd", "io_uring_setup", "seccomp", "prctl", "ioctl",
		"setuid", "setgid", "capset", "personality", "fork", "vfork", "clone3",
	}
	// Answered with an error, never allowed; or allowed on one descriptor.
	exempt := map[string][]string{"clone3": {"Refused"}, "ioctl": {"StreamsRefused"}, "ftruncate": {"AuditFile"}}
	m := all()
	for _, name := range forbidden {
		if lists := m[name]; len(lists) > 0 && !slices.Equal(lists, exempt[name]) {
			t.Errorf("%s is in %v", name, lists)
		}
	}
}

func TestEveryEntrySaysWho(t *testing.T) {
	for _, list := range [][]Syscall{Allowed(), TCP(), Streams(), Self(), AuditFile()} {
		for _, c := range list {
			if c.Who == "" {
				t.Errorf("%s: no comment saying who needs it", c.Name)
			}
		}
	}
	for _, list := range errnoLists() {
		for _, e := range list {
			if e.Why == "" {
				t.Errorf("%s: no comment saying who needs it refused", e.Name)
			}
		}
	}
	for _, s := range Sockets() {
		if s.Who == "" {
			t.Errorf("socket family %d: no comment saying who needs it", s.Family)
		}
	}
}

// TestFreshLists: a caller that changes a list it was given changes no
// other caller's filter.
func TestFreshLists(t *testing.T) {
	for name, list := range map[string]func() []Syscall{"Allowed": Allowed, "TCP": TCP, "Streams": Streams, "Self": Self, "AuditFile": AuditFile} {
		list()[0].Name = "execve"
		if got := list()[0].Name; got == "execve" {
			t.Errorf("%s: a change to one caller's list reached the next", name)
		}
	}
	for name, list := range map[string]func() []Errno{"Refused": Refused, "RefusedWithoutTCP": RefusedWithoutTCP, "StreamsRefused": StreamsRefused} {
		list()[0].Errno = 0
		if list()[0].Errno == 0 {
			t.Errorf("%s: a change to one caller's list reached the next", name)
		}
	}
	Sockets()[0].Family = syscall.AF_PACKET
	if Sockets()[0].Family == syscall.AF_PACKET {
		t.Error("Sockets: a change to one caller's list reached the next")
	}
}
