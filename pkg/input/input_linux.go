//go:build linux

package input

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Reader reads a file under [Limits].
type Reader struct {
	fd   int
	l    Limits
	last time.Time // when the last byte arrived, or the Reader was made
	f    *os.File  // keeps fd open
}

// NewReader returns a Reader of f under l; the idle clock starts now.
func NewReader(f *os.File, l Limits) *Reader {
	return &Reader{fd: int(f.Fd()), l: l, last: time.Now(), f: f}
}

// Read waits for input until a limit passes, then reads what is there.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if err := r.wait(); err != nil {
			return 0, err
		}
		n, err := unix.Read(r.fd, p)
		switch {
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			continue // a signal; or O_NONBLOCK and nothing after all
		case err != nil:
			return 0, fmt.Errorf("read standard input: %w", err)
		case n == 0:
			return 0, io.EOF
		}
		r.last = time.Now()
		return n, nil
	}
}

// wait returns once the file is readable, at its end or in error (read
// says which), or with an [*Error] once a limit has passed.
func (r *Reader) wait() error {
	for {
		limit, at, ok := r.l.next(r.last)
		var timeout *unix.Timespec
		if ok {
			left := time.Until(at)
			if left <= 0 {
				return r.l.err(limit)
			}
			ts := unix.NsecToTimespec(left.Nanoseconds())
			timeout = &ts
		}
		fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
		n, err := unix.Ppoll(fds, timeout, nil)
		switch {
		case errors.Is(err, unix.EINTR), err == nil && n == 0:
			continue // a signal (Go's preemption), or the timeout: check the clock
		case err != nil:
			return fmt.Errorf("wait for standard input: %w", err)
		}
		return nil
	}
}
