//go:build linux && cgo

package seccomp

import (
	"testing"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// all are every named system call of the package, by list.
func all() map[string][]string {
	m := map[string][]string{}
	for list, calls := range map[string][]Syscall{"Allowed": Allowed, "TCP": TCP, "Self": Self} {
		for _, c := range calls {
			m[c.Name] = append(m[c.Name], list)
		}
	}
	for _, e := range Refused {
		m[e.Name] = append(m[e.Name], "Refused")
	}
	return m
}

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
	m := all()
	for _, name := range forbidden {
		if lists := m[name]; len(lists) > 0 && !(name == "clone3" && lists[0] == "Refused") {
			t.Errorf("%s is in %v", name, lists)
		}
	}
}

func TestEveryEntrySaysWho(t *testing.T) {
	for _, list := range [][]Syscall{Allowed, TCP, Self} {
		for _, c := range list {
			if c.Who == "" {
				t.Errorf("%s: no comment saying who needs it", c.Name)
			}
		}
	}
	for _, s := range Sockets {
		if s.Who == "" {
			t.Errorf("socket family %d: no comment saying who needs it", s.Family)
		}
	}
}
