//go:build !linux

package tpmtest

import "syscall"

// sysProcAttr asks for nothing: only Linux has a parent-death signal. A test
// binary that dies without running its cleanups leaves the daemons behind.
func sysProcAttr() *syscall.SysProcAttr { return nil }
