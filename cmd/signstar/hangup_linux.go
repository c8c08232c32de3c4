//go:build linux && cgo

package main

import (
	"errors"

	"golang.org/x/sys/unix"
)

// errHungUp: the client went away before its signature was made. An
// upload cut off without EOF (the ssh client killed, the connection
// dropped) looks to signstar like a complete, shorter file, because sshd
// closes its stdin either way; but sshd closes the other end of stdout
// too, and that shows.
var errHungUp = errors.New("the client hung up before the signature was made; nothing signed")

// checkClient fails if stdout's reader is gone: ppoll(2) reports POLLERR
// on a pipe whose read end is closed and POLLHUP on a socket whose peer
// hung up. It waits for nothing (a zero timeout); ppoll, not poll, since
// arm64 has no poll and the seccomp allowlist holds ppoll for both.
func checkClient() error {
	fds := []unix.PollFd{{Fd: 1}}
	_, err := unix.Ppoll(fds, &unix.Timespec{}, nil)
	if err != nil && err != unix.EINTR {
		return err
	}
	if fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
		return errHungUp
	}
	return nil
}
