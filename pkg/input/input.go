// Package input reads what a client sends on standard input under two
// limits: the longest wait for the next byte (idle) and the longest
// request (total, counted from when the request started). Either one ends
// the read with an [*Error] saying which limit it was.
//
// It promises that a [Reader] never waits past either limit, whatever the
// descriptor is (sshd's pipe or socket, a file), and that a client sending
// at least one byte per idle timeout is never cut off by it: the idle clock
// restarts with every byte read.
//
// A read(2) blocked on a pipe cannot be cut short: Go's signal handlers
// restart it (SA_RESTART), and closing the descriptor from another thread
// does not wake it. So the Linux [Reader] waits with ppoll(2) and a
// timeout before each read(2), which then never blocks: one more system
// call in the seccomp allowlist, and the same code for every kind of
// descriptor. The Go poller (O_NONBLOCK, then SetReadDeadline) needs no
// new system call, but it changes the flags of a descriptor sshd handed
// over, and epoll refuses regular files and some devices, where
// SetReadDeadline fails and a second, unlimited path would be needed.
package input

import (
	"errors"
	"fmt"
	"time"
)

// Limits bound how long a request may take to send its input.
type Limits struct {
	Idle  time.Duration // the longest wait for a byte; 0: none
	Total time.Duration // the longest request, from Start; 0: none
	Start time.Time     // when the request started
}

// Limit names a limit.
type Limit string

const (
	Idle  Limit = "idle"  // [remote] idle-timeout
	Total Limit = "total" // [remote] max-duration
)

// Error is a read ended by a limit. Its text is one line for the client
// and says which limit it was.
type Error struct {
	Limit Limit
	After time.Duration // the limit's value
}

func (e *Error) Error() string {
	if e.Limit == Idle {
		return fmt.Sprintf("no input for %v: closing", e.After)
	}
	return fmt.Sprintf("request took longer than %v: closing", e.After)
}

// Is makes every *Error match [ErrLimit].
func (e *Error) Is(target error) bool { return target == ErrLimit }

// ErrLimit matches a read ended by either limit.
var ErrLimit = errors.New("input limit reached")

// next returns the limit that passes first if nothing arrives after last,
// and when; ok is false when there is none.
func (l Limits) next(last time.Time) (limit Limit, at time.Time, ok bool) {
	if l.Idle > 0 {
		limit, at, ok = Idle, last.Add(l.Idle), true
	}
	if l.Total > 0 {
		if end := l.Start.Add(l.Total); !ok || end.Before(at) {
			limit, at, ok = Total, end, true
		}
	}
	return limit, at, ok
}

// err is the error for limit.
func (l Limits) err(limit Limit) error {
	if limit == Idle {
		return &Error{Idle, l.Idle}
	}
	return &Error{Total, l.Total}
}
