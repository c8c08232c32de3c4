//go:build !linux

package sandbox

import "errors"

// errUnsupported is every answer off Linux: signstar relies on Landlock and
// seccomp, and never signs without them.
var errUnsupported = errors.New("lock down: only supported on Linux (Landlock and seccomp); refusing to sign")

// Lockdown fails: there is nothing to lock the process down with.
func Lockdown(Policy) ([]string, error) { return nil, errUnsupported }

// CloseInherited fails: it reads /proc/self/fd.
func CloseInherited() error { return errUnsupported }
