//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CloseInherited closes every file descriptor above 2 that the process
// inherited: sshd, PAM modules or a wrapper may leak some across exec. Call
// it first thing in main, before anything is opened by the program itself.
//
// An inherited descriptor is one without FD_CLOEXEC, since exec(2) closes
// the others; everything Go opens (the runtime's epoll, eventfd and pidfd
// descriptors, os.Open, net) carries O_CLOEXEC, so nothing of the running
// program is closed.
func CloseInherited() error {
	fds, err := openFDs(-1)
	if err != nil {
		return fmt.Errorf("close inherited file descriptors: %v", err)
	}
	for _, fd := range fds {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue
		}
		if err := unix.Close(fd); err != nil {
			return fmt.Errorf("close inherited file descriptor %d: %v", fd, err)
		}
	}
	return nil
}

// closeFiles closes every descriptor above 2 that p does not keep, except
// keep.
func closeFiles(p Policy, keep int) error {
	fds, err := openFDs(keep)
	if err != nil {
		return err
	}
	roots := keptRoots(p)
	for _, fd := range fds {
		if keptFD(fd, p, roots) {
			continue
		}
		if err := unix.Close(fd); err != nil {
			return fmt.Errorf("close %d: %v", fd, err)
		}
	}
	return nil
}

// openFDs lists the open descriptors above 2 but keep, from /proc/self/fd.
func openFDs(keep int) ([]int, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	self := int(d.Fd())
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("list /proc/self/fd: %v", err)
	}
	var fds []int
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil {
			return nil, fmt.Errorf("BUG: /proc/self/fd lists %q", name)
		}
		if fd > 2 && fd != self && fd != keep {
			fds = append(fds, fd)
		}
	}
	return fds, nil
}

// runtimeFiles are what the Go runtime keeps open: the netpoller's epoll
// instance and its wakeup eventfd, and pidfds of child processes.
var runtimeFiles = map[string]bool{
	"anon_inode:[eventpoll]": true,
	"anon_inode:[eventfd]":   true,
	"anon_inode:[pidfd]":     true,
}

// cgroupFiles are the cgroup CPU limit files that the Go runtime (1.25+)
// opens at start and rereads with pread every second to adjust GOMAXPROCS
// (internal/runtime/cgroup): cgroup v2, then v1. Closing them would make
// it read whatever file gets the number next.
var cgroupFiles = map[string]bool{
	"cpu.max":           true,
	"cpu.cfs_quota_us":  true,
	"cpu.cfs_period_us": true,
}

// keptFD reports whether fd is one p keeps by number, the Go runtime's, a socket the policy needs
// (AF_UNIX for the audit sink; TCP when a network HSM is configured), or a
// file beneath one of roots.
func keptFD(fd int, p Policy, roots []string) bool {
	if slices.Contains(p.KeepFDs, fd) {
		return true
	}
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return false
	}
	if runtimeFiles[target] || cgroupFiles[filepath.Base(target)] {
		return true
	}
	if strings.HasPrefix(target, "socket:") {
		return keptSocket(fd, p)
	}
	if !filepath.IsAbs(target) {
		return false // pipes, other anonymous inodes
	}
	for _, root := range roots {
		if target == root || strings.HasPrefix(target, root+"/") || root == "/" {
			return true
		}
	}
	return false
}

func keptSocket(fd int, p Policy) bool {
	domain, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return false
	}
	switch domain {
	case unix.AF_UNIX:
		return true
	case unix.AF_INET, unix.AF_INET6:
		return len(p.ConnectTCP) > 0
	}
	return false
}

// keptRoots are the policy's paths with symlinks resolved, as
// /proc/self/fd shows open files.
func keptRoots(p Policy) []string {
	var roots []string
	for _, list := range [][]string{p.ReadWrite, p.ReadOnly, p.KeepOpen} {
		for _, path := range list {
			if r, err := filepath.EvalSymlinks(path); err == nil {
				roots = append(roots, r)
			}
		}
	}
	return roots
}
