package tpmtest

import "syscall"

// sysProcAttr makes the kernel kill a daemon when the test binary dies
// without running its cleanups (a panic, a -timeout, a signal), so that no
// daemon outlives the test run.
//
// Strictly, PR_SET_PDEATHSIG fires when the thread that started the child
// exits, and the Go runtime ends a thread only when a goroutine locked to
// it returns without unlocking: then the daemon dies early and the test
// fails, which is loud, not silent.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
