//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"slices"

	libseccomp "github.com/seccomp/libseccomp-golang"

	"signstar/seccomp"
)

// defaultAction is what the filter does with a system call it does not
// list. Tests replace it with ActLog to find what a code path needs.
var defaultAction = libseccomp.ActKillProcess

// sockTypeMask keeps the socket type of socket(2)'s second argument and
// drops SOCK_NONBLOCK and SOCK_CLOEXEC (SOCK_TYPE_MASK in linux/net.h).
const sockTypeMask = 0xf

// loadFilter loads the allowlist of package seccomp on every thread.
func loadFilter(p Policy) error {
	// API level 3 (libseccomp 2.4, Linux 4.14): SECCOMP_RET_KILL_PROCESS
	// and, from level 2, SECCOMP_FILTER_FLAG_TSYNC, without which
	// libseccomp-golang silently filters the calling thread only.
	if api, err := libseccomp.GetAPI(); err != nil || api < 3 {
		return fmt.Errorf("libseccomp API level %d, need 3 (libseccomp 2.4 on Linux 4.14)", api)
	}
	f, err := newFilter(p)
	if err != nil {
		return err
	}
	defer f.Release()
	if err := f.Load(); err != nil {
		return fmt.Errorf("load filter: %v", err)
	}
	return nil
}

// newFilter builds the filter: package seccomp's lists, sockets only for
// the families p needs, signals only to this process.
func newFilter(p Policy) (*libseccomp.ScmpFilter, error) {
	f, err := libseccomp.NewFilter(defaultAction)
	if err != nil {
		return nil, fmt.Errorf("new filter: %v", err)
	}
	// A system call of another ABI (int 0x80, x32) bypasses the native
	// numbers; libseccomp's default for it would kill only the thread.
	if err := f.SetBadArchAction(libseccomp.ActKillProcess); err != nil {
		f.Release()
		return nil, fmt.Errorf("set bad-architecture action: %v", err)
	}
	for _, add := range []func(*libseccomp.ScmpFilter, Policy) error{addAllowed, addTCP, addStreams, addRefused, addSelf, addAuditFile, addLog, addSockets} {
		if err := add(f, p); err != nil {
			f.Release()
			return nil, err
		}
	}
	return f, nil
}

func addAllowed(f *libseccomp.ScmpFilter, _ Policy) error {
	for _, s := range seccomp.Allowed() {
		if err := addRule(f, s.Name, libseccomp.ActAllow); err != nil {
			return err
		}
	}
	return nil
}

// addTCP allows what connecting to a network HSM takes, if p lists ports.
func addTCP(f *libseccomp.ScmpFilter, p Policy) error {
	if len(p.ConnectTCP) == 0 {
		return nil
	}
	for _, s := range seccomp.TCP() {
		if err := addRule(f, s.Name, libseccomp.ActAllow); err != nil {
			return err
		}
	}
	return nil
}

// addStreams allows what a module talking over stream descriptors opened
// before lockdown needs, if p says so, and refuses what GLib probes before
// a warning. A call seccomp.TCP allows when p lists ports gets no second
// rule: libseccomp does not document how two rules with different actions
// for one call combine (2.5.4 keeps the first without an error), so the
// outcome would depend on the order of newFilter's steps.
func addStreams(f *libseccomp.ScmpFilter, p Policy) error {
	if !p.Streams {
		return nil
	}
	for _, s := range seccomp.Streams() {
		if err := addRule(f, s.Name, libseccomp.ActAllow); err != nil {
			return err
		}
	}
	for _, e := range seccomp.StreamsRefused() {
		if len(p.ConnectTCP) > 0 && slices.ContainsFunc(seccomp.TCP(), func(s seccomp.Syscall) bool { return s.Name == e.Name }) {
			continue
		}
		if err := addRule(f, e.Name, libseccomp.ActErrno.SetReturnCode(int16(e.Errno))); err != nil {
			return err
		}
	}
	return nil
}

func addRefused(f *libseccomp.ScmpFilter, p Policy) error {
	refused := seccomp.Refused()
	if len(p.ConnectTCP) == 0 {
		refused = append(refused, seccomp.RefusedWithoutTCP()...)
	}
	for _, e := range refused {
		if err := addRule(f, e.Name, libseccomp.ActErrno.SetReturnCode(int16(e.Errno))); err != nil {
			return err
		}
	}
	return nil
}

// addSelf allows signals only to this process: pid is the first argument
// of kill(2) and tgkill(2), and the process keeps its pid.
func addSelf(f *libseccomp.ScmpFilter, _ Policy) error {
	for _, s := range seccomp.Self() {
		if err := addRule(f, s.Name, libseccomp.ActAllow, cond(0, libseccomp.CompareEqual, uint64(os.Getpid()))); err != nil {
			return err
		}
	}
	return nil
}

// addLog allows seccomp.Log, if p keeps a transparency log.
func addLog(f *libseccomp.ScmpFilter, p Policy) error {
	if !p.Log {
		return nil
	}
	for _, s := range seccomp.Log() {
		if err := addRule(f, s.Name, libseccomp.ActAllow); err != nil {
			return err
		}
	}
	return nil
}

// addAuditFile allows seccomp.AuditFile on the audit file's descriptor.
func addAuditFile(f *libseccomp.ScmpFilter, p Policy) error {
	if p.AuditFD <= 2 {
		return nil
	}
	for _, s := range seccomp.AuditFile() {
		if err := addRule(f, s.Name, libseccomp.ActAllow, cond(0, libseccomp.CompareEqual, uint64(p.AuditFD))); err != nil {
			return err
		}
	}
	return nil
}

// addSockets allows socket(2) for the families and types of
// seccomp.Sockets, the TCP ones only when p lists TCP ports.
func addSockets(f *libseccomp.ScmpFilter, p Policy) error {
	for _, s := range seccomp.Sockets() {
		if s.TCP && len(p.ConnectTCP) == 0 {
			continue
		}
		for _, proto := range protocols(s.Protocol) {
			err := addRule(f, "socket", libseccomp.ActAllow,
				cond(0, libseccomp.CompareEqual, uint64(s.Family)),
				cond(1, libseccomp.CompareMaskedEqual, sockTypeMask, uint64(s.Type)),
				cond(2, libseccomp.CompareEqual, uint64(proto)))
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// protocols are the protocol arguments that select proto: 0 always does.
func protocols(proto int) []int {
	if proto == 0 {
		return []int{0}
	}
	return []int{0, proto}
}

func addRule(f *libseccomp.ScmpFilter, name string, action libseccomp.ScmpAction, conds ...libseccomp.ScmpCondition) error {
	call, err := libseccomp.GetSyscallFromName(name)
	if err != nil {
		return fmt.Errorf("BUG: system call %q: %v", name, err)
	}
	if len(conds) == 0 {
		err = f.AddRule(call, action)
	} else {
		err = f.AddRuleConditional(call, action, conds)
	}
	if err != nil {
		return fmt.Errorf("add rule for %s: %v", name, err)
	}
	return nil
}

// cond builds a condition from constants; it cannot fail.
func cond(arg uint, op libseccomp.ScmpCompareOp, values ...uint64) libseccomp.ScmpCondition {
	c, err := libseccomp.MakeCondition(arg, op, values...)
	if err != nil {
		panic(fmt.Sprintf("BUG: seccomp condition on argument %d: %v", arg, err))
	}
	return c
}
